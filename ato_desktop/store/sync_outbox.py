"""Cloud sync in the log: its settings (no secrets), the outbox of runs to send, its status.

Functions over an ExecutionLog, like store.evals. Runs enter the outbox through a trigger in
the transaction that ends them (schema migration 8) while sync is enabled; runs the OTLP
receiver writes (already finished, so no trigger sees them end) are queued by the receiver's
write itself (`enqueue_ingested_in`) when the user chose to send those too; `enqueue_runs`
queues older runs on demand. A row leaves only through `ack` (the endpoint answered 2xx) or
`skip` (the run cannot be encoded: recorded in the status). Every read is bounded.

One process sends at a time: the sender claims the outbox in sync_status (its lease token,
`claim_sender`) for as long as it sends, and gives it back (`release_sender`); a claim whose
process died (its lease lock is free) is taken over.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from ato_desktop.core.events import SyncStateChanged
from ato_desktop.core.pii import PiiRules
from ato_desktop.store.execution_log import ExecutionLog, now_ms
from ato_desktop.store.writer import Emit

AUTH_KINDS = ("none", "bearer", "basic", "headers")


@dataclass(frozen=True, slots=True)
class SyncConfig:
    """Cloud sync settings as stored (secrets are in the keyring, named by auth_kind and
    header_names). agent_ids empty: every run is sent."""

    enabled: bool = False
    endpoint: str | None = None
    auth_kind: str = "none"
    basic_user: str | None = None
    header_names: tuple[str, ...] = ()
    agent_ids: tuple[str, ...] = ()
    include_content: bool = False
    redaction: PiiRules = field(default_factory=PiiRules)
    batch_size: int = 50
    updated_at: int = 0
    project_name: str | None = None  # service.name / openinference.project.name
    include_ingested: bool = False  # also send runs received from other tools (OTLP receiver)

    def as_dict(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "endpoint": self.endpoint,
            "auth_kind": self.auth_kind,
            "basic_user": self.basic_user,
            "header_names": list(self.header_names),
            "agent_ids": list(self.agent_ids),
            "include_content": self.include_content,
            "redaction": self.redaction.as_dict(),
            "batch_size": self.batch_size,
            "project_name": self.project_name,
            "include_ingested": self.include_ingested,
        }


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    run_id: str
    queued_at: int
    attempts: int
    next_attempt_at: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class SyncCounters:
    """The durable half of the status line (the worker adds what it is doing now)."""

    queued: int
    oldest_queued_at: int | None
    next_attempt_at: int | None
    paused: bool
    auth_paused: bool
    last_success_at: int | None
    last_sent_count: int
    total_sent: int
    last_error: str | None
    last_error_at: int | None
    skipped_count: int
    last_skipped_run_id: str | None
    last_skipped_reason: str | None
    sender_token: str | None = None  # the process that has claimed sending (its lease token)
    sender_label: str | None = None  # which process that is ("the desktop app (pid 41)")
    sender_since: int | None = None


def _json_list(text: str | None) -> tuple[str, ...]:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return ()
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _config_from_row(row: sqlite3.Row) -> SyncConfig:
    try:
        redaction_data = json.loads(row["redaction_json"] or "{}")
    except ValueError:
        redaction_data = {}
    try:
        redaction = PiiRules.from_dict(redaction_data)
    except ValueError:
        redaction = PiiRules()
    return SyncConfig(
        enabled=bool(row["enabled"]),
        endpoint=row["endpoint"],
        auth_kind=row["auth_kind"],
        basic_user=row["basic_user"],
        header_names=_json_list(row["header_names_json"]),
        agent_ids=_json_list(row["agent_ids_json"]),
        include_content=bool(row["include_content"]),
        redaction=redaction,
        batch_size=int(row["batch_size"]),
        updated_at=int(row["updated_at"]),
        project_name=row["project_name"],
        include_ingested=bool(row["include_ingested"]),
    )


def get_config(log: ExecutionLog) -> SyncConfig:
    row = log.reader().execute("SELECT * FROM sync_config WHERE id = 1").fetchone()
    return SyncConfig() if row is None else _config_from_row(row)


def save_config(log: ExecutionLog, config: SyncConfig) -> Future[SyncConfig]:
    """Store the settings (validated by the caller, engine.otlp_sync.configure)."""

    def job(conn: sqlite3.Connection, emit: Emit) -> SyncConfig:
        conn.execute(
            "UPDATE sync_config SET enabled = ?, endpoint = ?, auth_kind = ?, basic_user = ?,"
            " header_names_json = ?, agent_ids_json = ?, include_content = ?,"
            " redaction_json = ?, batch_size = ?, updated_at = ?, project_name = ?,"
            " include_ingested = ? WHERE id = 1",
            (
                int(config.enabled),
                config.endpoint,
                config.auth_kind,
                config.basic_user,
                json.dumps(list(config.header_names)),
                json.dumps(list(config.agent_ids)),
                int(config.include_content),
                json.dumps(config.redaction.as_dict()),
                config.batch_size,
                now_ms(),
                config.project_name,
                int(config.include_ingested),
            ),
        )
        emit(SyncStateChanged("configured"))
        return _config_from_row(conn.execute("SELECT * FROM sync_config WHERE id = 1").fetchone())

    return log.submit(job)


# -- the outbox -----------------------------------------------------------------------------------


def enqueue_runs(log: ExecutionLog, run_ids: Sequence[str]) -> Future[int]:
    """Queue ended runs (already queued ones keep their place); returns how many were added."""
    ids = list(run_ids)

    def job(conn: sqlite3.Connection, emit: Emit) -> int:
        added = enqueue_in(conn, ids)
        if added:
            emit(SyncStateChanged("queued"))
        return added

    return log.submit(job)


def enqueue_in(conn: sqlite3.Connection, run_ids: Sequence[str]) -> int:
    """Queue runs inside a write job of the caller's (the receiver's ingest)."""
    ts = now_ms()
    added = 0
    for run_id in run_ids:
        cursor = conn.execute(
            "INSERT INTO sync_outbox (run_id, queued_at) VALUES (?, ?)"
            " ON CONFLICT (run_id) DO NOTHING",
            (run_id, ts),
        )
        added += cursor.rowcount
    return added


# The runs sync covers, by the settings in sync_config c (the same rule as migration 8's
# trigger, plus received runs only when chosen): r is the run.
_COVERED = (
    "c.id = 1 AND c.enabled = 1 AND r.is_demo = 0 AND r.status <> 'running'"
    " AND (c.agent_ids_json = '[]'"
    "      OR r.agent_id IN (SELECT value FROM json_each(c.agent_ids_json)))"
    " AND (r.\"trigger\" <> 'external' OR c.include_ingested = 1)"
)


def enqueue_ended_since(log: ExecutionLog, since_ms: int, limit: int = 100_000) -> Future[int]:
    """Queue every ended, non-demo run that started at or after since_ms (a backfill), of the
    agents sync covers; runs received from other tools only when the settings send them."""

    def job(conn: sqlite3.Connection, emit: Emit) -> int:
        cursor = conn.execute(
            "INSERT INTO sync_outbox (run_id, queued_at)"
            " SELECT r.id, ? FROM runs r, sync_config c WHERE r.started_at >= ?"
            f" AND {_COVERED} ORDER BY r.started_at LIMIT ?"
            " ON CONFLICT (run_id) DO NOTHING",
            (now_ms(), since_ms, limit),
        )
        if cursor.rowcount:
            emit(SyncStateChanged("queued"))
        return cursor.rowcount

    return log.submit(job)


def enqueue_ingested_in(conn: sqlite3.Connection, run_ids: Sequence[str]) -> int:
    """Inside the receiver's write: queue the runs it wrote or extended, when sync is on and
    the user chose to send received runs (an extended run is sent again: its spans have the
    same ids, and the new ones join them). Returns how many were queued."""
    if not run_ids:
        return 0
    wanted = conn.execute(
        "SELECT 1 FROM sync_config WHERE id = 1 AND enabled = 1 AND include_ingested = 1"
    ).fetchone()
    if wanted is None:
        return 0
    ts = now_ms()
    added = 0
    for run_id in run_ids:
        added += conn.execute(
            "INSERT INTO sync_outbox (run_id, queued_at)"
            f" SELECT r.id, ? FROM runs r, sync_config c WHERE r.id = ? AND {_COVERED}"
            " ON CONFLICT (run_id) DO NOTHING",
            (ts, run_id),
        ).rowcount
    return added


def enqueue_ingested(conn: sqlite3.Connection, emit: Emit, run_ids: Sequence[str]) -> int:
    """enqueue_ingested_in, and tell the other processes (their senders) when runs queued."""
    added = enqueue_ingested_in(conn, run_ids)
    if added:
        emit(SyncStateChanged("queued"))
    return added


def enqueue_finished_ingest(conn: sqlite3.Connection, emit: Emit, ingest_no: int) -> int:
    """At the commit point of a receiver's export (store.external_runs.finish_ingest): queue
    the runs it created or extended, when the user chose to send received runs. Never before
    that commit: an export that fails is taken back, and its runs must not have left."""
    wanted = conn.execute(
        "SELECT 1 FROM sync_config WHERE id = 1 AND enabled = 1 AND include_ingested = 1"
    ).fetchone()
    if wanted is None:
        return 0
    ids = [
        str(row[0])
        for row in conn.execute(
            "SELECT r.id FROM otlp_traces t JOIN runs r ON r.run_no = t.run_no"
            " WHERE t.ingest_no = ?"
            " UNION SELECT r.id FROM otlp_ingest_runs i JOIN runs r ON r.run_no = i.run_no"
            " WHERE i.ingest_no = ?",
            (ingest_no, ingest_no),
        )
    ]
    return enqueue_ingested(conn, emit, ids)


def due_entries(log: ExecutionLog, at_ms: int, limit: int) -> list[OutboxEntry]:
    """Entries whose next attempt is due, oldest first."""
    rows = log.reader().execute(
        "SELECT * FROM sync_outbox WHERE next_attempt_at <= ?"
        " ORDER BY next_attempt_at, queued_at LIMIT ?",
        (at_ms, limit),
    )
    return [
        OutboxEntry(
            r["run_id"], r["queued_at"], r["attempts"], r["next_attempt_at"], r["last_error"]
        )
        for r in rows
    ]


def ack(log: ExecutionLog, run_ids: Sequence[str]) -> Future[int]:
    """The endpoint accepted these runs: out of the outbox, and a success in the status."""
    ids = list(run_ids)

    def job(conn: sqlite3.Connection, emit: Emit) -> int:
        removed = 0
        ts = now_ms()
        for run_id in ids:
            removed += conn.execute("DELETE FROM sync_outbox WHERE run_id = ?", (run_id,)).rowcount
            record_sync(conn, run_id, ts)
        conn.execute(
            "UPDATE sync_status SET last_success_at = ?, last_sent_count = ?,"
            " total_sent = total_sent + ?, last_error = NULL, auth_paused = 0, updated_at = ?"
            " WHERE id = 1",
            (ts, len(ids), len(ids), ts),
        )
        emit(SyncStateChanged("sent"))
        return removed

    return log.submit(job)


def record_sync(conn: sqlite3.Connection, run_id: str, at_ms: int) -> None:
    """Note that run_id reached the endpoint at at_ms, under the current sync settings (where
    it went, with or without content, the PII redaction): the run's compliance record."""
    conn.execute(
        "INSERT INTO run_syncs (run_id, endpoint, synced_at, include_content, redaction_json)"
        " SELECT ?, coalesce(endpoint, ''), ?, include_content, redaction_json"
        " FROM sync_config WHERE id = 1"
        " ON CONFLICT (run_id) DO UPDATE SET endpoint = excluded.endpoint,"
        " synced_at = excluded.synced_at, include_content = excluded.include_content,"
        " redaction_json = excluded.redaction_json",
        (run_id, at_ms),
    )


