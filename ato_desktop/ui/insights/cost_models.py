"""Item models of Insights -> Cost: the recommendations, largest monthly saving first."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt

from ato_desktop.core.cost_recs import Recommendation
from ato_desktop.core.figures import usd_cents
from ato_desktop.ui.widgets.record_model import RecordTableModel

COLUMNS = ("Recommendation", "Projected saving")
COL_HEADLINE, COL_SAVING = range(len(COLUMNS))
AGENT_ID_ROLE = int(Qt.ItemDataRole.UserRole) + 1


class RecommendationsModel(RecordTableModel):
    """One row per recommendation (the best swap of an agent), in the report's order."""

    HEADERS = COLUMNS

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        rec = self.recommendation(index.row()) if index.isValid() else None
        if rec is None:
            return None
        col = index.column()
        if role == AGENT_ID_ROLE:
            return rec.agent_id
        if role == Qt.ItemDataRole.DisplayRole:
            if col == COL_HEADLINE:
                return rec.headline
            if col == COL_SAVING:
                return f"-{usd_cents(rec.monthly_saving_usd)}/mo"
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            return rec.headline
        if role == Qt.ItemDataRole.TextAlignmentRole and col == COL_SAVING:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def set_recommendations(self, recs: list[Recommendation]) -> None:
        self.set_records(recs)

    def recommendation(self, row: int) -> Recommendation | None:
        rec: Recommendation | None = self.record(row)
        return rec

    def row_of(self, agent_id: str) -> int:
        for row, rec in enumerate(self._records):
            if rec.agent_id == agent_id or rec.agent_name == agent_id:
                return row
        return -1
