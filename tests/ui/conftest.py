"""Qt fixtures: a qasync loop that pytest-qt's waits drive, and an app context over a real log.

The loop is created "already running": Qt's event loop is the runner, so qtbot.waitUntil /
waitSignal process asyncio callbacks and async slots run as they do in the app.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtWidgets import QApplication

from ato_desktop.store.paths import DataPaths
from ato_desktop.ui.commands import CommandRegistry
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.theme import ThemeManager


@pytest.fixture
def aloop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    loop = qasync.QEventLoop(qapp, already_running=True)
    executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="test-worker")
    loop.set_default_executor(executor)
    asyncio.set_event_loop(loop)
    yield loop
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    for _ in range(20):
        qapp.processEvents()
        if all(t.done() for t in pending):
            break
    # Finalise async generators (SDK streams) now, not at interpreter exit with no loop.
    agen_done: list[bool] = []
    shutdown = asyncio.ensure_future(loop.shutdown_asyncgens())
    shutdown.add_done_callback(lambda _f: agen_done.append(True))
    for _ in range(50):
        if agen_done:
            break
        qapp.processEvents()
    asyncio.events._set_running_loop(None)
    executor.shutdown(wait=True)
    asyncio.set_event_loop(None)


@pytest.fixture
def ui_ctx(qapp: QApplication, aloop: asyncio.AbstractEventLoop, ato_home: Path) -> AppContext:
    theme = ThemeManager(qapp)
    return AppContext(CommandRegistry(), theme, DataPaths(ato_home))


@pytest.fixture
def open_ctx(ui_ctx: AppContext, qtbot: Any) -> Iterator[AppContext]:
    """A context whose workspace is open (the log is real, in this test's ATO_HOME)."""
    with qtbot.waitSignal(ui_ctx.sig_workspace_ready, timeout=10_000):
        ui_ctx.spawn(ui_ctx.open_workspace())
    yield ui_ctx
    if ui_ctx.workspace is not None:
        done: list[bool] = []
        task = ui_ctx.spawn(ui_ctx.shutdown())
        task.add_done_callback(lambda _t: done.append(True))
        qtbot.waitUntil(lambda: bool(done), timeout=10_000)
