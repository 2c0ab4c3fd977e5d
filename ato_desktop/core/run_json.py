"""The stable JSON shape of runs and actions (CLI --json, exports). Documented in the README.

Timestamps are RFC 3339 UTC; durations are milliseconds (float); money is USD (float) with its
source. Field names never change meaning; new fields may be added.
"""

from __future__ import annotations

from ato_desktop.core.timefmt import ns_to_ms, rfc3339

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:
    from typing import Any

    from ato_desktop.core.action_records import ActionRecord
    from ato_desktop.core.agent_records import AgentRecord, AgentVersionRecord
    from ato_desktop.core.log_records import RunRecord

SCHEMA_VERSION = 1


def span_id(run_id: str, seq: int) -> str:
    """The action's stable OpenTelemetry span id (16 hex digits), derived from run id and seq."""
    import hashlib  # loads OpenSSL: only for the commands that show actions

    return hashlib.blake2b(f"{run_id}:{seq}".encode(), digest_size=8).hexdigest()


def run_to_json(run: RunRecord, actions: list[ActionRecord] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": run.id,
        "trace_id": run.id,
        "status": run.status,
        "agent": run.agent_name,
        "agent_id": run.agent_id,
        "agent_version": run.agent_version,
        "agent_version_id": run.agent_version_id,
        "runtime": run.runtime,
        "model": run.model,
        "trigger": run.trigger,
        "started_at": rfc3339(run.started_at),
        "ended_at": rfc3339(run.ended_at),
        "duration_ms": ns_to_ms(run.duration_ns),
        "ttft_ms": ns_to_ms(run.ttft_ns),
        "tokens": {**run.usage.as_dict(), "estimated": run.tokens_estimated},
        "cost_usd": run.cost_usd,
        "cost_source": run.cost_source,
        "action_count": run.action_count,
        "success_rate": run.success_rate,
        "error_class": run.error_class,
        "error_message": run.error_message,
        "thread_id": run.thread_id,
        "parent_run_id": run.parent_run_id,
        "pipeline_id": run.pipeline_id,
        "stage_index": run.stage_index,
        "stage_name": run.stage_name,
        "replay_of": run.replay_of,
        "tags": run.tags,
        "demo": run.is_demo,
    }
    if run.status == "running":
        data["partial_output"] = run.partial_output
        data["last_event_at"] = rfc3339(run.last_event_at)
    if actions is not None:
        data["actions"] = [action_to_json(a) for a in actions]
    return data


def action_to_json(action: ActionRecord) -> dict[str, Any]:
    return {
        "seq": action.seq,
        "span_id": span_id(action.run_id, action.seq),
        "parent_seq": action.parent_seq,
        "name": action.name,
        "kind": action.kind,
        "outcome": action.outcome,
        "started_at": rfc3339(action.started_at),
        "ended_at": rfc3339(action.ended_at),
        "duration_ms": ns_to_ms(action.duration_ns),
        "ttft_ms": ns_to_ms(action.ttft_ns),
        "tokens": (
            {**action.usage.as_dict(), "estimated": action.tokens_estimated}
            if action.usage is not None
            else None
        ),
        "cost_usd": action.cost_usd,
        "cost_source": action.cost_source,
        "inputs": action.inputs,
        "outputs": action.outputs,
        "error_class": action.error_class,
        "error_message": action.error_message,
        "meta": action.meta,
    }


def agent_to_json(agent: AgentRecord) -> dict[str, Any]:
    return {
        "id": agent.id,
        "name": agent.name,
        "version": agent.current_version,
        "version_id": agent.current_version_id,
        "created_at": rfc3339(agent.created_at),
        "updated_at": rfc3339(agent.updated_at),
        **agent.config.as_dict(),
        "demo": agent.is_demo,
    }


def version_to_json(version: AgentVersionRecord) -> dict[str, Any]:
    return {
        "id": version.id,
        "version": version.version,
        "created_at": rfc3339(version.created_at),
        "source": version.change_source,
        "config": version.config.as_dict(),
        "changes": version.diff,
        "run_count": version.run_count,
    }
