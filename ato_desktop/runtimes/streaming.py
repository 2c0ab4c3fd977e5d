"""What the three adapters share: stall detection, key/base-URL resolution, parameter coercion."""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Final, TypeVar

from ato_desktop.core.models import RuntimeEvent
from ato_desktop.runtimes import errors
from ato_desktop.runtimes.errors import Phase, Provider

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


async def pump_text(
    stream: AsyncIterator[T],
    take: Callable[[T], str],
    finished: Callable[[], bool],
    provider: Provider,
    *,
    stall_timeout_s: float,
    secret: str | None,
    result: PumpResult,
) -> AsyncGenerator[RuntimeEvent, None]:
    """Read an SDK stream until `finished()` or its end, yielding each text delta `take` finds.

    The loop every adapter shares: a stall (no item within stall_timeout_s), a transport
    failure, or an item shaped unlike the API's ends it with result.failure set, which the
    adapter yields after the usage it has gathered.
    """
    while not finished():
        try:
            item = await next_within(stream, stall_timeout_s)
        except StreamStalled:
            result.failure = errors.stalled(provider, stall_timeout_s)
            return
        except Exception as exc:
            result.failure = errors.exception_error(exc, provider, Phase.STREAM, api_key=secret)
            return
        if isinstance(item, EndOfStream):
            return
        try:
            text = take(item)
        except Exception as exc:  # an item shaped unlike the API's: not ours to raise
            result.failure = errors.exception_error(exc, provider, Phase.STREAM, api_key=secret)
            return
        if text:
            yield RuntimeEvent.text_delta(text)
