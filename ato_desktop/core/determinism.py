"""Determinism analysis: what in recorded runs will differ when they run again, and a 0-100 score
that those findings explain. Pure: no I/O, no clock (the action's own recorded time is "now").

This module holds the findings, the cross-run comparison, the scoring and the reports; the
pattern scanner is `core.determinism_scan`, the titles and advice `core.determinism_catalogue`.
The engine (`engine.determinism`) chooses which runs to read.

Two kinds of evidence:

- Patterns in what a run *produced* (`digest_run`): model and agent outputs (text and tool-call
  arguments), tool outputs, and the arguments a coding agent chose for its own steps. What a
  call was *given* (the system prompt, the user's prompt, the conversation, anything an earlier
  action returned) is context, never a finding: a date the user typed, or an id a tool returned
  that the model passed on, is not the run inventing one. Ids the app records per call (tool
  call ids) are left out.
- Measured non-determinism (`cross_run_findings`): actions whose inputs were identical (a
  canonical hash of name, kind and inputs, per-call ids left out) but whose outputs differed in
  another recorded run. When only the order of keys or items differed, it is an ordering
  finding instead.

Patterns (pattern id: title, issue type, severity):

- ``timestamp_current``: Timestamp in output, timestamp, High. A date-time at the time of the
  action (written by the model: within two days of it; by a tool or command, which can read a
  clock: within the call itself, give or take two minutes), or one the text or key calls a
  clock reading ("generated at", ``"generated_at":``; in a list of records such a key is data).
- ``epoch_current``: Epoch timestamp in output, timestamp, High. Unix seconds or milliseconds,
  under the same rules.
- ``timestamp_generated``: Timestamp in output, timestamp, Medium. A to-the-second date-time the
  model wrote that is in none of its inputs.
- ``current_date``: Current date in output, timestamp, Medium. The action's own date, written by
  the model, or a date under a clock key.
- ``relative_date``: Relative date in output, timestamp, Low. "today", "yesterday", "right
  now"... (not when the inputs speak that way too).
- ``uuid``: UUID in output, random value, High. ``random_token``: Random token in output, random
  value, Medium (long hex or mixed-case tokens). ``random_number``: Random number in output,
  random value, Medium (a full-precision float in [0, 1) that is not a simple fraction or a
  float32). In tool outputs, ids of records are data: only values under keys such as
  ``request_id``, ``nonce``, ``uuid``, or a bare token as the whole result, count.
- ``float_noise``: Floating-point noise, floating point, Medium (``0.30000000000000004``).
  ``float_unrounded``: Unrounded float, floating point, Low (16+ significant digits). Prices and
  short decimals (``19.99``, ``1.5``) are never findings.
- ``set_repr``: Set rendered as text, unordered collection, Medium (``{'b', 'a'}``).
- ``order_varies``: Order differs across runs, unordered collection, Medium (measured).
- ``side_effect``: Side effect without idempotency key, external state, High: a tool marked not
  read-only, called with no ``idempotency_key`` / ``request_id`` / ``Idempotency-Key``-like
  argument.
- ``output_varies``: Output differs for identical input, non-deterministic output, High
  (measured). ``tool_calls_vary``: Different tool calls for identical input, Critical
  (measured: the model took another path).

Findings are merged per run, action name and pattern (``occurrences`` counts them).

Nothing to judge: a run none of whose actions produced any output (it failed before a model or
tool answered, say for want of an API key) has no evidence either way. Its report says so
(`nothing_to_judge`, with the reason in `unjudged_reason`) instead of scoring it 100, and an
agent's score leaves such runs out.

Scoring (`score_findings`): a run starts at 100. Each finding deducts its severity's weight
(`SEVERITY_WEIGHTS`: Critical 32, High 16, Medium 8, Low 4), halved for each earlier finding of
the same issue type in the report (`REPEAT_FACTOR`, most severe first), never less than
`MIN_DEDUCTION` (0.5). When deductions add up to more than 100, each is scaled down in proportion
so that they add up to exactly 100 (score 0). So the score is always 100 minus the deductions of
the listed findings, and no finding means 100. An agent's score is the mean of its runs' scores;
each of its findings deducts its runs' deductions divided by the number of runs analysed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ato_desktop.core.determinism_catalogue import (
    PATTERNS,
    SEVERITY_ORDER,
    VARIATION_ADVICE,
    IssueType,
    Pattern,
    Severity,
    doc_path,
)
from ato_desktop.core.determinism_scan import (
    MODEL_KINDS,
    Hit,
    RunScanner,
    clip,
    dumps,
    excerpt,
    excerpt_value,
    json_line,
    json_text,
    looks_like_id,
    looks_like_time,
    side_effect_without_key,
    strip_call_ids,
)
from ato_desktop.core.records import ActionRecord

__all__ = [
    "BANDS",
    "MIN_DEDUCTION",
    "PATTERNS",
    "REPEAT_FACTOR",
    "SEVERITY_WEIGHTS",
    "ActionDigest",
    "ActionStats",
    "Band",
    "CrossRunResult",
    "DeterminismReport",
    "Finding",
    "IssueType",
    "Pattern",
    "RunDigest",
    "RunScore",
    "Severity",
    "action_input_key",
    "agent_report",
    "band_for",
    "cross_run_findings",
    "digest_run",
    "run_report",
    "score_findings",
    "unjudged_text",
    "variation_kind",
    "with_json_lines",
]


SEVERITY_WEIGHTS: Mapping[Severity, float] = {
    Severity.CRITICAL: 32.0,
    Severity.HIGH: 16.0,
    Severity.MEDIUM: 8.0,
    Severity.LOW: 4.0,
}
"""Points a finding deducts from 100 when it is the first of its issue type."""
REPEAT_FACTOR = 0.5
"""Each further finding of the same issue type deducts this share of what the previous would."""
MIN_DEDUCTION = 0.5
"""The least a listed finding deducts: every finding counts, however often its type repeats."""

# -- bands ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Band:
    """A range of scores with its label and colour name (the spec's progress-bar colours)."""

    key: str
    label: str
    colour: str
    minimum: int
    maximum: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "colour": self.colour,
            "min": self.minimum,
            "max": self.maximum,
        }


