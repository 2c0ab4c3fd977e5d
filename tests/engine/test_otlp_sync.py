"""Cloud sync against a loopback OTLP collector: structure, attributes and faults."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from ato_desktop.core.models import AgentConfig, CostSource, TokenUsage
from ato_desktop.core.otlp_encode import action_span_id, run_span_id, trace_id
from ato_desktop.core.records import NewAction, NewRun, RunEnd
from ato_desktop.engine.otlp_sync import (
    SIGN_IN_LABEL,
    OtlpSync,
    SyncConfigError,
    SyncState,
    backoff_delay_s,
    parse_retry_after,
    validate_endpoint,
)
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store import sync_outbox as outbox
from ato_desktop.store.execution_log import now_ms
from ato_desktop.store.paths import DataPaths
from tests.fakes.otlp_server import FakeOtlpServer, attrs

TOKEN = "otlp-token-PLANTED-0123456789abcdef"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def collector(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOtlpServer]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with FakeOtlpServer() as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_sync(ws: Workspace, clock: FakeClock, **kw: object) -> OtlpSync:
    sync = OtlpSync(
        ws.store, ws.credentials, ws.lease, clock=clock, rand=lambda: 0.5, timeout_s=0.5, **kw
    )  # type: ignore[arg-type]
    ws.sync = sync
    return sync


def configure(sync: OtlpSync, url: str, **kw: object) -> None:
    sync.configure(endpoint=url, enabled=True, auth_kind="bearer", **kw)  # type: ignore[arg-type]
    sync.set_credentials(token=TOKEN)


def finished_run(
    ws: Workspace,
    *,
    agent: str | None = "writer",
    parent: str | None = None,
    status: str = "completed",
    text: str = "Mail bob@example.com",
) -> str:
    agent_id = None
    if agent:
        try:
            agent_id = ws.store.get_agent(agent).id
        except Exception:
            agent_id = (
                ws.store.create_agent(
                    agent, AgentConfig(runtime="claude", model="claude-sonnet-4-5")
                )
                .result()
                .id
            )
    started = now_ms()
    run_id, run_no = ws.store.create_run(
        NewRun(
            runtime="claude",
            model="claude-sonnet-4-5",
            trigger="cli",
            started_at=started,
            agent_id=agent_id,
            parent_run_id=parent,
            pipeline_id="pipe" if parent else None,
            stage_index=0 if parent else None,
            stage_name="draft" if parent else None,
        ),
        owner=None,
    ).result()
    ws.store.complete_run(
        run_id,
        run_no,
        NewAction(
            name="call_llm",
            kind="llm",
            outcome="success" if status == "completed" else "error",
            started_at=started,
            ended_at=started + 20,
            inputs={"messages": [{"role": "user", "content": text}], "system": "Be brief."},
            outputs={"text": "Call 555-123-4567", "finish_reason": "end_turn"},
            usage=TokenUsage(120, 30, 100, 5, 0),
            cost_usd=0.0012,
            cost_source=CostSource.ESTIMATED,
            duration_ns=20_000_000,
            meta={"response_model": "claude-sonnet-4-5-20250929"},
        ),
        RunEnd(status=status, ended_at=started + 25, duration_ns=25_000_000),
    ).result()
    return run_id


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


# -- rules ----------------------------------------------------------------------------------------


def test_endpoint_must_be_https_unless_loopback() -> None:
    assert validate_endpoint("https://otel.example.com") == "https://otel.example.com/v1/traces"
    assert validate_endpoint("http://127.0.0.1:4318/") == "http://127.0.0.1:4318/v1/traces"
    assert validate_endpoint("http://localhost:4318/v1/traces").endswith(":4318/v1/traces")
    assert validate_endpoint("http://[::1]:4318") == "http://[::1]:4318/v1/traces"
    assert (
        validate_endpoint("https://cloud.langfuse.com/api/public/otel")
        == "https://cloud.langfuse.com/api/public/otel/v1/traces"
    )
    for bad in ("http://otel.example.com", "ftp://x", "https://u:p@x.com", "not a url"):
        with pytest.raises(SyncConfigError):
            validate_endpoint(bad)


def test_backoff_grows_with_jitter_and_honours_retry_after() -> None:
    assert backoff_delay_s(0, 0.0, base_s=2) == 1.0
    assert backoff_delay_s(0, 1.0, base_s=2) == 2.0
    assert backoff_delay_s(3, 1.0, base_s=2) == 16.0
    assert backoff_delay_s(30, 1.0, base_s=2, max_s=600) == 600.0
    assert backoff_delay_s(0, 0.5, base_s=2, retry_after_s=30) == 30.0
    assert parse_retry_after("7", 0) == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", 1445412480.0) == 10.0
    assert parse_retry_after("soon", 0) is None


# -- structure and attributes ---------------------------------------------------------------------


def test_runs_arrive_as_traces_with_genai_attributes(
    workspace: Workspace, collector: FakeOtlpServer, clock: FakeClock
) -> None:
    sync = make_sync(workspace, clock)
    configure(sync, collector.url, include_content=True)
    parent = finished_run(workspace, agent=None)
    child = finished_run(workspace, parent=parent)
    assert sync.status().queued == 2

    results = run(sync.sync_now())
    assert results[0].outcome == "sent" and results[0].sent == 2
    (req,) = collector.accepted()
    assert req.path == "/v1/traces"
    assert req.headers["content-type"] == "application/x-protobuf"
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    resource = {
        kv.key: kv.value.string_value for kv in req.request.resource_spans[0].resource.attributes
    }
    assert resource["service.name"] == "ato-desktop"

    spans = {s.span_id: s for s in req.spans()}
    assert len(spans) == 4
    parent_root = spans[run_span_id(parent)]
    child_root = spans[run_span_id(child)]
    # The stage run is in its parent's trace, under the parent's root span.
    assert parent_root.trace_id == trace_id(parent) == child_root.trace_id
    assert child_root.parent_span_id == run_span_id(parent)
    assert parent_root.parent_span_id == b""

    llm = spans[action_span_id(child, 1)]
    assert llm.parent_span_id == run_span_id(child)
    a = attrs(llm)
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.provider.name"] == "anthropic"
    assert a["gen_ai.request.model"] == "claude-sonnet-4-5"
    assert a["gen_ai.response.model"] == "claude-sonnet-4-5-20250929"
    assert a["gen_ai.usage.input_tokens"] == 120
    assert a["gen_ai.usage.output_tokens"] == 30
    assert a["gen_ai.usage.cache_read.input_tokens"] == 100
    assert a["gen_ai.usage.cache_creation.input_tokens"] == 5
    assert a["gen_ai.response.finish_reasons"] == ["end_turn"]
    assert a["ato.cost.usd"] == pytest.approx(0.0012)
    assert a["ato.cost.source"] == "estimated"
    # Content went out, redacted.
    assert "[EMAIL]" in a["gen_ai.input.messages"]
    assert "bob@example.com" not in a["gen_ai.input.messages"]
    assert "[PHONE]" in a["gen_ai.output.messages"]
    root = attrs(child_root)
    assert root["gen_ai.operation.name"] == "invoke_agent"
    assert root["gen_ai.agent.name"] == "writer"
    assert root["ato.run.trigger"] == "cli"
    assert root["ato.pipeline.stage_name"] == "draft"
    assert llm.end_time_unix_nano - llm.start_time_unix_nano == 20_000_000

    status = sync.status()
    assert status.queued == 0 and status.total_sent == 2 and status.last_success_at
    assert status.state is SyncState.IDLE


def test_content_is_not_sent_unless_enabled(
    workspace: Workspace, collector: FakeOtlpServer, clock: FakeClock
) -> None:
    sync = make_sync(workspace, clock)
    configure(sync, collector.url)
    finished_run(workspace)
    run(sync.sync_now())
    for span in collector.accepted()[0].spans():
        a = attrs(span)
        assert not any(k.startswith(("gen_ai.input", "gen_ai.output", "gen_ai.system")) for k in a)


def test_only_chosen_agents_and_no_demo_or_disabled_runs_are_queued(
    workspace: Workspace, collector: FakeOtlpServer, clock: FakeClock
) -> None:
    sync = make_sync(workspace, clock)
    finished_run(workspace)  # sync off: not queued
    assert sync.status().queued == 0
    configure(sync, collector.url)
    finished_run(workspace, agent="other")
    sync.configure(agents=["writer"])
    finished_run(workspace, agent="other")
    kept = finished_run(workspace, agent="writer")
    entries = outbox.due_entries(workspace.store, now_ms() + 1, 10)
    assert len(entries) == 2 and entries[-1].run_id == kept


# -- faults ---------------------------------------------------------------------------------------


def test_500_and_429_back_off_then_deliver(
    workspace: Workspace, collector: FakeOtlpServer, clock: FakeClock
) -> None:
    sync = make_sync(workspace, clock, base_delay_s=2.0)
    configure(sync, collector.url)
    run_id = finished_run(workspace)
    collector.script([(500, {}), (429, {"Retry-After": "30"})])

    first = run(sync.send_batch())
    assert first.outcome == "retry" and first.status_code == 500
    # attempts 0, rand 0.5: three quarters of 2 s
    assert first.retry_at_ms == int(clock.now * 1000) + 1500
    assert run(sync.send_batch()).outcome == "nothing"  # not due yet: no retry storm
    clock.now += 2
    second = run(sync.send_batch())
    assert second.outcome == "retry" and second.status_code == 429
    assert second.retry_at_ms == int(clock.now * 1000) + 30_000  # Retry-After wins
    status = sync.status()
    assert status.queued == 1 and "HTTP 429" in (status.last_error or "")
    clock.now += 31
    assert run(sync.send_batch()).outcome == "sent"
    assert collector.accepted_run_ids() == [run_id]
    assert len(collector.requests) == 3
    # Every attempt carried the very same data.
    assert len({r.request.SerializeToString() for r in collector.requests}) == 1


def test_timeout_is_retried(
    workspace: Workspace, collector: FakeOtlpServer, clock: FakeClock
) -> None:
    sync = make_sync(workspace, clock)
    configure(sync, collector.url)
    finished_run(workspace)
    collector.script(["hang"])
    result = run(sync.send_batch())
    assert result.outcome == "retry" and "did not answer" in (result.error or "")
    collector.release()
    clock.now += 10
    assert run(sync.send_batch()).outcome == "sent"


def test_401_pauses_keeps_queue_and_resumes_after_new_credentials(
    workspace: Workspace, collector: FakeOtlpServer, clock: FakeClock
) -> None:
    sync = make_sync(workspace, clock)
    configure(sync, collector.url, batch_size=1)
    ids = [finished_run(workspace) for _ in range(3)]
    collector.script([(200, {}), (401, {})])

    results = run(sync.sync_now())
    assert [r.outcome for r in results] == ["sent", "auth"]
    status = sync.status()
    assert status.state is SyncState.SIGN_IN and status.needs_sign_in
    assert status.line.startswith(SIGN_IN_LABEL)
    assert status.queued == 2
    # Paused: time passing or asking again sends nothing.
    clock.now += 3600
    assert run(sync.send_batch()).outcome == "auth"
    assert run(sync.sync_now())[0].outcome == "auth"
    assert len(collector.requests) == 2
    # The pause survives a restart of the app.
    assert outbox.counters(workspace.store).auth_paused

    sync.set_credentials(token=TOKEN + "-new")
    assert sync.status().state is SyncState.QUEUED
    results = run(sync.sync_now())
    assert [r.outcome for r in results][:2] == ["sent", "sent"]
    assert sorted(collector.accepted_run_ids()) == sorted(ids)
    assert collector.requests[-1].headers["authorization"].endswith("-new")
    assert TOKEN not in (sync.status().last_error or "")


def test_malformed_row_is_skipped_logged_and_shown(
    workspace: Workspace, collector: FakeOtlpServer, clock: FakeClock
) -> None:
    sync = make_sync(workspace, clock)
    configure(sync, collector.url)
    good = finished_run(workspace)
    bad = finished_run(workspace)
    gone = "0190aaaa0000700080000000000000ff"
    outbox.enqueue_runs(workspace.store, [gone]).result()

    # started_at is NOT NULL in the schema; break the row as an old bug might have instead.
    workspace.store.submit(
        lambda conn, emit: conn.execute(
            "UPDATE actions SET inputs_json = '{not json' WHERE run_no = "
            "(SELECT run_no FROM runs WHERE id = ?)",
            (bad,),
        )
    ).result()
    results = run(sync.sync_now())
    assert results[0].outcome == "sent"
    sent = set(collector.accepted_run_ids())
    assert good in sent and gone not in sent
    status = sync.status()
    assert status.queued == 0
    assert status.skipped_count >= 1
    assert "skipped" in status.line


def test_killed_mid_batch_loses_nothing_after_restart(
    ato_home: Path, keys: object, collector: FakeOtlpServer, clock: FakeClock
) -> None:
    ws = Workspace.open(DataPaths(ato_home))
    sync = make_sync(ws, clock)
    configure(sync, collector.url)
    ids = [finished_run(ws) for _ in range(3)]
    collector.script(["hang"])

    async def killed() -> None:
        task = asyncio.ensure_future(sync.send_batch())
        await asyncio.to_thread(collector.hanging.wait, 5)
        task.cancel()  # the process dies while the batch is in flight
        with pytest.raises(asyncio.CancelledError):
            await task

    run(killed())
    ws.close()
    collector.release()

    ws = Workspace.open(DataPaths(ato_home))
    try:
        sync = make_sync(ws, clock)
        assert sync.status().queued == 3
        run(sync.sync_now())
        assert sorted(collector.accepted_run_ids()) == sorted(ids)
        assert sync.status().queued == 0
    finally:
        ws.close()


def test_worker_sends_runs_as_they_end(workspace: Workspace, collector: FakeOtlpServer) -> None:
    sync = OtlpSync(workspace.store, workspace.credentials, workspace.lease, poll_s=0.2)
    workspace.sync = sync
    configure(sync, collector.url)

    async def go() -> None:
        sync.start()
        try:
            run_id = await asyncio.to_thread(finished_run, workspace)
            for _ in range(100):
                if run_id in collector.accepted_run_ids():
                    return
                await asyncio.sleep(0.02)
            raise AssertionError("the run was not sent")
        finally:
            await sync.aclose()

    run(go())


def test_secrets_stay_in_the_keyring(
    workspace: Workspace, collector: FakeOtlpServer, clock: FakeClock, memory_keyring: object
) -> None:
    sync = make_sync(workspace, clock)
    sync.configure(
        endpoint=collector.url, enabled=True, auth_kind="headers", header_names=["x-api-key"]
    )
    sync.set_credentials(headers={"x-api-key": "hdr-secret-PLANTED-99887766"})
    finished_run(workspace)
    run(sync.sync_now())
    assert collector.accepted()[0].headers["x-api-key"] == "hdr-secret-PLANTED-99887766"
    data = workspace.paths.database.read_bytes()
    assert b"hdr-secret-PLANTED" not in data
    assert TOKEN.encode() not in data


def test_resume_from_another_thread_wakes_the_worker(
    workspace: Workspace, collector: FakeOtlpServer
) -> None:
    """The Settings page saves in a worker thread: the wake-up is handed to the worker's loop
    (polling every 30 s here, so only the wake-up can send within the test)."""
    sync = OtlpSync(workspace.store, workspace.credentials, workspace.lease, poll_s=30)
    workspace.sync = sync
    configure(sync, collector.url)
    sync.pause()

    async def go() -> None:
        sync.start()
        try:
            run_id = await asyncio.to_thread(finished_run, workspace)
            await asyncio.sleep(0.1)
            assert run_id not in collector.accepted_run_ids()  # paused
            await asyncio.to_thread(sync.resume)
            for _ in range(150):
                if run_id in collector.accepted_run_ids():
                    return
                await asyncio.sleep(0.02)
            raise AssertionError("resume() from a worker thread did not wake the worker")
        finally:
            await sync.aclose()

    run(go())


def test_a_process_killed_mid_batch_loses_nothing(
    ato_home: Path, collector: FakeOtlpServer
) -> None:
    """A real process sends a batch, is SIGKILLed while the endpoint holds the request, and
    the next process sends every queued run (at least once, none lost)."""
    import os
    import signal
    import subprocess
    import sys

    ws = Workspace.open(DataPaths(ato_home))
    try:
        ws.sync.configure(endpoint=collector.url, enabled=True, auth_kind="none")
        ids = [finished_run(ws) for _ in range(3)]
        assert ws.sync.status().queued == 3
    finally:
        ws.close()
    collector.script(["hang"])
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import asyncio\n"
            "from ato_desktop.engine.workspace import Workspace\n"
            "ws = Workspace.open()\n"
            "asyncio.run(ws.sync.sync_now())\n",
        ],
        env={**os.environ, "ATO_HOME": str(ato_home), "NO_PROXY": "127.0.0.1,localhost"},
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert collector.hanging.wait(30), "the child never sent its batch"
        child.send_signal(signal.SIGKILL)
        assert child.wait(10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
        collector.release()

    ws = Workspace.open(DataPaths(ato_home))  # the log is intact after the kill
    try:
        assert ws.sync.status().queued == 3
        run(ws.sync.sync_now())
        assert sorted(set(collector.accepted_run_ids())) == sorted(ids)
        assert ws.sync.status().queued == 0
    finally:
        ws.close()


# -- what an OpenInference backend (Arize Phoenix) reads -------------------------------------------
#
# Phoenix 20.26 (phoenix/trace/otel.py, decode_otlp_span) derives OpenInference attributes from
# gen_ai.* ones only where a span has none of its own (setdefault), takes the span kind from
# `openinference.span.kind`, fills the Input / Output columns from `input.value` /
# `output.value`, counts tokens and prices only LLM spans (db/insertion/span.py,
# db/insertion/helpers.py: should_calculate_span_cost) and files a trace under the resource's
# `openinference.project.name` (utilities/project.py). Without an output.value of its own, an
# LLM span's output is {"id": <response id>, "model": <response model>}
# (trace/gen_ai/conversion.py: get_openinference_response_attributes).


def _resource(req: object) -> dict[str, str]:
    resource = req.request.resource_spans[0].resource  # type: ignore[attr-defined]
    return {kv.key: kv.value.string_value for kv in resource.attributes}


def test_phoenix_columns_fill_from_openinference_attributes(
    workspace: Workspace, collector: FakeOtlpServer, clock: FakeClock
) -> None:
    sync = make_sync(workspace, clock)
    configure(sync, collector.url, include_content=True, project_name="support bots")
    run_id = finished_run(workspace, text="Where is my order 4821?")
    run(sync.sync_now())
    (req,) = collector.accepted()
    assert _resource(req)["openinference.project.name"] == "support bots"
    assert _resource(req)["service.name"] == "support bots"
    spans = {s.span_id: s for s in req.spans()}

    root = attrs(spans[run_span_id(run_id)])
    assert root["openinference.span.kind"] == "AGENT"  # never LLM: tokens count once
    assert root["input.value"] == "Where is my order 4821?"
    assert root["input.mime_type"] == "text/plain"
    assert root["output.value"] == "Call [PHONE]"  # the answer, redacted like all content
    assert root["agent.name"] == "writer"

    llm = attrs(spans[action_span_id(run_id, 1)])
    assert llm["openinference.span.kind"] == "LLM"
    # The answer, not {"id": ..., "model": ...}: Phoenix keeps a span's own output.value.
    assert llm["output.value"] == "Call [PHONE]" and llm["output.mime_type"] == "text/plain"
    assert llm["input.value"] == "Where is my order 4821?"
    assert llm["llm.model_name"] == "claude-sonnet-4-5-20250929"
    assert llm["llm.provider"] == "anthropic"
    assert (llm["llm.token_count.prompt"], llm["llm.token_count.completion"]) == (120, 30)
    assert llm["llm.token_count.total"] == 150
    assert llm["llm.token_count.prompt_details.cache_read"] == 100
    assert llm["llm.input_messages.0.message.role"] == "system"
    assert llm["llm.input_messages.0.message.content"] == "Be brief."
    assert llm["llm.input_messages.1.message.content"] == "Where is my order 4821?"
    assert llm["llm.output_messages.0.message.role"] == "assistant"
    assert llm["llm.cost.total"] == pytest.approx(0.0012)


def test_project_name_defaults_and_content_stays_home_when_off(
    workspace: Workspace, collector: FakeOtlpServer, clock: FakeClock
) -> None:
    sync = make_sync(workspace, clock)
    configure(sync, collector.url)
    assert sync.config().project_name is None
    finished_run(workspace)
    run(sync.sync_now())
    (req,) = collector.accepted()
    assert _resource(req)["openinference.project.name"] == "ato-desktop"
    for span in req.spans():
        a = attrs(span)
        assert a["openinference.span.kind"] in ("AGENT", "LLM")
        content_keys = ("input.", "output.", "llm.input_m", "llm.output_m")
        assert not any(k.startswith(content_keys) for k in a)
    with pytest.raises(SyncConfigError):
        sync.configure(project_name="x" * 201)


def _pipeline_run(ws: Workspace) -> tuple[str, str]:
    """A pipeline's own run (runtime "pipeline", model = the pipeline's name, no cost) with
    its summary action, and one stage run under it, as engine.pipelines records them."""
    started = now_ms()
    parent, parent_no = ws.store.create_run(
        NewRun(
            runtime="pipeline",
            model="triage",
            trigger="cli",
            started_at=started,
            pipeline_id="0190aaaa00007000800000000000abcd",
        ),
        owner=None,
    ).result()
    stage = finished_run(ws, parent=parent)
    ws.store.complete_run(
        parent,
        parent_no,
        NewAction(
            name="pipeline",
            kind="pipeline",
            outcome="success",
            started_at=started,
            ended_at=started + 30,
            inputs={"input": "Sort these tickets", "version": 1},
            outputs={"text": "3 tickets sorted", "stages": []},
        ),
        RunEnd(status="completed", ended_at=started + 30, duration_ns=30_000_000),
    ).result()
    return parent, stage


def test_a_pipeline_span_is_a_chain_not_a_provider_call(
    workspace: Workspace, collector: FakeOtlpServer, clock: FakeClock
) -> None:
    sync = make_sync(workspace, clock)
    configure(sync, collector.url, include_content=True)
    parent, stage = _pipeline_run(workspace)
    run(sync.sync_now())
    spans = {s.span_id: s for r in collector.accepted() for s in r.spans()}
    root = spans[run_span_id(parent)]
    a = attrs(root)
    assert a["openinference.span.kind"] == "CHAIN"
    assert a["gen_ai.operation.name"] == "invoke_workflow"
    assert a["ato.pipeline.name"] == "triage"
    assert root.name == "pipeline triage"
    # No provider "pipeline" with the pipeline's name as a model, and no cost source the log
    # does not have.
    assert "gen_ai.provider.name" not in a and "gen_ai.request.model" not in a
    assert "ato.cost.source" not in a and "ato.cost.usd" not in a
    assert (a["input.value"], a["output.value"]) == ("Sort these tickets", "3 tickets sorted")
    summary = attrs(spans[action_span_id(parent, 1)])
    assert summary["openinference.span.kind"] == "CHAIN"
    assert attrs(spans[run_span_id(stage)])["openinference.span.kind"] == "AGENT"


def test_the_status_line_never_ends_in_an_empty_reason(
    workspace: Workspace, clock: FakeClock
) -> None:
    """A connection reset makes httpx raise ReadError('') (its cause is empty too): the status
    says what happened and to which server."""
    import socket
    import struct
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]

    def reset_every_connection() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    threading.Thread(target=reset_every_connection, daemon=True).start()
    try:
        sync = make_sync(workspace, clock)
        sync.configure(endpoint=f"http://127.0.0.1:{port}", enabled=True)
        finished_run(workspace)
        result = run(sync.send_batch())
    finally:
        server.close()
    assert result.outcome == "retry"
    error = result.error or ""
    assert error.startswith(f"cannot reach the endpoint 127.0.0.1:{port}: ")
    assert error.split(": ", 1)[1].strip()
    line = sync.status().line
    assert "last error: cannot reach the endpoint" in line
    assert not line.rstrip().endswith(":")
