"""Server-sent events read straight from the HTTP response, for the three API adapters.

The SDKs build the request, authenticate, retry, time out and raise their errors for a failed
request; the body of a streaming answer is then read here rather than by the SDK's stream. Per
event the SDK decodes every line to text, splits it field by field, parses the JSON and builds a
pydantic model of it: some 150 us of Python per delta, on the engine thread, all of it holding
the GIL the UI thread needs to paint. Here an event is found with one ``bytes.find``, its data
stays bytes, and orjson parses it into plain dicts the adapters read.

Decoding follows the SSE specification as the SDKs apply it: lines end in LF, CRLF or CR; a
blank line ends an event; ``:`` starts a comment; ``data`` lines join with LF; an event that
ends without its blank line (a cut body) is dropped. A failed read raises the SDK's own
APITimeoutError / APIConnectionError, as the SDK's stream does, so errors.py classifies it the
same way.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Callable
from types import ModuleType
from typing import Any, Final, NamedTuple

import orjson

from ato_desktop.core.models import RuntimeEvent
from ato_desktop.runtimes import errors
from ato_desktop.runtimes.errors import Phase, Provider
from ato_desktop.runtimes.streaming import EndOfStream, PumpResult, StallWatch, StreamStalled


class Frame(NamedTuple):
    """One server-sent event: its ``event`` name (None when it had none) and its ``data``."""

    event: str | None
    data: bytes


def loads(data: bytes) -> Any:
    """The JSON value of an event's data: orjson, and the stdlib parser for what orjson refuses
    (NaN, lone surrogates), so every payload the SDK parsed still parses, and what neither
    parses raises a JSONDecodeError (or UnicodeDecodeError) as the SDK's did. One difference:
    orjson reads an integer past 64 bits as a float (no count or index is that big)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data.decode("utf-8"))


def _frame(block: bytes) -> Frame | None:
    """The event in ``block`` (its lines, LF-separated, without the blank line that ended it);
    None when it has no field that makes an event (only comments, or nothing)."""
    if block.startswith(b"event:") and block.count(b"\n") == 1:
        # The common shape (Anthropic, Responses): "event: NAME" then one "data: JSON" line.
        head, _, line = block.partition(b"\n")
        if line.startswith(b"data:"):
            name = head[6:]
            value = line[5:]
            return Frame(
                (name[1:] if name.startswith(b" ") else name).decode("utf-8") or None,
                value[1:] if value.startswith(b" ") else value,
            )
    elif block.startswith(b"data:") and b"\n" not in block:
        # The common shape of Chat Completions: one "data: JSON" line.
        value = block[5:]
        return Frame(None, value[1:] if value.startswith(b" ") else value)
    event: str | None = None
    data: list[bytes] = []
    other = False  # an id or retry field: the SDKs dispatch an event for those too
    for line in block.split(b"\n"):
        if not line or line.startswith(b":"):
            continue  # a blank line before the event's fields, or a comment
        field, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if field == b"data":
            data.append(value)
        elif field == b"event":
            event = value.decode("utf-8") or None
        elif field == b"id":
            other = other or b"\0" not in value
        elif field == b"retry":
            other = other or value.strip().isdigit()
    if event is None and not data and not other:
        return None
    return Frame(event, b"\n".join(data))


class SSEDecoder:
    """Bytes in, complete events out, however the body is split into chunks."""

    __slots__ = ("_buffer", "_cr", "_scanned")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._scanned = 0  # how much of the buffer holds no event end
        self._cr = False  # the last chunk ended in CR: a CRLF's LF may start the next one

    def _normalized(self, chunk: bytes) -> bytes:
        """``chunk`` with CRLF and CR line ends as LF (a trailing CR held back a chunk)."""
        if self._cr:
            self._cr = False
            chunk = b"\n" + (chunk[1:] if chunk.startswith(b"\n") else chunk)
        if chunk.endswith(b"\r"):
            self._cr = True
            chunk = chunk[:-1]
        return chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")

    def feed(self, chunk: bytes) -> list[Frame]:
        """The events ``chunk`` completes, in order."""
        if self._cr or b"\r" in chunk:
            chunk = self._normalized(chunk)
        buffer = self._buffer
        if not buffer:
            # The usual case: the chunk holds whole events, nothing is carried over.
            frames: list[Frame] = []
            start = 0
            end = chunk.find(b"\n\n")
            while end >= 0:
                frame = _frame(chunk[start:end])
                if frame is not None:
                    frames.append(frame)
                start = end + 2
                end = chunk.find(b"\n\n", start)
            if start < len(chunk):
                buffer += memoryview(chunk)[start:]
                self._scanned = max(len(buffer) - 1, 0)
            return frames
        buffer += chunk
        frames = []
        start = 0
        end = buffer.find(b"\n\n", self._scanned)
        while end >= 0:
            frame = _frame(bytes(buffer[start:end]))
            if frame is not None:
                frames.append(frame)
            start = end + 2
            end = buffer.find(b"\n\n", start)
        if start:
            del buffer[:start]
        self._scanned = max(len(buffer) - 1, 0)
        return frames

    def end(self) -> list[Frame]:
        """The events a CR held back at the end of the body completes (an unfinished event,
        with no blank line after it, is dropped, as the SDKs drop it)."""
        return self.feed(b"") if self._cr else []


