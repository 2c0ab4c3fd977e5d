"""The CLI answers at once: a command imports only what it uses, and reading commands open the
log without crash recovery or services (issue 20, part 3).

Each case runs the real entry point (`python -X importtime -m ato_desktop ...`) in a process of
its own, against a real log, and reads the modules it imported from Python's own import trace.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import NewAction, NewRun, RunEnd
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.paths import DataPaths

REPO = Path(__file__).resolve().parents[1]

# What no reading command needs: the provider SDKs, Qt, the keyring, MCP, the price table, the
# tokenizer, HTTP clients, protobuf; and the services a workspace wires.
HEAVY_PACKAGES = (
    "PySide6",
    "qasync",
    "anthropic",
    "openai",
    "keyring",
    "mcp",
    "genai_prices",
    "tiktoken",
    "httpx",
    "httpx2",
    "google.protobuf",
    "jsonschema",
)
SERVICES = (
    "ato_desktop.engine.workspace",
    "ato_desktop.engine.dispatcher",
    "ato_desktop.engine.online_judge",
    "ato_desktop.engine.automations",
    "ato_desktop.engine.otlp_sync",
    "ato_desktop.engine.recovery",
    "ato_desktop.engine.credentials",
    "ato_desktop.engine.prices",
    "ato_desktop.engine.token_estimator",
    "ato_desktop.runtimes",
    "ato_desktop.ui",
)
# What only writing or running a model needs: the write side of the log (the writer thread, the
# events it publishes, the change feed), the runtime calls' and write inputs' classes (core.models
# and core.records define dozens of dataclasses, each compiled at import), the simulation rules.
# Reading commands import the small modules those name again (core.vocabulary, core.log_records).
WRITE_SIDE = (
    "ato_desktop.store.writer",
    "ato_desktop.store.change_feed",
    "ato_desktop.core.events",
    "ato_desktop.core.models",
    "ato_desktop.core.records",
    "ato_desktop.core.simulation",
    "ato_desktop.core.tools",
    "ato_desktop.core.eval_scoring",
    "ato_desktop.core.eval_suite",
    "ato_desktop.store.evals",
    "ato_desktop.store.run_queries",
)

# What no reading command needs of the standard library (issue 20, part 3): typing (names that
# only annotate are imported under TYPE_CHECKING), shutil (argparse's help width is read without
# it; it loads bz2, lzma and zlib), tempfile and random (only writes make temporary files), the
# futures of writes and threaded reads; logging (the CLI's handler is installed when a module
# loads it: test_logging_loaded_late_logs_through_the_cli_handler); decimal (core.coerce loads it
# for a value that is not an int or a float, which the log's columns never are).
STDLIB_NOT_NEEDED = ("typing", "shutil", "tempfile", "random", "concurrent", "logging", "decimal")


def _env(ato_home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ATO_HOME=str(ato_home),
        ATO_OFFLINE="1",
        PYTHONPATH=str(REPO),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    env.pop("QT_QPA_PLATFORM", None)
    return env


def _imported(ato_home: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run `ato-desktop args` as a user would; the modules it imported, from -X importtime."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "ato_desktop", *args],
        capture_output=True,
        text=True,
        env=_env(ato_home),
        timeout=60,
        cwd=REPO,
    )
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }
    modules.discard("package")  # the trace's header line
    assert modules, done.stderr
    return done, modules


def _under(modules: set[str], roots: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == r or m.startswith(r + ".") for r in roots))


@pytest.fixture(scope="module")
def ato_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A log with an agent, its config change and finished runs on both sides of it."""
    home = tmp_path_factory.mktemp("ato")
    ws = Workspace.open(DataPaths(home))
    try:
        agent = ws.agents.create("clerk", AgentConfig(runtime="claude", model="claude-sonnet-5"))
        start = 1_700_000_000_000
        batch = [
            (
                NewRun("claude", "claude-sonnet-5", "cli", start + i * 1000, agent_id=agent.id),
                RunEnd("completed" if i % 4 else "failed", start + i * 1000 + 500, 5 * 10**8),
                [NewAction("call_llm", "llm", "success", start + i * 1000,
                           inputs={"prompt": f"question {i}"}, outputs={"text": "answer"})],
            )
            for i in range(40)
        ]  # fmt: skip
        ws.store.ingest(batch).result()
        ws.agents.edit("clerk", {"model": "claude-haiku-4-5"})
    finally:
        ws.close()
    return home


READING_COMMANDS = [
    ("runs", "list", "--since", "all", "--limit", "50", "--json"),
    ("runs", "list"),
    ("agents", "list"),
    ("agents", "history", "clerk"),
    ("insights", "regressions", "--all"),
    ("actions", "list", "--limit", "5"),
]


