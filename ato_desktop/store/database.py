"""Opening the execution log safely: checks first, writes only once the file is known good."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from ato_desktop import __version__
from ato_desktop.store import damage
from ato_desktop.store.schema import APPLICATION_ID, LATEST_VERSION, MIGRATIONS

SQLITE_HEADER = b"SQLite format 3\x00"
# quick_check reads every page; above this size it would hold up start-up for seconds, so a
# larger log gets the bounded check instead (store.damage): the header against the file, then
# the quick check and samples of the large tables for at most BOUNDED_CHECK_S. Measured on the
# 1M-run benchmark log: see docs/resilience.md.
QUICK_CHECK_MAX_BYTES = 64 * 1024 * 1024
BOUNDED_CHECK_S = 0.3
BUSY_TIMEOUT_MS = 10_000
# Below this much free space, an I/O error from SQLite is taken for a full disk.
LOW_SPACE_BYTES = 1024 * 1024


class StoreError(Exception):
    """A problem with the execution log, with a message written for the user."""


class DatabaseCorruptError(StoreError):
    pass


class DatabaseTooNewError(StoreError):
    pass


class NotAnExecutionLogError(StoreError):
    pass


class DiskFullError(StoreError):
    pass


class DatabaseBusyError(StoreError):
    """Another process held the log's write lock for longer than the busy timeout: a
    transient refusal, worth retrying (nothing was written)."""


def connect(
    path: Path, *, read_only: bool = False, cache_kib: int = 16_000, immutable: bool = False
) -> sqlite3.Connection:
    """A connection with ATO's settings: WAL, foreign keys, a busy timeout, autocommit off.

    immutable (with read_only): read the file alone, creating nothing beside it (no -wal or
    -shm); only right when no -wal exists, so nothing is missed and nobody writes."""
    if read_only:
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro" + ("&immutable=1" if immutable else ""),
            uri=True,
            check_same_thread=False,
            isolation_level=None,
        )
    else:
        conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    if not read_only:
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable across app crashes
    # Per connection, and the app holds several (the writer, one per reader thread). The OS
    # page cache keeps the file's hot pages anyway; a miss here costs a pread, not a disk seek.
    conn.execute(f"PRAGMA cache_size = {-cache_kib}")
    conn.execute("PRAGMA temp_store = MEMORY")
    return conn


def check_existing(path: Path) -> None:
    """Verify an existing file before anything writes to it; raises a StoreError subclass.

    Creates nothing beside a damaged file: with no -wal present the checks read the file alone
    (immutable), so refusing a damaged log leaves no empty -wal or -shm next to it. A sound
    file gets a note saying so (store.damage), and an unchanged file with that note skips the
    pages check the next time."""
    try:
        with path.open("rb") as handle:
            header = handle.read(100)
    except OSError as exc:
        raise StoreError(f"Cannot read the execution log at {path}: {exc.strerror}.") from exc
    if len(header) == 0:
        return  # an empty file is what sqlite3 leaves after a failed first open: safe to init
    if not header.startswith(SQLITE_HEADER) or len(header) < 100:
        raise DatabaseCorruptError(_corrupt_message(path, "the file is not an SQLite database"))
    earlier = damage.recorded_damage(path)
    if earlier is not None:
        raise DatabaseCorruptError(_corrupt_message(path, f"{earlier}; found by an earlier check"))
    try:
        conn = connect(path, read_only=True, immutable=not Path(f"{path}-wal").exists())
    except sqlite3.Error as exc:
        raise _check_failure(exc, path) from exc
    try:
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            user_version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise _check_failure(exc, path) from exc
        if app_id != APPLICATION_ID:
            if app_id == 0 and tables == 0:
                return  # a blank SQLite file: we may initialise it
            raise NotAnExecutionLogError(
                f"{path} is an SQLite database but not an ATO execution log "
                f"(application_id {app_id:#x}). ATO has not modified it; point ATO_HOME at "
                "another directory or move the file aside."
            )
        if user_version > LATEST_VERSION:
            raise DatabaseTooNewError(
                f"The execution log at {path} was written by a newer ATO Desktop (schema "
                f"version {user_version}; this app knows up to {LATEST_VERSION}). Upgrade ATO "
                "Desktop to open it. The file was not changed."
            )
        if damage.checked_sound(path):
            return  # this very file, unchanged, was found sound by an earlier check
        try:
            if path.stat().st_size <= QUICK_CHECK_MAX_BYTES:
                result = [row[0] for row in conn.execute("PRAGMA quick_check(5)")]
                problems = [] if result == ["ok"] else result
            else:
                problems = damage.header_problems(path) or damage.bounded_check(
                    conn, BOUNDED_CHECK_S
                )
        except sqlite3.DatabaseError as exc:
            raise _check_failure(exc, path) from exc
        if problems:
            raise damaged(path, "; ".join(problems))
    finally:
        conn.close()
    damage.record_sound(path)


def _check_failure(exc: sqlite3.Error, path: Path) -> StoreError:
    """Damage is said to be damage; a full disk, a read-only directory or an I/O error on the
    way to the file (opening a WAL log writes its -shm index) are not damage."""
    if isinstance(exc, sqlite3.OperationalError) and not damage.is_damage(exc):
        return translate_operational_error(exc, path)
    return damaged(path, str(exc))


def damaged(path: Path, detail: str, *, record: bool = True) -> DatabaseCorruptError:
    """The error for a damaged log, written down beside it (store.damage) so that every
    process refuses it from now on, not only the one that met the damage (record=False: it
    was read from that note)."""
    # One line: quick_check answers "*** in database main ***" then a line per problem.
    lines = [line.strip() for line in detail.splitlines()]
    detail = "; ".join(line for line in lines if line and not line.startswith("***"))
    if record:
        damage.record_damage(path, detail)
    return DatabaseCorruptError(_corrupt_message(path, detail))


def _corrupt_message(path: Path, detail: str) -> str:
    return (
        f"The execution log at {path} is damaged ({detail}). ATO has not modified it and will "
        "not write to it. Run `ato-desktop doctor` to check it, back it up and recover what "
        "can be read into a new log (the damaged file is never changed); or move it aside to "
        "start a new log, or restore a backup."
    )


def open_database(path: Path) -> sqlite3.Connection:
    """Check, create or migrate the log at path, and return a write connection to it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        check_existing(path)
    try:
        conn = connect(path)
        if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0:
            # A new log gives freed space back in small steps (retention's incremental vacuum):
            # only settable before the first table, and before WAL; converting later takes a
            # VACUUM that holds the log while it rewrites the whole file.
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            import logging  # here: only this warning and a migration's backup note log

            logging.getLogger(__name__).warning(
                "journal_mode is %s, not WAL (file system without shared memory?)", mode
            )
        migrate(conn, path)
    except sqlite3.OperationalError as exc:
        raise translate_operational_error(exc, path) from exc
    if os.name == "posix":
        for suffix in ("", "-wal", "-shm"):
            candidate = Path(f"{path}{suffix}")
            if candidate.exists():
                candidate.chmod(0o600)
    return conn


