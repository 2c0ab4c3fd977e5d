"""Runs as OpenTelemetry traces: the OTLP protobuf that cloud sync sends to /v1/traces.

Pure (no I/O): a run becomes a trace with one root span, and each of its actions a span under
it (under its parent action's span when it has one). Attributes follow two conventions, so that
a backend of either family fills its own columns:

- the OpenTelemetry GenAI semantic conventions (gen_ai.operation.name, gen_ai.provider.name,
  gen_ai.request.model, gen_ai.usage.*, gen_ai.response.finish_reasons, ...);
- OpenInference (Arize Phoenix and other OpenInference backends): every span says its
  ``openinference.span.kind`` (a run is an AGENT, or a CHAIN when no agent ran it or it is a
  pipeline; a model call is an LLM; a tool or command step a TOOL; anything else a CHAIN), LLM
  spans carry ``llm.model_name``, ``llm.provider``, ``llm.token_count.*`` and ``llm.cost.total``,
  and, when content is sent, ``input.value`` / ``output.value`` with their mime types (the
  Input and Output columns: a run's prompt and final answer, a call's last user message and
  answer, a tool's arguments and result) and ``llm.input_messages.*`` /
  ``llm.output_messages.*``. Phoenix derives what a span lacks from its gen_ai.* attributes (an
  LLM span's output would be ``{"id": ..., "model": ...}`` from the response id and model), so
  these are set explicitly. Only an LLM span counts tokens in Phoenix: a run's root span is
  never one, so a trace's tokens are not counted twice.

What neither covers is under ``ato.`` (run id, trigger, status, cost with its source, pipeline
stage). A pipeline's own run calls no model: it carries its name (``ato.pipeline.name``), never
a provider or model, and a cost only when the log has one.

The resource names the project: ``service.name`` and ``openinference.project.name`` (the
project a Phoenix trace lands in) are the configured project name, "ato-desktop" by default.

Ids are derived, never random, so a batch sent again after a timeout is the very same data and
a backend that deduplicates by (trace id, span id) keeps one copy:

- trace id: the run id (a UUIDv7 is 16 bytes, like a trace id); a pipeline's stage runs are in
  their parent run's trace;
- span id: the first 8 bytes of sha256 of ``run:<run id>`` (a run's root span) or
  ``action:<run id>:<seq>``;
- a stage run's root span has the parent run's root span as its parent.

Prompt and response content goes out only when the options say so, in gen_ai.input.messages /
gen_ai.output.messages (JSON, the GenAI "parts" form), after PII redaction; known secrets are
scrubbed from every string that leaves.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from ato_desktop.core.pii import PiiRules
from ato_desktop.core.records import ActionRecord, RunRecord
from ato_desktop.core.redaction import redact_secrets

SERVICE_NAME = "ato-desktop"
SCOPE_NAME = "ato_desktop.sync"

# Whose API each runtime speaks (gen_ai.provider.name's well-known values).
RUNTIME_PROVIDERS: Mapping[str, str] = {
    "claude": "anthropic",
    "claude-code": "anthropic",
    "codex": "openai",
    "codex-cli": "openai",
    "openai-compatible": "openai",
}

LLM_ACTIONS = frozenset({"call_llm", "call_agent"})
PIPELINE_RUNTIME = "pipeline"  # a pipeline's own run (engine.pipelines): it calls no model
TOOL_KINDS = frozenset({"tool", "command", "file"})  # steps that act (OpenInference TOOL spans)

# OpenInference span kinds (openinference.semconv.trace.OpenInferenceSpanKindValues).
KIND_AGENT, KIND_CHAIN, KIND_LLM, KIND_TOOL = "AGENT", "CHAIN", "LLM", "TOOL"
TEXT_MIME, JSON_MIME = "text/plain", "application/json"
MAX_ATTRIBUTE_CHARS = 64_000  # content longer than this is cut (backends reject huge attributes)


class MalformedRunError(ValueError):
    """A run or action that cannot be encoded; the message names what is wrong."""


@dataclass(frozen=True, slots=True)
class EncodeOptions:
    """What to put in the traces."""

    include_content: bool = False
    pii: PiiRules = field(default_factory=PiiRules)
    secrets: tuple[str, ...] = ()  # known secrets, scrubbed from every string
    service_version: str = ""
    project_name: str = ""  # service.name and openinference.project.name ("": SERVICE_NAME)


@dataclass(frozen=True, slots=True)
class TraceItem:
    """One run to encode, with its actions. root_run_id: the run whose trace it belongs to
    (its pipeline's top run), when that is not the run itself."""

    run: RunRecord
    actions: Sequence[ActionRecord]
    root_run_id: str | None = None


# -- ids ------------------------------------------------------------------------------------------


def trace_id(run_id: str) -> bytes:
    """The 16-byte trace id of a run: its UUID's bytes, else a hash of the id."""
    hexed = run_id.replace("-", "").lower()
    if len(hexed) == 32:
        try:
            raw = bytes.fromhex(hexed)
        except ValueError:
            raw = b""
        if raw and any(raw):
            return raw
    return hashlib.sha256(f"trace:{run_id}".encode()).digest()[:16]


def _span_id(key: str) -> bytes:
    digest = hashlib.sha256(key.encode()).digest()
    # An all-zero span id is invalid in OTLP; the chance is 2^-64, but never send one.
    return digest[:8] if any(digest[:8]) else digest[8:16]


def run_span_id(run_id: str) -> bytes:
    return _span_id(f"run:{run_id}")


def action_span_id(run_id: str, seq: int) -> bytes:
    return _span_id(f"action:{run_id}:{seq}")


# -- attributes -----------------------------------------------------------------------------------


def any_value(value: Any) -> AnyValue:
    """A Python value as an OTLP AnyValue (bool, int, float, str, lists and dicts of them)."""
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, list | tuple):
        return AnyValue(array_value=ArrayValue(values=[any_value(v) for v in value]))
    raise MalformedRunError(f"an attribute value of type {type(value).__name__}")


