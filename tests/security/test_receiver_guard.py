"""Nobody but an exporter writes through the local OTLP receiver, and nothing it takes in can
exhaust the process or rewrite a run of another source (issue 15, items 4 and 5)."""

from __future__ import annotations

import gzip
import http.client
import io
import json
import resource
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ato_desktop import cli
from ato_desktop.core.models import TokenUsage
from ato_desktop.core.records import NewAction, NewRun, RunEnd, RunFilter
from ato_desktop.engine.credentials import CredentialStore
from ato_desktop.engine.otlp_receiver import OtlpReceiver, ReceiverToken
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.paths import DataPaths

TRACE = "5b8efff798038103d269b633813fc60c"


def _span(trace: str = TRACE, span: str = "eee19b7ec3c1b174", **extra: Any) -> dict[str, Any]:
    return {
        "traceId": trace,
        "spanId": span,
        "name": "chat",
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000001000000000",
        "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}}],
        **extra,
    }


def _export(*spans: dict[str, Any]) -> bytes:
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": list(spans)}]}]}).encode()


@pytest.fixture
def workspace(ato_home: Path) -> Iterator[Workspace]:
    ws = Workspace.open(DataPaths(ato_home))
    yield ws
    ws.close()


@pytest.fixture
def receiver(workspace: Workspace) -> Iterator[OtlpReceiver]:
    rx = OtlpReceiver(workspace, port=0)
    rx.start()
    yield rx
    rx.close()


