"""Cost recommendations over a real log: from the agent's own history, and from evidence
gathered by replaying a sample of its runs on a candidate (through the fake servers)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ato_desktop.core.cost_recs import RecThresholds
from ato_desktop.core.models import AgentConfig, CostSource, TokenUsage
from ato_desktop.core.records import NewAction, NewRun, RunEnd, RunFilter
from ato_desktop.engine.cost_recs import (
    cost_recommendations,
    estimate_evidence,
    gather_evidence,
)
from ato_desktop.engine.dispatcher import DispatchRequest
from ato_desktop.engine.replay import ReplayTarget
from ato_desktop.engine.simulation import simulate
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.execution_log import now_ms
from tests.fakes import FakeLLMServer, Scenario, UsageSpec
from tests.support.builders import priced_runs
from tests.test_cli import in_process

DAY = 86_400_000


def test_a_swap_is_recommended_from_the_agents_own_history(workspace: Workspace) -> None:
    workspace.agents.create("triage", AgentConfig("codex", "gpt-5-mini"))
    start = now_ms() - 5 * DAY
    priced_runs(workspace.store, "triage", "a1", 20, 0.004, ok=19, start=start)  # earlier config
    workspace.agents.edit("triage", {"runtime": "claude", "model": "claude-sonnet-5"})
    priced_runs(workspace.store, "triage", "b2", 50, 0.020, ok=48, start=start)  # what it runs now
    workspace.agents.create("solo", AgentConfig("claude", "claude-sonnet-5"))
    priced_runs(workspace.store, "solo", "c3", 30, 0.010, ok=30, start=start)

    report = cost_recommendations(workspace.store)
    (rec,) = report.recommendations
    assert rec.agent_name == "triage" and rec.monthly_runs == 70
    assert rec.candidate.stats.runtime == "codex" and rec.candidate.saving_pct == 80.0
    assert rec.headline.startswith("@triage · claude → codex · -80% per call")
    assert report.explanation is None

    code, out = in_process("insights", "cost")
    assert code == 0 and "@triage · claude → codex · -80% per call" in out
    assert "evidence: claude · claude-sonnet-5 $0.0200/call, ok 96% on 50 runs" in out

    # Stricter: 85 % cheaper needed. Nothing qualifies, and the panel says why in one line.
    strict = cost_recommendations(workspace.store, RecThresholds(min_saving_pct=85))
    assert strict.recommendations == ()
    assert strict.explanation is not None and strict.explanation.startswith("Nothing qualifies")


def test_gathering_evidence_replays_a_sample_and_earns_the_recommendation(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    workspace.agents.create(
        "writer", AgentConfig("claude", "claude-sonnet-5", base_url=fake.anthropic_base_url)
    )
    fake.scenario = Scenario(
        chunks=("A long careful answer.",),
        usage=UsageSpec(uncached_input_tokens=2000, output_tokens=800),
    )

    async def go() -> None:
        try:
            for i in range(3):
                await workspace.dispatcher.dispatch(
                    DispatchRequest(f"Question {i}", agent="writer")
                )
            first = workspace.store.list_runs(RunFilter(), limit=1)[0].id
            await simulate(workspace, first)  # a simulation costs nothing: never evidence
            target = ReplayTarget(
                runtime="codex", model="gpt-5-mini", base_url=fake.openai_base_url
            )
            plan = await workspace.store.read_async(estimate_evidence, workspace, "writer", target)
            assert len(plan.run_ids) == 3 and (plan.estimate.usd or 0) > 0
            assert plan.estimate.source is CostSource.ESTIMATED
            fake.scenario = Scenario(
                chunks=("Short.",), usage=UsageSpec(uncached_input_tokens=2000, output_tokens=50)
            )
            summary = await gather_evidence(workspace, plan, concurrency=2)
            assert summary.replayed == 3
        finally:
            await workspace.live.aclose()

    asyncio.run(go())
    report = cost_recommendations(workspace.store, RecThresholds(min_evidence_runs=3))
    (agent,) = report.agents
    (candidate,) = agent.candidates
    assert candidate.stats.runtime == "codex" and candidate.stats.replays == 3
    assert candidate.stats.runs == 3  # the simulation is not counted
    (rec,) = report.recommendations
    assert rec.candidate.stats.model == "gpt-5-mini" and (rec.candidate.saving_pct or 0) >= 30


def test_gathering_evidence_also_runs_the_agents_eval_suites_on_the_candidate(
    workspace: Workspace, fake: FakeLLMServer, tmp_path: Path
) -> None:
    from ato_desktop.engine.evals import EvalTarget, load_suite, model_case_scores, run_suite

    workspace.agents.create(
        "helper", AgentConfig("claude", "claude-sonnet-5", base_url=fake.anthropic_base_url)
    )
    suite_file = tmp_path / "basics.jsonl"
    suite_file.write_text(
        '{"suite": {"name": "basics", "scorers": [{"type": "contains"}]}}\n'
        '{"id": "a", "input": "Say yes", "expected": "yes"}\n',
        encoding="utf-8",
    )
    suite, text = load_suite(suite_file)
    fake.scenario = Scenario(chunks=("yes",))

    async def go() -> None:
        try:
            await workspace.dispatcher.dispatch(DispatchRequest("hello", agent="helper"))
            await run_suite(workspace, suite, EvalTarget(agent="helper"), source_text=text)
            target = ReplayTarget(
                runtime="codex", model="gpt-5-mini", base_url=fake.openai_base_url
            )
            plan = await workspace.store.read_async(estimate_evidence, workspace, "helper", target)
            assert plan.suites == ("basics",) and len(plan.run_ids) == 1
            summary = await gather_evidence(workspace, plan)
            assert "eval suite basics on codex · gpt-5-mini: 100% passed" in summary.notes
        finally:
            await workspace.live.aclose()

    asyncio.run(go())
    agent = workspace.store.get_agent("helper")
    assert model_case_scores(workspace.store, agent.id, "codex", "gpt-5-mini") == [1.0]


def test_failures_that_never_reached_the_model_count_as_zero_cost_calls(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    """Issue 16.5: 3 answered calls and 2 refused before any token (a 400): cost per call is the
    known cost over all 5 calls, so it does not rise when failures do."""
    workspace.agents.create(
        "writer", AgentConfig("claude", "claude-sonnet-5", base_url=fake.anthropic_base_url)
    )
    fake.scenario = Scenario(usage=UsageSpec(uncached_input_tokens=2000, output_tokens=300))
    fake.enqueue(*(Scenario(status=400) for _ in range(2)))

    async def go() -> None:
        try:
            for i in range(5):
                await workspace.dispatcher.dispatch(DispatchRequest(f"Q{i}", agent="writer"))
        finally:
            await workspace.live.aclose()

    asyncio.run(go())
    runs = workspace.store.list_runs(RunFilter(), limit=10)
    assert sorted(r.status for r in runs) == ["completed"] * 3 + ["failed"] * 2
    spent = sum(r.cost_usd or 0.0 for r in runs)
    assert [r.cost_source for r in runs].count(None) == 2  # nothing spent, nothing recorded

    (agent,) = cost_recommendations(workspace.store).agents
    stats = agent.pairs[("claude", "claude-sonnet-5")]
    assert stats.zero_cost_runs == 2
    assert stats.cost_per_call == pytest.approx(spent / 5)
    assert stats.as_dict()["cost_source"] == "estimated"


def test_a_pair_with_no_known_cost_is_not_labelled_provider(workspace: Workspace) -> None:
    workspace.agents.create("mystery", AgentConfig("codex", "my-finetune-7b"))
    agent = workspace.store.get_agent("mystery")
    began = now_ms() - DAY
    batch = [
        (
            NewRun("codex", "my-finetune-7b", "cli", began + i, agent_id=agent.id),
            RunEnd("completed", began + i + 1000, 10**9),
            [
                NewAction(
                    "call_llm",
                    "llm",
                    "success",
                    began + i,
                    began + i + 1000,
                    usage=TokenUsage(100, 10),
                    cost_source=CostSource.UNKNOWN,
                )
            ],
        )
        for i in range(3)
    ]
    workspace.store.ingest(batch).result()

    (agent_report,) = cost_recommendations(workspace.store).agents
    stats = agent_report.pairs[("codex", "my-finetune-7b")]
    assert stats.cost_per_call is None and stats.zero_cost_runs == 0
    assert stats.as_dict()["cost_source"] == "unknown"
