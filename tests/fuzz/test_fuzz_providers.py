"""Provider responses through the official SDKs against the loopback fake: malformed SSE lines,
invalid UTF-8 in deltas, binary garbage, a 10 MB body, a truncated stream, wrong JSON types in
usage. Every dispatch ends (never a crash, a hang or a run stuck "running"): completed, or
failed with an error class and a message; token counts and costs are never invented."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import time
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ato_desktop.core.models import AgentConfig, RunStatus
from ato_desktop.engine.dispatcher import DispatchRequest, DispatchResult
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.execution_log import NotFoundError
from tests.fakes import FakeLLMServer, Scenario
from tests.fuzz.strategies import BINARY, EDGE_NUMBERS, HOSTILE_TEXT, examples

RUNTIMES = {
    "claude": "claude-sonnet-5",
    "codex": "gpt-5",
    "openai-compatible": "gpt-4o-mini",
}


def _text_delta(runtime: str, text: bytes) -> bytes:
    """A text delta event of runtime's wire format with text's raw bytes in the JSON string."""
    if runtime == "claude":
        head = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
        return head + b'"delta":{"type":"text_delta","text":"' + text + b'"}}\n\n'
    if runtime == "codex":
        return (
            b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta",'
            b'"item_id":"msg_1","output_index":0,"content_index":0,"sequence_number":3,'
            b'"delta":"' + text + b'"}\n\n'
        )
    return (
        b'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m",'
        b'"choices":[{"index":0,"delta":{"content":"' + text + b'"}}]}\n\n'
    )


SSE_LINES = st.one_of(
    st.sampled_from(
        [
            b"data: {not json\n\n",
            b"data: \n\n",
            b"event: \n\n",
            b"data: null\n\n",
            b"data: 5\n\n",
            b'data: {"type": 5}\n\n',
            b"data: []\n\n",
            b": comment only\n\n",
            b"retry: x\n\n",
            b"data: [DONE]\n\n",
            b"\r\r\r",
            b"\n\n\n\n",
            b"event: error\ndata: {}\n\n",
            b"event: message_delta\n"
            b'data: {"type":"message_delta","usage":{"output_tokens":"x"}}\n\n',
            b'data: {"choices": "x"}\n\n',
            b'data: {"choices": [{"delta": null}]}\n\n',
            b'event: response.completed\ndata: {"type":"response.completed","response":7}\n\n',
        ]
    ),
    HOSTILE_TEXT.map(lambda t: b"data: " + t.encode("utf-8", "surrogatepass") + b"\n\n"),
)
INVALID_UTF8 = st.sampled_from([b"\xff\xfe", b"ab\xc3\x28cd", b"\xed\xa0\x80", b"\xf8\x88\x80"])
USAGE_VALUES = st.one_of(EDGE_NUMBERS, HOSTILE_TEXT, st.none(), st.lists(st.integers(), max_size=2))
USAGE_KEYS = st.sampled_from(
    [
        "input_tokens",
        "output_tokens",
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "cache_read_input_tokens",
        "cache_creation_input_tokens",
        "input_tokens_details",
        "prompt_tokens_details",
        "output_tokens_details",
    ]
)


@st.composite
def scenarios(draw: st.DrawFn, runtime: str) -> Scenario:
    kind = draw(st.sampled_from(["sse", "utf8", "binary", "usage", "cut"]))
    after = draw(st.integers(0, 3))
    if kind == "usage":
        usage = draw(st.dictionaries(USAGE_KEYS, USAGE_VALUES, min_size=1, max_size=4))
        return Scenario(raw_usage=usage)
    if kind == "cut":
        return Scenario(cut_after=after)
    if kind == "sse":
        data = b"".join(draw(st.lists(SSE_LINES, min_size=1, max_size=3)))
    elif kind == "utf8":
        data = _text_delta(runtime, draw(INVALID_UTF8))
    else:
        data = draw(BINARY)
    return Scenario(**Scenario.injecting(data, after, then_continue=draw(st.booleans())))


def _dispatch(ws: Workspace, server: FakeLLMServer, runtime: str, **options: Any) -> DispatchResult:
    name = f"fuzz-{runtime}"
    try:
        ws.store.get_agent(name)
    except NotFoundError:  # the first example of this workspace
        base = server.anthropic_base_url if runtime == "claude" else server.openai_base_url
        ws.agents.create(name, AgentConfig(runtime, RUNTIMES[runtime], base_url=base))

    async def go() -> DispatchResult:
        try:
            return await asyncio.wait_for(
                ws.dispatcher.dispatch(
                    DispatchRequest("hi", agent=name, stall_timeout_s=5, **options)
                ),
                30,
            )
        finally:
            await ws.live.aclose()

    return asyncio.run(go())


def _check_run(ws: Workspace, result: DispatchResult) -> None:
    run = ws.store.get_run(result.run_id)
    assert result.status in (RunStatus.COMPLETED, RunStatus.FAILED)
    assert run.status == result.status.value and run.ended_at is not None  # never left running
    if result.status is RunStatus.FAILED:
        assert run.error_class and run.error_message
    counts = run.usage.as_dict()
    for kind, value in counts.items():
        assert isinstance(value, int) and 0 <= value < 10**12, (kind, value)
    if run.cost_usd is not None:
        assert math.isfinite(run.cost_usd) and run.cost_usd >= 0
    assert run.cost_source in ("provider", "estimated", "unknown", "local", None)
    for action in ws.store.get_actions(run.id):
        json.dumps(action.outputs)  # what is kept can be exported


@pytest.mark.parametrize("runtime", list(RUNTIMES))
@settings(max_examples=examples(ci=6, deep=400), deadline=None)  # the first loads an SDK
@given(data=st.data())
def test_garbage_on_the_wire_ends_the_run_cleanly(
    workspace: Workspace,
    fake: FakeLLMServer,
    runtime: str,
    data: st.DataObject,
) -> None:
    fake.scenario = data.draw(scenarios(runtime), label="scenario")
    _check_run(workspace, _dispatch(workspace, fake, runtime))


USAGE_EXAMPLES: list[dict[str, Any]] = [
    {"input_tokens": 2**64, "output_tokens": 1e308, "prompt_tokens": 2**70},
    {"input_tokens": "12", "output_tokens": "many"},
    {"input_tokens": None, "output_tokens": None},
    {"input_tokens": -5, "output_tokens": -1, "prompt_tokens": -3, "completion_tokens": -2},
    {"input_tokens": 1e308, "output_tokens": float("nan")},
    {"input_tokens_details": "x", "prompt_tokens_details": [1], "output_tokens_details": 5},
]


@pytest.mark.parametrize("runtime", list(RUNTIMES))
def test_wrong_types_in_usage_are_not_taken_as_counts(
    workspace: Workspace,
    fake: FakeLLMServer,
    runtime: str,
) -> None:
    for usage in USAGE_EXAMPLES:
        fake.scenario = Scenario(raw_usage=usage)
        result = _dispatch(workspace, fake, runtime)
        _check_run(workspace, result)
        assert result.status is RunStatus.COMPLETED  # the answer itself was fine


@pytest.mark.parametrize("runtime", list(RUNTIMES))
def test_a_10_mb_body_is_refused_or_read_in_bounded_time(
    workspace: Workspace,
    fake: FakeLLMServer,
    runtime: str,
) -> None:
    line = b"data: " + b"x" * (10 * 1024 * 1024) + b"\n\n"
    fake.scenario = Scenario(**Scenario.injecting(line, 1, then_continue=True))
    started = time.monotonic()
    result = _dispatch(workspace, fake, runtime)
    assert time.monotonic() - started < 20
    _check_run(workspace, result)


ERROR_BODIES = st.one_of(
    BINARY,
    st.sampled_from(
        [
            b"",
            b"{",
            b'{"error": 5}',
            b'{"error": {"message": ["x"], "type": 7}}',
            b"null",
            b'{"error": {"message": "\xff\xfe broken"}}',
            b"<html>502 Bad Gateway</html>",
        ]
    ),
)


@pytest.mark.parametrize("runtime", list(RUNTIMES))
@settings(max_examples=examples(ci=2, deep=200), deadline=None)
@example(body=b'{"error": {"message": "' + b"x" * 2_000_000 + b'"}}', status=400)
@example(body=b"\x00\xff" * 1000, status=422)
@given(body=ERROR_BODIES, status=st.sampled_from([400, 401, 403, 404, 413, 422]))  # not retried
def test_an_error_body_of_any_bytes_fails_the_run_clearly(
    workspace: Workspace,
    fake: FakeLLMServer,
    runtime: str,
    body: bytes,
    status: int,
) -> None:
    fake.scenario = Scenario(status=status, error_body_b64=base64.b64encode(body).decode())
    result = _dispatch(workspace, fake, runtime)
    _check_run(workspace, result)
    run = workspace.store.get_run(result.run_id)
    assert result.status is RunStatus.FAILED
    assert len(run.error_message or "") < 5_000  # a message to read, not the body
