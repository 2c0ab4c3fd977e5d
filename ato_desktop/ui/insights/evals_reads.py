"""Reads for Insights -> Evals, run on reader threads (ctx.read): the suites with their latest
run, a suite's run history, and a recorded run as a report whose case rows carry the case's
input and expected value (from the suite's stored text) beside the diff against the run before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ato_desktop.core.eval_scoring import CaseChange, CaseOutcome, ScoreResult
from ato_desktop.core.eval_suite import EvalCase, SuiteFormatError, parse_suite
from ato_desktop.engine.evals import SuiteReport, load_report
from ato_desktop.store import evals as eval_store
from ato_desktop.store.evals import SuiteRecord, SuiteRunRecord

HISTORY_LIMIT = 100  # runs of one suite shown; older ones by "Show older runs"

# How a case moved against the previous run of the suite on the same target.
PASS_TO_FAIL = "pass→fail"
FAIL_TO_PASS = "fail→pass"
SCORE_UP = "score up"
SCORE_DOWN = "score down"
ADDED = "new case"
SAME = ""


@dataclass(frozen=True, slots=True)
class SuiteRow:
    """A suite and its newest run (None before its first finished run)."""

    suite: SuiteRecord
    last: SuiteRunRecord | None


def load_suites(store: Any) -> list[SuiteRow]:
    """Every suite (most recently run first) with its newest run."""
    rows: list[SuiteRow] = []
    for suite in eval_store.list_suites(store):
        runs = eval_store.suite_runs(store, suite_id=suite.id, limit=1)
        rows.append(SuiteRow(suite, runs[0] if runs else None))
    return rows


def load_history(store: Any, suite_id: str, before_ms: int | None = None) -> list[SuiteRunRecord]:
    """A suite's runs, newest first (a page of HISTORY_LIMIT)."""
    return eval_store.suite_runs(store, suite_id=suite_id, limit=HISTORY_LIMIT, before_ms=before_ms)


@dataclass(frozen=True, slots=True)
class CaseRow:
    """One case of a report, as the case table shows it."""

    outcome: CaseOutcome
    input_text: str  # the prompt, or the conversation (empty when the case is no longer known)
    expected_text: str  # "" when the case has no expected value
    change: str  # one of PASS_TO_FAIL, FAIL_TO_PASS, SCORE_UP, SCORE_DOWN, ADDED, SAME
    before_score: float | None

    @property
    def case_id(self) -> str:
        return self.outcome.case_id

    @property
    def changed(self) -> bool:
        return self.change != SAME


@dataclass(frozen=True, slots=True)
class ReportView:
    """A recorded suite run ready to show."""

    report: SuiteReport
    rows: tuple[CaseRow, ...]
    removed: tuple[str, ...]  # cases of the previous run that this run no longer has


def load_report_view(store: Any, suite_run_id: str) -> ReportView:
    report = load_report(store, suite_run_id)
    cases = _suite_cases(store, report)
    changes: dict[str, tuple[str, CaseChange | None]] = {}
    diff = report.diff
    if diff is not None:
        for c in diff.newly_failing:
            changes[c.case_id] = (PASS_TO_FAIL, c)
        for c in diff.newly_passing:
            changes[c.case_id] = (FAIL_TO_PASS, c)
        for c in diff.score_changed:
            changes[c.case_id] = (SCORE_UP if (c.delta or 0) > 0 else SCORE_DOWN, c)
        for case_id in diff.added:
            changes[case_id] = (ADDED, None)
    rows = []
    for outcome in report.outcomes:
        case = cases.get(outcome.case_id)
        kind, change = changes.get(outcome.case_id, (SAME, None))
        rows.append(
            CaseRow(
                outcome,
                case.transcript() if case is not None else "",
                _expected_text(case),
                kind,
                change.before_score if change is not None else None,
            )
        )
    return ReportView(report, tuple(rows), tuple(diff.removed) if diff else ())


def _suite_cases(store: Any, report: SuiteReport) -> dict[str, EvalCase]:
    record = report.record
    if record is None:
        return {}
    try:
        text = eval_store.suite_source(store, record.suite_id)
        suite = parse_suite(text, default_name=record.suite_name)
    except (SuiteFormatError, LookupError, ValueError, OSError):  # gone, or no longer parses
        return {}
    return {case.case_id: case for case in suite.cases}


def _expected_text(case: EvalCase | None) -> str:
    if case is None or not case.has_expected:
        return ""
    if isinstance(case.expected, str):
        return case.expected
    return json.dumps(case.expected, ensure_ascii=False)


def scorer_lines(scores: tuple[ScoreResult, ...]) -> list[str]:
    """Each scorer's verdict on one line: '✓ contains 1.00: found "Paris"'."""
    lines = []
    for s in scores:
        mark = "✓" if s.passed else "✗"
        name = s.name if s.name == s.kind else f"{s.name} ({s.kind})"
        reason = f": {s.reason}" if s.reason else ""
        lines.append(f"{mark} {name} {s.score:.2f}{reason}")
    return lines
