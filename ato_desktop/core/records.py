"""Rows of the execution log as plain dataclasses: what the store returns and accepts.

What reading returns is defined in core.log_records and named here as well."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ato_desktop.core.action_records import ActionRecord as ActionRecord
from ato_desktop.core.agent_records import AgentRecord as AgentRecord
from ato_desktop.core.agent_records import AgentVersionRecord as AgentVersionRecord
from ato_desktop.core.log_records import RunCursor as RunCursor
from ato_desktop.core.log_records import RunFilter as RunFilter
from ato_desktop.core.log_records import RunRecord as RunRecord
from ato_desktop.core.vocabulary import CostSource, TokenUsage


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
