"""Reading server-sent events ourselves (runtimes/sse.py): the decoder against the SSE rules the
SDKs apply, byte by byte, and the three adapters against the loopback fake with the wire cut,
split and garbled in the ways a real connection and a real proxy do."""

from __future__ import annotations

import json

import pytest

from ato_desktop.core.models import ErrorClass, EventKind, RuntimeEvent
from ato_desktop.runtimes.sse import DONE, Frame, SSEDecoder, loads, openai_payload
from tests.fakes import FakeLLMServer, Scenario
from tests.runtimes.conftest import CLAUDE, Target, collect, make_request

ANTHROPIC_STREAM = (
    b"event: message_start\n"
    b'data: {"type":"message_start","message":{"id":"msg_1"}}\n\n'
    b"event: ping\ndata: {}\n\n"
    b"event: content_block_delta\n"
    b'data: {"type":"content_block_delta","index":0,'
    b'"delta":{"type":"text_delta","text":"h\xc3\xa9"}}\n\n'
    b": a comment\n\n"
    b"data: line one\ndata: line two\n\n"
    b"event: message_stop\n"
    b'data: {"type":"message_stop"}\n\n'
)


def _decode(chunks: list[bytes]) -> list[Frame]:
    decoder = SSEDecoder()
    frames = [frame for chunk in chunks for frame in decoder.feed(chunk)]
    return frames + decoder.end()


def _sdk_decode(body: bytes) -> list[Frame]:
    """What the official SDK's own decoder makes of the same bytes (openai's: it splits CR,
    LF and CRLF incrementally), as (event, data) pairs."""
    from openai._streaming import SSEDecoder as OpenAIDecoder

    decoder = OpenAIDecoder()
    frames = []
    for line in body.splitlines():  # CR, LF and CRLF, as the SDK's line splitter
        sse = decoder.decode(line.decode("utf-8"))
        if sse is not None:
            frames.append(Frame(sse.event, sse.data.encode("utf-8")))
    return frames


EXPECTED = [
    Frame("message_start", b'{"type":"message_start","message":{"id":"msg_1"}}'),
    Frame("ping", b"{}"),
    Frame(
        "content_block_delta",
        b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"h\xc3\xa9"}}',
    ),
    Frame(None, b"line one\nline two"),
    Frame("message_stop", b'{"type":"message_stop"}'),
]


def test_whole_events_in_one_chunk_decode_as_the_sdk_decodes_them() -> None:
    assert _decode([ANTHROPIC_STREAM]) == EXPECTED
    assert _sdk_decode(ANTHROPIC_STREAM) == EXPECTED


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64])
def test_events_split_across_chunks_anywhere_decode_the_same(size: int) -> None:
    chunks = [ANTHROPIC_STREAM[i : i + size] for i in range(0, len(ANTHROPIC_STREAM), size)]
    # A split inside "é" (two bytes) as well: bytes stay bytes until a whole event is in.
    assert _decode(chunks) == EXPECTED


@pytest.mark.parametrize("newline", [b"\r\n", b"\r"])
@pytest.mark.parametrize("size", [1, 5, 1000])
def test_crlf_and_cr_line_ends_decode_as_lf_even_when_split(newline: bytes, size: int) -> None:
    body = ANTHROPIC_STREAM.replace(b"\n", newline)
    chunks = [body[i : i + size] for i in range(0, len(body), size)]
    assert _decode(chunks) == EXPECTED
    assert _sdk_decode(body) == EXPECTED


def test_a_cr_at_the_very_end_of_the_body_still_ends_its_event() -> None:
    assert _decode([b"data: 1\r", b"\r"]) == [Frame(None, b"1")]
    assert _decode([b"data: 1\r\r"]) == [Frame(None, b"1")]


def test_comments_pings_and_unknown_fields_make_no_event() -> None:
    body = b": keep-alive\n\n:another\nfoo: bar\n\n\n\n"
    assert _decode([body]) == []
    assert _sdk_decode(body) == []


def test_id_and_retry_alone_make_an_event_with_no_data_as_in_the_sdk() -> None:
    body = b"id: 7\n\nretry: 100\n\nretry: soon\n\nevent:\ndata\n\n"
    assert _decode([body]) == [Frame(None, b""), Frame(None, b""), Frame(None, b"")]
    # One difference, on purpose: the SDK keeps the last id and so makes an empty event of
    # every later blank line ("retry: soon" alone, here), which its JSON parsing then refuses.
    assert _sdk_decode(body) == [Frame(None, b"")] * 4


def test_field_values_keep_everything_after_one_optional_space() -> None:
    body = b'event:x\ndata:  two spaces\ndata:{"a": 1}\n\n'
    assert _decode([body]) == _sdk_decode(body) == [Frame("x", b' two spaces\n{"a": 1}')]


def test_a_truncated_event_without_its_blank_line_is_dropped() -> None:
    body = b'data: {"a":1}\n\ndata: {"b":'
    assert _decode([body]) == [Frame(None, b'{"a":1}')]
    assert _decode([body + b"2}\n"]) == [Frame(None, b'{"a":1}')]


def test_a_large_event_in_many_chunks_is_read_in_linear_time() -> None:
    data = b"x" * 2_000_000
    body = b"data: " + data + b"\n\n"
    chunks = [body[i : i + 4096] for i in range(0, len(body), 4096)]
    assert _decode(chunks) == [Frame(None, data)]


