"""The fakes speak the real formats: every payload validates against the official SDK types."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from anthropic.types import Message, RawMessageStreamEvent
from anthropic.types.shared import ErrorResponse as AnthropicErrorResponse
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response, ResponseStreamEvent
from openai.types.shared import ErrorObject
from pydantic import TypeAdapter

from tests.fakes import FakeControl, FakeLLMServer, FakeToolCall, Scenario, UsageSpec
from tests.fakes.serve import spawn_fake_server
from tests.fakes.wire import AnthropicWire, ChatWire, ResponsesWire

REQUEST = {
    "model": "model-x",
    "stream": True,
    "stream_options": {"include_usage": True},
    "stop_sequences": ["END"],
}
USAGE = UsageSpec(
    uncached_input_tokens=7,
    cache_read_tokens=5,
    cache_write_tokens=3,
    output_tokens=11,
    reasoning_tokens=2,
)
_anthropic_events: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)
_responses_events: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)


def _data(event: Any) -> dict[str, Any]:
    assert isinstance(event.data, dict), event
    return event.data


@pytest.mark.parametrize("stop_reason", [None, "max_tokens", "stop_sequence"])
def test_anthropic_stream_and_message_validate(stop_reason: str | None) -> None:
    wire = AnthropicWire(REQUEST, Scenario(usage=USAGE, stop_reason=stop_reason))
    events = [*wire.preamble(), wire.text_delta("Hi"), *wire.ending()]
    names = [e.event for e in events]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    for event in events:
        data = _data(event)
        assert data["type"] == event.event  # the SSE event name repeats the data's type
        if event.event != "ping":
            _anthropic_events.validate_python(data)
    delta = _data(events[5])
    assert delta["usage"]["output_tokens"] == 11
    assert delta["usage"]["cache_read_input_tokens"] == 5
    assert delta["usage"]["output_tokens_details"] == {"thinking_tokens": 2}
    message = Message.model_validate(wire.json_response())
    assert message.usage.input_tokens == 7
    assert message.stop_reason == (stop_reason or "end_turn")
    if stop_reason == "stop_sequence":
        assert message.stop_sequence == "END"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 429, 500, 529])
def test_anthropic_error_bodies_validate(status: int) -> None:
    reply = AnthropicWire(REQUEST, Scenario()).error(status, "sk-x")
    AnthropicErrorResponse.model_validate(reply.body)
    assert reply.headers["request-id"].startswith("req_")
    if status == 429:
        assert "retry-after" in reply.headers
    if status == 529:
        assert reply.body["error"]["type"] == "overloaded_error"
    error_event = _data(AnthropicWire(REQUEST, Scenario()).stream_error()[0])
    AnthropicErrorResponse.model_validate(error_event)


@pytest.mark.parametrize("stop_reason", [None, "max_output_tokens"])
def test_responses_stream_and_response_validate(stop_reason: str | None) -> None:
    scenario = Scenario(chunks=("Hi", "!"), usage=USAGE, stop_reason=stop_reason)
    wire = ResponsesWire(REQUEST, scenario)
    events = wire.preamble()  # sequence numbers count in the order events are made
    events += [wire.text_delta(chunk) for chunk in scenario.chunks]
    events += wire.ending()
    final = "response.completed" if stop_reason is None else "response.incomplete"
    assert [e.event for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        final,
    ]
    for number, event in enumerate(events):
        data = _data(event)
        assert data["type"] == event.event
        assert data["sequence_number"] == number
        _responses_events.validate_python(data)
    completed = _responses_events.validate_python(_data(events[-1]))
    assert completed.response.usage.input_tokens == 15  # 7 uncached + 5 read + 3 written
    assert completed.response.usage.input_tokens_details.cached_tokens == 5
    assert completed.response.usage.output_tokens_details.reasoning_tokens == 2
    assert completed.response.output_text == "Hi!"
    Response.model_validate(wire.json_response())


@pytest.mark.parametrize("kind", ["response.failed", "error"])
def test_responses_stream_errors_validate(kind: str) -> None:
    wire = ResponsesWire(REQUEST, Scenario(responses_error_event=kind))
    (event,) = wire.stream_error()
    assert event.event == kind
    _responses_events.validate_python(_data(event))


def test_chat_chunks_and_completion_validate() -> None:
    wire = ChatWire(REQUEST, Scenario(usage=USAGE, provider_cost_usd="0.0142"))
    events = [*wire.preamble(), wire.text_delta("Hi"), *wire.ending()]
    assert events[-1].data == "[DONE]"
    assert all(e.event is None for e in events)
    chunks = [ChatCompletionChunk.model_validate(_data(e)) for e in events[:-1]]
    assert chunks[-2].choices[0].finish_reason == "stop"
    usage_chunk = chunks[-1]
    assert usage_chunk.choices == []
    assert usage_chunk.usage is not None
    assert usage_chunk.usage.prompt_tokens == 15
    assert usage_chunk.usage.prompt_tokens_details is not None
    assert usage_chunk.usage.prompt_tokens_details.cached_tokens == 5
    assert usage_chunk.usage.model_extra == {"cost": "0.0142"}
    assert all(c.usage is None for c in chunks[:-1])
    ChatCompletion.model_validate(wire.json_response())


def test_chat_without_include_usage_sends_no_usage() -> None:
    wire = ChatWire({"model": "m", "stream": True}, Scenario())
    events = [*wire.preamble(), wire.text_delta("Hi"), *wire.ending()]
    assert all("usage" not in e.data for e in events if isinstance(e.data, dict))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 429, 500, 503])
def test_openai_error_bodies_validate(status: int) -> None:
    reply = ResponsesWire(REQUEST, Scenario()).error(status, "sk-proj-abcdefghijkl")
    ErrorObject.model_validate(reply.body["error"])
    assert "sk-proj-abcdefghijkl" not in json.dumps(reply.body)  # OpenAI masks the key


def test_scenario_round_trips_through_json() -> None:
    scenario = Scenario(chunks=("a", "b"), usage=USAGE, status=429, retry_after="0")
    assert Scenario.from_dict(json.loads(json.dumps(scenario.to_dict()))) == scenario
    with pytest.raises(ValueError, match="unknown scenario keys"):
        Scenario.from_dict({"chunk": ["typo"]})


def test_subprocess_server_is_scriptable(tmp_path: Path) -> None:
    scenario_file = tmp_path / "scenario.json"
    scenario_file.write_text(json.dumps({"default": {"chunks": ["from", " file"]}}))
    with spawn_fake_server(scenario_file=scenario_file) as (process, url):
        control = FakeControl(url)
        assert control.health()
        control.enqueue(Scenario(status=500))
        control.enqueue(Scenario(chunks=("x",), tool_calls=(WEATHER, ADD)))
        assert control.requests() == []
        control.reset()
        assert process.poll() is None


# --------------------------------------------------------------------------------- tool calls

WEATHER = FakeToolCall("get_weather", {"city": "Paris", "unit": "celsius"}, chunk_size=5)
ADD = FakeToolCall("add", {"a": 1, "b": 2}, id="call_fixed_id")


def _flat(steps: list[list[Any]]) -> list[Any]:
    return [event for step in steps for event in step]


@pytest.mark.parametrize("with_text", [True, False])
def test_anthropic_tool_use_stream_and_message_validate(with_text: bool) -> None:
    chunks = ("Let me check.",) if with_text else ()
    wire = AnthropicWire(REQUEST, Scenario(chunks=chunks, tool_calls=(WEATHER, ADD)))
    steps = wire.steps()
    # One counted step per text chunk and per argument piece.
    assert len(steps) == len(chunks) + len(WEATHER.argument_pieces()) + len(ADD.argument_pieces())
    events = [*wire.preamble(), *_flat(steps), *wire.ending()]
    for event in events:
        data = _data(event)
        assert data["type"] == event.event
        if event.event != "ping":
            _anthropic_events.validate_python(data)
    starts = [_data(e) for e in events if e.event == "content_block_start"]
    first_tool = 1 if with_text else 0
    assert [s["content_block"]["type"] for s in starts] == ["text"] * with_text + ["tool_use"] * 2
    assert [s["index"] for s in starts] == list(range(first_tool + 2))
    assert starts[first_tool]["content_block"]["id"].startswith("toolu_")
    assert starts[first_tool + 1]["content_block"]["id"] == "call_fixed_id"
    # Every block opened is closed, in order, before message_delta.
    stops = [_data(e)["index"] for e in events if e.event == "content_block_stop"]
    assert stops == list(range(first_tool + 2))
    for number, call in enumerate((WEATHER, ADD)):
        pieces = [
            _data(e)["delta"]["partial_json"]
            for e in events
            if e.event == "content_block_delta"
            and _data(e)["index"] == first_tool + number
            and _data(e)["delta"]["type"] == "input_json_delta"
        ]
        assert len(pieces) == len(call.argument_pieces())
        assert json.loads("".join(pieces)) == call.arguments
    (delta,) = [_data(e) for e in events if e.event == "message_delta"]
    assert delta["delta"]["stop_reason"] == "tool_use"
    message = Message.model_validate(wire.json_response())
    assert [block.type for block in message.content] == ["text"] * with_text + ["tool_use"] * 2
    assert message.stop_reason == "tool_use"
    tool_use = message.content[-1]
    assert tool_use.type == "tool_use"
    assert (tool_use.id, tool_use.name, tool_use.input) == ("call_fixed_id", "add", ADD.arguments)


@pytest.mark.parametrize("with_text", [True, False])
def test_responses_function_call_stream_and_response_validate(with_text: bool) -> None:
    chunks = ("Let me check.",) if with_text else ()
    wire = ResponsesWire(REQUEST, Scenario(chunks=chunks, tool_calls=(WEATHER, ADD)))
    events = [*wire.preamble(), *_flat(wire.steps()), *wire.ending()]
    for number, event in enumerate(events):
        data = _data(event)
        assert data["type"] == event.event
        assert data["sequence_number"] == number
        _responses_events.validate_python(data)
    added = [_data(e) for e in events if e.event == "response.output_item.added"]
    first_call = 1 if with_text else 0
    assert [a["item"]["type"] for a in added] == ["message"] * with_text + ["function_call"] * 2
    assert [a["output_index"] for a in added] == list(range(first_call + 2))
    done = [_data(e) for e in events if e.event == "response.output_item.done"]
    assert [d["output_index"] for d in done] == list(range(first_call + 2))
    for number, call in enumerate((WEATHER, ADD)):
        index = first_call + number
        pieces = [
            _data(e)["delta"]
            for e in events
            if e.event == "response.function_call_arguments.delta"
            and _data(e)["output_index"] == index
        ]
        assert json.loads("".join(pieces)) == call.arguments
        (arguments_done,) = [
            _data(e)
            for e in events
            if e.event == "response.function_call_arguments.done"
            and _data(e)["output_index"] == index
        ]
        assert arguments_done["arguments"] == "".join(pieces)
    completed = _responses_events.validate_python(_data(events[-1]))
    assert completed.type == "response.completed"
    calls = [item for item in completed.response.output if item.type == "function_call"]
    assert [(c.name, c.call_id) for c in calls][1] == ("add", "call_fixed_id")
    assert calls[0].call_id.startswith("call_")
    assert json.loads(calls[0].arguments) == WEATHER.arguments
    response = Response.model_validate(wire.json_response())
    assert [item.type for item in response.output][-2:] == ["function_call", "function_call"]


@pytest.mark.parametrize("with_text", [True, False])
def test_chat_tool_call_chunks_and_completion_validate(with_text: bool) -> None:
    chunks = ("Let me check.",) if with_text else ()
    wire = ChatWire(REQUEST, Scenario(chunks=chunks, tool_calls=(WEATHER, ADD)))
    events = [*wire.preamble(), *_flat(wire.steps()), *wire.ending()]
    assert events[-1].data == "[DONE]"
    parsed = [ChatCompletionChunk.model_validate(_data(e)) for e in events[:-1]]
    fragments = [
        fragment
        for chunk in parsed
        for choice in chunk.choices
        for fragment in choice.delta.tool_calls or ()
    ]
    # A call's first fragment names it; the argument pieces carry only the index.
    assert len(fragments) == 2 + len(WEATHER.argument_pieces()) + len(ADD.argument_pieces())
    for number, call in enumerate((WEATHER, ADD)):
        own = [f for f in fragments if f.index == number]
        assert own[0].id is not None and own[0].function is not None
        assert own[0].function.name == call.name
        assert all(f.id is None for f in own[1:])
        text = "".join((f.function.arguments or "") for f in own if f.function is not None)
        assert json.loads(text) == call.arguments
    assert [f.id for f in fragments if f.id][1] == "call_fixed_id"
    assert parsed[-2].choices[0].finish_reason == "tool_calls"
    completion = ChatCompletion.model_validate(wire.json_response())
    message = completion.choices[0].message
    assert completion.choices[0].finish_reason == "tool_calls"
    assert message.content == ("Let me check." if with_text else None)
    assert message.tool_calls is not None
    assert [call.id for call in message.tool_calls][1] == "call_fixed_id"


def test_arguments_given_as_text_are_sent_verbatim() -> None:
    broken = FakeToolCall("add", '{"a": 1, "b":', chunk_size=4)
    assert "".join(broken.argument_pieces()) == '{"a": 1, "b":'
    assert FakeToolCall("now").argument_pieces() == ["{}"]
    assert FakeToolCall("now", "").argument_pieces() == [""]


def test_tool_scenario_round_trips_and_has_no_default_text() -> None:
    scenario = Scenario(tool_calls=(WEATHER, ADD), stall_after=2)
    assert scenario.chunks == ()
    assert Scenario(chunks=("a",), tool_calls=(ADD,)).chunks == ("a",)
    assert Scenario.from_dict(json.loads(json.dumps(scenario.to_dict()))) == scenario
    assert Scenario.from_dict({"tool_calls": [{"name": "add", "arguments": {"a": 1}}]}) == (
        Scenario(tool_calls=(FakeToolCall("add", {"a": 1}),))
    )


# ------------------------------------------------------- conversations checked like the APIs


def _anthropic_check(messages: list[dict[str, Any]]) -> str | None:
    reply = AnthropicWire({"model": "m", "messages": messages}, Scenario()).invalid_request()
    if reply is None:
        return None
    assert reply.status == 400
    AnthropicErrorResponse.model_validate(reply.body)
    assert reply.body["error"]["type"] == "invalid_request_error"
    return str(reply.body["error"]["message"])


def _tool_use(call_id: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": "add", "input": {"a": 1}}


def _tool_result(call_id: str) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": call_id, "content": "2"}


def test_anthropic_accepts_a_well_formed_tool_conversation() -> None:
    assert (
        _anthropic_check(
            [
                {"role": "user", "content": "Add."},
                {
                    "role": "assistant",
                    "content": [{"type": "text", "text": "Sure."}, _tool_use("a"), _tool_use("b")],
                },
                {
                    "role": "user",
                    "content": [
                        _tool_result("a"),
                        _tool_result("b"),
                        {"type": "text", "text": "?"},
                    ],
                },
                {"role": "assistant", "content": "3"},
            ]
        )
        is None
    )


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        (
            [{"role": "user", "content": [_tool_result("ghost")]}],
            "messages.0.content.0: unexpected `tool_use_id` found in `tool_result` blocks: ghost.",
        ),
        (
            [
                {"role": "user", "content": "Add."},
                {"role": "assistant", "content": [_tool_use("a"), _tool_use("b")]},
                {"role": "user", "content": [_tool_result("a")]},
            ],
            "messages.1: `tool_use` ids were found without `tool_result` blocks immediately "
            "after: b.",
        ),
        (
            [
                {"role": "user", "content": "Add."},
                {"role": "assistant", "content": [_tool_use("a")]},
                {"role": "user", "content": [_tool_result("a")]},
                {"role": "user", "content": "more"},
            ],
            'found multiple "user" roles in a row',
        ),
        (
            [
                {"role": "user", "content": "Add."},
                {"role": "assistant", "content": [_tool_use("a")]},
                {"role": "user", "content": [{"type": "text", "text": "x"}, _tool_result("a")]},
            ],
            "messages.2: Did not find 1 `tool_result` block(s) at the beginning",
        ),
    ],
)
def test_anthropic_refuses_a_broken_tool_conversation(
    messages: list[dict[str, Any]], expected: str
) -> None:
    message = _anthropic_check(messages)
    assert message is not None and expected in message


def _openai_check(wire: Any) -> tuple[str, str | None] | None:
    reply = wire.invalid_request()
    if reply is None:
        return None
    assert reply.status == 400
    error = ErrorObject.model_validate(reply.body["error"])
    assert error.type == "invalid_request_error"
    assert error.code is None
    return error.message, error.param


def _chat(messages: list[dict[str, Any]]) -> tuple[str, str | None] | None:
    return _openai_check(ChatWire({"model": "m", "messages": messages}, Scenario()))


def _asks(*ids: str) -> dict[str, Any]:
    calls = [
        {"id": i, "type": "function", "function": {"name": "add", "arguments": "{}"}} for i in ids
    ]
    return {"role": "assistant", "content": None, "tool_calls": calls}


def _answer(call_id: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": "2"}


def test_chat_accepts_a_well_formed_tool_conversation() -> None:
    user = {"role": "user", "content": "Add."}
    assert _chat([user, _asks("a", "b"), _answer("a"), _answer("b"), user]) is None


@pytest.mark.parametrize(
    ("messages", "expected", "param"),
    [
        (
            [{"role": "user", "content": "Add."}, _answer("a")],
            "messages with role 'tool' must be a response to a preceeding message with "
            "'tool_calls'",
            "messages.[1].role",
        ),
        (
            [{"role": "user", "content": "Add."}, _asks("a"), _answer("zzz")],
            "'tool_call_id' of 'zzz' not found in 'tool_calls' of previous message",
            "messages.[2].tool_call_id",
        ),
        (
            [{"role": "user", "content": "Add."}, _asks("a", "b"), _answer("a")],
            "The following tool_call_ids did not have response messages: b",
            "messages.[1].role",
        ),
    ],
)
def test_chat_refuses_a_broken_tool_conversation(
    messages: list[dict[str, Any]], expected: str, param: str
) -> None:
    result = _chat(messages)
    assert result is not None
    assert expected in result[0]
    assert result[1] == param


def _responses(items: list[dict[str, Any]], **extra: Any) -> tuple[str, str | None] | None:
    return _openai_check(ResponsesWire({"model": "m", "input": items, **extra}, Scenario()))


def _function_call(call_id: str) -> dict[str, Any]:
    return {"type": "function_call", "call_id": call_id, "name": "add", "arguments": "{}"}


def _output(call_id: str) -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": call_id, "output": "2"}


def test_responses_checks_function_call_outputs() -> None:
    user = {"role": "user", "content": "Add.", "type": "message"}
    assert _responses([user, _function_call("a"), _output("a")]) is None
    assert _responses([user, _output("a")]) == (
        "No tool call found for function call output with call_id a.",
        "input",
    )
    assert _responses([user, _function_call("a"), _function_call("b"), _output("b")]) == (
        "No tool output found for function call a.",
        "input",
    )
    # Earlier items live server-side: nothing to check against.
    assert _responses([_output("a")], previous_response_id="resp_1") is None


def test_non_streaming_tool_calls_parse_in_the_sdks(monkeypatch: pytest.MonkeyPatch) -> None:
    import anthropic
    import openai

    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    scenario = Scenario(chunks=("Sure.",), tool_calls=(ADD,))
    with FakeLLMServer(scenario=scenario) as fake:
        claude = anthropic.Anthropic(api_key="k", base_url=fake.anthropic_base_url, max_retries=0)
        message = claude.messages.create(
            model="m", max_tokens=10, messages=[{"role": "user", "content": "Add."}]
        )
        tool_use = message.content[-1]
        assert tool_use.type == "tool_use"
        assert (tool_use.id, tool_use.input) == ("call_fixed_id", {"a": 1, "b": 2})
        client = openai.OpenAI(api_key="k", base_url=fake.openai_base_url, max_retries=0)
        response = client.responses.create(model="m", input="Add.")
        (call,) = [item for item in response.output if item.type == "function_call"]
        assert (call.call_id, json.loads(call.arguments)) == ("call_fixed_id", ADD.arguments)
        assert response.output_text == "Sure."
        completion = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "Add."}]
        )
        (chat_call,) = completion.choices[0].message.tool_calls or []
        assert chat_call.id == "call_fixed_id"
        assert completion.choices[0].finish_reason == "tool_calls"
        claude.close()
        client.close()
