"""Time windows, durations and RFC 3339 timestamps: parsing and formatting, no clock reads."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$", re.IGNORECASE)
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}

TIME_WINDOWS = ("24h", "7d", "30d", "all")
# The longest duration read: 100 years (in nanoseconds it still fits SQLite's 64-bit integers).
MAX_DURATION_MS = 100 * 365 * 86_400_000


class DurationError(ValueError):
    """A duration or time window that cannot be read."""


def parse_duration_ms(text: str) -> int:
    """'10m' -> 600000. Accepts ms, s, m, h, d, w."""
    match = _DURATION.match(text)
    if not match:
        raise DurationError(
            f"cannot read duration {text!r}: use a number and a unit, e.g. 30s, 10m, 24h, 7d"
        )
    value = float(match.group(1)) * _UNIT_MS[match.group(2).lower()]
    if not value <= MAX_DURATION_MS:  # also inf: 400 nines overflow a float
        raise DurationError(f"duration {text.strip()[:40]!r} is longer than 100 years")
    return int(value)


def window_start_ms(window: str, now_ms: int) -> int | None:
    """Start of a time window ('24h', '7d', '30d', any duration, or 'all' -> None)."""
    if window.strip().lower() == "all":
        return None
    return now_ms - parse_duration_ms(window)


def rfc3339(epoch_ms: int | None) -> str | None:
    """Epoch milliseconds as an RFC 3339 UTC timestamp with milliseconds ('...Z')."""
    if epoch_ms is None:
        return None
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def ns_to_ms(value_ns: int | None) -> float | None:
    """Nanoseconds as milliseconds with microsecond resolution."""
    if value_ns is None:
        return None
    return round(value_ns / 1_000_000, 3)


def human_duration(value_ns: int | None) -> str:
    """A short human form: 850 ms, 12.3 s, 4 m 05 s, 2 h 10 m."""
    if value_ns is None:
        return "—"
    ms = value_ns / 1_000_000
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} m {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} m"
