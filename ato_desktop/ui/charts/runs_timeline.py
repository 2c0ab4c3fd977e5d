"""The Runs page's volume timeline: runs per time bucket stacked by status, under the page's
filters (store.chart_queries.run_volume, off the UI thread; the newest request wins).

A drag across it (or Shift+arrows, then Enter) picks a time range and a click (or Enter) picks
one bucket: either becomes the page's time filter (sig_range_chosen), which the list and the
timeline then follow.
"""

from __future__ import annotations

import time
from typing import Any, Final

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QWidget

from ato_desktop.core.chart_buckets import (
    HOUR_MS,
    align_window,
    bucket_for_span,
    full_time_label,
    tick_positions,
    time_label,
)
from ato_desktop.core.records import RunFilter
from ato_desktop.store import chart_queries
from ato_desktop.store.chart_queries import VolumeCounts
from ato_desktop.ui.charts.chart_frame import ChartFrame
from ato_desktop.ui.charts.chart_spec import STACKED, ChartSpec, Series
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.widgets.background import BackgroundWork
from ato_desktop.ui.widgets.coalesce import fire_soon

# The stacks, bottom up: (label, statuses, theme colour).
STACKS: Final = (
    ("completed", ("completed",), "completed"),
    ("failed", ("failed",), "failed"),
    ("killed / interrupted", ("killed", "interrupted"), "neutral"),
    ("running", ("running",), "running"),
)
REFRESH_MS: Final = 2000  # new runs redraw it at most this often


def volume_window(flt: RunFilter, now_ms: int, span: tuple[int, int] | None) -> tuple[int, int]:
    """The time window the timeline spans: the filter's range, its window up to now, or (all
    time) the log's first run up to now."""
    if flt.since_ms is not None:
        return flt.since_ms, flt.until_ms if flt.until_ms is not None else now_ms
    first = span[0] if span is not None else now_ms - HOUR_MS
    return first, max(now_ms, (span[1] + 1) if span is not None else now_ms)


def read_volume(store: Any, flt: RunFilter, now_ms: int) -> VolumeCounts:
    """The timeline's counts: the window cut into at most MAX_BUCKETS buckets of whole hours
    (or finer under six hours), aligned to UTC."""
    span = chart_queries.log_time_span(store) if flt.since_ms is None else None
    since, until = volume_window(flt, now_ms, span)
    bucket = bucket_for_span(until - since)
    if until - since > 6 * HOUR_MS:
        bucket = max(bucket, HOUR_MS)
    start, end = align_window(since, until, bucket)
    return chart_queries.run_volume(store, flt, start, end, bucket)


def volume_spec(volume: VolumeCounts) -> ChartSpec:
    """Stacked bars of runs per bucket by status."""
    count = volume.buckets
    starts = [volume.start_ms + i * volume.bucket_ms for i in range(count)]
    series = tuple(
        Series(
            label,
            tuple(
                float(sum(volume.counts.get(i, {}).get(s, 0) for s in statuses))
                for i in range(count)
            ),
            colour,
        )
        for label, statuses, colour in STACKS
    )
    return ChartSpec(
        STACKED,
        tuple(full_time_label(start, volume.bucket_ms) for start in starts),
        series,
        "runs",
        "Started (UTC)",
        "Runs",
        ticks=tuple(
            (i, time_label(starts[i], volume.bucket_ms))
            for i in tick_positions(count, volume.bucket_ms, volume.start_ms)
        ),
        keys=tuple((start, start + volume.bucket_ms) for start in starts),
        notes=(f"{volume.total():,} runs, buckets of {volume.bucket_ms // 60_000} min",),
    )


class RunsTimeline(ChartFrame):
    """Runs per bucket by status; see the module docstring."""

    sig_range_chosen = Signal(object, object)  # since_ms, until_ms (int: past 32 bits)
    sig_volume_shown = Signal(object)  # VolumeCounts

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(
            "Runs over time",
            empty_title="No runs in this window",
            empty_text="Runs appear here as they start. Widen the time window or clear a "
            "filter to see more.",
            name="RunsTimeline",
            min_height=120,
            parent=parent,
        )
        self.ctx = ctx
        self.volume: VolumeCounts | None = None
        self._filter = RunFilter()
        self.shown_filter: RunFilter | None = None  # the filter of the counts drawn
        self._stale = False  # runs changed while hidden
        self._reads = BackgroundWork(self, ctx)
        self.setMaximumHeight(230)
        self.sig_activated.connect(self._on_bucket)
        self.sig_range_selected.connect(self._on_range)
        self._timer = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._timer.timeout.connect(lambda: self.refresh(self._filter))

    def refresh(self, flt: RunFilter) -> None:
        """Read the counts of flt again (off the UI thread)."""
        self._filter = flt
        if self.ctx.workspace is None:
            return
        self.show_loading()
        self.ctx.spawn(self._read(flt), what="read the runs timeline")

    def schedule(self, *_args: object) -> None:
        """Runs changed: redraw soon (coalesced) while shown, else when next shown."""
        if not self.isVisible():
            self._stale = True
        elif not self._timer.isActive():
            self._timer.start()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self._stale:
            self._stale = False
            fire_soon(self._timer)

    async def _read(self, flt: RunFilter) -> None:
        await self._reads.show(
            read_volume,
            self.ctx.opened_workspace.store,
            flt,
            int(time.time() * 1000),
            apply=lambda volume: self.show_volume(volume, flt),
            fail=self.show_error,
            what="runs timeline",
        )

    def show_volume(self, volume: VolumeCounts, flt: RunFilter | None = None) -> None:
        self.volume = volume
        self.shown_filter = flt
        spec = volume_spec(volume)
        self.subtitle.setText(
            f"{volume.total():,} runs · a bar per {_bucket_text(volume.bucket_ms)} (UTC)"
        )
        self.set_spec(spec)
        self.sig_volume_shown.emit(volume)

    def bucket_range(self, first: int, last: int) -> tuple[int, int] | None:
        if self.volume is None:
            return None
        start = self.volume.start_ms + first * self.volume.bucket_ms
        return start, self.volume.start_ms + (last + 1) * self.volume.bucket_ms

    def _on_bucket(self, index: int) -> None:
        self._on_range(index, index)

    def _on_range(self, first: int, last: int) -> None:
        chosen = self.bucket_range(first, last)
        if chosen is not None:
            self.sig_range_chosen.emit(*chosen)


def _bucket_text(bucket_ms: int) -> str:
    minutes = bucket_ms // 60_000
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 24:
        return "hour" if hours == 1 else f"{hours} hours"
    days = hours // 24
    return "day" if days == 1 else f"{days} days"
