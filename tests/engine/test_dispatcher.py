"""The one dispatch path, end to end: official SDKs -> loopback wire fakes -> a real log."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from ato_desktop.core.events import ActionCreated, DomainEvent, RunCompleted, RunCreated, RunFailed
from ato_desktop.core.models import AgentConfig, ErrorClass, RunStatus, Trigger
from ato_desktop.core.records import RunFilter
from ato_desktop.engine.dispatcher import DispatchError, DispatchRequest, DispatchResult
from ato_desktop.engine.export import export_runs
from ato_desktop.engine.workspace import Workspace
from ato_desktop.runtimes import tls
from tests.fakes import FakeLLMServer, Scenario, UsageSpec
from tests.support.builders import base_url
from tests.support.provider_keys import ANTHROPIC_KEY, COMPATIBLE_KEY, OPENAI_KEY

RUNTIMES = {
    # runtime -> (model known to the price table, path at the fake)
    "claude": ("claude-sonnet-5", "/v1/messages"),
    "codex": ("gpt-5", "/v1/responses"),
    "openai-compatible": ("gpt-4o-mini", "/v1/chat/completions"),
}


def _dispatch(
    ws: Workspace, request: DispatchRequest, chunks: list[str] | None = None
) -> DispatchResult:
    async def go() -> DispatchResult:
        try:
            return await ws.dispatcher.dispatch(
                request, on_text=chunks.append if chunks is not None else None
            )
        finally:
            await ws.live.aclose()

    return asyncio.run(go())


def _agent(ws: Workspace, fake: FakeLLMServer, runtime: str, name: str = "agent") -> str:
    model, _ = RUNTIMES[runtime]
    config = AgentConfig(
        runtime, model, system_prompt="Be brief.", base_url=base_url(fake, runtime)
    )
    ws.agents.create(name, config)
    return name


@pytest.mark.parametrize("runtime", list(RUNTIMES))
def test_dispatch_streams_and_records_tokens_cost_ttft(
    workspace: Workspace, fake: FakeLLMServer, runtime: str
) -> None:
    fake.scenario = Scenario(
        chunks=("The ", "answer ", "is ", "4."),
        usage=UsageSpec(
            uncached_input_tokens=20, cache_read_tokens=100, cache_write_tokens=30, output_tokens=7
        ),
    )
    events: list[DomainEvent] = []
    workspace.bus.subscribe(events.append)
    chunks: list[str] = []
    name = _agent(workspace, fake, runtime)
    result = _dispatch(
        workspace, DispatchRequest("What is 2+2?", agent=name, new_thread=True), chunks
    )

    assert result.status is RunStatus.COMPLETED
    assert chunks == ["The ", "answer ", "is ", "4."]  # streamed chunk by chunk
    assert result.output == "The answer is 4."
    request = fake.last_request
    assert request.path == RUNTIMES[runtime][1]
    assert (
        request.api_key
        == {"claude": ANTHROPIC_KEY, "codex": OPENAI_KEY, "openai-compatible": COMPATIBLE_KEY}[
            runtime
        ]
    )

    run = workspace.store.get_run(result.run_id)
    assert run.status == "completed" and run.trigger == "cli"
    # Normalised: input includes the cache parts whatever the provider's convention.
    assert (
        run.usage.input_tokens,
        run.usage.cache_read_tokens,
        run.usage.cache_write_tokens,
        run.usage.output_tokens,
    ) == (150, 100, 30, 7)
    assert not run.tokens_estimated
    model = RUNTIMES[runtime][0]
    if runtime == "openai-compatible":
        # The fake listens on 127.0.0.1: a model served locally is "local", $0 (issue 16.4).
        assert (run.cost_source, run.cost_usd) == ("local", 0.0)
    else:
        assert run.cost_source == "estimated" and run.cost_usd is not None and run.cost_usd > 0
    expected = workspace.prices.cost(runtime, model, run.usage, base_url=base_url(fake, runtime))
    assert run.cost_usd == pytest.approx(expected.usd)
    assert run.ttft_ns is not None and 0 < run.ttft_ns <= run.duration_ns
    (action,) = workspace.store.get_actions(run.id)
    assert action.name == "call_llm" and action.outcome == "success"
    assert action.inputs["system"] == "Be brief."
    assert action.inputs["messages"] == [{"role": "user", "content": "What is 2+2?"}]
    assert action.outputs["text"] == "The answer is 4."
    lifecycle = (RunCreated, ActionCreated, RunCompleted)
    assert [type(e) for e in events if isinstance(e, lifecycle)] == list(lifecycle)
    thread = workspace.store.thread_messages(run.thread_id or "")
    assert [(m.role, m.content) for m in thread] == [
        ("user", "What is 2+2?"),
        ("assistant", "The answer is 4."),
    ]


def test_thread_history_is_sent_on_the_next_turn(workspace: Workspace, fake: FakeLLMServer) -> None:
    name = _agent(workspace, fake, "claude")
    first = _dispatch(workspace, DispatchRequest("Hi", agent=name, new_thread=True))
    fake.scenario = Scenario(chunks=("Second",))
    _dispatch(workspace, DispatchRequest("And again?", agent=name, thread_id=first.thread_id))
    sent = fake.last_request.body["messages"]
    assert [(m["role"], _text(m["content"])) for m in sent] == [
        ("user", "Hi"),
        ("assistant", "Hello, world!"),
        ("user", "And again?"),
    ]


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    assert isinstance(content, list)
    return "".join(part["text"] for part in content)


def test_unknown_model_costs_unknown_never_zero(workspace: Workspace, fake: FakeLLMServer) -> None:
    # On codex: an openai-compatible server at the fake's loopback address would be "local".
    workspace.agents.create(
        "proxied", AgentConfig("codex", "my-finetune-7b", base_url=fake.openai_base_url)
    )
    result = _dispatch(workspace, DispatchRequest("hi", agent="proxied"))
    run = workspace.store.get_run(result.run_id)
    assert run.status == "completed"
    assert run.cost_source == "unknown" and run.cost_usd is None
    assert result.cost is not None and result.cost.usd is None


def test_provider_stated_cost_wins(workspace: Workspace, fake: FakeLLMServer) -> None:
    fake.scenario = Scenario(provider_cost_usd="0.014200")  # OpenRouter sends a string
    workspace.agents.create(
        "router", AgentConfig("openai-compatible", "my-finetune-7b", base_url=fake.openai_base_url)
    )
    run = workspace.store.get_run(
        _dispatch(workspace, DispatchRequest("hi", agent="router")).run_id
    )
    assert (run.cost_usd, run.cost_source) == (pytest.approx(0.0142), "provider")


@pytest.mark.parametrize("runtime", list(RUNTIMES))
def test_rejected_key_fails_as_auth_with_instructions(
    workspace: Workspace, fake: FakeLLMServer, runtime: str
) -> None:
    fake.scenario = Scenario(status=401, echo_key_in_error=True)
    name = _agent(workspace, fake, runtime)
    result = _dispatch(workspace, DispatchRequest("hi", agent=name))
    assert result.status is RunStatus.FAILED and result.error_class is ErrorClass.AUTH
    assert "ato-desktop keys set" in (result.error_message or "")
    run = workspace.store.get_run(result.run_id)
    assert run.error_class == "auth"
    for key in (ANTHROPIC_KEY, OPENAI_KEY, COMPATIBLE_KEY):
        assert key not in (run.error_message or "")


def test_missing_key_fails_before_any_request(
    workspace: Workspace, fake: FakeLLMServer, memory_keyring: object
) -> None:
    workspace.credentials.delete_key("anthropic")
    name = _agent(workspace, fake, "claude")
    result = _dispatch(workspace, DispatchRequest("hi", agent=name))
    assert result.error_class is ErrorClass.AUTH
    assert "ato-desktop keys set anthropic" in (result.error_message or "")
    assert fake.requests == []
    assert result.cost is None  # nothing reached the model: no cost, not "$0 estimated"


@pytest.mark.parametrize(
    ("scenario", "error_class"),
    [
        (Scenario(status=429, retry_after="0"), ErrorClass.RATE_LIMIT),
        (Scenario(status=500), ErrorClass.SERVER_ERROR),
        (Scenario(status=529), ErrorClass.SERVER_ERROR),
        (Scenario(status=400), ErrorClass.BAD_REQUEST),
    ],
)
def test_http_errors_get_their_class(
    workspace: Workspace, fake: FakeLLMServer, scenario: Scenario, error_class: ErrorClass
) -> None:
    fake.scenario = scenario
    name = _agent(workspace, fake, "claude")
    result = _dispatch(workspace, DispatchRequest("hi", agent=name))
    assert (result.status, result.error_class) == (RunStatus.FAILED, error_class)
    assert workspace.store.get_run(result.run_id).error_class == error_class.value


def test_cut_stream_keeps_partial_output(workspace: Workspace, fake: FakeLLMServer) -> None:
    fake.scenario = Scenario(chunks=("one ", "two ", "three"), cut_after=2)
    name = _agent(workspace, fake, "codex")
    result = _dispatch(workspace, DispatchRequest("count", agent=name))
    assert result.error_class is ErrorClass.STREAM_INTERRUPTED
    (action,) = workspace.store.get_actions(result.run_id)
    assert action.outputs == {"text": "one two ", "partial": True}
    assert action.tokens_estimated  # no usage arrived: estimated, and marked so
    assert action.cost_source == "estimated"


def test_stalled_stream_fails_as_stalled(workspace: Workspace, fake: FakeLLMServer) -> None:
    fake.scenario = Scenario(chunks=("a", "b", "c"), stall_after=1)
    name = _agent(workspace, fake, "openai-compatible")
    started = time.monotonic()
    result = _dispatch(workspace, DispatchRequest("x", agent=name, stall_timeout_s=0.5))
    assert time.monotonic() - started < 5
    assert result.error_class is ErrorClass.STALLED
    assert result.output == "a"
    assert fake.last_request.disconnected.wait(2)


@pytest.mark.parametrize("runtime", list(RUNTIMES))
def test_kill_mid_stream_keeps_partial_output_and_closes_the_stream(
    workspace: Workspace, fake: FakeLLMServer, runtime: str
) -> None:
    fake.scenario = Scenario(chunks=("first ", "second ", "third"), stall_after=2)
    name = _agent(workspace, fake, runtime)
    killed_after: list[float] = []

    async def go() -> DispatchResult:
        loop = asyncio.get_running_loop()
        chunks: list[str] = []
        both_arrived = asyncio.Event()

        def on_text(text: str) -> None:
            chunks.append(text)
            if len(chunks) == 2:
                both_arrived.set()

        task = loop.create_task(
            workspace.dispatcher.dispatch(DispatchRequest("go", agent=name), on_text=on_text)
        )
        await asyncio.wait_for(both_arrived.wait(), 5)  # the stream now hangs after two chunks
        (run_id,) = workspace.live.run_ids
        t0 = time.monotonic()
        assert workspace.live.kill([run_id]) == [run_id]
        result = await task
        killed_after.append(time.monotonic() - t0)
        await workspace.live.aclose()
        return result

    result = asyncio.run(go())
    assert result.status is RunStatus.KILLED and killed_after[0] < 1.0
    assert result.output == "first second "
    run = workspace.store.get_run(result.run_id)
    assert (run.status, run.error_class) == ("killed", "killed")
    (action,) = workspace.store.get_actions(run.id)
    assert action.outputs["text"] == "first second " and action.outputs["partial"] is True
    assert action.tokens_estimated and run.usage.output_tokens > 0
    assert fake.last_request.disconnected.wait(2)  # nothing left streaming
    assert len(workspace.live) == 0


def test_agent_edit_creates_a_version_the_next_run_points_at(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    name = _agent(workspace, fake, "claude")
    first = workspace.store.get_run(_dispatch(workspace, DispatchRequest("a", agent=name)).run_id)
    agent, changed = workspace.agents.edit(name, {"system_prompt": "Be thorough."})
    assert changed and agent.current_version == 2
    second = workspace.store.get_run(_dispatch(workspace, DispatchRequest("b", agent=name)).run_id)
    assert (first.agent_version, second.agent_version) == (1, 2)
    assert second.agent_version_id == agent.current_version_id
    assert fake.last_request.body["system"] in (
        "Be thorough.",
        [{"type": "text", "text": "Be thorough."}],
    )
    history = workspace.store.agent_history(agent.id)
    assert [v.run_count for v in history] == [1, 1]


def test_no_agent_path(workspace: Workspace, fake: FakeLLMServer) -> None:
    result = _dispatch(
        workspace,
        DispatchRequest(
            "hi",
            runtime="codex",
            model="gpt-5",
            base_url=fake.openai_base_url,
            trigger=Trigger.UI,
            params={"temperature": 0.3},
        ),
    )
    run = workspace.store.get_run(result.run_id)
    assert (run.agent_id, run.runtime, run.model, run.trigger) == (None, "codex", "gpt-5", "ui")
    assert fake.last_request.body.get("temperature") == 0.3


def test_bad_targets_are_refused_before_a_run_exists(workspace: Workspace) -> None:
    for request in (
        DispatchRequest("hi", agent="ghost"),
        DispatchRequest("hi", runtime="gemini", model="x"),
        DispatchRequest("hi"),
    ):
        with pytest.raises(DispatchError):
            _dispatch(workspace, request)
    assert workspace.store.count_runs(RunFilter()) == 0


def test_failed_events_reach_the_bus(workspace: Workspace, fake: FakeLLMServer) -> None:
    fake.scenario = Scenario(status=500)
    events: list[DomainEvent] = []
    workspace.bus.subscribe(events.append)
    result = _dispatch(workspace, DispatchRequest("x", agent=_agent(workspace, fake, "claude")))
    failed = [e for e in events if isinstance(e, RunFailed)]
    assert failed == [RunFailed(result.run_id, failed[0].agent_id, "failed", "server_error")]


def test_no_key_anywhere_in_what_ato_writes(
    workspace: Workspace, fake: FakeLLMServer, ato_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A planted key never reaches the database, its WAL, exports or logs."""
    import logging

    caplog.set_level(logging.DEBUG)
    fake.enqueue(Scenario(status=401, echo_key_in_error=True))
    for runtime in RUNTIMES:
        _dispatch(workspace, DispatchRequest("hi", agent=_agent(workspace, fake, runtime, runtime)))
    for fmt in ("csv", "json", "jsonl"):
        export_runs(workspace.store, RunFilter(), fmt, ato_home / f"export.{fmt}")
    workspace.close()
    written = b"".join(p.read_bytes() for p in ato_home.rglob("*") if p.is_file())
    written += caplog.text.encode()
    for key in (ANTHROPIC_KEY, OPENAI_KEY, COMPATIBLE_KEY):
        assert key.encode() not in written
        assert key[-16:].encode() not in written


