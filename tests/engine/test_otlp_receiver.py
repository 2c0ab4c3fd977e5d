"""The local OTLP receiver, fed by the real OpenTelemetry SDK and by hand-made payloads."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx2
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

from ato_desktop.core.records import RunFilter
from ato_desktop.engine.otlp_receiver import OtlpReceiver
from ato_desktop.engine.workspace import Workspace


@pytest.fixture
def receiver(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[OtlpReceiver]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    rx = OtlpReceiver(workspace, port=0)
    rx.start()
    yield rx
    rx.close()


def test_sdk_genai_spans_become_runs(workspace: Workspace, receiver: OtlpReceiver) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "my-agent"}))
    exporter = OTLPSpanExporter(endpoint=f"{receiver.url}/v1/traces", timeout=5)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("invoke_agent planner") as root:
        root.set_attribute("gen_ai.operation.name", "invoke_agent")
        root.set_attribute("gen_ai.agent.name", "planner")
        with tracer.start_as_current_span("chat claude-sonnet-4-5") as span:
            span.set_attribute("gen_ai.operation.name", "chat")
            span.set_attribute("gen_ai.provider.name", "anthropic")
            span.set_attribute("gen_ai.request.model", "claude-sonnet-4-5")
            span.set_attribute("gen_ai.usage.input_tokens", 1000)
            span.set_attribute("gen_ai.usage.output_tokens", 200)
            span.set_attribute("gen_ai.usage.cache_read.input_tokens", 800)
            span.set_attribute("gen_ai.response.finish_reasons", ["end_turn"])
            span.set_attribute(
                "gen_ai.output.messages",
                json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": "hi"}]}]),
            )
            span.set_attribute("acme.custom", "kept")
        with tracer.start_as_current_span("execute_tool search") as tool:
            tool.set_attribute("gen_ai.operation.name", "execute_tool")
            tool.set_attribute("gen_ai.tool.name", "search")
            tool.set_status(Status(StatusCode.ERROR, "no results"))
    provider.shutdown()

    runs = workspace.store.list_runs(RunFilter(trigger="external"))
    assert len(runs) == 1
    run = runs[0]
    trace_hex = format(root.get_span_context().trace_id, "032x")
    assert run.id == trace_hex
    assert run.trigger == "external" and run.runtime == "claude"
    assert run.model == "claude-sonnet-4-5"
    assert run.usage.input_tokens == 1000 and run.usage.output_tokens == 200
    assert run.usage.cache_read_tokens == 800
    assert run.cost_usd is not None and run.cost_usd > 0 and run.cost_source == "estimated"
    assert run.tags["service"] == "my-agent" and run.tags["agent"] == "planner"
    actions = workspace.store.get_actions(run.id)
    # The SDK exports each span as it ends (children first, then their parent, each in an
    # export of its own); actions are in start order all the same, linked to their parent.
    assert [a.name for a in actions] == ["invoke_agent planner", "call_llm", "search"]
    llm, tool_action = actions[1], actions[2]
    assert llm.parent_seq == 1 and tool_action.parent_seq == 1
    assert llm.outputs["text"] == "hi" and llm.outputs["finish_reason"] == "end_turn"
    assert llm.meta is not None and llm.meta["otel.attributes"] == {"acme.custom": "kept"}
    assert tool_action.kind == "tool" and tool_action.outcome == "error"
    assert tool_action.error_message == "no results"


def test_openinference_json_export(workspace: Workspace, receiver: OtlpReceiver) -> None:
    payload = {
        "resourceSpans": [
            {
                "resource": {"attributes": []},
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "name": "ChatCompletion",
                                "startTimeUnixNano": "1700000000000000000",
                                "endTimeUnixNano": "1700000001000000000",
                                "attributes": [
                                    {
                                        "key": "openinference.span.kind",
                                        "value": {"stringValue": "LLM"},
                                    },
                                    {"key": "llm.model_name", "value": {"stringValue": "gpt-4o"}},
                                    {"key": "llm.provider", "value": {"stringValue": "openai"}},
                                    {"key": "llm.token_count.prompt", "value": {"intValue": "50"}},
                                    {
                                        "key": "llm.token_count.completion",
                                        "value": {"intValue": "7"},
                                    },
                                    {"key": "llm.cost.total", "value": {"doubleValue": 0.25}},
                                    {"key": "output.value", "value": {"stringValue": "ok"}},
                                ],
                            }
                        ]
                    }
                ],
            }
        ]
    }
    response = httpx2.post(f"{receiver.url}/v1/traces", json=payload)
    assert response.status_code == 200
    run = workspace.store.get_run("5b8efff798038103d269b633813fc60c")
    assert run.model == "gpt-4o" and run.usage.output_tokens == 7
    assert run.cost_usd == pytest.approx(0.25) and run.cost_source == "provider"
    assert workspace.store.get_actions(run.id)[0].outputs == {"text": "ok"}


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"\xff\xff\xff", "application/x-protobuf", "protobuf"),
        (b"{nope", "application/json", "not valid JSON"),
    ],
)
def test_malformed_payloads_get_400_with_a_reason(
    workspace: Workspace, receiver: OtlpReceiver, body: bytes, content_type: str, reason: str
) -> None:
    response = httpx2.post(
        f"{receiver.url}/v1/traces", content=body, headers={"Content-Type": content_type}
    )
    assert response.status_code == 400
    assert reason in response.json()["message"]
    assert workspace.store.count_runs(RunFilter()) == 0


def test_nothing_half_written(workspace: Workspace, receiver: OtlpReceiver) -> None:
    good = {
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": "eee19b7ec3c1b174",
        "name": "ok",
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000001000000000",
    }
    bad = dict(good, traceId="abcd", name="bad")
    payload = {"resourceSpans": [{"scopeSpans": [{"spans": [good, bad]}]}]}
    response = httpx2.post(f"{receiver.url}/v1/traces", json=payload)
    assert response.status_code == 400 and "trace id" in response.json()["message"]
    assert workspace.store.count_runs(RunFilter()) == 0
