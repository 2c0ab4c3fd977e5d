"""Qt fixtures: a qasync loop that pytest-qt's waits drive, and an app context over a real log.

The loop is created "already running": Qt's event loop is the runner, so qtbot.waitUntil /
waitSignal process asyncio callbacks and async slots run as they do in the app.
"""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import qasync
import shiboken6
from PySide6.QtWidgets import QApplication, QLayout, QVBoxLayout, QWidget

from ato_desktop.store.paths import DataPaths
from ato_desktop.ui.commands import CommandRegistry
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.theme import ThemeManager
from tests.support.qt_helpers import Show


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After each test, once pytest has let go of its fixtures: collect what they left in
    reference cycles now, on the UI thread. Left to Python, the cyclic collector runs on
    whichever thread allocates next, often a reader thread of the next test, and a QObject
    (an AppContext with its timers) deleted there makes Qt warn, or crash."""
    yield
    gc.collect()


@pytest.fixture
def aloop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    loop = qasync.QEventLoop(qapp, already_running=True)
    executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="test-worker")
    loop.set_default_executor(executor)
    asyncio.set_event_loop(loop)
    # Let the loop track and close async generators (the SDKs' HTTP streams), as run_forever
    # does in the app: an already-running qasync loop never installs these hooks, and a stream
    # collected after the test would otherwise be closed with no loop at all.
    previous_hooks = sys.get_asyncgen_hooks()
    sys.set_asyncgen_hooks(
        firstiter=loop._asyncgen_firstiter_hook,  # type: ignore[attr-defined]
        finalizer=loop._asyncgen_finalizer_hook,  # type: ignore[attr-defined]
    )
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
    sys.set_asyncgen_hooks(*previous_hooks)
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


@pytest.fixture
def show(open_ctx: AppContext, qtbot: Any) -> Iterator[Show]:
    """Show widgets stacked in a window of a fixed size; the window is deleted when the test ends.

    The host's layout sets no minimum size on the window: the offscreen platform warns about
    every size-hint change of a shown window, and a page's content changes as data arrives.
    Deleting (not just closing) the window at the end stops the widgets' timers, so nothing of
    this test runs in the next one, after its event loop is gone.
    """
    hosts: list[QWidget] = []

    def show_widgets(*widgets: QWidget, width: int = 1000, height: int = 700) -> QWidget:
        host = QWidget()
        layout = QVBoxLayout(host)
        layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in widgets:
            layout.addWidget(widget)
        host.resize(width, height)
        host.show()
        hosts.append(host)
        return host

    yield show_widgets
    for host in hosts:
        if shiboken6.isValid(host):
            host.close()
            shiboken6.delete(host)


@pytest.fixture
def other_process(ato_home: Path) -> Iterator[str]:
    """The lease token of "another process" that is alive for the whole test: its running runs
    are not taken for orphans (a run whose owner holds no lease is ended `interrupted`)."""
    from ato_desktop.store.process_lease import ProcessLease

    lease = ProcessLease(DataPaths(ato_home).leases_dir)
    yield lease.token
    lease.release()
