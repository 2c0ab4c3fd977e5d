"""Evals: run a suite against an agent (or runtime + model), score every case, record it all.

Each case is one dispatch through the one path (trigger eval, tags eval.suite / eval.case /
eval.suite_run), at most `concurrency` at a time; an LLM judge is a dispatch too (trigger eval,
parent_run_id = the judged run, tag eval.judge_of), so its cost is in the log like any other
and is reported apart from the cases' own cost. The report has the pass rate, mean score, cost,
latency percentiles, the lines that were skipped and why, and a case-by-case diff against the
previous run of the same suite (same name) on the same target.

APIs later features build on: `run_suite` / `rerun_suite` (run a suite programmatically, e.g.
"gather evidence" on a candidate model), `eval_scores` (an agent's latest scores per suite, per
config version, or per runtime + model), `rate_run` / `run_ratings` (manual scores),
`judge_output` (one judged answer; the online judge uses it).
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ato_desktop.core.eval_scoring import (
    CaseOutcome,
    CaseVerdict,
    RunScore,
    ScoreResult,
    SuiteDiff,
    SuiteFigures,
    combine,
    custom_result,
    diff_runs,
    figures,
    judge_prompt,
    judge_result,
    score_deterministic,
)
from ato_desktop.core.eval_suite import (
    BadLine,
    EvalCase,
    EvalSuite,
    JudgeTarget,
    ScorerSpec,
    SuiteFormatError,
    parse_judge_target,
    parse_suite,
)
from ato_desktop.core.models import AgentConfig, RunStatus, RuntimeName, Trigger
from ato_desktop.engine.dispatcher import (
    Dispatcher,
    DispatchError,
    DispatchRequest,
    DispatchResult,
)
from ato_desktop.engine.parts import DispatchParts
from ato_desktop.store import evals as eval_store
from ato_desktop.store.evals import NewSuiteRun, SuiteRunRecord
from ato_desktop.store.execution_log import ExecutionLog

MAX_SUITE_BYTES = 16 * 1024 * 1024
MAX_NOTE_CHARS = 2_000
Progress = Callable[[int, int, CaseOutcome], None]
CustomScorer = Callable[..., Any]


class EvalError(Exception):
    """The suite cannot be run (unreadable file, unknown target, a custom scorer that does not
    import); the message says what to do. Nothing was dispatched."""


# -- reading a suite ---------------------------------------------------------------------------


def read_suite_text(path: Path) -> str:
    """The suite file's text; EvalError when it is missing, not a file, huge, or binary."""
    if not path.exists():
        raise EvalError(f"{path}: no such file")
    if not path.is_file():
        raise EvalError(f"{path}: not a file")
    size = path.stat().st_size
    if size > MAX_SUITE_BYTES:
        raise EvalError(
            f"{path}: {_size(size)} is more than an eval suite may be ({_size(MAX_SUITE_BYTES)}); "
            "split it into several suites"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EvalError(f"{path}: cannot be read ({exc.strerror})") from exc
    if b"\x00" in data[:65536]:
        raise EvalError(f"{path}: a binary file, not a JSONL eval suite (one JSON case a line)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise EvalError(
            f"{path}: line {line} is not UTF-8 text (byte {exc.start}); save the suite as UTF-8"
        ) from exc


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n:,} bytes"


def load_suite(path: Path, extra_scorers: Sequence[ScorerSpec] = ()) -> tuple[EvalSuite, str]:
    """Read and parse a suite file: (the suite, its text). EvalError when unusable as a whole;
    single bad lines are in suite.bad_lines."""
    text = read_suite_text(path)
    try:
        suite = parse_suite(
            text,
            default_name=path.stem,
            extra_scorers=extra_scorers,
            path=str(path.resolve()),
        )
    except SuiteFormatError as exc:
        raise EvalError(f"{path}: {exc}") from exc
    return suite, text


