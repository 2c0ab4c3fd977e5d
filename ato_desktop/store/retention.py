"""Retention's SQL: which runs are due, every row of a run, deleting and restoring runs, and
giving the freed pages back to the file system.

A run goes with its whole tree: the runs under it through parent_run_id (pipeline stages, hook
chains, judge runs), so a pipeline is never left half in the log. A tree is due only when every
run in it started before the cutoff, none is running and none waits in the sync outbox. Rows that
reference runs: actions (run_no), run_scores (run_id, archived and restored), eval_case_results
(run_id, set to NULL on delete and re-linked on import), sync_outbox (runs in it are held back).
Chat messages keep their run_id: the link works again once the run is re-imported.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ato_desktop.core.events import RunsIngested, RunsRemoved
from ato_desktop.core.retention import ArchivedRun
from ato_desktop.store.database import connect
from ato_desktop.store.ledger_rows import index_run_actions
from ato_desktop.store.writer import Emit

INCREMENTAL = 2  # PRAGMA auto_vacuum value
VACUUM_CHUNK_PAGES = 2048  # 8 MB of 4 KiB pages per write transaction
_PARENT_REFS = (
    ("agent_id", "agents"),
    ("agent_version_id", "agent_versions"),
    ("thread_id", "threads"),
)


@dataclass(frozen=True, slots=True)
class DueCounts:
    older: int  # runs that started before the cutoff
    running: int  # of those, still running (held back)
    queued: int  # of those, waiting in the sync outbox (held back)

    @property
    def due(self) -> int:
        return max(0, self.older - self.running - self.queued)


def count_due(conn: sqlite3.Connection, cutoff: int) -> DueCounts:
    """Index-only counts (idx_runs_started, idx_runs_status): fast on a million runs."""
    older = conn.execute("SELECT count(*) FROM runs WHERE started_at < ?", (cutoff,)).fetchone()[0]
    running = conn.execute(
        "SELECT count(*) FROM runs WHERE status = 'running' AND started_at < ?", (cutoff,)
    ).fetchone()[0]
    queued = conn.execute(
        "SELECT count(*) FROM sync_outbox o JOIN runs r ON r.id = o.run_id "
        "WHERE r.started_at < ? AND r.status <> 'running'",
        (cutoff,),
    ).fetchone()[0]
    return DueCounts(int(older), int(running), int(queued))


def iter_due_trees(
    conn: sqlite3.Connection, cutoff: int, batch: int = 500
) -> Iterator[list[sqlite3.Row]]:
    """Each due tree as its run rows (root first), oldest root first, read in keyset batches.

    Streams: at most `batch` candidate rows and their trees are in memory at a time.
    """
    after: tuple[int, str] = (-(2**62), "")
    while True:
        rows = conn.execute(
            "SELECT * FROM runs WHERE started_at < ? AND (started_at, id) > (?, ?) "
            "ORDER BY started_at, id LIMIT ?",
            (cutoff, after[0], after[1], batch),
        ).fetchall()
        if not rows:
            return
        after = (rows[-1]["started_at"], rows[-1]["id"])
        for row in rows:
            parent = row["parent_run_id"]
            if parent is not None and _exists(conn, parent):
                continue  # it goes with its parent's tree
            tree = _tree(conn, row)
            if _tree_due(conn, tree, cutoff):
                yield tree
        if len(rows) < batch:
            return


def _exists(conn: sqlite3.Connection, run_id: str) -> bool:
    return conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is not None


def _tree(conn: sqlite3.Connection, root: sqlite3.Row) -> list[sqlite3.Row]:
    tree = [root]
    level = [root["id"]]
    seen = {root["id"]}
    while level:
        marks = ",".join("?" * len(level))
        children = [
            row
            for row in conn.execute(
                f"SELECT * FROM runs WHERE parent_run_id IN ({marks}) ORDER BY started_at, id",
                level,
            )
            if row["id"] not in seen
        ]
        seen.update(row["id"] for row in children)
        tree.extend(children)
        level = [row["id"] for row in children]
    return tree


def _tree_due(conn: sqlite3.Connection, tree: Sequence[sqlite3.Row], cutoff: int) -> bool:
    for row in tree:
        if row["status"] == "running" or row["started_at"] >= cutoff:
            return False
        if conn.execute("SELECT 1 FROM sync_outbox WHERE run_id = ?", (row["id"],)).fetchone():
            return False
    return True


def archived_run(conn: sqlite3.Connection, row: sqlite3.Row) -> ArchivedRun:
    """Every row that belongs to a run, column by column."""
    actions = [
        dict(a)
        for a in conn.execute(
            "SELECT * FROM actions WHERE run_no = ? ORDER BY seq", (row["run_no"],)
        )
    ]
    scores = [
        dict(s)
        for s in conn.execute(
            "SELECT * FROM run_scores WHERE run_id = ? ORDER BY source", (row["id"],)
        )
    ]
    links = [
        (str(r[0]), str(r[1]))
        for r in conn.execute(
            "SELECT suite_run_id, case_id FROM eval_case_results WHERE run_id = ? "
            "ORDER BY suite_run_id, case_id",
            (row["id"],),
        )
    ]
    return ArchivedRun(run=dict(row), actions=actions, scores=scores, case_links=links)


def delete_runs(run_ids: Sequence[str]) -> Callable[[sqlite3.Connection, Emit], int]:
    """A write job: remove these runs and their rows, skipping any that came back to life
    (running again, or queued for sync) since they were archived. Returns how many went."""

    def job(conn: sqlite3.Connection, emit: Emit) -> int:
        removed = 0
        for run_id in run_ids:
            row = conn.execute("SELECT run_no, status FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None or row[1] == "running":
                continue
            if conn.execute("SELECT 1 FROM sync_outbox WHERE run_id = ?", (run_id,)).fetchone():
                continue
            conn.execute("DELETE FROM actions WHERE run_no = ?", (row[0],))
            conn.execute("DELETE FROM run_scores WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM run_syncs WHERE run_id = ?", (run_id,))
            conn.execute("UPDATE eval_case_results SET run_id = NULL WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM runs WHERE run_no = ?", (row[0],))
            removed += 1
        if removed:
            emit(RunsRemoved(removed))
        return removed

    return job


def table_columns(conn: sqlite3.Connection, table: str) -> frozenset[str]:
    return frozenset(str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})"))


@dataclass(slots=True)
class ImportCounts:
    runs: int = 0
    actions: int = 0
    skipped: int = 0  # already in the log


def import_runs(
    runs: Sequence[ArchivedRun], counts: ImportCounts
) -> Callable[[sqlite3.Connection, Emit], int]:
    """A write job: insert whole runs (run, actions, scores, eval links) that are not in the log.

    A run keeps its run_no when that number is free, so its rows come back exactly as they were;
    a reference to an agent, version or thread deleted since is cleared, as the delete itself
    would have done (ON DELETE SET NULL).
    """

    def job(conn: sqlite3.Connection, emit: Emit) -> int:
        added = actions = skipped = 0
        known: dict[tuple[str, object], bool] = {}  # (table, id) -> exists, for this batch

        def exists(table: str, value: object) -> bool:
            key = (table, value)
            if key not in known:
                row = conn.execute(f"SELECT 1 FROM {table} WHERE id = ?", (value,)).fetchone()
                known[key] = row is not None
            return known[key]

        for item in runs:
            if _exists(conn, item.run_id):
                skipped += 1
                continue
            run = dict(item.run)
            if conn.execute("SELECT 1 FROM runs WHERE run_no = ?", (run["run_no"],)).fetchone():
                run["run_no"] = None
            for column, table in _PARENT_REFS:
                value = run.get(column)
                if value is not None and not exists(table, value):
                    run[column] = None
            cursor = _insert(conn, "runs", run)
            run_no = cursor.lastrowid
            if item.actions:
                # One statement for the run's actions (every action row has the same columns).
                columns = list(item.actions[0])
                if "run_no" not in columns:
                    columns.append("run_no")
                names = ", ".join(f'"{c}"' for c in columns)
                marks = ", ".join("?" * len(columns))
                conn.executemany(
                    f"INSERT INTO actions ({names}) VALUES ({marks})",
                    [
                        tuple(run_no if c == "run_no" else action.get(c) for c in columns)
                        for action in item.actions
                    ],
                )
                index_run_actions(conn, int(run_no or 0))  # the Activity Ledger's rows
            for score in item.scores:
                _insert(conn, "run_scores", {**score, "run_id": item.run_id}, ignore=True)
            for suite_run_id, case_id in item.case_links:
                conn.execute(
                    "UPDATE eval_case_results SET run_id = ? "
                    "WHERE suite_run_id = ? AND case_id = ? AND run_id IS NULL",
                    (item.run_id, suite_run_id, case_id),
                )
            added += 1
            actions += len(item.actions)
        if added:
            emit(RunsIngested(added))
        # Counted once the transaction is ours: a failed batch adds nothing.
        counts.runs += added
        counts.actions += actions
        counts.skipped += skipped
        return added

    return job


def _insert(
    conn: sqlite3.Connection, table: str, row: dict[str, Any], *, ignore: bool = False
) -> sqlite3.Cursor:
    columns = ", ".join(f'"{c}"' for c in row)
    marks = ", ".join("?" * len(row))
    verb = "INSERT OR IGNORE" if ignore else "INSERT"
    return conn.execute(f"{verb} INTO {table} ({columns}) VALUES ({marks})", tuple(row.values()))


# -- reclaiming space ---------------------------------------------------------------------------


def auto_vacuum_mode(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA auto_vacuum").fetchone()[0])


def free_pages(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA freelist_count").fetchone()[0])


def vacuum_state(conn: sqlite3.Connection, _emit: Emit) -> tuple[int, int]:
    """A write job (the writer sees the current mode): (auto_vacuum mode, free pages)."""
    return auto_vacuum_mode(conn), free_pages(conn)


def incremental_vacuum(
    pages: int = VACUUM_CHUNK_PAGES,
) -> Callable[[sqlite3.Connection, Emit], int]:
    """A write job: give up to `pages` free pages back (the file shrinks at the next checkpoint).

    Returns how many were freed. Each PRAGMA step frees one page (Python's sqlite3 steps a
    statement without result columns once), hence the loop.
    """

    def job(conn: sqlite3.Connection, emit: Emit) -> int:
        before = free_pages(conn)
        for _ in range(min(pages, before)):
            conn.execute("PRAGMA incremental_vacuum")
        return before - free_pages(conn)

    return job


def convert_to_incremental() -> Callable[[sqlite3.Connection, Emit], int]:
    """A write job, once per log: switch auto_vacuum to INCREMENTAL with one VACUUM.

    VACUUM cannot run inside a transaction and must not race the writer, so it runs on the
    writer's own connection between the writer's transaction (committed first: the jobs before
    it in the batch are already done) and a fresh one opened for the jobs after it. Other writes
    wait in the writer's queue meanwhile, nothing fails with "database is locked". Returns the
    new mode.
    """

    def job(conn: sqlite3.Connection, emit: Emit) -> int:
        conn.execute("RELEASE job")
        conn.execute("COMMIT")
        try:
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
            # VACUUM copies the whole log into a temporary database: on disk, not in memory.
            conn.execute("PRAGMA temp_store = FILE")
            conn.execute("VACUUM")
        finally:
            conn.execute("PRAGMA temp_store = MEMORY")
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("SAVEPOINT job")
        return auto_vacuum_mode(conn)

    return job


def checkpoint(path: Path) -> tuple[int, int, int]:
    """Copy the WAL into the file and truncate it (on a connection of its own, outside any
    transaction); returns SQLite's (busy, wal pages, checkpointed pages)."""
    conn = connect(path)
    try:
        row = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return int(row[0]), int(row[1]), int(row[2])
    finally:
        conn.close()


def log_bytes(path: Path) -> int:
    """The log's size on disk: the file and its WAL."""
    total = 0
    for suffix in ("", "-wal"):
        with contextlib.suppress(FileNotFoundError):
            total += Path(f"{path}{suffix}").stat().st_size
    return total
