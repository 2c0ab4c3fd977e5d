"""A full disk: a clear, typed error; nothing half-written; work resumes when space returns.

The log is capped with SQLite's `PRAGMA max_page_count` on the writer's connection (SQLite then
answers SQLITE_FULL exactly as on a full disk), and, where this machine lets the test mount one
(root in CI), on a real 4 MB tmpfs filled to the brim, through the CLI.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ato_desktop.core.models import AgentConfig, RunStatus
from ato_desktop.engine.dispatcher import DispatchRequest
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.database import DiskFullError
from ato_desktop.store.paths import DataPaths
from tests.fakes import FakeLLMServer, Scenario
from tests.resilience.conftest import mounted_tmpfs
from tests.test_cli import run_cli

MODEL = "claude-sonnet-5"
# 100 KB of answer: recording it needs pages the capped log does not have.
BIG_CHUNKS = tuple(f"{i:03d}" + "x" * 3997 for i in range(25))
BIG_ANSWER = "".join(BIG_CHUNKS)
SMALL_CHUNKS = ("Space", " is", " back.")
UNCAPPED = 1_073_741_823  # SQLite's default max_page_count


def cap_job(spare_pages: int = 0) -> Callable[[sqlite3.Connection, Any], None]:
    """A write job capping the log at its current size plus spare_pages (a full disk)."""

    def job(conn: sqlite3.Connection, emit: Any) -> None:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages + spare_pages}")

    return job


def uncap(ws: Workspace) -> None:
    ws.store.submit(lambda conn, emit: conn.execute(f"PRAGMA max_page_count = {UNCAPPED}")).result()


def integrity(ws: Workspace) -> list[str]:
    conn = sqlite3.connect(str(ws.paths.database))
    try:
        return [row[0] for row in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()


@pytest.fixture
def writer_agent(workspace: Workspace, fake: FakeLLMServer) -> str:
    workspace.agents.create(
        "writer", AgentConfig(runtime="claude", model=MODEL, base_url=fake.anthropic_base_url)
    )
    return "writer"


def test_a_run_ending_on_a_full_disk_is_held_and_written_when_space_returns(
    workspace: Workspace, fake: FakeLLMServer, writer_agent: str, ato_home: Path
) -> None:
    fake.scenario = Scenario(chunks=BIG_CHUNKS)
    started: list[str] = []

    def on_started(run_id: str) -> None:
        started.append(run_id)
        workspace.store.submit(cap_job())  # the disk fills up while the answer streams

    async def first() -> None:
        await workspace.dispatcher.dispatch(
            DispatchRequest("Write a lot", agent=writer_agent), on_started=on_started
        )

    with pytest.raises(DiskFullError) as caught:
        asyncio.run(first())
    message = str(caught.value)
    assert str(ato_home) in message and "is full" in message and " free)" in message
    (run_id,) = started
    run = workspace.store.get_run(run_id)
    # Nothing half-written: the run is as it was before its ending (no action, not ended).
    assert run.status == RunStatus.RUNNING.value and workspace.store.get_actions(run_id) == []
    assert integrity(workspace) == ["ok"]

    uncap(workspace)
    fake.scenario = Scenario(chunks=SMALL_CHUNKS)
    result = asyncio.run(
        workspace.dispatcher.dispatch(DispatchRequest("And now?", agent=writer_agent))
    )
    assert result.status is RunStatus.COMPLETED and result.output == "".join(SMALL_CHUNKS)
    # The held ending was written first, as it was: the whole answer, priced.
    run = workspace.store.get_run(run_id)
    assert run.status == RunStatus.COMPLETED.value and run.cost_usd is not None
    assert [a.outputs["text"] for a in workspace.store.get_actions(run_id)] == [BIG_ANSWER]
    assert integrity(workspace) == ["ok"]


def test_a_run_that_cannot_be_created_fails_the_dispatch_and_records_nothing(
    workspace: Workspace, fake: FakeLLMServer, writer_agent: str
) -> None:
    fake.scenario = Scenario(chunks=SMALL_CHUNKS)
    workspace.store.submit(cap_job()).result()
    request = DispatchRequest("Hi", agent=writer_agent, tags={"note": "y" * 200_000})
    with pytest.raises(DiskFullError, match="is full"):
        asyncio.run(workspace.dispatcher.dispatch(request))
    assert _run_ids(workspace) == []
    assert integrity(workspace) == ["ok"]
    uncap(workspace)
    result = asyncio.run(workspace.dispatcher.dispatch(request))
    assert result.status is RunStatus.COMPLETED
    assert _run_ids(workspace) == [result.run_id]


def test_a_run_held_when_the_process_ends_is_interrupted_at_the_next_start(
    ato_home: Path, keys: object, fake: FakeLLMServer
) -> None:
    fake.scenario = Scenario(chunks=BIG_CHUNKS)
    ws = Workspace.open(DataPaths(ato_home))
    started: list[str] = []
    try:
        ws.agents.create(
            "writer", AgentConfig(runtime="claude", model=MODEL, base_url=fake.anthropic_base_url)
        )

        def on_started(run_id: str) -> None:
            started.append(run_id)
            ws.store.submit(cap_job())

        with pytest.raises(DiskFullError):
            asyncio.run(
                ws.dispatcher.dispatch(
                    DispatchRequest("Write a lot", agent="writer"), on_started=on_started
                )
            )
    finally:
        ws.close()  # the app quits before any space came back
    ws = Workspace.open(DataPaths(ato_home))
    try:
        assert ws.recovered_run_ids == started
        assert ws.store.get_run(started[0]).status == RunStatus.INTERRUPTED.value
        assert integrity(ws) == ["ok"]
    finally:
        ws.close()


def test_when_sqlite_rolls_back_a_whole_batch_the_other_writes_are_redone(
    workspace: Workspace,
) -> None:
    """SQLITE_FULL undoes the writer's whole transaction, not just the failing job: the jobs
    batched with it are written again (not reported failed, nor written in autocommit while
    reported failed), and their events are published once."""
    store = workspace.store
    gate = threading.Event()
    blocker = store.submit(lambda conn, emit: gate.wait(10))  # holds the writer: one batch
    capped = store.submit(cap_job(spare_pages=4))
    small_before = store.create_agent("before", AgentConfig(runtime="claude", model=MODEL))
    too_big = store.create_agent(
        "too-big", AgentConfig(runtime="claude", model=MODEL, system_prompt="z" * 300_000)
    )
    small_after = store.create_agent("after", AgentConfig(runtime="claude", model=MODEL))
    gate.set()
    assert blocker.result(10) is True and capped.result(10) is None
    assert small_before.result(10).name == "before"
    assert small_after.result(10).name == "after"
    with pytest.raises(DiskFullError):
        too_big.result(10)
    assert sorted(a.name for a in store.list_agents()) == ["after", "before"]
    assert integrity(workspace) == ["ok"]
    uncap(workspace)
    assert store.create_agent("later", AgentConfig(runtime="claude", model=MODEL)).result(10)


def _run_ids(ws: Workspace) -> list[str]:
    conn = sqlite3.connect(str(ws.paths.database))
    try:
        return [row[0] for row in conn.execute("SELECT id FROM runs ORDER BY started_at")]
    finally:
        conn.close()


# -- a real full file system (tmpfs), through the CLI -------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with mounted_tmpfs(tmp_path / "disk", "size=4m") as mount:
        yield mount


def test_cli_on_a_full_file_system_says_so_and_works_again_once_space_returns(
    small_disk: Path, fake: FakeLLMServer, keys: object
) -> None:
    home = small_disk / "ato"
    ws = Workspace.open(DataPaths(home))
    try:
        ws.agents.create(
            "writer", AgentConfig(runtime="claude", model=MODEL, base_url=fake.anthropic_base_url)
        )
    finally:
        ws.close()
    fake.scenario = Scenario(chunks=BIG_CHUNKS)
    filler = small_disk / "filler"
    _fill(filler)
    full = run_cli(home, "dispatch", "--agent", "writer", "Write a lot")
    assert full.returncode == 3, full.stderr
    assert "Traceback" not in full.stderr
    assert "is full" in full.stderr and str(home) in full.stderr
    filler.unlink()
    fake.scenario = Scenario(chunks=SMALL_CHUNKS)
    again = run_cli(home, "dispatch", "--agent", "writer", "And now?")
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "".join(SMALL_CHUNKS)
    conn = sqlite3.connect(str(home / "ato.sqlite3"))
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        statuses = [row[0] for row in conn.execute("SELECT status FROM runs")]
    finally:
        conn.close()
    # The run the full disk stopped is interrupted (its process ended); the new one completed.
    assert sorted(statuses) in (["completed"], ["completed", "interrupted"])


def _fill(path: Path) -> None:
    """Fill the file system holding path, leaving nothing free."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        block = b"\0" * 65536
        with contextlib.suppress(OSError):
            while os.write(fd, block):
                pass
    finally:
        os.close(fd)


