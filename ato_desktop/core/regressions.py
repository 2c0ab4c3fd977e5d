"""Regression detection: is an agent worse after a config change than before it?

Every config change (version v-1 -> v) is judged on four metrics, each with an effect threshold
and a significance test, and a minimum number of runs on each side:

| metric        | regression when, after the change     | test (one-sided)                      |
|---------------|---------------------------------------|---------------------------------------|
| success rate  | drops by >= 10 percentage points      | Fisher's exact test on ok/failed runs |
| p95 latency   | rises by >= 50 %                      | Mann-Whitney U on run durations       |
| cost per call | mean rises by >= 25 %                 | Mann-Whitney U on run costs           |
| eval score    | mean drops by >= 15 percentage points | Mann-Whitney U on case scores         |

The runs of each side of a change have one definition, shared with Compare's "before vs
after a change" (`CHANGE_SIDE_*`): the version's newest CHANGE_SIDE_RUNS production runs that
completed or failed. Replays and eval runs are not production traffic, and a run the user
killed or a crash interrupted is not the agent's failure, so all of those are left out. The
success rate is completed / (completed + failed) (`success_rate_of`), everywhere.

A metric flags a regression only when all three hold: the effect crosses its threshold, the test
says it is unlikely to be chance (p < alpha, 0.05 by default), and both sides have at least
min_runs samples (20 by default). So a handful of unlucky runs never raise an alarm. Thresholds,
alpha and min_runs are settings.

Why these tests: Fisher's exact test is exact for any sample size (no normal approximation to
go wrong on small counts); Mann-Whitney U compares whole distributions without assuming a shape,
which suits durations and costs (long right tails). The p95 and the mean say how big a change is;
the test says whether it is real. Pure functions, no I/O.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from itertools import groupby, repeat

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:
    from typing import Any, Final

SUCCESS: Final = "success_rate"
LATENCY: Final = "p95_latency"
COST: Final = "cost_per_call"
EVAL: Final = "eval_score"
METRICS: Final = (SUCCESS, LATENCY, COST, EVAL)

METRIC_LABELS: Final = {
    SUCCESS: "Success rate",
    LATENCY: "p95 latency",
    COST: "Cost per call",
    EVAL: "Eval score",
}
TESTS: Final = {
    SUCCESS: "Fisher's exact test (one-sided) on completed vs failed runs",
    LATENCY: "Mann-Whitney U test (one-sided) on run durations",
    COST: "Mann-Whitney U test (one-sided) on run costs",
    EVAL: "Mann-Whitney U test (one-sided) on eval case scores",
}


CHANGE_SIDE_RUNS: Final = 500
"""Runs read on each side of a config change (the newest)."""
CHANGE_SIDE_LEFT_OUT_TRIGGERS: Final = ("replay", "eval")
"""Triggers whose runs are not production traffic."""
CHANGE_SIDE_STATUSES: Final = ("completed", "failed")
"""Statuses of the runs a side counts (killed and interrupted ones are not the agent's doing)."""
CHANGE_SIDE_TEXT: Final = (
    "each version's newest {limit} production runs that completed or failed (replays, evals, "
    "and killed or interrupted runs left out)"
)


def change_side_text(limit: int = CHANGE_SIDE_RUNS) -> str:
    """What the runs of each side of a change are, in words, for the views that show them."""
    return CHANGE_SIDE_TEXT.format(limit=f"{limit:,}")


def success_rate_of(statuses: Mapping[str, int]) -> float | None:
    """Completed / (completed + failed): killed and interrupted runs are not judged. None when
    no run completed or failed."""
    completed = statuses.get("completed", 0)
    judged = completed + statuses.get("failed", 0)
    return completed / judged if judged else None


class ThresholdError(ValueError):
    """A threshold setting is out of range; the message names it."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    success_drop_pp: float = 10.0
    p95_latency_rise_pct: float = 50.0
    cost_rise_pct: float = 25.0
    eval_drop_pp: float = 15.0
    min_runs: int = 20  # on each side of the change
    alpha: float = 0.05  # significance level of every test

    def __post_init__(self) -> None:
        for name in ("success_drop_pp", "p95_latency_rise_pct", "cost_rise_pct", "eval_drop_pp"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0 < value <= 1000:
                raise ThresholdError(f"{name} must be a number above 0, got {value!r}")
        if not isinstance(self.min_runs, int) or not 2 <= self.min_runs <= 100_000:
            raise ThresholdError(f"min_runs must be a whole number from 2, got {self.min_runs!r}")
        if not isinstance(self.alpha, int | float) or not 0 < self.alpha < 0.5:
            raise ThresholdError(f"alpha must be between 0 and 0.5, got {self.alpha!r}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Thresholds:
        """Known keys only (unknown ones are ignored, a later version may add some)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "min_runs" in values and isinstance(values["min_runs"], float):
            if not values["min_runs"].is_integer():
                raise ThresholdError(f"min_runs must be a whole number, got {values['min_runs']}")
            values["min_runs"] = int(values["min_runs"])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a change: its runs' outcomes and figures (unknowns left out)."""

    ok: int = 0  # completed runs
    failed: int = 0  # failed runs (killed and interrupted runs are not the agent's fault)
    durations_ms: tuple[float, ...] = ()
    costs_usd: tuple[float, ...] = ()
    eval_scores: tuple[float, ...] = ()

    @property
    def runs(self) -> int:
        return self.ok + self.failed

    @property
    def success_rate(self) -> float | None:
        return self.ok / self.runs if self.runs else None


@dataclass(frozen=True, slots=True)
class MetricCheck:
    metric: str
    before: float | None  # the rate (0..1), the p95 in ms, the mean cost or score
    after: float | None
    change: float | None  # in percentage points (rates, scores) or percent (latency, cost)
    unit: str  # "pp" or "%"
    threshold: float
    n_before: int
    n_after: int
    p_value: float | None
    crossed: bool  # the change is at least as bad as the threshold
    significant: bool
    enough: bool  # both sides have min_runs samples
    reason: str  # one line: why it is (or is not) a regression

    @property
    def regression(self) -> bool:
        return self.crossed and self.significant and self.enough

    @property
    def label(self) -> str:
        return METRIC_LABELS[self.metric]

    @property
    def test(self) -> str:
        return TESTS[self.metric]

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "before": _round(self.before),
            "after": _round(self.after),
            "change": _round(self.change, 2),
            "unit": self.unit,
            "threshold": self.threshold,
            "n_before": self.n_before,
            "n_after": self.n_after,
            "p_value": _round(self.p_value, 5),
            "test": self.test,
            "regression": self.regression,
            "reason": self.reason,
        }


