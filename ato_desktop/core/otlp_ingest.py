"""OTLP traces from agents outside the app, as runs with actions (the local receiver).

Pure: an ExportTraceServiceRequest (decoded by the receiver) becomes one run per trace (run id =
the trace id in hex, trigger external) and one action per span, in start order, parented as
the spans were. Both attribute conventions are read:

- OpenTelemetry GenAI: gen_ai.operation.name, gen_ai.provider.name (or the older
  gen_ai.system), gen_ai.request.model / gen_ai.response.model, gen_ai.usage.input_tokens /
  output_tokens (or prompt_tokens / completion_tokens), cache token attributes,
  gen_ai.response.finish_reasons, gen_ai.input.messages / gen_ai.output.messages;
- OpenInference: openinference.span.kind, llm.model_name, llm.provider / llm.system,
  llm.token_count.prompt / completion / prompt_details.cache_read / cache_write,
  input.value / output.value, tool.name, llm.cost.total.

Every attribute not mapped is kept in the action's meta (``otel.attributes``). Costs come from
the span when it states one (source provider), else from the price book (estimated), else
unknown.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from ato_desktop.core.models import CostSource, Outcome, RunStatus, TokenUsage, Trigger
from ato_desktop.core.pricing import PriceBook
from ato_desktop.core.records import NewAction, NewRun, RunEnd

# gen_ai.provider.name -> the runtime whose prices apply
PROVIDER_RUNTIMES: Mapping[str, str] = {
    "anthropic": "claude",
    "aws.bedrock": "claude",
    "openai": "codex",
    "azure.ai.openai": "codex",
}
DEFAULT_RUNTIME = "openai-compatible"

LLM_OPERATIONS = frozenset(
    {"chat", "text_completion", "generate_content", "completion", "llm", "embeddings"}
)
OPENINFERENCE_KINDS: Mapping[str, str] = {
    "LLM": "chat",
    "TOOL": "execute_tool",
    "AGENT": "invoke_agent",
    "CHAIN": "chain",
    "RETRIEVER": "retrieve",
    "EMBEDDING": "embeddings",
    "RERANKER": "rerank",
    "GUARDRAIL": "guardrail",
    "EVALUATOR": "evaluate",
}

_FIRST = (
    "gen_ai.operation.name",
    "openinference.span.kind",
    "gen_ai.provider.name",
    "gen_ai.system",
    "llm.provider",
    "llm.system",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "llm.model_name",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.prompt_tokens",
    "gen_ai.usage.completion_tokens",
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "llm.token_count.prompt",
    "llm.token_count.completion",
    "llm.token_count.prompt_details.cache_read",
    "llm.token_count.prompt_details.cache_write",
    "llm.token_count.completion_details.reasoning",
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.response.finish_reasons",
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "input.value",
    "output.value",
    "gen_ai.tool.name",
    "tool.name",
    "llm.cost.total",
    "gen_ai.usage.cost",
    "ato.cost.usd",
    "error.type",
)
MAPPED = frozenset(_FIRST)


# The largest token count taken (a trillion); anything above is an exporter's garbage.
MAX_COUNT = 10**12
# Times are kept as signed 64-bit nanoseconds (durations) and milliseconds: up to 2262.
MAX_TIME_NS = 2**63 - 1


class MalformedTraceError(ValueError):
    """A payload that cannot become runs; the message is the 400's reason."""


@dataclass(frozen=True, slots=True)
class IngestedTrace:
    run_id: str
    run: NewRun
    end: RunEnd
    actions: list[NewAction]


def value_of(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [value_of(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: value_of(kv.value) for kv in value.kvlist_value.values}
    if which == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, which)


def _int(attrs: Mapping[str, Any], *keys: str) -> int:
    """The first count among keys (0 when none); MalformedTraceError for NaN, infinity or a
    count no model ever reported (it would overflow the log's 64-bit sums)."""
    for key in keys:
        value = attrs.get(key)
        if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 30:
            value = int(value.strip())
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value) or value > MAX_COUNT:
                raise MalformedTraceError(f"{key} = {value!r} is not a token count")
            return max(0, int(value))
    return 0


