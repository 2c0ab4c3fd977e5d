"""Insights -> Compare, drawn: per aligned action (two runs) or per action name (two groups),
the duration and the cost of each side as horizontal bars next to each other. An action one
side did not run, or whose cost is unknown, has no bar there (never a $0 one)."""

from __future__ import annotations

from typing import Final

from PySide6.QtWidgets import QButtonGroup, QPushButton, QWidget

from ato_desktop.core.compare import GroupComparison, RunComparison
from ato_desktop.ui.charts.chart_frame import ChartFrame
from ato_desktop.ui.charts.chart_spec import HBARS, ChartSpec, Series

MAX_ROWS: Final = 40  # the first aligned actions drawn (the table below lists them all)


def run_compare_specs(comparison: RunComparison) -> tuple[ChartSpec, ChartSpec]:
    """(durations, costs) per aligned action of two runs."""
    rows = comparison.actions[:MAX_ROWS]
    categories = tuple(
        f"{i + 1}. {(row.right or row.left).name}"  # type: ignore[union-attr]
        for i, row in enumerate(rows)
    )
    notes = (
        (f"first {MAX_ROWS} of {len(comparison.actions)} actions",)
        if len(comparison.actions) > MAX_ROWS
        else ()
    )
    left = f"left {_short(comparison.left.id)}"
    right = f"right {_short(comparison.right.id)}"
    durations = ChartSpec(
        HBARS,
        categories,
        (
            Series(left, tuple(r.left.duration_ms if r.left else None for r in rows), "failed"),
            Series(
                right, tuple(r.right.duration_ms if r.right else None for r in rows), "completed"
            ),
        ),
        "ms",
        "Action",
        "ms",
        notes=notes,
    )
    costs = ChartSpec(
        HBARS,
        categories,
        (
            Series(left, tuple(r.left.known_cost if r.left else None for r in rows), "failed"),
            Series(
                right, tuple(r.right.known_cost if r.right else None for r in rows), "completed"
            ),
        ),
        "USD",
        "Action",
        "USD",
        notes=notes,
    )
    return durations, costs


def group_compare_specs(comparison: GroupComparison) -> tuple[ChartSpec, ChartSpec]:
    """(mean durations, mean costs) per action name of two groups, most frequent first."""
    rows = comparison.actions[:MAX_ROWS]
    categories = tuple(row.name for row in rows)
    left = f"left {comparison.left.label} (n={comparison.left.runs})"
    right = f"right {comparison.right.label} (n={comparison.right.runs})"
    durations = ChartSpec(
        HBARS,
        categories,
        (
            Series(
                left, tuple(r.left.mean_duration_ms if r.left else None for r in rows), "failed"
            ),
            Series(
                right,
                tuple(r.right.mean_duration_ms if r.right else None for r in rows),
                "completed",
            ),
        ),
        "ms",
        "Action",
        "mean ms",
    )
    costs = ChartSpec(
        HBARS,
        categories,
        (
            Series(left, tuple(r.left.mean_cost_usd if r.left else None for r in rows), "failed"),
            Series(
                right, tuple(r.right.mean_cost_usd if r.right else None for r in rows), "completed"
            ),
        ),
        "USD",
        "Action",
        "mean USD",
    )
    return durations, costs


def _short(run_id: str | None) -> str:
    return (run_id or "?")[-8:]


class CompareBars(ChartFrame):
    """Per action, each side's duration or cost (a toggle), as bars side by side."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(
            "Per action",
            empty_title="Nothing to draw",
            empty_text="Neither side recorded durations or known costs for its actions "
            "(an unknown cost is never $0).",
            name="CompareBars",
            min_height=120,
            hint="Point or ↑/↓: both sides' exact figures (left red, right green)",
            parent=parent,
        )
        self.durations: ChartSpec | None = None
        self.costs: ChartSpec | None = None
        self.shown_metric = "duration"
        self._buttons = QButtonGroup(self)
        for key, label in (("duration", "Duration"), ("cost", "Cost")):
            button = QPushButton(label)
            button.setObjectName(f"CompareBars_{key}")
            button.setCheckable(True)
            button.setChecked(key == self.shown_metric)
            button.setToolTip(f"Each action's {label.lower()} on both sides")
            button.clicked.connect(lambda _c=False, k=key: self.show_metric(k))
            self._buttons.addButton(button)
            self.controls.addWidget(button)

    def show_metric(self, metric: str) -> None:
        self.shown_metric = metric
        for button in self._buttons.buttons():
            button.setChecked(button.objectName() == f"CompareBars_{metric}")
        spec = self.durations if metric == "duration" else self.costs
        if spec is not None:
            self.set_spec(spec)

    def show_runs(self, comparison: RunComparison) -> None:
        self.durations, self.costs = run_compare_specs(comparison)
        self.show_metric(self.shown_metric)

    def show_groups(self, comparison: GroupComparison) -> None:
        self.durations, self.costs = group_compare_specs(comparison)
        self.show_metric(self.shown_metric)
