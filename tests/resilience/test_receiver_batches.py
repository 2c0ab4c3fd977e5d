"""No receiver write holds the log for long, and an export is all or nothing (issue 15.2).

A 200,000-span export is written while CLI dispatches in other processes end their runs: every
answer lands (none is left `interrupted` by "locked by another process"). An export whose
writing fails part-way, or whose process is killed part-way, leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import RunFilter
from ato_desktop.engine.otlp_receiver import OtlpReceiver
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store import external_runs
from ato_desktop.store.database import StoreError
from ato_desktop.store.paths import DataPaths
from tests.fakes import FakeLLMServer, Scenario
from tests.resilience.test_disk_full import UNCAPPED, cap_job
from tests.test_cli import REPO, _env

MAX_TRANSACTION_S = 0.25


def tiny_export(traces: int, spans_per_trace: int, seed: int = 1) -> bytes:
    """An export of small spans (the adversarial 16.8 MB / 200k-span case's shape)."""
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    start = 1_780_000_000_000_000_000
    for t in range(traces):
        trace_id = (seed << 64 | t + 1).to_bytes(16, "big")
        for s in range(spans_per_trace):
            span: Span = scope.spans.add()
            span.trace_id = trace_id
            span.span_id = (t * spans_per_trace + s + 1).to_bytes(8, "big")
            if s:
                span.parent_span_id = (t * spans_per_trace + 1).to_bytes(8, "big")
            span.name = f"step {s}"
            span.start_time_unix_nano = start + t * 1_000_000_000 + s * 1_000_000
            span.end_time_unix_nano = span.start_time_unix_nano + 500_000
    return request.SerializeToString()


def _counts(ws: Workspace) -> tuple[int, int, int]:
    conn = sqlite3.connect(f"file:{ws.paths.database}?mode=ro", uri=True)
    try:
        return (
            conn.execute("SELECT count(*) FROM runs").fetchone()[0],
            conn.execute("SELECT count(*) FROM actions").fetchone()[0],
            conn.execute("SELECT count(*) FROM otlp_ingests").fetchone()[0],
        )
    finally:
        conn.close()


@pytest.mark.slow
def test_a_big_export_never_keeps_a_dispatch_from_recording_its_answer(
    workspace: Workspace, fake: FakeLLMServer, ato_home: Path
) -> None:
    workspace.agents.create(
        "writer",
        AgentConfig(runtime="claude", model="claude-sonnet-5", base_url=fake.anthropic_base_url),
    )
    fake.scenario = Scenario(chunks=("Four", "."), delay_s=0.05)
    body = tiny_export(2_000, 100)  # 200,000 spans
    receiver = OtlpReceiver(workspace, port=0)
    failure: list[BaseException] = []
    done = threading.Event()

    def ingest() -> None:
        try:
            receiver.ingest(body, "application/x-protobuf")
        except BaseException as exc:  # reported by the test below
            failure.append(exc)
        finally:
            done.set()

    writer = threading.Thread(target=ingest)
    writer.start()
    answers: list[subprocess.CompletedProcess[str]] = []
    env = _env(ato_home)
    try:
        # Wait for the export's batches to be under way, then end runs in other processes
        # for as long as it lasts (at least four).
        deadline = time.monotonic() + 120
        while _counts(workspace)[0] == 0 and not done.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
        while not done.is_set() or len(answers) < 4:
            answers.append(
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "ato_desktop",
                        "dispatch",
                        "--agent",
                        "writer",
                        "What is 2+2?",
                        "--json",
                    ],
                    capture_output=True,
                    text=True,
                    env=env,
                    timeout=120,
                    cwd=REPO,
                    start_new_session=True,
                )
            )
            if len(answers) >= 40:
                break
    finally:
        writer.join(timeout=600)
    assert not failure, failure
    assert len(answers) >= 4
    for answer in answers:
        assert answer.returncode == 0, answer.stderr
        data = json.loads(answer.stdout)
        assert data["status"] == "completed", data
        run = workspace.store.get_run(data["run_id"] if "run_id" in data else data["id"])
        assert run.status == "completed" and run.cost_usd is not None
        (action,) = workspace.store.get_actions(run.id)
        assert action.outputs["text"] == "Four."
    external = workspace.store.count_runs(RunFilter(trigger="external"))
    assert external == 2_000
    # Every batch's own work stays within the bound; on a machine this loaded (other sessions
    # share its two cores) the scheduler can still stretch one batch's wall time, so the wall
    # time is held to the bound for 99 % of them.
    # CPU time too: on a shared virtual machine a thread's CPU time includes time the host gave
    # its CPU to others (one batch of the CI's run measured 458 ms where they take 25-60 ms), so
    # the bound holds for 99 % of batches and the longest stays within twice it.
    cpus = sorted(receiver.batch_cpu_seconds)
    assert cpus[int(len(cpus) * 0.99) - 1] <= MAX_TRANSACTION_S, (len(cpus), cpus[-5:])
    assert receiver.longest_batch_cpu_s <= 2 * MAX_TRANSACTION_S, receiver.longest_batch_cpu_s
    walls = sorted(receiver.batch_seconds)
    assert walls[int(len(walls) * 0.99) - 1] <= MAX_TRANSACTION_S, (len(walls), walls[-5:])
    assert external_runs.pending_ingests(workspace.store) == 0


