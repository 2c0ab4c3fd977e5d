"""What every atheris harness shares: run a target over libFuzzer's inputs, where raising one
of the documented error types is a pass and any other exception is a crash (libFuzzer then
prints the input and the traceback, writes it to the artifact prefix, and exits non-zero)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable

import atheris


def fuzz(target: Callable[[bytes], object], expected: tuple[type[BaseException], ...]) -> None:
    """libFuzzer's main loop over target; expected exceptions are the parser saying no."""

    def one_input(data: bytes) -> None:
        with contextlib.suppress(*expected):
            target(data)

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


def text(data: bytes) -> str | None:
    """data as UTF-8 text (what every file reader here decodes), None when it is not UTF-8:
    the readers refuse those bytes before any parser sees them."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None
