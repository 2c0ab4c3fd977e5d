"""Retention on a real log: old runs archived and removed, the new untouched, the file shrinks,
and re-importing brings every row back exactly as it was (twice changes nothing)."""

from __future__ import annotations

import gzip
import os
import random
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ato_desktop.core.eval_scoring import CaseOutcome
from ato_desktop.core.eval_suite import parse_suite
from ato_desktop.core.ids import uuid7
from ato_desktop.core.models import AgentConfig, TokenUsage
from ato_desktop.core.records import NewAction, NewRun, RunEnd
from ato_desktop.core.retention import DAY_MS, ArchiveFormatError, encode_line, footer
from ato_desktop.engine import retention
from ato_desktop.store import evals as eval_store
from ato_desktop.store import sync_outbox
from ato_desktop.store.execution_log import ExecutionLog, now_ms
from ato_desktop.store.paths import DataPaths

DAYS = 90


@dataclass
class Workspace:
    now: int
    old: list[str] = field(default_factory=list)  # due: every one must be archived
    new: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # old but kept: running, queued, pipeline
    suite_run_id: str = ""


def _actions(rng: random.Random, start: int, count: int) -> list[NewAction]:
    return [
        NewAction(
            name=f"step{i}",
            kind="llm",
            outcome="success" if i % 4 else "error",
            started_at=start + i,
            ended_at=start + i + 5,
            inputs={"prompt": rng.randbytes(600).hex()},
            outputs={"text": rng.randbytes(600).hex(), "n": 0.1 * i},
            usage=TokenUsage(10 + i, 20, 3, 1, 0),
            cost_usd=0.0142 * (i + 1),
            duration_ns=1_000_000 * (i + 1),
            meta={"i": i, "ok": True, "none": None},
        )
        for i in range(count)
    ]


def _end(start: int, status: str = "completed") -> RunEnd:
    return RunEnd(status=status, ended_at=start + 50, duration_ns=50_000_000)


def build_workspace(store: ExecutionLog, *, old_runs: int = 60, actions: int = 4) -> Workspace:
    """Old and new runs with actions, scores, an eval case, the outbox and pipelines."""
    rng = random.Random(7)
    now = now_ms()
    ws = Workspace(now)
    agent = store.create_agent("retained", AgentConfig("claude", "claude-x")).result()
    items: list[tuple[NewRun, RunEnd | None, list[NewAction]]] = []

    def add(start: int, bucket: list[str], *, end: bool = True, **extra: object) -> str:
        run_id = uuid7(start)
        new = NewRun(
            "claude",
            "claude-x",
            "chat",
            start,
            agent_id=agent.id,
            agent_version_id=agent.current_version_id,
            tags={"user": "ann"},
            id=run_id,
            **extra,  # type: ignore[arg-type]
        )
        items.append((new, _end(start) if end else None, _actions(rng, start, actions)))
        bucket.append(run_id)
        return run_id

    old_start = now - 200 * DAY_MS
    for i in range(old_runs):
        add(old_start + i * 1000, ws.old)
    # An old pipeline: parent and stages go together.
    parent = add(old_start - 5000, ws.old, pipeline_id="p1")
    for stage in range(2):
        add(
            old_start - 4000 + stage,
            ws.old,
            parent_run_id=parent,
            pipeline_id="p1",
            stage_index=stage,
            stage_name=f"s{stage}",
        )
    # An old parent with a recent child stays whole (the tree is not entirely old).
    held_parent = add(old_start + 10, ws.held, pipeline_id="p2")
    add(now - DAY_MS, ws.held, parent_run_id=held_parent, pipeline_id="p2", stage_index=0)
    add(old_start + 20, ws.held, end=False)  # still running
    queued = add(old_start + 30, ws.held)  # waiting in the sync outbox
    for i in range(10):
        add(now - DAY_MS + i, ws.new)
    store.ingest(items).result()
    sync_outbox.enqueue_runs(store, [queued]).result()
    eval_store.set_run_score(store, ws.old[0], "manual", 1.0, True, "good").result()
    eval_store.set_run_score(store, ws.old[1], "judge", 0.25, False).result()
    suite = parse_suite('{"id": "c1", "input": "q", "expected": "y"}\n', default_name="ret")
    record = eval_store.save_suite(store, suite, "text").result()
    ws.suite_run_id = eval_store.start_suite_run(
        store, eval_store.NewSuiteRun(record.id, suite.content_hash, "claude", "m", "@a", 1, 0)
    ).result()
    eval_store.record_case(
        store, ws.suite_run_id, CaseOutcome("c1", 1, ws.old[2], "completed", 1.0, True)
    ).result()
    return ws


