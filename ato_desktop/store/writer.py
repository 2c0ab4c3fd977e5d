"""The store's one writer: a dedicated thread that owns the write connection.

Jobs are functions of (connection, emit). The thread takes every job waiting in the queue, runs
each inside its own savepoint of one transaction (a group commit: a burst of small writes costs one
fsync, not one each), commits, then resolves the futures and publishes the events the jobs emitted.
A failing job rolls back its own savepoint only; the others in the batch still commit. When
SQLite rolls back the whole transaction instead (a full disk), the others run again in a new one.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from ato_desktop.core.event_bus import EventBus
from ato_desktop.core.events import DomainEvent
from ato_desktop.store.database import StoreError, translate_operational_error

log = logging.getLogger(__name__)

T = TypeVar("T")
Emit = Callable[[DomainEvent], None]
Job = Callable[[sqlite3.Connection, Emit], Any]

MAX_BATCH = 256


class _Stop:
    pass


class WriterThread:
    """Serialises every write of this process through one connection."""

    def __init__(self, conn: sqlite3.Connection, path: Path, bus: EventBus) -> None:
        self._conn = conn
        self._path = path
        self._bus = bus
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
