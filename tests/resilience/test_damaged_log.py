"""A damaged log, large (over the 64 MB a full quick check is run for) or small: refused with
the same message by every command and every process, never written to, nothing left beside
it; damage met after the open says the same; `ato-desktop doctor` checks it, backs it up and
recovers what can be read into a new log without touching the original.

Real processes (`ato-desktop`), real SQLite files damaged byte for byte.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import NewAction, NewRun, RunEnd
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.database import QUICK_CHECK_MAX_BYTES, DatabaseCorruptError
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.paths import DataPaths
from tests.fakes import FakeLLMServer
from tests.test_cli import _env

REPO = Path(__file__).resolve().parents[2]
PAGE = 4096
RUNS = 2500
ACTIONS = 8


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cli_process(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ato_desktop", *args],
        env=_env(home),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        start_new_session=True,
    )


def build_log(home: Path, runs: int, payload: int) -> list[str]:
    """A log of `runs` runs of ACTIONS actions each carrying about `payload` bytes; the ids."""
    ws = Workspace.open(DataPaths(home))
    ids: list[str] = []
    try:
        agent = ws.agents.create("a", AgentConfig("claude", "claude-sonnet-5"))
        start = int(time.time() * 1000) - 10 * 86_400_000
        for first in range(0, runs, 250):
            items = [
                (
                    NewRun("claude", "claude-sonnet-5", "cli", start + i * 1000,
                           agent_id=agent.id, agent_version_id=agent.current_version_id),
                    RunEnd("completed", start + i * 1000 + 500, 5 * 10**8),
                    [NewAction("call_llm", "llm", "success", start + i * 1000,
                               inputs={"prompt": f"{i} " + "p" * payload},
                               outputs={"text": "o" * (payload // 3)})
                     for _ in range(ACTIONS)],
                )
                for i in range(first, min(first + 250, runs))
            ]  # fmt: skip
            ws.store.ingest(items).result()
        ids = [str(r[0]) for r in ws.store.reader().execute("SELECT id FROM runs ORDER BY run_no")]
    finally:
        ws.close()
    conn = sqlite3.connect(DataPaths(home).database)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return ids


def scribble(database: Path, start_fraction: float, length_fraction: float) -> None:
    """Overwrite whole pages from start_fraction of the file for length_fraction of it."""
    data = bytearray(database.read_bytes())
    first = int(len(data) * start_fraction) // PAGE * PAGE
    last = first + max(PAGE, int(len(data) * length_fraction) // PAGE * PAGE)
    data[first:last] = b"\xff" * (last - first)
    database.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def large_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A sound log over QUICK_CHECK_MAX_BYTES (built once; each test damages a copy)."""
    home = tmp_path_factory.mktemp("large-log")
    ids = build_log(home, RUNS, 4000)
    assert DataPaths(home).database.stat().st_size > QUICK_CHECK_MAX_BYTES
    return home, ids


