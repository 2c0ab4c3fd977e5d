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
from ato_desktop.store.schema import APPLICATION_ID, LATEST_VERSION


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
    assert versions == list(range(1, LATEST_VERSION + 1))
    conn.close()
    # Opening again applies nothing new.
    conn = open_database(paths.database)
    assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == LATEST_VERSION
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
