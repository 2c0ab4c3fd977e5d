"""The application's style (Fusion), and the per-widget behaviour it attaches as widgets appear.

Two behaviours concern a few kinds of widget only: the wheel scrolls the page over a spin box or a
combo box until it is chosen (ui/wheel_guard.py), and a window's command shortcuts beat a text
field's own key bindings (main_window.WindowShortcutsFirst). Event filters installed on the whole
application did that, and cost a call into Python, with the GIL, for every event of every object:
while the engine thread streams fifty answers, each of those calls can wait for the GIL, and the
window's timers and paints waited behind them. A style is told about every widget once, when the
widget is first polished; this one installs the filters on the widgets they are for, so every
other widget's events stay in C++.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QKeySequenceEdit,
    QLineEdit,
    QPlainTextEdit,
    QProxyStyle,
    QTextEdit,
    QWidget,
)

from ato_desktop.ui.wheel_guard import GUARDED, WheelGuard

# Widgets that take key sequences with a modifier for themselves (Ctrl+E: end of line, Ctrl+K:
# delete to the end of the line, ...), before the window's shortcuts see them.
TEXT_FIELDS = (QLineEdit, QTextEdit, QPlainTextEdit, QAbstractSpinBox, QComboBox, QKeySequenceEdit)

_wheel_guard: WheelGuard | None = None
_field_filters: list[QObject] = []  # one per window (main_window.WindowShortcutsFirst)


def _live_field_filters() -> list[QObject]:
    _field_filters[:] = [f for f in _field_filters if shiboken6.isValid(f)]
    return _field_filters


def attach(widget: QWidget) -> None:
    """Give a widget the behaviour its kind needs (called once, when it is first polished)."""
    global _wheel_guard
    if isinstance(widget, GUARDED):
        if widget.focusPolicy() == Qt.FocusPolicy.WheelFocus:
            widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the wheel gives no focus
        if _wheel_guard is None or not shiboken6.isValid(_wheel_guard):
            _wheel_guard = WheelGuard(QApplication.instance())
        widget.installEventFilter(_wheel_guard)
    if isinstance(widget, TEXT_FIELDS):
        for field_filter in _live_field_filters():
            widget.installEventFilter(field_filter)


def add_field_filter(field_filter: QObject) -> None:
    """Install field_filter on every text field, those that exist and those to come (it is
    dropped when it is destroyed, e.g. with its window)."""
    _live_field_filters().append(field_filter)
    for widget in QApplication.allWidgets():
        if isinstance(widget, TEXT_FIELDS):
            widget.installEventFilter(field_filter)


class AppStyle(QProxyStyle):
    """Fusion, attaching per-widget behaviour at polish (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__("Fusion")

    def polish(self, arg):  # type: ignore[no-untyped-def]  # three C++ overloads
        result = super().polish(arg)
        if isinstance(arg, QWidget):
            attach(arg)
        return result
