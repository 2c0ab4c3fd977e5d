"""Eval scorers, the judge's answer, figures, the diff against a previous run, sampling."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ato_desktop.core.eval_scoring import (
    CaseOutcome,
    CaseVerdict,
    ScoreResult,
    combine,
    custom_result,
    diff_runs,
    extract_number,
    figures,
    judge_prompt,
    judge_result,
    read_judge_answer,
    sampled,
    score_deterministic,
)
from ato_desktop.core.eval_suite import EvalCase, ScorerSpec, parse_scorer


def _case(expected: Any = None, *, has_expected: bool = True) -> EvalCase:
    return EvalCase("c", 1, "prompt", None, expected, has_expected)


def _score(spec: Any, output: str, expected: Any = None) -> ScoreResult:
    scorer = parse_scorer(spec)
    return score_deterministic(scorer, output, _case(expected, has_expected=expected is not None))


def test_exact() -> None:
    assert _score("exact", "  Paris \n", "Paris").passed
    assert not _score("exact", "paris", "Paris").passed
    assert _score({"type": "exact", "ignore_case": True}, "paris", "Paris").passed
    result = _score("exact", "Lyon", "Paris")
    assert (result.score, result.reason) == (0.0, "expected 'Paris', got 'Lyon'")
    assert _score("exact", '{"a": 1}', {"a": 1}).passed  # structured: equal as JSON


def test_contains_one_or_all_of_a_list_with_partial_credit() -> None:
    assert _score("contains", "Refunds within 30 days.", "30 days").passed
    partial = _score("contains", "red and blue", ["red", "green"])
    assert not partial.passed and partial.score == 0.5 and "green" in partial.reason
    assert _score({"type": "contains", "any": True}, "red", ["red", "green"]).passed


def test_regex_search_full_and_flags() -> None:
    assert _score({"type": "regex", "pattern": r"ORD-\d{5}"}, "id ORD-12345 ok").passed
    assert not _score(
        {"type": "regex", "pattern": r"ORD-\d{5}", "full": True}, "id ORD-12345"
    ).passed
    assert _score({"type": "regex", "pattern": "^yes$", "ignore_case": True}, "YES").passed
    assert _score("regex", "abc123", r"\d+").passed  # the expected value as the pattern


def test_json_valid_schema_fenced_and_equals() -> None:
    schema = {"type": "object", "required": ["title"], "properties": {"title": {"type": "string"}}}
    assert _score("json", '{"a": 1}').passed
    assert _score("json", '```json\n{"a": 1}\n```').passed
    bad = _score("json", "{nope")
    assert not bad.passed and bad.reason.startswith("not valid JSON")
    assert _score({"type": "json", "schema": schema}, '{"title": "x"}').passed
    wrong = _score({"type": "json", "schema": schema}, '{"title": 3}')
    assert not wrong.passed and "(at /title)" in wrong.reason
    assert _score({"type": "json", "equals": True}, "[1, 2]", [1, 2]).passed
    assert not _score({"type": "json", "equals": True}, "[2, 1]", [1, 2]).passed


def test_numeric_extraction_and_tolerance() -> None:
    assert extract_number("The total is $1,234.50 today") == 1234.5
    assert extract_number("3 then 4", "first") == 3
    assert extract_number("no digits") is None
    assert _score({"type": "numeric", "tolerance": 0.01}, "Total: 12.60", 12.6).passed
    assert _score("numeric", "42", "42").passed
    assert not _score({"type": "numeric", "tolerance": 0.1}, "12.9", 12.6).passed
    assert _score({"type": "numeric", "relative": 0.05}, "104", 100).passed
    assert _score("numeric", "nothing here", 1).reason == "no number in the output"


def test_judge_prompt_and_reading_its_answer() -> None:
    prompt = judge_prompt("Be polite.", "[user] hi", "Hello!", expected="Hi there", max_score=5)
    assert "Be polite." in prompt and "Hello!" in prompt and "Hi there" in prompt
    assert "from 0 to 5" in prompt
    assert read_judge_answer('{"score": 8, "reason": "good"}') == (0.8, "good")
    assert read_judge_answer('Sure.\n```json\n{"score": "10", "reason": "x"}\n```')[0] == 1.0
    assert read_judge_answer("Score: 7")[0] == 0.7
    assert read_judge_answer("I'd say 3/5", 10)[0] == 0.6
    assert read_judge_answer('{"score": 99}')[0] == 1.0  # clamped
    assert read_judge_answer("no idea")[0] is None
    spec = parse_scorer({"type": "judge", "rubric": "r", "pass_score": 0.75})
    ok = judge_result(
        spec,
        json.dumps({"score": 8, "reason": "fine"}),
        completed=True,
        error=None,
        run_id="r1",
        cost_usd=0.001,
        cost_source="estimated",
    )
    assert ok.passed and ok.score == 0.8 and ok.judge_run_id == "r1" and not ok.failed
    unreadable = judge_result(
        spec, "hmm", completed=True, error=None, run_id="r2", cost_usd=0.0, cost_source="estimated"
    )
    assert unreadable.failed and not unreadable.passed and "no score" in unreadable.reason
    failed = judge_result(
        spec, "", completed=False, error="429", run_id=None, cost_usd=None, cost_source=None
    )
    assert failed.failed and "failed: 429" in failed.reason


def test_custom_scorer_return_values() -> None:
    spec = ScorerSpec("python", "mine")
    assert custom_result(spec, True).score == 1.0
    assert custom_result(spec, 0.4).passed is False
    assert custom_result(spec, (0.9, "close")).reason == "close"
    assert custom_result(spec, {"score": 0.2, "passed": True}).passed is True
    odd = custom_result(spec, "yes")
    assert not odd.passed and "not a score" in odd.reason
    assert not custom_result(spec, 1.5).passed


def test_combine_weights_and_threshold() -> None:
    results = [
        ScoreResult("a", "exact", 1.0, True, weight=3),
        ScoreResult("b", "contains", 0.0, False, weight=1),
    ]
    strict = combine(
        "c", 1, results, pass_threshold=None, run_id="r", status="completed", output=""
    )
    assert strict.score == 0.75 and not strict.passed
    lenient = combine(
        "c", 1, results, pass_threshold=0.7, run_id="r", status="completed", output=""
    )
    assert lenient.passed


def test_figures_cost_judge_cost_and_percentiles() -> None:
    judge = ScoreResult(
        "j", "judge", 1, True, judge_run_id="j1", cost_usd=0.002, cost_source="estimated"
    )
    outcomes = [
        CaseOutcome(
            "a",
            1,
            "r1",
            "completed",
            1.0,
            True,
            (judge,),
            cost_usd=0.01,
            cost_source="provider",
            duration_ms=100,
        ),
        CaseOutcome(
            "b",
            2,
            "r2",
            "completed",
            0.5,
            False,
            cost_usd=0.02,
            cost_source="estimated",
            duration_ms=300,
        ),
        CaseOutcome("c", 3, "r3", "failed", 0.0, False, error="boom", duration_ms=200),
    ]
    figs = figures(outcomes, 4)
    assert (figs.cases, figs.ran, figs.passed, figs.errors) == (4, 3, 1, 1)
    assert figs.pass_rate == pytest.approx(1 / 3)
    assert figs.mean_score == pytest.approx(0.5)
    assert figs.cost_usd == pytest.approx(0.03) and figs.cost_source == "estimated"
    assert figs.judge_cost_usd == pytest.approx(0.002)
    assert (figs.p50_ms, figs.p95_ms) == (200, 300)
    assert figures([], 2).pass_rate is None


def test_diff_against_previous_run() -> None:
    before = [
        CaseVerdict("a", 1.0, True),
        CaseVerdict("b", 0.0, False),
        CaseVerdict("c", 0.8, True),
        CaseVerdict("d", 1.0, True),
        CaseVerdict("gone", 1.0, True),
    ]
    after = [
        CaseVerdict("a", 0.0, False),
        CaseVerdict("b", 1.0, True),
        CaseVerdict("c", 0.9, True),
        CaseVerdict("d", 1.0, True),
        CaseVerdict("new", 1.0, True),
    ]
    diff = diff_runs("prev", before, after, suite_changed=True)
    assert [c.case_id for c in diff.newly_failing] == ["a"]
    assert [c.case_id for c in diff.newly_passing] == ["b"]
    assert [c.case_id for c in diff.score_changed] == ["c"]
    assert diff.score_changed[0].delta == pytest.approx(0.1)
    assert (diff.added, diff.removed, diff.unchanged) == (("new",), ("gone",), 1)
    assert diff.as_dict()["pass_to_fail"][0]["before_passed"] is True


def test_sampling_is_deterministic_per_seed_and_near_the_percentage() -> None:
    ids = [f"{i:032x}" for i in range(4000)]
    picked = [i for i in ids if sampled(i, "seed-1", 25)]
    assert picked == [i for i in ids if sampled(i, "seed-1", 25)]
    assert 0.22 < len(picked) / len(ids) < 0.28
    assert picked != [i for i in ids if sampled(i, "seed-2", 25)]
    assert not any(sampled(i, "s", 0) for i in ids[:50])
    assert all(sampled(i, "s", 100) for i in ids[:50])
