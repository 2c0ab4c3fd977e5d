"""Which run endings notify, and a burst folded into one summary (no Qt, a hand-moved clock)."""

from __future__ import annotations

import itertools

from ato_desktop.core.notify_rules import (
    NotifyBatcher,
    NotifyPolicy,
    RunEnding,
    notify_kind,
)

POLICY = NotifyPolicy(completion_after_s=60, coalesce_ms=1_000, min_gap_ms=10_000)


def test_failures_always_notify_completions_only_when_long_or_watched() -> None:
    assert notify_kind(RunEnding("r", "failed"), POLICY) == "failure"
    assert notify_kind(RunEnding("r", "interrupted"), POLICY) == "failure"
    assert notify_kind(RunEnding("r", "killed"), POLICY) is None  # the user asked for it
    assert notify_kind(RunEnding("r", "completed", 5_000), POLICY) is None
    assert notify_kind(RunEnding("r", "completed", 60_000), POLICY) == "completion"
    assert notify_kind(RunEnding("r", "completed", 5_000), POLICY, watched=True) == "completion"
    assert notify_kind(RunEnding("r", "completed", None), POLICY) is None


def test_one_failure_is_shown_as_itself_after_the_coalescing_window() -> None:
    batcher = NotifyBatcher(POLICY)
    due = batcher.offer(RunEnding("run-00000001", "failed", agent_name="bot", error="boom"), 0)
    assert due == 1_000
    assert batcher.flush(999) is None
    shown = batcher.flush(1_000)
    assert shown is not None and shown.kind == "failure" and shown.run_id == "run-00000001"
    assert shown.title == "@bot failed" and shown.body == "boom"
    assert batcher.flush(5_000) is None


def test_a_burst_of_100_failures_gives_one_summary() -> None:
    batcher = NotifyBatcher(POLICY)
    for i in range(100):
        batcher.offer(RunEnding(f"run-{i:08d}", "failed", agent_name=f"a{i % 7}"), i * 5)
    shown = [n for t in range(0, 3_000, 100) if (n := batcher.flush(t)) is not None]
    assert len(shown) == 1
    (note,) = shown
    assert note.is_summary and note.run_id is None and note.failures == 100
    assert note.title == "100 runs failed" and len(note.run_ids) == 100
    assert "@a0" in note.body and "2 more" in note.body and "failures" in note.body


def test_a_steady_stream_is_held_to_one_notification_per_gap() -> None:
    batcher = NotifyBatcher(POLICY)
    shown = []
    for t in range(0, 30_000, 500):  # a failure every half second for 30 s
        batcher.offer(RunEnding(f"r{t}", "failed"), t)
        note = batcher.flush(t)
        if note is not None:
            shown.append((t, note))
    assert 3 <= len(shown) <= 4
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(shown)]
    assert all(gap >= POLICY.min_gap_ms for gap in gaps)
    assert sum(n.failures for _t, n in shown) + batcher.pending == 60


def test_watched_runs_notify_on_completion_once() -> None:
    batcher = NotifyBatcher(POLICY)
    batcher.watch("short-run")
    assert batcher.offer(RunEnding("short-run", "completed", 2_000), 0) == 1_000
    note = batcher.flush(1_000)
    assert note is not None and note.kind == "completion" and note.title.endswith("completed")
    assert "2 s" in note.body
    assert "short-run" not in batcher.watched
    assert batcher.offer(RunEnding("quick", "completed", 2_000), 20_000) is None


def test_mixed_summary_names_both_and_failures_first() -> None:
    batcher = NotifyBatcher(POLICY)
    batcher.offer(RunEnding("a", "failed"), 0)
    batcher.offer(RunEnding("b", "completed", 120_000), 10)
    note = batcher.flush(1_000)
    assert note is not None and note.title == "1 run failed, 1 completed" and note.failures == 1
