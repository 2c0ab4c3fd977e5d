"""Automations in the log: definitions with versions, schedule progress, and pipeline runs.

Functions over an ExecutionLog, like store.evals: writes go through its writer and publish
AutomationChanged; reads run on the caller's thread (`read_async` from async code).

Pipelines are read from runs: a multi-stage dispatch is a parent run (pipeline_id = the
definition's id, no stage_index) whose stages are child runs (parent_run_id, stage_index,
stage_name). Lists walk idx_runs_pipeline_parents / idx_runs_pipeline newest first with a
LIMIT, and read the stages of the page's parents through idx_runs_parent: bounded on a
million runs. Files touched are read from the stages' actions (meta "files_touched") for one
pipeline at a time. A hook chain (engine.hooks) is such a parent run too, with pipeline_id = the
hook's id; its detail starts with the run that fired it ("source run").
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from ato_desktop.core.automations import (
    AutomationKind,
    GroupMode,
    GroupSpec,
    HookSpec,
    SkillSpec,
    Spec,
    Stage,
    TargetKind,
    spec_from_dict,
)
from ato_desktop.core.config_diff import diff_configs
from ato_desktop.core.events import AutomationChanged
from ato_desktop.core.ids import uuid7
from ato_desktop.core.records import RunRecord
from ato_desktop.store.database import StoreError
from ato_desktop.store.execution_log import ExecutionLog, NotFoundError, now_ms
from ato_desktop.store.json_codec import from_json, to_json
from ato_desktop.store.run_listing import RUN_COLUMNS, RUN_FROM, RUN_JOINS, run_from_row
from ato_desktop.store.writer import Emit

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
NOT_RUN = "not_run"  # the status of a planned stage that never started (an earlier one stopped it)
SOURCE_STAGE = "source run"  # the stage name of the run that fired a hook chain


class AutomationExistsError(StoreError):
    pass


@dataclass(frozen=True, slots=True)
class AutomationRecord:
    """A definition at its current version."""

    id: str
    kind: AutomationKind
    name: str
    enabled: bool
    version: int
    version_id: str
    spec: Spec
    created_at: int
    updated_at: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "name": self.name,
            "enabled": self.enabled,
            "version": self.version,
            "spec": self.spec.as_dict(),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True, slots=True)
class AutomationVersionRecord:
    id: str
    automation_id: str
    version: int
    created_at: int
    spec: Spec
    diff: list[dict[str, Any]]
    change_source: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "created_at": self.created_at,
            "spec": self.spec.as_dict(),
            "diff": self.diff,
            "change_source": self.change_source,
        }


@dataclass(frozen=True, slots=True)
class ScheduleState:
    automation_id: str
    last_fire_at: int
    last_run_id: str | None
    last_note: str
    updated_at: int


_SELECT = """
    SELECT a.*, v.id AS version_id, v.spec_json FROM automations a
    JOIN automation_versions v ON v.automation_id = a.id AND v.version = a.current_version
