"""`ato-desktop sync ...` against a loopback OTLP collector."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest

from ato_desktop import cli
from ato_desktop.engine.workspace import Workspace
from tests.engine.test_otlp_sync import finished_run
from tests.fakes.otlp_server import FakeOtlpServer


@pytest.fixture
def collector(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOtlpServer]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with FakeOtlpServer() as server:
        yield server


def run_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return cli.main(list(argv), stdout=out), out.getvalue()


def test_configure_status_now_pause_resume(
    collector: FakeOtlpServer, monkeypatch: pytest.MonkeyPatch, memory_keyring: object
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("cli-token-PLANTED-123456\n"))
    code, text = run_cli(
        "sync",
        "configure",
        "--endpoint",
        collector.url,
        "--auth",
        "bearer",
        "--secrets-from-stdin",
        "--enable",
        "--json",
    )
    assert code == 0, text
    assert json.loads(text)["endpoint"] == collector.url + "/v1/traces"
    assert "cli-token" not in text
    ws = Workspace.open()
    try:
        finished_run(ws)
    finally:
        ws.close()
    assert run_cli("sync", "pause")[1].startswith("Sync paused")
    code, text = run_cli("sync", "status", "--json")
    assert json.loads(text)["queued"] == 1
    run_cli("sync", "resume")
    code, text = run_cli("sync", "now")
    assert code == 0 and text.startswith("sent 1 runs")
    assert collector.accepted()[0].headers["authorization"] == "Bearer cli-token-PLANTED-123456"
    collector.script([(401, {})])
    ws = Workspace.open()
    try:
        finished_run(ws)
    finally:
        ws.close()
    code, text = run_cli("sync", "now")
    assert code == 1 and "Sign in to sync" in text


def test_http_endpoint_refused(memory_keyring: object) -> None:
    code, _ = run_cli("sync", "configure", "--endpoint", "http://otel.example.com", "--enable")
    assert code == 2
