"""The local OTLP/HTTP receiver: agents instrumented with OpenTelemetry appear as runs.

An optional server (127.0.0.1 by default; another address only when asked for) that accepts
``POST /v1/traces`` in both OTLP encodings, protobuf (application/x-protobuf) and JSON
(application/json, ids in hex as the OTLP JSON mapping says). Spans map to runs with actions
through core.otlp_ingest (GenAI, OpenInference and LiteLLM attributes; unknown ones kept),
priced from the workspace's price book at the price in force when each span started, trigger
external.

Who may send (a web page must never write to your log):
- the Host header must name this receiver (a loopback name when it listens on loopback; an IP
  address or this machine's name otherwise), which defeats DNS rebinding;
- a request with an ``Origin`` (or any ``Sec-Fetch-*``) header comes from a browser: refused;
- the Content-Type must be an OTLP one (a page's no-cors fetch can only send text/plain);
- with ``require_token`` (for a receiver reachable from other machines), an
  ``Authorization: Bearer`` token that matches the one in the OS keyring (ReceiverToken).

What is written (store.external_runs): every text of the export redacted first (known secrets
and credential shapes, bytesValue attributes included); each export written as an ingest in
bounded batches, so no write transaction holds the log for more than about 100 ms (other
processes' writes land meanwhile), and all or nothing: a malformed payload gets a 400 with the
reason, a failure while writing a 503, and in both cases nothing of it stays in the log.

Bodies are capped at 32 MB, compressed or not: a gzip body is decompressed in a stream and
refused with a 413 the moment it passes the cap.

It runs on its own threads (the stdlib's ThreadingHTTPServer); exports are decoded in parallel
and written one at a time. `start()` / `close()`, or `serve()` from async code.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import functools
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import threading
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from ato_desktop.core.otlp_ingest import (
    IngestedTrace,
    MalformedTraceError,
    SpanRef,
    group_request,
    map_trace,
)
from ato_desktop.core.redaction import FRAGMENT_LENGTH, redact_secrets, secret_hint
from ato_desktop.engine.credentials import (
    SERVICE_NAME,
    CredentialStore,
    KeyringUnavailableError,
    describe_keyring_error,
    known_secrets,
    read_keyring_secret,
    register_secret,
    secure_target,
)
from ato_desktop.engine.parts import ReceiverParts
from ato_desktop.store import external_runs
from ato_desktop.store.external_runs import IngestResult

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4318  # the OTLP/HTTP port every exporter defaults to
MAX_BODY_BYTES = 32 * 1024 * 1024
_ID_FIELDS = ("traceId", "spanId", "parentSpanId")
PROTOBUF_TYPES = ("application/x-protobuf", "application/protobuf")
JSON_TYPE = "application/json"

# Batches: each write transaction aims at this long (a fifth of the 250 ms promise, leaving
# room for a loaded machine's scheduling, a slow disk and other jobs in the same group commit);
# each batch is sized from the last one's time, starting small.
BATCH_TARGET_S = 0.05
FIRST_BATCH_SPANS = 200
# At most 1,000 spans a batch: a batch of this corpus's spans (1.4 kB of text each) is a few
# MB of Python objects, and two are alive at once (one committing, the next being mapped).
# Taking a 32 MB export peaked at 147-153 MB with up to 20,000 or 2,000 spans a batch, 140 MB
# with 1,000. Throughput needs no more: a batch's fixed cost (its transaction, its lookups) is
# about a millisecond.
MIN_BATCH_SPANS, MAX_BATCH_SPANS = 50, 1_000
# A pause after each batch of a big export, so another process's waiting write (SQLite's busy
# handler polls) gets the lock: the receiver holds it at most about 80 % of the time.
BATCH_DUTY = 0.8


class BadPayload(ValueError):
    """The reason for a 400."""


class Refused(Exception):
    """A request refused before its body is read: HTTP status and the reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def decompress_gzip(body: bytes, limit: int = MAX_BODY_BYTES) -> bytes:
    """A gzip body decompressed in a stream; Refused(413) the moment it passes limit (a gzip
    bomb never grows past it), BadPayload when it is not gzip."""
    out: list[bytes] = []
    size = 0
    data = body
    try:
        while data:
            stream = zlib.decompressobj(16 + zlib.MAX_WBITS)
            chunk = stream.decompress(data, limit - size + 1)
            while True:
                size += len(chunk)
                if size > limit:
                    raise Refused(
                        413, f"the gzip body decompresses to more than {limit // 2**20} MB"
                    )
                out.append(chunk)
                if stream.eof or not stream.unconsumed_tail:
                    break
                chunk = stream.decompress(stream.unconsumed_tail, limit - size + 1)
            if not stream.eof:
                tail = stream.flush()
                size += len(tail)
                if size > limit:
                    raise Refused(
                        413, f"the gzip body decompresses to more than {limit // 2**20} MB"
                    )
                raise BadPayload("the gzip body is cut short")
            data = stream.unused_data  # another gzip member may follow
    except zlib.error as exc:
        raise BadPayload(f"the gzip body cannot be decompressed: {exc}") from None
    return b"".join(out)


