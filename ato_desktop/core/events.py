"""Domain events published on the in-process bus after each committed write.

Events are small and frozen; they carry ids and the few facts views need to decide whether to
refresh, not whole rows.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RunCreated:
    run_id: str
    agent_id: str | None
    trigger: str
    started_at_ms: int


@dataclass(frozen=True, slots=True)
class ActionCreated:
    run_id: str
    seq: int
    name: str
    outcome: str


@dataclass(frozen=True, slots=True)
class RunProgressed:
    """A running run checkpointed its partial output (throttled, about once a second)."""

    run_id: str
    output_chars: int
    last_event_at_ms: int


@dataclass(frozen=True, slots=True)
class RunCompleted:
    run_id: str
    agent_id: str | None
    duration_ns: int | None


@dataclass(frozen=True, slots=True)
class RunFailed:
    """A run ended badly: status is failed, killed or interrupted."""

    run_id: str
    agent_id: str | None
    status: str
    error_class: str | None


@dataclass(frozen=True, slots=True)
class ConfigChanged:
    agent_id: str
    version: int
    version_id: str


@dataclass(frozen=True, slots=True)
class AgentDeleted:
    agent_id: str


@dataclass(frozen=True, slots=True)
class ThreadChanged:
    thread_id: str


@dataclass(frozen=True, slots=True)
class RunsIngested:
    """A bulk write (import, demo workspace) added many runs at once: views reload."""

    count: int


@dataclass(frozen=True, slots=True)
class RunsRemoved:
    """A bulk delete (demo removal, retention) took many runs out at once: views reload."""

    count: int


@dataclass(frozen=True, slots=True)
class McpServersChanged:
    """An MCP server was added, changed or removed (name is the registered name)."""

    name: str
    change: str  # "added" | "updated" | "removed"


@dataclass(frozen=True, slots=True)
class EvalSuiteRunChanged:
    """A run of an eval suite started, progressed or finished (status says which)."""

    suite_run_id: str
    suite_name: str
    agent_id: str | None
    status: str


@dataclass(frozen=True, slots=True)
class RunScored:
    """A run got a score outside a suite: a person's thumbs (manual) or the online judge's."""

    run_id: str
    source: str  # "manual" | "judge"
    agent_id: str | None


@dataclass(frozen=True, slots=True)
class AutomationChanged:
    """A group, schedule, hook or skill flow was added, changed (a new version), enabled,
    disabled or removed."""

    automation_id: str
    kind: str  # "group" | "schedule" | "hook" | "skill"
    name: str
    change: str  # "added" | "updated" | "enabled" | "disabled" | "removed"


DomainEvent = (
    RunCreated
    | ActionCreated
    | RunProgressed
    | RunCompleted
    | RunFailed
    | ConfigChanged
    | AgentDeleted
    | ThreadChanged
    | RunsIngested
    | RunsRemoved
    | McpServersChanged
    | EvalSuiteRunChanged
    | RunScored
    | AutomationChanged
)
