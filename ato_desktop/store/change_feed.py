"""The change feed: other processes' writes, heard as this process's own events.

Every write records the events it publishes in the log's `changes` table, in the same
transaction (store/writer.py). A long-lived process (the app, `schedules daemon`, the receiver)
follows that table on a thread of its own and publishes the other processes' records on its bus
as foreign events, so its views and services have one path for "something changed", whoever
changed it.

Checking for news costs next to nothing while nothing changes: `PRAGMA data_version` on the
feed's own connection changes only when another connection committed, and only then is the table
read (an index range above the last sequence number seen). Records are dense and committed in
sequence order (one writer holds the log at a time, and AUTOINCREMENT never reuses a number), so a
hole between the last number seen and the first one read means the writer pruned records this
process never read (it slept, or was stopped): it publishes `ChangesMissed` and views reload.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
from pathlib import Path

from ato_desktop.core.event_bus import EventBus
from ato_desktop.core.events import ChangesMissed, DomainEvent, event_from_record
from ato_desktop.store.database import connect
from ato_desktop.store.writer import record_changes

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 0.05  # a data_version check: microseconds, so 20 a second cost nothing
READ_BATCH = 2_000


class ChangeFeed:
    """Follows the records other processes leave in the log; publishes them on bus."""

    def __init__(
        self,
        path: Path,
        bus: EventBus,
        origin: str,
        *,
        interval_s: float = POLL_INTERVAL_S,
    ) -> None:
        self._path = path
        self._bus = bus
        self._origin = origin
        self._interval_s = interval_s
        self._conn: sqlite3.Connection | None = None
        self._data_version: int | None = None
        self._last_seq = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # poll() from a test and the thread never overlap
        self.published = 0  # foreign events published so far (for tests and benchmarks)

    @property
    def last_seq(self) -> int:
        return self._last_seq

    def start(self) -> None:
        """Start following from now (what is already in the log, views read by themselves)."""
        if self._thread is not None:
            return
        self._open()
        self._thread = threading.Thread(target=self._run, name="ato-change-feed", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _open(self) -> sqlite3.Connection:
        with self._lock:
            if self._conn is None:
                conn = connect(self._path, cache_kib=512)
                row = conn.execute(
                    "SELECT seq FROM sqlite_sequence WHERE name = 'changes'"
                ).fetchone()
                self._last_seq = int(row[0]) if row else 0
                self._data_version = int(conn.execute("PRAGMA data_version").fetchone()[0])
                self._conn = conn
            return self._conn

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self.poll()
            except sqlite3.Error as exc:
                # A busy or briefly unreadable log: the next look tries again.
                log.debug("the change feed could not read the log: %s", exc)
            except Exception:
                log.exception("the change feed failed a look")

    def poll(self) -> int:
        """Publish what other processes committed since the last look; returns how many."""
        conn = self._open()
        with self._lock:
            version = int(conn.execute("PRAGMA data_version").fetchone()[0])
            if version == self._data_version:
                return 0
            self._data_version = version
            return self._read_new(conn)

    def _read_new(self, conn: sqlite3.Connection) -> int:
        published = 0
        while True:
            rows = conn.execute(
                "SELECT seq, origin, kind, payload FROM changes WHERE seq > ? ORDER BY seq LIMIT ?",
                (self._last_seq, READ_BATCH),
            ).fetchall()
            if not rows:
                break
            if int(rows[0][0]) > self._last_seq + 1:
                self._bus.publish(ChangesMissed(self._last_seq + 1), foreign=True)
                published += 1
            for seq, origin, kind, payload in rows:
                self._last_seq = int(seq)
                if origin == self._origin:
                    continue
                try:
                    fields = json.loads(payload)
                except ValueError:
                    continue
                event = event_from_record(str(kind), fields)
                if event is None:
                    continue
                self._bus.publish(event, foreign=True)
                published += 1
            if len(rows) < READ_BATCH:
                break
        self.published += published
        return published


def announce(path: Path, event: DomainEvent) -> bool:
    """Record a change made outside the log (settings.json) for the processes following it, from
    a process that has no writer open (a CLI command that only edits a file). Best effort: no
    log yet, or one too old to have the feed, just means nobody is following it."""
    if not path.exists():
        return False
    try:
        conn = connect(path)
    except sqlite3.Error:
        return False
    try:
        conn.execute("BEGIN IMMEDIATE")
        record_changes(conn, f"process-{os.getpid()}", [event])
        conn.execute("COMMIT")
        return True
    except sqlite3.Error as exc:
        log.debug("could not announce %s: %s", type(event).__name__, exc)
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        return False
    finally:
        conn.close()
