"""Running groups and skill flows through the one dispatch path.

A pipeline run is a parent run (runtime "pipeline", model = the definition's name, trigger = what
started it: cli, ui, cron, hook) with pipeline_id = the definition's id; each stage is a child
run dispatched by the Dispatcher (trigger pipeline, parent_run_id, pipeline_id, stage_index,
stage_name), so stages land in Runs like any other run with their timing, tokens and cost.

Sequential groups and skill flows run their stages in order, each prompt rendered from the
stage's template over {input} and {previous}; a failing stage stops the pipeline, is skipped
(the next stage gets the last good output) or is retried N times, per its policy, and a stage
timeout fails the stage with class timeout. A routed group picks one member by its rules or its
router agent (a child run of its own) and records the decision and its reason as a `route`
action of the parent run, then runs the member. Killing the parent run (Runs, `runs kill`)
cancels the stage under way, which is recorded as killed, and the parent ends killed.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from ato_desktop.core.automations import (
    AutomationKind,
    GroupMode,
    GroupSpec,
    OnFailure,
    SkillSpec,
    Stage,
    TargetKind,
)
from ato_desktop.core.models import ErrorClass, Outcome, RunStatus, Trigger
from ato_desktop.core.records import NewAction, NewRun, RunEnd
from ato_desktop.core.templates import render
from ato_desktop.engine.automations import AutomationService
from ato_desktop.engine.dispatcher import DispatchError, DispatchRequest, DispatchResult
from ato_desktop.engine.parts import RunParts
from ato_desktop.store import automations as automation_store
from ato_desktop.store.automations import AutomationRecord
from ato_desktop.store.execution_log import now_ms

log = logging.getLogger(__name__)

PIPELINE_RUNTIME = "pipeline"  # the runtime column of a parent run: it calls no model itself
MAX_RECORDED_CHARS = 20_000
ROUTER_PROMPT = """You route requests to exactly one of these agents: {members}.
Answer with the agent's name alone on the first line, then one line saying why.

