"""Settings → MCP servers: the registered tool servers, adding one (secrets to the keyring),
testing one (its tools with their read-only flag, or why it failed) and removing one (its
secrets too).

The registry is read off the UI thread and read again whenever the log says it changed
(sig_mcp_changed), whoever changed it (this page, or `ato-desktop mcp add` in a terminal).
Keyring reads and writes, and every connection, run in worker threads.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.timefmt import human_duration
from ato_desktop.core.tools import McpTool
from ato_desktop.engine import mcp_registry
from ato_desktop.engine.mcp_registry import ServerInfo
from ato_desktop.engine.mcp_secrets import McpSecrets
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.mcp_probe import ProbeResult, probe_servers
from ato_desktop.ui.settings.card import Card, mono_font, muted_label, say, tint
from ato_desktop.ui.settings.mcp_form import McpFormValues, McpServerForm
from ato_desktop.ui.theme import current_theme
from ato_desktop.ui.widgets.background import BackgroundWork, Dropped

Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()
MAX_TOOL_ROWS = 10


# ---------------------------------------------------------------------------------------------
# A server's tools (after a test)

TOOL_COLUMNS = ("Tool", "Read-only", "Description")
READ_ONLY_TEXT = {True: "read-only", False: "side effects", None: "not declared"}


class McpToolsModel(QAbstractTableModel):
    """The tools a server listed: name, its read-only hint, description."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tools: list[McpTool] = []

    def set_tools(self, tools: list[McpTool]) -> None:
        self.beginResetModel()
        self._tools = list(tools)
        self.endResetModel()

    def tool(self, row: int) -> McpTool:
        return self._tools[row]

    def rowCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._tools)

    def columnCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(TOOL_COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(TOOL_COLUMNS)
        ):
            return TOOL_COLUMNS[section]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._tools):
            return None
        tool, col = self._tools[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return tool.name
            if col == 1:
                return READ_ONLY_TEXT[tool.read_only]
            if col == 2:
                return " ".join(tool.description.split())
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == 1:
                return {
                    True: "The server marks it read-only (readOnlyHint): it changes nothing",
                    False: "The server says it may change things",
                    None: "The server does not say; treated as having side effects",
                }[tool.read_only]
            return tool.description or None
        if role == Qt.ItemDataRole.ForegroundRole and col == 1:
            theme = current_theme()
            return QColor(theme.completed if tool.read_only else theme.text_muted)
        return None


# ---------------------------------------------------------------------------------------------
# One server


class ServerRow(QFrame):
    """A registered server: what it runs, its secrets, Test and Remove, and the test result."""

    def __init__(self, section: McpSection, info: ServerInfo) -> None:
        super().__init__()
        self.section = section
        self.info = info
        self.setObjectName("McpServerRow")
        self.busy = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 12, 12)
        layout.setSpacing(6)

        top = QHBoxLayout()
        top.setSpacing(8)
        self.name_label = QLabel()
        self.name_label.setObjectName("McpServerName")
        top.addWidget(self.name_label)
        self.transport = QLabel()
        self.transport.setObjectName("McpTransportPill")
        top.addWidget(self.transport)
        top.addStretch(1)
        self.test_button = QPushButton("Test")
        self.test_button.setToolTip("Connect, and list the server's tools")
        self.test_button.clicked.connect(self.test)
        top.addWidget(self.test_button)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setProperty("danger", True)
        self.remove_button.clicked.connect(self.ask_remove)
        top.addWidget(self.remove_button)
        layout.addLayout(top)

        self.target = QLabel()
        self.target.setObjectName("McpTarget")
        self.target.setFont(mono_font())
        self.target.setWordWrap(True)
        self.target.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.target)
        self.details = muted_label()
        self.details.setObjectName("McpDetails")
        self.details.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.details)

        # The test result: a status line, then the tools or the error.
        self.result = muted_label()
        self.result.setObjectName("McpTestResult")
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result.hide()
        layout.addWidget(self.result)
        self.tools_model = McpToolsModel(self)
        self.tools = QTableView()
        self.tools.setObjectName("McpToolsTable")
        self.tools.setModel(self.tools_model)
        self.tools.verticalHeader().hide()
        self.tools.setShowGrid(False)
        self.tools.setWordWrap(False)
        self.tools.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.tools.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.tools.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        header = self.tools.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setHighlightSections(False)
        self.tools.hide()
        layout.addWidget(self.tools)
        self.error = QLabel()
        self.error.setObjectName("McpTestError")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.hide()
        layout.addWidget(self.error)

        self.confirm = QFrame()
        self.confirm.setProperty("confirm", True)
        confirm_row = QHBoxLayout(self.confirm)
        confirm_row.setContentsMargins(12, 6, 6, 6)
        self.confirm_text = QLabel()
        self.confirm_text.setWordWrap(True)
        confirm_row.addWidget(self.confirm_text, 1)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_remove)
        confirm_row.addWidget(self.cancel_button)
        self.confirm_button = QPushButton("Remove server")
        self.confirm_button.setProperty("danger", True)
        self.confirm_button.clicked.connect(self.confirm_remove)
        confirm_row.addWidget(self.confirm_button)
        self.confirm.hide()
        layout.addWidget(self.confirm)
        self.set_info(info)

    # -- content -------------------------------------------------------------------------------

    def set_info(self, info: ServerInfo) -> None:
        self.info = info
        config = info.record.config
        name = info.name
        for widget, suffix in (
            (self, "Row"),
            (self.test_button, "Test"),
            (self.remove_button, "Remove"),
            (self.confirm, "Confirm"),
            (self.cancel_button, "CancelRemove"),
            (self.confirm_button, "ConfirmRemove"),
        ):
            widget.setObjectName(f"McpServer{suffix}_{name}")
        self.name_label.setText(name)
        self.transport.setText("HTTP" if config.transport == "http" else "stdio")
        self.target.setText(config.target())
        theme = current_theme()
        parts = [f"Timeout {config.timeout_s:g} s"]
        if config.env:
            parts.append("Environment " + ", ".join(sorted(config.env)))
        if info.secrets:
            what = "Secret headers" if config.transport == "http" else "Secrets"
            shown = []
            for state in info.secrets:
                if state.present:
                    shown.append(f"{state.name} <span style='color:{theme.completed}'>✓</span>")
                elif state.present is None:
                    shown.append(f"{state.name} (keyring unreadable)")
                else:
                    shown.append(f"{state.name} <span style='color:{theme.failed}'>missing</span>")
            parts.append(f"{what} in the keyring: " + ", ".join(shown))
        else:
            parts.append("No secrets")
        self.details.setText("  ·  ".join(parts))
        self.confirm_text.setText(
            f"Remove {name}? Its secrets are deleted from the keyring; agents that use it lose "
            "its tools."
            if info.secrets
            else f"Remove {name}? Agents that use it lose its tools."
        )
        self._update_buttons()

    def show_testing(self) -> None:
        self.result.setText(f"Connecting to {self.info.name}…")
        self.result.setStyleSheet("")
        self.result.show()
        self.error.hide()

    def show_result(self, result: ProbeResult) -> None:
        theme = current_theme()
        if result.ok:
            count = len(result.tools)
            who = result.server_info or "the server"
            took = (
                f" in {human_duration(int(result.duration_ms * 1e6))}"
                if result.duration_ms is not None
                else ""
            )
            read_only = sum(1 for t in result.tools if t.read_only)
            self.result.setText(
                f"✓ Connected to {who}{took}: {count} tool{'s' if count != 1 else ''}"
                + (f", {read_only} read-only" if count else "")
            )
            self.result.setStyleSheet(f"color: {theme.completed}; font-weight: 600;")
            self.tools_model.set_tools(list(result.tools))
            self._fit_tools()
            self.tools.setVisible(bool(count))
            self.error.hide()
        else:
            self.result.setText(f"✗ Could not connect to {self.info.name}")
            self.result.setStyleSheet(f"color: {theme.failed}; font-weight: 600;")
            self.error.setText(result.error)
            self.error.show()
            self.tools.hide()
        self.result.show()

    def _fit_tools(self) -> None:
        rows = min(MAX_TOOL_ROWS, self.tools_model.rowCount())
        height = self.tools.verticalHeader().defaultSectionSize() * rows
        header = self.tools.horizontalHeader().sizeHint().height()
        self.tools.setFixedHeight(header + height + 2 * self.tools.frameWidth() + 2)

    def _update_buttons(self) -> None:
        self.test_button.setEnabled(not self.busy)
        self.test_button.setText("Testing…" if self.busy else "Test")
        self.remove_button.setEnabled(not self.busy)

    def set_busy(self, busy: bool) -> None:
        self.busy = busy
        self._update_buttons()

    # -- actions -------------------------------------------------------------------------------

    def test(self) -> None:
        self.section.test(self.info.name)

    def ask_remove(self) -> None:
        self.confirm.show()
        self.cancel_button.setFocus()

    def cancel_remove(self) -> None:
        self.confirm.hide()

    def confirm_remove(self) -> None:
        self.confirm.hide()
        self.section.remove(self.info.name)


