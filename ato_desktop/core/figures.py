"""Money, rates and durations as people read them: the one place every front end (the CLI, the
windows, exports' summaries) formats a figure.

Every value goes through core.coerce first: a cost that arrives as "0.014200", a null or a
missing figure gives text ("—" for unknown), never an exception.
"""

from __future__ import annotations

from ato_desktop.core.coerce import as_money
from ato_desktop.core.timefmt import human_duration
from ato_desktop.core.vocabulary import CostSource

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:
    from typing import Any

DASH = "—"
MINUS = "−"  # a real minus sign: "-" reads as a hyphen in proportional fonts


def usd(value: Any) -> str:
    """A cost to the digits that matter: $0.00, $0.000012, $0.0042, $0.142, $12.40."""
    amount = as_money(value)
    if amount is None:
        return DASH
    sign, amount = ("-" if amount < 0 else ""), abs(amount)
    if amount == 0:
        text = "$0.00"
    elif amount < 0.0001:
        text = f"${amount:.6f}"
    elif amount < 0.01:
        text = f"${amount:.4f}"
    elif amount < 1:
        text = f"${amount:.3f}"
    else:
        text = f"${amount:,.2f}"
    return sign + text


def usd_cents(value: Any) -> str:
    """Spend and budgets in dollars and cents ($12.40, $1,250.00); below a cent, four places
    ($0.0042), so a little spend never reads as nothing."""
    amount = as_money(value)
    if amount is None:
        return DASH
    if amount == 0:
        return "$0.00"
    if abs(amount) < 0.01:
        return f"${amount:.4f}"
    return f"${amount:,.2f}"


def cost_text(value: Any, source: Any = None) -> str:
    """A cost with its source: '$0.0142 est.', 'unknown', 'local', '—' (no cost recorded)."""
    amount = as_money(value)
    source = source if isinstance(source, str) else None
    if source == CostSource.LOCAL.value:
        return "local"
    if source == CostSource.UNKNOWN.value:
        return "unknown" if not amount else f"≥ {usd(amount)} (part unknown)"
    if amount is None:
        return DASH
    text = usd(amount)
    return f"{text} est." if source == CostSource.ESTIMATED.value else text


def ms_text(value: Any) -> str:
    """A duration in milliseconds, precisely: 850 ms, 1.24 s, 2 m 05 s, 1 h 02 m."""
    ms = as_money(value)
    if ms is None:
        return DASH
    sign, ms = ("-" if ms < 0 else ""), abs(ms)
    if ms < 1:
        text = f"{ms:.2f} ms" if ms else "0 ms"
    elif ms < 1000:
        text = f"{ms:.0f} ms"
    elif ms < 60_000:
        text = f"{ms / 1000:.2f} s"
    elif ms < 3_600_000:
        minutes, seconds = divmod(round(ms / 1000), 60)
        text = f"{minutes} m {seconds:02d} s"
    else:
        minutes = round(ms / 60_000)
        text = f"{minutes // 60} h {minutes % 60:02d} m"
    return sign + text


def duration_ms(value: Any) -> str:
    """A duration in milliseconds, short (core.timefmt.human_duration): 850 ms, 12.3 s."""
    ms = as_money(value)
    return DASH if ms is None else human_duration(int(ms * 1_000_000))


def seconds_text(seconds: int) -> str:
    """Whole seconds as a clock reads them: 8 s, 4 m 05 s, 2 h 10 m."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} m {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} m"


def rate_text(value: Any, *, fine: bool = False) -> str:
    """A rate (0.42) as a percentage: 42%; fine=True keeps a decimal below 1% (0.5%)."""
    rate = as_money(value)
    if rate is None:
        return DASH
    percent = rate * 100
    if fine and 0 < percent < 1:
        return f"{percent:.1f}%"
    return f"{percent:.0f}%"


def count_text(value: Any, digits: int = 0) -> str:
    """A count with thousands separators: 1,234; digits places when it is not whole."""
    number = as_money(value)
    if number is None:
        return DASH
    if digits == 0 or float(number).is_integer():
        return f"{round(number):,}"
    return f"{number:,.{digits}f}"