def unpack_body(body: bytes, content_type: str, encoding: str = "") -> tuple[str, bytes]:
    """(the OTLP content type, the body's bytes decompressed); Refused(415) for a type that is
    not OTLP's, Refused(413) for a gzip body past the cap, BadPayload for another encoding."""
    kind = content_type.split(";")[0].strip().lower()
    if kind not in (*PROTOBUF_TYPES, JSON_TYPE):
        raise Refused(
            415,
            f"unsupported Content-Type {content_type!r}; send application/x-protobuf or "
            "application/json (OTLP/HTTP)",
        )
    encoding = encoding.strip().lower()
    if encoding == "gzip":
        body = decompress_gzip(body)
    elif encoding not in ("", "identity"):
        raise BadPayload(f"unsupported Content-Encoding {encoding!r}")
    return kind, body


def parse_body(kind: str, body: bytes) -> ExportTraceServiceRequest:
    """The export request in a body of that OTLP content type; BadPayload says why not."""
    request = ExportTraceServiceRequest()
    if kind == JSON_TYPE:
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
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise BadPayload(f"the protobuf body cannot be decoded: {exc}") from None
    return request


def decode_request(body: bytes, content_type: str, encoding: str = "") -> ExportTraceServiceRequest:
    """An export request from a body in either OTLP encoding; BadPayload says why not,
    Refused(413/415) for a body too big once decompressed or not of an OTLP type."""
    return parse_body(*unpack_body(body, content_type, encoding))


# -- redaction --------------------------------------------------------------------------------


_SHAPES = (
    r"(?i)sk-[a-z0-9_\-]{16}|aiza[a-z0-9_\-]{30}|gh[pousr]_[a-z0-9]{30}|github_pat_[a-z0-9_]{30}"
    r"|eyj[a-z0-9_\-]{8,}\.[a-z0-9_\-]{8,}\.[a-z0-9_\-]{8}"
    r"|authorization[\"']?\s*[:=]|bearer\s+[a-z0-9_\-.+/=~]{16}"
    r"|(?:x-api-key|api[-_]?key|access[-_]?token|auth[-_]?token|refresh[-_]?token"
    r"|client[-_]?secret|secret[-_]?key)[\"']?\s*[:=]"
)


def _secret_forms(secret: str) -> set[bytes]:
    """The encodings of a known secret that redaction looks for, or might: raw, URL- and
    JSON-escaped, base64 (every alignment), base64url and hex (both cases)."""
    from urllib.parse import quote

    raw = secret.encode()
    forms = {raw, quote(secret, safe="").encode(), json.dumps(secret)[1:-1].encode()}
    for skip in range(3):
        encoded = base64.b64encode(b"\0" * skip + raw)[4 if skip else 0 :]
        forms.add(encoded)
        forms.add(encoded.replace(b"+", b"-").replace(b"/", b"_"))
    forms.add(raw.hex().encode())
    forms.add(raw.hex().upper().encode())
    return forms