# -- targets -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EvalTarget:
    """What a suite runs against: an agent as it is; an agent with its runtime and model
    swapped (a candidate for a cheaper model: its own prompt and parameters, another model);
    or a bare runtime + model (optional system prompt and base URL)."""

    agent: str | None = None
    runtime: str | None = None
    model: str | None = None
    base_url: str | None = None
    system_prompt: str | None = None

    def __post_init__(self) -> None:
        if not self.agent and not (self.runtime and self.model):
            raise ValueError("an eval target is an agent, or a runtime and a model")
        if bool(self.runtime) != bool(self.model):
            raise ValueError("give a runtime and a model together")
        if self.runtime and self.runtime not in {r.value for r in RuntimeName}:
            known = ", ".join(r.value for r in RuntimeName)
            raise ValueError(f"unknown runtime {self.runtime!r}; use one of {known}")

    @property
    def label(self) -> str:
        if self.agent and self.runtime:
            return f"@{self.agent} on {self.runtime} · {self.model}"
        if self.agent:
            return f"@{self.agent}"
        return f"{self.runtime} · {self.model}"


@dataclass(frozen=True, slots=True)
class _Resolved:
    agent_id: str | None
    agent_version_id: str | None
    agent_name: str | None
    runtime: str
    model: str
    base_url: str | None
    config: AgentConfig | None  # an agent's config with another runtime/model

    def request(self, target: EvalTarget, **fields: Any) -> DispatchRequest:
        if self.agent_name:
            return DispatchRequest(agent=self.agent_name, config=self.config, **fields)
        return DispatchRequest(
            runtime=self.runtime,
            model=self.model,
            base_url=target.base_url,
            system_prompt=target.system_prompt,
            **fields,
        )


async def _resolve(store: ExecutionLog, target: EvalTarget) -> _Resolved:
    if not target.agent:
        assert target.runtime and target.model
        return _Resolved(None, None, None, target.runtime, target.model, target.base_url, None)
    try:
        agent = await store.read_async(store.get_agent, target.agent)
    except LookupError as exc:
        raise EvalError(str(exc)) from exc
    except Exception as exc:  # NotFoundError is a StoreError
        raise EvalError(str(exc)) from exc
    config: AgentConfig | None = None
    if target.runtime and target.model:
        config = dataclasses.replace(
            agent.config,
            runtime=target.runtime,
            model=target.model,
            base_url=target.base_url or agent.config.base_url,
        )
    used = config or agent.config
    return _Resolved(
        agent.id,
        agent.current_version_id,
        agent.name,
        used.runtime,
        used.model,
        used.base_url,
        config,
    )


# -- custom scorers ----------------------------------------------------------------------------


def import_scorer(ref: str, search: Sequence[Path] = ()) -> CustomScorer:
    """The function named "package.module:function" (or "module:Class.method"); the current
    directory and `search` (the suite's directory) are importable. EvalError says why not."""
    module_name, _, attr_path = ref.partition(":")
    for folder in (Path.cwd(), *search):
        entry = str(folder.resolve())
        if entry not in sys.path:
            sys.path.append(entry)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise EvalError(
            f"custom scorer {ref}: cannot import {module_name!r} "
            f"({type(exc).__name__}: {exc}); it must be importable from the current directory, "
            "the suite's directory, or the environment"
        ) from exc
    value: Any = module
    for part in attr_path.split("."):
        value = getattr(value, part, None)
        if value is None:
            raise EvalError(f"custom scorer {ref}: {module_name} has no {attr_path!r}")
    if not callable(value):
        raise EvalError(f"custom scorer {ref}: {attr_path} is not a function")
    return value  # type: ignore[no-any-return]


def _run_custom(fn: CustomScorer, spec: ScorerSpec, output: str, case: EvalCase) -> ScoreResult:
    kwargs = dict(spec.params.get("args") or {})
    try:
        value = fn(output, case.expected, case.as_dict(), **kwargs)
    except Exception as exc:
        return ScoreResult(
            spec.name,
            spec.kind,
            0.0,
            False,
            f"the scorer raised {type(exc).__name__}: {exc}",
            spec.weight,
            failed=True,
        )
    return custom_result(spec, value)


# -- judging -----------------------------------------------------------------------------------


def _judge_target(spec: ScorerSpec, suite: EvalSuite, default: JudgeTarget | None) -> JudgeTarget:
    if spec.params.get("judge") is not None:
        return parse_judge_target(spec.params["judge"])
    return suite.judge or default or JudgeTarget()


