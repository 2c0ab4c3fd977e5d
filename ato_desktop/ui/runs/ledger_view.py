"""The Activity Ledger (Runs → Ledger): every action across runs in one table, filtered by action,
kind, outcome, agent, model, cost, duration and time (or one run's, from its details: "View in
Activity Ledger"), sorted by time, cost or duration with a click on the header, exported as CSV
or JSONL.

Pages are keyset pages read by store.action_ledger on a reader thread, already formatted there;
a filter or sort change bumps a generation and drops pages of older ones. New actions mark the
list stale: it reloads by itself while its top is shown, else offers a Refresh button.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.coerce import as_money
from ato_desktop.core.figures import DASH
from ato_desktop.core.ledger import (
    DEFAULT_LEDGER_SORT,
    LedgerCursor,
    LedgerEntry,
    LedgerFilter,
    LedgerSort,
    ledger_cursor,
)
from ato_desktop.core.models import Outcome
from ato_desktop.core.records import RunFilter
from ato_desktop.core.timefmt import (
    TIME_WINDOWS,
    DurationError,
    human_duration,
    parse_duration_ms,
    window_start_ms,
)
from ato_desktop.engine.export import LEDGER_FORMATS, export_actions
from ato_desktop.store import action_ledger
from ato_desktop.ui.bridge import connect_for
from ato_desktop.ui.runs.columns import alignment, header_data, id_font
from ato_desktop.ui.runs.export_dialog import ExportDialog, ExportSubject
from ato_desktop.ui.runs.formatting import cost_cell, full_time, local_time, now_ms, short_id
from ato_desktop.ui.theme import current_theme
from ato_desktop.ui.widgets.background import BackgroundWork
from ato_desktop.ui.widgets.status_badge import COST_ESTIMATED_ROLE, CostDelegate, NoFocusDelegate

_ROOT = QModelIndex()
log = logging.getLogger(__name__)

PAGE_SIZE = 200
FIRST_PAGE_SIZE = 100
COLUMNS = (
    "Started",
    "Run",
    "Agent",
    "Model",
    "Action",
    "Kind",
    "Outcome",
    "Duration",
    "Cost",
    "Tokens",
)
(
    COL_STARTED,
    COL_RUN,
    COL_AGENT,
    COL_MODEL,
    COL_ACTION,
    COL_KIND,
    COL_OUTCOME,
    COL_DURATION,
    COL_COST,
    COL_TOKENS,
) = range(len(COLUMNS))
_RIGHT = {COL_DURATION, COL_COST, COL_TOKENS}
SORT_COLUMNS = {COL_STARTED: "time", COL_DURATION: "duration", COL_COST: "cost"}
ENTRY_ROLE = int(Qt.ItemDataRole.UserRole) + 1
WINDOW_LABELS = {"24h": "Last 24 h", "7d": "Last 7 d", "30d": "Last 30 d", "all": "All time"}
ANY = "Any"

LEDGER_FORMAT_LABELS = {
    "csv": ("CSV", "one row per action with its inputs and outputs; opens in a spreadsheet"),
    "jsonl": ("JSONL", "one action per line; streams well into other tools"),
}


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """An action with its display texts, built off the UI thread."""

    entry: LedgerEntry
    texts: tuple[str, ...]
    cost_estimated: bool


def build_ledger_row(entry: LedgerEntry, now: int) -> LedgerRow:
    cost_text, estimated = cost_cell(entry.cost_usd, entry.cost_source)
    tokens = (entry.input_tokens or 0) + (entry.output_tokens or 0)
    texts = (
        local_time(entry.started_at, now),
        short_id(entry.run_id),
        entry.agent_name or DASH,
        entry.model,
        entry.name,
        entry.kind,
        entry.outcome,
        human_duration(entry.duration_ns) if entry.duration_ns is not None else DASH,
        cost_text if entry.cost_usd is not None else DASH,
        f"{tokens:,}"
        if entry.input_tokens is not None or entry.output_tokens is not None
        else DASH,
    )
    return LedgerRow(entry, texts, estimated)


def load_ledger_page(
    store: Any, flt: LedgerFilter, sort: LedgerSort, after: LedgerCursor | None, limit: int
) -> list[LedgerRow]:
    """One page of display rows (on a reader thread)."""
    now = now_ms()
    entries = action_ledger.page(store.reader(), flt, after, limit, sort=sort)
    return [build_ledger_row(entry, now) for entry in entries]


def read_choices(store: Any) -> dict[str, list[Any]]:
    """What the filters offer: action names, kinds, models and agents present in the log."""
    conn = store.reader()
    triples = action_ledger.streams(conn)
    return {
        "names": sorted({name for _kind, name, _outcome in triples}),
        "kinds": sorted({kind for kind, _name, _outcome in triples}),
        "models": action_ledger.models(conn),
        "agents": [(a.id, a.name) for a in store.list_agents()],
    }


class LedgerModel(QAbstractTableModel):
    """The ledger's actions for a filter and a sort, a page at a time as the view scrolls."""

    sig_page_loaded = Signal(int, bool)  # rows loaded, whether it was the first page
    sig_load_failed = Signal(str)
    sig_sort_changed = Signal(object)  # LedgerSort

    def __init__(self, ctx: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.work = BackgroundWork(self, ctx)
        self._flt = LedgerFilter()
        self._sort = DEFAULT_LEDGER_SORT
        self._rows: list[LedgerRow] = []
        self._generation = 0
        self._loading = False
        self._exhausted = True
        self._started = False
        self._mono = id_font()

    @property
    def filter(self) -> LedgerFilter:
        return self._flt

    @property
    def sort_order(self) -> LedgerSort:
        return self._sort

    @property
    def loading(self) -> bool:
        return self._loading

    @property
    def generation(self) -> int:
        return self._generation

    def set_filter(self, flt: LedgerFilter) -> None:
        self._flt = flt
        self._restart()

    def set_sort(self, sort: LedgerSort) -> None:
        if sort == self._sort:
            return
        self._sort = sort
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(COLUMNS) - 1)
        self.sig_sort_changed.emit(sort)
        if self._started:
            self._restart()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        key = SORT_COLUMNS.get(column)
        if key is not None:
            self.set_sort(LedgerSort(key, descending=order == Qt.SortOrder.DescendingOrder))

    def reload(self) -> None:
        self._restart()

    def _restart(self) -> None:
        self._generation += 1
        self._started = True
        self.beginResetModel()
        self._rows = []
        self._loading = False
        self._exhausted = False
        self.endResetModel()
        self._start_load()

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> bool:
        return (
            not parent.isValid() and not self._exhausted and not self._loading and bool(self._rows)
        )

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> None:
        if self.canFetchMore(parent):
            self._start_load()

    def _start_load(self) -> None:
        if self._loading or self._exhausted or self._ctx.workspace is None:
            return
        self._loading = True
        after = ledger_cursor(self._rows[-1].entry, self._sort) if self._rows else None
        self._ctx.spawn(self._load(self._generation, after), what="load the Activity Ledger")

    async def _load(self, generation: int, after: LedgerCursor | None) -> None:
        limit = PAGE_SIZE if after is not None else FIRST_PAGE_SIZE
        try:
            rows = await self.work.fetch(
                load_ledger_page, self._ctx.workspace.store, self._flt, self._sort, after, limit
            )
        except Exception as exc:
            log.exception("could not read the Activity Ledger")
            if generation == self._generation:
                self._loading = False
                self._exhausted = True
                self.sig_load_failed.emit(str(exc) or type(exc).__name__)
            return
        if generation != self._generation:  # a newer filter or sort
            return
        self._exhausted = len(rows) < limit
        if rows:
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + len(rows) - 1)
            self._rows.extend(rows)
            self.endInsertRows()
        # Only now: a view asking for more while the rows go in must not read this page again.
        self._loading = False
        self.sig_page_loaded.emit(len(self._rows), after is None)

    def entry_at(self, row: int) -> LedgerEntry | None:
        return self._rows[row].entry if 0 <= row < len(self._rows) else None

    # -- QAbstractItemModel --------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and section in SORT_COLUMNS:
            if role == Qt.ItemDataRole.InitialSortOrderRole:
                return Qt.SortOrder.DescendingOrder
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"Sort by {SORT_COLUMNS[section]} (click again for the other direction)"
        sorted_section = next(c for c, k in SORT_COLUMNS.items() if k == self._sort.key)
        return header_data(COLUMNS, _RIGHT, section, orientation, role, sorted_section)

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
        entry = item.entry
        if role == Qt.ItemDataRole.DisplayRole:
            return item.texts[col]
        if role == ENTRY_ROLE:
            return entry
        if role == COST_ESTIMATED_ROLE:
            return item.cost_estimated if col == COL_COST else None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return alignment(col in _RIGHT)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_STARTED:
                return full_time(entry.started_at)
            if col == COL_RUN:
                return f"Run {entry.run_id}: open it at this action (Enter)"
            if entry.error_message:
                return f"{entry.error_class or 'error'}: {entry.error_message}"
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            theme = current_theme()
            if col == COL_OUTCOME and entry.outcome == Outcome.ERROR.value:
                return QColor(theme.failed)
            if col == COL_OUTCOME and entry.outcome == Outcome.BLOCKED.value:
                return QColor(theme.warning)
            if col == COL_RUN or item.texts[col] == DASH:
                return QColor(theme.text_muted)
            return None
        if role == Qt.ItemDataRole.FontRole and col == COL_RUN:
            return self._mono
        return None


