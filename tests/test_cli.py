"""The CLI as a user drives it: real processes, a real log, the wire fakes."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ato_desktop import cli
from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import RunFilter
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.paths import DataPaths
from tests.fakes import FakeLLMServer, Scenario

REPO = Path(__file__).resolve().parents[1]
ANTHROPIC_KEY = "sk-ant-api03-CLITESTKEY-abcdefghijklmnopqrstuvwxyz012345"
OPENAI_KEY = "sk-proj-CLITESTKEY-0123456789abcdefghijklmnopqrstuv"


def _env(ato_home: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ATO_HOME=str(ato_home),
        ATO_OFFLINE="1",
        ANTHROPIC_API_KEY=ANTHROPIC_KEY,
        OPENAI_API_KEY=OPENAI_KEY,
        NO_PROXY="127.0.0.1,localhost",
        # A subprocess must never touch the developer's real keyring.
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        PYTHONPATH=str(REPO),
    )
    env.update(extra)
    return env


def run_cli(
    ato_home: Path, *args: str, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ato_desktop", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=_env(ato_home, **env),
        timeout=60,
        cwd=REPO,
        # No controlling terminal, as in CI: nothing can prompt on /dev/tty and hang a test.
        start_new_session=True,
    )


def in_process(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = cli.main(list(args), stdout=out)
    return code, out.getvalue()


# -- documentation --------------------------------------------------------------------------


def _subcommands() -> list[str]:
    import argparse

    found: list[str] = []

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{prefix} {name}")
                return
        found.append(prefix.strip())

    walk(cli.build_parser(), "")
    return found


def test_every_subcommand_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    commands = _subcommands()
    assert len(commands) >= 11
    for command in commands:
        assert f"`ato-desktop {command}" in readme, f"README does not document {command!r}"


def test_help_lists_the_commands() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ato_desktop", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=_env(Path("/nonexistent-never-used")),
        timeout=30,
    )
    assert done.returncode == 0 and "dispatch" in done.stdout and "agents" in done.stdout


def test_no_display_says_so_instead_of_crashing() -> None:
    env = _env(Path("/nonexistent-never-used"))
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        env.pop(var, None)
    done = subprocess.run(
        [sys.executable, "-m", "ato_desktop"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=30,
    )
    assert done.returncode == 2 and "needs a display" in done.stderr


# -- agents ---------------------------------------------------------------------------------


def test_agents_add_edit_list_history(ato_home: Path, tmp_path: Path) -> None:
    prompt = tmp_path / "prompt.md"
    prompt.write_text("You are careful.\n")
    code, out = in_process(
        "agents",
        "add",
        "writer",
        "--runtime",
        "claude",
        "--model",
        "claude-sonnet-5",
        "--system-prompt-file",
        str(prompt),
        "--param",
        "temperature=0.2",
        "--role-model",
        "planner=claude-opus-5",
    )
    assert code == 0 and "version 1" in out
    code, out = in_process(
        "agents",
        "edit",
        "writer",
        "--model",
        "claude-opus-5",
        "--param",
        "temperature=null",
        "--param",
        "max_tokens=512",
    )
    assert code == 0 and "version 2" in out and "model: claude-sonnet-5 -> claude-opus-5" in out
    code, out = in_process("agents", "edit", "writer", "--model", "claude-opus-5")
    assert code == 0 and "no change" in out
    code, out = in_process("agents", "list", "--json")
    (agent,) = json.loads(out)
    assert (agent["name"], agent["version"], agent["model"]) == ("writer", 2, "claude-opus-5")
    assert agent["params"] == {"max_tokens": 512}
    assert agent["system_prompt"] == "You are careful.\n"
    assert agent["role_models"] == {"planner": "claude-opus-5"}
    code, out = in_process("agents", "history", "writer", "--json")
    history = json.loads(out)
    assert [v["version"] for v in history["versions"]] == [2, 1]
    changes = {c["path"]: (c["before"], c["after"]) for c in history["versions"][0]["changes"]}
    assert changes == {
        "model": ("claude-sonnet-5", "claude-opus-5"),
        "params.temperature": (0.2, None),
        "params.max_tokens": (None, 512),
    }


def test_agent_input_errors_are_clear(ato_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        in_process(
            "agents", "add", "x", "--runtime", "claude", "--model", "m", "--base-url", "ftp://nope"
        )[0]
        == 2
    )
    assert "must be an http(s) URL" in capsys.readouterr().err
    assert (
        in_process("agents", "add", "x", "--runtime", "claude", "--model", "m", "--param", "oops")[
            0
        ]
        == 2
    )
    assert "key=value" in capsys.readouterr().err
    assert in_process("agents", "edit", "ghost", "--model", "m")[0] == 2
    assert "No agent named 'ghost'" in capsys.readouterr().err
    assert (
        in_process(
            "agents",
            "add",
            "x",
            "--runtime",
            "claude",
            "--model",
            "m",
            "--system-prompt-file",
            "/no/such/file",
        )[0]
        == 2
    )
    assert "cannot read /no/such/file" in capsys.readouterr().err


# -- dispatch -------------------------------------------------------------------------------


def test_dispatch_streams_and_runs_show_has_the_facts(ato_home: Path, fake: FakeLLMServer) -> None:
    fake.scenario = Scenario(chunks=("Four", ".", "\n"))
    assert (
        run_cli(
            ato_home,
            "agents",
            "add",
            "writer",
            "--runtime",
            "claude",
            "--model",
            "claude-sonnet-5",
            "--base-url",
            fake.anthropic_base_url,
        ).returncode
        == 0
    )
    done = run_cli(ato_home, "dispatch", "--agent", "writer", "What is 2+2?")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Four.\n"
    first_line = done.stderr.splitlines()[0]
    assert first_line.startswith("run ")
    run_id = first_line.split()[1]
    assert "completed" in done.stderr and "est." in done.stderr
    shown = run_cli(ato_home, "runs", "show", run_id[-8:], "--json")
    data = json.loads(shown.stdout)
    assert data["id"] == run_id and data["status"] == "completed"
    assert data["tokens"]["input"] > 0 and data["tokens"]["output"] > 0
    assert data["cost_source"] == "estimated" and data["cost_usd"] > 0
    assert data["ttft_ms"] > 0 and data["duration_ms"] >= data["ttft_ms"]
    assert data["started_at"].endswith("Z") and data["error_class"] is None
    assert data["actions"][0]["outputs"]["text"] == "Four.\n"


def test_dispatch_unknown_model_shows_cost_unknown(ato_home: Path, fake: FakeLLMServer) -> None:
    # codex, not openai-compatible: a server on the fake's loopback address would be "local".
    done = run_cli(
        ato_home,
        "dispatch",
        "--runtime",
        "codex",
        "--model",
        "house-model-7b",
        "--base-url",
        fake.openai_base_url,
        "hi",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["cost_usd"], data["cost_source"]) == (None, "unknown")
    assert "unknown" in done.stderr


def test_dispatch_auth_failure_says_how_to_set_the_key(ato_home: Path, fake: FakeLLMServer) -> None:
    fake.scenario = Scenario(status=401)
    done = run_cli(
        ato_home,
        "dispatch",
        "--runtime",
        "codex",
        "--model",
        "gpt-5",
        "--base-url",
        fake.openai_base_url,
        "hi",
    )
    assert done.returncode == 1
    assert "error (auth)" in done.stderr and "ato-desktop keys set openai" in done.stderr
    assert OPENAI_KEY not in done.stderr + done.stdout


def _start_dispatch(ato_home: Path, fake: FakeLLMServer) -> tuple[subprocess.Popen[str], str]:
    fake.scenario = Scenario(chunks=("partial ", "answer ", "never"), stall_after=2)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ato_desktop",
            "dispatch",
            "--runtime",
            "claude",
            "--model",
            "claude-sonnet-5",
            "--base-url",
            fake.anthropic_base_url,
            "--stall-timeout",
            "5m",
            "tell me",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(ato_home),
        cwd=REPO,
    )
    assert process.stderr is not None and process.stdout is not None
    run_id = process.stderr.readline().split()[1]
    # The two chunks have reached the dispatcher (it flushes stdout per chunk); now it hangs.
    assert process.stdout.read(len("partial answer ")) == "partial answer "
    return process, run_id


def _wait_for(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_ctrl_c_kills_the_dispatch_and_exits_130(ato_home: Path, fake: FakeLLMServer) -> None:
    process, run_id = _start_dispatch(ato_home, fake)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=10)
    assert process.returncode == 130, stderr
    assert stdout == "\n" and "killed" in stderr
    data = json.loads(run_cli(ato_home, "runs", "show", run_id, "--json").stdout)
    assert data["status"] == "killed"
    assert data["actions"][0]["outputs"]["text"] == "partial answer "
    assert fake.last_request.disconnected.wait(5)


def test_runs_kill_from_another_process(ato_home: Path, fake: FakeLLMServer) -> None:
    process, run_id = _start_dispatch(ato_home, fake)
    started = time.monotonic()
    done = run_cli(ato_home, "runs", "kill", run_id, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [{"id": run_id, "result": "killed"}]
    assert process.wait(timeout=10) == 130
    assert time.monotonic() - started < 5  # includes two interpreter start-ups
    assert fake.last_request.disconnected.wait(5)
    data = json.loads(run_cli(ato_home, "runs", "show", run_id, "--json").stdout)
    assert data["status"] == "killed" and data["actions"][0]["outputs"]["partial"] is True
    assert run_cli(ato_home, "runs", "kill", run_id).stdout.strip().endswith("already killed")


def test_kill_9_mid_dispatch_leaves_an_interrupted_run_in_a_sound_log(
    ato_home: Path, fake: FakeLLMServer
) -> None:
    process, run_id = _start_dispatch(ato_home, fake)

    def checkpointed() -> bool:
        data = json.loads(run_cli(ato_home, "runs", "show", run_id, "--json").stdout)
        return bool(data.get("partial_output"))

    _wait_for(checkpointed)  # the partial answer reached the log (about once a second)
    process.kill()  # SIGKILL: no cleanup of any kind
    process.wait(timeout=10)
    data = json.loads(run_cli(ato_home, "runs", "show", run_id, "--json").stdout)
    assert (data["status"], data["error_class"]) == ("interrupted", "interrupted")
    (action,) = data["actions"]
    assert action["outputs"] == {"text": "partial answer ", "partial": True}
    assert action["inputs"]["messages"] == [{"role": "user", "content": "tell me"}]
    assert action["tokens"]["estimated"] is True
    conn = sqlite3.connect(ato_home / "ato.sqlite3")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_a_live_dispatch_is_not_interrupted_by_another_start(
    ato_home: Path, fake: FakeLLMServer
) -> None:
    process, run_id = _start_dispatch(ato_home, fake)
    try:
        data = json.loads(run_cli(ato_home, "runs", "show", run_id, "--json").stdout)
        assert data["status"] == "running"
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)


# -- runs list, export ----------------------------------------------------------------------


def _seed(ato_home: Path) -> None:
    from benchmarks.workload import synthetic_runs

    ws = Workspace.open(DataPaths(ato_home))
    a = ws.agents.create("alpha", AgentConfig("claude", "claude-sonnet-5"))
    b = ws.agents.create("beta", AgentConfig("codex", "gpt-5"))
    # Runs are 6 h apart ending at now_ms: 3 h back, no run sits on a whole-day boundary such as
    # --since 7d's, where the CLI's clock and the test's would disagree about it.
    now = int(time.time() * 1000) - 3 * 3_600_000
    ws.store.ingest(
        synthetic_runs(
            120,
            3,
            [(a.id, a.current_version_id), (b.id, b.current_version_id)],
            now_ms=now,
            days=30,
        )
    ).result()
    ws.close()


def test_runs_list_filters_combine(ato_home: Path) -> None:
    _seed(ato_home)
    code, out = in_process("runs", "list", "--json", "--limit", "0")
    everything = json.loads(out)
    assert len(everything) == 120
    code, out = in_process(
        "runs",
        "list",
        "--json",
        "--limit",
        "0",
        "--status",
        "completed",
        "--agent",
        "alpha",
        "--since",
        "7d",
        "--min-cost",
        "0.01",
    )
    rows = json.loads(out)
    cutoff = time.time() - 7 * 86400
    expected = [
        r["id"]
        for r in everything
        if r["status"] == "completed"
        and r["agent"] == "alpha"
        and (r["cost_usd"] or 0) >= 0.01
        and _epoch(r["started_at"]) >= cutoff - 5
    ]
    assert [r["id"] for r in rows] == expected and rows
    code, out = in_process("runs", "list", "--status", "failed,killed")
    assert code == 0 and "completed" not in out


def _epoch(rfc3339: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def test_bad_filters_are_usage_errors(ato_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert in_process("runs", "list", "--since", "yesterday")[0] == 2
    assert "cannot read duration" in capsys.readouterr().err
    assert in_process("runs", "list", "--status", "done")[0] == 2
    assert in_process("runs", "show", "zzzz")[0] == 2


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_export_writes_valid_files_matching_the_filters(
    ato_home: Path, tmp_path: Path, fmt: str
) -> None:
    _seed(ato_home)
    target = tmp_path / f"runs.{fmt}"
    code, _ = in_process(
        "export", "--format", fmt, "--status", "failed", "--agent", "beta", "-o", str(target)
    )
    assert code == 0
    ws = Workspace.open(DataPaths(ato_home))
    beta = ws.store.get_agent("beta")
    expected = [r.id for r in ws.store.iter_runs(RunFilter(statuses=("failed",), agent_id=beta.id))]
    ws.close()
    assert expected
    text = target.read_text()
    if fmt == "jsonl":
        runs = [json.loads(line) for line in text.splitlines()]
        assert [r["id"] for r in runs] == expected
        assert all(len(r["actions"]) == 3 for r in runs)
    elif fmt == "json":
        doc = json.loads(text)
        assert doc["run_count"] == len(expected)
        assert [r["id"] for r in doc["runs"]] == expected
    else:
        rows = list(csv.DictReader(io.StringIO(text)))
        assert len(rows) == 3 * len(expected)  # one row per action
        assert sorted({r["run_id"] for r in rows}) == sorted(expected)
        assert {r["status"] for r in rows} == {"failed"}
        json.loads(rows[0]["action_inputs"])


def test_export_is_whole_or_absent(ato_home: Path, tmp_path: Path) -> None:
    _seed(ato_home)
    from ato_desktop.engine.export import ExportCancelled, export_runs

    target = tmp_path / "out.jsonl"
    target.write_text("previous export\n")
    ws = Workspace.open(DataPaths(ato_home))
    calls = 0

    def cancel() -> bool:
        nonlocal calls
        calls += 1
        return calls > 10

    with pytest.raises(ExportCancelled):
        export_runs(ws.store, RunFilter(), "jsonl", target, cancelled=cancel)
    ws.close()
    assert target.read_text() == "previous export\n"  # untouched, no half file beside it
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


# -- keys -----------------------------------------------------------------------------------


def test_keys_set_reads_stdin_and_status_never_shows_it(
    monkeypatch: pytest.MonkeyPatch, memory_keyring: object
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(ANTHROPIC_KEY + "\n"))
    code, out = in_process("keys", "set", "anthropic")
    assert code == 0 and "saved" in out and ANTHROPIC_KEY not in out
    code, out = in_process("keys", "status", "--json")
    status = json.loads(out)
    assert status["secure"] is True
    assert {k["provider"]: k["present"] for k in status["keys"]} == {
        "anthropic": True,
        "openai": False,
        "openai-compatible": False,
    }
    assert ANTHROPIC_KEY not in out
    code, out = in_process("keys", "remove", "anthropic")
    assert code == 0 and "removed" in out


def test_no_secure_keyring_is_said_plainly_and_nothing_is_written(ato_home: Path) -> None:
    done = run_cli(ato_home, "keys", "set", "openai", stdin=OPENAI_KEY)
    assert done.returncode == 1
    assert "No secure keyring" in done.stderr and OPENAI_KEY not in done.stderr
    status = run_cli(ato_home, "keys", "status")
    assert "No secure keyring" in status.stdout
    written = b"".join(p.read_bytes() for p in ato_home.rglob("*") if p.is_file())
    assert OPENAI_KEY.encode() not in written


# -- the data directory ---------------------------------------------------------------------


def test_newer_or_damaged_log_is_refused_with_exit_3(ato_home: Path) -> None:
    db = ato_home / "ato.sqlite3"
    db.write_bytes(b"\x00garbage" * 512)
    done = run_cli(ato_home, "runs", "list")
    assert done.returncode == 3 and "damaged" in done.stderr and "not modified" in done.stderr
    assert db.read_bytes() == b"\x00garbage" * 512


def test_malformed_prices_file_is_a_clear_error(ato_home: Path) -> None:
    (ato_home / "prices.json").write_text('{"models": {"x": {"input_per_mtok": -1}}}')
    done = run_cli(ato_home, "runs", "list")
    assert done.returncode == 2 and "prices.json" in done.stderr


def test_kill_all_stuck(ato_home: Path, fake: FakeLLMServer) -> None:
    process, run_id = _start_dispatch(ato_home, fake)
    try:
        # Nothing is stuck for an hour yet...
        done = run_cli(ato_home, "runs", "kill", "--all-stuck", "--older-than", "1h")
        assert done.stdout == "Nothing to kill.\n"
        # ...but the stream has been silent for over a second now.
        _wait_for(lambda: time.time() * 1000 - _last_event_ms(ato_home, run_id) > 1500)
        done = run_cli(ato_home, "runs", "kill", "--all-stuck", "--older-than", "1s", "--json")
        assert json.loads(done.stdout) == [{"id": run_id, "result": "killed"}]
        assert process.wait(timeout=10) == 130
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def _last_event_ms(ato_home: Path, run_id: str) -> int:
    conn = sqlite3.connect(ato_home / "ato.sqlite3")
    try:
        return int(
            conn.execute("SELECT last_event_at FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
        )
    finally:
        conn.close()
