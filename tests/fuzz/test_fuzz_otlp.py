"""The local OTLP receiver: random bytes, truncated protobufs, wrong JSON types, deep nesting,
huge or non-finite attribute values. Every payload is written whole or gets BadPayload (a 400
with the reason) and nothing of it is written; the database always passes its integrity check."""

from __future__ import annotations

import base64
import gzip
import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from ato_desktop.core.otlp_ingest import MAPPED
from ato_desktop.engine.otlp_receiver import BadPayload, OtlpReceiver, Refused, decode_request
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.paths import DataPaths
from tests.fuzz.strategies import BINARY, EDGE_NUMBERS, HOSTILE_TEXT, JSON_VALUES, deep_json

U64 = st.one_of(
    st.integers(min_value=0, max_value=2**64 - 1),
    st.sampled_from([0, 1, 2**63 - 1, 2**63, 2**64 - 1, 1_700_000_000_000_000_000]),
)
I64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
TRACE_IDS = st.one_of(st.binary(min_size=16, max_size=16), st.binary(max_size=20))
SPAN_IDS = st.one_of(st.binary(min_size=8, max_size=8), st.binary(max_size=10))
KEYS = st.one_of(st.sampled_from(sorted(MAPPED)), HOSTILE_TEXT)


def _any_value(depth: int = 0) -> st.SearchStrategy[AnyValue]:
    leaves = st.one_of(
        HOSTILE_TEXT.map(lambda v: AnyValue(string_value=v)),
        st.booleans().map(lambda v: AnyValue(bool_value=v)),
        I64.map(lambda v: AnyValue(int_value=v)),
        st.floats().map(lambda v: AnyValue(double_value=v)),
        st.binary(max_size=20).map(lambda v: AnyValue(bytes_value=v)),
        st.just(AnyValue()),
    )
    if depth >= 2:
        return leaves
    child = _any_value(depth + 1)
    return st.one_of(
        leaves,
        st.lists(child, max_size=3).map(
            lambda vs: AnyValue(array_value={"values": vs})  # type: ignore[arg-type]
        ),
        st.lists(st.tuples(KEYS, child), max_size=3).map(
            lambda kvs: AnyValue(
                kvlist_value={"values": [KeyValue(key=k, value=v) for k, v in kvs]}  # type: ignore[arg-type]
            )
        ),
    )


ATTRIBUTES = st.lists(st.tuples(KEYS, _any_value()), max_size=6)


@st.composite
def requests(draw: st.DrawFn) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    trace_ids = draw(st.lists(TRACE_IDS, min_size=1, max_size=3))
    for _ in range(draw(st.integers(1, 2))):
        rs = request.resource_spans.add()
        for key, value in draw(ATTRIBUTES):
            rs.resource.attributes.add(key=key, value=value)
        ss = rs.scope_spans.add()
        span_ids: list[bytes] = []
        for _ in range(draw(st.integers(0, 4))):
            span: Span = ss.spans.add()
            span.trace_id = draw(st.sampled_from(trace_ids))
            span.span_id = draw(SPAN_IDS)
            span_ids.append(span.span_id)
            span.parent_span_id = draw(st.one_of(st.just(b""), st.sampled_from(span_ids), SPAN_IDS))
            span.name = draw(HOSTILE_TEXT)
            span.start_time_unix_nano = draw(U64)
            span.end_time_unix_nano = draw(U64)
            span.status.code = draw(st.sampled_from([0, 1, 2]))
            span.status.message = draw(HOSTILE_TEXT)
            for key, value in draw(ATTRIBUTES):
                span.attributes.add(key=key, value=value)
    return request


def _valid_span(**attributes: Any) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = b"\x01" * 16, b"\x02" * 8, "chat"
    span.start_time_unix_nano = 1_700_000_000_000_000_000
    span.end_time_unix_nano = span.start_time_unix_nano + 1_000_000
    span.status.code = Status.STATUS_CODE_OK
    for key, value in attributes.items():
        span.attributes.add(key=key, value=value)
    return request


@pytest.fixture
def receiver(ato_home: object) -> Iterator[OtlpReceiver]:
    ws = Workspace.open(DataPaths(ato_home))  # type: ignore[arg-type]
    try:
        yield OtlpReceiver(ws, port=0)
    finally:
        ws.close()


def _counts(rx: OtlpReceiver) -> tuple[int, int, str]:
    db = rx._workspace.paths.database
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        runs = conn.execute("SELECT count(*) FROM runs").fetchone()[0]
        actions = conn.execute("SELECT count(*) FROM actions").fetchone()[0]
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        conn.close()
    return runs, actions, check


