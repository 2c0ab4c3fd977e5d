"""The three wire formats, event by event, as the official SDKs parse them.

Field names and event order follow the real APIs: Anthropic Messages streaming
(message_start, content_block_start, ping, content_block_delta..., content_block_stop,
message_delta, message_stop), OpenAI Responses streaming (response.created ...
response.completed) and Chat Completions chunks ending in ``data: [DONE]``. tests/fakes/
test_wire_formats.py validates every payload against the SDKs' own pydantic types.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

from tests.fakes.scenario import Scenario

_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    """An id shaped like the provider's (msg_..., resp_..., chatcmpl-...), unique per process."""
    return f"{prefix}{next(_ids):024x}"


@dataclass(frozen=True)
class SSE:
    """One server-sent event: ``event: <name>`` (when given) and one ``data:`` line."""

    event: str | None
    data: dict[str, Any] | str

    def encode(self) -> bytes:
        import json

        payload = self.data if isinstance(self.data, str) else json.dumps(self.data)
        head = f"event: {self.event}\n" if self.event else ""
        return f"{head}data: {payload}\n\n".encode()


@dataclass(frozen=True)
class ErrorReply:
    """A non-2xx answer: status, JSON body and headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def _model(request: dict[str, Any], scenario: Scenario, fallback: str) -> str:
    model = scenario.response_model or request.get("model")
    return str(model) if model else fallback


def _retry_headers(scenario: Scenario, status: int) -> dict[str, str]:
    headers: dict[str, str] = {}
    if scenario.retry_after is not None:
        headers["retry-after"] = scenario.retry_after
    elif status == 429:
        headers["retry-after"] = "1"
    if scenario.retry_after_ms is not None:
        headers["retry-after-ms"] = scenario.retry_after_ms
    if scenario.should_retry is not None:
        headers["x-should-retry"] = "true" if scenario.should_retry else "false"
    return headers


# --------------------------------------------------------------------------- Anthropic Messages

_ANTHROPIC_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "messages: at least one message is required"),
    401: ("authentication_error", "invalid x-api-key"),
    402: ("billing_error", "Your credit balance is too low to access the Anthropic API."),
    403: (
        "permission_error",
        "Your API key does not have permission to use the specified resource.",
    ),
    404: ("not_found_error", "model: not found"),
    413: ("invalid_request_error", "Request exceeds the maximum allowed number of bytes."),
    429: (
        "rate_limit_error",
        "This request would exceed the rate limit for your organization of 50 input tokens "
        "per minute. Please try again later.",
    ),
    500: ("api_error", "Internal server error"),
    504: ("timeout_error", "Request timed out"),
    529: ("overloaded_error", "Overloaded"),
}


class AnthropicWire:
    """Anthropic Messages: ``POST /v1/messages``."""

    def __init__(self, request: dict[str, Any], scenario: Scenario) -> None:
        self.request = request
        self.scenario = scenario
        self.message_id = new_id("msg_")
        self.request_id = new_id("req_")
        self.model = _model(request, scenario, "claude-fake")

    def _start_usage(self) -> dict[str, Any]:
        if self.scenario.raw_usage is not None:
            return {"input_tokens": 0, "output_tokens": 0}
        u = self.scenario.usage
        return {
            "input_tokens": u.uncached_input_tokens,
            "cache_creation_input_tokens": u.cache_write_tokens,
            "cache_read_input_tokens": u.cache_read_tokens,
            "cache_creation": {
                "ephemeral_5m_input_tokens": u.cache_write_tokens,
                "ephemeral_1h_input_tokens": 0,
            },
            "output_tokens": 1,
            "service_tier": "standard",
        }

    def final_usage(self) -> dict[str, Any]:
        if self.scenario.raw_usage is not None:
            return dict(self.scenario.raw_usage)
        u = self.scenario.usage
        usage: dict[str, Any] = {
            "input_tokens": u.uncached_input_tokens,
            "cache_creation_input_tokens": u.cache_write_tokens,
            "cache_read_input_tokens": u.cache_read_tokens,
            "output_tokens": u.output_tokens,
        }
        if u.reasoning_tokens:
            usage["output_tokens_details"] = {"thinking_tokens": u.reasoning_tokens}
        return usage

    def _stop(self) -> tuple[str, str | None]:
        reason = self.scenario.stop_reason or "end_turn"
        sequence = None
        stops = self.request.get("stop_sequences")
        if reason == "stop_sequence" and isinstance(stops, list) and stops:
            sequence = str(stops[0])
        return reason, sequence

    def preamble(self) -> list[SSE]:
        message: dict[str, Any] = {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": self.model,
            "stop_reason": None,
            "stop_sequence": None,
            "usage": self._start_usage(),
        }
        return [
            SSE("message_start", {"type": "message_start", "message": message}),
            SSE(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            SSE("ping", {"type": "ping"}),
        ]

    def text_delta(self, text: str) -> SSE:
        return SSE(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": text},
            },
        )

    def ending(self) -> list[SSE]:
        reason, sequence = self._stop()
        return [
            SSE("content_block_stop", {"type": "content_block_stop", "index": 0}),
            SSE(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": reason, "stop_sequence": sequence},
                    "usage": self.final_usage(),
                },
            ),
            SSE("message_stop", {"type": "message_stop"}),
        ]

    def stream_error(self) -> list[SSE]:
        kind = self.scenario.stream_error_type or "overloaded_error"
        defaults = {kind_: text for kind_, text in _ANTHROPIC_ERRORS.values()}
        message = self.scenario.error_message or defaults.get(kind, "Overloaded")
        return [
            SSE(
                "error",
                {
                    "type": "error",
                    "error": {"type": kind, "message": message},
                    "request_id": self.request_id,
                },
            )
        ]

    def json_response(self) -> dict[str, Any]:
        reason, sequence = self._stop()
        return {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [{"type": "text", "text": self.scenario.text, "citations": None}],
            "stop_reason": reason,
            "stop_sequence": sequence,
            "usage": {**self._start_usage(), **self.final_usage()},
        }

    def error(self, status: int, api_key: str | None) -> ErrorReply:
        kind, message = _ANTHROPIC_ERRORS.get(
            status, ("api_error" if status >= 500 else "invalid_request_error", "Error")
        )
        if self.scenario.error_message:
            message = self.scenario.error_message
        elif status == 401 and self.scenario.echo_key_in_error and api_key:
            message = f"invalid x-api-key: {api_key}"
        headers = {"request-id": self.request_id, **_retry_headers(self.scenario, status)}
        if status == 429:
            headers["anthropic-ratelimit-requests-remaining"] = "0"
        body = {
            "type": "error",
            "error": {"type": kind, "message": message},
            "request_id": self.request_id,
        }
        return ErrorReply(status, body, headers)


# ------------------------------------------------------------------------------ OpenAI errors

_OPENAI_ERRORS: dict[int, tuple[str | None, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid value for 'input'."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided: {key}."),
    403: ("invalid_request_error", "unsupported_country_region_territory", "Forbidden."),
    404: ("invalid_request_error", "model_not_found", "The model `{model}` does not exist."),
    429: (
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached for {model} on requests per min (RPM): Limit 3, Used 3, "
        "Requested 1. Please try again in 1s.",
    ),
    500: (
        "server_error",
        None,
        "The server had an error while processing your request. Sorry about that!",
    ),
    503: ("server_error", None, "The engine is currently overloaded, please try again later"),
}


def _mask(key: str | None) -> str:
    """OpenAI's own masking of a wrong key in its 401 message: sk-pr************abcd."""
    if not key:
        return "<none>"
    return key[:5] + "*" * max(len(key) - 9, 3) + key[-4:]