def test_an_export_whose_writing_fails_part_way_leaves_nothing(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = tiny_export(300, 20, seed=2)  # 6,000 spans: several batches
    receiver = OtlpReceiver(workspace, port=0)
    before = _counts(workspace)
    # The disk fills up after the first batches (SQLite's page cap, as on a full disk).
    writes = {"n": 0}
    original = external_runs.write_batch

    def write_batch(log: Any, ingest_no: int, traces: Any, *rest: Any) -> Any:
        writes["n"] += 1
        if writes["n"] == 3:
            log.submit(cap_job()).result()
        return original(log, ingest_no, traces, *rest)

    monkeypatch.setattr(external_runs, "write_batch", write_batch)
    try:
        with pytest.raises(StoreError):
            receiver.ingest(body, "application/x-protobuf")
    finally:
        monkeypatch.undo()
        workspace.store.submit(
            lambda conn, emit: conn.execute(f"PRAGMA max_page_count = {UNCAPPED}")
        ).result()
    assert writes["n"] >= 3
    assert _counts(workspace) == before
    # The exporter retries: the whole export, once.
    result = receiver.ingest(body, "application/x-protobuf")
    assert result.runs_created == 300 and result.actions == 6_000
    assert _counts(workspace) == (before[0] + 300, before[1] + 6_000, 0)


def test_runs_an_export_extended_are_put_back_as_they_were_when_it_fails(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = OtlpReceiver(workspace, port=0)
    early = ExportTraceServiceRequest.FromString(tiny_export(1, 5, seed=4))
    spans = early.resource_spans[0].scope_spans[0].spans
    first = ExportTraceServiceRequest()
    first.resource_spans.add().scope_spans.add().spans.extend(spans[2:])
    receiver.ingest(first.SerializeToString(), "application/x-protobuf")
    (run,) = workspace.store.list_runs(RunFilter())
    before = (workspace.store.get_run(run.id), workspace.store.get_actions(run.id))
    # A big export: the earlier spans of that trace (they start first: the run's actions are
    # put in order again) and 300 new traces; the disk fills up at its third batch.
    big = ExportTraceServiceRequest.FromString(tiny_export(300, 20, seed=5))
    original = external_runs.write_batch
    calls = {"n": 0}

    def write_batch(log: Any, ingest_no: int, traces: Any, *rest: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            log.submit(cap_job()).result()
        return original(log, ingest_no, traces, *rest)

    monkeypatch.setattr(external_runs, "write_batch", write_batch)
    # The earlier spans first, so the run is extended in the first batch.
    reordered = ExportTraceServiceRequest()
    scope = reordered.resource_spans.add().scope_spans.add()
    scope.spans.extend(spans[:2])
    scope.spans.extend(big.resource_spans[0].scope_spans[0].spans)
    try:
        with pytest.raises(StoreError):
            receiver.ingest(reordered.SerializeToString(), "application/x-protobuf")
    finally:
        monkeypatch.undo()
        workspace.store.submit(
            lambda conn, emit: conn.execute(f"PRAGMA max_page_count = {UNCAPPED}")
        ).result()
    assert calls["n"] >= 3
    assert workspace.store.count_runs(RunFilter()) == 1
    assert (workspace.store.get_run(run.id), workspace.store.get_actions(run.id)) == before
    # Retried: the run has all five spans, in start order, linked to their root.
    receiver.ingest(reordered.SerializeToString(), "application/x-protobuf")
    actions = workspace.store.get_actions(run.id)
    assert [a.name for a in actions] == [f"step {i}" for i in range(5)]
    assert [a.parent_seq for a in actions] == [None, 1, 1, 1, 1]
    assert workspace.store.count_runs(RunFilter()) == 301


@pytest.fixture
def export_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "export.pb"
    path.write_bytes(tiny_export(1_500, 20, seed=3))  # 30,000 spans
    yield path


def test_an_export_whose_process_is_killed_part_way_is_taken_back_at_the_next_start(
    ato_home: Path, export_file: Path
) -> None:
    Workspace.open(DataPaths(ato_home)).close()
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.resilience.receiver_worker", str(export_file)],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(ato_home),
        cwd=REPO,
        start_new_session=True,
    )
    try:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        db = ato_home / "ato.sqlite3"
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            try:
                runs = conn.execute("SELECT count(*) FROM runs").fetchone()[0]
                pending = conn.execute("SELECT count(*) FROM otlp_ingests").fetchone()[0]
            finally:
                conn.close()
            if runs >= 100 and pending:
                break
            assert worker.poll() is None, "the export finished before it could be killed"
            time.sleep(0.02)
        os.kill(worker.pid, signal.SIGKILL)
        assert worker.wait(timeout=30) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()
    assert runs >= 100  # part of the export was committed when it was killed
    ws = Workspace.open(DataPaths(ato_home))
    try:
        assert _counts(ws) == (0, 0, 0)
        with sqlite3.connect(ws.paths.database) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert conn.execute("SELECT count(*) FROM otlp_spans").fetchone()[0] == 0
    finally:
        ws.close()


def test_a_trace_cut_across_batches_is_one_run_with_its_ledger_rows(
    workspace: Workspace,
) -> None:
    # One trace of 1,200 spans (cut into slices of 200, several to a batch: the later slices
    # extend the run the first one created in the same transaction) among 300 small traces.
    big = ExportTraceServiceRequest.FromString(tiny_export(1, 1_200, seed=6))
    for i, span in enumerate(big.resource_spans[0].scope_spans[0].spans):
        span.end_time_unix_nano += 2_000_000 + i  # ends in a later millisecond
        if i % 7 == 3:
            span.status.code = Status.STATUS_CODE_ERROR
        if i % 3 == 1:  # a priced model call: another stream, a cost
            for key, text in (
                ("gen_ai.operation.name", "chat"),
                ("gen_ai.provider.name", "anthropic"),
                ("gen_ai.request.model", "claude-sonnet-4-5"),
            ):
                span.attributes.add(key=key).value.string_value = text
            span.attributes.add(key="gen_ai.usage.input_tokens").value.int_value = 100 + i
            span.attributes.add(key="gen_ai.usage.output_tokens").value.int_value = 10
    small = ExportTraceServiceRequest.FromString(tiny_export(300, 5, seed=7))
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    scope.spans.extend(small.resource_spans[0].scope_spans[0].spans[:700])
    scope.spans.extend(big.resource_spans[0].scope_spans[0].spans)
    scope.spans.extend(small.resource_spans[0].scope_spans[0].spans[700:])
    receiver = OtlpReceiver(workspace, port=0)
    result = receiver.ingest(request.SerializeToString(), "application/x-protobuf")
    assert (result.runs_created, result.runs_extended, result.actions) == (301, 0, 2_700)
    assert len(receiver.batch_seconds) > 2
    trace_id = (6 << 64 | 1).to_bytes(16, "big").hex()
    run = workspace.store.get_run(trace_id)
    actions = workspace.store.get_actions(trace_id)
    failed = len(range(3, 1_200, 7))
    assert run.action_count == 1_200 and run.success_count == 1_200 - failed
    assert [a.seq for a in actions] == list(range(1, 1_201))
    assert [a.name for a in actions] == [
        "call_llm" if i % 3 == 1 else f"step {i}" for i in range(1_200)
    ]
    assert run.cost_usd is not None and run.usage.input_tokens == sum(
        100 + i for i in range(1, 1_200, 3)
    )
    assert [a.parent_seq for a in actions] == [None] + [1] * 1_199
    # The Activity Ledger's rows, built in Python for new runs, are what copying the actions
    # in SQL gives (store.ledger_rows.index_run_actions).
    conn = sqlite3.connect(f"file:{workspace.paths.database}?mode=ro", uri=True)
    try:
        written = conn.execute(
            "SELECT l.run_no, l.seq, s.agent_id, s.model, s.kind, s.name, s.outcome,"
            " l.started_at, l.cost_usd, l.duration_ns"
            " FROM ledger_actions l JOIN ledger_streams s ON s.id = l.stream ORDER BY 1, 2"
        ).fetchall()
        expected = conn.execute(
            "SELECT a.run_no, a.seq, coalesce(r.agent_id, ''), r.model, a.kind, a.name,"
            " a.outcome, a.started_at, a.cost_usd, a.duration_ns"
            " FROM actions a JOIN runs r ON r.run_no = a.run_no ORDER BY 1, 2"
        ).fetchall()
    finally:
        conn.close()
    assert len(written) == 2_700 and written == expected


def test_a_big_export_starts_at_half_the_batch_size_the_last_one_reached(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each commit writes every page its batch touched (the run's indexes among them): an
    # export restarting at the first, small size paid that for a few extra batches each time.
    receiver = OtlpReceiver(workspace, port=0)
    sizes: list[int] = []
    original = external_runs.write_batch

    def write_batch(log: Any, ingest_no: int, traces: Any, *rest: Any) -> Any:
        sizes.append(sum(len(t.spans) for t in traces))
        return original(log, ingest_no, traces, *rest)

    monkeypatch.setattr(external_runs, "write_batch", write_batch)
    receiver.ingest(tiny_export(100, 20, seed=7), "application/x-protobuf")  # 2,000 spans
    first = list(sizes)
    reached = receiver._batch_size  # what the sizing reached (timing: not asserted)
    sizes.clear()
    receiver.ingest(tiny_export(100, 20, seed=8), "application/x-protobuf")
    assert sum(first) == sum(sizes) == 2_000
    assert first[0] == 200  # a fresh receiver starts small
    start = max(200, reached // 2)
    assert start <= sizes[0] < start + 20, (first, sizes, reached)  # whole 20-span traces
