"""How far a run in flight is: a completion percentage where it can be known (a pipeline's or
a skill flow's stages, a tool-call ceiling), otherwise its elapsed time against the typical
duration of its agent's recent completed runs ("usually 12 s").

Pure (the facts are read by store.live_progress; the clock is passed in).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from ato_desktop.core.figures import seconds_text

TYPICAL_SAMPLE = 50  # recent completed runs of the agent the typical duration is taken from
TYPICAL_MIN_RUNS = 3  # fewer than this: no typical duration (one run says little)


@dataclass(frozen=True, slots=True)
class ProgressFacts:
    """What is known about a running run's progress."""

    stages_total: int | None = None  # planned stages (steps) of a pipeline (skill flow) run
    stages_done: int = 0  # of them, ended
    stage_name: str | None = None  # the stage running now
    steps: bool = False  # a skill flow: its stages are "steps"
    of_pipeline: tuple[int, int | None, str] | None = None  # a stage run: (index, total, name)
    tool_calls: int = 0
    tool_ceiling: int | None = None  # the agent's max_tool_calls
    typical_ms: int | None = None  # median duration of the agent's recent completed runs
    typical_runs: int = 0  # how many runs that median is of


@dataclass(frozen=True, slots=True)
class Progress:
    """What the run's progress bar shows."""

    percent: float | None  # completion (0-100) when knowable; None otherwise
    text: str
    elapsed_share: float | None = None  # elapsed / typical (may pass 1), when no percent
    overdue: bool = False  # running longer than its agent usually takes


def typical_ms(durations_ms: Sequence[int]) -> int | None:
    """The median of recent completed runs' durations; None for fewer than TYPICAL_MIN_RUNS."""
    known = [d for d in durations_ms if d is not None and d >= 0]
    if len(known) < TYPICAL_MIN_RUNS:
        return None
    return int(statistics.median(known))


def _ms(ms: int) -> str:
    """'0.4 s', '9.5 s', '12 s', '1 m 05 s', '2 h 03 m': seconds are enough for a run."""
    ms = max(0, int(ms))
    if ms < 10_000:
        return f"{ms / 1000:.1f} s"
    return seconds_text(round(ms / 1000))


def progress(facts: ProgressFacts, elapsed_ms: int) -> Progress:
    """The progress of a running run elapsed_ms after it started (first rule that applies)."""
    word = "Step" if facts.steps else "Stage"
    if facts.stages_total:
        total = facts.stages_total
        done = min(facts.stages_done, total)
        current = min(done + 1, total)
        name = f" ({facts.stage_name})" if facts.stage_name else ""
        return Progress(100.0 * done / total, f"{word} {current} of {total}{name}")
    parts: list[str] = []
    if facts.of_pipeline is not None:
        index, planned, pipeline = facts.of_pipeline
        of = f" of {planned}" if planned else ""
        parts.append(f"Stage {index + 1}{of} of {pipeline}")
    if facts.tool_ceiling:
        calls, ceiling = min(facts.tool_calls, facts.tool_ceiling), facts.tool_ceiling
        parts.append(f"{calls} of at most {ceiling} tool call{'s' if ceiling != 1 else ''}")
        return Progress(100.0 * calls / ceiling, " · ".join(parts))
    elapsed = _ms(elapsed_ms)
    if facts.typical_ms:
        share = elapsed_ms / facts.typical_ms
        overdue = share > 1.0
        usual = f"usually {_ms(facts.typical_ms)}"
        parts.append(f"{elapsed} · {usual}" + (": longer than usual" if overdue else ""))
        return Progress(None, " · ".join(parts), elapsed_share=share, overdue=overdue)
    parts.append(f"{elapsed} so far")
    return Progress(None, " · ".join(parts))
