"""Agents: the list on the left; the selected agent's settings and config history on the right.

Every save goes through AgentService (the CLI's path), which records a config version with its
diff; a save that changes nothing says so. The list and history follow the log's events.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt, QTimer
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import AgentRecord, AgentVersionRecord
from ato_desktop.engine.agents import AgentConfigError
from ato_desktop.store.database import StoreError
from ato_desktop.ui.agents.agent_editor import (
    AgentEditor,
    FormError,
    edit_changes,
    field_of_error,
    suggestions_runtime,
)
from ato_desktop.ui.agents.agent_list import AgentDelegate, AgentIdRole, AgentListModel
from ato_desktop.ui.agents.agents_style import agents_stylesheet
from ato_desktop.ui.agents.budget_line import BudgetLine
from ato_desktop.ui.agents.determinism_badge import AgentDeterminismBadge
from ato_desktop.ui.agents.history_view import HistoryView
from ato_desktop.ui.agents.model_combo import ModelSuggestions
from ato_desktop.ui.agents.online_judge import OnlineJudgeButton
from ato_desktop.ui.bridge import connect_for
from ato_desktop.ui.charts.agent_trends import AgentTrendsView
from ato_desktop.ui.chat.log_tasks import Generations
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.insights.regression_banner import RegressionBanner
from ato_desktop.ui.mcp_probe import ProbeResult, probe_servers
from ato_desktop.ui.pages.base import Page
from ato_desktop.ui.theme import Theme, current_theme
from ato_desktop.ui.widgets.coalesce import poke
from ato_desktop.ui.widgets.list_panel import ListPanel, lay_out_list_page

SETTINGS_TAB, HISTORY_TAB, TRENDS_TAB = 0, 1, 2


class AgentsPage(Page):
    """Agents list, editor and history; see the module docstring."""

    page_id = "agents"
    title = "Agents"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self._agent: AgentRecord | None = None
        self._pending_select: str | None = None
        self._loaded_once = False
        self._agents_loads = Generations()
        self._history_loads = Generations()
        self._servers_loads = Generations()
        self._suggestions = ModelSuggestions(ctx, self)
        self._build()
        self._connect()
        self.apply_theme(current_theme())
        self._reload_agents()
        self._reload_servers()

    # -- layout ----------------------------------------------------------------------------------

    def _build(self) -> None:
        panel = self._build_list_panel()
        self.right = QStackedWidget()
        self.right.addWidget(self._build_empty_state())
        self.right.addWidget(self._build_detail())
        lay_out_list_page(self, panel, self.right)

    def _build_list_panel(self) -> ListPanel:
        self.agent_model = AgentListModel(self)
        panel = ListPanel(
            self.agent_model,
            names="Agent",
            title="Agents",
            new_label="New agent",
            new_tooltip="Create an agent (Ctrl+N)",
            filter_placeholder="Filter agents",
        )
        self.new_button = panel.new_button
        self.new_button.clicked.connect(self.start_create)
        self.filter_edit = panel.filter_edit
        self.agent_proxy = panel.proxy
        self.agent_list = panel.list
        self.agent_list.setItemDelegate(AgentDelegate(self.agent_list))
        return panel

    def _build_empty_state(self) -> QWidget:
        page = QWidget()
        page.setObjectName("AgentsEmpty")
        column = QVBoxLayout(page)
        column.addStretch(1)
        title = QLabel("No agents yet")
        title.setObjectName("EmptyTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text = QLabel(
            "An agent is a runtime and a model with a system prompt and parameters, kept under a "
            "name. Every change is saved as a new version, so you can see what changed and which "
            "runs each version made."
        )
        text.setObjectName("EmptyText")
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setMaximumWidth(520)
        self.empty_create = QPushButton("Create an agent")
        self.empty_create.setObjectName("EmptyCreateButton")
        self.empty_create.setProperty("primary", True)
        self.empty_create.clicked.connect(self.start_create)
        for widget in (title, text, self.empty_create):
            row = QHBoxLayout()
            row.addStretch(1)
            row.addWidget(widget)
            row.addStretch(1)
            column.addLayout(row)
        column.addStretch(2)
        return page

    def _build_detail(self) -> QWidget:
        detail = QWidget()
        detail.setObjectName("AgentDetail")
        column = QVBoxLayout(detail)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        header = QFrame()
        header.setObjectName("AgentHeader")
        head = QHBoxLayout(header)
        head.setContentsMargins(24, 12, 16, 12)
        head.setSpacing(10)
        titles = QVBoxLayout()
        titles.setSpacing(2)
        name_row = QHBoxLayout()
        name_row.setSpacing(8)
        self.name_label = QLabel()
        self.name_label.setObjectName("AgentName")
        self.demo_badge = QLabel("Demo")
        self.demo_badge.setObjectName("DemoBadge")
        self.demo_badge.setToolTip("Part of the demo workspace")
        self.demo_badge.setVisible(False)
        name_row.addWidget(self.name_label)
        name_row.addWidget(self.demo_badge)
        name_row.addStretch(1)
        titles.addLayout(name_row)
        self.subtitle_label = QLabel()
        self.subtitle_label.setObjectName("AgentSubtitle")
        titles.addWidget(self.subtitle_label)
        self.determinism = AgentDeterminismBadge(self.ctx)
        titles.addWidget(self.determinism)
        self.budget_line = BudgetLine(self.ctx)
        titles.addWidget(self.budget_line)
        head.addLayout(titles, 1)
        self.chat_button = QPushButton("Chat with this agent")
        self.chat_button.setObjectName("ChatWithAgentButton")
        self.chat_button.setProperty("primary", True)
        self.chat_button.clicked.connect(self.chat_with_agent)
        self.judge_button = OnlineJudgeButton(self.ctx)  # sampled runs scored by a judge
        head.addWidget(self.judge_button)
        head.addWidget(self.chat_button)
        column.addWidget(header)
        self.regression_banner = RegressionBanner(self.ctx)
        column.addWidget(self.regression_banner)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("AgentTabs")
        self.tabs.setDocumentMode(True)
        self.editor = AgentEditor()
        self.history = HistoryView()
        self.tabs.addTab(self.editor, "Settings")
        self.tabs.addTab(self.history, "History")
        self.trends = AgentTrendsView(self.ctx)  # per day: runs, success, p95, cost, eval
        self.tabs.addTab(self.trends, "Trends")
        column.addWidget(self.tabs, 1)
        return detail

    def _connect(self) -> None:
        self.agent_list.selectionModel().currentChanged.connect(self._on_agent_selected)
        self.editor.sig_save_requested.connect(self.save)
        self.editor.sig_cancel_requested.connect(self._cancel)
        self.editor.sig_runtime_changed.connect(self._suggestions.request)
        self.editor.sig_load_tools_requested.connect(self.load_tools)
        self.editor.sig_mcp_settings_requested.connect(
            lambda: self.ctx.navigate("settings", {"section": "mcp"})
        )
        self._suggestions.sig_models_loaded.connect(self._on_models_loaded)
        self.history.sig_runs_requested.connect(self._open_version_runs)
        self.trends.sig_version_requested.connect(self._open_version)
        self.regression_banner.sig_change_shown.connect(self.trends.show_regression)
        self._agents_timer = QTimer(self, singleShot=True, interval=30)
        self._agents_timer.timeout.connect(self._reload_agents)
        self._history_timer = QTimer(self, singleShot=True, interval=60)
        self._history_timer.timeout.connect(self._reload_history)
        bridge = self.ctx.bridge
        if bridge is not None:
            connect_for(self, bridge.sig_config_changed, lambda _e: poke(self._agents_timer))
            bridge.sig_run_ended.connect(self._on_run_ended)
            connect_for(self, bridge.sig_runs_bulk_changed, lambda _e: poke(self._agents_timer))
            connect_for(self, bridge.sig_mcp_changed, lambda _e: self._reload_servers())
        if self.ctx.theme is not None:
            self.ctx.theme.sig_theme_changed.connect(self.apply_theme)

    # -- the page contract -----------------------------------------------------------------------

    def activate(self, target: dict[str, Any] | None = None) -> None:
        target = target or {}
        if target.get("new"):
            self.start_create()
        elif target.get("agent_id"):
            self.select_agent(str(target["agent_id"]))

    # -- selection -------------------------------------------------------------------------------

    @property
    def agent(self) -> AgentRecord | None:
        return self._agent

    def select_agent(self, agent_id: str) -> None:
        """Select by id (or name); remembered until the list has loaded."""
        row = self.agent_model.row_of(agent_id)
        if row < 0:
            self._pending_select = agent_id
            self._agents_timer.start()
            return
        self._pending_select = None
        self._select_row(row)

    def _select_row(self, row: int) -> None:
        self.filter_edit.clear()
        index = self.agent_proxy.mapFromSource(self.agent_model.index(row))
        self.agent_list.setCurrentIndex(index)
        self._show_agent(self.agent_model.agent(row))

    def _on_agent_selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        agent_id = str(current.data(AgentIdRole))
        if self._agent is None or self._agent.id != agent_id or self.editor.creating:
            row = self.agent_model.row_of(agent_id)
            if row >= 0:
                self._show_agent(self.agent_model.agent(row))

    def _show_agent(self, agent: AgentRecord, *, keep_form: bool = False) -> None:
        same = self._agent is not None and self._agent.id == agent.id
        self._agent = agent
        self.right.setCurrentIndex(1)
        self.name_label.setText(agent.name)
        self.demo_badge.setVisible(agent.is_demo)
        self.subtitle_label.setText(
            f"{agent.config.runtime} · {agent.config.model} · version {agent.current_version}"
        )
        self.chat_button.setVisible(True)
        self.judge_button.show_agent(agent.id)
        self.tabs.setTabEnabled(HISTORY_TAB, True)
        self.tabs.setTabEnabled(TRENDS_TAB, True)
        self.trends.show_agent(agent.id)
        if not same:
            self.determinism.show_agent(agent.id)
        self.regression_banner.show_agent(agent.id)
        self.budget_line.show_agent(agent)
        if not (keep_form and same):
            self.editor.load_agent(agent)
            self.editor.status_label.clear()
        self._reload_history()

    def start_create(self) -> None:
        """Open an empty form for a new agent."""
        self._agent = None
        self.agent_list.selectionModel().clearSelection()
        self.right.setCurrentIndex(1)
        self.name_label.setText("New agent")
        self.demo_badge.setVisible(False)
        self.subtitle_label.setText("Saved as version 1 when you create it")
        self.chat_button.setVisible(False)
        self.judge_button.show_agent(None)
        self.determinism.clear()
        self.regression_banner.clear()
        self.budget_line.clear()
        self.tabs.setCurrentIndex(SETTINGS_TAB)
        self.tabs.setTabEnabled(HISTORY_TAB, False)
        self.tabs.setTabEnabled(TRENDS_TAB, False)
        self.tabs.setTabText(HISTORY_TAB, "History")
        runtime = self._default_runtime()
        model = str(self.ctx.settings.value("defaults/model", "") or "")
        same_runtime = self.ctx.settings.value("defaults/runtime", runtime) == runtime
        self.editor.set_create_mode(AgentConfig(runtime, model if same_runtime else ""))
        self.history.set_versions([])

    def _default_runtime(self) -> str:
        runtime = str(self.ctx.settings.value("defaults/runtime", "claude") or "claude")
        return runtime if runtime in ("claude", "codex", "openai-compatible") else "claude"

    def show_tab(self, index: int) -> None:
        if self.tabs.isTabEnabled(index):
            self.tabs.setCurrentIndex(index)

    def show_history(self) -> None:
        self.show_tab(HISTORY_TAB)

    def show_trends(self) -> None:
        self.show_tab(TRENDS_TAB)

    def chat_with_agent(self) -> None:
        if self._agent is not None:
            self.ctx.navigate("chat", {"agent_id": self._agent.id})

    # -- loading ---------------------------------------------------------------------------------

    def _reload_agents(self) -> None:
        self._agents_loads.spawn_read(
            self.ctx, lambda store: store.list_agents(), self._show_agents, what="load agents"
        )

    def _show_agents(self, agents: list[AgentRecord]) -> None:
        current = self._agent.id if self._agent else None
        self.agent_model.set_agents(agents)
        creating = self.editor.creating and self.right.currentIndex() == 1
        if self._pending_select is not None and self.agent_model.row_of(self._pending_select) >= 0:
            self.select_agent(self._pending_select)
        elif current is not None and self.agent_model.row_of(current) >= 0:
            row = self.agent_model.row_of(current)
            self.agent_list.setCurrentIndex(
                self.agent_proxy.mapFromSource(self.agent_model.index(row))
            )
            fresh = self.agent_model.agent(row)
            if self._agent is not None and fresh.current_version != self._agent.current_version:
                # Changed (here or elsewhere): follow it unless the user is mid-edit.
                dirty = self.editor.is_dirty()
                self._show_agent(fresh, keep_form=dirty)
                if dirty:
                    self.editor.set_status(
                        f"Changed elsewhere: now version {fresh.current_version}. Saving records "
                        "this form as the next version."
                    )
            else:
                self._agent = fresh
        elif not creating and agents:
            # Something to show meanwhile; a pending target (not listed yet) still wins later.
            self._select_row(0)
        elif not creating:
            self._agent = None
            self.right.setCurrentIndex(0)
        self._loaded_once = True

    def _reload_history(self) -> None:
        if self._agent is not None:
            agent_id = self._agent.id
            self._history_loads.spawn_read(
                self.ctx,
                lambda store: store.agent_history(agent_id),
                lambda versions: self._show_history(agent_id, versions),
                what="load agent history",
            )

    def _show_history(self, agent_id: str, versions: list[AgentVersionRecord]) -> None:
        if self._agent is None or self._agent.id != agent_id:
            return
        self.history.set_versions(versions)
        self.tabs.setTabText(HISTORY_TAB, f"History ({len(versions)})")

    def _on_run_ended(self, event: Any) -> None:
        if self._agent is not None and event.agent_id == self._agent.id:
            poke(self._history_timer)  # run counts per version

    def _on_models_loaded(self, runtime: str, models: list[str]) -> None:
        if runtime == suggestions_runtime(self.editor.model_combo.runtime):
            self.editor.model_combo.set_suggestions(models)

    # -- MCP servers and their tools ---------------------------------------------------------------

    def _reload_servers(self) -> None:
        from ato_desktop.store.mcp_servers import list_servers

        self._servers_loads.spawn_read(
            self.ctx,
            list_servers,
            lambda records: self.editor.set_registered_servers([r.name for r in records]),
            what="list the MCP servers",
        )

    def load_tools(self, names: list[str]) -> None:
        """Connect to these servers (off the UI thread) and show their tools in the form."""
        self.ctx.spawn(self._load_tools(names), what="load the tools of the MCP servers")

    async def _load_tools(self, names: list[str]) -> None:
        from ato_desktop.store.mcp_servers import list_servers

        records = await self.ctx.read(list_servers, self.ctx.opened_workspace.store)
        by_name = {record.name.lower(): record.config for record in records}
        configs = [by_name[name.lower()] for name in names if name.lower() in by_name]
        found = await probe_servers(self.ctx.opened_workspace.credentials, configs)
        results = [
            ProbeResult(name, False, error="not registered any more (Settings → MCP servers)")
            for name in names
            if name.lower() not in by_name
        ]
        self.editor.show_tool_results(found + results)

    def _open_version(self, version_id: str) -> None:
        """A config-change marker on Trends: that version's diff in History."""
        self.show_tab(HISTORY_TAB)
        for row in range(self.history.model.rowCount()):
            if self.history.model.version(row).id == version_id:
                self.history.select_row(row)
                return

    def _open_version_runs(self, version_id: str) -> None:
        if self._agent is not None:
            self.ctx.navigate("runs", {"agent_id": self._agent.id, "agent_version_id": version_id})

    # -- saving ----------------------------------------------------------------------------------

    def save(self) -> None:
        """Create the agent, or record the form as its next config version."""
        if self.right.currentIndex() != 1 or (self._agent is None and not self.editor.creating):
            return
        try:
            values = self.editor.values()
        except FormError as exc:
            self.editor.show_error(exc.field, str(exc))
            return
        self.editor.save_button.setEnabled(False)
        self.ctx.spawn(self._save(values.name, values.config), what="save the agent")

    async def _save(self, name: str, config: AgentConfig) -> None:
        agents = self.ctx.opened_workspace.agents
        try:
            if self.editor.creating:
                agent = await self.work.call(agents.create, name, config, source="ui")
                self._show_agent(agent)
                self.editor.set_status(f"Created {agent.name} (version 1).")
                self.ctx.status(f"Agent {agent.name} created.")
            else:
                assert self._agent is not None
                before = self._agent.config
                agent, changed = await agents.edit_async(
                    self._agent.id, edit_changes(before, config), source="ui"
                )
                self._show_agent(agent)
                self.editor.set_status(
                    f"Saved as version {agent.current_version}."
                    if changed
                    else "No changes: nothing was saved."
                )
        except (AgentConfigError, StoreError) as exc:
            message = str(exc)
            self.editor.show_error(field_of_error(message), _sentence(message))
        finally:
            self.editor.save_button.setEnabled(True)

    def _cancel(self) -> None:
        if self.editor.creating:
            if self._loaded_once and self.agent_model.rowCount() > 0:
                self.select_agent(self.agent_model.agent(0).id)
            else:
                self.right.setCurrentIndex(0)
        elif self._agent is not None:
            self.editor.load_agent(self._agent)
            self.editor.set_status("Reverted to the saved version.")

    # -- looks -----------------------------------------------------------------------------------

    def apply_theme(self, theme: Theme) -> None:
        self.setStyleSheet(agents_stylesheet(theme))
        self.history.refresh_theme()


def _sentence(message: str) -> str:
    message = message.strip()
    if not message:
        return message
    message = message[0].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."
