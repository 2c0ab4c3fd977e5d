"""The agent editor's tools: which registered MCP servers the agent uses, and a table of their
tools with a rule each (allow / approve / deny) and a read-only checkbox.

The table starts from the agent's own rules and read-only marks; "Load tools" (the page connects
to the checked servers off the UI thread) fills in every tool the servers list, with their
descriptions and read-only hints. A rule set on a row is written as "server/tool" unless it is
what the row would get anyway (from "server/*", a bare tool rule, or the default allow), so a
saved config holds only the rules that matter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.models import ToolRule
from ato_desktop.core.tools import McpTool, resolve_rule
from ato_desktop.ui.theme import current_theme

Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()

RULES = (ToolRule.ALLOW.value, ToolRule.APPROVE.value, ToolRule.DENY.value)
RULE_LABELS = {"allow": "Allow", "approve": "Approve", "deny": "Deny"}
RULE_HELP = {
    "allow": "Runs when the model asks for it",
    "approve": "Each call waits until you approve or deny it",
    "deny": "Never offered to the model",
}
COLUMNS = ("Tool", "Rule", "Read-only", "Description")
COL_TOOL, COL_RULE, COL_READ_ONLY, COL_DESCRIPTION = range(len(COLUMNS))
RULE_ROLE = int(Qt.ItemDataRole.UserRole) + 1  # the effective rule ("allow", ...)
EXPLICIT_ROLE = int(Qt.ItemDataRole.UserRole) + 2  # True when the row has a rule of its own
MAX_VISIBLE_ROWS = 9


@dataclass(frozen=True, slots=True)
class ToolRow:
    """A tool of a server (tool "*": every tool of it; server "": a bare tool rule)."""

    server: str
    tool: str
    description: str = ""
    server_read_only: bool | None = None  # the server's readOnlyHint
    listed: bool = False  # the server listed it (Load tools)

    @property
    def key(self) -> str:
        return f"{self.server}/{self.tool}" if self.server else self.tool

    @property
    def wildcard(self) -> bool:
        return self.tool == "*"


def _server_of(key: str) -> str | None:
    head, sep, _tail = key.partition("/")
    return head.lower() if sep else None


def _same_tool(a: str, b: str) -> bool:
    """Two "server/tool" keys for the same tool (server names compare without case)."""
    head_a, _, tail_a = a.partition("/")
    head_b, _, tail_b = b.partition("/")
    return head_a.lower() == head_b.lower() and tail_a == tail_b


class ToolRulesModel(QAbstractTableModel):
    """Rows of tools with their rule and read-only mark; see the module docstring."""

    sig_edited = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._all: list[ToolRow] = []
        self._rows: list[ToolRow] = []  # the rows of the checked servers
        self._servers: set[str] = set()  # checked, lower case
        self._rules: dict[str, str] = {}
        self._read_only: list[str] = []
        self._listed: dict[str, list[McpTool]] = {}  # server (lower case) -> its tools

    # -- content -------------------------------------------------------------------------------

    def load(
        self,
        rules: dict[str, str],
        read_only_tools: Sequence[str],
        servers: Iterable[str],
    ) -> None:
        """An agent's rules and read-only marks, for these checked servers."""
        self._rules = dict(rules)
        self._read_only = list(read_only_tools)
        self._servers = {s.lower() for s in servers}
        self._rebuild()

    def set_servers(self, servers: Iterable[str]) -> None:
        self._servers = {s.lower() for s in servers}
        self._rebuild()

    def set_listed(self, server: str, tools: Sequence[McpTool]) -> None:
        """The tools a server listed (from Load tools)."""
        self._listed[server.lower()] = list(tools)
        self._rebuild()

    def forget_listed(self) -> None:
        self._listed.clear()
        self._rebuild()

    def _rebuild(self) -> None:
        rows: dict[str, ToolRow] = {}

        def add(row: ToolRow) -> None:
            key = row.key if not row.server else f"{row.server.lower()}/{row.tool}"
            existing = rows.get(key)
            if existing is None or (row.listed and not existing.listed):
                rows[key] = row

        for tools in self._listed.values():
            for tool in tools:
                add(ToolRow(tool.server, tool.name, tool.description, tool.read_only, True))
        for key in list(self._rules) + self._read_only:
            head, sep, tail = key.partition("/")
            if sep and head and tail:
                add(ToolRow(head, tail))
            elif not sep and key in self._rules:
                add(ToolRow("", key))
        ordered = sorted(
            rows.values(),
            key=lambda r: (r.server == "", r.server.lower(), not r.wildcard, r.tool),
        )
        self.beginResetModel()
        self._all = ordered
        self._rows = [r for r in ordered if not r.server or r.server.lower() in self._servers]
        self.endResetModel()

    # -- reading -------------------------------------------------------------------------------

    def rows(self) -> list[ToolRow]:
        return list(self._rows)

    def row_of(self, key: str) -> int:
        for i, row in enumerate(self._rows):
            if row.key == key or (row.server and _same_tool(row.key, key)):
                return i
        return -1

    def tool_rules(self, dropped_servers: Iterable[str] = ()) -> dict[str, str]:
        """The rules to save; those of dropped_servers (unchecked in this form) are left out."""
        dropped = {s.lower() for s in dropped_servers}
        return {k: v for k, v in self._rules.items() if _server_of(k) not in dropped}

    def read_only_tools(self, dropped_servers: Iterable[str] = ()) -> tuple[str, ...]:
        dropped = {s.lower() for s in dropped_servers}
        return tuple(k for k in self._read_only if _server_of(k) not in dropped)

    def rule_of(self, row: ToolRow) -> tuple[str, bool]:
        """(the effective rule, whether the row has a rule of its own)."""
        own = self._own_key(row)
        if own is not None:
            value = str(self._rules[own]).strip().lower()
            return (value if value in RULES else ToolRule.DENY.value), True
        if row.wildcard or not row.server:
            return ToolRule.ALLOW.value, False
        return resolve_rule(self._rules, row.server, row.tool).value, False

    def _own_key(self, row: ToolRow) -> str | None:
        for key in self._rules:
            if key == row.key or (row.server and "/" in key and _same_tool(key, row.key)):
                return key
        return None

    def inherited_from(self, row: ToolRow) -> str:
        """Where a row without a rule of its own gets its rule ('' for the default)."""
        if row.wildcard or not row.server:
            return ""
        for key in self._rules:
            if _same_tool(key, f"{row.server}/*"):
                return key
        if row.tool in self._rules:
            return row.tool
        return ""

    def read_only_of(self, row: ToolRow) -> tuple[bool, str]:
        """(read-only, why: "server" | "agent" | "")."""
        if row.server_read_only is True:
            return True, "server"
        if any(_same_tool(key, row.key) for key in self._read_only):
            return True, "agent"
        return False, ""

    # -- editing -------------------------------------------------------------------------------

    def set_rule(self, row_number: int, rule: str) -> bool:
        if not 0 <= row_number < len(self._rows) or rule not in RULES:
            return False
        row = self._rows[row_number]
        own = self._own_key(row)
        if own is not None:
            del self._rules[own]
        inherited, _ = self.rule_of(row)
        if rule != inherited or (not row.server and not row.wildcard):
            self._rules[row.key] = rule
        self._changed(row_number, whole_table=row.wildcard or not row.server)
        return True

    def set_read_only(self, row_number: int, read_only: bool) -> bool:
        if not 0 <= row_number < len(self._rows):
            return False
        row = self._rows[row_number]
        if row.wildcard or not row.server or row.server_read_only is True:
            return False
        self._read_only = [k for k in self._read_only if not _same_tool(k, row.key)]
        if read_only:
            self._read_only.append(row.key)
        self._changed(row_number)
        return True

    def _changed(self, row_number: int, *, whole_table: bool = False) -> None:
        first = 0 if whole_table else row_number
        last = len(self._rows) - 1 if whole_table else row_number
        self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1), [])
        self.sig_edited.emit()

    # -- QAbstractItemModel --------------------------------------------------------------------

    def rowCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(COLUMNS)
        ):
            return COLUMNS[section]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        row = self._rows[index.row()]
        if index.column() == COL_RULE:
            flags |= Qt.ItemFlag.ItemIsEditable
        if index.column() == COL_READ_ONLY and row.server and not row.wildcard:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
            if row.server_read_only is True:
                flags &= ~Qt.ItemFlag.ItemIsEnabled
        return flags

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row, col = self._rows[index.row()], index.column()
        if role in (RULE_ROLE, EXPLICIT_ROLE):
            rule, explicit = self.rule_of(row)
            return rule if role == RULE_ROLE else explicit
        if role == Qt.ItemDataRole.DisplayRole:
            if col == COL_TOOL:
                if row.wildcard:
                    return f"{row.server}/*  (every tool)"
                return row.key if row.server else f"{row.tool}  (any server)"
            if col == COL_RULE:
                return RULE_LABELS[self.rule_of(row)[0]]
            if col == COL_DESCRIPTION:
                if row.listed:
                    return " ".join(row.description.split())
                if row.wildcard:
                    return "Applies to the server's tools without a rule of their own"
                return "Not loaded yet: Load tools shows what the server offers"
            return None
        if role == Qt.ItemDataRole.EditRole and col == COL_RULE:
            return self.rule_of(row)[0]
        if role == Qt.ItemDataRole.CheckStateRole and col == COL_READ_ONLY:
            if not row.server or row.wildcard:
                return None
            checked = self.read_only_of(row)[0]
            return Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, col)
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == COL_DESCRIPTION and not row.listed:
                return QColor(current_theme().text_muted)
            if col == COL_RULE and not self.rule_of(row)[1]:
                return QColor(current_theme().text_muted)
        if role == Qt.ItemDataRole.FontRole and col == COL_TOOL and row.wildcard:
            font = QFont()
            font.setItalic(True)
            return font
        return None

    def _tooltip(self, row: ToolRow, col: int) -> str | None:
        if col == COL_RULE:
            rule, explicit = self.rule_of(row)
            source = self.inherited_from(row)
            why = (
                "this tool's own rule"
                if explicit
                else f"from the rule {source}"
                if source
                else "the default"
            )
            return f"{RULE_LABELS[rule]}: {RULE_HELP[rule]} ({why})"
        if col == COL_READ_ONLY and row.server and not row.wildcard:
            _read_only, why = self.read_only_of(row)
            if why == "server":
                return "The server declares it read-only (readOnlyHint)"
            if why == "agent":
                return "You marked it read-only: simulation may re-run it"
            return "Has side effects (or the server does not say). Tick it if it only reads."
        if col in (COL_TOOL, COL_DESCRIPTION) and row.description:
            return row.description
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return False
        if index.column() == COL_RULE and role == Qt.ItemDataRole.EditRole:
            return self.set_rule(index.row(), str(value).strip().lower())
        if index.column() == COL_READ_ONLY and role == Qt.ItemDataRole.CheckStateRole:
            checked = value in (Qt.CheckState.Checked, Qt.CheckState.Checked.value, 2, True)
            return self.set_read_only(index.row(), bool(checked))
        return False


