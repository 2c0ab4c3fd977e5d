"""The coding-agent CLIs' JSON event lines (Claude Code stream-json, Codex exec --json): any
line and any event shape is skipped or mapped, never raised on; the run always closes."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from ato_desktop.core.models import RuntimeEvent
from ato_desktop.runtimes.claude_code import ClaudeStreamParser
from ato_desktop.runtimes.codex_cli import CodexStreamParser
from ato_desktop.runtimes.subprocess_stream import ProcessExit, _parse_line
from tests.fuzz.strategies import HOSTILE_TEXT, JSON_LEAVES, JSON_VALUES, deep_json

WORDS = [
    "type",
    "subtype",
    "message",
    "content",
    "content_block",
    "delta",
    "event",
    "id",
    "input",
    "name",
    "text",
    "tool_use",
    "tool_result",
    "tool_use_id",
    "usage",
    "result",
    "is_error",
    "session_id",
    "model",
    "stop_reason",
    "total_cost_usd",
    "errors",
    "assistant",
    "user",
    "system",
    "init",
    "stream_event",
    "message_start",
    "content_block_start",
    "content_block_delta",
    "text_delta",
    "thinking",
    "error",
    "item",
    "item.started",
    "item.updated",
    "item.completed",
    "thread.started",
    "turn.completed",
    "turn.failed",
    "agent_message",
    "command_execution",
    "file_change",
    "mcp_tool_call",
    "web_search",
    "todo_list",
    "reasoning",
    "changes",
    "path",
    "kind",
    "status",
    "exit_code",
    "aggregated_output",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "thread_id",
    "command",
    "file_path",
    "parent_tool_use_id",
    "num_turns",
    "api_error_status",
]
KEY = st.one_of(st.sampled_from(WORDS), HOSTILE_TEXT)
LEAF = st.one_of(JSON_LEAVES, st.sampled_from(WORDS))
SHAPED: st.SearchStrategy[Any] = st.recursive(
    LEAF,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEY, inner, max_size=5)),
    max_leaves=16,
)
EVENTS = st.dictionaries(KEY, SHAPED, max_size=4)


def _drain(events: Any) -> list[RuntimeEvent]:
    out = list(events)
    assert all(isinstance(e, RuntimeEvent) for e in out)
    return out


@given(st.lists(EVENTS, max_size=5), st.sampled_from([0, 1, None, -9]))
@example([{"type": "assistant", "message": {"content": [{"type": "tool_use", "id": 5}]}}], 0)
@example([{"type": "result", "usage": {"input_tokens": 1e308}, "total_cost_usd": "x"}], 0)
@example([{"type": "item.completed", "item": {"type": "file_change", "changes": "x"}}], 0)
@example([{"type": "turn.completed", "usage": {"input_tokens": -1, "output_tokens": "9"}}], 0)
def test_any_event_stream_maps_and_closes(events: list[dict[str, Any]], code: int | None) -> None:
    for parser in (ClaudeStreamParser("/tmp", "sk-secret"), CodexStreamParser("/tmp", None, "m")):
        for i, event in enumerate(events):
            _drain(parser.feed(event, i * 1000))
        closing = _drain(parser.finish(ProcessExit(code, "tail", 0)))
        assert closing  # FINISH or ERROR, always
        _drain(parser.stalled(5.0))


@given(st.one_of(HOSTILE_TEXT, JSON_VALUES.map(str)))
@example(deep_json(100_000))
@example("9" * 5000)
def test_any_stdout_line_is_an_event_or_skipped(line: str) -> None:
    value = _parse_line(line)
    assert value is None or isinstance(value, dict)