def open_for_reading(path: Path) -> sqlite3.Connection | None:
    """A read-only connection to the log at path, for a process that only reads it; None when
    the log must first be created or migrated (open_database does that, and its checks).

    Checks the file as a full open does (check_existing: the header, a damage note,
    application_id, the schema version and the pages, in bounded time, skipped for a file found
    sound before and unchanged since); a reader that meets damage later is told so by SQLite on
    the page it reads (translate_operational_error). Nothing is written to the log: no
    migration, and writes through the connection are refused by SQLite."""
    try:
        with path.open("rb") as handle:
            header = handle.read(100)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"Cannot read the execution log at {path}: {exc.strerror}.") from exc
    if len(header) < 100 or not header.startswith(SQLITE_HEADER):
        return None  # empty (a first open failed) or not SQLite: open_database says which
    if damage.recorded_damage(path) is not None:
        return None  # open_database refuses it with the note's words
    check_existing(path)  # damage is refused here as by a full open (cheap when checked before)
    try:
        conn = connect(path, read_only=True)
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        user_version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.Error:
        return None  # open_database's checks name the problem
    if app_id != APPLICATION_ID or user_version != LATEST_VERSION:
        conn.close()
        return None
    return conn


def translate_operational_error(exc: sqlite3.Error, path: Path) -> StoreError:
    """Turn SQLite's terse errors into messages that say what to do (damage is also written
    down beside the log: see damaged)."""
    if damage.is_damage(exc):
        return damaged(path, str(exc))
    text = str(exc).lower()
    if "disk is full" in text or "database or disk is full" in text:
        return disk_full_error(path.parent, "could not write to its log", data_dir=True)
    if "disk i/o error" in text:
        # A write the disk refused often surfaces as an I/O error (a full disk while SQLite
        # extends its -shm index, for one): say which when the disk is (nearly) full.
        if _free_bytes(path.parent) < LOW_SPACE_BYTES:
            return DiskFullError(
                f"The disk holding ATO's data directory {path.parent} is full "
                f"({_free_space(path.parent)} free), so ATO could not use its log. Free some "
                "space and try again; nothing already recorded was lost."
            )
        return StoreError(
            f"A disk error stopped ATO from using its log at {path} (disk I/O error). Check "
            "the disk and the file system; ATO has not modified the file."
        )
    if "readonly" in text or "read-only" in text:
        return StoreError(
            f"The execution log at {path} is read-only. Check the permissions of {path.parent}."
        )
    if "unable to open" in text:
        return StoreError(
            f"Cannot open the execution log at {path}. Check that {path.parent} exists and is "
            "writable."
        )
    if "locked" in text or "busy" in text:
        return DatabaseBusyError(
            f"The execution log at {path} is locked by another process for too long. Try again."
        )
    return StoreError(f"The execution log at {path} could not be used: {exc}.")


