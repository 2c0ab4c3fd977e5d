"""What a chart shows, as plain data: categories along x (time buckets, bins, actions), series of
values with a unit, and the marks drawn over them (config-change markers, a shaded band,
threshold and budget guides). No Qt: built and tested without drawing, and turned into CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any, Final

from ato_desktop.core.chart_buckets import format_value

STACKED: Final = "stacked"  # bars stacked per category (runs by status, spend by agent)
BARS: Final = "bars"  # bars side by side per category (before / after, A / B)
LINE: Final = "line"  # one line per series (trends)
HBARS: Final = "hbars"  # horizontal bars side by side per category (compare's actions)
KINDS: Final = (STACKED, BARS, LINE, HBARS)


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: tuple[float | None, ...]  # one per category; None: no value there
    color: str  # a Theme attribute ("completed", "failed", "accent"...) or "#rrggbb"
    dashed: bool = False  # a projection, not a measurement


@dataclass(frozen=True, slots=True)
class Marker:
    """A vertical mark at x (in categories, fractional): a config change."""

    position: float
    label: str  # "v3"
    detail: str  # what changed, for the tooltip
    key: Any = None  # given back when the marker is clicked (e.g. a version id)


@dataclass(frozen=True, slots=True)
class Band:
    """A shaded x range (in categories): a regression's after-period."""

    start: float
    end: float
    label: str
    color: str = "failed"


@dataclass(frozen=True, slots=True)
class Guide:
    """A straight line across the plot: a threshold or a budget (y), or a cut-off (x)."""

    value: float
    label: str
    color: str = "warning"
    axis: str = "y"  # "y": a horizontal line at a value; "x": a vertical one at a category


@dataclass(frozen=True, slots=True)
class ChartSpec:
    kind: str
    categories: tuple[str, ...]  # each category's full label (tooltip, readout, CSV)
    series: tuple[Series, ...]
    unit: str  # of the values: "runs", "USD", "ms", "%", "score"
    x_title: str
    y_title: str
    ticks: tuple[tuple[int, str], ...] = ()  # axis labels at some categories; () = every one
    markers: tuple[Marker, ...] = ()
    bands: tuple[Band, ...] = ()
    guides: tuple[Guide, ...] = ()
    keys: tuple[Any, ...] = ()  # one per category, given back on click, Enter and drag
    notes: tuple[str, ...] = field(default=())  # CSV comment lines (window, filters, n)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown chart kind {self.kind!r}")
        for series in self.series:
            if len(series.values) != len(self.categories):
                raise ValueError(
                    f"series {series.name!r} has {len(series.values)} values for "
                    f"{len(self.categories)} categories"
                )

    @property
    def is_empty(self) -> bool:
        """Nothing to draw: no category holds a value other than zero."""
        return not any(v for series in self.series for v in series.values)

    def total(self, index: int) -> float:
        return sum(s.values[index] or 0.0 for s in self.series)

    def max_value(self) -> float:
        if not self.categories:
            return 0.0
        if self.kind == STACKED:
            tops = [self.total(i) for i in range(len(self.categories))]
        else:
            tops = [v for s in self.series for v in s.values if v is not None]
        tops += [g.value for g in self.guides if g.axis == "y"]
        return max(tops, default=0.0)

    def describe(self, index: int) -> str:
        """One category's exact values: 'Mar 4 10:00–11:00 UTC · completed 12 runs · …'."""
        if not 0 <= index < len(self.categories):
            return ""
        parts = [self.categories[index]]
        for series in self.series:
            value = series.values[index]
            if value is None and self.kind == STACKED:
                continue
            parts.append(f"{series.name} {format_value(value, self.unit)}")
        if self.kind == STACKED and len(self.series) > 1:
            parts.append(f"total {format_value(self.total(index), self.unit)}")
        for marker in self.markers:
            if int(marker.position) == index:
                parts.append(f"{marker.label}: {marker.detail}")
        return " · ".join(parts)

    def to_csv(self) -> str:
        """The chart's data: a row per category, a column per series (unit in the header);
        notes first as '#' lines, then markers and guides as rows of their own."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for note in self.notes:
            out.write(f"# {note}\n")
        writer.writerow([self.x_title, *(f"{s.name} ({self.unit})" for s in self.series)])
        for i, category in enumerate(self.categories):
            writer.writerow([category, *(_csv_number(s.values[i]) for s in self.series)])
        for marker in self.markers:
            writer.writerow([f"marker {marker.label}", f"at category {marker.position:g}"])
        for guide in self.guides:
            writer.writerow([f"line {guide.label}", _csv_number(guide.value)])
        return out.getvalue()


def _csv_number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.10g}"
