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

from tests.fakes import FakeControl, Scenario, UsageSpec
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
        assert control.requests() == []
        control.reset()
        assert process.poll() is None
