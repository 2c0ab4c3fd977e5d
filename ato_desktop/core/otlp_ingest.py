"""OTLP traces from agents outside the app, as runs with actions (the local receiver).

Pure: an ExportTraceServiceRequest (decoded and redacted by the receiver) becomes one
IngestedTrace per trace id and one IngestedSpan per span, ordered by start time (then span
id), with the parent span's id kept so the store can link spans exported in another request.
The store decides run ids and seqs (engine.otlp_receiver, store.external_runs).

The instrumentation families people use are read whole:

- OpenTelemetry GenAI (and OpenLLMetry, which follows it): gen_ai.operation.name,
  gen_ai.provider.name (or the older gen_ai.system), gen_ai.request.model /
  gen_ai.response.model, gen_ai.usage.*, gen_ai.response.finish_reasons,
  gen_ai.input.messages / gen_ai.output.messages / gen_ai.system_instructions (parts with
  text, tool calls and tool results), gen_ai.tool.definitions, gen_ai.request.* parameters,
  gen_ai.tool.name / gen_ai.tool.call.arguments / gen_ai.tool.call.result;
- OpenInference (Arize Phoenix's instrumentors): openinference.span.kind, llm.model_name,
  llm.invocation_parameters (the model and parameters), llm.input_messages.N.message.* and
  llm.output_messages.N.message.* (role, content or contents, tool calls, tool_call_id),
  llm.tools.N.tool.json_schema, llm.token_count.*, llm.cost.total, input.value /
  output.value;
- LiteLLM's own spans (its OpenTelemetry callback): gen_ai.operation.name "acompletion",
  "anthropic_messages" and the other call types are model calls, priced at LiteLLM's stated
  cost (gen_ai.cost.total_cost, or response_cost in hidden_params).

A model call's inputs are stored as the dispatcher stores its own (runtime, model, messages,
system, params, tools), so replay and simulation read an ingested call like a dispatched one.
Every attribute not mapped is kept in the action's meta (``otel.attributes``). Costs come from
the span when it states one (source provider), else from the price book at the price in force
when the span started (estimated), else unknown.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from ato_desktop.core.models import CostSource, ErrorClass, Outcome, RunStatus, TokenUsage, Trigger
from ato_desktop.core.pricing import PriceBook
from ato_desktop.core.records import NewAction, NewRun, RunEnd

# gen_ai.provider.name -> the runtime whose prices apply
PROVIDER_RUNTIMES: Mapping[str, str] = {
    "anthropic": "claude",
    "aws.bedrock": "claude",
    "openai": "codex",
    "azure.ai.openai": "codex",
    "azure": "codex",
}
DEFAULT_RUNTIME = "openai-compatible"

# Model calls: the GenAI operations, and LiteLLM's call types (its spans name the operation
# after the SDK function that was called).
LLM_OPERATIONS = frozenset(
    {
        "chat",
        "text_completion",
        "generate_content",
        "completion",
        "llm",
        "embeddings",
        "acompletion",
        "atext_completion",
        "anthropic_messages",
        "aanthropic_messages",
        "responses",
        "aresponses",
        "agenerate_content",
        "embedding",
        "aembedding",
    }
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
    "llm.request.model_name",
    "llm.response.model_name",
    "llm.invocation_parameters",
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
    "llm.finish_reason",
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.definitions",
    "input.value",
    "output.value",
    "gen_ai.tool.name",
    "tool.name",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "llm.cost.total",
    "gen_ai.usage.cost",
    "gen_ai.cost.total_cost",
    "ato.cost.usd",
    "error.type",
)
MAPPED = frozenset(_FIRST)
# Flattened OpenInference lists: read as messages and tools, not kept as loose attributes.
_MAPPED_PREFIXES = ("llm.input_messages.", "llm.output_messages.", "llm.tools.")

# gen_ai.request.* and OpenInference invocation parameters -> ATO's neutral parameter names
_PARAMS: Mapping[str, str] = {
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "max_tokens": "max_tokens",
    "max_completion_tokens": "max_tokens",
    "max_output_tokens": "max_tokens",
    "stop": "stop",
    "stop_sequences": "stop",
    "seed": "seed",
    "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty",
    "reasoning_effort": "reasoning_effort",
}

# The largest token count taken (a trillion); anything above is an exporter's garbage.
MAX_COUNT = 10**12
# Times are kept as signed 64-bit nanoseconds (durations) and milliseconds: up to 2262.
MAX_TIME_NS = 2**63 - 1

# error.type values (exception class names, HTTP statuses) -> ATO's error classes. What no rule
# matches is "external": the instrumented agent reported an error ATO cannot classify; its
# error.type is kept in the action's meta (otel.error_type) and the message as the error.
EXTERNAL_ERROR = "external"
_ERROR_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)ratelimit|rate_limit|\b429\b|too.?many.?requests"), ErrorClass.RATE_LIMIT),
    (
        re.compile(r"(?i)auth|permission|forbidden|\b40[13]\b|unauthori[sz]ed"),
        ErrorClass.AUTH,
    ),
    (re.compile(r"(?i)timeout|timed.?out|\b408\b|\b504\b"), ErrorClass.TIMEOUT),
    (re.compile(r"(?i)connection|connect|network|dns|socket"), ErrorClass.NETWORK),
    (
        re.compile(r"(?i)badrequest|bad_request|invalid|unprocessable|notfound|\b4(00|04|22)\b"),
        ErrorClass.BAD_REQUEST,
    ),
    (
        re.compile(r"(?i)internal|server|overloaded|unavailable|\b5\d\d\b|\b529\b"),
        ErrorClass.SERVER_ERROR,
    ),
)


class MalformedTraceError(ValueError):
    """A payload that cannot become runs; the message is the 400's reason."""


