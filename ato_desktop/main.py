"""The `ato-desktop` entry point: the desktop app with no arguments, the CLI otherwise."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from ato_desktop import cli

    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
