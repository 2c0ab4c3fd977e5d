"""Every process is a peer of cloud sync: a CLI dispatch sends before it exits (within a bound),
the long-lived processes (`schedules daemon`, `receiver run`) send as the app does, and one
process sends at a time, taken over when it dies. Real processes against a loopback collector."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from ato_desktop.engine.otlp_sync import FLUSH_TIMEOUT_S, SyncState
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store import sync_outbox as outbox
from ato_desktop.store.external_runs import ingest_traces
from ato_desktop.store.paths import DataPaths
from tests.engine.test_otlp_sync import finished_run
from tests.fakes import FakeLLMServer, Scenario
from tests.fakes.otlp_server import FakeOtlpServer

REPO = Path(__file__).resolve().parents[1]
ANTHROPIC_KEY = "sk-ant-api03-SYNCTESTKEY-abcdefghijklmnopqrstuvwxyz0123"


@pytest.fixture
def collector(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOtlpServer]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with FakeOtlpServer() as server:
        yield server


def _env(ato_home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ATO_HOME": str(ato_home),
        "ATO_OFFLINE": "1",
        "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
        "NO_PROXY": "127.0.0.1,localhost",
        # A subprocess must never touch the developer's real keyring.
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "PYTHONPATH": str(REPO),
    }


def _start(ato_home: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ato_desktop", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(ato_home),
        cwd=REPO,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def _configure(ato_home: Path, url: str, **settings: object) -> None:
    ws = Workspace.open(DataPaths(ato_home))
    try:
        ws.sync.configure(endpoint=url, enabled=True, auth_kind="none", **settings)  # type: ignore[arg-type]
    finally:
        ws.close()


def _counters(ato_home: Path) -> outbox.SyncCounters:
    ws = Workspace.open(DataPaths(ato_home), recover=False)
    try:
        return outbox.counters(ws.store)
    finally:
        ws.close()


def _queue_runs(ato_home: Path, count: int) -> list[str]:
    ws = Workspace.open(DataPaths(ato_home))
    try:
        return [finished_run(ws, agent=None) for _ in range(count)]
    finally:
        ws.close()


def test_a_cli_dispatch_sends_its_run_before_it_exits(
    ato_home: Path, collector: FakeOtlpServer, fake: FakeLLMServer
) -> None:
    _configure(ato_home, collector.url)
    fake.scenario = Scenario(chunks=("Shipped ", "yesterday."))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ato_desktop",
            "dispatch",
            "--runtime",
            "claude",
            "--model",
            "claude-sonnet-4-5",
            "--base-url",
            fake.anthropic_base_url,
            "Where is order 4821?",
        ],
        capture_output=True,
        text=True,
        env=_env(ato_home),
        cwd=REPO,
        timeout=120,
        start_new_session=True,
    )
    assert done.returncode == 0, done.stderr
    run_id = done.stderr.splitlines()[0].split()[1]
    # Sent before the process exited: nothing else runs that could have sent it.
    assert collector.accepted_run_ids() == [run_id]
    counters = _counters(ato_home)
    assert counters.queued == 0 and counters.total_sent == 1
    assert counters.sender_token is None  # the claim was given back
    assert "cloud sync" not in done.stderr


def test_a_dispatch_waits_for_a_hung_endpoint_only_within_its_bound(
    ato_home: Path, collector: FakeOtlpServer, fake: FakeLLMServer
) -> None:
    _configure(ato_home, collector.url)
    collector.script(["hang"])
    fake.scenario = Scenario(chunks=("ok",))
    started = time.monotonic()
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "ato_desktop",
                "dispatch",
                "--runtime",
                "claude",
                "--model",
                "claude-sonnet-4-5",
                "--base-url",
                fake.anthropic_base_url,
                "hi",
            ],
            capture_output=True,
            text=True,
            env=_env(ato_home),
            cwd=REPO,
            timeout=120,
            start_new_session=True,
        )
    finally:
        collector.release()
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert "cloud sync: not sent now" in done.stderr and "stay queued" in done.stderr
    # The collector held the request for 10 s and the SDK's own timeout is 30 s: the dispatch
    # gave up at its bound (process start-up under load included in the margin).
    assert collector.hanging.is_set() and elapsed < FLUSH_TIMEOUT_S + 40
    counters = _counters(ato_home)
    assert counters.queued == 1 and counters.sender_token is None


def test_schedules_daemon_sends_what_is_queued(ato_home: Path, collector: FakeOtlpServer) -> None:
    _configure(ato_home, collector.url)
    ids = _queue_runs(ato_home, 2)
    daemon = _start(ato_home, "schedules", "daemon")
    try:
        _wait_for(lambda: sorted(collector.accepted_run_ids()) == sorted(ids), timeout=60)
    finally:
        _stop(daemon)
    assert _counters(ato_home).queued == 0


def test_one_sender_at_a_time_and_a_dead_senders_claim_is_taken_over(
    ato_home: Path, collector: FakeOtlpServer
) -> None:
    """A daemon claims the outbox and its POST hangs: this process does not send the same runs
    beside it (it says who sends), and once the daemon is killed -9 it takes over."""
    _configure(ato_home, collector.url)
    ids = _queue_runs(ato_home, 3)
    collector.script(["hang"])
    daemon = _start(ato_home, "schedules", "daemon")
    ws = Workspace.open(DataPaths(ato_home))
    try:
        assert collector.hanging.wait(60), "the daemon never sent"
        results = asyncio.run(ws.sync.sync_now(claim_wait_s=0.5))
        assert [r.outcome for r in results] == ["busy"]
        assert f"schedules daemon (pid {daemon.pid})" in (results[0].error or "")
        assert len(collector.requests) == 0  # the daemon's request is still held
        status = ws.sync.status()
        assert status.state is SyncState.SENDING
        assert f"schedules daemon (pid {daemon.pid})" in status.line

        daemon.send_signal(signal.SIGKILL)
        daemon.wait(10)
        collector.release()
        results = asyncio.run(ws.sync.sync_now(claim_wait_s=0.5))
        assert results[0].outcome == "sent"
        assert sorted(set(collector.accepted_run_ids())) == sorted(ids)
        counters = outbox.counters(ws.store)
        assert counters.queued == 0 and counters.sender_token is None
    finally:
        if daemon.poll() is None:
            daemon.kill()
        collector.release()
        ws.close()


def _otlp_trace(trace_hex: str) -> bytes:
    def kv(key: str, value: object) -> KeyValue:
        if isinstance(value, int):
            return KeyValue(key=key, value=AnyValue(int_value=value))
        return KeyValue(key=key, value=AnyValue(string_value=str(value)))

    now = time.time_ns()
    span = Span(
        trace_id=bytes.fromhex(trace_hex),
        span_id=bytes.fromhex("00f067aa0ba902b7"),
        name="chat claude-sonnet-4-5",
        start_time_unix_nano=now - 50_000_000,
        end_time_unix_nano=now,
        attributes=[
            kv("gen_ai.operation.name", "chat"),
            kv("gen_ai.provider.name", "anthropic"),
            kv("gen_ai.request.model", "claude-sonnet-4-5"),
            kv("gen_ai.usage.input_tokens", 40),
            kv("gen_ai.usage.output_tokens", 9),
        ],
    )
    request = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[span])])]
    )
    return request.SerializeToString()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_receiver_run_sends_received_runs_when_the_user_chose_to(
    ato_home: Path, collector: FakeOtlpServer
) -> None:
    _configure(ato_home, collector.url, include_ingested=True)
    port = _free_port()
    receiver = _start(ato_home, "receiver", "run", "--port", str(port))
    trace_hex = "4bf92f3577b34da6a3ce929d0e0e4736"
    try:
        assert receiver.stdout is not None
        assert "receiving OTLP traces" in receiver.stdout.readline()
        answer = httpx2.post(
            f"http://127.0.0.1:{port}/v1/traces",
            content=_otlp_trace(trace_hex),
            headers={"Content-Type": "application/x-protobuf"},
            timeout=30,
        )
        assert answer.status_code == 200
        _wait_for(lambda: trace_hex in collector.accepted_run_ids(), timeout=60)
    finally:
        _stop(receiver)


def test_received_runs_stay_home_unless_chosen(ato_home: Path) -> None:
    """Runs the receiver writes are inserted finished (no run ends there for the outbox
    trigger): they are queued by the receiver's write, and only when the setting says so."""
    from ato_desktop.core.otlp_ingest import traces_from_request

    workspace = Workspace.open(DataPaths(ato_home))
    try:
        _received_runs_stay_home_unless_chosen(workspace, traces_from_request)
    finally:
        workspace.close()


def _received_runs_stay_home_unless_chosen(workspace: Workspace, traces_from_request: Any) -> None:
    sync = workspace.sync
    sync.configure(endpoint="http://127.0.0.1:9", enabled=True)
    first = ExportTraceServiceRequest.FromString(_otlp_trace("4bf92f3577b34da6a3ce929d0e0e4737"))
    ingest_traces(workspace.store, traces_from_request(first)).result()
    assert sync.status().queued == 0

    sync.configure(include_ingested=True)
    second = ExportTraceServiceRequest.FromString(_otlp_trace("4bf92f3577b34da6a3ce929d0e0e4738"))
    ingest_traces(workspace.store, traces_from_request(second)).result()
    entries = outbox.due_entries(workspace.store, time.time_ns() // 1_000_000 + 1, 10)
    assert [e.run_id for e in entries] == ["4bf92f3577b34da6a3ce929d0e0e4738"]
    # A backfill follows the same choice: the first run joins it now.
    assert outbox.enqueue_ended_since(workspace.store, 0).result() == 1
    sync.configure(include_ingested=False)
    workspace.store.submit(lambda conn, emit: conn.execute("DELETE FROM sync_outbox")).result()
    assert outbox.enqueue_ended_since(workspace.store, 0).result() == 0
