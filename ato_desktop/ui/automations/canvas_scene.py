"""The Automations canvas scene: a node item per definition or agent (coloured by source, with
its live status: the last run's outcome, a pulse while one runs, the success rate) and an edge
item per hand-off, placed by core.canvas_layout.

Items paint themselves (no child text items) and edges hide their labels when zoomed out, so
500 nodes stay smooth; the pulse repaints only the running nodes.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QObject, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPen,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsObject,
    QGraphicsScene,
    QGraphicsSceneMouseEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from ato_desktop.core.automation_graph import (
    AutomationGraph,
    EdgeKind,
    GraphEdge,
    GraphNode,
    NodeKind,
    NodeStatus,
)
from ato_desktop.core.canvas_layout import Layout, LayoutNode, layered_layout
from ato_desktop.ui.theme import current_theme

NODE_WIDTH = 200.0
NODE_HEIGHT = 58.0
LAYER_GAP = 150.0
NODE_GAP = 22.0
LABEL_MIN_ZOOM = 0.55  # edge labels and detail lines below this zoom are not drawn
SMOOTH_EDGES_MAX = 200  # more edges than this are drawn without antialiasing

# Source colours: distinct hues that read on the light and the dark theme alike.
KIND_COLORS: dict[NodeKind, str] = {
    NodeKind.SCHEDULE: "#8b5cf6",
    NodeKind.HOOK: "#f59e0b",
    NodeKind.PIPELINE: "#0ea5e9",
    NodeKind.ROUTER: "#14b8a6",
    NodeKind.SKILL: "#ec4899",
    NodeKind.AGENT: "#64748b",
}


def status_color(status: str | None) -> QColor:
    t = current_theme()
    return QColor(
        {
            "running": t.running,
            "completed": t.completed,
            "failed": t.failed,
        }.get(status or "", t.neutral)
    )


class NodeItem(QGraphicsObject):
    """One node: a card with a source stripe, its name, a detail line and its status."""

    def __init__(self, node: GraphNode, scene: AutomationScene) -> None:
        super().__init__()
        self.node = node
        self._canvas = scene
        self.status = NodeStatus()
        self.highlight = False
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(self._tooltip())
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self._hover = False

    def boundingRect(self) -> QRectF:
        return QRectF(-3, -3, NODE_WIDTH + 6, NODE_HEIGHT + 6)

    def set_status(self, status: NodeStatus) -> None:
        if status != self.status:
            self.status = status
            self.setToolTip(self._tooltip())
            self.update()

    def _tooltip(self) -> str:
        from ato_desktop.core.automation_graph import KIND_LABELS

        parts = [f"{KIND_LABELS[self.node.kind]} {self.node.title}"]
        if self.node.detail:
            parts.append(self.node.detail)
        if not self.node.enabled:
            parts.append("disabled")
        s = self.status
        if s.last_status:
            parts.append(f"last run {s.last_status}")
        if s.success_rate is not None:
            parts.append(f"{s.success_rate * 100:.0f}% of the last {s.runs} runs succeeded")
        return "\n".join(parts)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        t = current_theme()
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        rect = QRectF(0, 0, NODE_WIDTH, NODE_HEIGHT)
        kind_color = QColor(KIND_COLORS[self.node.kind])
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        selected = self.isSelected()
        border = QColor(t.accent) if selected or self.highlight else QColor(t.border)
        painter.setPen(QPen(border, 2.2 if selected or self.highlight else 1.0))
        background = QColor(t.surface)
        if self._hover:
            background = QColor(t.surface_alt)
        painter.setBrush(background)
        if not self.node.enabled:
            painter.setOpacity(0.55)
        painter.drawRoundedRect(rect, 8, 8)
        stripe = QPainterPath()
        stripe.addRoundedRect(QRectF(0, 0, 10, NODE_HEIGHT), 8, 8)
        clip = QPainterPath()
        clip.addRect(QRectF(0, 0, 5, NODE_HEIGHT))
        painter.fillPath(stripe.intersected(clip), kind_color)
        if lod < 0.3:
            return
        painter.setPen(QColor(t.text))
        font = QFont(self._canvas.canvas_font)
        font.setWeight(QFont.Weight.DemiBold)
        painter.setFont(font)
        metrics = QFontMetricsF(font)
        title = metrics.elidedText(self.node.title, Qt.TextElideMode.ElideRight, NODE_WIDTH - 44)
        painter.drawText(QPointF(14, 22), title)
        if lod >= LABEL_MIN_ZOOM:
            small = QFont(self._canvas.canvas_font)
            small.setPointSizeF(max(7.0, small.pointSizeF() * 0.85))
            painter.setFont(small)
            painter.setPen(QColor(t.text_muted))
            detail = self.node.detail or _KIND_WORDS[self.node.kind]
            if not self.node.enabled:
                detail = f"disabled · {detail}"
            small_metrics = QFontMetricsF(small)
            rate = self.status.success_rate
            rate_text = f"{rate * 100:.0f}%" if rate is not None else ""
            room = NODE_WIDTH - 24 - (small_metrics.horizontalAdvance(rate_text) + 8)
            painter.drawText(
                QPointF(14, 43), small_metrics.elidedText(detail, Qt.TextElideMode.ElideRight, room)
            )
            if rate_text:
                painter.setPen(status_color("completed" if rate and rate >= 0.8 else "failed"))
                painter.drawText(
                    QPointF(NODE_WIDTH - 10 - small_metrics.horizontalAdvance(rate_text), 43),
                    rate_text,
                )
        self._paint_status(painter)

    def _paint_status(self, painter: QPainter) -> None:
        s = self.status
        if s.last_status is None and not s.running:
            return
        centre = QPointF(NODE_WIDTH - 16, 17)
        color = status_color("running" if s.running else s.last_status)
        if s.running:
            phase = self._canvas.pulse_phase
            ring = QColor(color)
            ring.setAlphaF(max(0.0, 0.55 * (1 - phase)))
            painter.setPen(QPen(ring, 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(centre, 5 + 6 * phase, 5 + 6 * phase)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawEllipse(centre, 5, 5)

    def hoverEnterEvent(self, event: object) -> None:
        self._hover = True
        self.update()

    def hoverLeaveEvent(self, event: object) -> None:
        self._hover = False
        self.update()

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        self._canvas.sig_node_activated.emit(self.node.id)
        event.accept()


_KIND_WORDS = {
    NodeKind.SCHEDULE: "schedule",
    NodeKind.HOOK: "hook",
    NodeKind.PIPELINE: "pipeline",
    NodeKind.ROUTER: "routed group",
    NodeKind.SKILL: "skill flow",
    NodeKind.AGENT: "agent",
}


class EdgeItem(QGraphicsItem):
    """A hand-off: a curve from the right side of one node to the left side of the next, with
    an arrowhead; "triggers" edges (a run of an agent firing a hook) are dashed.

    Edges go under the cards. One whose curve would pass under a card on its way (a hook
    reaching an agent two columns away) and so seem to end there is bent around the cards
    (route_around); when no bend clears them it is drawn over the cards, on a halo of the
    canvas colour, its label moved off them.
    """

    def __init__(self, edge: GraphEdge, src: QRectF, dst: QRectF, scene: AutomationScene) -> None:
        super().__init__()
        self.edge = edge
        self._canvas = scene
        self._style_theme = ""  # the theme (and smoothness) its pens were made for
        self._style: tuple[QPen, QColor, QColor, QColor] | None = None
        self.setZValue(-1)
        self.crosses_node = False  # see set_crossing
        self.bend = 0.0  # how far route_around moved the curve off its straight course
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        if edge.kind is EdgeKind.TRIGGERS:
            # Back from an agent (right column) to its hook (left): under the cards, bowed.
            start = QPointF(src.left(), src.center().y())
            end = QPointF(dst.right(), dst.center().y())
        else:
            start = QPointF(src.right(), src.center().y())
            end = QPointF(dst.left(), dst.center().y())
        self.start, self.end = start, end
        self._shape(0.0)

    def _shape(self, bend: float) -> None:
        """The curve (bent by `bend` px: down when positive), its arrowhead and label box."""
        start, end = self.start, self.end
        path = QPainterPath(start)
        if self.edge.kind is EdgeKind.TRIGGERS:
            bow = 40.0 + abs(start.x() - end.x()) * 0.08
            if bend < 0:  # above the cards instead
                low = min(start.y(), end.y()) - bow + bend
            else:
                low = max(start.y(), end.y()) + bow + bend
            path.cubicTo(QPointF(start.x() - 60, low), QPointF(end.x() + 60, low), end)
        else:
            dx = max(40.0, (end.x() - start.x()) / 2)
            path.cubicTo(
                QPointF(start.x() + dx, start.y() + bend),
                QPointF(end.x() - dx, end.y() + bend),
                end,
            )
        self.prepareGeometryChange()
        self.bend = bend
        self.path = path
        # The arrowhead along the curve's last direction, made once (painting is hot).
        before = path.pointAtPercent(0.97)
        angle = math.atan2(end.y() - before.y(), end.x() - before.x())
        head = QPainterPath(end)
        for offset in (0.43, -0.43):
            head.lineTo(
                QPointF(
                    end.x() - 9 * math.cos(angle + offset), end.y() - 9 * math.sin(angle + offset)
                )
            )
        head.closeSubpath()
        self.head = head
        self._bounds = path.boundingRect().adjusted(-10, -10, 10, 10)
        self._place_label(0.5)

    def _place_label(self, at: float) -> None:
        if self.edge.label:
            metrics = QFontMetricsF(self._canvas.label_font)
            mid = self.path.pointAtPercent(at)
            w = metrics.horizontalAdvance(self.edge.label) + 10
            self._label_rect = QRectF(mid.x() - w / 2, mid.y() - 9, w, 18)
            self._bounds = (
                self.path.boundingRect().adjusted(-10, -10, 10, 10).united(self._label_rect)
            )
        else:
            self._label_rect = QRectF()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def crossed_cards(self, cards: list[QRectF]) -> list[QRectF]:
        """Of cards (not this edge's ends), those the curve passes through."""
        return [card for card in cards if self.passes_through(card)]

    def route_around(self, cards: list[QRectF], *, step: float = 36.0, tries: int = 10) -> bool:
        """Bend the curve until it passes no card of cards (the nearest bend first, down then
        up); True when one did. Else it keeps its course and is drawn over them."""
        if not self.crossed_cards(cards):
            return True
        for i in range(1, tries + 1):
            for bend in (step * i, -step * i):
                self._shape(bend)
                if not self.crossed_cards(cards):
                    return True
        self._shape(0.0)
        # Over the cards: its label where no card is.
        for at in (0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8, 0.12, 0.88):
            self._place_label(at)
            if not any(card.intersects(self._label_rect) for card in cards):
                break
        return False

    def passes_through(self, rect: QRectF, samples: int = 48) -> bool:
        """Whether the curve runs inside rect (a card other than its ends) anywhere."""
        inner = rect.adjusted(2, 2, -2, -2)
        if not self._bounds.intersects(inner):
            return False
        return any(
            inner.contains(self.path.pointAtPercent(i / samples)) for i in range(samples + 1)
        )

    def set_crossing(self, crosses: bool) -> None:
        """Over the cards (crosses a card) or under them (the usual)."""
        self.crosses_node = crosses
        self.setZValue(1 if crosses else -1)
        self.update()

    def shape(self) -> QPainterPath:
        return QPainterPathStroker().createStroke(self.path)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        t = current_theme()
        if self._style_theme != f"{t.name}:{self._canvas.smooth_edges}":
            # Pens and colours once per theme, not per frame: panning repaints hundreds of edges.
            color = QColor(t.text_muted)
            if self.edge.kind is EdgeKind.TRIGGERS:
                color = QColor(KIND_COLORS[NodeKind.HOOK])
            color.setAlphaF(0.75)
            if self._canvas.smooth_edges:
                pen = QPen(color, 1.4)
            else:
                # Without antialiasing a 1.4 px curve is drawn a pixel wide anyway; a cosmetic
                # one-pixel pen says so, and Qt draws it without stroking the curve first
                # (several times faster: panning a 500-node canvas repaints hundreds).
                pen = QPen(color, 0)
                pen.setCosmetic(True)
            if self.edge.kind is EdgeKind.TRIGGERS:
                pen.setStyle(Qt.PenStyle.DashLine)
            self._style = (pen, color, QColor(t.window), QColor(t.text_muted))
            self._style_theme = f"{t.name}:{self._canvas.smooth_edges}"
        assert self._style is not None
        pen, color, label_bg, label_fg = self._style
        # Antialiased long curves cost most of a frame on a big graph: only on small ones.
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, self._canvas.smooth_edges)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if self.crosses_node:  # over a card: a halo keeps it a line across it, not a scratch
            halo = QPen(label_bg, 5.0)
            halo.setCapStyle(Qt.PenCapStyle.RoundCap)
            painter.setPen(halo)
            painter.drawPath(self.path)
        painter.setPen(pen)
        painter.drawPath(self.path)
        painter.fillPath(self.head, color)
        if (
            self.edge.label
            and option.levelOfDetailFromTransform(painter.worldTransform()) >= LABEL_MIN_ZOOM
        ):
            painter.setFont(self._canvas.label_font)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(label_bg)
            painter.drawRoundedRect(self._label_rect, 5, 5)
            painter.setPen(label_fg)
            painter.drawText(self._label_rect, int(Qt.AlignmentFlag.AlignCenter), self.edge.label)


