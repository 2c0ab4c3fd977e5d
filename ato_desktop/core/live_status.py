"""What the Live view says about a run in flight: is it stuck, and how many tokens so far.

Pure rules (no I/O): the Live view, the tray's "Kill all stuck" and the CLI agree on them.
"""

from __future__ import annotations

from dataclasses import dataclass

STUCK_AFTER_S_DEFAULT = 60  # no stream event for this long: the run looks stuck
STUCK_AFTER_S_MIN = 5
CHARS_PER_TOKEN = 4  # a rough, model-agnostic ratio, only for output still streaming


def is_stuck(last_event_at_ms: int, now_ms: int, stuck_after_s: float) -> bool:
    """True when a running run has had no event for stuck_after_s seconds or more."""
    return now_ms - last_event_at_ms >= stuck_after_s * 1000


def stuck_after_s(value: object) -> int:
    """A stuck threshold from settings (any type), clamped; the default when unreadable."""
    try:
        seconds = int(float(str(value)))
    except (TypeError, ValueError):
        return STUCK_AFTER_S_DEFAULT
    return max(STUCK_AFTER_S_MIN, seconds)


@dataclass(frozen=True, slots=True)
class TokensSoFar:
    """Output tokens of a run in flight: counted for finished turns, estimated for the rest."""

    count: int
    estimated: bool  # part of it is an estimate from the characters streamed so far

    def text(self) -> str:
        if self.count == 0 and not self.estimated:
            return "—"
        return f"~{self.count:,}" if self.estimated else f"{self.count:,}"


def tokens_so_far(recorded_output_tokens: int, streaming_chars: int) -> TokensSoFar:
    """Finished turns' recorded output tokens plus an estimate for the turn still streaming."""
    recorded = max(0, int(recorded_output_tokens or 0))
    chars = max(0, int(streaming_chars or 0))
    if chars == 0:
        return TokensSoFar(recorded, False)
    return TokensSoFar(recorded + max(1, -(-chars // CHARS_PER_TOKEN)), True)
