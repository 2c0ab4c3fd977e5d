"""The openai-compatible runtime: Chat Completions at any base URL (Ollama, vLLM, llama.cpp)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING

from ato_desktop.core.models import ChatMessage, RuntimeEvent, RuntimeRequest
from ato_desktop.core.usage import provider_cost_usd, usage_from_chat
from ato_desktop.runtimes import errors
from ato_desktop.runtimes.errors import Phase, Provider
from ato_desktop.runtimes.openai_client import make_openai_client
from ato_desktop.runtimes.streaming import (
    ParamError,
    PumpResult,
    float_param,
    int_param,
    is_http_url,
    pump_text,
    resolve_base_url,
    stop_param,
)

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam

# Ollama's OpenAI-compatible endpoint: the most common local server.
DEFAULT_BASE_URL = "http://localhost:11434/v1"
BASE_URL_ENV = "OPENAI_BASE_URL"
# Local servers usually want no key, but the SDK insists on one; this is what goes on the wire.
PLACEHOLDER_API_KEY = "not-needed"


def _messages(
    system: str | None, messages: tuple[ChatMessage, ...]
) -> list[ChatCompletionMessageParam]:
    converted: list[ChatCompletionMessageParam] = []
    if system:
        converted.append({"role": "system", "content": system})
    for message in messages:
        if message.role == "user":
            converted.append({"role": "user", "content": message.content})
        elif message.role == "assistant":
            converted.append({"role": "assistant", "content": message.content})
        else:
            raise ParamError(f"message role must be user or assistant, not {message.role!r}")
    return converted


class _CompletionState:
    """What one Chat Completions stream has said so far.

    Compatible servers differ in what they leave out (no id, no model, no choice index), and the
    SDK does not validate chunks, so every field is read with a fallback.
    """

    def __init__(self) -> None:
        self.usage: object | None = None
        self.finish_reason: str | None = None
        self.completion_id: str | None = None
        self.model: str | None = None

    def take(self, chunk: ChatCompletionChunk) -> str:
        """Note what ``chunk`` says; return its answer text ("" for none)."""
        self.completion_id = getattr(chunk, "id", None) or self.completion_id
        self.model = getattr(chunk, "model", None) or self.model
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.usage = usage
        text = ""
        for choice in getattr(chunk, "choices", None) or ():
            if getattr(choice, "index", 0) not in (0, None):
                continue  # n > 1 is never requested; ignore stray choices
            delta = getattr(choice, "delta", None)
            piece = getattr(delta, "content", None) or getattr(delta, "refusal", None)
            if isinstance(piece, str):
                text += piece
            reason = getattr(choice, "finish_reason", None)
            if reason:  # some servers send "" until the end
                self.finish_reason = str(reason)
        return text


class OpenAICompatibleAdapter:
    """Streams Chat Completions (``POST {base_url}/chat/completions``) as RuntimeEvents.

    Asks for ``stream_options.include_usage`` so the server sends a final usage chunk. Params:
    temperature, top_p, max_tokens, stop, seed, frequency_penalty, presence_penalty. FINISH
    carries the choice's finish_reason ("stop", "length", ...), the completion id and the model;
    USAGE carries the provider-stated cost when the server reports one (OpenRouter's usage.cost).

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
        stream = None
        try:
            try:
                stream = await client.chat.completions.create(
                    model=request.model,
                    messages=messages,
                    stream=True,
                    stream_options={"include_usage": True},
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
                    # OPENAI_ORG_ID / OPENAI_PROJECT_ID describe an OpenAI account; a third-party
                    # server has no business seeing them.
                    extra_headers={
                        "OpenAI-Organization": openai.omit,
                        "OpenAI-Project": openai.omit,
                    },
                )
            except Exception as exc:
                yield errors.exception_error(
                    exc,
                    provider,
                    Phase.REQUEST,
                    api_key=secret,
                    timeout_s=request.request_timeout_s,
                )
                return

            state = _CompletionState()
            pumped = PumpResult()
            # The SDK ends the iteration at "data: [DONE]" or when the body ends.
            async with contextlib.aclosing(
                pump_text(
                    stream,
                    state.take,
                    lambda: False,
                    provider,
                    stall_timeout_s=request.stall_timeout_s,
                    secret=secret,
                    result=pumped,
                )
            ) as deltas:
                async for delta in deltas:
                    yield delta
            failure = pumped.failure

            if state.usage is not None:
                yield RuntimeEvent.usage_report(
                    usage_from_chat(state.usage), provider_cost_usd(state.usage)
                )
            if failure is not None:
                yield failure
            elif state.finish_reason is None:
                # A clean end without a finish_reason means the server gave up mid-answer.
                yield errors.stream_ended_early(provider, "a finish_reason")
            else:
                yield RuntimeEvent.finish(state.finish_reason, state.completion_id, state.model)
        finally:
            # Runs on normal exit, on aclose() and on cancellation: the HTTP stream and the
            # connection pool go away at once, so the server sees the disconnect.
            if stream is not None:
                await stream.close()
            await client.close()
