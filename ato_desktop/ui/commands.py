"""Commands as data: one registry that menus, shortcuts, the palette and the tray are built from.

A command is an id, a title, a section, an optional shortcut and what it runs. Most are declared
at module level, bound late (like qutebrowser's `cmdutils.register(instance=...)` or app-model's
Actions): they name a target ("window", "tray" or a page id) and a method of it, and the target
is found only when the command runs, so a page's commands are listed, and their shortcuts
bound, from start-up, before the page is built (ui/pages/page_commands.py). A few are bound at
once (a callback). The main window turns each into a QAction: on itself for a window command,
on its page for a page command, so a page's keys work only while the page shows.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence

# A target's resolver: the object that runs a command of that target, or None when there is
# none yet (a page before the log is open, the tray before the workspace is).
Resolver = Callable[["Command"], object | None]


@dataclass(frozen=True)
class Command:
    """Something the user can do, wherever it is offered."""

    id: str
    title: str
    callback: Callable[[], object] | None = None  # bound at once; else `method` of `target`
    section: str = "General"
    shortcut: str | None = None  # QKeySequence text, e.g. "Ctrl+E"; "Ctrl" is Cmd on macOS
    description: str = ""
    # Shortcut scope: "window" (anywhere in the main window) or "page" (only while the page
    # that registered it shows; e.g. single-letter keys on the Runs page).
    scope: str = "window"
    page_id: str | None = None
    keywords: tuple[str, ...] = field(default_factory=tuple)
    # Bound late: what runs it ("window", "tray", a page id), found when it runs, and the
    # method of it called with args (a dotted path reaches an attribute's method).
    target: str | None = None
    method: str = ""
    args: tuple[Any, ...] = ()
    in_menus: bool = True  # in the window's menus
    in_palette: bool = True  # listed by the palette (Ctrl+K)

    def bound(self, instance: object) -> Command:
        """This command with its method resolved on instance (e.g. a page's own commands)."""
        return replace(self, callback=partial(method_of(instance, self.method), *self.args))


def method_of(instance: object, path: str) -> Callable[..., object]:
    """instance's method at a dotted path ("replay.replay_current"): AttributeError if none."""
    target: Any = instance
    for name in path.split("."):
        target = getattr(target, name)
    if not callable(target):
        raise AttributeError(f"{type(instance).__name__}.{path} is not callable")
    return target  # type: ignore[no-any-return]


class CommandRegistry(QObject):
    """All commands of the app, in registration order."""

    sig_commands_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._commands: dict[str, Command] = {}
        self._actions: dict[str, QAction] = {}
        self._targets: dict[str, Resolver] = {}

    def declare(self, commands: Iterable[Command]) -> None:
        """Register those of commands not registered yet (declarations shared by several
        owners: the window's and the tray's)."""
        for command in commands:
            if command.id not in self._commands:
                self.register(command)

    def provide(self, target: str, instance: object) -> None:
        """instance runs target's commands from now on (held weakly: the registry outlives
        windows and trays)."""
        ref = weakref.ref(instance)
        self._targets[target] = lambda _command: ref()

    def provide_with(self, target: str, resolve: Callable[[Command], object | None]) -> None:
        """A bound method finds target's instance when one of its commands runs (held weakly)."""
        method = weakref.WeakMethod(resolve)

        def find(command: Command) -> object | None:
            live = method()
            return live(command) if live is not None else None

        self._targets[target] = find

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
        """Run a command: its callback, or its method on its target as found now (nothing when
        the target is not there yet, e.g. a page before the log is open)."""
        command = self._commands[command_id]
        if command.callback is not None:
            command.callback()
            return
        resolve = self._targets.get(command.target or "")
        instance = resolve(command) if resolve is not None else None
        if instance is not None:
            method_of(instance, command.method)(*command.args)

    def retitle(self, command_id: str, title: str) -> None:
        """Say what the command does now (Pause schedules / Resume schedules)."""
        command = self._commands[command_id]
        if command.title != title:
            self._commands[command_id] = replace(command, title=title)
            self._actions[command_id].setText(title)

    def __iter__(self) -> Iterator[Command]:
        return iter(list(self._commands.values()))

    def __contains__(self, command_id: object) -> bool:
        return command_id in self._commands

    def with_shortcuts(self) -> list[Command]:
        return [c for c in self._commands.values() if c.shortcut]