class LedgerView(QWidget):
    """Filters, the ledger table (or why it is empty), its count and Export…."""

    sig_count_changed = Signal(int, bool)  # actions counted, whether the count stopped at a cap
    sig_action_opened = Signal(str, int)  # run id, seq
    sig_export_opened = Signal(object)  # ExportDialog

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LedgerView")
        self._ctx = ctx
        self.work = BackgroundWork(self, ctx)
        self._flt = LedgerFilter()
        self._updating = False
        self._choices_read = False
        self._stale = False
        self.export_dialog: ExportDialog | None = None
        self.model = LedgerModel(ctx, self)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        bar = QHBoxLayout()
        bar.setSpacing(6)
        self.name_combo = self._combo("LedgerName", "Action: any", editable=True)
        self.kind_combo = self._combo("LedgerKind", "Kind")
        self.outcome_combo = self._combo("LedgerOutcome", "Outcome")
        for outcome in Outcome:
            self.outcome_combo.addItem(outcome.value, outcome.value)
        self.agent_combo = self._combo("LedgerAgent", "Agent")
        self.model_combo = self._combo("LedgerModelFilter", "Model")
        self.cost_edit = QLineEdit()
        self.cost_edit.setObjectName("LedgerMinCost")
        self.cost_edit.setPlaceholderText("Min cost $")
        self.cost_edit.setClearButtonEnabled(True)
        self.cost_edit.setFixedWidth(100)
        self.cost_edit.setToolTip("Only actions that cost at least this much (USD)")
        self.duration_edit = QLineEdit()
        self.duration_edit.setObjectName("LedgerMinDuration")
        self.duration_edit.setPlaceholderText("Min time: 2s")
        self.duration_edit.setClearButtonEnabled(True)
        self.duration_edit.setFixedWidth(100)
        self.duration_edit.setToolTip("Only actions that took at least this long: 500ms, 2s, 1m")
        self.window_combo = QComboBox()
        self.window_combo.setObjectName("LedgerWindow")
        for window in TIME_WINDOWS:
            self.window_combo.addItem(WINDOW_LABELS.get(window, window), window)
        self.window_combo.setCurrentIndex(self.window_combo.findData("all"))
        for widget in (
            self.name_combo,
            self.kind_combo,
            self.outcome_combo,
            self.agent_combo,
            self.model_combo,
            self.cost_edit,
            self.duration_edit,
            self.window_combo,
        ):
            bar.addWidget(widget)
        bar.addStretch(1)
        layout.addLayout(bar)

        second = QHBoxLayout()
        second.setSpacing(8)
        self.run_chip = QPushButton("")
        self.run_chip.setObjectName("LedgerRunChip")
        self.run_chip.setProperty("chip", True)
        self.run_chip.setToolTip("Only this run's actions; click to show every run's")
        self.run_chip.clicked.connect(
            lambda: self.set_filter(dataclasses.replace(self._flt, run_id=None))
        )
        self.run_chip.hide()
        second.addWidget(self.run_chip)
        self.reset_button = QPushButton("Reset")
        self.reset_button.setObjectName("LedgerReset")
        self.reset_button.setFlat(True)
        self.reset_button.setToolTip("Clear every filter")
        self.reset_button.clicked.connect(lambda: self.set_filter(LedgerFilter()))
        self.reset_button.hide()
        second.addWidget(self.reset_button)
        self.error_label = QLabel("")
        self.error_label.setObjectName("LedgerFilterError")
        second.addWidget(self.error_label)
        second.addStretch(1)
        self.refresh_button = QPushButton("New actions · Refresh")
        self.refresh_button.setObjectName("LedgerRefresh")
        self.refresh_button.setFlat(True)
        self.refresh_button.clicked.connect(self.reload)
        self.refresh_button.hide()
        second.addWidget(self.refresh_button)
        self.count_label = QLabel("")
        self.count_label.setObjectName("LedgerCount")
        second.addWidget(self.count_label)
        self.export_button = QPushButton("Export…")
        self.export_button.setObjectName("ExportLedger")
        self.export_button.setToolTip("Export the actions matching the filters as CSV or JSONL")
        self.export_button.clicked.connect(self.open_export)
        second.addWidget(self.export_button)
        layout.addLayout(second)

        self._stack = QStackedWidget()
        self.table = QTableView()
        self.table.setObjectName("LedgerTable")
        self.table.setModel(self.model)
        self.table.setItemDelegate(NoFocusDelegate(self.table))
        self.table.setItemDelegateForColumn(COL_COST, CostDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(30)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL_ACTION, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(48)
        for col, width in (
            (COL_STARTED, 132),
            (COL_RUN, 86),
            (COL_AGENT, 120),
            (COL_MODEL, 130),
            (COL_KIND, 60),
            (COL_OUTCOME, 80),
            (COL_DURATION, 80),
            (COL_COST, 120),
            (COL_TOKENS, 70),
        ):
            header.resizeSection(col, width)
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        self._show_sort(self.model.sort_order)
        header.sortIndicatorChanged.connect(self._on_sort_indicator)
        self.table.activated.connect(self._open_action)
        self.table.doubleClicked.connect(self._open_action)
        self._stack.addWidget(self.table)
        self.empty = QLabel("")
        self.empty.setObjectName("LedgerEmpty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self._stack.addWidget(self.empty)
        layout.addWidget(self._stack, 1)

        self.model.sig_page_loaded.connect(self._on_page_loaded)
        self.model.sig_load_failed.connect(self._on_load_failed)
        for combo in (
            self.kind_combo,
            self.outcome_combo,
            self.agent_combo,
            self.model_combo,
            self.window_combo,
        ):
            combo.currentIndexChanged.connect(lambda _i: self._emit())
        self.name_combo.activated.connect(lambda _i: self._emit())
        line = self.name_combo.lineEdit()
        if line is not None:
            line.editingFinished.connect(self._emit)
        self._edit_timer = QTimer(self, singleShot=True, interval=400)
        self._edit_timer.timeout.connect(self._emit)
        for edit in (self.cost_edit, self.duration_edit):
            edit.textEdited.connect(lambda _t: self._edit_timer.start())
            edit.returnPressed.connect(self._emit)
            edit.textChanged.connect(lambda t: not t and self._edit_timer.start())
        self._stale_timer = QTimer(self, singleShot=True, interval=600)
        self._stale_timer.timeout.connect(self._on_stale)
        bridge = getattr(ctx, "bridge", None)
        if bridge is not None:
            connect_for(self, bridge.sig_action_created, lambda _e: self._stale_timer.start())
            connect_for(self, bridge.sig_runs_bulk_changed, lambda _e: self._stale_timer.start())

    # -- public --------------------------------------------------------------------------------

    @property
    def filter(self) -> LedgerFilter:
        return self._flt

    def activate(self) -> None:
        """Shown: read the filter choices once and the first page (or refresh a stale list)."""
        if not self._choices_read and self._ctx.workspace is not None:
            self._choices_read = True
            self._ctx.spawn(self._read_choices(), what="read the ledger's filters")
        if self.model.generation == 0 or self._stale:
            self.reload()

    def show_run(self, run_id: str) -> None:
        """Only this run's actions (its details' "View in Activity Ledger"): the other filters
        are cleared, the order is kept."""
        self.set_filter(LedgerFilter(run_id=run_id))

    def set_filter(self, flt: LedgerFilter) -> None:
        self._flt = flt
        self._show_filter(flt)
        self.reload()

    def reload(self) -> None:
        self._stale = False
        self.refresh_button.hide()
        self._stack.setCurrentWidget(self.table)
        self.model.set_filter(self._flt)

    def open_export(self) -> ExportDialog | None:
        if self._ctx.workspace is None:
            return None
        if self.export_dialog is not None and self.export_dialog.isVisible():
            self.export_dialog.raise_()
            return self.export_dialog
        flt, sort = self._flt, self.model.sort_order
        subject = ExportSubject(
            noun="actions",
            title="Export the actions matching the ledger's filters, with inputs and outputs",
            formats=LEDGER_FORMATS,
            format_labels=LEDGER_FORMAT_LABELS,
            count=lambda store: action_ledger.count(store.reader(), flt),
            export=lambda store, fmt, path, progress, cancelled: export_actions(
                store, flt, fmt, path, sort=sort, progress=progress, cancelled=cancelled
            ),
            stem="ato-actions",
        )
        dialog = ExportDialog(self._ctx, RunFilter(), self.describe(), self, subject=subject)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda *_a: setattr(self, "export_dialog", None))
        self.export_dialog = dialog
        dialog.open()
        self.sig_export_opened.emit(dialog)
        return dialog

    def describe(self) -> str:
        """One line of the filters for the export dialog."""
        flt = self._flt
        parts = []
        if flt.run_id:
            parts.append(f"run {short_id(flt.run_id)}")
        for label, value in (
            ("action", flt.name),
            ("kind", flt.kind),
            ("outcome", flt.outcome),
            ("model", flt.model),
        ):
            if value:
                parts.append(f"{label} {value}")
        if flt.agent_id:
            parts.append(f"agent {self.agent_combo.currentText()}")
        if flt.min_cost_usd is not None:
            parts.append(f"≥ ${flt.min_cost_usd:g}")
        if flt.min_duration_ms is not None:
            parts.append(f"≥ {human_duration(int(flt.min_duration_ms * 1_000_000))}")
        parts.append(self.window_combo.currentText())
        return " · ".join(parts)

    # -- internals -----------------------------------------------------------------------------

    def _combo(self, name: str, any_label: str, *, editable: bool = False) -> QComboBox:
        combo = QComboBox()
        combo.setObjectName(name)
        combo.setEditable(editable)
        combo.addItem(any_label, None)
        combo.setMinimumContentsLength(8)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        return combo

    async def _read_choices(self) -> None:
        try:
            choices = await self.work.fetch(read_choices, self._ctx.workspace.store)
        except Exception:
            log.exception("could not read the ledger's filter choices")
            return
        self._updating = True
        try:
            for combo, items in (
                (self.name_combo, [(n, n) for n in choices["names"]]),
                (self.kind_combo, [(k, k) for k in choices["kinds"]]),
                (self.model_combo, [(m, m) for m in choices["models"]]),
                (self.agent_combo, [(name, agent_id) for agent_id, name in choices["agents"]]),
            ):
                for label, value in items:
                    if combo.findData(value) < 0:
                        combo.addItem(label, value)
        finally:
            self._updating = False
        self._show_filter(self._flt)

    def _select(self, combo: QComboBox, value: Any) -> None:
        index = combo.findData(value)
        if index < 0 and value is not None:
            combo.addItem(str(value), value)
            index = combo.count() - 1
        combo.setCurrentIndex(max(index, 0))

    def _show_filter(self, flt: LedgerFilter) -> None:
        self._updating = True
        try:
            self._select(self.name_combo, flt.name)
            self._select(self.kind_combo, flt.kind)
            self._select(self.outcome_combo, flt.outcome)
            self._select(self.agent_combo, flt.agent_id)
            self._select(self.model_combo, flt.model)
            cost = f"{flt.min_cost_usd:g}" if flt.min_cost_usd is not None else ""
            if as_money(self.cost_edit.text()) != flt.min_cost_usd:
                self.cost_edit.setText(cost)
            if flt.min_duration_ms is None:
                self.duration_edit.clear()
            if flt.since_ms is None:
                self.window_combo.setCurrentIndex(self.window_combo.findData("all"))
            self.run_chip.setVisible(bool(flt.run_id))
            self.run_chip.setText(f"Run {short_id(flt.run_id or '')}  ✕")
            self.reset_button.setVisible(flt.is_narrowed)
            self.error_label.clear()
        finally:
            self._updating = False

    def _collect(self) -> LedgerFilter | None:
        """The filter the widgets say, or None (and the reason shown) when one cannot be read."""
        name = self.name_combo.currentText().strip()
        if name == self.name_combo.itemText(0):
            name = ""
        cost_text = self.cost_edit.text().strip()
        cost = as_money(cost_text) if cost_text else None
        if cost_text and (cost is None or cost < 0):
            self.error_label.setText(f"{cost_text!r} is not an amount in USD")
            return None
        duration_text = self.duration_edit.text().strip()
        try:
            duration = float(parse_duration_ms(duration_text)) if duration_text else None
        except DurationError:
            self.error_label.setText(f"{duration_text!r} is not a duration (500ms, 2s, 1m)")
            return None
        self.error_label.clear()
        window = str(self.window_combo.currentData() or "all")
        return LedgerFilter(
            name=name or None,
            kind=self.kind_combo.currentData(),
            outcome=self.outcome_combo.currentData(),
            agent_id=self.agent_combo.currentData(),
            model=self.model_combo.currentData(),
            min_cost_usd=cost if cost else None,
            min_duration_ms=duration if duration else None,
            since_ms=window_start_ms(window, now_ms()),
            run_id=self._flt.run_id,
        )

    def _emit(self) -> None:
        if self._updating:
            return
        flt = self._collect()
        if flt is not None and flt != self._flt:
            self._flt = flt
            self.run_chip.setVisible(bool(flt.run_id))
            self.reset_button.setVisible(flt.is_narrowed)
            self.reload()

    def _show_sort(self, sort: LedgerSort) -> None:
        header = self.table.horizontalHeader()
        column = next(col for col, key in SORT_COLUMNS.items() if key == sort.key)
        order = Qt.SortOrder.DescendingOrder if sort.descending else Qt.SortOrder.AscendingOrder
        header.blockSignals(True)
        header.setSortIndicator(column, order)
        header.blockSignals(False)

    def _on_sort_indicator(self, column: int, order: Qt.SortOrder) -> None:
        if column not in SORT_COLUMNS:
            self._show_sort(self.model.sort_order)  # only time, duration and cost sort
            return
        self.model.sort(column, order)
        self.table.scrollToTop()

    def _open_action(self, index: QModelIndex) -> None:
        entry = self.model.entry_at(index.row())
        if entry is not None:
            self.sig_action_opened.emit(entry.run_id, entry.seq)
            self._ctx.navigate("runs", {"run_id": entry.run_id, "seq": entry.seq})

    def _on_page_loaded(self, rows: int, first: bool) -> None:
        if rows:
            self._stack.setCurrentWidget(self.table)
        elif first:
            self.empty.setText(
                "No action matches these filters. Widen them, or clear them with Reset."
                if self._flt.is_narrowed
                else "No actions yet: every dispatch's model calls and tool calls land here."
            )
            self._stack.setCurrentWidget(self.empty)
        if first:
            self._count()

    def _on_load_failed(self, message: str) -> None:
        self.empty.setText(f"The Activity Ledger could not be read: {message}")
        self._stack.setCurrentWidget(self.empty)

    def _count(self) -> None:
        if self._ctx.workspace is None:
            return
        self._ctx.spawn(self._read_count(self._flt), what="count actions")

    async def _read_count(self, flt: LedgerFilter) -> None:
        # The newest count only (self.work.read): an older one still under way is dropped.
        store = self._ctx.workspace.store
        total = await self.work.read(lambda: action_ledger.count(store.reader(), flt))
        capped = total >= action_ledger.COUNT_CAP
        plus = "+" if capped else ""
        self.count_label.setText(f"{total:,}{plus} action{'s' if total != 1 else ''}")
        self.sig_count_changed.emit(total, capped)

    def _on_stale(self) -> None:
        if not self.isVisible():
            self._stale = True  # read again when shown
            return
        at_top = self.table.verticalScrollBar().value() == 0
        if at_top and self.model.sort_order == DEFAULT_LEDGER_SORT:
            self.reload()  # the newest actions come in on top, where the user is looking
        else:
            self._stale = True
            self.refresh_button.show()
