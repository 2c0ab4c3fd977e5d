"""Compare's group reads: right rows, and plans that walk index ranges and never sort."""

from __future__ import annotations

import itertools
from typing import Any

from ato_desktop.core.models import AgentConfig, TokenUsage
from ato_desktop.core.records import NewAction, NewRun, RunEnd
from ato_desktop.store.compare_queries import (
    action_facts,
    change_side_facts,
    group_runs,
    run_ids,
)
from ato_desktop.store.execution_log import ExecutionLog

NOW = 1_790_000_000_000
MINUTE = 60_000


def _seed(store: ExecutionLog) -> tuple[str, str, str]:
    agent = store.create_agent("writer", AgentConfig("claude", "m")).result()
    v2, _ = store.update_agent(agent.id, AgentConfig("codex", "gpt-5")).result()
    items = []
    for i in range(40):
        version = agent.current_version_id if i < 20 else v2.current_version_id
        runtime = "claude" if i % 2 else "codex"
        action = NewAction(
            "call_llm", "llm", "success", NOW, inputs={"big": "x" * 100}, usage=TokenUsage(1, 1)
        )
        end = RunEnd("completed", NOW + i * MINUTE + 5, 5) if i != 39 else None  # one running
        items.append(
            (
                NewRun(
                    runtime,
                    "m",
                    "cli",
                    NOW + i * MINUTE,
                    agent_id=agent.id,
                    agent_version_id=version,
                    id=f"{i:032x}",
                ),
                end,
                [action, action],
            )
        )
    store.ingest(items).result()
    return agent.id, agent.current_version_id, v2.current_version_id


def test_group_runs_select_newest_first_within_every_filter(store: ExecutionLog) -> None:
    agent_id, v1, v2 = _seed(store)
    every = group_runs(store, agent_id=agent_id, limit=100)
    assert len(every.runs) == 39 and every.runs[0].id == f"{38:032x}"  # the running one is out
    assert not every.limited and not every.capped
    v1_claude = group_runs(store, agent_id=agent_id, version_id=v1, runtime="claude", limit=100)
    assert [int(r.id, 16) for r in v1_claude.runs] == list(range(19, 0, -2))
    window = group_runs(
        store, agent_id=agent_id, since_ms=NOW + 5 * MINUTE, until_ms=NOW + 8 * MINUTE, limit=2
    )
    assert [int(r.id, 16) for r in window.runs] == [7, 6] and window.limited
    capped = group_runs(store, agent_id=agent_id, runtime="claude", model="m", scan_cap=5)
    # The walk covers runs 39 (running) down to 35, whatever their runtime.
    assert [int(r.id, 16) for r in capped.runs] == [37, 35] and capped.capped
    assert group_runs(store, agent_id=agent_id, version_id=v2, runtime="nope").runs == ()


def test_change_side_facts_are_the_figures_of_the_runs_group_runs_reads(
    store: ExecutionLog,
) -> None:
    """Regressions judge from these figures: the same runs, in the same order, as the whole
    runs group_runs(change_side=True) reads, with the limit's `limited` flag alike."""
    agent_id, v1, v2 = _seed(store)
    for version, limit in itertools.product((v1, v2), (0, 5, 19, 20, 100)):
        group = group_runs(
            store, agent_id=agent_id, version_id=version, limit=limit, change_side=True
        )
        facts, limited = change_side_facts(store, version, limit)
        assert facts == [
            (
                r.run_no,
                int(r.status == "completed"),
                r.duration_ns,
                r.cost_usd,
                int(r.cost_source == "unknown"),
            )
            for r in group.runs
        ]
        assert limited == group.limited
    assert len(change_side_facts(store, v2, 100)[0]) == 19  # the running run is no side's
    runs = group_runs(store, agent_id=agent_id, version_id=v2, limit=3, change_side=True).runs
    assert run_ids(store, [r.run_no for r in runs] + [10**9]) == {r.run_no: r.id for r in runs}


def test_action_facts_come_in_order_without_payloads(store: ExecutionLog) -> None:
    agent_id, _, _ = _seed(store)
    runs = group_runs(store, agent_id=agent_id, limit=3).runs
    facts = action_facts(store, runs)
    assert list(facts) == [r.id for r in runs]
    assert all([a.seq for a in actions] == [1, 2] for actions in facts.values())
    assert all(a.inputs is None for a in itertools.chain(*facts.values()))
    assert action_facts(store, runs, max_actions=3).keys() == {runs[0].id}


def _statements(store: ExecutionLog, call: Any) -> list[str]:
    conn = store.reader()
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    try:
        call()
    finally:
        conn.set_trace_callback(None)
    return seen


def test_plans_walk_index_ranges_and_never_sort(store: ExecutionLog) -> None:
    agent_id, v1, _ = _seed(store)
    store.reader().execute("ANALYZE")
    runs = group_runs(store, agent_id=agent_id, limit=5).runs
    calls = [lambda: action_facts(store, runs), lambda: change_side_facts(store, v1, 5)]
    for version, since, until, runtime, side in itertools.product(
        (None, v1), (None, NOW), (None, NOW + 30 * MINUTE), (None, "claude"), (False, True)
    ):
        calls.append(
            lambda version=version, since=since, until=until, runtime=runtime, side=side: (
                group_runs(
                    store,
                    agent_id=agent_id,
                    version_id=version,
                    since_ms=since,
                    until_ms=until,
                    runtime=runtime,
                    scan_cap=10,
                    change_side=side,
                )
            )
        )
    conn = store.reader()
    for call in calls:
        for sql in _statements(store, call):
            plan = [str(row[3]) for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]
            assert not any(step.startswith(("SCAN r", "SCAN actions")) for step in plan), plan
            assert not any("TEMP B-TREE" in step for step in plan), plan
