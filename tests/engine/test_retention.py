"""Retention's engine side: the setting in settings.json (shared, never overwritten when broken),
the daily job in a worker thread, and a subprocess killed mid-archive that loses nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ato_desktop.core.events import DomainEvent, RunsRemoved
from ato_desktop.core.regressions import Thresholds
from ato_desktop.core.retention import DEFAULT_DAYS, RetentionSettingError
from ato_desktop.engine import retention
from ato_desktop.engine.settings_file import SettingsFileError, save_regression_thresholds
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.paths import DataPaths
from tests.store.test_retention import build_workspace, snapshot

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def paths(ato_home: Path) -> DataPaths:
    return DataPaths(ato_home).ensure()


def test_the_setting_defaults_to_90_days_and_keeps_other_sections(paths: DataPaths) -> None:
    assert retention.retention_days(paths) == DEFAULT_DAYS == 90
    save_regression_thresholds(paths, Thresholds())
    retention.save_retention_days(paths, 30)
    assert retention.retention_days(paths) == 30
    retention.save_retention_days(paths, None)
    assert retention.retention_days(paths) is None
    retention.save_retention_days(paths, 0)  # 0 is off too
    assert retention.retention_days(paths) is None
    assert "regressions" in paths.settings_file.read_text()  # the other section survived
    with pytest.raises(RetentionSettingError):
        retention.save_retention_days(paths, -3)


@pytest.mark.parametrize(
    "text", ['{"retention": {"days": "soon"}}', '{"retention": 5}', "{not json"]
)
def test_a_broken_setting_is_reported_and_the_file_left_alone(paths: DataPaths, text: str) -> None:
    paths.settings_file.write_text(text)
    with pytest.raises(SettingsFileError, match=r"settings\.json"):
        retention.retention_days(paths)
    if text.startswith("{not"):
        with pytest.raises(SettingsFileError):
            retention.save_retention_days(paths, 10)
    assert paths.settings_file.read_text() == text


def test_the_daily_job_archives_in_a_worker_thread_and_publishes_runs_removed(
    paths: DataPaths,
) -> None:
    store = ExecutionLog.open(paths)
    try:
        ws = build_workspace(store, old_runs=8, actions=1)
        seen: list[DomainEvent] = []
        store.bus.subscribe(seen.append)
        results: list[retention.RetentionResult] = []

        async def main() -> None:
            task = asyncio.create_task(
                retention.run_daily(store, paths, first_delay_s=0, on_done=results.append)
            )
            while not results:
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        asyncio.run(main())
        assert results[0].removed == len(ws.old)
        assert snapshot(store, ws.old) == {}
        assert sum(e.count for e in seen if isinstance(e, RunsRemoved)) == len(ws.old)
    finally:
        store.close()


def test_the_daily_job_does_nothing_when_retention_is_off(paths: DataPaths) -> None:
    store = ExecutionLog.open(paths)
    try:
        ws = build_workspace(store, old_runs=3, actions=1)
        retention.save_retention_days(paths, None)

        async def main() -> None:
            task = asyncio.create_task(retention.run_daily(store, paths, first_delay_s=0))
            await asyncio.sleep(0.3)
            task.cancel()

        asyncio.run(main())
        assert len(snapshot(store, ws.old)) == len(ws.old)
        assert retention.list_archives(paths) == []
    finally:
        store.close()


_ARCHIVER = textwrap.dedent(
    """
    import os, sys
    from ato_desktop.engine import retention
    from ato_desktop.store.execution_log import ExecutionLog
    from ato_desktop.store.paths import DataPaths

    paths = DataPaths(__import__("pathlib").Path(sys.argv[1]))
    store = ExecutionLog.open(paths)
    stage_to_die = sys.argv[2]

    def progress(stage, done, total):
        if stage == stage_to_die and done > 0:
            os.kill(os.getpid(), 9)

    retention.run_retention(store, paths, days=90, batch=3, progress=progress)
    """
)


@pytest.mark.parametrize("stage", ["archive", "remove"])
def test_a_process_killed_mid_retention_loses_no_run(paths: DataPaths, stage: str) -> None:
    store = ExecutionLog.open(paths)
    ws = build_workspace(store, old_runs=30, actions=2)
    before = snapshot(store, ws.old)
    store.close()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", _ARCHIVER, str(paths.root), stage],
        env=env,
        timeout=60,
        capture_output=True,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]
    store = ExecutionLog.open(paths)
    try:
        assert store.reader().execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        live = snapshot(store, ws.old)
        archives = retention.list_archives(paths)
        if stage == "archive":  # killed while writing: a .partial at most, every run live
            assert archives == [] and live == before
        else:  # killed while removing: the archive is complete and holds what is gone
            assert len(archives) == 1 and 0 < len(live) < len(before)
            assert retention.verify_archive(archives[0].path)[1] == len(ws.old)
        # Old .partial files go on the next run; then everything due is archived.
        for partial in (paths.root / "archives").glob("*.partial"):
            os.utime(partial, (time.time() - 3600, time.time() - 3600))
        retention.run_retention(store, paths, days=90)
        assert not list((paths.root / "archives").glob("*.partial"))
        for archive in retention.list_archives(paths):
            retention.import_archive(store, archive.path)
        assert snapshot(store, ws.old) == before
    finally:
        store.close()
