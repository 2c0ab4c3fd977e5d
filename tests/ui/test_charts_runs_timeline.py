"""The Runs page's volume timeline over a real log: its bars are the log's runs per bucket and
status under the page's filters; a drag across it (with the real mouse events) and a click on
a bar set the time filter, which the list follows; the keyboard does the same; its CSV and PNG
exports; and its empty state."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import NewRun, RunEnd, RunFilter
from ato_desktop.store import run_listing
from ato_desktop.ui.charts.chart_frame import CHART, EMPTY
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.pages.runs_page import RunsPage
from tests.ui.test_runs_page import make_page, set_filters, shown_runs

HOUR = 3_600_000
NOW = int(time.time() * 1000)
BASE = NOW - NOW % HOUR - 48 * HOUR  # two days ago, on the hour


def _seed(ctx: AppContext) -> tuple[str, str]:
    """Runs at known hours: hour h has h % 4 + 1 completed runs, every 5th hour one failed,
    hour 30 one killed; half of the agent's."""
    store = ctx.workspace.store
    agent = store.create_agent("timeline", AgentConfig("claude", "claude-sonnet-5")).result()
    items = []
    for hour in range(48):
        for i in range(hour % 4 + 1):
            at = BASE + hour * HOUR + i * 60_000
            ids = (agent.id, agent.current_version_id) if i % 2 == 0 else (None, None)
            new = NewRun(
                "claude", "claude-sonnet-5", "cli", at, agent_id=ids[0], agent_version_id=ids[1]
            )
            items.append((new, RunEnd("completed", at + 500, 500_000_000), []))
        if hour % 5 == 0:
            at = BASE + hour * HOUR + 30 * 60_000
            items.append(
                (NewRun("claude", "m", "cli", at), RunEnd("failed", at + 9, 9_000_000), [])
            )
    at = BASE + 30 * HOUR + 45 * 60_000
    items.append((NewRun("claude", "m", "cli", at), RunEnd("killed", at + 9, 9_000_000), []))
    store.ingest(items).result()
    return agent.id, agent.current_version_id


def _timeline_ready(qtbot: Any, page: RunsPage, generation: list[int]) -> None:
    qtbot.waitUntil(lambda: page.timeline.volume is not None and len(generation) > 0, timeout=5000)


def _truth(ctx: AppContext, flt: RunFilter, start: int, bucket: int) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    for run in ctx.workspace.store.list_runs(flt, limit=100_000):
        index = (run.started_at - start) // bucket
        out.setdefault(index, {})
        out[index][run.status] = out[index].get(run.status, 0) + 1
    return out


def _wait_volume(qtbot: Any, page: RunsPage, flt: RunFilter) -> None:
    qtbot.waitUntil(
        lambda: (
            page.timeline.volume is not None
            and page.timeline.state in (CHART, EMPTY)
            and page.timeline.shown_filter == flt
        ),
        timeout=5000,
    )


def test_the_bars_are_the_logs_runs_per_bucket_and_follow_the_filters(
    open_ctx: AppContext, qtbot: Any
) -> None:
    agent_id, _version = _seed(open_ctx)
    page = make_page(open_ctx, qtbot)
    set_filters(qtbot, page, window="7d")
    flt = page.filters.state().to_run_filter(int(time.time() * 1000))
    _wait_volume(qtbot, page, page.model.filter)
    volume = page.timeline.volume
    assert volume is not None and volume.bucket_ms == HOUR
    assert volume.counts == _truth(open_ctx, flt, volume.start_ms, volume.bucket_ms)
    assert volume.total() == page.total
    # The drawn spec: the stacks are the statuses, the killed run in its hour's neutral stack.
    spec = page.timeline.spec
    assert spec is not None and [s.name for s in spec.series][:3] == [
        "completed",
        "failed",
        "killed / interrupted",
    ]
    killed_hour = (BASE + 30 * HOUR - volume.start_ms) // HOUR
    assert spec.series[2].values[killed_hour] == 1.0
    assert spec.series[0].values[killed_hour] == float(30 % 4 + 1)
    # A status and an agent filter: the bars follow.
    set_filters(qtbot, page, statuses=("completed",), agent_id=agent_id, agent_name="timeline")
    _wait_volume(qtbot, page, page.model.filter)
    volume = page.timeline.volume
    assert volume is not None
    assert volume.counts == _truth(open_ctx, page.model.filter, volume.start_ms, HOUR)
    assert set().union(*(set(c) for c in volume.counts.values())) == {"completed"}


