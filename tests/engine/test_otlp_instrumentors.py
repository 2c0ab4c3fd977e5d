"""What instrumented agents really send: the OpenInference and OpenLLMetry instrumentors of the
official SDKs, against the loopback fakes, exporting through the OpenTelemetry SDK's OTLP
exporter to the receiver. Each run is read whole (model, conversation with its system prompt,
answer, tokens, cost) and replays on another runtime; LiteLLM's own spans (built from the
attributes its OpenTelemetry callback sets) are model calls at LiteLLM's stated cost."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from ato_desktop.core.records import RunFilter
from ato_desktop.engine.otlp_receiver import OtlpReceiver
from ato_desktop.engine.replay import ReplayTarget, ReplayUnavailable, load_source, replay
from ato_desktop.engine.workspace import Workspace
from tests.fakes import FakeLLMServer, FakeToolCall, Scenario, UsageSpec

FIXTURES = Path(__file__).parent / "fixtures"


def _instrumentor(family: str, sdk: str) -> Any:
    if family == "openinference" and sdk == "openai":
        from openinference.instrumentation.openai import OpenAIInstrumentor

        return OpenAIInstrumentor()
    if family == "openinference":
        from openinference.instrumentation.anthropic import AnthropicInstrumentor

        return AnthropicInstrumentor()
    if sdk == "openai":
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor as OpenLLMetryOpenAI

        return OpenLLMetryOpenAI()
    from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor as OpenLLMetryClaude

    return OpenLLMetryClaude()


def _unwrap_sdk_methods() -> None:
    """Take off whatever wrapt wrappers are left on the official SDKs' resource classes."""
    import inspect
    import sys

    for name, module in list(sys.modules.items()):
        if not name.startswith(("openai.resources", "anthropic.resources")):
            continue
        for cls in list(vars(module).values()):
            if not (inspect.isclass(cls) and cls.__module__ == name):
                continue
            for attr, value in list(vars(cls).items()):
                # by the name: the instrumentors' wrapt and ours may be two builds of it
                while "FunctionWrapper" in type(value).__name__:
                    value = value.__wrapped__
                    setattr(cls, attr, value)


def _call_instrumented(
    family: str, sdk: str, receiver: OtlpReceiver, fake: FakeLLMServer, call: Callable[[], Any]
) -> None:
    """Run call() with the family's instrumentor exporting to the receiver, then remove it.

    OpenLLMetry's OpenAI instrumentor leaves its wrappers on the SDK's classes after
    uninstrument() (opentelemetry-instrumentation-openai: chat, responses, beta, images), so
    every later test's OpenAI client would report to this provider and go through its stream
    wrapper: what is left wrapped is unwrapped (a BoundFunctionWrapper of another wrapt build
    than the one opentelemetry's unwrap() checks for)."""
    provider = TracerProvider(resource=Resource.create({"service.name": f"{family}-agent"}))
    provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{receiver.url}/v1/traces", timeout=10))
    )
    instrumentor = _instrumentor(family, sdk)
    instrumentor.instrument(tracer_provider=provider)
    try:
        call()
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
        _unwrap_sdk_methods()


def _chat(sdk: str, fake: FakeLLMServer) -> Callable[[], Any]:
    def openai_call() -> Any:
        import openai

        client = openai.OpenAI(base_url=fake.openai_base_url, api_key="sk-test-not-a-key")
        return client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {"role": "system", "content": "Be terse."},
                {"role": "user", "content": "Say hello"},
            ],
            max_tokens=50,
        )

    def anthropic_call() -> Any:
        import anthropic

        client = anthropic.Anthropic(base_url=fake.anthropic_base_url, api_key="sk-test-not-a-key")
        return client.messages.create(
            model="claude-haiku-4-5",
            system="Be terse.",
            messages=[{"role": "user", "content": "Say hello"}],
            max_tokens=50,
        )

    return openai_call if sdk == "openai" else anthropic_call


FAMILIES = [
    ("openinference", "openai"),
    ("openinference", "anthropic"),
    ("openllmetry", "openai"),
    ("openllmetry", "anthropic"),
]