class RuleDelegate(QStyledItemDelegate):
    """The rule column as a combo box (allow / approve / deny), committed on choice."""

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: Index) -> QWidget:
        combo = QComboBox(parent)
        combo.setObjectName("RuleCombo")
        for rule in RULES:
            combo.addItem(RULE_LABELS[rule], rule)
            combo.setItemData(combo.count() - 1, RULE_HELP[rule], Qt.ItemDataRole.ToolTipRole)
        combo.activated.connect(lambda _i, c=combo: self.commitData.emit(c))
        return combo

    def setEditorData(self, editor: QWidget, index: Index) -> None:
        if isinstance(editor, QComboBox):
            rule = index.data(RULE_ROLE)
            editor.setCurrentIndex(max(0, editor.findData(rule)))
            explicit = bool(index.data(EXPLICIT_ROLE))
            editor.setProperty("inherited", not explicit)
            editor.setToolTip(str(index.data(Qt.ItemDataRole.ToolTipRole) or ""))
            editor.style().unpolish(editor)
            editor.style().polish(editor)

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: Index) -> None:
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentData(), Qt.ItemDataRole.EditRole)


class ToolsEditor(QObject):
    """The Tools part of the agent form, as two boxes the form lays out: the servers (checkable,
    or a link to Settings when none is registered) and the tools table with Load tools."""

    sig_load_requested = Signal(list)  # names of the checked servers
    sig_settings_requested = Signal()  # open Settings -> MCP servers
    sig_edited = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._servers_box = QWidget()
        servers_layout = QVBoxLayout(self._servers_box)
        servers_layout.setContentsMargins(0, 0, 0, 0)
        servers_layout.setSpacing(4)
        self.servers = QListWidget()
        self.servers.setObjectName("McpServerList")
        self.servers.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.servers.itemChanged.connect(self._on_server_toggled)
        servers_layout.addWidget(self.servers)
        self.no_servers = QLabel()
        self.no_servers.setObjectName("NoMcpServers")
        self.no_servers.setWordWrap(True)
        self.no_servers.linkActivated.connect(lambda _l: self.sig_settings_requested.emit())
        servers_layout.addWidget(self.no_servers)

        self._rules_box = QWidget()
        layout = QVBoxLayout(self._rules_box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        bar = QHBoxLayout()
        bar.setSpacing(8)
        self.load_button = QPushButton("Load tools")
        self.load_button.setObjectName("LoadToolsButton")
        self.load_button.setToolTip("Connect to the checked servers and list their tools")
        self.load_button.clicked.connect(self.request_load)
        bar.addWidget(self.load_button, 0, Qt.AlignmentFlag.AlignTop)
        self.status = QLabel()
        self.status.setObjectName("ToolsStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bar.addWidget(self.status, 1)
        layout.addLayout(bar)

        self.model = ToolRulesModel(self)
        self.model.sig_edited.connect(self.sig_edited)
        self.table = QTableView()
        self.table.setObjectName("ToolRulesTable")
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(34)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.AllEditTriggers)
        self.table.setItemDelegateForColumn(COL_RULE, RuleDelegate(self.table))
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(COL_TOOL, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_RULE, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(COL_RULE, 124)
        header.setSectionResizeMode(COL_READ_ONLY, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(COL_READ_ONLY, 84)
        header.setSectionResizeMode(COL_DESCRIPTION, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table)
        self.model.modelReset.connect(self._after_reset)
        self.model.dataChanged.connect(self._refresh_editors)
        self._registered: list[str] = []
        self._loaded_servers: tuple[str, ...] = ()
        self._show_servers([], ())
        self._after_reset()

    def servers_box(self) -> QWidget:
        return self._servers_box

    def rules_box(self) -> QWidget:
        return self._rules_box

    # -- servers -------------------------------------------------------------------------------

    def set_registered(self, names: list[str]) -> None:
        """The servers registered in Settings (the checked ones stay checked)."""
        self._registered = list(names)
        self._show_servers(self._registered, self.checked_servers())

    def load(self, servers: Sequence[str], rules: dict[str, str], read_only: Sequence[str]) -> None:
        """An agent's servers, rules and read-only marks (the listed tools are kept)."""
        self._loaded_servers = tuple(servers)
        self._show_servers(self._registered, tuple(servers))
        self.model.load(rules, read_only, servers)
        self.status.clear()

    def _show_servers(self, registered: list[str], checked: Sequence[str]) -> None:
        wanted = {name.lower() for name in checked}
        names = list(registered)
        known = {name.lower() for name in names}
        names += [name for name in checked if name.lower() not in known]
        self.servers.blockSignals(True)
        try:
            self.servers.clear()
            for name in names:
                registered_here = name.lower() in known
                item = QListWidgetItem(name if registered_here else f"{name}  (not registered)")
                item.setData(Qt.ItemDataRole.UserRole, name)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(
                    Qt.CheckState.Checked if name.lower() in wanted else Qt.CheckState.Unchecked
                )
                if not registered_here:
                    item.setToolTip("Removed from Settings → MCP servers: untick it, then save")
                self.servers.addItem(item)
        finally:
            self.servers.blockSignals(False)
        rows = self.servers.count()
        self.servers.setVisible(rows > 0)
        self.servers.setFixedHeight(min(6, max(rows, 1)) * 26 + 2 * self.servers.frameWidth() + 4)
        theme = current_theme()
        self.no_servers.setText(
            "No MCP servers are registered yet. "
            f'<a href="settings" style="color: {theme.accent}; text-decoration: none;">'
            "Add one in Settings → MCP servers ›</a>"
        )
        self.no_servers.setVisible(rows == 0)
        self._update_load_button()

    def checked_servers(self) -> tuple[str, ...]:
        """The checked servers: the agent's own order first, then new ones in list order."""
        checked = []
        for row in range(self.servers.count()):
            item = self.servers.item(row)
            if item.checkState() == Qt.CheckState.Checked:
                checked.append(str(item.data(Qt.ItemDataRole.UserRole)))
        order = {name.lower(): i for i, name in enumerate(self._loaded_servers)}
        return tuple(
            sorted(checked, key=lambda n: (order.get(n.lower(), len(order)), checked.index(n)))
        )

    def dropped_servers(self) -> list[str]:
        """Servers the agent had that are unchecked now (their rules go with them)."""
        now = {name.lower() for name in self.checked_servers()}
        return [name for name in self._loaded_servers if name.lower() not in now]

    def set_checked(self, name: str, checked: bool) -> None:
        for row in range(self.servers.count()):
            item = self.servers.item(row)
            if str(item.data(Qt.ItemDataRole.UserRole)).lower() == name.lower():
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def _on_server_toggled(self, _item: QListWidgetItem) -> None:
        self.model.set_servers(self.checked_servers())
        self._update_load_button()
        self.sig_edited.emit()

    def _update_load_button(self) -> None:
        self.load_button.setEnabled(bool(self.checked_servers()))

    # -- tools ---------------------------------------------------------------------------------

    def request_load(self) -> None:
        names = list(self.checked_servers())
        if names:
            self.load_button.setEnabled(False)
            self.load_button.setText("Loading…")
            self.status.setText(f"Connecting to {', '.join(names)}…")
            self.status.setStyleSheet("")
            self.sig_load_requested.emit(names)

    def show_results(self, results: Sequence[Any]) -> None:
        """ProbeResults of Load tools: the tools go into the table, failures are said."""
        theme = current_theme()
        self.load_button.setText("Load tools")
        self._update_load_button()
        parts, failed = [], False
        for result in results:
            if result.ok:
                self.model.set_listed(result.server, result.tools)
                count = len(result.tools)
                parts.append(f"{result.server}: {count} tool{'s' if count != 1 else ''}")
            else:
                failed = True
                parts.append(f"{result.server}: {result.error}")
        self.status.setText("\n".join(parts))
        self.status.setStyleSheet(f"color: {theme.failed if failed else theme.text_muted};")

    def _after_reset(self) -> None:
        for row in range(self.model.rowCount()):
            self.table.openPersistentEditor(self.model.index(row, COL_RULE))
        rows = min(MAX_VISIBLE_ROWS, max(self.model.rowCount(), 1))
        height = self.table.verticalHeader().defaultSectionSize() * rows
        header = self.table.horizontalHeader().sizeHint().height()
        self.table.setFixedHeight(header + height + 2 * self.table.frameWidth() + 2)
        self.table.setVisible(self.model.rowCount() > 0)

    def _refresh_editors(self, top_left: QModelIndex, bottom_right: QModelIndex) -> None:
        # A rule changed elsewhere in the table (a server-wide rule): the combos follow.
        for row in range(top_left.row(), bottom_right.row() + 1):
            index = self.model.index(row, COL_RULE)
            editor = self.table.indexWidget(index)
            if editor is not None:
                delegate = self.table.itemDelegateForColumn(COL_RULE)
                if delegate is not None:
                    delegate.setEditorData(editor, index)
