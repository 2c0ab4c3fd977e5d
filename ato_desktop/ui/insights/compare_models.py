"""Item models of Compare: figures side by side, aligned actions, and action names of groups."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from ato_desktop.core.compare import (
    CHANGED,
    ONLY_LEFT,
    ONLY_RIGHT,
    ActionComparison,
    ActionNameComparison,
)
from ato_desktop.core.compare_verdict import BETTER, WORSE, verdict
from ato_desktop.core.figures import DASH, count_text, rate_text
from ato_desktop.ui.insights.compare_format import delta_text, figure_text
from ato_desktop.ui.insights.compare_rows import (
    MetricRow,
    action_side_text,
    action_status_text,
)
from ato_desktop.ui.theme import current_theme
from ato_desktop.ui.widgets.record_model import RecordTableModel

Index = QModelIndex | QPersistentModelIndex
ROW_ROLE = Qt.ItemDataRole.UserRole + 1  # the row's object (ActionComparison, ...)
VERDICT_ROLE = Qt.ItemDataRole.UserRole + 2


def verdict_color(name: str) -> QColor | None:
    theme = current_theme()
    if name == BETTER:
        return QColor(theme.completed)
    if name == WORSE:
        return QColor(theme.failed)
    return None


class _TableModel(RecordTableModel):
    """A record table whose headers can be renamed (the sides carry run ids)."""

    def set_rows(self, rows: Sequence[Any]) -> None:
        self.set_records(rows)

    def row_at(self, row: int) -> Any:
        return self.record(row)

    def set_header(self, section: int, text: str) -> None:
        headers = list(self.headers)
        headers[section] = text
        self.headers = tuple(headers)
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, section, section)


class MetricsModel(_TableModel):
    """Metric | Left | Right | Δ: run totals or group statistics."""

    HEADERS = ("Metric", "Left", "Right", "Δ (right − left)")

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row: MetricRow | None = self.row_at(index.row()) if index.isValid() else None
        if row is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (row.label, row.left, row.right, row.delta)[col]
        if role == Qt.ItemDataRole.ForegroundRole and col == 3:
            return verdict_color(row.verdict)
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.tooltip or None
        if role == VERDICT_ROLE:
            return row.verdict
        if role == Qt.ItemDataRole.TextAlignmentRole and col > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


COL_INDEX, COL_ACTION, COL_LEFT, COL_RIGHT, COL_STATUS, COL_DURATION, COL_COST = range(7)


class ActionRowsModel(_TableModel):
    """The aligned actions of two runs: Action | Left | Right | Status | Δ duration | Δ cost."""

    HEADERS = ("#", "Action", "Left", "Right", "Status", "Δ duration", "Δ cost")

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row: ActionComparison | None = self.row_at(index.row()) if index.isValid() else None
        if row is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(index.row(), row, col)
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._color(row, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, col)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (COL_DURATION, COL_COST):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def _text(position: int, row: ActionComparison, col: int) -> str:
        if col == COL_INDEX:
            return str(position + 1)
        if col == COL_ACTION:
            return row.name
        if col == COL_LEFT:
            return action_side_text(row.left)
        if col == COL_RIGHT:
            return action_side_text(row.right)
        if col == COL_STATUS:
            return action_status_text(row)
        if col == COL_DURATION:
            return delta_text("duration", row.duration_ms)
        if col == COL_COST:
            return delta_text("cost", row.cost_usd)
        return ""

    @staticmethod
    def _color(row: ActionComparison, col: int) -> QColor | None:
        theme = current_theme()
        if col == COL_STATUS:
            return QColor(
                {
                    CHANGED: theme.warning,
                    ONLY_LEFT: theme.failed,
                    ONLY_RIGHT: theme.completed,
                }.get(row.status, theme.text_muted)
            )
        if col == COL_DURATION:
            return verdict_color(verdict("duration", row.duration_ms))
        if col == COL_COST:
            return verdict_color(verdict("cost", row.cost_usd))
        if col in (COL_LEFT, COL_RIGHT):
            side = row.left if col == COL_LEFT else row.right
            if side is None:
                return QColor(theme.text_muted)
            if side.outcome == "error":
                return QColor(theme.failed)
        return None

    @staticmethod
    def _tooltip(row: ActionComparison, col: int) -> str | None:
        if col == COL_STATUS:
            return {
                "same": "Same name, outcome, inputs and outputs",
                CHANGED: "Both runs have this step; its inputs, outputs or outcome differ",
                ONLY_LEFT: "Only the left run has this step",
                ONLY_RIGHT: "Only the right run has this step",
            }.get(row.status, row.status) + (
                " (it ran at another position in the left run)" if row.moved else ""
            )
        if col in (COL_LEFT, COL_RIGHT):
            side = row.left if col == COL_LEFT else row.right
            if side is not None and side.error_message:
                return f"{side.error_class or 'Error'}: {side.error_message}"
        return None


class GroupActionsModel(_TableModel):
    """Action names of two groups: how often each ran per run, its mean duration and cost and
    its error rate on each side."""

    HEADERS = (
        "Action",
        "Runs with it (L / R)",
        "Per run Δ",
        "Mean duration (L → R)",
        "Δ duration",
        "Δ mean cost",
        "Error rate (L → R)",
    )

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row: ActionNameComparison | None = self.row_at(index.row()) if index.isValid() else None
        if row is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            left, right = row.left, row.right
            if col == 0:
                return row.name
            if col == 1:
                runs = (count_text(side.runs if side else 0) for side in (left, right))
                return " / ".join(runs)
            if col == 2:
                return delta_text("per_run", row.per_run)
            if col == 3:
                return (
                    f"{figure_text('duration', row.mean_duration_ms.left)} → "
                    f"{figure_text('duration', row.mean_duration_ms.right)}"
                )
            if col == 4:
                return delta_text("duration", row.mean_duration_ms)
            if col == 5:
                return delta_text("cost", row.mean_cost_usd)
            if col == 6:
                return (
                    f"{rate_text(row.error_rate.left) if left else DASH} → "
                    f"{rate_text(row.error_rate.right) if right else DASH}"
                )
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.ForegroundRole:
            figure = {4: "duration", 5: "cost", 6: "error_rate"}.get(col)
            if figure == "duration":
                return verdict_color(verdict(figure, row.mean_duration_ms))
            if figure == "cost":
                return verdict_color(verdict(figure, row.mean_cost_usd))
            if figure == "error_rate":
                return verdict_color(verdict(figure, row.error_rate))
        return None
