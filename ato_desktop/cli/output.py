"""How the CLI prints: JSON, aligned tables, short texts, times and durations, progress lines.

Everything here is plain text on a stream the entry point has made terminal-safe
(text_io.TerminalSafeWriter); only `Progress` writes under it, to rewrite its own line.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable

from ato_desktop.cli.text_io import unescaped

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:
    from typing import Any, TextIO


def emit_json(out: TextIO, value: Any) -> None:
    """value as indented JSON, non-ASCII kept."""
    out.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def table(out: TextIO, header: list[str], rows: list[list[str]]) -> None:
    """An aligned table, columns at most 48 characters (longer cells shortened with …)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    widths = [min(w, 48) for w in widths]
    for row in [header, *rows]:
        cells = [short(c, widths[i]).ljust(widths[i]) for i, c in enumerate(row)]
        out.write("  ".join(cells).rstrip() + "\n")


def short(value: Any, limit: int = 60) -> str:
    """value on one line, at most limit characters (∅ for None)."""
    text = "∅" if value is None else str(value).replace("\n", " ")
    return text if len(text) <= limit else text[: max(1, limit - 1)] + "…"


def when(epoch_ms: int | None) -> str:
    """A time as `YYYY-MM-DD HH:MM:SS` (UTC), — for none."""
    from ato_desktop.core.timefmt import rfc3339

    text = rfc3339(epoch_ms)
    return text[:19].replace("T", " ") if text else "—"


def pct_text(value: float | None) -> str:
    """` (+12.5%)`, or nothing for none."""
    return "" if value is None else f" ({value:+.1f}%)"


class Progress:
    """How a long command gets on, on stderr: on a terminal `label: done/total runs (n%)`
    redrawn in place (and the step under way); elsewhere (a log, CI, a pipe) a plain line for
    each step and then at most every `every_s` seconds, so a long build is never silent and a
    short one prints nothing."""

    def __init__(
        self,
        label: str,
        stream: TextIO | None = None,
        *,
        every_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._label = label
        # The command's own progress (it rewrites its line): past the escaping of printed text.
        self._out = stream if stream is not None else unescaped(sys.stderr)
        self._tty = self._out.isatty()
        self._every_s = every_s
        self._clock = clock
        self._started = clock()
        self._last = -1.0
        self._drawn = False
        self._step = ""

    def phase(self, text: str) -> None:
        """A step of the command starts ("writing the runs")."""
        self._step = text
        if self._tty:
            self._draw(f"{self._label}: {text}…")
        elif self._clock() - self._started >= self._every_s:
            self._line(f"{self._label}: {text}")

    def __call__(self, done: int, total: int) -> None:
        if total <= 0:
            return
        now = self._clock()
        text = f"{self._label}: {done:,}/{total:,} runs ({done * 100 // total}%)"
        if self._tty:
            if done < total and now - self._last < 0.1:
                return
            self._last = now
            self._draw(text)
        elif now - self._started >= self._every_s and now - self._last >= self._every_s:
            self._last = now
            self._line(text)

    def _draw(self, text: str) -> None:
        self._out.write(f"\r\x1b[K{text}")
        self._out.flush()
        self._drawn = True

    def _line(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()

    def finish(self) -> None:
        if self._tty and self._drawn:
            self._out.write("\n")
            self._out.flush()
            self._drawn = False
