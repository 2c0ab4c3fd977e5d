"""Scoring eval cases, the pure part: deterministic scorers, the judge's prompt and the reading
of its answer, custom scorers' return values, a suite run's figures, and the diff against a
previous run of the same suite.

Every scorer gives a score in [0, 1] and a pass/fail. A case's score is the weighted mean of its
scorers'; it passes when every scorer passes (or, with the suite's pass_threshold, when its score
reaches the threshold). A case whose run did not complete scores 0 and fails, without scoring.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ato_desktop.core.cost_rollup import rollup_cost, rollup_source
from ato_desktop.core.eval_suite import EvalCase, ScorerSpec, as_number

_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+]?\.\d+")
_FENCE = re.compile(r"^\s*```[\w-]*\s*\n(.*?)\n?```\s*$", re.DOTALL)
SCORE_CHANGE_EPSILON = 0.005  # smaller moves are noise, not a change worth listing


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """One scorer's verdict on one case. judge_run_id and cost for an LLM judge; failed when
    the scorer could not score at all (the judge's run failed or its answer had no score, a
    custom scorer raised): the case then scores 0 on it."""

    name: str
    kind: str
    score: float
    passed: bool
    reason: str = ""
    weight: float = 1.0
    judge_run_id: str | None = None
    cost_usd: float | None = None
    cost_source: str | None = None
    failed: bool = False

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "score": round(self.score, 4),
            "passed": self.passed,
            "reason": self.reason,
            "weight": self.weight,
        }
        if self.failed:
            data["failed"] = True
        if self.judge_run_id is not None:
            data.update(
                judge_run_id=self.judge_run_id,
                cost_usd=self.cost_usd,
                cost_source=self.cost_source,
            )
        return data

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> ScoreResult:
        return ScoreResult(
            name=str(data.get("name", "")),
            kind=str(data.get("kind", "")),
            score=float(as_number(data.get("score")) or 0.0),
            passed=bool(data.get("passed")),
            reason=str(data.get("reason") or ""),
            weight=float(as_number(data.get("weight")) or 1.0),
            judge_run_id=data.get("judge_run_id"),
            cost_usd=as_number(data.get("cost_usd")),
            cost_source=data.get("cost_source"),
            failed=bool(data.get("failed")),
        )


def _result(spec: ScorerSpec, score: float, passed: bool, reason: str) -> ScoreResult:
    return ScoreResult(spec.name, spec.kind, score, passed, reason, spec.weight)


# -- deterministic scorers -----------------------------------------------------------------------


def score_deterministic(spec: ScorerSpec, output: str, case: EvalCase) -> ScoreResult:
    """exact, contains, regex, json, numeric; judge and python are the engine's (they call out)."""
    scorer = _SCORERS.get(spec.kind)
    if scorer is None:
        raise ValueError(f"{spec.kind} is not a deterministic scorer")
    return scorer(spec, output, case)


def _expected(spec: ScorerSpec, case: EvalCase) -> Any:
    return spec.params.get("value", case.expected)


def _fold(text: str, spec: ScorerSpec) -> str:
    return text.casefold() if spec.params.get("ignore_case") else text


def _exact(spec: ScorerSpec, output: str, case: EvalCase) -> ScoreResult:
    expected = _expected(spec, case)
    strip = spec.params.get("strip", True)
    got = output.strip() if strip else output
    if not isinstance(expected, str):
        # A structured expected value matches an output that parses to it.
        parsed = _parse_json(output)
        if parsed[0] and parsed[1] == expected:
            return _result(spec, 1.0, True, "equal as JSON")
        expected = json.dumps(expected, ensure_ascii=False)
    want = expected.strip() if strip else expected
    if _fold(got, spec) == _fold(want, spec):
        return _result(spec, 1.0, True, "equal")
    return _result(spec, 0.0, False, f"expected {_clip(want)!r}, got {_clip(got)!r}")


def _contains(spec: ScorerSpec, output: str, case: EvalCase) -> ScoreResult:
    expected = _expected(spec, case)
    needles = [expected] if isinstance(expected, str) else list(expected)
    haystack = _fold(output, spec)
    found = [n for n in needles if _fold(n, spec) in haystack]
    missing = [n for n in needles if n not in found]
    score = len(found) / len(needles) if needles else 1.0
    passed = bool(found) if spec.params.get("any") else not missing
    if passed:
        return _result(spec, 1.0 if spec.params.get("any") else score, True, "found")
    return _result(spec, score, False, "missing " + ", ".join(repr(_clip(m, 40)) for m in missing))


