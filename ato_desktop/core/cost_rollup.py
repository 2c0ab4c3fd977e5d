"""How action costs add up to a run's cost without hiding what is unknown."""

from __future__ import annotations

from ato_desktop.core.figures import DASH, cost_text
from ato_desktop.core.vocabulary import CostSource

# A run is only as certain as its least certain action. A local model's $0 is exact, and a sum
# that also holds a provider's dollars is labelled by the provider.
_RANK = {
    None: 0,
    CostSource.LOCAL.value: 1,
    CostSource.PROVIDER.value: 2,
    CostSource.ESTIMATED.value: 3,
}
_UNKNOWN_RANK = 4


def rollup_source(current: str | None, new: str | None) -> str | None:
    """The source of a sum: unknown beats estimated beats provider beats local; None means 'no
    cost yet'."""
    rank_current = _RANK.get(current, _UNKNOWN_RANK)
    rank_new = _RANK.get(new, _UNKNOWN_RANK)
    return current if rank_current >= rank_new else new


def rollup_cost(current: float | None, new: float | None) -> float | None:
    """Sum of the known parts; None while nothing is known."""
    if new is None:
        return current
    return (current or 0.0) + new


def format_cost(usd: float | None, source: str | None) -> str:
    """'$0.0123 est.', '$0.0123', 'unknown', '≥ $0.0123 (part unknown)', 'local' (a model on
    this machine or network, $0), or '—' for no cost (no source recorded)."""
    if source is None:
        return DASH
    return cost_text(usd or 0.0, source)