def disk_full_error(directory: Path, what: str, *, data_dir: bool = False) -> DiskFullError:
    """The message of a full disk: where, how much is free, what ATO could not do (`what`:
    "could not write to its log")."""
    holding = f"ATO's data directory {directory}" if data_dir else str(directory)
    return DiskFullError(
        f"The disk holding {holding} is full ({_free_space(directory)} free), so ATO {what}. "
        "Free some space and try again; nothing already recorded was lost."
    )


def _free_bytes(directory: Path) -> int:
    """Free bytes on directory's file system; a large number when it cannot be read."""
    try:
        import shutil

        return shutil.disk_usage(directory).free
    except OSError:
        return 2**62


def _free_space(directory: Path) -> str:
    """The free space on directory's file system, for messages ("unknown" if it cannot be read)."""
    try:
        import shutil

        free = float(shutil.disk_usage(directory).free)
    except OSError:
        return "unknown"
    for unit in ("bytes", "KB", "MB", "GB"):
        if free < 1024 or unit == "GB":
            return f"{free:.0f} {unit}" if unit == "bytes" else f"{free:.1f} {unit}"
        free /= 1024
    return "unknown"  # pragma: no cover - the loop always returns


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Apply pending migrations in order, each in its own transaction, with a backup first."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    pending = [m for m in MIGRATIONS if m.version > current]
    if not pending:
        return
    if current > 0:
        backup = path.with_name(f"{path.name}.backup-v{current}")
        _backup(conn, backup)
        import logging

        logging.getLogger(__name__).info(
            "backed up the log to %s before migrating from v%s", backup, current
        )
    for migration in pending:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # A concurrent process may have migrated meanwhile: re-read inside the lock.
            if conn.execute("PRAGMA user_version").fetchone()[0] >= migration.version:
                conn.execute("COMMIT")
                continue
            for statement in _split_sql(migration.sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at, app_version) "
                "VALUES (?, ?, ?, ?)",
                (migration.version, migration.name, int(time.time() * 1000), __version__),
            )
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {migration.version}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def _split_sql(script: str) -> list[str]:
    """Split a migration script into statements (executescript would commit on its own)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements


def _backup(conn: sqlite3.Connection, target: Path) -> None:
    tmp = target.with_name(target.name + ".tmp")
    dest = sqlite3.connect(str(tmp))
    try:
        conn.backup(dest)
    finally:
        dest.close()
    import shutil

    shutil.move(str(tmp), str(target))
