"""The agent page's Trends tab: an agent's production runs per day (per hour over the last 24 h):
runs, success rate, p95 latency, cost per call and eval score, one small chart each on a shared
time axis (store.chart_queries.agent_trends, off the UI thread).

Config changes are markers on every chart (hover: what changed; click or M then Enter: that
version in the History tab); the agent's active regression is the failure-coloured band from
its change on. The window starts as the Runs page's (24 h, 7 d or 30 d; 30 d otherwise).
"""

from __future__ import annotations

import time
from typing import Any, Final

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.chart_buckets import (
    DAY_MS,
    HOUR_MS,
    full_time_label,
    tick_positions,
    time_label,
)
from ato_desktop.core.config_diff import ConfigChange, summarize_changes
from ato_desktop.store import chart_queries
from ato_desktop.store.chart_queries import AgentTrends
from ato_desktop.ui.charts.chart_frame import ChartFrame
from ato_desktop.ui.charts.chart_spec import LINE, STACKED, Band, ChartSpec, Marker, Series
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.widgets.background import BackgroundWork
from ato_desktop.ui.widgets.visible_refresh import VisibleRefresh

WINDOWS: Final = {
    "24h": ("24 h", DAY_MS, HOUR_MS),
    "7d": ("7 d", 7 * DAY_MS, DAY_MS),
    "30d": ("30 d", 30 * DAY_MS, DAY_MS),
}
DEFAULT_WINDOW: Final = "30d"
METRICS: Final = ("runs", "success", "p95", "cost", "eval")
TITLES: Final = {
    "runs": "Runs",
    "success": "Success rate",
    "p95": "p95 latency",
    "cost": "Cost per call",
    "eval": "Eval score",
}
_EMPTY: Final = {
    "runs": (
        "No runs in this window",
        "Runs of this agent (not replays or evals) appear here "
        "per day. Chat with it, or dispatch from the command line.",
    ),
    "success": (
        "No finished runs",
        "The share of completed runs among completed and failed ones, once the agent has some.",
    ),
    "p95": ("No durations yet", "The 95th percentile of finished runs' durations, per day."),
    "cost": (
        "No known costs",
        "Runs on a model without a price are unknown, never $0: add "
        "a price in Settings → Price overrides.",
    ),
    "eval": (
        "No eval runs",
        "Run an eval suite against this agent (Insights → Evals) to draw its score here.",
    ),
}


