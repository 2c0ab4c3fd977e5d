"""The arithmetic of the charts: time buckets for a window, bin edges for a distribution, tick
labels, the month's spend projection, and value formatting with units. Pure, no I/O."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

MINUTE_MS: Final = 60_000
HOUR_MS: Final = 3_600_000
DAY_MS: Final = 86_400_000

# Bucket sizes a time axis may use, smallest first: readable steps that tile hours and days.
BUCKET_STEPS_MS: Final = (
    5 * MINUTE_MS,
    15 * MINUTE_MS,
    30 * MINUTE_MS,
    HOUR_MS,
    3 * HOUR_MS,
    6 * HOUR_MS,
    12 * HOUR_MS,
    DAY_MS,
    7 * DAY_MS,
    30 * DAY_MS,
    91 * DAY_MS,
    365 * DAY_MS,
)
MAX_BUCKETS: Final = 180  # about 6 px per bar across a 1280-px window: still one bar each


def bucket_for_span(span_ms: int, max_buckets: int = MAX_BUCKETS) -> int:
    """The smallest step of BUCKET_STEPS_MS that cuts span_ms into at most max_buckets."""
    for step in BUCKET_STEPS_MS:
        if span_ms <= step * max_buckets:
            return step
    return BUCKET_STEPS_MS[-1]


def align_window(start_ms: int, end_ms: int, bucket_ms: int) -> tuple[int, int]:
    """The window grown to whole buckets, aligned to the epoch (UTC hours and days)."""
    start = start_ms - start_ms % bucket_ms
    end = -(-end_ms // bucket_ms) * bucket_ms
    return start, max(end, start + bucket_ms)


def time_label(ms: int, bucket_ms: int) -> str:
    """A bucket's start as a short UTC label at the bucket's precision."""
    when = datetime.fromtimestamp(ms / 1000, tz=UTC)
    day = f"{when:%b} {when.day}"
    if bucket_ms >= DAY_MS or ms % DAY_MS == 0:
        return day
    if bucket_ms >= HOUR_MS:
        return f"{day} {when:%H}:00"
    return f"{when:%H:%M}"


def full_time_label(start_ms: int, bucket_ms: int) -> str:
    """'2026-03-04 10:00–11:00 UTC': a bucket's exact range, for tooltips and CSV."""
    start = datetime.fromtimestamp(start_ms / 1000, tz=UTC)
    end = datetime.fromtimestamp((start_ms + bucket_ms) / 1000, tz=UTC)
    if bucket_ms % DAY_MS == 0:
        if bucket_ms == DAY_MS:
            return start.strftime("%Y-%m-%d") + " UTC"
        return f"{start:%Y-%m-%d} – {end:%Y-%m-%d} UTC"
    if start.date() == end.date() or end.hour == end.minute == 0:
        return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M} UTC"
    return f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} UTC"


def range_label(since_ms: int, until_ms: int) -> str:
    """'Mar 4 10:00 – Mar 5 12:00 UTC': a picked time range, to the minute."""
    start = datetime.fromtimestamp(since_ms / 1000, tz=UTC)
    end = datetime.fromtimestamp(until_ms / 1000, tz=UTC)
    left = f"{start:%b} {start.day} {start:%H:%M}"
    right = f"{end:%H:%M}" if start.date() == end.date() else f"{end:%b} {end.day} {end:%H:%M}"
    return f"{left} – {right} UTC"


def tick_positions(count: int, bucket_ms: int, start_ms: int, most: int = 8) -> list[int]:
    """Bucket indexes to label on an axis of count buckets: at most `most`, on round times
    (midnights for hour buckets spanning days) where possible."""
    if count <= 0:
        return []
    every = max(1, math.ceil(count / most))
    if bucket_ms < DAY_MS and DAY_MS % bucket_ms == 0 and count * bucket_ms > 2 * DAY_MS:
        per_day = DAY_MS // bucket_ms
        days = max(1, math.ceil(count / per_day / most))
        first = (-(start_ms % DAY_MS) // bucket_ms) % per_day
        return list(range(first, count, per_day * days))
    return list(range(0, count, every))


def bin_edges(low: float, high: float, bins: int = 16, *, log: bool = False) -> list[float]:
    """bins + 1 edges from low to high, evenly spaced (on a log scale when log and low > 0):
    latencies and costs have long right tails, which a log scale keeps readable."""
    if bins < 1:
        raise ValueError("at least one bin")
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("edges need finite bounds")
    if high < low:
        low, high = high, low
    if high == low:
        pad = abs(low) * 0.05 or 1.0
        low, high = low - pad, high + pad
        if log and low <= 0:
            low = high / 100
    if log and low > 0:
        a, b = math.log(low), math.log(high)
        return [math.exp(a + (b - a) * i / bins) for i in range(bins)] + [high]
    return [low + (high - low) * i / bins for i in range(bins)] + [high]


def month_projection(month_to_date_usd: float, now_ms: int) -> tuple[float, float]:
    """(projected spend for the whole UTC month at the pace so far, the share of it elapsed)."""
    when = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    start = datetime(when.year, when.month, 1, tzinfo=UTC)
    next_month = datetime(when.year + (when.month == 12), when.month % 12 + 1, 1, tzinfo=UTC)
    elapsed = (when - start).total_seconds() / (next_month - start).total_seconds()
    if elapsed <= 0:
        return month_to_date_usd, 0.0
    return month_to_date_usd / elapsed, elapsed


def format_value(value: float | None, unit: str) -> str:
    """A value with its unit as a person reads it: $0.0142, 1,234 ms, 95.0 %, 1,234 runs."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if unit == "USD":
        magnitude = abs(value)
        if magnitude == 0:
            return "$0"
        if magnitude >= 100:
            return f"${value:,.0f}"
        if magnitude >= 1:
            return f"${value:,.2f}"
        if magnitude >= 0.01:
            return f"${value:.4f}"
        return f"${value:.6f}"
    if unit == "ms":
        if abs(value) >= 10_000:
            return f"{value / 1000:,.1f} s"
        return f"{value:,.0f} ms"
    if unit == "s":
        return f"{value:,.1f} s"
    if unit == "%":
        return f"{value:.1f} %"
    if unit == "score":
        return f"{value:.2f}"
    if unit == "runs":
        return f"{value:,.0f} run{'s' if round(value) != 1 else ''}"
    return f"{value:,.4g}"


def nearest_rank(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (as core.regressions.percentile), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]
