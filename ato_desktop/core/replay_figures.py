"""How a replay's figures read: deltas as signed percents with a verdict, a batch item's
outcome, an estimated total that never hides an unknown part, and model suggestions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ato_desktop.core.figures import DASH, MINUS
from ato_desktop.core.models import Cost, CostSource

SAME_WITHIN_PCT = 1.0  # a change smaller than this reads as "the same"

BETTER, WORSE, SAME, NO_FIGURE = "better", "worse", "same", "none"

RECOVERED = "recovered"  # failed before, completed now
STILL_FAILING = "still failing"
REGRESSED = "regressed"  # completed before, failed now
STILL_OK = "still ok"
SKIPPED = "skipped"  # could not be replayed, or the dispatch could not start

COMPLETED = "completed"

# The usual question is "would the other provider have answered?": offer the other one first.
_OTHER_RUNTIME = {
    "claude": "codex",
    "claude-code": "codex",
    "codex": "claude",
    "codex-cli": "claude",
    "openai-compatible": "claude",
}


def delta_text(pct: float | None) -> str:
    """'+12.5%', '−8%', '±0%' or '—' (no figure on one side)."""
    if pct is None:
        return DASH
    if abs(pct) < 0.05:
        return "±0%"
    text = f"{abs(pct):.1f}".removesuffix(".0")
    return f"+{text}%" if pct > 0 else f"{MINUS}{text}%"


def delta_tone(pct: float | None, *, higher_is_better: bool = False) -> str:
    """better | worse | same | none. Cost, latency and tokens are better lower."""
    if pct is None:
        return NO_FIGURE
    if abs(pct) < SAME_WITHIN_PCT:
        return SAME
    lower = pct < 0
    return BETTER if lower != higher_is_better else WORSE


# Failures that happen before a request reaches a model: no key, a bad config, no connection.
NOT_REACHED_CLASSES = frozenset({"auth", "config", "network"})


def reached_model(
    status: str | None,
    error_class: str | None,
    input_tokens: int,
    output_tokens: int,
    output: str = "",
) -> bool:
    """Whether a run got as far as a model's answer, so its figures say something about that
    model. A failure before any output with no tokens, or of a class that never reaches one
    (no API key, a bad config, no connection), does not: it is no evidence of cost, speed or
    quality, and nothing to diff."""
    if status == COMPLETED or output or output_tokens > 0:
        return True
    return input_tokens > 0 and error_class not in NOT_REACHED_CLASSES


def batch_outcome(source_status: str | None, replay_status: str | None) -> str:
    """What one batch item tells: recovered, still failing, regressed, still ok, or skipped."""
    if source_status is None or replay_status is None:
        return SKIPPED
    before_ok = source_status == COMPLETED
    after_ok = replay_status == COMPLETED
    if before_ok:
        return STILL_OK if after_ok else REGRESSED
    return RECOVERED if after_ok else STILL_FAILING


@dataclass(frozen=True, slots=True)
class CostTotal:
    """A sum of estimates: the known part, its source, and how many parts were unknown."""

    usd: float
    source: str  # estimated | provider | unknown (when every part is unknown)
    unknown_parts: int
    parts: int

    @property
    def partly_unknown(self) -> bool:
        return 0 < self.unknown_parts < self.parts


def total_cost(costs: Iterable[Cost]) -> CostTotal:
    """Add costs up; an unknown part is counted, never taken as $0."""
    usd = 0.0
    unknown = parts = 0
    estimated = False
    local = 0
    for cost in costs:
        parts += 1
        if cost.source is CostSource.UNKNOWN or cost.usd is None:
            unknown += 1
            continue
        usd += cost.usd
        estimated = estimated or cost.source is CostSource.ESTIMATED
        local += cost.source is CostSource.LOCAL
    if parts and unknown == parts:
        source = CostSource.UNKNOWN.value
    elif estimated:
        source = CostSource.ESTIMATED.value
    elif parts and local == parts - unknown:
        source = CostSource.LOCAL.value
    else:
        source = CostSource.PROVIDER.value
    return CostTotal(round(usd, 6), source, unknown, parts)


def other_runtime(runtime: str) -> str:
    """The runtime a replay of a run on runtime is first offered."""
    return _OTHER_RUNTIME.get(runtime, "claude")


def suggest_models(
    runtime: str,
    priced: Sequence[str],
    used: Sequence[tuple[str, str]],
    *,
    limit: int = 40,
) -> list[str]:
    """Model names for runtime: those already used on it (most recent first, from the agents'
    histories and the runs), then the priced ones; no repeats."""
    out: list[str] = []
    seen: set[str] = set()
    for rt, model in used:
        if rt == runtime and model and model not in seen:
            seen.add(model)
            out.append(model)
    for model in priced:
        if model and model not in seen:
            seen.add(model)
            out.append(model)
    return out[:limit]