async def judge_output(
    dispatcher: Dispatcher,
    spec: ScorerSpec,
    judge: JudgeTarget,
    *,
    transcript: str,
    output: str,
    expected: Any = None,
    judged_run_id: str | None = None,
    tags: dict[str, str] | None = None,
) -> ScoreResult:
    """Ask a judge to score one answer by spec's rubric; the judge's run is recorded (trigger
    eval, parent = the judged run) and its cost is in the result."""
    prompt = judge_prompt(
        str(spec.params["rubric"]),
        transcript,
        output,
        expected=expected,
        max_score=int(spec.params.get("max_score", 10)),
    )
    judge_tags = {**(tags or {}), "eval.judge_of": judged_run_id or ""}
    request = DispatchRequest(
        prompt=prompt,
        agent=judge.agent,
        runtime=None if judge.agent else judge.runtime,
        model=None if judge.agent else judge.model,
        base_url=None if judge.agent else judge.base_url,
        trigger=Trigger.EVAL,
        parent_run_id=judged_run_id,
        tags={k: v for k, v in judge_tags.items() if v},
    )
    try:
        result = await dispatcher.dispatch(request)
    except DispatchError as exc:
        return judge_result(
            spec,
            "",
            completed=False,
            error=f"{judge.label}: {exc}",
            run_id=None,
            cost_usd=None,
            cost_source=None,
        )
    return judge_result(
        spec,
        result.output,
        completed=result.status is RunStatus.COMPLETED,
        error=result.error_message,
        run_id=result.run_id,
        cost_usd=result.cost.usd if result.cost else None,
        cost_source=result.cost.source.value if result.cost else None,
    )


# -- running a suite ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SuiteReport:
    """What a run of a suite came to. diff is None when there was no previous run of the same
    suite on the same target."""

    suite_run_id: str
    suite: str
    target: str
    status: str  # completed | cancelled
    figures: SuiteFigures
    outcomes: tuple[CaseOutcome, ...]
    bad_lines: tuple[BadLine, ...]
    diff: SuiteDiff | None
    content_hash: str
    notes: tuple[str, ...] = ()
    record: SuiteRunRecord | None = None

    def passes(self, min_pass_rate: float) -> bool:
        """The gate: every case ran and the pass rate reaches min_pass_rate (0..1)."""
        rate = self.figures.pass_rate
        return self.status == "completed" and rate is not None and rate >= min_pass_rate - 1e-9

    def as_dict(self) -> dict[str, Any]:
        return {
            "suite_run_id": self.suite_run_id,
            "suite": self.suite,
            "target": self.target,
            "status": self.status,
            "content_hash": self.content_hash,
            **self.figures.as_dict(),
            "bad_lines": [{"line": b.line_no, "reason": b.reason} for b in self.bad_lines],
            "diff": self.diff.as_dict() if self.diff else None,
            "notes": list(self.notes),
            "cases_detail": [o.as_dict() for o in self.outcomes],
        }


