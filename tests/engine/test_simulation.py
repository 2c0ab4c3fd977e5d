"""Simulation replay: a recorded run re-walked for free, divergences found."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from ato_desktop.core.mcp_config import McpServerConfig
from ato_desktop.core.models import AgentConfig, RunStatus
from ato_desktop.core.simulation import ACTION_MISMATCH, INPUT_MISMATCH, OUTPUT_MISMATCH
from ato_desktop.engine.dispatcher import DispatchRequest, DispatchResult
from ato_desktop.engine.simulation import SimulationResult, simulate
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.mcp_servers import add_server
from tests.fakes import FakeLLMServer, FakeToolCall, Scenario
from tests.fakes.mcp_server import stdio_command


def _dispatch(ws: Workspace, request: DispatchRequest) -> DispatchResult:
    async def go() -> DispatchResult:
        try:
            return await ws.dispatcher.dispatch(request)
        finally:
            await ws.live.aclose()

    return asyncio.run(go())


def _simulate(ws: Workspace, run_id: str) -> SimulationResult:
    return asyncio.run(simulate(ws, run_id))


@pytest.fixture
def shop(workspace: Workspace, tmp_path: Path) -> Iterator[Path]:
    notes = tmp_path / "notes.txt"
    command, args, env = stdio_command("--notes", str(notes))
    add_server(
        workspace.store,
        McpServerConfig("shop", "stdio", command=command, args=args, env=env, timeout_s=30),
    ).result()
    yield notes


def test_simulation_makes_no_network_call_and_costs_nothing(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    workspace.agents.create(
        "w",
        AgentConfig(
            "claude", "claude-sonnet-5", system_prompt="Brief.", base_url=fake.anthropic_base_url
        ),
    )
    source = _dispatch(workspace, DispatchRequest("hi", agent="w"))
    calls_before = len(fake.requests)
    fake.scenario = Scenario(status=500)  # any model call now would fail loudly

    result = _simulate(workspace, source.run_id)
    assert len(fake.requests) == calls_before  # not one call reached the network
    summary = result.summary
    assert summary.divergences == 0 and summary.match_rate == 1.0
    run = workspace.store.get_run(source.run_id)
    assert summary.original_cost_usd == run.cost_usd and summary.replay_cost_usd == 0.0
    assert summary.savings_usd == pytest.approx(run.cost_usd)
    simulated = workspace.store.get_run(result.simulation_run_id or "")
    assert (simulated.trigger, simulated.replay_of, simulated.tags["simulation"]) == (
        "replay",
        source.run_id,
        "true",
    )
    assert simulated.cost_usd is None and simulated.status == RunStatus.COMPLETED.value
    assert {a.outcome for a in workspace.store.get_actions(simulated.id)} == {"replayed"}


def test_an_edited_system_prompt_shows_up_as_a_divergence(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    workspace.agents.create(
        "w",
        AgentConfig(
            "claude", "claude-sonnet-5", system_prompt="Brief.", base_url=fake.anthropic_base_url
        ),
    )
    source = _dispatch(workspace, DispatchRequest("hi", agent="w"))
    workspace.agents.edit("w", {"system_prompt": "Be thorough and cite sources."})
    requests = len(fake.requests)
    result = _simulate(workspace, source.run_id)
    assert len(fake.requests) == requests
    (row,) = [r for r in result.summary.rows if r.divergence]
    assert row.divergence == INPUT_MISMATCH and "system prompt changed" in row.detail
    assert row.action == "call_llm" and row.aspect == "input"
    assert result.summary.divergences == 1 and result.summary.match_rate < 1.0
    assert "changed since this run (v1 -> v2)" in " ".join(result.summary.notes)
    assert result.config_label == "w v2"


def test_tools_read_only_rerun_side_effects_from_the_recording(
    workspace: Workspace, fake: FakeLLMServer, shop: Path
) -> None:
    workspace.agents.create(
        "clerk",
        AgentConfig(
            "claude", "claude-sonnet-5", base_url=fake.anthropic_base_url, mcp_servers=("shop",)
        ),
    )
    fake.enqueue(
        Scenario(
            tool_calls=(
                FakeToolCall("shop__add", {"a": 1, "b": 2}),
                FakeToolCall("shop__write_note", {"text": "once"}),
                FakeToolCall("shop__server_pid", {}),
            )
        ),
        Scenario(chunks=("done",)),
    )
    source = _dispatch(workspace, DispatchRequest("go", agent="clerk"))
    assert source.status is RunStatus.COMPLETED and shop.read_text().count("once") == 1
    result = _simulate(workspace, source.run_id)
    rows = {r.action: r for r in result.summary.rows if r.aspect == "output"}
    assert rows["add"].how == "re-executed (read-only)" and rows["add"].divergence is None
    assert rows["write_note"].how == "from the recording (side effects)"
    assert shop.read_text().count("once") == 1  # the side effect did not happen again
    # A fresh server process has another pid: same inputs, a different answer.
    assert rows["server_pid"].divergence == OUTPUT_MISMATCH

    workspace.agents.edit("clerk", {"tool_rules": {"shop/write_note": "deny"}})
    result = _simulate(workspace, source.run_id)
    mismatches = [r for r in result.summary.rows if r.divergence == ACTION_MISMATCH]
    assert [r.action for r in mismatches] == ["shop__write_note"]


def test_identical_inputs_with_different_outputs_across_runs(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    workspace.agents.create(
        "w", AgentConfig("claude", "claude-sonnet-5", base_url=fake.anthropic_base_url)
    )
    fake.scenario = Scenario(chunks=("heads",))
    first = _dispatch(workspace, DispatchRequest("flip a coin", agent="w"))
    fake.scenario = Scenario(chunks=("tails",))
    _dispatch(workspace, DispatchRequest("flip a coin", agent="w"))
    result = _simulate(workspace, first.run_id)
    (row,) = [r for r in result.summary.rows if r.divergence == OUTPUT_MISMATCH]
    assert row.original == "heads" and row.replay == "tails"
    assert "identical inputs got a different output" in row.detail


def test_tool_call_ids_minted_per_call_are_no_output_mismatch(
    workspace: Workspace, fake: FakeLLMServer, shop: Path
) -> None:
    """Two runs that asked for the same tool call with the same arguments answered alike, even
    though the provider minted a new call id for each."""
    workspace.agents.create(
        "clerk",
        AgentConfig(
            "claude", "claude-sonnet-5", base_url=fake.anthropic_base_url, mcp_servers=("shop",)
        ),
    )
    for _ in range(2):
        fake.enqueue(
            Scenario(
                chunks=("Let me look.",),
                tool_calls=(FakeToolCall("shop__lookup_order", {"order_id": "A-1"}),),
            ),
            Scenario(chunks=("Shipped.",)),
        )
    first = _dispatch(workspace, DispatchRequest("Where is A-1?", agent="clerk"))
    _dispatch(workspace, DispatchRequest("Where is A-1?", agent="clerk"))
    result = _simulate(workspace, first.run_id)
    assert [r for r in result.summary.rows if r.divergence == OUTPUT_MISMATCH] == []


def test_a_run_recorded_with_a_count_of_tool_calls_simulates(workspace: Workspace) -> None:
    """Recorders other than the dispatcher (imports, the demo) may keep only how many tool
    calls a model asked for; simulation reads that instead of failing."""
    from ato_desktop.core.records import NewAction, NewRun, RunEnd

    t0 = 1_790_000_000_000
    call = NewAction(
        "call_llm",
        "llm",
        "success",
        t0,
        t0 + 10,
        inputs={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
        outputs={"text": "Calling search", "tool_calls": 1},
    )
    workspace.store.ingest(
        [(NewRun("claude", "m", "cli", t0, id="c" * 32), RunEnd("completed", t0 + 20, 1), [call])]
    ).result()
    result = _simulate(workspace, "c" * 32)
    assert any(row.original == "Calling search → 1 tool call(s)" for row in result.summary.rows)
