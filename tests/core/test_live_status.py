"""Stuck runs and tokens so far, as the Live view and the tray judge them."""

from __future__ import annotations

from ato_desktop.core.live_status import (
    STUCK_AFTER_S_DEFAULT,
    STUCK_AFTER_S_MIN,
    is_stuck,
    stuck_after_s,
    tokens_so_far,
)


def test_a_run_is_stuck_after_the_threshold_with_no_event() -> None:
    assert not is_stuck(10_000, 69_999, 60)
    assert is_stuck(10_000, 70_000, 60)


def test_stuck_threshold_from_settings_is_clamped_and_defaulted() -> None:
    assert stuck_after_s("90") == 90
    assert stuck_after_s(1) == STUCK_AFTER_S_MIN
    assert stuck_after_s(None) == STUCK_AFTER_S_DEFAULT
    assert stuck_after_s("soon") == STUCK_AFTER_S_DEFAULT


def test_tokens_so_far_counts_finished_turns_and_estimates_the_stream() -> None:
    assert tokens_so_far(0, 0).text() == "—"
    assert tokens_so_far(120, 0).text() == "120" and not tokens_so_far(120, 0).estimated
    streaming = tokens_so_far(1_000, 9)
    assert streaming.count == 1_003 and streaming.estimated and streaming.text() == "~1,003"
