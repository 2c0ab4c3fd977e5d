"""Seed inputs per harness: one or two well-formed inputs, so libFuzzer starts from the shapes
the parsers accept (random bytes rarely get past a JSON or protobuf decoder on their own).
run_all.py writes them into a temporary corpus; nothing is written to the tree."""

from __future__ import annotations

import json


def _otlp_request() -> object:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue

    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.add(key="service.name", value=AnyValue(string_value="agent"))
    spans = rs.scope_spans.add().spans
    root = spans.add(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, name="invoke_agent")
    root.start_time_unix_nano, root.end_time_unix_nano = (
        1_700_000_000_000_000_000,
        1_700_000_001_000_000_000,
    )
    chat = spans.add(trace_id=b"\x01" * 16, span_id=b"\x03" * 8, parent_span_id=b"\x02" * 8)
    chat.name, chat.start_time_unix_nano = "chat", 1_700_000_000_100_000_000
    chat.end_time_unix_nano = 1_700_000_000_900_000_000
    chat.status.code = 2
    for key, value in (
        ("gen_ai.operation.name", AnyValue(string_value="chat")),
        ("gen_ai.provider.name", AnyValue(string_value="anthropic")),
        ("gen_ai.request.model", AnyValue(string_value="claude-sonnet-4-5")),
        ("gen_ai.usage.input_tokens", AnyValue(int_value=1000)),
        ("gen_ai.usage.output_tokens", AnyValue(int_value=200)),
        ("llm.cost.total", AnyValue(double_value=0.01)),
        (
            "gen_ai.output.messages",
            AnyValue(string_value='[{"parts":[{"type":"text","content":"hi"}]}]'),
        ),
    ):
        chat.attributes.add(key=key, value=value)
    return request


def seeds(name: str) -> list[bytes]:
    if name == "otlp_protobuf":
        return [_otlp_request().SerializeToString()]  # type: ignore[attr-defined]
    if name == "otlp_json":
        from google.protobuf import json_format

        data = json_format.MessageToDict(_otlp_request())  # type: ignore[arg-type]
        for rs in data["resourceSpans"]:
            for span in rs["scopeSpans"][0]["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        import base64

                        span[key] = base64.b64decode(span[key]).hex()
        return [json.dumps(data).encode()]
    if name == "eval_suite":
        return [
            b'{"suite": {"name": "math", "scorers": ["exact", {"type": "contains"}]}}\n'
            b'{"id": "a", "input": "2+2?", "expected": "4"}\n'
            b'{"messages": [{"role": "user", "content": "hi"}], "expected": "hello"}\n'
        ]
    if name == "skill_flow":
        return [
            b"# Release notes\nIntro.\n\n## Step 1: Gather\nAgent: researcher\nTimeout: 90s\n"
            b"On failure: retry 2\nList the changes in {input}.\n\n## Step 2: Write\n"
            b"```\n## Step 3\n```\nWrite notes from {previous}.\n"
        ]
    if name == "run_json":
        run = {
            "id": "r1",
            "status": "completed",
            "agent": "a",
            "model": "m",
            "runtime": "claude",
            "started_at": "2026-01-01T00:00:00.000Z",
            "duration_ms": 12.5,
            "cost_usd": "0.0142",
            "cost_source": "provider",
            "tokens": {"input": 10, "output": 5},
            "actions": [
                {
                    "seq": 1,
                    "name": "call_llm",
                    "outcome": "success",
                    "duration_ms": 3,
                    "tokens": {"input": 10, "output": 5},
                    "outputs": {"text": "hi there"},
                },
                {"seq": 2, "name": "search", "outcome": "error", "inputs": {"q": "x"}},
            ],
        }
        return [json.dumps(run).encode(), json.dumps({"runs": [run]}).encode()]
    if name == "prices":
        return [
            b'{"version": 1, "models": {"llama": {"input_per_mtok": 0, "output_per_mtok": 0}},'
            b' "runtimes": {"openai-compatible": {"default": {"input_per_mtok": 0.1,'
            b' "output_per_mtok": 0.2, "cache_read_per_mtok": 0.01}, "models": {}}}}'
        ]
    if name == "cli_events":
        return [
            b'{"type":"system","subtype":"init","session_id":"s","model":"m"}\n'
            b'{"type":"assistant","message":{"id":"m1","content":[{"type":"text","text":"hi"},'
            b'{"type":"tool_use","id":"t1","name":"Edit","input":{"file_path":"/tmp/x"}}]}}\n'
            b'{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t1",'
            b'"content":"ok"}]}}\n'
            b'{"type":"result","subtype":"success","result":"done","usage":{"input_tokens":5,'
            b'"output_tokens":2},"total_cost_usd":0.01}\n',
            b'{"type":"thread.started","thread_id":"t"}\n'
            b'{"type":"item.started","item":{"id":"i1","type":"command_execution","command":"ls"}}\n'
            b'{"type":"item.completed","item":{"id":"i1","type":"command_execution",'
            b'"exit_code":0,"aggregated_output":"a"}}\n'
            b'{"type":"turn.completed","usage":{"input_tokens":3,"output_tokens":1}}\n',
        ]
    if name == "cron":
        return [b"\x01\x00\x10\x00\x00\x000 9 * * 1-5", b"\x00Europe/Paris\x00*/5 * * * *"]
    if name == "run_search":
        return [b'user:alice tenant=acme error:timeout >30s region:"eu west" duration>=2m']
    return []
