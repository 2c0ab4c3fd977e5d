"""Sorting the run list (store.run_listing with core.run_sort): every key, both directions, with
the Runs page's filters, gives the order the pure rules give (core.run_sort.order_key) over a
brute-force filter; pages chain, read backwards and from any offset; no plan scans the table."""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ato_desktop.core.models import AgentConfig, CostSource, TokenUsage
from ato_desktop.core.records import NewAction, NewRun, RunEnd, RunFilter, RunRecord
from ato_desktop.core.run_filter import run_matches
from ato_desktop.core.run_sort import SORT_KEYS, RunSort, SortKeyError, cursor_after, order_key
from ato_desktop.store import run_listing
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.paths import DataPaths

NOW = int(time.time() * 1000)
DAY_MS = 86_400_000
STATUSES = ["completed"] * 6 + ["failed", "failed", "killed", "interrupted", "running"]


@pytest.fixture
def log(ato_home: Path) -> Iterator[ExecutionLog]:
    store = ExecutionLog.open(DataPaths(ato_home))
    yield store
    store.close()


def _seed(log: ExecutionLog, runs: int = 700, seed: int = 3) -> list[tuple[str, str]]:
    """Runs of three agents (two names differ only in case) and of no agent, over 40 days:
    every status, some without cost (an unpriced model), without actions, simulations, tagged
    users; ties on start time and on values, so the tie-breaks are exercised."""
    rng = random.Random(seed)
    agents = []
    for name in ("writer", "Analyst", "beta"):
        agent = log.create_agent(name, AgentConfig("claude", "claude-sonnet-5")).result()
        agents.append((agent.id, agent.current_version_id))
    items = []
    for i in range(runs):
        started = NOW - rng.randrange(40 * DAY_MS) if i % 9 else NOW - 5 * DAY_MS  # ties
        status = STATUSES[rng.randrange(len(STATUSES))]
        owner = rng.randrange(len(agents) + 1)
        agent_id, version_id = agents[owner] if owner < len(agents) else (None, None)
        n_actions = 0 if i % 13 == 0 else rng.randrange(1, 6)
        unpriced = i % 7 == 0
        actions = [
            NewAction(
                name="call_llm" if seq % 2 == 0 else "search_docs",
                kind="llm" if seq % 2 == 0 else "tool",
                outcome="error" if rng.random() < 0.2 else "success",
                started_at=started + seq,
                ended_at=started + seq + 5,
                usage=TokenUsage(10, 10),
                duration_ns=rng.choice([5, 5, 9, 40]) * 1_000_000,
                cost_usd=None if unpriced else rng.choice([0.01, 0.01, 0.02, 0.5]),
                cost_source=CostSource.UNKNOWN if unpriced else CostSource.PROVIDER,
            )
            for seq in range(n_actions)
        ]
        tags = {"user": rng.choice(["alice", "bob", "carol"])}
        if i % 11 == 0:
            tags["simulation"] = "true"
        end = (
            None
            if status == "running"
            else RunEnd(
                status,
                started + rng.choice([10, 10, 20, 90]) * 1000,
                rng.choice([10, 10, 20, 90]) * 1_000_000_000,
                error_class="timeout" if status == "failed" else None,
            )
        )
        new = NewRun(
            "claude",
            "claude-sonnet-5",
            "cli",
            started,
            agent_id=agent_id,
            agent_version_id=version_id,
            tags=tags,
        )
        items.append((new, end, actions))
    log.ingest(items).result()
    return agents


@pytest.fixture
def seeded(log: ExecutionLog) -> list[tuple[str, str]]:
    return _seed(log)


def _all_runs(log: ExecutionLog) -> list[RunRecord]:
    return log.list_runs(RunFilter(), limit=100_000)


def _expected(runs: list[RunRecord], flt: RunFilter, sort: RunSort) -> list[str]:
    matching = [r for r in runs if run_matches(flt, r)]
    return [r.id for r in sorted(matching, key=lambda r: order_key(r, sort))]


def _filters(agents: list[tuple[str, str]]) -> list[RunFilter]:
    agent_id, version_id = agents[1]
    return [
        RunFilter(),
        RunFilter(include_simulations=False),
        RunFilter(statuses=("failed",)),
        RunFilter(statuses=("completed", "killed"), include_simulations=False),
        RunFilter(statuses=("running",)),
        RunFilter(agent_id=agent_id),
        RunFilter(agent_id=agent_id, statuses=("completed",)),
        RunFilter(agent_version_id=version_id, include_simulations=False),
        RunFilter(since_ms=NOW - 7 * DAY_MS),
        RunFilter(min_cost_usd=0.4),
        RunFilter(min_cost_usd=0.02, since_ms=NOW - 20 * DAY_MS, statuses=("completed",)),
        RunFilter(tags=(("user", "alice"),), include_simulations=False),
        RunFilter(error_class="timeout"),
        RunFilter(min_duration_ms=15_000),
    ]