"""


def _record(row: sqlite3.Row) -> AutomationRecord:
    kind = AutomationKind(row["kind"])
    return AutomationRecord(
        id=row["id"],
        kind=kind,
        name=row["name"],
        enabled=bool(row["enabled"]),
        version=row["current_version"],
        version_id=row["version_id"],
        spec=spec_from_dict(kind, json.loads(row["spec_json"])),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


# -- definitions ------------------------------------------------------------------------------


def create_definition(
    log: ExecutionLog,
    kind: AutomationKind,
    name: str,
    spec: Spec,
    *,
    source: str = "cli",
    enabled: bool = True,
    at_ms: int | None = None,
    is_demo: bool = False,
    ids: tuple[str, str] | None = None,
) -> Future[AutomationRecord]:
    """Add a definition at version 1; AutomationExistsError when the name is taken.

    ids: (definition id, version id), given by bulk writers (the demo) whose rows must be the
    same for the same seed; minted otherwise."""
    name = name.strip()
    if not name:
        raise StoreError(f"a {kind.value} needs a name")

    def job(conn: sqlite3.Connection, emit: Emit) -> AutomationRecord:
        if conn.execute(
            "SELECT 1 FROM automations WHERE kind = ? AND name = ?", (kind.value, name)
        ).fetchone():
            raise AutomationExistsError(f"a {kind.value} named {name!r} already exists")
        ts = at_ms if at_ms is not None else now_ms()
        automation_id, version_id = ids or (uuid7(at_ms), uuid7(at_ms))
        conn.execute(
            "INSERT INTO automations (id, kind, name, enabled, current_version, created_at, "
            "updated_at, is_demo) VALUES (?, ?, ?, ?, 1, ?, ?, ?)",
            (automation_id, kind.value, name, int(enabled), ts, ts, int(is_demo)),
        )
        data = spec.as_dict()
        diff = [c.as_dict() for c in diff_configs(None, data)]
        conn.execute(
            "INSERT INTO automation_versions (id, automation_id, version, created_at, spec_json, "
            "diff_json, change_source) VALUES (?, ?, 1, ?, ?, ?, ?)",
            (version_id, automation_id, ts, to_json(data), to_json(diff), source),
        )
        emit(AutomationChanged(automation_id, kind.value, name, "added"))
        return AutomationRecord(automation_id, kind, name, enabled, 1, version_id, spec, ts, ts)

    return log.submit(job)


def update_definition(
    log: ExecutionLog, automation_id: str, spec: Spec, *, source: str = "cli"
) -> Future[tuple[AutomationRecord, bool]]:
    """Record spec as a new version when it differs from the current one; (record, changed)."""

    def job(conn: sqlite3.Connection, emit: Emit) -> tuple[AutomationRecord, bool]:
        row = conn.execute(_SELECT + " WHERE a.id = ?", (automation_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no automation with id {automation_id}")
        current = _record(row)
        before, after = current.spec.as_dict(), spec.as_dict()
        changes = diff_configs(before, after)
        if not changes:
            return current, False
        version, version_id, ts = current.version + 1, uuid7(), now_ms()
        conn.execute(
            "INSERT INTO automation_versions (id, automation_id, version, created_at, spec_json, "
            "diff_json, change_source) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                version_id,
                automation_id,
                version,
                ts,
                to_json(after),
                to_json([c.as_dict() for c in changes]),
                source,
            ),
        )
        conn.execute(
            "UPDATE automations SET current_version = ?, updated_at = ? WHERE id = ?",
            (version, ts, automation_id),
        )
        emit(AutomationChanged(automation_id, current.kind.value, current.name, "updated"))
        return (
            AutomationRecord(
                automation_id,
                current.kind,
                current.name,
                current.enabled,
                version,
                version_id,
                spec,
                current.created_at,
                ts,
            ),
            True,
        )

    return log.submit(job)


def set_enabled(log: ExecutionLog, automation_id: str, enabled: bool) -> Future[bool]:
    """Enable or disable; True when that changed anything."""

    def job(conn: sqlite3.Connection, emit: Emit) -> bool:
        row = conn.execute(
            "SELECT kind, name, enabled FROM automations WHERE id = ?", (automation_id,)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no automation with id {automation_id}")
        if bool(row["enabled"]) == enabled:
            return False
        conn.execute(
            "UPDATE automations SET enabled = ?, updated_at = ? WHERE id = ?",
            (int(enabled), now_ms(), automation_id),
        )
        change = "enabled" if enabled else "disabled"
        emit(AutomationChanged(automation_id, row["kind"], row["name"], change))
        return True

    return log.submit(job)


def delete_definition(log: ExecutionLog, automation_id: str) -> Future[bool]:
    """Remove a definition with its versions; its runs stay in the log."""

    def job(conn: sqlite3.Connection, emit: Emit) -> bool:
        row = conn.execute(
            "SELECT kind, name FROM automations WHERE id = ?", (automation_id,)
        ).fetchone()
        if row is None:
            return False
        conn.execute("DELETE FROM automations WHERE id = ?", (automation_id,))
        emit(AutomationChanged(automation_id, row["kind"], row["name"], "removed"))
        return True

    return log.submit(job)


def get_definition(log: ExecutionLog, kind: AutomationKind, name_or_id: str) -> AutomationRecord:
    conn = log.reader()
    row = conn.execute(
        _SELECT + " WHERE a.kind = ? AND (a.name = ? OR a.id = ?)",
        (kind.value, name_or_id, name_or_id),
    ).fetchone()
    if row is None:
        known = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM automations WHERE kind = ? ORDER BY name LIMIT 20", (kind.value,)
            )
        ]
        hint = f" Known: {', '.join(known)}." if known else f" There are no {kind.value}s yet."
        raise NotFoundError(f"No {kind.value} named {name_or_id!r}.{hint}")
    return _record(row)


def get_definition_by_id(log: ExecutionLog, automation_id: str) -> AutomationRecord | None:
    row = log.reader().execute(_SELECT + " WHERE a.id = ?", (automation_id,)).fetchone()
    return _record(row) if row is not None else None


def list_definitions(
    log: ExecutionLog, kind: AutomationKind | None = None, *, enabled_only: bool = False
) -> list[AutomationRecord]:
    """Definitions (of one kind), by kind then name."""
    where, params = [], []
    if kind is not None:
        where.append("a.kind = ?")
        params.append(kind.value)
    if enabled_only:
        where.append("a.enabled = 1")
    sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "")
    rows = log.reader().execute(sql + " ORDER BY a.kind, a.name COLLATE NOCASE", params)
    return [_record(row) for row in rows]


def definition_history(log: ExecutionLog, automation_id: str) -> list[AutomationVersionRecord]:
    """Every version, newest first."""
    conn = log.reader()
    kind_row = conn.execute(
        "SELECT kind FROM automations WHERE id = ?", (automation_id,)
    ).fetchone()
    if kind_row is None:
        raise NotFoundError(f"no automation with id {automation_id}")
    kind = AutomationKind(kind_row[0])
    rows = conn.execute(
        "SELECT * FROM automation_versions WHERE automation_id = ? ORDER BY version DESC",
        (automation_id,),
    )
    return [
        AutomationVersionRecord(
            id=row["id"],
            automation_id=row["automation_id"],
            version=row["version"],
            created_at=row["created_at"],
            spec=spec_from_dict(kind, json.loads(row["spec_json"])),
            diff=from_json(row["diff_json"]) or [],
            change_source=row["change_source"],
        )
        for row in rows
    ]


# -- schedule progress ------------------------------------------------------------------------


def get_schedule_state(log: ExecutionLog, automation_id: str) -> ScheduleState | None:
    row = (
        log.reader()
        .execute("SELECT * FROM schedule_state WHERE automation_id = ?", (automation_id,))
        .fetchone()
    )
    if row is None:
        return None
    return ScheduleState(
        row["automation_id"],
        row["last_fire_at"],
        row["last_run_id"],
        row["last_note"],
        row["updated_at"],
    )


def set_schedule_state(
    log: ExecutionLog,
    automation_id: str,
    last_fire_at: int,
    *,
    last_run_id: str | None = None,
    note: str = "",
    keep_run: bool = False,
) -> Future[None]:
    """Record a fire time handled (and the run it started, unless keep_run).

    Progress never moves back: a fire that reports late (its run started after another
    scheduler had claimed a later fire) does not reopen the fires after it, and leaves the
    newer fire's note and run in place.
    """

    def job(conn: sqlite3.Connection, emit: Emit) -> None:
        conn.execute(
            """
            INSERT INTO schedule_state (automation_id, last_fire_at, last_run_id, last_note,
                updated_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (automation_id) DO UPDATE SET
                last_run_id = CASE
                    WHEN ? OR excluded.last_fire_at < schedule_state.last_fire_at
                    THEN schedule_state.last_run_id ELSE excluded.last_run_id END,
                last_note = CASE WHEN excluded.last_fire_at < schedule_state.last_fire_at
                    THEN schedule_state.last_note ELSE excluded.last_note END,
                last_fire_at = max(schedule_state.last_fire_at, excluded.last_fire_at),
                updated_at = excluded.updated_at
            """,
            (automation_id, last_fire_at, last_run_id, note, now_ms(), int(keep_run)),
        )

    return log.submit(job)


def claim_fire(
    log: ExecutionLog, automation_id: str, seen: int | None, fire_at: int, note: str
) -> Future[bool]:
    """Claim the fires of a schedule up to fire_at, if its progress is still what the caller
    saw (`seen`: the last fire time read, None when the schedule had no progress yet).

    A compare-and-swap in one write: of any number of schedulers (the app, daemons, cron's
    `--once`, in any processes) that read the same progress and plan the same fire, exactly
    one moves it on and gets True; the others get False and do nothing with that fire.
    """

    def job(conn: sqlite3.Connection, emit: Emit) -> bool:
        ts = now_ms()
        if seen is None:
            cursor = conn.execute(
                "INSERT INTO schedule_state (automation_id, last_fire_at, last_run_id, "
                "last_note, updated_at) VALUES (?, ?, NULL, ?, ?) "
                "ON CONFLICT (automation_id) DO NOTHING",
                (automation_id, fire_at, note, ts),
            )
        else:
            cursor = conn.execute(
                "UPDATE schedule_state SET last_fire_at = ?, last_note = ?, updated_at = ? "
                "WHERE automation_id = ? AND last_fire_at = ? AND last_fire_at < ?",
                (fire_at, note, ts, automation_id, seen, fire_at),
            )
        return cursor.rowcount == 1

    return log.submit(job)


# -- pipelines --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FileTouched:
    path: str
    change: str


@dataclass(frozen=True, slots=True)
class StageSummary:
    """One stage run of a pipeline (a retried stage has one per attempt)."""

    run_id: str
    stage_index: int | None
    stage_name: str | None
    agent_name: str | None
    status: str
    started_at: int
    ended_at: int | None
    duration_ns: int | None
    cost_usd: float | None
    cost_source: str | None
    error_class: str | None
    error_message: str | None
    attempt: int
    files_touched: tuple[FileTouched, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "stage_index": self.stage_index,
            "stage_name": self.stage_name,
            "agent": self.agent_name,
            "status": self.status,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration_ms": None if self.duration_ns is None else self.duration_ns / 1e6,
            "cost_usd": self.cost_usd,
            "cost_source": self.cost_source,
            "error_class": self.error_class,
            "error_message": self.error_message,
            "attempt": self.attempt,
            "files_touched": [{"path": f.path, "change": f.change} for f in self.files_touched],
        }


@dataclass(frozen=True, slots=True)
class PipelineSummary:
    """One multi-stage dispatch: its parent run with its stages' figures."""

    run_id: str
    pipeline_id: str | None
    name: str  # the definition's name (kept in the parent run's model column)
    kind: str  # "group" | "skill" (the parent run's tag "pipeline.kind")
    trigger: str
    status: str
    started_at: int
    ended_at: int | None
    duration_ns: int | None
    stage_count: int
    cost_usd: float | None  # the known part; cost_complete says whether every stage is known
    cost_complete: bool
    error_message: str | None
    stages: tuple[StageSummary, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "pipeline_id": self.pipeline_id,
            "name": self.name,
            "kind": self.kind,
            "trigger": self.trigger,
            "status": self.status,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration_ms": None if self.duration_ns is None else self.duration_ns / 1e6,
            "stage_count": self.stage_count,
            "cost_usd": self.cost_usd,
            "cost_complete": self.cost_complete,
            "error_message": self.error_message,
            "stages": [s.as_dict() for s in self.stages],
        }


def _stage(run: RunRecord, attempt: int, files: tuple[FileTouched, ...] = ()) -> StageSummary:
    return StageSummary(
        run_id=run.id,
        stage_index=run.stage_index,
        stage_name=run.stage_name,
        agent_name=run.agent_name,
        status=run.status,
        started_at=run.started_at,
        ended_at=run.ended_at,
        duration_ns=run.duration_ns,
        cost_usd=run.cost_usd,
        cost_source=run.cost_source,
        error_class=run.error_class,
        error_message=run.error_message,
        attempt=attempt,
        files_touched=files,
    )


def _summary(parent: RunRecord, children: Sequence[RunRecord], stages: bool) -> PipelineSummary:
    attempts: dict[tuple[int | None, str | None], int] = {}
    stage_rows: list[StageSummary] = []
    for child in children:
        key = (child.stage_index, child.stage_name)
        attempts[key] = attempts.get(key, 0) + 1
        stage_rows.append(_stage(child, attempts[key]))
    known = [c.cost_usd for c in children if c.cost_usd is not None]
    if parent.cost_usd is not None:
        known.append(parent.cost_usd)
    spent = [c for c in children if c.action_count]
    return PipelineSummary(
        run_id=parent.id,
        pipeline_id=parent.pipeline_id,
        name=parent.model,
        kind=str(parent.tags.get("pipeline.kind") or "group"),
        trigger=parent.trigger,
        status=parent.status,
        started_at=parent.started_at,
        ended_at=parent.ended_at,
        duration_ns=parent.duration_ns,
        stage_count=len({(c.stage_index, c.stage_name) for c in children}),
        cost_usd=sum(known) if known else None,
        cost_complete=all(c.cost_usd is not None for c in spent),
        error_message=parent.error_message,
        stages=tuple(stage_rows) if stages else (),
    )


def _children(log: ExecutionLog, parent_ids: Sequence[str]) -> dict[str, list[RunRecord]]:
    found: dict[str, list[RunRecord]] = {p: [] for p in parent_ids}
    if not parent_ids:
        return found
    marks = ",".join("?" * len(parent_ids))
    rows = log.reader().execute(
        f"SELECT {RUN_COLUMNS} {RUN_FROM} WHERE r.parent_run_id IN ({marks}) "
        "AND r.stage_index IS NOT NULL ORDER BY r.started_at, r.run_no",
        list(parent_ids),
    )
    for row in rows:
        run = run_from_row(row)
        if run.parent_run_id in found:
            found[run.parent_run_id].append(run)
    return found


def list_pipeline_runs(
    log: ExecutionLog,
    *,
    pipeline_id: str | None = None,
    before: tuple[int, str] | None = None,
    limit: int = DEFAULT_LIMIT,
    with_stages: bool = False,
) -> list[PipelineSummary]:
    """Pipeline runs newest first (of one definition, with pipeline_id), a page at a time:
    `before` is the (started_at, run id) of the last row of the previous page."""
    limit = max(1, min(limit, MAX_LIMIT))
    where = ["r.pipeline_id IS NOT NULL", "r.stage_index IS NULL"]
    params: list[Any] = []
    index = "idx_runs_pipeline_parents"
    if pipeline_id is not None:
        where.append("r.pipeline_id = ?")
        params.append(pipeline_id)
        index = "idx_runs_pipeline"
    if before is not None:
        where.append("(r.started_at, r.id) < (?, ?)")
        params.extend(before)
    sql = (
        f"SELECT {RUN_COLUMNS} FROM runs r INDEXED BY {index} {RUN_JOINS}"
        f" WHERE {' AND '.join(where)} ORDER BY r.started_at DESC, r.id DESC LIMIT ?"
    )
    parents = [run_from_row(row) for row in log.reader().execute(sql, [*params, limit])]
    children = _children(log, [p.id for p in parents])
    return [_summary(p, children[p.id], with_stages) for p in parents]


def pipeline_run(log: ExecutionLog, run_id: str) -> PipelineSummary:
    """One pipeline run with every stage and the files each touched (a stage's id works too:
    its parent is shown)."""
    run = log.get_run(log.resolve_run_id(run_id))
    if run.stage_index is not None and run.parent_run_id:
        run = log.get_run(run.parent_run_id)
    if run.pipeline_id is None:
        raise NotFoundError(f"run {run.id} is not a pipeline run")
    children = _children(log, [run.id])[run.id]
    summary = _summary(run, children, True)
    conn = log.reader()
    stages: list[StageSummary] = []
    for stage, child in zip(summary.stages, children, strict=True):
        files: dict[str, FileTouched] = {}
        for (meta_json,) in conn.execute(
            "SELECT meta_json FROM actions WHERE run_no = ? AND meta_json IS NOT NULL ORDER BY seq",
            (child.run_no,),
        ):
            meta = from_json(meta_json)
            for item in (meta or {}).get("files_touched") or ():
                if isinstance(item, dict) and item.get("path"):
                    path = str(item["path"])
                    files[path] = FileTouched(path, str(item.get("change") or "modified"))
        stages.append(_stage(child, stage.attempt, tuple(files.values())))
    stages.extend(_not_run(conn, run, stages))
    source = run.tags.get("hook.source_run")
    if summary.kind == "hook" and source:
        # Archived or deleted: the chain's own stages still tell the story.
        with contextlib.suppress(NotFoundError):
            first = _stage(log.get_run(source), 1)
            stages.insert(0, dataclasses.replace(first, stage_name=SOURCE_STAGE))
    return dataclasses.replace(summary, stages=tuple(stages))


def _version_spec(conn: sqlite3.Connection, automation_id: str, version: int) -> Spec | None:
    row = conn.execute(
        "SELECT a.kind, v.spec_json FROM automation_versions v "
        "JOIN automations a ON a.id = v.automation_id "
        "WHERE v.automation_id = ? AND v.version = ?",
        (automation_id, version),
    ).fetchone()
    if row is None:
        return None
    try:
        return spec_from_dict(AutomationKind(row[0]), json.loads(row[1]))
    except (ValueError, TypeError, KeyError):
        return None


def _not_run(
    conn: sqlite3.Connection, parent: RunRecord, ran: Sequence[StageSummary]
) -> list[StageSummary]:
    """The planned stages of a finished sequential pipeline that never started (an earlier
    stage failed and stopped it, or it was killed), from the definition's version it ran."""
    if parent.status == "running" or parent.pipeline_id is None:
        return []
    try:
        version = int(str(parent.tags.get("pipeline.version") or ""))
    except ValueError:
        return []
    spec = _version_spec(conn, parent.pipeline_id, version)
    planned: tuple[Stage, ...] = ()
    if isinstance(spec, GroupSpec) and spec.mode is GroupMode.SEQUENTIAL:
        planned = spec.stages
    elif isinstance(spec, SkillSpec):
        planned = spec.steps
    started = {s.stage_index for s in ran}
    return [
        StageSummary(
            run_id="",
            stage_index=index,
            stage_name=stage.name,
            agent_name=stage.agent,
            status=NOT_RUN,
            started_at=0,
            ended_at=None,
            duration_ns=None,
            cost_usd=None,
            cost_source=None,
            error_class=None,
            error_message=None,
            attempt=1,
        )
        for index, stage in enumerate(planned)
        if index not in started
    ]


def hook_recent_runs(
    log: ExecutionLog, hook: AutomationRecord, limit: int = DEFAULT_LIMIT
) -> list[RunRecord]:
    """What a hook started lately, newest first: its chains (through idx_runs_pipeline) and the
    pipeline runs of the group or skill flow it targets that it started (their tag "hook"),
    a bounded walk of that definition's newest runs."""
    limit = max(1, min(limit, MAX_LIMIT))
    conn = log.reader()
    rows = list(
        conn.execute(
            f"SELECT {RUN_COLUMNS} FROM runs r INDEXED BY idx_runs_pipeline {RUN_JOINS}"
            " WHERE r.pipeline_id = ? AND r.stage_index IS NULL"
            " ORDER BY r.started_at DESC, r.id DESC LIMIT ?",
            (hook.id, limit),
        )
    )
    runs = [run_from_row(row) for row in rows]
    spec = hook.spec
    if isinstance(spec, HookSpec) and spec.target_kind is not TargetKind.AGENT:
        kind = (
            AutomationKind.GROUP if spec.target_kind is TargetKind.GROUP else AutomationKind.SKILL
        )
        target = conn.execute(
            "SELECT id FROM automations WHERE kind = ? AND name = ?", (kind.value, spec.target)
        ).fetchone()
        if target is not None:
            walked = conn.execute(
                f"SELECT {RUN_COLUMNS} FROM runs r INDEXED BY idx_runs_pipeline {RUN_JOINS}"
                " WHERE r.pipeline_id = ? AND r.stage_index IS NULL AND r.trigger = 'hook'"
                " ORDER BY r.started_at DESC, r.id DESC LIMIT ?",
                (target[0], limit * 5),
            )
            runs.extend(
                run for run in map(run_from_row, walked) if run.tags.get("hook") == hook.name
            )
    runs.sort(key=lambda r: (r.started_at, r.id), reverse=True)
    return runs[:limit]


def running_pipeline_runs(log: ExecutionLog, pipeline_id: str) -> list[str]:
    """Parent runs of this definition still running (overlap checks), newest first."""
    rows = log.reader().execute(
        "SELECT id FROM runs INDEXED BY idx_runs_pipeline WHERE pipeline_id = ? "
        "AND stage_index IS NULL AND status = 'running' ORDER BY started_at DESC LIMIT 20",
        (pipeline_id,),
    )
    return [str(r[0]) for r in rows]
