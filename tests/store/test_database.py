"""Opening the log: creation, migrations, and refusing files that are not safe to touch."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from ato_desktop.store.database import (
    DatabaseCorruptError,
    DatabaseTooNewError,
    NotAnExecutionLogError,
    open_database,
)
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.paths import DataPaths, data_paths
from ato_desktop.store.schema import APPLICATION_ID, LATEST_VERSION, MIGRATIONS


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_ato_home_decides_where_the_log_lives(ato_home: Path) -> None:
    assert data_paths().database == ato_home / "ato.sqlite3"


def test_new_log_is_wal_with_foreign_keys_and_recorded_migrations(paths: DataPaths) -> None:
    conn = open_database(paths.database)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
    # Every migration recorded, in order (numbers are pre-assigned per branch, so there may be
    # gaps until they are merged).
    assert versions == [m.version for m in MIGRATIONS] == sorted(versions)
    conn.close()
    # Opening again applies nothing new.
    conn = open_database(paths.database)
    assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == len(MIGRATIONS)
    conn.close()


@pytest.mark.skipif(not hasattr(__import__("os"), "geteuid"), reason="POSIX permissions")
def test_log_and_data_dir_are_private(paths: DataPaths) -> None:
    open_database(paths.database).close()
    assert paths.database.stat().st_mode & 0o777 == 0o600
    assert paths.root.stat().st_mode & 0o777 == 0o700


def test_newer_database_is_refused_and_untouched(paths: DataPaths) -> None:
    conn = open_database(paths.database)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 5}")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = _digest(paths.database)
    with pytest.raises(DatabaseTooNewError, match="newer ATO Desktop"):
        ExecutionLog.open(paths)
    assert _digest(paths.database) == before


def test_garbage_file_is_refused_and_untouched(paths: DataPaths) -> None:
    paths.database.write_bytes(b"this is not a database\x00\x01" * 100)
    before = _digest(paths.database)
    with pytest.raises(DatabaseCorruptError, match="not modified"):
        ExecutionLog.open(paths)
    assert _digest(paths.database) == before


def test_damaged_pages_are_detected_and_untouched(paths: DataPaths) -> None:
    log = ExecutionLog.open(paths)
    from ato_desktop.core.models import AgentConfig

    for i in range(200):
        log.create_agent(f"agent-{i}", AgentConfig("claude", "m" * 200)).result()
    log.close()
    conn = sqlite3.connect(paths.database)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(paths.database.read_bytes())
    page = 4096
    for offset in range(page * 3, min(len(data), page * 6)):
        data[offset] = 0xFF  # scribble over a few pages in the middle of the file
    paths.database.write_bytes(bytes(data))
    before = _digest(paths.database)
    with pytest.raises(DatabaseCorruptError):
        ExecutionLog.open(paths)
    assert _digest(paths.database) == before


def test_foreign_sqlite_database_is_refused(paths: DataPaths) -> None:
    conn = sqlite3.connect(paths.database)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.execute("INSERT INTO notes VALUES ('mine')")
    conn.commit()
    conn.close()
    before = _digest(paths.database)
    with pytest.raises(NotAnExecutionLogError, match="not an ATO execution log"):
        ExecutionLog.open(paths)
    assert _digest(paths.database) == before


@pytest.mark.parametrize("old", range(1, LATEST_VERSION))
def test_a_log_of_every_earlier_schema_migrates_with_a_backup_first(
    paths: DataPaths, old: int
) -> None:
    """A log written by an older app (schema `old`, with a run in it) opens in this one: every
    later migration applies, the run is intact, and a copy of the old file was taken first."""
    from ato_desktop.store.database import _split_sql, connect

    paths.ensure()
    conn = connect(paths.database)
    for migration in MIGRATIONS:
        if migration.version > old:
            break
        for statement in _split_sql(migration.sql):
            conn.execute(statement)
        conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_at, app_version) "
            "VALUES (?, ?, 0, 'old')",
            (migration.version, migration.name),
        )
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {old}")
    conn.execute(
        'INSERT INTO runs (id, runtime, model, "trigger", status, started_at) '
        "VALUES ('a1b2c3d4e5f60718293a4b5c6d7e8f90', 'claude', 'm', 'cli', 'completed', 1)"
    )
    conn.commit()
    conn.close()

    log = ExecutionLog.open(paths)
    try:
        version = log.reader().execute("PRAGMA user_version").fetchone()[0]
        assert version == LATEST_VERSION
        assert log.get_run("a1b2c3d4e5f60718293a4b5c6d7e8f90").status == "completed"
    finally:
        log.close()
    backup = paths.database.with_name(f"{paths.database.name}.backup-v{old}")
    assert backup.exists()
    check = sqlite3.connect(backup)
    try:
        assert check.execute("PRAGMA user_version").fetchone()[0] == old
        assert check.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
    finally:
        check.close()