@functools.lru_cache(maxsize=8)
def _gate(secrets_key: frozenset[str]) -> Any:
    """One RE2 automaton matching anything redaction could change (a superset: credential
    shapes without their look-arounds, and every FRAGMENT_LENGTH piece of every known secret
    in every encoding), run over a whole export at hundreds of MB/s."""
    import re2  # google-re2: linear-time, many patterns in one pass

    grams: set[bytes] = set()
    for secret in secrets_key:
        for form in _secret_forms(secret):
            if len(form) <= FRAGMENT_LENGTH:
                grams.add(form)
            else:
                grams.update(form[i : i + FRAGMENT_LENGTH] for i in range(len(form) - 9))
    pattern = _SHAPES.encode()
    if grams:
        pattern += b"|" + b"|".join(re2.escape(g) for g in sorted(grams))
    options = re2.Options()
    options.max_mem = 64 << 20
    return re2.compile(pattern, options)


def needs_redaction(request: ExportTraceServiceRequest, secrets: Sequence[str]) -> bool:
    """False only when redaction would change no text of the export (checked on its protobuf
    bytes, where every string and bytesValue appears as it is)."""
    return may_carry_secrets(request.SerializeToString(), secrets)


def may_carry_secrets(protobuf: bytes, secrets: Sequence[str]) -> bool:
    """needs_redaction on an export's protobuf bytes (the body, before it is even parsed)."""
    wanted = frozenset(s.strip() for s in secrets if isinstance(s, str) and len(s.strip()) >= 4)
    return _gate(wanted).search(protobuf) is not None


def redact_export_request(request: ExportTraceServiceRequest, secrets: tuple[str, ...]) -> None:
    """Redact, in place, every text an export can carry (span names, status messages, string
    and bytes attributes of resources, scopes, spans, events and links, nested ones too):
    instrumented HTTP clients record headers, and a provider's error may quote the key. Secrets
    never enter the log, whoever sent them. A bytesValue is turned into the text the log keeps
    (its UTF-8 text, else hex) and redacted like any text; binary bytes that carry a secret are
    redacted through their Latin-1 reading (each byte one character)."""

    def value(any_value: Any) -> None:
        which = any_value.WhichOneof("value")
        if which == "string_value":
            any_value.string_value = redact_secrets(any_value.string_value, secrets)
        elif which == "bytes_value":
            raw = any_value.bytes_value
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                latin = raw.decode("latin-1")
                redacted = redact_secrets(latin, secrets)
                text = raw.hex() if redacted == latin else redacted
            else:
                text = redact_secrets(text, secrets)
            any_value.string_value = text
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


# -- who may send ------------------------------------------------------------------------------


class ReceiverToken:
    """The receiver's bearer token in the OS keyring (service "ato-desktop", user
    "receiver:token"). Shown in full once, when created; afterwards only its last characters."""

    USER = "receiver:token"

    def __init__(self, credentials: CredentialStore | None = None) -> None:
        self._credentials = credentials or CredentialStore()

    def _target(self) -> Any:
        target = secure_target(self._credentials.backend())
        if target is None:
            raise KeyringUnavailableError(
                "No secure keyring is available "
                f"({self._credentials.backend_description()}), so the receiver token cannot "
                "be kept, and ATO never writes it in plain text."
            )
        return target

    def create(self) -> str:
        """A new random token, saved in the keyring (replacing any earlier one)."""
        token = secrets.token_urlsafe(32)
        register_secret(token)
        try:
            self._target().set_password(SERVICE_NAME, self.USER, token)
        except KeyringUnavailableError:
            raise
        except Exception as exc:
            raise KeyringUnavailableError(
                f"The receiver token could not be saved: {describe_keyring_error(exc)}."
            ) from None
        return token

    def get(self) -> str | None:
        return read_keyring_secret(self._target(), SERVICE_NAME, self.USER, "The receiver token")

    def hint(self) -> str | None:
        """'…x7Qa' when a token is kept, else None."""
        token = self.get()
        return None if token is None else (secret_hint(token) or "(set)")

    def delete(self) -> bool:
        try:
            self._target().delete_password(SERVICE_NAME, self.USER)
        except KeyringUnavailableError:
            raise
        except Exception:
            return False
        return True


