"""Crash reports: an unhandled exception becomes a redacted text file in <data>/logs.

`CrashReporter.install()` takes over `sys.excepthook` and `threading.excepthook`; every unhandled
exception (on the main thread or any other) is written to ``logs/crash-<UTC timestamp>.txt`` with
the traceback, the app version, the platform and the Python (and, when the UI adds them, Qt)
versions. The text goes through the same redaction as the logs (core/redaction.py): every secret
this process has loaded (API keys, MCP and sync secrets) and every key-shaped string, so a report
can be attached to a bug without a second look. Listeners (the desktop app's notice) are told the
file's path; they may be called from any thread.

`enable_faulthandler()` points faulthandler at ``logs/fatal.log`` for hard crashes (a segfault in
a native library, an abort from Qt) where no Python hook runs. faulthandler writes only file
names, line numbers and function names, never values, so that file needs no redaction. The next
start turns such a dump into a crash report (`report_previous_hard_crash()`), so it is seen.

Nothing here creates the data directory until there is something to write, and nothing here ever
raises: a crash reporter that crashes would hide the original error.

`configure_app_logging()` gives the desktop app the CLI's stderr log (warnings and errors,
ATO_LOG_LEVEL=DEBUG for more) through the redacting filter: without it Python's last-resort
handler prints warnings unredacted, and a desktop session keeps stderr in its journal.
"""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import os
import platform
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from ato_desktop import APP_NAME, __version__
from ato_desktop.core.redaction import redact_secrets
from ato_desktop.engine.credentials import known_secrets
from ato_desktop.engine.log_redaction import install_secret_redaction

log = logging.getLogger(__name__)

CRASH_PREFIX = "crash-"
FATAL_LOG_NAME = "fatal.log"

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
Listener = Callable[[Path], None]


def base_versions() -> dict[str, str]:
    """The versions every report carries (the UI adds Qt's)."""
    return {
        "App": f"{APP_NAME} {__version__}",
        "Platform": platform.platform(),
        "Python": f"{platform.python_version()} ({platform.python_implementation()})",
    }


def configure_app_logging(stream: IO[str] | None = None) -> logging.Handler | None:
    """Log to stderr (or stream) at $ATO_LOG_LEVEL (default WARNING), secrets redacted; returns
    the handler, or None when logging was configured already (its handlers get the filter)."""
    root = logging.getLogger()
    if root.handlers:
        install_secret_redaction()
        return None
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    level = os.environ.get("ATO_LOG_LEVEL", "WARNING").upper()
    root.setLevel(level if level in logging.getLevelNamesMapping() else "WARNING")
    root.addHandler(handler)
    install_secret_redaction(handler)
    return handler


def crash_report_text(
    exc_type: type[BaseException],
    exc: BaseException | None,
    tb: TracebackType | None,
    *,
    when: datetime,
    versions: Mapping[str, str],
    secrets: Iterable[str] = (),
    thread_name: str | None = None,
    context: str | None = None,
) -> str:
    """The report for one exception, with every secret and key-shaped string redacted."""
    lines = [f"{APP_NAME} crash report", f"When: {when.strftime('%Y-%m-%dT%H:%M:%SZ')}"]
    lines += [f"{name}: {value}" for name, value in versions.items()]
    if thread_name:
        lines.append(f"Thread: {thread_name}")
    if context:
        lines.append(f"Context: {context}")
    try:
        trace = "".join(traceback.format_exception(exc_type, exc, tb))
    except Exception:  # a broken __str__ must not stop the report
        trace = f"{exc_type.__name__} (its message could not be formatted)\n"
    text = "\n".join(lines) + "\n\n" + trace
    return redact_secrets(text, tuple(secrets))


def message_report_text(
    message: str,
    *,
    when: datetime,
    versions: Mapping[str, str],
    secrets: Iterable[str] = (),
    context: str | None = None,
) -> str:
    """A report for a fatal message with no Python exception (Qt's qFatal)."""
    lines = [f"{APP_NAME} crash report", f"When: {when.strftime('%Y-%m-%dT%H:%M:%SZ')}"]
    lines += [f"{name}: {value}" for name, value in versions.items()]
    if context:
        lines.append(f"Context: {context}")
    return redact_secrets("\n".join(lines) + "\n\n" + message.rstrip("\n") + "\n", tuple(secrets))


