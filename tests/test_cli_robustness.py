"""Bad input, hostile text and killed commands, through real `ato-desktop` processes: a clear
message and the documented exit code, never a crash report; nothing the log or the network
sent can drive the terminal; nothing left behind by a kill."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import NewAction, NewRun, RunEnd
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.paths import DataPaths
from tests.fakes import FakeLLMServer, Scenario
from tests.resilience.conftest import mounted_tmpfs
from tests.test_cli import _env

REPO = Path(__file__).resolve().parents[1]
# Terminal controls a hostile answer, span or error carries: OSC window title (ESC ... BEL),
# clear screen (CSI), an 8-bit CSI (C1), a lone carriage return, a right-to-left override.
HOSTILE_TEXTS = ("\x1b]0;pwned\x07", "\x1b[2J", "\x9b31m", "over\rwrite", "\u202eevil")
RAW_CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e")


def cli(
    home: Path, *args: str | bytes, stdin: bytes = b"", timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    """A real `ato-desktop` process; arguments may be bytes (what a shell passes through)."""
    return subprocess.run(
        [sys.executable, "-m", "ato_desktop", *args],
        input=stdin,
        capture_output=True,
        env=_env(home),
        timeout=timeout,
        cwd=REPO,
        start_new_session=True,
    )


def crash_reports(home: Path) -> list[Path]:
    return sorted((home / "logs").glob("crash-*.txt")) if (home / "logs").exists() else []


@pytest.fixture
def home_with_agent(ato_home: Path, fake: FakeLLMServer) -> Path:
    ws = Workspace.open(DataPaths(ato_home))
    try:
        ws.agents.create(
            "a", AgentConfig("claude", "claude-sonnet-5", base_url=fake.anthropic_base_url)
        )
    finally:
        ws.close()
    return ato_home


BAD_INPUT = [
    # (arguments, stdin, what the message says)
    (("dispatch", "--agent", "a", "-"), b"caf\xe9", "not UTF-8"),
    (("dispatch", "--agent", "a", b"caf\xe9"), b"", "not UTF-8"),
    (("groups", "run", "g", "-"), b"\xff\xfe", "not UTF-8"),
    (("runs", "list", "--limit", "99999999999999999999"), b"", "out of range"),
    (("runs", "list", "--limit=-99999999999999999999"), b"", "out of range"),
    (("runs", "list", "--min-cost", "nan"), b"", "finite"),
    (("runs", "list", "--min-cost", "inf"), b"", "finite"),
    (("export", "--format", "csv", "--min-cost=-inf"), b"", "finite"),
    (("pipelines", "list", "--limit", "1" + "0" * 30), b"", "out of range"),
    (("agents", "add", "", "--runtime", "claude", "--model", "m"), b"", "needs a name"),
    (("agents", "add", "  ", "--runtime", "claude", "--model", "m"), b"", "needs a name"),
    (
        ("agents", "add", "x", "--runtime", "claude", "--model", "m", "--budget-per-day", "nan"),
        b"",
        "finite",
    ),
    (
        ("schedules", "add", "s", "--cron", "* * * * * *", "--agent", "a", "--prompt", "hi"),
        b"",
        "more than once a minute",
    ),
    (
        ("schedules", "add", "s", "--overlap=--", "--cron", "@daily", "--agent", "a"),
        b"",
        "needs a value",
    ),
    (("determinism", "--agent="), b"", "No agent"),
    (("keys", "set", "anthropic"), b"sk-ant-\xff\xfe", "not UTF-8"),
]


@pytest.mark.parametrize(("args", "stdin", "says"), BAD_INPUT)
def test_bad_input_is_a_usage_error_never_a_crash_report(
    home_with_agent: Path, args: tuple[str | bytes, ...], stdin: bytes, says: str
) -> None:
    done = cli(home_with_agent, *args, stdin=stdin)
    err = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 2, err
    assert err.startswith("error: ") and says in err, err
    assert "Traceback" not in err and "unexpected error" not in err
    assert crash_reports(home_with_agent) == []


@pytest.mark.parametrize(
    "name",
    ["bad\x1b]0;pwned\x07", "rtl\u202eevil", "bell\x07", "tab\there", "two\nlines", "c1\x85"],
)
def test_names_with_control_characters_are_refused_where_they_are_typed(
    home_with_agent: Path, tmp_path: Path, name: str
) -> None:
    skill = tmp_path / "flow.md"
    skill.write_text("# Flow\n## Step 1: Plan\nPlan {input}\n")
    commands = [
        ("agents", "add", name, "--runtime", "claude", "--model", "m"),
        ("groups", "add", name, "--stage", "s1=a"),
        ("groups", "add", "g", "--stage", f"{name}!=a"),  # a stage name is a name too
        ("schedules", "add", name, "--cron", "@daily", "--agent", "a", "--prompt", "hi"),
        ("hooks", "add", name, "--on", "completed", "--agent", "a", "--dispatch-agent", "a"),
        ("skills", "add", name, str(skill), "--agent", "a"),
    ]
    for args in commands:
        done = cli(home_with_agent, *args)
        err = done.stderr.decode()
        assert done.returncode == 2, (args, err)
        assert "cannot contain" in err and "Traceback" not in err, err
        for control in RAW_CONTROLS:
            assert control not in err
    ws = Workspace.open(DataPaths(home_with_agent))
    try:
        assert [a.name for a in ws.store.list_agents()] == ["a"]
        assert ws.automations.definitions.rows() == []
    finally:
        ws.close()


def test_what_came_from_the_network_or_the_log_is_printed_escaped(
    home_with_agent: Path, fake: FakeLLMServer, tmp_path: Path
) -> None:
    answer = " ".join(HOSTILE_TEXTS)
    fake.scenario = Scenario(chunks=HOSTILE_TEXTS)
    done = cli(home_with_agent, "dispatch", "--agent", "a", "hello")
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode()
    assert out.startswith("\\u001b]0;pwned\\u0007\\u001b[2J\\u009b31mover\\u000dwrite")
    # A run written by something else (the OTLP receiver takes names from the network).
    ws = Workspace.open(DataPaths(home_with_agent))
    try:
        run_id, run_no = ws.store.create_run(
            NewRun("external", "model\x1b[31m", "external", 1_700_000_000_000,
                   tags={"service\u202e": "x\x07"}),
            owner=None,
        ).result()  # fmt: skip
        ws.store.complete_run(
            run_id,
            run_no,
            NewAction("span\x1b]2;x\x07", "llm", "error", 1_700_000_000_000, outputs=answer),
            RunEnd("failed", 1_700_000_001_000, 10**9, None, "server", "bad\x1b[2J\u202e"),
        ).result()
    finally:
        ws.close()
    target = tmp_path / "runs.csv"
    printed = [
        cli(home_with_agent, "runs", "list"),
        cli(home_with_agent, "runs", "show", run_id),
        cli(home_with_agent, "runs", "show", run_id, "--json"),
        cli(home_with_agent, "runs", "list", "--json"),
        cli(home_with_agent, "export", "--format", "csv"),
        cli(home_with_agent, "export", "--format", "jsonl"),
        cli(home_with_agent, "export", "--format", "csv", "-o", str(target)),
        cli(home_with_agent, "runs", "show", "\x1b[2J"),  # an error message quoting the input
    ]
    for done in printed:
        text = (done.stdout + done.stderr).decode()
        for control in RAW_CONTROLS:
            assert control not in text, (done.args, text)
        assert "\r" not in text.replace("\r\n", "")
    assert "model\\u001b[31m" in printed[0].stdout.decode()
    # JSON stays valid and says exactly what the log holds: the escapes are JSON's own.
    shown = json.loads(printed[2].stdout)
    assert shown["error_message"] == "bad\x1b[2J\u202e"
    assert shown["tags"] == {"service\u202e": "x\x07"}
    exported = [json.loads(line) for line in printed[5].stdout.splitlines()]
    assert "model\x1b[31m" in {run["model"] for run in exported}
    # A file export is data, not a terminal: it keeps the text as it is.
    assert "bad\x1b[2J\u202e" in target.read_text()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with mounted_tmpfs(tmp_path / "disk", "size=4m") as mount:
        yield mount


def test_settings_on_a_full_disk_say_so_with_exit_3(small_disk: Path) -> None:
    home = small_disk / "ato"
    assert cli(home, "retention", "set", "--days", "30").returncode == 0
    before = (home / "settings.json").read_bytes()
    filler = small_disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        block = b"\0" * 65536
        with pytest.raises(OSError):
            while os.write(fd, block):
                pass
    finally:
        os.close(fd)
    for args in (
        ("retention", "set", "--days", "60"),
        ("retention", "set", "--days", "off"),
        ("insights", "thresholds", "success_drop_pp=5"),
        ("insights", "thresholds", "--reset"),
    ):
        done = cli(home, *args)
        err = done.stderr.decode()
        assert done.returncode == 3, (args, err)
        assert "is full" in err and str(home) in err and "Traceback" not in err, err
        assert (home / "settings.json").read_bytes() == before
        assert not list(home.glob(".settings.json.*.part"))
    filler.unlink()
    done = cli(home, "insights", "thresholds", "success_drop_pp=5")
    assert done.returncode == 0, done.stderr
    assert json.loads((home / "settings.json").read_text())["regressions"]["success_drop_pp"] == 5


def test_a_killed_export_leaves_no_part_file_after_the_next_start(
    ato_home: Path, tmp_path: Path
) -> None:
    ws = Workspace.open(DataPaths(ato_home))
    try:
        batch = [
            (
                NewRun("claude", "m", "cli", 1_700_000_000_000 + i),
                RunEnd("completed", 1_700_000_000_500 + i, 5 * 10**8),
                [NewAction("call_llm", "llm", "success", 1_700_000_000_000 + i,
                           outputs={"text": "x" * 2000})],
            )
            for i in range(6000)
        ]  # fmt: skip
        ws.store.ingest(batch).result()
    finally:
        ws.close()
    out_dir = tmp_path / "exports"
    out_dir.mkdir()
    target = out_dir / "runs.jsonl"
    exporter = subprocess.Popen(
        [sys.executable, "-m", "ato_desktop", "export", "--format", "jsonl", "-o", str(target)],
        env=_env(ato_home),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not list(out_dir.glob(".runs.jsonl.*.part")):
            assert exporter.poll() is None, "the export ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        # Frozen mid-export: a start meanwhile must leave its file alone (its writer lives).
        os.kill(exporter.pid, signal.SIGSTOP)
        assert cli(ato_home, "runs", "list", "--limit", "1").returncode == 0
        [part] = list(out_dir.glob(".runs.jsonl.*.part"))
        os.kill(exporter.pid, signal.SIGKILL)
        exporter.wait(10)
        assert exporter.returncode == -signal.SIGKILL
        assert part.exists() and not target.exists()
        # The next start of any command removes what the dead export left.
        assert cli(ato_home, "runs", "list", "--limit", "1").returncode == 0
        assert list(out_dir.iterdir()) == []
    finally:
        if exporter.poll() is None:
            exporter.kill()
            exporter.wait(10)
    # And the next export to the same place works and leaves only its file.
    assert cli(ato_home, "export", "--format", "jsonl", "-o", str(target)).returncode == 0
    assert [p.name for p in out_dir.iterdir()] == ["runs.jsonl"]
    assert len(target.read_text().splitlines()) == 6000


def test_a_stale_part_file_of_an_export_is_removed_by_the_next_export_there(
    ato_home: Path, tmp_path: Path
) -> None:
    """Without its note in the data directory (another data directory, a note lost): the next
    export of the same file removes the leftover, and only a leftover nobody holds."""
    target = tmp_path / "runs.csv"
    stale = tmp_path / ".runs.csv.abcd1234.part"
    stale.write_text("half an export")
    other = tmp_path / ".notes.txt.abcd1234.part"  # another file's: not this export's business
    other.write_text("someone else's")
    assert cli(ato_home, "export", "--format", "csv", "-o", str(target)).returncode == 0
    assert not stale.exists() and other.exists() and target.exists()
    assert sqlite3.connect(DataPaths(ato_home).database).execute(
        "SELECT count(*) FROM runs"
    ).fetchone() == (0,)
