"""Insights -> Regressions draws the evidence of a flagged change: the tripped metric's before
and after (bars with counts for success rate; histograms of the judged sample for latency),
the threshold, and n on each side."""

from __future__ import annotations

import time
from typing import Any

import pytest

from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import AgentRecord, NewRun, RunEnd
from ato_desktop.ui.charts.chart_frame import CHART
from ato_desktop.ui.context import AppContext
from tests.ui.test_regressions_ui import STATE_CHANGES, _view, _wait, harmful, triage

__all__ = ["harmful", "triage"]  # fixtures shared with test_regressions_ui
MS = 1_000_000


def test_a_success_rate_regression_is_two_bars_with_counts_and_the_threshold(
    open_ctx: AppContext, qtbot: Any, triage: AgentRecord, harmful: list[str]
) -> None:
    view = _view(open_ctx, qtbot)
    _wait(qtbot, view, STATE_CHANGES)
    evidence = view.detail.evidence
    assert evidence is not None
    frame = evidence.frames[0]
    qtbot.waitUntil(lambda: frame.state == CHART and evidence.samples is not None, timeout=10_000)
    spec = frame.spec
    assert spec is not None and frame.title.text() == "Success rate ✗"
    before, after = spec.series
    assert before.name == "v1 n=40" and after.name == "v2 n=40"
    assert before.values == (pytest.approx(97.5),) and after.values == (pytest.approx(60.0),)
    assert after.color == "failed"
    (threshold,) = spec.guides
    assert threshold.value == pytest.approx(87.5)  # 10 pp under the before rate
    assert "ok/failed 39/1 → 24/16" in spec.notes[0]
    assert not evidence.frames[1].isVisible()  # only success rate tripped


def test_a_latency_regression_is_the_judged_samples_histograms_with_the_alarm(
    open_ctx: AppContext, qtbot: Any
) -> None:
    agents = open_ctx.workspace.agents
    agent = agents.create("slowpoke", AgentConfig("claude", "claude-sonnet-5"), source="test")
    store = open_ctx.workspace.store
    start = int(time.time() * 1000) - 3_600_000

    def ingest(version_id: str, base: int, seconds: list[float]) -> None:
        items = []
        for i, s in enumerate(seconds):
            at = base + i * 1000
            new = NewRun(
                "claude",
                "claude-sonnet-5",
                "cli",
                at,
                agent_id=agent.id,
                agent_version_id=version_id,
            )
            items.append((new, RunEnd("completed", at + int(s * 1000), int(s * 1000 * MS)), []))
        store.ingest(items).result()

    ingest(agent.current_version_id, start, [1.0 + i / 40 for i in range(40)])
    agents.edit("slowpoke", {"system_prompt": "Think at length."})
    after = store.get_agent(agent.id).current_version_id
    ingest(after, start + 600_000, [20.0 + i / 10 for i in range(30)])
    view = _view(open_ctx, qtbot)
    _wait(qtbot, view, STATE_CHANGES)
    evidence = view.detail.evidence
    assert evidence is not None
    frame = next(f for f in evidence.frames if f.title.text().startswith("p95 latency"))
    qtbot.waitUntil(lambda: frame.state == CHART and evidence.samples is not None, timeout=10_000)
    spec = frame.spec
    assert spec is not None and "log scale" in spec.x_title
    before, after_series = spec.series
    assert sum(v or 0 for v in before.values) == 40
    assert sum(v or 0 for v in after_series.values) == 30
    assert before.name == "v1 n=40" and after_series.name == "v2 n=30"
    # The before runs fill the low bins, the after runs the high ones.
    last_before = max(i for i, v in enumerate(before.values) if v)
    first_after = min(i for i, v in enumerate(after_series.values) if v)
    assert last_before < first_after
    p95_before, alarm, p95_after = (g.value for g in spec.guides)
    assert p95_before < alarm < p95_after  # the after side is past the alarm line
    assert all(g.axis == "x" for g in spec.guides)
    labels = [g.label for g in spec.guides]
    assert labels[0].startswith("p95 before") and labels[2].startswith("p95 after")
    assert labels[1].startswith("alarm")
