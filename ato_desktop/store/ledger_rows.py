"""Writing the Activity Ledger's rows (migration 16): one narrow row per action, under the
stream number of its run's agent and model and its own kind, name and outcome.

Every path that inserts actions adds their ledger rows in the same transaction: the execution
log's bulk ingest and single actions build them here from what they insert; any other writer
(an import, the OTLP receiver's new runs) calls `index_run_actions` after inserting a run's
actions, which copies them from the actions table in SQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:
    from typing import Any

    from ato_desktop.core.records import NewAction

# A plain INSERT: a conflict clause such as OR REPLACE (which may delete, and so cascade) makes
# SQLite journal every row's statement inside the writer's per-job savepoint: ten times slower.
LEDGER_INSERT = """
    INSERT INTO ledger_actions (run_no, seq, stream, started_at, cost_usd, duration_ns)
    VALUES (?, ?, ?, ?, ?, ?)
"""

StreamKey = tuple[str, str, str, str, str]  # agent id ('' for none), model, kind, name, outcome


def stream_id(conn: sqlite3.Connection, key: StreamKey, known: dict[StreamKey, int]) -> int:
    """The stream number of key, added when new; known caches them (streams never change)."""
    found = known.get(key)
    if found is not None:
        return found
    conn.execute(
        "INSERT OR IGNORE INTO ledger_streams (agent_id, model, kind, name, outcome) "
        "VALUES (?, ?, ?, ?, ?)",
        key,
    )
    row = conn.execute(
        "SELECT id FROM ledger_streams "
        "WHERE agent_id = ? AND model = ? AND kind = ? AND name = ? AND outcome = ?",
        key,
    ).fetchone()
    known[key] = int(row[0])
    return known[key]


def ledger_rows(
    conn: sqlite3.Connection,
    run_no: int,
    agent_id: str | None,
    model: str,
    actions: Iterable[tuple[int, NewAction]],
    known: dict[StreamKey, int],
) -> list[tuple[Any, ...]]:
    """The ledger rows of a run's (seq, action) pairs, for LEDGER_INSERT."""
    agent = agent_id or ""
    return [
        (
            run_no,
            seq,
            stream_id(conn, (agent, model, action.kind, action.name, action.outcome), known),
            action.started_at,
            action.cost_usd,
            action.duration_ns,
        )
        for seq, action in actions
    ]


def index_run_actions(conn: sqlite3.Connection, run_no: int, *, after_seq: int = 0) -> None:
    """Give a run's actions (those after after_seq) their ledger rows, for writers that insert
    actions themselves; rows already there are kept."""
    conn.execute(
        """
        INSERT OR IGNORE INTO ledger_streams (agent_id, model, kind, name, outcome)
        SELECT DISTINCT coalesce(r.agent_id, ''), r.model, a.kind, a.name, a.outcome
        FROM runs r JOIN actions a ON a.run_no = r.run_no WHERE r.run_no = ? AND a.seq > ?
        """,
        (run_no, after_seq),
    )
    conn.execute(
        """
        INSERT OR IGNORE INTO ledger_actions
            (run_no, seq, stream, started_at, cost_usd, duration_ns)
        SELECT a.run_no, a.seq, s.id, a.started_at, a.cost_usd, a.duration_ns
        FROM runs r JOIN actions a ON a.run_no = r.run_no
        JOIN ledger_streams s ON s.agent_id = coalesce(r.agent_id, '') AND s.model = r.model
            AND s.kind = a.kind AND s.name = a.name AND s.outcome = a.outcome
        WHERE r.run_no = ? AND a.seq > ?
        """,
        (run_no, after_seq),
    )


def reindex_run_actions(conn: sqlite3.Connection, run_no: int) -> None:
    """A run's ledger rows again from its actions (after its actions were renumbered or
    removed)."""
    conn.execute("DELETE FROM ledger_actions WHERE run_no = ?", (run_no,))
    index_run_actions(conn, run_no)
