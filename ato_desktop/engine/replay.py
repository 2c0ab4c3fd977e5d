"""Replay: send a recorded request again, on another runtime or agent, and compare.

The request comes from the local log (a call_llm / call_agent action's inputs): the system
prompt, the whole conversation with its tool calls and tool results, the tools offered, and
the parameters, mapped to the target runtime with a note for each one that changed. It goes
through the one dispatch path (trigger replay, replay_of = the source run), so the replay is a
run like any other. A run whose agent used MCP servers replays its tool loop against the same
servers.

Targets: an agent (that agent's own system prompt, tools and parameters on the same
conversation) or a runtime + model (the source's configuration with only the model changed).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ato_desktop.core.conversation import ConversationError, messages_from_json, tools_from_json
from ato_desktop.core.models import (
    AgentConfig,
    ChatMessage,
    Cost,
    RunStatus,
    RuntimeName,
    TokenUsage,
    ToolSpec,
    Trigger,
)
from ato_desktop.core.param_mapping import map_params
from ato_desktop.core.records import ActionRecord, RunFilter, RunRecord
from ato_desktop.core.replay_figures import reached_model
from ato_desktop.core.replay_link import (
    LinkRun,
    link_note,
    link_window,
    no_link_reason,
    pick_prompt_link,
)
from ato_desktop.core.word_diff import DiffPiece, similarity, word_diff
from ato_desktop.engine.dispatcher import DispatchError, DispatchRequest, DispatchResult
from ato_desktop.engine.parts import LogParts, PlanParts, ReplayParts
from ato_desktop.runtimes.registry import default_base_url
from ato_desktop.store import run_queries

CALL_ACTIONS = ("call_llm", "call_agent")
DEFAULT_OUTPUT_TOKENS = 500  # the estimate's guess when the source reported no output


class ReplayUnavailable(Exception):
    """This run (or action) cannot be replayed; the message says why, in the user's terms."""


@dataclass(frozen=True, slots=True)
class ReplayTarget:
    """Where to replay: an agent, or a runtime and a model (and optionally a base URL)."""

    agent: str | None = None
    runtime: str | None = None
    model: str | None = None
    base_url: str | None = None

    def __post_init__(self) -> None:
        if not self.agent and not (self.runtime and self.model):
            raise ValueError("a replay target is an agent, or a runtime and a model")
        if self.runtime and self.runtime not in {r.value for r in RuntimeName}:
            raise ValueError(f"unknown runtime {self.runtime!r}")

    @property
    def label(self) -> str:
        return f"@{self.agent}" if self.agent else f"{self.runtime} · {self.model}"


@dataclass(frozen=True, slots=True)
class ReplaySource:
    """The recorded call to send again."""

    run: RunRecord
    action: ActionRecord
    messages: tuple[ChatMessage, ...]
    tools: tuple[ToolSpec, ...]
    config: AgentConfig  # what the source ran with (its config version, or its inputs)
    final_text: str  # what the source answered (its last model call, or the chosen call)
    whole_run: bool  # replaying the run (compared with the run) or one call (with that call)
    # Set when the run is a pipeline stage without a prompt of its own, linked to the run
    # holding it by time (core.replay_link): says which run, and how far apart they started.
    link_note: str | None = None


