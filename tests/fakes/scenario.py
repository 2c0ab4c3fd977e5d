"""What a fake server does with one request: the answer, its usage, or a failure to act out."""

from __future__ import annotations

import base64
import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

DEFAULT_CHUNKS = ("Hello", ", ", "world", "!")


@dataclass(frozen=True)
class UsageSpec:
    """Token usage in provider-neutral terms; each wire format reports it its own way.

    Anthropic reports ``input_tokens = uncached_input_tokens`` with the cache parts apart; the
    OpenAI formats report ``input_tokens = uncached + cache_read + cache_write`` with the cache
    parts as details. ``output_tokens`` includes ``reasoning_tokens`` everywhere.
    """

    uncached_input_tokens: int = 12
    cache_read_tokens: int = 100
    cache_write_tokens: int = 30
    output_tokens: int = 9
    reasoning_tokens: int = 0
    # Anthropic only: how many of the cache writes were 1-hour ones (cache_creation's
    # ephemeral_1h_input_tokens; the rest are ephemeral_5m).
    cache_write_1h_tokens: int = 0

    @property
    def total_input_tokens(self) -> int:
        return self.uncached_input_tokens + self.cache_read_tokens + self.cache_write_tokens


@dataclass(frozen=True)
class FakeToolCall:
    """A tool call the fake model makes.

    arguments: a dict (sent as its JSON text) or a string sent verbatim, so a test can script
    arguments that are not valid JSON. id: None gets a provider-shaped one (Anthropic
    ``toolu_...``, OpenAI ``call_...``). The arguments text streams in pieces of
    ``chunk_size`` characters, as the real APIs send them.
    """

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None
    chunk_size: int = 8

    @property
    def arguments_text(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, separators=(",", ":"))

    @property
    def arguments_object(self) -> dict[str, Any]:
        """The arguments as an object, for formats that carry one (Anthropic's ``input``)."""
        if isinstance(self.arguments, dict):
            return self.arguments
        try:
            value = json.loads(self.arguments)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def argument_pieces(self) -> list[str]:
        """The arguments text in streaming pieces; one empty piece for no arguments."""
        text = self.arguments_text
        size = max(self.chunk_size, 1)
        return [text[i : i + size] for i in range(0, len(text), size)] or [""]


@dataclass(frozen=True)
class Scenario:
    """Behaviour for one request. Every field has a default that gives a short, happy answer.

    Failures (pick one):
      status: an HTTP error status (401, 403, 404, 429, 500, 529, ...) answered with the real
        error body of the endpoint's provider instead of an answer.
      cut_after: send this many text chunks, then close the socket mid-body.
      stall_after: send this many text chunks, then send nothing until released (or the client
        goes away); after a release the rest of the answer follows.
      clean_end_after: send this many text chunks, then end the body cleanly without the
        format's terminal event (message_stop, response.completed, finish_reason + [DONE]).
      stream_error_after: send this many text chunks, then the provider's in-stream error event
        (Anthropic ``event: error``, Responses ``response.failed`` or ``error``, Chat Completions
        ``data: {"error": ...}``) and end the stream.
      The failure counts run over the text chunks, then over the argument pieces of the tool
      calls, so ``cut_after`` can also cut a tool call mid-arguments.

    Tool calls: ``tool_calls=(FakeToolCall("add", {"a": 1}),)`` makes the answer end in those
    calls (after the text chunks, when given), in each format's wire shape, with the finish
    value the provider uses (Anthropic ``tool_use``, Chat ``tool_calls``, Responses
    ``completed``). Without explicit ``chunks`` such an answer has no text.
    """

    chunks: tuple[str, ...] = DEFAULT_CHUNKS
    tool_calls: tuple[FakeToolCall, ...] = ()
    usage: UsageSpec = field(default_factory=UsageSpec)
    # Exact usage object to send instead of the one built from ``usage`` (e.g. string numbers).
    raw_usage: dict[str, Any] | None = None
    # Chat Completions only: an OpenRouter-style ``usage.cost``; a string is sent as a string.
    provider_cost_usd: float | str | None = None
    # The provider's own finish value: Anthropic stop_reason, Chat finish_reason, or for Responses
    # an incomplete_details.reason ("max_output_tokens" turns the end into response.incomplete).
    stop_reason: str | None = None
    # The model named in the answer; None echoes the request's model.
    response_model: str | None = None

    status: int | None = None
    error_message: str | None = None
    retry_after: str | None = None
    retry_after_ms: str | None = None
    should_retry: bool | None = None
    # Echo the key verbatim in a 401 message (a careless server) to test redaction.
    echo_key_in_error: bool = False

    cut_after: int | None = None
    stall_after: int | None = None
    clean_end_after: int | None = None
    stream_error_after: int | None = None
    # Anthropic error type, or OpenAI error code, of the in-stream error.
    stream_error_type: str | None = None
    # Responses only: "response.failed" or "error".
    responses_error_event: str = "response.failed"

    # Chat Completions only: a bare-bones server whose chunks carry just choices[].delta and
    # finish_reason (no id, model, created or choice index).
    bare_chunks: bool = False

    # Seconds to wait before each text chunk (a slow stream) and before the response headers.
    delay_s: float = 0.0
    headers_delay_s: float = 0.0

    # Garbage on the wire (fuzzing): after ``inject_after`` chunks, these bytes (base64, so the
    # scenario stays JSON) are written verbatim into the body: malformed SSE lines, invalid
    # UTF-8, binary, a 10 MB line. Then the body ends cleanly, or with ``inject_continue`` the
    # rest of the answer follows as if nothing happened.
    inject_b64: str | None = None
    inject_after: int = 0
    inject_continue: bool = False
    # With ``status``: this body (base64) instead of the provider's JSON error body, sent as
    # application/json all the same (binary, invalid UTF-8, cut JSON, 10 MB).
    error_body_b64: str | None = None

    @property
    def inject(self) -> bytes:
        """The bytes to inject (empty when none)."""
        return base64.b64decode(self.inject_b64) if self.inject_b64 else b""

    @staticmethod
    def injecting(data: bytes, after: int = 0, *, then_continue: bool = False) -> dict[str, Any]:
        """Scenario keyword arguments that inject data: ``Scenario(**Scenario.injecting(b"x"))``."""
        return {
            "inject_b64": base64.b64encode(data).decode(),
            "inject_after": after,
            "inject_continue": then_continue,
        }

    def __post_init__(self) -> None:
        # The default text is for plain answers; a scripted tool call comes alone unless the
        # test gives text (an identity check: an explicit equal tuple is kept).
        if self.tool_calls and self.chunks is DEFAULT_CHUNKS:
            object.__setattr__(self, "chunks", ())

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; from_dict(to_dict()) gives the same Scenario."""
        data = dataclasses.asdict(self)
        data["chunks"] = list(self.chunks)
        data["tool_calls"] = [dataclasses.asdict(call) for call in self.tool_calls]
        return data

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Scenario:
        """A Scenario from JSON; unknown keys are an error so typos do not pass silently."""
        known = {f.name for f in dataclasses.fields(Scenario)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown scenario keys: {sorted(unknown)}")
        values = dict(data)
        if "chunks" in values:
            values["chunks"] = tuple(values["chunks"])
        if "usage" in values and isinstance(values["usage"], dict):
            values["usage"] = UsageSpec(**values["usage"])
        if "tool_calls" in values:
            values["tool_calls"] = tuple(
                call if isinstance(call, FakeToolCall) else FakeToolCall(**call)
                for call in values["tool_calls"]
            )
        return Scenario(**values)
