"""Change events turned into reloads of a view: coalesced by a timer, and run only while the
view shows (a view hidden when they arrive reloads on its next show)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QWidget

from ato_desktop.ui.chat.log_tasks import log_closed
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.widgets.coalesce import fire_soon


class VisibleRefresh(QObject):
    """The reload timer of one view.

    Connect change signals to schedule(); call on_show() from the view's showEvent. With
    debounce=False (the default) events closer than the interval reload once, at the end of the
    first interval; with debounce=True every event restarts the interval. Nothing reloads once
    the log has closed (the app is quitting).
    """

    def __init__(
        self,
        view: QWidget,
        ctx: AppContext,
        interval_ms: int,
        reload: Callable[[], object],
        *,
        debounce: bool = False,
    ) -> None:
        super().__init__(view)
        self._view = view
        self._ctx = ctx
        self._reload = reload
        self._debounce = debounce
        self.stale = False
        self.timer = QTimer(self, singleShot=True, interval=interval_ms)
        self.timer.timeout.connect(self._reload_if_visible)

    def schedule(self, *_args: object) -> None:
        """A change the view shows may have happened: reload after the interval."""
        if self._debounce or not self.timer.isActive():
            self.timer.start()

    def on_show(self) -> bool:
        """The view was shown: reload now if a change arrived while hidden (True if so)."""
        if not self.stale:
            return False
        self.stale = False
        fire_soon(self.timer)
        return True

    def _reload_if_visible(self) -> None:
        if log_closed(self._ctx):
            return
        if self._view.isVisible():
            self._reload()
        else:
            self.stale = True
