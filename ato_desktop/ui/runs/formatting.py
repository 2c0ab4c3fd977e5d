"""Display text for runs and actions. Plain Python (no Qt): rows are formatted on reader threads."""

from __future__ import annotations

import time
from datetime import datetime

from ato_desktop.core.cost_rollup import format_cost
from ato_desktop.core.figures import DASH, seconds_text
from ato_desktop.core.timefmt import rfc3339


def now_ms() -> int:
    return int(time.time() * 1000)


def short_id(run_id: str) -> str:
    """The last 8 hex digits: UUIDv7 ids share their leading (time) digits; the CLI accepts a
    unique suffix."""
    return run_id[-8:] if len(run_id) > 8 else run_id


def local_time(epoch_ms: int | None, now: int | None = None) -> str:
    """'Today 14:03:12', 'Nov 21 14:03:12', or '2025-11-21 14:03' for another year."""
    if epoch_ms is None:
        return DASH
    moment = datetime.fromtimestamp(epoch_ms / 1000)
    today = datetime.fromtimestamp((now if now is not None else now_ms()) / 1000)
    if moment.date() == today.date():
        return moment.strftime("Today %H:%M:%S")
    if moment.year == today.year:
        return f"{moment.strftime('%b')} {moment.day} {moment.strftime('%H:%M:%S')}"
    return moment.strftime("%Y-%m-%d %H:%M")


def precise_time(epoch_ms: int | None) -> str:
    """Local time to the millisecond: 'Nov 21 22:06:44.743'."""
    if epoch_ms is None:
        return DASH
    moment = datetime.fromtimestamp(epoch_ms / 1000)
    return (
        f"{moment.strftime('%b')} {moment.day} {moment.strftime('%H:%M:%S')}.{epoch_ms % 1000:03d}"
    )


def full_time(epoch_ms: int | None) -> str:
    """Local date and time with milliseconds, and the UTC RFC 3339 form (for tooltips)."""
    if epoch_ms is None:
        return DASH
    moment = datetime.fromtimestamp(epoch_ms / 1000)
    local = moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{epoch_ms % 1000:03d}"
    return f"{local} local · {rfc3339(epoch_ms)}"


def ago(epoch_ms: int | None, now: int | None = None) -> str:
    """'just now', '12 s ago', '4 min ago', '3 h ago', '2 d ago'."""
    if epoch_ms is None:
        return DASH
    seconds = max(0, ((now if now is not None else now_ms()) - epoch_ms) // 1000)
    if seconds < 2:
        return "just now"
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86_400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86_400} d ago"


def elapsed(start_ms: int, now: int | None = None) -> str:
    """Wall time since start: '8 s', '4 m 05 s', '2 h 10 m'."""
    return seconds_text(((now if now is not None else now_ms()) - start_ms) // 1000)


def cost_cell(usd: float | None, source: str | None) -> tuple[str, bool]:
    """A cost cell's text and whether it is estimated (the table draws "est." as a pill)."""
    text = format_cost(usd, source)
    if text.endswith(" est."):
        return text[: -len(" est.")], True
    return text, False


def size_text(count: int | None, unit: str = "B") -> str:
    """1234 -> '1.2 KB' (unit 'B') or '1.2 K chars' style with another unit."""
    if count is None:
        return DASH
    if unit == "B":
        if count < 1024:
            return f"{count} B"
        if count < 1024 * 1024:
            return f"{count / 1024:.1f} KB"
        return f"{count / (1024 * 1024):.1f} MB"
    if count < 1000:
        return f"{count} {unit}"
    if count < 1_000_000:
        return f"{count / 1000:.1f} K {unit}"
    return f"{count / 1_000_000:.1f} M {unit}"


def count_text(value: int) -> str:
    return f"{value:,}"


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else (many or word + 's')}"
