"""Conversations as the log stores them (a call_llm action's inputs.messages), both ways.

Replay and simulation rebuild exactly what was sent from these records, tool turns included.
"""

from __future__ import annotations

from typing import Any

from ato_desktop.core.models import ChatMessage, ToolCall, ToolSpec


def message_json(message: ChatMessage) -> dict[str, Any]:
    """A conversation turn as the log stores it (only the fields that apply)."""
    data: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        data["tool_calls"] = [tool_call_json(c) for c in message.tool_calls]
    if message.tool_call_id is not None:
        data["tool_call_id"] = message.tool_call_id
    if message.tool_name is not None:
        data["tool_name"] = message.tool_name
    if message.is_error:
        data["is_error"] = True
    return data


def tool_call_json(call: ToolCall) -> dict[str, Any]:
    return {"id": call.id, "name": call.name, "arguments": call.arguments}


class ConversationError(ValueError):
    """A stored conversation that cannot be sent again; the message says what is wrong."""


def messages_from_json(items: Any) -> tuple[ChatMessage, ...]:
    """The stored turns back as ChatMessages; ConversationError when they are not usable."""
    if not isinstance(items, list) or not items:
        raise ConversationError("the recorded call has no messages")
    messages: list[ChatMessage] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or "role" not in item:
            raise ConversationError(f"recorded message {index + 1} is not a message")
        calls: list[ToolCall] = []
        raw_calls = item.get("tool_calls") or []
        if not isinstance(raw_calls, list):
            raise ConversationError(f"recorded message {index + 1} has malformed tool calls")
        for call in raw_calls:
            if not isinstance(call, dict) or "name" not in call:
                raise ConversationError(f"recorded message {index + 1} has a malformed tool call")
            arguments = call.get("arguments")
            calls.append(
                ToolCall(
                    str(call.get("id") or f"call_{index}_{len(calls)}"),
                    str(call["name"]),
                    arguments if isinstance(arguments, dict) else {"$raw": str(arguments)},
                )
            )
        content = item.get("content")
        messages.append(
            ChatMessage(
                role=str(item["role"]),
                content=content
                if isinstance(content, str)
                else ""
                if content is None
                else str(content),
                tool_calls=tuple(calls),
                tool_call_id=item.get("tool_call_id"),
                tool_name=item.get("tool_name"),
                is_error=bool(item.get("is_error")),
            )
        )
    return tuple(messages)


def tools_from_json(items: Any) -> tuple[ToolSpec, ...]:
    """The tools a recorded call offered."""
    if not isinstance(items, list):
        return ()
    return tuple(
        ToolSpec(
            str(t["name"]),
            str(t.get("description") or ""),
            dict(t.get("input_schema") or {"type": "object"}),
        )
        for t in items
        if isinstance(t, dict) and t.get("name")
    )
