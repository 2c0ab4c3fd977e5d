"""Runs from outside the app (the OTLP receiver), written in one transaction.

A trace whose run is not in the log yet becomes a new run with its actions; spans of a trace
that arrive in a later export (SDKs export spans as they end) are appended to its run, and the
run's end moves to cover them. One write job: a request is written whole or not at all.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace

from ato_desktop.core.events import ActionCreated, RunsIngested
from ato_desktop.core.otlp_ingest import IngestedTrace
from ato_desktop.core.records import NewAction
from ato_desktop.store.execution_log import (
    ACTION_INSERT,
    RUN_INSERT,
    ExecutionLog,
    _action_row,
    _bulk_run_row,
    _insert_action,
)
from ato_desktop.store.json_codec import to_json
from ato_desktop.store.ledger_rows import index_run_actions
from ato_desktop.store.writer import Emit


@dataclass(frozen=True, slots=True)
class IngestResult:
    runs_created: int
    runs_extended: int
    actions: int
    run_ids: tuple[str, ...]


def ingest_traces(log: ExecutionLog, traces: Sequence[IngestedTrace]) -> Future[IngestResult]:
    """Write the traces as runs (new or extended), all in one transaction."""
    batch = list(traces)

    def job(conn: sqlite3.Connection, emit: Emit) -> IngestResult:
        created = extended = actions = 0
        for trace in batch:
            row = conn.execute(
                "SELECT run_no, action_count, started_at, ended_at FROM runs WHERE id = ?",
                (trace.run_id,),
            ).fetchone()
            if row is None:
                run_no = conn.execute("SELECT coalesce(max(run_no), 0) + 1 FROM runs").fetchone()[0]
                conn.execute(RUN_INSERT, _bulk_run_row(run_no, trace.run, trace.end, trace.actions))
                conn.executemany(
                    ACTION_INSERT,
                    [_action_row(run_no, seq, a) for seq, a in enumerate(trace.actions, 1)],
                )
                index_run_actions(conn, run_no)  # the Activity Ledger's rows
                created += 1
            else:
                run_no, offset = row["run_no"], row["action_count"]
                for action in trace.actions:
                    if action.parent_seq is not None:
                        action = replace(action, parent_seq=action.parent_seq + offset)
                    else:
                        action = replace(action, parent_seq=_parent_seq(conn, run_no, action))
                    seq = _insert_action(conn, run_no, action)
                    _adopt_children(conn, run_no, seq, action)
                    emit(ActionCreated(trace.run_id, seq, action.name, action.outcome))
                started = min(row["started_at"], trace.run.started_at)
                ended = max(row["ended_at"] or 0, trace.end.ended_at)
                conn.execute(
                    "UPDATE runs SET started_at = ?, ended_at = ?, duration_ns = ?,"
                    " status = CASE WHEN ? = 'failed' THEN 'failed' ELSE status END,"
                    " error_class = coalesce(error_class, ?),"
                    " error_message = coalesce(error_message, ?),"
                    " tags_json = json_patch(tags_json, ?),"
                    " model = CASE WHEN model = 'unknown' THEN ? ELSE model END,"
                    " runtime = CASE WHEN model = 'unknown' THEN ? ELSE runtime END"
                    " WHERE run_no = ?",
                    (
                        started,
                        ended,
                        (ended - started) * 1_000_000,
                        trace.end.status,
                        trace.end.error_class,
                        trace.end.error_message,
                        to_json(trace.run.tags or {}),
                        trace.run.model,
                        trace.run.runtime,
                        run_no,
                    ),
                )
                extended += 1
            actions += len(trace.actions)
        if created:
            emit(RunsIngested(created))
        return IngestResult(created, extended, actions, tuple(t.run_id for t in batch))

    return log.submit(job)


def _parent_seq(conn: sqlite3.Connection, run_no: int, action: NewAction) -> int | None:
    """The seq of the action, exported earlier, whose span is this span's parent."""
    parent = (action.meta or {}).get("otel.parent_span_id")
    if not parent:
        return None
    row = conn.execute(
        "SELECT seq FROM actions WHERE run_no = ?"
        " AND json_extract(meta_json, '$.\"otel.span_id\"') = ?",
        (run_no, parent),
    ).fetchone()
    return int(row[0]) if row else None


def _adopt_children(conn: sqlite3.Connection, run_no: int, seq: int, action: NewAction) -> None:
    """Spans exported before their parent (SDKs export children as they end) get it now."""
    span_id = (action.meta or {}).get("otel.span_id")
    if span_id:
        conn.execute(
            "UPDATE actions SET parent_seq = ? WHERE run_no = ? AND parent_seq IS NULL"
            " AND json_extract(meta_json, '$.\"otel.parent_span_id\"') = ?",
            (seq, run_no, span_id),
        )