def trends_window(window: str, now_ms: int) -> tuple[int, int, int]:
    """(start, end, bucket) of a window ending now: whole UTC days, or hours for 24 h."""
    _label, span, bucket = WINDOWS.get(window, WINDOWS[DEFAULT_WINDOW])
    end = -(-now_ms // bucket) * bucket
    return end - span, end, bucket


def read_trends(store: Any, agent_id: str, window: str, now_ms: int) -> AgentTrends:
    start, end, bucket = trends_window(window, now_ms)
    return chart_queries.agent_trends(store, agent_id, start, end, bucket)


def trend_specs(trends: AgentTrends, regression: Any = None) -> dict[str, ChartSpec]:
    """A spec per metric, sharing the time axis, the markers and the regression's band."""
    count = len(trends.buckets)
    starts = [trends.start_ms + i * trends.bucket_ms for i in range(count)]
    categories = tuple(full_time_label(s, trends.bucket_ms) for s in starts)
    ticks = tuple(
        (i, time_label(starts[i], trends.bucket_ms))
        for i in tick_positions(count, trends.bucket_ms, trends.start_ms, most=7)
    )
    markers = tuple(
        Marker(
            m.position - 0.5,  # a change falls between bucket centres: on the bucket's edge
            f"v{m.version}",
            summarize_changes(
                [ConfigChange(c.get("path", ""), c.get("before"), c.get("after")) for c in m.diff]
            )
            or "config changed",
            m.version_id,
        )
        for m in trends.markers
    )
    bands: tuple[Band, ...] = ()
    if regression is not None and regression.changed_at < trends.end_ms:
        start = max(-0.5, (regression.changed_at - trends.start_ms) / trends.bucket_ms - 0.5)
        what = ", ".join(check.label for check in regression.regressed)
        bands = (Band(start, count - 0.5, f"v{regression.version} regressed: {what}"),)
    b = trends.buckets

    def spec(series: tuple[Series, ...], unit: str, title: str, kind: str = LINE) -> ChartSpec:
        return ChartSpec(
            kind,
            categories,
            series,
            unit,
            "Day (UTC)" if trends.bucket_ms >= DAY_MS else "Hour (UTC)",
            title,
            ticks=ticks,
            markers=markers,
            bands=bands,
            keys=tuple(starts),
        )

    return {
        "runs": spec(
            (
                Series("completed", tuple(float(x.completed) for x in b), "completed"),
                Series("failed", tuple(float(x.failed) for x in b), "failed"),
                Series(
                    "other", tuple(float(x.runs - x.completed - x.failed) for x in b), "neutral"
                ),
            ),
            "runs",
            "Runs",
            STACKED,
        ),
        "success": spec(
            (Series("success rate", tuple(_pct(x.success_rate) for x in b), "completed"),),
            "%",
            "%",
        ),
        "p95": _latency_spec(spec, tuple(x.p95_ms for x in b)),
        "cost": spec(
            (Series("cost per call", tuple(x.cost_per_call for x in b), "warning"),), "USD", "USD"
        ),
        "eval": spec(
            (Series("eval score", tuple(_pct(x.eval_score) for x in b), "json_key"),), "%", "%"
        ),
    }


def _latency_spec(build: Any, values: tuple[float | None, ...]) -> ChartSpec:
    """p95 in ms, or in seconds once it reaches 10 s (six-digit ms labels read badly)."""
    if max((v for v in values if v is not None), default=0.0) >= 10_000:
        seconds = tuple(None if v is None else v / 1000 for v in values)
        spec: ChartSpec = build((Series("p95 latency", seconds, "accent"),), "s", "seconds")
        return spec
    spec = build((Series("p95 latency", values, "accent"),), "ms", "ms")
    return spec


def _pct(value: float | None) -> float | None:
    return None if value is None else value * 100


class AgentTrendsView(QWidget):
    """The Trends tab; see the module docstring."""

    sig_version_requested = Signal(str)  # a marker clicked: that version id
    sig_trends_shown = Signal(object)  # AgentTrends

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("AgentTrends")
        self.ctx = ctx
        self.agent_id: str | None = None
        self.trends: AgentTrends | None = None
        self.regression: Any = None
        self._reads = BackgroundWork(self, ctx)
        self.time_window = self._initial_window()
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 8, 0, 0)
        column.setSpacing(8)
        controls = QHBoxLayout()
        self.caption = QLabel("")
        self.caption.setProperty("muted", True)
        controls.addWidget(self.caption, 1)
        self._buttons = QButtonGroup(self)
        for key, (label, _span, _bucket) in WINDOWS.items():
            button = QPushButton(label)
            button.setObjectName(f"TrendsWindow_{key}")
            button.setCheckable(True)
            button.setChecked(key == self.time_window)
            button.setToolTip(f"The last {label}")
            button.clicked.connect(lambda _c=False, k=key: self.set_window(k))
            self._buttons.addButton(button)
            controls.addWidget(button)
        column.addLayout(controls)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        body = QWidget()
        grid = QGridLayout(body)
        grid.setContentsMargins(0, 0, 4, 0)
        grid.setSpacing(10)
        self.frames: dict[str, ChartFrame] = {}
        for i, metric in enumerate(METRICS):
            title, text = _EMPTY[metric]
            frame = ChartFrame(
                TITLES[metric],
                empty_title=title,
                empty_text=text,
                name=f"Trend_{metric}",
                min_height=150,
                hint="Point at it or use ←/→ for exact values · M: the next config change "
                "(Enter: its diff)",
            )
            frame.sig_marker_clicked.connect(self._on_marker)
            self.frames[metric] = frame
            grid.addWidget(frame, i // 2, i % 2)
        scroll.setWidget(body)
        column.addWidget(scroll, 1)
        self._refresh = VisibleRefresh(self, ctx, 3000, self.refresh)
        if ctx.bridge is not None:
            ctx.bridge.sig_run_ended.connect(self._refresh.schedule)
            ctx.bridge.sig_runs_bulk_changed.connect(self._refresh.schedule)
            ctx.bridge.sig_config_changed.connect(self._refresh.schedule)

    def _initial_window(self) -> str:
        from ato_desktop.ui.runs.filters_bar import RunsFilterState

        window = RunsFilterState.load(self.ctx.settings).window
        return window if window in WINDOWS else DEFAULT_WINDOW

    def show_agent(self, agent_id: str) -> None:
        """Draw this agent's trends (now if the tab shows, else when it is next shown)."""
        if agent_id != self.agent_id:
            self.agent_id = agent_id
            self.regression = None
            self.trends = None
            for frame in self.frames.values():
                frame.spec = None
                frame.show_loading()
        if self.isVisible():
            self.refresh()
        else:
            self._refresh.stale = True

    def show_regression(self, change: Any) -> None:
        """The agent's active regression (RegressionBanner's check), drawn as a band."""
        if change is not None and change.agent_id != self.agent_id:
            return
        self.regression = change
        if self.trends is not None:
            self._draw(self.trends)

    def set_window(self, window: str) -> None:
        self.time_window = window if window in WINDOWS else DEFAULT_WINDOW
        for button in self._buttons.buttons():
            button.setChecked(button.objectName() == f"TrendsWindow_{self.time_window}")
        self.refresh()

    def refresh(self) -> None:
        if self.agent_id is None or self.ctx.workspace is None:
            return
        self.ctx.spawn(self._read(self.agent_id), what="read the agent's trends")

    async def _read(self, agent_id: str) -> None:
        await self._reads.show(
            read_trends,
            self.ctx.opened_workspace.store,
            agent_id,
            self.time_window,
            int(time.time() * 1000),
            apply=self._draw,
            fail=self._show_error,
            what="agent trends",
        )

    def _show_error(self, message: str) -> None:
        for frame in self.frames.values():
            frame.show_error(message)

    def _draw(self, trends: AgentTrends) -> None:
        if trends.agent_id != self.agent_id:
            return
        self.trends = trends
        specs = trend_specs(trends, self.regression)
        for metric, frame in self.frames.items():
            frame.set_spec(specs[metric])
        label = WINDOWS[self.time_window][0]
        self.caption.setText(
            f"{trends.total_runs():,} production runs in the last {label} · "
            f"{len(trends.markers)} config change{'s' if len(trends.markers) != 1 else ''} · UTC"
        )
        self.sig_trends_shown.emit(trends)

    def _on_marker(self, version_id: object) -> None:
        if isinstance(version_id, str):
            self.sig_version_requested.emit(version_id)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self._refresh.on_show()
