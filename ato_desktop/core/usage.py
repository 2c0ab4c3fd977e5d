"""Normalise each provider's token usage report into one TokenUsage.

The three wire formats count differently:

- Anthropic Messages: ``input_tokens`` EXCLUDES the prompt-cache reads and writes, which arrive as
  ``cache_read_input_tokens`` and ``cache_creation_input_tokens`` (split by lifetime in
  ``cache_creation.ephemeral_5m_input_tokens`` / ``ephemeral_1h_input_tokens``); ``output_tokens``
  includes the thinking tokens (``output_tokens_details.thinking_tokens``).
- OpenAI Responses: ``input_tokens`` INCLUDES ``input_tokens_details.cached_tokens`` (and
  ``cache_write_tokens``); ``output_tokens`` includes ``output_tokens_details.reasoning_tokens``.
- Chat Completions: ``prompt_tokens`` includes ``prompt_tokens_details.cached_tokens``;
  ``completion_tokens`` includes ``completion_tokens_details.reasoning_tokens``.

TokenUsage follows the OpenAI semantics (input includes cached tokens). Every function accepts a
plain mapping (parsed JSON) or an SDK object, and never raises on missing, None, negative or
string-typed numbers: OpenAI-compatible servers and proxies send all of those.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from ato_desktop.core.models import TokenUsage


def get_field(source: object, name: str) -> object:
    """``source[name]`` for a mapping, ``source.name`` for an object, None when absent."""
    if source is None:
        return None
    if isinstance(source, Mapping):
        return source.get(name)
    value = getattr(source, name, None)
    if value is None:
        # pydantic models keep fields they do not declare (OpenRouter's usage.cost) in model_extra.
        extra = getattr(source, "model_extra", None)
        if isinstance(extra, Mapping):
            return extra.get(name)
    return value


# No response reports more tokens than this (a trillion); a bigger figure (1e308, 2**64) is a
# broken server's, and as a count it would overflow the log's 64-bit integers.
MAX_TOKEN_COUNT = 10**12


def to_count(value: object) -> int:
    """A token count from anything a provider may send: 12, 12.0, "12", None, "n/a" -> 0."""
    if value is None or isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value if 0 < value <= MAX_TOKEN_COUNT else 0
    number: float
    if isinstance(value, float):
        number = value
    elif isinstance(value, Decimal):
        try:
            number = float(value)
        except (ValueError, OverflowError):
            return 0
    elif isinstance(value, str | bytes):
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        try:
            number = float(text.strip())
        except ValueError:
            return 0
    else:
        return 0
    if not math.isfinite(number) or number <= 0 or number > MAX_TOKEN_COUNT:
        return 0
    return int(number)


def to_usd(value: object) -> float | None:
    """A money amount from anything a provider may send: 0.0142, "0.014200", Decimal; else None."""
    if value is None or isinstance(value, bool):
        return None
    number: float
    try:
        if isinstance(value, int | float | Decimal):
            number = float(value)
        elif isinstance(value, str | bytes):
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
            number = float(Decimal(text.strip()))
        else:
            return None
    except (ValueError, OverflowError, InvalidOperation):
        return None
    if not math.isfinite(number) or number < 0:
        return None
    return number


def _nested(source: object, *path: str) -> object:
    for name in path:
        source = get_field(source, name)
        if source is None:
            return None
    return source


def _merged(reports: tuple[object, ...], name: str) -> object:
    """The last non-None value of ``name`` across successive reports of one response."""
    value: object = None
    for report in reports:
        candidate = get_field(report, name)
        if candidate is not None:
            value = candidate
    return value


def usage_from_anthropic(*reports: object) -> TokenUsage:
    """TokenUsage from Anthropic ``usage`` objects, later reports overriding earlier ones.

    A stream reports usage twice: ``message_start.message.usage`` and the cumulative
    ``message_delta.usage``; pass them in that order. Fields a report leaves out (None) keep the
    earlier value.
    """
    uncached = to_count(_merged(reports, "input_tokens"))
    cache_read = to_count(_merged(reports, "cache_read_input_tokens"))
    cache_write_raw = _merged(reports, "cache_creation_input_tokens")
    # The per-lifetime breakdown (cache_creation.ephemeral_5m / _1h_input_tokens): 1-hour writes
    # cost more than 5-minute ones, so the split is kept whenever the report has it.
    breakdown = _merged(reports, "cache_creation")
    written_5m = to_count(get_field(breakdown, "ephemeral_5m_input_tokens"))
    written_1h = to_count(get_field(breakdown, "ephemeral_1h_input_tokens"))
    if cache_write_raw is None:
        cache_write = written_5m + written_1h  # older payloads may carry only the breakdown
    else:
        cache_write = max(to_count(cache_write_raw), written_1h)
    output = to_count(_merged(reports, "output_tokens"))
    reasoning = to_count(get_field(_merged(reports, "output_tokens_details"), "thinking_tokens"))
    return TokenUsage(
        input_tokens=uncached + cache_read + cache_write,
        output_tokens=output,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        reasoning_tokens=min(reasoning, output),
        cache_write_1h_tokens=written_1h,
    )


def usage_from_responses(usage: object) -> TokenUsage:
    """TokenUsage from an OpenAI Responses ``response.usage`` object."""
    details = get_field(usage, "input_tokens_details")
    cache_read = to_count(get_field(details, "cached_tokens"))
    cache_write = to_count(get_field(details, "cache_write_tokens"))
    output = to_count(get_field(usage, "output_tokens"))
    reasoning = to_count(_nested(usage, "output_tokens_details", "reasoning_tokens"))
    return TokenUsage(
        # Cached tokens are part of input_tokens; max() keeps that true for inconsistent reports.
        input_tokens=max(to_count(get_field(usage, "input_tokens")), cache_read + cache_write),
        output_tokens=max(output, reasoning),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        reasoning_tokens=reasoning,
    )


def usage_from_chat(usage: object) -> TokenUsage:
    """TokenUsage from a Chat Completions ``usage`` object (OpenAI or any compatible server)."""
    details = get_field(usage, "prompt_tokens_details")
    cache_read_raw = get_field(details, "cached_tokens")
    if cache_read_raw is None:
        # DeepSeek-style servers report cache hits outside prompt_tokens_details.
        cache_read_raw = get_field(usage, "prompt_cache_hit_tokens")
    cache_read = to_count(cache_read_raw)
    cache_write = to_count(get_field(details, "cache_write_tokens"))
    output = to_count(get_field(usage, "completion_tokens"))
    reasoning = to_count(_nested(usage, "completion_tokens_details", "reasoning_tokens"))
    return TokenUsage(
        input_tokens=max(to_count(get_field(usage, "prompt_tokens")), cache_read + cache_write),
        output_tokens=max(output, reasoning),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        reasoning_tokens=reasoning,
    )


def provider_cost_usd(usage: object) -> float | None:
    """The cost a provider stated in its usage report (OpenRouter's ``usage.cost``), else None."""
    return to_usd(get_field(usage, "cost"))