@dataclass(frozen=True, slots=True)
class ReplayPlan:
    """What a replay will send, and what it will probably cost."""

    source: ReplaySource
    target: ReplayTarget
    config: AgentConfig | None  # None: the target agent's own config
    notes: tuple[str, ...]
    estimate: Cost
    estimated_input_tokens: int
    estimated_output_tokens: int


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a comparison: what a run said and what it took."""

    run_id: str
    status: str
    output: str
    duration_ms: float | None
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    cost_source: str | None
    error_class: str | None
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class ReplayComparison:
    source: Side
    replay: Side
    diff: tuple[DiffPiece, ...]
    similarity: float
    # (replay - source) / source in percent; None when either side has no figure.
    duration_delta_pct: float | None
    tokens_delta_pct: float | None
    cost_delta_pct: float | None
    # False: the replay failed before any model answered (no key, say). Then there is nothing
    # to diff and its figures (a $0 cost, no tokens) are no evidence: no deltas are given.
    replay_reached_model: bool = True


@dataclass(frozen=True, slots=True)
class ReplayResult:
    plan: ReplayPlan
    dispatch: DispatchResult
    comparison: ReplayComparison


# -- the source ---------------------------------------------------------------------------------


def load_source(workspace: LogParts, run_id: str, seq: int | None = None) -> ReplaySource:
    """The call to replay: the run's first model call (the original request; a tool loop
    replays from there), or the call_llm action at seq. Raises ReplayUnavailable."""
    store = workspace.store
    run = store.get_run(run_id)
    if run.status == RunStatus.RUNNING.value:
        raise ReplayUnavailable(
            "Replay is not available: the run is still running. Replay needs a finished run."
        )
    actions = store.get_actions(run.id)
    if seq is not None:
        chosen = [a for a in actions if a.seq == seq]
        if not chosen:
            raise ReplayUnavailable(f"Run {run.id[-8:]} has no action #{seq}.")
        action = chosen[0]
        if action.name not in CALL_ACTIONS:
            raise ReplayUnavailable(
                f"Action #{seq} ({action.name}) is a {action.kind} step, not a model call: "
                "pick a call_llm action to replay."
            )
    else:
        calls = [a for a in actions if a.name in CALL_ACTIONS]
        if not calls and (run.pipeline_id is not None or run.stage_index is not None):
            return _linked_stage_source(workspace, run)
        if not calls and _is_received(run):
            raise ReplayUnavailable(
                "Replay is not available: this run came from the OTLP receiver and none of its "
                "spans is a model call (a span with gen_ai.operation.name chat or another "
                "model operation, or openinference.span.kind LLM), so there is no request to "
                "send again."
            )
        if not calls:
            raise ReplayUnavailable(
                "Replay is not available: this run has no recorded model call, so its prompt "
                "is not in the local log (a run ingested from another machine, or one whose "
                "content was not kept)."
            )
        action = calls[0]
    inputs = action.inputs if isinstance(action.inputs, dict) else {}
    try:
        messages = messages_from_json(inputs.get("messages"))
    except ConversationError as exc:
        if _is_received(run):
            raise ReplayUnavailable(_received_without_prompt(action, inputs, exc)) from exc
        raise ReplayUnavailable(
            f"Replay is not available: {exc}; the prompt was not stored with this run "
            "(outputs must be stored: check the retention policy)."
        ) from exc
    config = source_config(workspace, run, inputs)
    answered_by = action if seq is not None else [a for a in actions if a.name in CALL_ACTIONS][-1]
    outputs = answered_by.outputs if isinstance(answered_by.outputs, dict) else {}
    return ReplaySource(
        run,
        action,
        messages,
        tools_from_json(inputs.get("tools")),
        config,
        final_text=str(outputs.get("text") or ""),
        whole_run=seq is None,
    )


def _is_received(run: RunRecord) -> bool:
    """A run the OTLP receiver made from another agent's spans."""
    return run.trigger == Trigger.EXTERNAL.value and (run.tags or {}).get("source") == "otlp"


def _received_without_prompt(
    action: ActionRecord, inputs: dict[str, Any], problem: ConversationError
) -> str:
    """Why an ingested model call cannot be sent again: what its spans lacked, and how to
    make the agent's instrumentation record it."""
    scope = (action.meta or {}).get("otel.scope") or "its instrumentation"
    if inputs.get("content_captured") is False or not inputs.get("messages"):
        return (
            f"Replay is not available: this run came from the OTLP receiver and its model call "
            f"carried no prompt: {scope} did not record the messages sent (no "
            "gen_ai.input.messages, no llm.input_messages). Turn message content capture on in "
            "the agent (OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true for "
            "OpenTelemetry GenAI instrumentations, TRACELOOP_TRACE_CONTENT=true for "
            "OpenLLMetry; OpenInference records them unless OPENINFERENCE_HIDE_INPUTS is set) "
            "and replay a run recorded after that."
        )
    return (
        f"Replay is not available: this run came from the OTLP receiver and the messages "
        f"{scope} recorded cannot be sent again ({problem})."
    )


def _linked_stage_source(workspace: LogParts, stage: RunRecord) -> ReplaySource:
    """A pipeline stage without a model call of its own: the prompt of the run linked to it by
    time ([-30 s, +5 min] around its start), replayed as the stage (replay_of = the stage)."""
    me = _link_run(stage)
    since, until = link_window(stage.started_at)
    candidates = run_queries.prompt_link_candidates(
        workspace.store,
        since,
        until,
        agent_id=stage.agent_id,
        runtime=stage.runtime,
        model=stage.model,
    )
    linked = pick_prompt_link(me, candidates)
    if linked is None:
        raise ReplayUnavailable(no_link_reason(me))
    source = load_source(workspace, linked.id)
    return dataclasses.replace(source, run=stage, whole_run=True, link_note=link_note(me, linked))


