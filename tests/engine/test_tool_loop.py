"""Agents that act, end to end through the one dispatch path: the official SDKs against the
wire fakes (which reject malformed tool conversations like the real APIs), a real MCP server
over stdio, a real log."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ato_desktop.core.mcp_config import McpServerConfig
from ato_desktop.core.models import AgentConfig, ErrorClass, RunStatus
from ato_desktop.engine.dispatcher import DispatchRequest, DispatchResult
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.mcp_servers import add_server
from tests.fakes import FakeLLMServer, FakeToolCall, Scenario
from tests.fakes.mcp_server import stdio_command
from tests.support.builders import dispatch

MODELS = {"claude": "claude-sonnet-5", "codex": "gpt-5", "openai-compatible": "gpt-4o-mini"}


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    return tmp_path / "notes.txt"


@pytest.fixture
def tool_ws(workspace: Workspace, notes: Path) -> Iterator[Workspace]:
    command, args, env = stdio_command("--notes", str(notes))
    add_server(
        workspace.store,
        McpServerConfig("shop", "stdio", command=command, args=args, env=env, timeout_s=30),
    ).result()
    yield workspace


def _agent(
    ws: Workspace, fake: FakeLLMServer, runtime: str = "claude", name: str = "clerk", **extra: Any
) -> str:
    base = fake.anthropic_base_url if runtime == "claude" else fake.openai_base_url
    config = AgentConfig(
        runtime,
        MODELS[runtime],
        system_prompt="Use tools.",
        base_url=base,
        mcp_servers=("shop",),
        **extra,
    )
    ws.agents.create(name, config)
    return name


@pytest.mark.parametrize("runtime", list(MODELS))
def test_agent_calls_two_tools_and_answers(
    tool_ws: Workspace, fake: FakeLLMServer, runtime: str
) -> None:
    fake.enqueue(
        Scenario(
            chunks=("Let me check.",),
            tool_calls=(
                FakeToolCall("shop__add", {"a": 3, "b": 4}),
                FakeToolCall("shop__lookup_order", {"order_id": "A-1001"}),
            ),
        ),
        Scenario(chunks=("3 + 4 = 7, and order A-1001 has shipped.",)),
    )
    result = dispatch(
        tool_ws,
        DispatchRequest("Add 3 and 4; where is A-1001?", agent=_agent(tool_ws, fake, runtime)),
    )
    assert result.status is RunStatus.COMPLETED, result.error_message
    assert result.output == "3 + 4 = 7, and order A-1001 has shipped."
    first, second = fake.requests
    assert {t.get("name") or t.get("function", {}).get("name") for t in first.body["tools"]} >= {
        "shop__add",
        "shop__lookup_order",
        "shop__write_note",
    }
    assert second.rejected is None  # the tool results went back in the API's own shape
    actions = tool_ws.store.get_actions(result.run_id)
    assert [a.name for a in actions] == ["call_llm", "add", "lookup_order", "call_llm"]
    llm1, add, lookup, llm2 = actions
    assert add.inputs == {"a": 3, "b": 4} and add.outcome == "success"
    assert "7" in add.outputs["content"]
    assert add.meta["server"] == "shop" and add.meta["read_only"] is True
    assert lookup.outputs["content"] and lookup.duration_ns and lookup.duration_ns > 0
    # An openai-compatible server on loopback is the user's own machine: local, $0.
    source = "local" if runtime == "openai-compatible" else "estimated"
    for turn in (llm1, llm2):
        assert turn.usage is not None and turn.usage.output_tokens > 0
        assert turn.cost_source == source and turn.cost_usd is not None
    assert [c["name"] for c in llm1.outputs["tool_calls"]] == ["shop__add", "shop__lookup_order"]
    # The second turn's recorded inputs carry the whole tool conversation (replayable).
    roles = [m["role"] for m in llm2.inputs["messages"]]
    assert roles == ["user", "assistant", "tool", "tool"]
    assert llm2.inputs["tools"] and llm2.inputs["messages"][2]["tool_call_id"]
    run = tool_ws.store.get_run(result.run_id)
    assert run.action_count == 4 and run.cost_usd == pytest.approx(llm1.cost_usd + llm2.cost_usd)


def test_tool_call_ceiling_stops_a_looping_agent(tool_ws: Workspace, fake: FakeLLMServer) -> None:
    fake.scenario = Scenario(tool_calls=(FakeToolCall("shop__add", {"a": 1, "b": 1}),))
    result = dispatch(
        tool_ws, DispatchRequest("loop", agent=_agent(tool_ws, fake, max_tool_calls=3))
    )
    assert (result.status, result.error_class) == (RunStatus.FAILED, ErrorClass.CEILING)
    assert "tool-call ceiling: 3" in (result.error_message or "")
    names = [a.name for a in tool_ws.store.get_actions(result.run_id)]
    assert names.count("add") == 3 and len(fake.requests) == 4


def test_cost_ceiling_stops_the_run(tool_ws: Workspace, fake: FakeLLMServer) -> None:
    fake.scenario = Scenario(tool_calls=(FakeToolCall("shop__add", {"a": 1, "b": 1}),))
    result = dispatch(
        tool_ws, DispatchRequest("loop", agent=_agent(tool_ws, fake, max_cost_usd=0.000001))
    )
    assert result.error_class is ErrorClass.CEILING
    assert "cost ceiling" in (result.error_message or "") and len(fake.requests) == 1


def test_approval_required_tool_waits_for_the_user(
    tool_ws: Workspace, fake: FakeLLMServer, notes: Path
) -> None:
    fake.enqueue(
        Scenario(tool_calls=(FakeToolCall("shop__write_note", {"text": "remember me"}),)),
        Scenario(chunks=("Saved.",)),
    )
    name = _agent(tool_ws, fake, tool_rules={"shop/write_note": "approve"})

    async def go() -> tuple[DispatchResult, int, bool]:
        task = asyncio.create_task(tool_ws.dispatcher.dispatch(DispatchRequest("note", agent=name)))
        while not tool_ws.approvals.pending():
            assert not task.done(), f"the run ended without asking: {task.result()}"
            await asyncio.sleep(0.01)
        (pending,) = tool_ws.approvals.pending()
        await asyncio.sleep(0.3)  # the run really waits: nothing more reaches the model
        waited_requests, written = len(fake.requests), notes.exists()
        assert pending.tool == "shop/write_note" and pending.arguments == {"text": "remember me"}
        tool_ws.approvals.answer(pending.id, True)
        result = await task
        await tool_ws.live.aclose()
        return result, waited_requests, written

    result, waited_requests, written_before = asyncio.run(go())
    assert waited_requests == 1 and not written_before
    assert result.status is RunStatus.COMPLETED and "remember me" in notes.read_text()
    write = next(a for a in tool_ws.store.get_actions(result.run_id) if a.name == "write_note")
    assert write.outcome == "success" and write.meta["approval"] == "approved"
    assert write.meta["read_only"] is False


def test_denied_approval_is_blocked_and_the_model_is_told(
    tool_ws: Workspace, fake: FakeLLMServer, notes: Path
) -> None:
    fake.enqueue(
        Scenario(tool_calls=(FakeToolCall("shop__write_note", {"text": "x"}),)),
        Scenario(chunks=("Understood, I did not save it.",)),
    )
    name = _agent(tool_ws, fake, tool_rules={"shop/write_note": "approve"})
    tool_ws.approvals.auto_answer = lambda request: False
    result = dispatch(tool_ws, DispatchRequest("note", agent=name))
    assert result.status is RunStatus.COMPLETED and not notes.exists()
    write = next(a for a in tool_ws.store.get_actions(result.run_id) if a.name == "write_note")
    assert write.outcome == "blocked" and write.meta["approval"] == "denied"
    sent = json.dumps(fake.requests[1].body)
    assert "The user denied this tool call." in sent


def test_denied_tools_are_not_offered(tool_ws: Workspace, fake: FakeLLMServer) -> None:
    name = _agent(tool_ws, fake, tool_rules={"shop/write_note": "deny"})
    dispatch(tool_ws, DispatchRequest("hi", agent=name))
    offered = {t["name"] for t in fake.last_request.body["tools"]}
    assert "shop__write_note" not in offered and "shop__add" in offered


def test_a_failing_tool_is_an_error_action_and_the_model_sees_it(
    tool_ws: Workspace, fake: FakeLLMServer
) -> None:
    fake.enqueue(
        Scenario(tool_calls=(FakeToolCall("shop__fail", {"message": "disk on fire"}),)),
        Scenario(chunks=("The tool failed.",)),
    )
    result = dispatch(tool_ws, DispatchRequest("x", agent=_agent(tool_ws, fake)))
    fail = next(a for a in tool_ws.store.get_actions(result.run_id) if a.name == "fail")
    assert fail.outcome == "error" and "disk on fire" in fail.outputs["content"]
    assert result.status is RunStatus.COMPLETED


def test_kill_during_a_hanging_tool_ends_within_a_second(
    tool_ws: Workspace, fake: FakeLLMServer
) -> None:
    fake.scenario = Scenario(tool_calls=(FakeToolCall("shop__slow", {"seconds": 60}),))
    name = _agent(tool_ws, fake)

    async def go() -> tuple[DispatchResult, float]:
        task = asyncio.create_task(tool_ws.dispatcher.dispatch(DispatchRequest("x", agent=name)))
        store = tool_ws.store
        while True:  # until the slow tool is running
            runs = await store.read_async(store.live_runs)
            if (
                runs
                and (await store.read_async(store.live_action, runs[0].run_no) or {}).get("name")
                == "slow"
            ):
                break
            await asyncio.sleep(0.02)
        started = time.monotonic()
        tool_ws.live.kill_all()
        result = await task
        elapsed = time.monotonic() - started
        await tool_ws.live.aclose()
        return result, elapsed

    result, elapsed = asyncio.run(go())
    assert result.status is RunStatus.KILLED and elapsed < 1.0
    assert [a.name for a in tool_ws.store.get_actions(result.run_id)] == ["call_llm"]


def test_a_server_that_cannot_start_fails_the_run_clearly(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    add_server(
        workspace.store,
        McpServerConfig("shop", "stdio", command="/nonexistent/mcp-server", timeout_s=5),
    ).result()
    result = dispatch(workspace, DispatchRequest("hi", agent=_agent(workspace, fake)))
    assert (result.status, result.error_class) == (RunStatus.FAILED, ErrorClass.TOOL)
    assert "/nonexistent/mcp-server" in (result.error_message or "")
    assert fake.requests == []
