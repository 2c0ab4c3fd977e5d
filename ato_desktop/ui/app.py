"""Start the desktop app: QApplication on qasync, the window painted first, then the log."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from ato_desktop import APP_ID, APP_NAME, __version__

log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the app until the window closes; returns the exit code."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from ato_desktop.store.paths import data_paths
    from ato_desktop.ui.commands import CommandRegistry
    from ato_desktop.ui.context import AppContext
    from ato_desktop.ui.main_window import MainWindow, app_icon
    from ato_desktop.ui.single_instance import SingleInstance
    from ato_desktop.ui.theme import ThemeManager

    app = QApplication.instance() or QApplication(list(argv or sys.argv))
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationDomain("ato.dev")
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon())

    paths = data_paths()
    instance = SingleInstance(str(paths.root))
    if instance.notify_running_instance():
        print(f"{APP_NAME} is already running for {paths.root}; brought it to the front.")
        return 0
    instance.listen()

    theme = ThemeManager(app)
    ctx = AppContext(CommandRegistry(app), theme, paths)
    window = MainWindow(ctx)
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
    from concurrent.futures import ThreadPoolExecutor

    import qasync

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    # Plain threads for to_thread / run_in_executor (the default QThread pool warns at exit).
    loop.set_default_executor(ThreadPoolExecutor(max_workers=8, thread_name_prefix="ato-worker"))
    QTimer.singleShot(0, lambda: ctx.spawn(ctx.open_workspace(), what="open the log"))

    quit_event = asyncio.Event()
    app.aboutToQuit.connect(quit_event.set)
    with loop:
        loop.run_until_complete(quit_event.wait())
    return 0
