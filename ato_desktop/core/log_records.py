"""What reading the execution log returns of runs, and how a run listing is asked for (RunFilter,
RunCursor), as plain dataclasses (actions: core.action_records; agents and their versions:
core.agent_records).

core.records names these too, with what the store accepts (new runs, actions, ends) and the
chat's threads; they live here so that reading the log creates only the classes it returns.
"""

from __future__ import annotations

from dataclasses import dataclass

from ato_desktop.core.frozen_record import FrozenRecord
from ato_desktop.core.vocabulary import TokenUsage

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:
    from typing import Any


@dataclass(init=False, repr=False, eq=False)
class RunRecord(FrozenRecord):
    """A run as the log records it, with its aggregates (what a run listing returns). A
    FrozenRecord (core.frozen_record): every reading command imports this module."""

    __slots__ = (
        "action_count",
        "agent_id",
        "agent_name",
        "agent_version",
        "agent_version_id",
        "cost_source",
        "cost_usd",
        "duration_ns",
        "ended_at",
        "error_class",
        "error_message",
        "id",
        "is_demo",
        "kill_requested_at",
        "last_event_at",
        "model",
        "parent_run_id",
        "partial_output",
        "pipeline_id",
        "replay_of",
        "run_no",
        "runtime",
        "stage_index",
        "stage_name",
        "started_at",
        "status",
        "success_count",
        "tags",
        "thread_id",
        "tokens_estimated",
        "trigger",
        "ttft_ns",
        "usage",
    )
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

    def __init__(
        self,
        id: str,
        run_no: int,
        agent_id: str | None,
        agent_name: str | None,
        agent_version_id: str | None,
        agent_version: int | None,
        thread_id: str | None,
        runtime: str,
        model: str,
        trigger: str,
        status: str,
        started_at: int,
        ended_at: int | None,
        duration_ns: int | None,
        ttft_ns: int | None,
        error_class: str | None,
        error_message: str | None,
        parent_run_id: str | None,
        pipeline_id: str | None,
        stage_index: int | None,
        stage_name: str | None,
        replay_of: str | None,
        tags: dict[str, Any],
        usage: TokenUsage,
        tokens_estimated: bool,
        cost_usd: float | None,
        cost_source: str | None,
        action_count: int,
        success_count: int,
        last_event_at: int | None,
        partial_output: str | None,
        kill_requested_at: int | None,
        is_demo: bool,
    ) -> None:
        put = object.__setattr__
        put(self, "id", id)
        put(self, "run_no", run_no)
        put(self, "agent_id", agent_id)
        put(self, "agent_name", agent_name)
        put(self, "agent_version_id", agent_version_id)
        put(self, "agent_version", agent_version)
        put(self, "thread_id", thread_id)
        put(self, "runtime", runtime)
        put(self, "model", model)
        put(self, "trigger", trigger)
        put(self, "status", status)
        put(self, "started_at", started_at)
        put(self, "ended_at", ended_at)
        put(self, "duration_ns", duration_ns)
        put(self, "ttft_ns", ttft_ns)
        put(self, "error_class", error_class)
        put(self, "error_message", error_message)
        put(self, "parent_run_id", parent_run_id)
        put(self, "pipeline_id", pipeline_id)
        put(self, "stage_index", stage_index)
        put(self, "stage_name", stage_name)
        put(self, "replay_of", replay_of)
        put(self, "tags", tags)
        put(self, "usage", usage)
        put(self, "tokens_estimated", tokens_estimated)
        put(self, "cost_usd", cost_usd)
        put(self, "cost_source", cost_source)
        put(self, "action_count", action_count)
        put(self, "success_count", success_count)
        put(self, "last_event_at", last_event_at)
        put(self, "partial_output", partial_output)
        put(self, "kill_requested_at", kill_requested_at)
        put(self, "is_demo", is_demo)

    @property
    def success_rate(self) -> float | None:
        """Share of successful actions; None for a run with no action yet."""
        if self.action_count == 0:
            return None
        return self.success_count / self.action_count


@dataclass(init=False, repr=False, eq=False)
class RunFilter(FrozenRecord):
    """The Runs page filters; they combine (AND)."""

    __slots__ = (
        "agent_id",
        "agent_version_id",
        "error_class",
        "include_demo",
        "include_simulations",
        "min_cost_usd",
        "min_duration_ms",
        "since_ms",
        "statuses",
        "tags",
        "trigger",
        "until_ms",
    )
    statuses: tuple[str, ...]
    agent_id: str | None
    since_ms: int | None
    min_cost_usd: float | None
    trigger: str | None
    agent_version_id: str | None
    include_demo: bool
    # Searchable metadata: tags (user, tenant or any key -> value; all must match), the error
    # class of failed runs, and latency (the run's duration).
    tags: tuple[tuple[str, str], ...]
    error_class: str | None
    min_duration_ms: float | None
    # The end of a time range (exclusive), as a drag across the Runs timeline sets it.
    until_ms: int | None
    # Simulation replays (tag simulation=true, answered from a recording at $0) are not the
    # agents' own work: History hides them unless asked (core.simulation.is_simulation).
    include_simulations: bool

    def __init__(
        self,
        statuses: tuple[str, ...] = (),
        agent_id: str | None = None,
        since_ms: int | None = None,
        min_cost_usd: float | None = None,
        trigger: str | None = None,
        agent_version_id: str | None = None,
        include_demo: bool = True,
        tags: tuple[tuple[str, str], ...] = (),
        error_class: str | None = None,
        min_duration_ms: float | None = None,
        until_ms: int | None = None,
        include_simulations: bool = True,
    ) -> None:
        put = object.__setattr__
        put(self, "statuses", statuses)
        put(self, "agent_id", agent_id)
        put(self, "since_ms", since_ms)
        put(self, "min_cost_usd", min_cost_usd)
        put(self, "trigger", trigger)
        put(self, "agent_version_id", agent_version_id)
        put(self, "include_demo", include_demo)
        put(self, "tags", tags)
        put(self, "error_class", error_class)
        put(self, "min_duration_ms", min_duration_ms)
        put(self, "until_ms", until_ms)
        put(self, "include_simulations", include_simulations)


@dataclass(init=False, repr=False, eq=False)
class RunCursor(FrozenRecord):
    """Keyset pagination position: the last row of the previous page. Sorts other than newest
    first also need the row's sort value and run_no (core.run_sort.cursor_after builds it)."""

    __slots__ = (
        "id",
        "run_no",
        "started_at",
        "value",
    )
    started_at: int
    id: str
    value: Any
    run_no: int | None

    def __init__(
        self, started_at: int, id: str, value: Any = None, run_no: int | None = None
    ) -> None:
        put = object.__setattr__
        put(self, "started_at", started_at)
        put(self, "id", id)
        put(self, "value", value)
        put(self, "run_no", run_no)
