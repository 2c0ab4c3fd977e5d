"""Linking a pipeline stage to the run holding its prompt by time: [-30 s, +5 min]."""

from __future__ import annotations

from ato_desktop.core.replay_link import (
    LINK_AFTER_MS,
    LINK_BEFORE_MS,
    LinkRun,
    link_note,
    link_window,
    no_link_reason,
    pick_prompt_link,
)

T = 1_790_000_000_000
STAGE = LinkRun("s" * 8, T, "agent-1", "codex", "gpt-5", pipeline_id="p1")


def _run(run_id: str, offset_ms: int, **kw: object) -> LinkRun:
    fields: dict[str, object] = {
        "agent_id": "agent-1",
        "runtime": "codex",
        "model": "gpt-5",
        "pipeline_id": None,
        "trigger": "cli",
    }
    fields.update(kw)
    return LinkRun(run_id, T + offset_ms, **fields)  # type: ignore[arg-type]


def test_window_is_30_seconds_before_to_5_minutes_after() -> None:
    assert link_window(T) == (T - 30_000, T + 300_000)
    assert (LINK_BEFORE_MS, LINK_AFTER_MS) == (30_000, 300_000)


def test_edges_of_the_window_are_included_and_beyond_them_nothing_links() -> None:
    assert pick_prompt_link(STAGE, [_run("a", -30_000)]) == _run("a", -30_000)
    assert pick_prompt_link(STAGE, [_run("b", 300_000)]) == _run("b", 300_000)
    assert pick_prompt_link(STAGE, [_run("c", -30_001), _run("d", 300_001)]) is None


def test_a_slow_stage_links_minutes_later() -> None:
    assert pick_prompt_link(STAGE, [_run("late", 240_000)]) == _run("late", 240_000)


def test_nearest_start_wins_and_a_tie_goes_to_the_earlier_run() -> None:
    runs = [_run("far", 200_000), _run("after", 5_000), _run("before", -5_000)]
    assert pick_prompt_link(STAGE, runs) == _run("before", -5_000)
    assert pick_prompt_link(STAGE, runs[:2]) == _run("after", 5_000)


def test_the_same_pipeline_wins_over_a_nearer_run() -> None:
    same = _run("same", 120_000, pipeline_id="p1")
    assert pick_prompt_link(STAGE, [_run("near", 1_000), same]) == same


def test_runs_that_cannot_hold_the_prompt_are_skipped() -> None:
    skipped = [
        _run("s" * 8, 0),  # the stage itself
        _run("other-agent", 1_000, agent_id="agent-2"),
        _run("replay", 1_000, trigger="replay"),
        _run("other-pipeline", 1_000, pipeline_id="p9"),
    ]
    assert pick_prompt_link(STAGE, skipped) is None


def test_without_an_agent_runtime_and_model_must_match() -> None:
    stage = LinkRun("x" * 8, T, None, "claude", "claude-sonnet-5")
    match = _run("m", 2_000, agent_id=None, runtime="claude", model="claude-sonnet-5")
    other = _run("o", 1_000, agent_id=None, runtime="claude", model="claude-haiku-5")
    assert pick_prompt_link(stage, [other, match]) == match


def test_notes_say_which_run_and_how_far_apart() -> None:
    linked = _run("0123456789abcdef", 130_000)
    note = link_note(STAGE, linked)
    assert "89abcdef" in note and "2 m 10 s after" in note
    assert "at the same time as" in link_note(STAGE, _run("z", 0))
    assert "12.0 s before" in link_note(STAGE, _run("y", -12_000))
    reason = no_link_reason(STAGE)
    assert "30 s before and 5 min after" in reason and "the same agent" in reason
    assert "claude · m" in no_link_reason(LinkRun("q", T, None, "claude", "m"))
