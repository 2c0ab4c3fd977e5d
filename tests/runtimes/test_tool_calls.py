"""Tool calling in the three adapters, through the official SDKs, against the validating fakes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ato_desktop.core.models import (
    ChatMessage,
    ErrorClass,
    EventKind,
    RuntimeEvent,
    TokenUsage,
    ToolCall,
    ToolSpec,
)
from ato_desktop.runtimes.openai_compatible import _CompletionState
from ato_desktop.runtimes.sse import Frame
from ato_desktop.runtimes.streaming import parse_tool_arguments, tool_arguments_text
from tests.fakes import FakeLLMServer, FakeToolCall, Scenario, UsageSpec
from tests.runtimes.conftest import CLAUDE, CODEX, COMPATIBLE, Target, collect, make_request

WEATHER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    "required": ["city"],
}
TOOLS = (
    ToolSpec("get_weather", "Current weather for a city.", WEATHER_SCHEMA),
    ToolSpec("add", "Add two numbers."),
)
# The provider's own finish value after tool calls.
TOOL_FINISH = {"claude": "tool_use", "codex": "completed", "openai-compatible": "tool_calls"}


def kinds(events: list[RuntimeEvent]) -> list[EventKind]:
    return [event.kind for event in events]


def calls(events: list[RuntimeEvent]) -> list[ToolCall]:
    return [e.tool_call for e in events if e.kind is EventKind.TOOL_CALL and e.tool_call]


def conversation_of(target: Target, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The conversation as the request carried it (Responses calls it input)."""
    result: list[dict[str, Any]] = body["input" if target is CODEX else "messages"]
    return result


# ------------------------------------------------------------------------- tools on the wire


def test_tools_are_offered_in_each_apis_shape(target: Target, fake: FakeLLMServer) -> None:
    collect(target, make_request(target, fake, tools=TOOLS))

    offered = fake.last_request.body["tools"]
    if target is CLAUDE:
        assert offered == [
            {
                "name": "get_weather",
                "description": "Current weather for a city.",
                "input_schema": WEATHER_SCHEMA,
            },
            {"name": "add", "description": "Add two numbers.", "input_schema": {"type": "object"}},
        ]
    elif target is CODEX:
        assert offered == [
            {
                "type": "function",
                "name": "get_weather",
                "description": "Current weather for a city.",
                "parameters": WEATHER_SCHEMA,
                "strict": False,
            },
            {
                "type": "function",
                "name": "add",
                "description": "Add two numbers.",
                "parameters": {"type": "object"},
                "strict": False,
            },
        ]
    else:
        assert offered == [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Current weather for a city.",
                    "parameters": WEATHER_SCHEMA,
                },
            },
            {
                "type": "function",
                "function": {
                    "name": "add",
                    "description": "Add two numbers.",
                    "parameters": {"type": "object"},
                },
            },
        ]


def test_no_tools_means_no_tools_field(target: Target, fake: FakeLLMServer) -> None:
    collect(target, make_request(target, fake))

    assert "tools" not in fake.last_request.body


# ------------------------------------------------------------------------- calls from the model


def test_a_streamed_tool_call_arrives_whole_with_usage_and_finish(
    target: Target, fake: FakeLLMServer
) -> None:
    usage = UsageSpec(uncached_input_tokens=50, cache_read_tokens=0, cache_write_tokens=0)
    fake.scenario = Scenario(
        tool_calls=(
            FakeToolCall("get_weather", {"city": "Paris", "days": 3}, id="call_w1", chunk_size=3),
        ),
        usage=usage,
    )

    events = collect(target, make_request(target, fake, tools=TOOLS))

    # The arguments streamed in 9 pieces; one TOOL_CALL carries them parsed.
    assert kinds(events) == [
        EventKind.ACCEPTED,
        EventKind.TOOL_CALL,
        EventKind.USAGE,
        EventKind.FINISH,
    ]
    assert calls(events) == [ToolCall("call_w1", "get_weather", {"city": "Paris", "days": 3})]
    assert events[2].usage == TokenUsage(input_tokens=50, output_tokens=9)
    assert events[-1].finish_reason == TOOL_FINISH[target.runtime]
    assert fake.last_request.rejected is None