def _link_run(run: RunRecord) -> LinkRun:
    return LinkRun(
        run.id, run.started_at, run.agent_id, run.runtime, run.model, run.pipeline_id, run.trigger
    )


def source_config(workspace: LogParts, run: RunRecord, inputs: dict[str, Any]) -> AgentConfig:
    """The config the source ran with: its agent's version when linked, else its inputs."""
    if run.agent_version_id:
        recorded = run_queries.version_config(workspace.store, run.agent_version_id)
        if recorded is not None:
            return recorded
    return AgentConfig(
        runtime=str(inputs.get("runtime") or run.runtime),
        model=str(inputs.get("model") or run.model),
        system_prompt=inputs.get("system"),
        params=dict(inputs.get("params") or {}),
        working_dir=inputs.get("working_dir"),
    )


# -- the plan -----------------------------------------------------------------------------------


def plan_replay(workspace: PlanParts, source: ReplaySource, target: ReplayTarget) -> ReplayPlan:
    """What will be sent, the notes on what had to change, and the estimated cost."""
    notes: list[str] = [source.link_note] if source.link_note else []
    config: AgentConfig | None
    if target.agent:
        agent = workspace.store.get_agent(target.agent)
        effective = agent.config
        config = None
        notes.append(
            f"runs as agent {agent.name} (v{agent.current_version}): its own system prompt, "
            "tools and parameters on the recorded conversation"
        )
    else:
        assert target.runtime and target.model
        params, param_notes = map_params(
            source.config.params, source.config.runtime, target.runtime
        )
        notes.extend(param_notes)
        effective = dataclasses.replace(
            source.config,
            runtime=target.runtime,
            model=target.model,
            base_url=target.base_url
            if target.base_url
            else source.config.base_url
            if target.runtime == source.config.runtime
            else None,
            params=params,
            working_dir=source.config.working_dir,
        )
        config = effective
        if RuntimeName(target.runtime).is_subprocess and not effective.working_dir:
            notes.append("a coding-agent target needs a working directory: replay will fail")
    if source.tools and not effective.mcp_servers:
        notes.append(
            "the recorded tools are offered so the conversation stays valid, but the target "
            "has no MCP servers to run them: a tool call ends the replay"
        )
    input_tokens, output_tokens, estimate = _estimate(workspace, source, effective)
    return ReplayPlan(source, target, config, tuple(notes), estimate, input_tokens, output_tokens)


def _estimate(
    workspace: PlanParts, source: ReplaySource, config: AgentConfig
) -> tuple[int, int, Cost]:
    parts = [config.system_prompt or ""] + [m.content for m in source.messages]
    parts += [json.dumps(c.arguments) for m in source.messages for c in m.tool_calls]
    parts += [json.dumps(dataclasses.asdict(t)) for t in source.tools]
    usage, _method = workspace.estimator.estimate_usage(parts, "", config.model)
    recorded = source.action.usage.output_tokens if source.action.usage else 0
    output_tokens = recorded or DEFAULT_OUTPUT_TOKENS
    usage = TokenUsage(usage.input_tokens, output_tokens)
    return (
        usage.input_tokens,
        output_tokens,
        workspace.prices.cost(
            config.runtime,
            config.model,
            usage,
            base_url=config.base_url or default_base_url(config.runtime),
        ),
    )


# -- replaying ----------------------------------------------------------------------------------


async def replay(
    workspace: ReplayParts,
    run_id: str,
    target: ReplayTarget,
    *,
    seq: int | None = None,
    on_text: Callable[[str], None] | None = None,
    on_started: Callable[[str], None] | None = None,
    plan: ReplayPlan | None = None,
) -> ReplayResult:
    """Replay a run (or one of its calls) on target; raises ReplayUnavailable or DispatchError."""
    store = workspace.store
    if plan is None:
        source = await store.read_async(load_source, workspace, run_id, seq)
        plan = await store.read_async(plan_replay, workspace, source, target)
    source = plan.source
    tags = {"replay.target": target.label}
    if plan.notes:
        tags["replay.notes"] = "; ".join(plan.notes)
    request = DispatchRequest(
        prompt=f"Replay of {source.run.id[-8:]} on {target.label}",
        agent=target.agent,
        config=plan.config,
        messages=source.messages,
        tools=source.tools,
        trigger=Trigger.REPLAY,
        replay_of=source.run.id,
        tags=tags,
    )
    result = await workspace.dispatcher.dispatch(request, on_text=on_text, on_started=on_started)
    replay_run = await store.read_async(store.get_run, result.run_id)
    comparison = compare_sides(_source_side(source), _run_side(replay_run, result.output))
    return ReplayResult(plan, result, comparison)


