"""Damage in the execution log: how it is recognised, checked for in bounded time, and
remembered so that no process writes to a log once any process has seen it damaged.

- SQLite reports damage as SQLITE_CORRUPT ("database disk image is malformed") or SQLITE_NOTADB
  whenever a read or a write meets a bad page: `is_damage` recognises both, whatever the call.
- A log over the quick-check size (store.database) gets `bounded_check` at open: the header
  against the file (a truncated file), the free list's bounds, then `PRAGMA quick_check` and
  reads of the large tables (their newest rows, where the next writes go, and evenly spaced
  ranges over the whole table) until a time budget runs out.
- Damage seen once is written down beside the log (`ato.sqlite3.damaged`, with the file's
  device and inode, so a log restored or replaced in its place is not taken for the damaged
  one), and every process that opens the log refuses it from then on, until `ato-desktop doctor`
  finds it sound or the file is replaced.
- A check that found the file sound is written down too (`ato.sqlite3.checked`, with the
  file's device, inode, size and modification and change times), so the next process to open
  the same, unchanged file skips the pages check: a `runs list` from cron pays the check once
  per change of the file (a checkpoint), not once per call. Any write to the file, a restore or
  a replacement changes one of those figures, and the next open checks again.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

SQLITE_CORRUPT = 11
SQLITE_NOTADB = 26
NOTE_SUFFIX = ".damaged"
SOUND_SUFFIX = ".checked"
# Tables worth sampling on a large log (the ones that grow with runs); every other table and
# the schema get the quick check within the budget.
LARGE_TABLES = ("runs", "actions", "messages")
SAMPLED_RANGES = 128  # spread over each large table, a few rows each


def is_damage(exc: BaseException) -> bool:
    """True when exc is SQLite saying the file is damaged (or not a database), or a text
    column that is not UTF-8 any more."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return True
    text = str(exc).lower()
    # Text the log holds is always UTF-8 (written from Python strings): text that is not was
    # changed behind SQLite's back, in a page SQLite still reads as well formed.
    return "malformed" in text or "file is not a database" in text or "decode to utf-8" in text


# -- the note beside the log -----------------------------------------------------------------


def note_path(database: Path) -> Path:
    return database.with_name(database.name + NOTE_SUFFIX)


def _identity(database: Path) -> tuple[int, int] | None:
    try:
        stat = database.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def record_damage(database: Path, detail: str) -> None:
    """Write down that database is damaged (best effort: a full or read-only disk cannot)."""
    forget_sound(database)
    identity = _identity(database)
    if identity is None:
        return
    note = note_path(database)
    payload = {
        "device": identity[0],
        "inode": identity[1],
        "detail": detail[:2000],
        "at": int(time.time() * 1000),
    }
    with contextlib.suppress(OSError):
        tmp = note.with_name(note.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(payload))
        os.replace(tmp, note)


def recorded_damage(database: Path) -> str | None:
    """What an earlier check found wrong with this very file (None: nothing, or the note is
    about a file that has been replaced since, and is removed)."""
    note = note_path(database)
    try:
        payload = json.loads(note.read_text(encoding="utf-8"))
        recorded = (int(payload["device"]), int(payload["inode"]))
        detail = str(payload.get("detail") or "damage found earlier")
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return "damage found earlier"  # a note we cannot read still says the log was damaged
    if _identity(database) != recorded:
        with contextlib.suppress(OSError):
            note.unlink()
        return None
    return detail


def clear_damage(database: Path) -> bool:
    """Remove the note (the log checked out sound); True when there was one."""
    try:
        note_path(database).unlink()
    except FileNotFoundError:
        return False
    return True


# -- the note that the file checked out sound ---------------------------------------------------


def sound_note_path(database: Path) -> Path:
    return database.with_name(database.name + SOUND_SUFFIX)


def _fingerprint(database: Path) -> list[int] | None:
    """What any change to the file changes: device, inode, size, modification and change times
    (the change time cannot be set back by a program)."""
    try:
        stat = database.stat()
    except OSError:
        return None
    return [stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns]