def snapshot(store: ExecutionLog, run_ids: list[str]) -> dict[str, tuple[object, ...]]:
    """Every row of these runs: the run, its actions and its scores, column by column."""
    conn = store.reader()
    out: dict[str, tuple[object, ...]] = {}
    for run_id in run_ids:
        run = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if run is None:
            continue
        actions = conn.execute(
            "SELECT * FROM actions WHERE run_no = ? ORDER BY seq", (run["run_no"],)
        ).fetchall()
        scores = conn.execute(
            "SELECT * FROM run_scores WHERE run_id = ? ORDER BY source", (run_id,)
        ).fetchall()
        out[run_id] = (tuple(run), [tuple(a) for a in actions], [tuple(s) for s in scores])
    return out


def _integrity(store: ExecutionLog) -> str:
    return str(store.reader().execute("PRAGMA integrity_check").fetchone()[0])


def _case_run(store: ExecutionLog, suite_run_id: str) -> str | None:
    row = (
        store.reader()
        .execute("SELECT run_id FROM eval_case_results WHERE suite_run_id = ?", (suite_run_id,))
        .fetchone()
    )
    return row[0]


def test_archive_removes_old_runs_reclaims_space_and_import_restores_them_exactly(
    store: ExecutionLog, paths: DataPaths
) -> None:
    ws = build_workspace(store)
    old_before = snapshot(store, ws.old)
    kept_before = snapshot(store, ws.new + ws.held)
    assert len(old_before) == len(ws.old) and len(kept_before) == len(ws.new + ws.held)
    status = retention.retention_status(store, paths, days=DAYS, now_ms=ws.now)
    # The due count is index-only: it leaves out the running and queued runs, not pipelines.
    assert status.due >= len(ws.old) and status.held_running == 1 and status.held_queued == 1

    stages: list[str] = []
    result = retention.run_retention(
        store, paths, days=DAYS, now_ms=ws.now, batch=7, progress=lambda s, _d, _t: stages.append(s)
    )

    assert result.runs == len(ws.old) == result.removed
    assert result.actions == sum(len(rows[1]) for rows in old_before.values())
    assert result.archive is not None and result.archive.parent == paths.root / "archives"
    assert result.archive.name.startswith("runs-") and result.archive.name.endswith(".jsonl.gz")
    assert not list(result.archive.parent.glob("*.partial"))
    assert {"archive", "verify", "remove", "reclaim"} <= set(stages)
    assert snapshot(store, ws.old) == {}
    assert snapshot(store, ws.new + ws.held) == kept_before
    assert _integrity(store) == "ok"
    assert _case_run(store, ws.suite_run_id) is None
    assert result.bytes_after < result.bytes_before
    assert result.reclaimed > 0
    if os.name == "posix":
        assert (result.archive.stat().st_mode & 0o777) == 0o600
        assert (result.archive.parent.stat().st_mode & 0o777) == 0o700
    assert [a.path for a in retention.list_archives(paths)] == [result.archive]
    # Nothing is due any more.
    again = retention.run_retention(store, paths, days=DAYS, now_ms=ws.now)
    assert again.runs == 0 and again.archive is None

    imported = retention.import_archive(store, result.archive, batch=5)
    assert (imported.runs, imported.skipped) == (len(ws.old), 0)
    assert snapshot(store, ws.old) == old_before
    assert snapshot(store, ws.new + ws.held) == kept_before
    assert _case_run(store, ws.suite_run_id) == ws.old[2]
    assert _integrity(store) == "ok"

    twice = retention.import_archive(store, result.archive)
    assert (twice.runs, twice.skipped) == (0, len(ws.old))
    assert snapshot(store, ws.old + ws.new + ws.held) == {**old_before, **kept_before}


def test_dry_run_counts_and_writes_nothing(store: ExecutionLog, paths: DataPaths) -> None:
    ws = build_workspace(store, old_runs=5)
    result = retention.run_retention(store, paths, days=DAYS, now_ms=ws.now, dry_run=True)
    assert result.dry_run and result.runs == len(ws.old) and result.archive is None
    assert len(snapshot(store, ws.old)) == len(ws.old)
    assert retention.list_archives(paths) == []


