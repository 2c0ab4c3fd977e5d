"""`ato-desktop doctor`: check the log whole, copy it aside, and recover what can be read of a
damaged one into a new log. Nothing here ever writes to the log it examines.

- `full_check` runs SQLite's integrity check table by table (each table with its indexes), so
  there is progress to show on a log of any size; it also compares the header with the file.
- `back_up` copies the file (and its -wal, when there is one) byte for byte, under a read
  transaction when the log can still be opened (so no checkpoint moves pages while it copies).
- `recover` builds a new log at the current schema and copies into it, table by table, every
  row SQLite can still read: rows are read in rowid order in small ranges, and a range that
  meets a damaged page is stepped over (ever larger steps until a read works again), as
  SQLite's own `.recover` salvages what its b-trees still reach. Derived tables (full-text
  indexes, the search entities, run rollups) are rebuilt rather than copied; references to rows
  that were lost are cleared or their rows dropped, as their foreign keys say.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ato_desktop.store import damage
from ato_desktop.store.database import connect, open_database

Progress = Callable[[str, int, int], None]  # what, done, total

COPY_CHUNK_BYTES = 4 * 1024 * 1024
READ_RANGE_ROWS = 500
MAX_ERRORS_PER_TABLE = 20
# Rebuilt by the new log's own triggers or readers, never copied: the search entities (kept by
# triggers on the named tables), the rollups (readers add the runs above their mark, which
# starts at 0), and the change feed (what other processes were told; none follow a new file).
DERIVED_TABLES = frozenset(
    {
        "search_entities",
        "run_rollups",
        "run_hour_rollups",
        "run_volume_rollups",
        "run_rollup_mark",
        "changes",
    }
)
ROLLUPS = ("run_rollups", "run_hour_rollups", "run_volume_rollups")
SKIPPED_TABLES = frozenset({"schema_migrations"})


def _quiet(_what: str, _done: int, _total: int) -> None:
    return None


def _read_only(database: Path) -> sqlite3.Connection:
    """A read-only connection that creates nothing beside the file when it has no -wal."""
    conn = connect(database, read_only=True, immutable=not Path(f"{database}-wal").exists())
    conn.row_factory = sqlite3.Row
    return conn


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


# -- the check ---------------------------------------------------------------------------------


@dataclass(slots=True)
class CheckResult:
    database: Path
    problems: list[str] = field(default_factory=list)
    tables: int = 0
    bytes: int = 0
    seconds: float = 0.0

    @property
    def sound(self) -> bool:
        return not self.problems


def full_check(database: Path, progress: Progress = _quiet) -> CheckResult:
    """Every table and index checked (PRAGMA integrity_check, table by table)."""
    started = time.monotonic()
    result = CheckResult(database, bytes=database.stat().st_size)
    result.problems += damage.header_problems(database)
    try:
        conn = _read_only(database)
    except sqlite3.DatabaseError as exc:
        result.problems.append(str(exc))
        return result
    try:
        try:
            tables = [
                str(row[0])
                for row in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
                )
            ]
        except sqlite3.DatabaseError as exc:
            result.problems.append(f"the schema cannot be read: {exc}")
            return result
        result.tables = len(tables)
        for done, table in enumerate(tables):
            progress(f"checking {table}", done, len(tables))
            try:
                found = [str(row[0]) for row in conn.execute(f'PRAGMA integrity_check("{table}")')]
            except sqlite3.DatabaseError as exc:
                found = [str(exc)]
            if found != ["ok"]:
                # One line per problem (SQLite heads them "*** in database main ***").
                lines = [line.strip() for row in found for line in row.splitlines()]
                lines = [line for line in lines if line and not line.startswith("***")]
                result.problems += [f"{table}: {line}" for line in lines[:MAX_ERRORS_PER_TABLE]]
        progress("checked", len(tables), len(tables))
    finally:
        conn.close()
    result.seconds = time.monotonic() - started
    return result


# -- the backup --------------------------------------------------------------------------------


def back_up(database: Path, folder: Path, progress: Progress = _quiet) -> Path:
    """Copy the log (and its -wal) into folder, byte for byte; returns the copy's path."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":
        folder.chmod(0o700)
    target = folder / f"{database.stem}-{stamp()}{database.suffix}"
    number = 2
    while target.exists():
        target = folder / f"{database.stem}-{stamp()}-{number}{database.suffix}"
        number += 1
    sources = [(database, target)]
    wal = Path(f"{database}-wal")
    if wal.exists() and wal.stat().st_size:
        sources.append((wal, Path(f"{target}-wal")))
    total = sum(source.stat().st_size for source, _ in sources)
    # A read transaction keeps checkpoints from moving pages into the file while it is copied.
    holder: sqlite3.Connection | None = None
    with contextlib.suppress(sqlite3.Error):
        holder = connect(database, read_only=True) if len(sources) > 1 else None
        if holder is not None:
            holder.execute("BEGIN")
            holder.execute("SELECT count(*) FROM sqlite_master").fetchone()
    try:
        done = 0
        for source, copy in sources:
            done = _copy(source, copy, done, total, progress)
    except BaseException:
        for _source, copy in sources:
            with contextlib.suppress(OSError):
                copy.unlink()
        raise
    finally:
        if holder is not None:
            holder.close()
    return target


