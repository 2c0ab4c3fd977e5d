"""Strategies the fuzz tests share: JSON values of any shape, hostile text and bytes."""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import strategies as st

# Numbers a careless or hostile writer puts in JSON: huge, negative, fractional, non-finite.
EDGE_NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 1e308, -0.0, 1e-320]),
)

# Text with the characters parsers trip on: NULs, lone surrogates excluded (JSON can't carry
# them through an encoder), control characters, braces, quotes, RTL marks, emoji.
HOSTILE_TEXT = st.one_of(
    st.text(max_size=60),
    st.text(
        alphabet=st.sampled_from('{}[]":,\\\x00\n\r\t #*`~-=<>@$%^&|/.\u202e\ufeffé😀'), max_size=60
    ),
    st.sampled_from(["", " ", "null", "NaN", "Infinity", "-1", "1e999", "\ufeff", "\x00"]),
)

JSON_LEAVES = st.one_of(st.none(), st.booleans(), EDGE_NUMBERS, HOSTILE_TEXT)

JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    JSON_LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(HOSTILE_TEXT, children, max_size=5)
    ),
    max_leaves=25,
)


def deep_json(depth: int, kind: str = "[") -> str:
    """Nesting deeper than the stdlib's JSON recursion can take."""
    if kind == "[":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


def dumps_loose(value: Any) -> str:
    """JSON text of value with NaN/Infinity as Python writes them (as a careless exporter does)."""
    return json.dumps(value, allow_nan=True)


BINARY = st.one_of(
    st.binary(max_size=300),
    st.sampled_from(
        [b"\xff\xfe\x00\x00", b"\x00" * 64, b"\xc3\x28", b"\xed\xa0\x80", b"PK\x03\x04"]
    ),
)


def deep_profile() -> bool:
    """Whether the heavy fuzzing profile is on (ATO_FUZZ=deep or HYPOTHESIS_PROFILE=deep)."""
    return (
        os.environ.get("HYPOTHESIS_PROFILE") == "deep"
        or os.environ.get("ATO_FUZZ", "").lower() == "deep"
    )


def examples(ci: int, deep: int) -> int:
    """max_examples for a slow property (a real dispatch each): ci in `make test`, deep else."""
    return deep if deep_profile() else ci