@dataclass
class _SuiteRun:
    workspace: DispatchParts
    suite: EvalSuite
    target: EvalTarget
    resolved: _Resolved
    suite_run_id: str
    customs: dict[str, CustomScorer]
    judge_default: JudgeTarget | None
    cancel: asyncio.Event | None
    started: set[str] = field(default_factory=set)

    def tags(self, case: EvalCase) -> dict[str, str]:
        return {
            "eval.suite": self.suite.name,
            "eval.case": case.case_id,
            "eval.suite_run": self.suite_run_id,
        }

    async def run_case(self, case: EvalCase) -> CaseOutcome:
        request = self.resolved.request(
            self.target,
            prompt=case.prompt,
            messages=case.messages,
            trigger=Trigger.EVAL,
            tags=self.tags(case),
        )
        try:
            result = await self.workspace.dispatcher.dispatch(request, on_started=self.started.add)
        except DispatchError as exc:
            return CaseOutcome(
                case.case_id, case.line_no, None, "error", 0.0, False, error=str(exc)
            )
        return await self.score(case, result)

    async def score(self, case: EvalCase, result: DispatchResult) -> CaseOutcome:
        cost_usd = result.cost.usd if result.cost else None
        cost_source = result.cost.source.value if result.cost else None
        duration_ms = result.duration_ns / 1_000_000
        if result.status is not RunStatus.COMPLETED:
            return CaseOutcome(
                case.case_id,
                case.line_no,
                result.run_id,
                result.status.value,
                0.0,
                False,
                output=result.output,
                error=result.error_message or result.status.value,
                cost_usd=cost_usd,
                cost_source=cost_source,
                duration_ms=duration_ms,
            )
        results: list[ScoreResult] = []
        for spec in case.scorers:
            if spec.kind == "judge":
                judge = _judge_target(spec, self.suite, self.judge_default)
                if not judge.agent and not judge.runtime:  # no judge named: the target itself
                    resolved = self.resolved
                    judge = JudgeTarget(None, resolved.runtime, resolved.model, resolved.base_url)
                results.append(
                    await judge_output(
                        self.workspace.dispatcher,
                        spec,
                        judge,
                        transcript=case.transcript(),
                        output=result.output,
                        expected=case.expected if case.has_expected else None,
                        judged_run_id=result.run_id,
                        tags=self.tags(case),
                    )
                )
            elif spec.kind == "python":
                fn = self.customs[str(spec.params["function"])]
                results.append(await asyncio.to_thread(_run_custom, fn, spec, result.output, case))
            else:
                results.append(score_deterministic(spec, result.output, case))
        return combine(
            case.case_id,
            case.line_no,
            results,
            pass_threshold=self.suite.pass_threshold,
            run_id=result.run_id,
            status=result.status.value,
            output=result.output,
            cost_usd=cost_usd,
            cost_source=cost_source,
            duration_ms=duration_ms,
        )


async def run_suite(
    workspace: DispatchParts,
    suite: EvalSuite,
    target: EvalTarget,
    *,
    source_text: str,
    concurrency: int = 4,
    progress: Progress | None = None,
    cancel: asyncio.Event | None = None,
    judge: JudgeTarget | None = None,
) -> SuiteReport:
    """Run every case of suite on target and record the run, its cases and figures.

    judge: who judges `judge` scorers that name no judge of their own and when the suite's
    header names none either (else the target judges itself, noted in the report). cancel:
    once set, no new case starts and the cases under way are killed; the report (status
    cancelled) covers the cases that finished. Raises EvalError before dispatching anything
    when the target or a custom scorer cannot be used.
    """
    if concurrency < 1:
        raise EvalError("concurrency must be at least 1")
    store = workspace.store
    resolved = await _resolve(store, target)
    search = [Path(suite.path).parent] if suite.path else []
    customs: dict[str, CustomScorer] = {}
    for case in suite.cases:
        for spec in case.scorers:
            ref = str(spec.params.get("function", ""))
            if spec.kind == "python" and ref not in customs:
                customs[ref] = await asyncio.to_thread(import_scorer, ref, search)
    notes = await _check_judges(store, suite, judge)
    record = await asyncio.wrap_future(eval_store.save_suite(store, suite, source_text))
    suite_run_id = await asyncio.wrap_future(
        eval_store.start_suite_run(
            store,
            NewSuiteRun(
                suite_id=record.id,
                content_hash=suite.content_hash,
                runtime=resolved.runtime,
                model=resolved.model,
                target=target.label,
                case_count=len(suite.cases),
                bad_line_count=len(suite.bad_lines),
                agent_id=resolved.agent_id,
                agent_version_id=resolved.agent_version_id,
                swapped=resolved.config is not None,
            ),
        )
    )
    state = _SuiteRun(workspace, suite, target, resolved, suite_run_id, customs, judge, cancel)
    semaphore = asyncio.Semaphore(concurrency)
    outcomes: list[CaseOutcome] = []
    cancelled = False

    async def one(case: EvalCase) -> None:
        nonlocal cancelled
        async with semaphore:
            if cancel is not None and cancel.is_set():
                cancelled = True
                return
            outcome = await state.run_case(case)
            if cancel is not None and cancel.is_set() and outcome.status == RunStatus.KILLED:
                cancelled = True
                return  # stopped by the cancel, not a result of the target
            await asyncio.wrap_future(eval_store.record_case(store, suite_run_id, outcome))
            outcomes.append(outcome)
            if progress is not None:
                progress(len(outcomes), len(suite.cases), outcome)

    async def watch_cancel() -> None:
        assert cancel is not None
        await cancel.wait()
        workspace.live.kill(list(state.started))

    watcher = asyncio.create_task(watch_cancel()) if cancel is not None else None
    try:
        await asyncio.gather(*(one(case) for case in suite.cases))
    finally:
        if watcher is not None:
            watcher.cancel()
    outcomes.sort(key=lambda o: (o.line_no, o.case_id))
    status = "cancelled" if cancelled else "completed"
    figs = figures(outcomes, len(suite.cases))
    previous = await store.read_async(
        eval_store.previous_suite_run, store, record.id, target.label, 2**62, suite_run_id
    )
    diff: SuiteDiff | None = None
    if previous is not None:
        before = await store.read_async(eval_store.case_results, store, previous.id)
        diff = diff_runs(
            previous.id,
            [CaseVerdict(o.case_id, o.score, o.passed) for o in before],
            [CaseVerdict(o.case_id, o.score, o.passed) for o in outcomes],
            suite_changed=previous.content_hash != suite.content_hash,
        )
    details = {
        "bad_lines": [{"line": b.line_no, "reason": b.reason} for b in suite.bad_lines],
        "notes": notes,
        "previous_suite_run_id": previous.id if previous else None,
    }
    await asyncio.wrap_future(
        eval_store.finish_suite_run(store, suite_run_id, status, figs, details)
    )
    final = await store.read_async(eval_store.get_suite_run, store, suite_run_id)
    return SuiteReport(
        suite_run_id,
        suite.name,
        target.label,
        status,
        figs,
        tuple(outcomes),
        suite.bad_lines,
        diff,
        suite.content_hash,
        tuple(notes),
        final,
    )