def _regex(spec: ScorerSpec, output: str, case: EvalCase) -> ScoreResult:
    pattern = spec.params.get("pattern", case.expected)
    flags = 0
    if spec.params.get("ignore_case"):
        flags |= re.IGNORECASE
    if spec.params.get("multiline"):
        flags |= re.MULTILINE
    if spec.params.get("dotall"):
        flags |= re.DOTALL
    regex = re.compile(str(pattern), flags)
    text = output.strip() if spec.params.get("full") else output
    match = regex.fullmatch(text) if spec.params.get("full") else regex.search(text)
    if match:
        return _result(spec, 1.0, True, f"matched {_clip(match.group(0), 40)!r}")
    return _result(spec, 0.0, False, f"no match for /{_clip(str(pattern), 60)}/")


def _json(spec: ScorerSpec, output: str, case: EvalCase) -> ScoreResult:
    ok, value, problem = _parse_json(output)
    if not ok:
        return _result(spec, 0.0, False, f"not valid JSON: {problem}")
    schema = spec.params.get("schema")
    if schema is not None:
        violation = schema_violation(schema, value)
        if violation:
            return _result(spec, 0.0, False, f"does not match the schema: {violation}")
    if spec.params.get("equals"):
        expected = _expected(spec, case)
        if value != expected:
            return _result(spec, 0.0, False, f"valid JSON, but not {_clip(json.dumps(expected))}")
    return _result(spec, 1.0, True, "valid JSON" + (" matching the schema" if schema else ""))


def schema_violation(schema: Any, value: Any) -> str | None:
    """The most relevant way value breaks schema, or None when it conforms."""
    from jsonschema import exceptions, validators

    validator = validators.validator_for(schema)(schema)
    error = exceptions.best_match(validator.iter_errors(value))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{error.message}" + (f" (at /{where})" if where else "")


def _parse_json(output: str) -> tuple[bool, Any, str]:
    """(ok, value, problem): the output as JSON, a Markdown code fence around it allowed."""
    text = output.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    if not text:
        return False, None, "the output is empty"
    try:
        return True, json.loads(text), ""
    except ValueError as exc:
        return False, None, str(exc.args[0] if exc.args else exc)


def _numeric(spec: ScorerSpec, output: str, case: EvalCase) -> ScoreResult:
    expected = as_number(_expected(spec, case))
    assert expected is not None  # checked when the suite was parsed
    got = extract_number(output, str(spec.params.get("extract", "last")))
    if got is None:
        return _result(spec, 0.0, False, "no number in the output")
    tolerance = max(
        float(spec.params.get("tolerance", 0)),
        float(spec.params.get("relative", 0)) * abs(expected),
    )
    delta = abs(got - expected)
    if delta <= tolerance or math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-12):
        return _result(spec, 1.0, True, f"{got:g} within ±{tolerance:g} of {expected:g}")
    return _result(
        spec, 0.0, False, f"{got:g} is {delta:g} away from {expected:g} (±{tolerance:g})"
    )


def extract_number(text: str, where: str = "last") -> float | None:
    """A number from model output: the whole text, or its first or last number."""
    if where == "whole":
        return as_number(text.strip())
    found = _NUMBER.findall(text)
    if not found:
        return None
    return as_number(found[0] if where == "first" else found[-1])


_SCORERS = {
    "exact": _exact,
    "contains": _contains,
    "regex": _regex,
    "json": _json,
    "numeric": _numeric,
}


# -- LLM judge -----------------------------------------------------------------------------------

JUDGE_INSTRUCTIONS = (
    "You are grading an AI assistant's answer against a rubric. Be strict and consistent; "
    "judge only what the rubric asks."
)


def judge_prompt(
    rubric: str, transcript: str, output: str, *, expected: Any = None, max_score: int = 10
) -> str:
    """The prompt a judge model gets: rubric, input, optional reference, the answer."""
    parts = [
        JUDGE_INSTRUCTIONS,
        f"Rubric:\n{rubric.strip()}",
        f"Input given to the assistant:\n<<<\n{transcript}\n>>>",
    ]
    if expected is not None:
        reference = expected if isinstance(expected, str) else json.dumps(expected)
        parts.append(f"Reference answer (for guidance):\n<<<\n{reference}\n>>>")
    parts.append(f"The assistant's answer:\n<<<\n{output}\n>>>")
    parts.append(
        f'Reply with only a JSON object: {{"score": <whole number from 0 to {max_score}>, '
        '"reason": "<one sentence>"}'
    )
    return "\n\n".join(parts)


