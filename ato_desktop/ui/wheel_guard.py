"""The mouse wheel scrolls the page, and changes a field only once the user has chosen it.

Spin boxes, combo boxes and sliders take the wheel by default, and even take the focus from it:
scrolling Settings over the receiver port changed it from 4318 to 4312. Installed on the
application, WheelGuard gives those fields a click-or-Tab focus policy when they are first
polished, and hands a wheel over an unfocused one to the scroll area around it (or drops it).
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSpinBox,
    QComboBox,
    QSlider,
    QWidget,
)

# Fields whose value a wheel changes. Not scroll bars: the wheel is theirs (a scroll area hands
# the wheel to its own bar, which must take it).
GUARDED = (QAbstractSpinBox, QComboBox, QSlider)


def _scroll_area_around(widget: QWidget, vertical: bool) -> QAbstractScrollArea | None:
    """The nearest scroll area around widget that can scroll that way (a nested one that
    cannot leaves it to the next one out)."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea) and not isinstance(parent, GUARDED):
            bar = parent.verticalScrollBar() if vertical else parent.horizontalScrollBar()
            if bar.maximum() > bar.minimum():
                return parent
        parent = parent.parentWidget()
    return None


class WheelGuard(QObject):
    """The event filter of the guarded fields (see the module docstring)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._handing_over = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.Wheel or not isinstance(watched, GUARDED):
            return False
        if watched.hasFocus():
            return False  # chosen: the wheel steps it
        assert isinstance(event, QWheelEvent)
        delta = event.angleDelta()
        area = _scroll_area_around(watched, vertical=abs(delta.y()) >= abs(delta.x()))
        if area is not None and not self._handing_over:
            self._handing_over = True  # a field inside that area must not send it back here
            try:
                QCoreApplication.sendEvent(area.viewport(), event)  # the page scrolls instead
            finally:
                self._handing_over = False
        return True
