"""The Automations page: the canvas of everything that runs without the user (schedules, hooks,
pipelines, routed groups, skill flows and the agents they call), coloured by source, with live
status from the run history; a details panel for the selected node with "View runs" (the Runs
page filtered to it) and "Edit…" (double-click does the same).

Keys (while the page shows): Ctrl+F search, F fit, + / - zoom, 0 100%, Enter edits the
selected definition. Reads run off the UI thread; definition changes rebuild the graph, run
events refresh the status only, coalesced and only while the page shows.

Navigation targets (`activate(target)`): {"node": name}: focus the node of that name.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from PySide6.QtCore import QStringListModel, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCompleter,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.automation_graph import KIND_LABELS, GraphNode, NodeKind, NodeStatus
from ato_desktop.store import automations as automation_store
from ato_desktop.ui.automations.canvas_reads import (
    CanvasData,
    definition_kind,
    read_canvas,
    read_statuses,
    runs_target,
)
from ato_desktop.ui.automations.canvas_scene import AutomationScene, NodeItem
from ato_desktop.ui.automations.canvas_view import CanvasView
from ato_desktop.ui.automations.editor_dialog import DefinitionEditor
from ato_desktop.ui.bridge import connect_for
from ato_desktop.ui.chat.log_tasks import Generations, log_closed
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.pages.base import Page
from ato_desktop.ui.runs.formatting import ago, full_time, local_time
from ato_desktop.ui.runs.history_view import EmptyState
from ato_desktop.ui.theme import current_theme
from ato_desktop.ui.widgets.status_badge import status_label

log = logging.getLogger(__name__)

STATE_LOADING = "loading"
STATE_EMPTY = "empty"
STATE_CANVAS = "canvas"
STATE_ERROR = "error"
STATUS_REFRESH_MS = 600
RUN_ID_ROLE = int(Qt.ItemDataRole.UserRole) + 1


class DetailsPanel(QFrame):
    """The selected node: what it is, its definition, next fire, last runs, and actions."""

    sig_view_runs = Signal()
    sig_edit = Signal()
    sig_run_now = Signal()
    sig_open_run = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CanvasDetails")
        self.setMinimumWidth(280)
        self.setMaximumWidth(380)
        column = QVBoxLayout(self)
        column.setContentsMargins(14, 12, 14, 12)
        column.setSpacing(8)
        self.kind = QLabel("")
        self.kind.setObjectName("SectionCaption")
        column.addWidget(self.kind)
        self.title = QLabel("")
        self.title.setObjectName("CanvasDetailsTitle")
        self.title.setWordWrap(True)
        column.addWidget(self.title)
        self.body = QLabel("")
        self.body.setObjectName("CanvasDetailsBody")
        self.body.setWordWrap(True)
        self.body.setTextFormat(Qt.TextFormat.RichText)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        column.addWidget(self.body)
        buttons = QHBoxLayout()
        self.view_runs = QPushButton("&View runs")
        self.view_runs.setObjectName("CanvasViewRuns")
        self.view_runs.setProperty("primary", True)
        self.view_runs.setToolTip("Open the Runs page filtered to this node's runs")
        self.view_runs.clicked.connect(self.sig_view_runs)
        self.edit = QPushButton("&Edit…")
        self.edit.setObjectName("CanvasEdit")
        self.edit.setToolTip("Enable, disable or edit the definition (double-click a node)")
        self.edit.clicked.connect(self.sig_edit)
        self.run_now = QPushButton("&Run now")
        self.run_now.setObjectName("CanvasRunNow")
        self.run_now.setToolTip("Fire this schedule now, whatever its next time")
        self.run_now.clicked.connect(self.sig_run_now)
        buttons.addWidget(self.view_runs)
        buttons.addWidget(self.edit)
        buttons.addWidget(self.run_now)
        buttons.addStretch(1)
        column.addLayout(buttons)
        caption = QLabel("LAST RUNS")
        caption.setObjectName("SectionCaption")
        column.addWidget(caption)
        self.runs = QListWidget()
        self.runs.setObjectName("CanvasLastRuns")
        self.runs.setAccessibleName("Last runs")
        self.runs.setToolTip("Double-click or Enter opens the run")
        self.runs.itemActivated.connect(
            lambda item: self.sig_open_run.emit(str(item.data(RUN_ID_ROLE)))
        )
        column.addWidget(self.runs, 1)
        self.show_node(None, NodeStatus(), None)

    def show_node(self, node: GraphNode | None, status: NodeStatus, row: Any) -> None:
        self.runs.clear()
        if node is None:
            self.kind.setText("")
            self.title.setText("Nothing selected")
            self.body.setText(
                "Click a node to see its definition and last runs. Double-click edits it."
            )
            self.view_runs.setEnabled(False)
            self.edit.setEnabled(False)
            self.run_now.hide()
            return
        self.kind.setText(KIND_LABELS[node.kind].upper())
        self.title.setText(node.title)
        lines: list[str] = []
        if row is not None:
            lines.append(html.escape(row.summary))
            state = "enabled" if row.record.enabled else "<b>disabled</b>"
            lines.append(f"version {row.record.version} · {state}")
            if row.next_fire_at:
                lines.append(
                    f"next fire {html.escape(local_time(row.next_fire_at))} "
                    f"({html.escape(full_time(row.next_fire_at))})"
                )
            if row.last_note:
                lines.append(f"last fire: {html.escape(row.last_note)}")
        elif node.detail:
            lines.append(html.escape(node.detail))
        if status.success_rate is not None:
            lines.append(
                f"{status.success_rate * 100:.0f}% of the last {status.runs} runs completed"
            )
        if status.running:
            lines.append("<b>running now</b>")
        if not status.recent:
            lines.append("No runs yet.")
        self.body.setText("<br>".join(lines))
        for run_id, run_status, started in status.recent:
            item = QListWidgetItem(f"{status_label(run_status)} · {ago(started)}")
            item.setData(RUN_ID_ROLE, run_id)
            item.setToolTip(full_time(started))
            self.runs.addItem(item)
        self.view_runs.setEnabled(node.kind is not NodeKind.AGENT or bool(node.agent_id))
        self.edit.setEnabled(node.definition_id is not None)
        self.run_now.setVisible(node.kind is NodeKind.SCHEDULE and node.definition_id is not None)


class AutomationsPage(Page):
    """The canvas, a toolbar (search, zoom, fit) and the details of the selected node."""

    page_id = "automations"
    title = "Automations"

    sig_state_changed = Signal(str)
    sig_graph_shown = Signal(object)  # CanvasData
    sig_statuses_shown = Signal(object)  # dict node id -> NodeStatus

    view: CanvasView  # made after the toolbar whose buttons drive it

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.state = ""
        self.data: CanvasData | None = None
        self.selected: str | None = None
        self.editor: DefinitionEditor | None = None
        self._loaded = False
        self._stale_graph = False
        self._stale_status = False
        self._loads = Generations()
        self._status_loads = Generations()
        self._pending_focus: str | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 12)
        layout.setSpacing(10)
        header = QHBoxLayout()
        title = QLabel("Automations")
        title.setObjectName("PageTitle")
        header.addWidget(title)
        header.addStretch(1)
        self.search = QLineEdit()
        self.search.setObjectName("CanvasSearch")
        self.search.setPlaceholderText("Find a node…  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setFixedWidth(260)
        self.search.setAccessibleName("Find a node")
        self._names = QStringListModel(self)
        completer = QCompleter(self._names, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.activated.connect(self.focus_node)
        self.search.setCompleter(completer)
        self.search.returnPressed.connect(lambda: self.focus_node(self.search.text()))
        header.addWidget(self.search)
        self.zoom_label = QLabel("100%")
        self.zoom_label.setProperty("muted", True)
        self.zoom_label.setFixedWidth(44)
        self.zoom_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        header.addWidget(self.zoom_label)
        for text, tip, slot in (
            ("−", "Zoom out (-)", lambda: self.view.zoom_out()),
            ("+", "Zoom in (+)", lambda: self.view.zoom_in()),
            ("Fit", "Fit everything in view (F)", lambda: self.view.fit()),
        ):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.setAccessibleName(tip)
            button.setFixedWidth(44 if text == "Fit" else 32)
            button.clicked.connect(slot)
            header.addWidget(button)
        layout.addLayout(header)

        self._body = QStackedWidget()
        self.loading = QLabel("Reading automations…")
        self.loading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.loading.setProperty("muted", True)
        self.empty = EmptyState()
        self.empty.setObjectName("AutomationsEmpty")
        self.empty.primary.clicked.connect(self._empty_primary)
        self.empty.secondary.hide()
        self.scene = AutomationScene(self)
        self.scene.selectionChanged.connect(self._on_selection)
        self.scene.sig_node_activated.connect(self._on_activated)
        self.view = CanvasView(self.scene)
        self.view.sig_zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f}%"))
        self.details = DetailsPanel()
        self.details.sig_view_runs.connect(self.view_runs)
        self.details.sig_edit.connect(self.edit_selected)
        self.details.sig_run_now.connect(self.run_selected_now)
        self.details.sig_open_run.connect(lambda run_id: ctx.navigate("runs", {"run_id": run_id}))
        self.content = QSplitter(Qt.Orientation.Horizontal)
        self.content.setChildrenCollapsible(False)
        self.content.addWidget(self.view)
        self.content.addWidget(self.details)
        self.content.setStretchFactor(0, 1)
        self.content.setSizes([900, 320])
        self._body.addWidget(self.loading)
        self._body.addWidget(self.empty)
        self._body.addWidget(self.content)
        layout.addWidget(self._body, 1)

        find = QShortcut(QKeySequence.StandardKey.Find, self)
        find.activated.connect(self.focus_search)
        edit = QShortcut(QKeySequence(Qt.Key.Key_Return), self.view)
        edit.setContext(Qt.ShortcutContext.WidgetShortcut)
        edit.activated.connect(self.edit_selected)

        self._graph_timer = QTimer(self, singleShot=True, interval=200)
        self._graph_timer.timeout.connect(lambda: self._if_visible(graph=True))
        self._status_timer = QTimer(self, singleShot=True, interval=STATUS_REFRESH_MS)
        self._status_timer.timeout.connect(lambda: self._if_visible(graph=False))
        bridge = ctx.bridge
        if bridge is not None:
            connect_for(self, bridge.sig_automation_changed, lambda _e: self._schedule(graph=True))
            connect_for(self, bridge.sig_config_changed, lambda _e: self._schedule(graph=True))
            connect_for(self, bridge.sig_runs_bulk_changed, lambda _e: self._schedule(graph=True))
            connect_for(self, bridge.sig_run_created, lambda _e: self._schedule(graph=False))
            connect_for(self, bridge.sig_run_ended, lambda _e: self._schedule(graph=False))
        self._apply_styles()
        if ctx.theme is not None:
            ctx.theme.sig_theme_changed.connect(lambda _t: self._apply_styles())
        self._set_state(STATE_LOADING)

    def _apply_styles(self) -> None:
        t = current_theme()
        self.setStyleSheet(
            f"""
            QFrame#CanvasDetails {{ background: {t.surface}; border: 1px solid {t.border};
                border-radius: 8px; }}
            QLabel#CanvasDetailsTitle {{ font-size: 16px; font-weight: 600; }}
            QLabel#EmptyTitle {{ font-size: 17px; font-weight: 600; padding-bottom: 4px; }}
            QLabel#EmptyText {{ color: {t.text_muted}; }}
            QGraphicsView#AutomationCanvas {{ background: {t.window}; border: 1px solid
                {t.border}; border-radius: 8px; }}
            """
        )
        self.scene.repaint_theme()

    # -- state ---------------------------------------------------------------------------------

    def _set_state(self, state: str) -> None:
        self._body.setCurrentWidget(
            {
                STATE_LOADING: self.loading,
                STATE_EMPTY: self.empty,
                STATE_ERROR: self.empty,
                STATE_CANVAS: self.content,
            }[state]
        )
        self.search.setEnabled(state == STATE_CANVAS)
        if state != self.state:
            self.state = state
            self.sig_state_changed.emit(state)

    def _show_empty(self) -> None:
        e = self.empty
        e.kind = STATE_EMPTY
        e.title.setText("Nothing runs on its own yet")
        e.text.setText(
            "Automations run agents without you: a <b>pipeline</b> hands each stage's output to "
            "the next, a <b>routed group</b> picks one agent per input, a <b>schedule</b> fires "
            "on a cron expression, a <b>hook</b> reacts to an agent's run completing or "
            "failing, a <b>skill flow</b> runs the <code>## Step</code> sections of a Markdown "
            "file. They all show here, wired to the agents they call.<br><br>"
            "From a terminal:<br>"
            "<code>ato-desktop groups add article --stage research=researcher "
            "--stage draft=writer</code><br>"
            '<code>ato-desktop schedules add nightly --cron "0 2 * * *" --group article '
            '--prompt "..."</code><br>'
            "<code>ato-desktop hooks add --help</code> · "
            "<code>ato-desktop skills add NAME FILE.md --agent NAME</code>"
        )
        e.primary.setText("Open Agents")
        self._set_state(STATE_EMPTY)

    def _empty_primary(self) -> None:
        if self.empty.kind == STATE_ERROR:
            self.reload()
        else:
            self.ctx.navigate("agents", None)

    # -- loading -------------------------------------------------------------------------------

    def activate(self, target: dict[str, Any] | None = None) -> None:
        target = target or {}
        if target.get("node"):
            self._pending_focus = str(target["node"])
        if not self._loaded:
            self.reload()
        elif self._pending_focus and self.data is not None:
            self.focus_node(self._pending_focus)
            self._pending_focus = None

    def reload(self) -> None:
        """Read the definitions and statuses again, and rebuild the canvas."""
        if self.ctx.workspace is None:
            return
        self._loaded = True
        self._loads.spawn_read(self.ctx, read_canvas, self._apply, what="read automations")

    def _apply(self, data: CanvasData) -> None:
        first = self.data is None or not self.scene.nodes
        self.data = data
        if not data.graph.nodes:
            self.scene.set_graph(data.graph)
            self._show_empty()
            self.sig_graph_shown.emit(data)
            return
        self.scene.set_graph(data.graph)
        self.scene.set_statuses(data.statuses)
        self.scene.update_pulse(self.isVisible())
        self._names.setStringList(sorted({n.name for n in data.graph.nodes}, key=str.lower))
        self._set_state(STATE_CANVAS)
        if first:
            QTimer.singleShot(0, self.view.fit)
        selected = self.selected
        if selected and selected in self.scene.nodes:
            self.scene.nodes[selected].setSelected(True)
        else:
            self.selected = None
            self._show_details()
        if self._pending_focus:
            self.focus_node(self._pending_focus)
            self._pending_focus = None
        self.sig_graph_shown.emit(data)

    def refresh_statuses(self) -> None:
        data = self.data
        if data is None or self.ctx.workspace is None:
            return
        graph = data.graph

        def apply(statuses: dict[str, NodeStatus]) -> None:
            if self.data is None or self.data.graph is not graph:
                return
            self.data = CanvasData(graph, data.rows, statuses)
            self.scene.set_statuses(statuses)
            self.scene.update_pulse(self.isVisible())
            self._show_details()
            self.sig_statuses_shown.emit(statuses)

        self._status_loads.spawn_read(
            self.ctx,
            lambda store: read_statuses(store, graph),
            apply,
            what="read automation statuses",
        )

    def _schedule(self, *, graph: bool) -> None:
        if not self._loaded:
            return
        timer = self._graph_timer if graph else self._status_timer
        if not timer.isActive():
            timer.start()

    def _if_visible(self, *, graph: bool) -> None:
        if log_closed(self.ctx):
            return
        if not self.isVisible():
            if graph:
                self._stale_graph = True
            else:
                self._stale_status = True
            return
        if graph:
            self.reload()
        else:
            self.refresh_statuses()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.scene.update_pulse(True)
        if self._stale_graph:
            self._stale_graph = self._stale_status = False
            self.reload()
        elif self._stale_status:
            self._stale_status = False
            self.refresh_statuses()

    def hideEvent(self, event: Any) -> None:
        super().hideEvent(event)
        self.scene.update_pulse(False)

    # -- selection, search, actions --------------------------------------------------------------

    def _on_selection(self) -> None:
        items = [i for i in self.scene.selectedItems() if isinstance(i, NodeItem)]
        self.selected = items[0].node.id if items else None
        self._show_details()

    def _show_details(self) -> None:
        data = self.data
        node = data.graph.node(self.selected) if data and self.selected else None
        if data is None or node is None:
            self.details.show_node(None, NodeStatus(), None)
            return
        row = data.rows.get(node.definition_id or "")
        self.details.show_node(node, data.statuses.get(node.id, NodeStatus()), row)

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def focus_node(self, text: str) -> GraphNode | None:
        """Select and centre the best match for text; None (and a status line) when none."""
        if self.data is None:
            return None
        for item in self.scene.nodes.values():
            if item.highlight:
                item.highlight = False
                item.update()
        hits = self.data.graph.find(text)
        if not hits:
            self.ctx.status(f"No node matches {text!r}")
            return None
        node = hits[0]
        item = self.scene.nodes[node.id]
        self.scene.clearSelection()
        item.setSelected(True)
        item.highlight = True
        item.update()
        self.view.focus_rect(item.sceneBoundingRect())
        self.view.setFocus()
        return node

    def selected_node(self) -> GraphNode | None:
        if self.data is None or self.selected is None:
            return None
        return self.data.graph.node(self.selected)

    def view_runs(self) -> None:
        node = self.selected_node()
        if node is not None:
            self.ctx.navigate("runs", runs_target(node.kind, node.name, node.agent_id))

    def _on_activated(self, node_id: str) -> None:
        self.scene.clearSelection()
        item = self.scene.nodes.get(node_id)
        if item is not None:
            item.setSelected(True)
        self.edit_selected()

    def run_selected_now(self) -> Any:
        """Fire the selected schedule at once (its runs show up as they happen)."""
        node = self.selected_node()
        if node is None or node.kind is not NodeKind.SCHEDULE or node.definition_id is None:
            return None
        scheduler = self.ctx.opened_workspace.automations.scheduler
        name = node.name

        async def fire() -> None:
            self.details.run_now.setEnabled(False)
            try:
                fired = await self.ctx.engine_run(scheduler.run_now(name))
            finally:
                self.details.run_now.setEnabled(True)
            if fired is None:
                self.ctx.status(f"Schedule {name} did not fire (see its last note).")
            else:
                run_id, status = fired
                self.ctx.status(f"Schedule {name} fired: run {run_id[-8:]} {status.value}.")

        return self.ctx.spawn(fire(), what=f"run schedule {name}")

    def edit_selected(self) -> None:
        """Open the editor of the selected definition (an agent opens on the Agents page)."""
        node = self.selected_node()
        if node is None:
            return
        if node.kind is NodeKind.AGENT:
            if node.agent_id:
                self.ctx.navigate("agents", {"agent_id": node.agent_id})
            return
        definition_id = node.definition_id
        if definition_id is None:
            return
        kind = definition_kind(node.kind)

        async def open_editor() -> None:
            store = self.ctx.opened_workspace.store
            record = await self.ctx.read(
                automation_store.get_definition, store, kind, definition_id
            )
            self.editor = DefinitionEditor(self.ctx, record, self)
            self.editor.open()

        self.ctx.spawn(open_editor(), what=f"open {kind.value} {node.name}")
