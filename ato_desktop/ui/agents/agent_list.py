"""The agents list: a model of agents and a delegate with the name, a Demo badge and the model."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, Qt
from PySide6.QtGui import QColor, QFont, QPainter

from ato_desktop.core.records import AgentRecord
from ato_desktop.ui.widgets.record_list_model import RecordListModel
from ato_desktop.ui.widgets.two_line_delegate import TwoLineDelegate, TwoLineRow

AgentIdRole = Qt.ItemDataRole.UserRole + 1
SubtitleRole = Qt.ItemDataRole.UserRole + 2
DemoRole = Qt.ItemDataRole.UserRole + 3

Index = QModelIndex | QPersistentModelIndex


def agent_subtitle(agent: AgentRecord) -> str:
    return f"{agent.config.runtime} · {agent.config.model} · v{agent.current_version}"


class AgentListModel(RecordListModel[AgentRecord]):
    """Agents by name."""

    def set_agents(self, agents: list[AgentRecord]) -> None:
        self.set_records(agents)

    def agent(self, row: int) -> AgentRecord:
        return self.record(row)

    def is_named(self, record: AgentRecord, key: str) -> bool:
        return key in (record.id, record.name)

    def record_data(self, agent: AgentRecord, role: int) -> Any:
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


class AgentDelegate(TwoLineDelegate):
    """Name and Demo badge on the first line; runtime, model and version on the second."""

    def paint_lines(self, row: TwoLineRow, index: Index) -> None:
        painter, option = row.painter, row.option
        is_demo = bool(index.data(DemoRole))
        small = QFont(option.font)
        small.setPointSizeF(max(6.0, option.font.pointSizeF() * 0.8))
        badge_room = 0
        if is_demo:
            painter.save()
            painter.setFont(small)
            badge_room = painter.fontMetrics().horizontalAdvance("Demo") + 20
            painter.restore()
        name = row.title(row.first_line(badge_room), str(index.data() or ""))
        if is_demo:
            name_width = painter.fontMetrics().horizontalAdvance(name)
            painter.setFont(small)
            left = row.inner.left() + name_width + 8
            badge_rect = QRect(left, row.inner.top(), badge_room, row.line)
            paint_badge(
                painter,
                badge_rect,
                "Demo",
                QColor(row.theme.accent_text if row.selected else row.theme.warning),
            )
        row.detail(row.second_line(), str(index.data(SubtitleRole) or ""))
