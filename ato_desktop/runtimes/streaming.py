"""What the three adapters share: stall detection, key/base-URL resolution, parameter coercion,
and tool-call assembly."""

from __future__ import annotations

import asyncio
import json
import math
import os
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from ato_desktop.core.models import ChatMessage, EventKind, RuntimeEvent, ToolCall

T = TypeVar("T")


class EndOfStream:
    """Marks the end of an iterator for next_within; a class so mypy can tell it from an item."""


END_OF_STREAM: Final = EndOfStream()


class StreamStalled(Exception):
    """No item arrived from the stream within the stall timeout."""


async def next_within(iterator: AsyncIterator[T], stall_timeout_s: float) -> T | EndOfStream:
    """The next item of ``iterator``, END_OF_STREAM at its end, StreamStalled if none in time.

    The timeout runs in the caller's task (asyncio.timeout, not wait_for), so the SDK stream is
    read by the task that owns it and a cancellation of that task reaches it directly. When the
    timer fires, the pending read is cancelled, which closes the SDK's HTTP response.
    """
    timer = asyncio.timeout(stall_timeout_s if stall_timeout_s > 0 else None)
    try:
        async with timer:
            return await anext(iterator)
    except StopAsyncIteration:
        return END_OF_STREAM
    except TimeoutError:
        if timer.expired():
            raise StreamStalled from None
        raise


class StallWatch:
    """next_within for every read of one stream, with one timer instead of one per item.

    A stream yields hundreds of deltas a second; arming and cancelling a timeout around each
    read costs a timer (a Qt timer under qasync) per delta on the UI thread. Here a read only
    notes when it started; the one timer, when it fires, cancels the read if it has waited
    stall_timeout_s, and otherwise sleeps until it could have. As with asyncio.timeout, the
    cancellation runs in the reading task, so the SDK's HTTP response is closed.
    """

    def __init__(self, stall_timeout_s: float) -> None:
        self.timeout_s = stall_timeout_s if stall_timeout_s > 0 else None
        self._handle: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[Any] | None = None
        self._read_started: float | None = None  # None: not reading now
        self._since: float | None = None  # when the wait of the current read began to count
        self._fired = False

    async def next(self, iterator: AsyncIterator[T], *, restart: bool = True) -> T | EndOfStream:
        """The next item, END_OF_STREAM at the end, StreamStalled if none arrives in time.

        ``restart=False``: what the last read returned was no progress (bytes that held no
        event, a keep-alive), so this read's wait counts from the start of that one.
        """
        if self.timeout_s is None:
            return await next_within(iterator, 0)
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - always read from a task
            return await next_within(iterator, self.timeout_s)
        if self._task is not task:  # first read, or read from another task: start over
            self.close()
            self._task = task
            restart = True
        if restart or self._since is None:
            self._since = loop.time()
        self._read_started = self._since
        if self._handle is None:
            self._handle = loop.call_at(self._read_started + self.timeout_s, self._check)
        cancelling = task.cancelling()
        try:
            return await anext(iterator)
        except StopAsyncIteration:
            return END_OF_STREAM
        except asyncio.CancelledError:
            if self._fired and task.uncancel() <= cancelling:
                self._fired = False
                raise StreamStalled from None
            raise
        finally:
            self._read_started = None

    def _check(self) -> None:
        self._handle = None
        task, started, timeout = self._task, self._read_started, self.timeout_s
        if task is None or timeout is None or task.done():
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        if started is not None and now - started >= timeout:
            self._fired = True
            task.cancel()
            return
        # Not reading (the consumer is busy), or reading for less than the timeout.
        self._handle = loop.call_at(
            (started if started is not None else now) + timeout, self._check
        )

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._task = None


def resolve_api_key(explicit: str | None, env_var: str) -> str | None:
    """The request's key, else the environment variable's, else None (empty counts as absent)."""
    if explicit:
        return explicit
    return os.environ.get(env_var) or None


def resolve_base_url(explicit: str | None, env_var: str, default: str) -> str:
    """The request's base URL, else the environment variable's, else the runtime's default."""
    for candidate in (explicit, os.environ.get(env_var)):
        if candidate and candidate.strip():
            return candidate.strip()
    return default