def _copy(source: Path, target: Path, done: int, total: int, progress: Progress) -> int:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out, source.open("rb") as src:
        while chunk := src.read(COPY_CHUNK_BYTES):
            out.write(chunk)
            done += len(chunk)
            progress("backing up", done, total)
        out.flush()
        os.fsync(out.fileno())
    return done


# -- recovery ----------------------------------------------------------------------------------


@dataclass(slots=True)
class TableRecovery:
    table: str
    copied: int = 0
    unreadable_ranges: int = 0
    refused: int = 0  # rows the new log would not take (a constraint their damage broke)
    dropped: int = 0  # rows whose parent row was lost, dropped as their foreign key says


@dataclass(slots=True)
class RecoveryResult:
    target: Path
    tables: list[TableRecovery] = field(default_factory=list)
    check: list[str] = field(default_factory=list)  # the new log's own integrity check

    @property
    def rows(self) -> int:
        return sum(t.copied - t.dropped for t in self.tables)


def recover(database: Path, target: Path, progress: Progress = _quiet) -> RecoveryResult:
    """Copy every readable row of database into a new log at target (which must not exist)."""
    if target.exists():
        raise FileExistsError(f"{target} already exists")
    open_database(target).close()  # the current schema, migrations recorded
    source = _read_only(database)
    dest = sqlite3.connect(str(target), isolation_level=None)
    result = RecoveryResult(target)
    try:
        dest.execute("PRAGMA foreign_keys = OFF")  # parents may come later, or never
        wanted = _tables(dest)
        have = set(_tables(source))
        for number, table in enumerate(wanted):
            if table not in have or table in DERIVED_TABLES or table in SKIPPED_TABLES:
                continue
            progress(f"recovering {table}", number, len(wanted))
            result.tables.append(_copy_table(source, dest, table, progress))
        for rollup in ROLLUPS:
            if rollup in wanted:
                dest.execute(f"DELETE FROM {rollup}")
        with contextlib.suppress(sqlite3.Error):
            # Every run above the mark is read from the runs table: a rollup rebuilt by use.
            dest.execute("UPDATE run_rollup_mark SET run_no = 0")
        _resolve_foreign_keys(dest, {t.table: t for t in result.tables})
        dest.execute("PRAGMA foreign_keys = ON")
        result.check = [str(r[0]) for r in dest.execute("PRAGMA integrity_check(20)")]
    finally:
        source.close()
        dest.close()
    if os.name == "posix":
        target.chmod(0o600)
    progress("recovered", 1, 1)
    return result


def _tables(conn: sqlite3.Connection) -> list[str]:
    """Ordinary tables: not SQLite's own, not virtual tables nor their shadow tables."""
    rows = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY rootpage"
    ).fetchall()
    virtual = [str(r[0]) for r in rows if str(r[1] or "").upper().startswith("CREATE VIRTUAL")]
    return [
        str(name)
        for name, sql in rows
        if not str(sql or "").upper().startswith("CREATE VIRTUAL")
        and not any(str(name).startswith(f"{v}_") for v in virtual)
    ]


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [str(row[1]) for row in conn.execute(f'PRAGMA table_info("{table}")')]


def _has_rowid(conn: sqlite3.Connection, table: str) -> bool:
    sql = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    return "WITHOUT ROWID" not in str(sql[0] if sql else "").upper()