_SCORE_FIELD = re.compile(r"\"?score\"?\s*[:=]\s*(-?\d+(?:\.\d+)?)", re.IGNORECASE)
_OUT_OF = re.compile(r"(-?\d+(?:\.\d+)?)\s*(?:/|out of)\s*(\d+)", re.IGNORECASE)


def read_judge_answer(text: str, max_score: int = 10) -> tuple[float | None, str]:
    """(normalised score in [0, 1] or None when unreadable, the judge's reason)."""
    reason = ""
    raw: float | None = None
    for match in re.finditer(r"\{.*?\}", text, re.DOTALL):
        try:
            value = json.loads(match.group(0))
        except ValueError:
            continue
        if isinstance(value, dict) and "score" in value:
            raw = as_number(value["score"])
            reason = str(value.get("reason") or "")
            if raw is not None:
                break
    if raw is None:
        field_match = _SCORE_FIELD.search(text)
        out_of = _OUT_OF.search(text)
        if field_match:
            raw = float(field_match.group(1))
        elif out_of and float(out_of.group(2)) > 0:
            raw = float(out_of.group(1)) / float(out_of.group(2)) * max_score
        reason = text.strip()[:300]
    if raw is None:
        return None, text.strip()[:300]
    return min(1.0, max(0.0, raw / max_score)), reason


def judge_result(
    spec: ScorerSpec,
    answer: str,
    *,
    completed: bool,
    error: str | None,
    run_id: str | None,
    cost_usd: float | None,
    cost_source: str | None,
) -> ScoreResult:
    """The judge scorer's result from the judge run's answer (or failure)."""
    max_score = int(spec.params.get("max_score", 10))
    pass_score = float(spec.params.get("pass_score", 0.7))
    if not completed:
        score: float | None = None
        reason = f"the judge's run failed: {error or 'no answer'}"
    else:
        score, reason = read_judge_answer(answer, max_score)
        if score is None:
            reason = f"the judge's answer had no score: {_clip(answer, 120)!r}"
    value = score if score is not None else 0.0
    if score is not None and value < pass_score:
        reason = f"{value:.2f} < {pass_score:.2f}: {reason}" if reason else f"{value:.2f}"
    return ScoreResult(
        spec.name,
        spec.kind,
        value,
        score is not None and value >= pass_score,
        reason,
        spec.weight,
        judge_run_id=run_id,
        cost_usd=cost_usd,
        cost_source=cost_source,
        failed=score is None,
    )


# -- custom scorers ------------------------------------------------------------------------------


def custom_result(spec: ScorerSpec, value: Any) -> ScoreResult:
    """A custom scorer's return value as a result: a bool, a number in [0, 1], (score, reason),
    or {"score": ..., "passed": ..., "reason": ...}. Anything else is a failing result saying
    what came back."""
    reason = ""
    passed: bool | None = None
    if isinstance(value, tuple) and len(value) == 2:
        value, reason = value[0], str(value[1])
    if isinstance(value, Mapping):
        reason = str(value.get("reason") or reason)
        if "passed" in value:
            passed = bool(value["passed"])
        value = value.get("score", value.get("passed"))
    if isinstance(value, bool):
        return _result(spec, 1.0 if value else 0.0, value if passed is None else passed, reason)
    number = as_number(value) if isinstance(value, (int, float)) else None
    if number is None or not 0 <= number <= 1:
        return _result(
            spec, 0.0, False, f"the scorer returned {_clip(repr(value), 60)}, not a score in [0, 1]"
        )
    return _result(spec, number, number >= 0.5 if passed is None else passed, reason)


# -- a case, a run of a suite -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaseOutcome:
    """What one case of a suite run came to."""

    case_id: str
    line_no: int
    run_id: str | None
    status: str  # the run's status, or "error" when no run could be made
    score: float
    passed: bool
    scores: tuple[ScoreResult, ...] = ()
    output: str = ""
    error: str | None = None
    cost_usd: float | None = None
    cost_source: str | None = None
    duration_ms: float | None = None

    @property
    def judge_cost_usd(self) -> float | None:
        return _sum_known(s.cost_usd for s in self.scores if s.judge_run_id)

    @property
    def judge_cost_source(self) -> str | None:
        source: str | None = None
        for s in self.scores:
            if s.judge_run_id:
                source = rollup_source(source, s.cost_source)
        return source

    def as_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "line": self.line_no,
            "run_id": self.run_id,
            "status": self.status,
            "score": round(self.score, 4),
            "passed": self.passed,
            "scores": [s.as_dict() for s in self.scores],
            "output": self.output,
            "error": self.error,
            "cost_usd": self.cost_usd,
            "cost_source": self.cost_source,
            "judge_cost_usd": self.judge_cost_usd,
            "duration_ms": self.duration_ms,
        }


