"""The local OTLP receiver, fed by the real OpenTelemetry SDK and by hand-made payloads."""

from __future__ import annotations

import base64
import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

from ato_desktop.core.models import TokenUsage
from ato_desktop.core.records import RunFilter
from ato_desktop.engine.otlp_receiver import OtlpReceiver
from ato_desktop.engine.workspace import Workspace


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


def _span_json(trace: str, span: str, start_s: float, **extra: Any) -> dict[str, Any]:
    start = int(start_s * 1e9)
    return {
        "traceId": trace,
        "spanId": span,
        "name": extra.pop("name", "chat"),
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 500_000_000),
        **extra,
    }


def _attrs(**values: Any) -> list[dict[str, Any]]:
    out = []
    for key, value in values.items():
        key = key.replace("__", ".")
        if isinstance(value, int):
            out.append({"key": key, "value": {"intValue": str(value)}})
        else:
            out.append({"key": key, "value": {"stringValue": value}})
    return out


def _post_spans(receiver: OtlpReceiver, *spans: dict[str, Any]) -> None:
    payload = {"resourceSpans": [{"scopeSpans": [{"spans": list(spans)}]}]}
    response = httpx2.post(f"{receiver.url}/v1/traces", json=payload, timeout=30)
    assert response.status_code == 200, response.text


TRACE = "0af7651916cd43dd8448eb211c80319c"
CHAT = _attrs(
    gen_ai__operation__name="chat",
    gen_ai__provider__name="anthropic",
    gen_ai__request__model="claude-sonnet-4-5",
    gen_ai__usage__input_tokens=1000,
    gen_ai__usage__output_tokens=100,
)


def test_an_exporters_retry_is_written_once_and_a_late_span_still_attaches(
    workspace: Workspace, receiver: OtlpReceiver
) -> None:
    root = _span_json(TRACE, "b7ad6b7169203331", 1_700_000_000, name="invoke_agent")
    call = _span_json(
        TRACE, "b7ad6b7169203332", 1_700_000_001, parentSpanId="b7ad6b7169203331", attributes=CHAT
    )
    _post_spans(receiver, root, call)
    first = workspace.store.get_run(TRACE)
    for _ in range(2):  # the exporter's retries of the same export
        _post_spans(receiver, root, call)
    again = workspace.store.get_run(TRACE)
    assert again.usage == first.usage and again.cost_usd == first.cost_usd
    assert again.action_count == 2
    # A late span of the same trace, exported after the others.
    late = _span_json(
        TRACE, "b7ad6b7169203333", 1_700_000_002, parentSpanId="b7ad6b7169203331", attributes=CHAT
    )
    _post_spans(receiver, late)
    run = workspace.store.get_run(TRACE)
    assert run.action_count == 3 and run.usage.input_tokens == 2000
    actions = workspace.store.get_actions(TRACE)
    assert [a.parent_seq for a in actions] == [None, 1, 1]


def test_actions_are_in_start_order_whatever_order_the_exports_came_in(
    workspace: Workspace, receiver: OtlpReceiver
) -> None:
    ids = [f"c7ad6b716920333{i}" for i in range(5)]
    spans = [
        _span_json(
            TRACE,
            ids[i],
            1_700_000_000 + i,
            name=f"step {i}",
            **({"parentSpanId": ids[0]} if i else {}),
        )
        for i in range(5)
    ]
    # Children as they end, their parent last; one of them in an export of its own.
    _post_spans(receiver, spans[3], spans[4])
    _post_spans(receiver, spans[1])
    _post_spans(receiver, spans[2], spans[0])
    actions = workspace.store.get_actions(TRACE)
    assert [a.name for a in actions] == [f"step {i}" for i in range(5)]
    assert [a.seq for a in actions] == [1, 2, 3, 4, 5]
    assert [a.parent_seq for a in actions] == [None, 1, 1, 1, 1]
    assert workspace.store.get_run(TRACE).action_count == 5


def test_a_bytes_attribute_holding_a_known_secret_is_redacted(
    workspace: Workspace, receiver: OtlpReceiver
) -> None:
    from ato_desktop.engine.credentials import register_secret

    secret = "zq-local-PLANTED-0123456789abcdefXYZ"
    register_secret(secret)
    span = _span_json(TRACE, "d7ad6b7169203331", 1_700_000_000)
    span["attributes"] = [
        {
            "key": "http.request.header.x-api-key",
            "value": {"bytesValue": base64.b64encode(secret.encode()).decode()},
        },
        {
            "key": "acme.blob",
            "value": {"bytesValue": base64.b64encode(b"\xff\xfe" + secret.encode()).decode()},
        },
    ]
    _post_spans(receiver, span)
    (action,) = workspace.store.get_actions(TRACE)
    stored = json.dumps(action.meta)
    for form in (secret, secret.encode().hex(), secret[:16]):
        assert form not in stored
    assert "[REDACTED]" in action.meta["otel.attributes"]["http.request.header.x-api-key"]
    with sqlite3.connect(workspace.paths.database) as conn:
        dump = "\n".join(conn.iterdump())
    assert secret not in dump and secret.encode().hex() not in dump


def test_a_span_is_priced_at_the_price_in_force_when_it_started(
    workspace: Workspace, receiver: OtlpReceiver
) -> None:
    started = datetime(2025, 5, 1, 12, tzinfo=UTC)
    span = _span_json(
        TRACE,
        "e7ad6b7169203331",
        started.timestamp(),
        attributes=_attrs(
            gen_ai__operation__name="chat",
            gen_ai__provider__name="openai",
            gen_ai__request__model="o3",
            gen_ai__usage__input_tokens=1000,
            gen_ai__usage__output_tokens=1000,
        ),
    )
    _post_spans(receiver, span)
    usage = TokenUsage(1000, 1000)
    then = workspace.prices.cost("codex", "o3", usage, at=started)
    today = workspace.prices.cost("codex", "o3", usage)
    assert then.usd != today.usd  # the table has a price change since
    run = workspace.store.get_run(TRACE)
    assert run.cost_usd == pytest.approx(then.usd) and run.cost_source == "estimated"


@pytest.mark.parametrize(
    ("error_type", "message", "expected"),
    [
        ("RateLimitError", "429 Too Many Requests", "rate_limit"),
        ("openai.AuthenticationError", "invalid x-api-key", "auth"),
        ("APITimeoutError", "", "timeout"),
        ("", "upstream overloaded (529)", "server_error"),
        ("KeyError", "'missing'", "external"),
    ],
)
def test_a_failed_span_gets_an_error_class_that_says_what_failed(
    workspace: Workspace, receiver: OtlpReceiver, error_type: str, message: str, expected: str
) -> None:
    attributes = CHAT + (_attrs(error__type=error_type) if error_type else [])
    span = _span_json(
        TRACE,
        "f7ad6b7169203331",
        1_700_000_000,
        attributes=attributes,
        status={"code": 2, "message": message},
    )
    _post_spans(receiver, span)
    run = workspace.store.get_run(TRACE)
    (action,) = workspace.store.get_actions(TRACE)
    assert run.status == "failed"
    assert run.error_class == action.error_class == expected
    if error_type:
        assert action.meta["otel.error_type"] == error_type