def _copy_table(
    source: sqlite3.Connection, dest: sqlite3.Connection, table: str, progress: Progress
) -> TableRecovery:
    outcome = TableRecovery(table)
    columns = [c for c in _columns(dest, table) if c in set(_columns(source, table))]
    if not columns:
        return outcome
    names = ", ".join(f'"{c}"' for c in columns)
    rowid = _has_rowid(source, table) and _has_rowid(dest, table)
    insert_names = ("rowid, " if rowid else "") + names
    marks = ", ".join("?" * (len(columns) + (1 if rowid else 0)))
    insert = f'INSERT OR REPLACE INTO "{table}" ({insert_names}) VALUES ({marks})'
    if not rowid:
        # No rowid to step over a damaged range with: the rows up to the damage.
        try:
            for row in source.execute(f'SELECT {names} FROM "{table}"'):
                outcome.copied += _insert(dest, insert, tuple(row), outcome)
        except sqlite3.DatabaseError:
            outcome.unreadable_ranges += 1
        return outcome
    top = _max_rowid(source, table)
    after = -(2**63)
    limit = READ_RANGE_ROWS
    dest.execute("BEGIN")
    try:
        while after < top:
            try:
                rows = source.execute(
                    f'SELECT rowid, {names} FROM "{table}" WHERE rowid > ? ORDER BY rowid LIMIT ?',
                    (after, limit),
                ).fetchall()
            except sqlite3.DatabaseError:
                if limit > 1:
                    limit //= 2  # the rows before the damaged page are still readable
                    continue
                outcome.unreadable_ranges += 1
                after = _step_past_damage(source, table, after, top)
                limit = READ_RANGE_ROWS
                continue
            if not rows:
                break
            limit = min(READ_RANGE_ROWS, limit * 2)
            for row in rows:
                outcome.copied += _insert(dest, insert, tuple(row), outcome)
            after = int(rows[-1][0])
            progress(f"recovering {table}", outcome.copied, 0)
            if outcome.copied % 20_000 < READ_RANGE_ROWS:
                dest.execute("COMMIT")
                dest.execute("BEGIN")
        dest.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            dest.execute("ROLLBACK")
        raise
    return outcome


def _insert(
    dest: sqlite3.Connection, insert: str, values: tuple[object, ...], outcome: TableRecovery
) -> int:
    try:
        dest.execute(insert, values)
        return 1
    except sqlite3.Error:
        outcome.refused += 1
        return 0


def _max_rowid(conn: sqlite3.Connection, table: str) -> int:
    try:
        top = conn.execute(f'SELECT max(rowid) FROM "{table}"').fetchone()[0]
    except sqlite3.DatabaseError:
        return 2**62  # the rightmost pages are damaged: walk until nothing more is found
    return int(top) if top is not None else -(2**63)


def _step_past_damage(conn: sqlite3.Connection, table: str, after: int, top: int) -> int:
    """A rowid past the damaged range after `after`: the first one a read gets to when
    starting ever further on (1, 2, 4... rows), or top when none does."""
    step = 1
    while after + step < top:
        probe = after + step
        try:
            row = conn.execute(
                f'SELECT rowid FROM "{table}" WHERE rowid > ? ORDER BY rowid LIMIT 1', (probe,)
            ).fetchone()
        except sqlite3.DatabaseError:
            step *= 2
            continue
        return probe if row is not None else top
    return top


def _resolve_foreign_keys(dest: sqlite3.Connection, outcomes: dict[str, TableRecovery]) -> None:
    """Rows pointing at rows that were lost: cleared or dropped as their foreign key's ON
    DELETE says (what deleting the parent would have done)."""
    for _ in range(10):  # a dropped row can orphan its own children: a few passes
        violations = dest.execute("PRAGMA foreign_key_check").fetchall()
        if not violations:
            return
        dest.execute("BEGIN")
        for table, rowid, _parent, fk_id in violations:
            keys = [k for k in dest.execute(f'PRAGMA foreign_key_list("{table}")') if k[0] == fk_id]
            action = str(keys[0][6]).upper() if keys else "CASCADE"
            if action == "SET NULL" and rowid is not None:
                sets = ", ".join(f'"{k[3]}" = NULL' for k in keys)
                dest.execute(f'UPDATE "{table}" SET {sets} WHERE rowid = ?', (rowid,))
            elif rowid is not None:
                dest.execute(f'DELETE FROM "{table}" WHERE rowid = ?', (rowid,))
                if table in outcomes:
                    outcomes[table].dropped += 1
            else:
                # A WITHOUT ROWID table: drop every row whose parent is missing.
                key = keys[0] if keys else None
                if key is not None:
                    dest.execute(
                        f'DELETE FROM "{table}" WHERE "{key[3]}" IS NOT NULL AND "{key[3]}" '
                        f'NOT IN (SELECT "{key[4] or "rowid"}" FROM "{key[2]}")'
                    )
        dest.execute("COMMIT")


def recovered_name(database: Path) -> Path:
    return database.with_name(f"{database.stem}-recovered-{stamp()}{database.suffix}")


def disk_usage_ok(folder: Path, needed: int) -> bool:
    """Whether folder's disk has room for needed bytes (and a margin)."""
    try:
        return shutil.disk_usage(folder).free > needed + 64 * 1024 * 1024
    except OSError:
        return True
