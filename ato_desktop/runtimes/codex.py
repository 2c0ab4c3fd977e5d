"""The codex runtime: OpenAI Responses API through ``openai.AsyncOpenAI().responses``, streaming."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

from ato_desktop.core.models import ChatMessage, RuntimeEvent, RuntimeRequest, ToolCall
from ato_desktop.core.usage import usage_from_responses
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
    resolve_api_key,
    resolve_base_url,
    tool_arguments_text,
    tool_call_event,
    tool_result_text,
)

if TYPE_CHECKING:
    from openai.types.responses import (
        ResponseInputParam,
        ToolParam,
    )
    from openai.types.shared_params import Reasoning

DEFAULT_BASE_URL = "https://api.openai.com/v1"
BASE_URL_ENV = "OPENAI_BASE_URL"
_REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")


def _input(messages: tuple[ChatMessage, ...]) -> ResponseInputParam:
    """The conversation as Responses input items.

    An assistant turn is its text message (when it has text) and one function_call item per
    call; a tool result is a function_call_output item answering its call_id.
    """
    converted: ResponseInputParam = []
    for message in messages:
        if message.role == "user":
            converted.append({"role": "user", "content": message.content, "type": "message"})
        elif message.role == "assistant":
            if message.content or not message.tool_calls:
                converted.append(
                    {"role": "assistant", "content": message.content, "type": "message"}
                )
            for call in message.tool_calls:
                converted.append(
                    {
                        "type": "function_call",
                        "call_id": call.id,
                        "name": call.name,
                        "arguments": tool_arguments_text(call.arguments),
                    }
                )
        elif message.role == "tool":
            converted.append(
                {
                    "type": "function_call_output",
                    "call_id": require_tool_call_id(message),
                    "output": tool_result_text(message),
                }
            )
        else:
            raise ParamError(f"message role must be user, assistant or tool, not {message.role!r}")
    return converted


def _tools(request: RuntimeRequest) -> list[ToolParam]:
    # strict False: MCP schemas seldom meet strict mode's rules (every property required, no
    # additionalProperties), and a strict tool with a lax schema is a 400.
    return [
        {
            "type": "function",
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.input_schema,
            "strict": False,
        }
        for tool in request.tools
    ]


def _reasoning(request: RuntimeRequest) -> Reasoning | None:
    effort = request.params.get("reasoning_effort")
    if effort is None:
        return None
    if effort not in _REASONING_EFFORTS:
        raise ParamError(f"parameter reasoning_effort must be one of {_REASONING_EFFORTS}")
    return {"effort": effort}


def _object(value: object, what: str) -> dict[str, Any]:
    """``value`` when it is a JSON object; ValueError (a stream shaped unlike the API's) if not."""
    if not isinstance(value, dict):
        raise ValueError(f"{what} is not an object")
    return value


def _finish_reason(response: dict[str, Any]) -> str | None:
    status = response.get("status")
    details = response.get("incomplete_details")
    if status == "incomplete" and isinstance(details, dict):
        return details.get("reason") or "incomplete"
    return status


class _ResponseState:
    """What one Responses stream has said so far."""

    def __init__(self, provider: Provider, api_key: str, request: object = None) -> None:
        self.provider = provider
        self.api_key = api_key
        self.request = request  # the HTTP request (an error object in the stream cites it)
        self.done = False  # data: [DONE] arrived
        self.final: dict[str, Any] | None = None  # the response, as completed (or failed)
        self.failure: RuntimeEvent | None = None
        # function_call items by output index.
        self.calls: dict[int, PendingToolCall] = {}

    def take(self, frame: Frame) -> str:
        """Note what one server-sent event says; return its answer text ("" for none)."""
        payload = openai_payload(frame, self.request)
        if payload is DONE:
            self.done = True
            return ""
        event = _object(payload, "a stream event")
        kind = event.get("type")
        if kind in ("response.output_text.delta", "response.refusal.delta"):
            return event["delta"]  # type: ignore[no-any-return]
        if kind == "response.function_call_arguments.delta":
            pending = self.calls.get(event["output_index"])
            if pending is not None:
                pending.parts.append(event["delta"])
        elif kind == "response.function_call_arguments.done":
            pending = self.calls.get(event["output_index"])
            if pending is not None:
                pending.final_arguments = event["arguments"]
        elif kind in ("response.output_item.added", "response.output_item.done"):
            item = _object(event["item"], "an output item")
            if item.get("type") == "function_call":
                pending = self.calls.setdefault(event["output_index"], PendingToolCall())
                pending.id, pending.name = item["call_id"], item["name"]
                if kind == "response.output_item.done":
                    pending.final_arguments = item["arguments"]  # the whole arguments, stated
                elif item.get("arguments"):
                    pending.parts.append(item["arguments"])
        elif kind in ("response.completed", "response.incomplete"):
            self.final = _object(event["response"], "the response")
        elif kind == "response.failed":
            # A failed response may still carry usage: keep it for the USAGE event.
            self.final = _object(event["response"], "the response")
            error = self.final.get("error")
            body: dict[str, str | None] = (
                {"code": _text(error, "code"), "message": _text(error, "message")} if error else {}
            )
            self.failure = errors.status_error(self.provider, None, body, api_key=self.api_key)
        elif kind == "error":
            body = {"code": event.get("code"), "message": event.get("message")}
            self.failure = errors.status_error(self.provider, None, body, api_key=self.api_key)
        return ""

    def tool_calls(self) -> list[ToolCall]:
        """The function calls in output order; from the final response when the stream named
        none (a server that only states the result)."""
        pending = [self.calls[index] for index in sorted(self.calls)]
        if not pending and self.final is not None:
            output = self.final.get("output")
            pending = [
                PendingToolCall(
                    str(item.get("call_id") or ""),
                    str(item.get("name") or ""),
                    final_arguments=item.get("arguments"),
                )
                for item in (output if isinstance(output, list) else ())
                if isinstance(item, dict) and item.get("type") == "function_call"
            ]
        return built_tool_calls(pending)


def _text(error: object, name: str) -> str | None:
    """``error[name]`` of a failed response's error object (None when it has no such field)."""
    return error.get(name) if isinstance(error, dict) else None


class CodexAdapter:
    """Streams OpenAI Responses (``POST /v1/responses``, ``stream: true``) as RuntimeEvents.

    Params: temperature, top_p, max_tokens -> max_output_tokens, reasoning_effort -> reasoning.
    stop and seed are ignored: the Responses API has neither. request.tools go out as function
    tools (strict off); each function_call output item (arguments streamed as deltas) becomes one
    TOOL_CALL after the text. The API has no error flag on a function_call_output, so a failed
    tool's output says "Error: ...". FINISH carries the response status ("completed", also after
    tool calls) or the incomplete reason ("max_output_tokens"), the response id and the model.
    """

    name = "codex"
    sdk_module = "openai"
    env_key_var = "OPENAI_API_KEY"
    key_name = "openai"
    display_name = "OpenAI"

    def provider(self, base_url: str) -> Provider:
        """How messages name this runtime when it talks to ``base_url``."""
        return Provider.for_server(
            self.display_name, self.key_name, self.env_key_var, base_url, DEFAULT_BASE_URL
        )

    async def stream(self, request: RuntimeRequest) -> AsyncGenerator[RuntimeEvent, None]:
        """Stream one Responses call; see RuntimeAdapter for the event contract."""
        base_url = resolve_base_url(request.base_url, BASE_URL_ENV, DEFAULT_BASE_URL)
        provider = self.provider(base_url)
        api_key = resolve_api_key(request.api_key, self.env_key_var)
        if not api_key:
            yield errors.missing_key(provider)
            return
        if not is_http_url(base_url):
            yield errors.config_error(
                f"The OpenAI base URL {errors.display_url(base_url)!r} is not an http(s) URL.",
                api_key,
            )
            return
        try:
            items = _input(request.messages)
            tools = _tools(request)
            temperature = float_param(request.params, "temperature")
            top_p = float_param(request.params, "top_p")
            max_output_tokens = int_param(request.params, "max_tokens")
            reasoning = _reasoning(request)
        except ParamError as exc:
            yield errors.config_error(str(exc), api_key)
            return

        import openai

        client = make_openai_client(request, api_key=api_key, base_url=base_url)
        # The SDK sends the request (retries, timeouts, the error of a failed request); the
        # body's events are read by runtimes.sse, without a pydantic model per event.
        exits = contextlib.AsyncExitStack()
        try:
            try:
                answer = await exits.enter_async_context(
                    client.responses.with_streaming_response.create(
                        model=request.model,
                        input=items,
                        instructions=request.system if request.system else openai.omit,
                        temperature=temperature if temperature is not None else openai.omit,
                        top_p=top_p if top_p is not None else openai.omit,
                        max_output_tokens=(
                            max_output_tokens if max_output_tokens is not None else openai.omit
                        ),
                        reasoning=reasoning if reasoning is not None else openai.omit,
                        tools=tools if tools else openai.omit,
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

            state = _ResponseState(provider, api_key, answer.http_response.request)
            pumped = PumpResult()
            async with contextlib.aclosing(
                pump_events(
                    answer.http_response,
                    openai,
                    state.take,
                    lambda: state.final is not None or state.failure is not None or state.done,
                    provider,
                    stall_timeout_s=request.stall_timeout_s,
                    secret=api_key,
                    result=pumped,
                )
            ) as deltas:
                async for delta in deltas:
                    yield delta

            final = state.final
            failure = pumped.failure or state.failure
            if failure is None and final is None:
                failure = errors.stream_ended_early(provider, "response.completed")

            if failure is None:
                # Only a complete answer's calls: a cut one may have truncated arguments.
                for call in state.tool_calls():
                    yield tool_call_event(call)
            usage = final.get("usage") if final is not None else None
            if usage is not None:
                yield RuntimeEvent.usage_report(usage_from_responses(usage))
            if failure is not None:
                yield failure
            elif final is not None:
                yield RuntimeEvent.finish(
                    _finish_reason(final), final.get("id"), str(final.get("model"))
                )
        finally:
            # Runs on normal exit, on aclose() and on cancellation: the HTTP stream and the
            # connection pool go away at once, so the server sees the disconnect.
            await exits.aclose()
            await client.close()
