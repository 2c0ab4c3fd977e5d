"""The `ato-desktop` entry point: the desktop app with no arguments, the CLI otherwise."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from types import TracebackType


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        if _no_display():
            print(
                "ATO Desktop needs a display (DISPLAY or WAYLAND_DISPLAY is not set). Run it in "
                "a desktop session, or under `xvfb-run -a ato-desktop`; the command line works "
                "without one: `ato-desktop --help`.",
                file=sys.stderr,
            )
            return 2
        from ato_desktop.ui.app import main as run_app

        return run_app([sys.argv[0]])
    if args[0] in ("self-test", "--self-test"):
        # The packaged build's smoke test: the app started offscreen on a throwaway data dir.
        from ato_desktop.self_test import main as self_test

        return self_test(args[1:])
    from ato_desktop import cli
    from ato_desktop.cli.text_io import TerminalSafeWriter

    # Everything the process prints, the crash notice included, is terminal-safe.
    sys.stdout = TerminalSafeWriter.wrap(sys.stdout)
    sys.stderr = TerminalSafeWriter.wrap(sys.stderr)
    _report_crashes()
    return _exit_without_teardown(cli.main(args))


def _exit_without_teardown(code: int) -> int:
    """End a finished command now: the exit handlers run and the output is flushed, but the
    interpreter's teardown (clearing every module and collecting what they hold: some 15 ms of
    CPU for a reading command, more than the work of many) is skipped. Only when nothing else
    runs: with another thread alive (a daemon, a writer still closing) the usual exit takes
    over, which waits for it. Returns code when it does not exit."""
    import atexit

    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_exit_handlers is None or threading.active_count() > 1:
        return code
    run_exit_handlers()  # logging's flush, weakref.finalize's clean-ups, coverage's save, ...
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):  # a closed pipe: what Python's own exit would report
        return code
    os._exit(code)


def _report_crashes() -> None:
    """An unexpected error becomes a redacted report in logs/, not a raw traceback on stderr.

    The reporter (engine.crash_reports) is loaded when an error reaches the hooks, not at start:
    it imports the keyring to know the secrets to redact, which most commands never need."""

    def load() -> None:
        from ato_desktop.engine.crash_reports import CrashReporter
        from ato_desktop.store.paths import data_paths

        # The reporter chains to the hooks it replaces (for Ctrl+C): the defaults, not these.
        sys.excepthook, threading.excepthook = sys.__excepthook__, threading.__excepthook__
        CrashReporter(data_paths().log_dir).install()

    def excepthook(
        exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        load()
        sys.excepthook(exc_type, exc, tb)

    def threading_excepthook(args: threading.ExceptHookArgs) -> None:
        load()
        threading.excepthook(args)

    sys.excepthook = excepthook
    threading.excepthook = threading_excepthook


def _no_display() -> bool:
    """True on Linux/BSD with no display server and no Qt platform chosen by the user."""
    if not sys.platform.startswith(("linux", "freebsd", "openbsd")):
        return False
    env = os.environ
    return not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or env.get("QT_QPA_PLATFORM"))


if __name__ == "__main__":
    sys.exit(main())