def test_parallel_tool_calls_keep_their_order_and_ids(target: Target, fake: FakeLLMServer) -> None:
    scripted = (
        FakeToolCall("get_weather", {"city": "Paris"}, id="call_b", chunk_size=4),
        FakeToolCall("add", {"a": 3, "b": 4}, id="call_a", chunk_size=2),
        FakeToolCall("get_weather", {"city": "Oslo"}, id="call_c"),
    )
    fake.scenario = Scenario(tool_calls=scripted)

    events = collect(target, make_request(target, fake, tools=TOOLS))

    assert calls(events) == [
        ToolCall("call_b", "get_weather", {"city": "Paris"}),
        ToolCall("call_a", "add", {"a": 3, "b": 4}),
        ToolCall("call_c", "get_weather", {"city": "Oslo"}),
    ]


def test_generated_ids_are_the_providers(target: Target, fake: FakeLLMServer) -> None:
    fake.scenario = Scenario(tool_calls=(FakeToolCall("add", {"a": 1}), FakeToolCall("add")))

    first, second = calls(collect(target, make_request(target, fake, tools=TOOLS)))

    prefix = "toolu_" if target is CLAUDE else "call_"
    assert first.id.startswith(prefix) and second.id.startswith(prefix)
    assert first.id != second.id
    assert second.arguments == {}


def test_text_before_a_tool_call_arrives_first(target: Target, fake: FakeLLMServer) -> None:
    fake.scenario = Scenario(
        chunks=("Let me ", "look that up."), tool_calls=(FakeToolCall("add", {"a": 1, "b": 2}),)
    )

    events = collect(target, make_request(target, fake, tools=TOOLS))

    provisional = [EventKind.USAGE] if target.runtime == "claude" else []
    assert kinds(events) == [
        EventKind.ACCEPTED,
        *provisional,
        EventKind.TEXT,
        EventKind.TEXT,
        EventKind.TOOL_CALL,
        EventKind.USAGE,
        EventKind.FINISH,
    ]
    assert "".join(e.text for e in events) == "Let me look that up."
    assert calls(events)[0].arguments == {"a": 1, "b": 2}


@pytest.mark.parametrize(
    ("sent", "received"),
    [
        ('{"a": 1, "b":', {"$raw": '{"a": 1, "b":'}),  # truncated
        ("not json at all", {"$raw": "not json at all"}),
        ("[1, 2]", {"$raw": "[1, 2]"}),  # JSON, but not an object
        ("", {}),  # a call with no arguments
    ],
)
def test_arguments_that_are_not_a_json_object_arrive_raw(
    target: Target, fake: FakeLLMServer, sent: str, received: dict[str, Any]
) -> None:
    fake.scenario = Scenario(tool_calls=(FakeToolCall("add", sent, id="call_x", chunk_size=3),))

    events = collect(target, make_request(target, fake, tools=TOOLS))

    assert calls(events) == [ToolCall("call_x", "add", received)]
    assert events[-1].kind is EventKind.FINISH


def test_a_stream_cut_mid_arguments_yields_no_partial_call(
    target: Target, fake: FakeLLMServer
) -> None:
    # Two text chunks, then the call's argument pieces: cut after the first piece.
    fake.scenario = Scenario(
        chunks=("a", "b"),
        tool_calls=(FakeToolCall("add", {"a": 1, "b": 2}, chunk_size=4),),
        cut_after=3,
    )

    events = collect(target, make_request(target, fake, tools=TOOLS))

    assert EventKind.TOOL_CALL not in kinds(events)
    assert events[-1].kind is EventKind.ERROR
    assert events[-1].error_class is ErrorClass.STREAM_INTERRUPTED


# ------------------------------------------------------------------- conversations on the wire