async def _check_judges(
    store: ExecutionLog, suite: EvalSuite, default: JudgeTarget | None
) -> list[str]:
    notes: list[str] = []
    agents: set[str] = set()
    self_judged = False
    for case in suite.cases:
        for spec in case.scorers:
            if spec.kind != "judge":
                continue
            judge = _judge_target(spec, suite, default)
            if judge.agent:
                agents.add(judge.agent)
            elif not judge.runtime:
                self_judged = True
    for name in sorted(agents):
        try:
            await store.read_async(store.get_agent, name)
        except Exception as exc:
            raise EvalError(f"judge agent: {exc}") from exc
    if self_judged:
        notes.append(
            "no judge was named, so the target judged its own answers; name one in the suite "
            'header ("judge": {"agent": ...}) or with --judge-agent / --judge-model'
        )
    return notes


def load_report(store: ExecutionLog, suite_run_id: str) -> SuiteReport:
    """A recorded run of a suite as a report (the Insights -> Evals page opening a past run):
    its figures, cases, skipped lines, notes, and the diff against the run before it."""
    record = eval_store.get_suite_run(store, suite_run_id)
    outcomes = eval_store.case_results(store, suite_run_id)
    figs = SuiteFigures(
        cases=record.case_count,
        ran=record.ran_count,
        passed=record.passed_count,
        errors=record.error_count,
        pass_rate=record.pass_rate,
        mean_score=record.mean_score,
        cost_usd=record.cost_usd,
        cost_source=record.cost_source,
        judge_cost_usd=record.judge_cost_usd,
        judge_cost_source=record.judge_cost_source,
        p50_ms=record.p50_ms,
        p95_ms=record.p95_ms,
    )
    previous = eval_store.previous_suite_run(
        store, record.suite_id, record.target, record.started_at, record.id
    )
    diff: SuiteDiff | None = None
    if previous is not None:
        before = eval_store.case_results(store, previous.id)
        diff = diff_runs(
            previous.id,
            [CaseVerdict(o.case_id, o.score, o.passed) for o in before],
            [CaseVerdict(o.case_id, o.score, o.passed) for o in outcomes],
            suite_changed=previous.content_hash != record.content_hash,
        )
    bad = tuple(
        BadLine(int(b.get("line", 0)), str(b.get("reason", "")))
        for b in record.details.get("bad_lines", [])
        if isinstance(b, dict)
    )
    notes = tuple(str(n) for n in record.details.get("notes", []))
    return SuiteReport(
        record.id,
        record.suite_name,
        record.target,
        record.status,
        figs,
        tuple(outcomes),
        bad,
        diff,
        record.content_hash,
        notes,
        record,
    )


