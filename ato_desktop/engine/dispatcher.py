"""The one dispatch path: every prompt, from any trigger, runs through `Dispatcher.dispatch`.

It resolves the target (an agent's current config version, or runtime + model), creates the run,
and runs it turn by turn: each model call is a `call_llm` action with TTFT, duration, usage and
cost; when the model asks for tools (an agent with MCP servers), each tool call is an action too
(engine.tool_runner: rules, approvals, ceilings), its result goes back to the model, and the loop
goes on until the model answers. A coding-agent runtime (claude-code, codex-cli) runs as one
`call_agent` action whose own steps (tool uses, commands, files touched) are actions as they
happen. The run ends completed, or failed with an error class, or killed; partial output is kept
in every case.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import time
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from ato_desktop.core.budgets import refusal_message
from ato_desktop.core.conversation import message_json, tool_call_json
from ato_desktop.core.models import (
    AgentConfig,
    AgentStep,
    ChatMessage,
    Cost,
    CostSource,
    ErrorClass,
    EventKind,
    Outcome,
    RunStatus,
    RuntimeEvent,
    RuntimeName,
    RuntimeRequest,
    TokenUsage,
    ToolCall,
    ToolSpec,
    Trigger,
)
from ato_desktop.core.pricing import PriceBook
from ato_desktop.core.records import AgentRecord, NewAction, NewRun, RunEnd
from ato_desktop.core.redaction import redact_secrets
from ato_desktop.engine.agents import AgentConfigError, AgentService, base_url_refusal
from ato_desktop.engine.approvals import ApprovalBroker
from ato_desktop.engine.credentials import CredentialStore, known_secrets
from ato_desktop.engine.live_runs import LiveDispatch, LiveRunRegistry
from ato_desktop.engine.token_estimator import TokenEstimator
from ato_desktop.engine.tool_runner import ToolboxError, ToolboxFactory, ToolRunner
from ato_desktop.runtimes.base import RuntimeAdapter
from ato_desktop.runtimes.registry import base_url_env_var, default_base_url
from ato_desktop.runtimes.sdk_clients import prepare_sdk
from ato_desktop.store import run_queries
from ato_desktop.store.database import DatabaseBusyError, DatabaseCorruptError, StoreError
from ato_desktop.store.execution_log import ExecutionLog, now_ms

log = logging.getLogger(__name__)

# How long a run's end waits out another process holding the log's write lock (each try also
# waits the busy timeout) before it is held in memory and retried in the background.
END_RETRY_S = 300.0
HELD_RETRY_S = 5.0

CHECKPOINT_INTERVAL_S = 1.0
# A model that keeps asking for tools without answering is stopped after this many turns.
MAX_TURNS = 50
# The longest Retry-After a call waits out unless settings.json says otherwise.
DEFAULT_MAX_RETRY_WAIT_S = 60.0
# Model names that let a coding agent pick its own model; the run records the one that answered.
AGENT_DEFAULT_MODELS = frozenset({"", "default"})
_sdks_prepared: set[str] = set()
AdapterFactory = Callable[[str], RuntimeAdapter]


class DispatchError(Exception):
    """The request could not become a run (unknown agent, bad runtime); nothing was recorded."""


@dataclass(frozen=True, slots=True)
class DispatchRequest:
    """A prompt to run: with an agent (its current config) or with runtime + model."""

    prompt: str
    agent: str | None = None
    runtime: str | None = None
    model: str | None = None
    system_prompt: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    base_url: str | None = None
    thread_id: str | None = None
    new_thread: bool = False
    trigger: Trigger = Trigger.CLI
    parent_run_id: str | None = None
    pipeline_id: str | None = None
    stage_index: int | None = None
    stage_name: str | None = None
    replay_of: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    # Explicit history overrides the thread's.
    history: tuple[ChatMessage, ...] | None = None
    # Replay: the exact conversation to send (it may end with tool results; prompt is then
    # only a label), and the config to run it with instead of the agent's or runtime + model's.
    messages: tuple[ChatMessage, ...] | None = None
    config: AgentConfig | None = None
    # Tools to offer when the agent has no MCP servers to run them (replay of a conversation
    # with tool turns: the APIs require the tools of the calls in it to be defined).
    tools: tuple[ToolSpec, ...] = ()
    stall_timeout_s: float | None = None
    request_timeout_s: float | None = None
    # The whole run's time limit (a pipeline stage's timeout): the run fails with class
    # timeout, its output so far kept.
    run_timeout_s: float | None = None


@dataclass(frozen=True, slots=True)
class DispatchResult:
    run_id: str
    status: RunStatus
    output: str
    usage: TokenUsage | None
    tokens_estimated: bool
    cost: Cost | None  # None: the call never reached the model, nothing was spent
    ttft_ns: int | None
    duration_ns: int
    error_class: ErrorClass | None = None
    error_message: str | None = None
    thread_id: str | None = None
    finish_reason: str | None = None


@dataclass
class _Stream:
    """What the streaming task has gathered so far."""

    chunks: list[str] = field(default_factory=list)
    usage: TokenUsage | None = None
    provider_cost_usd: float | None = None
    finish_reason: str | None = None
    response_id: str | None = None
    response_model: str | None = None
    error_class: ErrorClass | None = None
    error_message: str | None = None
    status_code: int | None = None
    first_token_ns: int | None = None
    last_event_ms: int = 0
    tool_calls: list[ToolCall] = field(default_factory=list)
    # The provider's response began (ACCEPTED): the call reached the model.
    accepted: bool = False
    # The usage's output count is the provider's final one (False: estimate it).
    output_counted: bool = True
    steps: int = 0

    @property
    def text(self) -> str:
        return "".join(self.chunks)


@dataclass
class _Turn:
    """One model call of a run: what was sent, and what streamed back."""

    request: RuntimeRequest
    inputs: dict[str, Any]
    name: str  # "call_llm", or "call_agent" for a coding-agent runtime
    started_ms: int
    t0: int
    stream: _Stream = field(default_factory=_Stream)


@dataclass
class _RunState:
    """Everything a run has done so far; shared by the turn loop and the ending."""

    run_id: str
    run_no: int
    live: LiveDispatch
    config: AgentConfig
    t0: int
    secrets: list[str]
    current: _Turn | None = None  # the turn streaming now; recorded when the run ends
    turns_recorded: int = 0
    tool_calls: int = 0
    cost_usd: float = 0.0  # the known part, for the cost ceiling
    last_text: str = ""
    first_token_ns: int | None = None
    failure: tuple[ErrorClass, str] | None = None  # ceiling, tool servers, missing key
    max_retry_wait_s: float = DEFAULT_MAX_RETRY_WAIT_S
    answered_by: str | None = None  # the model that answered, when the agent let it choose


class Dispatcher:
    """Runs prompts through runtime adapters and records everything in the execution log."""

    def __init__(
        self,
        store: ExecutionLog,
        registry: LiveRunRegistry,
        credentials: CredentialStore,
        prices: PriceBook,
        estimator: TokenEstimator,
        adapter_factory: AdapterFactory,
        owner: str,
        toolbox_factory: ToolboxFactory,
        approvals: ApprovalBroker,
        default_stall_timeout_s: float = 60.0,
        max_retry_wait: Callable[[], float] | None = None,
    ) -> None:
        self._store = store
        self._toolbox_factory = toolbox_factory
        self._approvals = approvals
        self._registry = registry
        self._credentials = credentials
        self._prices = prices
        self._estimator = estimator
        self._adapters = adapter_factory
        self._owner = owner
        self._stall_timeout_s = default_stall_timeout_s
        # Read per dispatch (settings.json may change while the app runs), off the event loop.
        self._max_retry_wait = max_retry_wait or (lambda: DEFAULT_MAX_RETRY_WAIT_S)
        # Run endings the log refused (a full disk, a lock held too long), written as soon as
        # it takes them: retried in the background and before the next dispatch.
        self._held_endings: dict[str, tuple[int, NewAction | None, RunEnd]] = {}
        self._held_retry: asyncio.Task[None] | None = None

    def set_price_book(self, prices: PriceBook) -> None:
        """Price from now on with this book (the user changed prices.json)."""
        self._prices = prices

    async def dispatch(
        self,
        request: DispatchRequest,
        *,
        on_text: Callable[[str], None] | None = None,
        on_started: Callable[[str], None] | None = None,
    ) -> DispatchResult:
        """Run one prompt to the end. Raises DispatchError only when no run could be created,
        StoreError (DiskFullError...) when the log refuses a write."""
        await self._write_held_endings()
        agent, config = await self._resolve_target(request)
        refusal = base_url_refusal(config.base_url, config.runtime) if config.base_url else None
        if refusal:  # an agent saved before URLs were checked, a replay or eval target
            who = f"agent {agent.name}: " if agent is not None else ""
            raise DispatchError(who + refusal)
        if agent is not None:
            await self._check_budget(agent)
        # Before the run starts, so its duration and TTFT measure the provider, not our imports.
        max_retry_wait_s = await self._prepare_runtime(config.runtime)
        if request.messages is not None:
            thread_id, messages = None, request.messages
        else:
            thread_id, history = await self._resolve_thread(request, agent, config)
            messages = (*history, ChatMessage("user", request.prompt))
        started_at = now_ms()
        run_id, run_no = await asyncio.wrap_future(
            self._store.create_run(
                NewRun(
                    runtime=config.runtime,
                    model=config.model,
                    trigger=request.trigger.value,
                    started_at=started_at,
                    agent_id=agent.id if agent else None,
                    agent_version_id=agent.current_version_id if agent else None,
                    thread_id=thread_id,
                    parent_run_id=request.parent_run_id,
                    pipeline_id=request.pipeline_id,
                    stage_index=request.stage_index,
                    stage_name=request.stage_name,
                    replay_of=request.replay_of,
                    tags=request.tags,
                ),
                owner=self._owner,
            )
        )
        live = self._registry.register(run_id, run_no)
        try:
            if on_started is not None:
                on_started(run_id)
            if thread_id is not None and request.history is None and request.messages is None:
                await asyncio.wrap_future(
                    self._store.add_message(thread_id, "user", request.prompt, run_id=run_id)
                )
            result = await self._run(
                run_id, run_no, live, config, messages, request, on_text, max_retry_wait_s
            )
        finally:
            self._registry.unregister(run_id)
        if (
            thread_id is not None
            and result.output
            and result.status
            in (
                RunStatus.COMPLETED,
                RunStatus.KILLED,
            )
        ):
            await self._waiting_out_locks(
                lambda: self._store.add_message(
                    thread_id, "assistant", result.output, run_id=run_id
                ),
                f"the answer of run {run_id} to its thread",
            )
        return dataclasses.replace(result, thread_id=thread_id)

    async def _prepare_runtime(self, runtime: str) -> float:
        """Import and warm the runtime's SDK (once per process) and read the retry-wait setting,
        in a worker thread; returns the setting."""
        try:
            adapter = self._adapters(runtime)
        except ValueError as exc:
            raise DispatchError(str(exc)) from exc
        sdk = getattr(adapter, "sdk_module", "")

        def prepare() -> float:
            if sdk and sdk not in _sdks_prepared:
                prepare_sdk(sdk)
                _sdks_prepared.add(sdk)
            return self._max_retry_wait()

        return await asyncio.to_thread(prepare)

    async def _write_held_endings(self) -> None:
        """Write the endings the log refused (a full disk, a lock held too long); raises
        StoreError while it still refuses."""
        for run_id, (run_no, action, end) in list(self._held_endings.items()):
            await asyncio.wrap_future(self._store.complete_run(run_id, run_no, action, end))
            del self._held_endings[run_id]
            log.warning("wrote the held end of run %s", run_id)

    @property
    def held_endings(self) -> list[str]:
        """Runs whose end is held in this process, not yet in the log."""
        return list(self._held_endings)

    async def flush_held_endings(self, timeout_s: float = 0.0) -> list[str]:
        """Try to write the held endings until none is left or timeout_s passed; returns the
        runs still held (to say so before the process ends)."""
        deadline = time.monotonic() + timeout_s
        while self._held_endings:
            with contextlib.suppress(StoreError):
                await self._write_held_endings()
            if not self._held_endings or time.monotonic() >= deadline:
                break
            await asyncio.sleep(min(HELD_RETRY_S, max(0.0, deadline - time.monotonic())))
        return self.held_endings

    async def aclose(self) -> None:
        """One last try at the held endings, then stop retrying them (the process is ending:
        what is still held is marked interrupted at the next start)."""
        await self.flush_held_endings()
        if self._held_retry is not None:
            self._held_retry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._held_retry
            self._held_retry = None
        for run_id in self._held_endings:
            log.warning("run %s ended but its end was never recorded (the log refused it)", run_id)

    def _retry_held_endings_later(self) -> None:
        """Keep trying the held endings in the background (no next dispatch needed)."""
        if self._held_retry is not None and not self._held_retry.done():
            return

        async def retry() -> None:
            while self._held_endings:
                await asyncio.sleep(HELD_RETRY_S)
                with contextlib.suppress(StoreError):
                    await self._write_held_endings()

        self._held_retry = asyncio.get_running_loop().create_task(
            retry(), name="ato-held-run-endings"
        )

    async def _waiting_out_locks(self, write: Callable[[], Future[Any]], what: str) -> Any:
        """A write that another process's lock on the log (held past the busy timeout) only
        delays: tried again for up to END_RETRY_S; other refusals (a full disk) raise at once."""
        deadline = time.monotonic() + END_RETRY_S
        while True:
            try:
                return await asyncio.wrap_future(write())
            except DatabaseBusyError:
                if time.monotonic() >= deadline:
                    raise
                log.warning("the log is locked by another process; still trying to record %s", what)
                await asyncio.sleep(0.5)

    # -- target and conversation ----------------------------------------------------------------

    async def _sync_prompt_file(self, agent: AgentRecord) -> AgentRecord:
        """The agent's system prompt file was edited outside the app: record the new text as a
        version first, so the run points at the prompt it really ran with."""
        try:
            synced = await asyncio.to_thread(AgentService(self._store).sync_prompt_file, agent.id)
        except AgentConfigError as exc:
            raise DispatchError(
                f"{exc}; fix the file, or unlink it in the agent's settings"
            ) from exc
        return synced or agent

    async def _check_budget(self, agent: AgentRecord) -> None:
        """An agent with a hard ceiling whose daily or monthly budget is spent is refused."""
        config = agent.config
        if not config.budget_hard_ceiling or (
            config.budget_per_day_usd is None and config.budget_per_month_usd is None
        ):
            return
        now = now_ms()
        state = await self._store.read_async(
            run_queries.budget_state, self._store, agent.id, config, now
        )
        if state.refuses:
            raise DispatchError(refusal_message(agent.name, state, now))

    async def _resolve_target(
        self, request: DispatchRequest
    ) -> tuple[AgentRecord | None, AgentConfig]:
        if request.agent:
            try:
                agent = await self._store.read_async(self._store.get_agent, request.agent)
            except Exception as exc:
                raise DispatchError(str(exc)) from exc
            if agent.config.system_prompt_file:
                agent = await self._sync_prompt_file(agent)
            return agent, request.config or agent.config
        if request.config is not None:
            return None, request.config
        if not request.runtime or not request.model:
            raise DispatchError("give an agent, or a runtime and a model")
        if request.runtime not in {r.value for r in RuntimeName}:
            known = ", ".join(r.value for r in RuntimeName)
            raise DispatchError(f"unknown runtime {request.runtime!r}; use one of {known}")
        config = AgentConfig(
            runtime=request.runtime,
            model=request.model,
            system_prompt=request.system_prompt,
            params=dict(request.params),
            base_url=request.base_url,
        )
        return None, config

    async def _resolve_thread(
        self, request: DispatchRequest, agent: AgentRecord | None, config: AgentConfig
    ) -> tuple[str | None, tuple[ChatMessage, ...]]:
        if request.history is not None:
            return request.thread_id, request.history
        if request.thread_id:
            try:
                thread = await self._store.read_async(self._store.get_thread, request.thread_id)
            except Exception as exc:
                raise DispatchError(str(exc)) from exc
            past = await self._store.read_async(self._store.thread_messages, thread.id)
            return thread.id, tuple(ChatMessage(m.role, m.content) for m in past)
        if request.new_thread:
            thread = await asyncio.wrap_future(
                self._store.create_thread(
                    request.prompt,
                    agent_id=agent.id if agent else None,
                    runtime=config.runtime,
                    model=config.model,
                )
            )
            return thread.id, ()
        return None, ()

    # -- the run -------------------------------------------------------------------------------

    async def _run(
        self,
        run_id: str,
        run_no: int,
        live: LiveDispatch,
        config: AgentConfig,
        messages: tuple[ChatMessage, ...],
        request: DispatchRequest,
        on_text: Callable[[str], None] | None,
        max_retry_wait_s: float = DEFAULT_MAX_RETRY_WAIT_S,
    ) -> DispatchResult:
        key = self._credentials.key_for_runtime(config.runtime)
        secrets = [key.value, *known_secrets()] if key else list(known_secrets())
        state = _RunState(run_id, run_no, live, config, time.perf_counter_ns(), secrets)
        state.max_retry_wait_s = max_retry_wait_s
        runtime = RuntimeName(config.runtime)
        if key is None and runtime in (RuntimeName.CLAUDE, RuntimeName.CODEX):
            # Recorded as a call that never went out: the prompt is in the log, so the run can
            # be replayed once a key is set.
            turn = self._begin_turn(state, config, list(messages), request, None, None)
            turn.stream.error_class = ErrorClass.AUTH
            turn.stream.error_message = _missing_key_message(config.runtime)
            return await self._end(state, killed=False)
        # The whole run is one task, so a kill stops it wherever it is: streaming, waiting
        # for an approval, or inside a tool call.
        task = asyncio.create_task(
            self._turns(state, key.value if key else None, messages, request, on_text)
        )
        self._registry.attach_task(run_id, task)
        timer = self._run_timer(state, task, request.run_timeout_s)
        killed = shutting_down = False
        try:
            await task
        except asyncio.CancelledError:
            killed = state.failure is None or state.failure[0] is not ErrorClass.TIMEOUT
            current = asyncio.current_task()
            # Cancelled from outside (shutdown) rather than killed: record, then propagate.
            shutting_down = current is not None and current.cancelling() > 0
        finally:
            if timer is not None:
                timer.cancel()
        result = await self._end(state, killed=killed or live.kill_requested)
        if shutting_down:
            raise asyncio.CancelledError
        return result

    @staticmethod
    def _run_timer(
        state: _RunState, task: asyncio.Task[None], timeout_s: float | None
    ) -> asyncio.TimerHandle | None:
        """Stop the run at its time limit: a failure of class timeout, not a kill."""
        if timeout_s is None:
            return None

        def time_out() -> None:
            if not task.done():
                state.failure = (
                    ErrorClass.TIMEOUT,
                    f"Stopped at the time limit of {timeout_s:g}s; the output streamed so far "
                    "was kept.",
                )
                task.cancel()

        return asyncio.get_running_loop().call_later(timeout_s, time_out)

    async def _turns(
        self,
        state: _RunState,
        api_key: str | None,
        messages: tuple[ChatMessage, ...],
        request: DispatchRequest,
        on_text: Callable[[str], None] | None,
    ) -> None:
        """Model calls until the model answers without asking for tools (or a guard stops)."""
        config = state.config
        adapter = self._adapters(config.runtime)
        subprocess_runtime = RuntimeName(config.runtime).is_subprocess
        tools: ToolRunner | None = None
        try:
            if config.mcp_servers and not subprocess_runtime:
                try:
                    toolbox = await self._toolbox_factory(config)
                except ToolboxError as exc:
                    state.failure = (ErrorClass.TOOL, str(exc))
                    return
                tools = ToolRunner(
                    self._store, self._approvals, toolbox, config, state.run_id, state.run_no
                )
            conversation = list(messages)
            while True:
                turn = self._begin_turn(state, config, conversation, request, api_key, tools)
                await self._consume(adapter, turn, state, on_text)
                stream = turn.stream
                if stream.error_class is not None or not stream.tool_calls or tools is None:
                    return  # the run ends with this turn (recorded by _end)
                await self._record_turn(state, turn)
                conversation.append(
                    ChatMessage("assistant", stream.text, tool_calls=tuple(stream.tool_calls))
                )
                for call in stream.tool_calls:
                    if config.max_tool_calls is not None and state.tool_calls >= (
                        config.max_tool_calls
                    ):
                        state.failure = (
                            ErrorClass.CEILING,
                            f"Stopped at the tool-call ceiling: {config.max_tool_calls} tool "
                            "call(s) per run (the agent's max_tool_calls).",
                        )
                        return
                    state.tool_calls += 1
                    conversation.append(await tools.run(call))
                if config.max_cost_usd is not None and state.cost_usd >= config.max_cost_usd:
                    state.failure = (
                        ErrorClass.CEILING,
                        f"Stopped at the cost ceiling: ${state.cost_usd:.4f} spent of "
                        f"${config.max_cost_usd:.4f} per run (the agent's max_cost_usd).",
                    )
                    return
                if state.turns_recorded >= MAX_TURNS:
                    state.failure = (
                        ErrorClass.CEILING,
                        f"Stopped after {MAX_TURNS} model turns without a final answer.",
                    )
                    return
        finally:
            if tools is not None:
                await tools.aclose()

    def _begin_turn(
        self,
        state: _RunState,
        config: AgentConfig,
        conversation: list[ChatMessage],
        request: DispatchRequest,
        api_key: str | None,
        tools: ToolRunner | None,
    ) -> _Turn:
        runtime_request = RuntimeRequest(
            model=config.model,
            messages=tuple(conversation),
            system=config.system_prompt,
            params=dict(config.params),
            base_url=_base_url(config),
            api_key=api_key,
            stall_timeout_s=request.stall_timeout_s or self._stall_timeout_s,
            request_timeout_s=request.request_timeout_s or 600.0,
            tools=tuple(tools.specs) if tools is not None else request.tools,
            cwd=config.working_dir,
            max_retry_wait_s=state.max_retry_wait_s,
        )
        subprocess_runtime = RuntimeName(config.runtime).is_subprocess
        turn = _Turn(
            request=runtime_request,
            inputs=_call_inputs(runtime_request, config.runtime),
            name="call_agent" if subprocess_runtime else "call_llm",
            started_ms=now_ms(),
            t0=time.perf_counter_ns(),
        )
        kind = "agent" if subprocess_runtime else "llm"
        self._store.begin_action(state.run_no, turn.name, kind, turn.inputs, turn.started_ms)
        state.current = turn
        state.live.begin_turn(turn.stream.chunks)  # run details follow the text as it streams
        return turn

    async def _consume(
        self,
        adapter: RuntimeAdapter,
        turn: _Turn,
        state: _RunState,
        on_text: Callable[[str], None] | None,
    ) -> None:
        checkpoints = asyncio.create_task(self._checkpoint_loop(state, turn.stream))
        try:
            # aclosing: a kill closes the generator, and so the HTTP stream, at once, not at GC.
            async with contextlib.aclosing(adapter.stream(turn.request)) as events:
                await self._drain(events, turn, state, on_text)
        finally:
            checkpoints.cancel()

    async def _checkpoint_loop(self, state: _RunState, stream: _Stream) -> None:
        """Save the output streamed so far about once a second, so a crash loses at most that.

        A timer rather than "on the next chunk": a stream that stalls sends no next chunk.
        """
        saved = 0
        while True:
            await asyncio.sleep(CHECKPOINT_INTERVAL_S)
            if len(stream.chunks) != saved:
                saved = len(stream.chunks)
                self._store.checkpoint_run(
                    state.run_id, state.run_no, stream.text, stream.last_event_ms
                )

    async def _drain(
        self,
        events: AsyncGenerator[RuntimeEvent, None],
        turn: _Turn,
        state: _RunState,
        on_text: Callable[[str], None] | None,
    ) -> None:
        stream, live = turn.stream, state.live
        async for event in events:
            if event.kind is EventKind.TEXT:
                if stream.first_token_ns is None:
                    stream.first_token_ns = time.perf_counter_ns() - turn.t0
                if state.first_token_ns is None:
                    state.first_token_ns = time.perf_counter_ns() - state.t0
                stream.chunks.append(event.text)
                stream.last_event_ms = now_ms()
                live.note_text(event.text)
                if on_text is not None:
                    on_text(event.text)
            elif event.kind is EventKind.TOOL_CALL and event.tool_call is not None:
                stream.tool_calls.append(event.tool_call)
                live.note_event()
            elif event.kind is EventKind.STEP and event.step is not None:
                # A coding agent finished a step: an action of its own, recorded now.
                self._store.append_action(state.run_id, state.run_no, _step_action(event.step))
                stream.steps += 1
                stream.last_event_ms = now_ms()
                live.note_event()
            elif event.kind is EventKind.ACCEPTED:
                stream.accepted = True
                self._store.note_action_accepted(state.run_no)  # for crash recovery
            elif event.kind is EventKind.USAGE:
                # The last report wins: a provisional one (output not counted yet) may come
                # first, so a killed call keeps the input the provider counted.
                stream.usage = event.usage
                stream.output_counted = event.output_counted
                stream.provider_cost_usd = event.provider_cost_usd
                live.note_event()
            elif event.kind is EventKind.FINISH:
                stream.finish_reason = event.finish_reason
                stream.response_id = event.response_id
                stream.response_model = event.response_model
                if event.response_model and state.config.model.strip().lower() in (
                    AGENT_DEFAULT_MODELS
                ):
                    state.answered_by = event.response_model
            elif event.kind is EventKind.ERROR:
                stream.error_class = event.error_class or ErrorClass.SERVER_ERROR
                stream.error_message = event.message
                stream.status_code = event.status_code

    async def _turn_action(
        self,
        state: _RunState,
        turn: _Turn,
        *,
        outcome: str,
        error: tuple[str, str] | None,
        killed: bool = False,
    ) -> NewAction:
        """The turn as an action: usage (estimated when the provider sent none) and cost."""
        config, stream = state.config, turn.stream
        text = stream.text
        usage, estimated = stream.usage, False
        # The model that did the work: the agent's, or the one that answered for "default".
        model = config.model
        if model.strip().lower() in AGENT_DEFAULT_MODELS and stream.response_model:
            model = stream.response_model
        if RuntimeName(config.runtime).is_subprocess:
            # A CLI reports no "accepted": any output, or a kill of a started CLI, counts.
            reached_model = bool(text) or bool(stream.steps) or killed
        else:
            # The response began, or something streamed: a call refused before it (429, no
            # headers, a killed retry wait) never reached the model and costs nothing.
            reached_model = stream.accepted or bool(text) or bool(stream.tool_calls)
        if usage is not None and not stream.output_counted:
            # The provider counted the input (message_start) but the stream ended before its
            # output count: keep the input, estimate the output from what streamed.
            output_tokens = await asyncio.to_thread(
                self._estimator.count, _output_text(stream), model
            )
            usage = dataclasses.replace(
                usage, output_tokens=max(output_tokens.n, usage.reasoning_tokens)
            )
            estimated = True
        elif usage is None and reached_model:
            # No usage from the provider (killed or cut stream): estimate, and say so.
            usage, _method = await asyncio.to_thread(
                self._estimator.estimate_usage,
                _prompt_parts(turn.request),
                _output_text(stream),
                model,
            )
            estimated = True
        # A call that never reached the model (rejected key, refused connection) spent nothing:
        # it is recorded with no cost at all rather than as "$0 estimated".
        cost: Cost | None = None
        if usage is not None or stream.provider_cost_usd is not None:
            # In a thread: the first price lookup imports the price table (~150 ms).
            cost = await asyncio.to_thread(
                self._prices.cost,
                config.runtime,
                model,
                usage or TokenUsage(),
                provider_cost_usd=stream.provider_cost_usd,
                # Where the call went: a model served locally is priced "local", $0.
                base_url=turn.request.base_url or default_base_url(config.runtime),
            )
        if cost is not None and cost.usd is not None:
            state.cost_usd += cost.usd
        outputs: dict[str, Any] = {"text": text}
        if stream.tool_calls:
            outputs["tool_calls"] = [tool_call_json(c) for c in stream.tool_calls]
        if stream.finish_reason is not None:
            outputs["finish_reason"] = stream.finish_reason
        if outcome != Outcome.SUCCESS.value and text:
            outputs["partial"] = True
        meta = {
            k: v
            for k, v in {
                "response_id": stream.response_id,
                "response_model": stream.response_model,
                "status_code": stream.status_code,
                "base_url": turn.request.base_url,
                "working_dir": turn.request.cwd,
            }.items()
            if v is not None
        }
        return NewAction(
            name=turn.name,
            kind="agent" if turn.name == "call_agent" else "llm",
            outcome=outcome,
            started_at=turn.started_ms,
            ended_at=now_ms(),
            inputs=turn.inputs,
            outputs=outputs,
            usage=usage,
            tokens_estimated=estimated,
            ttft_ns=stream.first_token_ns,
            duration_ns=time.perf_counter_ns() - turn.t0,
            cost_usd=cost.usd if cost else None,
            cost_source=cost.source if cost else None,
            error_class=error[0] if error else None,
            error_message=error[1] if error else None,
            meta=meta or None,
        )

    async def _record_turn(self, state: _RunState, turn: _Turn) -> None:
        """Record a turn that asked for tools (the run goes on)."""
        action = await self._turn_action(state, turn, outcome=Outcome.SUCCESS.value, error=None)
        await asyncio.wrap_future(self._store.append_action(state.run_id, state.run_no, action))
        state.turns_recorded += 1
        state.last_text = turn.stream.text or state.last_text
        state.current = None

    async def _end(self, state: _RunState, *, killed: bool) -> DispatchResult:
        """End the run: its last turn (if one is open) and its status, in one write."""
        turn = state.current
        stream = turn.stream if turn is not None else None
        if killed:
            status, error_class = RunStatus.KILLED, ErrorClass.KILLED
            message = "Killed by the user; the output streamed so far was kept."
        elif state.failure is not None:
            status, error_class = RunStatus.FAILED, state.failure[0]
            message = redact_secrets(state.failure[1], state.secrets)
        elif stream is not None and stream.error_class is not None:
            status, error_class = RunStatus.FAILED, stream.error_class
            message = redact_secrets(stream.error_message or error_class.value, state.secrets)
        else:
            status, error_class, message = RunStatus.COMPLETED, None, None
        action: NewAction | None = None
        if turn is not None:
            turn_failed = status is not RunStatus.COMPLETED
            action = await self._turn_action(
                state,
                turn,
                outcome=Outcome.ERROR.value if turn_failed else Outcome.SUCCESS.value,
                error=(error_class.value, message or "") if turn_failed and error_class else None,
                killed=killed,
            )
        duration_ns = time.perf_counter_ns() - state.t0
        end = RunEnd(
            status=status.value,
            ended_at=now_ms(),
            duration_ns=duration_ns,
            ttft_ns=state.first_token_ns,
            error_class=error_class.value if error_class else None,
            error_message=message,
            model=state.answered_by,
        )
        try:
            await self._waiting_out_locks(
                lambda: self._store.complete_run(state.run_id, state.run_no, action, end),
                f"the end of run {state.run_id}",
            )
        except StoreError as exc:
            # Not written (a full disk, a lock held for minutes): held, and written as it was
            # as soon as the log takes it (retried in the background, and before the next
            # dispatch). Should the process end first, start-up recovery marks the run
            # interrupted with its last checkpoint.
            self._held_endings[state.run_id] = (state.run_no, action, end)
            if not isinstance(exc, DatabaseCorruptError):  # a damaged log takes nothing more
                self._retry_held_endings_later()
            raise type(exc)(
                f"{exc} Run {state.run_id} ended ({status.value}) but its end is not recorded "
                "yet: ATO holds it and writes it as soon as the log takes it while this process "
                "runs; if the process ends first, the next start marks the run interrupted with "
                "the output saved so far."
            ) from exc
        except Exception as exc:
            # The log refused the last step itself (a value it cannot hold): end the run failed
            # without that step rather than leave it "running" until the next start.
            log.exception("run %s: the end of the run could not be recorded", state.run_id)
            status = RunStatus.FAILED
            end = dataclasses.replace(
                end,
                status=status.value,
                error_class=ErrorClass.RECORDING.value,
                error_message=redact_secrets(
                    f"The run's last step could not be recorded ({type(exc).__name__}: {exc}).",
                    state.secrets,
                ),
            )
            await asyncio.wrap_future(
                self._store.complete_run(state.run_id, state.run_no, None, end)
            )
        run = await self._store.read_async(self._store.get_run, state.run_id)
        output = stream.text if stream is not None and stream.text else state.last_text
        source = run.cost_source
        spent = source is not None
        return DispatchResult(
            run_id=state.run_id,
            status=status,
            output=output,
            usage=run.usage if run.action_count and (spent or run.usage.total_tokens) else None,
            tokens_estimated=run.tokens_estimated,
            cost=Cost(run.cost_usd, CostSource(source)) if source is not None else None,
            # The figure the log keeps (the first answer's), so every reader shows the same one.
            ttft_ns=run.ttft_ns,
            duration_ns=duration_ns,
            error_class=error_class,
            error_message=message,
            finish_reason=stream.finish_reason if stream is not None else None,
        )


def _call_inputs(request: RuntimeRequest, runtime: str) -> dict[str, Any]:
    """The call as recorded: enough to replay it faithfully (messages with their tool turns,
    the tools offered, parameters), never the key."""
    inputs: dict[str, Any] = {
        "runtime": runtime,
        "model": request.model,
        "messages": [message_json(m) for m in request.messages],
    }
    if request.system:
        inputs["system"] = request.system
    if request.params:
        inputs["params"] = dict(request.params)
    if request.tools:
        inputs["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": t.input_schema}
            for t in request.tools
        ]
    if request.cwd:
        inputs["working_dir"] = request.cwd
    return inputs


def _base_url(config: AgentConfig) -> str | None:
    """The base URL a call goes to when the agent or the environment names one (an API runtime's
    ANTHROPIC_BASE_URL / OPENAI_BASE_URL), resolved here so the action records where it went;
    None for the runtime's own default address."""
    if config.base_url and config.base_url.strip():
        return config.base_url.strip()
    env_var = base_url_env_var(config.runtime)
    from_env = os.environ.get(env_var, "").strip() if env_var else ""
    return from_env or None


