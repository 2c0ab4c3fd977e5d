"""The change feed: a write and its record commit together; other processes hear it as the same
typed event; the record table stays bounded; a follower that fell behind is told to reload."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ato_desktop.core.event_bus import EventBus
from ato_desktop.core.events import (
    ChangesMissed,
    ConfigChanged,
    DomainEvent,
    KillRequested,
    RunCreated,
    SettingsChanged,
    event_from_record,
    event_record,
)
from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import NewRun, RunEnd
from ato_desktop.store import writer as writer_module
from ato_desktop.store.change_feed import ChangeFeed, announce
from ato_desktop.store.database import StoreError
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.paths import DataPaths

REPO = Path(__file__).resolve().parents[2]


class Heard:
    """A bus subscriber that keeps (event, foreign) pairs; thread-safe."""

    def __init__(self, bus: EventBus) -> None:
        self.items: list[tuple[DomainEvent, bool]] = []
        self._lock = threading.Lock()
        bus.subscribe(self._local, local_only=True)
        bus.subscribe(self._any)
        self._local_ids: set[int] = set()

    def _local(self, event: DomainEvent) -> None:
        with self._lock:
            self._local_ids.add(id(event))

    def _any(self, event: DomainEvent) -> None:
        with self._lock:
            self.items.append((event, id(event) not in self._local_ids))

    def foreign(self) -> list[DomainEvent]:
        with self._lock:
            return [e for e, foreign in self.items if foreign]

    def local(self) -> list[DomainEvent]:
        with self._lock:
            return [e for e, foreign in self.items if not foreign]


def _wait(predicate: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


@pytest.fixture
def two_logs(ato_home: Path) -> tuple[ExecutionLog, ExecutionLog]:
    """Two ExecutionLogs on one file: what two processes have (each its own writer and bus)."""
    paths = DataPaths(ato_home)
    first = ExecutionLog.open(paths)
    second = ExecutionLog.open(paths)
    yield first, second
    second.close()
    first.close()


def test_every_event_round_trips_through_its_record() -> None:
    events: list[DomainEvent] = [
        RunCreated("r1", None, "cli", 5),
        ConfigChanged("a1", 2, "v2"),
        KillRequested(("r1", "r2")),
        SettingsChanged("retention"),
    ]
    for event in events:
        kind, fields = event_record(event)
        assert event_from_record(kind, fields) == event
    # A kind a newer app wrote, or fields that do not fit, are skipped, never a crash.
    assert event_from_record("SomethingNew", {"x": 1}) is None
    assert event_from_record("RunCreated", {"run_id": 1}) is None
    assert event_from_record("RunCreated", {"run_id": "r", "agent_id": None}) is None
    assert (
        event_from_record(
            "RunCreated", {"run_id": "r", "agent_id": None, "trigger": "ui", "started_at_ms": True}
        )
        is None
    )
    assert event_from_record("KillRequested", {"run_ids": "r1"}) is None


def test_another_process_hears_a_write_as_the_same_event(
    two_logs: tuple[ExecutionLog, ExecutionLog],
) -> None:
    writer_log, reader_log = two_logs
    heard = Heard(reader_log.bus)
    mine = Heard(writer_log.bus)
    reader_log.follow_changes()
    writer_log.follow_changes()  # its own records must not come back to it

    agent = writer_log.create_agent("scout", AgentConfig("claude", "claude-sonnet-5")).result()
    run_id, run_no = writer_log.create_run(
        NewRun("claude", "m", "cli", 1000, agent_id=agent.id),
        owner="x",
    ).result()
    writer_log.finish_run(run_id, run_no, RunEnd("completed", 2000, 10)).result()

    _wait(lambda: len(heard.foreign()) >= 3)
    kinds = [type(e).__name__ for e in heard.foreign()]
    assert kinds == ["ConfigChanged", "RunCreated", "RunCompleted"]
    assert heard.foreign()[1] == RunCreated(run_id, agent.id, "cli", 1000)
    assert heard.local() == []
    # The writer's own process heard each once, locally, never again through its feed.
    time.sleep(0.2)
    assert [type(e).__name__ for e, _foreign in mine.items] == kinds
    assert mine.foreign() == []


def test_a_failed_write_leaves_no_record(two_logs: tuple[ExecutionLog, ExecutionLog]) -> None:
    writer_log, reader_log = two_logs

    def job(conn: sqlite3.Connection, emit: object) -> None:
        emit(SettingsChanged("never"))  # type: ignore[operator]
        raise RuntimeError("the write fails after emitting")

    with pytest.raises(RuntimeError):
        writer_log.submit(job).result()
    rows = reader_log.reader().execute("SELECT kind FROM changes").fetchall()
    assert rows == []


def test_a_record_commits_with_its_change_or_not_at_all(ato_home: Path) -> None:
    """The record is written inside the job's savepoint: a record that cannot be written
    (here: the table is gone) fails the job, and its change is rolled back with it."""
    paths = DataPaths(ato_home)
    log = ExecutionLog.open(paths)
    try:
        log.submit(lambda conn, emit: conn.execute("DROP TABLE changes")).result()
        with pytest.raises(StoreError, match="no such table"):
            log.create_agent("ghost", AgentConfig("claude", "m")).result()
        assert log.reader().execute("SELECT count(*) FROM agents").fetchone()[0] == 0
    finally:
        log.close()


def test_checking_for_news_reads_nothing_while_nothing_changes(
    two_logs: tuple[ExecutionLog, ExecutionLog],
) -> None:
    writer_log, reader_log = two_logs
    feed = ChangeFeed(reader_log.paths.database, reader_log.bus, reader_log.origin)
    try:
        assert feed.poll() == 0
        statements: list[str] = []
        conn = feed._open()
        conn.set_trace_callback(statements.append)
        for _ in range(50):
            assert feed.poll() == 0
        # Only the data_version check ran: the changes table was never read.
        assert statements and all(s.startswith("PRAGMA data_version") for s in statements)
        writer_log.note_change(SettingsChanged("retention")).result()
        assert feed.poll() == 1
        assert any("FROM changes" in s for s in statements)
    finally:
        feed.close()


def test_old_records_are_pruned_and_a_follower_behind_them_reloads(
    two_logs: tuple[ExecutionLog, ExecutionLog], monkeypatch: pytest.MonkeyPatch
) -> None:
    writer_log, reader_log = two_logs
    heard = Heard(reader_log.bus)
    feed = ChangeFeed(reader_log.paths.database, reader_log.bus, reader_log.origin)
    feed.poll()  # following from here
    for i in range(30):
        writer_log.note_change(SettingsChanged(f"s{i}")).result()
    # The writer prunes in a transaction of its own: everything but the newest 10 rows.
    monkeypatch.setattr(writer_module, "CHANGES_KEEP_ROWS", 10)
    pruned = writer_log.submit(
        lambda conn, emit: writer_module.prune_changes(conn, int(time.time() * 1000))
    ).result()
    assert pruned == 20
    count = reader_log.reader().execute("SELECT count(*) FROM changes").fetchone()[0]
    assert count == 10
    feed.poll()
    events = heard.foreign()
    assert isinstance(events[0], ChangesMissed)
    assert [e.section for e in events[1:]] == [f"s{i}" for i in range(20, 30)]  # type: ignore[union-attr]
    feed.close()


def test_records_older_than_the_window_are_pruned(
    two_logs: tuple[ExecutionLog, ExecutionLog],
) -> None:
    writer_log, _reader_log = two_logs
    now = int(time.time() * 1000)
    old = now - writer_module.CHANGES_KEEP_MS - 1000

    def plant(conn: sqlite3.Connection, emit: object) -> None:
        writer_module.record_changes(conn, "elsewhere", [SettingsChanged("old")] * 5, old)
        writer_module.record_changes(conn, "elsewhere", [SettingsChanged("new")] * 3, now)

    writer_log.submit(plant).result()
    # (The writer may have pruned on its own after that batch: the outcome is what counts.)
    writer_log.submit(lambda conn, emit: writer_module.prune_changes(conn, now)).result()
    kept = writer_log.reader().execute("SELECT kind, payload FROM changes").fetchall()
    assert len(kept) == 3
    # Sequence numbers keep growing after the table was emptied (AUTOINCREMENT).
    writer_log.submit(lambda conn, emit: writer_module.prune_changes(conn, now + 10**9)).result()
    writer_log.note_change(SettingsChanged("later")).result()
    seq = writer_log.reader().execute("SELECT max(seq) FROM changes").fetchone()[0]
    assert seq == 9


def test_a_change_made_outside_the_log_is_announced(
    two_logs: tuple[ExecutionLog, ExecutionLog],
) -> None:
    _writer_log, reader_log = two_logs
    heard = Heard(reader_log.bus)
    reader_log.follow_changes()
    assert announce(reader_log.paths.database, SettingsChanged("retention"))
    _wait(lambda: heard.foreign() == [SettingsChanged("retention")])
    assert not announce(reader_log.paths.root / "missing.sqlite3", SettingsChanged("x"))


def test_a_cli_process_write_reaches_a_following_process(ato_home: Path) -> None:
    """A real second process: `ato-desktop agents add` is heard by this process's feed."""
    log = ExecutionLog.open(DataPaths(ato_home))
    heard = Heard(log.bus)
    log.follow_changes()
    try:
        env = {
            **os.environ,
            "ATO_HOME": str(ato_home),
            "ATO_OFFLINE": "1",
            "PYTHONPATH": str(REPO),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        }
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "ato_desktop",
                "agents",
                "add",
                "remote",
                "--runtime",
                "claude",
                "--model",
                "claude-sonnet-5",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
        )
        assert done.returncode == 0, done.stderr
        _wait(lambda: any(isinstance(e, ConfigChanged) for e in heard.foreign()))
        agent = log.get_agent("remote")
        changed = [e for e in heard.foreign() if isinstance(e, ConfigChanged)]
        assert changed == [ConfigChanged(agent.id, 1, agent.current_version_id)]
    finally:
        log.close()