def _ingest_whole_or_nothing(
    rx: OtlpReceiver, body: bytes, content_type: str, enc: str = ""
) -> None:
    runs, actions, _ = _counts(rx)
    try:
        result = rx.ingest(body, content_type, enc)
    except (BadPayload, Refused) as exc:
        assert str(exc)
        assert _counts(rx) == (runs, actions, "ok")  # nothing of it written
        return
    after_runs, after_actions, check = _counts(rx)
    assert check == "ok"
    assert after_runs - runs == result.runs_created
    assert after_actions - actions == result.actions


@given(requests(), st.integers(min_value=0, max_value=100))
@example(_valid_span(**{"gen_ai.usage.input_tokens": AnyValue(double_value=float("nan"))}), 100)
@example(_valid_span(**{"gen_ai.usage.input_tokens": AnyValue(double_value=float("inf"))}), 100)
@example(_valid_span(**{"llm.cost.total": AnyValue(string_value="1e999")}), 100)
@example(
    _valid_span(
        **{
            "gen_ai.usage.input_tokens": AnyValue(int_value=2**63 - 1),
            "gen_ai.usage.output_tokens": AnyValue(int_value=2**63 - 1),
        }
    ),
    100,
)
def test_protobuf_exports_are_written_whole_or_refused(
    receiver: OtlpReceiver, request: ExportTraceServiceRequest, keep_pct: int
) -> None:
    body = request.SerializeToString()
    body = body[: len(body) * keep_pct // 100]  # 100: whole; less: a truncated protobuf
    _ingest_whole_or_nothing(receiver, body, "application/x-protobuf")


def test_a_time_past_int64_nanoseconds_is_refused_or_written_whole(receiver: OtlpReceiver) -> None:
    request = _valid_span()
    span = request.resource_spans[0].scope_spans[0].spans[0]
    span.start_time_unix_nano, span.end_time_unix_nano = 1, 2**64 - 1
    _ingest_whole_or_nothing(receiver, request.SerializeToString(), "application/x-protobuf")


def test_a_huge_attribute_value_is_written_whole(receiver: OtlpReceiver) -> None:
    big = "x" * (4 * 1024 * 1024)
    request = _valid_span(**{"output.value": AnyValue(string_value=big)})
    _ingest_whole_or_nothing(receiver, request.SerializeToString(), "application/x-protobuf")


def _nested(depth: int) -> bytes:
    """An export whose one attribute nests kvlists depth deep (built in place: a nested
    constructor would parse, and stop at protobuf's depth limit)."""
    request = _valid_span()
    value = request.resource_spans[0].scope_spans[0].spans[0].attributes.add(key="acme").value
    for _ in range(depth):
        value = value.kvlist_value.values.add(key="k").value
    value.string_value = "leaf"
    return request.SerializeToString()


def test_deeply_nested_attributes_are_refused_or_written(receiver: OtlpReceiver) -> None:
    _ingest_whole_or_nothing(receiver, _nested(20), "application/x-protobuf")
    with pytest.raises(BadPayload, match="cannot be decoded"):
        decode_request(_nested(300), "application/x-protobuf")


SPAN_JSON = st.fixed_dictionaries(
    {},
    optional={
        "traceId": st.one_of(st.just("01" * 16), HOSTILE_TEXT, JSON_VALUES),
        "spanId": st.one_of(st.just("02" * 8), HOSTILE_TEXT, JSON_VALUES),
        "parentSpanId": st.one_of(HOSTILE_TEXT, JSON_VALUES),
        "name": JSON_VALUES,
        "startTimeUnixNano": st.one_of(EDGE_NUMBERS, HOSTILE_TEXT, JSON_VALUES),
        "endTimeUnixNano": st.one_of(EDGE_NUMBERS, HOSTILE_TEXT),
        "attributes": st.one_of(
            st.lists(
                st.fixed_dictionaries(
                    {"key": st.one_of(KEYS, JSON_VALUES)},
                    optional={
                        "value": st.one_of(
                            st.dictionaries(
                                st.sampled_from(
                                    [
                                        "stringValue",
                                        "intValue",
                                        "doubleValue",
                                        "boolValue",
                                        "arrayValue",
                                        "kvlistValue",
                                        "x",
                                    ]
                                ),
                                JSON_VALUES,
                                max_size=2,
                            ),
                            JSON_VALUES,
                        )
                    },
                ),
                max_size=3,
            ),
            JSON_VALUES,
        ),
        "status": st.one_of(st.fixed_dictionaries({"code": JSON_VALUES}), JSON_VALUES),
    },
)
JSON_BODIES = st.one_of(
    st.fixed_dictionaries(
        {
            "resourceSpans": st.one_of(
                st.lists(
                    st.fixed_dictionaries(
                        {
                            "scopeSpans": st.one_of(
                                st.lists(
                                    st.fixed_dictionaries(
                                        {
                                            "spans": st.one_of(
                                                st.lists(
                                                    st.one_of(SPAN_JSON, JSON_VALUES), max_size=3
                                                ),
                                                JSON_VALUES,
                                            )
                                        }
                                    ),
                                    max_size=2,
                                ),
                                JSON_VALUES,
                            )
                        }
                    ),
                    max_size=2,
                ),
                JSON_VALUES,
            )
        }
    ),
    JSON_VALUES,
).map(lambda v: json.dumps(v, allow_nan=True).encode())


@given(st.one_of(JSON_BODIES, BINARY, st.just(deep_json(100_000).encode())))
@example(b'{"resourceSpans": 5}')
@example(b'{"resourceSpans": ["x"]}')
@example(b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": 5}]}]}]}')
@example(deep_json(100_000, "{").encode())
@example(b'{"resourceSpans": [' + b"9" * 5000 + b"]}")
def test_json_exports_are_written_whole_or_refused(receiver: OtlpReceiver, body: bytes) -> None:
    _ingest_whole_or_nothing(receiver, body, "application/json")


@given(
    BINARY,
    st.sampled_from(["gzip", "identity", "", "br", "GZIP"]),
    st.sampled_from(["application/x-protobuf", "application/json", "text/plain", "", ";;"]),
)
@example(gzip.compress(b"\x00" * 100)[:-4], "gzip", "application/x-protobuf")
def test_any_body_encoding_and_type_decode_or_refuse(body: bytes, enc: str, ctype: str) -> None:
    try:
        decode_request(body, ctype, enc)
    except (BadPayload, Refused) as exc:
        assert str(exc)


@pytest.fixture
def served(receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    receiver.start()
    try:
        yield receiver.url
    finally:
        receiver.close()


@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        (b"\xff" * 64, "application/x-protobuf"),
        (b"\x0a\x05\x12\x03", "application/x-protobuf"),  # truncated
        (b'{"resourceSpans": 5}', "application/json"),
        (deep_json(100_000).encode(), "application/json"),
        (b"\xc3\x28", "application/json"),  # invalid UTF-8
    ],
)
def test_over_http_a_bad_payload_is_a_400_with_its_reason(
    served: str, receiver: OtlpReceiver, body: bytes, ctype: str
) -> None:
    before = _counts(receiver)
    response = httpx2.post(
        f"{served}/v1/traces", content=body, headers={"Content-Type": ctype}, timeout=10
    )
    assert response.status_code == 400
    assert response.json()["message"]
    assert _counts(receiver) == before


KNOWN = "zq-PLANTED-receiver-0123456789abcdefXYZ"
PIECES = st.sampled_from(
    [
        KNOWN,
        KNOWN[3:19],
        base64.b64encode(KNOWN.encode()).decode(),
        base64.urlsafe_b64encode(b"x" + KNOWN.encode()).decode(),
        KNOWN.encode().hex(),
        KNOWN.encode().hex().upper(),
        "sk-ant-api03-" + "A" * 40,
        "Authorization: Bearer abcdefgh12345678",
        "authorization=xyz12345678",
        "bearer " + "q" * 20,
        'api_key="abc123456789"',
        "client_secret: s3cr3tvalue99",
        "AIza" + "b" * 35,
        "ghp_" + "c" * 36,
        "eyJhbGciOi.eyJzdWIiOiIx.SflKxwRJSMeKKF2QT4",
        "the answer is 42",
        "",
    ]
)


@given(st.lists(st.one_of(PIECES, HOSTILE_TEXT), max_size=5).map("".join))
def test_the_redaction_gate_never_lets_through_what_redaction_would_change(text: str) -> None:
    """The receiver skips the regex redaction of an export only when its RE2 gate finds
    nothing: then redaction must change no text of it."""
    from ato_desktop.core.redaction import redact_secrets
    from ato_desktop.engine.otlp_receiver import may_carry_secrets

    request = _valid_span(**{"acme.text": AnyValue(string_value=text)})
    if not may_carry_secrets(request.SerializeToString(), (KNOWN,)):
        assert redact_secrets(text, (KNOWN,)) == text
