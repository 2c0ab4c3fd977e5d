"""The store's one writer: a dedicated thread that owns the write connection.

Jobs are functions of (connection, emit). The thread takes every job waiting in the queue, runs
each inside its own savepoint of one transaction (a group commit: a burst of small writes costs one
fsync, not one each), commits, then resolves the futures and publishes the events the jobs emitted.
A failing job rolls back its own savepoint only; the others in the batch still commit. When
SQLite rolls back the whole transaction instead (a full disk), the others run again in a new one.

The log is the bus: the events a job emits are also recorded in the `changes` table inside the
job's savepoint, so a change and its record commit together or not at all, and the other
processes following the log (store/change_feed.py) publish them as their own views' events.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from ato_desktop.core.event_bus import EventBus
from ato_desktop.core.events import DomainEvent, event_record
from ato_desktop.store.database import (
    BUSY_TIMEOUT_MS,
    StoreError,
    translate_operational_error,
)
from ato_desktop.store.json_codec import ENCODER

log = logging.getLogger(__name__)

T = TypeVar("T")
Emit = Callable[[DomainEvent], None]
Job = Callable[[sqlite3.Connection, Emit], Any]

MAX_BATCH = 256

# The change feed's records are kept this long, then pruned (in a write transaction, at most
# once per PRUNE_EVERY_S): a follower reads them within a fraction of a second, and one that fell
# further behind (a sleeping laptop) reloads what it shows instead.
CHANGES_KEEP_MS = 10 * 60 * 1000
CHANGES_KEEP_ROWS = 100_000
PRUNE_EVERY_S = 30.0

CHANGE_INSERT = "INSERT INTO changes (origin, at, kind, payload) VALUES (?, ?, ?, ?)"


def record_changes(
    conn: sqlite3.Connection, origin: str, events: list[DomainEvent], at_ms: int | None = None
) -> None:
    """Record events in the change feed on conn's open transaction."""
    at = at_ms if at_ms is not None else int(time.time() * 1000)
    rows = []
    for event in events:
        kind, fields = event_record(event)
        rows.append((origin, at, kind, ENCODER.encode(fields)))
    conn.executemany(CHANGE_INSERT, rows)


def prune_changes(conn: sqlite3.Connection, now_ms: int) -> int:
    """Drop change records older than CHANGES_KEEP_MS, or beyond the newest CHANGES_KEEP_ROWS.

    Rows are in time order, so the cut-off is found by walking from the oldest row: only rows
    that go are visited."""
    first_kept = conn.execute(
        "SELECT seq FROM changes WHERE at >= ? ORDER BY seq LIMIT 1", (now_ms - CHANGES_KEEP_MS,)
    ).fetchone()
    newest = conn.execute("SELECT max(seq) FROM changes").fetchone()[0]
    if newest is None:
        return 0
    cut = newest + 1 if first_kept is None else int(first_kept[0])
    cut = max(cut, int(newest) - CHANGES_KEEP_ROWS + 1)
    return conn.execute("DELETE FROM changes WHERE seq < ?", (cut,)).rowcount


class _Stop:
    pass


class WriterThread:
    """Serialises every write of this process through one connection."""

    def __init__(
        self, conn: sqlite3.Connection, path: Path, bus: EventBus, origin: str = "unknown"
    ) -> None:
        self._conn = conn
        self._path = path
        self._bus = bus
        self._origin = origin
        self._last_prune = 0.0
        self._queue: queue.SimpleQueue[tuple[Job, Future[Any]] | _Stop] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="ato-store-writer", daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[sqlite3.Connection, Emit], T]) -> Future[T]:
        """Queue a write; the future resolves after its transaction commits."""
        future: Future[T] = Future()
        if self._closed:
            future.set_exception(StoreError("the execution log is closed"))
            return future
        self._queue.put((job, future))
        return future

    def close(self) -> None:
        """Finish queued writes, then stop the thread and close the connection."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_Stop())
        self._thread.join()
        self._conn.close()

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if isinstance(item, _Stop):
                return
            batch = [item]
            stop = False
            while len(batch) < MAX_BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(nxt, _Stop):
                    stop = True
                    break
                batch.append(nxt)
            self._run_batch(batch)
            self._maybe_prune()
            if stop:
                return

    def _run_batch(self, batch: list[tuple[Job, Future[Any]]]) -> None:
        pending = batch
        while pending:
            pending = self._run_transaction(pending)

    def _run_transaction(
        self, batch: list[tuple[Job, Future[Any]]]
    ) -> list[tuple[Job, Future[Any]]]:
        """Run the jobs in one transaction; returns the jobs to run again in a fresh one.

        Some errors (SQLITE_FULL above all) make SQLite roll back the whole transaction, not
        just the failing statement: the jobs before it were undone through no fault of their
        own, so they are run again in a new transaction, and the jobs after it never run in
        autocommit (they would be written while their futures reported a failure).
        """
        conn = self._conn
        outcomes: list[tuple[Job, Future[Any], bool, Any, list[DomainEvent]]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            error = translate_operational_error(exc, self._path)
            for _, future in batch:
                if future.running() or future.set_running_or_notify_cancel():
                    future.set_exception(error)
            return []
        for index, (job, future) in enumerate(batch):
            if not future.running() and not future.set_running_or_notify_cancel():
                continue
            events: list[DomainEvent] = []
            conn.execute("SAVEPOINT job")
            try:
                result = job(conn, events.append)
                if events:
                    record_changes(conn, self._origin, events)
                conn.execute("RELEASE job")
                outcomes.append((job, future, True, result, events))
            except BaseException as exc:
                failure: BaseException = exc
                if isinstance(exc, sqlite3.OperationalError):
                    failure = translate_operational_error(exc, self._path)
                if not conn.in_transaction:
                    log.warning("a write failed and SQLite rolled back its batch: %s", exc)
                    future.set_exception(failure)
                    redo = [(j, f) for j, f, ok, _value, _events in outcomes if ok]
                    for _job, f, ok, value, _events in outcomes:
                        if not ok:
                            f.set_exception(value)
                    return redo + batch[index + 1 :]
                try:
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                except sqlite3.Error:
                    log.exception("rollback of a failed write failed")
                outcomes.append((job, future, False, failure, []))
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            error = translate_operational_error(exc, self._path)
            for _job, future, _ok, _value, _events in outcomes:
                future.set_exception(error)
            return []
        for _job, future, ok, value, events in outcomes:
            if ok:
                # Publish first: whoever awaits the write finds the bus already told.
                for event in events:
                    self._bus.publish(event)
                future.set_result(value)
            else:
                future.set_exception(value)
        return []

    def _maybe_prune(self) -> None:
        """Prune the change feed now and then, in a short transaction of its own."""
        now = time.monotonic()
        if now - self._last_prune < PRUNE_EVERY_S:
            return
        self._last_prune = now
        conn = self._conn
        # Only when the log is free this moment: pruning can wait, queued writes cannot.
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            conn.execute("BEGIN IMMEDIATE")
            prune_changes(conn, int(time.time() * 1000))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            log.debug("the change feed was not pruned this time: %s", exc)
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        finally:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
