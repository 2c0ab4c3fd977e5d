"""Plant distinctive secrets in the keyring, drive everything that writes, then look for them.

The secrets: an Anthropic key, an OpenAI key, an openai-compatible key, an MCP server's secret
environment variable, an MCP server's secret Authorization header and a cloud-sync bearer token.
Everything that writes is driven as a user would, through the CLI (in process, so it sees the
in-memory keyring) and the engine, against the loopback fakes: dispatches on each runtime,
provider 401s whose body quotes the key back, an MCP tool call, a pipeline and a hook, OTLP sync
to the fake collector, the local OTLP receiver fed a span that carries keys, exports (CSV, JSON,
JSONL), an eval, a replay, DEBUG logging, a forced crash report, and settings. Then every file
under the data directory, the export directory and the test's temp directory (the SQLite file
and its -wal/-shm, backups, caches, archives, decompressed) is scanned for each secret whole and
by its core, raw and encoded (see secret_scan.py), as are what the CLI printed and the bodies
the sync collector received. The desktop test renders every page and Settings, grabs them and
scans every widget's text and item-model data. Any hit fails with the file and offset.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractListModel,
    QAbstractTableModel,
    QModelIndex,
    QObject,
    Qt,
)
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QComboBox,
    QGraphicsSimpleTextItem,
    QGraphicsTextItem,
    QGraphicsView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTabBar,
    QTextEdit,
    QWidget,
)

from ato_desktop import cli
from ato_desktop.core.records import RunFilter
from ato_desktop.engine.crash_reports import CrashReporter, crash_reports
from ato_desktop.engine.credentials import CredentialStore
from ato_desktop.engine.log_redaction import install_secret_redaction
from ato_desktop.engine.otlp_receiver import OtlpReceiver
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.paths import DataPaths
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.pages.registry import PAGES
from tests.fakes import FakeLLMServer, FakeToolCall, Scenario
from tests.fakes.mcp_server import spawn_http_server, stdio_command
from tests.fakes.otlp_server import FakeOtlpServer
from tests.security.secret_scan import Hit, SecretScanner
from tests.support.qt_helpers import open_main_window

REPO = Path(__file__).resolve().parents[2]

# The core (after "PLANTED-") of each is unique to this file: a key cut short is still found.
SECRETS = {
    "anthropic key": "sk-ant-api03-PLANTED-Xq7Vb2Lm9Rt4Wz8Kp3Nd6Hs1Jf5Gc0Ye-AAv1",
    "openai key": "sk-proj-PLANTED-Ta8Uf3Qw6Ez1Rb9Yn4Mk7Lp2Vs5Hd0Jc-BBw2",
    # Not key-shaped: only the known-secret layer of the redaction can catch it.
    "openai-compatible key": "compat-PLANTED-Gh4Kd8Pq2Ws6Zx9Bn3Mt7Rv1",
    "mcp env secret": "mcpenv-PLANTED-Lq5Ty9Wm3Xc7Vb1Nk6Pz2",
    "mcp header token": "mcptoken-PLANTED-Rf8Hj2Uy6Io4Pl9Ka3Sd7",
    "sync bearer token": "synctoken-PLANTED-Zm1Xn5Cb9Vq3Ws7Ed2Rf6",
}
CORES = {name: value.split("PLANTED-", 1)[1][:16] for name, value in SECRETS.items()}
ANTHROPIC_KEY = SECRETS["anthropic key"]
OPENAI_KEY = SECRETS["openai key"]
COMPAT_KEY = SECRETS["openai-compatible key"]


def scanner() -> SecretScanner:
    return SecretScanner(SECRETS, CORES)


def fail_on(hits: list[Hit]) -> None:
    assert not hits, "secret found:\n" + "\n".join(str(h) for h in hits)


@pytest.fixture
def planted(memory_keyring: Any) -> CredentialStore:
    """The provider keys in the (in-memory) keyring, as `ato-desktop keys set` puts them."""
    store = CredentialStore()
    for provider, key in (
        ("anthropic", ANTHROPIC_KEY),
        ("openai", OPENAI_KEY),
        ("openai-compatible", COMPAT_KEY),
    ):
        assert store.set_key(provider, key).persisted
    return store


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temp directory of this test's own, used by tempfile and child processes."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    yield tmp


class Cli:
    """The CLI in this process (it sees the in-memory keyring); keeps everything it printed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
        self._monkeypatch = monkeypatch
        self._capsys = capsys
        self.printed: list[tuple[str, str]] = []

    def __call__(self, *args: str, stdin: str = "", ok: bool = True) -> str:
        self._monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        out = io.StringIO()
        code = cli.main(list(args), stdout=out)
        captured = self._capsys.readouterr()
        what = " ".join(args[:2])
        self.printed += [
            (f"stdout of `{what}`", out.getvalue() + captured.out),
            (f"stderr of `{what}`", captured.err),
        ]
        if ok:
            assert code == 0, f"{args}: exit {code}\n{out.getvalue()}\n{captured.err}"
        return out.getvalue()