def reschedule(
    log: ExecutionLog, run_ids: Sequence[str], next_attempt_at: int, error: str
) -> Future[None]:
    """A failed attempt: try again at next_attempt_at; the error goes to the status too."""
    ids = list(run_ids)

    def job(conn: sqlite3.Connection, emit: Emit) -> None:
        for run_id in ids:
            conn.execute(
                "UPDATE sync_outbox SET attempts = attempts + 1, next_attempt_at = ?,"
                " last_error = ? WHERE run_id = ?",
                (next_attempt_at, error, run_id),
            )
        _set_error(conn, error)
        emit(SyncStateChanged("failed"))

    return log.submit(job)


def skip(log: ExecutionLog, run_id: str, reason: str) -> Future[None]:
    """A run that cannot be sent (malformed, gone): out of the outbox, noted in the status."""

    def job(conn: sqlite3.Connection, emit: Emit) -> None:
        conn.execute("DELETE FROM sync_outbox WHERE run_id = ?", (run_id,))
        conn.execute(
            "UPDATE sync_status SET skipped_count = skipped_count + 1, last_skipped_run_id = ?,"
            " last_skipped_reason = ?, updated_at = ? WHERE id = 1",
            (run_id, reason[:500], now_ms()),
        )
        emit(SyncStateChanged("skipped"))

    return log.submit(job)


