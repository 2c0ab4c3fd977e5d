"""A running run's progress facts: the agent's typical duration (the median of its newest
completed runs, through an index), and the progress rules that word them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ato_desktop.core.live_progress import TYPICAL_SAMPLE, ProgressFacts, progress, typical_ms
from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import NewRun, RunEnd
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.live_progress import typical_duration_ms
from ato_desktop.store.paths import DataPaths

NOW = int(time.time() * 1000)


@pytest.fixture
def log(ato_home: Path) -> Iterator[ExecutionLog]:
    store = ExecutionLog.open(DataPaths(ato_home))
    yield store
    store.close()


def test_typical_duration_is_the_median_of_the_newest_completed_runs(log: ExecutionLog) -> None:
    agent = log.create_agent("writer", AgentConfig("claude", "claude-sonnet-5")).result()
    other = log.create_agent("other", AgentConfig("claude", "claude-sonnet-5")).result()
    rows = []
    # Old runs took a minute; the newest TYPICAL_SAMPLE took 5-15 s; failures and the other
    # agent's runs do not count.
    for i in range(TYPICAL_SAMPLE + 30):
        start = NOW - (TYPICAL_SAMPLE + 30 - i) * 60_000
        seconds = 60 if i < 30 else 5 + (i % 11)
        rows.append(
            (
                NewRun("claude", "m", "cli", start, agent_id=agent.id),
                RunEnd("completed", start + seconds * 1000, seconds * 1_000_000_000),
                [],
            )
        )
        rows.append(
            (
                NewRun("claude", "m", "cli", start + 1, agent_id=agent.id),
                RunEnd("failed", start + 1 + 999_000, 999_000_000_000),
                [],
            )
        )
        rows.append(
            (
                NewRun("claude", "m", "cli", start + 2, agent_id=other.id),
                RunEnd("completed", start + 2 + 1000, 1_000_000_000),
                [],
            )
        )
    log.ingest(rows).result()
    newest = sorted(5 + (i % 11) for i in range(30, TYPICAL_SAMPLE + 30))
    median_ms, runs = typical_duration_ms(log, agent.id)
    assert runs == TYPICAL_SAMPLE
    assert median_ms == typical_ms([s * 1000 for s in newest])
    # One index range, newest first: no scan of the runs, no sort.
    plan = " ".join(
        str(row[3])
        for row in log.reader().execute(
            "EXPLAIN QUERY PLAN SELECT r.duration_ns FROM runs r INDEXED BY idx_runs_agent_status "
            "WHERE r.agent_id = ? AND r.status = 'completed' "
            "ORDER BY r.started_at DESC, r.id DESC LIMIT ?",
            (agent.id, TYPICAL_SAMPLE),
        )
    )
    assert "idx_runs_agent_status" in plan and "TEMP B-TREE" not in plan
    # Too few runs say nothing usual.
    fresh = log.create_agent("fresh", AgentConfig("claude", "claude-sonnet-5")).result()
    assert typical_duration_ms(log, fresh.id) == (None, 0)


def test_progress_rules() -> None:
    stages = progress(ProgressFacts(stages_total=3, stages_done=1, stage_name="draft"), 5_000)
    assert (stages.percent, stages.text) == (pytest.approx(100 / 3), "Stage 2 of 3 (draft)")
    steps = progress(ProgressFacts(stages_total=2, stages_done=2, steps=True), 5_000)
    assert (steps.percent, steps.text) == (100.0, "Step 2 of 2")
    ceiling = progress(ProgressFacts(tool_calls=3, tool_ceiling=8), 5_000)
    assert (ceiling.percent, ceiling.text) == (37.5, "3 of at most 8 tool calls")
    usual = progress(ProgressFacts(typical_ms=12_000), 6_000)
    assert (usual.percent, usual.text, usual.elapsed_share) == (None, "6.0 s · usually 12 s", 0.5)
    late = progress(ProgressFacts(typical_ms=12_000), 75_000)
    assert late.overdue and late.text == "1 m 15 s · usually 12 s: longer than usual"
    unknown = progress(ProgressFacts(), 2_500)
    assert (unknown.percent, unknown.elapsed_share, unknown.text) == (None, None, "2.5 s so far")
    stage = progress(ProgressFacts(of_pipeline=(1, 3, "article"), typical_ms=4_000), 1_000)
    assert stage.text == "Stage 2 of 3 of article · 1.0 s · usually 4.0 s"
    assert typical_ms([1, 2]) is None and typical_ms([3, 1, 2]) == 2
