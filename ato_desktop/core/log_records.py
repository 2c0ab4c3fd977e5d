"""What reading the execution log returns of runs, and how a run listing is asked for (RunFilter,
RunCursor), as plain dataclasses (actions: core.action_records; agents and their versions:
core.agent_records).

core.records names these too, with what the store accepts (new runs, actions, ends) and the
chat's threads; they live here so that reading the log creates only the classes it returns.
"""

from __future__ import annotations

from dataclasses import dataclass

from ato_desktop.core.vocabulary import TokenUsage

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:
    from typing import Any


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: str
    run_no: int
    agent_id: str | None
    agent_name: str | None
    agent_version_id: str | None
    agent_version: int | None
    thread_id: str | None
    runtime: str
    model: str
    trigger: str
    status: str
    started_at: int
    ended_at: int | None
    duration_ns: int | None
    ttft_ns: int | None
    error_class: str | None
    error_message: str | None
    parent_run_id: str | None
    pipeline_id: str | None
    stage_index: int | None
    stage_name: str | None
    replay_of: str | None
    tags: dict[str, Any]
    usage: TokenUsage
    tokens_estimated: bool
    cost_usd: float | None
    cost_source: str | None
    action_count: int
    success_count: int
    last_event_at: int | None
    partial_output: str | None
    kill_requested_at: int | None
    is_demo: bool

    @property
    def success_rate(self) -> float | None:
        """Share of successful actions; None for a run with no action yet."""
        if self.action_count == 0:
            return None
        return self.success_count / self.action_count


@dataclass(frozen=True, slots=True)
class RunFilter:
    """The Runs page filters; they combine (AND)."""

    statuses: tuple[str, ...] = ()
    agent_id: str | None = None
    since_ms: int | None = None
    min_cost_usd: float | None = None
    trigger: str | None = None
    agent_version_id: str | None = None
    include_demo: bool = True
    # Searchable metadata: tags (user, tenant or any key -> value; all must match), the error
    # class of failed runs, and latency (the run's duration).
    tags: tuple[tuple[str, str], ...] = ()
    error_class: str | None = None
    min_duration_ms: float | None = None
    # The end of a time range (exclusive), as a drag across the Runs timeline sets it.
    until_ms: int | None = None
    # Simulation replays (tag simulation=true, answered from a recording at $0) are not the
    # agents' own work: History hides them unless asked (core.simulation.is_simulation).
    include_simulations: bool = True


@dataclass(frozen=True, slots=True)
class RunCursor:
    """Keyset pagination position: the last row of the previous page. Sorts other than newest
    first also need the row's sort value and run_no (core.run_sort.cursor_after builds it)."""

    started_at: int
    id: str
    value: Any = None
    run_no: int | None = None
