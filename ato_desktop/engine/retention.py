"""Retention: archive runs older than N days to compressed JSONL, remove them, reclaim the space.

The order is what makes it crash-safe (docs/retention.md):
1. write every due run to `archives/runs-….jsonl.gz.partial`, flush and fsync it;
2. read it back whole (gzip, header, every line, the footer's counts), then rename it into place
   and fsync the directory: from here the archive is complete;
3. delete the runs named in the archive, in short write jobs through the one writer, sized by
   rows so each holds the log for a fraction of a second (core.write_batches: at most `batch`
   runs, fewer when they carry many actions; a run that came back to life meanwhile - running,
   queued for sync - stays);
4. give the freed pages back (incremental vacuum in short write jobs; a small log made before
   retention is converted once with VACUUM on the writer's connection, a large one only when
   asked, `compact=True`, as VACUUM holds the log throughout), then checkpoint the WAL.
A crash before 2 ends leaves every run live and a .partial file (removed on the next run); a
crash after it leaves a complete archive and some runs still live, archived again next time
(importing both is harmless: import skips runs already in the log).

Blocking functions: call them from a worker thread (the app and the CLI both do).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import logging
import os
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from ato_desktop import __version__
from ato_desktop.core.retention import (
    ARCHIVE_SUFFIX,
    DEFAULT_DAYS,
    MAX_LINE_BYTES,
    PARTIAL_SUFFIX,
    ArchivedRun,
    ArchiveFormatError,
    ArchiveHeader,
    RetentionSettingError,
    archive_name,
    cutoff_ms,
    decode_line,
    encode_line,
    footer,
    parse_days,
    parse_footer,
    parse_header,
    parse_run,
)
from ato_desktop.core.write_batches import RowBudget, batches
from ato_desktop.engine.settings_file import SettingsFileError, load_settings, save_section
from ato_desktop.store import retention as sql
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.paths import DataPaths
from ato_desktop.store.schema import LATEST_VERSION

log = logging.getLogger(__name__)

SECTION: Final = "retention"
ARCHIVES_DIR: Final = "archives"
BATCH_RUNS: Final = 500
DAILY_S: Final = 24 * 3600.0
FIRST_RUN_DELAY_S: Final = 300.0  # after the app starts: never in the way of start-up
STALE_PARTIAL_S: Final = 600.0
# A log made before incremental vacuum is converted with one VACUUM, which holds the write lock
# for as long as it copies the file: done on its own only for logs this small (well under a
# second); a larger one keeps its free pages for new runs until `retention run --compact`.
CONVERT_MAX_BYTES: Final = 16 * 1024 * 1024

Progress = Callable[[str, int, int], None]  # stage, done, total


class RetentionError(Exception):
    """Retention could not run or an archive could not be imported; the message says why."""


class RetentionBusyError(RetentionError):
    pass


_running = threading.Lock()  # one retention job (archive or import) per process at a time


# -- the setting ----------------------------------------------------------------------------------


def retention_days(paths: DataPaths) -> int | None:
    """Days to keep (None: off). Raises SettingsFileError for a broken settings.json."""
    section = load_settings(paths).get(SECTION)
    if section is None:
        return DEFAULT_DAYS
    if not isinstance(section, dict):
        raise SettingsFileError(f'"{SECTION}" in {paths.settings_file} must be an object.')
    if "days" not in section:
        return DEFAULT_DAYS
    try:
        return parse_days(section["days"])
    except RetentionSettingError as exc:
        raise SettingsFileError(f"{paths.settings_file}: {SECTION}: {exc}") from exc


def save_retention_days(paths: DataPaths, days: int | None) -> None:
    """Save the setting (None or 0: off), keeping the rest of settings.json."""
    days = parse_days(days)
    data = load_settings(paths)
    section = data.get(SECTION)
    section = dict(section) if isinstance(section, dict) else {}
    section["days"] = days if days is not None else "off"
    save_section(paths, SECTION, section)


# -- archives on disk -----------------------------------------------------------------------------


def archives_dir(paths: DataPaths) -> Path:
    return paths.root / ARCHIVES_DIR


@dataclass(frozen=True, slots=True)
class ArchiveInfo:
    path: Path
    size: int
    modified_at_ms: int

    @property
    def name(self) -> str:
        return self.path.name


def list_archives(paths: DataPaths) -> list[ArchiveInfo]:
    """Complete archives, newest first."""
    folder = archives_dir(paths)
    found: list[ArchiveInfo] = []
    if not folder.is_dir():
        return found
    for entry in folder.iterdir():
        if entry.name.endswith(ARCHIVE_SUFFIX) and entry.is_file():
            st = entry.stat()
            found.append(ArchiveInfo(entry, st.st_size, int(st.st_mtime * 1000)))
    found.sort(key=lambda a: a.name, reverse=True)
    return found


@dataclass(frozen=True, slots=True)
class RetentionStatus:
    days: int | None
    cutoff_ms: int | None
    due: int
    held_running: int
    held_queued: int
    archives: list[ArchiveInfo]


def retention_status(
    store: ExecutionLog, paths: DataPaths, *, days: int | None, now_ms: int | None = None
) -> RetentionStatus:
    """The setting, how many runs are due now, and the archives (a read: any thread)."""
    archives = list_archives(paths)
    if days is None:
        return RetentionStatus(None, None, 0, 0, 0, archives)
    cutoff = cutoff_ms(now_ms if now_ms is not None else _now_ms(), days)
    counts = sql.count_due(store.reader(), cutoff)
    return RetentionStatus(days, cutoff, counts.due, counts.running, counts.queued, archives)


# -- archiving ------------------------------------------------------------------------------------


@dataclass(slots=True)
class RetentionResult:
    archive: Path | None = None
    runs: int = 0  # written to the archive
    actions: int = 0
    removed: int = 0  # taken out of the live log
    archive_bytes: int = 0
    bytes_before: int = 0  # the log (file + WAL) before the runs were removed
    bytes_after: int = 0
    cancelled: bool = False
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def reclaimed(self) -> int:
        return max(0, self.bytes_before - self.bytes_after)


def run_retention(
    store: ExecutionLog,
    paths: DataPaths,
    *,
    days: int,
    now_ms: int | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    batch: int = BATCH_RUNS,
    reclaim: bool = True,
    compact: bool = False,
) -> RetentionResult:
    """Archive, verify, remove and reclaim (see the module docstring). Blocking. compact: also
    convert a large log made before incremental vacuum (one VACUUM: it holds the log)."""
    if days < 1:
        raise RetentionError("retention days must be at least 1")
    if not _running.acquire(blocking=False):
        raise RetentionBusyError("retention is already running in this process")
    try:
        return _run(store, paths, days, now_ms, dry_run, progress, cancel, batch, reclaim, compact)
    finally:
        _running.release()


def _run(
    store: ExecutionLog,
    paths: DataPaths,
    days: int,
    now_ms: int | None,
    dry_run: bool,
    progress: Progress | None,
    cancel: threading.Event | None,
    batch: int,
    reclaim: bool,
    compact: bool = False,
) -> RetentionResult:
    now = now_ms if now_ms is not None else _now_ms()
    cutoff = cutoff_ms(now, days)
    conn = store.reader()
    counts = sql.count_due(conn, cutoff)
    total = counts.due
    result = RetentionResult(dry_run=dry_run)
    report = progress or (lambda _stage, _done, _total: None)
    if dry_run:
        for tree in sql.iter_due_trees(conn, cutoff, batch):
            for row in tree:
                result.runs += 1
                result.actions += int(row["action_count"])
        return result
    folder = archives_dir(paths)
    _ensure_private_dir(folder)
    _remove_stale_partials(folder)
    if total == 0:
        return result
    target = _free_name(folder, now)
    partial = target.with_name(target.name + PARTIAL_SUFFIX)
    header = ArchiveHeader(1, LATEST_VERSION, now, cutoff, __version__)
    report("archive", 0, total)
    try:
        runs, actions = _write_archive(store, partial, header, cutoff, batch, total, report, cancel)
        if runs is None:
            result.cancelled = True
            return result
        report("verify", 0, runs)
        verified = _verify(partial)
        if verified != (runs, actions):
            raise RetentionError(
                f"the archive read back holds {verified[0]} runs, {verified[1]} actions; "
                f"{runs} runs, {actions} actions were written. Nothing was removed."
            )
        os.replace(partial, target)
        _fsync_dir(folder)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    result.archive, result.runs, result.actions = target, runs, actions
    result.archive_bytes = target.stat().st_size
    if runs == 0:
        target.unlink()  # every due tree changed meanwhile: no empty archive
        result.archive = None
        return result
    # From here every run below is in a complete archive on disk.
    sql.checkpoint(paths.database)
    result.bytes_before = sql.log_bytes(paths.database)
    report("remove", 0, runs)
    budget = RowBudget()
    for group in batches(_archived_runs(target), budget, lambda run: 1 + run[1], batch):
        if cancel is not None and cancel.is_set():
            result.cancelled = True
            break
        started = time.perf_counter()
        result.removed += store.submit(sql.delete_runs([run_id for run_id, _ in group])).result()
        took = time.perf_counter() - started
        budget.record(sum(1 + actions for _, actions in group), took)
        report("remove", result.removed, runs)
        time.sleep(budget.pause_after(took))
    if reclaim and not result.cancelled:
        _reclaim(store, paths, report, cancel, compact, result.notes)
    result.bytes_after = sql.log_bytes(paths.database)
    return result


def _write_archive(
    store: ExecutionLog,
    partial: Path,
    header: ArchiveHeader,
    cutoff: int,
    batch: int,
    total: int,
    report: Progress,
    cancel: threading.Event | None,
) -> tuple[int | None, int]:
    conn = store.reader()
    runs = actions = reported = 0
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as gz:
            gz.write(encode_line(header.as_dict()))
            for tree in sql.iter_due_trees(conn, cutoff, batch):
                if cancel is not None and cancel.is_set():
                    return None, 0
                for row in tree:
                    item = sql.archived_run(conn, row)
                    gz.write(encode_line(item.as_dict()))
                    runs += 1
                    actions += len(item.actions)
                if runs - reported >= batch:  # not per run: a million signals would flood a UI
                    reported = runs
                    report("archive", runs, max(total, runs))
            gz.write(encode_line(footer(runs, actions)))
            report("archive", runs, max(total, runs))
        raw.flush()
        os.fsync(raw.fileno())
    return runs, actions


def _archived_runs(archive: Path) -> Iterator[tuple[str, int]]:
    """(run id, action count) of each run of an archive verified a moment ago."""
    for raw in _lines(archive):
        obj = json.loads(raw)
        if obj.get("type") == "run":
            yield str(obj["run"]["id"]), len(obj.get("actions") or ())


def _reclaim(
    store: ExecutionLog,
    paths: DataPaths,
    report: Progress,
    cancel: threading.Event | None,
    compact: bool = False,
    notes: list[str] | None = None,
) -> None:
    # Asked on the writer's connection: another connection keeps the auto_vacuum mode it saw
    # when it opened, even after a VACUUM changed it.
    mode, pending = store.submit(sql.vacuum_state).result()
    if mode != sql.INCREMENTAL:
        if not compact and sql.log_bytes(paths.database) > CONVERT_MAX_BYTES:
            if notes is not None:
                notes.append(
                    "The freed space stays in the log and is reused by new runs: this log was "
                    "made before ATO could give space back bit by bit. `ato-desktop retention "
                    "run --compact` converts it once (it holds the log while it rewrites it: "
                    "close other ATO windows and commands first)."
                )
            return
        report("reclaim", 0, 1)
        store.submit(sql.convert_to_incremental()).result()
    else:
        done = 0
        budget = RowBudget(rows=sql.VACUUM_CHUNK_PAGES, max_rows=4 * sql.VACUUM_CHUNK_PAGES)
        report("reclaim", 0, pending)
        while not (cancel is not None and cancel.is_set()):
            started = time.perf_counter()
            freed = store.submit(sql.incremental_vacuum(budget.rows)).result()
            took = time.perf_counter() - started
            budget.record(freed, took)
            time.sleep(budget.pause_after(took))
            done += freed
            report("reclaim", min(done, pending), pending)
            if freed == 0:
                break
    sql.checkpoint(paths.database)
    report("reclaim", 1, 1)


# -- reading and importing archives ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportResult:
    archive: Path
    runs: int  # added to the log
    actions: int
    skipped: int  # already in the log
    cancelled: bool = False


def verify_archive(path: Path) -> tuple[ArchiveHeader, int, int]:
    """Read the whole archive; its header, runs and actions, or ArchiveFormatError."""
    header, items = _iter_runs(path)
    runs = actions = 0
    for item in items:
        runs += 1
        actions += len(item.actions)
    return header, runs, actions


def import_archive(
    store: ExecutionLog,
    path: Path,
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    batch: int = BATCH_RUNS,
) -> ImportResult:
    """Put an archive's runs back into the log. Blocking.

    The file is read whole and checked first (nothing is written for a corrupt, truncated or
    foreign file); then runs go in short write jobs of whole runs (each run with all its rows in
    one transaction; at most `batch` runs, fewer when their rows would hold the log for more
    than a fraction of a second: core.write_batches). Runs already in the log are skipped, so
    importing twice adds nothing and an import cut short is finished by importing again.
    """
    if not _running.acquire(blocking=False):
        raise RetentionBusyError("retention is already running in this process")
    try:
        report = progress or (lambda _stage, _done, _total: None)
        report("verify", 0, 0)
        _header, total, _actions = verify_archive(path)
        _check_columns(store, path)
        counts = sql.ImportCounts()
        budget = RowBudget()
        report("import", 0, total)
        for group in batches(_iter_runs(path)[1], budget, _rows_of, batch):
            if cancel is not None and cancel.is_set():
                # Between whole batches: importing the file again finishes the job.
                return ImportResult(path, counts.runs, counts.actions, counts.skipped, True)
            started = time.perf_counter()
            store.submit(sql.import_runs(group, counts)).result()
            took = time.perf_counter() - started
            budget.record(sum(map(_rows_of, group)), took)
            report("import", counts.runs + counts.skipped, total)
            time.sleep(budget.pause_after(took))
        report("import", total, total)
        return ImportResult(path, counts.runs, counts.actions, counts.skipped)
    finally:
        _running.release()


def _rows_of(item: ArchivedRun) -> int:
    """The rows a run brings: itself, its actions, its scores."""
    return 1 + len(item.actions) + len(item.scores)


def _check_columns(store: ExecutionLog, path: Path) -> None:
    """Every column in the archive must exist in this log (an older schema's subset is fine)."""
    conn = store.reader()
    known = {
        "run": sql.table_columns(conn, "runs"),
        "actions": sql.table_columns(conn, "actions"),
        "scores": sql.table_columns(conn, "run_scores"),
    }
    for item in _iter_runs(path)[1]:
        unknown = set(item.run) - known["run"]
        for row in item.actions:
            unknown |= set(row) - known["actions"]
        for row in item.scores:
            unknown |= set(row) - known["scores"]
        if unknown:
            raise ArchiveFormatError(
                f"{path.name}: columns this log does not have: {', '.join(sorted(unknown))}"
            )
        return  # one run is enough: every line of an archive has the same columns


def _iter_runs(path: Path) -> tuple[ArchiveHeader, Iterator[ArchivedRun]]:
    """The header (read now) and a generator of the runs; the footer is checked at the end."""
    lines = _lines(path)
    try:
        first = next(lines)
    except StopIteration:
        raise _format_error(path, "the file is empty") from None
    header: ArchiveHeader = _wrap(
        path, parse_header, _wrap(path, decode_line, first, 1), LATEST_VERSION
    )

    def runs() -> Iterator[ArchivedRun]:
        count = actions = 0
        line_no = 1
        for raw in lines:
            line_no += 1
            obj: dict[str, Any] = _wrap(path, decode_line, raw, line_no)
            kind = obj.get("type")
            if kind == "run":
                item: ArchivedRun = _wrap(path, parse_run, obj, line_no)
                count += 1
                actions += len(item.actions)
                yield item
            elif kind == "end":
                _wrap(path, parse_footer, obj, count, actions)
                if next(lines, None) is not None:
                    raise _format_error(path, f"line {line_no + 1}: data after the end")
                return
            else:
                raise _format_error(path, f"line {line_no}: unknown line type {kind!r}")
        raise _format_error(path, "the archive is truncated (it has no end line)")

    return header, runs()


def _lines(path: Path) -> Iterator[bytes]:
    try:
        raw_file = path.open("rb")
    except OSError as exc:
        raise ArchiveFormatError(f"cannot read {path}: {exc.strerror or exc}") from exc
    with raw_file, gzip.GzipFile(fileobj=raw_file, mode="rb") as handle:
        try:
            while True:
                raw = handle.readline(MAX_LINE_BYTES + 1)
                if not raw:
                    return
                if len(raw) > MAX_LINE_BYTES:
                    raise _format_error(path, "a line is over 512 MB")
                yield raw
        except EOFError:
            raise _format_error(
                path, "the archive is truncated (the gzip stream ends early)"
            ) from None
        except (gzip.BadGzipFile, zlib.error) as exc:
            raise _format_error(path, f"not a valid gzip file ({exc})") from None
        except OSError as exc:
            raise _format_error(path, f"cannot read it: {exc.strerror or exc}") from None


def _wrap(path: Path, fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except ArchiveFormatError as exc:
        if str(exc).startswith(path.name):
            raise
        raise _format_error(path, str(exc)) from None


def _format_error(path: Path, detail: str) -> ArchiveFormatError:
    return ArchiveFormatError(f"{path.name}: {detail}. Nothing was imported.")


def _verify(partial: Path) -> tuple[int, int]:
    try:
        _header, runs, actions = verify_archive(partial)
    except ArchiveFormatError as exc:
        raise RetentionError(f"the archive did not read back: {exc}") from exc
    return runs, actions


# -- the daily job in the app ---------------------------------------------------------------------


async def run_daily(
    store: ExecutionLog,
    paths: DataPaths,
    *,
    first_delay_s: float = FIRST_RUN_DELAY_S,
    every_s: float = DAILY_S,
    on_done: Callable[[RetentionResult], None] | None = None,
) -> None:
    """Archive what is due a while after start and then once a day, in a worker thread.

    Cancelling the task stops the worker between batches (what was archived stays archived).
    A broken settings.json or a failed run is logged and tried again the next day.
    """
    cancel = threading.Event()
    try:
        await asyncio.sleep(first_delay_s)
        while True:
            try:
                days = await asyncio.to_thread(retention_days, paths)
                if days is not None:
                    result = await asyncio.to_thread(
                        run_retention, store, paths, days=days, cancel=cancel
                    )
                    if result.runs:
                        log.info(
                            "retention archived %d runs to %s, reclaimed %d bytes",
                            result.runs,
                            result.archive,
                            result.reclaimed,
                        )
                    if on_done is not None:
                        on_done(result)
            except RetentionBusyError:
                pass
            except Exception:
                log.exception("retention failed; trying again tomorrow")
            await asyncio.sleep(every_s)
    finally:
        cancel.set()


# -- helpers --------------------------------------------------------------------------------------


def _now_ms() -> int:
    return int(time.time() * 1000)


def _free_name(folder: Path, now: int) -> Path:
    for attempt in range(1000):
        candidate = folder / archive_name(now, attempt)
        partial = candidate.with_name(candidate.name + PARTIAL_SUFFIX)
        if not candidate.exists() and not partial.exists():
            return candidate
    raise RetentionError(f"no free archive name in {folder}")


def _ensure_private_dir(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":
        folder.chmod(0o700)


def _remove_stale_partials(folder: Path) -> None:
    """A .partial file is what a crash while archiving leaves; its runs are all still live.

    Only old ones: a fresh one may be another process's archive being written right now.
    """
    limit = time.time() - STALE_PARTIAL_S
    for entry in folder.glob(f"*{PARTIAL_SUFFIX}"):
        with contextlib.suppress(OSError):
            if entry.stat().st_mtime < limit:
                entry.unlink()


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
