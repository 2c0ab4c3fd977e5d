"""Crash reports in the desktop app: the engine's CrashReporter plus a notice on screen.

An unhandled exception (in a slot, an async task's callback or a worker thread) is written to
<data>/logs/crash-<timestamp>.txt, redacted, and the window says where, without blocking: the
notice is a non-modal message box and a status-bar message, shown on the UI thread whatever
thread crashed. Qt's fatal messages (qFatal) get a report too, just before Qt aborts.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import PySide6
from PySide6.QtCore import (
    QMessageLogContext,
    QObject,
    Qt,
    QtMsgType,
    Signal,
    qInstallMessageHandler,
)
from PySide6.QtCore import qVersion as qt_version
from PySide6.QtWidgets import QMainWindow, QMessageBox

from ato_desktop import APP_NAME
from ato_desktop.core.redaction import redact_secrets
from ato_desktop.engine.crash_reports import CrashReporter, configure_app_logging
from ato_desktop.engine.credentials import known_secrets

MessageHandler = Callable[[QtMsgType, QMessageLogContext, str], Any]


class CrashNotice(QObject):
    """Shows where a crash report went; report_written may be emitted from any thread."""

    sig_report_written = Signal(str)

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self._window = window
        self.last_box: QMessageBox | None = None
        self.sig_report_written.connect(self._show)

    def _show(self, path: str) -> None:
        self._window.statusBar().showMessage(f"Unexpected error: crash report saved to {path}")
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Unexpected error",
            f"{APP_NAME} hit an unexpected error and saved a crash report:\n\n{path}\n\n"
            "API keys and tokens are removed from it, so it can be attached to a bug report. "
            "You can keep working; if something looks wrong, restart the app.",
            parent=self._window,
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.last_box = box
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.destroyed.connect(self._forget_box)
        box.show()

    def _forget_box(self) -> None:
        self.last_box = None


class AppCrashReports:
    """The installed reporter, its notice and Qt's message handler; uninstall() undoes it all."""

    def __init__(self, window: QMainWindow, log_dir: Path) -> None:
        self.reporter = CrashReporter(log_dir)
        self.reporter.add_versions(Qt=qt_version(), PySide6=PySide6.__version__)
        self.notice = CrashNotice(window)
        self.reporter.add_listener(lambda path: self.notice.sig_report_written.emit(str(path)))
        self._previous_handler: MessageHandler | None = None
        self._handler_installed = False

    def install(self) -> AppCrashReports:
        self.reporter.install()
        self.reporter.report_previous_hard_crash()  # the notice says where it went
        self.reporter.enable_faulthandler()
        self._previous_handler = qInstallMessageHandler(self._qt_message)
        self._handler_installed = True
        return self

    def uninstall(self) -> None:
        self.reporter.uninstall()
        if self._handler_installed:
            qInstallMessageHandler(self._previous_handler)
            self._handler_installed = False

    def _qt_message(self, mode: QtMsgType, context: QMessageLogContext, message: str) -> None:
        if mode == QtMsgType.QtFatalMsg:
            # Qt aborts when this returns: write the report first (no notice, there is no after).
            self.reporter.report_message(message, context="Qt fatal message")
        if self._previous_handler is not None:
            self._previous_handler(mode, context, message)
        elif sys.stderr is not None:  # what Qt's own handler would print, redacted
            sys.stderr.write(redact_secrets(message, known_secrets()) + "\n")


def install_crash_reports(window: QMainWindow, log_dir: Path) -> AppCrashReports:
    """Report unhandled exceptions and Qt fatal messages to log_dir and show a notice in window;
    log to stderr through the redacting filter."""
    configure_app_logging()
    return AppCrashReports(window, log_dir).install()
