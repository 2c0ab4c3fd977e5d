"""The Activity Ledger's reads (store.action_ledger): every filter and sort gives what the pure
rules (core.ledger) give over every action; pages chain; counts agree (capped); one run's
actions; no plan scans the actions table."""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ato_desktop.core.ledger import (
    LedgerEntry,
    LedgerFilter,
    LedgerSort,
    LedgerSortError,
    entry_matches,
    ledger_cursor,
    ledger_order_key,
)
from ato_desktop.core.models import AgentConfig, CostSource, TokenUsage
from ato_desktop.core.records import NewAction, NewRun, RunEnd, RunFilter
from ato_desktop.store import action_ledger
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.paths import DataPaths

NOW = int(time.time() * 1000)
DAY_MS = 86_400_000
TOOLS = ("search_docs", "read_file", "run_sql")


@pytest.fixture
def log(ato_home: Path) -> Iterator[ExecutionLog]:
    store = ExecutionLog.open(DataPaths(ato_home))
    yield store
    store.close()


def seed_ledger(log: ExecutionLog, runs: int = 260, seed: int = 5) -> list[str]:
    """Runs of two agents and of none, on three models, with model calls (priced, or not for
    the local model) and tool calls (never priced; one kind of tool has no duration), every
    outcome, equal start times within a run."""
    rng = random.Random(seed)
    agents = [
        log.create_agent(name, AgentConfig("claude", "claude-sonnet-5")).result().id
        for name in ("writer", "reviewer")
    ]
    items = []
    for _ in range(runs):
        started = NOW - rng.randrange(20 * DAY_MS)
        model = rng.choice(["claude-sonnet-5", "gpt-5-mini", "llama3.1:8b"])
        agent_id = rng.choice([*agents, None])
        actions = []
        for seq in range(rng.randrange(0, 7)):
            llm = seq % 2 == 0
            name = "call_llm" if llm else rng.choice(TOOLS)
            at = started + (seq // 2) * 10  # pairs share a start time
            actions.append(
                NewAction(
                    name=name,
                    kind="llm" if llm else "tool",
                    outcome=rng.choice(["success"] * 6 + ["error", "blocked", "replayed"]),
                    started_at=at,
                    ended_at=at + 5,
                    usage=TokenUsage(rng.randrange(1, 900), rng.randrange(1, 300)) if llm else None,
                    duration_ns=None if name == "run_sql" else rng.choice([5, 9, 9, 400]) * 10**6,
                    cost_usd=rng.choice([0.001, 0.004, 0.004, 0.03])
                    if llm and model != "llama3.1:8b"
                    else None,
                    cost_source=CostSource.PROVIDER if llm else None,
                )
            )
        items.append(
            (
                NewRun("claude", model, "cli", started, agent_id=agent_id),
                RunEnd("completed", started + 100, 100 * 10**6),
                actions,
            )
        )
    log.ingest(items).result()
    return agents


def all_entries(log: ExecutionLog) -> list[LedgerEntry]:
    entries = []
    for run in log.list_runs(RunFilter(), limit=100_000):
        for action in log.get_actions(run.id):
            entries.append(
                LedgerEntry(
                    run_id=run.id,
                    run_no=run.run_no,
                    seq=action.seq,
                    name=action.name,
                    kind=action.kind,
                    outcome=action.outcome,
                    started_at=action.started_at,
                    ended_at=action.ended_at,
                    duration_ns=action.duration_ns,
                    cost_usd=action.cost_usd,
                    cost_source=action.cost_source,
                    input_tokens=action.usage.input_tokens if action.usage else None,
                    output_tokens=action.usage.output_tokens if action.usage else None,
                    tokens_estimated=action.tokens_estimated,
                    error_class=action.error_class,
                    error_message=action.error_message,
                    agent_id=run.agent_id,
                    agent_name=run.agent_name,
                    runtime=run.runtime,
                    model=run.model,
                )
            )
    return entries


def expected(
    entries: list[LedgerEntry], flt: LedgerFilter, sort: LedgerSort
) -> list[tuple[int, int]]:
    matching = [e for e in entries if entry_matches(flt, e)]
    return [(e.run_no, e.seq) for e in sorted(matching, key=lambda e: ledger_order_key(e, sort))]


def chain(
    log: ExecutionLog, flt: LedgerFilter, sort: LedgerSort, size: int
) -> list[tuple[int, int]]:
    conn = log.reader()
    got: list[tuple[int, int]] = []
    after = None
    while True:
        rows = action_ledger.page(conn, flt, after, size, sort=sort)
        got.extend((e.run_no, e.seq) for e in rows)
        if len(rows) < size:
            return got
        after = ledger_cursor(rows[-1], sort)


def filters(log: ExecutionLog, agents: list[str]) -> list[LedgerFilter]:
    some_run = log.list_runs(RunFilter(), limit=5)[3].id
    return [
        LedgerFilter(),
        LedgerFilter(name="call_llm"),
        LedgerFilter(kind="tool"),
        LedgerFilter(outcome="error"),
        LedgerFilter(name="run_sql", outcome="success"),
        LedgerFilter(agent_id=agents[0]),
        LedgerFilter(model="llama3.1:8b"),
        LedgerFilter(agent_id=agents[1], model="gpt-5-mini", kind="llm"),
        LedgerFilter(min_cost_usd=0.004),
        LedgerFilter(min_duration_ms=9),
        LedgerFilter(since_ms=NOW - 5 * DAY_MS, outcome="success"),
        LedgerFilter(run_id=some_run),
        LedgerFilter(name="no_such_action"),
    ]


SORTS = [LedgerSort(key, d) for key in ("time", "cost", "duration") for d in (True, False)]


def test_every_filter_and_sort_matches_the_pure_rules(log: ExecutionLog) -> None:
    agents = seed_ledger(log)
    entries = all_entries(log)
    assert any(e.cost_usd is None for e in entries) and any(e.duration_ns is None for e in entries)
    for flt, sort in itertools.product(filters(log, agents), SORTS):
        assert chain(log, flt, sort, 29) == expected(entries, flt, sort), (flt, sort)


def test_small_agents_and_models_are_read_through_their_runs(
    log: ExecutionLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    agents = seed_ledger(log)
    entries = all_entries(log)
    for cap in (1_000_000, 0):  # every agent / model is a small set, or none is
        monkeypatch.setattr(action_ledger, "RUN_SET_CAP", cap)
        for flt in (
            LedgerFilter(agent_id=agents[0]),
            LedgerFilter(model="gpt-5-mini", outcome="success"),
            LedgerFilter(agent_id=agents[1], model="claude-sonnet-5"),
        ):
            for sort in SORTS:
                assert chain(log, flt, sort, 17) == expected(entries, flt, sort), (cap, flt, sort)
            conn = log.reader()
            assert action_ledger.count(conn, flt) == len(expected(entries, flt, SORTS[0]))


def test_counts_are_exact_up_to_the_cap(log: ExecutionLog) -> None:
    agents = seed_ledger(log)
    entries = all_entries(log)
    conn = log.reader()
    for flt in filters(log, agents):
        assert action_ledger.count(conn, flt) == len(expected(entries, flt, SORTS[0])), flt
    assert action_ledger.count(conn, LedgerFilter(), cap=50) == 50
    triples = action_ledger.streams(conn)
    assert triples == sorted({(e.kind, e.name, e.outcome) for e in entries})
    assert action_ledger.models(conn) == sorted({e.model for e in entries})


def test_an_unknown_ledger_sort_is_a_clear_error() -> None:
    with pytest.raises(LedgerSortError, match=r"cannot sort actions by 'price'.*duration"):
        LedgerSort("price")


def test_no_ledger_plan_scans_the_actions_table(
    log: ExecutionLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    agents = seed_ledger(log)
    conn = log.reader()
    conn.execute("ANALYZE")
    for cap in (action_ledger.RUN_SET_CAP, 0):
        monkeypatch.setattr(action_ledger, "RUN_SET_CAP", cap)
        for flt, sort in itertools.product(filters(log, agents), SORTS):
            statements: list[str] = []
            conn.set_trace_callback(statements.append)
            try:
                first = action_ledger.page(conn, flt, None, 10, sort=sort)
                if first:
                    action_ledger.page(conn, flt, ledger_cursor(first[-1], sort), 10, sort=sort)
                action_ledger.count(conn, flt)
            finally:
                conn.set_trace_callback(None)
            for sql in statements:
                plan = [str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql)]
                for step in plan:
                    if step.startswith(("SCAN a", "SCAN actions", "SCAN r", "SCAN runs")):
                        assert "INDEX" in step, (flt, sort, sql, plan)
                if "FROM actions a INDEXED BY" in sql and "count(*)" not in sql:
                    # A walk in the ledger's order: nothing sorted.
                    assert not any("TEMP B-TREE" in step for step in plan), (sql, plan)


def test_cli_lists_and_exports_the_ledger(log: ExecutionLog, tmp_path: Path) -> None:
    import csv
    import io
    import json

    from ato_desktop import cli

    def run_cli(*args: str) -> tuple[int, str]:
        out = io.StringIO()
        return cli.main(list(args), stdout=out), out.getvalue()

    agents = seed_ledger(log)
    entries = all_entries(log)
    flt = LedgerFilter(agent_id=agents[0], kind="llm")
    sort = LedgerSort("cost")
    code, out = run_cli(
        "actions",
        "list",
        "--agent",
        "writer",
        "--kind",
        "llm",
        "--sort",
        "cost",
        "--limit",
        "0",
        "--json",
    )
    assert code == 0
    listed = [(row["run_id"], row["seq"]) for row in json.loads(out)]
    by_key = {(e.run_no, e.seq): e for e in entries}
    assert listed == [(by_key[k].run_id, k[1]) for k in expected(entries, flt, sort)]

    code, out = run_cli("actions", "list", "--outcome", "error", "--limit", "5")
    assert code == 0 and out.splitlines()[0].split()[:3] == ["STARTED", "RUN", "AGENT"]
    assert len(out.splitlines()) == 6

    target = tmp_path / "ledger.csv"
    code, _ = run_cli(
        "actions", "export", "--format", "csv", "--model", "gpt-5-mini", "-o", str(target)
    )
    assert code == 0
    with target.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    wanted = expected(entries, LedgerFilter(model="gpt-5-mini"), LedgerSort())
    assert [(r["run_id"], int(r["seq"])) for r in rows] == [
        (by_key[k].run_id, k[1]) for k in wanted
    ]
    costs = [r["cost_usd"] for r in rows if r["cost_usd"]]
    assert costs and all("e" not in c and len(c.split(".")[-1]) <= 12 for c in costs)

    code, out = run_cli("actions", "export", "--format", "jsonl", "--run", entries[0].run_id[-8:])
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert {line["run_id"] for line in lines} == {entries[0].run_id}
    assert all("inputs" in line for line in lines)

    for bad in (
        ("actions", "list", "--sort", "price"),
        ("actions", "list", "--outcome", "maybe"),
        ("actions", "list", "--agent", "nobody"),
        ("actions", "list", "--min-duration", "soon"),
        ("actions", "list", "--min-cost", "lots"),
        ("actions", "list", "--run", "ffffffffffff"),
    ):
        assert run_cli(*bad)[0] == 2, bad
