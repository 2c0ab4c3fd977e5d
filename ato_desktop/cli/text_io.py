"""What the CLI reads and prints: terminal-safe output, UTF-8 input, sane numbers.

Everything the CLI prints goes through `TerminalSafeWriter` (stdout and stderr, the log handler
included), so text that came from the log or the network cannot drive the terminal: control
characters and bidi controls are printed as `\\uXXXX` (core.terminal_text). The CLI's own
progress lines, which rewrite their line with a carriage return, write to `unescaped(stream)`.

Input that would only fail later, deep in a write, is refused up front with a usage error
(exit 2): arguments or stdin that are not UTF-8, numbers that are not finite or too large for
the log to store.
"""

from __future__ import annotations

import argparse
import io
import math
import sys
from collections.abc import Sequence

from ato_desktop.core.terminal_text import escape_for_terminal

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:
    from typing import Any, TextIO

# Larger than any count, limit or id the CLI takes, and far inside SQLite's 64-bit integers.
MAX_INT_ARGUMENT = 10**15


class UsageError(Exception):
    """Bad input from the user: printed as `error: ...`, exit 2."""


class TerminalSafeWriter(io.TextIOBase):
    """A text stream that escapes terminal control characters on the way to another one.

    A carriage return at the end of one write is held until the next, so a CRLF split between
    two writes (a streamed answer) stays a line end rather than becoming an escaped CR.
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream
        self._held_cr = False

    @classmethod
    def wrap(cls, stream: TextIO) -> TerminalSafeWriter:
        """stream, escaping (a stream that already escapes is returned as it is)."""
        return stream if isinstance(stream, TerminalSafeWriter) else cls(stream)

    def write(self, text: str) -> int:
        size = len(text)
        if self._held_cr:
            text = "\r" + text
            self._held_cr = False
        if text.endswith("\r"):
            text = text[:-1]
            self._held_cr = True
        if text:
            self.stream.write(escape_for_terminal(text))
        return size

    def flush(self) -> None:
        self.stream.flush()

    def finish(self) -> None:
        """Write a held carriage return (escaped: nothing followed it) and flush; the stream
        under it stays open, and this one usable."""
        if self._held_cr:
            self._held_cr = False
            self.stream.write(escape_for_terminal("\r"))
        self.stream.flush()

    def __del__(self) -> None:
        """Nothing: the stream under it belongs to someone else (IOBase would flush it)."""

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.stream, "encoding", "utf-8")

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.stream, "errors", None)


def unescaped(stream: TextIO) -> TextIO:
    """The stream under a TerminalSafeWriter: for the CLI's own progress lines only."""
    return stream.stream if isinstance(stream, TerminalSafeWriter) else stream


def check_arguments(argv: Sequence[str]) -> None:
    """UsageError for an argument that is not UTF-8 (the shell passed bytes Python could only
    decode to lone surrogates, which nothing can store or print)."""
    for position, arg in enumerate(argv, 1):
        option, equals, value = arg.partition("=")
        if arg.startswith("-") and equals and value == "--":
            # argparse drops a "--" value and hands the command an empty list instead.
            raise UsageError(f"{escape_for_terminal(option)} needs a value, not '--'")
        if any("\ud800" <= char <= "\udfff" for char in arg):
            raise UsageError(
                f"argument {position} ({escape_for_terminal(arg)}) is not UTF-8 text; "
                "ATO takes UTF-8 (convert it, e.g. with iconv -t UTF-8)"
            )


def check_numbers(args: argparse.Namespace) -> None:
    """UsageError for a number option that is NaN or infinite, or an integer too large for the
    log (`--min-cost nan`, `--limit 99999999999999999999`)."""
    for dest, value in sorted(vars(args).items()):
        option = "--" + dest.replace("_", "-")
        if isinstance(value, float) and not math.isfinite(value):
            raise UsageError(f"{option} must be a finite number, not {value}")
        too_large = isinstance(value, int) and not isinstance(value, bool)
        if too_large and abs(value) > MAX_INT_ARGUMENT:
            raise UsageError(f"{option} {value} is out of range (at most {MAX_INT_ARGUMENT})")


def read_stdin_text(what: str) -> str:
    """All of stdin as UTF-8 text (a byte-order mark dropped); UsageError when it is not UTF-8."""
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:  # a text stream handed in (tests, an embedding program)
        text = sys.stdin.read()
        if any("\ud800" <= char <= "\udfff" for char in text):
            raise UsageError(f"{what} on stdin is not UTF-8 text")
        return text
    raw: bytes = buffer.read()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{what} on stdin is not UTF-8 text (byte {raw[exc.start]:#04x} at offset "
            f"{exc.start}); convert it first, e.g. with iconv -f LATIN1 -t UTF-8"
        ) from None


def read_stdin_lines(what: str) -> list[str]:
    """stdin as UTF-8 lines (read_stdin_text, split)."""
    return read_stdin_text(what).splitlines()


def non_negative_int(text: str) -> int:
    """argparse type: a whole number from 0 to MAX_INT_ARGUMENT."""
    return _bounded_int(text, 0)


def positive_int(text: str) -> int:
    """argparse type: a whole number from 1 to MAX_INT_ARGUMENT."""
    return _bounded_int(text, 1)


def _bounded_int(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not low <= value <= MAX_INT_ARGUMENT:
        raise argparse.ArgumentTypeError(f"{value} is out of range ({low} to {MAX_INT_ARGUMENT})")
    return value


def finite_float(text: str) -> float:
    """argparse type: a finite number (not nan or inf)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def escaped(value: Any) -> str:
    """str(value) safe for a terminal (for messages built before they reach a safe stream)."""
    return escape_for_terminal(str(value))
