"""The claude runtime: Anthropic Messages API through ``anthropic.AsyncAnthropic``, streaming."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ato_desktop.core.models import ChatMessage, RuntimeEvent, RuntimeRequest, ToolCall
from ato_desktop.core.usage import usage_from_anthropic
from ato_desktop.runtimes import errors
from ato_desktop.runtimes.errors import Phase, Provider
from ato_desktop.runtimes.sdk_clients import headers_timeout_s, make_anthropic_client
from ato_desktop.runtimes.sse import Frame, loads, pump_events
from ato_desktop.runtimes.streaming import (
    ParamError,
    PendingToolCall,
    PumpResult,
    built_tool_calls,
    float_param,
    int_param,
    is_http_url,
    require_tool_call_id,
    resolve_api_key,
    resolve_base_url,
    stop_param,
    tool_call_event,
)

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic
    from anthropic.types import (
        ContentBlockParam,
        MessageParam,
        ToolParam,
        ToolResultBlockParam,
        ToolUseBlockParam,
    )

DEFAULT_BASE_URL = "https://api.anthropic.com"
BASE_URL_ENV = "ANTHROPIC_BASE_URL"
DEFAULT_MAX_TOKENS = 4096


def _as_blocks(content: str | list[ContentBlockParam]) -> list[ContentBlockParam]:
    if isinstance(content, list):
        return content
    return [{"type": "text", "text": content}] if content else []


def _turn(
    message: ChatMessage,
) -> tuple[Literal["user", "assistant"], str | list[ContentBlockParam]]:
    """One ChatMessage as a Messages turn: its role and its content (text, or blocks)."""
    if message.role == "user":
        return "user", message.content
    if message.role == "assistant":
        if not message.tool_calls:
            return "assistant", message.content
        blocks = _as_blocks(message.content)
        for call in message.tool_calls:
            tool_use: ToolUseBlockParam = {
                "type": "tool_use",
                "id": call.id,
                "name": call.name,
                "input": call.arguments,
            }
            blocks.append(tool_use)
        return "assistant", blocks
    if message.role == "tool":
        result: ToolResultBlockParam = {
            "type": "tool_result",
            "tool_use_id": require_tool_call_id(message),
            "is_error": message.is_error,
        }
        if message.content:  # the API refuses an empty text block; no content is fine
            result["content"] = message.content
        return "user", [result]
    raise ParamError(f"message role must be user, assistant or tool, not {message.role!r}")


def _messages(messages: tuple[ChatMessage, ...]) -> list[MessageParam]:
    """The conversation as Messages turns.

    Tool results become tool_result blocks of a user turn. Consecutive turns of one role are
    merged into one (the API would merge them anyway): so the results of parallel calls travel
    in ONE user message, which the API requires, with the tool_result blocks first.
    """
    turns: list[tuple[Literal["user", "assistant"], str | list[ContentBlockParam]]] = []
    for message in messages:
        role, content = _turn(message)
        if turns and turns[-1][0] == role:
            merged = _as_blocks(turns[-1][1]) + _as_blocks(content)
            if role == "user":  # stable: tool results lead, in their order
                merged.sort(key=lambda block: block["type"] != "tool_result")
            turns[-1] = (role, merged)
        else:
            turns.append((role, content))
    converted: list[MessageParam] = []
    for role, content in turns:
        if role == "user":
            converted.append({"role": "user", "content": content})
        else:
            converted.append({"role": "assistant", "content": content})
    return converted


def _tools(request: RuntimeRequest) -> list[ToolParam]:
    return [
        {
            "name": tool.name,
            "description": tool.description,
            "input_schema": tool.input_schema,
        }
        for tool in request.tools
    ]


def _sampling(request: RuntimeRequest) -> dict[str, Any]:
    """temperature / top_p / top_k, only those the caller set.

    anthropic>=1.0 dropped these keyword arguments (newer models reject sampling parameters), but
    the API still accepts them for models that support them, so they travel in extra_body and a
    model that refuses them answers with a 400 the user can read.
    """
    extra: dict[str, Any] = {}
    for name in ("temperature", "top_p"):
        value = float_param(request.params, name)
        if value is not None:
            extra[name] = value
    top_k = int_param(request.params, "top_k")
    if top_k is not None:
        extra["top_k"] = top_k
    return extra


@dataclass
class _MessageState:
    """What one Messages stream has said so far."""

    response: Any = None  # the HTTP response the events come from (an error frame cites it)
    usage_reports: list[object] = field(default_factory=list)
    output_counted: bool = False  # message_delta's usage (the final output count) arrived
    stop_reason: str | None = None
    message_id: str | None = None
    model: str | None = None
    finished: bool = False
    # tool_use blocks by content-block index, in the order they began.
    tool_blocks: dict[int, PendingToolCall] = field(default_factory=dict)

    def take(self, frame: Frame) -> str | None:
        """Note what one server-sent event says; return its answer text ("" for none).

        As the SDK's stream: pings, events with no name and events with no data are skipped
        (None), ``event: error`` raises the SDK's APIStatusError with the error body, and an
        event's type is its data's "type".
        """
        name, data = frame
        if name is None or name == "ping":
            return None
        if name == "error":
            raise self._error_frame(data)
        if not data:
            return None
        event = loads(data)
        if not isinstance(event, dict):
            raise ValueError(f"a {name} event whose data is not an object")
        kind = event.get("type")
        if kind == "content_block_delta":
            delta = event["delta"]
            delta_kind = delta.get("type")
            if delta_kind == "text_delta":
                return delta["text"]  # type: ignore[no-any-return]
            if delta_kind == "input_json_delta":
                pending = self.tool_blocks.get(event["index"])
                if pending is not None:
                    pending.parts.append(delta["partial_json"])
        elif kind == "content_block_start":
            block = event["content_block"]
            if block.get("type") == "tool_use":
                # input is {} here; the arguments follow as input_json_delta pieces.
                self.tool_blocks[event["index"]] = PendingToolCall(block["id"], block["name"])
        elif kind == "message_start":
            message = event["message"]
            self.message_id = message.get("id")
            self.model = message.get("model")
            self.usage_reports.append(message.get("usage"))
        elif kind == "message_delta":
            self.usage_reports.append(event["usage"])
            self.output_counted = True
            stop_reason = event["delta"].get("stop_reason")
            if stop_reason is not None:
                self.stop_reason = stop_reason
        elif kind == "message_stop":
            self.finished = True
        return ""

    def _error_frame(self, data: bytes) -> Exception:
        """The SDK's error for an ``event: error`` frame (an overloaded API, mid-answer)."""
        import anthropic

        body: object = data.decode("utf-8", "replace")
        try:
            body = loads(data)
            message = f"{body}"
        except ValueError:
            message = str(body) or f"Error code: {self.response.status_code}"
        return anthropic.APIStatusError(message, response=self.response, body=body)

    def tool_calls(self) -> list[ToolCall]:
        return built_tool_calls(list(self.tool_blocks.values()))


