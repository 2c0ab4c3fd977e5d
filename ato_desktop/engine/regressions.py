"""Regressions over the log: every agent config change joined against its runs before and after.

For each change (version v-1 -> v) the runs of each side are read as core.regressions defines
them, the same for Compare's "before vs after a change": each version's newest `per_side`
production runs that completed or failed (one index range each,
store.compare_queries.group_runs; replays and evals are not production traffic, and eval
scores come in separately), and core.regressions judges them. A
change that regressed names its failing examples: the post-change runs that failed (for success
rate), were slowest (p95 latency), cost most (cost per call) or scored lowest (eval score), each
with its prompt and error, so the user can open them in one click.

The thresholds are settings (InsightsSettings, a JSON file in the data directory).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ato_desktop.core.agent_records import AgentRecord, AgentVersionRecord
from ato_desktop.core.config_diff import ConfigChange, summarize_changes
from ato_desktop.core.log_records import RunRecord
from ato_desktop.core.regressions import (
    CHANGE_SIDE_RUNS,
    COST,
    EVAL,
    LATENCY,
    SUCCESS,
    MetricCheck,
    Side,
    Thresholds,
    check_change,
)
from ato_desktop.core.timefmt import rfc3339
from ato_desktop.core.vocabulary import RunStatus
from ato_desktop.engine.settings_file import SettingsFileError, regression_thresholds
from ato_desktop.store.compare_queries import (
    RunFacts,
    change_side_facts,
    first_call_messages,
)
from ato_desktop.store.eval_scores import version_case_scores  # not engine.evals (SDKs)
from ato_desktop.store.execution_log import ExecutionLog, NotFoundError
from ato_desktop.store.insights_queries import agent_versions
from ato_desktop.store.paths import DataPaths

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:
    from typing import Any, Final

PER_SIDE: Final = CHANGE_SIDE_RUNS  # runs read on each side of a change
EXAMPLES: Final = 5  # failing examples per regressed metric
PROMPT_CHARS: Final = 400

# version id -> [(run id, score 0..1)], from the evals (None: no eval scores known)
EvalScores = Callable[[str], Sequence[tuple[str, float]]]


@dataclass(frozen=True, slots=True)
class Example:
    """A post-change run that shows the regression."""

    run_id: str
    started_at: int
    status: str
    why: str  # "failed", "slowest", "most expensive", "lowest eval score"
    prompt: str | None  # the user's last message of its first model call, cut
    error_class: str | None
    error_message: str | None
    duration_ms: float | None
    cost_usd: float | None
    score: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started_at": rfc3339(self.started_at),
            "status": self.status,
            "why": self.why,
            "prompt": self.prompt,
            "error_class": self.error_class,
            "error_message": self.error_message,
            "duration_ms": self.duration_ms,
            "cost_usd": self.cost_usd,
            "score": self.score,
        }


@dataclass(frozen=True, slots=True)
class ChangeReport:
    """One config change with its metric checks."""

    agent_id: str
    agent_name: str
    version: int  # the version after the change
    version_id: str
    previous_version: int
    previous_version_id: str
    changed_at: int
    change_source: str
    summary: str  # what changed, in one line
    checks: tuple[MetricCheck, ...]
    examples: dict[str, tuple[Example, ...]] = field(default_factory=dict)
    is_current: bool = False  # the change made the agent's current version
    capped: bool = False  # a side had more runs than were read (its newest were judged)
    min_runs: int = 20  # samples each side needs (the thresholds in force)

    @property
    def regression(self) -> bool:
        return any(check.regression for check in self.checks)

    @property
    def enough_data(self) -> bool:
        """Some metric has min_runs samples on both sides: the change has a verdict."""
        return any(check.enough for check in self.checks)

    @property
    def verdict(self) -> str:
        """regression | ok | not_enough_data (every metric has too few runs to tell)."""
        if self.regression:
            return "regression"
        return "ok" if self.enough_data else "not_enough_data"

    @property
    def samples(self) -> tuple[int, int]:
        """(before, after): the runs judged on each side (the success-rate sample, else the
        largest sample of a metric)."""
        if not self.checks:
            return 0, 0
        check = next((c for c in self.checks if c.metric == SUCCESS), None)
        if check is None:
            check = max(self.checks, key=lambda c: c.n_before + c.n_after)
        return check.n_before, check.n_after

    @property
    def not_enough_text(self) -> str:
        """'not enough data yet (6 before, 6 after; 20 needed)'."""
        before, after = self.samples
        return f"not enough data yet ({before:,} before, {after:,} after; {self.min_runs:,} needed)"

    @property
    def regressed(self) -> tuple[MetricCheck, ...]:
        return tuple(check for check in self.checks if check.regression)

    def as_dict(self) -> dict[str, Any]:
        return {
            "agent": self.agent_name,
            "agent_id": self.agent_id,
            "version": self.version,
            "previous_version": self.previous_version,
            "changed_at": rfc3339(self.changed_at),
            "change_source": self.change_source,
            "summary": self.summary,
            "regression": self.regression,
            "verdict": self.verdict,
            "verdict_text": self.not_enough_text if self.verdict == "not_enough_data" else None,
            "current": self.is_current,
            "capped": self.capped,
            "checks": [check.as_dict() for check in self.checks],
            "examples": {
                metric: [example.as_dict() for example in examples]
                for metric, examples in self.examples.items()
            },
        }


@dataclass(frozen=True, slots=True)
class RegressionReport:
    thresholds: Thresholds
    changes: tuple[ChangeReport, ...]  # newest change first

    @property
    def regressions(self) -> tuple[ChangeReport, ...]:
        return tuple(change for change in self.changes if change.regression)

    @property
    def without_enough_data(self) -> tuple[ChangeReport, ...]:
        """Changes no metric could judge yet (too few runs on a side)."""
        return tuple(c for c in self.changes if c.verdict == "not_enough_data")

    def active(self, agent_id: str) -> ChangeReport | None:
        """The regression the agent is living with: its current version's change regressed."""
        for change in self.changes:
            if change.agent_id == agent_id and change.is_current and change.regression:
                return change
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "thresholds": self.thresholds.as_dict(),
            "regressions": sum(1 for c in self.changes if c.regression),
            "not_enough_data": len(self.without_enough_data),
            "changes": [change.as_dict() for change in self.changes],
        }