def checked_sound(database: Path) -> bool:
    """True when a check found this very file, unchanged since, sound."""
    fingerprint = _fingerprint(database)
    if fingerprint is None:
        return False
    try:
        payload = json.loads(sound_note_path(database).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(payload, dict) and payload.get("file") == fingerprint


def record_sound(database: Path) -> None:
    """Write down that the check found the file as it is now sound (best effort: a full or
    read-only disk cannot, and the next open checks again)."""
    fingerprint = _fingerprint(database)
    if fingerprint is None:
        return
    note = sound_note_path(database)
    with contextlib.suppress(OSError):
        tmp = note.with_name(f"{note.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps({"file": fingerprint, "at": int(time.time() * 1000)}))
        os.replace(tmp, note)


def forget_sound(database: Path) -> None:
    """Remove the note (damage was found)."""
    with contextlib.suppress(OSError):
        sound_note_path(database).unlink()


# -- the bounded check -------------------------------------------------------------------------


def header_problems(database: Path) -> list[str]:
    """What the file's header says that the file contradicts: a page size SQLite never writes,
    fewer bytes than the header's page count (a truncated file), a free list out of bounds."""
    try:
        with database.open("rb") as handle:
            header = handle.read(100)
        size = database.stat().st_size
        wal = Path(f"{database}-wal")
        wal_bytes = wal.stat().st_size if wal.exists() else 0
    except OSError as exc:
        return [f"cannot read the file ({exc.strerror or exc})"]
    if len(header) < 100:
        return ["the header is cut short"]
    (raw_page_size,) = struct.unpack(">H", header[16:18])
    page_size = 65536 if raw_page_size == 1 else raw_page_size
    if page_size < 512 or page_size & (page_size - 1):
        return [f"the header's page size {raw_page_size} is impossible"]
    change_counter, pages = struct.unpack(">II", header[24:32])
    first_trunk, free_pages = struct.unpack(">II", header[32:40])
    (valid_for,) = struct.unpack(">I", header[92:96])
    problems: list[str] = []
    # The page count is meaningful only when written by a version that keeps it (valid_for);
    # a WAL with frames may hold pages past the file's end until the next checkpoint.
    if valid_for == change_counter and pages and wal_bytes == 0:
        if size < pages * page_size:
            problems.append(
                f"the file holds {size:,} bytes but its header counts {pages:,} pages of "
                f"{page_size:,} bytes (cut short)"
            )
        if first_trunk > pages or free_pages > pages:
            problems.append(
                f"the free list (first page {first_trunk}, {free_pages} pages) points past the "
                f"end of the file ({pages} pages)"
            )
    return problems


def bounded_check(conn: sqlite3.Connection, budget_s: float) -> list[str]:
    """Damage found within about budget_s: the quick check as far as it gets in half the
    budget, then reads of the large tables' newest rows and of ranges spread over them. Raises
    sqlite3 errors that are not damage; damage met while reading is returned as a problem.

    The budget is kept by interrupting the connection from a timer (sqlite3_interrupt): the
    quick check is one long step of SQLite's VM, which a progress handler cannot stop."""
    started = time.monotonic()
    try:
        with _interrupted_after(conn, budget_s / 2):
            rows = [str(row[0]) for row in conn.execute("PRAGMA quick_check(3)")]
        if rows != ["ok"]:
            return rows
    except sqlite3.OperationalError as exc:
        if "interrupt" not in str(exc).lower():
            raise
    except sqlite3.DatabaseError as exc:
        if is_damage(exc):
            return [str(exc)]
        raise
    remaining = budget_s - (time.monotonic() - started)
    if remaining <= 0:
        return []
    with _interrupted_after(conn, remaining):
        for table in LARGE_TABLES:
            try:
                sample_table(conn, table)
            except sqlite3.OperationalError as exc:
                if "interrupt" in str(exc).lower():
                    break
                if "no such table" in str(exc).lower():
                    continue
                raise
            except sqlite3.DatabaseError as exc:
                if is_damage(exc):
                    return [f"{table}: {exc}"]
                raise
    return []


@contextlib.contextmanager
def _interrupted_after(conn: sqlite3.Connection, seconds: float) -> Iterator[None]:
    """Interrupt whatever conn runs once seconds have passed (it raises "interrupted")."""
    timer = threading.Timer(max(0.0, seconds), conn.interrupt)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def sample_table(conn: sqlite3.Connection, table: str) -> None:
    """Read the newest rows of a table and a few rows at ranges spread over its rowids (every
    column, so overflow pages are followed): SQLite raises on a damaged page it walks."""
    # Two statements: with both aggregates in one, SQLite scans the whole table.
    low = conn.execute(f"SELECT min(rowid) FROM {table}").fetchone()[0]
    top = conn.execute(f"SELECT max(rowid) FROM {table}").fetchone()[0]
    if low is None or top is None:
        return
    conn.execute(f"SELECT * FROM {table} ORDER BY rowid DESC LIMIT 50").fetchall()
    # Evenly spaced, so damage spanning more than 1/SAMPLED_RANGES of the table is always met;
    # from a random phase, so every open looks at other rows and, over time, all of them.
    import random  # here: only the bounded check of a large, changed log draws one

    phase = random.random()
    for number in range(SAMPLED_RANGES):
        start = int(low + (top - low) * (number + phase) / SAMPLED_RANGES)
        conn.execute(
            f"SELECT * FROM {table} WHERE rowid >= ? ORDER BY rowid LIMIT 8", (start,)
        ).fetchall()