def _set_error(conn: sqlite3.Connection, error: str) -> None:
    ts = now_ms()
    conn.execute(
        "UPDATE sync_status SET last_error = ?, last_error_at = ?, updated_at = ? WHERE id = 1",
        (error[:500], ts, ts),
    )


def record_error(log: ExecutionLog, error: str, *, auth: bool = False) -> Future[None]:
    """Note an error; auth=True also pauses sending until credentials change."""

    def job(conn: sqlite3.Connection, emit: Emit) -> None:
        _set_error(conn, error)
        if auth:
            conn.execute("UPDATE sync_status SET auth_paused = 1 WHERE id = 1")
        emit(SyncStateChanged("failed"))

    return log.submit(job)


def set_paused(
    log: ExecutionLog, *, paused: bool | None = None, auth_paused: bool | None = None
) -> Future[None]:
    """Pause or resume (paused: the user's choice; auth_paused: rejected credentials)."""

    def job(conn: sqlite3.Connection, emit: Emit) -> None:
        if paused is not None:
            conn.execute("UPDATE sync_status SET paused = ? WHERE id = 1", (int(paused),))
        if auth_paused is not None:
            conn.execute("UPDATE sync_status SET auth_paused = ? WHERE id = 1", (int(auth_paused),))
            if not auth_paused:
                # New credentials: whatever waited for them is due now.
                conn.execute("UPDATE sync_outbox SET next_attempt_at = 0")
        emit(SyncStateChanged("paused" if paused or auth_paused else "resumed"))

    return log.submit(job)