async def pump_events(
    response: Any,
    sdk: ModuleType,
    take: Callable[[Frame], str | None],
    finished: Callable[[], bool],
    provider: Provider,
    *,
    stall_timeout_s: float,
    secret: str | None,
    result: PumpResult,
) -> AsyncGenerator[RuntimeEvent, None]:
    """Read the events of ``response`` (an httpx response of ``sdk``'s client, body unread)
    until ``finished()`` or the body's end, yielding each text delta ``take`` finds.

    ``take`` notes what an event says and returns its text ("" for none), or None for an event
    the SDK's stream skips (a ping): bytes that bring only those (or comments) are not progress,
    so the stall clock keeps running. A stall (no progress within stall_timeout_s), a failed
    read (raised as the SDK raises it: ``sdk.APITimeoutError`` or ``sdk.APIConnectionError``,
    caused by the transport's exception), or an event ``take`` cannot read ends the loop with
    result.failure set, which the adapter yields after the usage it has gathered.
    """
    import httpx2

    watch = StallWatch(stall_timeout_s)
    decoder = SSEDecoder()
    chunks = response.aiter_bytes()
    progress = True
    try:
        while not finished():
            try:
                chunk = await watch.next(chunks, restart=progress)
            except StreamStalled:
                result.failure = errors.stalled(provider, stall_timeout_s)
                return
            except Exception as exc:
                failure: Exception = (
                    sdk.APITimeoutError(request=response.request)
                    if isinstance(exc, httpx2.TimeoutException)
                    else sdk.APIConnectionError(request=response.request)
                )
                failure.__cause__ = exc
                result.failure = errors.exception_error(
                    failure, provider, Phase.STREAM, api_key=secret, timeout_s=stall_timeout_s
                )
                return
            ended = isinstance(chunk, EndOfStream)
            progress = False
            try:
                frames = decoder.end() if isinstance(chunk, EndOfStream) else decoder.feed(chunk)
                for frame in frames:
                    text = take(frame)
                    if text is None:
                        continue
                    progress = True
                    if text:
                        yield RuntimeEvent.text_delta(text)
                    if finished():
                        return
            except Exception as exc:  # an event shaped unlike the API's: not ours to raise
                result.failure = errors.exception_error(exc, provider, Phase.STREAM, api_key=secret)
                return
            if ended:
                return
    finally:
        watch.close()
        await chunks.aclose()


class Done:
    """The value of OpenAI's closing ``data: [DONE]`` event."""


DONE: Final = Done()


def openai_payload(frame: Frame, request: Any) -> Any:
    """One event of an OpenAI stream (Chat Completions, Responses) as the SDK's legacy stream
    reads it: DONE at ``data: [DONE]``, else its data's JSON value; an object with an "error"
    raises the SDK's APIError with that error as its body (``request``: the HTTP request)."""
    data = frame.data
    if data.startswith(b"[DONE]"):
        return DONE
    value = loads(data)
    event = frame.event
    if event is not None and event.startswith("thread."):
        # Assistants events: an error only when the event says so; nothing an adapter reads.
        if event == "error" and isinstance(value, dict) and value.get("error"):
            raise _api_error(value["error"], request)
        return {"data": value, "event": event}
    if isinstance(value, dict) and value.get("error"):
        raise _api_error(value["error"], request)
    return value


def _api_error(error: object, request: Any) -> Exception:
    import openai

    message = error.get("message") if isinstance(error, dict) else None
    if not message or not isinstance(message, str):
        message = "An error occurred during streaming"
    return openai.APIError(message=message, request=request, body=error)
