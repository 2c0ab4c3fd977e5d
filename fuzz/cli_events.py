"""Coding-agent CLI stdout (JSON lines) -> the line reader -> Claude Code's and Codex's event
parsers, then the run's close. Nothing is documented to raise: every exception is a crash."""

from __future__ import annotations

import atheris

with atheris.instrument_imports(include=["ato_desktop"]):
    from ato_desktop.runtimes.claude_code import ClaudeStreamParser
    from ato_desktop.runtimes.codex_cli import CodexStreamParser
    from ato_desktop.runtimes.subprocess_stream import ProcessExit, _parse_line

from harness import fuzz


def target(data: bytes) -> None:
    lines = data.decode("utf-8", "replace").splitlines()
    for parser in (ClaudeStreamParser("/tmp", "sk-secret"), CodexStreamParser("/tmp", None, "m")):
        for i, line in enumerate(lines):
            event = _parse_line(line)
            if event is not None:
                list(parser.feed(event, i))
        list(parser.finish(ProcessExit(0, "", 0)))


if __name__ == "__main__":
    fuzz(target, ())