@pytest.mark.parametrize("runtime", list(RUNTIMES))
def test_a_lone_surrogate_in_the_answer_is_kept_as_a_replacement_character(
    workspace: Workspace, fake: FakeLLMServer, runtime: str
) -> None:
    # JSON's "\ud800" escape decodes to a lone surrogate, which UTF-8 (and SQLite) cannot hold.
    name = _agent(workspace, fake, runtime)
    fake.scenario = Scenario(chunks=("half \ud800 of a pair",))
    result = _dispatch(workspace, DispatchRequest("hi", agent=name))
    assert result.status is RunStatus.COMPLETED
    assert result.output == "half \ufffd of a pair"
    (action,) = workspace.store.get_actions(result.run_id)
    assert "half \ufffd of a pair" in str(action.outputs)


def test_a_last_step_the_log_refuses_ends_the_run_failed_not_running(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    name = _agent(workspace, fake, "claude")
    conn = sqlite3.connect(workspace.paths.database)
    conn.execute(
        "CREATE TRIGGER refuse_llm_calls BEFORE INSERT ON actions WHEN new.name = 'call_llm' "
        "BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END"
    )
    conn.commit()
    conn.close()
    result = _dispatch(workspace, DispatchRequest("hi", agent=name))
    assert result.status is RunStatus.FAILED
    run = workspace.store.get_run(result.run_id)
    assert run.status == "failed" and run.error_class == ErrorClass.RECORDING.value
    assert "could not be recorded" in (run.error_message or "")
    assert "refused by a test trigger" in (run.error_message or "")


def test_dispatches_share_one_tls_context_per_process(
    workspace: Workspace, fake: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each SDK client used to build its own (the CA bundle parsed on the UI thread, per dispatch).
    import httpcore2

    made: list[object] = []
    real = httpcore2.default_ssl_context

    def counted(*args: object, **kwargs: object) -> object:
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(httpcore2, "default_ssl_context", counted)
    monkeypatch.setattr(tls, "_context", None)
    for runtime in RUNTIMES:
        name = _agent(workspace, fake, runtime, name=f"agent-{runtime}")
        for _ in range(2):
            result = _dispatch(workspace, DispatchRequest("hi", agent=name))
            assert result.status is RunStatus.COMPLETED
    assert len(made) == 1 and tls.shared_ssl_context() is made[0]
