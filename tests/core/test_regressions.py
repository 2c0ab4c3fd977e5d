"""Regression checks of one config change: thresholds, significance tests, sample sizes."""

from __future__ import annotations

import math
import random

import pytest

from ato_desktop.core.regressions import (
    COST,
    EVAL,
    LATENCY,
    SUCCESS,
    Side,
    ThresholdError,
    Thresholds,
    check_change,
    fisher_greater,
    mann_whitney_greater,
    percentile,
)


def test_fisher_exact_matches_the_hypergeometric_tail() -> None:
    # After: 8 failed of 10; before: 1 failed of 10. P(X >= 8), X ~ Hypergeom(20, 9, 10).
    expected = (math.comb(10, 8) * math.comb(10, 1) + math.comb(10, 9)) / math.comb(20, 9)
    assert fisher_greater(8, 2, 1, 9) == pytest.approx(expected)  # 0.00274
    assert fisher_greater(1, 9, 8, 2) > 0.99  # the other direction is no evidence
    assert fisher_greater(0, 10, 0, 10) == 1.0  # nothing failed anywhere
    assert fisher_greater(0, 0, 3, 3) == 1.0  # an empty side


def test_mann_whitney_matches_the_textbook_normal_approximation() -> None:
    # U = 9, mean 4.5, variance 5.25, continuity-corrected z = 4 / sqrt(5.25).
    expected = 0.5 * math.erfc(4 / math.sqrt(5.25) / math.sqrt(2))
    assert mann_whitney_greater([4, 5, 6], [1, 2, 3]) == pytest.approx(expected)  # 0.0404
    assert mann_whitney_greater([1, 2, 3], [4, 5, 6]) > 0.95
    assert mann_whitney_greater([5, 5, 5], [5, 5, 5]) == 1.0  # all tied
    assert mann_whitney_greater([], [1.0]) == 1.0


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 21)]
    assert percentile(values, 95) == 19.0 and percentile(values, 50) == 10.0
    assert percentile([7.0], 95) == 7.0
    with pytest.raises(ValueError):
        percentile([], 95)


def _side(ok: int, failed: int, durations: list[float], costs: list[float]) -> Side:
    return Side(ok, failed, tuple(durations), tuple(costs))


def test_a_harmful_change_is_flagged_on_the_metrics_it_hurt() -> None:
    rng = random.Random(4)
    before = _side(
        38, 2, [rng.uniform(900, 1100) for _ in range(40)], [0.010 + rng.random() / 1e3] * 40
    )
    after = _side(
        26, 14, [rng.uniform(1800, 2400) for _ in range(40)], [0.0101 + rng.random() / 1e3] * 40
    )
    checks = {c.metric: c for c in check_change(before, after, Thresholds())}
    assert checks[SUCCESS].regression and checks[SUCCESS].unit == "pp"
    assert checks[SUCCESS].change == pytest.approx(-30.0)  # 95% -> 65%
    assert checks[LATENCY].regression and checks[LATENCY].change > 50
    assert not checks[COST].regression and "within the threshold" in checks[COST].reason
    assert EVAL not in checks  # no eval scores on either side
    assert "Fisher" in checks[SUCCESS].test and "Mann-Whitney" in checks[LATENCY].test
    data = checks[SUCCESS].as_dict()
    assert data["regression"] is True and data["n_before"] == 40 and data["p_value"] < 0.05


def test_small_samples_never_raise_an_alarm() -> None:
    # Two failures out of three after the change looks awful, but three runs prove nothing.
    checks = check_change(_side(3, 0, [], []), _side(1, 2, [], []), Thresholds())
    (success,) = checks
    assert success.crossed and not success.enough and not success.regression
    assert success.reason == "too few runs to tell (3 before, 3 after; 20 needed)"


def test_a_big_change_that_could_be_chance_is_not_flagged() -> None:
    # 25 runs a side, 90% -> 76%: a 14 pp drop, but p is about 0.13.
    (success,) = check_change(_side(22, 3, [], []), _side(19, 6, [], []), Thresholds())
    assert success.crossed and success.enough and not success.significant
    assert success.reason.startswith("could be chance")


def test_eval_scores_and_cost_rises() -> None:
    before = Side(eval_scores=tuple([0.9] * 15 + [0.8] * 15), costs_usd=(0.01,) * 30)
    after = Side(eval_scores=tuple([0.6] * 15 + [0.7] * 15), costs_usd=(0.02,) * 30)
    checks = {c.metric: c for c in check_change(before, after, Thresholds())}
    assert checks[EVAL].regression and checks[EVAL].change == pytest.approx(-20.0)
    assert checks[COST].regression and checks[COST].change == pytest.approx(100.0)
    # A stricter threshold turns the eval finding off.
    strict = Thresholds(eval_drop_pp=25)
    assert not {c.metric: c for c in check_change(before, after, strict)}[EVAL].regression


def test_thresholds_validate_and_round_trip() -> None:
    t = Thresholds.from_dict({"success_drop_pp": 5, "min_runs": 30.0, "future_key": 1})
    assert t.success_drop_pp == 5 and t.min_runs == 30
    assert Thresholds.from_dict(t.as_dict()) == t
    for bad in ({"alpha": 0.9}, {"min_runs": 1}, {"cost_rise_pct": -3}, {"min_runs": 2.5}):
        with pytest.raises(ThresholdError):
            Thresholds.from_dict(bad)
    with pytest.raises(ThresholdError, match="p95_latency_rise_pct"):
        Thresholds(p95_latency_rise_pct="50")  # type: ignore[arg-type]