SORTS = [RunSort(key, descending) for key in SORT_KEYS for descending in (True, False)]


def _chain(log: ExecutionLog, flt: RunFilter, sort: RunSort, size: int) -> list[str]:
    got: list[str] = []
    cursor = None
    while True:
        page = log.list_runs(flt, after=cursor, limit=size, sort=sort)
        got.extend(r.id for r in page)
        if len(page) < size:
            return got
        cursor = cursor_after(page[-1], sort)


def test_every_sort_and_filter_matches_the_pure_order(
    log: ExecutionLog, seeded: list[tuple[str, str]]
) -> None:
    runs = _all_runs(log)
    assert any(r.cost_usd is None for r in runs) and any(r.ended_at is None for r in runs)
    for flt, sort in itertools.product(_filters(seeded), SORTS):
        expected = _expected(runs, flt, sort)
        assert _chain(log, flt, sort, 23) == expected, (flt, sort)


def test_small_sets_are_read_through_their_filter_index_in_the_same_order(
    log: ExecutionLog, seeded: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = _all_runs(log)
    for cap in (1_000_000, 0):  # every indexed filter is small / none is
        monkeypatch.setattr(run_listing, "SMALL_SET_CAP", cap)
        for flt in _filters(seeded):
            for sort in (RunSort("cost"), RunSort("duration", False), RunSort("success")):
                assert _chain(log, flt, sort, 31) == _expected(runs, flt, sort), (cap, flt, sort)


def test_pages_read_backwards_and_from_any_offset(
    log: ExecutionLog, seeded: list[tuple[str, str]]
) -> None:
    runs = _all_runs(log)
    agent_id = seeded[0][0]
    for flt in (RunFilter(), RunFilter(include_simulations=False, agent_id=agent_id)):
        for sort in SORTS:
            expected = _expected(runs, flt, sort)
            # From the end: the last rows, nearest the end first.
            last = log.list_runs(flt, limit=17, sort=sort, backwards=True)
            assert [r.id for r in last] == expected[::-1][:17], sort
            # Backwards from a row in the middle: the rows before it.
            if len(expected) > 60:
                by_id = {r.id: r for r in runs}
                cursor = cursor_after(by_id[expected[50]], sort)
                before = log.list_runs(flt, after=cursor, limit=20, sort=sort, backwards=True)
                assert [r.id for r in before] == expected[30:50][::-1], sort
            # Any position: from the top, from a cursor, and from the end.
            for start in (0, 1, 37, len(expected) // 2, len(expected) - 5, len(expected) + 3):
                page = log.list_runs(flt, limit=9, sort=sort, offset=start)
                assert [r.id for r in page] == expected[start : start + 9], (sort, start)
                tail = log.list_runs(flt, limit=9, sort=sort, offset=start, backwards=True)
                back = expected[::-1]
                assert [r.id for r in tail] == back[start : start + 9], (sort, start)
            if len(expected) > 40:
                by_id = {r.id: r for r in runs}
                cursor = cursor_after(by_id[expected[10]], sort)
                page = log.list_runs(flt, after=cursor, limit=9, sort=sort, offset=25)
                assert [r.id for r in page] == expected[36:45], sort


def test_counts_leave_simulations_out_when_asked(
    log: ExecutionLog, seeded: list[tuple[str, str]]
) -> None:
    runs = _all_runs(log)
    simulations = [r for r in runs if r.tags.get("simulation") == "true"]
    assert simulations
    for flt in _filters(seeded):
        assert log.count_runs(flt) == len([r for r in runs if run_matches(flt, r)]), flt
    assert log.count_runs(RunFilter(include_simulations=False)) == len(runs) - len(simulations)


def test_a_tag_changed_later_moves_a_run_in_or_out_of_the_simulations(
    log: ExecutionLog,
) -> None:
    run_id, run_no = log.create_run(
        NewRun("claude", "m", "replay", NOW, tags={"simulation": "TRUE"}), owner=None
    ).result()
    hidden = RunFilter(include_simulations=False)
    assert log.count_runs(hidden) == 0
    log.submit(
        lambda conn, emit: conn.execute(
            "UPDATE runs SET tags_json = json_patch(tags_json, ?) WHERE run_no = ?",
            ('{"simulation": null}', run_no),
        )
    ).result()
    assert [r.id for r in log.list_runs(hidden)] == [run_id]


def test_an_unknown_sort_key_is_a_clear_error() -> None:
    with pytest.raises(SortKeyError, match=r"cannot sort runs by 'price'.*cost"):
        RunSort("price")


def _plans(log: ExecutionLog, flt: RunFilter, sort: RunSort) -> list[tuple[str, str]]:
    conn = log.reader()
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        first = log.list_runs(flt, limit=20, sort=sort)
        if first:
            log.list_runs(flt, after=cursor_after(first[-1], sort), limit=20, sort=sort)
        log.list_runs(flt, limit=20, sort=sort, offset=150)
        log.list_runs(flt, limit=20, sort=sort, backwards=True)
        log.count_runs(flt)
    finally:
        conn.set_trace_callback(None)
    plans = []
    for sql in statements:
        rows = conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
        plans.append((sql, " | ".join(str(row[3]) for row in rows)))
    return plans


def test_no_sort_and_filter_scans_the_runs_table(
    log: ExecutionLog, seeded: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    log.reader().execute("ANALYZE")  # plans as a mature log would get them
    for cap in (run_listing.SMALL_SET_CAP, 1_000_000):
        monkeypatch.setattr(run_listing, "SMALL_SET_CAP", cap)
        for flt, sort in itertools.product(_filters(seeded), SORTS):
            for _sql, plan in _plans(log, flt, sort):
                for step in plan.split(" | "):
                    # (A count reads run_volume_rollups, a few rows per hour: a scan is fine.)
                    if step.startswith("SCAN ") and step.split()[1] in ("r", "runs"):
                        assert "INDEX" in step, (flt, sort, plan)  # an index walk, not the table
    # A value sort without a small filter walks its index in order: nothing is sorted.
    for key in ("ended", "duration", "cost", "actions", "success"):
        for descending in (True, False):
            sort = RunSort(key, descending)
            for sql, plan in _plans(log, RunFilter(include_simulations=False), sort):
                if "count(*)" not in sql:
                    assert "TEMP B-TREE" not in plan, (key, plan)


def test_cli_runs_list_sorts_by_any_key_both_ways(
    log: ExecutionLog, seeded: list[tuple[str, str]]
) -> None:
    import io
    import json

    from ato_desktop import cli

    def run_cli(*args: str) -> tuple[int, str]:
        out = io.StringIO()
        return cli.main(list(args), stdout=out), out.getvalue()

    assert run_cli("runs", "list")[0] == 0  # the CLI's workspace ends the seeded orphans first
    runs = _all_runs(log)
    for key, asc in (("cost", False), ("cost", True), ("agent", True), ("status", False)):
        args = ["runs", "list", "--sort", key, "--limit", "0", "--json"]
        code, out = run_cli(*args, *(["--asc"] if asc else []))
        assert code == 0
        expected = _expected(runs, RunFilter(), RunSort(key, not asc))
        assert [r["id"] for r in json.loads(out)] == expected, key
    code, out = run_cli("runs", "list", "--sort", "Duration", "--limit", "3")
    assert code == 0 and out.count("\n") == 4  # a header and three rows
    code, out = run_cli("runs", "list", "--sort", "price")
    assert code == 2


def test_anchors_are_every_nth_run_of_the_order(
    log: ExecutionLog, seeded: list[tuple[str, str]]
) -> None:
    runs = _all_runs(log)
    by_id = {r.id: r for r in runs}
    for flt in (RunFilter(include_simulations=False), RunFilter(agent_id=seeded[2][0])):
        for sort in (RunSort(), RunSort("cost", False), RunSort("agent"), RunSort("status")):
            expected = _expected(runs, flt, sort)
            found = run_listing.anchors(log.reader(), flt, sort, every=37)
            assert [p for p, _c in found] == list(range(36, len(expected), 37)), sort
            assert [c.id for _p, c in found] == [expected[p] for p, _c in found], sort
            # A page read from an anchor lands where the position says.
            position, cursor = found[len(found) // 2]
            page = log.list_runs(flt, after=cursor, limit=5, sort=sort, offset=3)
            assert [r.id for r in page] == expected[position + 4 : position + 9]
            assert by_id[cursor.id].run_no == cursor.run_no
    assert run_listing.anchors(log.reader(), RunFilter(), every=10, cancelled=lambda: True) == []
