"""`ato-desktop demo`: load the demo workspace, refuse a second one, remove it."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ato_desktop import cli
from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import RunFilter
from ato_desktop.engine.workspace import Workspace
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
