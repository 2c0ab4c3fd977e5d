"""The `ato-desktop` entry point: the desktop app with no arguments, the CLI otherwise."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        from ato_desktop.ui.app import main as run_app

        return run_app([sys.argv[0]])
    from ato_desktop import cli

    return cli.main(args)


if __name__ == "__main__":
    sys.exit(main())
