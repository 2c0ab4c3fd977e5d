"""Replay across runtimes: the recorded request re-dispatched through the one path, compared."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ato_desktop.core.models import AgentConfig, CostSource, RunStatus, TokenUsage, Trigger
from ato_desktop.core.records import NewAction, NewRun, RunEnd
from ato_desktop.engine.dispatcher import DispatchRequest
from ato_desktop.engine.replay import (
    ReplayTarget,
    ReplayUnavailable,
    failures_of,
    load_source,
    plan_replay,
    replay,
    replay_batch,
)
from ato_desktop.engine.workspace import Workspace
from tests.fakes import FakeLLMServer, FakeToolCall, Scenario, UsageSpec
from tests.support.builders import dispatch, run_to_end


def test_claude_run_replayed_on_codex_sends_exactly_the_original_messages(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    workspace.agents.create(
        "writer",
        AgentConfig(
            "claude",
            "claude-sonnet-5",
            system_prompt="Answer in one line.",
            params={"temperature": 0.4, "top_k": 40, "max_tokens": 300},
            base_url=fake.anthropic_base_url,
        ),
    )
    fake.scenario = Scenario(
        chunks=("Paris ", "is the capital."),
        usage=UsageSpec(uncached_input_tokens=40, output_tokens=12),
    )
    first = dispatch(
        workspace, DispatchRequest("Capital of France?", agent="writer", new_thread=True)
    )
    fake.scenario = Scenario(
        chunks=("The capital ", "is Paris."),
        usage=UsageSpec(uncached_input_tokens=38, output_tokens=20),
    )
    dispatch(workspace, DispatchRequest("And of Italy?", agent="writer", thread_id=first.thread_id))
    source_id = workspace.store.list_runs(
        __import__("ato_desktop.core.records", fromlist=["RunFilter"]).RunFilter(), limit=1
    )[0].id
    source_body = fake.last_request.body

    fake.scenario = Scenario(
        chunks=("Rome.",), usage=UsageSpec(uncached_input_tokens=30, output_tokens=3)
    )
    target = ReplayTarget(runtime="codex", model="gpt-5", base_url=fake.openai_base_url)
    source = load_source(workspace, source_id)
    plan = plan_replay(workspace, source, target)
    assert plan.estimate.source is CostSource.ESTIMATED and (plan.estimate.usd or 0) > 0
    assert any("top_k" in note and "dropped" in note for note in plan.notes)

    result = run_to_end(workspace, replay(workspace, source_id, target))
    sent = fake.last_request
    assert sent.path == "/v1/responses"
    assert sent.body["instructions"] == "Answer in one line."
    texts = [
        (
            item["role"],
            item["content"]
            if isinstance(item["content"], str)
            else "".join(p["text"] for p in item["content"]),
        )
        for item in sent.body["input"]
    ]
    original = [
        (
            m["role"],
            m["content"]
            if isinstance(m["content"], str)
            else "".join(p["text"] for p in m["content"]),
        )
        for m in source_body["messages"]
    ]
    assert (
        texts
        == original
        == [
            ("user", "Capital of France?"),
            ("assistant", "Paris is the capital."),
            ("user", "And of Italy?"),
        ]
    )
    assert sent.body["temperature"] == 0.4 and sent.body["max_output_tokens"] == 300
    assert "top_k" not in json.dumps(sent.body)

    replay_run = workspace.store.get_run(result.dispatch.run_id)
    assert (replay_run.trigger, replay_run.replay_of) == ("replay", source_id)
    assert replay_run.tags["replay.target"] == "codex · gpt-5"
    assert "top_k" in replay_run.tags["replay.notes"]
    comparison = result.comparison
    assert comparison.source.output == "The capital is Paris."
    assert comparison.replay.output == "Rome."
    assert {p.op for p in comparison.diff} >= {"delete", "insert"}
    source_run = workspace.store.get_run(source_id)
    assert comparison.cost_delta_pct == pytest.approx(
        round((replay_run.cost_usd - source_run.cost_usd) / source_run.cost_usd * 100, 1)
    )
    assert comparison.duration_delta_pct is not None


def test_a_conversation_with_tool_calls_replays_cleanly_on_codex(
    workspace: Workspace, fake: FakeLLMServer, shop: Path
) -> None:
    workspace.agents.create(
        "clerk",
        AgentConfig(
            "claude",
            "claude-sonnet-5",
            system_prompt="Use tools.",
            base_url=fake.anthropic_base_url,
            mcp_servers=("shop",),
        ),
    )
    fake.enqueue(
        Scenario(tool_calls=(FakeToolCall("shop__add", {"a": 2, "b": 5}),)),
        Scenario(chunks=("7",)),
    )
    source = dispatch(workspace, DispatchRequest("2+5?", agent="clerk"))
    assert source.status is RunStatus.COMPLETED

    # Whole run on codex: the loop runs again against the same MCP server.
    fake.enqueue(
        Scenario(tool_calls=(FakeToolCall("shop__add", {"a": 2, "b": 5}),)),
        Scenario(chunks=("It is 7.",)),
    )
    target = ReplayTarget(runtime="codex", model="gpt-5", base_url=fake.openai_base_url)
    result = run_to_end(workspace, replay(workspace, source.run_id, target))
    assert result.dispatch.status is RunStatus.COMPLETED, result.dispatch.error_message
    assert all(r.rejected is None for r in fake.requests)
    names = [a.name for a in workspace.store.get_actions(result.dispatch.run_id)]
    assert names == ["call_llm", "add", "call_llm"]

    # The second model call alone (its conversation ends with the tool result), on an
    # openai-compatible model with no MCP servers: the recorded tools are offered so the
    # conversation is valid, and the API accepts it.
    fake.enqueue(Scenario(chunks=("Seven.",)))
    workspace.agents.create(
        "plain", AgentConfig("openai-compatible", "gpt-4o-mini", base_url=fake.openai_base_url)
    )
    result = run_to_end(
        workspace, replay(workspace, source.run_id, ReplayTarget(agent="plain"), seq=3)
    )
    body = fake.last_request.body
    assert fake.last_request.rejected is None
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "tool"]
    assert body["tools"][0]["function"]["name"] == "shop__add"
    assert result.dispatch.output == "Seven."
    assert result.comparison.source.output == "7"


def test_batch_replay_reports_recoveries_and_deltas(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    workspace.agents.create(
        "flaky", AgentConfig("claude", "claude-sonnet-5", base_url=fake.anthropic_base_url)
    )
    fake.scenario = Scenario(status=500)
    failed = [
        dispatch(workspace, DispatchRequest(f"question {i}", agent="flaky")).run_id
        for i in range(3)
    ]
    fake.scenario = Scenario(chunks=("fine",))
    ok = dispatch(workspace, DispatchRequest("question ok", agent="flaky")).run_id
    assert failures_of(workspace, "flaky", None) == failed
    seen: list[int] = []
    target = ReplayTarget(runtime="codex", model="gpt-5", base_url=fake.openai_base_url)
    summary = run_to_end(
        workspace,
        replay_batch(
            workspace,
            [*failed, ok],
            target,
            concurrency=2,
            progress=lambda done, total, item: seen.append(done),
        ),
    )
    assert seen == [1, 2, 3, 4]
    assert (summary.total, summary.replayed, summary.recovered, summary.regressed) == (4, 4, 3, 0)
    assert summary.replay_cost_usd > 0 and summary.latency_delta_pct is not None


def test_replay_says_why_it_is_not_available(workspace: Workspace) -> None:
    store = workspace.store
    running, _ = store.create_run(
        NewRun("claude", "m", "cli", 1_700_000_000_000), owner=workspace.lease.token
    ).result()
    with pytest.raises(ReplayUnavailable, match="still running"):
        load_source(workspace, running)
    store.ingest(
        [
            (
                NewRun("claude", "m", "external", 1_700_000_000_000, id="e" * 32),
                RunEnd("completed", 1_700_000_001_000, 1),
                [NewAction("search_docs", "tool", "success", 1_700_000_000_000, inputs={"q": "x"})],
            )
        ]
    ).result()
    with pytest.raises(ReplayUnavailable, match="prompt is not in the local log"):
        load_source(workspace, "e" * 32)
    store.ingest(
        [
            (
                NewRun("claude", "m", "cli", 1_700_000_000_000, id="f" * 32),
                RunEnd("completed", 1_700_000_001_000, 1),
                [
                    NewAction(
                        "call_llm",
                        "llm",
                        "success",
                        1_700_000_000_000,
                        inputs={"model": "m"},
                        usage=TokenUsage(1, 1),
                    )
                ],
            )
        ]
    ).result()
    with pytest.raises(ReplayUnavailable, match="no messages"):
        load_source(workspace, "f" * 32)
    with pytest.raises(ReplayUnavailable, match="not a model call"):
        load_source(workspace, "e" * 32, seq=1)


def test_replay_runs_are_marked(workspace: Workspace, fake: FakeLLMServer) -> None:
    workspace.agents.create(
        "w", AgentConfig("claude", "claude-sonnet-5", base_url=fake.anthropic_base_url)
    )
    source = dispatch(workspace, DispatchRequest("hi", agent="w"))
    result = run_to_end(workspace, replay(workspace, source.run_id, ReplayTarget(agent="w")))
    run = workspace.store.get_run(result.dispatch.run_id)
    assert run.trigger == Trigger.REPLAY.value and run.replay_of == source.run_id
    assert run.thread_id is None  # a replay does not write into the source's chat


def test_a_slow_pipeline_stage_is_linked_to_its_prompt_by_time(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    """A group stage traced without its prompt links to the agent's run that logged it, up to
    5 minutes after the stage started (a 10 s window used to miss slow Codex stages)."""
    agent = workspace.agents.create(
        "stager", AgentConfig("codex", "gpt-5", base_url=fake.openai_base_url)
    )
    t0 = 1_790_000_000_000
    messages = [{"role": "user", "content": "Refactor the billing module"}]
    call = NewAction(
        "call_llm",
        "llm",
        "success",
        t0 + 130_000,
        t0 + 140_000,
        inputs={"model": "gpt-5", "messages": messages},
        outputs={"text": "Done: three files changed."},
        usage=TokenUsage(50, 10),
    )
    stage, prompt_run, other_agent, too_late = "5a" * 16, "9b" * 16, "7c" * 16, "6d" * 16

    def run(run_id: str, start: int, actions: list[NewAction], **kw: object) -> tuple:  # type: ignore[type-arg]
        new = NewRun("codex", "gpt-5", "cli", start, id=run_id, **kw)  # type: ignore[arg-type]
        return new, RunEnd("completed", start + 150_000, 150_000_000_000), actions

    workspace.store.ingest(
        [
            run(stage, t0, [], agent_id=agent.id, pipeline_id="p1", stage_index=1),
            run(prompt_run, t0 + 130_000, [call], agent_id=agent.id),  # 2 m 10 s later
            run(other_agent, t0 + 1_000, [call]),  # nearer, but not this agent's
        ]
    ).result()
    source = load_source(workspace, stage)
    assert source.run.id == stage and source.messages[0].content == messages[0]["content"]
    assert source.link_note is not None and prompt_run[-8:] in source.link_note
    assert "2 m 10 s after" in source.link_note
    target = ReplayTarget(runtime="codex", model="gpt-5", base_url=fake.openai_base_url)
    assert source.link_note in plan_replay(workspace, source, target).notes

    fake.scenario = Scenario(chunks=("Refactored.",))
    result = run_to_end(workspace, replay(workspace, stage, target))
    assert result.dispatch.status is RunStatus.COMPLETED
    assert workspace.store.get_run(result.dispatch.run_id).replay_of == stage
    sent = fake.last_request.body["input"]
    assert "Refactor the billing module" in json.dumps(sent)

    # Outside the window (more than 5 minutes after): not linked, and it says why.
    workspace.store.ingest(
        [
            run(too_late, t0 + 10_000_000 + 301_000, [call], agent_id=agent.id),
            run("4e" * 16, t0 + 10_000_000, [], agent_id=agent.id, pipeline_id="p2"),
        ]
    ).result()
    with pytest.raises(ReplayUnavailable, match="no run of the same agent"):
        load_source(workspace, "4e" * 16)


def test_cancelling_a_batch_kills_the_replays_under_way(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    workspace.agents.create(
        "slow", AgentConfig("claude", "claude-sonnet-5", base_url=fake.anthropic_base_url)
    )
    fake.scenario = Scenario(chunks=("quick",))
    sources = [dispatch(workspace, DispatchRequest(f"q{i}", agent="slow")).run_id for i in range(3)]
    fake.scenario = Scenario(chunks=tuple(f"w{i} " for i in range(200)), delay_s=0.05)
    target = ReplayTarget(runtime="codex", model="gpt-5", base_url=fake.openai_base_url)

    async def go():  # type: ignore[no-untyped-def]
        cancel = asyncio.Event()
        batch = asyncio.ensure_future(
            replay_batch(workspace, sources, target, concurrency=1, cancel=cancel)
        )
        for _ in range(200):  # until the first replay streams
            if workspace.live.run_ids:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        cancel.set()
        return await asyncio.wait_for(batch, timeout=10)

    summary = run_to_end(workspace, go())
    assert summary.cancelled and summary.replayed == 1  # the other two never started
    (item,) = [i for i in summary.items if i.result is not None]
    assert item.result is not None and item.result.dispatch.status is RunStatus.KILLED


def test_a_replay_without_a_key_is_no_evidence_no_diff_and_no_deltas(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    """Issue 16.14: a replay that failed for want of an API key rendered the source's answer
    struck through and green "−100 %" deltas, and counted as cost evidence."""
    from ato_desktop.engine.cost_recs import cost_recommendations
    from ato_desktop.store.insights_queries import agent_pair_rows

    workspace.agents.create(
        "w", AgentConfig("claude", "claude-sonnet-5", base_url=fake.anthropic_base_url)
    )
    fake.scenario = Scenario(chunks=("Your order shipped.",))
    sources = [
        dispatch(workspace, DispatchRequest(f"Where is order {i}?", agent="w")).run_id
        for i in range(2)
    ]
    assert workspace.credentials.delete_key("openai")
    target = ReplayTarget(runtime="codex", model="gpt-5", base_url=fake.openai_base_url)
    result = run_to_end(workspace, replay(workspace, sources[0], target))
    comparison = result.comparison
    assert comparison.replay.status == "failed" and comparison.replay.error_class == "auth"
    assert not comparison.replay_reached_model
    assert all(piece.op == "equal" for piece in comparison.diff)  # nothing struck through
    assert (
        comparison.cost_delta_pct,
        comparison.tokens_delta_pct,
        comparison.duration_delta_pct,
    ) == (None, None, None)

    summary = run_to_end(workspace, replay_batch(workspace, sources, target))
    assert (summary.replayed, summary.unreached) == (2, 2)
    assert (summary.recovered, summary.still_failing, summary.regressed) == (0, 0, 0)
    assert summary.replay_cost_usd == 0 and summary.cost_delta_pct is None
    assert summary.latency_delta_pct is None
    assert "failed before reaching a model" in summary.notes[0]

    # Not evidence of what codex costs or how often it answers.
    agent_id = workspace.store.get_agent("w").id
    rows = agent_pair_rows(workspace.store, agent_id, 0)
    assert [r for r in rows if r.replay] == []
    report = cost_recommendations(workspace.store)
    assert report.recommendations == ()