BANDS = (
    Band("high", "Highly deterministic", "green", 90, 100),
    Band("moderate", "Moderately deterministic", "yellow", 70, 89),
    Band("low", "Low determinism", "orange", 50, 69),
    Band("non_deterministic", "Highly non-deterministic", "red", 0, 49),
)


def band_for(score: float) -> Band:
    """The band a score falls in: 90-100 green, 70-89 yellow, 50-69 orange, 0-49 red."""
    for band in BANDS:
        if score >= band.minimum:
            return band
    return BANDS[-1]


# -- findings ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Finding:
    """One detected issue: where (run, action, path, line), what, and how to fix it.

    path is where in the action the evidence is ("outputs.text",
    "outputs.tool_calls[0].arguments.due"); line is the 1-based line within that text value
    (None for numbers and whole-action findings); json_line is the line where path's value
    starts in the action's outputs (or inputs) as the inspector shows them, JSON indented by 2
    (set by `with_json_lines`). deduction is set by `score_findings`. doc is the page that
    explains the pattern (docs/determinism/<pattern>.md).
    """

    action_name: str
    action_seq: int
    run_id: str
    issue_type: IssueType
    severity: Severity
    pattern: str
    title: str
    description: str
    evidence: str
    path: str | None
    line: int | None
    recommendation: str
    before_snippet: str
    after_snippet: str
    deduction: float = 0.0
    occurrences: int = 1
    runs_affected: int = 1
    related_run_id: str | None = None
    json_line: int | None = None

    @property
    def doc(self) -> str:
        return doc_path(self.pattern)

    def as_dict(self) -> dict[str, Any]:
        return {
            "issue": self.title,
            "issue_type": self.issue_type.value,
            "severity": self.severity.value,
            "pattern": self.pattern,
            "action": self.action_name,
            "action_seq": self.action_seq,
            "run_id": self.run_id,
            "description": self.description,
            "evidence": self.evidence,
            "path": self.path,
            "line": self.line,
            "json_line": self.json_line,
            "doc": self.doc,
            "recommendation": self.recommendation,
            "before": self.before_snippet,
            "after": self.after_snippet,
            "deduction": round(self.deduction, 2),
            "occurrences": self.occurrences,
            "runs_affected": self.runs_affected,
            "related_run_id": self.related_run_id,
        }