def is_http_url(url: str) -> bool:
    """True for an http(s) URL with a host: the only kind an adapter will send a key to."""
    lowered = url.lower()
    return lowered.startswith(("http://", "https://")) and len(lowered.split("://", 1)[1]) > 0


class ParamError(ValueError):
    """A generation parameter that cannot be sent (not a number, out of range)."""


def float_param(params: Mapping[str, object], name: str) -> float | None:
    """``params[name]`` as a float, None when absent; ParamError when it is not a number."""
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        raise ParamError(f"parameter {name} must be a number, not {value!r}")
    try:
        number = float(value) if isinstance(value, int | float | str) else math.nan
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise ParamError(f"parameter {name} must be a number, not {value!r}")
    return number


def int_param(params: Mapping[str, object], name: str) -> int | None:
    """``params[name]`` as an int, None when absent; ParamError when it is not a whole number."""
    number = float_param(params, name)
    if number is None:
        return None
    if not number.is_integer():
        raise ParamError(f"parameter {name} must be a whole number, not {params.get(name)!r}")
    return int(number)


def stop_param(params: Mapping[str, object]) -> list[str] | None:
    """``params["stop"]`` as a list of strings (a single string is one stop sequence)."""
    value = params.get("stop")
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return [str(item) for item in value]
    raise ParamError(f"parameter stop must be a string or a list of strings, not {value!r}")


@dataclass
class PumpResult:
    """How a pumped stream ended: failure is the ERROR to yield, None when it ended cleanly."""

    failure: RuntimeEvent | None = None


# ------------------------------------------------------------------------------- tool calls

# The key under which arguments that are not a JSON object travel (ToolCall's convention).
RAW_ARGUMENTS: Final = "$raw"


def parse_tool_arguments(text: str) -> dict[str, Any]:
    """The arguments a model streamed, as a dict: {} for none, {"$raw": text} when they are not a
    JSON object (truncated, invalid, or a bare value). Never raises."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return {RAW_ARGUMENTS: text}
    return value if isinstance(value, dict) else {RAW_ARGUMENTS: text}


def tool_arguments_text(arguments: dict[str, Any]) -> str:
    """``arguments`` as the JSON text the OpenAI formats carry: {"$raw": text} goes back as the
    model's own text. Compact, as the models write it, so the prompt a turn re-sends is the one
    the provider cached."""
    raw = arguments.get(RAW_ARGUMENTS)
    if len(arguments) == 1 and isinstance(raw, str):
        return raw
    return json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))


def tool_result_text(message: ChatMessage) -> str:
    """A tool message's content for an API with no error flag (Responses, Chat Completions): a
    failed call says so, so the model can tell an error from a result."""
    if message.is_error and not message.content.lstrip().lower().startswith("error"):
        return f"Error: {message.content}"
    return message.content


def tool_call_event(call: ToolCall) -> RuntimeEvent:
    """A TOOL_CALL event: one complete call the model asked for."""
    return RuntimeEvent(EventKind.TOOL_CALL, tool_call=call)


def require_tool_call_id(message: ChatMessage) -> str:
    """The id a tool message answers; ParamError when it has none (no API accepts that)."""
    if not message.tool_call_id:
        raise ParamError("a tool message needs the tool_call_id of the call it answers")
    return message.tool_call_id


@dataclass
class PendingToolCall:
    """A tool call being assembled from stream deltas: id and name first, arguments in pieces."""

    id: str = ""
    name: str = ""
    parts: list[str] = field(default_factory=list)
    # Arguments the API stated whole at the end (Responses' ...arguments.done): they win.
    final_arguments: str | None = None

    @property
    def arguments_text(self) -> str:
        return self.final_arguments if self.final_arguments is not None else "".join(self.parts)

    def build(self, fallback_id: str) -> ToolCall:
        """The complete call; ``fallback_id`` when the server sent no id (some local servers)."""
        return ToolCall(
            self.id or fallback_id, self.name, parse_tool_arguments(self.arguments_text)
        )


def built_tool_calls(pending: list[PendingToolCall]) -> list[ToolCall]:
    """Complete calls in order. A call the server sent without an id gets a fresh ``call_...``
    one, unique across the conversation, so its result can still be matched to it."""
    return [call.build(f"call_{uuid.uuid4().hex[:24]}") for call in pending]
