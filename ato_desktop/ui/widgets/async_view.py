"""The body of a view that reads the log off the UI thread: a loading line, a message (nothing
yet and what to do next, or an error with Try again) or the view's content. The reads that fill
it are widgets.background.BackgroundWork's: only the newest request's result (or error) shows."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QStackedWidget, QWidget

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
