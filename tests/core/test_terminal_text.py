"""Terminal-safe text: escape_for_terminal's quick check (one character class) never lets
through what the full pattern escapes."""

from __future__ import annotations

import random
import re

from ato_desktop.core.terminal_text import BIDI_CONTROLS, escape_for_terminal

# What escape_for_terminal promises, written out once more as the reference.
REFERENCE = re.compile(
    "\r(?!\n)|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
    + "".join(sorted(BIDI_CONTROLS))
    + "\ud800-\udfff]"
)


def reference(text: str) -> str:
    return REFERENCE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def test_controls_bidi_and_lone_carriage_returns_are_escaped_and_layout_kept() -> None:
    assert escape_for_terminal("a\x1b[2Jb") == "a\\u001b[2Jb"
    assert escape_for_terminal("line\r\nnext\tcol\n") == "line\r\nnext\tcol\n"
    assert escape_for_terminal("over\rwrite") == "over\\u000dwrite"
    assert escape_for_terminal("\u202eevil\u2069") == "\\u202eevil\\u2069"
    assert escape_for_terminal("bad \ud800 byte") == "bad \\ud800 byte"
    assert escape_for_terminal("plain — text … ✓") == "plain — text … ✓"


def test_escaping_matches_the_reference_on_random_text() -> None:
    rng = random.Random(20)
    alphabet = [
        *"ab {}[]\":,—…é中",
        "\n", "\t", "\r", "\x00", "\x07", "\x0b", "\x1b", "\x1f", "\x7f", "\x85", "\x9f",
        "\ud800", "\udfff", *BIDI_CONTROLS,
    ]  # fmt: skip
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert escape_for_terminal(text) == reference(text), repr(text)
    plain = "".join(rng.choice('ab {}[]":,—…é中\n\t') for _ in range(50_000))
    assert escape_for_terminal(plain) is plain
