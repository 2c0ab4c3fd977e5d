"""The agents list: a model of agents and a delegate with the name, a Demo badge and the model."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from ato_desktop.core.records import AgentRecord
from ato_desktop.ui.theme import current_theme

AgentIdRole = Qt.ItemDataRole.UserRole + 1
SubtitleRole = Qt.ItemDataRole.UserRole + 2
DemoRole = Qt.ItemDataRole.UserRole + 3

Index = QModelIndex | QPersistentModelIndex


def agent_subtitle(agent: AgentRecord) -> str:
    return f"{agent.config.runtime} · {agent.config.model} · v{agent.current_version}"


class AgentListModel(QAbstractListModel):
    """Agents by name."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._agents: list[AgentRecord] = []

    def set_agents(self, agents: list[AgentRecord]) -> None:
        self.beginResetModel()
        self._agents = list(agents)
        self.endResetModel()

    def agent(self, row: int) -> AgentRecord:
        return self._agents[row]

    def row_of(self, agent_id: str) -> int:
        for number, agent in enumerate(self._agents):
            if agent_id in (agent.id, agent.name):
                return number
        return -1

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._agents)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._agents):
            return None
        agent = self._agents[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return agent.name
        if role == Qt.ItemDataRole.ToolTipRole:
            demo = " (demo agent)" if agent.is_demo else ""
            return f"{agent.name}{demo}\n{agent_subtitle(agent)}"
        if role == AgentIdRole:
            return agent.id
        if role == SubtitleRole:
            return agent_subtitle(agent)
        if role == DemoRole:
            return agent.is_demo
        return None


def paint_badge(painter: QPainter, rect: QRect, text: str, color: QColor) -> int:
    """A small outlined pill at rect's left; returns its width."""
    metrics = painter.fontMetrics()
    width = metrics.horizontalAdvance(text) + 12
    height = metrics.height() + 2
    pill = QRect(rect.left(), rect.center().y() - height // 2, width, height)
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(color)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRoundedRect(pill.adjusted(0, 0, -1, -1), height / 2, height / 2)
    painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)
    painter.restore()
    return width


class AgentDelegate(QStyledItemDelegate):
    """Name and Demo badge on the first line; runtime, model and version on the second."""

    PADDING = 10

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return QSize(200, option.fontMetrics.height() * 2 + self.PADDING * 2 + 4)

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
        inner = rect.adjusted(self.PADDING, self.PADDING - 2, -self.PADDING, -self.PADDING + 2)
        line = option.fontMetrics.height()
        title_font = QFont(option.font)
        title_font.setWeight(QFont.Weight.DemiBold)
        painter.setFont(title_font)
        painter.setPen(text_color)
        is_demo = bool(index.data(DemoRole))
        small = QFont(option.font)
        small.setPointSizeF(max(6.0, option.font.pointSizeF() * 0.8))
        badge_room = 0
        if is_demo:
            painter.save()
            painter.setFont(small)
            badge_room = painter.fontMetrics().horizontalAdvance("Demo") + 20
            painter.restore()
        name_rect = QRect(inner.left(), inner.top(), inner.width() - badge_room, line)
        name = painter.fontMetrics().elidedText(
            str(index.data() or ""), Qt.TextElideMode.ElideRight, name_rect.width()
        )
        painter.drawText(
            name_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name
        )
        if is_demo:
            name_width = painter.fontMetrics().horizontalAdvance(name)
            painter.setFont(small)
            badge_rect = QRect(inner.left() + name_width + 8, inner.top(), badge_room, line)
            paint_badge(
                painter,
                badge_rect,
                "Demo",
                QColor(theme.accent_text if selected else theme.warning),
            )
        painter.setFont(option.font)
        painter.setPen(muted)
        sub_rect = QRect(inner.left(), inner.top() + line + 2, inner.width(), line)
        painter.drawText(
            sub_rect,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            option.fontMetrics.elidedText(
                str(index.data(SubtitleRole) or ""), Qt.TextElideMode.ElideRight, sub_rect.width()
            ),
        )
        painter.restore()
