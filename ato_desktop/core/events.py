"""Domain events published on the bus after each committed write, in every process.

Events are small and frozen; they carry ids and the few facts views need to decide whether to
refresh, not whole rows. The writer also records each event in the log's `changes` table, in the
same transaction as the write (`event_record`), and every long-lived process follows the other
processes' records (store/change_feed.py) and publishes them again (`event_from_record`), so a
view hears the same event whoever made the change.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


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
class ActionStarted:
    """A running run began an action (a model call, a tool call): Live's "last event"."""

    run_id: str
    name: str
    started_at_ms: int


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


@dataclass(frozen=True, slots=True)
class KillRequested:
    """Someone asked the processes owning these running runs to kill them (`runs kill`, the
    app's Kill on another process's run); the owner kills them, and views say "Killing…"."""

    run_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SyncStateChanged:
    """Cloud sync's configuration, pause state or counters changed (a batch sent, a failure)."""

    change: str  # "configured" | "paused" | "resumed" | "sent" | "failed" | "queued" | ...


@dataclass(frozen=True, slots=True)
class SettingsChanged:
    """A setting kept outside the log changed (settings.json: retention, thresholds, ...)."""

    section: str


@dataclass(frozen=True, slots=True)
class ChangesMissed:
    """This process fell behind the pruned range of other processes' changes (it slept, or was
    stopped): what it shows may be stale, so every view reloads."""

    missed_from: int


DomainEvent = (
    RunCreated
    | ActionStarted
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
    | KillRequested
    | SyncStateChanged
    | SettingsChanged
    | ChangesMissed
)

_EVENT_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        RunCreated,
        ActionStarted,
        ActionCreated,
        RunProgressed,
        RunCompleted,
        RunFailed,
        ConfigChanged,
        AgentDeleted,
        ThreadChanged,
        RunsIngested,
        RunsRemoved,
        McpServersChanged,
        EvalSuiteRunChanged,
        RunScored,
        AutomationChanged,
        KillRequested,
        SyncStateChanged,
        SettingsChanged,
    )
}


def event_record(event: DomainEvent) -> tuple[str, dict[str, Any]]:
    """(kind, fields) of an event, as the change feed records it (JSON-ready)."""
    fields = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
    for name, value in fields.items():
        if isinstance(value, tuple):
            fields[name] = list(value)
    return type(event).__name__, fields


def event_from_record(kind: str, fields: object) -> DomainEvent | None:
    """The event a change record describes; None for a kind this version does not know (a newer
    app wrote it) or fields that do not fit (a damaged row): the feed skips those."""
    cls = _EVENT_TYPES.get(kind)
    if cls is None or not isinstance(fields, dict):
        return None
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in fields:
            return None
        value = _field_value(str(f.type), fields[f.name])
        if value is _BAD:
            return None
        values[f.name] = value
    event: DomainEvent = cls(**values)
    return event


_BAD = object()


def _field_value(annotation: str, value: object) -> object:
    """value if it has the annotation's type (the few the events use), else _BAD."""
    optional = annotation.endswith(" | None")
    base = annotation.removesuffix(" | None")
    if value is None:
        return None if optional else _BAD
    if base == "str":
        return value if isinstance(value, str) else _BAD
    if base == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return value if ok else _BAD
    if base == "tuple[str, ...]":
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        return _BAD
    return _BAD
