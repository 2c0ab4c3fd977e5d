"""Rows of the execution log as plain dataclasses: what the store returns and accepts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ato_desktop.core.models import AgentConfig, CostSource, TokenUsage


@dataclass(frozen=True, slots=True)
class AgentRecord:
    id: str
    name: str
    created_at: int
    updated_at: int
    current_version: int
    config: AgentConfig
    current_version_id: str
    is_demo: bool = False


@dataclass(frozen=True, slots=True)
class AgentVersionRecord:
    id: str
    agent_id: str
    version: int
    created_at: int
    config: AgentConfig
    diff: list[dict[str, Any]]
    change_source: str
    run_count: int = 0


@dataclass(frozen=True, slots=True)
class ThreadRecord:
    id: str
    title: str
    agent_id: str | None
    runtime: str | None
    model: str | None
    created_at: int
    updated_at: int
    is_demo: bool = False


@dataclass(frozen=True, slots=True)
class MessageRecord:
    id: int
    thread_id: str
    seq: int
    role: str
    content: str
    run_id: str | None
    created_at: int


@dataclass(frozen=True, slots=True)
class NewRun:
    """What the dispatcher knows when a run starts."""

    runtime: str
    model: str
    trigger: str
    started_at: int
    agent_id: str | None = None
    agent_version_id: str | None = None
    thread_id: str | None = None
    parent_run_id: str | None = None
    pipeline_id: str | None = None
    stage_index: int | None = None
    stage_name: str | None = None
    replay_of: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    is_demo: bool = False
    id: str | None = None  # given by bulk writers (import, demo); the store mints one otherwise


@dataclass(frozen=True, slots=True)
class NewAction:
    """One completed step of a run."""

    name: str
    kind: str
    outcome: str
    started_at: int
    ended_at: int | None = None
    inputs: Any = None
    outputs: Any = None
    usage: TokenUsage | None = None
    tokens_estimated: bool = False
    ttft_ns: int | None = None
    duration_ns: int | None = None
    cost_usd: float | None = None
    cost_source: CostSource | None = None
    error_class: str | None = None
    error_message: str | None = None
    meta: dict[str, Any] | None = None
    parent_seq: int | None = None


@dataclass(frozen=True, slots=True)
class RunEnd:
    """How a run ended."""

    status: str
    ended_at: int
    duration_ns: int | None
    ttft_ns: int | None = None
    error_class: str | None = None
    error_message: str | None = None
    # The model that answered, when the run was asked for the agent's "default" one.
    model: str | None = None


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
class ActionRecord:
    run_id: str
    seq: int
    parent_seq: int | None
    name: str
    kind: str
    inputs: Any
    outputs: Any
    usage: TokenUsage | None
    tokens_estimated: bool
    ttft_ns: int | None
    duration_ns: int | None
    cost_usd: float | None
    cost_source: str | None
    outcome: str
    started_at: int
    ended_at: int | None
    error_class: str | None
    error_message: str | None
    meta: dict[str, Any] | None


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
