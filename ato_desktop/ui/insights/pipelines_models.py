"""Insights -> Pipelines: the table of multi-stage dispatches (one row per pipeline run) and the
texts its cells and the stage flow share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from ato_desktop.core.cost_rollup import format_cost
from ato_desktop.core.timefmt import human_duration
from ato_desktop.store.automations import SOURCE_STAGE, PipelineSummary, StageSummary
from ato_desktop.ui.runs.formatting import full_time, local_time
from ato_desktop.ui.widgets.status_badge import STATUS_ROLE, status_label

COLUMNS = ("Status", "Pipeline", "Stages", "Trigger", "Duration", "Cost", "Started")
COL_STATUS, COL_NAME, COL_STAGES, COL_TRIGGER, COL_DURATION, COL_COST, COL_STARTED = range(
    len(COLUMNS)
)
RUN_ID_ROLE = int(Qt.ItemDataRole.UserRole) + 1

KIND_LABELS = {"group": "Group", "skill": "Skill flow", "hook": "Hook chain"}
_ROOT = QModelIndex()


def pipeline_cost_text(summary: PipelineSummary) -> str:
    """The total cost; '≥ $x' when some stage's cost is unknown; 'unknown', never $0."""
    if summary.cost_usd is None:
        return "unknown" if not summary.cost_complete else "—"
    text = format_cost(summary.cost_usd, "provider")
    return text if summary.cost_complete else f"≥ {text}"


def stage_cost_text(stage: StageSummary) -> str:
    return format_cost(stage.cost_usd, stage.cost_source)


def duration_text(duration_ns: int | None, status: str) -> str:
    if duration_ns is None:
        return "running…" if status == "running" else "—"
    return human_duration(duration_ns)


def stage_names(summary: PipelineSummary) -> str:
    names = list(
        dict.fromkeys(
            s.stage_name or f"stage {s.stage_index}"
            for s in summary.stages
            if s.stage_name != SOURCE_STAGE
        )
    )
    return " → ".join(names)


def stage_title(stage: StageSummary, position: int) -> str:
    """'2 · draft' (position counts from 1), with the attempt of a retried stage."""
    title = f"{position} · {stage.stage_name or 'stage'}"
    return f"{title} (attempt {stage.attempt})" if stage.attempt > 1 else title


class PipelineRunsModel(QAbstractTableModel):
    """Pipeline runs newest first, a page at a time (append_rows adds the next page)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[PipelineSummary] = []

    def set_rows(self, rows: Iterable[PipelineSummary]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def append_rows(self, rows: list[PipelineSummary]) -> None:
        known = {r.run_id for r in self._rows}
        fresh = [r for r in rows if r.run_id not in known]
        if not fresh:
            return
        first = len(self._rows)
        self.beginInsertRows(_ROOT, first, first + len(fresh) - 1)
        self._rows.extend(fresh)
        self.endInsertRows()

    def summary(self, row: int) -> PipelineSummary:
        return self._rows[row]

    @property
    def rows(self) -> list[PipelineSummary]:
        return list(self._rows)

    def row_of(self, run_id: str) -> int:
        return next((i for i, r in enumerate(self._rows) if r.run_id == run_id), -1)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        col = index.column()
        if role == RUN_ID_ROLE:
            return row.run_id
        if role == STATUS_ROLE and col == COL_STATUS:
            return row.status
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_NAME:
                return f"{KIND_LABELS.get(row.kind, row.kind)} {row.name}"
            if col == COL_STARTED:
                return full_time(row.started_at)
            if col == COL_STATUS and row.error_message:
                return row.error_message
            if col == COL_COST and not row.cost_complete:
                return "Some stages' cost is unknown: the total is at least this"
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (COL_DURATION, COL_COST):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.AccessibleTextRole and col == COL_STATUS:
            return status_label(row.status)
        return None

    def _display(self, row: PipelineSummary, col: int) -> str | None:
        if col == COL_STATUS:
            return None  # the badge delegate paints it
        if col == COL_NAME:
            return row.name
        if col == COL_STAGES:
            names = stage_names(row)
            return f"{row.stage_count} · {names}" if names else str(row.stage_count)
        if col == COL_TRIGGER:
            return row.trigger
        if col == COL_DURATION:
            return duration_text(row.duration_ns, row.status)
        if col == COL_COST:
            return pipeline_cost_text(row)
        if col == COL_STARTED:
            return local_time(row.started_at)
        return None
