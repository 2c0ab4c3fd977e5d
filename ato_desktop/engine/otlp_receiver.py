"""The local OTLP/HTTP receiver: agents instrumented with OpenTelemetry appear as runs.

An optional server (127.0.0.1 by default; another address only when asked for) that accepts
``POST /v1/traces`` in both OTLP encodings, protobuf (application/x-protobuf) and JSON
(application/json, ids in hex as the OTLP JSON mapping says). Spans map to runs with actions
through core.otlp_ingest (GenAI and OpenInference attributes; unknown ones kept), priced from
the workspace's price book, trigger external, and are written in one transaction: a malformed
payload gets a 400 with the reason and nothing of it is written.

It runs on its own threads (the stdlib's ThreadingHTTPServer) and writes through the store's
writer, so it never blocks the event loop; `start()` / `close()`, or `serve()` from async code.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import gzip
import json
import logging
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from ato_desktop.core.otlp_ingest import MalformedTraceError, traces_from_request
from ato_desktop.core.redaction import redact_secrets
from ato_desktop.engine.credentials import known_secrets
from ato_desktop.store.external_runs import IngestResult, ingest_traces

if TYPE_CHECKING:
    from ato_desktop.engine.workspace import Workspace

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4318  # the OTLP/HTTP port every exporter defaults to
MAX_BODY_BYTES = 32 * 1024 * 1024
_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


class BadPayload(ValueError):
    """The reason for a 400."""


def decode_request(body: bytes, content_type: str, encoding: str = "") -> ExportTraceServiceRequest:
    """An export request from a body in either OTLP encoding; BadPayload says why not."""
    if encoding == "gzip":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError, zlib.error) as exc:
            raise BadPayload(f"the gzip body cannot be decompressed: {exc}") from None
    elif encoding not in ("", "identity"):
        raise BadPayload(f"unsupported Content-Encoding {encoding!r}")
    request = ExportTraceServiceRequest()
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            data = json.loads(body or b"{}")
        except ValueError as exc:
            raise BadPayload(f"the JSON body is not valid JSON: {exc}") from None
        except RecursionError:
            raise BadPayload("the JSON body is not valid JSON: nested too deeply") from None
        if not isinstance(data, dict):
            raise BadPayload("the JSON body must be an object with resourceSpans")
        _hex_ids_to_base64(data)
        try:
            json_format.ParseDict(data, request, ignore_unknown_fields=True)
        except (json_format.ParseError, TypeError, ValueError, RecursionError) as exc:
            raise BadPayload(f"the JSON body is not an OTLP trace export: {exc}") from None
        return request
    if kind in ("application/x-protobuf", "application/protobuf", ""):
        try:
            request.ParseFromString(body)
        except DecodeError as exc:
            raise BadPayload(f"the protobuf body cannot be decoded: {exc}") from None
        return request
    raise BadPayload(f"unsupported Content-Type {content_type!r}; send protobuf or JSON")


def redact_export_request(request: ExportTraceServiceRequest, secrets: tuple[str, ...]) -> None:
    """Redact, in place, every text an export can carry (span names, status messages, string
    attributes of resources, scopes, spans, events and links, nested ones too): instrumented
    HTTP clients record headers, and a provider's error may quote the key. Secrets never enter
    the log, whoever sent them."""

    def value(any_value: Any) -> None:
        which = any_value.WhichOneof("value")
        if which == "string_value":
            any_value.string_value = redact_secrets(any_value.string_value, secrets)
        elif which == "array_value":
            for item in any_value.array_value.values:
                value(item)
        elif which == "kvlist_value":
            attributes(any_value.kvlist_value.values)

    def attributes(items: Any) -> None:
        for kv in items:
            value(kv.value)

    for rs in request.resource_spans:
        attributes(rs.resource.attributes)
        for ss in rs.scope_spans:
            attributes(ss.scope.attributes)
            for span in ss.spans:
                span.name = redact_secrets(span.name, secrets)
                span.status.message = redact_secrets(span.status.message, secrets)
                attributes(span.attributes)
                for event in span.events:
                    event.name = redact_secrets(event.name, secrets)
                    attributes(event.attributes)
                for link in span.links:
                    attributes(link.attributes)


def _hex_ids_to_base64(data: Any) -> None:
    """OTLP JSON carries ids as hex; protobuf's JSON mapping expects base64 for bytes.

    Parts of the wrong type are skipped here: ParseDict then says what is wrong with them."""
    for rs in _items(data, "resourceSpans"):
        for ss in _items(rs, "scopeSpans"):
            for span in _items(ss, "spans"):
                if not isinstance(span, dict):
                    raise BadPayload("a span in the JSON body is not an object")
                for key in _ID_FIELDS:
                    value = span.get(key)
                    if isinstance(value, str) and value:
                        try:
                            raw = binascii.unhexlify(value)
                        except (binascii.Error, ValueError):
                            raise BadPayload(f"{key} {value!r} is not hex") from None
                        span[key] = base64.b64encode(raw).decode()


def _items(parent: Any, key: str) -> list[Any]:
    """parent[key] when parent is an object and that is a list; [] otherwise."""
    value = parent.get(key) if isinstance(parent, dict) else None
    return value if isinstance(value, list) else []


class OtlpReceiver:
    """Accepts OTLP traces on host:port and writes them as runs."""

    def __init__(
        self, workspace: Workspace, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT
    ) -> None:
        self._workspace = workspace
        self._host = host
        self._port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.received = 0  # requests written
        self._keys_loaded = False

    @property
    def address(self) -> tuple[str, int]:
        if self._httpd is None:
            return self._host, self._port
        host, port = self._httpd.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"

    def ingest(self, body: bytes, content_type: str, encoding: str = "") -> IngestResult:
        """Decode, map and write one export; BadPayload (nothing written) when malformed."""
        request = decode_request(body, content_type, encoding)
        if not self._keys_loaded:
            # Load every provider key once (registering it for redaction), so a key another
            # agent's span carries is redacted even before ATO itself has used that key.
            self._workspace.credentials.status()
            self._keys_loaded = True
        redact_export_request(request, known_secrets())
        try:
            traces = traces_from_request(request, self._workspace.prices)
        except MalformedTraceError as exc:
            raise BadPayload(str(exc)) from None
        result = ingest_traces(self._workspace.store, traces).result()
        self.received += 1
        return result

    def start(self) -> None:
        """Listen on a thread of its own; OSError when the port is taken."""
        if self._httpd is not None:
            return
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "ato-desktop-otlp"

            def log_message(self, fmt: str, *args: Any) -> None:
                log.debug("receiver: " + fmt, *args)

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _fail(self, status: int, reason: str) -> None:
                body = json.dumps({"code": status, "message": reason}).encode()
                self._answer(status, body, "application/json")

            def do_POST(self) -> None:
                if self.path.split("?")[0].rstrip("/") != "/v1/traces":
                    self._fail(404, "only /v1/traces is served")
                    return
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    length = -1
                if length < 0 or length > MAX_BODY_BYTES:
                    self._fail(413 if length > 0 else 400, "a Content-Length is needed (32 MB max)")
                    return
                body = self.rfile.read(length)
                content_type = self.headers.get("Content-Type") or ""
                try:
                    receiver.ingest(
                        body, content_type, (self.headers.get("Content-Encoding") or "").lower()
                    )
                except BadPayload as exc:
                    log.warning("receiver: rejected a payload: %s", exc)
                    self._fail(400, str(exc))
                    return
                except Exception:
                    log.exception("receiver: writing an export failed")
                    self._fail(503, "the execution log could not take the export; retry")
                    return
                if content_type.startswith("application/json"):
                    self._answer(200, b"{}", "application/json")
                else:
                    payload = ExportTraceServiceResponse().SerializeToString()
                    self._answer(200, payload, "application/x-protobuf")

        self._httpd = ThreadingHTTPServer((self._host, self._port), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="ato-otlp-receiver",
            daemon=True,
        )
        self._thread.start()

    def close(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    async def serve(self) -> None:
        """Listen until cancelled (the CLI's `receiver run`)."""
        self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.to_thread(self.close)
