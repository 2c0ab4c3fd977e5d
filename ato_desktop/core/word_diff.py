"""A word-level diff of two texts, for side-by-side views and the CLI."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

_TOKEN = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True, slots=True)
class DiffPiece:
    """A run of text that is in both texts ("equal"), only the first ("delete"), or only the
    second ("insert")."""

    op: str
    text: str


def word_diff(before: str, after: str) -> list[DiffPiece]:
    """The pieces that turn before into after, word by word (whitespace kept as it was)."""
    a, b = _TOKEN.findall(before), _TOKEN.findall(after)
    pieces: list[DiffPiece] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            pieces.append(DiffPiece("equal", "".join(a[a0:a1])))
        else:
            if a1 > a0:
                pieces.append(DiffPiece("delete", "".join(a[a0:a1])))
            if b1 > b0:
                pieces.append(DiffPiece("insert", "".join(b[b0:b1])))
    return pieces


def similarity(before: str, after: str) -> float:
    """0..1: the share of words the two texts have in common, in order."""
    a, b = before.split(), after.split()
    if not a and not b:
        return 1.0
    return difflib.SequenceMatcher(a=a, b=b, autojunk=False).ratio()


def render_plain(pieces: list[DiffPiece]) -> str:
    """[-removed-]{+added+} markup, for terminals and logs."""
    out = []
    for piece in pieces:
        if piece.op == "equal":
            out.append(piece.text)
        elif piece.op == "delete":
            out.append(f"[-{piece.text}-]")
        else:
            out.append(f"{{+{piece.text}+}}")
    return "".join(out)
