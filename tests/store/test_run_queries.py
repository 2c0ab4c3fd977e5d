"""The Runs page's store reads: listing (store.run_listing, behind ExecutionLog.list_runs and
count_runs) gives the same answers as a brute-force filter over every run, pages chain without
gaps, plans use indexes; and the critical intercepts (store.run_queries)."""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ato_desktop.core.models import AgentConfig, CostSource, TokenUsage
from ato_desktop.core.records import NewAction, NewRun, RunCursor, RunEnd, RunFilter, RunRecord
from ato_desktop.core.run_filter import normalize_filter, run_matches
from ato_desktop.store import run_listing, run_queries
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.paths import DataPaths
from benchmarks.workload import DAY_MS, synthetic_runs

NOW = int(time.time() * 1000)


@pytest.fixture
def log(ato_home: Path) -> Iterator[ExecutionLog]:
    store = ExecutionLog.open(DataPaths(ato_home))
    yield store
    store.close()


def _agents(log: ExecutionLog, budgets: tuple[float | None, ...]) -> list[tuple[str, str]]:
    pairs = []
    for i, budget in enumerate(budgets):
        config = AgentConfig("claude", "claude-sonnet-5", budget_per_day_usd=budget)
        agent = log.create_agent(f"agent-{i}", config).result()
        pairs.append((agent.id, agent.current_version_id))
    return pairs


@pytest.fixture
def seeded(log: ExecutionLog) -> list[tuple[str, str]]:
    agents = _agents(log, (None, None, None))
    log.ingest(synthetic_runs(600, 2, agents, now_ms=NOW, days=40)).result()
    return agents


def _all_runs(log: ExecutionLog) -> list[RunRecord]:
    return log.list_runs(RunFilter(), limit=100_000)


def _brute(runs: list[RunRecord], flt: RunFilter) -> list[str]:
    return [r.id for r in runs if run_matches(flt, r)]


FILTERS = [
    dict(statuses=statuses, agent=agent, since=since, cost=cost)
    for statuses, agent, since, cost in itertools.product(
        [(), ("failed",), ("completed", "failed"), ("killed", "interrupted"), ("running",)],
        [False, True],
        [None, 7, 30],
        [None, 0.005, 0.02],
    )
]


def _filter(spec: dict[str, object], agent_id: str) -> RunFilter:
    since = spec["since"]
    return RunFilter(
        statuses=spec["statuses"],  # type: ignore[arg-type]
        agent_id=agent_id if spec["agent"] else None,
        since_ms=NOW - since * DAY_MS if isinstance(since, int) else None,
        min_cost_usd=spec["cost"],  # type: ignore[arg-type]
    )


def test_pages_and_counts_match_a_brute_force_filter(
    log: ExecutionLog, seeded: list[tuple[str, str]]
) -> None:
    runs = _all_runs(log)
    for spec in FILTERS:
        flt = _filter(spec, seeded[1][0])
        expected = _brute(runs, flt)
        got: list[str] = []
        cursor = None
        while True:  # small pages, so the keyset chaining is exercised
            page = log.list_runs(flt, after=cursor, limit=37)
            got.extend(r.id for r in page)
            if len(page) < 37:
                break
            cursor = RunCursor(page[-1].started_at, page[-1].id)
        assert got == expected, spec
        assert log.count_runs(flt) == len(expected), spec