@pytest.mark.parametrize(("family", "sdk"), FAMILIES)
def test_instrumented_calls_are_read_whole_and_replay_on_another_runtime(
    workspace: Workspace, receiver: OtlpReceiver, fake: FakeLLMServer, family: str, sdk: str
) -> None:
    fake.scenario = Scenario(chunks=("Hel", "lo"), usage=UsageSpec(100, 0, 0, 7, 0))
    _call_instrumented(family, sdk, receiver, fake, _chat(sdk, fake))

    runs = workspace.store.list_runs(RunFilter(trigger="external"))
    assert len(runs) == 1
    run = runs[0]
    model = "gpt-4o-mini" if sdk == "openai" else "claude-haiku-4-5"
    assert run.model == model
    assert run.runtime == ("codex" if sdk == "openai" else "claude")
    assert (run.usage.input_tokens, run.usage.output_tokens) == (100, 7)
    assert run.cost_usd is not None and run.cost_usd > 0 and run.cost_source == "estimated"
    (call,) = [a for a in workspace.store.get_actions(run.id) if a.name == "call_llm"]
    assert call.inputs["model"] == model
    assert call.inputs["system"] == "Be terse."
    assert call.inputs["messages"] == [{"role": "user", "content": "Say hello"}]
    assert call.outputs["text"] == "Hello"
    # Read as the conversation, not kept twice as loose attributes.
    loose = (call.meta or {}).get("otel.attributes", {})
    assert not any(k.startswith(("llm.input_messages", "gen_ai.input")) for k in loose)

    # Replay on the other runtime: the recorded system prompt and conversation are sent.
    target = (
        ReplayTarget(runtime="claude", model="claude-sonnet-4-5", base_url=fake.anthropic_base_url)
        if sdk == "openai"
        else ReplayTarget(runtime="codex", model="gpt-4o-mini", base_url=fake.openai_base_url)
    )
    fake.scenario = Scenario(chunks=("Hi",))
    result = asyncio.run(_replay(workspace, run.id, target))
    assert result.dispatch.status == "completed"
    sent = json.dumps(fake.requests[-1].body)
    assert "Be terse." in sent and "Say hello" in sent
    assert workspace.store.get_run(result.dispatch.run_id).replay_of == run.id


async def _replay(workspace: Workspace, run_id: str, target: ReplayTarget) -> Any:
    try:
        return await replay(workspace, run_id, target)
    finally:
        await workspace.live.aclose()


def test_openinference_tool_calls_and_tools_become_the_conversation(
    workspace: Workspace, receiver: OtlpReceiver, fake: FakeLLMServer
) -> None:
    fake.scenario = Scenario(
        tool_calls=(FakeToolCall("add", {"a": 1, "b": 2}),), usage=UsageSpec(100, 0, 0, 7, 0)
    )

    def call() -> None:
        import openai

        client = openai.OpenAI(base_url=fake.openai_base_url, api_key="sk-test-not-a-key")
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {"role": "user", "content": "add"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c0",
                            "type": "function",
                            "function": {"name": "add", "arguments": '{"a":1}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "c0", "content": "3"},
            ],
            tools=[
                {
                    "type": "function",
                    "function": {
                        "name": "add",
                        "description": "adds",
                        "parameters": {"type": "object", "properties": {"a": {"type": "number"}}},
                    },
                }
            ],
        )

    _call_instrumented("openinference", "openai", receiver, fake, call)
    (run,) = workspace.store.list_runs(RunFilter(trigger="external"))
    (action,) = workspace.store.get_actions(run.id)
    assert action.inputs["messages"] == [
        {"role": "user", "content": "add"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"id": "c0", "name": "add", "arguments": {"a": 1}}],
        },
        {"role": "tool", "content": "3", "tool_call_id": "c0"},
    ]
    assert action.inputs["tools"][0]["name"] == "add"
    assert action.outputs["tool_calls"][0]["name"] == "add"
    assert action.outputs["tool_calls"][0]["arguments"] == {"a": 1, "b": 2}
    source = load_source(workspace, run.id)
    assert [m.role for m in source.messages] == ["user", "assistant", "tool"]
    assert source.tools[0].name == "add"


def test_a_run_without_recorded_content_says_what_is_missing(
    workspace: Workspace,
    receiver: OtlpReceiver,
    fake: FakeLLMServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRACELOOP_TRACE_CONTENT", "false")
    fake.scenario = Scenario(chunks=("Hello",), usage=UsageSpec(100, 0, 0, 7, 0))
    _call_instrumented("openllmetry", "openai", receiver, fake, _chat("openai", fake))
    (run,) = workspace.store.list_runs(RunFilter(trigger="external"))
    with pytest.raises(ReplayUnavailable) as caught:
        load_source(workspace, run.id)
    message = str(caught.value)
    assert "OTLP receiver" in message and "TRACELOOP_TRACE_CONTENT" in message
    assert "retention" not in message


def _fixture_request(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def test_litellm_spans_are_model_calls_at_litellms_cost(
    workspace: Workspace, receiver: OtlpReceiver
) -> None:
    payload = _fixture_request("litellm_spans.json")
    response = httpx2.post(f"{receiver.url}/v1/traces", json=payload, timeout=10)
    assert response.status_code == 200
    runs = workspace.store.list_runs(RunFilter())
    assert len(runs) == 2
    for run in runs:
        calls = [a for a in workspace.store.get_actions(run.id) if a.name == "call_llm"]
        assert len(calls) == 1, run.id
        call = calls[0]
        stated = next(
            kv["value"]["doubleValue"]
            for span in payload["resourceSpans"][0]["scopeSpans"][0]["spans"]
            if span["traceId"] == run.id
            for kv in span["attributes"]
            if kv["key"] == "gen_ai.cost.total_cost"
        )
        assert call.cost_usd == pytest.approx(stated) and call.cost_source == "provider"
        assert run.cost_usd == pytest.approx(stated) and run.cost_source == "provider"
        assert call.inputs["system"] == "You are a careful assistant."
        assert call.inputs["messages"][0] == {"role": "user", "content": "What is 2 + 2?"}
        assert call.outputs["text"] == "4" and call.outputs["finish_reason"] == "stop"
        assert run.model == call.inputs["model"] != "unknown"