def test_loads_parses_what_the_stdlib_parses_and_fails_as_it_fails() -> None:
    for text in [b'{"a": 2, "b": [1.5, null]}', b'{"a": NaN}', b'"\\ud800"', b"-0.0"]:
        assert repr(loads(text)) == repr(json.loads(text))
    # The one difference: orjson reads an integer past 64 bits as a float (no count is that big).
    assert loads(b"18446744073709551616") == float(2**64)
    for bad in [b"", b"{not json", b"\xff\xfe", b"\xed\xa0\x80"]:
        with pytest.raises(ValueError):
            loads(bad)


def test_openai_payload_follows_the_sdks_legacy_stream() -> None:
    assert openai_payload(Frame(None, b"[DONE]"), None) is DONE
    assert openai_payload(Frame("x", b'{"a": 1}'), None) == {"a": 1}
    assert openai_payload(Frame("thread.run", b'{"a": 1}'), None) == {
        "data": {"a": 1},
        "event": "thread.run",
    }
    import httpx2
    import openai

    request = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")
    with pytest.raises(openai.APIError) as raised:
        openai_payload(Frame(None, b'{"error": {"message": "overloaded", "code": "x"}}'), request)
    assert raised.value.message == "overloaded"
    assert raised.value.body == {"message": "overloaded", "code": "x"}
    with pytest.raises(openai.APIError) as raised:
        openai_payload(Frame(None, b'{"error": "bad"}'), request)
    assert raised.value.message == "An error occurred during streaming"


# --------------------------------------------------------------------- through the adapters


def _ending(events: list[RuntimeEvent]) -> RuntimeEvent:
    return events[-1]


def _text(events: list[RuntimeEvent]) -> str:
    return "".join(e.text for e in events if e.kind is EventKind.TEXT)


def _text_delta(runtime: str, text: str) -> bytes:
    """A text delta event of ``runtime``'s wire format."""
    if runtime == "claude":
        data = {"type": "content_block_delta", "index": 0}
        data["delta"] = {"type": "text_delta", "text": text}
        return b"event: content_block_delta\ndata: " + json.dumps(data).encode() + b"\n\n"
    if runtime == "codex":
        data = {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0}
        data.update(content_index=0, sequence_number=3, delta=text)
        return b"event: response.output_text.delta\ndata: " + json.dumps(data).encode() + b"\n\n"
    data = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    data["choices"] = [{"index": 0, "delta": {"content": text}}]
    return b"data: " + json.dumps(data).encode() + b"\n\n"


def test_an_event_with_crlf_line_ends_and_comments_is_read(
    target: Target, fake: FakeLLMServer
) -> None:
    """One event of the answer with CRLF line ends, a comment and a blank line before it."""
    event = b": keep-alive\r\n\r\n\r\n" + _text_delta(target.runtime, "[é]").replace(b"\n", b"\r\n")
    fake.scenario = Scenario(**Scenario.injecting(event, 1, then_continue=True))

    events = collect(target, make_request(target, fake))

    assert _ending(events).kind is EventKind.FINISH, _ending(events)
    chunks = Scenario().chunks
    assert _text(events) == chunks[0] + "[é]" + "".join(chunks[1:])


def test_an_error_frame_mid_stream_is_classified_by_its_type(
    target: Target, fake: FakeLLMServer
) -> None:
    kind = "rate_limit_error" if target.runtime == CLAUDE.runtime else "rate_limit_exceeded"
    fake.scenario = Scenario(stream_error_after=1, stream_error_type=kind)

    events = collect(target, make_request(target, fake))

    error = _ending(events)
    assert error.kind is EventKind.ERROR and error.error_class is ErrorClass.RATE_LIMIT, error
    assert _text(events) == Scenario().chunks[0]
    assert any(e.kind is EventKind.ACCEPTED for e in events)


def test_an_error_frame_that_is_not_json_still_fails_the_call(fake: FakeLLMServer) -> None:
    fake.scenario = Scenario(**Scenario.injecting(b"event: error\ndata: upstream broke\n\n", 1))

    events = collect(CLAUDE, make_request(CLAUDE, fake))

    error = _ending(events)
    assert error.kind is EventKind.ERROR and error.error_class is ErrorClass.SERVER_ERROR
    assert "upstream broke" in (error.message or "")


def test_a_body_cut_inside_an_event_is_a_stream_that_ended_early(
    target: Target, fake: FakeLLMServer
) -> None:
    """The half event is dropped, as the SDKs drop it; the answer never finished."""
    half = _text_delta(target.runtime, "lost")[:-10]
    fake.scenario = Scenario(**Scenario.injecting(half, 1))

    events = collect(target, make_request(target, fake))

    error = _ending(events)
    assert error.kind is EventKind.ERROR and error.error_class is ErrorClass.STREAM_INTERRUPTED
    assert "lost" not in _text(events)


def test_a_connection_dropped_mid_stream_is_a_stream_interrupted(
    target: Target, fake: FakeLLMServer
) -> None:
    fake.scenario = Scenario(cut_after=1)

    events = collect(target, make_request(target, fake))

    error = _ending(events)
    assert error.kind is EventKind.ERROR and error.error_class is ErrorClass.STREAM_INTERRUPTED
    assert "dropped mid-way" in (error.message or "")


@pytest.mark.parametrize("garbage", [b"data: {not json\n\n", b"data: \xff\xfe\n\n"])
def test_garbage_data_fails_the_call_as_an_unexpected_response(
    target: Target, fake: FakeLLMServer, garbage: bytes
) -> None:
    event = b"event: content_block_delta\n" if target.runtime == CLAUDE.runtime else b""
    fake.scenario = Scenario(**Scenario.injecting(event + garbage, 1, then_continue=True))

    events = collect(target, make_request(target, fake))

    error = _ending(events)
    assert error.kind is EventKind.ERROR and error.error_class is ErrorClass.SERVER_ERROR, error
    assert "Unexpected response" in (error.message or "")
