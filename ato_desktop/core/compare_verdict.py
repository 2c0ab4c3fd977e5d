"""Whether a compare delta is better or worse: the direction each figure prefers, and a small
dead band so noise is not painted as a change. Pure: no I/O."""

from __future__ import annotations

from typing import Final

from ato_desktop.core.compare import Delta

BETTER: Final = "better"
WORSE: Final = "worse"
SAME: Final = "same"  # within the dead band
NEUTRAL: Final = "neutral"  # a figure with no better direction (run counts)
UNKNOWN: Final = "unknown"  # a side is unknown

# Figures where less is better, and where more is; anything else is neutral.
LOWER_IS_BETTER: Final = frozenset(
    {"cost", "duration", "ttft", "tokens", "error_rate", "actions_per_run"}
)
HIGHER_IS_BETTER: Final = frozenset({"success_rate"})

# A relative change under this (in percent) is "same"; for rates (0..1) an absolute change
# under RATE_BAND is.
DEAD_BAND_PCT: Final = 2.0
RATE_BAND: Final = 0.005
_RATES: Final = frozenset({"success_rate", "error_rate"})


def verdict(figure: str, delta: Delta) -> str:
    """BETTER, WORSE, SAME, NEUTRAL or UNKNOWN for right compared with left."""
    change = delta.change
    if change is None:
        return UNKNOWN
    if figure in _RATES:
        if abs(change) < RATE_BAND:
            return SAME
    else:
        pct = delta.pct
        if change == 0 or (pct is not None and abs(pct) < DEAD_BAND_PCT):
            return SAME
    if figure in LOWER_IS_BETTER:
        return BETTER if change < 0 else WORSE
    if figure in HIGHER_IS_BETTER:
        return BETTER if change > 0 else WORSE
    return NEUTRAL