@pytest.mark.parametrize("args", READING_COMMANDS, ids=" ".join)
def test_reading_commands_import_no_sdk_qt_keyring_or_service(
    ato_home: Path, args: tuple[str, ...]
) -> None:
    done, modules = _imported(ato_home, *args)
    assert done.returncode in (0, 1), done.stderr[-2000:]  # regressions: 1 when one is current
    assert _under(modules, HEAVY_PACKAGES) == []
    assert _under(modules, SERVICES) == []
    if args[0] != "actions":  # its parser names engine.export's formats (that module loads records)
        assert _under(modules, WRITE_SIDE) == []
        assert _under(modules, STDLIB_NOT_NEEDED) == []


def test_runs_show_imports_no_sdk_qt_keyring_or_service(ato_home: Path) -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "ato_desktop", "runs", "list", "--limit", "1", "--json"],
        capture_output=True,
        text=True,
        env=_env(ato_home),
        timeout=60,
        cwd=REPO,
    )
    run_id = json.loads(listed.stdout)[0]["id"]
    done, modules = _imported(ato_home, "runs", "show", run_id)
    assert done.returncode == 0, done.stderr[-2000:]
    assert run_id in done.stdout
    assert _under(modules, HEAVY_PACKAGES) == []
    assert _under(modules, SERVICES) == []
    assert _under(modules, WRITE_SIDE) == []
    assert _under(modules, STDLIB_NOT_NEEDED) == []


@pytest.mark.parametrize("args", [("--help",), ("-h",), ("bogus",)], ids=" ".join)
def test_help_imports_nothing_of_the_app_but_the_cli(ato_home: Path, args: tuple[str, ...]) -> None:
    done, modules = _imported(ato_home, *args)
    assert "usage: ato-desktop" in done.stdout + done.stderr
    outside = [
        m
        for m in _under(modules, ("ato_desktop",))
        if not m.startswith(("ato_desktop.cli", "ato_desktop.main", "ato_desktop.__main__"))
    ]
    # The package itself and the terminal-safe escaping of what is printed; no log, no engine.
    assert outside == ["ato_desktop", "ato_desktop.core", "ato_desktop.core.terminal_text"]


def test_a_command_builds_only_its_own_parser(ato_home: Path) -> None:
    """`runs list` does not import what other commands' options name (the demo generator for
    `demo --runs`, the receiver's port for `receiver run`, the export formats), nor the export
    clean-up when no export ever ran here."""
    _done, modules = _imported(ato_home, "runs", "list", "--limit", "1")
    assert (
        _under(
            modules,
            (
                "ato_desktop.engine.demo",
                "ato_desktop.engine.otlp_receiver",
                "ato_desktop.engine.export",
            ),
        )
        == []
    )


def _cli(ato_home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ato_desktop", *args],
        capture_output=True,
        text=True,
        env=_env(ato_home),
        timeout=60,
        cwd=REPO,
    )


def test_reading_commands_write_nothing(ato_home: Path) -> None:
    """No lease, no recovery, no write: the log, its WAL and the leases are as they were."""
    database = ato_home / "ato.sqlite3"
    wal = Path(f"{database}-wal")
    leases = ato_home / "leases"

    def state() -> tuple[int, int, list[str]]:
        size = wal.stat().st_size if wal.exists() else 0
        return database.stat().st_mtime_ns, size, sorted(p.name for p in leases.iterdir())

    before = state()
    for args in READING_COMMANDS:
        assert _cli(ato_home, *args).returncode in (0, 1)
    assert state() == before


def test_a_reader_hands_a_dead_process_run_to_crash_recovery(tmp_path: Path) -> None:
    """A run a dead process left `running` is never shown as running: the reading command
    opens the whole workspace once, whose crash recovery ends it, then reads."""
    ws = Workspace.open(DataPaths(tmp_path))
    try:
        run_id, _run_no = ws.store.create_run(
            NewRun("claude", "claude-sonnet-5", "cli", 1_700_000_000_000), owner="dead-process"
        ).result()
    finally:
        ws.close()
    shown = json.loads(_cli(tmp_path, "runs", "show", run_id, "--json").stdout)
    assert (shown["status"], shown["error_class"]) == ("interrupted", "interrupted")
    assert json.loads(_cli(tmp_path, "runs", "list", "--status", "running", "--json").stdout) == []


def test_logging_loaded_late_logs_through_the_cli_handler(tmp_path: Path) -> None:
    """A command that loads logging only when it has something to say (after the CLI set up
    its output) still logs through the CLI's handler: its format, its level, on stderr."""
    code = (
        "import sys\n"
        "from ato_desktop import cli\n"
        "cli._configure_logging()\n"
        "assert 'logging' not in sys.modules\n"
        "import logging\n"
        "logging.getLogger('ato_desktop.store.database').warning('journal_mode is %s', 'delete')\n"
        "logging.getLogger('ato_desktop.store.database').info('not at WARNING')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=60,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "WARNING ato_desktop.store.database: journal_mode is delete\n"
