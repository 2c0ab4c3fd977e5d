"""Another process holding the log's write lock past the busy timeout: a dispatch that has
printed its answer waits it out and records its end (never "interrupted, no output, no cost"),
and retention and import never hold the lock for long themselves.

Real processes: the `ato-desktop dispatch` CLI, and a second Python process that takes the
write lock (BEGIN IMMEDIATE) and keeps it longer than the 10 s busy timeout.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from ato_desktop.core.models import AgentConfig
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.database import BUSY_TIMEOUT_MS
from ato_desktop.store.paths import DataPaths
from tests.fakes import FakeLLMServer, Scenario
from tests.test_cli import _env

REPO = Path(__file__).resolve().parents[2]
CHUNKS = ("one ", "two ", "three ", "four ", "five ", "six ", "seven ", "eight ", "nine ", "ten")
DELAY_S = 0.5
# From the first word printed: the rest of the answer streams, then the run's end waits the busy
# timeout and gives up (SQLite counts the time it slept, which a loaded machine stretches: hence
# more than twice the timeout), then is tried again until the lock goes.
HOLD_S = len(CHUNKS) * DELAY_S + 2.5 * BUSY_TIMEOUT_MS / 1000 + 3

LOCKER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
sys.stdin.readline()  # started ahead, so the lock is taken the moment the test says
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
print("released", flush=True)
"""


def test_a_dispatch_ending_while_another_process_holds_the_log_records_its_end(
    ato_home: Path, fake: FakeLLMServer, keys: object
) -> None:
    ws = Workspace.open(DataPaths(ato_home))
    try:
        ws.agents.create(
            "a", AgentConfig("claude", "claude-sonnet-5", base_url=fake.anthropic_base_url)
        )
    finally:
        ws.close()
    fake.scenario = Scenario(chunks=CHUNKS, delay_s=DELAY_S)
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(DataPaths(ato_home).database), str(HOLD_S)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    dispatch = subprocess.Popen(
        [sys.executable, "-m", "ato_desktop", "dispatch", "--agent", "a", "count"],
        env=_env(ato_home),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert dispatch.stderr is not None and dispatch.stdout is not None
        first = dispatch.stderr.readline()
        assert first.startswith("run "), first
        run_id = first.split()[1]
        # The answer is streaming (its first words printed): another process takes the
        # write lock now and keeps it past the busy timeout, over the run's end.
        printed = dispatch.stdout.read(len(CHUNKS[0]))
        assert printed == CHUNKS[0]
        assert locker.stdin is not None and locker.stdout is not None
        locker.stdin.write("go\n")
        locker.stdin.flush()
        assert locker.stdout.readline().strip() == "locked"
        locked_at = time.monotonic()
        out, err = dispatch.communicate(timeout=HOLD_S + 120)
        waited = time.monotonic() - locked_at
    finally:
        for process in (dispatch, locker):
            if process.poll() is None:
                process.kill()
                process.wait(10)
    assert dispatch.returncode == 0, err
    assert locker.wait(30) == 0
    assert printed + out == "".join(CHUNKS) + "\n"
    # It had to wait: the lock outlived the busy timeout, and the end was still recorded.
    assert waited >= HOLD_S - 1
    assert "still trying to record the end of run" in err
    conn = sqlite3.connect(DataPaths(ato_home).database)
    try:
        status, cost, actions = conn.execute(
            "SELECT status, cost_usd, action_count FROM runs WHERE id = ?",
            (run_id,),
        ).fetchone()
        [answer] = conn.execute(
            "SELECT json_extract(outputs_json, '$.text') FROM actions a JOIN runs r "
            "ON r.run_no = a.run_no WHERE r.id = ?",
            (run_id,),
        ).fetchone()
    finally:
        conn.close()
    assert (status, actions) == ("completed", 1)
    assert answer == "".join(CHUNKS) and cost is not None and cost > 0


# -- bulk writers leave the log to others ------------------------------------------------------

PROBE = """
import json, os, sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=120)
stop = sys.argv[2]
waits = []
print("probing", flush=True)
while not os.path.exists(stop):
    started = time.monotonic()
    conn.execute("BEGIN IMMEDIATE")
    waits.append(time.monotonic() - started)
    conn.execute("COMMIT")
    time.sleep(0.02)
print(json.dumps(waits), flush=True)
"""
OLD_RUNS = 1000
ACTIONS_PER_RUN = 25
# The longest another process may wait for the write lock while retention or an import runs:
# their jobs aim at 0.15 s each (a loaded machine stretches that), with a pause between jobs.
MAX_WAIT_S = 1.0


def _old_log(home: Path) -> None:
    """OLD_RUNS runs from 200 days ago with ACTIONS_PER_RUN actions each (about 1 KB each)."""
    from ato_desktop.core.records import NewAction, NewRun, RunEnd

    start = int(time.time() * 1000) - 200 * 86_400_000
    ws = Workspace.open(DataPaths(home))
    try:
        for first in range(0, OLD_RUNS, 250):
            ws.store.ingest(
                [
                    (
                        NewRun("claude", "claude-sonnet-5", "cli", start + i * 1000),
                        RunEnd("completed", start + i * 1000 + 500, 5 * 10**8),
                        [
                            NewAction(
                                "call_llm",
                                "llm",
                                "success",
                                start + i * 1000,
                                inputs={"prompt": "p" * 400},
                                outputs={"text": "o" * 600},
                            )
                            for _ in range(ACTIONS_PER_RUN)
                        ],
                    )
                    for i in range(first, min(first + 250, OLD_RUNS))
                ]
            ).result()
    finally:
        ws.close()


def _with_probe(
    home: Path, tmp: Path, *args: str
) -> tuple[subprocess.CompletedProcess[str], list[float]]:
    """Run an `ato-desktop` command while another process keeps taking the write lock;
    the command's result and how long each of the probe's takes waited."""
    stop = tmp / f"stop-{args[1]}"
    probe = subprocess.Popen(
        [sys.executable, "-c", PROBE, str(DataPaths(home).database), str(stop)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert probe.stdout is not None and probe.stdout.readline().strip() == "probing"
        done = subprocess.run(
            [sys.executable, "-m", "ato_desktop", *args],
            env=_env(home),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=600,
        )
        stop.touch()
        waits = json.loads(probe.stdout.readline())
    finally:
        if probe.poll() is None:
            stop.touch()
            try:
                probe.wait(60)
            except subprocess.TimeoutExpired:
                probe.kill()
    return done, waits


def test_retention_and_import_never_hold_the_log_for_long(ato_home: Path, tmp_path: Path) -> None:
    _old_log(ato_home)
    done, waits = _with_probe(ato_home, tmp_path, "retention", "run", "--days", "30", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["removed"] == OLD_RUNS and result["actions"] == OLD_RUNS * ACTIONS_PER_RUN
    assert len(waits) > 20 and max(waits) < MAX_WAIT_S, sorted(waits)[-5:]
    done, waits = _with_probe(
        ato_home, tmp_path, "retention", "import", result["archive"], "--json"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["runs"] == OLD_RUNS
    assert len(waits) > 20 and max(waits) < MAX_WAIT_S, sorted(waits)[-5:]