# A tool loop's history: two parallel calls (one failed), a second round without text, the
# answer, and the user's next turn.
CONVERSATION = (
    ChatMessage("user", "What is 3+4, and the weather in Paris?"),
    ChatMessage(
        "assistant",
        "Let me check.",
        tool_calls=(
            ToolCall("call_1", "add", {"a": 3, "b": 4}),
            ToolCall("call_2", "get_weather", {"city": "Paris"}),
        ),
    ),
    ChatMessage("tool", "7", tool_call_id="call_1", tool_name="add"),
    ChatMessage(
        "tool",
        "weather service unreachable",
        tool_call_id="call_2",
        tool_name="get_weather",
        is_error=True,
    ),
    ChatMessage(
        "assistant",
        "",
        tool_calls=(ToolCall("call_3", "get_weather", {"city": "Paris", "retry": True}),),
    ),
    ChatMessage("tool", "18°C, clear", tool_call_id="call_3", tool_name="get_weather"),
    ChatMessage("assistant", "3+4 is 7; Paris is 18°C and clear."),
    ChatMessage("user", "Thanks! And Oslo?"),
)


def _send_conversation(target: Target, fake: FakeLLMServer) -> list[RuntimeEvent]:
    fake.scenario = Scenario(chunks=("Oslo: 4°C.",))
    events = collect(target, make_request(target, fake, messages=CONVERSATION, tools=TOOLS))
    # The validating fake took it: a malformed one would have been a 400.
    assert fake.last_request.rejected is None
    assert events[-1].kind is EventKind.FINISH, events[-1]
    return events


def test_claude_sends_a_tool_conversation_as_tool_use_and_tool_result_blocks(
    fake: FakeLLMServer,
) -> None:
    _send_conversation(CLAUDE, fake)

    assert fake.last_request.body["messages"] == [
        {"role": "user", "content": "What is 3+4, and the weather in Paris?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "call_1", "name": "add", "input": {"a": 3, "b": 4}},
                {
                    "type": "tool_use",
                    "id": "call_2",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                },
            ],
        },
        {
            # Both results in ONE user message, as the API requires.
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "is_error": False, "content": "7"},
                {
                    "type": "tool_result",
                    "tool_use_id": "call_2",
                    "is_error": True,
                    "content": "weather service unreachable",
                },
            ],
        },
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "call_3",
                    "name": "get_weather",
                    "input": {"city": "Paris", "retry": True},
                }
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "call_3",
                    "is_error": False,
                    "content": "18°C, clear",
                }
            ],
        },
        {"role": "assistant", "content": "3+4 is 7; Paris is 18°C and clear."},
        {"role": "user", "content": "Thanks! And Oslo?"},
    ]


def test_codex_sends_a_tool_conversation_as_function_call_items(fake: FakeLLMServer) -> None:
    _send_conversation(CODEX, fake)

    assert fake.last_request.body["input"] == [
        {"role": "user", "content": "What is 3+4, and the weather in Paris?", "type": "message"},
        {"role": "assistant", "content": "Let me check.", "type": "message"},
        {"type": "function_call", "call_id": "call_1", "name": "add", "arguments": '{"a":3,"b":4}'},
        {
            "type": "function_call",
            "call_id": "call_2",
            "name": "get_weather",
            "arguments": '{"city":"Paris"}',
        },
        {"type": "function_call_output", "call_id": "call_1", "output": "7"},
        # The API has no error flag: the output says so.
        {
            "type": "function_call_output",
            "call_id": "call_2",
            "output": "Error: weather service unreachable",
        },
        {
            "type": "function_call",
            "call_id": "call_3",
            "name": "get_weather",
            "arguments": '{"city":"Paris","retry":true}',
        },
        {"type": "function_call_output", "call_id": "call_3", "output": "18°C, clear"},
        {"role": "assistant", "content": "3+4 is 7; Paris is 18°C and clear.", "type": "message"},
        {"role": "user", "content": "Thanks! And Oslo?", "type": "message"},
    ]