@pytest.fixture
def debug_log(ato_home: Path) -> Iterator[Path]:
    """DEBUG logging to logs/debug.log through the redacting filter, as ATO_LOG_LEVEL=DEBUG."""
    path = DataPaths(ato_home).log_dir / "debug.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    install_secret_redaction(handler)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
        handler.close()


def _add_agents(run: Cli, fake: FakeLLMServer) -> None:
    run("agents", "add", "claude-agent", "--runtime", "claude", "--model", "claude-sonnet-5",
        "--base-url", fake.anthropic_base_url)  # fmt: skip
    run("agents", "add", "codex-agent", "--runtime", "codex", "--model", "gpt-5",
        "--base-url", fake.openai_base_url)  # fmt: skip
    run("agents", "add", "compat-agent", "--runtime", "openai-compatible", "--model", "local-7b",
        "--base-url", fake.openai_base_url)  # fmt: skip


def _encoded_quotes(key: str) -> str:
    """A careless server's 401 text quoting the key encoded: base64 (whole and inside a Basic
    credential, so at another alignment), URL-safe base64 without padding, and hex."""
    raw = key.encode()
    return (
        f"invalid credentials {base64.b64encode(raw).decode()} "
        f"(basic {base64.b64encode(b'user:' + raw).decode()}, "
        f"url {base64.urlsafe_b64encode(b'x' + raw).decode().rstrip('=')}, "
        f"hex {raw.hex()} / {raw.hex().upper()})"
    )


def _dispatch_everywhere(run: Cli, fake: FakeLLMServer) -> list[str]:
    """A good answer, a 401 that quotes the key back, and one that quotes it encoded (base64,
    base64url, hex), on each runtime; the failed run ids."""
    failed = []
    for agent, key in (
        ("claude-agent", ANTHROPIC_KEY),
        ("codex-agent", OPENAI_KEY),
        ("compat-agent", COMPAT_KEY),
    ):
        fake.enqueue(Scenario(chunks=("fine", " answer")))
        run("dispatch", "--agent", agent, "say something")
        fake.enqueue(Scenario(status=401, echo_key_in_error=True))
        out = run("dispatch", "--agent", agent, "say something else", "--json", ok=False)
        failed.append(json.loads(out)["id"])
        fake.enqueue(Scenario(status=401, error_message=_encoded_quotes(key)))
        out = run("dispatch", "--agent", agent, "and again", "--json", ok=False)
        failed.append(json.loads(out)["id"])
    assert [r.api_key for r in fake.requests[-2:]] == [COMPAT_KEY, COMPAT_KEY]
    return failed


def _mcp_servers_and_a_tool_call(run: Cli, fake: FakeLLMServer, http_url: str) -> None:
    command, args, _ = stdio_command()
    run("mcp", "add", "tools", "--command", command, *(f"--arg={a}" for a in args),
        "--secret-env", "ATO_PLANTED_SECRET", stdin=SECRETS["mcp env secret"] + "\n")  # fmt: skip
    run("mcp", "add", "web", "--url", http_url, "--secret-header", "Authorization",
        stdin=f"Bearer {SECRETS['mcp header token']}\n")  # fmt: skip
    run("mcp", "test", "web")  # the stdio one starts below, for the tool call
    run("mcp", "list", "--json")
    run("agents", "add", "tool-agent", "--runtime", "claude", "--model", "claude-sonnet-5",
        "--base-url", fake.anthropic_base_url, "--mcp-servers", "tools,web")  # fmt: skip
    fake.enqueue(
        Scenario(tool_calls=(FakeToolCall("add", {"a": 3, "b": 4}),)),
        Scenario(tool_calls=(FakeToolCall("fail", {"message": "tool failed"}),)),
        Scenario(chunks=("7",)),
    )
    out = run("dispatch", "--agent", "tool-agent", "add 3 and 4", "--approve-tools", "--json")
    assert json.loads(out)["status"] == "completed"