def _loopback_name(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_of(header: str) -> str:
    """The host part of a Host header ('[::1]:4318' -> '::1', 'a:1' -> 'a')."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


@functools.lru_cache(maxsize=1)
def _own_names() -> frozenset[str]:
    names = {socket.gethostname().lower()}
    with contextlib.suppress(OSError):
        names.add(socket.getfqdn().lower())
    return frozenset(n for n in names if n)


def check_host(header: str | None, bound_host: str) -> None:
    """Refused(403) unless the Host header names this receiver: a loopback name for a loopback
    receiver; an IP address or this machine's own name otherwise. A DNS-rebinding page sends
    its own domain name, which is neither."""
    if not header:
        raise Refused(400, "a Host header is needed")
    host = _host_of(header)
    if _loopback_name(bound_host):
        if _loopback_name(host):
            return
    else:
        try:
            ipaddress.ip_address(host)
            return
        except ValueError:
            if host in _own_names() or _loopback_name(host):
                return
    raise Refused(
        403,
        f"the Host header {header!r} does not name this receiver (a web page, through DNS "
        "rebinding?); exporters send the address they were given",
    )


class _Inserted:
    """What a batch's job reports once its rows are in (on the writer's thread)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.result: external_runs.BatchResult | None = None

    def set(self, result: external_runs.BatchResult | None) -> None:
        self.result = result
        self.event.set()


@dataclass(frozen=True, slots=True)
class _Slice:
    trace: IngestedTrace
    spans: int