class AutomationScene(QGraphicsScene):
    """The graph laid out; node items by id; a pulse clock for running nodes."""

    sig_node_activated = Signal(str)  # double-clicked: edit it

    PULSE_MS = 70
    PULSE_PERIOD_MS = 1400

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        self.graph = AutomationGraph()
        self.layout: Layout | None = None
        self.nodes: dict[str, NodeItem] = {}
        self.edges: list[EdgeItem] = []
        self.canvas_font = QFont()
        self.label_font = QFont()
        self.label_font.setPointSizeF(max(7.0, self.canvas_font.pointSizeF() * 0.8))
        self.pulse_phase = 0.0
        self.smooth_edges = True
        self._pulse_ms = 0
        self._pulse = QTimer(self, interval=self.PULSE_MS)
        self._pulse.timeout.connect(self._tick)

    def set_graph(self, graph: AutomationGraph) -> None:
        """Replace every item with the new graph's, laid out afresh."""
        self._pulse.stop()
        self.clear()
        self.nodes = {}
        self.edges = []
        self.graph = graph
        layout = layered_layout(
            [LayoutNode(n.id, n.layer, NODE_WIDTH, NODE_HEIGHT) for n in graph.nodes],
            [(e.src, e.dst) for e in graph.edges if e.kind is not EdgeKind.TRIGGERS],
            layer_gap=LAYER_GAP,
            node_gap=NODE_GAP,
        )
        self.layout = layout
        self.smooth_edges = len(graph.edges) <= SMOOTH_EDGES_MAX
        for node in graph.nodes:
            item = NodeItem(node, self)
            r = layout.rects[node.id]
            item.setPos(r.x, r.y)
            self.addItem(item)
            self.nodes[node.id] = item
        for edge in graph.edges:
            src, dst = layout.rects.get(edge.src), layout.rects.get(edge.dst)
            if src is None or dst is None:
                continue
            item_edge = EdgeItem(
                edge,
                QRectF(src.x, src.y, src.width, src.height),
                QRectF(dst.x, dst.y, dst.width, dst.height),
                self,
            )
            self.addItem(item_edge)
            self.edges.append(item_edge)
            self._clear_cards(item_edge)
        margin = 60.0
        self.setSceneRect(
            QRectF(-margin, -margin, layout.width + 2 * margin, layout.height + 2 * margin + 60)
        )

    def _clear_cards(self, item: EdgeItem) -> None:
        """An edge that would pass under a card (not its own ends) bends around the cards near
        it (found through the scene's index), or else is drawn over them."""
        ends = {item.edge.src, item.edge.dst}

        def cards_near() -> list[QRectF]:
            around = item.boundingRect().adjusted(-400, -400, 400, 400)
            return [
                other.sceneBoundingRect()
                for other in self.items(around)
                if isinstance(other, NodeItem) and other.node.id not in ends
            ]

        near = [card for card in cards_near() if item.passes_through(card)]
        if near and not item.route_around(cards_near()):
            item.set_crossing(True)

    def set_statuses(self, statuses: dict[str, NodeStatus]) -> None:
        for node_id, item in self.nodes.items():
            item.set_status(statuses.get(node_id, NodeStatus()))
        self.update_pulse()

    def running_items(self) -> list[NodeItem]:
        return [item for item in self.nodes.values() if item.status.running]

    def update_pulse(self, visible: bool = True) -> None:
        active = visible and bool(self.running_items())
        if active and not self._pulse.isActive():
            self._pulse.start()
        elif not active:
            self._pulse.stop()

    @property
    def pulsing(self) -> bool:
        return self._pulse.isActive()

    def _tick(self) -> None:
        self._pulse_ms = (self._pulse_ms + self.PULSE_MS) % self.PULSE_PERIOD_MS
        self.pulse_phase = self._pulse_ms / self.PULSE_PERIOD_MS
        for item in self.running_items():
            item.update()

    def repaint_theme(self) -> None:
        for item in self.items():
            item.update()
        self.setBackgroundBrush(QBrush(QColor(current_theme().window)))
