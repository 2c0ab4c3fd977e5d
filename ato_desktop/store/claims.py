"""Claims: work that must happen once, whichever process hears of it first.

Several processes follow the same log (the app, `schedules daemon`), so several hear that a run
ended. A hook on that run must fire once: each process claims (scope, key) before it acts, and
only the one whose INSERT went in acts. The row is the proof; it is kept for CLAIMS_KEEP_MS.
"""

from __future__ import annotations

import sqlite3
from concurrent.futures import Future

from ato_desktop.store.execution_log import ExecutionLog, now_ms
from ato_desktop.store.writer import Emit

CLAIMS_KEEP_MS = 30 * 86_400_000


def claim(store: ExecutionLog, scope: str, key: str, owner: str) -> Future[bool]:
    """True if this call took (scope, key); False if another process (or call) had it first."""

    def job(conn: sqlite3.Connection, emit: Emit) -> bool:
        at = now_ms()
        cursor = conn.execute(
            "INSERT OR IGNORE INTO claims (scope, key, owner, claimed_at) VALUES (?, ?, ?, ?)",
            (scope, key, owner, at),
        )
        if cursor.rowcount and at % 97 == 0:  # now and then: old claims go
            conn.execute("DELETE FROM claims WHERE claimed_at < ?", (at - CLAIMS_KEEP_MS,))
        return bool(cursor.rowcount)

    return store.submit(job)


def claim_owner(store: ExecutionLog, scope: str, key: str) -> str | None:
    """Who took (scope, key), if anyone."""
    row = (
        store.reader()
        .execute("SELECT owner FROM claims WHERE scope = ? AND key = ?", (scope, key))
        .fetchone()
    )
    return None if row is None else str(row[0])
