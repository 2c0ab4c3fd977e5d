"""Insights -> Pipelines: one row per multi-stage dispatch (sequential groups, routed groups,
skill flows, hook chains into them) with its status, stages, total duration and cost; the
selected one's per-stage flow below (StageFlow), each stage one click from its run.

Reads run on reader threads (ctx.read): the list newest first, a page at a time (keyset, more
as the list is scrolled to its end), and one pipeline run with its stages' files touched. New
runs and automation changes reload what is loaded, coalesced, and only while the view shows
(else on its next show).
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QItemSelection, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.store import automations as automation_store
from ato_desktop.store.automations import PipelineSummary
from ato_desktop.ui.chat.log_tasks import Generations, log_closed
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.insights.pipelines_flow import StageFlow
from ato_desktop.ui.insights.pipelines_models import (
    COL_COST,
    COL_DURATION,
    COL_NAME,
    COL_STAGES,
    COL_STARTED,
    COL_STATUS,
    COL_TRIGGER,
    PipelineRunsModel,
)
from ato_desktop.ui.runs.history_view import EmptyState
from ato_desktop.ui.theme import current_theme
from ato_desktop.ui.widgets.coalesce import fire_soon
from ato_desktop.ui.widgets.status_badge import NoFocusDelegate, PulseClock, StatusBadgeDelegate

log = logging.getLogger(__name__)

STATE_LOADING = "loading"
STATE_EMPTY = "empty"
STATE_ERROR = "error"
STATE_ROWS = "rows"

PAGE_SIZE = 50
REFRESH_MS = 800  # run events closer than this reload once


class PipelinesView(QWidget):
    """Pipeline runs above, the selected one's stage flow below."""

    sig_state_changed = Signal(str)
    sig_rows_loaded = Signal(int)  # how many rows the table holds
    sig_flow_shown = Signal(object)  # PipelineSummary with its stages

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PipelinesView")
        self.ctx = ctx
        self.state = ""
        self.has_more = False
        self.last_error = ""
        self._loaded = False
        self._stale = False
        self._paging = False
        self._selected: str | None = None
        self._loads = Generations()
        self._flows = Generations()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self._body = QStackedWidget()
        self.loading = QLabel("Reading pipeline runs…")
        self.loading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.loading.setProperty("muted", True)
        self.empty = EmptyState()
        self.empty.setObjectName("PipelinesEmpty")
        self.empty.primary.clicked.connect(self._empty_primary)
        self.empty.secondary.hide()
        self._body.addWidget(self.loading)
        self._body.addWidget(self.empty)
        self._body.addWidget(self._build_content())
        layout.addWidget(self._body, 1)

        self._timer = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._timer.timeout.connect(self._refresh_if_visible)
        bridge = ctx.bridge
        if bridge is not None:
            for signal in (
                bridge.sig_run_created,
                bridge.sig_run_ended,
                bridge.sig_runs_bulk_changed,
                bridge.sig_automation_changed,
            ):
                signal.connect(self._schedule)
        self._apply_styles()
        if ctx.theme is not None:
            ctx.theme.sig_theme_changed.connect(lambda _t: self._apply_styles())
        self._set_state(STATE_LOADING)

    def _build_content(self) -> QWidget:
        self.content = QSplitter(Qt.Orientation.Vertical)
        self.content.setObjectName("PipelinesContent")
        self.content.setChildrenCollapsible(False)
        self.model = PipelineRunsModel(self)
        self.table = QTableView()
        self.table.setObjectName("PipelinesTable")
        self.table.setModel(self.model)
        self.clock = PulseClock(self)
        self.clock.sig_ticked.connect(self._pulse)
        self.table.setItemDelegate(NoFocusDelegate(self.table))
        self.table.setItemDelegateForColumn(COL_STATUS, StatusBadgeDelegate(self.table, self.clock))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(30)
        self.table.setAccessibleName("Pipeline runs")
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL_STAGES, QHeaderView.ResizeMode.Stretch)
        for col, width in (
            (COL_STATUS, 124),
            (COL_NAME, 170),
            (COL_TRIGGER, 80),
            (COL_DURATION, 90),
            (COL_COST, 110),
            (COL_STARTED, 140),
        ):
            header.resizeSection(col, width)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self.table.verticalScrollBar().valueChanged.connect(self._maybe_load_more)
        self.table.verticalScrollBar().rangeChanged.connect(
            lambda *_a: self._maybe_load_more(self.table.verticalScrollBar().value())
        )
        self.content.addWidget(self.table)
        self.flow = StageFlow()
        self.flow.sig_open_run.connect(self.open_run)
        self.content.addWidget(self.flow)
        self.content.setStretchFactor(0, 2)
        self.content.setStretchFactor(1, 3)
        self.content.setSizes([260, 360])
        return self.content

    def _apply_styles(self) -> None:
        t = current_theme()
        self.setStyleSheet(
            f"""
            QFrame#StageFlow {{ background: {t.surface}; border: 1px solid {t.border};
                border-radius: 8px; }}
            QWidget#StageStrip {{ background: transparent; }}
            QFrame#StageCard {{ background: {t.window}; border: 1px solid {t.border};
                border-radius: 8px; }}
            QFrame#StageCard:hover {{ border-color: {t.accent}; }}
            QFrame#StageCard[status="not_run"] {{ background: transparent;
                border: 1px dashed {t.border}; }}
            QFrame#StageCard:focus {{ border: 2px solid {t.accent}; }}
            QFrame#StageCard[status="failed"] {{ border-left: 3px solid {t.failed}; }}
            QFrame#StageCard[status="completed"] {{ border-left: 3px solid {t.completed}; }}
            QFrame#StageCard[status="running"] {{ border-left: 3px solid {t.running}; }}
            QLabel#StageTitle {{ font-weight: 600; }}
            QLabel#StageError {{ color: {t.failed}; }}
            QLabel#StageFlowTitle {{ font-size: 14px; }}
            """
        )

    # -- state ---------------------------------------------------------------------------------

    def _set_state(self, state: str) -> None:
        widget = {
            STATE_LOADING: self.loading,
            STATE_EMPTY: self.empty,
            STATE_ERROR: self.empty,
            STATE_ROWS: self.content,
        }[state]
        self._body.setCurrentWidget(widget)
        if state != self.state:
            self.state = state
            self.sig_state_changed.emit(state)

    def _show_empty(self) -> None:
        e = self.empty
        e.kind = STATE_EMPTY
        e.title.setText("No pipeline runs yet")
        e.text.setText(
            "A pipeline runs agents one after another, each stage's output handed to the next; "
            "a routed group picks one agent for each input; a skill flow runs the "
            "<code>## Step</code> sections of a Markdown file. Every run of one shows here with "
            "its stages' timing, cost and files touched.<br><br>"
            "Create one from a terminal:<br>"
            "<code>ato-desktop groups add article --stage research=researcher "
            "--stage draft=writer --stage edit=editor</code><br>"
            "<code>ato-desktop skills add release RELEASE.md --agent writer</code><br>"
            'then <code>ato-desktop groups run article "otters"</code>, or give it a schedule '
            "or a hook. The Automations page shows every definition."
        )
        e.primary.setText("Open Automations")
        self._set_state(STATE_EMPTY)

    def _show_error(self, message: str) -> None:
        e = self.empty
        e.kind = STATE_ERROR
        e.title.setText("Could not read pipeline runs")
        e.text.setText(message)
        e.primary.setText("Try again")
        self._set_state(STATE_ERROR)

    def _empty_primary(self) -> None:
        if self.empty.kind == STATE_ERROR:
            self.refresh()
        else:
            self.ctx.navigate("automations", None)

    # -- loading -------------------------------------------------------------------------------

    def ensure_loaded(self) -> None:
        if not self._loaded:
            self.refresh()

    def open_target(self, target: dict[str, Any]) -> None:
        """{"run_id": id}: select that pipeline run (a stage's id selects its pipeline)."""
        run_id = target.get("run_id")
        if run_id:
            self._selected = str(run_id)
            self.show_flow(str(run_id))
        self.ensure_loaded()

    def refresh(self) -> None:
        """Read the first pages again (as many rows as are loaded), keeping the selection."""
        if self.ctx.workspace is None:
            return
        self._loaded = True
        limit = min(automation_store.MAX_LIMIT, max(PAGE_SIZE, self.model.rowCount()))
        self._loads.spawn_read(
            self.ctx,
            lambda store: automation_store.list_pipeline_runs(store, limit=limit, with_stages=True),
            lambda rows: self._apply_rows(rows, limit),
            what="read pipeline runs",
        )

    def _apply_rows(self, rows: list[PipelineSummary], limit: int) -> None:
        self.has_more = len(rows) >= limit
        if not rows:
            self.model.set_rows([])
            self._show_empty()
            self.sig_rows_loaded.emit(0)
            return
        selected = self._selected
        self.model.set_rows(rows)
        self._set_state(STATE_ROWS)
        self.clock.set_active(any(r.status == "running" for r in rows))
        row = self.model.row_of(selected) if selected else -1
        if row < 0 and selected is None:
            row = 0
        if row >= 0:
            self.table.selectRow(row)
        self.sig_rows_loaded.emit(self.model.rowCount())
        if selected:
            self.show_flow(selected)  # its figures may have moved on

    def _maybe_load_more(self, value: int) -> None:
        bar = self.table.verticalScrollBar()
        if self._paging or not self.has_more or value < bar.maximum() - 2:
            return
        self.load_more()

    def load_more(self) -> None:
        """The next page after the last row."""
        rows = self.model.rows
        if not rows or self._paging or self.ctx.workspace is None:
            return
        last = rows[-1]
        before = (last.started_at, last.run_id)
        self._paging = True

        async def read() -> None:
            try:
                page = await self.ctx.read(
                    automation_store.list_pipeline_runs,
                    self.ctx.opened_workspace.store,
                    before=before,
                    limit=PAGE_SIZE,
                    with_stages=True,
                )
            finally:
                self._paging = False
            self.has_more = len(page) >= PAGE_SIZE
            self.model.append_rows(page)
            self.sig_rows_loaded.emit(self.model.rowCount())

        self.ctx.spawn(read(), what="read more pipeline runs")

    def _on_selection(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        indexes = selected.indexes()
        if not indexes:
            return
        summary = self.model.summary(indexes[0].row())
        if summary.run_id != self._selected or self.flow.summary is None:
            self._selected = summary.run_id
            self.show_flow(summary.run_id)

    def show_flow(self, run_id: str) -> None:
        """Read one pipeline run with its stages and files touched, and show its flow."""
        if self.ctx.workspace is None:
            return
        generation = self._flows.next()

        async def read() -> None:
            try:
                summary = await self.ctx.read(
                    automation_store.pipeline_run, self.ctx.opened_workspace.store, run_id
                )
            except Exception as exc:  # NotFoundError: a removed run, or not a pipeline's
                if self._flows.is_latest(generation) and not log_closed(self.ctx):
                    self.last_error = str(exc)
                    self.flow.show_error(str(exc))
                return
            if not self._flows.is_latest(generation):
                return
            self._selected = summary.run_id
            self.flow.show_summary(summary)
            self.sig_flow_shown.emit(summary)

        self.ctx.spawn(read(), what="read a pipeline run")

    def open_run(self, run_id: str) -> None:
        self.ctx.navigate("runs", {"run_id": run_id})

    # -- live updates --------------------------------------------------------------------------

    def _schedule(self, *_args: object) -> None:
        if self._loaded and not self._timer.isActive():
            self._timer.start()

    def _refresh_if_visible(self) -> None:
        if log_closed(self.ctx):
            return
        if self.isVisible():
            self.refresh()
        else:
            self._stale = True

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.clock.set_active(any(r.status == "running" for r in self.model.rows))
        if self._stale:
            self._stale = False
            fire_soon(self._timer)
        else:  # whatever way the tab came up (a click, the palette, a link): load on first show
            self.ensure_loaded()

    def hideEvent(self, event: Any) -> None:
        super().hideEvent(event)
        self.clock.set_active(False)

    def _pulse(self) -> None:
        top = self.model.index(0, COL_STATUS)
        bottom = self.model.index(self.model.rowCount() - 1, COL_STATUS)
        self.model.dataChanged.emit(top, bottom)