def detect_regressions(
    store: ExecutionLog,
    thresholds: Thresholds | None = None,
    *,
    agent: str | None = None,
    per_side: int = PER_SIDE,
    eval_scores: EvalScores | None = None,
    examples: int = EXAMPLES,
) -> RegressionReport:
    """Every config change of every agent (or of one agent, by name or id), newest first.
    Eval scores default to the evals recorded per config version (store.evals)."""
    thresholds = thresholds or Thresholds()
    if eval_scores is None:

        def eval_scores(version_id: str) -> Sequence[tuple[str, float]]:
            return version_case_scores(store, version_id)

    agents = [store.get_agent(agent)] if agent else store.list_agents()
    changes: list[ChangeReport] = []
    for record in agents:
        changes.extend(_agent_changes(store, record, thresholds, per_side, eval_scores, examples))
    changes.sort(key=lambda c: c.changed_at, reverse=True)
    return RegressionReport(thresholds, tuple(changes))


@dataclass(frozen=True, slots=True)
class LoadedThresholds:
    """The saved thresholds, read the one way both front ends read them."""

    thresholds: Thresholds  # the defaults when settings.json is broken
    error: str = ""  # why settings.json could not be read ("" when it could)


@dataclass(frozen=True, slots=True)
class Detection:
    """A detection run: its report and the thresholds it used."""

    report: RegressionReport
    settings: LoadedThresholds


def load_thresholds(paths: DataPaths) -> LoadedThresholds:
    """The thresholds in settings.json. A broken file is reported (error), never overwritten,
    and judging goes on with the defaults, so the app and the CLI still say something and say
    which thresholds they used."""
    try:
        return LoadedThresholds(regression_thresholds(paths))
    except SettingsFileError as exc:
        return LoadedThresholds(Thresholds(), str(exc))


def detect(store: ExecutionLog, paths: DataPaths, *, agent: str | None = None) -> Detection:
    """Every config change of every agent (or of one, by name or id), judged with the saved
    thresholds (Insights -> Regressions, `ato-desktop insights regressions`)."""
    settings = load_thresholds(paths)
    return Detection(detect_regressions(store, settings.thresholds, agent=agent), settings)


def active_regression(store: ExecutionLog, paths: DataPaths, agent_id: str) -> ChangeReport | None:
    """The regression the agent lives with (its current version's change regressed), or None."""
    return detect(store, paths, agent=agent_id).report.active(agent_id)