def test_a_crash_report_on_a_full_disk_goes_to_stderr_and_leaves_no_empty_file(
    small_disk: Path,
) -> None:
    import io

    from ato_desktop.engine.crash_reports import CrashReporter, crash_reports

    logs = small_disk / "ato" / "logs"
    logs.mkdir(parents=True)
    _fill(small_disk / "filler")
    stderr = io.StringIO()
    reporter = CrashReporter(logs, secrets=lambda: (), stderr=stderr)
    try:
        raise RuntimeError("boom while the disk is full")
    except RuntimeError as exc:
        assert reporter.report(type(exc), exc, exc.__traceback__) is None
    assert "could not write a crash report" in stderr.getvalue()
    assert "boom while the disk is full" in stderr.getvalue()
    assert crash_reports(logs) == []


def test_start_up_recovery_on_a_full_disk_leaves_orphans_for_the_next_start(
    workspace: Workspace,
) -> None:
    """The log still opens (to read it) when the disk is full: runs of a dead process stay
    running, their partial output kept, and are interrupted once a write succeeds again."""
    from ato_desktop.core.records import NewRun
    from ato_desktop.engine.recovery import recover_orphaned_runs
    from ato_desktop.store.execution_log import now_ms

    store = workspace.store
    run_id, run_no = store.create_run(
        NewRun(runtime="claude", model=MODEL, trigger="cli", started_at=now_ms()),
        owner="a-process-that-died",
    ).result()
    store.begin_action(run_no, "call_llm", "llm", {"messages": []}, now_ms())
    store.checkpoint_run(run_id, run_no, BIG_ANSWER, now_ms())
    store.submit(cap_job()).result()

    def recover() -> list[str]:
        return recover_orphaned_runs(
            store, workspace.prices, workspace.estimator, workspace.lease.token
        )

    assert recover() == []
    run = store.get_run(run_id)
    assert run.status == RunStatus.RUNNING.value and run.partial_output == BIG_ANSWER
    uncap(workspace)
    assert recover() == [run_id]
    run = store.get_run(run_id)
    assert run.status == RunStatus.INTERRUPTED.value
    assert [a.outputs["text"] for a in store.get_actions(run_id)] == [BIG_ANSWER]


def test_a_process_lease_is_taken_on_a_full_disk(small_disk: Path) -> None:
    from ato_desktop.store.process_lease import ProcessLease, owner_is_alive

    leases = small_disk / "leases"
    leases.mkdir()
    _fill(small_disk / "filler")
    lease = ProcessLease(leases)
    try:
        assert owner_is_alive(leases, lease.token)
    finally:
        lease.release()
    assert not owner_is_alive(leases, lease.token)
