"""The canvas's view: pan by dragging, zoom with the wheel or +/-, F fits everything, 0 is
100%; an overview (minimap) in the corner shows where the view is on a large graph and moves
it on click or drag; a legend of the source colours and status marks."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QFrame, QGraphicsView, QWidget

from ato_desktop.core.automation_graph import KIND_LABELS, NodeKind
from ato_desktop.ui.automations.canvas_scene import KIND_COLORS, AutomationScene, status_color
from ato_desktop.ui.theme import current_theme

MIN_ZOOM = 0.08
MAX_ZOOM = 3.0
ZOOM_STEP = 1.2
MINIMAP_WIDTH = 200
MINIMAP_HEIGHT = 130


def overlay_painter(widget: QWidget) -> QPainter:
    """A painter on an overlay of the canvas (minimap, legend) with its panel already drawn:
    the surface colour, nearly opaque, in a rounded border."""
    t = current_theme()
    painter = QPainter(widget)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    background = QColor(t.surface)
    background.setAlphaF(0.94)
    painter.setPen(QPen(QColor(t.border), 1))
    painter.setBrush(background)
    painter.drawRoundedRect(QRectF(widget.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 6, 6)
    return painter


class CanvasView(QGraphicsView):
    """The main view over the scene."""

    sig_zoom_changed = Signal(float)
    sig_viewport_moved = Signal()

    def __init__(self, scene: AutomationScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self.setObjectName("AutomationCanvas")
        self.setAccessibleName("Automations canvas")
        self.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        self.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, True)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        # The overlays are children of the viewport, not of the view: a widget of the view
        # laid over the viewport makes every scroll step repaint the whole viewport (Qt cannot
        # move the pixels that are already there), and with hundreds of edges in sight that
        # costs a frame. The viewport's children scroll with it and are put back at once.
        self.minimap = Minimap(self, self.viewport())
        self.legend = Legend(self.viewport())
        self.horizontalScrollBar().valueChanged.connect(lambda _v: self._moved())
        self.verticalScrollBar().valueChanged.connect(lambda _v: self._moved())

    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float) -> None:
        factor = max(MIN_ZOOM, min(MAX_ZOOM, factor))
        current = self.zoom
        if current > 0 and abs(factor - current) > 1e-6:
            self.scale(factor / current, factor / current)
            self.sig_zoom_changed.emit(self.zoom)
            self._moved()

    def zoom_in(self) -> None:
        self.set_zoom(self.zoom * ZOOM_STEP)

    def zoom_out(self) -> None:
        self.set_zoom(self.zoom / ZOOM_STEP)

    def fit(self) -> None:
        """Everything in view (never larger than 100%)."""
        scene = self.scene()
        if scene is None:
            return
        rect = scene.itemsBoundingRect().adjusted(-30, -30, 30, 30)
        if rect.isEmpty():
            return
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom > 1.0:
            self.set_zoom(1.0)
            self.centerOn(rect.center())
        self.sig_zoom_changed.emit(self.zoom)
        self._moved()

    def focus_rect(self, rect: QRectF) -> None:
        """Centre on rect at a readable zoom."""
        if self.zoom < 0.8:
            self.set_zoom(1.0)
        self.centerOn(rect.center())
        self._moved()

    def visible_scene_rect(self) -> QRectF:
        return self.mapToScene(self.viewport().rect()).boundingRect()

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            super().wheelEvent(event)  # Shift+wheel scrolls sideways
            return
        steps = event.angleDelta().y() / 120
        if steps:
            self.set_zoom(self.zoom * (ZOOM_STEP**steps))
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_in()
        elif key in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore):
            self.zoom_out()
        elif key == Qt.Key.Key_F and not event.modifiers():
            self.fit()
        elif key == Qt.Key.Key_0 and not event.modifiers():
            self.set_zoom(1.0)
        else:
            super().keyPressEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_overlays()

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)  # moves the viewport's pixels, overlays included
        self._place_overlays()

    def _place_overlays(self) -> None:
        vp = self.viewport().rect()
        self.minimap.setGeometry(
            vp.right() - MINIMAP_WIDTH - 12,
            vp.bottom() - MINIMAP_HEIGHT - 12,
            MINIMAP_WIDTH,
            MINIMAP_HEIGHT,
        )
        hint = self.legend.sizeHint()
        self.legend.setGeometry(
            vp.left() + 12, vp.bottom() - hint.height() - 12, hint.width(), hint.height()
        )

    def _moved(self) -> None:
        self.minimap.update()
        self.sig_viewport_moved.emit()


class Minimap(QWidget):
    """The whole graph in small (nodes as coloured blocks), the view's rectangle on it."""

    def __init__(self, view: CanvasView, parent: QWidget | None = None) -> None:
        super().__init__(parent if parent is not None else view)
        self.view = view
        self.setObjectName("CanvasMinimap")
        self.setToolTip("Overview: click or drag to move the view")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._cache = QPixmap()
        self._cache_key: tuple[int, int, int] | None = None

    def _mapping(self) -> tuple[QRectF, float, QPointF]:
        scene = self.view.scene()
        bounds = scene.sceneRect() if scene is not None else QRectF()
        if bounds.isEmpty():
            return bounds, 1.0, QPointF()
        inner = QRectF(self.rect()).adjusted(6, 6, -6, -6)
        scale = min(inner.width() / bounds.width(), inner.height() / bounds.height())
        offset = QPointF(
            inner.left() + (inner.width() - bounds.width() * scale) / 2,
            inner.top() + (inner.height() - bounds.height() * scale) / 2,
        )
        return bounds, scale, offset

    def paintEvent(self, event: QPaintEvent) -> None:
        t = current_theme()
        painter = overlay_painter(self)
        scene = self.view.scene()
        if not isinstance(scene, AutomationScene):
            return
        bounds, scale, offset = self._mapping()
        if bounds.isEmpty():
            return
        key = (id(scene.graph), self.width(), self.height())
        if key != self._cache_key:  # the nodes in small change only with the graph or size
            self._cache = QPixmap(self.size())
            self._cache.fill(Qt.GlobalColor.transparent)
            blocks = QPainter(self._cache)
            blocks.setPen(Qt.PenStyle.NoPen)
            for item in scene.nodes.values():
                r = item.sceneBoundingRect()
                blocks.setBrush(QColor(KIND_COLORS[item.node.kind]))
                blocks.drawRect(
                    QRectF(
                        offset.x() + (r.x() - bounds.x()) * scale,
                        offset.y() + (r.y() - bounds.y()) * scale,
                        max(2.0, r.width() * scale),
                        max(1.5, r.height() * scale),
                    )
                )
            blocks.end()
            self._cache_key = key
        painter.drawPixmap(0, 0, self._cache)
        seen = self.view.visible_scene_rect()
        frame = QRectF(
            offset.x() + (seen.x() - bounds.x()) * scale,
            offset.y() + (seen.y() - bounds.y()) * scale,
            seen.width() * scale,
            seen.height() * scale,
        ).intersected(QRectF(self.rect()).adjusted(1, 1, -1, -1))
        accent = QColor(t.accent)
        painter.setPen(QPen(accent, 1.5))
        accent.setAlphaF(0.12)
        painter.setBrush(accent)
        painter.drawRect(frame)

    def _move_to(self, pos: QPointF) -> None:
        bounds, scale, offset = self._mapping()
        if bounds.isEmpty() or scale <= 0:
            return
        target = QPointF(
            bounds.x() + (pos.x() - offset.x()) / scale, bounds.y() + (pos.y() - offset.y()) / scale
        )
        self.view.centerOn(target)
        self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._move_to(event.position())
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._move_to(event.position())
        event.accept()


