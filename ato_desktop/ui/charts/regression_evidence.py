"""Insights -> Regressions: the evidence of a flagged change, drawn. For each metric that tripped
(else the first one judged), the before and after sides as the check saw them:

- p95 latency and cost per call: the two sides' histograms on shared log-scale bins, with the
  before figure, the after figure and the threshold (where the after figure starts to count as
  a regression) as vertical lines;
- success rate and eval score: the two sides' bars, with their counts, and the threshold line.

n is in each side's name. The histograms come from the same sample the check judged (the
newest finished production runs of each version, store.chart_queries.version_sample), read off
the UI thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

from PySide6.QtWidgets import QHBoxLayout, QWidget

from ato_desktop.core.chart_buckets import bin_edges, format_value
from ato_desktop.core.regressions import COST, EVAL, LATENCY, SUCCESS, MetricCheck, Thresholds
from ato_desktop.engine.regressions import PER_SIDE, ChangeReport
from ato_desktop.store import chart_queries
from ato_desktop.store.chart_queries import Distribution, VersionSample
from ato_desktop.ui.charts.chart_frame import ChartFrame
from ato_desktop.ui.charts.chart_spec import BARS, ChartSpec, Guide, Series
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.widgets.background import BackgroundWork

BINS: Final = 14
MAX_CHARTS: Final = 2  # side by side in the detail panel


@dataclass(frozen=True, slots=True)
class ChangeSamples:
    """Both sides of a change binned alike: durations (ms) and costs (USD)."""

    version_id: str
    duration_edges: tuple[float, ...]
    cost_edges: tuple[float, ...]
    before: VersionSample
    after: VersionSample


def read_samples(store: Any, previous_version_id: str, version_id: str) -> ChangeSamples:
    ranges = [
        chart_queries.version_value_range(store, v, PER_SIDE)
        for v in (previous_version_id, version_id)
    ]
    duration_edges = _edges([r[0] for r in ranges])
    cost_edges = _edges([r[1] for r in ranges])
    before, after = (
        chart_queries.version_sample(store, v, PER_SIDE, duration_edges, cost_edges)
        for v in (previous_version_id, version_id)
    )
    return ChangeSamples(version_id, tuple(duration_edges), tuple(cost_edges), before, after)


def _edges(ranges: list[tuple[float, float] | None]) -> list[float]:
    known = [r for r in ranges if r is not None]
    if not known:
        return []
    low, high = min(r[0] for r in known), max(r[1] for r in known)
    edges = bin_edges(low if low > 0 else (high / 1000 or 1e-6), high, BINS, log=True)
    edges[0] = min(edges[0], low)
    return edges


def charted_checks(change: ChangeReport) -> list[MetricCheck]:
    """The checks to draw: those that regressed, else the first judged."""
    tripped = [c for c in change.checks if c.regression]
    return (tripped or list(change.checks[:1]))[:MAX_CHARTS]


def evidence_spec(
    check: MetricCheck, change: ChangeReport, samples: ChangeSamples | None, t: Thresholds
) -> ChartSpec:
    """The chart of one check (see the module docstring)."""
    before_name = f"v{change.previous_version} n={check.n_before:,}"
    after_name = f"v{change.version} n={check.n_after:,}"
    if check.metric in (SUCCESS, EVAL):
        scale = 100.0
        threshold = None
        if check.before is not None:
            drop = t.success_drop_pp if check.metric == SUCCESS else t.eval_drop_pp
            threshold = max(0.0, check.before * scale - drop)
        counts = ""
        if check.metric == SUCCESS and samples is not None:
            b, a = samples.before, samples.after
            counts = f" · ok/failed {b.ok}/{b.failed} → {a.ok}/{a.failed}"
        return ChartSpec(
            BARS,
            (f"v{change.previous_version} → v{change.version}",),
            (
                Series(before_name, (_scaled(check.before, scale),), "neutral"),
                Series(
                    after_name,
                    (_scaled(check.after, scale),),
                    "failed" if check.regression else "completed",
                ),
            ),
            "%",
            "Version",
            "%",
            guides=(
                (Guide(threshold, f"alarm {threshold:.1f} %", "warning"),)
                if threshold is not None
                else ()
            ),
            notes=(f"{check.label}: {check.reason}{counts}",),
        )
    latency = check.metric == LATENCY
    unit = "ms" if latency else "USD"
    if samples is None:
        edges: tuple[float, ...] = ()
        before_d = after_d = None
    else:
        edges = samples.duration_edges if latency else samples.cost_edges
        before_d = samples.before.durations_ms if latency else samples.before.costs_usd
        after_d = samples.after.durations_ms if latency else samples.after.costs_usd
    count = max(0, len(edges) - 1)
    categories = tuple(
        f"{format_value(edges[i], unit)} – {format_value(edges[i + 1], unit)}" for i in range(count)
    )
    rise = t.p95_latency_rise_pct if latency else t.cost_rise_pct
    figure = "p95" if latency else "mean"
    guides = []
    if check.before is not None and edges:
        guides.append(
            Guide(
                bin_position(edges, check.before),
                f"{figure} before {format_value(check.before, unit)}",
                "neutral",
                axis="x",
            )
        )
        alarm = check.before * (1 + rise / 100)
        guides.append(
            Guide(
                bin_position(edges, alarm),
                f"alarm {format_value(alarm, unit)}",
                "warning",
                axis="x",
            )
        )
    if check.after is not None and edges:
        guides.append(
            Guide(
                bin_position(edges, check.after),
                f"{figure} after {format_value(check.after, unit)}",
                "failed",
                axis="x",
            )
        )
    return ChartSpec(
        BARS,
        categories,
        (
            Series(before_name, _bins(before_d, count), "neutral"),
            Series(after_name, _bins(after_d, count), "failed" if check.regression else "accent"),
        ),
        "runs",
        ("Duration" if latency else "Cost per call") + f" ({unit}, log scale)",
        "Runs",
        ticks=tuple((i, format_value(edges[i], unit)) for i in range(0, count, 3)),
        guides=tuple(guides),
        notes=(f"{check.label}: {check.reason}",),
    )


def _scaled(value: float | None, scale: float) -> float | None:
    return None if value is None else value * scale


def _bins(d: Distribution | None, count: int) -> tuple[float | None, ...]:
    if d is None or not d.bins:
        return (0.0,) * count
    return tuple(float(v) for v in d.bins)


def bin_position(edges: tuple[float, ...], value: float) -> float:
    """Where value falls on an axis whose categories are the bins (fractional; log-aware)."""
    for i in range(len(edges) - 1):
        lo, hi = edges[i], edges[i + 1]
        if lo <= value <= hi:
            if lo > 0 and hi > lo and value > 0:
                part = math.log(value / lo) / math.log(hi / lo)
            else:
                part = (value - lo) / (hi - lo) if hi > lo else 0.0
            return i - 0.5 + part
    return -0.5 if value < edges[0] else len(edges) - 1.5


class RegressionEvidence(QWidget):
    """The charts of the selected change, side by side; show_change() reads its samples."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RegressionEvidence")
        self.ctx = ctx
        self.change: ChangeReport | None = None
        self.thresholds = Thresholds()
        self.samples: ChangeSamples | None = None
        self._reads = BackgroundWork(self, ctx)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(10)
        self.frames: list[ChartFrame] = []
        for i in range(MAX_CHARTS):
            frame = ChartFrame(
                "Evidence",
                empty_title="No samples",
                empty_text="This side of the change has no finished runs yet.",
                name=f"RegressionEvidence{i}",
                min_height=150,
                hint="Point at a bin or use ←/→ for how many runs fell there, before and after",
            )
            self.frames.append(frame)
            row.addWidget(frame)

    def show_change(self, change: ChangeReport | None, thresholds: Thresholds) -> None:
        self.change, self.thresholds = change, thresholds
        self.setVisible(change is not None and bool(change.checks))
        if change is None or not change.checks:
            return
        self._draw(None)
        if self.ctx.workspace is not None:
            self.ctx.spawn(self._read(change), what="read the change's samples")

    async def _read(self, change: ChangeReport) -> None:
        await self._reads.show(
            read_samples,
            self.ctx.opened_workspace.store,
            change.previous_version_id,
            change.version_id,
            apply=self._draw,
            fail=self._show_error,
            what="regression samples",
        )

    def _show_error(self, message: str) -> None:
        for frame in self.frames:
            frame.show_error(message)

    def _draw(self, samples: ChangeSamples | None) -> None:
        change = self.change
        if change is None:
            return
        if samples is not None and samples.version_id != change.version_id:
            return
        self.samples = samples
        checks = charted_checks(change)
        needs_samples = any(c.metric in (LATENCY, COST) for c in checks)
        for i, frame in enumerate(self.frames):
            if i >= len(checks):
                frame.hide()
                continue
            frame.show()
            check = checks[i]
            frame.title.setText(check.label + (" ✗" if check.regression else ""))
            frame.subtitle.setText(f"n {check.n_before:,} before · {check.n_after:,} after")
            if samples is None and needs_samples and check.metric in (LATENCY, COST):
                frame.show_loading()
                continue
            frame.set_spec(evidence_spec(check, change, samples, self.thresholds))
