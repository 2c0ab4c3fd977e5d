"""Item models of Insights -> Cost: the recommendations, largest monthly saving first."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from ato_desktop.core.cost_recs import Recommendation
from ato_desktop.ui.insights.cost_reads import money

COLUMNS = ("Recommendation", "Projected saving")
COL_HEADLINE, COL_SAVING = range(len(COLUMNS))
AGENT_ID_ROLE = int(Qt.ItemDataRole.UserRole) + 1


class RecommendationsModel(QAbstractTableModel):
    """One row per recommendation (the best swap of an agent), in the report's order."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._recs: list[Recommendation] = []

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._recs)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section] if 0 <= section < len(COLUMNS) else None
        return None

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._recs):
            return None
        rec = self._recs[index.row()]
        col = index.column()
        if role == AGENT_ID_ROLE:
            return rec.agent_id
        if role == Qt.ItemDataRole.DisplayRole:
            if col == COL_HEADLINE:
                return rec.headline
            if col == COL_SAVING:
                return f"-{money(rec.monthly_saving_usd)}/mo"
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            return rec.headline
        if role == Qt.ItemDataRole.TextAlignmentRole and col == COL_SAVING:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def set_recommendations(self, recs: list[Recommendation]) -> None:
        self.beginResetModel()
        self._recs = list(recs)
        self.endResetModel()

    def recommendation(self, row: int) -> Recommendation | None:
        return self._recs[row] if 0 <= row < len(self._recs) else None

    def row_of(self, agent_id: str) -> int:
        for row, rec in enumerate(self._recs):
            if rec.agent_id == agent_id or rec.agent_name == agent_id:
                return row
        return -1