def check_change(before: Side, after: Side, thresholds: Thresholds) -> tuple[MetricCheck, ...]:
    """The four metrics of one change; a metric without data on a side is left out."""
    t = thresholds
    checks: list[MetricCheck] = []
    if before.runs and after.runs:
        b_rate, a_rate = before.success_rate or 0.0, after.success_rate or 0.0
        drop = (b_rate - a_rate) * 100
        p = fisher_greater(after.failed, after.ok, before.failed, before.ok)
        checks.append(
            _check(
                SUCCESS,
                (b_rate, a_rate),
                -drop,
                "pp",
                t.success_drop_pp,
                drop,
                (before.runs, after.runs),
                p,
                t,
            )
        )
    pairs = (
        (LATENCY, before.durations_ms, after.durations_ms, t.p95_latency_rise_pct),
        (COST, before.costs_usd, after.costs_usd, t.cost_rise_pct),
    )
    for metric, b_values, a_values, threshold in pairs:
        if not (b_values and a_values):
            continue
        if metric == LATENCY:
            b_fig, a_fig = percentile(b_values, 95), percentile(a_values, 95)
        else:
            b_fig, a_fig = _mean(b_values), _mean(a_values)
        rise = _pct(b_fig, a_fig)
        p = mann_whitney_greater(a_values, b_values)
        checks.append(
            _check(
                metric,
                (b_fig, a_fig),
                rise,
                "%",
                threshold,
                rise,
                (len(b_values), len(a_values)),
                p,
                t,
            )
        )
    if before.eval_scores and after.eval_scores:
        b_score, a_score = _mean(before.eval_scores), _mean(after.eval_scores)
        drop = (b_score - a_score) * 100
        p = mann_whitney_greater(before.eval_scores, after.eval_scores)
        checks.append(
            _check(
                EVAL,
                (b_score, a_score),
                -drop,
                "pp",
                t.eval_drop_pp,
                drop,
                (len(before.eval_scores), len(after.eval_scores)),
                p,
                t,
            )
        )
    return tuple(checks)