def openai_error(
    status: int, scenario: Scenario, request: dict[str, Any], api_key: str | None
) -> ErrorReply:
    """An OpenAI error answer (shared by Responses and Chat Completions)."""
    kind, code, message = _OPENAI_ERRORS.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None, "Error")
    )
    if scenario.error_message:
        message = scenario.error_message
    else:
        shown = api_key if scenario.echo_key_in_error else _mask(api_key)
        message = message.format(key=shown or "", model=request.get("model", "unknown"))
    headers = {"x-request-id": new_id("req_"), **_retry_headers(scenario, status)}
    if status == 429:
        headers["x-ratelimit-remaining-requests"] = "0"
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return ErrorReply(status, body, headers)


# ---------------------------------------------------------------------------- OpenAI Responses


class ResponsesWire:
    """OpenAI Responses: ``POST /v1/responses``."""

    def __init__(self, request: dict[str, Any], scenario: Scenario) -> None:
        self.request = request
        self.scenario = scenario
        self.response_id = new_id("resp_")
        self.item_id = new_id("msg_")
        self.model = _model(request, scenario, "gpt-fake")
        self.created_at = int(time.time())
        self._sequence = itertools.count()

    def usage(self) -> dict[str, Any]:
        if self.scenario.raw_usage is not None:
            return dict(self.scenario.raw_usage)
        u = self.scenario.usage
        return {
            "input_tokens": u.total_input_tokens,
            "input_tokens_details": {
                "cached_tokens": u.cache_read_tokens,
                "cache_write_tokens": u.cache_write_tokens,
            },
            "output_tokens": u.output_tokens,
            "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
            "total_tokens": u.total_input_tokens + u.output_tokens,
        }

    def _part(self, text: str) -> dict[str, Any]:
        return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}

    def _item(self, status: str, text: str | None) -> dict[str, Any]:
        return {
            "id": self.item_id,
            "type": "message",
            "status": status,
            "role": "assistant",
            "content": [] if text is None else [self._part(text)],
        }

    def response(
        self,
        status: str,
        *,
        output: list[dict[str, Any]] | None = None,
        usage: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
        incomplete_reason: str | None = None,
    ) -> dict[str, Any]:
        r = self.request
        return {
            "id": self.response_id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "background": False,
            "error": error,
            "incomplete_details": (
                {"reason": incomplete_reason} if incomplete_reason is not None else None
            ),
            "instructions": r.get("instructions"),
            "max_output_tokens": r.get("max_output_tokens"),
            "max_tool_calls": None,
            "model": self.model,
            "output": output or [],
            "parallel_tool_calls": True,
            "previous_response_id": None,
            "prompt_cache_key": None,
            "reasoning": {"effort": None, "summary": None},
            "safety_identifier": None,
            "service_tier": "default",
            "store": True,
            "temperature": r.get("temperature", 1.0),
            "text": {"format": {"type": "text"}, "verbosity": "medium"},
            "tool_choice": "auto",
            "tools": [],
            "top_logprobs": 0,
            "top_p": r.get("top_p", 1.0),
            "truncation": "disabled",
            "usage": usage,
            "user": None,
            "metadata": {},
        }

    def _event(self, kind: str, **fields: Any) -> SSE:
        return SSE(kind, {"type": kind, "sequence_number": next(self._sequence), **fields})

    def preamble(self) -> list[SSE]:
        return [
            self._event("response.created", response=self.response("in_progress")),
            self._event("response.in_progress", response=self.response("in_progress")),
            self._event(
                "response.output_item.added", output_index=0, item=self._item("in_progress", None)
            ),
            self._event(
                "response.content_part.added",
                item_id=self.item_id,
                output_index=0,
                content_index=0,
                part=self._part(""),
            ),
        ]

    def text_delta(self, text: str) -> SSE:
        return self._event(
            "response.output_text.delta",
            item_id=self.item_id,
            output_index=0,
            content_index=0,
            delta=text,
            logprobs=[],
        )

    def _final_status(self) -> tuple[str, str | None]:
        reason = self.scenario.stop_reason
        if reason and reason not in ("completed", "stop", "end_turn"):
            return "incomplete", reason
        return "completed", None

    def ending(self) -> list[SSE]:
        text = self.scenario.text
        status, reason = self._final_status()
        item_status = "completed" if status == "completed" else "incomplete"
        final = self.response(
            status,
            output=[self._item(item_status, text)],
            usage=self.usage(),
            incomplete_reason=reason,
        )
        return [
            self._event(
                "response.output_text.done",
                item_id=self.item_id,
                output_index=0,
                content_index=0,
                text=text,
                logprobs=[],
            ),
            self._event(
                "response.content_part.done",
                item_id=self.item_id,
                output_index=0,
                content_index=0,
                part=self._part(text),
            ),
            self._event(
                "response.output_item.done", output_index=0, item=self._item(item_status, text)
            ),
            self._event(f"response.{status}", response=final),
        ]

    def stream_error(self) -> list[SSE]:
        code = self.scenario.stream_error_type or "server_error"
        message = self.scenario.error_message or "The model failed to generate a response."
        if self.scenario.responses_error_event == "error":
            return [self._event("error", code=code, message=message, param=None)]
        failed = self.response("failed", error={"code": code, "message": message})
        return [self._event("response.failed", response=failed)]

    def json_response(self) -> dict[str, Any]:
        status, reason = self._final_status()
        return self.response(
            status,
            output=[self._item("completed", self.scenario.text)],
            usage=self.usage(),
            incomplete_reason=reason,
        )

    def error(self, status: int, api_key: str | None) -> ErrorReply:
        return openai_error(status, self.scenario, self.request, api_key)