def combine(
    case_id: str,
    line_no: int,
    results: Sequence[ScoreResult],
    *,
    pass_threshold: float | None,
    run_id: str | None,
    status: str,
    output: str,
    cost_usd: float | None = None,
    cost_source: str | None = None,
    duration_ms: float | None = None,
) -> CaseOutcome:
    """A completed run's scorer results as the case's score and verdict."""
    total = sum(r.weight for r in results)
    score = sum(r.score * r.weight for r in results) / total if total else 0.0
    if pass_threshold is not None:
        passed = score >= pass_threshold - 1e-9
    else:
        passed = bool(results) and all(r.passed for r in results)
    return CaseOutcome(
        case_id,
        line_no,
        run_id,
        status,
        score,
        passed,
        tuple(results),
        output,
        None,
        cost_usd,
        cost_source,
        duration_ms,
    )


@dataclass(frozen=True, slots=True)
class SuiteFigures:
    """A suite run's figures. pass_rate and mean_score are over the cases that ran (a case
    whose run failed counts as a failure); cost is the cases' runs, judge_cost the judges'."""

    cases: int
    ran: int
    passed: int
    errors: int
    pass_rate: float | None
    mean_score: float | None
    cost_usd: float | None
    cost_source: str | None
    judge_cost_usd: float | None
    judge_cost_source: str | None
    p50_ms: float | None
    p95_ms: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "ran": self.ran,
            "passed": self.passed,
            "failed": self.ran - self.passed,
            "errors": self.errors,
            "pass_rate": self.pass_rate,
            "mean_score": None if self.mean_score is None else round(self.mean_score, 4),
            "cost_usd": self.cost_usd,
            "cost_source": self.cost_source,
            "judge_cost_usd": self.judge_cost_usd,
            "judge_cost_source": self.judge_cost_source,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
        }


def figures(outcomes: Sequence[CaseOutcome], total_cases: int) -> SuiteFigures:
    ran = len(outcomes)
    passed = sum(1 for o in outcomes if o.passed)
    cost: float | None = None
    source: str | None = None
    judge_cost: float | None = None
    judge_source: str | None = None
    for o in outcomes:
        cost = rollup_cost(cost, o.cost_usd)
        source = rollup_source(source, o.cost_source)
        judge_cost = rollup_cost(judge_cost, o.judge_cost_usd)
        judge_source = rollup_source(judge_source, o.judge_cost_source)
    durations = [o.duration_ms for o in outcomes if o.duration_ms is not None]
    return SuiteFigures(
        cases=total_cases,
        ran=ran,
        passed=passed,
        errors=sum(1 for o in outcomes if o.status != "completed"),
        pass_rate=passed / ran if ran else None,
        mean_score=sum(o.score for o in outcomes) / ran if ran else None,
        cost_usd=None if cost is None else round(cost, 8),
        cost_source=source,
        judge_cost_usd=None if judge_cost is None else round(judge_cost, 8),
        judge_cost_source=judge_source,
        p50_ms=percentile(durations, 50) if durations else None,
        p95_ms=percentile(durations, 95) if durations else None,
    )


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: the ceil(q% of n)-th smallest value."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _sum_known(values: Iterable[float | None]) -> float | None:
    total: float | None = None
    for v in values:
        total = rollup_cost(total, v)
    return total


# -- diff against the previous run --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaseChange:
    case_id: str
    before_score: float | None
    after_score: float | None
    before_passed: bool | None
    after_passed: bool | None

    @property
    def delta(self) -> float | None:
        if self.before_score is None or self.after_score is None:
            return None
        return self.after_score - self.before_score

    def as_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "before_score": self.before_score,
            "after_score": self.after_score,
            "before_passed": self.before_passed,
            "after_passed": self.after_passed,
        }


@dataclass(frozen=True, slots=True)
class SuiteDiff:
    """Case by case against the previous run of the same suite (cases matched by id)."""

    previous_suite_run_id: str
    newly_failing: tuple[CaseChange, ...] = ()  # pass -> fail
    newly_passing: tuple[CaseChange, ...] = ()  # fail -> pass
    score_changed: tuple[CaseChange, ...] = ()  # same verdict, score moved
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: int = 0
    suite_changed: bool = False  # the suite's text differs from the previous run's

    def as_dict(self) -> dict[str, Any]:
        return {
            "previous_suite_run_id": self.previous_suite_run_id,
            "pass_to_fail": [c.as_dict() for c in self.newly_failing],
            "fail_to_pass": [c.as_dict() for c in self.newly_passing],
            "score_changed": [c.as_dict() for c in self.score_changed],
            "added": list(self.added),
            "removed": list(self.removed),
            "unchanged": self.unchanged,
            "suite_changed": self.suite_changed,
        }


