"""Linking a pipeline stage to its prompt by time.

A stage recorded without its own model call (a group stage traced by its runner, the prompt
logged by the agent's own run) has no direct link to the request that started it. It is linked
to the run that holds the prompt by time: a run of the same agent (or, for a stage without an
agent, the same runtime and model) that started within [-30 s, +5 min] of the stage's start.
The window is wide after the start because slow stages (coding agents, long tool loops) log
their prompt late; a narrower one silently failed to link them.

Among the runs in the window, one of the same pipeline wins, then the nearest start (a run
starting before the stage wins a tie: prompts are logged first).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from ato_desktop.core.timefmt import human_duration

LINK_BEFORE_MS: Final = 30_000
LINK_AFTER_MS: Final = 5 * 60_000


@dataclass(frozen=True, slots=True)
class LinkRun:
    """What linking needs of a run."""

    id: str
    started_at: int  # epoch ms
    agent_id: str | None
    runtime: str
    model: str
    pipeline_id: str | None = None
    trigger: str | None = None


def link_window(started_at: int) -> tuple[int, int]:
    """[lo, hi] in epoch ms, both ends included."""
    return started_at - LINK_BEFORE_MS, started_at + LINK_AFTER_MS


def pick_prompt_link(stage: LinkRun, candidates: Iterable[LinkRun]) -> LinkRun | None:
    """The run holding the stage's prompt, or None when no run qualifies.

    Candidates are runs known to hold a model call; this decides which of them may be the
    stage's: inside the window, not the stage itself, not a replay (its prompt is a copy),
    the same agent (or runtime and model), and not a stage of another pipeline.
    """
    lo, hi = link_window(stage.started_at)
    best: tuple[tuple[int, int, int], LinkRun] | None = None
    for run in candidates:
        if run.id == stage.id or not lo <= run.started_at <= hi or run.trigger == "replay":
            continue
        if stage.agent_id is not None:
            if run.agent_id != stage.agent_id:
                continue
        elif (run.runtime, run.model) != (stage.runtime, stage.model):
            continue
        if run.pipeline_id is not None and run.pipeline_id != stage.pipeline_id:
            continue
        offset = run.started_at - stage.started_at
        key = (
            0 if stage.pipeline_id is not None and run.pipeline_id == stage.pipeline_id else 1,
            abs(offset),
            0 if offset <= 0 else 1,
        )
        if best is None or key < best[0]:
            best = (key, run)
    return best[1] if best is not None else None


def link_note(stage: LinkRun, linked: LinkRun) -> str:
    """How the stage was linked, for the replay's notes."""
    offset = linked.started_at - stage.started_at
    when = human_duration(abs(offset) * 1_000_000)
    relation = (
        "at the same time as"
        if offset == 0
        else (f"{when} before" if offset < 0 else f"{when} after")
    )
    return (
        f"this stage has no recorded prompt of its own: linked by time to run {linked.id[-8:]}, "
        f"which started {relation} the stage (window: 30 s before to 5 min after its start)"
    )


def no_link_reason(stage: LinkRun) -> str:
    who = "the same agent" if stage.agent_id else f"{stage.runtime} · {stage.model}"
    return (
        "Replay is not available: this pipeline stage has no recorded prompt, and no run of "
        f"{who} with a recorded model call started between 30 s before and 5 min after it, "
        "so its prompt cannot be linked by time."
    )