class _Attrs:
    def __init__(self, options: EncodeOptions) -> None:
        self.items: list[KeyValue] = []
        self._options = options

    def add(self, key: str, value: Any) -> None:
        if value is None or value == "" or value == []:
            return
        if isinstance(value, str):
            value = redact_secrets(value, self._options.secrets)
        self.items.append(KeyValue(key=key, value=any_value(value)))


def _ns(ms: int | None) -> int:
    return int(ms) * 1_000_000 if ms is not None else 0


def _end_ns(start_ms: int, ended_ms: int | None, duration_ns: int | None) -> int:
    if ended_ms is not None and ended_ms >= start_ms:
        return _ns(ended_ms)
    if duration_ns is not None and duration_ns >= 0:
        return _ns(start_ms) + int(duration_ns)
    return _ns(start_ms)


def _messages_json(inputs: Any, options: EncodeOptions) -> tuple[str | None, str | None]:
    """(gen_ai.input.messages, gen_ai.system_instructions) of an LLM action's inputs."""
    if not isinstance(inputs, Mapping):
        return None, None
    messages = []
    for m in inputs.get("messages") or []:
        if not isinstance(m, Mapping):
            continue
        content = m.get("content")
        text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
        messages.append(
            {
                "role": str(m.get("role") or "user"),
                "parts": [{"type": "text", "content": _content(text, options)}],
            }
        )
    system = inputs.get("system")
    system_json = (
        json.dumps(
            [{"type": "text", "content": _content(str(system), options)}], ensure_ascii=False
        )
        if system
        else None
    )
    return (json.dumps(messages, ensure_ascii=False) if messages else None), system_json


def _output_json(outputs: Any, finish_reason: str | None, options: EncodeOptions) -> str | None:
    if not isinstance(outputs, Mapping):
        return None
    parts: list[dict[str, Any]] = []
    if outputs.get("text"):
        parts.append({"type": "text", "content": _content(str(outputs["text"]), options)})
    for call in outputs.get("tool_calls") or []:
        if isinstance(call, Mapping):
            parts.append(
                {
                    "type": "tool_call",
                    "id": str(call.get("id") or ""),
                    "name": str(call.get("name") or ""),
                    "arguments": options.pii.redact_value(call.get("arguments"), options.secrets),
                }
            )
    if not parts:
        return None
    message: dict[str, Any] = {"role": "assistant", "parts": parts}
    if finish_reason:
        message["finish_reason"] = finish_reason
    return json.dumps([message], ensure_ascii=False)