def _first(attrs: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        value = attrs.get(key)
        if value not in (None, "", []):
            return value
    return None


def _json_or_text(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _float(value: Any) -> float | None:
    try:
        result = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return result if math.isfinite(result) and result >= 0 else None


def _operation(attrs: Mapping[str, Any]) -> str:
    op = attrs.get("gen_ai.operation.name")
    if isinstance(op, str) and op:
        return op
    kind = attrs.get("openinference.span.kind")
    if isinstance(kind, str) and kind:
        return OPENINFERENCE_KINDS.get(kind.upper(), kind.lower())
    if any(k.startswith("gen_ai.usage.") or k.startswith("llm.token_count") for k in attrs):
        return "chat"
    return ""


def _check_ids(span: Span, index: int) -> None:
    if len(span.trace_id) != 16 or not any(span.trace_id):
        raise MalformedTraceError(
            f"span {index} has a trace id of {len(span.trace_id)} bytes; "
            "OTLP needs 16, not all zero"
        )
    if len(span.span_id) != 8 or not any(span.span_id):
        raise MalformedTraceError(
            f"span {index} has a span id of {len(span.span_id)} bytes; OTLP needs 8, not all zero"
        )
    if span.parent_span_id and len(span.parent_span_id) != 8:
        raise MalformedTraceError(f"span {index} has a parent span id that is not 8 bytes")
    if span.start_time_unix_nano == 0:
        raise MalformedTraceError(f"span {index} ({span.name!r}) has no start time")
    if max(span.start_time_unix_nano, span.end_time_unix_nano) > MAX_TIME_NS:
        raise MalformedTraceError(
            f"span {index} ({span.name!r}) has a time past 2262 (beyond 64-bit nanoseconds)"
        )


def traces_from_request(
    request: ExportTraceServiceRequest, prices: PriceBook | None = None
) -> list[IngestedTrace]:
    """One IngestedTrace per trace id in the request; MalformedTraceError says what is wrong
    (and then nothing of the request should be written)."""
    grouped: dict[bytes, list[tuple[Span, dict[str, Any], dict[str, Any]]]] = {}
    index = 0
    for rs in request.resource_spans:
        resource = {kv.key: value_of(kv.value) for kv in rs.resource.attributes}
        for ss in rs.scope_spans:
            for span in ss.spans:
                index += 1
                _check_ids(span, index)
                attrs = {kv.key: value_of(kv.value) for kv in span.attributes}
                grouped.setdefault(bytes(span.trace_id), []).append((span, attrs, resource))
    return [_trace(tid, spans, prices) for tid, spans in grouped.items()]


def _trace(
    tid: bytes,
    spans: Sequence[tuple[Span, dict[str, Any], dict[str, Any]]],
    prices: PriceBook | None,
) -> IngestedTrace:
    ordered = sorted(spans, key=lambda s: (s[0].start_time_unix_nano, s[0].span_id))
    seq_of = {bytes(s.span_id): i for i, (s, _a, _r) in enumerate(ordered, 1)}
    actions: list[NewAction] = []
    model, provider, agent = "", "", None
    failed: Span | None = None
    for span, attrs, _resource in ordered:
        action, span_model, span_provider = _action(span, attrs, seq_of, prices)
        actions.append(action)
        model = model or span_model
        provider = provider or span_provider
        agent = agent or _first(attrs, "gen_ai.agent.name", "agent.name")
        if span.status.code == Status.STATUS_CODE_ERROR and not span.parent_span_id:
            failed = span
    roots = [
        s for s, _a, _r in ordered if not s.parent_span_id or bytes(s.parent_span_id) not in seq_of
    ]
    root = roots[0] if roots else ordered[0][0]
    if failed is None and root.status.code == Status.STATUS_CODE_ERROR:
        failed = root
    resource = ordered[0][2]
    start_ns = min(s.start_time_unix_nano for s, _a, _r in ordered)
    end_ns = max(max(s.end_time_unix_nano, s.start_time_unix_nano) for s, _a, _r in ordered)
    tags: dict[str, str] = {"source": "otlp"}
    service = resource.get("service.name")
    if isinstance(service, str) and service:
        tags["service"] = service
    if isinstance(agent, str):
        tags["agent"] = agent
    run_id = tid.hex()
    runtime = PROVIDER_RUNTIMES.get(provider, DEFAULT_RUNTIME)
    new_run = NewRun(
        runtime=runtime,
        model=model or "unknown",
        trigger=Trigger.EXTERNAL.value,
        started_at=start_ns // 1_000_000,
        tags=tags,
        id=run_id,
    )
    end = RunEnd(
        status=RunStatus.FAILED.value if failed else RunStatus.COMPLETED.value,
        ended_at=end_ns // 1_000_000,
        duration_ns=end_ns - start_ns,
        error_class=("external" if failed else None),
        error_message=(failed.status.message or "the span reported an error") if failed else None,
    )
    return IngestedTrace(run_id, new_run, end, actions)


def _action(
    span: Span, attrs: dict[str, Any], seq_of: Mapping[bytes, int], prices: PriceBook | None
) -> tuple[NewAction, str, str]:
    op = _operation(attrs)
    model = str(
        _first(attrs, "gen_ai.response.model", "gen_ai.request.model", "llm.model_name") or ""
    )
    provider = str(
        _first(attrs, "gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system") or ""
    ).lower()
    is_llm = op in LLM_OPERATIONS
    tool = _first(attrs, "gen_ai.tool.name", "tool.name")
    if is_llm:
        name, kind = "call_llm", "llm"
    elif op == "execute_tool" or tool:
        name, kind = str(tool or span.name), "tool"
    else:
        name, kind = span.name or op or "span", op or "span"

    usage: TokenUsage | None = None
    input_tokens = _int(
        attrs, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt"
    )
    output_tokens = _int(
        attrs,
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.completion_tokens",
        "llm.token_count.completion",
    )
    if input_tokens or output_tokens:
        usage = TokenUsage(
            input_tokens,
            output_tokens,
            _int(
                attrs,
                "gen_ai.usage.cache_read.input_tokens",
                "gen_ai.usage.cache_read_input_tokens",
                "llm.token_count.prompt_details.cache_read",
            ),
            _int(
                attrs,
                "gen_ai.usage.cache_creation.input_tokens",
                "gen_ai.usage.cache_creation_input_tokens",
                "llm.token_count.prompt_details.cache_write",
            ),
            _int(
                attrs,
                "gen_ai.usage.reasoning.output_tokens",
                "llm.token_count.completion_details.reasoning",
            ),
        )
    stated = _float(_first(attrs, "llm.cost.total", "gen_ai.usage.cost", "ato.cost.usd"))
    cost_usd: float | None = None
    cost_source: CostSource | None = None
    if stated is not None:
        cost_usd, cost_source = stated, CostSource.PROVIDER
    elif usage is not None:
        if prices is not None and model:
            cost = prices.cost(PROVIDER_RUNTIMES.get(provider, DEFAULT_RUNTIME), model, usage)
            cost_usd, cost_source = cost.usd, cost.source
        else:
            cost_source = CostSource.UNKNOWN

    inputs: Any = None
    messages = _first(attrs, "gen_ai.input.messages")
    if messages is not None:
        inputs = {"messages": _json_or_text(messages)}
        if attrs.get("gen_ai.system_instructions"):
            inputs["system"] = _json_or_text(attrs["gen_ai.system_instructions"])
    elif attrs.get("input.value") is not None:
        inputs = {"input": _json_or_text(attrs["input.value"])}
    outputs: Any = None
    output_messages = _first(attrs, "gen_ai.output.messages")
    if output_messages is not None:
        outputs = {"messages": _json_or_text(output_messages), "text": _text_of(output_messages)}
    elif attrs.get("output.value") is not None:
        outputs = {"text": str(attrs["output.value"])}
    reasons = attrs.get("gen_ai.response.finish_reasons")
    if isinstance(reasons, list) and reasons:
        outputs = dict(outputs or {})
        outputs["finish_reason"] = str(reasons[0])

    errored = span.status.code == Status.STATUS_CODE_ERROR
    unknown = {k: v for k, v in attrs.items() if k not in MAPPED}
    meta: dict[str, Any] = {
        "otel.span_name": span.name,
        "otel.span_id": bytes(span.span_id).hex(),
    }
    if span.parent_span_id:
        meta["otel.parent_span_id"] = bytes(span.parent_span_id).hex()
    if op:
        meta["otel.operation"] = op
    if provider:
        meta["provider"] = provider
    if model:
        meta["response_model"] = model
    if unknown:
        meta["otel.attributes"] = unknown
    parent_seq = seq_of.get(bytes(span.parent_span_id)) if span.parent_span_id else None
    end_ns = max(span.end_time_unix_nano, span.start_time_unix_nano)
    return (
        NewAction(
            name=name,
            kind=kind,
            outcome=Outcome.ERROR.value if errored else Outcome.SUCCESS.value,
            started_at=span.start_time_unix_nano // 1_000_000,
            ended_at=end_ns // 1_000_000,
            inputs=inputs,
            outputs=outputs,
            usage=usage,
            duration_ns=end_ns - span.start_time_unix_nano,
            cost_usd=cost_usd,
            cost_source=cost_source,
            error_class=str(attrs.get("error.type") or "external") if errored else None,
            error_message=(span.status.message or None) if errored else None,
            meta=meta,
            parent_seq=parent_seq,
        ),
        model if is_llm else "",
        provider,
    )


def _text_of(messages: Any) -> str:
    """The text parts of GenAI output messages, joined."""
    value = _json_or_text(messages)
    if not isinstance(value, list):
        return str(value) if value else ""
    texts: list[str] = []
    for message in value:
        if isinstance(message, Mapping):
            for part in message.get("parts") or []:
                if isinstance(part, Mapping) and part.get("type") == "text":
                    texts.append(str(part.get("content") or ""))
    return "\n".join(texts)
