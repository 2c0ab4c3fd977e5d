"""Helpers for the Qt tests: show a page, run a coroutine on the app's loop to its end."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from PySide6.QtWidgets import QWidget

from ato_desktop.ui.main_window import MainWindow

T = TypeVar("T")
W = TypeVar("W", bound=QWidget)

# The `show` fixture of tests/ui: show(*widgets, width=..., height=...) -> the window.
Show = Callable[..., QWidget]


def show_page(qtbot: Any, page: W) -> W:
    """Show page as a window of a fixed size (the offscreen platform warns when a window's size
    constraints change); qtbot closes it after the test."""
    qtbot.addWidget(page)
    page.setFixedSize(1100, 760)
    page.show()
    return page


def run_to_end(ctx: Any, qtbot: Any, coro: Coroutine[Any, Any, T]) -> T:
    """Run coro as a task of the app's context and wait for its result."""
    task = ctx.spawn(coro)
    qtbot.waitUntil(task.done, timeout=15_000)
    return task.result()


def run_on_engine(ctx: Any, qtbot: Any, coro: Coroutine[Any, Any, T]) -> T:
    """Run coro on the app's engine loop (dispatches, kills: as the window does) to its end."""
    return run_to_end(ctx, qtbot, ctx.engine_run(coro))


def open_main_window(
    ctx: Any, qtbot: Any, size: tuple[int, int] | None = None, *, timeout_ms: int = 10_000
) -> MainWindow:
    """The main window over ctx, shown (at size), once its workspace has opened."""
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    if size is not None:
        window.resize(*size)
    window.show()
    with qtbot.waitSignal(ctx.sig_workspace_ready, timeout=timeout_ms):
        ctx.spawn(ctx.open_workspace())
    return window