class OtlpReceiver:
    """Accepts OTLP traces on host:port and writes them as runs."""

    def __init__(
        self,
        workspace: ReceiverParts,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        require_token: bool = False,
        token: ReceiverToken | None = None,
    ) -> None:
        self._workspace = workspace
        self._host = host
        self._port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.received = 0  # requests written
        self._keys_loaded = False
        self._write_lock = threading.Lock()
        self.require_token = require_token
        self._token_store = token or ReceiverToken()
        self._token: str | None = None
        if require_token:
            self._token = self._token_store.get()
            if self._token is None:
                raise KeyringUnavailableError(
                    "No receiver token in the keyring: create one with "
                    "`ato-desktop receiver token create`."
                )
        # The longest write transaction so far and the last ones, in seconds (the benchmark
        # and the tests report them).
        self.longest_batch_s = 0.0
        self.longest_batch_cpu_s = 0.0
        self.batch_seconds: list[float] = []
        self.batch_cpu_seconds: list[float] = []  # the writer thread's CPU time in each
        # The batch size the last big export reached: the next one starts at half of it (a
        # commit writes every page its batch touched, the run's 27 indexes among them, so a
        # batch of 300 spans cost about 8 us a span more than one of 1,000; starting each
        # export at 200 made three batches of an export of 1,000 spans). Half, not all: the
        # first batch's commit still overlaps the mapping of the next, and a first batch
        # after a pause meets a machine that may have become slower since.
        self._batch_size = FIRST_BATCH_SPANS

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

    def check_request(self, headers: Any) -> None:
        """Refused unless the request may come in (Host, Origin, token); before the body."""
        check_host(headers.get("Host"), self._host)
        if headers.get("Origin") is not None or any(
            k.lower().startswith("sec-fetch-") for k in headers
        ):
            raise Refused(403, "requests from web pages (with an Origin header) are refused")
        if self.require_token:
            given = headers.get("Authorization") or ""
            scheme, _, value = given.partition(" ")
            expected = self._token or ""
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                value.strip().encode(), expected.encode()
            ):
                raise Refused(401, "this receiver needs its bearer token (Authorization: Bearer)")

    def ingest(self, body: bytes, content_type: str, encoding: str = "") -> IngestResult:
        """Decode, map and write one export; BadPayload or Refused (nothing written) when it
        cannot be taken, StoreError when the log refused it (nothing of it kept)."""
        kind, raw = unpack_body(body, content_type, encoding)
        del body  # the caller keeps no reference either: one copy of the export at a time
        if not self._keys_loaded:
            # Load every provider key once (registering it for redaction), so a key another
            # agent's span carries is redacted even before ATO itself has used that key.
            self._workspace.credentials.status()
            self._keys_loaded = True
        secrets_now = known_secrets()
        if kind == JSON_TYPE:
            request = parse_body(kind, raw)
            del raw
            dirty = needs_redaction(request, secrets_now)
        else:
            # Checked on the body itself: no second serialised copy of a 32 MB export.
            dirty = may_carry_secrets(raw, secrets_now)
            request = parse_body(kind, raw)
            del raw
        if dirty:
            redact_export_request(request, secrets_now)
        try:
            groups = group_request(request)
            with self._write_lock:
                result = self._write(groups)
        except MalformedTraceError as exc:
            raise BadPayload(str(exc)) from None
        self.received += 1
        return result

    def _write(self, groups: list[tuple[bytes, list[SpanRef]]]) -> IngestResult:
        store = self._workspace.store
        prices = self._workspace.prices
        total = sum(len(refs) for _tid, refs in groups)
        if total <= FIRST_BATCH_SPANS:
            # Small exports (what a BatchSpanProcessor sends): one short transaction.
            traces = [map_trace(tid, refs, prices) for tid, refs in groups]
            return external_runs.ingest_traces(store, traces).result()
        ingest_no = external_runs.begin_ingest(store, self._workspace.lease.token).result()
        created: list[str] = []
        extended: list[str] = []
        actions = skipped = 0
        size = max(FIRST_BATCH_SPANS, self._batch_size // 2)
        pending = None
        try:
            slices = _slices(map_trace(tid, refs, prices) for tid, refs in groups)
            free_until = 0.0
            encoded = [external_runs.encode_trace(s.trace) for s in _take(slices, size)]
            while encoded:
                wait = free_until - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                # The next batch is mapped and encoded while this one commits (its pages go to
                # the WAL, and now and then the WAL to the log: SQLite's own work, without the
                # GIL and after the lock is let go), never while its rows are inserted: a
                # thread of ours running Python then would hold the GIL each time the writer
                # wants it back between two rows, and the lock with it (docs/benchmarks.md).
                inserted = _Inserted()
                pending = external_runs.write_batch(store, ingest_no, encoded, inserted.set)
                while not inserted.event.wait(0.05) and not pending.done():
                    pass
                # The lock is let go once the commit has put the rows in the WAL (a few ms for
                # a batch): the pause for other writers runs from here, while the next batch
                # is mapped, and the next batch's size follows this one's time.
                inserted_at = time.monotonic()
                if inserted.result is not None:
                    size = self._batch_size = self._next_size(size, inserted.result)
                    gap = inserted.result.seconds * (1 - BATCH_DUTY) / BATCH_DUTY
                    free_until = inserted_at + max(0.002, gap)
                encoded = [external_runs.encode_trace(s.trace) for s in _take(slices, size)]
                done = pending.result()
                pending = None
                created += done.created
                extended += done.extended
                actions += done.actions
                skipped += done.skipped
            external_runs.finish_ingest(store, ingest_no).result()
        except BaseException:
            if pending is not None and not pending.done():
                # Let the batch in flight settle (its failure is raised below) before undoing.
                with contextlib.suppress(Exception):
                    pending.result()
            try:
                external_runs.abort_ingest(store, ingest_no)
            except Exception:
                log.exception("receiver: taking back a failed export failed (next start will)")
            raise
        run_ids = tuple(dict.fromkeys([*created, *extended]))
        return IngestResult(
            len(created), len(set(extended) - set(created)), actions, run_ids, skipped
        )

    def _next_size(self, size: int, done: external_runs.BatchResult) -> int:
        self.longest_batch_s = max(self.longest_batch_s, done.seconds)
        self.longest_batch_cpu_s = max(self.longest_batch_cpu_s, done.cpu_seconds)
        self.batch_seconds.append(done.seconds)
        del self.batch_seconds[:-1000]
        self.batch_cpu_seconds.append(done.cpu_seconds)
        del self.batch_cpu_seconds[:-1000]
        if done.seconds <= 0 or done.actions == 0:
            return size
        wanted = int(size * BATCH_TARGET_S / done.seconds)
        # Grow gently (a burst of slow disk would otherwise overshoot), shrink at once.
        return max(MIN_BATCH_SPANS, min(MAX_BATCH_SPANS, wanted, size * 2))

    def start(self) -> None:
        """Listen on a thread of its own; OSError when the port is taken."""
        if self._httpd is not None:
            return
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "ato-desktop-otlp"
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt: str, *args: Any) -> None:
                log.debug("receiver: " + fmt, *args)

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                if status == 401:
                    self.send_header("WWW-Authenticate", 'Bearer realm="ato-desktop receiver"')
                self.end_headers()
                self.wfile.write(body)

            def _fail(self, status: int, reason: str, *, close: bool = False) -> None:
                if close:
                    self.close_connection = True
                body = json.dumps({"code": status, "message": reason}).encode()
                self._answer(status, body, "application/json")

            def do_POST(self) -> None:
                if self.path.split("?")[0].rstrip("/") != "/v1/traces":
                    self._fail(404, "only /v1/traces is served", close=True)
                    return
                try:
                    receiver.check_request(self.headers)
                except Refused as exc:
                    self._fail(exc.status, str(exc), close=True)
                    return
                content_type = self.headers.get("Content-Type") or ""
                kind = content_type.split(";")[0].strip().lower()
                if kind not in (*PROTOBUF_TYPES, JSON_TYPE):
                    self._fail(
                        415,
                        f"unsupported Content-Type {content_type!r}; send "
                        "application/x-protobuf or application/json (OTLP/HTTP)",
                        close=True,
                    )
                    return
                try:
                    length = int(self.headers.get("Content-Length") or -1)
                except ValueError:
                    length = -1
                if length < 0:
                    self._fail(411, "a Content-Length is needed (32 MB max)", close=True)
                    return
                if length > MAX_BODY_BYTES:
                    self._fail(413, "the body is larger than 32 MB", close=True)
                    return
                encoding = (self.headers.get("Content-Encoding") or "").lower()
                try:
                    # The body goes straight in (no name here keeps it alive): ingest drops it
                    # once decoded, so a 32 MB export is not held twice.
                    receiver.ingest(self.rfile.read(length), content_type, encoding)
                except Refused as exc:
                    self._fail(exc.status, str(exc))
                    return
                except BadPayload as exc:
                    log.warning("receiver: rejected a payload: %s", exc)
                    self._fail(400, str(exc))
                    return
                except Exception:
                    log.exception("receiver: writing an export failed")
                    self._fail(503, "the execution log could not take the export; retry")
                    return
                if kind == JSON_TYPE:
                    self._answer(200, b"{}", JSON_TYPE)
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


def _slices(traces: Iterable[IngestedTrace]) -> Iterator[_Slice]:
    """The traces, a big one cut into pieces of at most MAX_BATCH_SPANS spans."""
    for trace in traces:
        spans = trace.spans
        if len(spans) <= MIN_BATCH_SPANS:
            yield _Slice(trace, len(spans))
            continue
        for start in range(0, len(spans), MIN_BATCH_SPANS * 4):
            piece = spans[start : start + MIN_BATCH_SPANS * 4]
            yield _Slice(IngestedTrace(trace.trace_id, trace.run, trace.end, piece), len(piece))


def _take(slices: Iterator[_Slice], size: int) -> list[_Slice]:
    """Slices adding up to about size spans (at least one)."""
    batch: list[_Slice] = []
    count = 0
    for piece in slices:
        batch.append(piece)
        count += piece.spans
        if count >= size:
            break
    return batch
