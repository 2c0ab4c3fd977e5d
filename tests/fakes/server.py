"""A loopback HTTP server that answers like Anthropic and OpenAI, driven by Scenarios.

One server serves all three APIs:

- ``POST /v1/messages`` (Anthropic Messages; SDK base_url = ``server.url``),
- ``POST /v1/responses`` and ``POST /v1/chat/completions`` (OpenAI; SDK base_url =
  ``server.url + "/v1"``; any path ending in ``/responses`` or ``/chat/completions`` works).

Streams use chunked transfer encoding like the real APIs, so a cut (the socket closed before the
final zero-length chunk) reaches the client as an incomplete body, not as a clean end.
"""

from __future__ import annotations

import base64
import json
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes.scenario import Scenario
from tests.fakes.wire import SSE, AnthropicWire, ChatWire, ErrorReply, ResponsesWire, Wire

_CONTROL_PREFIX = "/_control"


@dataclass
class RecordedRequest:
    """One request as the fake received it, and what became of its connection."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    scenario: Scenario
    # Set when the client went away before the answer was complete (cancel, stall timeout).
    disconnected: threading.Event = field(default_factory=threading.Event)
    # Set when the fake reached a stall_after point and began to wait.
    stalled: threading.Event = field(default_factory=threading.Event)
    # Set when the handler is done with this request, however it ended.
    done: threading.Event = field(default_factory=threading.Event)
    # The 400 message when the fake refused the request as the real API would (a tool result
    # that answers no call, a call left unanswered, ...); None when it was accepted.
    rejected: str | None = None
    # When the request arrived (time.time()), to compare with what the client recorded.
    received_at: float = field(default_factory=time.time)

    @property
    def api_key(self) -> str | None:
        """The key the client sent: Anthropic's x-api-key or the Bearer token."""
        if "x-api-key" in self.headers:
            return self.headers["x-api-key"]
        auth = self.headers.get("authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "headers": self.headers,
            "body": self.body,
            "disconnected": self.disconnected.is_set(),
            "stalled": self.stalled.is_set(),
            "done": self.done.is_set(),
            "rejected": self.rejected,
            "received_at": self.received_at,
        }


