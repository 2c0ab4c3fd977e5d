"""The threads list: a model of threads (titles editable in place) and a two-line delegate."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QByteArray, QModelIndex, QPersistentModelIndex, Qt, Signal

from ato_desktop.core.records import ThreadRecord
from ato_desktop.store.thread_ops import clean_title
from ato_desktop.ui.chat.turns import relative_time
from ato_desktop.ui.widgets.record_list_model import RecordListModel
from ato_desktop.ui.widgets.two_line_delegate import TwoLineDelegate, TwoLineRow

ThreadIdRole = Qt.ItemDataRole.UserRole + 1
SubtitleRole = Qt.ItemDataRole.UserRole + 2
UpdatedRole = Qt.ItemDataRole.UserRole + 3
DemoRole = Qt.ItemDataRole.UserRole + 4

Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True, slots=True)
class ThreadRow:
    id: str
    title: str
    subtitle: str  # the agent's name, or runtime · model
    updated_at: int
    is_demo: bool = False


def thread_rows(threads: list[ThreadRecord], agent_names: dict[str, str]) -> list[ThreadRow]:
    rows = []
    for thread in threads:
        if thread.agent_id and thread.agent_id in agent_names:
            subtitle = agent_names[thread.agent_id]
        elif thread.model:
            subtitle = " · ".join(p for p in (thread.runtime, thread.model) if p)
        else:
            subtitle = "no agent"
        rows.append(ThreadRow(thread.id, thread.title, subtitle, thread.updated_at, thread.is_demo))
    return rows


class ThreadListModel(RecordListModel[ThreadRow]):
    """Threads, most recently active first. Editing a title asks for a rename."""

    sig_title_edited = Signal(str, str)  # thread id, new title

    def set_rows(self, rows: list[ThreadRow]) -> None:
        self.set_records(rows)

    def thread_at(self, row: int) -> ThreadRow:
        return self.record(row)

    def record_data(self, row: ThreadRow, role: int) -> Any:
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return row.title
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{row.title}\n{row.subtitle}"
        if role == ThreadIdRole:
            return row.id
        if role == SubtitleRole:
            return row.subtitle
        if role == UpdatedRole:
            return row.updated_at
        if role == DemoRole:
            return row.is_demo
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEditable

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        title = clean_title(str(value or ""))
        row = self._records[index.row()]
        if not title or title == row.title:
            return False
        self._records[index.row()] = replace(row, title=title)
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole])
        self.sig_title_edited.emit(row.id, title)
        return True

    def roleNames(self) -> dict[int, QByteArray]:
        names = dict(super().roleNames())
        for role, name in (
            (ThreadIdRole, b"threadId"),
            (SubtitleRole, b"subtitle"),
            (UpdatedRole, b"updatedAt"),
            (DemoRole, b"isDemo"),
        ):
            names[role] = QByteArray(name)
        return names


class ThreadDelegate(TwoLineDelegate):
    """Title on the first line; agent or model and how long ago on the second."""

    SELECTED_MUTED_ALPHA = 0.8

    def paint_lines(self, row: TwoLineRow, index: Index) -> None:
        when = relative_time(int(index.data(UpdatedRole) or 0), self.now())
        when_width = row.text_width(when) + 8
        row.title(row.first_line(), str(index.data() or ""))
        subtitle = str(index.data(SubtitleRole) or "")
        if index.data(DemoRole):
            subtitle = f"{subtitle} · demo"
        detail_line = row.second_line(when_width)
        row.detail(detail_line, subtitle)
        row.detail(row.right_of(detail_line, when_width), when, right=True)