def _source_side(source: ReplaySource) -> Side:
    """The source: the whole run for a run replay, the one call for a call replay."""
    run, action = source.run, source.action
    if source.whole_run:
        return _run_side(run, source.final_text)
    usage = action.usage or TokenUsage()
    return Side(
        run_id=run.id,
        status=RunStatus.COMPLETED.value if action.outcome == "success" else RunStatus.FAILED.value,
        output=source.final_text,
        duration_ms=action.duration_ns / 1e6 if action.duration_ns is not None else None,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cost_usd=action.cost_usd,
        cost_source=action.cost_source,
        error_class=action.error_class,
        error_message=action.error_message,
    )


def _run_side(run: RunRecord, output: str) -> Side:
    return Side(
        run_id=run.id,
        status=run.status,
        output=output,
        duration_ms=run.duration_ns / 1e6 if run.duration_ns is not None else None,
        input_tokens=run.usage.input_tokens,
        output_tokens=run.usage.output_tokens,
        cost_usd=run.cost_usd,
        cost_source=run.cost_source,
        error_class=run.error_class,
        error_message=run.error_message,
    )


def side_reached_model(side: Side) -> bool:
    """Whether a side got as far as a model's answer (core.replay_figures.reached_model)."""
    return reached_model(
        side.status, side.error_class, side.input_tokens, side.output_tokens, side.output
    )


def compare_sides(source: Side, replay_side: Side) -> ReplayComparison:
    if not side_reached_model(replay_side):
        # Nothing came back: the source's answer stands as it is, with no diff against an
        # empty one, and no "-100 %" for a cost and tokens that were never spent.
        return ReplayComparison(
            source=source,
            replay=replay_side,
            diff=(DiffPiece("equal", source.output),) if source.output else (),
            similarity=0.0,
            duration_delta_pct=None,
            tokens_delta_pct=None,
            cost_delta_pct=None,
            replay_reached_model=False,
        )
    pieces = word_diff(source.output, replay_side.output)
    return ReplayComparison(
        source=source,
        replay=replay_side,
        diff=tuple(pieces),
        similarity=similarity(source.output, replay_side.output),
        duration_delta_pct=_pct(source.duration_ms, replay_side.duration_ms),
        tokens_delta_pct=_pct(
            source.input_tokens + source.output_tokens,
            replay_side.input_tokens + replay_side.output_tokens,
        ),
        cost_delta_pct=_pct(source.cost_usd, replay_side.cost_usd),
    )


def _pct(before: float | None, after: float | None) -> float | None:
    if before is None or after is None or before == 0:
        return None
    return round((after - before) / before * 100, 1)


# -- batch ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BatchItem:
    source_run_id: str
    result: ReplayResult | None = None
    skipped: str | None = None  # why it could not be replayed
    error: str | None = None  # the dispatch itself could not start


@dataclass(frozen=True, slots=True)
class BatchSummary:
    items: tuple[BatchItem, ...]
    total: int
    replayed: int
    skipped: int
    recovered: int  # failed before, completed now
    still_failing: int
    regressed: int  # completed before, failed now
    source_cost_usd: float
    replay_cost_usd: float
    cost_delta_pct: float | None
    source_median_ms: float | None
    replay_median_ms: float | None
    latency_delta_pct: float | None
    cancelled: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)
    unreached: int = 0  # replays that failed before reaching a model (in no figure)


Progress = Callable[[int, int, BatchItem], None]


