"""The `ato-desktop` entry point: the desktop app with no arguments, the CLI otherwise."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence


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
    from ato_desktop.cli_io import TerminalSafeWriter
    from ato_desktop.engine.crash_reports import CrashReporter
    from ato_desktop.store.paths import data_paths

    # Everything the process prints, the crash notice included, is terminal-safe.
    sys.stdout = TerminalSafeWriter.wrap(sys.stdout)
    sys.stderr = TerminalSafeWriter.wrap(sys.stderr)
    # An unexpected error becomes a redacted report in logs/, not a raw traceback on stderr.
    CrashReporter(data_paths().log_dir).install()
    return cli.main(args)


def _no_display() -> bool:
    """True on Linux/BSD with no display server and no Qt platform chosen by the user."""
    if not sys.platform.startswith(("linux", "freebsd", "openbsd")):
        return False
    env = os.environ
    return not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or env.get("QT_QPA_PLATFORM"))


if __name__ == "__main__":
    sys.exit(main())
