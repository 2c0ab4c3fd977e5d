"""The History view: filters, critical intercepts and the run list (or an empty state that says
what to do next). Clicking a column header sorts the list by it (again: the other direction);
the order is remembered. Simulation replays are left out unless the toggle shows them."""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QGuiApplication, QMouseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStackedWidget,
    QStyledItemDelegate,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.run_sort import DEFAULT_SORT, SORT_KEYS, RunSort
from ato_desktop.ui.runs.filters_bar import FiltersBar, RunsFilterState
from ato_desktop.ui.runs.intercepts import InterceptsPanel
from ato_desktop.ui.runs.runs_model import (
    AGENT_ID_ROLE,
    COL_ACTIONS,
    COL_AGENT,
    COL_COST,
    COL_DURATION,
    COL_ENDED,
    COL_RUN,
    COL_STARTED,
    COL_STATUS,
    COL_SUCCESS,
    RUN_ID_ROLE,
    SORT_COLUMNS,
    RunsTableModel,
    column_of_sort,
)
from ato_desktop.ui.widgets.status_badge import (
    CostDelegate,
    PulseClock,
    StatusBadgeDelegate,
)

EMPTY_NO_RUNS = "no_runs"
EMPTY_NO_MATCH = "no_match"
EMPTY_ERROR = "error"
_SETTINGS_SORT = "runs/sort"  # "cost desc"


def sort_from_text(text: str) -> RunSort:
    """The remembered sort ("cost desc"); the default for anything else."""
    key, _, direction = str(text or "").partition(" ")
    if key not in SORT_KEYS:
        return DEFAULT_SORT
    return RunSort(key, direction != "asc")


def sort_to_text(sort: RunSort) -> str:
    return f"{sort.key} {'desc' if sort.descending else 'asc'}"


# More running rows in sight than this, and their badges stop pulsing.
PULSE_MAX_ROWS = 8


