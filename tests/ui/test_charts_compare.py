"""Insights -> Compare, drawn: per aligned action of two runs, and per action name of two
groups, each side's duration and cost as bars side by side; a side without the action, or
with an unknown cost, has no bar (never $0)."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from ato_desktop.core.models import CostSource
from ato_desktop.core.records import AgentRecord
from ato_desktop.ui.charts.chart_frame import CHART
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.insights.compare_view import MODE_VERSION, STATE_GROUPS, STATE_RUNS
from tests.ui.test_compare_ui import _action, _ingest, _view, _wait_state, writer

__all__ = ["writer"]  # the fixture, shared with test_compare_ui


def test_two_runs_bars_per_aligned_action(
    open_ctx: AppContext, qtbot: Any, writer: AgentRecord
) -> None:
    left_actions = [
        _action("plan", {"text": "a"}, ms=300, cost=0.001),
        _action("search", {"content": "r"}, kind="tool", ms=120, cost=0.0),
        _action("answer", {"text": "b"}, ms=800, cost=0.002),
    ]
    right_actions = [
        _action("plan", {"text": "a"}, ms=350, cost=0.001),
        _action("answer", {"text": "c"}, ms=600, cost=0.003),
        _action("review", {"text": "ok"}, ms=90, cost=0.004, source=CostSource.UNKNOWN),
    ]
    _ingest(open_ctx, qtbot, writer, [(1, left_actions), (2, right_actions)])
    view = _view(open_ctx, qtbot)
    view.reload()
    _wait_state(qtbot, view, STATE_RUNS)
    bars = view.runs_result.bars
    assert bars.state == CHART and bars.shown_metric == "duration"
    durations, costs = bars.durations, bars.costs
    assert durations is not None and costs is not None
    assert durations.categories == ("1. plan", "2. search", "3. answer", "4. review")
    left, right = durations.series
    assert left.values == (300.0, 120.0, 800.0, None)  # review: the left run never ran it
    assert right.values == (350.0, None, 600.0, 90.0)
    assert costs.series[0].values == (pytest.approx(0.001), 0.0, pytest.approx(0.002), None)
    assert costs.series[1].values[3] is None  # unknown: no bar, not $0
    assert costs.unit == "USD" and durations.unit == "ms"
    # The keyboard reads each action's both sides.
    view_widget = bars.view
    view_widget.setFocus()
    qtbot.keyClick(view_widget, Qt.Key.Key_Down)
    qtbot.keyClick(view_widget, Qt.Key.Key_Down)
    text = bars.readout.text()
    assert text.startswith("2. search") and "120 ms" in text and "—" in text
    # The toggle draws the costs.
    qtbot.mouseClick(bars._buttons.buttons()[1], Qt.MouseButton.LeftButton)
    assert bars.spec is costs and bars.state == CHART


def test_two_groups_bars_per_action_name(
    open_ctx: AppContext, qtbot: Any, writer: AgentRecord
) -> None:
    v1 = writer.current_version_id
    _ingest(open_ctx, qtbot, writer, [(n, [_action("a", "x", ms=400)]) for n in range(1, 4)],
            version_id=v1)  # fmt: skip
    edited, _changed = open_ctx.workspace.agents.edit(
        "writer", {"system_prompt": "Be terse."}, source="test"
    )
    _ingest(open_ctx, qtbot, writer, [(n, [_action("a", "y", ms=900)]) for n in range(4, 6)],
            version_id=edited.current_version_id)  # fmt: skip
    view = _view(open_ctx, qtbot)
    view.set_mode(MODE_VERSION)
    view.reload()
    _wait_state(qtbot, view, STATE_GROUPS)
    durations = view.groups_result.bars.durations
    assert durations is not None and durations.categories == ("a",)
    left, right = durations.series
    assert left.name == "left v1 (n=3)" and right.name == "right v2 (n=2)"
    assert (left.values, right.values) == ((400.0,), (900.0,))