def test_compatible_sends_a_tool_conversation_as_tool_calls_and_tool_messages(
    fake: FakeLLMServer,
) -> None:
    _send_conversation(COMPATIBLE, fake)

    assert fake.last_request.body["messages"] == [
        {"role": "user", "content": "What is 3+4, and the weather in Paris?"},
        {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "add", "arguments": '{"a":3,"b":4}'},
                },
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "7"},
        {
            "role": "tool",
            "tool_call_id": "call_2",
            "content": "Error: weather service unreachable",
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_3",
                    "type": "function",
                    "function": {
                        "name": "get_weather",
                        "arguments": '{"city":"Paris","retry":true}',
                    },
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_3", "content": "18°C, clear"},
        {"role": "assistant", "content": "3+4 is 7; Paris is 18°C and clear."},
        {"role": "user", "content": "Thanks! And Oslo?"},
    ]


def test_a_two_turn_tool_loop_round_trips(target: Target, fake: FakeLLMServer) -> None:
    """What a tool loop does: the model calls, the tool answers, the model finishes."""
    fake.enqueue(
        Scenario(chunks=("Adding.",), tool_calls=(FakeToolCall("add", {"a": 3, "b": 4}),)),
        Scenario(chunks=("The answer is 7",)),
    )
    question = ChatMessage("user", "What is 3+4?")

    first = collect(target, make_request(target, fake, messages=(question,), tools=TOOLS))
    (call,) = calls(first)
    history = (
        question,
        ChatMessage("assistant", "Adding.", tool_calls=(call,)),
        ChatMessage("tool", "7", tool_call_id=call.id, tool_name=call.name),
    )
    second = collect(target, make_request(target, fake, messages=history, tools=TOOLS))

    assert "".join(e.text for e in second) == "The answer is 7"
    assert second[-1].finish_reason == target.finish_reason
    assert [r.rejected for r in fake.requests] == [None, None]


# A tool result that answers no call (its call was dropped from the history), and a call left
# without its result: the real APIs refuse both with a 400, and so do the fakes.
ORPHAN_RESULT = (
    ChatMessage("user", "What is 3+4?"),
    ChatMessage("tool", "7", tool_call_id="call_ghost"),
)
UNANSWERED_CALL = (
    ChatMessage("user", "What is 3+4?"),
    ChatMessage("assistant", "", tool_calls=(ToolCall("call_1", "add", {"a": 3, "b": 4}),)),
    ChatMessage("user", "Never mind."),
)
REFUSALS = {
    ("claude", "orphan"): "unexpected `tool_use_id` found in `tool_result` blocks: call_ghost",
    ("claude", "unanswered"): "`tool_use` ids were found without `tool_result` blocks",
    ("codex", "orphan"): "No tool call found for function call output with call_id call_ghost",
    ("codex", "unanswered"): "No tool output found for function call call_1",
    ("openai-compatible", "orphan"): "messages with role 'tool' must be a response",
    ("openai-compatible", "unanswered"): "did not have response messages: call_1",
}


@pytest.mark.parametrize("case", ["orphan", "unanswered"])
def test_a_malformed_conversation_gets_the_providers_400(
    target: Target, fake: FakeLLMServer, case: str
) -> None:
    messages = ORPHAN_RESULT if case == "orphan" else UNANSWERED_CALL

    events = collect(target, make_request(target, fake, messages=messages, tools=TOOLS))

    error = events[-1]
    assert kinds(events) == [EventKind.ERROR]
    assert error.error_class is ErrorClass.BAD_REQUEST
    assert error.status_code == 400
    expected = REFUSALS[(target.runtime, case)]
    assert expected in error.message
    assert expected in (fake.last_request.rejected or "")


def test_a_tool_message_without_its_call_id_is_config_and_sends_nothing(
    target: Target, fake: FakeLLMServer
) -> None:
    messages = (ChatMessage("user", "Hi"), ChatMessage("tool", "7"))

    (error,) = collect(target, make_request(target, fake, messages=messages))

    assert error.error_class is ErrorClass.CONFIG
    assert "tool_call_id" in error.message
    assert fake.requests == []


