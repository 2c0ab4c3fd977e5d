"""Text safe to print on a terminal, and names safe to show anywhere.

Text that came from the log or the network (a model's answer, a span's name from the OTLP
receiver, an error a server sent) can hold terminal control sequences: ESC starts the sequences
that retitle the window, clear the screen, move the cursor or recolour; BEL rings; C1 controls
(U+0080-U+009F) are single-character forms of the same on some terminals; a carriage return
alone lets text overwrite the start of its line; bidirectional overrides and isolates make text
display in another order than it reads (Trojan Source). `escape_for_terminal` writes each as a
visible `\\uXXXX`, the notation JSON uses, so JSON output stays valid and means the same.
Newlines and tabs are layout, and stay.

Names the user types (agents, groups, schedules, hooks, skills, thread titles) are shown in
tables, menus and the canvas: `name_problem` refuses control characters and bidi controls in
them rather than storing what would show differently from what was typed.
"""

from __future__ import annotations

import re
import unicodedata

# Bidirectional formatting characters: the embeddings and overrides (LRE, RLE, PDF, LRO, RLO),
# the isolates (LRI, RLI, FSI, PDI) and the marks (LRM, RLM, ALM).
BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)


def _escape(code: int) -> str:
    return f"\\u{code:04x}"


# A carriage return is kept only right before a newline (CRLF line ends); newline and tab are
# never escaped. Lone surrogates are what undecodable input (a non-UTF-8 byte) becomes.
_UNSAFE = re.compile(
    "\r(?!\n)|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
    + "".join(sorted(BIDI_CONTROLS))
    + "\ud800-\udfff]"
)


# The characters _UNSAFE can match, every carriage return included: one character class, which
# a large output (a page of runs as JSON) is scanned for in a third of the time _UNSAFE takes.
_MAYBE_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f" + "".join(sorted(BIDI_CONTROLS)) + "\ud800-\udfff]"
)


def escape_for_terminal(text: str) -> str:
    """text with every C0 control but newline and tab (a carriage return not followed by a
    newline included), DEL, every C1 control, every bidi control and every lone surrogate
    written as `\\uXXXX`."""
    if _MAYBE_UNSAFE.search(text) is None or _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(lambda found: _escape(ord(found.group())), text)


def strip_controls(text: str) -> str:
    """text without the characters escape_for_terminal would escape (for titles made from
    other text, such as a thread's from its first prompt)."""
    return _UNSAFE.sub("", text) if _UNSAFE.search(text) is not None else text


def name_problem(name: str, what: str) -> str | None:
    """Why name cannot name a `what` (empty, or holding control characters, bidi controls or
    line breaks), said for the user; None when it can."""
    article = "an" if what[:1] in "aeiou" else "a"
    if not isinstance(name, str) or not name.strip():
        return f"{article} {what} needs a name"
    for char in name:
        category = unicodedata.category(char)
        if category in ("Cc", "Cs", "Zl", "Zp") or char in BIDI_CONTROLS:
            kind = (
                "a bidirectional-text control"
                if char in BIDI_CONTROLS
                else "a line break"
                if category in ("Zl", "Zp") or char in "\r\n"
                else "text that is not valid UTF-8"
                if category == "Cs"
                else "a control character"
            )
            return (
                f"{article} {what} name cannot contain {kind} ({_escape(ord(char))}): "
                f"{escape_for_terminal(name)!s}"
            )
    return None