@dataclass(slots=True)
class IngestedSpan:
    """One span as an action; the store sets its seq and parent_seq (its parent may live in
    another export). Plain fields, not a NewAction: building a frozen 17-field dataclass per
    span cost more than the rest of the mapping (see ``action`` for one)."""

    span_id: str  # 16 hex digits
    parent_span_id: str | None
    start_ns: int
    name: str
    kind: str
    outcome: str
    started_at: int
    ended_at: int
    duration_ns: int
    inputs: Any
    outputs: Any
    usage: tuple[int, int, int, int, int] | None  # input, output, cache read/write, reasoning
    cost_usd: float | None
    cost_source: str | None
    error_class: str | None
    error_message: str | None
    meta: dict[str, Any]

    @property
    def action(self) -> NewAction:
        return NewAction(
            name=self.name,
            kind=self.kind,
            outcome=self.outcome,
            started_at=self.started_at,
            ended_at=self.ended_at,
            inputs=self.inputs,
            outputs=self.outputs,
            usage=TokenUsage(*self.usage) if self.usage is not None else None,
            duration_ns=self.duration_ns,
            cost_usd=self.cost_usd,
            cost_source=CostSource(self.cost_source) if self.cost_source else None,
            error_class=self.error_class,
            error_message=self.error_message,
            meta=self.meta,
        )


@dataclass(frozen=True, slots=True)
class IngestedTrace:
    trace_id: str  # 32 hex digits; the run's id unless another run already has it
    run: NewRun
    end: RunEnd
    spans: list[IngestedSpan]  # by start time, then span id

    @property
    def run_id(self) -> str:
        return self.trace_id

    @property
    def actions(self) -> list[NewAction]:
        return [s.action for s in self.spans]