def test_claude_merges_turns_of_one_role(fake: FakeLLMServer) -> None:
    """Two user turns in a row (a thread whose last answer failed) become one message: the API
    merges them anyway, and tool results stay first in their message."""
    messages = (
        ChatMessage("user", "First"),
        ChatMessage("user", "Second"),
        ChatMessage("assistant", "", tool_calls=(ToolCall("t1", "add", {}),)),
        ChatMessage("tool", "ok", tool_call_id="t1"),
        ChatMessage("user", "Go on"),
    )

    collect(CLAUDE, make_request(CLAUDE, fake, messages=messages))

    assert fake.last_request.rejected is None
    assert fake.last_request.body["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "First"}, {"type": "text", "text": "Second"}],
        },
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "add", "input": {}}],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "t1", "is_error": False, "content": "ok"},
                {"type": "text", "text": "Go on"},
            ],
        },
    ]


# ----------------------------------------------------------------- the helpers and odd servers


def test_arguments_round_trip_as_compact_json_and_raw_text() -> None:
    assert tool_arguments_text({"city": "Zürich", "n": 2}) == '{"city":"Zürich","n":2}'
    assert tool_arguments_text({"$raw": '{"a": 1,'}) == '{"a": 1,'
    assert parse_tool_arguments(tool_arguments_text({"a": [1, {"b": None}]})) == {
        "a": [1, {"b": None}]
    }
    assert parse_tool_arguments("  ") == {}
    assert parse_tool_arguments("[" * 100_000) == {"$raw": "[" * 100_000}  # too deep: no crash


def _chunk(*fragments: dict[str, Any], finish: str | None = None) -> Frame:
    """One chunk's server-sent event, its payload checked against the SDK's own type."""
    from openai.types.chat import ChatCompletionChunk

    delta: dict[str, Any] = {"tool_calls": list(fragments)} if fragments else {}
    payload = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    ChatCompletionChunk.model_validate(payload)
    return Frame(None, json.dumps(payload).encode())


def test_compatible_servers_that_reuse_index_0_or_omit_ids_still_give_one_call_each() -> None:
    state = _CompletionState()
    # Every call numbered 0, each with its own id (seen from some local servers).
    state.take(_chunk({"index": 0, "id": "a", "function": {"name": "add", "arguments": '{"a":'}}))
    state.take(_chunk({"index": 0, "function": {"arguments": "1}"}}))
    state.take(_chunk({"index": 0, "id": "b", "function": {"name": "now", "arguments": "{}"}}))
    # A call with no id at all, whole in one fragment.
    state.take(_chunk({"index": 1, "function": {"name": "add", "arguments": '{"b":2}'}}))
    state.take(_chunk(finish="tool_calls"))

    first, second, third = state.tool_calls()

    assert (first.id, first.name, first.arguments) == ("a", "add", {"a": 1})
    assert (second.id, second.name, second.arguments) == ("b", "now", {})
    assert third.id.startswith("call_") and third.arguments == {"b": 2}
    assert state.finish_reason == "tool_calls"


def test_recorded_tool_calls_are_json_ready(target: Target, fake: FakeLLMServer) -> None:
    fake.scenario = Scenario(tool_calls=(FakeToolCall("add", {"a": 1.5, "b": [1, 2]}),))

    (call,) = calls(collect(target, make_request(target, fake, tools=TOOLS)))

    assert json.loads(json.dumps(call.arguments)) == {"a": 1.5, "b": [1, 2]}


def test_codex_takes_calls_from_the_final_response_when_no_item_events_came() -> None:
    """A server (or proxy) that sends only response.completed still gets its calls through."""
    from openai.types.responses import ResponseCompletedEvent

    from ato_desktop.runtimes.codex import CodexAdapter, _ResponseState
    from tests.fakes.wire import ResponsesWire

    wire = ResponsesWire({"model": "m"}, Scenario(tool_calls=(FakeToolCall("add", {"a": 1}),)))
    payload = {"type": "response.completed", "sequence_number": 0, "response": wire.json_response()}
    ResponseCompletedEvent.model_validate(payload)
    state = _ResponseState(CodexAdapter().provider("http://127.0.0.1"), "k")

    state.take(Frame("response.completed", json.dumps(payload).encode()))

    (call,) = state.tool_calls()
    assert (call.name, call.arguments) == ("add", {"a": 1})
    assert call.id == wire.call_ids[0]