async def rerun_suite(
    workspace: DispatchParts, suite_name: str, target: EvalTarget, **options: Any
) -> SuiteReport:
    """Run a recorded suite again from its stored text (its file may be gone): e.g. an
    agent's suite on a candidate model to gather evidence for a cheaper one."""
    store = workspace.store
    record = await store.read_async(eval_store.get_suite, store, suite_name)
    text = await store.read_async(eval_store.suite_source, store, record.id)
    try:
        suite = parse_suite(text, default_name=record.name, path=record.path)
    except SuiteFormatError as exc:
        raise EvalError(f"suite {record.name}: {exc}") from exc
    return await run_suite(workspace, suite, target, source_text=text, **options)


# -- scores for later features -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EvalScore:
    """An agent's latest result on one suite (for one config version, or one runtime + model)."""

    suite: str
    suite_run_id: str
    target: str
    agent_version: int | None
    agent_version_id: str | None
    runtime: str
    model: str
    pass_rate: float | None
    mean_score: float | None
    ran: int
    started_at: int

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def eval_scores(store: ExecutionLog, agent: str, *, by: str = "suite") -> list[EvalScore]:
    """An agent's latest completed eval results: one per suite (by="suite"), per suite and
    config version (by="version", for regressions: before/after a change), or per suite and
    runtime + model (by="model", for cost recommendations: the candidate within 5 pp; this
    includes runs of the agent's config on a candidate model, which the others leave out)."""
    record = store.get_agent(agent)
    runs = eval_store.latest_agent_suite_runs(store, record.id, by=by)
    return [
        EvalScore(
            r.suite_name,
            r.id,
            r.target,
            r.agent_version,
            r.agent_version_id,
            r.runtime,
            r.model,
            r.pass_rate,
            r.mean_score,
            r.ran_count,
            r.started_at,
        )
        for r in runs
    ]


def agent_suites(store: ExecutionLog, agent: str) -> list[str]:
    """Names of the suites that have run against the agent (newest first): its eval suites."""
    return [s.suite for s in eval_scores(store, agent)]


# -- manual scores -----------------------------------------------------------------------------


async def rate_run(
    store: ExecutionLog, run_id: str, *, thumbs_up: bool, note: str = ""
) -> RunScore:
    """Record a person's thumbs up (score 1) or down (0) with a note on a run; a second rating
    replaces the first."""
    clean = note.strip()[:MAX_NOTE_CHARS]
    return await asyncio.wrap_future(
        eval_store.set_run_score(
            store, run_id, "manual", 1.0 if thumbs_up else 0.0, thumbs_up, clean
        )
    )


async def clear_rating(store: ExecutionLog, run_id: str) -> bool:
    return await asyncio.wrap_future(eval_store.clear_run_score(store, run_id, "manual"))


def run_ratings(store: ExecutionLog, run_id: str) -> list[RunScore]:
    """The run's scores outside suites: the manual rating and the online judge's."""
    return eval_store.run_scores(store, run_id)


def version_case_scores(store: ExecutionLog, agent_version_id: str) -> list[tuple[str, float]]:
    """For engine.regressions.detect_regressions(eval_scores=...): version id -> [(run id,
    case score)] of the newest completed run of each suite on that config version."""
    return eval_store.version_case_scores(store, agent_version_id)


def model_case_scores(store: ExecutionLog, agent_id: str, runtime: str, model: str) -> list[float]:
    """For engine.cost_recs.cost_recommendations(eval_scores=...): (agent id, runtime, model)
    -> case scores of the newest completed run of each of the agent's suites there."""
    return eval_store.model_case_scores(store, agent_id, runtime, model)
