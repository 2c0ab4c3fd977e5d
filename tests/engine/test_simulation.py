"""Simulation replay: a recorded run re-walked for free, divergences found."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ato_desktop.core.models import AgentConfig, RunStatus
from ato_desktop.core.simulation import ACTION_MISMATCH, INPUT_MISMATCH, OUTPUT_MISMATCH
from ato_desktop.engine.dispatcher import DispatchRequest
from ato_desktop.engine.simulation import SimulationResult, simulate
from ato_desktop.engine.workspace import Workspace
from tests.fakes import FakeLLMServer, FakeToolCall, Scenario
from tests.support.builders import dispatch


def _simulate(ws: Workspace, run_id: str) -> SimulationResult:
    return asyncio.run(simulate(ws, run_id))


def test_simulation_makes_no_network_call_and_costs_nothing(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    workspace.agents.create(
        "w",
        AgentConfig(
            "claude", "claude-sonnet-5", system_prompt="Brief.", base_url=fake.anthropic_base_url
        ),
    )
    source = dispatch(workspace, DispatchRequest("hi", agent="w"))
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
    source = dispatch(workspace, DispatchRequest("hi", agent="w"))
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
    source = dispatch(workspace, DispatchRequest("go", agent="clerk"))
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
    # On the tool's own action (it would not run now), once.
    assert [(r.seq, r.action) for r in mismatches] == [(3, "write_note")]


def test_identical_inputs_with_different_outputs_across_runs(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    workspace.agents.create(
        "w", AgentConfig("claude", "claude-sonnet-5", base_url=fake.anthropic_base_url)
    )
    fake.scenario = Scenario(chunks=("heads",))
    first = dispatch(workspace, DispatchRequest("flip a coin", agent="w"))
    fake.scenario = Scenario(chunks=("tails",))
    dispatch(workspace, DispatchRequest("flip a coin", agent="w"))
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
    first = dispatch(workspace, DispatchRequest("Where is A-1?", agent="clerk"))
    dispatch(workspace, DispatchRequest("Where is A-1?", agent="clerk"))
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


def test_a_denied_tool_is_not_run_again_and_counts_as_one_action_mismatch(
    workspace: Workspace, shop: Path
) -> None:
    """A read-only tool the agent may no longer call is not re-executed: the flow would not
    take that step, so there is one action mismatch and no "different answer when re-run"
    (the tool's server, a fresh process, would answer another pid)."""
    from ato_desktop.core.records import NewAction, NewRun, RunEnd

    agent = workspace.agents.create(
        "clerk", AgentConfig("claude", "claude-sonnet-5", mcp_servers=("shop",))
    )
    t0 = 1_790_000_000_000
    call = {"id": "toolu_01", "name": "shop__server_pid", "arguments": {}}
    asked = [{"role": "user", "content": "go"}]
    answered = [
        *asked,
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {
            "role": "tool",
            "content": "4242",
            "tool_call_id": "toolu_01",
            "tool_name": "shop__server_pid",
        },
    ]
    actions = [
        NewAction(
            "call_llm",
            "llm",
            "success",
            t0,
            t0 + 5,
            inputs={"runtime": "claude", "model": "claude-sonnet-5", "messages": asked},
            outputs={"text": "", "tool_calls": [call]},
        ),
        NewAction(
            "server_pid",
            "tool",
            "success",
            t0 + 6,
            t0 + 8,
            inputs={},
            outputs={"content": "4242"},
            meta={
                "server": "shop",
                "read_only": True,
                "tool_call_id": "toolu_01",
                "model_name": "shop__server_pid",
            },
        ),
        NewAction(
            "call_llm",
            "llm",
            "success",
            t0 + 9,
            t0 + 12,
            inputs={"runtime": "claude", "model": "claude-sonnet-5", "messages": answered},
            outputs={"text": "done"},
        ),
    ]
    run = NewRun(
        "claude",
        "claude-sonnet-5",
        "cli",
        t0,
        agent_id=agent.id,
        agent_version_id=agent.current_version_id,
        id="d" * 32,
    )
    workspace.store.ingest([(run, RunEnd("completed", t0 + 12, 12_000_000), actions)]).result()
    workspace.agents.edit("clerk", {"tool_rules": {"shop/server_pid": "deny"}})

    summary = _simulate(workspace, "d" * 32).summary
    diverged = [r for r in summary.rows if r.divergence]
    assert [(r.seq, r.action, r.divergence) for r in diverged] == [
        (2, "server_pid", ACTION_MISMATCH)
    ]
    assert not any(r.divergence == OUTPUT_MISMATCH for r in summary.rows)
    assert not any(r.how == "re-executed (read-only)" for r in summary.rows)
    assert summary.divergences == 1
    # Per action: call_llm, server_pid, call_llm; the denied step is the one that did not match.
    assert (summary.actions, summary.matched_actions) == (3, 2)
    assert summary.match_rate == pytest.approx(2 / 3)
    assert "not run again" in diverged[0].detail


def test_match_rate_is_per_action_and_each_output_has_one_row(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    """Spec 002: "Match rate: % of actions that matched". A run of one model call whose input
    changed matched on no action (0 %), though its output row matched; and a second finding
    about the same output joins that output's row instead of adding one."""
    workspace.agents.create(
        "w", AgentConfig("claude", "claude-sonnet-5", base_url=fake.anthropic_base_url)
    )
    fake.scenario = Scenario(chunks=("heads",))
    first = dispatch(workspace, DispatchRequest("flip a coin", agent="w"))
    fake.scenario = Scenario(chunks=("tails",))
    dispatch(workspace, DispatchRequest("flip a coin", agent="w"))
    summary = _simulate(workspace, first.run_id).summary
    outputs = [r for r in summary.rows if r.aspect == "output"]
    assert len(outputs) == 1 and outputs[0].divergence == OUTPUT_MISMATCH
    assert (summary.actions, summary.matched_actions, summary.match_rate) == (1, 0, 0.0)

    workspace.agents.edit("w", {"system_prompt": "Answer heads or tails."})
    summary = _simulate(workspace, first.run_id).summary
    assert [r.aspect for r in summary.rows] == ["input", "output"]
    assert summary.divergences == 2 and summary.match_rate == 0.0
