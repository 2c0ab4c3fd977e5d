"""docs/cli.md, generated from the parser: every command's `--help`, in the order of `--help`.

    python -m ato_desktop.cli.docs            # rewrite docs/cli.md
    python -m ato_desktop.cli.docs --check    # exit 1 when docs/cli.md is not what the parser says

tests/test_cli_docs.py checks that the page is current and that every command and option has
help text, as Datasette and sqlite-utils do for theirs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ato_desktop.cli import build_parser

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
WIDTH = 100  # the help text's line width on the page, whatever the terminal generating it

HEADER = """\
# The command line

`ato-desktop` with no arguments opens the desktop app; with a command it works on the same
execution log from a terminal, a script or cron (the data directory is `$ATO_HOME`, or the
platform's user data directory). Every command prints `--help`; this page is those texts, generated
from the parser by `python -m ato_desktop.cli.docs` (a test keeps it current).

Exit codes, for every command: 0 success; 1 a dispatch, check or gate that failed; 2 bad usage or
input (an unknown agent, a malformed file, ...); 3 the execution log or the data directory cannot
be used; 130 a killed dispatch or a cancelled command (Ctrl+C).

Each command imports only what it uses. Commands that only read the log (`runs list`, `runs
show`, `agents list`, `agents history`, `insights regressions`, `determinism`, `compare`,
`actions list`, `mcp list`) open it read-only: no process lease, no services, no write (crash
recovery runs first only when a process that died left a run `running`). Their timings are in
[benchmarks.md](benchmarks.md#the-command-line).
Secrets (API keys, MCP and sync credentials) are read from stdin or a hidden prompt, never from
arguments.
"""


def command_paths(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser under parser, depth first in the order `--help` lists them, with its path."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from command_paths(sub, (*path, name))


@contextmanager
def _help_width(width: int) -> Iterator[None]:
    """argparse wraps help to $COLUMNS: fixed here, so the page does not depend on who made it."""
    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        yield
    finally:
        if before is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = before


def render() -> str:
    """The page: a table of contents, then each command's help in a code block."""
    with _help_width(WIDTH):
        entries = [(path, sub.format_help()) for path, sub in command_paths(build_parser())]
    lines = [HEADER, "## Commands", ""]
    for path, _text in entries[1:]:
        indent = "  " * (len(path) - 1)
        lines.append(f"{indent}- [{' '.join(path)}](#{_anchor(path)})")
    lines.append("")
    for path, text in entries:
        title = " ".join(("ato-desktop", *path))
        lines += [f"## {title}", "", "```text", text.rstrip("\n"), "```", ""]
    return "\n".join(lines)


def _anchor(path: tuple[str, ...]) -> str:
    """GitHub's anchor for the heading `## ato-desktop <path>`."""
    return "-".join(("ato-desktop", *path))


def main(argv: Sequence[str] | None = None) -> int:
    arguments = argparse.ArgumentParser(description="Generate docs/cli.md from the parser.")
    arguments.add_argument("--check", action="store_true", help="exit 1 if it is out of date")
    args = arguments.parse_args(argv)
    text = render()
    current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    if args.check:
        if current != text:
            print(f"{DOC} is out of date: run python -m ato_desktop.cli.docs", file=sys.stderr)
            return 1
        return 0
    if current != text:
        DOC.write_text(text, encoding="utf-8")
        print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
