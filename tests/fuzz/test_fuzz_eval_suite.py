"""Eval suite JSONL: any text gives a suite (bad lines listed) or SuiteFormatError; any file
gives its text or EvalError."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from ato_desktop.core.eval_suite import EvalSuite, SuiteFormatError, parse_suite
from ato_desktop.engine.evals import EvalError, read_suite_text
from tests.fuzz.strategies import BINARY, HOSTILE_TEXT, JSON_VALUES, deep_json, dumps_loose

CASE_KEYS = ["input", "messages", "expected", "id", "metadata", "scorers", "suite"]
CASES = st.dictionaries(st.sampled_from(CASE_KEYS), JSON_VALUES, max_size=4).map(dumps_loose)
HEADERS = st.dictionaries(
    st.sampled_from(["name", "description", "scorers", "pass_threshold", "judge", "x"]),
    JSON_VALUES,
    max_size=4,
).map(lambda d: dumps_loose({"suite": d}))
GOOD = st.sampled_from(
    [
        '{"input": "2+2?", "expected": "4"}',
        '{"messages": [{"role": "user", "content": "hi"}], "expected": "hello"}',
        '{"suite": {"name": "s", "scorers": ["exact"]}}',
    ]
)
LINES = st.one_of(CASES, HEADERS, GOOD, HOSTILE_TEXT, st.just(deep_json(100_000)))
SUITES = st.lists(LINES, max_size=8).map("\n".join)


def _check(suite: EvalSuite) -> None:
    assert suite.cases
    assert len({c.case_id for c in suite.cases}) == len(suite.cases)
    for case in suite.cases:
        assert (case.input is None) != (case.messages is None)
        assert case.scorers
    for bad in suite.bad_lines:
        assert str(bad)


@given(SUITES)
@example(deep_json(100_000))
@example('{"input": "x", "expected": 1}\n' + deep_json(100_000, "{"))
@example('{"suite": {"pass_threshold": NaN}}\n{"input": "x", "expected": 1}')
@example('{"input": "x", "expected": 1, "id": 1e999}')
def test_any_jsonl_is_a_suite_or_a_clear_error(text: str) -> None:
    try:
        suite = parse_suite(text, default_name="fuzz")
    except SuiteFormatError as exc:
        assert str(exc)
        return
    _check(suite)


@given(BINARY)
@example(b"\xef\xbb\xbf" + json.dumps({"input": "bom", "expected": "x"}).encode())
def test_any_file_reads_or_says_why(tmp_path_factory: object, data: bytes) -> None:
    path = Path(str(tmp_path_factory.mktemp("suite"))) / "suite.jsonl"  # type: ignore[attr-defined]
    path.write_bytes(data)
    try:
        text = read_suite_text(path)
    except EvalError as exc:
        assert str(path) in str(exc)
        return
    try:
        _check(parse_suite(text, default_name="fuzz"))
    except SuiteFormatError as exc:
        assert str(exc)