def _check(
    metric: str,
    figures: tuple[float, float],
    change: float | None,
    unit: str,
    threshold: float,
    badness: float | None,
    sizes: tuple[int, int],
    p: float,
    t: Thresholds,
) -> MetricCheck:
    """badness: the change measured in the bad direction (a drop for rates, a rise for costs)."""
    n_before, n_after = sizes
    crossed = badness is not None and badness >= threshold
    significant = p < t.alpha
    enough = min(n_before, n_after) >= t.min_runs
    if not enough:
        reason = f"too few runs to tell ({n_before} before, {n_after} after; {t.min_runs} needed)"
    elif not crossed:
        reason = f"within the threshold ({_signed(change, unit)}; alarm at {threshold:g} {unit})"
    elif not significant:
        reason = f"could be chance (p = {p:.3f}, needs < {t.alpha:g})"
    else:
        reason = f"{_signed(change, unit)}, {_p_text(p)}"
    return MetricCheck(
        metric,
        figures[0],
        figures[1],
        change,
        unit,
        threshold,
        n_before,
        n_after,
        p,
        crossed,
        significant,
        enough,
        reason,
    )


# -- statistics -----------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (the q-th of the sorted values, 1-based ceil(q% of n))."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def fisher_greater(a_bad: int, a_good: int, b_bad: int, b_good: int) -> float:
    """One-sided Fisher's exact test: P(group A has at least a_bad bad outcomes | the margins),
    small when A's bad rate is higher than B's by more than chance."""
    n_a, n_b = a_bad + a_good, b_bad + b_good
    bad = a_bad + b_bad
    n = n_a + n_b
    if n_a == 0 or n_b == 0 or bad == 0:
        return 1.0
    log_total = _log_comb(n, bad)
    top = min(bad, n_a)
    p = 0.0
    for x in range(a_bad, top + 1):
        p += math.exp(_log_comb(n_a, x) + _log_comb(n_b, bad - x) - log_total)
    return min(1.0, p)


def mann_whitney_greater(x: Sequence[float], y: Sequence[float]) -> float:
    """One-sided Mann-Whitney U test that x tends to be larger than y: the p-value from the
    normal approximation with tie correction and continuity correction (1.0 when every value
    is tied)."""
    n_x, n_y = len(x), len(y)
    if n_x == 0 or n_y == 0:
        return 1.0
    values = sorted([*x, *y])
    n = n_x + n_y
    # A value's rank, averaged over its tie group, is (below + at_most + 1) / 2, both counted by
    # bisection of the sorted values (C loops, not one Python step per value). Ranks are
    # half-integers, so their sum is exact in any order; the tie term is an integer.
    below = sum(map(bisect_left, repeat(values, n_x), x))
    at_most = sum(map(bisect_right, repeat(values, n_x), x))
    rank_sum_x = (below + at_most + n_x) / 2
    tie_term = 0
    if len(set(values)) < n:  # ties: each group of t equal values adds t^3 - t
        sizes = (sum(1 for _ in group) for _value, group in groupby(values))
        tie_term = sum(t**3 - t for t in sizes if t > 1)
    u = rank_sum_x - n_x * (n_x + 1) / 2
    mean = n_x * n_y / 2
    variance = n_x * n_y / 12 * ((n + 1) - tie_term / (n * (n - 1))) if n > 1 else 0.0
    if variance <= 0:
        return 1.0
    z = (u - mean - 0.5) / math.sqrt(variance)
    return 0.5 * math.erfc(z / math.sqrt(2))


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def _pct(before: float, after: float) -> float | None:
    return None if before == 0 else (after - before) / abs(before) * 100


def _signed(value: float | None, unit: str) -> str:
    if value is None:
        return "no baseline"
    return f"{value:+.1f} {unit}" if unit == "pp" else f"{value:+.0f}%"


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)