# -- reports -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActionStats:
    """Per action name: how often it ran (occurrences, in how many runs), how many of those
    calls had identical inputs in another run (compared) and how many of them got another
    output there (varying), how many finding occurrences it had, and what they deducted."""

    name: str
    kind: str
    occurrences: int
    runs: int
    compared: int
    varying: int
    findings: int
    deduction: float

    @property
    def consistency(self) -> float | None:
        """Share of compared calls whose output matched every identical call (None: none)."""
        if self.compared == 0:
            return None
        return 1 - self.varying / self.compared

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "occurrences": self.occurrences,
            "runs": self.runs,
            "compared": self.compared,
            "varying": self.varying,
            "consistency": None if self.consistency is None else round(self.consistency, 4),
            "findings": self.findings,
            "deduction": round(self.deduction, 2),
        }


@dataclass(frozen=True, slots=True)
class RunScore:
    run_id: str
    started_at: int
    score: float
    findings: int
    judged: bool = True  # False: the run produced no output, so it has no score

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started_at": self.started_at,
            "score": round(self.score, 2) if self.judged else None,
            "findings": self.findings,
            "judged": self.judged,
        }


@dataclass(frozen=True, slots=True)
class DeterminismReport:
    """The score, its band, and exactly the findings that deducted from it.

    scope "run": subject is the run id; history_runs is how many other runs were compared.
    scope "agent": subject is the agent's name; runs lists each analysed run's score.
    truncated: the analysis stopped at its bound (more history existed than was read).
    """

    scope: str
    subject: str
    agent_id: str | None
    score: float
    findings: tuple[Finding, ...]
    runs_analysed: int
    history_runs: int
    actions_analysed: int
    comparisons: int
    action_stats: tuple[ActionStats, ...]
    runs: tuple[RunScore, ...] = ()
    truncated: bool = False
    runs_judged: int | None = None  # runs that produced output to judge (None: all analysed)
    unjudged_reason: str = ""  # why there is nothing to judge, when there is not

    @property
    def nothing_to_judge(self) -> bool:
        """No analysed run produced any output: the score would be 100 for want of evidence."""
        judged = self.runs_analysed if self.runs_judged is None else self.runs_judged
        return judged == 0

    @property
    def band(self) -> Band:
        return band_for(self.score)

    @property
    def deductions_total(self) -> float:
        return sum(f.deduction for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        counts = Counter(f.severity for f in self.findings)
        unjudged = self.nothing_to_judge
        return {
            "scope": self.scope,
            "subject": self.subject,
            "agent_id": self.agent_id,
            "score": None if unjudged else round(self.score, 2),
            "band": None if unjudged else self.band.as_dict(),
            "nothing_to_judge": unjudged,
            "unjudged_reason": self.unjudged_reason or None,
            "runs_judged": self.runs_analysed if self.runs_judged is None else self.runs_judged,
            "deductions_total": round(self.deductions_total, 2),
            "findings_by_severity": {s.value: counts.get(s, 0) for s in Severity},
            "findings": [f.as_dict() for f in self.findings],
            "runs_analysed": self.runs_analysed,
            "history_runs": self.history_runs,
            "actions_analysed": self.actions_analysed,
            "comparisons": self.comparisons,
            "truncated": self.truncated,
            "action_stats": [s.as_dict() for s in self.action_stats],
            "runs": [r.as_dict() for r in self.runs],
            "scoring": {
                "weights": {s.value: w for s, w in SEVERITY_WEIGHTS.items()},
                "repeat_factor": REPEAT_FACTOR,
                "min_deduction": MIN_DEDUCTION,
            },
        }


# -- scoring -------------------------------------------------------------------------------------


def score_findings(findings: Iterable[Finding]) -> tuple[float, tuple[Finding, ...]]:
    """The score and the findings with their deductions, in the order the rule applied them
    (most severe first; see the module docstring for the rule)."""
    ordered = sorted(
        findings,
        key=lambda f: (SEVERITY_ORDER[f.severity], f.run_id, f.action_seq, f.pattern),
    )
    seen: Counter[IssueType] = Counter()
    scored: list[Finding] = []
    for finding in ordered:
        repeat = seen[finding.issue_type]
        seen[finding.issue_type] += 1
        weight = SEVERITY_WEIGHTS[finding.severity] * REPEAT_FACTOR**repeat
        scored.append(replace(finding, deduction=max(weight, MIN_DEDUCTION)))
    total = sum(f.deduction for f in scored)
    if total > 100:
        scale = 100 / total
        scored = [replace(f, deduction=f.deduction * scale) for f in scored]
        return 0.0, tuple(scored)
    return 100 - total, tuple(scored)


# -- digests: what the analysis keeps of a run ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActionDigest:
    """An action reduced to what cross-run comparison needs (its outputs trimmed)."""

    run_id: str
    run_started_at: int
    seq: int
    name: str
    kind: str
    input_key: str
    output_key: str
    order_free_key: str
    calls_key: str | None
    outputs: Any


@dataclass(frozen=True, slots=True)
class RunDigest:
    """A run reduced to its pattern findings, its comparable actions and its action names."""

    run_id: str
    started_at: int
    findings: tuple[Finding, ...]
    comparable: tuple[ActionDigest, ...]
    actions: tuple[tuple[str, str], ...] = ()  # (name, kind) of every action
    produced: int = 0  # actions that produced output (what the scan can judge)

    @property
    def judged(self) -> bool:
        """Whether any action produced output: else there is nothing to judge."""
        return self.produced > 0

    @property
    def input_keys(self) -> frozenset[str]:
        return frozenset(a.input_key for a in self.comparable)


def digest_run(run_id: str, actions: Sequence[ActionRecord], started_at: int = 0) -> RunDigest:
    """Scan one run's actions (in order) for patterns and fingerprint them for comparison."""
    scanner = RunScanner()
    findings: list[Finding] = []
    comparable: list[ActionDigest] = []
    for action in actions:
        findings.extend(
            with_json_lines([_hit_finding(run_id, hit) for hit in scanner.scan(action)], [action])
        )
        digest = _action_digest(run_id, started_at, action)
        if digest is not None:
            comparable.append(digest)
    return RunDigest(
        run_id=run_id,
        started_at=started_at,
        findings=tuple(_merge_findings(findings)),
        comparable=tuple(comparable),
        actions=tuple((a.name, a.kind) for a in actions),
        produced=sum(1 for a in actions if _has_output(a)),
    )


def _has_output(action: ActionRecord) -> bool:
    """Whether an action produced anything (a failure before any answer did not)."""
    outputs = action.outputs
    if isinstance(outputs, dict):
        return any(v not in (None, "", [], {}) for k, v in outputs.items() if k != "partial")
    return outputs not in (None, "", [])


def with_json_lines(findings: Sequence[Finding], actions: Sequence[ActionRecord]) -> list[Finding]:
    """The findings with json_line set where the actions (of the findings' runs) hold their
    path: the line of the evidence in the action's outputs or inputs as the inspector shows
    them."""
    by_key = {(a.run_id, a.seq): a for a in actions}
    out: list[Finding] = []
    for finding in findings:
        action = by_key.get((finding.run_id, finding.action_seq))
        path = finding.path or ""
        if action is None or finding.json_line is not None or not path:
            out.append(finding)
            continue
        if path == "outputs" or path.startswith(("outputs.", "outputs[")):
            root: Any = action.outputs
        elif path == "inputs" or path.startswith(("inputs.", "inputs[")):
            root = action.inputs
        else:
            out.append(finding)
            continue
        out.append(replace(finding, json_line=json_line(root, path)))
    return out


def unjudged_text(digests: Sequence[RunDigest], *, scope: str = "run") -> str:
    """Why runs without output cannot be judged, in one sentence (scope: "run" or "agent")."""
    if scope == "run" and len(digests) == 1:
        digest = digests[0]
        if not digest.actions:
            return "This run recorded no actions: there is nothing to judge."
        count = len(digest.actions)
        which = (
            "its one action produced no output"
            if count == 1
            else f"none of its {count} actions produced output"
        )
        return f"Nothing to judge: {which} (the run ended before any model or tool answered)."
    if len(digests) == 1:
        return (
            "Nothing to judge: the one run analysed produced no output (it ended before any "
            "model or tool answered)."
        )
    return (
        f"Nothing to judge: none of the {len(digests)} runs analysed produced output (they "
        "ended before any model or tool answered)."
    )


def _hit_finding(run_id: str, hit: Hit) -> Finding:
    return _make_finding(
        hit.pattern,
        run_id=run_id,
        action_name=hit.action_name,
        seq=hit.seq,
        model=hit.model,
        description=hit.description,
        evidence=hit.evidence,
        path=hit.path,
        line=hit.line,
    )


# -- cross-run comparison ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CrossRunResult:
    """Findings per run id, and which actions (run id, seq) were compared and which varied."""

    findings: Mapping[str, tuple[Finding, ...]]
    compared: frozenset[tuple[str, int]]
    varying: frozenset[tuple[str, int]]


def cross_run_findings(targets: Sequence[RunDigest], pool: Sequence[RunDigest]) -> CrossRunResult:
    """For each target run: its actions whose identical inputs got other outputs in another run
    of the pool (targets may be part of the pool; a run is never compared with itself)."""
    groups: dict[str, list[ActionDigest]] = defaultdict(list)
    seen_runs: set[str] = set()
    for digest in (*targets, *pool):
        if digest.run_id in seen_runs:
            continue
        seen_runs.add(digest.run_id)
        for action in digest.comparable:
            groups[action.input_key].append(action)
    findings: dict[str, list[Finding]] = defaultdict(list)
    compared: set[tuple[str, int]] = set()
    varying: set[tuple[str, int]] = set()
    for target in targets:
        for action in target.comparable:
            group = groups[action.input_key]
            others = [o for o in group if o.run_id != action.run_id]
            if not others:
                continue
            compared.add((action.run_id, action.seq))
            differing = [o for o in others if o.output_key != action.output_key]
            if not differing:
                continue
            varying.add((action.run_id, action.seq))
            findings[target.run_id].append(_variation_finding(action, group, differing))
    return CrossRunResult(
        findings={run: tuple(_merge_findings(items)) for run, items in findings.items()},
        compared=frozenset(compared),
        varying=frozenset(varying),
    )


def _variation_finding(
    action: ActionDigest, group: Sequence[ActionDigest], differing: Sequence[ActionDigest]
) -> Finding:
    truly = [o for o in differing if o.order_free_key != action.order_free_key]
    variants = len({o.output_key for o in group})
    variant: str | None = None
    runs = len({o.run_id for o in group})
    if truly:
        calls_differ = action.calls_key is not None and any(
            o.calls_key != action.calls_key for o in truly
        )
        if calls_differ:
            pattern = "tool_calls_vary"
            other = max(
                (o for o in truly if o.calls_key != action.calls_key),
                key=lambda o: (o.run_started_at, o.run_id),
            )
            path, line = "outputs.tool_calls", None
            mine, theirs = _calls_summary(action.outputs), _calls_summary(other.outputs)
            description = (
                f"Identical inputs led to {_count(variants, 'different answer')} across "
                f"{_count(runs, 'recorded run')}; this run called {mine}, run "
                f"{_short(other.run_id)} called {theirs}."
            )
        else:
            pattern = "output_varies"
            other = max(truly, key=lambda o: (o.run_started_at, o.run_id))
            found = _first_difference(action.outputs, other.outputs, "outputs")
            path, mine, theirs, line = found.path, found.mine, found.theirs, found.line
            if action.kind not in MODEL_KINDS:
                variant = variation_kind(action.name, path, found.mine_value, found.theirs_value)
            description = (
                f"Identical inputs gave {_count(variants, 'different output')} across "
                f"{_count(runs, 'recorded run')}; this run's output differs from run "
                f"{_short(other.run_id)} at {path}."
            )
    else:
        other = max(differing, key=lambda o: (o.run_started_at, o.run_id))
        pattern = "order_varies"
        path, mine, theirs, line = _first_order_difference(action.outputs, other.outputs)
        description = (
            f"Identical inputs gave the same keys and items in a different order in run "
            f"{_short(other.run_id)} (at {path})."
        )
    evidence = f"this run: {mine} | run {_short(other.run_id)}: {theirs}"
    return _make_finding(
        pattern,
        run_id=action.run_id,
        action_name=action.name,
        seq=action.seq,
        model=action.kind in MODEL_KINDS,
        description=description,
        evidence=evidence,
        path=path,
        line=line,
        related_run_id=other.run_id,
        variant=variant,
    )


def _calls_summary(outputs: Any) -> str:
    """The tool calls in a model's output, briefly: "get_order(order_id=4821)" or "no tool"."""
    calls = outputs.get("tool_calls") if isinstance(outputs, dict) else None
    if not calls:
        return "no tool"
    parts = []
    for call in calls if isinstance(calls, list) else []:
        if not isinstance(call, dict):
            continue
        arguments = call.get("arguments")
        args = (
            ", ".join(f"{k}={excerpt_value(v)}" for k, v in arguments.items())
            if isinstance(arguments, dict)
            else excerpt_value(arguments)
        )
        parts.append(f"{call.get('name')}({args})")
    return clip(", ".join(parts) or "no tool", 80)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


# -- reports from digests ------------------------------------------------------------------------


def run_report(
    target: RunDigest,
    history: Sequence[RunDigest],
    *,
    agent_id: str | None = None,
    truncated: bool = False,
) -> DeterminismReport:
    """A run's report: its own patterns plus its variation against the history runs."""
    cross = cross_run_findings([target], [target, *history])
    score, findings = score_findings((*target.findings, *cross.findings.get(target.run_id, ())))
    stats = _action_stats([target], findings, cross, runs_analysed=1)
    judged = target.judged
    return DeterminismReport(
        scope="run",
        subject=target.run_id,
        agent_id=agent_id,
        score=score,
        findings=findings,
        runs_analysed=1,
        history_runs=len([h for h in history if h.run_id != target.run_id]),
        actions_analysed=len(target.actions),
        comparisons=sum(1 for a in target.comparable if (a.run_id, a.seq) in cross.compared),
        action_stats=stats,
        runs=(RunScore(target.run_id, target.started_at, score, len(findings), judged),),
        truncated=truncated,
        runs_judged=1 if judged else 0,
        unjudged_reason="" if judged else unjudged_text([target]),
    )


def agent_report(
    agent: str,
    digests: Sequence[RunDigest],
    *,
    agent_id: str | None = None,
    truncated: bool = False,
) -> DeterminismReport:
    """An agent's report over the given runs (newest first): each run scored with its own
    patterns and its variation against the others; the agent's score is their mean, and its
    findings are the runs' findings merged per action name and pattern."""
    cross = cross_run_findings(digests, digests)
    run_scores: list[RunScore] = []
    merged: dict[tuple[str, str], Finding] = {}
    affected: dict[tuple[str, str], set[str]] = defaultdict(set)
    count = len(digests)
    for digest in digests:
        score, findings = score_findings((*digest.findings, *cross.findings.get(digest.run_id, ())))
        run_scores.append(
            RunScore(digest.run_id, digest.started_at, score, len(findings), digest.judged)
        )
        for finding in findings:
            key = (finding.action_name, finding.pattern)
            share = finding.deduction / count
            affected[key].add(finding.run_id)
            known = merged.get(key)
            if known is None:
                merged[key] = replace(finding, deduction=share)
            else:
                merged[key] = replace(
                    known,
                    deduction=known.deduction + share,
                    occurrences=known.occurrences + finding.occurrences,
                )
    findings_out = tuple(
        sorted(
            (replace(f, runs_affected=len(affected[k])) for k, f in merged.items()),
            key=lambda f: (-f.deduction, SEVERITY_ORDER[f.severity], f.action_name, f.pattern),
        )
    )
    judged_scores = [r.score for r in run_scores if r.judged]
    score = sum(judged_scores) / len(judged_scores) if judged_scores else 100.0
    return DeterminismReport(
        scope="agent",
        subject=agent,
        agent_id=agent_id,
        score=score,
        findings=findings_out,
        runs_analysed=count,
        history_runs=0,
        actions_analysed=sum(len(d.actions) for d in digests),
        comparisons=len(cross.compared),
        action_stats=_action_stats(digests, findings_out, cross, runs_analysed=count),
        runs=tuple(run_scores),
        truncated=truncated,
        runs_judged=len(judged_scores),
        unjudged_reason=(
            "" if judged_scores or not digests else unjudged_text(digests, scope="agent")
        ),
    )


def _action_stats(
    digests: Sequence[RunDigest],
    findings: Sequence[Finding],
    cross: CrossRunResult,
    *,
    runs_analysed: int,
) -> tuple[ActionStats, ...]:
    occurrences: Counter[str] = Counter()
    kinds: dict[str, str] = {}
    runs: dict[str, set[str]] = defaultdict(set)
    compared: Counter[str] = Counter()
    varying: Counter[str] = Counter()
    for digest in digests:
        for name, kind in digest.actions:
            occurrences[name] += 1
            kinds.setdefault(name, kind)
            runs[name].add(digest.run_id)
        for action in digest.comparable:
            key = (action.run_id, action.seq)
            compared[action.name] += key in cross.compared
            varying[action.name] += key in cross.varying
    finding_counts: Counter[str] = Counter()
    deductions: dict[str, float] = defaultdict(float)
    for finding in findings:
        finding_counts[finding.action_name] += finding.occurrences
        deductions[finding.action_name] += finding.deduction
    stats = [
        ActionStats(
            name=name,
            kind=kinds[name],
            occurrences=occurrences[name],
            runs=len(runs[name]),
            compared=compared[name],
            varying=varying[name],
            findings=finding_counts[name],
            deduction=deductions[name],
        )
        for name in occurrences
    ]
    return tuple(sorted(stats, key=lambda s: (-s.deduction, -s.occurrences, s.name)))


# -- fingerprints --------------------------------------------------------------------------------

_TEXT_LIMIT = 4_000  # characters of each string kept in a digest's outputs, for evidence


def _hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _order_free(value: Any) -> Any:
    """A form that ignores the order of keys and list items (JSON text in strings included)."""
    if isinstance(value, str) and value[:1] in ("{", "[") and len(value) < 1_000_000:
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if isinstance(value, dict):
        return {"$obj": sorted((str(k), _order_free(v)) for k, v in value.items())}
    if isinstance(value, list):
        items = [_order_free(v) for v in value]
        return {"$set": sorted(items, key=lambda v: dumps(v, sort_keys=True))}
    return value


def _trim(value: Any) -> Any:
    if isinstance(value, str):
        return value if len(value) <= _TEXT_LIMIT else value[:_TEXT_LIMIT] + "…"
    if isinstance(value, dict):
        return {k: _trim(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_trim(v) for v in value[:200]]
    return value


def action_input_key(name: str, kind: str, inputs: Any) -> str:
    """The canonical hash of an action's identity: name, kind and inputs (call ids left out,
    key order ignored)."""
    return _hash(dumps([name, kind, strip_call_ids(inputs)], sort_keys=True))


def _action_digest(run_id: str, started_at: int, action: ActionRecord) -> ActionDigest | None:
    inputs, outputs = action.inputs, action.outputs
    if action.outcome != "success" or inputs in (None, {}, [], "") or outputs is None:
        return None
    if isinstance(outputs, dict) and (outputs.get("partial") or "$unparsed" in outputs):
        return None
    if side_effect_without_key(action):
        return None  # its outputs are expected to differ; the external-state finding says why
    normal = strip_call_ids(outputs)
    if isinstance(normal, dict):
        normal.pop("partial", None)
    calls_key: str | None = None
    if action.kind in ("llm", "agent") and isinstance(normal, dict):
        calls_key = _hash(dumps(normal.get("tool_calls") or [], sort_keys=True))
    return ActionDigest(
        run_id=run_id,
        run_started_at=started_at,
        seq=action.seq,
        name=action.name,
        kind=action.kind,
        input_key=action_input_key(action.name, action.kind, inputs),
        output_key=_hash(dumps(normal, sort_keys=False)),
        order_free_key=_hash(dumps(_order_free(normal), sort_keys=True)),
        calls_key=calls_key,
        outputs=_trim(normal),
    )


@dataclass(frozen=True, slots=True)
class _Difference:
    """Where two outputs first differ: the path, an excerpt of each side, the line of this
    side's text (None for numbers and whole values), and the two values there."""

    path: str
    mine: str
    theirs: str
    line: int | None
    mine_value: Any = None
    theirs_value: Any = None


def _first_difference(a: Any, b: Any, path: str) -> _Difference:
    """Where two values first differ. JSON carried in strings (an MCP tool's text content) is
    compared as the JSON it is, so the path names the field that differs."""
    if isinstance(a, str) and isinstance(b, str):
        parsed_a, parsed_b = json_text(a), json_text(b)
        if parsed_a is not None and parsed_b is not None:
            return _first_difference(parsed_a, parsed_b, path)
    if isinstance(a, dict) and isinstance(b, dict):
        for key, value in a.items():
            if key not in b:
                return _Difference(f"{path}.{key}", excerpt_value(value), "(missing)", None, value)
            if dumps(value, sort_keys=True) != dumps(b[key], sort_keys=True):
                return _first_difference(value, b[key], f"{path}.{key}")
        for key, value in b.items():
            if key not in a:
                return _Difference(
                    f"{path}.{key}", "(missing)", excerpt_value(value), None, None, value
                )
    elif isinstance(a, list) and isinstance(b, list):
        for index, (x, y) in enumerate(zip(a, b, strict=False)):
            if dumps(x, sort_keys=True) != dumps(y, sort_keys=True):
                return _first_difference(x, y, f"{path}[{index}]")
        if len(a) != len(b):
            return _Difference(path, f"{len(a)} items", f"{len(b)} items", None, a, b)
    elif isinstance(a, str) and isinstance(b, str):
        index = next(
            (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
            min(len(a), len(b)),
        )
        return _Difference(
            path,
            excerpt(a, index, index),
            excerpt(b, index, index),
            a.count("\n", 0, index) + 1,
            a,
            b,
        )
    return _Difference(path, excerpt_value(a), excerpt_value(b), None, a, b)


_MEASURE_WORDS = frozenset(
    {
        "elapsed",
        "duration",
        "latency",
        "took",
        "timing",
        "timings",
        "runtime",
        "ms",
        "millis",
        "milliseconds",
        "seconds",
        "secs",
        "sec",
        "ns",
        "us",
    }
)
_QUERY_WORDS = frozenset(
    {
        "query",
        "sql",
        "select",
        "search",
        "find",
        "list",
        "lookup",
        "fetch",
        "db",
        "database",
        "rows",
        "records",
        "results",
    }
)


def _words(text: str) -> set[str]:
    """The words of an identifier: snake_case, kebab-case, camelCase, dotted paths."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    return {w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w}


def variation_kind(action_name: str, difference_path: str, mine: Any, theirs: Any) -> str:
    """What differed in an output that varies for identical inputs, to pick advice that fits
    (a key in `VARIATION_ADVICE`): a measured duration, a clock reading, a minted id, a
    query's rows, or something else the tool reads from outside."""
    last = re.split(r"[.\[]", difference_path)[-1].rstrip("]")
    if _words(last) & _MEASURE_WORDS:
        return "measurement"
    if looks_like_time(mine) and looks_like_time(theirs):
        return "clock"
    if looks_like_id(mine) and looks_like_id(theirs):
        return "identifier"
    if (_words(action_name) | _words(difference_path)) & _QUERY_WORDS:
        return "query"
    return "external"


def _first_order_difference(a: Any, b: Any, path: str = "outputs") -> tuple[str, str, str, None]:
    """Where two values with the same content first differ in order (keys or items)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            return path, clip(", ".join(map(str, a))), clip(", ".join(map(str, b))), None
        for key in a:
            if dumps(a[key], sort_keys=False) != dumps(b[key], sort_keys=False):
                return _first_order_difference(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        if sorted(map(_ordered_text, a)) == sorted(map(_ordered_text, b)) and a != b:
            return path, excerpt_value(a), excerpt_value(b), None
        for index, (x, y) in enumerate(zip(a, b, strict=False)):
            if dumps(x, sort_keys=False) != dumps(y, sort_keys=False):
                return _first_order_difference(x, y, f"{path}[{index}]")
    elif isinstance(a, str) and isinstance(b, str) and a[:1] in ("{", "["):
        try:
            return _first_order_difference(json.loads(a), json.loads(b), path)
        except ValueError:
            pass
    return path, excerpt_value(a), excerpt_value(b), None


def _ordered_text(value: Any) -> str:
    return dumps(value, sort_keys=False)


# -- making findings -----------------------------------------------------------------------------


def _make_finding(
    pattern: str,
    *,
    run_id: str,
    action_name: str,
    seq: int,
    model: bool,
    description: str,
    evidence: str,
    path: str | None,
    line: int | None,
    related_run_id: str | None = None,
    variant: str | None = None,
) -> Finding:
    spec = PATTERNS[pattern]
    recommendation, before, after = spec.advice(model=model)
    if variant is not None and variant in VARIATION_ADVICE:
        fitting = VARIATION_ADVICE[variant]
        recommendation, before, after = fitting.recommendation, fitting.before, fitting.after
    return Finding(
        action_name=action_name,
        action_seq=seq,
        run_id=run_id,
        issue_type=spec.issue_type,
        severity=spec.severity,
        pattern=pattern,
        title=spec.title,
        description=description,
        evidence=evidence,
        path=path,
        line=line,
        recommendation=recommendation,
        before_snippet=before,
        after_snippet=after,
        related_run_id=related_run_id,
    )


def _merge_findings(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per run, action name and pattern: the first occurrence, with a count."""
    merged: dict[tuple[str, str, str], Finding] = {}
    for finding in findings:
        key = (finding.run_id, finding.action_name, finding.pattern)
        known = merged.get(key)
        if known is None:
            merged[key] = finding
        else:
            merged[key] = replace(known, occurrences=known.occurrences + finding.occurrences)
    out: list[Finding] = []
    for finding in merged.values():
        if finding.occurrences > 1:
            more = finding.occurrences - 1
            finding = replace(
                finding,
                description=f"{finding.description} (and {more} more in this run)",
            )
        out.append(finding)
    return out


def _short(run_id: str) -> str:
    return run_id[-8:]
