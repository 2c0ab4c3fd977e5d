"""Display text for Compare's figures and deltas. Plain Python (no Qt).

Every value goes through core.coerce first: a cost that arrives as "0.014200", a null or a
missing figure gives text ("—" for unknown), never an exception.
"""

from __future__ import annotations

from typing import Any

from ato_desktop.core.coerce import as_money
from ato_desktop.core.compare import Delta
from ato_desktop.core.models import CostSource

DASH = "—"
MINUS = "−"  # a real minus sign: "-" reads as a hyphen in proportional fonts


def ms_text(value: Any) -> str:
    """850 ms, 1.24 s, 2 m 05 s, 1 h 02 m."""
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


def usd_text(value: Any) -> str:
    usd = as_money(value)
    if usd is None:
        return DASH
    sign, usd = ("-" if usd < 0 else ""), abs(usd)
    if usd == 0:
        text = "$0.00"
    elif usd < 0.0001:
        text = f"${usd:.6f}"
    elif usd < 0.01:
        text = f"${usd:.4f}"
    elif usd < 1:
        text = f"${usd:.3f}"
    else:
        text = f"${usd:,.2f}"
    return sign + text


def cost_text(value: Any, source: Any = None) -> str:
    """A cost with its source: '$0.0142 est.', 'unknown', 'local', '—' (no cost recorded)."""
    usd = as_money(value)
    source = source if isinstance(source, str) else None
    if source == CostSource.LOCAL.value:
        return "local"
    if source == CostSource.UNKNOWN.value:
        return "unknown" if not usd else f"≥ {usd_text(usd)} (part unknown)"
    if usd is None:
        return DASH
    text = usd_text(usd)
    return f"{text} est." if source == CostSource.ESTIMATED.value else text


def count_text(value: Any, digits: int = 0) -> str:
    number = as_money(value)
    if number is None:
        return DASH
    if digits == 0 or float(number).is_integer():
        return f"{round(number):,}"
    return f"{number:,.{digits}f}"


def rate_text(value: Any) -> str:
    rate = as_money(value)
    return DASH if rate is None else f"{rate * 100:.0f}%"


def figure_text(figure: str, value: Any) -> str:
    """A value of one figure: cost, duration / ttft, tokens, success_rate / error_rate, count."""
    if figure == "cost":
        return usd_text(value)
    if figure in ("duration", "ttft"):
        return ms_text(value)
    if figure in ("success_rate", "error_rate"):
        return rate_text(value)
    if figure in ("per_run", "actions_per_run"):
        return count_text(value, 2)
    return count_text(value, 1 if figure == "tokens" else 0)


def change_text(figure: str, delta: Delta) -> str:
    """right - left with a sign: '+$0.0021', '−120 ms', '+5 pp'; '—' when a side is unknown."""
    change = delta.change
    if change is None:
        return DASH
    if change == 0:
        return "±0"
    sign = "+" if change > 0 else MINUS
    if figure in ("success_rate", "error_rate"):
        return f"{sign}{abs(change) * 100:.0f} pp"
    return sign + figure_text(figure, abs(change))


def pct_text(delta: Delta) -> str:
    pct = delta.pct
    if pct is None:
        return ""
    if abs(pct) < 0.5:
        return "±0%"
    return f"{'+' if pct > 0 else MINUS}{abs(pct):.0f}%"


def delta_text(figure: str, delta: Delta) -> str:
    """'+120 ms (+12%)', or the change alone when there is no percentage (rates, from zero)."""
    change = change_text(figure, delta)
    pct = pct_text(delta) if figure not in ("success_rate", "error_rate") else ""
    return f"{change} ({pct})" if pct and change not in (DASH, "±0") else change
