"""Crash reports: unhandled exceptions on any thread become redacted files in logs/, with a
notice in the app; hard crashes dump stacks to logs/fatal.log."""

from __future__ import annotations

import io
import logging
import os
import stat
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMessageLogContext, QtMsgType
from PySide6.QtWidgets import QMainWindow

from ato_desktop import __version__
from ato_desktop.core.redaction import REDACTED
from ato_desktop.engine.crash_reports import CrashReporter, configure_app_logging, crash_reports
from ato_desktop.engine.credentials import CredentialStore
from ato_desktop.store.paths import DataPaths
from ato_desktop.ui.crash_notice import install_crash_reports

REPO = Path(__file__).resolve().parents[2]
KEY = "sk-ant-api03-CRASHPLANTED-abcdefghijklmnopqrstuvwxyz0123456789"
# Not key-shaped: only the known-secret layer (what the keyring holds) can catch it.
LOCAL_KEY = "local-CRASHPLANTED-0011223344556677"
WHEN = datetime(2026, 11, 22, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def planted(memory_keyring: object) -> CredentialStore:
    store = CredentialStore()
    store.set_key("anthropic", KEY)
    store.set_key("openai-compatible", LOCAL_KEY)
    return store


def _raise_with_keys() -> None:
    raise RuntimeError(f"provider said: bad key {KEY}; compat {LOCAL_KEY}; Bearer {LOCAL_KEY}")


def test_an_unhandled_exception_writes_a_redacted_report(
    ato_home: Path, planted: CredentialStore
) -> None:
    log_dir = DataPaths(ato_home).log_dir
    stderr = io.StringIO()
    before = sys.excepthook
    reporter = CrashReporter(log_dir, clock=lambda: WHEN, stderr=stderr).install()
    try:
        try:
            _raise_with_keys()
        except RuntimeError:
            sys.excepthook(*sys.exc_info())  # type: ignore[arg-type]
    finally:
        reporter.uninstall()
    (report,) = crash_reports(log_dir)
    assert report.name == "crash-20261122T030405Z.txt"
    text = report.read_text(encoding="utf-8")
    assert f"ATO Desktop {__version__}" in text and "Python: 3." in text and "Platform: " in text
    assert "Thread: MainThread" in text
    assert "in _raise_with_keys" in text and "RuntimeError: provider said" in text
    assert REDACTED in text
    for secret in (KEY, LOCAL_KEY, "CRASHPLANTED"):
        assert secret not in text
        assert secret not in stderr.getvalue()
    assert str(report) in stderr.getvalue()
    if os.name == "posix":
        assert stat.S_IMODE(report.stat().st_mode) == 0o600
        assert stat.S_IMODE(log_dir.stat().st_mode) == 0o700
    assert sys.excepthook is before


def test_a_thread_crash_is_reported_and_a_second_one_never_overwrites(
    ato_home: Path, planted: CredentialStore
) -> None:
    log_dir = DataPaths(ato_home).log_dir
    seen: list[Path] = []
    reporter = CrashReporter(log_dir, clock=lambda: WHEN, stderr=io.StringIO())
    reporter.add_listener(seen.append)
    before = threading.excepthook
    reporter.install()
    try:
        for _ in range(2):
            worker = threading.Thread(target=_raise_with_keys, name="sync-worker")
            worker.start()
            worker.join()
    finally:
        reporter.uninstall()
    assert [p.name for p in crash_reports(log_dir)] == [
        "crash-20261122T030405Z-2.txt",
        "crash-20261122T030405Z.txt",
    ]
    assert sorted(seen) == crash_reports(log_dir)
    for report in seen:
        text = report.read_text(encoding="utf-8")
        assert "Thread: sync-worker" in text and KEY not in text and LOCAL_KEY not in text
    assert threading.excepthook is before


def test_an_unwritable_log_dir_prints_the_redacted_report(
    tmp_path: Path, planted: CredentialStore
) -> None:
    blocker = tmp_path / "logs"
    blocker.write_text("a file where the directory should be")
    stderr = io.StringIO()
    reporter = CrashReporter(blocker, stderr=stderr)
    try:
        _raise_with_keys()
    except RuntimeError:
        assert reporter.report(*sys.exc_info()) is None  # type: ignore[arg-type]
    printed = stderr.getvalue()
    assert "could not write a crash report" in printed and "RuntimeError" in printed
    assert KEY not in printed and LOCAL_KEY not in printed


def test_the_cli_crash_report_and_faulthandler_in_a_real_process(ato_home: Path) -> None:
    """A process that dies of an exception leaves a report; one that segfaults leaves stacks."""
    code = (
        "import faulthandler, sys\n"
        "from ato_desktop.engine.crash_reports import CrashReporter\n"
        "from ato_desktop.engine.credentials import register_secret\n"
        "from ato_desktop.store.paths import data_paths\n"
        f"register_secret({LOCAL_KEY!r})\n"
        "reporter = CrashReporter(data_paths().log_dir).install()\n"
        "reporter.enable_faulthandler()\n"
        "if sys.argv[1] == 'raise':\n"
        f"    raise ValueError('token ' + {LOCAL_KEY!r})\n"
        "faulthandler._sigsegv()\n"
    )
    env = {**os.environ, "ATO_HOME": str(ato_home), "PYTHONPATH": str(REPO)}
    raised = subprocess.run(
        [sys.executable, "-c", code, "raise"], capture_output=True, text=True, env=env, timeout=60
    )
    assert raised.returncode == 1
    assert "A crash report was written to" in raised.stderr and LOCAL_KEY not in raised.stderr
    log_dir = DataPaths(ato_home).log_dir
    (report,) = crash_reports(log_dir)
    assert "ValueError: token [REDACTED]" in report.read_text(encoding="utf-8")
    crashed = subprocess.run(
        [sys.executable, "-c", code, "segv"], capture_output=True, text=True, env=env, timeout=60
    )
    assert crashed.returncode != 0
    fatal = (log_dir / "fatal.log").read_text(encoding="utf-8")
    assert "Fatal Python error: Segmentation fault" in fatal and "<string>" in fatal
    # The next start turns the dump into a report, once.
    reporter = CrashReporter(log_dir, stderr=io.StringIO())
    seen: list[Path] = []
    reporter.add_listener(seen.append)
    previous = reporter.report_previous_hard_crash()
    assert previous is not None and seen == [previous]
    text = previous.read_text(encoding="utf-8")
    assert "Context: a hard crash of an earlier session" in text and "Segmentation fault" in text
    assert (log_dir / "fatal.log").stat().st_size == 0
    assert reporter.report_previous_hard_crash() is None


def test_the_app_shows_where_the_report_went(
    qtbot: Any, ato_home: Path, planted: CredentialStore
) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    log_dir = DataPaths(ato_home).log_dir
    installed = install_crash_reports(window, log_dir)
    try:
        assert "Qt" in installed.reporter.versions and "PySide6" in installed.reporter.versions
        with qtbot.waitSignal(installed.notice.sig_report_written, timeout=5000) as signal:
            worker = threading.Thread(target=_raise_with_keys, name="worker")
            worker.start()
            worker.join()
        qtbot.waitUntil(lambda: installed.notice.last_box is not None, timeout=5000)
        box = installed.notice.last_box
        assert box is not None and box.isVisible() and not box.isModal()
        (report,) = crash_reports(log_dir)
        assert signal.args == [str(report)]
        assert str(report) in box.text() and str(report) in window.statusBar().currentMessage()
        text = report.read_text(encoding="utf-8")
        assert "Qt: 6." in text and KEY not in text and LOCAL_KEY not in text
        box.close()
    finally:
        installed.uninstall()


def test_an_unexpected_cli_error_leaves_a_report_and_no_raw_traceback(ato_home: Path) -> None:
    code = (
        "import os, sys\n"
        "from ato_desktop import cli, main\n"
        "def broken(args, stdout=None):\n"
        "    raise RuntimeError('unexpected with ' + os.environ['ANTHROPIC_API_KEY'])\n"
        "cli.main = broken\n"
        "sys.exit(main.main(['runs', 'list']))\n"
    )
    env = {
        **os.environ,
        "ATO_HOME": str(ato_home),
        "PYTHONPATH": str(REPO),
        "ANTHROPIC_API_KEY": KEY,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 1
    (report,) = crash_reports(DataPaths(ato_home).log_dir)
    assert f"A crash report was written to {report}" in done.stderr
    assert "RuntimeError: unexpected with [REDACTED]" in report.read_text(encoding="utf-8")
    assert "CRASHPLANTED" not in done.stderr + done.stdout + report.read_text(encoding="utf-8")


def test_the_app_log_on_stderr_is_redacted(
    planted: CredentialStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])  # as in the app: nothing configured yet
    monkeypatch.setattr(root, "level", logging.WARNING)
    monkeypatch.setenv("ATO_LOG_LEVEL", "debug")
    stream = io.StringIO()
    handler = configure_app_logging(stream)
    assert handler is not None and root.level == logging.DEBUG
    logging.getLogger("ato_desktop.test").debug("sending with %s and %s", KEY, LOCAL_KEY)
    assert configure_app_logging(io.StringIO()) is None  # configured once
    text = stream.getvalue()
    assert text.startswith("DEBUG ato_desktop.test: sending with [REDACTED]")
    assert KEY not in text and LOCAL_KEY not in text


@pytest.mark.no_qt_log  # the fatal message goes on to the previous handler: not pytest-qt's
def test_a_qt_fatal_message_leaves_a_report_first(
    qtbot: Any, ato_home: Path, planted: CredentialStore, capsys: pytest.CaptureFixture[str]
) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    log_dir = DataPaths(ato_home).log_dir
    installed = install_crash_reports(window, log_dir)
    try:
        # What Qt calls before it aborts (calling it directly: the real one would end pytest).
        installed._qt_message(QtMsgType.QtFatalMsg, QMessageLogContext(), f"no GL with {KEY}")
    finally:
        installed.uninstall()
    (report,) = crash_reports(log_dir)
    text = report.read_text(encoding="utf-8")
    assert "Context: Qt fatal message" in text and "no GL with [REDACTED]" in text
    assert KEY not in text
    assert "no GL with [REDACTED]" in capsys.readouterr().err  # Qt's own line, redacted too
