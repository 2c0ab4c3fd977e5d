"""The run list: a table model that pages in runs as the user scrolls, off the UI thread.

Pages are keyset pages (newest first) read by `ExecutionLog.list_runs` on a reader
thread, already formatted into display rows there, so `data()` only indexes tuples. Each filter
change bumps a generation counter; a page that arrives for an older generation is dropped.
Live runs are folded in with `upsert` (the page decides when, from the bridge's events).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor

from ato_desktop.core.records import RunCursor, RunFilter, RunRecord
from ato_desktop.core.run_filter import run_matches
from ato_desktop.core.timefmt import human_duration
from ato_desktop.ui.runs.columns import alignment, header_data, id_font
from ato_desktop.ui.runs.formatting import (
    DASH,
    cost_cell,
    elapsed,
    full_time,
    local_time,
    now_ms,
    percent,
    short_id,
)
from ato_desktop.ui.theme import current_theme
from ato_desktop.ui.widgets.status_badge import COST_ESTIMATED_ROLE, STATUS_ROLE, status_label

_ROOT = QModelIndex()  # the default parent (one instance, never changed)

log = logging.getLogger(__name__)

PAGE_SIZE = 200
FIRST_PAGE_SIZE = 100  # a screenful and then some: the first rows show sooner

COLUMNS = ("Run", "Agent", "Status", "Duration", "Actions", "Cost", "Success", "Started", "Ended")
(
    COL_RUN,
    COL_AGENT,
    COL_STATUS,
    COL_DURATION,
    COL_ACTIONS,
    COL_COST,
    COL_SUCCESS,
    COL_STARTED,
    COL_ENDED,
) = range(len(COLUMNS))
_RIGHT = {COL_DURATION, COL_ACTIONS, COL_COST, COL_SUCCESS}

RUN_ROLE = int(Qt.ItemDataRole.UserRole) + 1  # RunRecord
RUN_ID_ROLE = int(Qt.ItemDataRole.UserRole) + 2
AGENT_ID_ROLE = int(Qt.ItemDataRole.UserRole) + 3


@dataclass(frozen=True, slots=True)
class RunRow:
    """A run with its display texts, built off the UI thread."""

    run: RunRecord
    texts: tuple[str, ...]
    cost_estimated: bool
    tooltip: str

    @property
    def key(self) -> tuple[int, str]:
        return (self.run.started_at, self.run.id)


def build_row(run: RunRecord, now: int) -> RunRow:
    """Pure Python (reader threads call it): every text a cell shows."""
    cost_text, estimated = cost_cell(run.cost_usd, run.cost_source)
    # The no-agent path (runtime + model) shows what ran instead of a name.
    agent = run.agent_name or (f"{run.runtime} · {run.model}" if not run.agent_id else DASH)
    texts = (
        short_id(run.id),
        agent,
        status_label(run.status),
        human_duration(run.duration_ns) if run.status != "running" else "",
        f"{run.action_count:,}",
        cost_text,
        percent(run.success_rate),
        local_time(run.started_at, now),
        local_time(run.ended_at, now) if run.ended_at else DASH,
    )
    lines = [f"Run {run.id}", f"{run.runtime} · {run.model} · trigger {run.trigger}"]
    if run.agent_name:
        version = f" v{run.agent_version}" if run.agent_version is not None else ""
        lines.append(f"Agent {run.agent_name}{version}")
    if run.error_class or run.error_message:
        lines.append(f"Error: {run.error_class or ''} {run.error_message or ''}".strip())
    return RunRow(run, texts, estimated, "\n".join(lines))


def load_rows_page(store: Any, flt: RunFilter, after: RunCursor | None, limit: int) -> list[RunRow]:
    """One page of display rows (runs on a reader thread)."""
    now = now_ms()
    return [build_row(run, now) for run in store.list_runs(flt, after=after, limit=limit)]


class RunsTableModel(QAbstractTableModel):
    """Runs matching a filter, newest first, fetched a page at a time as the view scrolls."""

    sig_page_loaded = Signal(int, bool)  # rows now loaded, whether it was the first page
    sig_load_failed = Signal(str)
    sig_rows_changed = Signal()  # live inserts/removals (the page recounts)

    def __init__(self, ctx: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._flt = RunFilter()
        self._rows: list[RunRow] = []
        self._ids: dict[str, tuple[int, str]] = {}
        self._generation = 0
        self._loading = False
        self._exhausted = True  # nothing to fetch until a filter is set
        self._mono = id_font()

    # -- filter and loading --------------------------------------------------------------------

    @property
    def filter(self) -> RunFilter:
        return self._flt

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def loading(self) -> bool:
        return self._loading

    @property
    def exhausted(self) -> bool:
        return self._exhausted

    def set_filter(self, flt: RunFilter) -> None:
        """Show the runs matching flt: drop the rows now and load the first page."""
        self._generation += 1
        self.beginResetModel()
        self._flt = flt
        self._rows = []
        self._ids = {}
        self._loading = False
        self._exhausted = False
        self.endResetModel()
        self._start_load()

    def reload(self) -> None:
        self.set_filter(self._flt)

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> bool:
        return (
            not parent.isValid()
            and not self._exhausted
            and not self._loading
            and bool(self._rows)  # the first page is asked for by set_filter, not the view
        )

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> None:
        if self.canFetchMore(parent):
            self._start_load()

    def _start_load(self) -> None:
        if self._loading or self._exhausted or self._ctx.workspace is None:
            return
        self._loading = True
        last = self._rows[-1].run if self._rows else None
        after = RunCursor(last.started_at, last.id) if last is not None else None
        self._ctx.spawn(self._load(self._generation, after), what="load runs")

    async def _load(self, generation: int, after: RunCursor | None) -> None:
        store = self._ctx.workspace.store
        limit = PAGE_SIZE if after is not None else FIRST_PAGE_SIZE
        try:
            rows = await self._ctx.read(load_rows_page, store, self._flt, after, limit)
        except Exception as exc:
            log.exception("could not load runs")
            if shiboken6.isValid(self) and generation == self._generation:
                self._loading = False
                self._exhausted = True
                self.sig_load_failed.emit(str(exc) or type(exc).__name__)
            return
        if not shiboken6.isValid(self) or generation != self._generation:
            return  # a newer filter replaced this one while the page was being read
        self._loading = False
        self._exhausted = len(rows) < limit
        fresh = [row for row in rows if row.run.id not in self._ids]
        if fresh:
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + len(fresh) - 1)
            self._rows.extend(fresh)
            for row in fresh:
                self._ids[row.run.id] = row.key
            self.endInsertRows()
        self.sig_page_loaded.emit(len(self._rows), after is None)

    # -- live updates --------------------------------------------------------------------------

    def contains(self, run_id: str) -> bool:
        return run_id in self._ids

    def row_of(self, run_id: str) -> int | None:
        key = self._ids.get(run_id)
        if key is None:
            return None
        row = self._position(key)
        if row < len(self._rows) and self._rows[row].run.id == run_id:
            return row
        return None

    def _position(self, key: tuple[int, str]) -> int:
        """Index of the first row whose key is <= key (rows are sorted newest first)."""
        lo, hi = 0, len(self._rows)
        while lo < hi:
            mid = (lo + hi) // 2
            if self._rows[mid].key > key:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def upsert(self, run: RunRecord) -> None:
        """Fold a fresh copy of a run in: update, insert where it belongs, or drop it when it
        no longer matches the filter."""
        matches = run_matches(self._flt, run)
        row = self.row_of(run.id)
        if row is not None:
            if matches:
                self._rows[row] = build_row(run, now_ms())
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1), [])
            else:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._rows[row]
                del self._ids[run.id]
                self.endRemoveRows()
                self.sig_rows_changed.emit()
            return
        if not matches or (self._loading and not self._rows):
            return
        new = build_row(run, now_ms())
        position = self._position(new.key)
        if position >= len(self._rows) and not self._exhausted:
            return  # older than every loaded row: a later page brings it
        self.beginInsertRows(QModelIndex(), position, position)
        self._rows.insert(position, new)
        self._ids[run.id] = new.key
        self.endInsertRows()
        self.sig_rows_changed.emit()

    def refresh_times(self) -> None:
        """Repaint the elapsed time of running rows (a clock tick, not a data read)."""
        for row, item in enumerate(self._rows):
            if item.run.status == "running":
                index = self.index(row, COL_DURATION)
                self.dataChanged.emit(index, index, [int(Qt.ItemDataRole.DisplayRole)])

    # -- access --------------------------------------------------------------------------------

    def run_at(self, row: int) -> RunRecord | None:
        return self._rows[row].run if 0 <= row < len(self._rows) else None

    def running_count(self) -> int:
        return sum(1 for row in self._rows if row.run.status == "running")

    # -- QAbstractItemModel --------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        return header_data(COLUMNS, _RIGHT, section, orientation, role)

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid() or index.parent().isValid():
            return None
        row, col = index.row(), index.column()
        if not 0 <= row < len(self._rows) or not 0 <= col < len(COLUMNS):
            return None
        item = self._rows[row]
        run = item.run
        if role == Qt.ItemDataRole.DisplayRole:
            if col == COL_DURATION and run.status == "running":
                return elapsed(run.started_at)
            return item.texts[col]
        if role == STATUS_ROLE:
            return run.status if col == COL_STATUS else None
        if role == COST_ESTIMATED_ROLE:
            return item.cost_estimated if col == COL_COST else None
        if role == RUN_ROLE:
            return run
        if role == RUN_ID_ROLE:
            return run.id
        if role == AGENT_ID_ROLE:
            return run.agent_id
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_STARTED:
                return full_time(run.started_at)
            if col == COL_ENDED:
                return full_time(run.ended_at) if run.ended_at else "Still running"
            if col == COL_AGENT and run.agent_id:
                return f"Open agent {run.agent_name or run.agent_id}"
            if col == COL_COST and run.cost_source:
                return f"Cost source: {run.cost_source}"
            return item.tooltip
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return alignment(col in _RIGHT)
        if role == Qt.ItemDataRole.ForegroundRole:
            theme = current_theme()
            if col == COL_AGENT and run.agent_id:
                return QColor(theme.accent)
            if col == COL_SUCCESS and run.success_rate is not None and run.success_rate < 0.5:
                return QColor(theme.failed)
            if col in (COL_RUN, COL_ENDED) or item.texts[col] == DASH:
                return QColor(theme.text_muted)
            return None
        if role == Qt.ItemDataRole.FontRole and col == COL_RUN:
            return self._mono
        if role == Qt.ItemDataRole.AccessibleTextRole and col == COL_STATUS:
            return status_label(run.status)
        return None