def test_selective_min_cost_and_version_filters(
    log: ExecutionLog, seeded: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = _all_runs(log)
    # Force the cost-index plan (few matches) and check it against the brute force.
    monkeypatch.setattr(run_listing, "COST_INDEX_CAP", 10_000)
    agent_id, version_id = seeded[2]
    for flt in (
        RunFilter(min_cost_usd=0.01),
        RunFilter(min_cost_usd=0.01, statuses=("completed", "killed"), agent_id=agent_id),
        RunFilter(agent_version_id=version_id),
        RunFilter(agent_version_id=version_id, statuses=("failed",)),
        RunFilter(agent_version_id=version_id, agent_id=seeded[0][0]),  # contradictory
    ):
        expected = _brute(runs, flt)
        page = log.list_runs(flt, limit=1000)
        assert [r.id for r in page] == expected, flt
        assert log.count_runs(flt) == len(expected), flt


def test_normalize_filter_treats_every_status_as_no_status() -> None:
    every = RunFilter(statuses=("running", "completed", "failed", "killed", "interrupted"))
    assert normalize_filter(every).statuses == ()
    assert normalize_filter(RunFilter(min_cost_usd=0.0)).min_cost_usd is None
    assert normalize_filter(RunFilter(statuses=("failed", "completed"))).statuses == (
        "completed",
        "failed",
    )


def _plans(log: ExecutionLog, flt: RunFilter) -> list[str]:
    conn = log.reader()
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        log.list_runs(flt, limit=50)
        log.count_runs(flt)
    finally:
        conn.set_trace_callback(None)
    plans = []
    for sql in statements:
        rows = conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
        plans.append(" | ".join(str(row[3]) for row in rows))
    return plans


def test_no_filter_combination_scans_the_runs_table(
    log: ExecutionLog, seeded: list[tuple[str, str]]
) -> None:
    log.reader().execute("ANALYZE")  # plans as a mature log would get them
    for spec in FILTERS:
        for plan in _plans(log, _filter(spec, seeded[0][0])):
            for step in plan.split(" | "):
                # (A count reads run_volume_rollups, a few rows per hour: scanning it is fine.)
                if step.startswith("SCAN ") and step.split()[1] in ("r", "runs"):
                    assert "INDEX" in step, (spec, plan)  # a walk of an index, never the table
    # Several statuses never sort every match; a keyset page walks an index range.
    for plan in _plans(log, RunFilter(statuses=("completed", "failed"))):
        if "LIMIT" not in plan:
            assert "TEMP B-TREE FOR ORDER BY" not in plan, plan


def test_intercepts_list_failures_budget_crossings_and_error_heavy_runs(
    log: ExecutionLog,
) -> None:
    (plain, _), (budgeted, _) = _agents(log, (None, 1.0))
    day = (NOW // DAY_MS) * DAY_MS

    def run(
        agent: str,
        started: int,
        outcomes: list[str],
        status: str = "completed",
        cost: float = 0.01,
    ) -> tuple[NewRun, RunEnd, list[NewAction]]:
        actions = [
            NewAction(
                name="call_llm" if i == 0 else "tool",
                kind="llm",
                outcome=outcome,
                started_at=started + i,
                ended_at=started + i + 1,
                usage=TokenUsage(10, 10),
                cost_usd=cost / len(outcomes),
                cost_source=CostSource.PROVIDER,
            )
            for i, outcome in enumerate(outcomes)
        ]
        error = "server_error" if status == "failed" else None
        return (
            NewRun("claude", "m", "cli", started, agent_id=agent, tags={"n": str(started)}),
            RunEnd(status, started + 10, 10_000_000, error_class=error),
            actions,
        )

    log.ingest(
        [
            run(plain, day + 1000, ["success", "error"], status="failed"),  # failed
            run(plain, day + 2000, ["success", "success"]),  # clean
            run(plain, day + 3000, ["error", "blocked", "success"]),  # 2/3 bad
            run(plain, day + 4000, ["success", "success", "success", "blocked"]),  # 1/4: fine
            run(budgeted, day + 5000, ["success"], cost=0.6),
            run(budgeted, day + 6000, ["success"], cost=0.6),  # crosses 1.0 here
            run(budgeted, day + 7000, ["success"], cost=0.6),
            run(budgeted, day - DAY_MS + 5, ["success"], cost=0.5),  # yesterday: under
        ]
    ).result()
    found = run_queries.critical_intercepts(log)
    by_start = {i.run.started_at - day: i for i in found}
    assert [i.run.started_at for i in found] == sorted(
        (i.run.started_at for i in found), reverse=True
    )
    # The budgeted agent spent $1.80 within an hour after $0.50 the whole day before: a spend
    # spike, on the newest run of that hour.
    assert set(by_start) == {1000, 3000, 6000, 7000}
    spike = by_start[7000]
    assert spike.reasons == ("burn_rate",) and spike.burn is not None
    assert spike.burn.hour_spend_usd == pytest.approx(1.8)
    assert by_start[1000].reasons == ("failed", "error_rate")
    assert by_start[3000].reasons == ("error_rate",) and by_start[3000].bad_actions == 2
    crossing = by_start[6000]
    assert crossing.reasons == ("over_budget",)
    assert crossing.budget_usd == 1.0 and crossing.day_spend_usd == pytest.approx(1.8)
    # The agent filter and the window narrow them.
    only_budgeted = run_queries.critical_intercepts(log, agent_id=budgeted)
    assert [i.run.started_at - day for i in only_budgeted] == [7000, 6000]
    since = run_queries.critical_intercepts(log, since_ms=day + 5500)
    assert [i.run.started_at - day for i in since] == [7000, 6000]


def test_actions_after_and_live_summaries(log: ExecutionLog) -> None:
    run_id, run_no = log.create_run(NewRun("claude", "m", "ui", NOW), owner="me").result()
    log.begin_action(run_no, "call_llm", "llm", {"prompt": "hi"}, NOW)
    log.checkpoint_run(run_id, run_no, "partial", NOW + 5)
    log.append_action(run_id, run_no, NewAction("search", "tool", "success", NOW, NOW + 1)).result()
    log.begin_action(run_no, "call_llm", "llm", {"prompt": "again"}, NOW + 2)
    log.submit(lambda conn, emit: None).result()  # flush the fire-and-forget writes
    assert [a.seq for a in run_queries.actions_after(log, run_id, 0)] == [1]
    assert run_queries.actions_after(log, run_id, 1) == []
    (summary,) = run_queries.live_run_summaries(log)
    assert summary.run.id == run_id and summary.live_action == "call_llm"
    assert dataclasses.replace(summary.run, partial_output=None).status == "running"
