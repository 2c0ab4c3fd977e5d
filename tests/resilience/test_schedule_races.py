"""A scheduled fire runs exactly once, whatever number of schedulers look at the log.

Real processes race on the same fires: scheduler workers that open the workspace as
`schedules daemon` does and all look at the same instant (schedule_race_worker.py), round after
round; and real `ato-desktop schedules daemon --once` processes started together, as a system
cron beside a running daemon would. Before each round the test sets every schedule's progress
to one minute before the latest minute boundary, so exactly one fire of each is due, on time.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from ato_desktop.core.automations import (
    AutomationKind,
    MissedFires,
    Overlap,
    ScheduleSpec,
    TargetKind,
)
from ato_desktop.core.models import AgentConfig
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.paths import DataPaths
from tests.fakes import FakeLLMServer, Scenario
from tests.test_cli import _env

REPO = Path(__file__).resolve().parents[2]
SCHEDULES = 4
WORKERS = int(os.environ.get("ATO_RACE_WORKERS", "5"))
ROUNDS = int(os.environ.get("ATO_RACE_ROUNDS", "12"))
MINUTE_MS = 60_000
# A round must end inside the minute it started in: a later boundary would make a second fire
# due (legitimately), which is not what the round counts.
LATEST_START_IN_MINUTE_MS = 40_000


def prepare(home: Path, fake: FakeLLMServer) -> list[str]:
    ws = Workspace.open(DataPaths(home))
    try:
        ws.agents.create(
            "a", AgentConfig("claude", "claude-sonnet-5", base_url=fake.anthropic_base_url)
        )
        ids = []
        for number in range(SCHEDULES):
            spec = ScheduleSpec(
                "* * * * *",
                "UTC",
                TargetKind.AGENT,
                "a",
                "tick",
                missed=MissedFires.RUN_ONCE,
                overlap=Overlap.ALLOW,
            )
            record = ws.automations.definitions.add(AutomationKind.SCHEDULE, f"s{number}", spec)
            ids.append(record.id)
        return ids
    finally:
        ws.close()


def arm_one_fire(db: Path, schedule_ids: list[str]) -> None:
    """Every schedule's progress one minute before the latest boundary: one fire due each."""
    now = int(time.time() * 1000)
    if now % MINUTE_MS > LATEST_START_IN_MINUTE_MS:
        time.sleep((MINUTE_MS - now % MINUTE_MS) / 1000 + 0.2)
        now = int(time.time() * 1000)
    boundary = now - now % MINUTE_MS
    conn = sqlite3.connect(db, timeout=30)
    try:
        with conn:
            conn.executemany(
                "INSERT INTO schedule_state (automation_id, last_fire_at, last_run_id, "
                "last_note, updated_at) VALUES (?, ?, NULL, '', ?) ON CONFLICT (automation_id) "
                "DO UPDATE SET last_fire_at = excluded.last_fire_at, last_run_id = NULL",
                [(sid, boundary - MINUTE_MS, now) for sid in schedule_ids],
            )
    finally:
        conn.close()


def runs_by_schedule(db: Path) -> Counter[str]:
    conn = sqlite3.connect(db, timeout=30)
    try:
        rows = conn.execute(
            "SELECT json_extract(tags_json, '$.schedule') FROM runs WHERE \"trigger\" = 'cron'"
        ).fetchall()
    finally:
        conn.close()
    return Counter(str(row[0]) for row in rows)


def wait_for(paths: list[Path], what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not all(p.exists() for p in paths):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_each_fire_runs_once_when_schedulers_look_at_the_same_instant(
    tmp_path: Path, fake: FakeLLMServer
) -> None:
    fake.scenario = Scenario(chunks=("fired",))
    home, signals = tmp_path / "home", tmp_path / "signals"
    signals.mkdir()
    schedule_ids = prepare(home, fake)
    db = DataPaths(home).database
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.resilience.schedule_race_worker", str(home),
             str(signals), str(ROUNDS)],
            env=_env(home),
            cwd=REPO,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        for _ in range(WORKERS)
    ]  # fmt: skip
    try:
        wait_for([signals / f"ready-{w.pid}" for w in workers], "the workers to open the log")
        expected: Counter[str] = Counter()
        for number in range(ROUNDS):
            arm_one_fire(db, schedule_ids)
            (signals / f"go-{number}").touch()
            wait_for([signals / f"done-{number}-{w.pid}" for w in workers], f"round {number}")
            started = Counter()
            for worker in workers:
                for fire in json.loads((signals / f"done-{number}-{worker.pid}").read_text()):
                    started[fire["schedule"]] += fire["action"] == "started"
            # Each schedule's fire was started by exactly one of the workers...
            assert started == Counter({f"s{n}": 1 for n in range(SCHEDULES)}), (number, started)
            expected.update(started)
            # ...and the log holds exactly one run for it: no fire ran twice.
            assert runs_by_schedule(db) == expected, number
        for worker in workers:
            assert worker.wait(60) == 0, worker.stderr.read() if worker.stderr else ""
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait(10)
    assert len(fake.requests) == SCHEDULES * ROUNDS


def test_cron_started_daemon_once_processes_fire_each_schedule_once(
    tmp_path: Path, fake: FakeLLMServer
) -> None:
    fake.scenario = Scenario(chunks=("fired",))
    home = tmp_path / "home"
    schedule_ids = prepare(home, fake)
    db = DataPaths(home).database
    expected: Counter[str] = Counter()
    for _round in range(2):
        arm_one_fire(db, schedule_ids)
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "ato_desktop", "schedules", "daemon", "--once"],
                env=_env(home),
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            for _ in range(4)
        ]
        outputs = [p.communicate(timeout=120) for p in processes]
        assert [p.returncode for p in processes] == [0] * 4, outputs
        started = sum(out.count(": started") for out, _err in outputs)
        assert started == SCHEDULES, outputs
        expected.update({f"s{n}": 1 for n in range(SCHEDULES)})
        assert runs_by_schedule(db) == expected