class FakeLLMServer:
    """Fake Anthropic + OpenAI server on 127.0.0.1, in a background thread.

    Use as a context manager (``with FakeLLMServer() as fake:``) or call start()/stop().
    Script it with ``fake.scenario = Scenario(...)`` (every request) and/or
    ``fake.enqueue(Scenario(...), ...)`` (the next requests, in order, before the default).
    ``api_key``, when given, is the only key accepted: any other gets the provider's real 401.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        api_key: str | None = None,
        scenario: Scenario | None = None,
    ) -> None:
        self.api_key = api_key
        self.scenario = scenario or Scenario()
        self._queue: deque[Scenario] = deque()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._release_generation = 0
        self._stopping = threading.Event()
        self._httpd = _Server((host, port), _Handler)
        self._httpd.fake = self
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeLLMServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-llm-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; stalled and slow streams are let go so their threads end."""
        self._stopping.set()
        self.release()
        if self._thread is not None:
            # shutdown() waits for serve_forever() to return, so only call it once it runs.
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: the Anthropic SDK's base_url."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    @property
    def openai_base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``: the OpenAI SDK's base_url."""
        return f"{self.url}/v1"

    # ------------------------------------------------------------------ scripting

    def enqueue(self, *scenarios: Scenario) -> None:
        """Scenarios for the next requests, one each, before falling back to ``scenario``."""
        with self._lock:
            self._queue.extend(scenarios)

    def reset(self) -> None:
        """Forget recorded requests and queued scenarios; back to the default Scenario()."""
        with self._lock:
            self._queue.clear()
            self._requests.clear()
            self.scenario = Scenario()

    def release(self) -> None:
        """Let every stream that is stalled right now carry on."""
        with self._changed:
            self._release_generation += 1
            self._changed.notify_all()

    def _next_scenario(self) -> Scenario:
        with self._lock:
            return self._queue.popleft() if self._queue else self.scenario

    # ------------------------------------------------------------------ inspection

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every API request so far (control requests excluded), oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def last_request(self) -> RecordedRequest:
        with self._lock:
            if not self._requests:
                raise AssertionError("the fake server has received no request")
            return self._requests[-1]

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until at least ``count`` requests arrived; AssertionError after ``timeout``."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._requests) >= count, timeout):
                raise AssertionError(
                    f"expected {count} requests within {timeout} s, got {len(self._requests)}"
                )
            return list(self._requests)

    def _record(self, request: RecordedRequest) -> None:
        with self._changed:
            self._requests.append(request)
            self._changed.notify_all()

    def _wait_release(self, generation: int, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(
                lambda: self._release_generation != generation or self._stopping.is_set(), timeout
            )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # A fresh port per server; no TIME_WAIT trouble for back-to-back tests.
    allow_reuse_address = True
    fake: FakeLLMServer


class _ClientGone(Exception):
    """The client closed the connection."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Idle keep-alive connections end after this long, so no handler thread lingers forever.
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep pytest output clean

    # ------------------------------------------------------------------ plumbing

    @property
    def fake(self) -> FakeLLMServer:
        return self.server.fake

    def _read_body(self) -> Any:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", "replace")

    def _send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _send_raw(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _client_gone(self) -> bool:
        """True when the peer has closed its end (readable with nothing to read)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            peeked: bytes = self.connection.recv(1, socket.MSG_PEEK)
            return peeked == b""
        except (OSError, ValueError):
            return True

    def _pause(self, seconds: float) -> None:
        """Wait ``seconds`` but notice at once if the client leaves or the server stops."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            if self.fake._stopping.is_set():
                return
            if self._client_gone():
                raise _ClientGone
            select.select([self.connection], [], [], min(remaining, 0.02))

    def _stall(self, record: RecordedRequest) -> None:
        """Send nothing until release(), the client leaves, or the server stops."""
        with self.fake._lock:
            generation = self.fake._release_generation
        record.stalled.set()
        while not self.fake._wait_release(generation, 0.02):
            if self._client_gone():
                raise _ClientGone

    def _write_chunk(self, data: bytes) -> None:
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        except OSError as exc:
            raise _ClientGone from exc

    def _write_events(self, events: list[SSE]) -> None:
        for event in events:
            self._write_chunk(event.encode())

    # ------------------------------------------------------------------ routing

    def do_GET(self) -> None:
        if self.path.startswith(_CONTROL_PREFIX):
            self._control("GET", None)
        else:
            self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "x"}})

    def do_POST(self) -> None:
        body = self._read_body()
        if self.path.startswith(_CONTROL_PREFIX):
            self._control("POST", body)
            return
        path = self.path.split("?", 1)[0]
        wire_class: type[AnthropicWire] | type[ResponsesWire] | type[ChatWire]
        if path.endswith("/messages"):
            wire_class = AnthropicWire
        elif path.endswith("/responses"):
            wire_class = ResponsesWire
        elif path.endswith("/chat/completions"):
            wire_class = ChatWire
        else:
            self._send_json(404, {"error": {"message": f"no route {path}", "type": "not_found"}})
            return
        scenario = self.fake._next_scenario()
        headers = {name.lower(): value for name, value in self.headers.items()}
        record = RecordedRequest("POST", path, headers, body, scenario)
        self.fake._record(record)
        request = body if isinstance(body, dict) else {}
        wire = wire_class(request, scenario)
        try:
            self._answer(record, wire, request)
        except _ClientGone:
            record.disconnected.set()
            self.close_connection = True
        finally:
            record.done.set()

    def _answer(self, record: RecordedRequest, wire: Wire, request: dict[str, Any]) -> None:
        scenario = record.scenario
        if scenario.headers_delay_s:
            self._pause(scenario.headers_delay_s)
        expected = self.fake.api_key
        if expected is not None and record.api_key != expected:
            self._send_error(wire.error(401, record.api_key))
            return
        invalid = wire.invalid_request()
        if invalid is not None:
            error = invalid.body["error"]
            record.rejected = str(error["message"])
            self._send_error(invalid)
            return
        if scenario.status is not None and scenario.status >= 400:
            if scenario.error_body_b64 is not None:
                self._send_raw(scenario.status, base64.b64decode(scenario.error_body_b64))
                return
            self._send_error(wire.error(scenario.status, record.api_key))
            return
        if not request.get("stream"):
            self._send_json(200, wire.json_response())
            return
        self._stream(record, wire)

    def _send_error(self, reply: ErrorReply) -> None:
        self._send_json(reply.status, reply.body, reply.headers)

    def _stream(self, record: RecordedRequest, wire: Wire) -> None:
        scenario = record.scenario
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("cache-control", "no-cache")
        if isinstance(wire, AnthropicWire):
            self.send_header("request-id", wire.request_id)
        self.end_headers()
        self._write_events(wire.preamble())
        # The counted chunks: text deltas, then the tool calls' argument pieces (each with the
        # events that open its call). The failure points count over them.
        steps = wire.steps()
        for sent, step in enumerate(steps):
            if scenario.inject_b64 and sent == scenario.inject_after:
                self._write_chunk(scenario.inject)
                if not scenario.inject_continue:
                    self._write_chunk(b"")
                    return
            if sent == scenario.cut_after:
                self._cut()
                return
            if sent == scenario.stall_after:
                self._stall(record)
            if sent == scenario.clean_end_after:
                self._write_chunk(b"")
                return
            if sent == scenario.stream_error_after:
                self._write_events(wire.stream_error())
                self._write_chunk(b"")
                return
            if scenario.delay_s:
                self._pause(scenario.delay_s)
            self._write_events(step)
        count = len(steps)
        if scenario.inject_b64 and scenario.inject_after >= count:
            self._write_chunk(scenario.inject)
            if not scenario.inject_continue:
                self._write_chunk(b"")
                return
        if scenario.cut_after is not None and scenario.cut_after >= count:
            self._cut()
            return
        if scenario.stall_after is not None and scenario.stall_after >= count:
            self._stall(record)
        if scenario.clean_end_after is not None and scenario.clean_end_after >= count:
            self._write_chunk(b"")
            return
        if scenario.stream_error_after is not None and scenario.stream_error_after >= count:
            self._write_events(wire.stream_error())
        else:
            self._write_events(wire.ending())
        self._write_chunk(b"")  # the zero-length chunk: the body is complete

    def _cut(self) -> None:
        """Close the socket mid-body: no terminating chunk, so the client sees a broken stream."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # ------------------------------------------------------------------ control API

    def _control_wait(self, data: dict[str, Any]) -> bool:
        """Block until request ``index`` (default: the last) reaches ``event``, or time out."""
        event = str(data.get("event", "disconnected"))
        if event not in ("disconnected", "stalled", "done"):
            raise ValueError(f"unknown event {event!r}")
        index = int(data.get("index", -1))
        timeout = float(data.get("timeout", 5.0))
        deadline = time.monotonic() + timeout
        try:
            requests = self.fake.wait_for_requests(index + 1 if index >= 0 else 1, timeout)
        except AssertionError:
            return False
        flag: threading.Event = getattr(requests[index], event)
        return flag.wait(max(deadline - time.monotonic(), 0))

    def _control(self, method: str, body: Any) -> None:
        command = self.path[len(_CONTROL_PREFIX) :].strip("/").split("?", 1)[0]
        fake = self.fake
        try:
            if method == "GET" and command == "health":
                self._send_json(200, {"ok": True, "url": fake.url})
            elif method == "GET" and command == "requests":
                self._send_json(200, {"requests": [r.to_dict() for r in fake.requests]})
            elif method == "POST" and command == "scenario":
                data = body if isinstance(body, dict) else {}
                if "default" in data:
                    fake.scenario = Scenario.from_dict(data["default"])
                if "queue" in data:
                    queued = [Scenario.from_dict(item) for item in data["queue"]]
                    with fake._lock:
                        fake._queue.clear()
                    fake.enqueue(*queued)
                self._send_json(200, {"ok": True})
            elif method == "POST" and command == "enqueue":
                data = body if isinstance(body, dict) else {}
                fake.enqueue(*(Scenario.from_dict(item) for item in data.get("queue", [])))
                self._send_json(200, {"ok": True})
            elif method == "POST" and command == "wait":
                data = body if isinstance(body, dict) else {}
                self._send_json(200, {"ok": self._control_wait(data)})
            elif method == "POST" and command == "release":
                fake.release()
                self._send_json(200, {"ok": True})
            elif method == "POST" and command == "reset":
                fake.reset()
                self._send_json(200, {"ok": True})
            else:
                self._send_json(404, {"ok": False, "error": f"unknown control {method} {command}"})
        except (TypeError, ValueError) as exc:
            self._send_json(400, {"ok": False, "error": str(exc)})


@contextmanager
def running_fake(
    scenario: Scenario | None = None, *, api_key: str | None = None
) -> Iterator[FakeLLMServer]:
    """``with running_fake(Scenario(...)) as fake:`` — a started server, stopped afterwards."""
    server = FakeLLMServer(scenario=scenario, api_key=api_key)
    with server:
        yield server
