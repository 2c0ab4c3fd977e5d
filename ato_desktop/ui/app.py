"""Start the desktop app: QApplication on qasync, the window painted first, then the log."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ato_desktop import APP_ID, APP_NAME, __version__

if TYPE_CHECKING:  # imported when called: the window paints before the rest loads
    from concurrent.futures import ThreadPoolExecutor

    import qasync
    from PySide6.QtWidgets import QApplication

    from ato_desktop.store.paths import DataPaths
    from ato_desktop.ui.context import AppContext
    from ato_desktop.ui.main_window import MainWindow

log = logging.getLogger(__name__)


def create_application(argv: Sequence[str]) -> QApplication:
    """The QApplication with the app's names, desktop file id and icon."""
    from PySide6.QtWidgets import QApplication

    from ato_desktop.ui.main_window import app_icon

    app = QApplication.instance() or QApplication(list(argv))
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationDomain("ato.dev")
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon())
    return app


def create_window(app: QApplication, paths: DataPaths) -> tuple[AppContext, MainWindow]:
    """The app context and the main window over this data dir (not shown yet)."""
    from ato_desktop.ui.commands import CommandRegistry
    from ato_desktop.ui.context import AppContext
    from ato_desktop.ui.main_window import MainWindow
    from ato_desktop.ui.theme import ThemeManager

    theme = ThemeManager(app)
    ctx = AppContext(CommandRegistry(app), theme, paths)
    return ctx, MainWindow(ctx)


def install_event_loop(
    app: QApplication, workers: int = 8, prefix: str = "ato-worker"
) -> tuple[qasync.QEventLoop, ThreadPoolExecutor]:
    """asyncio on the Qt loop (qasync), with plain threads for to_thread / run_in_executor
    (the default QThread pool warns at exit)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    import qasync

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=prefix)
    loop.set_default_executor(executor)
    return loop, executor


def main(argv: Sequence[str] | None = None) -> int:
    """Run the app until the window closes; returns the exit code."""
    from PySide6.QtCore import QTimer

    from ato_desktop.store.paths import data_paths
    from ato_desktop.ui.single_instance import SingleInstance

    app = create_application(argv or sys.argv)
    paths = data_paths()
    instance = SingleInstance(str(paths.root))
    if instance.notify_running_instance():
        print(f"{APP_NAME} is already running for {paths.root}; brought it to the front.")
        return 0
    instance.listen()

    ctx, window = create_window(app, paths)
    instance.sig_activate_requested.connect(window.bring_to_front)
    window.show()
    # Paint now: everything after this (the event loop machinery, the log, the engine) loads
    # behind a window the user already sees.
    app.processEvents()
    from ato_desktop.ui.crash_notice import install_crash_reports

    # Unhandled exceptions become redacted reports in logs/ with a notice (after the first
    # paint: the redaction pulls in keyring, ~0.1 s of imports).
    install_crash_reports(window, paths.log_dir)

    import asyncio

    loop, _executor = install_event_loop(app)
    QTimer.singleShot(0, lambda: ctx.spawn(ctx.open_workspace(), what="open the log"))

    quit_event = asyncio.Event()
    app.aboutToQuit.connect(quit_event.set)
    with loop:
        loop.run_until_complete(quit_event.wait())
    return 0
