"""The three wire formats, event by event, as the official SDKs parse them.

Field names and event order follow the real APIs: Anthropic Messages streaming
(message_start, content_block_start, ping, content_block_delta..., content_block_stop,
message_delta, message_stop), OpenAI Responses streaming (response.created ...
response.completed) and Chat Completions chunks ending in ``data: [DONE]``, tool calls
included (Anthropic tool_use blocks, Responses function_call items, Chat tool_calls deltas).
tests/fakes/test_wire_formats.py validates every payload against the SDKs' own pydantic types.

Each wire also checks a request's conversation the way its API does (``invalid_request``):
tool results must answer the calls the model made, so a protocol error in an adapter fails a
test with the provider's real 400 instead of passing silently.
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


def _dicts(value: Any) -> list[dict[str, Any]]:
    """The dict items of a JSON list (anything else: none), for reading request bodies."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


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
        self.calls = scenario.tool_calls
        self.tool_ids = [call.id or new_id("toolu_") for call in self.calls]
        # A text block (index 0) unless the answer is tool calls alone; tool blocks follow.
        self.has_text = bool(scenario.chunks) or not self.calls
        self.first_tool_index = 1 if self.has_text else 0

    def _start_usage(self) -> dict[str, Any]:
        if self.scenario.raw_usage is not None:
            return {"input_tokens": 0, "output_tokens": 0}
        u = self.scenario.usage
        return {
            "input_tokens": u.uncached_input_tokens,
            "cache_creation_input_tokens": u.cache_write_tokens,
            "cache_read_input_tokens": u.cache_read_tokens,
            "cache_creation": {
                "ephemeral_5m_input_tokens": u.cache_write_tokens - u.cache_write_1h_tokens,
                "ephemeral_1h_input_tokens": u.cache_write_1h_tokens,
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
        reason = self.scenario.stop_reason or ("tool_use" if self.calls else "end_turn")
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
        events = [SSE("message_start", {"type": "message_start", "message": message})]
        if self.has_text:
            events.append(
                SSE(
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": 0,
                        "content_block": {"type": "text", "text": ""},
                    },
                )
            )
        events.append(SSE("ping", {"type": "ping"}))
        return events

    def text_delta(self, text: str) -> SSE:
        return SSE(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": text},
            },
        )

    def _block_stop(self, index: int) -> SSE:
        return SSE("content_block_stop", {"type": "content_block_stop", "index": index})

    def tool_steps(self) -> list[list[SSE]]:
        """One step per argument piece: a tool_use block opens (input {}), then its arguments
        arrive as input_json_delta pieces; the block before it closes first."""
        steps: list[list[SSE]] = []
        for number, (call, call_id) in enumerate(zip(self.calls, self.tool_ids, strict=True)):
            index = self.first_tool_index + number
            for piece_number, piece in enumerate(call.argument_pieces()):
                step: list[SSE] = []
                if piece_number == 0:
                    if index > 0:
                        step.append(self._block_stop(index - 1))
                    block = {"type": "tool_use", "id": call_id, "name": call.name, "input": {}}
                    step.append(
                        SSE(
                            "content_block_start",
                            {"type": "content_block_start", "index": index, "content_block": block},
                        )
                    )
                step.append(
                    SSE(
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": index,
                            "delta": {"type": "input_json_delta", "partial_json": piece},
                        },
                    )
                )
                steps.append(step)
        return steps

    def steps(self) -> list[list[SSE]]:
        """What streams between preamble and ending: the counted chunks (text, then tools)."""
        return [[self.text_delta(text)] for text in self.scenario.chunks] + self.tool_steps()

    def ending(self) -> list[SSE]:
        reason, sequence = self._stop()
        last_block = self.first_tool_index + len(self.calls) - 1 if self.calls else 0
        return [
            self._block_stop(last_block),
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
        content: list[dict[str, Any]] = []
        if self.has_text:
            content.append({"type": "text", "text": self.scenario.text, "citations": None})
        content += [
            {"type": "tool_use", "id": call_id, "name": call.name, "input": call.arguments_object}
            for call, call_id in zip(self.calls, self.tool_ids, strict=True)
        ]
        return {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
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

    def _rejected(self, message: str) -> ErrorReply:
        body = {
            "type": "error",
            "error": {"type": "invalid_request_error", "message": message},
            "request_id": self.request_id,
        }
        return ErrorReply(400, body, {"request-id": self.request_id})

    def invalid_request(self) -> ErrorReply | None:
        """The 400 the Messages API gives a malformed conversation, None when it is fine.

        Roles alternate user / assistant; every tool_use is answered by a tool_result at the
        start of the next message; every tool_result answers a tool_use of the message before.
        (The real API now merges consecutive same-role turns; the fake refuses them, so an
        adapter that splits one turn's tool results over several messages is caught.)
        """
        messages = _dicts(self.request.get("messages"))
        blocks = [_dicts(message.get("content")) for message in messages]
        previous_role = None
        for number, message in enumerate(messages):
            role = message.get("role")
            if role == "system":
                # Mid-conversation system messages: Claude Code 2.1 sends one after the first
                # user turn (its agent list), and the API takes them outside the alternation.
                continue
            if role not in ("user", "assistant"):
                return self._rejected(
                    f"messages.{number}.role: Input should be 'user' or 'assistant'"
                )
            if role == previous_role:
                return self._rejected(
                    'messages: roles must alternate between "user" and "assistant", '
                    f'but found multiple "{role}" roles in a row'
                )
            previous_role = role
            if role == "user":
                asked = (
                    {b.get("id") for b in blocks[number - 1] if b.get("type") == "tool_use"}
                    if number > 0
                    else set()
                )
                for block_number, block in enumerate(blocks[number]):
                    if block.get("type") == "tool_result" and block.get("tool_use_id") not in asked:
                        return self._rejected(
                            f"messages.{number}.content.{block_number}: unexpected `tool_use_id` "
                            f"found in `tool_result` blocks: {block.get('tool_use_id')}. Each "
                            "`tool_result` block must have a corresponding `tool_use` block in "
                            "the previous message."
                        )
                continue
            uses = [b.get("id") for b in blocks[number] if b.get("type") == "tool_use"]
            if not uses or number + 1 >= len(messages):
                continue
            following = blocks[number + 1]
            answered = {b.get("tool_use_id") for b in following if b.get("type") == "tool_result"}
            missing = [str(use) for use in uses if use not in answered]
            if missing:
                return self._rejected(
                    f"messages.{number}: `tool_use` ids were found without `tool_result` blocks "
                    f"immediately after: {', '.join(missing)}. Each `tool_use` block must have a "
                    "corresponding `tool_result` block in the next message."
                )
            leading = 0
            while leading < len(following) and following[leading].get("type") == "tool_result":
                leading += 1
            if leading < len(uses):
                return self._rejected(
                    f"messages.{number + 1}: Did not find {len(uses)} `tool_result` block(s) at "
                    "the beginning of this message. Messages following `tool_use` blocks must "
                    "begin with a matching number of `tool_result` blocks."
                )
        return None


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


def openai_rejected(message: str, param: str | None) -> ErrorReply:
    """OpenAI's 400 for a request it will not take (a malformed conversation)."""
    body = {
        "error": {
            "message": message,
            "type": "invalid_request_error",
            "param": param,
            "code": None,
        }
    }
    return ErrorReply(400, body, {"x-request-id": new_id("req_")})


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
        self.calls = scenario.tool_calls
        self.call_ids = [call.id or new_id("call_") for call in self.calls]
        self.call_item_ids = [new_id("fc_") for _ in self.calls]
        # A message item (output 0) unless the answer is tool calls alone; function_call
        # items follow.
        self.has_text = bool(scenario.chunks) or not self.calls
        self.first_call_index = 1 if self.has_text else 0

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

    def _call_item(self, number: int, status: str, arguments: str) -> dict[str, Any]:
        call = self.calls[number]
        return {
            "id": self.call_item_ids[number],
            "type": "function_call",
            "status": status,
            "arguments": arguments,
            "call_id": self.call_ids[number],
            "name": call.name,
        }

    def _output(self, status: str) -> list[dict[str, Any]]:
        """The finished output items: the message (when there is text), then the calls."""
        output = [self._item(status, self.scenario.text)] if self.has_text else []
        output += [
            self._call_item(number, status, call.arguments_text)
            for number, call in enumerate(self.calls)
        ]
        return output

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
            "tools": _dicts(r.get("tools")),
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
        events = [
            self._event("response.created", response=self.response("in_progress")),
            self._event("response.in_progress", response=self.response("in_progress")),
        ]
        if self.has_text:
            events += [
                self._event(
                    "response.output_item.added",
                    output_index=0,
                    item=self._item("in_progress", None),
                ),
                self._event(
                    "response.content_part.added",
                    item_id=self.item_id,
                    output_index=0,
                    content_index=0,
                    part=self._part(""),
                ),
            ]
        return events

    def text_delta(self, text: str) -> SSE:
        return self._event(
            "response.output_text.delta",
            item_id=self.item_id,
            output_index=0,
            content_index=0,
            delta=text,
            logprobs=[],
        )

    def _close_text(self, status: str) -> list[SSE]:
        text = self.scenario.text
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
            self._event("response.output_item.done", output_index=0, item=self._item(status, text)),
        ]

    def _close_call(self, number: int, status: str) -> list[SSE]:
        arguments = self.calls[number].arguments_text
        index = self.first_call_index + number
        return [
            self._event(
                "response.function_call_arguments.done",
                item_id=self.call_item_ids[number],
                output_index=index,
                arguments=arguments,
            ),
            self._event(
                "response.output_item.done",
                output_index=index,
                item=self._call_item(number, status, arguments),
            ),
        ]

    def tool_steps(self) -> list[list[SSE]]:
        """One step per argument piece: a function_call item is added (arguments ""), then its
        arguments arrive as function_call_arguments.delta; the item before it is done first."""
        steps: list[list[SSE]] = []
        for number, call in enumerate(self.calls):
            index = self.first_call_index + number
            for piece_number, piece in enumerate(call.argument_pieces()):
                step: list[SSE] = []
                if piece_number == 0:
                    if number > 0:
                        step += self._close_call(number - 1, "completed")
                    elif self.has_text:
                        step += self._close_text("completed")
                    step.append(
                        self._event(
                            "response.output_item.added",
                            output_index=index,
                            item=self._call_item(number, "in_progress", ""),
                        )
                    )
                step.append(
                    self._event(
                        "response.function_call_arguments.delta",
                        item_id=self.call_item_ids[number],
                        output_index=index,
                        delta=piece,
                    )
                )
                steps.append(step)
        return steps

    def steps(self) -> list[list[SSE]]:
        """What streams between preamble and ending: the counted chunks (text, then tools)."""
        return [[self.text_delta(text)] for text in self.scenario.chunks] + self.tool_steps()

    def _final_status(self) -> tuple[str, str | None]:
        reason = self.scenario.stop_reason
        if reason and reason not in ("completed", "stop", "end_turn"):
            return "incomplete", reason
        return "completed", None

    def ending(self) -> list[SSE]:
        status, reason = self._final_status()
        item_status = "completed" if status == "completed" else "incomplete"
        closing = (
            self._close_call(len(self.calls) - 1, item_status)
            if self.calls
            else self._close_text(item_status)
        )
        final = self.response(
            status,
            output=self._output(item_status),
            usage=self.usage(),
            incomplete_reason=reason,
        )
        return [*closing, self._event(f"response.{status}", response=final)]

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
            output=self._output("completed"),
            usage=self.usage(),
            incomplete_reason=reason,
        )

    def error(self, status: int, api_key: str | None) -> ErrorReply:
        return openai_error(status, self.scenario, self.request, api_key)

    def invalid_request(self) -> ErrorReply | None:
        """The 400 the Responses API gives a malformed input, None when it is fine: every
        function_call_output answers an earlier function_call, and (without
        previous_response_id, which holds earlier items server-side) every function_call in
        the input has its output."""
        if self.request.get("previous_response_id"):
            return None
        called: list[str] = []
        answered: set[str] = set()
        for item in _dicts(self.request.get("input")):
            if item.get("type") == "function_call":
                called.append(str(item.get("call_id")))
            elif item.get("type") == "function_call_output":
                call_id = str(item.get("call_id"))
                if call_id not in called:
                    return openai_rejected(
                        f"No tool call found for function call output with call_id {call_id}.",
                        "input",
                    )
                answered.add(call_id)
        for call_id in called:
            if call_id not in answered:
                return openai_rejected(
                    f"No tool output found for function call {call_id}.", "input"
                )
        return None


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
        self.calls = scenario.tool_calls
        self.call_ids = [call.id or new_id("call_") for call in self.calls]

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

    def _finish_reason(self) -> str:
        return self.scenario.stop_reason or ("tool_calls" if self.calls else "stop")

    def preamble(self) -> list[SSE]:
        # OpenAI opens a tools-only answer with content null.
        content = None if self.calls and not self.scenario.chunks else ""
        return [self._chunk({"role": "assistant", "content": content, "refusal": None})]

    def text_delta(self, text: str) -> SSE:
        return self._chunk({"content": text})

    def tool_steps(self) -> list[list[SSE]]:
        """One step per argument piece. A call's first chunk carries its index, id, type and
        name with arguments ""; the pieces follow in chunks that carry only the index."""
        steps: list[list[SSE]] = []
        for number, (call, call_id) in enumerate(zip(self.calls, self.call_ids, strict=True)):
            for piece_number, piece in enumerate(call.argument_pieces()):
                step: list[SSE] = []
                if piece_number == 0:
                    opening = {
                        "index": number,
                        "id": call_id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": ""},
                    }
                    step.append(self._chunk({"tool_calls": [opening]}))
                fragment = {"index": number, "function": {"arguments": piece}}
                step.append(self._chunk({"tool_calls": [fragment]}))
                steps.append(step)
        return steps

    def steps(self) -> list[list[SSE]]:
        """What streams between preamble and ending: the counted chunks (text, then tools)."""
        return [[self.text_delta(text)] for text in self.scenario.chunks] + self.tool_steps()

    def ending(self) -> list[SSE]:
        events = [self._chunk({}, finish_reason=self._finish_reason())]
        if self.include_usage:
            events.append(self._chunk(None, usage=self.usage()))
        events.append(SSE(None, "[DONE]"))
        return events

    def stream_error(self) -> list[SSE]:
        code = self.scenario.stream_error_type or "server_error"
        message = self.scenario.error_message or "The server had an error mid-stream."
        return [SSE(None, {"error": {"message": message, "type": code, "code": code}})]

    def json_response(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": self.scenario.text if self.scenario.chunks or not self.calls else None,
            "refusal": None,
            "annotations": [],
        }
        if self.calls:
            message["tool_calls"] = [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments_text},
                }
                for call, call_id in zip(self.calls, self.call_ids, strict=True)
            ]
        return {
            "id": self.completion_id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": self._finish_reason(),
                }
            ],
            "usage": self.usage(),
        }

    def error(self, status: int, api_key: str | None) -> ErrorReply:
        return openai_error(status, self.scenario, self.request, api_key)

    def invalid_request(self) -> ErrorReply | None:
        """The 400 Chat Completions gives a malformed conversation, None when it is fine: a
        "tool" message answers a tool_calls id of the assistant message right before its run
        of tool messages, and every such id gets its tool message."""
        messages = _dicts(self.request.get("messages"))
        for number, message in enumerate(messages):
            if message.get("role") == "tool":
                before = number - 1
                while before >= 0 and messages[before].get("role") == "tool":
                    before -= 1
                asker = messages[before] if before >= 0 else {}
                if asker.get("role") != "assistant" or not asker.get("tool_calls"):
                    return openai_rejected(  # "preceeding": OpenAI's own spelling
                        "Invalid parameter: messages with role 'tool' must be a response to a "
                        "preceeding message with 'tool_calls'.",
                        f"messages.[{number}].role",
                    )
                asked = {call.get("id") for call in _dicts(asker.get("tool_calls"))}
                if message.get("tool_call_id") not in asked:
                    return openai_rejected(
                        f"Invalid parameter: 'tool_call_id' of '{message.get('tool_call_id')}' "
                        "not found in 'tool_calls' of previous message.",
                        f"messages.[{number}].tool_call_id",
                    )
        for number, message in enumerate(messages):
            if message.get("role") == "assistant" and message.get("tool_calls"):
                answered = set()
                for reply in messages[number + 1 :]:
                    if reply.get("role") != "tool":
                        break
                    answered.add(reply.get("tool_call_id"))
                missing = [
                    str(call.get("id"))
                    for call in _dicts(message.get("tool_calls"))
                    if call.get("id") not in answered
                ]
                if missing:
                    return openai_rejected(
                        "An assistant message with 'tool_calls' must be followed by tool messages "
                        "responding to each 'tool_call_id'. The following tool_call_ids did not "
                        f"have response messages: {', '.join(missing)}",
                        f"messages.[{number}].role",
                    )
        return None


Wire = AnthropicWire | ResponsesWire | ChatWire
