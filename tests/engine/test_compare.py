"""Compare against a real execution log: two runs, groups around a config change and by
runtime, bounded selection."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from ato_desktop.core.compare import CHANGED, ONLY_RIGHT, SAME, build_run_comparison
from ato_desktop.core.models import AgentConfig, CostSource, TokenUsage
from ato_desktop.core.records import AgentRecord, NewAction, NewRun, RunEnd
from ato_desktop.core.run_json import run_to_json
from ato_desktop.engine import compare
from ato_desktop.engine.compare import (
    CompareUnavailable,
    GroupSpec,
    around_version,
    by_runtime,
    comparable_agents,
    compare_groups,
    compare_runs,
    select_runs,
)
from ato_desktop.store.compare_queries import action_facts
from ato_desktop.store.execution_log import ExecutionLog, NotFoundError
from ato_desktop.store.paths import DataPaths

NOW = 1_790_000_000_000
MINUTE = 60_000


@pytest.fixture
def store(ato_home: Path) -> Iterator[ExecutionLog]:
    log = ExecutionLog.open(DataPaths(ato_home).ensure())
    yield log
    log.close()


def _step(
    name: str,
    *,
    cost: float | None = 0.01,
    ms: int = 100,
    outcome: str = "success",
    text: str = "ok",
    tokens: tuple[int, int] = (10, 5),
    source: CostSource | None = CostSource.PROVIDER,
) -> NewAction:
    return NewAction(
        name=name,
        kind="llm" if name == "call_llm" else "tool",
        outcome=outcome,
        started_at=NOW,
        ended_at=NOW + ms,
        inputs={"step": name},
        outputs={"text": text},
        usage=TokenUsage(*tokens),
        duration_ns=ms * 1_000_000,
        cost_usd=cost,
        cost_source=CostSource.UNKNOWN if cost is None and source else source,
    )


def _ingest(
    store: ExecutionLog,
    agent: AgentRecord | None,
    started_at: int,
    steps: Sequence[NewAction],
    *,
    status: str = "completed",
    duration_ms: int = 1000,
    runtime: str = "claude",
    model: str = "claude-sonnet-5",
    version_id: str | None = None,
    run_id: str | None = None,
) -> None:
    new = NewRun(
        runtime,
        model,
        "cli",
        started_at,
        agent_id=agent.id if agent else None,
        agent_version_id=version_id or (agent.current_version_id if agent else None),
        id=run_id,
    )
    end = (
        None
        if status == "running"
        else RunEnd(status, started_at + duration_ms, duration_ms * 10**6)
    )
    store.ingest([(new, end, list(steps))]).result()


# -- two runs -------------------------------------------------------------------------------------


def test_compare_two_stored_runs(store: ExecutionLog) -> None:
    agent = store.create_agent("writer", AgentConfig("claude", "claude-sonnet-5")).result()
    left_id, right_id = "a" * 32, "b" * 32
    _ingest(
        store,
        agent,
        NOW,
        [_step("call_llm", cost=0.0142, text="The answer is 4"), _step("search", cost=None)],
        duration_ms=1200,
        run_id=left_id,
    )
    _ingest(
        store,
        agent,
        NOW + MINUTE,
        [
            _step("call_llm", cost=0.0213, text="The answer is four", tokens=(20, 5)),
            _step("fetch", cost=0.001),
            _step("search", cost=None),
        ],
        duration_ms=1500,
        run_id=right_id,
    )
    comparison = compare_runs(store, left_id[:8], right_id)  # a unique prefix is enough
    assert comparison.left.id == left_id and comparison.right.agent == "writer"
    assert [(row.name, row.status) for row in comparison.actions] == [
        ("call_llm", CHANGED),
        ("fetch", ONLY_RIGHT),
        ("search", SAME),
    ]
    call = comparison.actions[0]
    assert call.cost_usd.change == pytest.approx(0.0071)
    assert call.tokens["input"].change == 10
    assert call.output_words is not None
    assert [(p.op, p.text) for p in call.output_words][-2:] == [("delete", "4"), ("insert", "four")]
    totals = comparison.totals
    # Both runs have an unpriced action: their costs are partly unknown, so no cost delta.
    assert totals.cost_usd.change is None and len(comparison.notes) == 2
    assert totals.duration_ms.change == pytest.approx(300.0)
    assert totals.action_count.change == 1
    assert totals.tokens["input"].left == 20 and totals.tokens["input"].right == 40
    json.dumps(comparison.as_dict(), allow_nan=False)


def test_a_stored_run_against_an_import_with_string_numbers(store: ExecutionLog) -> None:
    """An OTLP import or a hand-edited export hands numbers over as strings: compare copes."""
    _ingest(store, None, NOW, [_step("call_llm", cost=0.0142)], run_id="c" * 32)
    record = store.get_run("c" * 32)
    exported = run_to_json(record, store.get_actions(record.id))
    exported["cost_usd"] = "0.021300"
    exported["duration_ms"] = "1500.000"
    exported["tokens"] = {"input": "20", "output": "5.0", "cache_read": None}
    exported["actions"][0]["cost_usd"] = "0.021300"
    exported["actions"][0]["duration_ms"] = "NaN"
    comparison = build_run_comparison(record, exported, left_actions=store.get_actions(record.id))
    assert comparison.totals.cost_usd.change == pytest.approx(0.0071)
    assert comparison.totals.duration_ms.change == pytest.approx(500.0)
    assert comparison.totals.tokens["input"].change == 10
    assert comparison.totals.tokens["cache_read"].right is None
    assert comparison.actions[0].cost_usd.pct == pytest.approx(50.0)
    assert comparison.actions[0].duration_ms.right is None


def test_compare_runs_caps_the_actions_it_aligns(store: ExecutionLog) -> None:
    _ingest(store, None, NOW, [_step("call_llm")] * 5, run_id="d" * 32)
    _ingest(store, None, NOW, [_step("call_llm")] * 2, run_id="e" * 32)
    comparison = compare_runs(store, "d" * 32, "e" * 32, max_actions=3)
    assert len(comparison.actions) == 3
    assert comparison.notes[0] == "The left run has 5 actions; the first 3 are compared."
    with pytest.raises(NotFoundError):
        compare_runs(store, "d" * 32, "f" * 32)


# -- groups ---------------------------------------------------------------------------------------


def _versioned(store: ExecutionLog) -> tuple[AgentRecord, AgentRecord]:
    """An agent with three runs on v1 (sonnet) and two on v2 (haiku, cheaper, faster)."""
    v1 = store.create_agent("writer", AgentConfig("claude", "claude-sonnet-5")).result()
    for i, (status, cost, ms) in enumerate(
        [("completed", 0.03, 3000), ("failed", 0.01, 1000), ("completed", 0.02, 2000)]
    ):
        steps = [_step("call_llm", cost=cost, ms=ms - 100), _step("read_file", cost=None, ms=50)]
        if status == "failed":
            steps[1] = _step("read_file", cost=None, ms=50, outcome="error")
        _ingest(store, v1, NOW + i * MINUTE, steps, status=status, duration_ms=ms)
    v2, changed = store.update_agent(v1.id, AgentConfig("claude", "claude-haiku-5")).result()
    assert changed
    for i, (cost, ms) in enumerate([(0.004, 400), (0.002, 600)]):
        _ingest(
            store,
            v2,
            NOW + (10 + i) * MINUTE,
            [_step("call_llm", cost=cost, ms=ms - 100)],
            duration_ms=ms,
            model="claude-haiku-5",
        )
    # Still running: never part of a group.
    _ingest(store, v2, NOW + 20 * MINUTE, [], status="running", model="claude-haiku-5")
    return v1, v2


def test_groups_around_a_config_change(store: ExecutionLog) -> None:
    _versioned(store)
    before, after = around_version(store, "writer")
    assert (before.version, after.version) == (1, 2)
    comparison = compare_groups(store, before, after)
    left, right = comparison.left, comparison.right
    assert (left.label, right.label) == ("v1", "v2")
    assert (left.runs, right.runs) == (3, 2)
    assert left.success_rate == pytest.approx(2 / 3) and right.success_rate == 1.0
    assert comparison.success_rate.change == pytest.approx(1 / 3)
    # Run costs: v1's runs each have an unpriced read_file, so their costs are partly unknown.
    assert left.cost_usd.n == 0 and left.cost_sources["unknown"] == 3
    assert right.cost_usd.mean == pytest.approx(0.003) and right.cost_sources["provider"] == 2
    assert left.duration_ms.mean == pytest.approx(2000.0)
    assert right.duration_ms.median == pytest.approx(500.0)
    assert comparison.duration_mean_ms.pct == pytest.approx(-75.0)
    assert comparison.duration_p95_ms.change == pytest.approx(600.0 - 3000.0)
    assert left.tokens_per_run["input"] == pytest.approx(20.0)
    assert comparison.tokens_per_run["input"].change == pytest.approx(-10.0)
    by_name = {a.name: a for a in comparison.actions}
    assert [a.name for a in comparison.actions] == ["call_llm", "read_file"]
    assert by_name["call_llm"].count.left == 3 and by_name["call_llm"].count.right == 2
    assert by_name["call_llm"].mean_cost_usd.left == pytest.approx(0.02)
    assert by_name["call_llm"].mean_cost_usd.right == pytest.approx(0.003)
    assert by_name["call_llm"].mean_duration_ms.change == pytest.approx(400.0 - 1900.0)
    read = by_name["read_file"]
    assert read.left is not None and read.left.error_rate == pytest.approx(1 / 3)
    assert read.right is None and read.count.change == -3
    assert "v1: cost unknown or not recorded for 3 of 3 runs; cost figures cover the rest." in (
        comparison.notes
    )
    json.dumps(comparison.as_dict(), allow_nan=False)


def test_around_version_needs_a_version_before(store: ExecutionLog) -> None:
    _versioned(store)
    with pytest.raises(CompareUnavailable, match="first version"):
        around_version(store, "writer", 1)
    with pytest.raises(CompareUnavailable, match="no version 7"):
        around_version(store, "writer", 7)
    with pytest.raises(NotFoundError):
        around_version(store, "nobody")
    before, after = around_version(store, "writer", 2)
    assert (before.label, after.label) == ("v1", "v2")


def test_groups_by_runtime(store: ExecutionLog) -> None:
    agent = store.create_agent("coder", AgentConfig("claude", "claude-sonnet-5")).result()
    for i in range(4):
        runtime, model, cost = (
            ("claude", "claude-sonnet-5", 0.02) if i % 2 == 0 else ("codex", "gpt-5", 0.008)
        )
        _ingest(
            store,
            agent,
            NOW + i * MINUTE,
            [_step("call_llm", cost=cost), _step("Bash", cost=None, source=None)],
            runtime=runtime,
            model=model,
            status="completed" if i != 3 else "failed",
        )
    left, right = by_runtime(store, "coder", "claude", "codex")
    comparison = compare_groups(store, left, right)
    assert (comparison.left.label, comparison.right.label) == ("claude", "codex")
    assert (comparison.left.runs, comparison.right.runs) == (2, 2)
    assert comparison.right.success_rate == 0.5
    # Bash has no cost and no source: the runs' costs are the model calls', fully known.
    assert comparison.left.cost_usd.mean == pytest.approx(0.02)
    assert comparison.cost_mean_usd.pct == pytest.approx(-60.0)
    assert {a.name: a.count.right for a in comparison.actions} == {"call_llm": 2, "Bash": 2}
    with pytest.raises(CompareUnavailable):
        by_runtime(store, "coder", "claude", "claude")
    models = by_runtime(store, "coder", "claude", "claude", model_b="claude-haiku-5")
    assert compare_groups(store, *models).right.runs == 0


def test_time_range_and_limit(store: ExecutionLog) -> None:
    agent = store.create_agent("writer", AgentConfig("claude", "claude-sonnet-5")).result()
    for i in range(6):
        _ingest(store, agent, NOW + i * MINUTE, [_step("call_llm")], run_id=f"{i:032x}")
    window = GroupSpec("writer", since_ms=NOW + MINUTE, until_ms=NOW + 4 * MINUTE)
    selection = select_runs(store, window)
    # [since, until): runs 1, 2 and 3, newest first.
    assert [r.id for r in selection.runs] == [f"{i:032x}" for i in (3, 2, 1)]
    assert not selection.limited and not selection.capped
    assert select_runs(store, GroupSpec("writer"), limit=0).runs == ()
    newest = select_runs(store, GroupSpec("writer"), limit=2)
    assert [r.id for r in newest.runs] == [f"{i:032x}" for i in (5, 4)] and newest.limited
    assert not select_runs(store, GroupSpec("writer"), limit=6).limited
    comparison = compare_groups(store, GroupSpec("writer", label="all"), window, limit=2)
    assert comparison.left.runs == 2 and comparison.right.runs == 2
    assert "all: the newest 2 runs (older ones are left out)." in comparison.notes
    assert window.describe().startswith("from ")


def test_a_runtime_walk_stops_at_the_scan_cap(
    store: ExecutionLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compare, "SCAN_CAP", 10)
    agent = store.create_agent("writer", AgentConfig("claude", "claude-sonnet-5")).result()
    _ingest(store, agent, NOW - MINUTE, [_step("call_llm")], runtime="codex")  # the oldest
    for i in range(30):
        _ingest(store, agent, NOW + i * MINUTE, [_step("call_llm")], runtime="claude")
    codex = GroupSpec("writer", runtime="codex")
    selection = select_runs(store, codex)
    assert selection.runs == () and selection.capped and not selection.limited
    comparison = compare_groups(store, codex, GroupSpec("writer", runtime="claude"), limit=5)
    assert "codex: only the agent's newest 10 runs were looked at." in comparison.notes
    assert comparison.right.runs == 5
    assert "claude: the newest 5 runs (older ones are left out)." in comparison.notes
    # Within the cap, the walk finds it; a walk that saw every run is not capped.
    monkeypatch.setattr(compare, "SCAN_CAP", 31)
    found = select_runs(store, codex)
    assert len(found.runs) == 1 and not found.capped
    monkeypatch.setattr(compare, "SCAN_CAP", 30)
    assert select_runs(store, codex).capped
    window = GroupSpec("writer", runtime="codex", since_ms=NOW - MINUTE, until_ms=NOW)
    assert len(select_runs(store, window).runs) == 1


def test_groups_of_two_agents_are_labelled_with_their_names(store: ExecutionLog) -> None:
    a = store.create_agent("alpha", AgentConfig("claude", "m")).result()
    b = store.create_agent("beta", AgentConfig("claude", "m")).result()
    _ingest(store, a, NOW, [_step("call_llm")])
    _ingest(store, b, NOW, [_step("call_llm")])
    comparison = compare_groups(store, GroupSpec("alpha"), GroupSpec(b.id, runtime="claude"))
    assert (comparison.left.label, comparison.right.label) == ("alpha", "beta · claude")


def test_comparable_agents_have_two_runs(store: ExecutionLog) -> None:
    two = store.create_agent("two", AgentConfig("claude", "m")).result()
    one = store.create_agent("one", AgentConfig("claude", "m")).result()
    store.create_agent("none", AgentConfig("claude", "m")).result()
    _ingest(store, two, NOW, [])
    _ingest(store, two, NOW + 1, [_step("call_llm")])
    _ingest(store, one, NOW, [_step("call_llm")])
    assert [a.name for a in comparable_agents(store)] == ["two"]


def test_action_facts_leave_payloads_out_and_stay_within_the_bound(store: ExecutionLog) -> None:
    agent = store.create_agent("writer", AgentConfig("claude", "m")).result()
    for i in range(3):
        _ingest(store, agent, NOW + i, [_step("call_llm"), _step("read_file", outcome="error")])
    runs = select_runs(store, GroupSpec("writer")).runs
    facts = action_facts(store, runs, max_actions=5)
    assert list(facts) == [r.id for r in runs[:2]]  # a third run would make 6 actions
    first = facts[runs[0].id]
    assert [(a.seq, a.name, a.outcome) for a in first] == [
        (1, "call_llm", "success"),
        (2, "read_file", "error"),
    ]
    assert first[0].inputs is None and first[0].outputs is None and first[0].meta is None
    assert first[0].cost_usd == pytest.approx(0.01) and first[0].usage == TokenUsage(10, 5)
    comparison = compare_groups(
        store, GroupSpec("writer", label="l"), GroupSpec("writer", label="r"), max_actions=2
    )
    assert comparison.left.action_runs == 1
    assert "l: action figures cover 1 of 3 runs." in comparison.notes


def _mixed_side(
    store: ExecutionLog, agent: AgentRecord, start: int, *, completed: int, failed: int
) -> None:
    """One version's runs: production runs that completed or failed, and the runs a side of a
    change leaves out (killed, interrupted, replays, evals), newest of all."""
    statuses = ["completed"] * completed + ["failed"] * failed + ["killed", "interrupted"] * 3
    for i, status in enumerate(statuses):
        _ingest(store, agent, start + i * MINUTE, [_step("call_llm")], status=status)
    for i, trigger in enumerate(["replay"] * 4 + ["eval"] * 3):
        new = NewRun(
            "claude",
            agent.config.model,
            trigger,
            start + (100 + i) * MINUTE,
            agent_id=agent.id,
            agent_version_id=agent.current_version_id,
        )
        end = RunEnd(
            "failed" if i % 2 else "completed", start + (100 + i) * MINUTE + 500, 5 * 10**8
        )
        store.ingest([(new, end, [_step("call_llm")])]).result()


def test_regressions_and_compare_read_the_same_runs_around_a_change(store: ExecutionLog) -> None:
    """Issue 17.9: the same change read n 237/160 in Regressions and 257/181 in Compare.
    Both now count each side as core.regressions defines it."""
    from ato_desktop.engine.regressions import detect_regressions

    v1 = store.create_agent("writer", AgentConfig("claude", "claude-sonnet-5")).result()
    _mixed_side(store, v1, NOW, completed=24, failed=1)
    v2, _changed = store.update_agent(v1.id, AgentConfig("claude", "claude-haiku-5")).result()
    _mixed_side(store, v2, NOW + 300 * MINUTE, completed=17, failed=5)

    (change,) = detect_regressions(store, eval_scores=lambda _v: []).changes
    success = next(c for c in change.checks if c.metric == "success_rate")
    comparison = compare_groups(store, *around_version(store, "writer"))
    left, right = comparison.left, comparison.right
    assert (left.runs, right.runs) == (success.n_before, success.n_after) == (25, 22)
    assert left.success_rate == pytest.approx(success.before) == pytest.approx(24 / 25)
    assert right.success_rate == pytest.approx(success.after) == pytest.approx(17 / 22)
    assert change.samples == (25, 22)
    # And the view says which runs those are.
    assert any("as Regressions counts them" in note for note in comparison.notes)


def test_group_success_rate_leaves_killed_runs_out(store: ExecutionLog) -> None:
    """One definition of success rate: completed / (completed + failed), in every group."""
    agent = store.create_agent("coder", AgentConfig("claude", "claude-sonnet-5")).result()
    for i, status in enumerate(["completed", "completed", "failed", "killed", "interrupted"]):
        _ingest(store, agent, NOW + i * MINUTE, [_step("call_llm")], status=status)
    left, right = by_runtime(store, "coder", "claude", "codex")
    stats = compare_groups(store, left, right).left
    assert stats.runs == 5 and stats.statuses["killed"] == 1
    assert stats.success_rate == pytest.approx(2 / 3)