@dataclass(frozen=True, slots=True)
class CaseVerdict:
    """The minimum the diff needs of a case result."""

    case_id: str
    score: float
    passed: bool


def diff_runs(
    previous_id: str,
    before: Sequence[CaseVerdict],
    after: Sequence[CaseVerdict],
    *,
    suite_changed: bool = False,
) -> SuiteDiff:
    old = {c.case_id: c for c in before}
    new = {c.case_id: c for c in after}
    failing: list[CaseChange] = []
    passing: list[CaseChange] = []
    moved: list[CaseChange] = []
    unchanged = 0
    for case_id, now in new.items():
        was = old.get(case_id)
        if was is None:
            continue
        change = CaseChange(case_id, was.score, now.score, was.passed, now.passed)
        if was.passed and not now.passed:
            failing.append(change)
        elif now.passed and not was.passed:
            passing.append(change)
        elif abs(now.score - was.score) >= SCORE_CHANGE_EPSILON:
            moved.append(change)
        else:
            unchanged += 1
    return SuiteDiff(
        previous_id,
        tuple(failing),
        tuple(passing),
        tuple(sorted(moved, key=lambda c: c.delta or 0.0)),
        tuple(c for c in new if c not in old),
        tuple(c for c in old if c not in new),
        unchanged,
        suite_changed,
    )


# -- online judging ------------------------------------------------------------------------------


def sampled(run_id: str, seed: str, percent: float) -> bool:
    """Whether a run falls in a percent sample: a hash of seed and run id, so the same seed
    picks the same runs every time (tests, re-runs) and a new seed picks a fresh sample."""
    if percent <= 0:
        return False
    if percent >= 100:
        return True
    digest = hashlib.sha256(f"{seed}\x00{run_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < percent / 100


@dataclass(frozen=True, slots=True)
class OnlineJudgeSettings:
    """An agent's online judging: a percent of its production runs (any trigger but eval and
    replay) scored by a judge after they complete.

    Kept beside the agent, not in AgentConfig: a config change makes a new version, and the
    regression detector compares runs before and after each version. Turning a judge on, or
    changing its rubric or sample, changes how the agent is watched, not what it does; as a
    version it would split the agent's history and show up as a config change to explain.
    """

    agent_id: str
    rubric: str
    sample_percent: float = 10.0
    judge_agent: str | None = None
    judge_runtime: str | None = None
    judge_model: str | None = None
    judge_base_url: str | None = None
    max_score: int = 10
    pass_score: float = 0.7
    seed: str = "ato"
    enabled: bool = True
    updated_at: int = 0

    def problems(self) -> list[str]:
        out: list[str] = []
        if not self.rubric.strip():
            out.append("a judge needs a rubric")
        if not 0 <= self.sample_percent <= 100:
            out.append("the sample is a percentage between 0 and 100")
        if not self.judge_agent and not (self.judge_runtime and self.judge_model):
            out.append("the judge is an agent, or a runtime and a model")
        if self.max_score < 1:
            out.append("max_score must be at least 1")
        if not 0 <= self.pass_score <= 1:
            out.append("pass_score must be between 0 and 1")
        return out

    def scorer(self) -> ScorerSpec:
        return ScorerSpec(
            "judge",
            "online-judge",
            1.0,
            {"rubric": self.rubric, "max_score": self.max_score, "pass_score": self.pass_score},
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "agent_id": self.agent_id,
            "enabled": self.enabled,
            "sample_percent": self.sample_percent,
            "rubric": self.rubric,
            "judge_agent": self.judge_agent,
            "judge_runtime": self.judge_runtime,
            "judge_model": self.judge_model,
            "judge_base_url": self.judge_base_url,
            "max_score": self.max_score,
            "pass_score": self.pass_score,
            "seed": self.seed,
        }


@dataclass(frozen=True, slots=True)
class RunScore:
    """A score on a run outside a suite: a person's thumbs up/down, or the online judge's."""

    run_id: str
    source: str  # "manual" | "judge"
    score: float
    passed: bool
    note: str = ""
    judge_run_id: str | None = None
    created_at: int = 0

    @property
    def thumbs_up(self) -> bool:
        return self.passed

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "source": self.source,
            "score": self.score,
            "passed": self.passed,
            "note": self.note,
            "judge_run_id": self.judge_run_id,
            "created_at": self.created_at,
        }


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
