"""Agent budgets: spend per UTC day and month against the agent's limits, the hard ceiling's
refusal, and the budget-burn anomaly.

Periods are UTC calendar days and months (what a provider's invoice uses), so a budget resets
at the same moment for everyone on the machine. Spend counts every run of the agent, replays and
evals included: money spent is money spent.

Burn anomaly: the agent's spend in the last hour against its trailing baseline, the mean hourly
spend over the 7 days before that hour. It is an anomaly when the hour's spend is at least
BURN_FACTOR (4x) the baseline and at least BURN_FLOOR_USD ($0.50), so a cheap agent's one extra
call is no alarm; an agent with no spend in its baseline week needs 4x the floor.
Pure functions, no I/O.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

HOUR_MS: Final = 3_600_000
DAY_MS: Final = 86_400_000
BASELINE_HOURS: Final = 7 * 24
BURN_FACTOR: Final = 4.0
BURN_FLOOR_USD: Final = 0.50


def day_start_ms(now_ms: int) -> int:
    return now_ms - now_ms % DAY_MS


def month_start_ms(now_ms: int) -> int:
    when = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    return int(datetime(when.year, when.month, 1, tzinfo=UTC).timestamp() * 1000)


def next_month_ms(now_ms: int) -> int:
    when = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    days = calendar.monthrange(when.year, when.month)[1]
    return month_start_ms(now_ms) + days * DAY_MS


@dataclass(frozen=True, slots=True)
class BudgetState:
    """An agent's spend in the current UTC day and month against its budgets."""

    day_spend_usd: float
    month_spend_usd: float
    per_day_usd: float | None
    per_month_usd: float | None
    hard_ceiling: bool

    @property
    def day_exhausted(self) -> bool:
        return self.per_day_usd is not None and self.day_spend_usd >= self.per_day_usd

    @property
    def month_exhausted(self) -> bool:
        return self.per_month_usd is not None and self.month_spend_usd >= self.per_month_usd

    @property
    def refuses(self) -> bool:
        """The hard ceiling is on and a budget is spent: dispatches are refused."""
        return self.hard_ceiling and (self.day_exhausted or self.month_exhausted)


def refusal_message(agent_name: str, state: BudgetState, now_ms: int) -> str:
    """Why a dispatch was refused, when it will work again, and how to change that."""
    if state.month_exhausted and state.per_month_usd is not None:
        spent, limit, period = state.month_spend_usd, state.per_month_usd, "monthly"
        reset = datetime.fromtimestamp(next_month_ms(now_ms) / 1000, tz=UTC)
        until = reset.strftime("%Y-%m-%d 00:00 UTC")
    else:
        spent, limit, period = state.day_spend_usd, state.per_day_usd or 0.0, "daily"
        until = "00:00 UTC"
    return (
        f"Refused: @{agent_name} has spent ${spent:,.2f} of its ${limit:,.2f} {period} budget, "
        f"and its hard ceiling is on. Dispatches resume at {until}; to go on now, raise the "
        "budget or turn the hard ceiling off in the agent's settings."
    )


@dataclass(frozen=True, slots=True)
class BurnAnomaly:
    hour_spend_usd: float
    baseline_hourly_usd: float
    factor: float | None  # hour / baseline; None when the baseline is zero

    def describe(self) -> str:
        if self.factor is None:
            return f"spent ${self.hour_spend_usd:,.2f} in the last hour after a week of no spend"
        return (
            f"spent ${self.hour_spend_usd:,.2f} in the last hour, {self.factor:.1f}x its "
            f"7-day hourly average of ${self.baseline_hourly_usd:,.2f}"
        )


def burn_anomaly(hour_spend_usd: float, baseline_week_usd: float) -> BurnAnomaly | None:
    """The last hour's spend against the 7 days before it; None when it is ordinary."""
    baseline = baseline_week_usd / BASELINE_HOURS
    if baseline <= 0:
        if hour_spend_usd >= BURN_FACTOR * BURN_FLOOR_USD:
            return BurnAnomaly(hour_spend_usd, 0.0, None)
        return None
    if hour_spend_usd >= BURN_FLOOR_USD and hour_spend_usd >= BURN_FACTOR * baseline:
        return BurnAnomaly(hour_spend_usd, baseline, hour_spend_usd / baseline)
    return None


@dataclass(frozen=True, slots=True)
class SpendSpike:
    """A spend spike to announce: whose, and what happened."""

    agent_name: str
    text: str  # "@name spent $3.00 in the last hour, ..."


class SpikeAnnouncements:
    """Which spend spikes were announced already: one per agent and hour the spike happens in,
    however many of the agent's runs end in that hour (each ending looks again)."""

    def __init__(self) -> None:
        self._announced: set[tuple[str, int]] = set()  # (agent id, hour)

    def new(
        self, agent_id: str, found: Iterable[tuple[str | None, int, BurnAnomaly]]
    ) -> list[SpendSpike]:
        """The spikes of found ((agent name, run start ms, anomaly), as the store reads them)
        not announced yet, now counted as announced."""
        spikes = []
        for agent_name, started_at, anomaly in found:
            key = (agent_id, started_at // HOUR_MS)
            if key in self._announced:
                continue
            self._announced.add(key)
            name = agent_name or agent_id[-8:]
            spikes.append(SpendSpike(name, f"@{name} {anomaly.describe()}"))
        return spikes
