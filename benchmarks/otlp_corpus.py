"""A deterministic corpus of OTLP trace exports, as instrumented agents send them.

Each trace is one agent invocation: a root ``invoke_agent`` span, model calls (GenAI semantic
conventions: ``gen_ai.input.messages`` / ``gen_ai.output.messages``, usage, finish reasons) and
tool calls (``execute_tool`` with their arguments and results), 6 to 14 spans (10 on average),
each carrying 200 to 2,000 characters of text. Traces are grouped into export requests
(``ExportTraceServiceRequest`` protobuf bytes, what the OTLP/HTTP exporter posts).

Issue 20.2's corpus is ``corpus(10_000)``: 10,000 traces, about 100,000 spans.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

START_NS = 1_780_000_000_000_000_000  # 2026-05-28: a date the price table covers
MODELS = (
    ("anthropic", "claude-sonnet-4-5"),
    ("openai", "gpt-4o-mini"),
    ("anthropic", "claude-haiku-4-5"),
)
TOOLS = ("search", "read_file", "run_sql", "fetch_url")
_PROSE = (
    "the agent reads the report and checks each figure against the ledger before it answers "
    "with a summary of what changed since last week including totals per region and the "
    "reasons given by the team for every difference larger than five percent"
)
WORDS = tuple(_PROSE.split(" "))


def _text(rng: random.Random, low: int, high: int) -> str:
    target = rng.randint(low, high)
    words: list[str] = []
    size = 0
    while size < target:
        word = WORDS[rng.randrange(len(WORDS))]
        words.append(word)
        size += len(word) + 1
    return " ".join(words)[:target]


def _set(span: Span, key: str, value: str | int | float | list[str]) -> None:
    kv: KeyValue = span.attributes.add(key=key)
    if isinstance(value, bool):
        kv.value.bool_value = value
    elif isinstance(value, int):
        kv.value.int_value = value
    elif isinstance(value, float):
        kv.value.double_value = value
    elif isinstance(value, list):
        for item in value:
            kv.value.array_value.values.add(string_value=item)
    else:
        kv.value.string_value = value


def _trace(rng: random.Random, request: ExportTraceServiceRequest, number: int) -> int:
    """Add one trace's spans to the request (in one scope); returns how many."""
    scope = request.resource_spans[0].scope_spans[0]
    trace_id = rng.getrandbits(128).to_bytes(16, "big")
    root_id = rng.getrandbits(64).to_bytes(8, "big")
    start = START_NS + number * 60_000_000_000 + rng.randrange(1_000_000_000)
    spans = rng.randint(6, 14)
    provider, model = MODELS[number % len(MODELS)]
    t = start + 1_000_000
    children: list[Span] = []
    for index in range(spans - 1):
        span = Span(trace_id=trace_id, span_id=rng.getrandbits(64).to_bytes(8, "big"))
        span.parent_span_id = root_id
        span.start_time_unix_nano = t
        t += rng.randrange(50_000_000, 3_000_000_000)
        span.end_time_unix_nano = t
        span.status.code = Status.STATUS_CODE_OK
        if index % 2 == 0:
            span.name = f"chat {model}"
            prompt = _text(rng, 100, 1000)
            answer = _text(rng, 100, 1000)
            _set(span, "gen_ai.operation.name", "chat")
            _set(span, "gen_ai.provider.name", provider)
            _set(span, "gen_ai.request.model", model)
            _set(span, "gen_ai.response.model", model)
            _set(span, "gen_ai.usage.input_tokens", rng.randrange(200, 4000))
            _set(span, "gen_ai.usage.output_tokens", rng.randrange(20, 800))
            _set(span, "gen_ai.response.finish_reasons", ["stop"])
            _set(
                span,
                "gen_ai.input.messages",
                json.dumps([{"role": "user", "parts": [{"type": "text", "content": prompt}]}]),
            )
            _set(
                span,
                "gen_ai.output.messages",
                json.dumps(
                    [
                        {
                            "role": "assistant",
                            "parts": [{"type": "text", "content": answer}],
                            "finish_reason": "stop",
                        }
                    ]
                ),
            )
        else:
            tool = TOOLS[rng.randrange(len(TOOLS))]
            span.name = f"execute_tool {tool}"
            _set(span, "gen_ai.operation.name", "execute_tool")
            _set(span, "gen_ai.tool.name", tool)
            _set(span, "gen_ai.tool.call.id", f"call_{rng.getrandbits(48):012x}")
            _set(span, "gen_ai.tool.call.arguments", json.dumps({"query": _text(rng, 50, 200)}))
            _set(span, "gen_ai.tool.call.result", _text(rng, 150, 1800))
        children.append(span)
    root = Span(trace_id=trace_id, span_id=root_id, name="invoke_agent planner")
    root.start_time_unix_nano = start
    root.end_time_unix_nano = t + 1_000_000
    root.status.code = Status.STATUS_CODE_OK
    _set(root, "gen_ai.operation.name", "invoke_agent")
    _set(root, "gen_ai.agent.name", "planner")
    _set(root, "input.value", _text(rng, 200, 2000))
    # Children end (and are exported) before their parent, as the SDK does.
    scope.spans.extend([*children, root])
    return spans


def corpus(
    traces: int = 10_000, traces_per_request: int = 100, seed: int = 20
) -> Iterator[tuple[bytes, int]]:
    """(protobuf body, span count) for each export request of the corpus, in order."""
    rng = random.Random(seed)
    number = 0
    while number < traces:
        request = ExportTraceServiceRequest()
        rs = request.resource_spans.add()
        rs.resource.attributes.add(key="service.name").value.string_value = "bench-agent"
        rs.scope_spans.add().scope.name = "bench"
        spans = 0
        for _ in range(min(traces_per_request, traces - number)):
            spans += _trace(rng, request, number)
            number += 1
        yield request.SerializeToString(), spans


def big_request(target_bytes: int = 32 * 1024 * 1024 - 65_536, seed: int = 32) -> bytes:
    """One export request just under target_bytes (the receiver's body limit is 32 MB)."""
    rng = random.Random(seed)
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.add(key="service.name").value.string_value = "bench-agent"
    rs.scope_spans.add().scope.name = "bench"
    number = 0
    size = request.ByteSize()
    spans = request.resource_spans[0].scope_spans[0].spans
    while size < target_bytes - 40_000:
        count = _trace(rng, request, number)
        size += sum(s.ByteSize() + 4 for s in spans[-count:])  # each span's framing too
        number += 1
    return request.SerializeToString()
