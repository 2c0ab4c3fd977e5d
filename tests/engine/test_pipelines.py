"""Groups and skill flows end to end: stages through the one dispatch path, the wire fakes."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

import pytest

from ato_desktop.core.automations import (
    AutomationKind,
    DefinitionError,
    GroupMode,
    GroupSpec,
    OnFailure,
    RouteRule,
    Stage,
)
from ato_desktop.core.models import AgentConfig, RunStatus, Trigger
from ato_desktop.core.records import RunFilter
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store import automations as automation_store
from ato_desktop.store.execution_log import NotFoundError
from tests.fakes import FakeLLMServer, Scenario, UsageSpec
from tests.support.builders import run_to_end

T = TypeVar("T")


def agents(ws: Workspace, fake: FakeLLMServer, *names: str) -> None:
    for name in names:
        ws.agents.create(
            name, AgentConfig("claude", "claude-sonnet-5", base_url=fake.anthropic_base_url)
        )


def sent_prompt(fake: FakeLLMServer, index: int) -> str:
    return str(fake.requests[index].body["messages"][-1]["content"])


def three_stages(ws: Workspace, fake: FakeLLMServer, **stage2: Any) -> None:
    agents(ws, fake, "researcher", "writer", "editor")
    spec = GroupSpec(
        GroupMode.SEQUENTIAL,
        stages=(
            Stage("research", "researcher", "Find facts about {input}"),
            Stage("draft", "writer", "Write from: {previous}", **stage2),
            Stage("edit", "editor", "Edit for {input}: {previous}"),
        ),
    )
    ws.automations.definitions.add(AutomationKind.GROUP, "article", spec)


def test_three_stage_pipeline_hands_off_and_records_each_stage(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    three_stages(workspace, fake)
    fake.enqueue(
        Scenario(chunks=("facts: ", "otters hold hands"), usage=UsageSpec(output_tokens=5)),
        Scenario(chunks=("draft about otters",)),
        Scenario(chunks=("final article",)),
    )
    result = run_to_end(workspace, workspace.automations.pipelines.run_group("article", "otters"))

    assert result.status is RunStatus.COMPLETED
    assert result.output == "final article"
    assert sent_prompt(fake, 0) == "Find facts about otters"
    assert sent_prompt(fake, 1) == "Write from: facts: otters hold hands"
    assert sent_prompt(fake, 2) == "Edit for otters: draft about otters"

    store = workspace.store
    parent = store.get_run(result.run_id)
    assert parent.pipeline_id and parent.stage_index is None and parent.status == "completed"
    [summary] = automation_store.list_pipeline_runs(store, with_stages=True)
    assert summary.run_id == result.run_id and summary.name == "article"
    assert summary.stage_count == 3 and summary.status == "completed"
    assert [s.stage_name for s in summary.stages] == ["research", "draft", "edit"]
    for index, stage in enumerate(summary.stages):
        child = store.get_run(stage.run_id)
        assert child.parent_run_id == parent.id and child.pipeline_id == parent.pipeline_id
        assert child.stage_index == index and child.trigger == Trigger.PIPELINE.value
        assert stage.duration_ns and stage.duration_ns > 0 and stage.cost_usd is not None
    assert summary.cost_usd == pytest.approx(sum(s.cost_usd or 0 for s in summary.stages))
    detail = automation_store.pipeline_run(store, summary.stages[1].run_id)  # a stage's id works
    assert detail.run_id == parent.id and len(detail.stages) == 3
    by_definition = automation_store.list_pipeline_runs(store, pipeline_id=parent.pipeline_id)
    assert [p.run_id for p in by_definition] == [parent.id]
    # "pipeline:article" in the Runs filters finds the parent run and its stages alike.
    tagged = store.list_runs(RunFilter(tags=(("pipeline", "article"),)), limit=10)
    assert {r.id for r in tagged} == {parent.id, *(s.run_id for s in summary.stages)}


def test_stop_policy_fails_the_pipeline_at_the_failing_stage(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    three_stages(workspace, fake)
    fake.enqueue(Scenario(chunks=("facts",)), Scenario(status=400))
    result = run_to_end(workspace, workspace.automations.pipelines.run_group("article", "otters"))
    assert result.status is RunStatus.FAILED
    assert len(fake.requests) == 2
    assert "stage 2 (draft) failed" in (result.error or "")
    parent = workspace.store.get_run(result.run_id)
    assert parent.status == "failed" and parent.error_class == "bad_request"
    # The flow shows the stage that never ran after the failure, from the version that ran.
    detail = automation_store.pipeline_run(workspace.store, result.run_id)
    assert [(s.stage_name, s.status, bool(s.run_id)) for s in detail.stages] == [
        ("research", "completed", True),
        ("draft", "failed", True),
        ("edit", automation_store.NOT_RUN, False),
    ]
    assert detail.stage_count == 2  # stages that ran


def test_skip_policy_hands_the_last_good_output_on(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    three_stages(workspace, fake, on_failure=OnFailure.SKIP)
    fake.enqueue(Scenario(chunks=("facts",)), Scenario(status=400), Scenario(chunks=("done",)))
    result = run_to_end(workspace, workspace.automations.pipelines.run_group("article", "otters"))
    assert result.status is RunStatus.COMPLETED and result.output == "done"
    assert sent_prompt(fake, 2) == "Edit for otters: facts"
    assert [s.skipped for s in result.stages] == [False, True, False]


def test_retry_policy_runs_the_stage_again(workspace: Workspace, fake: FakeLLMServer) -> None:
    three_stages(workspace, fake, on_failure=OnFailure.RETRY, retries=2)
    fake.enqueue(
        Scenario(chunks=("facts",)),
        Scenario(status=400),
        Scenario(status=400),
        Scenario(chunks=("third time lucky",)),
        Scenario(chunks=("done",)),
    )
    result = run_to_end(workspace, workspace.automations.pipelines.run_group("article", "otters"))
    assert result.status is RunStatus.COMPLETED
    assert [(s.stage_name, s.attempt, s.status) for s in result.stages] == [
        ("research", 1, "completed"),
        ("draft", 1, "failed"),
        ("draft", 2, "failed"),
        ("draft", 3, "completed"),
        ("edit", 1, "completed"),
    ]
    assert sent_prompt(fake, 4) == "Edit for otters: third time lucky"
    detail = automation_store.pipeline_run(workspace.store, result.run_id)
    assert detail.stage_count == 3 and [s.attempt for s in detail.stages] == [1, 1, 2, 3, 1]


def test_retries_exhausted_stop_the_pipeline(workspace: Workspace, fake: FakeLLMServer) -> None:
    three_stages(workspace, fake, on_failure=OnFailure.RETRY, retries=1)
    fake.enqueue(Scenario(chunks=("facts",)), Scenario(status=400), Scenario(status=400))
    result = run_to_end(workspace, workspace.automations.pipelines.run_group("article", "otters"))
    assert result.status is RunStatus.FAILED and "after 2 attempts" in (result.error or "")
    assert len(fake.requests) == 3


def test_stage_timeout_fails_the_stage_with_class_timeout(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    three_stages(workspace, fake, timeout_s=0.3)
    fake.enqueue(Scenario(chunks=("facts",)), Scenario(chunks=("slow", "never"), stall_after=1))
    try:
        result = run_to_end(
            workspace, workspace.automations.pipelines.run_group("article", "otters")
        )
    finally:
        fake.release()
    assert result.status is RunStatus.FAILED
    draft = workspace.store.get_run(result.stages[1].run_id or "")
    assert draft.status == "failed" and draft.error_class == "timeout"
    assert workspace.store.get_run(result.run_id).error_class == "timeout"


def test_killing_the_parent_kills_the_stage_under_way(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    three_stages(workspace, fake)
    fake.enqueue(Scenario(chunks=("facts",)), Scenario(chunks=("slow", "never"), stall_after=1))

    async def go() -> Any:
        started: list[str] = []
        task = asyncio.ensure_future(
            workspace.automations.pipelines.run_group(
                "article", "otters", on_started=started.append
            )
        )
        await asyncio.to_thread(fake.wait_for_requests, 2)
        await asyncio.to_thread(fake.requests[1].stalled.wait, 5)
        workspace.live.kill(started)
        return await task

    try:
        result = run_to_end(workspace, go())
    finally:
        fake.release()
    assert result.status is RunStatus.KILLED
    assert workspace.store.get_run(result.run_id).status == "killed"
    assert workspace.store.get_run(result.stages[-1].run_id or "").status == "killed"


def test_routed_group_by_rules_records_the_decision(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    agents(workspace, fake, "billing", "support")
    spec = GroupSpec(
        GroupMode.ROUTED,
        members=("billing", "support"),
        rules=(RouteRule("billing", r"invoice|refund", "regex"), RouteRule("support", "help")),
    )
    workspace.automations.definitions.add(AutomationKind.GROUP, "desk", spec)
    fake.scenario = Scenario(chunks=("handled",))
    result = run_to_end(
        workspace, workspace.automations.pipelines.run_group("desk", "Where is my refund?")
    )
    assert result.status is RunStatus.COMPLETED and result.route is not None
    assert result.route.member == "billing" and result.route.router == "rules"
    actions = workspace.store.get_actions(result.run_id)
    route = next(a for a in actions if a.name == "route")
    assert route.outputs["member"] == "billing"
    assert "refund" in route.outputs["reason"]
    member_run = workspace.store.get_run(result.stages[0].run_id or "")
    assert member_run.agent_name == "billing" and member_run.parent_run_id == result.run_id


def test_routed_group_by_llm_router_records_its_reason(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    agents(workspace, fake, "billing", "support", "triage")
    spec = GroupSpec(GroupMode.ROUTED, members=("billing", "support"), router_agent="triage")
    workspace.automations.definitions.add(AutomationKind.GROUP, "desk", spec)
    fake.enqueue(
        Scenario(chunks=("support\n", "The user cannot log in.")),
        Scenario(chunks=("Try resetting your password.",)),
    )
    result = run_to_end(
        workspace, workspace.automations.pipelines.run_group("desk", "I cannot log in")
    )
    assert result.status is RunStatus.COMPLETED
    assert result.output == "Try resetting your password."
    assert result.route is not None and result.route.router == "llm"
    assert result.route.member == "support" and "log in" in result.route.reason
    assert "billing, support" in sent_prompt(fake, 0)
    route = next(a for a in workspace.store.get_actions(result.run_id) if a.name == "route")
    assert route.outputs["router_run_id"] == result.stages[0].run_id
    assert [s.stage_name for s in result.stages] == ["router", "support"]


def test_definitions_are_versioned_and_checked(workspace: Workspace, fake: FakeLLMServer) -> None:
    three_stages(workspace, fake)
    service = workspace.automations.definitions
    record = service.get(AutomationKind.GROUP, "article")
    spec = record.spec
    assert isinstance(spec, GroupSpec)
    changed = GroupSpec(GroupMode.SEQUENTIAL, stages=(*spec.stages[:2],))
    updated, did = service.save(AutomationKind.GROUP, "article", changed)
    assert did and updated.version == 2
    history = service.history(AutomationKind.GROUP, "article")
    assert [v.version for v in history] == [2, 1]
    assert service.save(AutomationKind.GROUP, "article", changed)[1] is False
    with pytest.raises(NotFoundError, match="No agent named 'ghost'"):
        service.add(
            AutomationKind.GROUP,
            "bad",
            GroupSpec(GroupMode.SEQUENTIAL, stages=(Stage("one", "ghost"),)),
        )
    with pytest.raises(DefinitionError, match="unknown placeholder"):
        service.add(
            AutomationKind.GROUP,
            "bad",
            GroupSpec(GroupMode.SEQUENTIAL, stages=(Stage("one", "writer", "{prev}"),)),
        )
    with pytest.raises(DefinitionError, match="already exists"):
        service.add(AutomationKind.GROUP, "article", changed)
