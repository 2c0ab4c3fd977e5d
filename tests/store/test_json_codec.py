"""The log's JSON: fast_json (bulk rows) writes what the log's own encoder writes."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import UTC, datetime

from ato_desktop.store.json_codec import ENCODER, fast_json, from_json, to_json


@dataclasses.dataclass
class _Point:
    x: int
    y: int


def test_fast_json_writes_the_text_the_logs_encoder_writes() -> None:
    values = [
        {"role": "user", "content": "naïve café ✓ 日本語", "n": 3, "ok": True, "none": None},
        [1, 123456789012345678, 'a"b\\c\n\t\u0001\u007f'],
        {"nested": {"list": [{"a": 1}, {"b": [None, False]}]}, "tuple": (1, "two")},
        "plain text",
        42,
        {},
    ]
    for value in values:
        assert fast_json(value) == to_json(value)
    # Floats: the same numbers (orjson may spell an exponent differently: 1e-7, not 1e-07).
    floats = [2.5, -0.0001, 1e-07, 0.1 + 0.2, 1e300]
    assert json.loads(fast_json(floats)) == json.loads(ENCODER.encode(floats)) == floats


def test_what_orjson_refuses_or_writes_its_own_way_goes_to_the_logs_encoder() -> None:
    at = datetime(2026, 12, 7, 23, 0, tzinfo=UTC)
    for value in (
        {"big": 2**70},  # past 64 bits
        {"bytes": b"\x00\xff"},  # marked base64
        {"set": {1}},
        {"when": at},  # str(datetime), as the log's encoder writes it
        {"point": _Point(1, 2)},  # str(dataclass), not orjson's field dict
        {1: "a non-text key"},
    ):
        assert fast_json(value) == to_json(value)


def test_lone_surrogates_become_replacement_characters() -> None:
    text = fast_json({"t": "a\ud800b"})
    assert from_json(text) == {"t": "a\ufffdb"}
    text.encode("utf-8")  # storable


def test_nan_and_infinities_are_written_as_null() -> None:
    # The stdlib writes NaN, which is not JSON (SQLite's JSON functions refuse it).
    assert from_json(fast_json({"t": math.nan, "u": math.inf})) == {"t": None, "u": None}