def _archive(store: ExecutionLog, paths: DataPaths, ws: Workspace) -> Path:
    result = retention.run_retention(store, paths, days=DAYS, now_ms=ws.now, reclaim=False)
    assert result.archive is not None
    return result.archive


def _count_runs(store: ExecutionLog) -> int:
    return int(store.reader().execute("SELECT count(*) FROM runs").fetchone()[0])


@pytest.mark.parametrize(
    "damage",
    ["truncated", "flipped", "not gzip", "empty", "foreign", "newer schema", "missing run"],
)
def test_a_damaged_archive_is_refused_with_a_clear_error_and_nothing_written(
    store: ExecutionLog, paths: DataPaths, tmp_path: Path, damage: str
) -> None:
    ws = build_workspace(store, old_runs=20, actions=2)
    archive = _archive(store, paths, ws)
    raw = gzip.decompress(archive.read_bytes())
    lines = raw.splitlines(keepends=True)
    bad = tmp_path / "bad.jsonl.gz"
    if damage == "truncated":
        data = archive.read_bytes()
        bad.write_bytes(data[: len(data) // 2])
    elif damage == "flipped":
        data = bytearray(archive.read_bytes())
        data[len(data) // 2] ^= 0xFF
        bad.write_bytes(bytes(data))
    elif damage == "not gzip":
        bad.write_bytes(raw)
    elif damage == "empty":
        bad.write_bytes(gzip.compress(b""))
    elif damage == "foreign":
        bad.write_bytes(gzip.compress(b'{"hello": "world"}\n'))
    elif damage == "newer schema":
        header = raw.split(b"\n", 1)[0].replace(b'"schema_version":', b'"schema_version":99')
        bad.write_bytes(gzip.compress(header + b"\n" + b"".join(lines[1:])))
    else:  # a run line lost: the footer's counts no longer match
        bad.write_bytes(gzip.compress(b"".join(lines[:3] + lines[4:])))
    before = _count_runs(store)
    with pytest.raises(ArchiveFormatError) as caught:
        retention.import_archive(store, bad)
    message = str(caught.value)
    assert message.startswith("bad.jsonl.gz: ") and "Nothing was imported" in message
    assert _count_runs(store) == before
    assert _integrity(store) == "ok"


def test_an_archive_footer_that_lies_is_refused(store: ExecutionLog, tmp_path: Path) -> None:
    from ato_desktop.core.retention import ArchiveHeader

    header = ArchiveHeader(1, 1, 0, None, "x").as_dict()
    bad = tmp_path / "lie.jsonl.gz"
    bad.write_bytes(gzip.compress(encode_line(header) + encode_line(footer(3, 0))))
    with pytest.raises(ArchiveFormatError, match="holds 3 runs"):
        retention.import_archive(store, bad)


def test_a_crash_between_archive_and_delete_loses_nothing(
    store: ExecutionLog, paths: DataPaths
) -> None:
    ws = build_workspace(store, old_runs=30, actions=2)
    before = snapshot(store, ws.old)
    # A stale .partial, as a crash while writing leaves it: removed, its runs were never touched.
    folder = paths.root / "archives"
    folder.mkdir(exist_ok=True)
    stale = folder / "runs-20000101-000000.jsonl.gz.partial"
    stale.write_bytes(b"\x1f\x8b half")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))

    cancel = __import__("threading").Event()

    def stop_before_removing(stage: str, _done: int, _total: int) -> None:
        if stage == "remove":
            cancel.set()  # the process "dies" right after the archive is complete

    first = retention.run_retention(
        store, paths, days=DAYS, now_ms=ws.now, progress=stop_before_removing, cancel=cancel
    )
    assert first.cancelled and first.removed == 0 and first.archive is not None
    assert not stale.exists()
    assert snapshot(store, ws.old) == before  # every run still live
    assert retention.verify_archive(first.archive)[1] == len(ws.old)  # and complete on disk

    second = retention.run_retention(store, paths, days=DAYS, now_ms=ws.now + 1000)
    assert second.removed == len(ws.old) and second.archive != first.archive
    assert snapshot(store, ws.old) == {}
    one = retention.import_archive(store, first.archive)
    two = retention.import_archive(store, second.archive)  # type: ignore[arg-type]
    assert (one.runs, two.runs, two.skipped) == (len(ws.old), 0, len(ws.old))
    assert snapshot(store, ws.old) == before


def test_runs_revived_after_archiving_stay_live(store: ExecutionLog, paths: DataPaths) -> None:
    """A run queued for sync between archive and delete is not removed (it is in both)."""
    ws = build_workspace(store, old_runs=6, actions=1)
    revived = ws.old[3]

    def queue_one(stage: str, done: int, _total: int) -> None:
        if stage == "remove" and done == 0:
            sync_outbox.enqueue_runs(store, [revived]).result()

    result = retention.run_retention(store, paths, days=DAYS, now_ms=ws.now, progress=queue_one)
    assert result.removed == len(ws.old) - 1
    assert list(snapshot(store, ws.old)) == [revived]


def test_reclaim_converts_an_old_log_once_then_vacuums_incrementally(
    store: ExecutionLog, paths: DataPaths
) -> None:
    from ato_desktop.store import retention as sql

    assert store.submit(sql.vacuum_state).result()[0] == 2  # how logs are created now
    store.submit(_made_before_incremental_vacuum).result()
    assert store.submit(sql.vacuum_state).result()[0] == 0  # how logs were created before
    ws = build_workspace(store, old_runs=40)
    retention.run_retention(store, paths, days=DAYS, now_ms=ws.now)
    assert store.submit(sql.vacuum_state).result()[0] == 2
    # New runs in the same log are written and read while the next reclaim is incremental.
    ws2 = build_workspace_more(store, ws.now)
    sql.checkpoint(paths.database)
    size_before = paths.database.stat().st_size
    result = retention.run_retention(store, paths, days=DAYS, now_ms=ws.now)
    assert result.removed == len(ws2) and result.reclaimed > 0
    assert paths.database.stat().st_size < size_before
    assert store.submit(sql.vacuum_state).result() == (2, 0)
    assert _integrity(store) == "ok"


def _made_before_incremental_vacuum(conn: sqlite3.Connection, _emit: object) -> None:
    """A write job: turn the log back into one made before logs were created incremental
    (auto_vacuum off), as retention.convert_to_incremental does the other way."""
    conn.execute("RELEASE job")
    conn.execute("COMMIT")
    try:
        conn.execute("PRAGMA auto_vacuum = NONE")
        conn.execute("VACUUM")
    finally:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("SAVEPOINT job")


def test_a_large_old_log_is_not_vacuumed_unless_asked(
    store: ExecutionLog, paths: DataPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Converting takes one VACUUM, which holds the write lock while it copies the whole log:
    only small logs are converted on their own; a larger one is told how, and left as it is."""
    from ato_desktop.store import retention as sql

    store.submit(_made_before_incremental_vacuum).result()
    ws = build_workspace(store, old_runs=40)
    monkeypatch.setattr(retention, "CONVERT_MAX_BYTES", sql.log_bytes(paths.database) // 2)
    result = retention.run_retention(store, paths, days=DAYS, now_ms=ws.now)
    assert result.removed == len(ws.old)
    assert store.submit(sql.vacuum_state).result()[0] == 0
    assert any("--compact" in note for note in result.notes)
    ws2 = build_workspace_more(store, ws.now)
    result = retention.run_retention(store, paths, days=DAYS, now_ms=ws.now, compact=True)
    assert result.removed == len(ws2) and not result.notes
    assert store.submit(sql.vacuum_state).result()[0] == 2
    assert _integrity(store) == "ok"


def build_workspace_more(store: ExecutionLog, now: int) -> list[str]:
    rng = random.Random(3)
    start = now - 150 * DAY_MS
    items = [
        (
            NewRun("claude", "m", "cli", start + i, id=uuid7(start + i)),
            _end(start + i),
            _actions(rng, start + i, 4),
        )
        for i in range(40)
    ]
    store.ingest(items).result()
    return [new.id for new, _e, _a in items if new.id]


def test_incremental_vacuum_job_frees_pages_in_bounded_chunks(store: ExecutionLog) -> None:
    from ato_desktop.store import retention as sql

    store.submit(sql.convert_to_incremental()).result()
    build_workspace_more(store, now_ms())
    store.submit(lambda c, _e: c.execute("DELETE FROM actions")).result()
    conn = store.reader()
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    assert free > 10
    freed = store.submit(sql.incremental_vacuum(pages=5)).result()
    assert freed == 5
    assert conn.execute("PRAGMA freelist_count").fetchone()[0] == free - 5
    # The writer goes on after the VACUUM job (its transaction was re-opened).
    assert store.submit(lambda c, _e: c.execute("SELECT 1").fetchone()[0]).result() == 1
    with pytest.raises(sqlite3.Error):
        store.reader().execute("SELECT * FROM no_such_table")