def write_crash_report(log_dir: Path, text: str, when: datetime) -> Path:
    """Write text to a new log_dir/crash-<timestamp>.txt (0600 on POSIX) and return its path.

    Creates log_dir (0700) if needed; never overwrites an earlier report (a second crash in the
    same second gets a -2 suffix).
    """
    _ensure_private_dir(log_dir)
    stamp = when.strftime("%Y%m%dT%H%M%SZ")
    data = text.encode("utf-8", errors="replace")
    for attempt in range(1, 1000):
        suffix = "" if attempt == 1 else f"-{attempt}"
        path = log_dir / f"{CRASH_PREFIX}{stamp}{suffix}.txt"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError:
            # A full disk: no empty or cut report left behind to mislead whoever reads logs/.
            with contextlib.suppress(OSError):
                path.unlink()
            raise
        return path
    raise FileExistsError(f"too many crash reports stamped {stamp} in {log_dir}")


def crash_reports(log_dir: Path) -> list[Path]:
    """The crash reports in log_dir, oldest first."""
    if not log_dir.is_dir():
        return []
    return sorted(log_dir.glob(f"{CRASH_PREFIX}*.txt"))


def _ensure_private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":
        with contextlib.suppress(OSError):
            path.chmod(0o700)


class CrashReporter:
    """Writes crash reports for unhandled exceptions once installed; see the module docstring.

    log_dir: where reports go (DataPaths.log_dir). secrets: what to redact besides key shapes
    (default: every secret this process has loaded). stderr: where the short notice (and, with
    no listener, the redacted traceback) goes; None means sys.stderr at the time of the crash.
    """

    def __init__(
        self,
        log_dir: Path,
        *,
        secrets: Callable[[], Iterable[str]] = known_secrets,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        stderr: IO[str] | None = None,
    ) -> None:
        self.log_dir = log_dir
        self.versions: dict[str, str] = base_versions()
        self._secrets = secrets
        self._clock = clock
        self._stderr = stderr
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._installed = False
        self._previous_excepthook: Callable[..., Any] | None = None
        self._previous_threading_hook: Callable[..., Any] | None = None
        self._fatal_log: IO[str] | None = None
        self.last_report: Path | None = None

    # -- configuration --------------------------------------------------------------------------

    def add_versions(self, **versions: str) -> None:
        """Add versions to every later report (the UI adds Qt and PySide6)."""
        self.versions.update({name.replace("_", " "): value for name, value in versions.items()})

    def add_listener(self, listener: Listener) -> None:
        """Call listener(path) after each report is written; it may run on any thread."""
        self._listeners.append(listener)

    # -- writing --------------------------------------------------------------------------------

    def report(
        self,
        exc_type: type[BaseException],
        exc: BaseException | None,
        tb: TracebackType | None,
        *,
        thread_name: str | None = None,
        context: str | None = None,
    ) -> Path | None:
        """Write a report for the exception and tell the listeners; None if it could not be
        written (the reason goes to stderr, redacted)."""
        when = self._clock()
        try:
            text = crash_report_text(
                exc_type,
                exc,
                tb,
                when=when,
                versions=self.versions,
                secrets=self._safe_secrets(),
                thread_name=thread_name,
                context=context,
            )
        except Exception:  # redaction itself failed: write nothing rather than a raw traceback
            text = (
                f"{APP_NAME} crash report\n\n{exc_type.__name__} (details could not be redacted)\n"
            )
        return self._write(text, when)

    def report_message(self, message: str, *, context: str | None = None) -> Path | None:
        """Write a report for a fatal message that has no exception (Qt's qFatal)."""
        when = self._clock()
        try:
            text = message_report_text(
                message,
                when=when,
                versions=self.versions,
                secrets=self._safe_secrets(),
                context=context,
            )
        except Exception:
            text = f"{APP_NAME} crash report\n\nA fatal message (it could not be redacted)\n"
        return self._write(text, when)

    def _safe_secrets(self) -> tuple[str, ...]:
        try:
            return tuple(self._secrets())
        except Exception:
            return ()

    def _write(self, text: str, when: datetime) -> Path | None:
        with self._lock:
            try:
                path = write_crash_report(self.log_dir, text, when)
            except OSError as exc:
                self._say(
                    f"{APP_NAME} hit an unexpected error and could not write a crash report "
                    f"in {self.log_dir}: {exc.strerror or type(exc).__name__}.\n{text}"
                )
                return None
            self.last_report = path
        for listener in tuple(self._listeners):
            try:
                listener(path)
            except Exception:  # a failing notice must not hide the report
                self._say(f"(could not show the crash notice; the report is {path})")
        return path

    def _say(self, text: str) -> None:
        stream = self._stderr or sys.stderr
        if stream is None:  # pythonw on Windows has no stderr
            return
        with contextlib.suppress(Exception):
            stream.write(text.rstrip("\n") + "\n")
            stream.flush()

    # -- hooks ----------------------------------------------------------------------------------

    def install(self) -> CrashReporter:
        """Take over sys.excepthook and threading.excepthook (uninstall() gives them back)."""
        if self._installed:
            return self
        self._previous_excepthook = sys.excepthook
        self._previous_threading_hook = threading.excepthook
        sys.excepthook = self._excepthook
        threading.excepthook = self._threading_excepthook
        self._installed = True
        return self

    def uninstall(self) -> None:
        """Restore the hooks that were there before install() and stop faulthandler's file."""
        if self._installed:
            if sys.excepthook == self._excepthook:
                sys.excepthook = self._previous_excepthook or sys.__excepthook__
            if threading.excepthook == self._threading_excepthook:
                threading.excepthook = self._previous_threading_hook or threading.__excepthook__
            self._installed = False
        if self._fatal_log is not None:
            faulthandler.disable()
            with contextlib.suppress(OSError):
                self._fatal_log.close()
            self._fatal_log = None

    def report_previous_hard_crash(self) -> Path | None:
        """Turn a dump an earlier process left in logs/fatal.log into a crash report (telling
        the listeners) and empty the file; the report's path, or None when there was none."""
        path = self.log_dir / FATAL_LOG_NAME
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        if not text.strip():
            return None
        report = self.report_message(
            text, context="a hard crash of an earlier session (faulthandler's stack dump)"
        )
        if report is not None:
            with contextlib.suppress(OSError):
                os.truncate(path, 0)
        return report

    def enable_faulthandler(self) -> Path | None:
        """Dump every thread's stack to logs/fatal.log on a hard crash; None if the file could
        not be opened (a read-only data directory: the app says so elsewhere)."""
        path = self.log_dir / FATAL_LOG_NAME
        try:
            _ensure_private_dir(self.log_dir)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            handle = os.fdopen(fd, "a", encoding="utf-8")
        except OSError as exc:
            log.warning("no fatal-crash log in %s: %s", self.log_dir, exc.strerror or exc)
            return None
        if self._fatal_log is not None:
            with contextlib.suppress(OSError):
                self._fatal_log.close()
        self._fatal_log = handle
        faulthandler.enable(file=handle, all_threads=True)
        return path

    def _excepthook(
        self,
        exc_type: type[BaseException],
        exc: BaseException,
        tb: TracebackType | None,
    ) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            previous = self._previous_excepthook or sys.__excepthook__
            previous(exc_type, exc, tb)
            return
        path = self.report(exc_type, exc, tb, thread_name=threading.current_thread().name)
        self._announce(path, exc_type, exc, tb)

    def _threading_excepthook(self, args: threading.ExceptHookArgs) -> None:
        if issubclass(args.exc_type, SystemExit):
            return  # what threading's own hook does: a thread may exit this way
        exc = args.exc_value
        name = args.thread.name if args.thread is not None else None
        path = self.report(args.exc_type, exc, args.exc_traceback, thread_name=name)
        self._announce(path, args.exc_type, exc, args.exc_traceback)

    def _announce(
        self,
        path: Path | None,
        exc_type: type[BaseException],
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if path is None:
            return  # _write already printed the redacted report
        try:
            summary = "".join(traceback.format_exception_only(exc_type, exc)).strip()
        except Exception:
            summary = exc_type.__name__
        summary = redact_secrets(summary, self._safe_secrets())
        self._say(
            f"{APP_NAME} hit an unexpected error: {summary}\nA crash report was written to {path}"
        )