class Legend(QWidget):
    """The source colours, and what a node's status dot means."""

    ROW = 17

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CanvasLegend")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        # label, colour (None: the status's own, from the theme when painted), kind of mark
        self._entries: list[tuple[str, QColor | None, str]] = [
            (KIND_LABELS[k], QColor(KIND_COLORS[k]), "box") for k in NodeKind
        ]
        self._entries += [
            ("Last run completed", None, "completed"),
            ("Last run failed", None, "failed"),
            ("Running now", None, "running"),
        ]

    def sizeHint(self) -> QSize:
        width = max(self.fontMetrics().horizontalAdvance(label) for label, _c, _k in self._entries)
        return QSize(width + 40, self.ROW * len(self._entries) + 14)

    def paintEvent(self, event: QPaintEvent) -> None:
        t = current_theme()
        painter = overlay_painter(self)
        y = 7
        for label, color, kind in self._entries:
            centre = QPointF(16, y + self.ROW / 2)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(color if color is not None else status_color(kind))
            if kind == "box":
                painter.drawRoundedRect(QRectF(centre.x() - 6, centre.y() - 5, 12, 10), 2, 2)
            else:
                painter.drawEllipse(centre, 4.5, 4.5)
            painter.setPen(QColor(t.text))
            painter.drawText(QPointF(30, centre.y() + self.fontMetrics().ascent() / 2 - 1), label)
            y += self.ROW
