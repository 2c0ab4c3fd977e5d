"""The palette's rows: group headers and results, flat, for one list view."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from ato_desktop.core.search_text import MARK_END, MARK_START, strip_marks

Index = QModelIndex | QPersistentModelIndex

GROUP_TITLES: dict[str, str] = {
    "recent": "Recent searches",
    "actions": "Quick Actions",
    "agents": "Agents",
    "automations": "Groups, schedules, hooks and skills",
    "mcp_servers": "MCP servers",
    "secrets": "Secrets (names only)",
    "runs": "Runs",
    "threads": "Chat threads",
    "messages": "Chat messages",
}


@dataclass(frozen=True, slots=True)
class PaletteItem:
    """One result row. title and snippet may carry match marks (core.search_text)."""

    group: str
    kind: str
    title: str
    detail: str = ""
    snippet: str = ""
    activate: Callable[[], object] | None = None
    shortcut: str = ""
    key: str = ""  # what identifies it in tests: a command id, an agent id, a thread id...

    @property
    def plain_title(self) -> str:
        return strip_marks(self.title)


@dataclass(frozen=True, slots=True)
class _Header:
    group: str


ItemRole = Qt.ItemDataRole.UserRole + 1
IsHeaderRole = Qt.ItemDataRole.UserRole + 2
HtmlRole = Qt.ItemDataRole.UserRole + 3


def marked_html(text: str, highlight: str) -> str:
    """Escape text, then turn match marks into highlighted spans (markup in text stays text)."""
    escaped = html.escape(text, quote=False)
    return escaped.replace(MARK_START, f'<span style="{highlight}">').replace(MARK_END, "</span>")


class PaletteModel(QAbstractListModel):
    """Headers (not selectable) and items, in group order."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[PaletteItem | _Header] = []

    def set_groups(self, groups: Sequence[tuple[str, Sequence[PaletteItem]]]) -> None:
        self.beginResetModel()
        self._rows = []
        for group, items in groups:
            if items:
                self._rows.append(_Header(group))
                self._rows.extend(items)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def item(self, row: int) -> PaletteItem | None:
        if 0 <= row < len(self._rows):
            entry = self._rows[row]
            return entry if isinstance(entry, PaletteItem) else None
        return None

    def items(self) -> list[PaletteItem]:
        return [r for r in self._rows if isinstance(r, PaletteItem)]

    def groups(self) -> list[str]:
        return [r.group for r in self._rows if isinstance(r, _Header)]

    def first_item_row(self, start: int = 0, step: int = 1) -> int:
        """The nearest item row from start in direction step, or -1."""
        row = start
        while 0 <= row < len(self._rows):
            if isinstance(self._rows[row], PaletteItem):
                return row
            row += step
        return -1

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if isinstance(self._rows[index.row()], _Header):
            return Qt.ItemFlag.ItemIsEnabled
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        entry = self._rows[index.row()]
        if role == IsHeaderRole:
            return isinstance(entry, _Header)
        if isinstance(entry, _Header):
            if role == Qt.ItemDataRole.DisplayRole:
                return GROUP_TITLES.get(entry.group, entry.group)
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return entry.plain_title
        if role == Qt.ItemDataRole.ToolTipRole:
            return strip_marks(entry.snippet) or entry.detail or None
        if role == ItemRole:
            return entry
        return None
