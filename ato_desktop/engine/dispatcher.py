"""The one dispatch path: every prompt, from any trigger, runs through `Dispatcher.dispatch`.

It resolves the target (an agent's current config version, or runtime + model), creates the run,
streams the answer through the runtime adapter, records the call as an action with TTFT, duration,
usage and cost, and ends the run completed, or failed with an error class, or killed. Partial output
is kept in every case.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any

from ato_desktop.core.heavy_imports import import_heavy
from ato_desktop.core.models import (
    AgentConfig,
    ChatMessage,
    Cost,
    ErrorClass,
    EventKind,
    Outcome,
    RunStatus,
    RuntimeEvent,
    RuntimeName,
    RuntimeRequest,
    TokenUsage,
    Trigger,
)
from ato_desktop.core.pricing import PriceBook
from ato_desktop.core.records import AgentRecord, NewAction, NewRun, RunEnd
from ato_desktop.core.redaction import redact_secrets
from ato_desktop.engine.credentials import CredentialStore, known_secrets
from ato_desktop.engine.live_runs import LiveDispatch, LiveRunRegistry
from ato_desktop.engine.token_estimator import TokenEstimator
from ato_desktop.runtimes.base import RuntimeAdapter
from ato_desktop.store.execution_log import ExecutionLog, now_ms

log = logging.getLogger(__name__)

CHECKPOINT_INTERVAL_S = 1.0
_sdks_imported: set[str] = set()
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
    # Explicit history overrides the thread's (replay carries the original conversation).
    history: tuple[ChatMessage, ...] | None = None
    stall_timeout_s: float | None = None
    request_timeout_s: float | None = None


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

    @property
    def text(self) -> str:
        return "".join(self.chunks)


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
        default_stall_timeout_s: float = 60.0,
    ) -> None:
        self._store = store
        self._registry = registry
        self._credentials = credentials
        self._prices = prices
        self._estimator = estimator
        self._adapters = adapter_factory
        self._owner = owner
        self._stall_timeout_s = default_stall_timeout_s

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
        """Run one prompt to the end. Raises DispatchError only when no run could be created."""
        agent, config = await self._resolve_target(request)
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
            if thread_id is not None and request.history is None:
                await asyncio.wrap_future(
                    self._store.add_message(thread_id, "user", request.prompt, run_id=run_id)
                )
            result = await self._run(run_id, run_no, live, config, messages, request, on_text)
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
            await asyncio.wrap_future(
                self._store.add_message(thread_id, "assistant", result.output, run_id=run_id)
            )
        return dataclasses.replace(result, thread_id=thread_id)

    # -- target and conversation ----------------------------------------------------------------

    async def _resolve_target(
        self, request: DispatchRequest
    ) -> tuple[AgentRecord | None, AgentConfig]:
        if request.agent:
            try:
                agent = await self._store.read_async(self._store.get_agent, request.agent)
            except LookupError as exc:
                raise DispatchError(str(exc)) from exc
            except Exception as exc:
                raise DispatchError(str(exc)) from exc
            return agent, agent.config
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

    # -- the call ------------------------------------------------------------------------------

    async def _run(
        self,
        run_id: str,
        run_no: int,
        live: LiveDispatch,
        config: AgentConfig,
        messages: tuple[ChatMessage, ...],
        request: DispatchRequest,
        on_text: Callable[[str], None] | None,
    ) -> DispatchResult:
        adapter = self._adapters(config.runtime)
        key = self._credentials.key_for_runtime(config.runtime)
        runtime_request = RuntimeRequest(
            model=config.model,
            messages=messages,
            system=config.system_prompt,
            params=dict(config.params),
            base_url=config.base_url,
            api_key=key.value if key else None,
            stall_timeout_s=request.stall_timeout_s or self._stall_timeout_s,
            request_timeout_s=request.request_timeout_s or 600.0,
        )
        inputs = _call_inputs(runtime_request, config.runtime)
        action_started = now_ms()
        self._store.begin_action(run_no, "call_llm", "llm", inputs, action_started)
        secrets = [key.value, *known_secrets()] if key else list(known_secrets())

        if adapter.sdk_module not in _sdks_imported:
            await asyncio.to_thread(import_heavy, adapter.sdk_module)
            _sdks_imported.add(adapter.sdk_module)
        stream = _Stream()
        t0 = time.perf_counter_ns()
        if key is None and config.runtime != RuntimeName.OPENAI_COMPATIBLE.value:
            stream.error_class = ErrorClass.AUTH
            stream.error_message = _missing_key_message(config.runtime, self._credentials)
            task: asyncio.Task[object] | None = None
        else:
            task = asyncio.create_task(
                self._consume(adapter, runtime_request, stream, live, run_id, run_no, on_text, t0)
            )
            self._registry.attach_task(run_id, task)
        killed = shutting_down = False
        if task is not None:
            try:
                await task
            except asyncio.CancelledError:
                killed = True
                current = asyncio.current_task()
                # Cancelled from outside (shutdown) rather than killed: record, then propagate.
                shutting_down = current is not None and current.cancelling() > 0
        result = await self._finish(
            run_id,
            run_no,
            config,
            runtime_request,
            inputs,
            stream,
            t0,
            action_started,
            secrets,
            killed=killed or live.kill_requested,
        )
        if shutting_down:
            raise asyncio.CancelledError
        return result

    async def _consume(
        self,
        adapter: RuntimeAdapter,
        request: RuntimeRequest,
        stream: _Stream,
        live: LiveDispatch,
        run_id: str,
        run_no: int,
        on_text: Callable[[str], None] | None,
        t0: int,
    ) -> None:
        checkpoints = asyncio.create_task(self._checkpoint_loop(run_id, run_no, stream))
        try:
            # aclosing: a kill closes the generator, and so the HTTP stream, at once, not at GC.
            async with contextlib.aclosing(adapter.stream(request)) as events:
                await self._drain(events, stream, live, on_text, t0)
        finally:
            checkpoints.cancel()

    async def _checkpoint_loop(self, run_id: str, run_no: int, stream: _Stream) -> None:
        """Save the output streamed so far about once a second, so a crash loses at most that.

        A timer rather than "on the next chunk": a stream that stalls sends no next chunk.
        """
        saved = 0
        while True:
            await asyncio.sleep(CHECKPOINT_INTERVAL_S)
            if len(stream.chunks) != saved:
                saved = len(stream.chunks)
                self._store.checkpoint_run(run_id, run_no, stream.text, stream.last_event_ms)

    async def _drain(
        self,
        events: AsyncGenerator[RuntimeEvent, None],
        stream: _Stream,
        live: LiveDispatch,
        on_text: Callable[[str], None] | None,
        t0: int,
    ) -> None:
        async for event in events:
            if event.kind is EventKind.TEXT:
                if stream.first_token_ns is None:
                    stream.first_token_ns = time.perf_counter_ns() - t0
                stream.chunks.append(event.text)
                stream.last_event_ms = now_ms()
                live.note_event(len(event.text))
                if on_text is not None:
                    on_text(event.text)
            elif event.kind is EventKind.USAGE:
                stream.usage = event.usage
                stream.provider_cost_usd = event.provider_cost_usd
                live.note_event()
            elif event.kind is EventKind.FINISH:
                stream.finish_reason = event.finish_reason
                stream.response_id = event.response_id
                stream.response_model = event.response_model
            elif event.kind is EventKind.ERROR:
                stream.error_class = event.error_class or ErrorClass.SERVER_ERROR
                stream.error_message = event.message
                stream.status_code = event.status_code

    async def _finish(
        self,
        run_id: str,
        run_no: int,
        config: AgentConfig,
        runtime_request: RuntimeRequest,
        inputs: dict[str, Any],
        stream: _Stream,
        t0: int,
        action_started: int,
        secrets: list[str],
        *,
        killed: bool,
    ) -> DispatchResult:
        duration_ns = time.perf_counter_ns() - t0
        ended = now_ms()
        text = stream.text
        if killed:
            status, error_class = RunStatus.KILLED, ErrorClass.KILLED
            message = "Killed by the user; the output streamed so far was kept."
        elif stream.error_class is not None:
            status, error_class = RunStatus.FAILED, stream.error_class
            message = redact_secrets(stream.error_message or error_class.value, secrets)
        else:
            status, error_class, message = RunStatus.COMPLETED, None, None

        usage, estimated = stream.usage, False
        reached_model = bool(text) or stream.usage is not None or status is RunStatus.KILLED
        if usage is None and reached_model:
            # No usage from the provider (killed or cut stream): estimate, and say so.
            prompt_parts = [runtime_request.system or ""] + [
                m.content for m in runtime_request.messages
            ]
            usage, _method = await asyncio.to_thread(
                self._estimator.estimate_usage, prompt_parts, text, config.model
            )
            estimated = True
        # A call that never reached the model (rejected key, refused connection) spent nothing:
        # it is recorded with no cost at all rather than as "$0 estimated".
        cost: Cost | None = None
        if usage is not None:
            # In a thread: the first price lookup imports the price table (~150 ms).
            cost = await asyncio.to_thread(
                self._prices.cost,
                config.runtime,
                config.model,
                usage,
                provider_cost_usd=stream.provider_cost_usd,
            )

        outputs: dict[str, Any] = {"text": text}
        if stream.finish_reason is not None:
            outputs["finish_reason"] = stream.finish_reason
        if status is not RunStatus.COMPLETED and text:
            outputs["partial"] = True
        meta = {
            k: v
            for k, v in {
                "response_id": stream.response_id,
                "response_model": stream.response_model,
                "status_code": stream.status_code,
                "base_url": runtime_request.base_url,
            }.items()
            if v is not None
        }
        action = NewAction(
            name="call_llm",
            kind="llm",
            outcome=Outcome.SUCCESS.value if status is RunStatus.COMPLETED else Outcome.ERROR.value,
            started_at=action_started,
            ended_at=ended,
            inputs=inputs,
            outputs=outputs,
            usage=usage,
            tokens_estimated=estimated,
            ttft_ns=stream.first_token_ns,
            duration_ns=duration_ns,
            cost_usd=cost.usd if cost else None,
            cost_source=cost.source if cost else None,
            error_class=error_class.value if error_class else None,
            error_message=message,
            meta=meta or None,
        )
        end = RunEnd(
            status=status.value,
            ended_at=ended,
            duration_ns=duration_ns,
            ttft_ns=stream.first_token_ns,
            error_class=error_class.value if error_class else None,
            error_message=message,
        )
        await asyncio.wrap_future(self._store.complete_run(run_id, run_no, action, end))
        return DispatchResult(
            run_id=run_id,
            status=status,
            output=text,
            usage=usage,
            tokens_estimated=estimated,
            cost=cost,
            ttft_ns=stream.first_token_ns,
            duration_ns=duration_ns,
            error_class=error_class,
            error_message=message,
            finish_reason=stream.finish_reason,
        )


def _call_inputs(request: RuntimeRequest, runtime: str) -> dict[str, Any]:
    """The call as recorded: enough to replay it faithfully, never the key."""
    inputs: dict[str, Any] = {
        "runtime": runtime,
        "model": request.model,
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
    }
    if request.system:
        inputs["system"] = request.system
    if request.params:
        inputs["params"] = dict(request.params)
    return inputs


def _missing_key_message(runtime: str, credentials: CredentialStore) -> str:
    provider = "anthropic" if runtime == RuntimeName.CLAUDE.value else "openai"
    env = "ANTHROPIC_API_KEY" if provider == "anthropic" else "OPENAI_API_KEY"
    return (
        f"No API key for {provider}. Set one with `ato-desktop keys set {provider}` (it is kept in "
        f"the OS keyring) or export {env}."
    )