async def replay_batch(
    workspace: ReplayParts,
    run_ids: Sequence[str],
    target: ReplayTarget,
    *,
    concurrency: int = 4,
    progress: Progress | None = None,
    cancel: asyncio.Event | None = None,
) -> BatchSummary:
    """Replay many runs on target, at most `concurrency` at a time. Cancel stops starting new
    ones and kills those under way (each recorded as killed, with what it had streamed)."""
    semaphore = asyncio.Semaphore(max(1, concurrency))
    items: list[BatchItem] = []
    done = 0
    cancelled = False
    in_flight: set[str] = set()

    async def kill_on_cancel() -> None:
        nonlocal cancelled
        assert cancel is not None
        await cancel.wait()
        cancelled = True
        workspace.live.kill(list(in_flight))

    async def one(run_id: str) -> None:
        nonlocal done, cancelled
        async with semaphore:
            if cancel is not None and cancel.is_set():
                cancelled = True
                return
            started: list[str] = []

            def on_started(replay_run_id: str) -> None:
                started.append(replay_run_id)
                in_flight.add(replay_run_id)
                if cancel is not None and cancel.is_set():  # cancelled while it was starting
                    workspace.live.kill([replay_run_id])

            try:
                item = BatchItem(
                    run_id,
                    result=await replay(workspace, run_id, target, on_started=on_started),
                )
            except ReplayUnavailable as exc:
                item = BatchItem(run_id, skipped=str(exc))
            except (DispatchError, LookupError, ValueError) as exc:
                item = BatchItem(run_id, error=str(exc))
            finally:
                in_flight.difference_update(started)
            items.append(item)
            done += 1
            if progress is not None:
                progress(done, len(run_ids), item)

    watcher = asyncio.ensure_future(kill_on_cancel()) if cancel is not None else None
    try:
        await asyncio.gather(*(one(run_id) for run_id in run_ids))
    finally:
        if watcher is not None:
            watcher.cancel()
    order = {run_id: i for i, run_id in enumerate(run_ids)}
    items.sort(key=lambda item: order[item.source_run_id])
    return summarize(items, len(run_ids), cancelled)


def summarize(items: Sequence[BatchItem], total: int, cancelled: bool = False) -> BatchSummary:
    replayed = [i.result for i in items if i.result is not None]
    # A replay that never reached a model (no key, say) proves nothing either way: it is
    # counted apart, and its $0 and its duration stay out of the figures.
    results = [r for r in replayed if r.comparison.replay_reached_model]
    unreached = len(replayed) - len(results)
    recovered = still_failing = regressed = 0
    for r in results:
        before_ok = r.comparison.source.status == RunStatus.COMPLETED.value
        after_ok = r.comparison.replay.status == RunStatus.COMPLETED.value
        recovered += (not before_ok) and after_ok
        still_failing += (not before_ok) and not after_ok
        regressed += before_ok and not after_ok
    source_cost = sum(r.comparison.source.cost_usd or 0.0 for r in results)
    replay_cost = sum(r.comparison.replay.cost_usd or 0.0 for r in results)
    source_ms = [
        r.comparison.source.duration_ms
        for r in results
        if r.comparison.source.duration_ms is not None
    ]
    replay_ms = [
        r.comparison.replay.duration_ms
        for r in results
        if r.comparison.replay.duration_ms is not None
    ]
    source_median = statistics.median(source_ms) if source_ms else None
    replay_median = statistics.median(replay_ms) if replay_ms else None
    notes: tuple[str, ...] = ()
    if unreached:
        notes = (
            f"{unreached} replay{'s' if unreached != 1 else ''} failed before reaching a model "
            "(no API key, a bad config or no connection): left out of every figure.",
        )
    return BatchSummary(
        items=tuple(items),
        total=total,
        replayed=len(replayed),
        skipped=sum(1 for i in items if i.skipped or i.error),
        recovered=recovered,
        still_failing=still_failing,
        regressed=regressed,
        source_cost_usd=round(source_cost, 6),
        replay_cost_usd=round(replay_cost, 6),
        cost_delta_pct=_pct(source_cost or None, replay_cost),
        source_median_ms=source_median,
        replay_median_ms=replay_median,
        latency_delta_pct=_pct(source_median, replay_median),
        cancelled=cancelled,
        notes=notes,
        unreached=unreached,
    )


def failures_of(workspace: LogParts, agent: str, since_ms: int | None) -> list[str]:
    """Ids of the agent's failed runs since a time (oldest first)."""
    record = workspace.store.get_agent(agent)
    runs = list(
        workspace.store.iter_runs(
            RunFilter(statuses=(RunStatus.FAILED.value,), agent_id=record.id, since_ms=since_ms)
        )
    )
    return [r.id for r in reversed(runs)]