def _prompt_parts(request: RuntimeRequest) -> list[str]:
    """What a call sent, as text to count: the system prompt, each message (tool calls and
    results included) and the tool schemas offered, which the provider counts as input too."""
    parts = [request.system or ""]
    for message in request.messages:
        parts.append(message.content)
        parts.extend(
            json.dumps({"name": c.name, "arguments": c.arguments}, ensure_ascii=False)
            for c in message.tool_calls
        )
    parts.extend(
        json.dumps(
            {"name": t.name, "description": t.description, "input_schema": t.input_schema},
            ensure_ascii=False,
        )
        for t in request.tools
    )
    return parts


def _output_text(stream: _Stream) -> str:
    """What the model produced, as text to count: its answer and the tool calls it made."""
    calls = [
        json.dumps({"name": c.name, "arguments": c.arguments}, ensure_ascii=False)
        for c in stream.tool_calls
    ]
    return "\n".join([stream.text, *calls]) if calls else stream.text


def _step_action(step: AgentStep) -> NewAction:
    """A coding agent's step as an action (files touched in meta, where Pipelines read them)."""
    ended = now_ms()
    duration_ms = (step.duration_ns or 0) // 1_000_000
    meta: dict[str, Any] = {"step_kind": step.kind}
    if step.files_touched:
        meta["files_touched"] = [{"path": f.path, "change": f.change} for f in step.files_touched]
    return NewAction(
        name=step.name,
        kind=step.kind,
        outcome=step.outcome,
        started_at=ended - duration_ms,
        ended_at=ended,
        inputs=step.inputs,
        outputs=step.outputs,
        usage=step.usage,
        duration_ns=step.duration_ns,
        meta=meta,
    )


def _missing_key_message(runtime: str) -> str:
    provider = "anthropic" if runtime == RuntimeName.CLAUDE.value else "openai"
    env = "ANTHROPIC_API_KEY" if provider == "anthropic" else "OPENAI_API_KEY"
    return (
        f"No API key for {provider}. Set one with `ato-desktop keys set {provider}` (it is kept in "
        f"the OS keyring) or export {env}."
    )
