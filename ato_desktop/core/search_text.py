"""Palette search text rules, without I/O: how a query splits into terms, how a match ranks,
and the snippet with marked matches for queries too short for the trigram index.

Marks are two control characters (never in user text worth showing) so the UI can escape the
text first and then turn them into highlighting, and no markup from a message is ever rendered.
"""

from __future__ import annotations

import enum

MARK_START = "\x02"
MARK_END = "\x03"
ELLIPSIS = "…"

TRIGRAM = 3
"""The trigram index finds terms of at least this many characters."""


class MatchClass(enum.IntEnum):
    """How a name matches a query; lower ranks first."""

    EXACT = 0
    PREFIX = 1
    SUBSTRING = 2


def query_terms(text: str) -> list[str]:
    """The words of a query, in order, without duplicates (case-insensitively)."""
    seen: set[str] = set()
    terms: list[str] = []
    for word in text.split():
        key = word.casefold()
        if key not in seen:
            seen.add(key)
            terms.append(word)
    return terms


def fts_phrase_query(terms: list[str]) -> str:
    """An FTS5 MATCH expression: every term of TRIGRAM+ characters as a quoted phrase (AND)."""
    return " ".join('"' + t.replace('"', '""') + '"' for t in terms if len(t) >= TRIGRAM)


def like_pattern(term: str) -> str:
    """A LIKE pattern (ESCAPE '\\') matching term anywhere."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def match_class(name: str, query: str) -> MatchClass:
    """Exact, prefix or substring match of a (trimmed) query against a name, ignoring case."""
    key, wanted = name.casefold(), " ".join(query.split()).casefold()
    if key == wanted:
        return MatchClass.EXACT
    if key.startswith(wanted):
        return MatchClass.PREFIX
    return MatchClass.SUBSTRING


def mark_matches(text: str, terms: list[str]) -> str:
    """text with every case-insensitive occurrence of the terms wrapped in marks."""
    spans = _spans(text, terms)
    if not spans:
        return text
    out: list[str] = []
    pos = 0
    for start, end in spans:
        out.append(text[pos:start])
        out.append(MARK_START + text[start:end] + MARK_END)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def make_snippet(text: str, terms: list[str], width: int = 80) -> str:
    """About `width` characters of one line around the first match, matches marked."""
    flat = " ".join(text.split())
    spans = _spans(flat, terms)
    if not spans:
        return flat[:width] + (ELLIPSIS if len(flat) > width else "")
    first = spans[0][0]
    start = max(0, first - width // 3)
    end = min(len(flat), start + width)
    start = max(0, min(start, end - width))
    window = flat[start:end]
    inner = [
        (max(s, start) - start, min(e, end) - start) for s, e in spans if s < end and e > start
    ]
    out: list[str] = [ELLIPSIS if start > 0 else ""]
    pos = 0
    for s, e in inner:
        out.append(window[pos:s])
        out.append(MARK_START + window[s:e] + MARK_END)
        pos = e
    out.append(window[pos:])
    out.append(ELLIPSIS if end < len(flat) else "")
    return "".join(out)


def strip_marks(text: str) -> str:
    return text.replace(MARK_START, "").replace(MARK_END, "")


def _spans(text: str, terms: list[str]) -> list[tuple[int, int]]:
    # lower() keeps lengths for nearly all text (casefold does not: "ß" -> "ss"); where it
    # does not, match case-sensitively so offsets stay right.
    lowered = text.lower()
    haystack = lowered if len(lowered) == len(text) else text
    found: list[tuple[int, int]] = []
    for term in terms:
        needle = term.lower() if haystack is lowered else term
        if not needle:
            continue
        at = haystack.find(needle)
        while at >= 0:
            found.append((at, at + len(needle)))
            at = haystack.find(needle, at + len(needle))
    found.sort()
    merged: list[tuple[int, int]] = []
    for start, end in found:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
