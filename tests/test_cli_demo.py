"""`ato-desktop demo`: load the demo workspace, refuse a second one, remove it."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ato_desktop import cli
from ato_desktop.cli.output import Progress
from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import RunFilter
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.demo_data import count_demo_data
from ato_desktop.store.paths import DataPaths

REPO = Path(__file__).resolve().parents[1]


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = cli.main(list(args), stdout=out)
    return code, out.getvalue()


def test_demo_loads_refuses_a_second_one_and_removes(
    ato_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = Workspace.open(DataPaths(ato_home))
    mine = ws.store.create_agent("mine", AgentConfig("claude", "claude-sonnet-5")).result()
    ws.close()

    code, out = run("demo", "--runs", "150", "--seed", "3")
    assert code == cli.EXIT_OK
    assert "Loaded the demo workspace: 150 runs" in out and "demo --remove" in out
    assert capsys.readouterr().err == ""  # no progress when stderr is not a terminal

    _code, out = run("agents", "list", "--json")
    names = {a["name"] for a in json.loads(out)}
    assert {"mine", "support-triage", "code-reviewer", "local-summarizer"} <= names

    code, _ = run("demo")
    assert code == cli.EXIT_USAGE
    assert "already loaded" in capsys.readouterr().err

    code, out = run("demo", "--remove")
    assert code == cli.EXIT_OK
    assert "Removed the demo workspace: 150 runs, 5 agents" in out
    ws = Workspace.open(DataPaths(ato_home))
    try:
        assert ws.store.count_runs(RunFilter()) == 0
        assert [a.id for a in ws.store.list_agents()] == [mine.id]
    finally:
        ws.close()

    code, out = run("demo", "--remove")
    assert code == cli.EXIT_OK and out == "No demo data to remove.\n"


def test_the_same_seed_gives_the_same_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    # The month ends at the current hour; pin it so that two builds see the same hour.
    from ato_desktop.engine import demo

    monkeypatch.setattr(demo, "demo_now_ms", lambda now_ms=None: 1_795_000_000_000)
    ids = []
    for seed in ("9", "9", "10"):
        assert run("demo", "--runs", "120", "--seed", seed)[0] == cli.EXIT_OK
        _code, out = run("runs", "list", "--limit", "0", "--json")
        ids.append([r["id"] for r in json.loads(out)])
        assert run("demo", "--remove")[0] == cli.EXIT_OK
    assert len(ids[0]) == 120
    assert ids[0] == ids[1]
    assert not set(ids[0]) & set(ids[2])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["demo", "--runs", "5"], "--runs must be between 100"),
        (["demo", "--runs", "20000000"], "--runs must be between 100"),
        (["demo", "--remove", "--runs", "500"], "--remove takes no --runs"),
    ],
)
def test_bad_usage_exits_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(*args)
    assert code == cli.EXIT_USAGE and out == ""
    assert message in capsys.readouterr().err


def test_demo_from_a_real_process(ato_home: Path) -> None:
    env = {
        "ATO_HOME": str(ato_home),
        "ATO_OFFLINE": "1",
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    done = subprocess.run(
        [sys.executable, "-m", "ato_desktop", "demo", "--runs", "100"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    assert "100 runs" in done.stdout
    again = subprocess.run(
        [sys.executable, "-m", "ato_desktop", "demo"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=REPO,
    )
    assert again.returncode == 2 and "already loaded" in again.stderr


def _env(ato_home: Path) -> dict[str, str]:
    return {
        "ATO_HOME": str(ato_home),
        "ATO_OFFLINE": "1",
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }


def _demo_runs(database: Path) -> int:
    if not database.exists():
        return 0
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    try:
        return int(conn.execute("SELECT count(*) FROM runs WHERE is_demo = 1").fetchone()[0])
    except sqlite3.OperationalError:  # the schema is being created
        return 0
    finally:
        conn.close()


def test_a_build_killed_half_way_is_cleaned_up_by_the_next_demo(ato_home: Path) -> None:
    """#15.13: kill -9 in the middle of `demo` leaves agents, threads and some runs. While it
    runs, a second `demo` is told another process is loading it; once it is dead, the next
    `demo` removes what it left and loads a whole demo (no "already loaded")."""
    env = _env(ato_home)
    command = [sys.executable, "-m", "ato_desktop", "demo"]
    first = subprocess.Popen(
        [*command, "--runs", "300000"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while _demo_runs(ato_home / "ato.sqlite3") < 4_000:
            assert first.poll() is None, "the build ended before it could be killed"
            assert time.monotonic() < deadline, "the build wrote no runs in 2 minutes"
            time.sleep(0.2)
        busy = subprocess.run(
            [*command, "--runs", "150"], env=env, cwd=REPO, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
        assert busy.returncode == cli.EXIT_USAGE, busy.stderr
        assert "being loaded by another process" in busy.stderr
        first.send_signal(signal.SIGKILL)
    finally:
        if first.poll() is None:
            first.kill()
        first.wait(timeout=30)
    assert _demo_runs(ato_home / "ato.sqlite3") >= 4_000  # what the killed build left

    again = subprocess.run(
        [*command, "--runs", "150"], env=env, cwd=REPO, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "interrupted" in again.stdout and "Loaded the demo workspace: 150 runs" in again.stdout
    assert _demo_runs(ato_home / "ato.sqlite3") == 150
    ws = Workspace.open(DataPaths(ato_home))
    try:
        assert len(ws.store.list_agents()) == 5
        assert count_demo_data(ws.store).automations == 7
    finally:
        ws.close()


def test_demo_shows_what_it_does_on_a_terminal(ato_home: Path) -> None:
    """A build redraws its step and runs written so far on stderr when it is a terminal."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ato_desktop", "demo", "--runs", "5000"],
        env=_env(ato_home),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert proc.wait(timeout=120) == 0
    text = seen.decode()
    assert "loading the demo workspace: writing the runs" in text
    counts = [int(n.replace(",", "")) for n in re.findall(r"([\d,]+)/5,000 runs", text)]
    assert counts[0] == 0 and counts[-1] == 5_000 and counts == sorted(counts)
    assert len(counts) >= 3  # drawn as the batches land, not only at the end


def test_progress_off_a_terminal_is_a_line_every_few_seconds() -> None:
    """In a log or a pipe, a build that takes long says where it is every few seconds (one
    that takes a moment prints nothing)."""
    now = [0.0]
    out = io.StringIO()
    progress = Progress("loading", out, every_s=5.0, clock=lambda: now[0])
    progress.phase("planning the month")
    progress(0, 100_000)
    now[0] = 3.0
    progress(2_000, 100_000)
    assert out.getvalue() == ""  # a quick build stays quiet
    now[0] = 6.0
    progress(4_000, 100_000)
    now[0] = 7.0
    progress(6_000, 100_000)  # too soon for another line
    now[0] = 11.5
    progress(100_000, 100_000)
    progress.phase("rolling up the month for Insights")
    progress.finish()
    assert out.getvalue().splitlines() == [
        "loading: 4,000/100,000 runs (4%)",
        "loading: 100,000/100,000 runs (100%)",
        "loading: rolling up the month for Insights",
    ]