def _content(text: str, options: EncodeOptions) -> str:
    return options.pii.redact(text[:MAX_ATTRIBUTE_CHARS], options.secrets)


def _status(failed: bool, message: str | None, options: EncodeOptions) -> Status:
    if not failed:
        return Status(code=Status.STATUS_CODE_OK)
    text = redact_secrets(message or "", options.secrets)[:2000]
    return Status(code=Status.STATUS_CODE_ERROR, message=text)


def _usage_attrs(attrs: _Attrs, usage: Any) -> None:
    if usage is None:
        return
    attrs.add("gen_ai.usage.input_tokens", int(usage.input_tokens))
    attrs.add("gen_ai.usage.output_tokens", int(usage.output_tokens))
    if usage.cache_read_tokens:
        attrs.add("gen_ai.usage.cache_read.input_tokens", int(usage.cache_read_tokens))
    if usage.cache_write_tokens:
        attrs.add("gen_ai.usage.cache_creation.input_tokens", int(usage.cache_write_tokens))
    if usage.reasoning_tokens:
        attrs.add("ato.usage.reasoning_tokens", int(usage.reasoning_tokens))


def _cost_attrs(attrs: _Attrs, cost_usd: float | None, source: str | None) -> None:
    # Unknown is never $0: without a figure only the source goes out; and a source goes out
    # only when the log has one (a run that was never priced says nothing about cost).
    if cost_usd is not None:
        attrs.add("ato.cost.usd", float(cost_usd))
        if source != "unknown":
            attrs.add("llm.cost.total", float(cost_usd))
    attrs.add("ato.cost.source", source)


def _oi_usage_attrs(attrs: _Attrs, usage: Any) -> None:
    """OpenInference token counts (prompt tokens include the cached ones, as in TokenUsage)."""
    if usage is None:
        return
    attrs.add("llm.token_count.prompt", int(usage.input_tokens))
    attrs.add("llm.token_count.completion", int(usage.output_tokens))
    attrs.add("llm.token_count.total", int(usage.input_tokens) + int(usage.output_tokens))
    if usage.cache_read_tokens:
        attrs.add("llm.token_count.prompt_details.cache_read", int(usage.cache_read_tokens))
    if usage.cache_write_tokens:
        attrs.add("llm.token_count.prompt_details.cache_write", int(usage.cache_write_tokens))
    if usage.reasoning_tokens:
        attrs.add("llm.token_count.completion_details.reasoning", int(usage.reasoning_tokens))


def _io_attrs(attrs: _Attrs, key: str, value: Any, options: EncodeOptions) -> None:
    """input.value / output.value (key: "input" or "output") with its mime type: text as is,
    anything else as JSON; PII-redacted and cut like all content."""
    if value is None or value == "" or value == {} or value == []:
        return
    if isinstance(value, str):
        attrs.add(f"{key}.value", _content(value, options))
        attrs.add(f"{key}.mime_type", TEXT_MIME)
        return
    redacted = options.pii.redact_value(value, options.secrets)
    attrs.add(f"{key}.value", json.dumps(redacted, ensure_ascii=False)[:MAX_ATTRIBUTE_CHARS])
    attrs.add(f"{key}.mime_type", JSON_MIME)


def message_text(content: Any) -> str:
    """The text of a message's content: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [
            str(part.get("text") or part.get("content") or "")
            for part in content
            if isinstance(part, Mapping) and part.get("type", "text") == "text"
        ]
        return "\n".join(t for t in texts if t)
    return ""


def last_user_text(inputs: Any) -> str:
    """The last user message of a model call's inputs (what it was asked), or ""."""
    if not isinstance(inputs, Mapping):
        return ""
    for message in reversed(inputs.get("messages") or []):
        if isinstance(message, Mapping) and message.get("role") == "user":
            text = message_text(message.get("content"))
            if text:
                return text
    prompt = inputs.get("prompt")
    return prompt if isinstance(prompt, str) else ""


def _answer_text(outputs: Any) -> str:
    if isinstance(outputs, Mapping) and isinstance(outputs.get("text"), str):
        return str(outputs["text"])
    return ""


