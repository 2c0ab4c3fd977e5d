"""The Runs page: History (filters, critical intercepts, the run list), Live (runs in flight) and
the Activity Ledger (every action across runs), and the details of one run (a tab host:
Telemetry, Simulation, Determinism).

Thin: reads go through `store.run_queries` off the UI thread; the page learns about changes
only from the event bridge's signals, which carry every process's writes (the change feed; no
polling of the log here).

Navigation targets (`activate(target)`):
- {"run_id": str, "seq": int (optional)}: open that run's details (and that action);
- {"agent_id": str, "agent_version_id": str | None, "statuses": [str, ...],
  "metadata": 'pipeline:"name"'}: set the filters (metadata: the metadata search text);
- {"tab": "live" | "history" | "ledger"}: show that view;
- {"tab": "ledger", "ledger_run_id": str}: the Activity Ledger, filtered to that run's actions.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.events import ActionCreated, ActionStarted, KillRequested, RunProgressed
from ato_desktop.store import run_queries
from ato_desktop.ui.bridge import connect_for
from ato_desktop.ui.charts.runs_timeline import RunsTimeline
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.pages.base import Page
from ato_desktop.ui.replay.launcher import ReplayLauncher
from ato_desktop.ui.runs.determinism_tab import DETERMINISM_TAB, DeterminismTab
from ato_desktop.ui.runs.export_dialog import ExportDialog
from ato_desktop.ui.runs.filters_bar import RunsFilterState, filters_stylesheet
from ato_desktop.ui.runs.formatting import now_ms, short_id
from ato_desktop.ui.runs.history_view import (
    EMPTY_ERROR,
    EMPTY_NO_MATCH,
    EMPTY_NO_RUNS,
    HistoryView,
)
from ato_desktop.ui.runs.intercepts import intercepts_stylesheet
from ato_desktop.ui.runs.ledger_view import LedgerView
from ato_desktop.ui.runs.live_view import LiveView
from ato_desktop.ui.runs.run_details import TELEMETRY_TAB, RunDetailsView, end_notice, ended_notice
from ato_desktop.ui.runs.runs_model import RunsTableModel
from ato_desktop.ui.runs.simulation_tab import SIMULATION_TAB, SimulationTab
from ato_desktop.ui.theme import current_theme
from ato_desktop.ui.widgets.coalesce import fire_soon, poke

log = logging.getLogger(__name__)

HISTORY = "history"
LIVE = "live"
LEDGER = "ledger"
DETAILS = "details"
_SETTINGS_VIEW = "runs/view"
_SETTINGS_INTERCEPTS = "runs/intercepts_collapsed"


class RunsPage(Page):
    """Runs: History and Live, and run details."""

    page_id = "runs"
    title = "Runs"

    sig_view_changed = Signal(str)  # "history" | "live" | "details"
    sig_run_opened = Signal(str)  # run id (details shown)
    sig_notice_shown = Signal(str)  # a run the user watched ended: what they were told
    sig_count_changed = Signal(int)  # runs matching the filters
    sig_export_opened = Signal(object)  # ExportDialog

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self._view = HISTORY
        self._return_to = HISTORY
        self._activated = False
        self._state = RunsFilterState.load(ctx.settings)
        self._total: int | None = None
        self._pending_rows: set[str] = set()
        self._after_first_page = False
        self.export_dialog: ExportDialog | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 12)
        layout.setSpacing(12)
        self.model = RunsTableModel(ctx, self)
        self.history = HistoryView(ctx, self.model)
        layout.addLayout(self._build_header())

        self.live = LiveView(ctx)
        self.ledger = LedgerView(ctx)
        self.details = RunDetailsView(ctx)
        self.simulation = SimulationTab.attach(ctx, self.details)
        self.determinism = DeterminismTab.attach(ctx, self.details)
        self.replay = ReplayLauncher(self)
        self._stack = QStackedWidget()
        for widget in (self.history, self.live, self.ledger, self.details):
            self._stack.addWidget(widget)
        layout.addWidget(self._stack, 1)

        self.filters = self.history.filters
        # Runs per time bucket above the list; a drag or click on it sets the time filter.
        self.timeline = RunsTimeline(ctx)
        self.history.column.insertWidget(1, self.timeline)
        self.timeline.sig_range_chosen.connect(self.filters.set_range)
        self.filters.set_state(self._state, emit=False)
        self.history.show_filter_state(self._state)
        self.filters.sig_filters_changed.connect(self._on_filters_changed)
        self.history.table.sig_run_clicked.connect(self.open_run)
        self.history.table.sig_agent_clicked.connect(self._open_agent)
        self.history.sig_empty_action.connect(self._on_empty_action)
        self.history.intercepts.sig_run_clicked.connect(self.open_run)
        self.history.intercepts.set_collapsed(
            str(ctx.settings.value(_SETTINGS_INTERCEPTS, "false")).lower() == "true"
        )
        self.history.intercepts.sig_collapsed_changed.connect(
            lambda collapsed: ctx.settings.setValue(_SETTINGS_INTERCEPTS, collapsed)
        )
        self.model.sig_page_loaded.connect(self._on_page_loaded)
        self.model.sig_load_failed.connect(self._on_load_failed)
        self.model.sig_rows_changed.connect(self._count_timer_start)
        self.model.sig_sort_changed.connect(self._on_sort_changed)
        self.live.sig_run_clicked.connect(self.open_run)
        self.live.sig_count_changed.connect(self._show_live_count)
        self.details.sig_back_requested.connect(self.go_back)
        self.details.sig_agent_requested.connect(self._open_agent)
        self.details.sig_run_ended.connect(self._on_watched_run_ended)
        self.details.sig_load_failed.connect(self._on_run_load_failed)
        self.details.sig_run_deleted.connect(self._on_open_run_deleted)

        self._count_timer = QTimer(self, singleShot=True, interval=400)
        self._count_timer.timeout.connect(self.refresh_count)
        self._rows_timer = QTimer(self, singleShot=True, interval=40)
        self._rows_timer.timeout.connect(self._refresh_pending_rows)
        # Runs that ended on Live, told in one notice a moment later (fifty ending together
        # are one read and one message, not fifty).
        self._ended_to_tell: list[str] = []
        self._tell_timer = QTimer(self, singleShot=True, interval=100)
        self._tell_timer.timeout.connect(self._tell_ended_runs)
        # Bulk changes (an import, a receiver writing in bursts, another process's demo) come
        # in series: one reload for each series, not one per write.
        self._bulk_timer = QTimer(self, singleShot=True, interval=BULK_RELOAD_MS)
        self._bulk_timer.timeout.connect(self._reload_after_bulk)
        self._last_bulk_reload = 0.0  # monotonic
        self._followers_timer = QTimer(self, singleShot=True, interval=40)
        self._followers_timer.timeout.connect(self.refresh_count)
        self._followers_timer.timeout.connect(self._refresh_intercepts)
        self._intercepts_stale = False
        # Intercepts are a query over the log: under a steady stream of runs (another process
        # writing 20 a second) they are read again at most every 1.5 s, not per run.
        self._intercepts_timer = QTimer(self, singleShot=True, interval=1500)
        self._intercepts_timer.timeout.connect(self._refresh_intercepts)
        self._details_clock = QTimer(self)  # display only: a running run's elapsed time
        self._details_clock.setInterval(1000)
        self._details_clock.timeout.connect(self.details.tick)

        self._apply_styles()
        if ctx.theme is not None:
            ctx.theme.sig_theme_changed.connect(self._on_theme_changed)
        self._connect_bridge()
        self._load_agents()

    # -- layout --------------------------------------------------------------------------------

    def _build_header(self) -> QHBoxLayout:
        header = QHBoxLayout()
        header.setSpacing(14)
        title = QLabel("Runs")
        title.setObjectName("PageTitle")
        header.addWidget(title)
        self._views = QButtonGroup(self)
        segment = QWidget()
        segment.setObjectName("ViewSegment")
        row = QHBoxLayout(segment)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        self.history_button = QPushButton("History")
        self.history_button.setObjectName("ViewHistory")
        self.live_button = QPushButton("Live")
        self.live_button.setObjectName("ViewLive")
        self.ledger_button = QPushButton("Ledger")
        self.ledger_button.setObjectName("ViewLedger")
        segments = (self.history_button, self.live_button, self.ledger_button)
        for i, button in enumerate(segments):
            button.setCheckable(True)
            button.setProperty("segment", "first" if i == 0 else "last" if i == 2 else "mid")
            self._views.addButton(button)
            row.addWidget(button)
        self.history_button.setChecked(True)
        self.history_button.setToolTip("Every run, filtered")
        self.live_button.setToolTip("Runs in flight, from any process, with a Kill button")
        self.ledger_button.setToolTip(
            "The Activity Ledger: every action across runs, filtered and sorted (L)"
        )
        self.history_button.clicked.connect(lambda: self.show_view(HISTORY))
        self.live_button.clicked.connect(lambda: self.show_view(LIVE))
        self.ledger_button.clicked.connect(lambda: self.show_view(LEDGER))
        header.addWidget(segment)
        header.addStretch(1)
        header.addWidget(self.history.simulations_toggle)
        self.count_label = QLabel("")
        self.count_label.setObjectName("RunsCount")
        header.addWidget(self.count_label)
        self.export_button = QPushButton("Export…")
        self.export_button.setObjectName("ExportRuns")
        self.export_button.setToolTip("Export the runs matching the filters (Ctrl+E)")
        self.export_button.clicked.connect(self.open_export)
        header.addWidget(self.export_button)
        return header

    def _apply_styles(self) -> None:
        t = current_theme()
        self.setStyleSheet(
            filters_stylesheet()
            + intercepts_stylesheet()
            + f"""
            QWidget#ViewSegment QPushButton {{ border-radius: 0px; padding: 5px 16px;
                min-height: 18px; min-width: 52px; color: {t.text_muted}; margin-left: -1px; }}
            QWidget#ViewSegment QPushButton[segment="first"] {{ border-top-left-radius: 7px;
                border-bottom-left-radius: 7px; margin-left: 0px; }}
            QWidget#ViewSegment QPushButton[segment="last"] {{ border-top-right-radius: 7px;
                border-bottom-right-radius: 7px; }}
            QWidget#ViewSegment QPushButton:checked {{ background: {t.surface_alt};
                color: {t.text}; border-color: {t.accent}; }}
            QLabel#RunsCount {{ color: {t.text_muted}; }}
            QLabel#EmptyTitle {{ font-size: 17px; font-weight: 600; padding-bottom: 4px; }}
            QLabel#EmptyText, QLabel#LiveEmpty, QLabel#ActionsEmpty {{ color: {t.text_muted}; }}
            QLabel#RunTitle {{ font-size: 18px; font-weight: 600; }}
            QToolButton#BackToRuns {{ color: {t.accent}; font-weight: 600; padding: 4px 6px; }}
            QPushButton#RunAgentLink {{ border: none; color: {t.accent}; font-weight: 600;
                padding: 2px 4px; }}
            QPushButton#RunAgentLink:hover {{ text-decoration: underline; }}
            QFrame#RunStats {{ background: {t.surface}; border: 1px solid {t.border};
                border-radius: 8px; }}
            QLabel#StatCaption {{ color: {t.text_muted}; font-size: 11px; }}
            QLabel[stat="true"] {{ font-size: 14px; font-weight: 600; }}
            QFrame#RunBanner {{ border-radius: 8px; border: 1px solid {t.border};
                background: {t.surface_alt}; }}
            QFrame#RunBanner[kind="completed"] {{ border-left: 3px solid {t.completed}; }}
            QFrame#RunBanner[kind="failed"] {{ border-left: 3px solid {t.failed}; }}
            QFrame#RunBanner[kind="neutral"] {{ border-left: 3px solid {t.neutral}; }}
            QProgressBar#LiveProgress {{ border: none; background: {t.surface_alt}; }}
            QProgressBar#LiveProgress::chunk {{ background: {t.running}; }}
            QFrame#OperationInspector {{ background: {t.surface}; border: 1px solid {t.border};
                border-radius: 8px; }}
            QLabel#InspectorTitle {{ font-size: 14px; font-weight: 600; }}
            QLabel#InspectorOutcome {{ border-radius: 8px; padding: 1px 8px; font-weight: 600;
                background: {t.surface_alt}; color: {t.neutral}; }}
            QLabel#InspectorOutcome[outcome="success"] {{ color: {t.completed}; }}
            QLabel#InspectorOutcome[outcome="error"] {{ color: {t.failed}; }}
            QLabel#InspectorOutcome[outcome="blocked"] {{ color: {t.warning};
                background: transparent; border: 1px solid {t.warning}; }}
            QFrame#InspectorTool, QFrame#InspectorFiles, QFrame#InspectorCompliance {{
                background: {t.surface_alt}; border: 1px solid {t.border}; border-radius: 6px; }}
            QToolButton#ComplianceToggle {{ border: none; font-weight: 600; padding: 2px 0px; }}
            QLabel#InspectorFilesTitle {{ color: {t.text_muted}; font-weight: 600; }}
            QLabel#Inspector_approval[approval="approved"] {{ color: {t.completed}; }}
            QLabel#Inspector_approval[approval="denied"] {{ color: {t.failed}; }}
            QLabel#Inspector_approval[approval="requested"] {{ color: {t.warning}; }}
            QFrame#ApprovalBanner {{ border-radius: 8px; border: 1px solid {t.warning};
                border-left: 4px solid {t.warning}; background: {t.surface}; }}
            QFrame#InspectorError {{ background: {t.surface_alt}; border: 1px solid {t.border};
                border-left: 3px solid {t.failed}; border-radius: 6px; }}
            QLabel#InspectorErrorTitle {{ color: {t.failed}; font-weight: 600; }}
            QLabel#JsonNotice {{ color: {t.text_muted}; }}
            QTabBar#InspectorTabs::tab {{ padding: 4px 12px; }}
            """
        )

    def _on_theme_changed(self, theme: Any) -> None:
        self._apply_styles()
        self.filters.apply_theme()
        self.details.telemetry.inspector.json.set_theme(theme)
        self.update()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self._update_clocks()
        self._refresh_stale_intercepts()

    def _refresh_stale_intercepts(self) -> None:
        if self._intercepts_stale and self.history.isVisible():
            fire_soon(self._intercepts_timer)

    def hideEvent(self, event: Any) -> None:
        super().hideEvent(event)
        self._update_clocks()

    def _navigate_here(self, target: dict[str, Any]) -> None:
        if self.ctx.workspace is not None:
            self.ctx.navigate(self.page_id, target)

    # -- activation ----------------------------------------------------------------------------

    def activate(self, target: dict[str, Any] | None = None) -> None:
        first = not self._activated
        self._activated = True
        target = dict(target or {})
        filters_changed = self._apply_target_filters(target)
        if first or filters_changed:
            self._reload(self.filters.state())
            self.live.reload()
        if target.get("run_id"):
            seq = target.get("seq")
            self.open_run(str(target["run_id"]), seq=int(seq) if seq is not None else None)
            return
        tab = target.get("tab")
        if tab == LEDGER and target.get("ledger_run_id"):
            self.ledger.show_run(str(target["ledger_run_id"]))
        if tab in (HISTORY, LIVE, LEDGER):
            self.show_view(str(tab))
        elif filters_changed:
            self.show_view(HISTORY)
        elif first:
            view = str(self.ctx.settings.value(_SETTINGS_VIEW, HISTORY))
            self.show_view(view if view in (HISTORY, LIVE, LEDGER) else HISTORY)

    def _apply_target_filters(self, target: dict[str, Any]) -> bool:
        keys = ("agent_id", "agent_version_id", "statuses", "metadata")
        if not any(key in target for key in keys):
            return False
        state = self.filters.state()
        if "agent_id" in target:
            agent_id = target.get("agent_id") or None
            state = dataclasses.replace(
                state,
                agent_id=agent_id,
                agent_name=self.filters.agent_name(agent_id) if agent_id else None,
                agent_version_id=None,
                agent_version_label=None,
            )
        if "agent_version_id" in target:
            state = dataclasses.replace(
                state,
                agent_version_id=target.get("agent_version_id") or None,
                agent_version_label=None,
            )
        if "statuses" in target:
            statuses = target.get("statuses") or ()
            state = dataclasses.replace(state, statuses=tuple(str(s) for s in statuses))
        if "metadata" in target:
            state = dataclasses.replace(state, metadata=str(target.get("metadata") or ""))
        self.filters.set_state(state, emit=False)
        self._save_filters(state)
        if state.agent_id and (not state.agent_name or state.agent_version_id):
            self.ctx.spawn(self._resolve_agent_labels(state), what="read the agent")
        return True

    async def _resolve_agent_labels(self, state: RunsFilterState) -> None:
        store = self.ctx.opened_workspace.store
        agent_id = state.agent_id
        if agent_id is None:
            return
        try:
            agent = await self.work.fetch(store.get_agent, agent_id)
            label = None
            if state.agent_version_id:
                versions = await self.work.fetch(store.agent_history, agent_id)
                label = next(
                    (f"v{v.version}" for v in versions if v.id == state.agent_version_id), None
                )
        except Exception:  # a deleted agent: keep showing its id
            return
        current = self.filters.state()
        if current.agent_id != state.agent_id:
            return
        updated = dataclasses.replace(
            current,
            agent_name=agent.name,
            agent_version_label=(label or "version") if current.agent_version_id else None,
        )
        self.filters.set_state(updated, emit=False)
        self._save_filters(updated)

    # -- views ---------------------------------------------------------------------------------

    @property
    def view(self) -> str:
        return self._view

    def show_view(self, view: str) -> None:
        widget = {
            HISTORY: self.history,
            LIVE: self.live,
            LEDGER: self.ledger,
            DETAILS: self.details,
        }[view]
        self._view = view
        self._stack.setCurrentWidget(widget)
        self._refresh_stale_intercepts()
        buttons = {HISTORY: self.history_button, LIVE: self.live_button, LEDGER: self.ledger_button}
        if view in buttons:
            self._return_to = view
            self.ctx.settings.setValue(_SETTINGS_VIEW, view)
            self._views.setExclusive(True)
            buttons[view].setChecked(True)
            if view == LEDGER:
                self.ledger.activate()
        else:
            self._views.setExclusive(False)
            for button in buttons.values():
                button.setChecked(False)
            self._views.setExclusive(True)
        self.count_label.setVisible(view == HISTORY)
        self.export_button.setVisible(view != LEDGER)  # the ledger exports its own actions
        self.history.simulations_toggle.setVisible(view == HISTORY)
        self._update_clocks()
        self.sig_view_changed.emit(view)

    def go_back(self) -> None:
        self.show_view(self._return_to)
        tables = {HISTORY: self.history.table, LIVE: self.live.table, LEDGER: self.ledger.table}
        tables.get(self._return_to, self.history.table).setFocus()

    def open_run(self, run_id: str, *, seq: int | None = None) -> None:
        """Show a run's details (Telemetry tab); seq opens that action in the inspector."""
        if self._view in (HISTORY, LIVE, LEDGER):
            self._return_to = self._view
        self.details.open_run(run_id, seq=seq)
        self.details.show_tab(TELEMETRY_TAB)
        self.show_view(DETAILS)
        self.sig_run_opened.emit(run_id)

    # -- what its commands run (ui/pages/page_commands.py) -----------------------------------------

    def show_ledger(self) -> None:
        """`l`: the Activity Ledger; from a run (open or selected), that run's actions."""
        run_id = self.details.run_id if self._view == DETAILS else self._selected_run_id()
        if run_id is not None:
            self.ledger.show_run(run_id)
        self.show_view(LEDGER)

    def show_telemetry(self) -> None:
        """`t`: the Telemetry tab of the open run, or open the run selected in the list."""
        if self._view == DETAILS:
            self.details.show_tab(TELEMETRY_TAB)
            return
        if self._view == HISTORY:
            index = self.history.table.currentIndex()
            run = self.model.run_at(index.row()) if index.isValid() else None
            if run is not None:
                self.open_run(run.id)
                return
        self.ctx.status("Select a run first: click it, or use the arrow keys, then press T.")

    def show_run_tab(self, key: str) -> bool:
        """`s` / `d`: that tab of the open run, or of the run selected in the list."""
        if self._view != DETAILS:
            run_id = self._selected_run_id()
            if run_id is None:
                self.ctx.status("Select a run first: click it, or use the arrow keys.")
                return False
            self.open_run(run_id)
        shown = self.details.show_tab(key)
        if shown and key == SIMULATION_TAB:
            self.simulation.focus_content()
        elif shown and key == DETERMINISM_TAB:
            self.determinism.focus_content()
        return shown

    def show_simulation(self) -> None:
        self.show_run_tab(SIMULATION_TAB)

    def show_determinism(self) -> None:
        self.show_run_tab(DETERMINISM_TAB)

    def show_live(self) -> None:
        self._navigate_here({"tab": LIVE})

    def compare_with(self) -> None:
        """Compare the open (or selected) run with another run of its agent."""
        run_id = self.details.run_id if self._view == DETAILS else None
        run_id = run_id or self._selected_run_id()
        if run_id:
            self.ctx.navigate("insights", {"tab": "compare", "run_a": run_id})
        else:
            self.ctx.status("Select a run first, then compare it with another.")

    def simulate_run(self) -> None:
        """`r`: simulate the open run (or the one selected in the list) and show the result."""
        run_id = self.details.run_id if self._view == DETAILS else self._selected_run_id()
        if run_id is None:
            self.ctx.status("Select a run first: click it, or use the arrow keys, then press R.")
            return
        if self._view != DETAILS:
            self.open_run(run_id)
        self.details.show_tab(SIMULATION_TAB)
        self.simulation.simulate_run(run_id)

    def _selected_run_id(self) -> str | None:
        if self._view != HISTORY:
            return None
        index = self.history.table.currentIndex()
        run = self.model.run_at(index.row()) if index.isValid() else None
        return run.id if run is not None else None

    def focus_search(self) -> None:
        """`/`: search actions in run details; the agent search in the run list."""
        if self._view == DETAILS:
            self.details.show_tab(TELEMETRY_TAB)
            self.details.telemetry.focus_search()
        else:
            if self._view == LIVE:
                self.show_view(HISTORY)
            self.filters.focus_search()

    def escape(self) -> None:
        """Esc: close the inspector; with no inspector open, back to the list."""
        if self._view != DETAILS:
            return
        if not self.details.telemetry.close_inspector():
            self.go_back()

    def export_from_anywhere(self) -> None:
        if not self.isVisible():
            self._navigate_here({})
        self.open_export()

    def open_export(self) -> ExportDialog | None:
        if self.ctx.workspace is None:
            return None
        if self._view == LEDGER:
            return self.ledger.open_export()
        if self.export_dialog is not None and self.export_dialog.isVisible():
            self.export_dialog.raise_()
            self.export_dialog.activateWindow()
            return self.export_dialog
        state = self.filters.state()
        fmt = str(self.ctx.settings.value("runs/export_format", "csv"))
        dialog = ExportDialog(
            self.ctx,
            state.to_run_filter(now_ms()),
            state.describe(),
            self,
            fmt=fmt if fmt in ("csv", "json", "jsonl") else "csv",
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.sig_export_finished.connect(self._on_export_finished)
        dialog.destroyed.connect(lambda *_a: setattr(self, "export_dialog", None))
        self.export_dialog = dialog
        dialog.open()
        self.sig_export_opened.emit(dialog)
        return dialog

    def _on_export_finished(self, path: str, count: int) -> None:
        dialog = self.export_dialog
        if dialog is not None:
            self.ctx.settings.setValue("runs/export_format", dialog.fmt)
        self.ctx.status(f"Exported {count:,} run{'s' if count != 1 else ''} to {path}")

    # -- filters and loading -------------------------------------------------------------------

    def _on_filters_changed(self, state: RunsFilterState) -> None:
        self._save_filters(state)
        self._reload(state)

    def _save_filters(self, state: RunsFilterState) -> None:
        self._state = state
        state.save(self.ctx.settings)

    def _reload(self, state: RunsFilterState) -> None:
        flt = state.to_run_filter(now_ms())
        self.history.show_table()
        # The first page goes first, alone on the reader threads; the count and the
        # intercepts follow once it is shown (see _on_page_loaded).
        self._after_first_page = True
        self.model.set_filter(flt)

    def _on_sort_changed(self, _sort: Any) -> None:
        self._after_first_page = True  # the model reloads: count again once its rows show

    def _refresh_intercepts(self) -> None:
        if not self.history.isVisible():
            # Hidden (Live or a run shown, or another page): read on its next show instead of
            # running a query over the log for every burst of run ends nobody sees.
            self._intercepts_stale = True
            return
        self._intercepts_stale = False
        # Every filter of the bar, the metadata search included.
        self.history.intercepts.refresh(self.filters.state().to_run_filter(now_ms()))

    def refresh_count(self) -> None:
        if self.ctx.workspace is None:
            return
        self.ctx.spawn(self._count(self.model.filter, self.model.generation), what="count runs")

    def _count_timer_start(self) -> None:
        poke(self._count_timer)

    async def _count(self, flt: Any, model_generation: int) -> None:
        # The newest count only (self.work.read): an older one still under way is dropped.
        total = await self.work.read(self.ctx.opened_workspace.store.count_runs, flt)
        # With the count the list holds every row, so any of them can be scrolled to.
        self.model.set_total(total, model_generation)
        self._total = total
        self.count_label.setText(f"{total:,} run{'s' if total != 1 else ''}")
        self.sig_count_changed.emit(total)

    @property
    def total(self) -> int | None:
        return self._total

    def _on_page_loaded(self, rows: int, first: bool) -> None:
        if first:  # the timeline follows the list's first rows (they go first, alone)
            self.timeline.refresh(self.model.filter)
        if first and self._after_first_page:
            self._after_first_page = False
            self._followers_timer.start()  # after the first rows are painted
        if rows:
            self.history.show_table()
            self.history.table.update_clock()
            return
        if not first:
            return
        if not self.filters.state().is_narrowed:
            self.history.show_empty(EMPTY_NO_RUNS)
        else:
            self.ctx.spawn(self._which_empty(self.model.generation), what="check the log")

    def _on_load_failed(self, message: str) -> None:
        self.history.show_empty(EMPTY_ERROR, message)
        if self._after_first_page:
            self._after_first_page = False
            self._refresh_intercepts()

    async def _which_empty(self, generation: int) -> None:
        store = self.ctx.opened_workspace.store
        anything = await self.work.fetch(run_queries.any_runs, store)
        if generation != self.model.generation:
            return
        if self.model.rowCount() == 0:
            self.history.show_empty(EMPTY_NO_MATCH if anything else EMPTY_NO_RUNS)

    def _on_empty_action(self, action: str) -> None:
        if action == "reset":
            self.filters.reset()
        elif action == "retry":
            self._reload(self.filters.state())
        elif action in ("chat", "welcome"):
            self.ctx.navigate(action)

    def _load_agents(self) -> None:
        if self.ctx.workspace is not None:
            self.ctx.spawn(self._read_agents(), what="list agents")

    async def _read_agents(self) -> None:
        agents = await self.work.fetch(self.ctx.opened_workspace.store.list_agents)
        self.filters.set_agents([(a.id, a.name) for a in agents])

    def _open_agent(self, agent_id: str) -> None:
        self.ctx.navigate("agents", {"agent_id": agent_id})

    # -- live: the event bridge ------------------------------------------------------------------

    def _connect_bridge(self) -> None:
        bridge = self.ctx.bridge
        if bridge is None:
            return
        bridge.sig_run_created.connect(self._on_run_created)
        bridge.sig_action_started.connect(self._on_action_started)
        bridge.sig_action_created.connect(self._on_action_created)
        bridge.sig_kill_requested.connect(self._on_kill_requested)
        bridge.sig_run_progressed.connect(self._on_run_progressed)
        bridge.sig_run_ended.connect(self._on_run_ended)
        bridge.sig_runs_bulk_changed.connect(self._on_runs_ingested)
        for signal in (bridge.sig_run_created, bridge.sig_run_ended):
            signal.connect(self.timeline.schedule)
        connect_for(self, bridge.sig_config_changed, lambda _e: self._load_agents())

    def _on_run_created(self, event: Any) -> None:
        self._queue_row(event.run_id)
        self.live.schedule_reload()

    def _on_action_started(self, event: ActionStarted) -> None:
        self.live.on_action_started(event.run_id, event.name, event.started_at_ms)

    def _on_kill_requested(self, event: KillRequested) -> None:
        self.live.on_kill_requested(event.run_ids)

    def _on_action_created(self, event: ActionCreated) -> None:
        if self.model.contains(event.run_id):
            self._queue_row(event.run_id)
        self.details.on_action_created(event.run_id)
        self.live.on_action_created(event.run_id, event.name)

    def _on_run_progressed(self, event: RunProgressed) -> None:
        self.details.on_run_progressed(event.run_id, event.output_chars)
        self.live.on_run_progressed(event.run_id, event.output_chars, event.last_event_at_ms)

    def _on_run_ended(self, event: Any) -> None:
        self._queue_row(event.run_id)
        watched_live = self.live.model.row_of(event.run_id) is not None
        self.details.on_run_ended(event.run_id)
        if watched_live and self.details.run_id != event.run_id:
            self._ended_to_tell.append(event.run_id)
            poke(self._tell_timer)
        self.live.on_run_ended(event.run_id)
        poke(self._intercepts_timer)

    def _tell_ended_runs(self) -> None:
        ids, self._ended_to_tell = self._ended_to_tell, []
        if ids and self.ctx.workspace is not None:
            self.ctx.spawn(self._tell_ended(ids), what="read the runs that ended")

    async def _tell_ended(self, ids: list[str]) -> None:
        runs = await self.work.fetch(_get_runs, self.ctx.opened_workspace.store, ids)
        if len(runs) == 1:
            self._tell(end_notice(runs[0]))
        elif runs:
            self._tell(ended_notice(runs))

    def _on_watched_run_ended(self, run: Any, notice: str) -> None:
        self._tell(notice)

    def _tell(self, notice: str) -> None:
        self.ctx.status(notice)
        self.sig_notice_shown.emit(notice)

    def _on_runs_ingested(self, _event: Any) -> None:
        self._poke_bulk()

    def _poke_bulk(self) -> None:
        """Reload soon; in a series of bulk changes (another process writing hundreds of runs a
        second), at most every half second: each reload repaints the list, and more often than
        that the window spends its time repainting rows nobody can read yet."""
        if not self._bulk_timer.isActive():
            in_series = time.monotonic() - self._last_bulk_reload < 1.0
            self._bulk_timer.start(BULK_SERIES_RELOAD_MS if in_series else BULK_RELOAD_MS)

    def _reload_after_bulk(self) -> None:
        self._last_bulk_reload = time.monotonic()
        self._pending_rows.clear()  # the reload reads them anyway
        self._reload(self.filters.state())
        self.live.schedule_reload()

    def _queue_row(self, run_id: str) -> None:
        self._pending_rows.add(run_id)
        poke(self._rows_timer)

    def _refresh_pending_rows(self) -> None:
        ids = sorted(self._pending_rows)
        self._pending_rows.clear()
        if len(ids) > PENDING_ROWS_RELOAD:
            # A burst (another process writing hundreds of runs a second): one page read
            # costs less than a read and an insert per run.
            self._poke_bulk()
            return
        if ids and self.ctx.workspace is not None:
            self.ctx.spawn(self._read_rows(self.model.generation, ids), what="refresh runs")

    async def _read_rows(self, generation: int, ids: list[str]) -> None:
        store = self.ctx.opened_workspace.store
        runs = await self.work.fetch(_get_runs, store, ids)
        if generation != self.model.generation:
            return
        for run in runs:
            self.model.upsert(run)
        if runs and self._view == HISTORY and self.model.rowCount():
            self.history.show_table()

    def _show_live_count(self, count: int) -> None:
        self.live_button.setText(f"Live · {count}" if count else "Live")

    def _on_run_load_failed(self, run_id: str, message: str) -> None:
        self.ctx.status(f"Could not open run {short_id(run_id)}: {message}")
        if self._view == DETAILS and self.details.run_id != run_id:
            self.go_back()

    def _on_open_run_deleted(self, run_id: str) -> None:
        """The run on screen left the log (retention, the demo's removal): back to the list."""
        self.ctx.status(f"Run {short_id(run_id)} was deleted from the log (retention or cleanup).")
        if self._view == DETAILS:
            self.go_back()

    def _update_clocks(self) -> None:
        active = self.isVisible() and self._view == DETAILS
        if active and not self._details_clock.isActive():
            self._details_clock.start()
        elif not active:
            self._details_clock.stop()


BULK_RELOAD_MS = 100  # after a bulk change (an import, a burst of runs)
BULK_SERIES_RELOAD_MS = 500  # after one within the last second
# More runs changed than this in one 40 ms window (400 a second): reload the page instead of
# row by row. A row read, placed and inserted costs the UI thread about 0.7 ms; a reload of the
# first page about 20 ms, at most every 140 ms however fast the runs come.
PENDING_ROWS_RELOAD = 16


def _get_runs(store: Any, ids: list[str]) -> list[Any]:
    """Fresh copies of these runs (those that still exist)."""
    runs = []
    for run_id in ids:
        try:
            runs.append(store.get_run(run_id))
        except Exception:  # deleted meanwhile
            continue
    return runs