def _plot_point(page: RunsPage, index: int) -> QPoint:
    """Where bucket `index` is on the timeline's view, in view coordinates."""
    view = page.timeline.view
    rect = view.chart().mapRectToScene(view.category_rect(index))
    return view.mapFromScene(rect.center())


def test_a_drag_across_the_timeline_sets_the_time_filter_and_a_click_one_bucket(
    open_ctx: AppContext, qtbot: Any
) -> None:
    _seed(open_ctx)
    page = make_page(open_ctx, qtbot)
    set_filters(qtbot, page, window="7d")
    _wait_volume(qtbot, page, page.model.filter)
    volume = page.timeline.volume
    assert volume is not None
    first = (BASE + 10 * HOUR - volume.start_ms) // HOUR
    last = first + 5
    view = page.timeline.view.viewport()
    start, end = _plot_point(page, first), _plot_point(page, last)
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=start)
    for step in range(1, 6):  # the pointer crosses the buckets, shading the range
        qtbot.mouseMove(view, QPoint(start.x() + (end.x() - start.x()) * step // 5, start.y()))
    with qtbot.waitSignal(page.model.sig_page_loaded, timeout=5000):
        qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=end)
    state = page.filters.state()
    assert state.has_range
    assert (state.range_since_ms, state.range_until_ms) == (
        volume.start_ms + first * HOUR,
        volume.start_ms + (last + 1) * HOUR,
    )
    assert page.filters.range_chip.isVisible()
    assert not any(b.isChecked() for b in page.filters._window_buttons.values())
    runs = shown_runs(page)
    assert runs and all(
        state.range_since_ms <= r.started_at < state.range_until_ms
        for r in runs  # type: ignore[operator]
    )
    expected = sum(sum(volume.counts.get(i, {}).values()) for i in range(first, last + 1))
    assert len(runs) == expected
    # The timeline now spans the picked range; a click on one bar narrows to that hour.
    _wait_volume(qtbot, page, page.model.filter)
    narrowed = page.timeline.volume
    assert narrowed is not None and narrowed.total() == expected
    target = (BASE + 12 * HOUR - narrowed.start_ms) // narrowed.bucket_ms
    point = _plot_point(page, target)
    with qtbot.waitSignal(page.model.sig_page_loaded, timeout=5000):
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=point)
    state = page.filters.state()
    assert state.range_until_ms - state.range_since_ms == narrowed.bucket_ms  # type: ignore[operator]
    assert {r.started_at // HOUR for r in shown_runs(page)} == {(BASE + 12 * HOUR) // HOUR}
    # The chip clears the range: all time again.
    with qtbot.waitSignal(page.model.sig_page_loaded, timeout=5000):
        page.filters.range_chip.click()
    assert page.filters.state().window == "all" and not page.filters.state().has_range


def test_the_keyboard_reads_each_bucket_and_picks_a_range(open_ctx: AppContext, qtbot: Any) -> None:
    _seed(open_ctx)
    page = make_page(open_ctx, qtbot)
    set_filters(qtbot, page, window="7d")
    _wait_volume(qtbot, page, page.model.filter)
    view = page.timeline.view
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Home)
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.cursor_index == 1
    assert page.timeline.readout.text() == page.timeline.spec.describe(1)  # type: ignore[union-attr]
    qtbot.keyClick(view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    volume = page.timeline.volume
    assert volume is not None
    with qtbot.waitSignal(page.model.sig_page_loaded, timeout=5000):
        qtbot.keyClick(view, Qt.Key.Key_Return)
    state = page.filters.state()
    assert (state.range_since_ms, state.range_until_ms) == (
        volume.start_ms + HOUR,
        volume.start_ms + 4 * HOUR,
    )


def test_csv_png_and_the_empty_state(open_ctx: AppContext, qtbot: Any, tmp_path: Path) -> None:
    page = make_page(open_ctx, qtbot)
    qtbot.waitUntil(lambda: page.timeline.state == EMPTY, timeout=5000)
    assert "Widen the time window" in page.timeline.empty_text.text()
    assert not page.timeline.copy_action.isEnabled()
    _seed(open_ctx)
    page.timeline.refresh(RunFilter(since_ms=BASE, until_ms=BASE + 48 * HOUR))
    qtbot.waitUntil(lambda: page.timeline.state == CHART, timeout=5000)
    page.timeline.copy_csv()
    rows = list(csv.reader(io.StringIO(QGuiApplication.clipboard().text())))
    header = next(r for r in rows if not r[0].startswith("#"))
    assert header[:3] == ["Started (UTC)", "completed (runs)", "failed (runs)"]
    body = [r for r in rows if r and "UTC" in r[0] and not r[0].startswith("#")][1:]
    assert sum(float(r[1] or 0) for r in body) == sum(h % 4 + 1 for h in range(48))
    target = tmp_path / "timeline.png"
    assert page.timeline.save_png(target)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    QApplication.processEvents()


def test_the_range_filter_is_remembered_and_read_by_the_store(open_ctx: AppContext) -> None:
    from ato_desktop.ui.runs.filters_bar import RunsFilterState

    state = RunsFilterState(window="range", range_since_ms=BASE, range_until_ms=BASE + HOUR)
    state.save(open_ctx.settings)
    loaded = RunsFilterState.load(open_ctx.settings)
    assert loaded == state
    flt = loaded.to_run_filter(NOW)
    assert (flt.since_ms, flt.until_ms) == (BASE, BASE + HOUR)
    where, params = run_listing._where(flt, cost_via_index=False)
    assert "r.started_at < ?" in where and BASE + HOUR in params
    assert "UTC" in loaded.describe()
    _ = QPointF


def test_a_run_ending_anywhere_is_counted_in_its_bar_soon(open_ctx: AppContext, qtbot: Any) -> None:
    _seed(open_ctx)
    page = make_page(open_ctx, qtbot)
    set_filters(qtbot, page, window="7d")
    _wait_volume(qtbot, page, page.model.filter)
    before = page.timeline.volume
    assert before is not None
    store = open_ctx.workspace.store
    now = int(time.time() * 1000)
    run_id, run_no = store.create_run(
        NewRun("claude", "claude-sonnet-5", "cli", now), owner="test"
    ).result()
    store.finish_run(run_id, run_no, RunEnd("failed", now + 5, 5_000_000)).result()
    qtbot.waitUntil(
        lambda: (
            page.timeline.volume is not None and page.timeline.volume.total() == before.total() + 1
        ),
        timeout=8000,
    )
    volume = page.timeline.volume
    bucket = (now - volume.start_ms) // volume.bucket_ms
    assert (
        volume.counts[bucket].get("failed", 0) == before.counts.get(bucket, {}).get("failed", 0) + 1
    )


def test_new_values_change_the_bars_in_place_one_by_one_or_all_at_once(qtbot: Any) -> None:
    """A filter change moves most bars: the row is put in at once (one by one, each replace
    laid the series out again: 140 ms for 180 bars); a few new runs change their bars only."""
    from ato_desktop.ui.charts.chart_frame import ChartFrame
    from ato_desktop.ui.charts.chart_spec import STACKED, ChartSpec, Series

    def spec(values: list[list[float]]) -> ChartSpec:
        names = ("completed", "failed")
        series = tuple(Series(n, tuple(v), n) for n, v in zip(names, values, strict=True))
        return ChartSpec(STACKED, tuple(f"h{i}" for i in range(40)), series, "runs", "x", "y")

    frame = ChartFrame("t", empty_title="", empty_text="")
    qtbot.addWidget(frame)
    frame.resize(800, 240)
    frame.show()
    first = [[float(i) for i in range(40)], [float(2 * i) for i in range(40)]]
    frame.set_spec(spec(first))
    bars = frame.view._bars
    assert bars is not None
    sets = list(bars.barSets())
    every = [[float(40 - i) for i in range(40)], [0.0] * 40]  # all moved
    few = [list(every[0]), list(every[1])]
    few[0][3], few[1][39] = 99.0, 7.0  # two moved
    for values in (every, few):
        frame.set_spec(spec(values))
        assert frame.view._bars is bars and list(bars.barSets()) == sets  # in place
        for bar_set, row in zip(sets, values, strict=True):
            assert [bar_set.at(i) for i in range(bar_set.count())] == row