class ClaudeAdapter:
    """Streams Anthropic Messages (``POST /v1/messages``, ``stream: true``) as RuntimeEvents.

    Params: max_tokens (default 4096, the API requires it), stop -> stop_sequences, temperature,
    top_p, top_k. seed and anything else is ignored: the Messages API has no such fields.
    request.tools go out as ``tools`` (name, description, input_schema); each tool_use block the
    model streams (input_json_delta pieces) becomes one TOOL_CALL after the text. FINISH carries
    the stop_reason (end_turn, tool_use, max_tokens, stop_sequence, ...), the message id and
    the model the API answered with. When a stream fails after message_start, the USAGE the API
    had reported so far precedes the ERROR: input and cache tokens exact, and output_counted
    False unless message_delta's count arrived (the dispatcher then estimates the output).
    ACCEPTED comes first once the response has begun, and a provisional USAGE (message_start's
    counts, output_counted False) before the first TEXT, so a killed run keeps its input count.
    """

    name = "claude"
    sdk_module = "anthropic"
    env_key_var = "ANTHROPIC_API_KEY"
    key_name = "anthropic"
    display_name = "Anthropic"

    def provider(self, base_url: str) -> Provider:
        """How messages name this runtime when it talks to ``base_url``."""
        return Provider.for_server(
            self.display_name, self.key_name, self.env_key_var, base_url, DEFAULT_BASE_URL
        )

    async def stream(self, request: RuntimeRequest) -> AsyncGenerator[RuntimeEvent, None]:
        """Stream one Messages call; see RuntimeAdapter for the event contract."""
        base_url = resolve_base_url(request.base_url, BASE_URL_ENV, DEFAULT_BASE_URL)
        provider = self.provider(base_url)
        api_key = resolve_api_key(request.api_key, self.env_key_var)
        if not api_key:
            yield errors.missing_key(provider)
            return
        if not is_http_url(base_url):
            yield errors.config_error(
                f"The Anthropic base URL {errors.display_url(base_url)!r} is not an http(s) URL.",
                api_key,
            )
            return
        try:
            messages = _messages(request.messages)
            tools = _tools(request)
            max_tokens = int_param(request.params, "max_tokens") or DEFAULT_MAX_TOKENS
            stop = stop_param(request.params)
            extra_body = _sampling(request)
        except ParamError as exc:
            yield errors.config_error(str(exc), api_key)
            return

        import anthropic

        client: AsyncAnthropic = make_anthropic_client(request, api_key=api_key, base_url=base_url)
        # The SDK sends the request (auth, retries, timeouts, the error of a failed request);
        # the body's events are read by runtimes.sse, without a pydantic model per event.
        exits = contextlib.AsyncExitStack()
        try:
            try:
                answer = await exits.enter_async_context(
                    client.messages.with_streaming_response.create(
                        model=request.model,
                        messages=messages,
                        max_tokens=max_tokens,
                        system=request.system if request.system else anthropic.omit,
                        stop_sequences=stop if stop is not None else anthropic.omit,
                        tools=tools if tools else anthropic.omit,
                        extra_body=extra_body or None,
                        stream=True,
                    )
                )
            except Exception as exc:
                yield errors.exception_error(
                    exc,
                    provider,
                    Phase.REQUEST,
                    api_key=api_key,
                    timeout_s=headers_timeout_s(request),
                    max_retry_wait_s=request.max_retry_wait_s,
                )
                return

            yield RuntimeEvent.accepted()
            state = _MessageState(response=answer.http_response)
            pumped = PumpResult()
            async with contextlib.aclosing(
                pump_events(
                    answer.http_response,
                    anthropic,
                    state.take,
                    lambda: state.finished,
                    provider,
                    stall_timeout_s=request.stall_timeout_s,
                    secret=api_key,
                    result=pumped,
                )
            ) as deltas:
                provisional = False
                async for delta in deltas:
                    if not provisional and state.usage_reports:
                        # message_start's counts, before the first text: should the run be
                        # killed mid-answer, the input the provider counted is kept, exact.
                        provisional = True
                        yield RuntimeEvent.usage_report(
                            usage_from_anthropic(*state.usage_reports), output_counted=False
                        )
                    yield delta
            failure = pumped.failure
            if failure is None and not state.finished:
                failure = errors.stream_ended_early(provider, "message_stop")

            if failure is None:
                # Only a complete answer's calls: a cut one may have truncated arguments.
                for call in state.tool_calls():
                    yield tool_call_event(call)
            if state.usage_reports:
                # Without message_delta's usage the output count is message_start's placeholder
                # (1): the input counts are exact, the output is for the dispatcher to estimate.
                yield RuntimeEvent.usage_report(
                    usage_from_anthropic(*state.usage_reports),
                    output_counted=state.output_counted,
                )
            if failure is not None:
                yield failure
            else:
                yield RuntimeEvent.finish(state.stop_reason, state.message_id, state.model)
        finally:
            # Runs on normal exit, on aclose() and on cancellation: the HTTP stream and the
            # connection pool go away at once, so the server sees the disconnect.
            await exits.aclose()
            await client.close()
