from ato_desktop.core.compare import Delta
from ato_desktop.core.compare_verdict import (
    BETTER,
    NEUTRAL,
    SAME,
    UNKNOWN,
    WORSE,
    verdict,
)


def test_lower_is_better_for_cost_and_time() -> None:
    assert verdict("cost", Delta(0.02, 0.01)) == BETTER
    assert verdict("cost", Delta(0.01, 0.02)) == WORSE
    assert verdict("duration", Delta(1000.0, 1500.0)) == WORSE
    assert verdict("tokens", Delta(100, 90)) == BETTER


def test_higher_success_rate_is_better_with_an_absolute_band() -> None:
    assert verdict("success_rate", Delta(0.8, 0.9)) == BETTER
    assert verdict("success_rate", Delta(0.9, 0.5)) == WORSE
    assert verdict("success_rate", Delta(0.9, 0.902)) == SAME


def test_small_relative_changes_and_unknown_sides() -> None:
    assert verdict("cost", Delta(1.0, 1.01)) == SAME
    assert verdict("cost", Delta(0.0, 0.0)) == SAME
    assert verdict("cost", Delta(0.0, 0.5)) == WORSE  # no percentage from zero, still worse
    assert verdict("cost", Delta(None, 0.5)) == UNKNOWN
    assert verdict("runs", Delta(10, 20)) == NEUTRAL
