"""The body of a view that reads the log off the UI thread: a loading line, a message (nothing
yet and what to do next, or an error with Try again) or the view's content; and the reads that
fill it, where only the newest request's result (or error) is shown."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QStackedWidget, QWidget

from ato_desktop.ui.chat.log_tasks import Generations, log_closed
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.runs.history_view import EmptyState

log = logging.getLogger(__name__)

T = TypeVar("T")
Action = tuple[str, Callable[[], object]]  # a message button: its text, what it does

STATE_LOADING = "loading"
STATE_ERROR = "error"


class StateStack(QStackedWidget):
    """Shows one page per state: `loading`, the pages added with add_page, and `message` (an
    EmptyState) for every other state. sig_state_changed follows each show_state."""

    sig_state_changed = Signal(str)

    def __init__(self, loading_text: str, *, name: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loading = QLabel(loading_text)
        if name:
            self.loading.setObjectName(f"{name}Loading")
        self.loading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.loading.setProperty("muted", True)
        self.message = EmptyState()
        if name:
            self.message.setObjectName(f"{name}Empty")
        self._actions: dict[QWidget, Callable[[], object]] = {}
        for button in (self.message.primary, self.message.secondary):
            button.clicked.connect(lambda _c=False, b=button: self._act(b))
        self._pages: dict[str, QWidget] = {}
        self.state = ""
        self.addWidget(self.loading)
        self.addWidget(self.message)
        self.add_page(self.loading, STATE_LOADING)

    def add_page(self, widget: QWidget, *states: str) -> QWidget:
        """widget shows for each of states (added to the stack once)."""
        if self.indexOf(widget) < 0:
            self.addWidget(widget)
        for state in states:
            self._pages[state] = widget
        return widget

    def show_state(self, state: str) -> None:
        self.setCurrentWidget(self._pages.get(state, self.message))
        self.state = state
        self.sig_state_changed.emit(state)

    def show_message(
        self,
        state: str,
        title: str,
        text: str,
        *,
        primary: Action | None = None,
        secondary: Action | None = None,
    ) -> None:
        """The message page in `state`: a title, rich text (escape what is not yours) and up
        to two buttons; a button without an action is hidden."""
        m = self.message
        m.kind = state
        m.title.setText(title)
        m.text.setText(text)
        for button, action in ((m.primary, primary), (m.secondary, secondary)):
            button.setVisible(action is not None)
            if action is not None:
                button.setText(action[0])
                self._actions[button] = action[1]
        self.show_state(state)

    def show_error(self, title: str, error: str, *, retry: Callable[[], object] | None) -> None:
        """A read failed: say what, and offer Try again (when retry is given)."""
        self.show_message(
            STATE_ERROR,
            title,
            html.escape(error),
            primary=("Try again", retry) if retry is not None else None,
        )

    def _act(self, button: QWidget) -> None:
        action = self._actions.get(button)
        if action is not None:
            action()


class NewestRead:
    """Reads of one kind (ctx.read, on a reader thread) where only the newest request's outcome
    is applied: an older read that finishes later is dropped, and so is every outcome once the
    view is deleted (or, for an error, once the log has closed). `pending` counts the reads
    under way; on_busy is called whenever it changes."""

    def __init__(
        self,
        view: QWidget,
        ctx: AppContext,
        *,
        on_busy: Callable[[], object] | None = None,
        log_level: int = logging.WARNING,
    ) -> None:
        self._view = view
        self._ctx = ctx
        self._on_busy = on_busy
        self._log_level = log_level
        self._generations = Generations()
        self.pending = 0

    def drop_pending(self) -> None:
        """What shows now must not be replaced by a read still under way."""
        self._generations.next()

    async def read(
        self,
        read: Callable[..., T],
        *args: Any,
        apply: Callable[[T], object],
        fail: Callable[[str], object],
        what: str = "",
    ) -> bool:
        """read(*args) off the UI thread, then apply(result) or fail(error text) if this is still
        the newest request; True when the result was applied. `what` names it in the log."""
        generation = self._generations.next()
        self._busy(+1)
        try:
            value = await self._ctx.read(read, *args)
        except Exception as exc:  # a read error: say so, keep the app usable
            if log_closed(self._ctx) or not shiboken6.isValid(self._view):
                return False
            if self._generations.is_latest(generation):
                if what:
                    log.log(self._log_level, "%s failed: %s", what, exc)
                fail(str(exc) or type(exc).__name__)
            return False
        finally:
            self._busy(-1)
        if not shiboken6.isValid(self._view) or not self._generations.is_latest(generation):
            return False
        apply(value)
        return True

    def _busy(self, change: int) -> None:
        self.pending += change
        if self._on_busy is not None and shiboken6.isValid(self._view):
            self._on_busy()