class RunsTable(QTableView):
    """The run list: click a run to open it, click its agent to open the agent."""

    sig_run_clicked = Signal(str)
    sig_agent_clicked = Signal(str)

    def __init__(self, model: RunsTableModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RunsTable")
        self.setModel(model)
        self.clock = PulseClock(self)
        self.clock.sig_ticked.connect(self._on_tick)
        self._ticks = 0
        # Qt's own delegate (no call into Python per cell); the current cell's focus frame is
        # turned off by the style sheet (`outline: none`), as NoFocusDelegate does elsewhere.
        self.setItemDelegate(QStyledItemDelegate(self))
        self.setItemDelegateForColumn(COL_STATUS, StatusBadgeDelegate(self, self.clock))
        self.setItemDelegateForColumn(COL_COST, CostDelegate(self))
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        # Several runs can be selected (Ctrl/Shift+click, Shift+arrows) for batch replay.
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setMouseTracking(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(32)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        # A click sorts by that column (again: the other way); Qt flips the indicator and the
        # model reads it. The Run column does not sort: the indicator goes back.
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        self.show_sort(model.sort_order)
        header.sortIndicatorChanged.connect(self._on_sort_indicator)
        model.sig_sort_changed.connect(self.show_sort)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL_AGENT, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(56)
        for col, width in (
            (COL_RUN, 92),
            (COL_STATUS, 124),
            (COL_DURATION, 84),
            (COL_ACTIONS, 70),
            (COL_COST, 128),  # "$0.000039 est." fits
            (COL_SUCCESS, 72),
            (COL_STARTED, 138),
            (COL_ENDED, 138),
        ):
            header.resizeSection(col, width)
        self.clicked.connect(self._on_clicked)
        self.activated.connect(self._on_activated)
        # Rows scrolled to are asked for at once, before the paint that would ask for them.
        self.verticalScrollBar().valueChanged.connect(lambda _v: self.ask_for_shown_rows())
        model.rowsInserted.connect(lambda *_a: self.update_clock())
        model.modelReset.connect(self.update_clock)
        model.dataChanged.connect(lambda *_a: self.update_clock())

    def runs_model(self) -> RunsTableModel:
        model = self.model()
        assert isinstance(model, RunsTableModel)
        return model

    def moveCursor(
        self, cursorAction: QAbstractItemView.CursorAction, modifiers: Qt.KeyboardModifier
    ) -> QModelIndex:
        # Rows are selected whole, so Home and End (with or without Ctrl) go to the first and
        # last run, not to the first and last column; and at once, even with no current row
        # yet (Qt's first move would only pick the top row, e.g. right after a sort).
        if cursorAction in (
            QAbstractItemView.CursorAction.MoveHome,
            QAbstractItemView.CursorAction.MoveEnd,
        ):
            rows = self.model().rowCount()
            if rows:
                home = cursorAction == QAbstractItemView.CursorAction.MoveHome
                column = max(self.currentIndex().column(), 0)
                return self.model().index(0 if home else rows - 1, column)
        return super().moveCursor(cursorAction, modifiers)

    def ask_for_shown_rows(self) -> None:
        """Have the model read the rows in sight (those it has not yet)."""
        top = self.rowAt(0)
        if top < 0:
            return
        bottom = self.rowAt(self.viewport().height() - 1)
        self.runs_model().ensure_rows(top, bottom if bottom >= 0 else top + 40, now=True)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self.ask_for_shown_rows()

    # -- sorting -------------------------------------------------------------------------------

    def show_sort(self, sort: RunSort) -> None:
        """Put the header's indicator on sort's column and direction."""
        header = self.horizontalHeader()
        order = Qt.SortOrder.DescendingOrder if sort.descending else Qt.SortOrder.AscendingOrder
        column = column_of_sort(sort.key)
        if header.sortIndicatorSection() != column or header.sortIndicatorOrder() != order:
            header.blockSignals(True)
            header.setSortIndicator(column, order)
            header.blockSignals(False)
            header.viewport().update()

    def _on_sort_indicator(self, column: int, order: Qt.SortOrder) -> None:
        model = self.runs_model()
        if column not in SORT_COLUMNS:
            self.show_sort(model.sort_order)
            return
        model.sort(column, order)
        self.scrollToTop()

    # -- clicks --------------------------------------------------------------------------------

    def _on_clicked(self, index: QModelIndex) -> None:
        modifiers = QGuiApplication.keyboardModifiers()
        if modifiers & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier):
            return  # extending the selection, not opening the run
        if index.column() == COL_AGENT and index.data(AGENT_ID_ROLE):
            self.sig_agent_clicked.emit(str(index.data(AGENT_ID_ROLE)))
            return
        self._on_activated(index)

    def _on_activated(self, index: QModelIndex) -> None:
        run_id = index.data(RUN_ID_ROLE)
        if run_id:
            self.sig_run_clicked.emit(str(run_id))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        # Every row opens its run on click: say so with the pointing hand. (Here, not in an
        # event filter on the viewport: that would be a call into Python for each of its
        # events, paints included, each waiting for the GIL while answers stream.)
        super().mouseMoveEvent(event)
        if self.indexAt(event.position().toPoint()).isValid():
            self.viewport().setCursor(Qt.CursorShape.PointingHandCursor)
        else:
            self.viewport().unsetCursor()

    # -- the running pulse ---------------------------------------------------------------------

    def update_clock(self) -> None:
        self.clock.set_active(self.isVisible() and self.runs_model().running_count() > 0)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.update_clock()

    def _running_in_sight(self) -> int:
        top = self.rowAt(0)
        if top < 0:
            return 0
        bottom = self.rowAt(self.viewport().height() - 1)
        model = self.runs_model()
        last = bottom if bottom >= 0 else model.rowCount() - 1
        count = 0
        for row in range(top, last + 1):
            run = model.run_at(row)
            count += run is not None and run.status == "running"
        return count

    def hideEvent(self, event: Any) -> None:
        super().hideEvent(event)
        self.clock.set_active(False)

    def _on_tick(self) -> None:
        viewport = self.viewport()
        x = self.columnViewportPosition(COL_STATUS)
        # The pulse draws the eye to a run in flight; with many in sight it stops (the badges
        # still say Running): each pulse repaints the column, a call into Python per badge.
        steady = self._running_in_sight() > PULSE_MAX_ROWS
        if not (steady and self.clock.steady):
            self.clock.steady = steady
            viewport.update(x, 0, self.columnWidth(COL_STATUS), viewport.height())
        self._ticks += 1
        if self._ticks * PulseClock.TICK_MS >= 1000:  # once a second: the elapsed times
            self._ticks = 0
            x = self.columnViewportPosition(COL_DURATION)
            viewport.update(x, 0, self.columnWidth(COL_DURATION), viewport.height())


class EmptyState(QWidget):
    """A title, a line of advice and up to two buttons."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RunsEmpty")
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        self.title = QLabel("")
        self.title.setObjectName("EmptyTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text = QLabel("")
        self.text.setObjectName("EmptyText")
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setFixedWidth(520)
        layout.addWidget(self.title)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.text)
        row.addStretch(1)
        layout.addLayout(row)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.primary = QPushButton("")
        self.primary.setObjectName("EmptyPrimary")
        self.primary.setProperty("primary", True)
        self.secondary = QPushButton("")
        self.secondary.setObjectName("EmptySecondary")
        buttons.addWidget(self.secondary)
        buttons.addWidget(self.primary)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        layout.addStretch(2)
        self.kind = ""


class HistoryView(QWidget):
    """Filters, intercepts, and the run list or its empty state."""

    sig_empty_action = Signal(str)  # "reset" | "chat" | "welcome"

    def __init__(self, ctx: Any, model: RunsTableModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("HistoryView")
        self._ctx = ctx
        model.set_sort(sort_from_text(str(ctx.settings.value(_SETTINGS_SORT, ""))))
        model.sig_sort_changed.connect(
            lambda sort: ctx.settings.setValue(_SETTINGS_SORT, sort_to_text(sort))
        )
        # The page inserts the timeline under the filters.
        layout = self.column = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        self.filters = FiltersBar()
        layout.addWidget(self.filters)
        # The page puts it in its header, beside the count it changes.
        self.simulations_toggle = QCheckBox("Simulations")
        self.simulations_toggle.setObjectName("ShowSimulations")
        self.simulations_toggle.setToolTip(
            "Show simulation replays (answered from a recording at $0) in the list; "
            "they are hidden unless this is on"
        )
        self.simulations_toggle.toggled.connect(self._on_simulations_toggled)
        self.filters.sig_filters_changed.connect(self.show_filter_state)
        self.intercepts = InterceptsPanel(ctx)
        layout.addWidget(self.intercepts)
        self._stack = QStackedWidget()
        self.table = RunsTable(model)
        self._stack.addWidget(self.table)
        self.empty = EmptyState()
        self.empty.primary.clicked.connect(lambda: self._empty_clicked(primary=True))
        self.empty.secondary.clicked.connect(lambda: self._empty_clicked(primary=False))
        self._stack.addWidget(self.empty)
        layout.addWidget(self._stack, 1)

    def show_table(self) -> None:
        self._stack.setCurrentWidget(self.table)

    def show_filter_state(self, state: RunsFilterState) -> None:
        """Reflect the filter state outside the bar (the simulations toggle)."""
        self.simulations_toggle.blockSignals(True)
        self.simulations_toggle.setChecked(state.include_simulations)
        self.simulations_toggle.blockSignals(False)

    def _on_simulations_toggled(self, checked: bool) -> None:
        state = self.filters.state()
        if state.include_simulations != checked:
            self.filters.set_state(dataclasses.replace(state, include_simulations=checked))

    @property
    def showing_empty(self) -> str:
        """The empty state's kind when it is shown, else ''."""
        return self.empty.kind if self._stack.currentWidget() is self.empty else ""

    def show_empty(self, kind: str, detail: str = "") -> None:
        e = self.empty
        e.kind = kind
        if kind == EMPTY_NO_RUNS:
            e.title.setText("No runs yet")
            e.text.setText(
                "Every dispatch lands here: from Chat, or from the command line with "
                '<code>ato-desktop dispatch --agent NAME "…"</code>. To look around first, '
                "load the demo workspace from the Welcome page."
            )
            e.primary.setText("Open Chat")
            e.secondary.setText("Load the demo workspace…")
            e.secondary.show()
        elif kind == EMPTY_NO_MATCH:
            e.title.setText("No runs match these filters")
            e.text.setText(
                "Widen the filters: choose <b>All time</b>, clear the agent or the status "
                "chips, or lower the minimum cost."
            )
            e.primary.setText("Reset filters")
            e.secondary.hide()
        else:
            e.title.setText("The runs could not be read")
            e.text.setText(detail or "The execution log could not be read.")
            e.primary.setText("Try again")
            e.secondary.hide()
        self._stack.setCurrentWidget(e)

    def _empty_clicked(self, *, primary: bool) -> None:
        kind = self.empty.kind
        if kind == EMPTY_NO_RUNS:
            self.sig_empty_action.emit("chat" if primary else "welcome")
        elif kind == EMPTY_NO_MATCH:
            self.sig_empty_action.emit("reset")
        else:
            self.sig_empty_action.emit("retry")
