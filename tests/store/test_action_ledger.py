"""The Activity Ledger's reads (store.action_ledger): every filter and sort gives what the pure
rules (core.ledger) give over every action; pages chain; counts agree (capped); one run's
actions; no plan scans the actions table."""

from __future__ import annotations

import dataclasses
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


def test_the_ledger_follows_every_writer_and_a_runs_new_model(log: ExecutionLog) -> None:
    """Bulk ingest, single actions, runs whose model is set later: the ledger's rows and
    streams agree with the actions table, as the brute force over it says."""
    agents = seed_ledger(log, runs=40)
    now = NOW + 1000
    run_id, run_no = log.create_run(NewRun("claude", "unknown", "ui", now), owner="x").result()
    for seq in range(3):
        log.append_action(
            run_id,
            run_no,
            NewAction("call_llm", "llm", "success", now + seq, now + seq + 1, cost_usd=0.5),
        ).result()
    log.submit(
        lambda conn, emit: conn.execute(
            "UPDATE runs SET model = 'gpt-5', agent_id = ? WHERE run_no = ?", (agents[1], run_no)
        )
    ).result()
    entries = all_entries(log)
    for flt in (LedgerFilter(), LedgerFilter(model="gpt-5"), LedgerFilter(agent_id=agents[1])):
        assert chain(log, flt, LedgerSort("cost"), 7) == expected(entries, flt, LedgerSort("cost"))
    assert action_ledger.count(log.reader(), LedgerFilter(model="unknown")) == 0
    ledger_rows = log.reader().execute("SELECT count(*) FROM ledger_actions").fetchone()[0]
    assert ledger_rows == len(entries)


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


def test_no_ledger_plan_scans_a_table(log: ExecutionLog) -> None:
    agents = seed_ledger(log)
    conn = log.reader()
    conn.execute("ANALYZE")
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
            if "ledger_streams" in sql:
                continue  # a few hundred rows at most: read whole
            plan = [str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql)]
            for step in plan:
                if step.startswith(("SCAN a", "SCAN actions", "SCAN r", "SCAN runs", "SCAN l")):
                    assert "INDEX" in step, (flt, sort, sql, plan)
            walk = f"INDEXED BY idx_ledger_{sort.key} " in sql
            if "FROM ledger_actions l" in sql and walk and "count(*)" not in sql:
                # A walk in the ledger's order: nothing sorted.
                assert not any("TEMP B-TREE" in step for step in plan), (sql, plan)


def test_runs_from_the_receiver_and_from_an_archive_reach_the_ledger(log: ExecutionLog) -> None:
    """Writers that insert actions themselves (the OTLP receiver's new runs, a retention
    import) index them too; deleting a run takes its ledger rows with it."""
    from ato_desktop.core.otlp_ingest import IngestedSpan, IngestedTrace
    from ato_desktop.store import retention
    from ato_desktop.store.external_runs import ingest_traces

    def span(span_id: str, start: int, name: str, cost: float | None) -> IngestedSpan:
        return IngestedSpan(
            span_id * 16, None, start * 1_000_000, name, "llm" if cost else "tool", "success",
            NOW + start, NOW + start + 5, 5_000_000, None, None, None, cost,
            "provider" if cost else None, None, None, {},
        )  # fmt: skip

    trace_id = "0" * 31 + "1"
    first = IngestedTrace(
        trace_id,
        NewRun("external", "gpt-5-mini", "external", NOW, id=trace_id),
        RunEnd("completed", NOW + 900, 900_000_000),
        [span("a", 100, "call_llm", 0.2), span("b", 300, "read_file", None)],
    )
    ingest_traces(log, [first]).result()
    # A later export with a span that started between them: the run's actions are renumbered.
    later = dataclasses.replace(first, spans=[span("c", 200, "call_llm", 0.1)])
    ingest_traces(log, [later]).result()
    conn = log.reader()
    found = action_ledger.page(
        conn, LedgerFilter(model="gpt-5-mini"), sort=LedgerSort(descending=False)
    )
    assert [(e.run_id, e.seq, e.name, e.cost_usd) for e in found] == [
        (trace_id, 1, "call_llm", 0.2),
        (trace_id, 2, "call_llm", 0.1),
        (trace_id, 3, "read_file", None),
    ]

    seed_ledger(log, runs=6)
    entries = all_entries(log)
    archived = [
        retention.archived_run(conn, row)
        for row in conn.execute("SELECT * FROM runs WHERE action_count > 0").fetchall()
    ]
    log.submit(retention.delete_runs([a.run_id for a in archived])).result()
    assert action_ledger.count(conn, LedgerFilter()) == 0
    assert conn.execute("SELECT count(*) FROM ledger_actions").fetchone()[0] == 0
    log.submit(retention.import_runs(archived, retention.ImportCounts())).result()
    assert chain(log, LedgerFilter(), LedgerSort(), 11) == expected(
        all_entries(log), LedgerFilter(), LedgerSort()
    )
    assert len(all_entries(log)) == len(entries)


def test_value_filters_read_small_ranges_or_walk_the_order_alike(
    log: ExecutionLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_ledger(log)
    entries = all_entries(log)
    value_filters = [
        LedgerFilter(min_cost_usd=0.004),
        LedgerFilter(min_cost_usd=0.02, kind="llm"),
        LedgerFilter(min_duration_ms=9, since_ms=NOW - 10 * DAY_MS),
        LedgerFilter(min_cost_usd=1.0),  # nothing costs that much: every stream is dropped
    ]
    for cap in (1_000_000, 1):  # every filter's range is small / none is
        monkeypatch.setattr(action_ledger, "STREAM_SMALL_CAP", cap)
        for flt, sort in itertools.product(value_filters, SORTS):
            assert chain(log, flt, sort, 13) == expected(entries, flt, sort), (cap, flt, sort)
            wanted = len(expected(entries, flt, sort))
            assert action_ledger.count(log.reader(), flt) == wanted, (cap, flt)