def retry_now(log: ExecutionLog) -> Future[int]:
    """Make every queued run due now (`sync now`)."""

    def job(conn: sqlite3.Connection, emit: Emit) -> int:
        emit(SyncStateChanged("retry"))
        return conn.execute("UPDATE sync_outbox SET next_attempt_at = 0").rowcount

    return log.submit(job)


def counters(log: ExecutionLog) -> SyncCounters:
    conn = log.reader()
    queued, oldest, next_at = conn.execute(
        "SELECT count(*), min(queued_at), min(next_attempt_at) FROM sync_outbox"
    ).fetchone()
    row = conn.execute("SELECT * FROM sync_status WHERE id = 1").fetchone()
    return SyncCounters(
        queued=int(queued),
        oldest_queued_at=oldest,
        next_attempt_at=next_at,
        paused=bool(row["paused"]),
        auth_paused=bool(row["auth_paused"]),
        last_success_at=row["last_success_at"],
        last_sent_count=int(row["last_sent_count"]),
        total_sent=int(row["total_sent"]),
        last_error=row["last_error"],
        last_error_at=row["last_error_at"],
        skipped_count=int(row["skipped_count"]),
        last_skipped_run_id=row["last_skipped_run_id"],
        last_skipped_reason=row["last_skipped_reason"],
        sender_token=row["sender_token"],
        sender_label=row["sender_label"],
        sender_since=row["sender_since"],
    )


# -- the one sender -------------------------------------------------------------------------------


def claim_sender(
    log: ExecutionLog, token: str, label: str, holder_alive: Callable[[str], bool]
) -> Future[bool]:
    """Claim sending for the process with lease token `token`: True when it is (or already
    was) the sender. A claim held by another process stands while holder_alive(its token)
    says that process lives; a dead holder's claim is taken over."""

    def job(conn: sqlite3.Connection, emit: Emit) -> bool:
        row = conn.execute("SELECT sender_token FROM sync_status WHERE id = 1").fetchone()
        holder = row["sender_token"] if row is not None else None
        if holder not in (None, token) and holder_alive(holder):
            return False
        if holder != token:
            conn.execute(
                "UPDATE sync_status SET sender_token = ?, sender_label = ?, sender_since = ?"
                " WHERE id = 1",
                (token, label, now_ms()),
            )
            emit(SyncStateChanged("claimed"))
        return True

    return log.submit(job)


def release_sender(log: ExecutionLog, token: str) -> Future[None]:
    """Give the claim back (only this process's own claim)."""

    def job(conn: sqlite3.Connection, emit: Emit) -> None:
        released = conn.execute(
            "UPDATE sync_status SET sender_token = NULL, sender_label = NULL,"
            " sender_since = NULL WHERE id = 1 AND sender_token = ?",
            (token,),
        ).rowcount
        if released:
            # Another process may send what is left (a CLI run that gave up at its bound).
            emit(SyncStateChanged("released"))

    return log.submit(job)


def run_root_id(log: ExecutionLog, run_id: str, max_depth: int = 16) -> str | None:
    """The top run of a run's pipeline (following parent_run_id), or None for a top run."""
    conn = log.reader()
    current, root = run_id, None
    for _ in range(max_depth):
        row = conn.execute("SELECT parent_run_id FROM runs WHERE id = ?", (current,)).fetchone()
        if row is None or not row[0]:
            break
        current = root = str(row[0])
    return root