def _run_io(run: RunRecord, actions: Sequence[ActionRecord]) -> tuple[str, str]:
    """(prompt, final answer) of a run: a pipeline's input and output, else what its first
    model call was asked and what its last one answered."""
    if is_pipeline_run(run):
        summary = next((a for a in actions if a.kind == "pipeline"), None)
        if summary is not None:
            given = summary.inputs.get("input") if isinstance(summary.inputs, Mapping) else None
            return (given if isinstance(given, str) else ""), _answer_text(summary.outputs)
    calls = [a for a in actions if a.name in LLM_ACTIONS or a.kind in ("llm", "agent")]
    if not calls:
        return "", ""
    answer = next((_answer_text(a.outputs) for a in reversed(calls) if _answer_text(a.outputs)), "")
    return last_user_text(calls[0].inputs), answer


def _oi_message_attrs(attrs: _Attrs, action: ActionRecord, options: EncodeOptions) -> None:
    """llm.input_messages.* and llm.output_messages.* (flattened, as OpenInference has them)."""
    inputs = action.inputs if isinstance(action.inputs, Mapping) else {}
    index = 0
    system = inputs.get("system")
    if system:
        attrs.add(f"llm.input_messages.{index}.message.role", "system")
        attrs.add(f"llm.input_messages.{index}.message.content", _content(str(system), options))
        index += 1
    for message in inputs.get("messages") or []:
        if not isinstance(message, Mapping):
            continue
        content = message.get("content")
        text = message_text(content) if not isinstance(content, Mapping) else ""
        if not text and content not in (None, ""):
            text = json.dumps(content, ensure_ascii=False, default=str)
        prefix = f"llm.input_messages.{index}.message"
        attrs.add(f"{prefix}.role", str(message.get("role") or "user"))
        attrs.add(f"{prefix}.content", _content(text, options))
        index += 1
    outputs = action.outputs if isinstance(action.outputs, Mapping) else {}
    answer = _answer_text(outputs)
    calls = [c for c in outputs.get("tool_calls") or [] if isinstance(c, Mapping)]
    if not answer and not calls:
        return
    prefix = "llm.output_messages.0.message"
    attrs.add(f"{prefix}.role", "assistant")
    attrs.add(f"{prefix}.content", _content(answer, options) if answer else None)
    for n, call in enumerate(calls):
        arguments = options.pii.redact_value(call.get("arguments"), options.secrets)
        call_prefix = f"{prefix}.tool_calls.{n}.tool_call"
        attrs.add(f"{call_prefix}.id", str(call.get("id") or ""))
        attrs.add(f"{call_prefix}.function.name", str(call.get("name") or ""))
        attrs.add(
            f"{call_prefix}.function.arguments",
            json.dumps(arguments, ensure_ascii=False, default=str)[:MAX_ATTRIBUTE_CHARS],
        )


def is_pipeline_run(run: RunRecord) -> bool:
    """A pipeline's own run (its stages are runs of their own): it calls no model itself."""
    return run.runtime == PIPELINE_RUNTIME or bool(run.pipeline_id and run.stage_index is None)


# -- spans ----------------------------------------------------------------------------------------


