"""The threads list: a model of threads (titles editable in place) and a two-line delegate."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from ato_desktop.core.records import ThreadRecord
from ato_desktop.store.thread_ops import clean_title
from ato_desktop.ui.chat.turns import relative_time
from ato_desktop.ui.theme import current_theme

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


class ThreadListModel(QAbstractListModel):
    """Threads, most recently active first. Editing a title asks for a rename."""

    sig_title_edited = Signal(str, str)  # thread id, new title

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[ThreadRow] = []

    def set_rows(self, rows: list[ThreadRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_of(self, thread_id: str) -> int:
        for number, row in enumerate(self._rows):
            if row.id == thread_id:
                return number
        return -1

    def thread(self, row: int) -> ThreadRow:
        return self._rows[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
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
        row = self._rows[index.row()]
        if not title or title == row.title:
            return False
        self._rows[index.row()] = replace(row, title=title)
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole])
        self.sig_title_edited.emit(row.id, title)
        return True

    def roleNames(self) -> dict[int, bytes]:
        names = dict(super().roleNames())
        names.update(
            {ThreadIdRole: b"threadId", SubtitleRole: b"subtitle", UpdatedRole: b"updatedAt"}
        )
        names[DemoRole] = b"isDemo"
        return names


class ThreadDelegate(QStyledItemDelegate):
    """Title on the first line; agent or model and how long ago on the second."""

    PADDING = 10

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.now_ms: int | None = None  # fixed in tests and screenshots

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        metrics = option.fontMetrics
        return QSize(200, metrics.height() * 2 + self.PADDING * 2 + 4)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        theme = current_theme()
        painter.save()
        rect = option.rect.adjusted(6, 2, -6, -2)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        if selected or hovered:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(theme.accent if selected else theme.surface_alt))
            painter.drawRoundedRect(rect, 8, 8)
        text_color = QColor(theme.accent_text if selected else theme.text)
        muted = QColor(theme.accent_text if selected else theme.text_muted)
        if selected:
            muted.setAlphaF(0.8)
        inner = rect.adjusted(self.PADDING, self.PADDING - 2, -self.PADDING, -self.PADDING + 2)
        metrics = option.fontMetrics
        line = metrics.height()
        now = self.now_ms if self.now_ms is not None else int(time.time() * 1000)
        when = relative_time(int(index.data(UpdatedRole) or 0), now)
        when_width = metrics.horizontalAdvance(when) + 8
        title_font = QFont(option.font)
        title_font.setWeight(QFont.Weight.DemiBold)
        painter.setFont(title_font)
        painter.setPen(text_color)
        title_rect = QRect(inner.left(), inner.top(), inner.width(), line)
        title = painter.fontMetrics().elidedText(
            str(index.data() or ""), Qt.TextElideMode.ElideRight, title_rect.width()
        )
        painter.drawText(
            title_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, title
        )
        painter.setFont(option.font)
        painter.setPen(muted)
        sub_rect = QRect(inner.left(), inner.top() + line + 2, inner.width() - when_width, line)
        subtitle = str(index.data(SubtitleRole) or "")
        if index.data(DemoRole):
            subtitle = f"{subtitle} · demo"
        painter.drawText(
            sub_rect,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            metrics.elidedText(subtitle, Qt.TextElideMode.ElideRight, sub_rect.width()),
        )
        when_rect = QRect(inner.right() - when_width, sub_rect.top(), when_width, line)
        painter.drawText(
            when_rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, when
        )
        painter.restore()