def bytes_as_text(raw: bytes) -> str:
    """A bytesValue as the log keeps it: its text when it is UTF-8, else hex."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.hex()


def value_of(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "string_value":
        return value.string_value
    if which == "array_value":
        return [value_of(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: value_of(kv.value) for kv in value.kvlist_value.values}
    if which == "bytes_value":
        return bytes_as_text(value.bytes_value)
    return getattr(value, which)


def _int(attrs: Mapping[str, Any], *keys: str) -> int:
    """The first count among keys (0 when none); MalformedTraceError for NaN, infinity or a
    count no model ever reported (it would overflow the log's 64-bit sums)."""
    for key in keys:
        value = attrs.get(key)
        if value is None:
            continue
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
        if value is not None and value != "" and value != []:
            return value
    return None


def _json_or_text(value: Any) -> Any:
    """A JSON attribute parsed (orjson: a quarter of json.loads' time on message lists), or
    the text as it came when it is not JSON."""
    if isinstance(value, str) and value[:1] in ("[", "{", '"'):
        try:
            return orjson.loads(value)
        except (ValueError, RecursionError):
            return value
    return value


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None  # (None: most spans state no cost; float(None)'s exception costs more)
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
    if any(k.startswith(("gen_ai.usage.", "llm.token_count")) for k in attrs):
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


_Entry = tuple[Span, dict[str, Any], dict[str, Any], str]
# A span not yet mapped: the span, its resource's attributes, its scope's name.
SpanRef = tuple[Span, dict[str, Any], str]


def group_request(request: ExportTraceServiceRequest) -> list[tuple[bytes, list[SpanRef]]]:
    """The request's spans grouped by trace id (ids checked, a repeated span taken once), not
    yet mapped: the receiver maps a batch of traces at a time, so a 32 MB export never sits in
    memory as Python objects all at once. MalformedTraceError for a malformed id or time."""
    grouped: dict[bytes, dict[bytes, SpanRef]] = {}
    index = 0
    for rs in request.resource_spans:
        resource = {kv.key: value_of(kv.value) for kv in rs.resource.attributes}
        for ss in rs.scope_spans:
            scope = ss.scope.name
            for span in ss.spans:
                index += 1
                _check_ids(span, index)
                spans = grouped.setdefault(span.trace_id, {})
                if span.span_id not in spans:
                    spans[span.span_id] = (span, resource, scope)
    return [(tid, list(spans.values())) for tid, spans in grouped.items()]


def map_trace(tid: bytes, refs: Sequence[SpanRef], prices: PriceBook | None) -> IngestedTrace:
    """One trace's spans as a run and its actions; MalformedTraceError says what is wrong."""
    entries: list[_Entry] = []
    for span, resource, scope in refs:
        attrs: dict[str, Any] = {}
        for kv in span.attributes:
            value = kv.value
            # Most values are text: a non-empty string_value is one (no WhichOneof needed).
            attrs[kv.key] = value.string_value or value_of(value)
        entries.append((span, attrs, resource, scope))
    return _trace(tid, entries, prices)


def traces_from_request(
    request: ExportTraceServiceRequest, prices: PriceBook | None = None
) -> list[IngestedTrace]:
    """One IngestedTrace per trace id in the request; MalformedTraceError says what is wrong
    (and then nothing of the request should be written). A span repeated in the request (same
    trace and span id) is taken once."""
    return [map_trace(tid, refs, prices) for tid, refs in group_request(request)]


def _trace(tid: bytes, spans: Sequence[_Entry], prices: PriceBook | None) -> IngestedTrace:
    ordered = sorted(spans, key=lambda s: (s[0].start_time_unix_nano, s[0].span_id))
    ingested: list[IngestedSpan] = []
    model, provider, agent = "", "", None
    failed: Span | None = None
    own = {s.span_id for s, _a, _r, _s in ordered}
    root: Span | None = None
    for span, attrs, _resource, scope in ordered:
        item, span_model, span_provider = _span(span, attrs, scope, prices)
        parent = span.parent_span_id
        ingested.append(item)
        model = model or span_model
        provider = provider or span_provider
        agent = agent or _first(attrs, "gen_ai.agent.name", "agent.name")
        if item.outcome == _ERROR and not parent:
            failed = span
        if root is None and (not parent or parent not in own):
            root = span
    root = root or ordered[0][0]
    if failed is None and root.status.code == Status.STATUS_CODE_ERROR:
        failed = root
    resource = ordered[0][2]
    start_ns = min(s.start_time_unix_nano for s, _a, _r, _s in ordered)
    end_ns = max(max(s.end_time_unix_nano, s.start_time_unix_nano) for s, _a, _r, _s in ordered)
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
    failed_attrs = next((a for s, a, _r, _s in ordered if s is failed), {}) if failed else {}
    end = RunEnd(
        status=RunStatus.FAILED.value if failed else RunStatus.COMPLETED.value,
        ended_at=end_ns // 1_000_000,
        duration_ns=end_ns - start_ns,
        error_class=error_class_of(failed_attrs, failed.status.message) if failed else None,
        error_message=(failed.status.message or "the span reported an error") if failed else None,
    )
    return IngestedTrace(run_id, new_run, end, ingested)


def error_class_of(attrs: Mapping[str, Any], message: str = "") -> str:
    """ATO's error class for a failed span: from error.type (or the message) when it names a
    known kind of failure, else "external" (the source's own type stays in the meta)."""
    stated = attrs.get("error.type") or attrs.get("exception.type") or ""
    for text in (str(stated), message or ""):
        if not text:
            continue
        for pattern, error_class in _ERROR_RULES:
            if pattern.search(text):
                return str(error_class)
    return EXTERNAL_ERROR


_SUCCESS, _ERROR = Outcome.SUCCESS.value, Outcome.ERROR.value
_PROVIDER_COST, _ESTIMATED, _UNKNOWN = (
    CostSource.PROVIDER.value,
    CostSource.ESTIMATED.value,
    CostSource.UNKNOWN.value,
)


def _span(
    span: Span, attrs: dict[str, Any], scope: str, prices: PriceBook | None
) -> tuple[IngestedSpan, str, str]:
    # The attributes nothing reads by name (few: most are in MAPPED); the prefix checks
    # below look at these alone rather than at every attribute again.
    extra = [k for k in attrs if k not in MAPPED]
    op = _operation(attrs)
    invocation = _json_or_text(attrs.get("llm.invocation_parameters"))
    if not isinstance(invocation, dict):
        invocation = {}
    model = str(
        _first(
            attrs,
            "gen_ai.response.model",
            "gen_ai.request.model",
            "llm.response.model_name",
            "llm.model_name",
            "llm.request.model_name",
        )
        or invocation.get("model")
        or ""
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

    usage: tuple[int, int, int, int, int] | None = None
    counted = not _COUNT_KEYS.isdisjoint(attrs)
    input_tokens = (
        0
        if not counted
        else _int(
            attrs,
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.prompt_tokens",
            "llm.token_count.prompt",
        )
    )
    output_tokens = (
        0
        if not counted
        else _int(
            attrs,
            "gen_ai.usage.output_tokens",
            "gen_ai.usage.completion_tokens",
            "llm.token_count.completion",
        )
    )
    if input_tokens or output_tokens:
        usage = (
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
    runtime = PROVIDER_RUNTIMES.get(provider, DEFAULT_RUNTIME)
    stated = _float(
        _first(
            attrs, "llm.cost.total", "gen_ai.cost.total_cost", "gen_ai.usage.cost", "ato.cost.usd"
        )
    )
    if stated is None and "hidden_params" in attrs:  # LiteLLM: {"response_cost": ...}
        hidden = _json_or_text(attrs["hidden_params"])
        if isinstance(hidden, dict):
            stated = _float(hidden.get("response_cost"))
    cost_usd: float | None = None
    cost_source: str | None = None
    if stated is not None:
        cost_usd, cost_source = stated, _PROVIDER_COST
    elif usage is not None:
        if prices is not None and model:
            # The price in force when the call was made, as dispatches are priced.
            at = datetime.fromtimestamp(span.start_time_unix_nano / 1e9, UTC)
            cost = prices.cost(runtime, model, TokenUsage(*usage), at=at)
            cost_usd, cost_source = cost.usd, str(cost.source.value)
        else:
            cost_source = _UNKNOWN

    inputs: Any = None
    outputs: Any = None
    if is_llm:
        inputs, outputs = _llm_io(attrs, extra, invocation, runtime, model)
    else:
        if tool and attrs.get("gen_ai.tool.call.arguments") is not None:
            inputs = {"arguments": _json_or_text(attrs["gen_ai.tool.call.arguments"])}
        elif attrs.get("input.value") is not None:
            inputs = {"input": _json_or_text(attrs["input.value"])}
        result = _first(attrs, "gen_ai.tool.call.result", "output.value")
        if result is not None:
            outputs = {"text": result if isinstance(result, str) else json.dumps(result)}

    status = span.status
    errored = status.code == Status.STATUS_CODE_ERROR
    unknown = {k: attrs[k] for k in extra if not k.startswith(_MAPPED_PREFIXES)}
    span_id = span.span_id.hex()
    parent = span.parent_span_id.hex() if span.parent_span_id else None
    meta: dict[str, Any] = {"otel.span_name": span.name, "otel.span_id": span_id}
    if parent:
        meta["otel.parent_span_id"] = parent
    if scope:
        meta["otel.scope"] = scope
    if op:
        meta["otel.operation"] = op
    if provider:
        meta["provider"] = provider
    if model:
        meta["response_model"] = model
    if errored and attrs.get("error.type"):
        meta["otel.error_type"] = str(attrs["error.type"])
    if unknown:
        meta["otel.attributes"] = unknown
    start_ns = span.start_time_unix_nano
    end_ns = max(span.end_time_unix_nano, start_ns)
    error_class: str | None = None
    if errored:
        error_class = "tool" if kind == "tool" else error_class_of(attrs, status.message)
    return (
        IngestedSpan(
            span_id,
            parent,
            start_ns,
            name,
            kind,
            _ERROR if errored else _SUCCESS,
            start_ns // 1_000_000,
            end_ns // 1_000_000,
            end_ns - start_ns,
            inputs,
            outputs,
            usage,
            cost_usd,
            cost_source,
            error_class,
            (status.message or None) if errored else None,
            meta,
        ),
        model if is_llm else "",
        provider,
    )


# -- model calls: the conversation, as the dispatcher records it ---------------------------------


def _llm_io(
    attrs: Mapping[str, Any],
    extra: Sequence[str],
    invocation: Mapping[str, Any],
    runtime: str,
    model: str,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(inputs, outputs) of a model call from whichever convention the span speaks; extra:
    the keys of attrs not in MAPPED (every key a prefix below matches is one of them, except
    gen_ai.request.model, which names no parameter, and gen_ai.tool.definitions)."""
    messages: list[dict[str, Any]] = []
    system: list[str] = []
    captured = False
    raw = attrs.get("gen_ai.input.messages")
    if raw is not None:
        captured = True
        _genai_messages(_json_or_text(raw), messages, system)
    elif any(k.startswith("llm.input_messages.") for k in extra):
        captured = True
        _openinference_messages(attrs, "llm.input_messages.", messages, system)
    instructions = attrs.get("gen_ai.system_instructions")
    if instructions is not None:
        captured = True
        system[:0] = [_parts_text(_json_or_text(instructions))]
    inputs: dict[str, Any] = {"runtime": runtime, "model": model, "messages": messages}
    if system:
        inputs["system"] = "\n\n".join(s for s in system if s)
    params = (
        _params(extra, attrs, invocation) if invocation or _has_prefix(extra, _PARAM_PREFIX) else {}
    )
    if params:
        inputs["params"] = params
    has_tools = "gen_ai.tool.definitions" in attrs or _has_prefix(extra, "llm.tools.")
    tools = _tools(attrs) if has_tools else []
    if tools:
        inputs["tools"] = tools
    if not captured:
        if attrs.get("input.value") is not None:
            inputs["input"] = _json_or_text(attrs["input.value"])
        else:
            # Replay says why it cannot resend this call: the source never recorded it.
            inputs["content_captured"] = False

    out_messages: list[dict[str, Any]] = []
    raw_out = attrs.get("gen_ai.output.messages")
    if raw_out is not None:
        _genai_messages(_json_or_text(raw_out), out_messages, [])
    elif any(k.startswith("llm.output_messages.") for k in extra):
        _openinference_messages(attrs, "llm.output_messages.", out_messages, [])
    outputs: dict[str, Any] | None = None
    if out_messages:
        outputs = {"text": "\n".join(m["content"] for m in out_messages if m.get("content"))}
        calls = [c for m in out_messages for c in m.get("tool_calls", ())]
        if calls:
            outputs["tool_calls"] = calls
    elif attrs.get("output.value") is not None:
        outputs = {"text": str(attrs["output.value"])}
    reasons = _json_or_text(_first(attrs, "gen_ai.response.finish_reasons", "llm.finish_reason"))
    if isinstance(reasons, list) and reasons:
        reasons = reasons[0]
    if isinstance(reasons, str) and reasons:
        outputs = dict(outputs or {})
        outputs["finish_reason"] = reasons
    return inputs, outputs


def _genai_messages(value: Any, messages: list[dict[str, Any]], system: list[str]) -> None:
    """GenAI (and LiteLLM) messages: {role, parts: [text | tool_call | tool_call_response]},
    or chat-style {role, content, tool_calls, tool_call_id}."""
    if isinstance(value, str):
        messages.append({"role": "user", "content": value})
        return
    if not isinstance(value, list):
        return
    # Parsed JSON (orjson) or an OTLP kvlist: its objects are dicts (isinstance against the
    # Mapping ABC costs several times more, for every message and part).
    for item in value:
        if not isinstance(item, dict):
            continue
        role = str(item.get("role") or "user")
        texts: list[str] = []
        calls: list[dict[str, Any]] = []
        results: list[tuple[str | None, str]] = []
        parts = item.get("parts")
        if parts is None:
            parts = item.get("content")
        if isinstance(parts, str):
            texts.append(parts)
        elif isinstance(parts, list):
            for part in parts:
                if isinstance(part, str):
                    texts.append(part)
                    continue
                if not isinstance(part, dict):
                    continue
                kind = part.get("type")
                if kind == "tool_call":
                    calls.append(_call(part.get("id"), part.get("name"), part.get("arguments")))
                elif kind == "tool_call_response":
                    response = part.get("response", part.get("result"))
                    results.append((_str_or_none(part.get("id")), _as_text(response)))
                else:
                    text = part.get("content", part.get("text"))
                    if isinstance(text, str):
                        texts.append(text)
        for raw_call in item.get("tool_calls") or ():  # LiteLLM keeps OpenAI's shape
            if isinstance(raw_call, Mapping):
                function = raw_call.get("function")
                function = function if isinstance(function, Mapping) else raw_call
                calls.append(
                    _call(raw_call.get("id"), function.get("name"), function.get("arguments"))
                )
        text = "".join(texts)
        if role == "system" or role == "developer":
            system.append(text)
        elif role == "tool" or results:
            if results:
                for call_id, content in results:
                    messages.append({"role": "tool", "content": content, "tool_call_id": call_id})
            else:
                messages.append(
                    {
                        "role": "tool",
                        "content": text,
                        "tool_call_id": _str_or_none(item.get("tool_call_id")),
                    }
                )
        else:
            message: dict[str, Any] = {"role": role, "content": text}
            if calls:
                message["tool_calls"] = calls
            messages.append(message)


def _openinference_messages(
    attrs: Mapping[str, Any], prefix: str, messages: list[dict[str, Any]], system: list[str]
) -> None:
    """OpenInference's flattened messages: prefix + N.message.role / .content /
    .contents.M.message_content.text / .tool_calls.K.tool_call.{id,function.name,function.
    arguments} / .tool_call_id."""
    found: dict[int, dict[str, Any]] = {}
    for key, value in attrs.items():
        if not key.startswith(prefix):
            continue
        head, _, rest = key[len(prefix) :].partition(".message.")
        if not head.isdigit() or not rest:
            continue
        found.setdefault(int(head), {})[rest] = value
    for index in sorted(found):
        fields = found[index]
        role = str(fields.get("role") or "user")
        content = fields.get("content")
        if not isinstance(content, str):
            pieces = sorted(
                (int(k.split(".")[1]), v)
                for k, v in fields.items()
                if k.startswith("contents.")
                and k.endswith(".message_content.text")
                and k.split(".")[1].isdigit()
            )
            content = "".join(str(v) for _i, v in pieces)
        calls: dict[int, dict[str, Any]] = {}
        for k, v in fields.items():
            if k.startswith("tool_calls."):
                number, _, field = k[len("tool_calls.") :].partition(".tool_call.")
                if number.isdigit():
                    calls.setdefault(int(number), {})[field] = v
        if role in ("system", "developer"):
            system.append(content)
            continue
        message: dict[str, Any] = {"role": role, "content": content}
        if calls:
            message["tool_calls"] = [
                _call(c.get("id"), c.get("function.name"), c.get("function.arguments"))
                for _n, c in sorted(calls.items())
            ]
        if role == "tool":
            message["tool_call_id"] = _str_or_none(fields.get("tool_call_id"))
        messages.append(message)


def _call(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    parsed = _json_or_text(arguments)
    if not isinstance(parsed, dict):
        parsed = {} if parsed in (None, "") else {"$raw": str(parsed)}
    return {"id": _str_or_none(call_id) or "", "name": str(name or ""), "arguments": parsed}


def _parts_text(value: Any) -> str:
    """The text of system instructions: a string, or a list of text parts."""
    if isinstance(value, str):
        return value
    texts: list[str] = []
    for part in value if isinstance(value, list) else ():
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, Mapping):
            text = part.get("content", part.get("text"))
            if isinstance(text, str):
                texts.append(text)
            elif isinstance(part.get("parts"), list):
                texts.append(_parts_text(part["parts"]))
    return "\n".join(texts)


_PARAM_PREFIX = "gen_ai.request."
# Every attribute a token count is read from (the usage block below reads nothing else).
_COUNT_KEYS = frozenset(
    {
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.prompt_tokens",
        "llm.token_count.prompt",
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.completion_tokens",
        "llm.token_count.completion",
    }
)


def _has_prefix(keys: Sequence[str], prefix: str | tuple[str, ...]) -> bool:
    return any(key.startswith(prefix) for key in keys)


def _params(
    extra: Sequence[str], attrs: Mapping[str, Any], invocation: Mapping[str, Any]
) -> dict[str, Any]:
    """Request parameters: the invocation's, then gen_ai.request.* (among extra: the keys not
    in MAPPED)."""
    params: dict[str, Any] = {}
    for key, value in invocation.items():
        name = _PARAMS.get(key)
        if name and value is not None:
            params[name] = value
    for key in extra:
        value = attrs[key]
        if key.startswith("gen_ai.request.") and value is not None:
            name = _PARAMS.get(key[len("gen_ai.request.") :])
            if name:
                params.setdefault(name, value)
    return params


def _tools(attrs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Tools offered: gen_ai.tool.definitions, or OpenInference's llm.tools.N.tool.json_schema
    (both OpenAI-shaped), as the dispatcher records them."""
    raw: list[Any] = []
    definitions = _json_or_text(attrs.get("gen_ai.tool.definitions"))
    if isinstance(definitions, list):
        raw.extend(definitions)
    else:
        numbered = []
        for key, value in attrs.items():
            if key.startswith("llm.tools.") and key.endswith(".tool.json_schema"):
                number = key[len("llm.tools.") : -len(".tool.json_schema")]
                if number.isdigit():
                    numbered.append((int(number), _json_or_text(value)))
        raw.extend(v for _n, v in sorted(numbered, key=lambda item: item[0]))
    tools: list[dict[str, Any]] = []
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        function = item.get("function") if isinstance(item.get("function"), Mapping) else item
        assert isinstance(function, Mapping)
        name = function.get("name")
        if not name:
            continue
        schema = function.get("parameters") or function.get("input_schema")
        tools.append(
            {
                "name": str(name),
                "description": str(function.get("description") or ""),
                "input_schema": dict(schema) if isinstance(schema, Mapping) else {"type": "object"},
            }
        )
    return tools


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


def _str_or_none(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