# ---------------------------------------------------------------------------------------------
# The section


class McpSection(Card):
    """Registered MCP servers; add, test, remove. See the module docstring."""

    sig_refreshed = Signal()
    sig_tested = Signal(str, object)  # server name, ProbeResult
    sig_added = Signal(str)  # server name
    sig_removed = Signal(str)  # server name
    sig_add_refused = Signal(str)  # the message shown

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(
            "mcp",
            "MCP servers",
            "Tool servers (Model Context Protocol) your agents can use: a command ATO starts, "
            "or a URL. Secret values go to the OS keyring; the rest is kept in the log.",
        )
        self.ctx = ctx
        self.work = BackgroundWork(self, ctx)
        self.rows: dict[str, ServerRow] = {}
        self.results: dict[str, ProbeResult] = {}
        self._testing: set[str] = set()

        self.list_holder = QWidget()
        self.list_layout = QVBoxLayout(self.list_holder)
        self.list_layout.setContentsMargins(0, 0, 0, 0)
        self.list_layout.setSpacing(8)
        self.body.addWidget(self.list_holder)
        self.empty = muted_label(
            "No MCP servers yet. Add one, then choose which agents use it in Agents → Tools."
        )
        self.empty.setObjectName("McpEmpty")
        self.empty.hide()
        self.body.addWidget(self.empty)
        self.message = muted_label()
        self.message.setObjectName("McpMessage")
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        self.body.addWidget(self.message)

        actions = QHBoxLayout()
        self.add_button = QPushButton("Add server…")
        self.add_button.setObjectName("McpAddButton")
        self.add_button.clicked.connect(self.open_form)
        actions.addWidget(self.add_button)
        actions.addStretch(1)
        self.body.addLayout(actions)
        self.form = McpServerForm()
        self.form.hide()
        self.form.sig_submitted.connect(self._on_submitted)
        self.form.sig_cancelled.connect(self.close_form)
        self.body.addWidget(self.form)
        self.restyle()

    # -- the list ------------------------------------------------------------------------------

    def first_field(self) -> QWidget:
        return self.add_button

    def schedule_refresh(self) -> None:
        self.ctx.spawn(self.refresh(), what="list the MCP servers")

    async def refresh(self) -> None:
        workspace = self.ctx.workspace
        if workspace is None:
            return
        secrets = McpSecrets(workspace.credentials)
        try:
            # The log and the keyring: a worker thread. The newest list only.
            infos = await self.work.call_newest(mcp_registry.list_servers, workspace.store, secrets)
        except Dropped:
            if self.work.alive():
                return  # a newer read started meanwhile: the add or remove awaiting this goes on
            raise
        self._show(infos)
        self.sig_refreshed.emit()

    def _show(self, infos: list[ServerInfo]) -> None:
        names = [info.name for info in infos]
        for name in list(self.rows):
            if name not in names:
                row = self.rows.pop(name)
                self.list_layout.removeWidget(row)
                row.deleteLater()
                self.results.pop(name, None)
        for position, info in enumerate(infos):
            shown = self.rows.get(info.name)
            if shown is None:
                row = ServerRow(self, info)
                self.rows[info.name] = row
                if info.name in self.results:
                    row.show_result(self.results[info.name])
            else:
                row = shown
                row.set_info(info)
            row.set_busy(info.name in self._testing)
            self.list_layout.insertWidget(position, row)
            row.show()
        self.empty.setVisible(not infos)
        self.restyle()

    # -- adding --------------------------------------------------------------------------------

    def open_form(self) -> None:
        self.form.reset()
        self.form.show()
        self.add_button.hide()
        self.message.hide()
        self.form.name_edit.setFocus()

    def close_form(self) -> None:
        self.form.forget_secrets()
        self.form.hide()
        self.add_button.show()
        self.add_button.setFocus()

    def _on_submitted(self, values: McpFormValues) -> None:
        self.form.set_busy(True)
        self.ctx.spawn(self._add(values), what="add the MCP server")

    async def _add(self, values: McpFormValues) -> None:
        from ato_desktop.engine.credentials import CredentialError
        from ato_desktop.store.database import StoreError

        try:
            workspace = self.ctx.opened_workspace
            record = await self.work.call(
                mcp_registry.register_server,
                workspace.store,
                values.config,
                values.secrets,
                McpSecrets(workspace.credentials),
            )
        except CredentialError as exc:  # no secure keyring, locked, a bad value
            self.form.set_busy(False)
            self.form.forget_secrets()
            self.form.show_error("", str(exc))
            self.sig_add_refused.emit(str(exc))
            return
        except StoreError as exc:  # the name is taken
            self.form.set_busy(False)
            self.form.show_error("name", str(exc))
            self.sig_add_refused.emit(str(exc))
            return
        self.form.reset()
        self.close_form()
        self._say(f"Added {record.name}. Test it to see its tools.")
        self.ctx.status(f"MCP server {record.name} added")
        await self.refresh()
        self.sig_added.emit(record.name)

    # -- testing and removing --------------------------------------------------------------------

    def test(self, name: str) -> None:
        row = self.rows.get(name)
        if row is None or name in self._testing:
            return
        self._testing.add(name)
        row.set_busy(True)
        row.show_testing()
        self.ctx.spawn(self._test(name, row.info.record.config), what=f"test {name}")

    async def _test(self, name: str, config: Any) -> None:
        try:
            (result,) = await probe_servers(self.ctx.opened_workspace.credentials, [config])
        finally:
            self._testing.discard(name)
        self.results[name] = result
        row = self.rows.get(name)
        if row is not None:
            row.set_busy(False)
            row.show_result(result)
        self.sig_tested.emit(name, result)

    def remove(self, name: str) -> None:
        row = self.rows.get(name)
        if row is not None:
            row.set_busy(True)
        self.ctx.spawn(self._remove(name), what=f"remove {name}")

    async def _remove(self, name: str) -> None:
        from ato_desktop.engine.credentials import CredentialError

        try:
            workspace = self.ctx.opened_workspace
            removed = await self.work.call(
                mcp_registry.unregister_server,
                workspace.store,
                name,
                McpSecrets(workspace.credentials),
            )
        except CredentialError as exc:
            # The server is gone from the log; its secrets could not be deleted.
            self._say(f"Removed {name}, but its secrets are still in the keyring: {exc}", True)
        else:
            deleted = removed.secrets_deleted if removed is not None else 0
            extra = f" and {deleted} secret{'s' if deleted != 1 else ''} from the keyring"
            self._say(f"Removed {name}{extra if deleted else ''}.")
        self.results.pop(name, None)
        await self.refresh()
        self.sig_removed.emit(name)

    def _say(self, text: str, error: bool = False) -> None:
        say(self.message, text, error=error)

    # -- looks ---------------------------------------------------------------------------------

    def restyle(self) -> None:
        t = current_theme()
        self.setStyleSheet(
            f"QFrame#McpForm {{ background: {t.surface_alt}; border: 1px solid {t.border};"
            " border-radius: 8px; }"
            f"QLabel#McpFormTitle {{ font-weight: 600; }}"
            f"QLabel#McpFieldLabel {{ font-weight: 600; }}"
            f'QLabel[fieldError="true"] {{ color: {t.failed}; }}'
            f"QLabel#McpHint {{ font-size: 11px; }}"
            f"QLabel#McpServerName {{ font-size: 14px; font-weight: 600; }}"
            f"QLabel#McpTransportPill {{ color: {t.text_muted}; border: 1px solid {t.border};"
            " border-radius: 8px; padding: 0px 7px; font-size: 10px; font-weight: 600; }"
            f"QLabel#McpTestError {{ background: {tint(t.failed, t, 0.07)}; color: {t.text};"
            f" border: 1px solid {tint(t.failed, t, 0.35)}; border-left: 3px solid {t.failed};"
            " border-radius: 6px; padding: 8px 10px; }"
        )
        for row in self.rows.values():
            row.setStyleSheet(
                f"QFrame#{row.objectName()} {{ background: {t.window};"
                f" border: 1px solid {t.border}; border-radius: 8px; }}"
            )
            row.set_info(row.info)
            if row.info.name in self.results:
                row.show_result(self.results[row.info.name])
