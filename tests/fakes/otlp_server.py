"""A loopback OTLP/HTTP trace collector for tests: decodes /v1/traces protobuf with
opentelemetry-proto, keeps every request, and answers from a script of faults.

    with FakeOtlpServer() as server:
        server.script([(500, {}), (429, {"Retry-After": "7"}), "hang", (401, {})])
        ... server.url ...  # http://127.0.0.1:<port>
        server.requests  # [ReceivedExport(headers, request)]

A scripted answer is consumed per request; once the script is empty every request gets 200.
"hang" holds the request until `release()` (a timeout for the client, or a process killed
mid-batch).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

Answer = tuple[int, dict[str, str]] | str


@dataclass
class ReceivedExport:
    path: str
    headers: dict[str, str]
    request: ExportTraceServiceRequest
    answered: int

    def spans(self) -> list[Span]:
        return [
            span for rs in self.request.resource_spans for ss in rs.scope_spans for span in ss.spans
        ]


def attrs(span: Span) -> dict[str, Any]:
    """A span's attributes as plain Python values."""
    out: dict[str, Any] = {}
    for kv in span.attributes:
        v = kv.value
        which = v.WhichOneof("value")
        if which == "array_value":
            out[kv.key] = [getattr(x, x.WhichOneof("value")) for x in v.array_value.values]
        else:
            out[kv.key] = getattr(v, which) if which else None
    return out


class FakeOtlpServer:
    def __init__(self) -> None:
        self.requests: list[ReceivedExport] = []
        self._script: list[Answer] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self.hanging = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with server._lock:
                    answer: Answer = server._script.pop(0) if server._script else (200, {})
                if answer == "hang":
                    server.hanging.set()
                    server._release.wait(10)
                    return
                assert not isinstance(answer, str)
                status, headers = answer
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                with server._lock:
                    server.requests.append(
                        ReceivedExport(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            request,
                            status,
                        )
                    )
                payload = (
                    ExportTraceServiceResponse().SerializeToString()
                    if status == 200
                    else b'{"error": "scripted"}'
                )
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header(
                    "Content-Type",
                    "application/x-protobuf" if status == 200 else "application/json",
                )
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, answers: Sequence[Answer]) -> None:
        with self._lock:
            self._script = list(answers)

    def release(self) -> None:
        self._release.set()

    def accepted(self) -> list[ReceivedExport]:
        return [r for r in self.requests if 200 <= r.answered < 300]

    def accepted_run_ids(self) -> list[str]:
        ids = []
        for r in self.accepted():
            for span in r.spans():
                a = attrs(span)
                if "ato.run.id" in a and "ato.action.seq" not in a:
                    ids.append(a["ato.run.id"])
        return ids

    def __enter__(self) -> FakeOtlpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __iter__(self) -> Iterator[ReceivedExport]:
        return iter(self.requests)
