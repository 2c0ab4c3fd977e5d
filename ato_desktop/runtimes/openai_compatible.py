"""The openai-compatible runtime: Chat Completions at any base URL (Ollama, vLLM, llama.cpp)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

from ato_desktop.core.models import ChatMessage, RuntimeEvent, RuntimeRequest, ToolCall
from ato_desktop.core.usage import provider_cost_usd, usage_from_chat
from ato_desktop.runtimes import errors
from ato_desktop.runtimes.errors import Phase, Provider
from ato_desktop.runtimes.sdk_clients import headers_timeout_s, make_openai_client
from ato_desktop.runtimes.sse import DONE, Frame, openai_payload, pump_events
from ato_desktop.runtimes.streaming import (
    ParamError,
    PendingToolCall,
    PumpResult,
    built_tool_calls,
    float_param,
    int_param,
    is_http_url,
    require_tool_call_id,
    resolve_base_url,
    stop_param,
    tool_arguments_text,
    tool_call_event,
    tool_result_text,
)

if TYPE_CHECKING:
    from openai.types.chat import (
        ChatCompletionFunctionToolParam,
        ChatCompletionMessageFunctionToolCallParam,
        ChatCompletionMessageParam,
    )

# Ollama's OpenAI-compatible endpoint: the most common local server.
DEFAULT_BASE_URL = "http://localhost:11434/v1"
BASE_URL_ENV = "OPENAI_BASE_URL"
# Local servers usually want no key, but the SDK insists on one; this is what goes on the wire.
PLACEHOLDER_API_KEY = "not-needed"


def _messages(
    system: str | None, messages: tuple[ChatMessage, ...]
) -> list[ChatCompletionMessageParam]:
    """The conversation as Chat messages: an assistant turn carries its tool_calls (content null
    when it said nothing else), and each tool result is a "tool" message after it."""
    converted: list[ChatCompletionMessageParam] = []
    if system:
        converted.append({"role": "system", "content": system})
    for message in messages:
        if message.role == "user":
            converted.append({"role": "user", "content": message.content})
        elif message.role == "assistant":
            if not message.tool_calls:
                converted.append({"role": "assistant", "content": message.content})
                continue
            calls: list[ChatCompletionMessageFunctionToolCallParam] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {
                        "name": call.name,
                        "arguments": tool_arguments_text(call.arguments),
                    },
                }
                for call in message.tool_calls
            ]
            converted.append(
                {"role": "assistant", "content": message.content or None, "tool_calls": calls}
            )
        elif message.role == "tool":
            converted.append(
                {
                    "role": "tool",
                    "tool_call_id": require_tool_call_id(message),
                    "content": tool_result_text(message),
                }
            )
        else:
            raise ParamError(f"message role must be user, assistant or tool, not {message.role!r}")
    return converted


def _tools(request: RuntimeRequest) -> list[ChatCompletionFunctionToolParam]:
    return [
        {
            "type": "function",
            "function": {
                "name": tool.name,
                "description": tool.description,
                "parameters": tool.input_schema,
            },
        }
        for tool in request.tools
    ]


def _field(value: object, name: str) -> Any:
    """``value[name]`` when value is a JSON object, else None: compatible servers leave fields
    out or send them in another shape, and a chunk is read with a fallback for every field."""
    return value.get(name) if isinstance(value, dict) else None


class _CompletionState:
    """What one Chat Completions stream has said so far.

    Compatible servers differ in what they leave out (no id, no model, no choice index), and
    chunks are not validated (the SDK did not validate them either), so every field is read
    with a fallback.
    """

    def __init__(self, request: object = None) -> None:
        self.request = request  # the HTTP request (an error in the stream cites it)
        self.done = False  # data: [DONE] arrived
        self.usage: object | None = None
        self.finish_reason: str | None = None
        self.completion_id: str | None = None
        self.model: str | None = None
        self.calls: list[PendingToolCall] = []
        self._calls_by_index: dict[int, PendingToolCall] = {}

    def _take_tool_delta(self, fragment: object) -> None:
        """One delta.tool_calls[] fragment: the first of a call names it, the rest carry
        argument pieces. Servers that number every call 0 but give each its own id, or leave
        the index out, still get one call per id."""
        index = _field(fragment, "index")
        call_id = _field(fragment, "id") or None
        function = _field(fragment, "function")
        name = _field(function, "name")
        arguments = _field(function, "arguments")
        pending: PendingToolCall | None
        if isinstance(index, int):
            pending = self._calls_by_index.get(index)
            if pending is not None and call_id and pending.id and call_id != pending.id:
                pending = None  # the index reused for the next call
        else:
            last = self.calls[-1] if self.calls else None
            pending = last if last is not None and call_id in (None, last.id) else None
        if pending is None:
            pending = PendingToolCall()
            self.calls.append(pending)
            if isinstance(index, int):
                self._calls_by_index[index] = pending
        if isinstance(call_id, str) and call_id:
            pending.id = call_id
        if isinstance(name, str) and name and not pending.name:
            pending.name = name
        if isinstance(arguments, str):
            pending.parts.append(arguments)

    def tool_calls(self) -> list[ToolCall]:
        return built_tool_calls(self.calls)

    def take(self, frame: Frame) -> str:
        """Note what one server-sent event (a chunk) says; return its answer text."""
        chunk = openai_payload(frame, self.request)
        if chunk is DONE:
            self.done = True  # the SDK's stream ends here too
            return ""
        self.completion_id = _field(chunk, "id") or self.completion_id
        self.model = _field(chunk, "model") or self.model
        usage = _field(chunk, "usage")
        if usage is not None:
            self.usage = usage
        text = ""
        for choice in _field(chunk, "choices") or ():
            index = _field(choice, "index")
            if index not in (0, None):
                continue  # n > 1 is never requested; ignore stray choices
            delta = _field(choice, "delta")
            piece = _field(delta, "content") or _field(delta, "refusal")
            if isinstance(piece, str):
                text += piece
            for fragment in _field(delta, "tool_calls") or ():
                self._take_tool_delta(fragment)
            reason = _field(choice, "finish_reason")
            if reason:  # some servers send "" until the end
                self.finish_reason = str(reason)
        return text


class OpenAICompatibleAdapter:
    """Streams Chat Completions (``POST {base_url}/chat/completions``) as RuntimeEvents.

    Asks for ``stream_options.include_usage`` so the server sends a final usage chunk. Params:
    temperature, top_p, max_tokens, stop, seed, frequency_penalty, presence_penalty.
    request.tools go out as function tools; the delta.tool_calls fragments of each call become
    one TOOL_CALL after the text. The API has no error flag on a tool message, so a failed
    tool's content says "Error: ...". FINISH carries the choice's finish_reason ("stop",
    "tool_calls", "length", ...), the completion id and the model; USAGE carries the
    provider-stated cost when the server reports one (OpenRouter's usage.cost).

    Its key is its own (``keys set openai-compatible`` or OPENAI_COMPATIBLE_API_KEY). With no key,
    the adapter sends a placeholder and never OPENAI_API_KEY: that key belongs to OpenAI and must
    not travel to an arbitrary server.
    """

    name = "openai-compatible"
    sdk_module = "openai"
    env_key_var = "OPENAI_COMPATIBLE_API_KEY"
    key_name = "openai-compatible"
    display_name = "OpenAI-compatible server"

    def provider(self, base_url: str) -> Provider:
        """How messages name this runtime when it talks to ``base_url``."""
        return Provider(
            f"{self.display_name} at {errors.display_url(base_url)}",
            self.key_name,
            self.env_key_var,
            base_url,
        )

    async def stream(self, request: RuntimeRequest) -> AsyncGenerator[RuntimeEvent, None]:
        """Stream one Chat Completions call; see RuntimeAdapter for the event contract."""
        base_url = resolve_base_url(request.base_url, BASE_URL_ENV, DEFAULT_BASE_URL)
        provider = self.provider(base_url)
        # What messages must never show; the placeholder is no secret.
        secret = request.api_key
        if not is_http_url(base_url):
            yield errors.config_error(
                f"The base URL {errors.display_url(base_url)!r} is not an http(s) URL.", secret
            )
            return
        try:
            messages = _messages(request.system, request.messages)
            tools = _tools(request)
            temperature = float_param(request.params, "temperature")
            top_p = float_param(request.params, "top_p")
            max_tokens = int_param(request.params, "max_tokens")
            seed = int_param(request.params, "seed")
            stop = stop_param(request.params)
            frequency_penalty = float_param(request.params, "frequency_penalty")
            presence_penalty = float_param(request.params, "presence_penalty")
        except ParamError as exc:
            yield errors.config_error(str(exc), secret)
            return

        import openai

        client = make_openai_client(
            request, api_key=request.api_key or PLACEHOLDER_API_KEY, base_url=base_url
        )
        # The SDK sends the request (retries, timeouts, the error of a failed request); the
        # body's events are read by runtimes.sse, without a pydantic model per chunk.
        exits = contextlib.AsyncExitStack()
        try:
            try:
                answer = await exits.enter_async_context(
                    client.chat.completions.with_streaming_response.create(
                        model=request.model,
                        messages=messages,
                        stream=True,
                        stream_options={"include_usage": True},
                        tools=tools if tools else openai.omit,
                        temperature=temperature if temperature is not None else openai.omit,
                        top_p=top_p if top_p is not None else openai.omit,
                        # max_tokens, not max_completion_tokens: local servers only know the former.
                        max_tokens=max_tokens if max_tokens is not None else openai.omit,
                        seed=seed if seed is not None else openai.omit,
                        stop=stop if stop is not None else openai.omit,
                        frequency_penalty=(
                            frequency_penalty if frequency_penalty is not None else openai.omit
                        ),
                        presence_penalty=(
                            presence_penalty if presence_penalty is not None else openai.omit
                        ),
                        # OPENAI_ORG_ID / OPENAI_PROJECT_ID describe an OpenAI account; a
                        # third-party server has no business seeing them.
                        extra_headers={
                            "OpenAI-Organization": openai.omit,
                            "OpenAI-Project": openai.omit,
                        },
                    )
                )
            except Exception as exc:
                yield errors.exception_error(
                    exc,
                    provider,
                    Phase.REQUEST,
                    api_key=secret,
                    timeout_s=headers_timeout_s(request),
                    max_retry_wait_s=request.max_retry_wait_s,
                )
                return

            yield RuntimeEvent.accepted()

            state = _CompletionState(answer.http_response.request)
            pumped = PumpResult()
            # The stream ends at "data: [DONE]" or when the body ends.
            async with contextlib.aclosing(
                pump_events(
                    answer.http_response,
                    openai,
                    state.take,
                    lambda: state.done,
                    provider,
                    stall_timeout_s=request.stall_timeout_s,
                    secret=secret,
                    result=pumped,
                )
            ) as deltas:
                async for delta in deltas:
                    yield delta
            failure = pumped.failure
            if failure is None and state.finish_reason is None:
                # A clean end without a finish_reason means the server gave up mid-answer.
                failure = errors.stream_ended_early(provider, "a finish_reason")

            if failure is None:
                # Only a complete answer's calls: a cut one may have truncated arguments.
                for call in state.tool_calls():
                    yield tool_call_event(call)
            if state.usage is not None:
                yield RuntimeEvent.usage_report(
                    usage_from_chat(state.usage), provider_cost_usd(state.usage)
                )
            if failure is not None:
                yield failure
            else:
                yield RuntimeEvent.finish(state.finish_reason, state.completion_id, state.model)
        finally:
            # Runs on normal exit, on aclose() and on cancellation: the HTTP stream and the
            # connection pool go away at once, so the server sees the disconnect.
            await exits.aclose()
            await client.close()
