"""Status and cost badges: one painter used by item delegates and by a small standalone widget.

Running is blue with a pulse (a ring that grows and fades), completed green, failed red with an
error mark, killed and interrupted grey. Colours come from the current theme when painting, so a
theme switch needs no rebuild. A cost with an estimated source carries a small "est." pill.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from ato_desktop.ui.theme import current_theme
from ato_desktop.ui.widgets.cell_painting import paint_cell_background

STATUS_LABELS = {
    "running": "Running",
    "completed": "Completed",
    "failed": "Failed",
    "killed": "Killed",
    "interrupted": "Interrupted",
    "not_run": "Not run",
}
# Item-data roles the delegates read (models put them on the badge's column).
STATUS_ROLE = int(Qt.ItemDataRole.UserRole) + 40  # "running", "completed", ...
COST_ESTIMATED_ROLE = int(Qt.ItemDataRole.UserRole) + 41  # bool: draw the "est." pill

_HOLLOW = ("killed", "interrupted", "not_run")  # an open ring: the run did not get to an end
_PAD_X = 8
_DOT = 7
_GAP = 6
_HEIGHT = 20


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status.capitalize() if status else "—")


def badge_font(base: QFont) -> QFont:
    font = QFont(base)
    font.setPointSizeF(max(7.5, base.pointSizeF() * 0.9))
    font.setWeight(QFont.Weight.DemiBold)
    return font


_sizes: dict[tuple[str, str], QSize] = {}


def badge_size(status: str, font: QFont) -> QSize:
    key = (status, font.key())
    size = _sizes.get(key)
    if size is None:
        metrics = QFontMetrics(badge_font(font))
        width = _PAD_X * 2 + _DOT + _GAP + metrics.horizontalAdvance(status_label(status))
        size = _sizes[key] = QSize(width, _HEIGHT)
        if len(_sizes) > 256:
            _sizes.clear()
    return QSize(size)


# Pulse phases drawn: a cached badge per step, not a new drawing per cell per pulse tick.
PULSE_STEPS = 24
_BADGE_CACHE_MAX = 512
_badges: dict[tuple[object, ...], QPixmap] = {}


def draw_status_badge(
    painter: QPainter, rect: QRectF, status: str, font: QFont, pulse: float = 0.0
) -> None:
    """paint_status_badge, from a cache of drawn badges (status, phase step, font, theme and
    pixel ratio): item views repaint a column of running badges every pulse tick, and drawing
    each anew was most of what a busy Live view cost the UI thread."""
    ratio = painter.device().devicePixelRatioF() if painter.device() is not None else 1.0
    pixmap = status_badge_pixmap(status, font, ratio, pulse)
    size = badge_size(status, font)
    painter.drawPixmap(QPointF(rect.left(), rect.center().y() - size.height() / 2), pixmap)


def picture(size: QSize, ratio: float, draw: Callable[[QPainter], object]) -> QPixmap:
    """A transparent picture of `size` (device-independent pixels) at pixel ratio `ratio`, with
    what `draw` paints on it."""
    pixmap = QPixmap(size * ratio)
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    try:
        draw(painter)
    finally:
        painter.end()
    return pixmap


def status_badge_pixmap(status: str, font: QFont, ratio: float, pulse: float = 0.0) -> QPixmap:
    """The badge drawn once for its status, phase step, font, theme and pixel ratio; the same
    QPixmap object each time (a cell holding it compares equal when nothing changed)."""
    theme = current_theme()
    step = int(pulse * PULSE_STEPS) % PULSE_STEPS if status == "running" else 0
    key = (status, step, font.key(), theme.name, theme.is_dark, ratio)
    pixmap = _badges.get(key)
    if pixmap is None:
        size = badge_size(status, font)
        # The pulse's ring stays inside the pill (at most 7.5 px around a dot 11.5 px in).
        pixmap = picture(
            size,
            ratio,
            lambda painter: paint_status_badge(
                painter,
                QRectF(0, 0, size.width(), size.height()),
                status,
                font,
                step / PULSE_STEPS,
            ),
        )
        if len(_badges) >= _BADGE_CACHE_MAX:
            _badges.clear()
        _badges[key] = pixmap
    return pixmap


def paint_status_badge(
    painter: QPainter, rect: QRectF, status: str, font: QFont, pulse: float = 0.0
) -> None:
    """Paint a status pill at the left of rect, vertically centred. pulse is a phase in [0, 1)."""
    theme = current_theme()
    color = theme.status_color(status)
    size = badge_size(status, font)
    pill = QRectF(rect.left(), rect.center().y() - size.height() / 2, size.width(), size.height())
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    fill = QColor(color)
    fill.setAlphaF(0.22 if theme.is_dark else 0.12)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(fill)
    painter.drawRoundedRect(pill, pill.height() / 2, pill.height() / 2)

    centre = QPointF(pill.left() + _PAD_X + _DOT / 2, pill.center().y())
    if status == "failed":
        _paint_error_mark(painter, centre, color)
    elif status == "running":
        ring = QColor(color)
        ring.setAlphaF(max(0.0, 0.55 * (1.0 - pulse)))
        painter.setBrush(ring)
        radius = _DOT / 2 + 4.0 * pulse
        painter.drawEllipse(centre, radius, radius)
        painter.setBrush(color)
        painter.drawEllipse(centre, _DOT / 2, _DOT / 2)
    elif status in _HOLLOW:
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(color, 1.6))
        painter.drawEllipse(centre, _DOT / 2 - 0.5, _DOT / 2 - 0.5)
    else:
        painter.setBrush(color)
        painter.drawEllipse(centre, _DOT / 2, _DOT / 2)

    text_color = QColor(color)
    if not theme.is_dark and status not in _HOLLOW:
        text_color = text_color.darker(115)
    painter.setPen(text_color)
    painter.setFont(badge_font(font))
    text_rect = QRectF(
        pill.left() + _PAD_X + _DOT + _GAP, pill.top(), pill.width(), pill.height()
    ).adjusted(0, 0, -(_PAD_X + _DOT + _GAP), 0)
    painter.drawText(
        text_rect,
        int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft),
        status_label(status),
    )
    painter.restore()


def _paint_error_mark(painter: QPainter, centre: QPointF, color: QColor) -> None:
    """A filled circle with an exclamation mark: the 'error icon' of a failed badge."""
    radius = _DOT / 2 + 1.5
    painter.setBrush(color)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(centre, radius, radius)
    pen = QPen(QColor("#FFFFFF"), 1.4)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    painter.setPen(pen)
    painter.drawLine(QPointF(centre.x(), centre.y() - 2.4), QPointF(centre.x(), centre.y() + 0.6))
    painter.drawPoint(QPointF(centre.x(), centre.y() + 2.4))


def paint_pill(painter: QPainter, rect: QRectF, text: str, color: QColor, font: QFont) -> QRectF:
    """A small tinted pill with text (e.g. 'est.', 'Over budget'); returns the rect drawn."""
    small = pill_font(font)
    metrics = QFontMetrics(small)
    width = metrics.horizontalAdvance(text) + 10
    height = metrics.height() + 2
    pill = QRectF(rect.left(), rect.center().y() - height / 2, width, height)
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    fill = QColor(color)
    fill.setAlphaF(0.16)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(fill)
    painter.drawRoundedRect(pill, height / 2, height / 2)
    painter.setPen(color)
    painter.setFont(small)
    painter.drawText(pill, int(Qt.AlignmentFlag.AlignCenter), text)
    painter.restore()
    return pill


def pill_width(text: str, font: QFont) -> float:
    return float(QFontMetrics(pill_font(font)).horizontalAdvance(text) + 10)


def pill_font(base: QFont) -> QFont:
    """The small font of pills (est., outcomes, tags)."""
    font = QFont(base)
    font.setPointSizeF(max(7.0, base.pointSizeF() * 0.8))
    font.setWeight(QFont.Weight.DemiBold)
    return font


class PulseClock(QObject):
    """The phase of the running badge's pulse. Ticks only while someone needs it (start/stop),
    so an idle page costs nothing."""

    sig_ticked = Signal()

    PERIOD_MS = 1400
    TICK_MS = 60

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(self.TICK_MS)
        self._timer.timeout.connect(self._tick)
        self._ms = 0
        self.steady = False  # the badges drawn at rest (their view has too many to pulse)

    @property
    def phase(self) -> float:
        if self.steady:
            return 0.0
        return (self._ms % self.PERIOD_MS) / self.PERIOD_MS

    @property
    def active(self) -> bool:
        return self._timer.isActive()

    def set_active(self, active: bool) -> None:
        if active and not self._timer.isActive():
            self._timer.start()
        elif not active and self._timer.isActive():
            self._timer.stop()
            self._ms = 0

    def _tick(self) -> None:
        self._ms += self.TICK_MS
        self.sig_ticked.emit()


_HAS_FOCUS = QStyle.StateFlag.State_HasFocus
_NOT_FOCUSED = ~QStyle.StateFlag.State_HasFocus


class NoFocusDelegate(QStyledItemDelegate):
    """The default cell painting, without the dotted focus frame on the current cell (rows are
    selected whole; the frame only adds noise)."""

    def initStyleOption(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        super().initStyleOption(option, index)
        if option.state & _HAS_FOCUS:
            option.state &= _NOT_FOCUSED


class StatusBadgeDelegate(NoFocusDelegate):
    """Paints the STATUS_ROLE of a cell as a badge (the selection background stays Qt's)."""

    def __init__(self, parent: QObject | None = None, clock: PulseClock | None = None) -> None:
        super().__init__(parent)
        self._clock = clock

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        opt = paint_cell_background(self, painter, option, index)
        status = index.data(STATUS_ROLE)
        if not status:
            return
        rect = QRectF(opt.rect).adjusted(8, 0, -4, 0)
        phase = self._clock.phase if (self._clock is not None and status == "running") else 0.0
        draw_status_badge(painter, rect, str(status), opt.font, phase)

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        status = index.data(STATUS_ROLE) or "interrupted"
        size = badge_size(str(status), option.font)
        return QSize(size.width() + 14, size.height() + 8)


class CostDelegate(NoFocusDelegate):
    """Right-aligned cost text, with an 'est.' pill when COST_ESTIMATED_ROLE is true."""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        if not index.data(COST_ESTIMATED_ROLE):
            super().paint(painter, option, index)
            return
        opt = paint_cell_background(self, painter, option, index)
        theme = current_theme()
        pill_w = pill_width("est.", opt.font)
        rect = QRectF(opt.rect).adjusted(6, 0, -8, 0)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        painter.save()
        painter.setFont(opt.font)
        painter.setPen(QColor(theme.accent_text if selected else theme.text))
        text_rect = rect.adjusted(0, 0, -(pill_w + 4), 0)
        painter.drawText(
            text_rect, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight), opt.text
        )
        painter.restore()
        pill_rect = QRectF(rect.right() - pill_w, rect.top(), pill_w, rect.height())
        color = QColor(theme.accent_text) if selected else QColor(theme.warning)
        paint_pill(painter, pill_rect, "est.", color, opt.font)

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        size = super().sizeHint(option, index)
        if index.data(COST_ESTIMATED_ROLE):
            size.setWidth(size.width() + int(pill_width("est.", option.font)) + 8)
        return size


class StatusBadge(QWidget):
    """A standalone status badge (run headers); pulses while running and visible."""

    def __init__(self, status: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._status = status
        self._clock = PulseClock(self)
        self._clock.sig_ticked.connect(self.update)
        self.setObjectName("StatusBadge")
        self.setSizePolicy(self.sizePolicy().horizontalPolicy(), self.sizePolicy().verticalPolicy())

    @property
    def status(self) -> str:
        return self._status

    def set_status(self, status: str) -> None:
        self._status = status
        self.setToolTip(status_label(status))
        self.setAccessibleName(f"Status: {status_label(status)}")
        self._clock.set_active(status == "running" and self.isVisible())
        self.updateGeometry()
        self.update()

    def showEvent(self, event: object) -> None:
        self._clock.set_active(self._status == "running")

    def hideEvent(self, event: object) -> None:
        self._clock.set_active(False)

    def sizeHint(self) -> QSize:
        return badge_size(self._status or "interrupted", self.font()) + QSize(2, 4)

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self._status:
            return
        painter = QPainter(self)
        rect = QRectF(QRect(0, 0, self.width(), self.height())).adjusted(1, 0, 0, 0)
        paint_status_badge(painter, rect, self._status, self.font(), self._clock.phase)
        painter.end()