# ------------------------------------------------------------------------ OpenAI Chat Completions


class ChatWire:
    """Chat Completions: ``POST /v1/chat/completions`` (OpenAI and every compatible server)."""

    def __init__(self, request: dict[str, Any], scenario: Scenario) -> None:
        self.request = request
        self.scenario = scenario
        self.completion_id = new_id("chatcmpl-")
        self.model = _model(request, scenario, "local-fake")
        self.created = int(time.time())
        options = request.get("stream_options")
        self.include_usage = isinstance(options, dict) and options.get("include_usage") is True

    def usage(self) -> dict[str, Any]:
        if self.scenario.raw_usage is not None:
            return dict(self.scenario.raw_usage)
        u = self.scenario.usage
        usage: dict[str, Any] = {
            "prompt_tokens": u.total_input_tokens,
            "completion_tokens": u.output_tokens,
            "total_tokens": u.total_input_tokens + u.output_tokens,
            "prompt_tokens_details": {
                "cached_tokens": u.cache_read_tokens,
                "cache_write_tokens": u.cache_write_tokens,
                "audio_tokens": 0,
            },
            "completion_tokens_details": {
                "reasoning_tokens": u.reasoning_tokens,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
        if self.scenario.provider_cost_usd is not None:
            usage["cost"] = self.scenario.provider_cost_usd
        return usage

    def _chunk(
        self,
        delta: dict[str, Any] | None,
        finish_reason: str | None = None,
        usage: dict[str, Any] | None = None,
    ) -> SSE:
        data: dict[str, Any] = {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_fake",
            "choices": (
                []
                if delta is None
                else [
                    {
                        "index": 0,
                        "delta": delta,
                        "logprobs": None,
                        "finish_reason": finish_reason,
                    }
                ]
            ),
        }
        if self.include_usage:
            # With include_usage every chunk carries "usage": null except the last one.
            data["usage"] = usage
        if self.scenario.bare_chunks:
            for name in ("id", "created", "model", "system_fingerprint"):
                del data[name]
            for choice in data["choices"]:
                del choice["index"], choice["logprobs"]
        return SSE(None, data)

    def preamble(self) -> list[SSE]:
        return [self._chunk({"role": "assistant", "content": "", "refusal": None})]

    def text_delta(self, text: str) -> SSE:
        return self._chunk({"content": text})

    def ending(self) -> list[SSE]:
        events = [self._chunk({}, finish_reason=self.scenario.stop_reason or "stop")]
        if self.include_usage:
            events.append(self._chunk(None, usage=self.usage()))
        events.append(SSE(None, "[DONE]"))
        return events

    def stream_error(self) -> list[SSE]:
        code = self.scenario.stream_error_type or "server_error"
        message = self.scenario.error_message or "The server had an error mid-stream."
        return [SSE(None, {"error": {"message": message, "type": code, "code": code}})]

    def json_response(self) -> dict[str, Any]:
        return {
            "id": self.completion_id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": self.scenario.text,
                        "refusal": None,
                        "annotations": [],
                    },
                    "logprobs": None,
                    "finish_reason": self.scenario.stop_reason or "stop",
                }
            ],
            "usage": self.usage(),
        }

    def error(self, status: int, api_key: str | None) -> ErrorReply:
        return openai_error(status, self.scenario, self.request, api_key)


Wire = AnthropicWire | ResponsesWire | ChatWire