Request:
{input}"""


@dataclass(frozen=True, slots=True)
class StageOutcome:
    """One attempt of one stage."""

    stage_index: int
    stage_name: str
    agent: str
    attempt: int
    run_id: str | None
    status: str  # a RunStatus value, or "not_started" (the dispatch was refused)
    output: str
    error: str | None
    duration_ns: int
    skipped: bool = False  # failed, and the pipeline went on without it
    error_class: str | None = None


@dataclass(frozen=True, slots=True)
class RouteDecision:
    member: str
    reason: str
    router: str  # "rules" | "llm" | "default"
    router_run_id: str | None = None


@dataclass(frozen=True, slots=True)
class PipelineResult:
    run_id: str
    name: str
    status: RunStatus
    output: str
    stages: tuple[StageOutcome, ...] = ()
    route: RouteDecision | None = None
    error: str | None = None
    duration_ns: int = 0


class PipelineError(Exception):
    """A pipeline that could not start (unknown or disabled definition); nothing recorded."""


@dataclass
class _Progress:
    stages: list[StageOutcome] = field(default_factory=list)
    output: str = ""
    route: RouteDecision | None = None
    error: str | None = None
    failed: bool = False
    # The stage under way, as it will be recorded if the pipeline is killed during it.
    current: StageOutcome | None = None


class PipelineRunner:
    """Runs groups and skill flows; shared by the CLI, the scheduler, hooks and the UI."""

    def __init__(self, parts: RunParts) -> None:
        self._parts = parts

    async def run_group(
        self,
        group: str | AutomationRecord,
        input_text: str,
        *,
        trigger: Trigger = Trigger.CLI,
        tags: Mapping[str, str] | None = None,
        parent_run_id: str | None = None,
        on_started: Callable[[str], None] | None = None,
        ignore_disabled: bool = True,
    ) -> PipelineResult:
        """Run a group (by name, id or record) on input_text to the end."""
        record = await self._definition(AutomationKind.GROUP, group)
        if not record.enabled and not ignore_disabled:
            raise PipelineError(f"group {record.name} is disabled")
        assert isinstance(record.spec, GroupSpec)
        return await self._run(
            record, record.spec, input_text, trigger, tags, parent_run_id, on_started
        )

    async def run_skill(
        self,
        skill: str | AutomationRecord,
        input_text: str,
        *,
        trigger: Trigger = Trigger.CLI,
        tags: Mapping[str, str] | None = None,
        parent_run_id: str | None = None,
        on_started: Callable[[str], None] | None = None,
    ) -> PipelineResult:
        """Run a skill flow: its file is re-read first, and an edit recorded as a new version."""
        record = await self._definition(AutomationKind.SKILL, skill)
        synced = await asyncio.to_thread(AutomationService(self._parts.store).sync_skill, record.id)
        record = synced or record
        assert isinstance(record.spec, SkillSpec)
        return await self._run(
            record, record.spec.pipeline(), input_text, trigger, tags, parent_run_id, on_started
        )

    async def run_target(
        self,
        kind: TargetKind,
        target: str,
        prompt: str,
        *,
        trigger: Trigger,
        tags: Mapping[str, str] | None = None,
        parent_run_id: str | None = None,
        on_started: Callable[[str], None] | None = None,
    ) -> tuple[str, RunStatus]:
        """Dispatch an agent, or run a group or skill flow: (run id, status). Used by
        schedules and hooks, whose target may be any of the three."""
        if kind in (TargetKind.GROUP, TargetKind.SKILL):
            definition = await self._definition(
                AutomationKind.GROUP if kind is TargetKind.GROUP else AutomationKind.SKILL, target
            )
            if not definition.enabled:
                raise PipelineError(f"{definition.kind.value} {definition.name} is disabled")
        if kind is TargetKind.GROUP:
            result = await self.run_group(
                target,
                prompt,
                trigger=trigger,
                tags=tags,
                parent_run_id=parent_run_id,
                on_started=on_started,
            )
            return result.run_id, result.status
        if kind is TargetKind.SKILL:
            result = await self.run_skill(
                target,
                prompt,
                trigger=trigger,
                tags=tags,
                parent_run_id=parent_run_id,
                on_started=on_started,
            )
            return result.run_id, result.status
        done = await self._parts.dispatcher.dispatch(
            DispatchRequest(
                prompt,
                agent=target,
                trigger=trigger,
                parent_run_id=parent_run_id,
                tags=dict(tags or {}),
            ),
            on_started=on_started,
        )
        return done.run_id, done.status

    async def _definition(
        self, kind: AutomationKind, ref: str | AutomationRecord
    ) -> AutomationRecord:
        if isinstance(ref, AutomationRecord):
            return ref
        store = self._parts.store
        return await store.read_async(automation_store.get_definition, store, kind, ref)

    # -- the parent run ---------------------------------------------------------------------------

    async def _run(
        self,
        record: AutomationRecord,
        spec: GroupSpec,
        input_text: str,
        trigger: Trigger,
        tags: Mapping[str, str] | None,
        parent_run_id: str | None,
        on_started: Callable[[str], None] | None,
    ) -> PipelineResult:
        run_tags = {
            **(tags or {}),
            # The same tag as its stages: "pipeline:NAME" in Runs finds the whole pipeline run.
            "pipeline": record.name,
            "pipeline.kind": record.kind.value,
            "pipeline.version": str(record.version),
        }
        t0 = time.perf_counter_ns()
        run_id, run_no = await open_parent_run(
            self._parts, record, trigger, run_tags, parent_run_id
        )
        if on_started is not None:
            on_started(run_id)
        progress = _Progress(output=input_text)
        stage_tags = {k: v for k, v in (tags or {}).items()}
        stage_tags["pipeline"] = record.name
        body = (
            self._sequential(record, spec, input_text, run_id, stage_tags, progress)
            if spec.mode is GroupMode.SEQUENTIAL
            else self._routed(record, spec, input_text, run_id, run_no, stage_tags, progress)
        )
        killed, shutting_down = await run_killable(self._parts, run_id, run_no, body)
        if killed and progress.current is not None:
            progress.stages.append(progress.current)
        error_class: str | None
        message: str | None
        killed = killed or any(s.status == RunStatus.KILLED.value for s in progress.stages)
        if killed:
            status = RunStatus.KILLED
            error_class, message = (
                ErrorClass.KILLED.value,
                "Killed; the stages run so far are kept.",
            )
        elif progress.failed:
            status = RunStatus.FAILED
            error_class, message = _failure_class(progress), progress.error
        else:
            status, error_class, message = RunStatus.COMPLETED, None, None
        duration_ns = time.perf_counter_ns() - t0
        await close_parent_run(
            self._parts,
            run_id,
            run_no,
            status,
            error_class,
            message,
            duration_ns,
            inputs={"input": input_text[:MAX_RECORDED_CHARS], "version": record.version},
            outputs={
                "text": progress.output[:MAX_RECORDED_CHARS]
                if status is RunStatus.COMPLETED
                else "",
                "stages": [
                    {
                        "stage_index": s.stage_index,
                        "stage_name": s.stage_name,
                        "attempt": s.attempt,
                        "run_id": s.run_id,
                        "status": s.status,
                        "skipped": s.skipped,
                    }
                    for s in progress.stages
                ],
            },
        )
        if shutting_down:
            raise asyncio.CancelledError
        return PipelineResult(
            run_id=run_id,
            name=record.name,
            status=status,
            output=progress.output if status is RunStatus.COMPLETED else "",
            stages=tuple(progress.stages),
            route=progress.route,
            error=message,
            duration_ns=duration_ns,
        )

    # -- sequential -------------------------------------------------------------------------------

    async def _sequential(
        self,
        record: AutomationRecord,
        spec: GroupSpec,
        input_text: str,
        parent_id: str,
        tags: dict[str, str],
        progress: _Progress,
    ) -> None:
        previous = input_text
        for index, stage in enumerate(spec.stages):
            prompt = render(stage.template, {"input": input_text, "previous": previous})
            attempts = 1 + (stage.retries if stage.on_failure is OnFailure.RETRY else 0)
            outcome: StageOutcome | None = None
            for attempt in range(1, attempts + 1):
                outcome = await self._stage(
                    record, stage, index, attempt, prompt, parent_id, tags, progress
                )
                if outcome.status == RunStatus.COMPLETED.value:
                    break
                if outcome.status == RunStatus.KILLED.value:
                    progress.stages.append(outcome)
                    return
                if attempt < attempts:
                    progress.stages.append(outcome)
            assert outcome is not None
            if outcome.status == RunStatus.COMPLETED.value:
                progress.stages.append(outcome)
                previous = outcome.output
                progress.output = previous
                continue
            if stage.on_failure is OnFailure.SKIP:
                progress.stages.append(_skipped(outcome))
                continue
            progress.stages.append(outcome)
            progress.failed = True
            tries = f" after {attempts} attempts" if attempts > 1 else ""
            progress.error = (
                f"stage {index + 1} ({stage.name}) {outcome.status}{tries}: "
                f"{outcome.error or 'no detail'}"
            )
            return

    async def _stage(
        self,
        record: AutomationRecord,
        stage: Stage,
        index: int,
        attempt: int,
        prompt: str,
        parent_id: str,
        tags: dict[str, str],
        progress: _Progress,
    ) -> StageOutcome:
        stage_tags = dict(tags)
        if attempt > 1:
            stage_tags["pipeline.attempt"] = str(attempt)
        t0 = time.perf_counter_ns()

        def started(run_id: str) -> None:
            progress.current = StageOutcome(
                index,
                stage.name,
                stage.agent,
                attempt,
                run_id,
                RunStatus.KILLED.value,
                "",
                "killed with the pipeline",
                0,
                error_class=ErrorClass.KILLED.value,
            )

        try:
            result: DispatchResult = await self._parts.dispatcher.dispatch(
                DispatchRequest(
                    prompt,
                    agent=stage.agent,
                    trigger=Trigger.PIPELINE,
                    parent_run_id=parent_id,
                    pipeline_id=record.id,
                    stage_index=index,
                    stage_name=stage.name,
                    tags=stage_tags,
                    run_timeout_s=stage.timeout_s,
                ),
                on_started=started,
            )
        except DispatchError as exc:  # unknown agent, budget refusal: no run was created
            progress.current = None
            return StageOutcome(
                index,
                stage.name,
                stage.agent,
                attempt,
                None,
                "not_started",
                "",
                str(exc),
                time.perf_counter_ns() - t0,
                error_class=ErrorClass.CONFIG.value,
            )
        progress.current = None
        return StageOutcome(
            index,
            stage.name,
            stage.agent,
            attempt,
            result.run_id,
            result.status.value,
            result.output,
            result.error_message,
            result.duration_ns,
            error_class=result.error_class.value if result.error_class else None,
        )

    # -- routed -----------------------------------------------------------------------------------

    async def _routed(
        self,
        record: AutomationRecord,
        spec: GroupSpec,
        input_text: str,
        parent_id: str,
        parent_no: int,
        tags: dict[str, str],
        progress: _Progress,
    ) -> None:
        started = now_ms()
        t0 = time.perf_counter_ns()
        decision, problem = await self._decide(record, spec, input_text, parent_id, tags, progress)
        if progress.stages and progress.stages[-1].status == RunStatus.KILLED.value:
            return
        await asyncio.wrap_future(
            self._parts.store.append_action(
                parent_id,
                parent_no,
                NewAction(
                    name="route",
                    kind="route",
                    outcome=Outcome.SUCCESS.value if decision else Outcome.ERROR.value,
                    started_at=started,
                    ended_at=now_ms(),
                    duration_ns=time.perf_counter_ns() - t0,
                    inputs={
                        "input": input_text[:MAX_RECORDED_CHARS],
                        "members": list(spec.members),
                    },
                    outputs=(
                        {
                            "member": decision.member,
                            "reason": decision.reason,
                            "router": decision.router,
                            "router_run_id": decision.router_run_id,
                        }
                        if decision
                        else None
                    ),
                    error_class=None if decision else ErrorClass.CONFIG.value,
                    error_message=problem,
                    meta={"router": decision.router if decision else "none"},
                ),
            )
        )
        if decision is None:
            progress.failed, progress.error = True, problem
            return
        progress.route = decision
        stage = Stage(decision.member, decision.member, "{input}")
        outcome = await self._stage(record, stage, 1, 1, input_text, parent_id, tags, progress)
        progress.stages.append(outcome)
        if outcome.status == RunStatus.COMPLETED.value:
            progress.output = outcome.output
        elif outcome.status != RunStatus.KILLED.value:
            progress.failed = True
            progress.error = f"{decision.member} {outcome.status}: {outcome.error or 'no detail'}"

    async def _decide(
        self,
        record: AutomationRecord,
        spec: GroupSpec,
        input_text: str,
        parent_id: str,
        tags: dict[str, str],
        progress: _Progress,
    ) -> tuple[RouteDecision | None, str | None]:
        for rule in spec.rules:
            if rule.matches(input_text):
                how = "matches regex" if rule.match == "regex" else "contains"
                return RouteDecision(
                    rule.member, f"the input {how} {rule.pattern!r}", "rules"
                ), None
        if spec.router_agent:
            prompt = render(
                ROUTER_PROMPT, {"members": ", ".join(spec.members), "input": input_text}
            )
            router = Stage("router", spec.router_agent, "{input}")
            outcome = await self._stage(record, router, 0, 1, prompt, parent_id, tags, progress)
            progress.stages.append(outcome)
            if outcome.status == RunStatus.COMPLETED.value:
                member = pick_member(outcome.output, spec.members)
                if member is not None:
                    reason = _reason(outcome.output, member)
                    return RouteDecision(member, reason, "llm", outcome.run_id), None
                problem = (
                    f"the router {spec.router_agent} named no member "
                    f"({', '.join(spec.members)}): {outcome.output[:200]!r}"
                )
            else:
                problem = f"the router {spec.router_agent} {outcome.status}: {outcome.error}"
        else:
            problem = "no rule matched the input"
        if spec.default_member:
            return RouteDecision(spec.default_member, f"{problem}; the default", "default"), None
        return None, problem


def pick_member(answer: str, members: tuple[str, ...]) -> str | None:
    """The member a router named: its first line if that is a member, else the member named
    first anywhere in the answer (whole words, any case)."""
    lines = [line.strip(" \t*`'\".:-#") for line in answer.strip().splitlines() if line.strip()]
    by_lower = {m.lower(): m for m in members}
    if lines and lines[0].lower() in by_lower:
        return by_lower[lines[0].lower()]
    best: tuple[int, str] | None = None
    for member in members:
        found = re.search(rf"(?<![\w-]){re.escape(member)}(?![\w-])", answer, re.IGNORECASE)
        if found and (best is None or found.start() < best[0]):
            best = (found.start(), member)
    return best[1] if best else None


def _reason(answer: str, member: str) -> str:
    lines = [line.strip() for line in answer.strip().splitlines() if line.strip()]
    rest = [line for line in lines if line.strip(" \t*`'\".:-#").lower() != member.lower()]
    return (" ".join(rest) or f"the router answered {member}")[:1000]


def _skipped(outcome: StageOutcome) -> StageOutcome:
    return StageOutcome(
        outcome.stage_index,
        outcome.stage_name,
        outcome.agent,
        outcome.attempt,
        outcome.run_id,
        outcome.status,
        outcome.output,
        outcome.error,
        outcome.duration_ns,
        skipped=True,
        error_class=outcome.error_class,
    )


async def open_parent_run(
    parts: RunParts,
    record: AutomationRecord,
    trigger: Trigger,
    tags: Mapping[str, str],
    parent_run_id: str | None,
) -> tuple[str, int]:
    """Create the parent run of a multi-stage dispatch of this definition: (run id, run_no)."""
    return await asyncio.wrap_future(
        parts.store.create_run(
            NewRun(
                runtime=PIPELINE_RUNTIME,
                model=record.name,
                trigger=trigger.value,
                started_at=now_ms(),
                parent_run_id=parent_run_id,
                pipeline_id=record.id,
                tags=dict(tags),
            ),
            owner=parts.lease_token,
        )
    )


async def run_killable(
    parts: RunParts, run_id: str, run_no: int, body: Coroutine[Any, Any, None]
) -> tuple[bool, bool]:
    """Run a parent run's body as a live run whose kill cancels it (and the stage under way):
    (killed, shutting down: this task itself was cancelled, so the caller re-raises after
    recording the end)."""
    live = parts.live.register(run_id, run_no)
    task = asyncio.create_task(body)
    parts.live.attach_task(run_id, task)
    killed = shutting_down = False
    try:
        await task
    except asyncio.CancelledError:
        killed = True
        current = asyncio.current_task()
        shutting_down = current is not None and current.cancelling() > 0
    finally:
        parts.live.unregister(run_id)
    return killed or live.kill_requested, shutting_down


async def close_parent_run(
    parts: RunParts,
    run_id: str,
    run_no: int,
    status: RunStatus,
    error_class: str | None,
    message: str | None,
    duration_ns: int,
    *,
    inputs: dict[str, object],
    outputs: dict[str, object],
) -> None:
    """End a parent run with its one `pipeline` action (the stages and how it ended)."""
    summary = NewAction(
        name="pipeline",
        kind="pipeline",
        outcome=Outcome.SUCCESS.value if status is RunStatus.COMPLETED else Outcome.ERROR.value,
        started_at=now_ms(),
        ended_at=now_ms(),
        inputs=inputs,
        outputs=outputs,
        duration_ns=duration_ns,
        error_class=error_class,
        error_message=message,
    )
    end = RunEnd(
        status=status.value,
        ended_at=now_ms(),
        duration_ns=duration_ns,
        error_class=error_class,
        error_message=message,
    )
    await asyncio.wrap_future(parts.store.complete_run(run_id, run_no, summary, end))


def _failure_class(progress: _Progress) -> str:
    """The class of the stage that stopped the pipeline (config when none ran)."""
    for stage in reversed(progress.stages):
        if not stage.skipped and stage.status != RunStatus.COMPLETED.value:
            return stage.error_class or ErrorClass.CONFIG.value
    return ErrorClass.CONFIG.value
