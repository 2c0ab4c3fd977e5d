"""Commands as data: one registry that menus, shortcuts, the palette and the tray are built from.

A command is an id, a title, a section, an optional shortcut and a callback. Pages register
theirs when they are built; the main window turns each into a QAction on itself, so its shortcut
works from anywhere in the window.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence


@dataclass(frozen=True)
class Command:
    """Something the user can do, wherever it is offered."""

    id: str
    title: str
    callback: Callable[[], object]
    section: str = "General"
    shortcut: str | None = None  # QKeySequence text, e.g. "Ctrl+E"; "Ctrl" is Cmd on macOS
    description: str = ""
    # Shortcut scope: "window" (anywhere in the main window) or "page" (only while the page
    # that registered it shows; e.g. single-letter keys on the Runs page).
    scope: str = "window"
    page_id: str | None = None
    keywords: tuple[str, ...] = field(default_factory=tuple)


class CommandRegistry(QObject):
    """All commands of the app, in registration order."""

    sig_commands_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._commands: dict[str, Command] = {}
        self._actions: dict[str, QAction] = {}

    def register(self, command: Command) -> QAction:
        """Add (or replace) a command; returns its QAction for menus and buttons."""
        self._commands[command.id] = command
        action = self._actions.get(command.id)
        if action is None:
            action = QAction(command.title, self)
            action.triggered.connect(lambda _checked=False, cid=command.id: self.run(cid))
            self._actions[command.id] = action
        action.setText(command.title)
        action.setToolTip(
            f"{command.title} ({command.shortcut})" if command.shortcut else command.title
        )
        if command.shortcut:
            action.setShortcut(QKeySequence(command.shortcut))
            # Window context for both scopes: the main window attaches a page's actions to the
            # page widget, and an action on a hidden widget never matches, so a page's keys work
            # wherever the focus is while the page shows, and never clash with another page's.
            # Text fields still take printable keys first (they claim ShortcutOverride).
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.sig_commands_changed.emit()
        return action

    def action(self, command_id: str) -> QAction:
        return self._actions[command_id]

    def get(self, command_id: str) -> Command:
        return self._commands[command_id]

    def run(self, command_id: str) -> None:
        self._commands[command_id].callback()

    def __iter__(self) -> Iterator[Command]:
        return iter(list(self._commands.values()))

    def __contains__(self, command_id: object) -> bool:
        return command_id in self._commands

    def with_shortcuts(self) -> list[Command]:
        return [c for c in self._commands.values() if c.shortcut]
