"""Display text for Compare's figures and deltas. Plain Python (no Qt). The figures
themselves are formatted by core.figures, as everywhere else."""

from __future__ import annotations

from typing import Any

from ato_desktop.core.compare import Delta
from ato_desktop.core.figures import DASH, MINUS, count_text, ms_text, rate_text, usd


def figure_text(figure: str, value: Any) -> str:
    """A value of one figure: cost, duration / ttft, tokens, success_rate / error_rate, count."""
    if figure == "cost":
        return usd(value)
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