def _agent_changes(
    store: ExecutionLog,
    agent: AgentRecord,
    thresholds: Thresholds,
    per_side: int,
    eval_scores: EvalScores | None,
    examples: int,
) -> list[ChangeReport]:
    versions = agent_versions(store, agent.id)  # oldest first
    reports: list[ChangeReport] = []
    runs_of: dict[str, tuple[list[RunFacts], bool]] = {}

    def runs(version: AgentVersionRecord) -> tuple[list[RunFacts], bool]:
        if version.id not in runs_of:
            # A version without runs costs one index probe here (no count of every run first).
            # The figures alone: whole runs are read only for a regression's examples.
            runs_of[version.id] = change_side_facts(store, version.id, per_side)
        return runs_of[version.id]

    for previous, current in itertools.pairwise(versions):
        before_runs, before_capped = runs(previous)
        after_runs, after_capped = runs(current)
        before_scores = list(eval_scores(previous.id)) if eval_scores else []
        after_scores = list(eval_scores(current.id)) if eval_scores else []
        if not (before_runs or before_scores) or not (after_runs or after_scores):
            continue  # nothing to compare on one side: no verdict at all
        checks = check_change(
            _side(before_runs, before_scores), _side(after_runs, after_scores), thresholds
        )
        change = ChangeReport(
            agent_id=agent.id,
            agent_name=agent.name,
            version=current.version,
            version_id=current.id,
            previous_version=previous.version,
            previous_version_id=previous.id,
            changed_at=current.created_at,
            change_source=current.change_source,
            summary=summarize_changes(
                [ConfigChange(c["path"], c.get("before"), c.get("after")) for c in current.diff]
            ),
            checks=checks,
            is_current=current.id == agent.current_version_id,
            capped=before_capped or after_capped,
            min_runs=thresholds.min_runs,
        )
        if change.regression:
            change = _with_examples(store, change, after_runs, after_scores, examples)
        reports.append(change)
    return reports


_COMPLETED, _FAILED = RunStatus.COMPLETED.value, RunStatus.FAILED.value


def _side(runs: Sequence[RunFacts], scores: Sequence[tuple[str, float]]) -> Side:
    # Runs not finished count for nothing. Comprehensions: up to CHANGE_SIDE_RUNS of them on
    # each side of every change, in the same order as read.
    finished = [run for run in runs if run[1] == _COMPLETED or run[1] == _FAILED]
    ok = [run[1] for run in finished].count(_COMPLETED)
    durations = tuple([run[2] / 1e6 for run in finished if run[2] is not None])
    costs = tuple([float(run[3]) for run in finished if run[3] is not None and run[4] != "unknown"])
    return Side(ok, len(finished) - ok, durations, costs, tuple(float(s) for _run, s in scores))


def _with_examples(
    store: ExecutionLog,
    change: ChangeReport,
    after: Sequence[RunFacts],
    scores: Sequence[tuple[str, float]],
    limit: int,
) -> ChangeReport:
    """The change with its failing examples: chosen from the figures already read, then only
    the chosen runs are read whole."""
    picked: dict[str, tuple[Example, ...]] = {}
    finished = [f for f in after if f[1] in (_COMPLETED, _FAILED)]
    for check in change.regressed:
        chosen: list[tuple[str, str, float | None]]  # (run id, why, score)
        if check.metric == SUCCESS:
            failed = [f for f in finished if f[1] == _FAILED]
            chosen = [(f[0], "failed", None) for f in failed[:limit]]
        elif check.metric == LATENCY:
            slow = sorted(
                (f for f in finished if f[2] is not None), key=lambda f: f[2] or 0, reverse=True
            )
            chosen = [(f[0], "slowest", None) for f in slow[:limit]]
        elif check.metric == COST:
            dear = sorted(
                (f for f in finished if f[3] is not None), key=lambda f: f[3] or 0.0, reverse=True
            )
            chosen = [(f[0], "most expensive", None) for f in dear[:limit]]
        elif check.metric == EVAL:
            worst = sorted(scores, key=lambda s: s[1])[:limit]
            chosen = [(run_id, "lowest eval score", score) for run_id, score in worst]
        else:  # pragma: no cover - every metric is handled above
            continue
        examples: list[Example] = []
        for run_id, why, score in chosen:
            try:
                run = store.get_run(run_id)
            except NotFoundError:
                continue  # the run was removed (an eval's, or one retention archived since)
            examples.append(_example(store, run, why, score))
        picked[check.metric] = tuple(examples)
    return dataclasses.replace(change, examples=picked)


def _example(store: ExecutionLog, run: RunRecord, why: str, score: float | None) -> Example:
    return Example(
        run_id=run.id,
        started_at=run.started_at,
        status=run.status,
        why=why,
        prompt=first_prompt(store, run.id),
        error_class=run.error_class,
        error_message=run.error_message,
        duration_ms=run.duration_ns / 1e6 if run.duration_ns is not None else None,
        cost_usd=run.cost_usd,
        score=score,
    )


def first_prompt(store: ExecutionLog, run_id: str, limit: int = PROMPT_CHARS) -> str | None:
    """The user's last message in the run's first model call (what the run was asked), cut."""
    messages = first_call_messages(store, run_id)
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "user":
            text = _text(message.get("content"))
            if text:
                return text if len(text) <= limit else text[: limit - 1] + "…"
    return None


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content.strip()
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, dict)]
        return " ".join(p for p in parts if isinstance(p, str)).strip()
    return ""