def _post(rx: OtlpReceiver, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    host, port = rx.address
    conn = http.client.HTTPConnection(host, port, timeout=60)
    try:
        conn.putrequest("POST", "/v1/traces", skip_host="Host" in headers)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        conn.send(body)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def _runs(ws: Workspace) -> int:
    return ws.store.count_runs(RunFilter())


def test_a_gzip_bomb_is_refused_while_decompressing(
    workspace: Workspace, receiver: OtlpReceiver
) -> None:
    # About 1 MB that inflates to 1 GiB, built in a stream (never 1 GiB in memory here).
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1 << 20)
    bomb = b"".join(packer.compress(block) for _ in range(1024)) + packer.flush()
    assert len(bomb) < 2 * 1024 * 1024
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    status, body = _post(
        receiver,
        bomb,
        {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
    )
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert status == 413 and "decompresses to more than 32 MB" in body["message"]
    assert grown_mib < 100, f"the receiver grew by {grown_mib:.0f} MiB"
    assert _runs(workspace) == 0


def test_a_gzip_export_within_the_cap_is_taken(
    workspace: Workspace, receiver: OtlpReceiver
) -> None:
    status, _ = _post(
        receiver,
        gzip.compress(_export(_span())),
        {"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert status == 200 and _runs(workspace) == 1


@pytest.mark.parametrize(
    ("headers", "status", "reason"),
    [
        # DNS rebinding: a page on attacker.example resolving to 127.0.0.1.
        ({"Host": "attacker.example", "Content-Type": "application/json"}, 403, "Host"),
        ({"Host": "attacker.example:4318", "Content-Type": "application/json"}, 403, "Host"),
        # A page's fetch(no-cors): an Origin, and no OTLP content type.
        (
            {"Origin": "https://attacker.example", "Content-Type": "application/json"},
            403,
            "web pages",
        ),
        ({"Sec-Fetch-Mode": "no-cors", "Content-Type": "application/json"}, 403, "web pages"),
        ({}, 415, "Content-Type"),
        ({"Content-Type": "text/plain"}, 415, "Content-Type"),
    ],
)
def test_requests_that_are_not_an_exporters_are_refused(
    workspace: Workspace,
    receiver: OtlpReceiver,
    headers: dict[str, str],
    status: int,
    reason: str,
) -> None:
    got, body = _post(receiver, _export(_span()), headers)
    assert got == status and reason in body["message"]
    assert _runs(workspace) == 0


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "localhost:4318", "127.0.0.1:9"])
def test_loopback_host_names_are_taken(
    workspace: Workspace, receiver: OtlpReceiver, host: str
) -> None:
    status, _ = _post(
        receiver, _export(_span()), {"Host": host, "Content-Type": "application/json"}
    )
    assert status == 200 and _runs(workspace) == 1


def _dispatched_run(ws: Workspace, run_id: str) -> None:
    run = NewRun(
        runtime="claude", model="claude-sonnet-4-5", trigger="cli", started_at=1, id=run_id
    )
    action = NewAction(
        "call_llm",
        "llm",
        "success",
        started_at=1,
        ended_at=2,
        outputs={"text": "the real answer"},
        usage=TokenUsage(10, 5),
    )
    end = RunEnd(status="completed", ended_at=2, duration_ns=1_000_000)
    ws.store.ingest([(run, end, [action])]).result()


def test_a_trace_never_rewrites_a_run_of_another_source(
    workspace: Workspace, receiver: OtlpReceiver
) -> None:
    _dispatched_run(workspace, TRACE)
    before = workspace.store.get_run(TRACE)
    hostile = _span(status={"code": 2, "message": "pwned"})
    status, _ = _post(receiver, _export(hostile), {"Content-Type": "application/json"})
    assert status == 200
    after = workspace.store.get_run(TRACE)
    assert after == before
    assert [a.name for a in workspace.store.get_actions(TRACE)] == ["call_llm"]
    # The trace got a run of its own, named by its trace id in a tag.
    (own,) = workspace.store.list_runs(RunFilter(trigger="external"))
    assert own.id != TRACE and own.tags["otel.trace_id"] == TRACE
    assert own.status == "failed" and own.error_message == "pwned"
    # A later span of that trace joins the trace's run, not the dispatched one.
    late = _span(span="eee19b7ec3c1b175", parentSpanId="eee19b7ec3c1b174")
    assert _post(receiver, _export(late), {"Content-Type": "application/json"})[0] == 200
    assert workspace.store.get_run(own.id).action_count == 2
    assert workspace.store.get_run(TRACE) == before


def test_a_receiver_that_requires_its_token_takes_only_requests_carrying_it(
    workspace: Workspace,
) -> None:
    token = ReceiverToken(CredentialStore()).create()
    rx = OtlpReceiver(workspace, port=0, require_token=True)
    rx.start()
    try:
        plain = {"Content-Type": "application/json"}
        assert _post(rx, _export(_span()), plain)[0] == 401
        wrong = {**plain, "Authorization": "Bearer not-the-token"}
        assert _post(rx, _export(_span()), wrong)[0] == 401
        assert _runs(workspace) == 0
        right = {**plain, "Authorization": f"Bearer {token}"}
        assert _post(rx, _export(_span()), right)[0] == 200
        assert _runs(workspace) == 1
    finally:
        rx.close()


def test_the_token_is_shown_in_full_only_when_created(ato_home: Path) -> None:
    out = io.StringIO()
    assert cli.main(["receiver", "token", "create"], stdout=out) == 0
    token = out.getvalue().strip()
    assert len(token) >= 32
    assert ReceiverToken().get() == token  # kept in the keyring
    shown = io.StringIO()
    assert cli.main(["receiver", "token", "show"], stdout=shown) == 0
    assert token not in shown.getvalue() and token[-4:] in shown.getvalue()
    gone = io.StringIO()
    assert cli.main(["receiver", "token", "delete"], stdout=gone) == 0
    assert ReceiverToken().get() is None


def test_a_receiver_beyond_loopback_takes_addresses_and_its_own_names_only() -> None:
    import socket

    from ato_desktop.engine.otlp_receiver import Refused, check_host

    for host in ("192.0.2.10:4318", "[2001:db8::1]:4318", "127.0.0.1", socket.gethostname()):
        check_host(host, "0.0.0.0")
    for host in ("attacker.example", "attacker.example:4318", None, ""):
        with pytest.raises(Refused):
            check_host(host, "0.0.0.0")
    # On loopback, only loopback names: an address of this machine's network is not one.
    with pytest.raises(Refused):
        check_host("192.0.2.10", "127.0.0.1")
