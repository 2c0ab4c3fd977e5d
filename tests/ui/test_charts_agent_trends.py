"""The agent page's Trends tab over a real log: each chart's data is the agent's day (runs,
success rate, p95, cost per call, eval score), config changes are markers at their place whose
click opens that version's diff in History, and an active regression is the failure band."""

from __future__ import annotations

import time
from typing import Any

import pytest
from PySide6.QtCore import Qt

from ato_desktop.core.models import AgentConfig, CostSource, TokenUsage
from ato_desktop.core.records import NewAction, NewRun, RunEnd
from ato_desktop.engine.regressions import detect_regressions
from ato_desktop.ui.charts.agent_trends import AgentTrendsView, trend_specs, trends_window
from ato_desktop.ui.charts.chart_frame import CHART, EMPTY
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.pages.agents_page import HISTORY_TAB, TRENDS_TAB, AgentsPage
from tests.support.qt_helpers import Show

DAY = 86_400_000
MS = 1_000_000


def _seed(ctx: AppContext) -> tuple[Any, int]:
    """An agent with 40 runs two days ago (durations 1..40 s, 4 failed, $0.01 each), then a
    config change, then 40 runs yesterday that take ten times as long and all fail once in two."""
    store = ctx.workspace.store
    agent = store.create_agent("trendy", AgentConfig("claude", "claude-sonnet-5")).result()
    start, _end, _bucket = trends_window("30d", int(time.time() * 1000))
    today = int(time.time() * 1000) // DAY * DAY
    two_days_ago, yesterday = today - 2 * DAY, today - DAY
    items = []
    for i in range(1, 41):
        at = two_days_ago + i * 60_000
        status = "failed" if i % 10 == 0 else "completed"
        action = NewAction(
            "call_llm",
            "llm",
            "success",
            at,
            at + 5,
            usage=TokenUsage(5, 5),
            cost_usd=0.01,
            cost_source=CostSource.PROVIDER,
        )
        new = NewRun(
            "claude",
            "claude-sonnet-5",
            "cli",
            at,
            agent_id=agent.id,
            agent_version_id=agent.current_version_id,
        )
        items.append((new, RunEnd(status, at + i * 1000, i * 1000 * MS), [action]))
    store.ingest(items).result()
    changed_at = yesterday - 6 * 3_600_000
    updated, _ = store.update_agent(
        agent.id,
        AgentConfig("claude", "claude-haiku-4-5", system_prompt="Be exhaustive."),
        at_ms=changed_at,
    ).result()
    after = []
    for i in range(1, 41):
        at = yesterday + i * 60_000
        new = NewRun(
            "claude",
            "claude-haiku-4-5",
            "cli",
            at,
            agent_id=agent.id,
            agent_version_id=updated.current_version_id,
        )
        status = "failed" if i % 2 else "completed"
        after.append((new, RunEnd(status, at + 1, i * 10_000 * MS), []))
    store.ingest(after).result()
    return updated, (today - start) // DAY


def test_each_chart_is_the_agents_day_and_markers_open_the_versions_diff(
    open_ctx: AppContext, qtbot: Any
) -> None:
    agent, today_index = _seed(open_ctx)
    page = AgentsPage(open_ctx)
    qtbot.addWidget(page)
    page.setMinimumSize(1100, 760)
    page.show()
    qtbot.waitUntil(lambda: page.agent_model.rowCount() == 1, timeout=5000)
    page.select_agent(agent.id)
    qtbot.waitUntil(lambda: page.agent is not None, timeout=5000)
    page.trends.set_window("30d")
    with qtbot.waitSignal(page.trends.sig_trends_shown, timeout=10_000):
        page.show_tab(TRENDS_TAB)
    frames = page.trends.frames
    runs, success, p95, cost, evals = (
        frames[m].spec for m in ("runs", "success", "p95", "cost", "eval")
    )
    assert runs is not None and success is not None and p95 is not None and cost is not None
    before, after = today_index - 2, today_index - 1
    assert runs.series[0].values[before] == 36 and runs.series[1].values[before] == 4
    assert success.series[0].values[before] == 90.0
    assert success.series[0].values[after] == 50.0
    assert p95.unit == "s"  # 380 s at the p95 after the change: drawn in seconds
    assert p95.series[0].values[before] == 38.0  # nearest rank of 1..40 s
    assert p95.series[0].values[after] == 380.0
    assert cost.series[0].values[before] == pytest.approx(0.01)
    assert cost.series[0].values[after] is None
    assert frames["eval"].state == EMPTY and "Insights → Evals" in frames["eval"].empty_text.text()
    assert evals is not None and evals.is_empty
    (marker,) = runs.markers
    assert marker.label == "v2" and "model" in marker.detail
    assert before < marker.position + 0.5 < after + 1  # yesterday, 18:00 UTC of the day before
    # The keyboard: M moves to the marker, Enter opens its version's diff in History.
    view = frames["runs"].view
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_M)
    assert marker.detail in frames["runs"].readout.text()
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert page.tabs.currentIndex() == HISTORY_TAB
    shown = page.history.current_version
    assert shown is not None and shown.id == agent.current_version_id


def test_an_active_regression_is_drawn_as_the_failure_band(
    open_ctx: AppContext, show: Show, qtbot: Any
) -> None:
    agent, _today_index = _seed(open_ctx)
    report = detect_regressions(open_ctx.workspace.store)
    change = report.active(agent.id)
    assert change is not None  # success rate 90% -> 50%: a regression
    view = AgentTrendsView(open_ctx)
    show(view, width=1100, height=760)
    with qtbot.waitSignal(view.sig_trends_shown, timeout=10_000):
        view.show_agent(agent.id)
    view.show_regression(change)
    spec = view.frames["success"].spec
    assert spec is not None
    (band,) = spec.bands
    assert band.color == "failed" and "Success rate" in band.label
    assert band.end == len(spec.categories) - 0.5
    assert abs(band.start - spec.markers[0].position) < 1e-9
    assert view.frames["success"].state == CHART
    # Pure: the same trends without a regression draw no band.
    assert view.trends is not None and not trend_specs(view.trends)["success"].bands


def test_a_line_breaks_where_a_day_has_no_value(qtbot: Any) -> None:
    """No runs on a day: the line stops there and starts again, it does not draw figures for
    the days between; the series keeps one legend entry."""
    from PySide6.QtCharts import QLineSeries

    from ato_desktop.ui.charts.chart_spec import LINE, ChartSpec, Series
    from ato_desktop.ui.charts.chart_view import ChartView
    from ato_desktop.ui.theme import current_theme

    view = ChartView()
    qtbot.addWidget(view)
    values = (0.9, 0.8, None, None, 0.5, None, 0.7)
    spec = ChartSpec(
        LINE,
        tuple(f"d{i}" for i in range(7)),
        (Series("rate", values, "accent"), Series("all", (0.5,) * 7, "failed")),
        "%",
        "day",
        "%",
    )
    view.set_spec(spec, current_theme())
    view.show()
    lines = [s for s in view.chart().series() if isinstance(s, QLineSeries)]
    drawn = [[(p.x(), p.y()) for p in line.points()] for line in lines if line.name() == "rate"]
    assert drawn == [[(0.0, 0.9), (1.0, 0.8)], [(4.0, 0.5)], [(6.0, 0.7)]]
    shown = [m for line in lines for m in view.chart().legend().markers(line) if m.isVisible()]
    assert sorted(m.label() for m in shown) == ["all", "rate"]
    assert all(line.pointsVisible() for line in lines)  # a lone day is still a point