def run_spans(item: TraceItem, options: EncodeOptions) -> list[Span]:
    """The spans of one run (its root span first); MalformedRunError when it cannot be."""
    run = item.run
    if not run.id or run.started_at is None:
        raise MalformedRunError("a run without an id or start time")
    tid = trace_id(item.root_run_id or run.id)
    root_id = run_span_id(run.id)
    provider = RUNTIME_PROVIDERS.get(run.runtime, run.runtime)
    pipeline = is_pipeline_run(run)
    operation = "invoke_agent" if run.agent_name else "chat"
    name = f"{operation} {run.agent_name or run.model}".strip()
    kind = KIND_AGENT if run.agent_name else KIND_CHAIN
    if pipeline:
        operation, name, kind = "invoke_workflow", f"pipeline {run.model}", KIND_CHAIN

    attrs = _Attrs(options)
    attrs.add("openinference.span.kind", kind)
    attrs.add("gen_ai.operation.name", operation)
    if pipeline:
        # Its "model" column is the pipeline's name: no provider, no model was called.
        attrs.add("ato.pipeline.name", run.model)
    else:
        attrs.add("gen_ai.provider.name", provider)
        attrs.add("gen_ai.request.model", run.model)
    attrs.add("gen_ai.agent.name", run.agent_name)
    attrs.add("agent.name", run.agent_name)
    attrs.add("gen_ai.agent.id", run.agent_id)
    attrs.add("gen_ai.conversation.id", run.thread_id)
    attrs.add("session.id", run.thread_id)
    if options.include_content:
        prompt, answer = _run_io(run, item.actions)
        _io_attrs(attrs, "input", prompt, options)
        _io_attrs(attrs, "output", answer, options)
    attrs.add("ato.run.id", run.id)
    attrs.add("ato.run.trigger", run.trigger)
    attrs.add("ato.run.status", run.status)
    attrs.add("ato.runtime", run.runtime)
    attrs.add("ato.agent.version", run.agent_version)
    attrs.add("ato.pipeline.id", run.pipeline_id)
    attrs.add("ato.pipeline.stage_index", run.stage_index)
    attrs.add("ato.pipeline.stage_name", run.stage_name)
    attrs.add("ato.parent_run.id", run.parent_run_id)
    attrs.add("ato.replay_of", run.replay_of)
    if run.ttft_ns is not None:
        attrs.add("ato.ttft_ms", run.ttft_ns / 1e6)
    if run.action_count and not pipeline:
        _usage_attrs(attrs, run.usage)
    attrs.add("ato.usage.tokens_estimated", run.tokens_estimated or None)
    if run.cost_usd is not None:
        attrs.add("ato.cost.usd", float(run.cost_usd))
    attrs.add("ato.cost.source", run.cost_source)
    for key, value in sorted((run.tags or {}).items()):
        if isinstance(value, str | int | float | bool):
            attrs.add(f"ato.tag.{key}", value)
    failed = run.status != "completed"
    attrs.add("error.type", run.error_class if failed else None)

    root = Span(
        trace_id=tid,
        span_id=root_id,
        parent_span_id=run_span_id(run.parent_run_id) if run.parent_run_id else b"",
        name=name,
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=_ns(run.started_at),
        end_time_unix_nano=_end_ns(run.started_at, run.ended_at, run.duration_ns),
        attributes=attrs.items,
        status=_status(failed, run.error_message, options),
    )
    spans = [root]
    seqs = {a.seq for a in item.actions}
    for action in item.actions:
        spans.append(_action_span(run, action, tid, root_id, seqs, provider, options))
    return spans