def copy_of(source: Path, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy2(DataPaths(source).database, DataPaths(home).database)
    return home


def assert_nothing_beside(home: Path) -> None:
    database = DataPaths(home).database
    assert not Path(f"{database}-wal").exists() and not Path(f"{database}-shm").exists()


def test_a_damaged_large_log_is_refused_everywhere_and_never_written(
    large_log: tuple[Path, list[str]], tmp_path: Path, fake: FakeLLMServer
) -> None:
    home = copy_of(large_log[0], tmp_path)
    database = DataPaths(home).database
    scribble(database, 0.45, 0.08)
    before = digest(database)
    listed = cli_process(home, "runs", "list")
    assert listed.returncode == 3, listed.stderr
    assert "is damaged" in listed.stderr and "ato-desktop doctor" in listed.stderr
    assert "Traceback" not in listed.stderr and "unexpected error" not in listed.stderr
    assert "\n" not in listed.stderr.strip()  # one message, one line
    for args in (
        ("dispatch", "--runtime", "claude", "--model", "m", "--base-url",
         fake.anthropic_base_url, "hello"),
        ("agents", "add", "b", "--runtime", "claude", "--model", "m"),
        ("schedules", "daemon", "--once"),
        ("retention", "run", "--days", "1"),
    ):  # fmt: skip
        done = cli_process(home, *args)
        assert done.returncode == 3, (args, done.stderr)
        assert "is damaged" in done.stderr and "doctor" in done.stderr
    assert fake.requests == []
    assert digest(database) == before
    assert_nothing_beside(home)
    assert not list((home / "logs").glob("crash-*"))


def test_damage_met_after_the_open_is_the_same_refusal_and_stops_every_write(
    tmp_path: Path,
) -> None:
    """A log that checks out at open and is damaged under a running process: the first read
    that meets the damage gives the damage message, that process writes nothing more, and
    every other process refuses the log from then on."""
    home = tmp_path / "home"
    ids = build_log(home, 600, 3000)
    database = DataPaths(home).database
    log = ExecutionLog.open(DataPaths(home))
    try:
        scribble(database, 0.2, 0.6)
        before = digest(database)

        async def read_all() -> None:
            for run_id in ids:
                await log.read_async(log.get_actions, run_id)

        with pytest.raises(DatabaseCorruptError, match="is damaged") as met:
            asyncio.run(read_all())
        assert "doctor" in str(met.value)
        refused = log.submit(lambda conn, _emit: conn.execute("DELETE FROM runs"))
        with pytest.raises(DatabaseCorruptError):
            refused.result(timeout=10)
        assert log.damage is not None
    finally:
        log.close()
    assert digest(database) == before
    other = cli_process(home, "agents", "list")
    assert other.returncode == 3 and "found by an earlier check" in other.stderr


def test_a_read_meeting_damage_in_the_cli_is_the_damage_message(tmp_path: Path) -> None:
    """Damage no check at open can see (a changed byte inside a stored answer: every page
    still well formed, the text no longer UTF-8) met by `runs show`: the damage message and
    exit 3, not a crash report; from then on the log is refused by every process."""
    home = tmp_path / "home"
    ids = build_log(home, 40, 200)
    database = DataPaths(home).database
    conn = sqlite3.connect(database)
    try:
        with conn:
            conn.execute(
                "UPDATE actions SET outputs_json = ? WHERE run_no = (SELECT run_no FROM runs "
                "WHERE id = ?)",
                ('{"text": "MARKER-0123456789"}', ids[7]),
            )
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    data = database.read_bytes()
    at = data.index(b"MARKER-0123456789")
    database.write_bytes(data[:at] + b"\xff" + data[at + 1 :])
    assert cli_process(home, "runs", "list").returncode == 0  # the check at open passes
    shown = cli_process(home, "runs", "show", ids[7])
    assert shown.returncode == 3, shown.stderr
    assert "is damaged" in shown.stderr and "doctor" in shown.stderr
    assert "Traceback" not in shown.stderr and not list((home / "logs").glob("crash-*"))
    refused = cli_process(home, "agents", "add", "b", "--runtime", "claude", "--model", "m")
    assert refused.returncode == 3 and "found by an earlier check" in refused.stderr


def test_refusing_a_damaged_small_log_leaves_nothing_beside_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    build_log(home, 300, 500)
    database = DataPaths(home).database
    assert database.stat().st_size < QUICK_CHECK_MAX_BYTES
    scribble(database, 0.5, 0.1)
    before = digest(database)
    for _ in range(2):
        done = cli_process(home, "runs", "list")
        assert done.returncode == 3 and "is damaged" in done.stderr
    assert digest(database) == before
    assert_nothing_beside(home)


def test_doctor_checks_backs_up_and_recovers_without_touching_the_original(
    large_log: tuple[Path, list[str]], tmp_path: Path
) -> None:
    home = copy_of(large_log[0], tmp_path)
    database = DataPaths(home).database
    sound = cli_process(home, "doctor", "--json")
    assert sound.returncode == 0, sound.stderr
    assert json.loads(sound.stdout)["sound"] is True
    scribble(database, 0.45, 0.08)
    before = digest(database)
    checked = cli_process(home, "doctor")
    assert checked.returncode == 1, checked.stderr
    assert "is damaged" in checked.stdout and "doctor --recover" in checked.stdout
    assert "checking runs" in checked.stderr  # progress, table by table
    done = cli_process(home, "doctor", "--recover", "--json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert digest(database) == before  # the original, never touched
    assert_nothing_beside(home)
    assert digest(Path(report["backup"])) == before  # the backup is the file as it was
    recovered = Path(report["recovered"]["file"])
    assert report["recovered"]["check"] == ["ok"]
    assert recovered.parent == database.parent and recovered != database
    # Most of what was written is back, and nothing in it is damaged.
    tables = report["recovered"]["tables"]
    assert tables["runs"]["copied"] >= RUNS * 0.75
    assert tables["actions"]["copied"] >= RUNS * ACTIONS * 0.75
    assert tables["agents"]["copied"] == 1
    # Switched in as the doctor says, it is a working log.
    database.rename(database.with_name("ato.sqlite3.damaged-copy"))
    recovered.rename(database)
    (home / "ato.sqlite3.damaged").unlink(missing_ok=True)
    listed = cli_process(home, "runs", "list", "--json", "--limit", "0")
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == tables["runs"]["copied"]
    assert cli_process(home, "doctor").returncode == 0


def test_doctor_clears_a_note_when_the_log_checks_out(tmp_path: Path) -> None:
    """A note left by a damage reading that a full check does not confirm (the file restored
    in place by a copy that kept its inode) is removed by a sound check."""
    home = tmp_path / "home"
    build_log(home, 50, 100)
    note = DataPaths(home).database.with_name("ato.sqlite3.damaged")
    from ato_desktop.store import damage

    damage.record_damage(DataPaths(home).database, "a test note")
    assert note.exists() and cli_process(home, "runs", "list").returncode == 3
    done = cli_process(home, "doctor")
    assert done.returncode == 0 and "removed" in done.stdout
    assert not note.exists()
    assert cli_process(home, "runs", "list").returncode == 0


def test_a_file_found_sound_is_checked_again_once_it_changes(tmp_path: Path) -> None:
    """The note that a check found the log sound spares an unchanged file the pages check, and
    any change to the file (here: damage written behind SQLite's back) makes the next open
    check again and refuse it."""
    from ato_desktop.store import damage

    home = tmp_path / "home"
    build_log(home, 300, 500)
    database = DataPaths(home).database
    assert cli_process(home, "runs", "list").returncode == 0
    assert damage.checked_sound(database)  # the reading command's check was written down
    assert cli_process(home, "runs", "list").returncode == 0
    scribble(database, 0.5, 0.1)
    assert not damage.checked_sound(database)  # the file changed: the note no longer holds
    before = digest(database)
    done = cli_process(home, "runs", "list")
    assert done.returncode == 3 and "is damaged" in done.stderr
    assert not damage.sound_note_path(database).exists()
    assert digest(database) == before