def _pipeline_and_hook(run: Cli, fake: FakeLLMServer) -> None:
    """A pipeline whose first stage gets a 401 quoting the key, and a hook that passes the
    failure's error text on to another agent's prompt."""
    run("groups", "add", "pipe", "--stage", "draft=claude-agent", "--stage", "check=codex-agent")
    run("hooks", "add", "on-failure", "--on", "failed", "--agent", "claude-agent",
        "--dispatch-agent", "codex-agent", "--template", "failed: {run.error}")  # fmt: skip
    fake.enqueue(Scenario(status=401, echo_key_in_error=True), Scenario(chunks=("noted",)))
    run("groups", "run", "pipe", "draft a note", ok=False)
    hook_prompt = json.dumps(fake.requests[-1].body)
    assert "failed: " in hook_prompt and "redacted" in hook_prompt.lower()
    run("hooks", "disable", "on-failure")


def _receiver(ato_home: Path, scan: SecretScanner) -> list[Hit]:
    """A span from another agent that carries the keys (an instrumented HTTP client's headers).
    The data directory is scanned while the log is open too: its -wal and -shm exist then."""
    ws = Workspace.open(DataPaths(ato_home))
    receiver = OtlpReceiver(ws, port=0)
    receiver.start()
    try:
        attributes = [
            {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
            {"key": "gen_ai.request.model", "value": {"stringValue": "claude-sonnet-4-5"}},
            {
                "key": "http.request.header.authorization",
                "value": {"stringValue": f"Bearer {OPENAI_KEY}"},
            },
            {"key": "http.request.header.x-api-key", "value": {"stringValue": ANTHROPIC_KEY}},
            {"key": "compat.key", "value": {"stringValue": COMPAT_KEY}},
        ]
        span = {
            "traceId": "5b8efff798038103d269b633813fc60d",
            "spanId": "eee19b7ec3c1b175",
            "name": "chat claude-sonnet-4-5",
            "startTimeUnixNano": "1700000000000000000",
            "endTimeUnixNano": "1700000001000000000",
            "attributes": attributes,
            "status": {"code": 2, "message": f"401 invalid x-api-key {ANTHROPIC_KEY}"},
        }
        payload = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
        request = urllib.request.Request(
            f"{receiver.url}/v1/traces",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        assert (ato_home / "ato.sqlite3-wal").exists()
        return scan.scan_tree(ato_home)
    finally:
        receiver.close()
        ws.close()


def _sync(run: Cli, collector: FakeOtlpServer) -> list[bytes]:
    token = SECRETS["sync bearer token"]
    run("sync", "configure", "--endpoint", collector.url, "--auth", "bearer",
        "--secrets-from-stdin", "--content", "--enable", "--backfill-days", "1",
        stdin=token + "\n")  # fmt: skip
    run("sync", "status", "--json")
    out = run("sync", "now")
    assert out.startswith("sent ")
    exports = collector.accepted()
    assert exports and all(e.headers["authorization"] == f"Bearer {token}" for e in exports)
    return [e.request.SerializeToString() for e in collector.requests]


def _eval_and_replay(run: Cli, fake: FakeLLMServer, tmp_path: Path, failed: list[str]) -> None:
    suite = tmp_path / "suite.jsonl"
    suite.write_text(
        json.dumps({"id": "ok", "input": "Say fine", "expected": "fine"}) + "\n"
        + json.dumps({"id": "denied", "input": "Say no", "expected": "no"}) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    fake.enqueue(Scenario(chunks=("fine",)), Scenario(status=401, echo_key_in_error=True))
    run("eval", str(suite), "--agent", "claude-agent", "--concurrency", "1", "--json", ok=False)
    # A failed run (its error once quoted the key) replayed on another runtime, and failing.
    fake.enqueue(Scenario(status=401, echo_key_in_error=True))
    run("replay", failed[0], "--runtime", "codex", "--model", "gpt-5",
        "--base-url", fake.openai_base_url, "--json", ok=False)  # fmt: skip


def _exports(run: Cli, export_dir: Path) -> list[dict[str, Any]]:
    for fmt in ("csv", "json", "jsonl"):
        run("export", "--format", fmt, "-o", str(export_dir / f"runs.{fmt}"))
    run("runs", "list")
    runs: list[dict[str, Any]] = json.loads(run("runs", "list", "--limit", "0", "--json"))
    for listed in runs:
        run("runs", "show", listed["id"], "--json")
    run("keys", "status", "--json")
    run("insights", "thresholds", "min_runs=5")  # settings.json
    return runs


def _retention(run: Cli, ato_home: Path) -> Path:
    """Archive the old runs (the external one that carried keys is from 2023) and re-import."""
    run("retention", "run", "--days", "30", "--json")
    (archive,) = (ato_home / "archives").glob("runs-*.jsonl.gz")
    run("retention", "import", str(archive))
    return archive


def _crash_report(ato_home: Path) -> Path:
    reporter = CrashReporter(DataPaths(ato_home).log_dir, stderr=io.StringIO())
    try:
        raise RuntimeError("sync failed: " + " ".join(SECRETS.values()))
    except RuntimeError:
        path = reporter.report(*sys.exc_info())  # type: ignore[arg-type]
    assert path is not None
    return path


def _cli_process_at_debug(ato_home: Path, fake: FakeLLMServer, tmp: Path) -> list[tuple[str, str]]:
    """A real `ato-desktop dispatch` at ATO_LOG_LEVEL=DEBUG whose key comes back in a 401."""
    fake.enqueue(Scenario(status=401, echo_key_in_error=True))
    env = {
        **os.environ,
        "ATO_HOME": str(ato_home),
        "ATO_LOG_LEVEL": "DEBUG",
        "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "PYTHONPATH": str(REPO),
        "TMPDIR": str(tmp),
    }
    done = subprocess.run(
        [sys.executable, "-m", "ato_desktop", "dispatch", "--runtime", "claude", "--model",
         "claude-sonnet-4-5", "--base-url", fake.anthropic_base_url, "hello"],
        capture_output=True, text=True, env=env, timeout=60, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "DEBUG" in done.stderr and "error (auth)" in done.stderr
    return [("debug stderr", done.stderr), ("debug stdout", done.stdout)]


def test_no_planted_secret_is_written_anywhere(
    ato_home: Path,
    tmp_path: Path,
    private_tmp: Path,
    planted: CredentialStore,
    debug_log: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = Cli(monkeypatch, capsys)
    export_dir = tmp_path / "exports"
    export_dir.mkdir()
    with (
        FakeLLMServer() as fake,
        FakeOtlpServer() as collector,
        spawn_http_server(token=SECRETS["mcp header token"]) as (_, http_url),
    ):
        _add_agents(run, fake)
        failed = _dispatch_everywhere(run, fake)
        _mcp_servers_and_a_tool_call(run, fake, http_url)
        _pipeline_and_hook(run, fake)
        scan = scanner()
        hits = _receiver(ato_home, scan)
        _eval_and_replay(run, fake, tmp_path, failed)
        sync_bodies = _sync(run, collector)
        runs = _exports(run, export_dir)
        archive = _retention(run, ato_home)
        report = _crash_report(ato_home)
        debug_output = _cli_process_at_debug(ato_home, fake, private_tmp)
        keys_seen = {r.api_key for r in fake.requests}
        # What went to the providers: a key only in its auth header, no secret in any body.
        provider_bodies = [
            (f"provider request {i} {r.path}", json.dumps(r.body))
            for i, r in enumerate(fake.requests)
        ]
        sync_headers = [
            (f"sync request {i} header {name}", value)
            for i, export in enumerate(collector.requests)
            for name, value in export.headers.items()
            if name.lower() != "authorization"
        ]
    # The keys did reach the provider (so each path really ran with them)...
    assert {ANTHROPIC_KEY, OPENAI_KEY, COMPAT_KEY} <= keys_seen
    # ...and the failures really quoted them back.
    assert [r for r in fake.requests if r.api_key == ANTHROPIC_KEY]
    logs = DataPaths(ato_home).log_dir
    assert report in crash_reports(logs) and debug_log.stat().st_size > 0
    assert (ato_home / "settings.json").exists()
    errors = [(r["trigger"], r["error_message"]) for r in runs if r["error_message"]]
    assert {"cli", "pipeline", "eval", "replay", "external"} <= {t for t, _ in errors}
    assert all("redacted" in e.lower() for _, e in errors), errors
    assert "hook" in {r["trigger"] for r in runs}

    # tmp_path holds the export directory and the test's temp directory.
    hits += scan.scan_tree(ato_home) + scan.scan_tree(tmp_path)
    hits += scan.scan_texts(run.printed + debug_output + provider_bodies + sync_headers)
    for number, body in enumerate(sync_bodies):  # the auth header is in headers, never here
        hits += scan.scan_bytes(body, f"sync request body {number}")
    fail_on(hits)
    names = {Path(p).name for p in scan.scanned}
    assert {"ato.sqlite3", "ato.sqlite3-wal", "ato.sqlite3-shm", "settings.json"} <= names
    assert {"runs.csv", "runs.json", "runs.jsonl", "debug.log", report.name} <= names
    assert f"{archive}!gunzip" in scan.scanned  # the archive, decompressed


# -- what the desktop app shows -----------------------------------------------------------


def widget_texts(root: QWidget) -> list[tuple[str, str]]:
    """Every text a widget tree shows or carries: labels, fields (their real text too, not only
    what a password field displays), buttons, combo items, tabs, tooltips, item models'
    display and tooltip data and headers, and canvas text items."""
    found: list[tuple[str, str]] = []

    def add(widget: QObject, what: str, value: object) -> None:
        if isinstance(value, str) and value:
            found.append((f"{type(widget).__name__}#{widget.objectName()} {what}", value))

    for widget in [root, *root.findChildren(QWidget)]:
        for what in ("toolTip", "statusTip", "whatsThis", "windowTitle", "accessibleName"):
            add(widget, what, getattr(widget, what)())
        if isinstance(widget, QLabel):
            add(widget, "text", widget.text())
        elif isinstance(widget, QLineEdit):
            for what in ("text", "displayText", "placeholderText"):
                add(widget, what, getattr(widget, what)())
        elif isinstance(widget, QTextEdit | QPlainTextEdit):
            add(widget, "text", widget.toPlainText())
        elif isinstance(widget, QAbstractButton):
            add(widget, "text", widget.text())
        elif isinstance(widget, QComboBox):
            for i in range(widget.count()):
                add(widget, f"item {i}", widget.itemText(i))
        elif isinstance(widget, QTabBar):
            for i in range(widget.count()):
                add(widget, f"tab {i}", widget.tabText(i) + " " + widget.tabToolTip(i))
        elif isinstance(widget, QAbstractItemView) and widget.model() is not None:
            found.extend(_model_texts(widget.model(), type(widget).__name__))
        elif isinstance(widget, QGraphicsView) and widget.scene() is not None:
            for item in widget.scene().items():
                texts = [item.toolTip()]
                if isinstance(item, QGraphicsTextItem):
                    texts.append(item.toPlainText())
                elif isinstance(item, QGraphicsSimpleTextItem):
                    texts.append(item.text())
                found += [(f"canvas item {type(item).__name__}", t) for t in texts if t]
    return found


def _columns(model: QAbstractItemModel, parent: QModelIndex) -> int:
    if isinstance(model, QAbstractListModel):
        return 1  # its columnCount is private in PySide6
    return int(model.columnCount(parent))


def _has_children(model: QAbstractItemModel, index: QModelIndex) -> bool:
    if isinstance(model, QAbstractListModel | QAbstractTableModel):
        return False  # flat; hasChildren is private in PySide6
    return bool(model.hasChildren(index))


def _model_texts(model: QAbstractItemModel, view: str, limit: int = 5000) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    roles = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole)
    for section in range(_columns(model, QModelIndex())):
        for role in roles:
            value = model.headerData(section, Qt.Orientation.Horizontal, role)
            if isinstance(value, str):
                found.append((f"{view} header {section}", value))
    pending = [QModelIndex()]
    while pending and len(found) < limit:
        parent = pending.pop()
        for row in range(min(model.rowCount(parent), 500)):
            for column in range(_columns(model, parent)):
                index = model.index(row, column, parent)
                for role in roles:
                    value = model.data(index, role)
                    if isinstance(value, str) and value:
                        found.append((f"{view} row {row} col {column}", value))
            first = model.index(row, 0, parent)
            if _has_children(model, first):
                pending.append(first)
    return found


@pytest.fixture
def populated(
    ato_home: Path,
    tmp_path: Path,
    private_tmp: Path,
    planted: CredentialStore,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[tuple[Cli, FakeOtlpServer]]:
    """A log with what the pages show, written before the app's loop exists (the CLI runs its
    own): agents, good and failed runs (401s that quoted the keys), an external run that carried
    them, an eval, a pipeline and a hook, an MCP server with a secret header, sync with a bearer
    token, and settings."""
    run = Cli(monkeypatch, capsys)
    with FakeLLMServer() as fake, FakeOtlpServer() as collector:
        _add_agents(run, fake)
        _dispatch_everywhere(run, fake)
        run("mcp", "add", "web", "--url", "http://127.0.0.1:9/mcp",
            "--secret-header", "Authorization",
            stdin=f"Bearer {SECRETS['mcp header token']}\n")  # fmt: skip
        run("groups", "add", "pipe", "--stage", "draft=claude-agent", "--stage", "b=codex-agent")
        run("hooks", "add", "on-failure", "--on", "failed", "--agent", "claude-agent",
            "--dispatch-agent", "codex-agent", "--template", "failed: {run.error}")  # fmt: skip
        scan = scanner()
        fail_on(_receiver(ato_home, scan))
        suite = tmp_path / "suite.jsonl"
        suite.write_text(json.dumps({"input": "Say fine", "expected": "fine"}) + "\n")
        fake.enqueue(Scenario(chunks=("fine",)))
        run("eval", str(suite), "--agent", "compat-agent")
        run("sync", "configure", "--endpoint", collector.url, "--auth", "bearer",
            "--secrets-from-stdin", "--content", "--enable",
            stdin=SECRETS["sync bearer token"] + "\n")  # fmt: skip
        run("insights", "thresholds", "min_runs=5")
        yield run, collector


def test_no_planted_secret_on_any_screen(
    populated: tuple[Cli, FakeOtlpServer],
    ui_ctx: AppContext,
    qtbot: Any,
    ato_home: Path,
    tmp_path: Path,
) -> None:
    window = open_main_window(ui_ctx, qtbot, (1280, 800), timeout_ms=15_000)
    screens = tmp_path / "screens"
    screens.mkdir()
    texts: list[tuple[str, str]] = []

    # Long-lived tasks (sync, hooks, the live watcher) are running by now; a page's loads are
    # the tasks started after this.
    qtbot.waitUntil(lambda: bool(ui_ctx._tasks), timeout=15_000)
    background = set(ui_ctx._tasks)

    def capture(name: str) -> None:
        qtbot.waitUntil(lambda: not (ui_ctx._tasks - background), timeout=15_000)
        assert window.grab().save(str(screens / f"{name}.png"))
        texts.extend((f"{name}: {where}", text) for where, text in widget_texts(window))

    failed = [r for r in ui_ctx.workspace.store.list_runs(RunFilter()) if r.error_message]
    assert failed
    for spec in PAGES:
        window.navigate(spec.id)
        capture(spec.id)
    for listed in failed:  # every failed run opened: its error, actions and details
        window.navigate("runs", {"run_id": listed.id})
        capture(f"run-{listed.id[-6:]}")

    settings = window.page("settings")
    window.navigate("settings")
    qtbot.waitUntil(lambda: all(r.status is not None for r in settings.keys.rows.values()))
    capture("settings-loaded")
    for provider, key in (("anthropic", ANTHROPIC_KEY), ("openai", OPENAI_KEY),
                          ("openai-compatible", COMPAT_KEY)):  # fmt: skip
        row = settings.keys.rows[provider]
        assert row.field.text() == "" and row.field.echoMode() == QLineEdit.EchoMode.Password
        # The key shows as its state only; the field that takes a new one is empty and masked.
        assert row.pill.text() == "● Saved in the keyring" and key[:8] not in row.pill.toolTip()
    secret_fields = [f for f in window.findChildren(QLineEdit) if f.echoMode() != f.EchoMode.Normal]
    assert secret_fields and all(f.text() == "" for f in secret_fields)

    scan = scanner()
    hits = scan.scan_texts(texts)
    done: list[bool] = []
    ui_ctx.spawn(ui_ctx.shutdown()).add_done_callback(lambda _t: done.append(True))
    qtbot.waitUntil(lambda: bool(done), timeout=15_000)
    run, collector = populated
    hits += scan.scan_tree(ato_home) + scan.scan_tree(tmp_path) + scan.scan_texts(run.printed)
    for number, export in enumerate(collector.requests):
        hits += scan.scan_bytes(export.request.SerializeToString(), f"sync request {number}")
    fail_on(hits)
    assert len(list(screens.glob("*.png"))) >= len(PAGES)
    # The screens did show the failures whose provider errors quoted the keys, redacted.
    assert sum("redacted" in text.lower() for _, text in texts) >= len(failed)
    assert (ato_home / "settings.ini").exists()  # what Qt wrote is scanned too
