"""Two-line list rows (threads, agents, config versions): a rounded card behind the selected or
hovered row, a bold title line over a muted detail line."""

from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from ato_desktop.ui.theme import Theme, current_theme

Index = QModelIndex | QPersistentModelIndex

_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


@dataclass(frozen=True, slots=True)
class TwoLineRow:
    """One row being painted: where its two lines go and in which colours."""

    painter: QPainter
    option: QStyleOptionViewItem
    inner: QRect  # the card less its padding
    line: int  # the height of a line
    text: QColor
    muted: QColor
    selected: bool
    theme: Theme

    def first_line(self, trim_right: int = 0) -> QRect:
        """The title line, less trim_right pixels at its end."""
        return self._line(self.inner.top(), trim_right)

    def second_line(self, trim_right: int = 0) -> QRect:
        return self._line(self.inner.top() + self.line + 2, trim_right)

    def _line(self, top: int, trim_right: int) -> QRect:
        return QRect(self.inner.left(), top, self.inner.width() - trim_right, self.line)

    def right_of(self, line: QRect, width: int) -> QRect:
        """A box of width at the right end of the card, level with line."""
        return QRect(self.inner.right() - width, line.top(), width, self.line)

    def text_width(self, text: str) -> int:
        return self.option.fontMetrics.horizontalAdvance(text)

    def title(self, rect: QRect, text: str) -> str:
        """Bold text, elided to rect; returns what was drawn (the bold font stays set)."""
        font = QFont(self.option.font)
        font.setWeight(QFont.Weight.DemiBold)
        self.painter.setFont(font)
        self.painter.setPen(self.text)
        elided = self.painter.fontMetrics().elidedText(
            text, Qt.TextElideMode.ElideRight, rect.width()
        )
        self.painter.drawText(rect, _LEFT, elided)
        return elided

    def detail(self, rect: QRect, text: str, *, right: bool = False) -> None:
        """Muted text in the list's font, elided to rect."""
        self.painter.setFont(self.option.font)
        self.painter.setPen(self.muted)
        elided = self.option.fontMetrics.elidedText(text, Qt.TextElideMode.ElideRight, rect.width())
        self.painter.drawText(rect, _RIGHT if right else _LEFT, elided)


class TwoLineDelegate(QStyledItemDelegate):
    """Paints the card; subclasses write the lines in paint_lines."""

    PADDING = 10  # between the card's edge and its text
    MARGIN = 6  # between the list's edge and the card
    SELECTED_MUTED_ALPHA = 1.0  # the detail line on the accent card (below 1: softer)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.now_ms: int | None = None  # "now" for relative times; fixed in tests and screenshots

    def now(self) -> int:
        return self.now_ms if self.now_ms is not None else int(time.time() * 1000)

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return QSize(200, option.fontMetrics.height() * 2 + self.PADDING * 2 + 4)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        theme = current_theme()
        painter.save()
        rect = option.rect.adjusted(self.MARGIN, 2, -self.MARGIN, -2)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        if selected or hovered:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(theme.accent if selected else theme.surface_alt))
            painter.drawRoundedRect(rect, 8, 8)
        muted = QColor(theme.accent_text if selected else theme.text_muted)
        if selected and self.SELECTED_MUTED_ALPHA < 1.0:
            muted.setAlphaF(self.SELECTED_MUTED_ALPHA)
        padding = self.PADDING
        row = TwoLineRow(
            painter,
            option,
            rect.adjusted(padding, padding - 2, -padding, -padding + 2),
            option.fontMetrics.height(),
            QColor(theme.accent_text if selected else theme.text),
            muted,
            selected,
            theme,
        )
        self.paint_lines(row, index)
        painter.restore()

    def paint_lines(self, row: TwoLineRow, index: Index) -> None:
        raise NotImplementedError