def _action_span(
    run: RunRecord,
    action: ActionRecord,
    tid: bytes,
    root_id: bytes,
    seqs: set[int],
    provider: str,
    options: EncodeOptions,
) -> Span:
    if not isinstance(action.seq, int) or action.started_at is None:
        raise MalformedRunError(f"action {action.seq!r} of run {run.id} has no seq or start")
    attrs = _Attrs(options)
    finish_reason = None
    if isinstance(action.outputs, Mapping) and action.outputs.get("finish_reason"):
        finish_reason = str(action.outputs["finish_reason"])
    meta = action.meta if isinstance(action.meta, Mapping) else {}
    if action.name in LLM_ACTIONS or action.kind in ("llm", "agent"):
        operation = "chat"
        name = f"chat {run.model}"
        attrs.add("openinference.span.kind", KIND_LLM)
        attrs.add("gen_ai.operation.name", operation)
        attrs.add("gen_ai.provider.name", provider)
        attrs.add("gen_ai.request.model", run.model)
        attrs.add("gen_ai.response.model", meta.get("response_model"))
        attrs.add("gen_ai.response.id", meta.get("response_id"))
        attrs.add("gen_ai.response.finish_reasons", [finish_reason] if finish_reason else None)
        if isinstance(action.inputs, Mapping) and isinstance(action.inputs.get("params"), Mapping):
            params = action.inputs["params"]
            for key in ("temperature", "top_p", "max_tokens", "seed"):
                value = params.get(key)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    attrs.add(f"gen_ai.request.{key}", value)
            attrs.add(
                "llm.invocation_parameters",
                json.dumps(params, ensure_ascii=False, sort_keys=True, default=str),
            )
        attrs.add("llm.model_name", meta.get("response_model") or run.model)
        attrs.add("llm.provider", provider)
        attrs.add("llm.system", provider)
        _oi_usage_attrs(attrs, action.usage)
        if options.include_content:
            messages, system = _messages_json(action.inputs, options)
            attrs.add("gen_ai.input.messages", messages)
            attrs.add("gen_ai.system_instructions", system)
            attrs.add(
                "gen_ai.output.messages", _output_json(action.outputs, finish_reason, options)
            )
            _oi_message_attrs(attrs, action, options)
            _io_attrs(attrs, "input", last_user_text(action.inputs), options)
            _io_attrs(attrs, "output", _answer_text(action.outputs), options)
    elif action.kind in TOOL_KINDS:
        name = f"execute_tool {action.name}"
        attrs.add("openinference.span.kind", KIND_TOOL)
        attrs.add("gen_ai.operation.name", "execute_tool")
        attrs.add("gen_ai.tool.name", action.name)
        attrs.add("tool.name", action.name)
        if options.include_content:
            for key, value in (
                ("gen_ai.tool.call.arguments", action.inputs),
                ("gen_ai.tool.call.result", action.outputs),
            ):
                if value is not None:
                    redacted = options.pii.redact_value(value, options.secrets)
                    attrs.add(key, json.dumps(redacted, ensure_ascii=False)[:MAX_ATTRIBUTE_CHARS])
            _io_attrs(attrs, "input", action.inputs, options)
            _io_attrs(attrs, "output", _tool_result(action.outputs), options)
    else:
        name = action.name
        attrs.add("openinference.span.kind", KIND_CHAIN)
        if options.include_content:
            _io_attrs(attrs, "input", action.inputs, options)
            _io_attrs(attrs, "output", action.outputs, options)
    attrs.add("ato.action.name", action.name)
    attrs.add("ato.action.kind", action.kind)
    attrs.add("ato.action.seq", action.seq)
    attrs.add("ato.action.outcome", action.outcome)
    _usage_attrs(attrs, action.usage)
    attrs.add("ato.usage.tokens_estimated", action.tokens_estimated or None)
    if action.ttft_ns is not None:
        attrs.add("ato.ttft_ms", action.ttft_ns / 1e6)
    if action.usage is not None or action.cost_usd is not None:
        _cost_attrs(attrs, action.cost_usd, action.cost_source)
    failed = action.outcome not in ("success", "replayed")
    attrs.add("error.type", (action.error_class or action.outcome) if failed else None)
    parent = root_id
    if action.parent_seq is not None and action.parent_seq in seqs:
        parent = action_span_id(run.id, action.parent_seq)
    return Span(
        trace_id=tid,
        span_id=action_span_id(run.id, action.seq),
        parent_span_id=parent,
        name=name,
        kind=Span.SPAN_KIND_CLIENT if action.kind in ("llm", "agent") else Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=_ns(action.started_at),
        end_time_unix_nano=_end_ns(action.started_at, action.ended_at, action.duration_ns),
        attributes=attrs.items,
        status=_status(failed, action.error_message, options),
    )


def _tool_result(outputs: Any) -> Any:
    """What a tool answered: its text content alone when that is all there is."""
    if isinstance(outputs, Mapping):
        content = outputs.get("content")
        if isinstance(content, str) and set(outputs) <= {"content", "is_error"}:
            return content
    return outputs


def export_request(spans: Iterable[Span], options: EncodeOptions) -> ExportTraceServiceRequest:
    """One ExportTraceServiceRequest carrying the given spans under ATO's resource and scope."""
    project = options.project_name.strip() or SERVICE_NAME
    resource_attrs = [
        KeyValue(key="service.name", value=AnyValue(string_value=project)),
        KeyValue(key="openinference.project.name", value=AnyValue(string_value=project)),
    ]
    if options.service_version:
        resource_attrs.append(
            KeyValue(key="service.version", value=AnyValue(string_value=options.service_version))
        )
    return ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=Resource(attributes=resource_attrs),
                scope_spans=[
                    ScopeSpans(
                        scope=InstrumentationScope(
                            name=SCOPE_NAME, version=options.service_version
                        ),
                        spans=list(spans),
                    )
                ],
            )
        ]
    )


def encode_runs(items: Iterable[TraceItem], options: EncodeOptions) -> ExportTraceServiceRequest:
    """Every item's spans in one request; MalformedRunError on the first that cannot be."""
    spans: list[Span] = []
    for item in items:
        spans.extend(run_spans(item, options))
    return export_request(spans, options)
