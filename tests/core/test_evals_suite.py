"""Eval suites: parsing JSONL, scorer declarations, bad lines reported by number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ato_desktop.core.eval_suite import (
    SuiteFormatError,
    parse_scorer,
    parse_scorer_option,
    parse_suite,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "evals" / "support_bot.jsonl"


def _lines(*items: object) -> str:
    return "\n".join(i if isinstance(i, str) else json.dumps(i) for i in items) + "\n"


def test_header_scorers_apply_to_cases_and_a_case_can_replace_them() -> None:
    text = _lines(
        {"suite": {"name": "s1", "scorers": ["contains"], "pass_threshold": 0.5}},
        {"id": "a", "input": "hi", "expected": "hello"},
        {"id": "b", "input": "n?", "expected": 3, "scorers": [{"type": "numeric"}]},
    )
    suite = parse_suite(text, default_name="file")
    assert suite.name == "s1"
    assert suite.pass_threshold == 0.5
    assert [c.case_id for c in suite.cases] == ["a", "b"]
    assert [s.kind for s in suite.cases[0].scorers] == ["contains"]
    assert [s.kind for s in suite.cases[1].scorers] == ["numeric"]
    assert suite.bad_lines == ()
    assert suite.scorer_kinds == ("contains", "numeric")


def test_without_header_the_file_name_names_the_suite_and_expected_means_exact() -> None:
    suite = parse_suite(_lines({"input": "x", "expected": "y"}), default_name="smoke")
    assert suite.name == "smoke"
    assert [s.kind for s in suite.cases[0].scorers] == ["exact"]


def test_bad_lines_are_reported_by_number_and_why_and_the_rest_still_parses() -> None:
    text = _lines(
        {"suite": {"scorers": ["exact"]}},
        {"id": "ok1", "input": "a", "expected": "a"},
        "{not json",
        "[1, 2]",
        {"id": "ok2", "input": "b", "expected": "b"},
        {"input": "c"},  # exact needs an expected value
        {"input": "d", "expected": "d", "expeted": "typo"},
        {"messages": [{"role": "assistant", "content": "hi"}], "expected": "x"},
        {"id": "ok1", "input": "again", "expected": "x"},
        {"input": "e", "messages": [], "expected": "x"},
        {"input": "f", "expected": "f", "scorers": [{"type": "regex", "pattern": "("}]},
        "",
        {"id": "ok3", "input": "g", "expected": "g"},
    )
    suite = parse_suite(text, default_name="s")
    assert [c.case_id for c in suite.cases] == ["ok1", "ok2", "ok3"]
    assert [c.line_no for c in suite.cases] == [2, 5, 13]
    reasons = {b.line_no: b.reason for b in suite.bad_lines}
    assert set(reasons) == {3, 4, 6, 7, 8, 9, 10, 11}
    assert reasons[3].startswith("not valid JSON")
    assert "a JSON object, not a list" in reasons[4]
    assert "needs an expected value" in reasons[6]
    assert "unknown key(s) ['expeted']" in reasons[7]
    assert "must end with a user message" in reasons[8]
    assert "duplicate id 'ok1' (first on line 2)" in reasons[9]
    assert "either" in reasons[10]
    assert "not a valid regular expression" in reasons[11]
    assert str(suite.bad_lines[0]).startswith("line 3: ")


def test_cases_without_an_id_get_a_stable_hash_id_and_repeats_a_suffix() -> None:
    one = parse_suite(_lines({"input": "same", "expected": "x"}), default_name="s")
    two = parse_suite(
        _lines({"input": "other", "expected": "x"}, {"input": "same", "expected": "x"}) * 1
        + json.dumps({"input": "same", "expected": "x"})
        + "\n",
        default_name="s",
    )
    first_id = one.cases[0].case_id
    assert first_id.startswith("h") and len(first_id) == 11
    assert [c.case_id for c in two.cases][1:] == [first_id, f"{first_id}-2"]


def test_messages_cases_keep_the_conversation_and_reject_system_turns() -> None:
    convo = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "bye?"},
    ]
    suite = parse_suite(
        _lines(
            {"messages": convo, "expected": "bye"},
            {"messages": [{"role": "system", "content": "x"}, *convo], "expected": "b"},
        ),
        default_name="s",
    )
    case = suite.cases[0]
    assert case.prompt == "bye?"
    assert case.messages is not None and len(case.messages) == 3
    assert "[assistant] hello" in case.transcript()
    assert "system message" in suite.bad_lines[0].reason


def test_a_suite_with_no_usable_case_or_a_bad_header_is_an_error() -> None:
    with pytest.raises(SuiteFormatError, match="no usable case"):
        parse_suite("\n\n", default_name="s")
    with pytest.raises(SuiteFormatError, match=r"line 1: not valid JSON"):
        parse_suite("{oops\n", default_name="s")
    with pytest.raises(SuiteFormatError, match=r"suite header.*unknown key"):
        parse_suite(
            _lines({"suite": {"nam": "x"}}, {"input": "a", "expected": "a"}), default_name="s"
        )
    with pytest.raises(SuiteFormatError, match="unknown scorer type 'fuzzy'"):
        parse_suite(
            _lines({"suite": {"scorers": ["fuzzy"]}}, {"input": "a", "expected": "a"}),
            default_name="s",
        )


def test_scorer_declarations_are_checked() -> None:
    assert parse_scorer("exact").kind == "exact"
    judge = parse_scorer({"type": "judge", "rubric": "polite", "judge": {"agent": "j"}})
    assert judge.params["rubric"] == "polite"
    assert parse_scorer_option('{"type": "regex", "pattern": "^a"}').params["pattern"] == "^a"
    for bad, message in (
        ({"type": "judge"}, "needs a rubric"),
        ({"type": "judge", "rubric": "r", "pass_score": 2}, "between 0 and 1"),
        ({"type": "judge", "rubric": "r", "judge": {"model": "m"}}, "a judge is"),
        ({"type": "python", "function": "not a path"}, "import path"),
        ({"type": "numeric", "tolerance": -1}, "≥ 0"),
        ({"type": "json", "schema": {"type": "nonsense"}}, "not a valid JSON Schema"),
        ({"type": "exact", "weight": 0}, "positive"),
    ):
        with pytest.raises(ValueError, match=message):
            parse_scorer(bad)
    with pytest.raises(ValueError, match="not valid JSON"):
        parse_scorer_option("{bad")


def test_the_example_suite_parses_with_every_scorer_kind() -> None:
    suite = parse_suite(EXAMPLE.read_text(encoding="utf-8"), default_name="x")
    assert suite.bad_lines == ()
    assert suite.name == "support-bot"
    assert set(suite.scorer_kinds) == {
        "exact",
        "contains",
        "regex",
        "json",
        "numeric",
        "judge",
        "python",
    }
