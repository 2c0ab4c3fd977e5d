"""Run JSON files for `compare`: any file is a run, or the CLI's clear error; any run-shaped
dict compares without a crash (unreadable numbers are unknown, never zero)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from ato_desktop.cli import UsageError
from ato_desktop.cli.compare import read_run_file
from ato_desktop.core.compare import build_run_comparison
from tests.fuzz.strategies import (
    BINARY,
    EDGE_NUMBERS,
    HOSTILE_TEXT,
    JSON_VALUES,
    deep_json,
    dumps_loose,
)

NUMBER_LIKE = st.one_of(EDGE_NUMBERS, HOSTILE_TEXT, st.none(), JSON_VALUES)
TOKENS = st.dictionaries(
    st.sampled_from(["input", "output", "cache_read", "input_tokens", "total", "estimated"]),
    NUMBER_LIKE,
)
ACTION = st.fixed_dictionaries(
    {},
    optional={
        "seq": NUMBER_LIKE,
        "name": NUMBER_LIKE,
        "kind": NUMBER_LIKE,
        "outcome": NUMBER_LIKE,
        "duration_ms": NUMBER_LIKE,
        "ttft_ms": NUMBER_LIKE,
        "duration_ns": NUMBER_LIKE,
        "tokens": st.one_of(TOKENS, JSON_VALUES),
        "cost_usd": NUMBER_LIKE,
        "cost_source": NUMBER_LIKE,
        "inputs": JSON_VALUES,
        "outputs": JSON_VALUES,
        "started_at": NUMBER_LIKE,
        "error_class": NUMBER_LIKE,
    },
)
RUN = st.fixed_dictionaries(
    {},
    optional={
        "id": NUMBER_LIKE,
        "status": NUMBER_LIKE,
        "agent": NUMBER_LIKE,
        "model": NUMBER_LIKE,
        "runtime": NUMBER_LIKE,
        "duration_ms": NUMBER_LIKE,
        "ttft_ms": NUMBER_LIKE,
        "tokens": st.one_of(TOKENS, JSON_VALUES),
        "cost_usd": NUMBER_LIKE,
        "cost_source": NUMBER_LIKE,
        "action_count": NUMBER_LIKE,
        "success_rate": NUMBER_LIKE,
        "started_at": NUMBER_LIKE,
        "tags": JSON_VALUES,
        "actions": st.one_of(st.lists(st.one_of(ACTION, JSON_VALUES), max_size=5), JSON_VALUES),
    },
)


@given(RUN, RUN)
@example(
    {"cost_usd": "0.014200", "actions": [{"cost_usd": "NaN", "tokens": {"input": "1e999"}}]},
    {"duration_ms": float("inf"), "actions": [{"name": ["x"], "outputs": {"text": 5}}]},
)
@example({"actions": [{"seq": 2**70}]}, {"success_rate": -1e308, "action_count": "many"})
def test_any_two_runs_compare(left: dict[str, Any], right: dict[str, Any]) -> None:
    comparison = build_run_comparison(left, right)
    json.dumps(comparison.as_dict(), allow_nan=True)  # the --json output can be written


FILES = st.one_of(
    RUN.map(dumps_loose).map(str.encode),
    st.lists(RUN, max_size=2).map(lambda runs: "\n".join(map(dumps_loose, runs)).encode()),
    st.dictionaries(st.just("runs"), JSON_VALUES).map(dumps_loose).map(str.encode),
    BINARY,
)


@given(FILES)
@example(deep_json(100_000).encode())
@example(b'{"runs": [' + deep_json(100_000, "{").encode() + b"]}")
@example(b"{}\n" + deep_json(100_000).encode())
def test_any_file_is_a_run_or_a_usage_error(tmp_path_factory: object, content: bytes) -> None:
    path = Path(str(tmp_path_factory.mktemp("runs"))) / "run.json"  # type: ignore[attr-defined]
    path.write_bytes(content)
    try:
        run = read_run_file(str(path))
    except UsageError as exc:
        assert str(path) in str(exc)
        return
    assert isinstance(run, dict)
    build_run_comparison(run, run)
