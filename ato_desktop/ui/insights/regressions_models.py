"""Item models of Insights -> Regressions: one row per config change, and a change's failing
examples."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from ato_desktop.core.figures import DASH, cost_text, ms_text
from ato_desktop.core.regressions import (
    COST,
    EVAL,
    LATENCY,
    METRIC_LABELS,
    SUCCESS,
    Thresholds,
    change_side_text,
)
from ato_desktop.engine.regressions import ChangeReport, Example
from ato_desktop.ui.insights.regressions_format import (
    check_tooltip,
    example_error,
    metric_text,
    one_line,
    sample_text,
    verdict_text,
    when_text,
)
from ato_desktop.ui.runs.formatting import local_time, short_id
from ato_desktop.ui.theme import current_theme
from ato_desktop.ui.widgets.record_model import RecordTableModel

Index = QModelIndex | QPersistentModelIndex
CHANGE_ROLE = Qt.ItemDataRole.UserRole + 1  # the row's ChangeReport
RUN_ID_ROLE = Qt.ItemDataRole.UserRole + 2  # an example's run id
REGRESSED_ROLE = Qt.ItemDataRole.UserRole + 3  # a metric cell: the metric regressed

(
    COL_VERDICT,
    COL_AGENT,
    COL_WHEN,
    COL_SUMMARY,
    COL_SUCCESS,
    COL_LATENCY,
    COL_COST,
    COL_EVAL,
    COL_SAMPLES,
) = range(9)
METRIC_COLUMNS = {COL_SUCCESS: SUCCESS, COL_LATENCY: LATENCY, COL_COST: COST, COL_EVAL: EVAL}


class ChangesModel(RecordTableModel):
    """Config changes (regressions first), each with its four metric checks."""

    HEADERS = (
        "Verdict",
        "Agent · change",
        "When",
        "What changed",
        METRIC_LABELS[SUCCESS],
        METRIC_LABELS[LATENCY],
        METRIC_LABELS[COST],
        METRIC_LABELS[EVAL],
        "n before / after",
    )

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thresholds = Thresholds()

    def set_changes(self, changes: Sequence[ChangeReport], thresholds: Thresholds) -> None:
        self.thresholds = thresholds
        self.set_records(changes)

    def change(self, row: int) -> ChangeReport | None:
        found: ChangeReport | None = self.record(row)
        return found

    def row_of(self, agent_id: str, version: int | None = None) -> int:
        """The row of the agent's change to `version` (its newest regression when None)."""
        for row, change in enumerate(self._records):
            if change.agent_id == agent_id and (
                change.version == version if version is not None else change.regression
            ):
                return row
        return -1

    @property
    def has_eval(self) -> bool:
        return any(c.metric == EVAL for change in self._records for c in change.checks)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.HEADERS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        if role == Qt.ItemDataRole.ToolTipRole and section == COL_SAMPLES:
            return (
                f"Sample sizes: runs judged on each side of the change ({change_side_text()}; "
                "each metric's own n is in its tooltip). Compare's before vs after counts the "
                "same runs."
            )
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        change = self.change(index.row()) if index.isValid() else None
        if change is None:
            return None
        col = index.column()
        if role == CHANGE_ROLE:
            return change
        metric = METRIC_COLUMNS.get(col)
        check = next((c for c in change.checks if c.metric == metric), None) if metric else None
        if role == REGRESSED_ROLE:
            return bool(check and check.regression)
        if role == Qt.ItemDataRole.DisplayRole:
            if metric is not None:
                if check is None:
                    return DASH
                return ("✗ " if check.regression else "") + metric_text(check, two_lines=True)
            return self._text(change, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            if metric is not None:
                if check is None:
                    return f"{METRIC_LABELS[metric]}: no data on one side of the change"
                return check_tooltip(check, self.thresholds)
            if col == COL_SUMMARY:
                return change.summary
            if col == COL_AGENT:
                return f"@{change.agent_name}: version {change.previous_version} → {change.version}"
            if col == COL_WHEN:
                return f"Version {change.version} was saved ({change.change_source})"
            if col == COL_VERDICT and change.verdict == "not_enough_data":
                return (
                    f"No verdict yet: {change.not_enough_text}. A metric is judged only with "
                    f"{change.min_runs} runs on each side, so a few unlucky runs never raise "
                    "an alarm (and a few lucky ones never clear one)."
                )
            if col == COL_VERDICT and change.regression:
                names = ", ".join(c.label.lower() for c in change.regressed)
                current = (
                    " It is the agent's current version."
                    if change.is_current
                    else " A later change replaced it."
                )
                return f"Worse after the change: {names}.{current}"
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            theme = current_theme()
            if (check is not None and check.regression) or (
                col == COL_VERDICT and change.regression
            ):
                return QColor(theme.failed)
            if metric is not None or col in (COL_WHEN, COL_SAMPLES) or col == COL_VERDICT:
                return QColor(theme.text_muted)
            return None
        if role == Qt.ItemDataRole.FontRole:
            if (check is not None and check.regression) or (
                col in (COL_VERDICT, COL_AGENT) and change.regression
            ):
                font = QFont()
                font.setBold(True)
                return font
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and col == COL_SAMPLES:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def _text(change: ChangeReport, col: int) -> str:
        if col == COL_VERDICT:
            return verdict_text(change)
        if col == COL_AGENT:
            return f"{change.agent_name}\nv{change.previous_version} → v{change.version}"
        if col == COL_WHEN:
            return when_text(change.changed_at)
        if col == COL_SUMMARY:
            return one_line(change.summary, 120)
        if col == COL_SAMPLES:
            return sample_text(change)
        return ""


(
    EX_WHY,
    EX_RUN,
    EX_STARTED,
    EX_OUTCOME,
    EX_PROMPT,
    EX_DURATION,
    EX_COST,
) = range(7)


class ExamplesModel(RecordTableModel):
    """A change's failing examples: post-change runs, grouped by the metric they show."""

    HEADERS = ("Shows", "Run", "Started", "Outcome", "Prompt", "Duration", "Cost")

    def set_change(self, change: ChangeReport | None) -> None:
        self.set_records(
            [(metric, ex) for metric, examples in change.examples.items() for ex in examples]
            if change is not None
            else []
        )

    def example(self, row: int) -> Example | None:
        found = self.record(row)
        return found[1] if found is not None else None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._records):
            return None
        metric, ex = self._records[index.row()]
        col = index.column()
        if role == RUN_ID_ROLE:
            return ex.run_id
        if role == Qt.ItemDataRole.DisplayRole:
            if col == EX_WHY:
                return f"{METRIC_LABELS[metric]} · {ex.why}"
            if col == EX_RUN:
                return short_id(ex.run_id)
            if col == EX_STARTED:
                return local_time(ex.started_at)
            if col == EX_OUTCOME:
                return one_line(example_error(ex), 90)
            if col == EX_PROMPT:
                return one_line(ex.prompt, 160) or "(no prompt recorded)"
            if col == EX_DURATION:
                return ms_text(ex.duration_ms)
            if col == EX_COST:
                return cost_text(ex.cost_usd)
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == EX_RUN:
                return f"{ex.run_id}\nClick or press Enter to open the run"
            if col == EX_OUTCOME:
                return example_error(ex)
            if col == EX_PROMPT:
                return ex.prompt or None
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            theme = current_theme()
            if col == EX_OUTCOME and ex.status == "failed":
                return QColor(theme.failed)
            if col == EX_RUN:
                return QColor(theme.accent)
            if col in (EX_WHY, EX_STARTED):
                return QColor(theme.text_muted)
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (EX_DURATION, EX_COST):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None
