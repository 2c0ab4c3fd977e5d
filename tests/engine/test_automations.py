"""Schedules on a fake clock, hook chains with their depth limit, skill flows re-read on change:
end to end through the one dispatch path against the wire fakes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ato_desktop.core import cron
from ato_desktop.core.automations import (
    AutomationKind,
    DefinitionError,
    GroupMode,
    GroupSpec,
    HookEvent,
    HookSpec,
    MissedFires,
    Overlap,
    ScheduleSpec,
    SkillSpec,
    Stage,
    TargetKind,
)
from ato_desktop.core.models import AgentConfig, RunStatus
from ato_desktop.core.skill_flow import SkillParseError
from ato_desktop.engine.dispatcher import DispatchRequest
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store import automations as automation_store
from ato_desktop.store.execution_log import now_ms
from tests.fakes import FakeLLMServer, Scenario
from tests.support.builders import run_to_end

T = TypeVar("T")
HOUR_MS = 3_600_000


class FakeClock:
    """The scheduler's clock, moved by the test."""

    def __init__(self, now: int, until: int | None = None) -> None:
        self.now = now
        self.until = until  # sleeping never moves it past this

    def now_ms(self) -> int:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += int(seconds * 1000)
        if self.until is not None:
            self.now = min(self.now, self.until)
        await asyncio.sleep(0.001)


def agents(ws: Workspace, fake: FakeLLMServer, *names: str, **config: Any) -> None:
    for name in names:
        ws.agents.create(
            name,
            AgentConfig("claude", "claude-sonnet-5", base_url=fake.anthropic_base_url, **config),
        )


def prompts(fake: FakeLLMServer) -> list[str]:
    return [str(r.body["messages"][-1]["content"]) for r in fake.requests]


# -- schedules --------------------------------------------------------------------------------


def schedule(ws: Workspace, name: str, **changes: Any) -> None:
    spec = ScheduleSpec("0 * * * *", "UTC", TargetKind.AGENT, "bot", f"tick from {name}")
    fields = {**spec.as_dict(), **{k: getattr(v, "value", v) for k, v in changes.items()}}
    ws.automations.definitions.add(AutomationKind.SCHEDULE, name, ScheduleSpec.from_dict(fields))


def test_schedule_fires_on_time_on_a_fake_clock(workspace: Workspace, fake: FakeLLMServer) -> None:
    agents(workspace, fake, "bot")
    schedule(workspace, "hourly")
    first = cron.next_fire("0 * * * *", "UTC", now_ms())
    assert first is not None
    clock = FakeClock(first - 5_000)
    scheduler = workspace.automations.scheduler
    scheduler.clock = clock

    async def go() -> list[Any]:
        early = await scheduler.tick()
        clock.now = first + 2_000
        on_time = await scheduler.tick()
        await scheduler.drain()
        again = await scheduler.tick()  # the same hour: nothing more to do
        return [early, on_time, again]

    early, on_time, again = run_to_end(workspace, go())
    assert early == [] and again == []
    assert [(r.action, r.note) for r in on_time] == [("started", "on time")]
    [row] = workspace.automations.definitions.rows(AutomationKind.SCHEDULE, now=first + 2_000)
    assert row.next_fire_at == first + HOUR_MS and row.last_note == "on time"
    state = automation_store.get_schedule_state(workspace.store, row.record.id)
    assert state is not None and state.last_fire_at == first
    fired = workspace.store.get_run(state.last_run_id or "")
    assert fired.trigger == "cron" and fired.tags["schedule"] == "hourly"
    assert fired.status == "completed" and prompts(fake) == ["tick from hourly"]


@pytest.mark.parametrize(
    ("policy", "runs", "note"),
    [
        (MissedFires.SKIP, 0, "missed 5 fires while not running: skipped"),
        (MissedFires.RUN_ONCE, 1, "missed 5 fires while not running: ran once"),
    ],
)
def test_missed_fires_follow_the_policy(
    workspace: Workspace, fake: FakeLLMServer, policy: MissedFires, runs: int, note: str
) -> None:
    agents(workspace, fake, "bot")
    schedule(workspace, "hourly", missed=policy)
    first = cron.next_fire("0 * * * *", "UTC", now_ms())
    assert first is not None
    scheduler = workspace.automations.scheduler
    # The app was closed for five fires; it starts again 10 minutes after the last one.
    scheduler.clock = FakeClock(first + 4 * HOUR_MS + 600_000)

    async def go() -> list[Any]:
        reports = await scheduler.tick()
        await scheduler.drain()
        return reports

    [report] = run_to_end(workspace, go())
    assert report.missed == 5 and report.note == note
    assert len(fake.requests) == runs
    [row] = workspace.automations.definitions.rows(AutomationKind.SCHEDULE)
    assert row.last_note == note


def test_overlapping_fire_is_skipped_while_the_previous_runs(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    agents(workspace, fake, "bot")
    schedule(workspace, "hourly", overlap=Overlap.SKIP)
    first = cron.next_fire("0 * * * *", "UTC", now_ms())
    assert first is not None
    clock = FakeClock(first + 1_000)
    scheduler = workspace.automations.scheduler
    scheduler.clock = clock
    fake.scenario = Scenario(chunks=("slow", "answer"), stall_after=1)

    async def go() -> list[Any]:
        started = await scheduler.tick()
        await asyncio.to_thread(fake.wait_for_requests, 1)
        clock.now = first + HOUR_MS + 1_000
        skipped = await scheduler.tick()
        fake.release()
        await scheduler.drain()
        clock.now = first + 2 * HOUR_MS + 1_000
        fake.scenario = Scenario(chunks=("quick",))
        after = await scheduler.tick()
        await scheduler.drain()
        return [started, skipped, after]

    try:
        started, skipped, after = run_to_end(workspace, go())
    finally:
        fake.release()
    assert [r.action for r in started] == ["started"]
    assert [r.action for r in skipped] == ["skipped_overlap"]
    assert "still running" in skipped[0].note
    assert [r.action for r in after] == ["started"]
    assert len(fake.requests) == 2


def test_scheduler_loop_fires_a_group_with_the_fake_clock(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    agents(workspace, fake, "bot")
    workspace.automations.definitions.add(
        AutomationKind.GROUP,
        "duo",
        GroupSpec(
            GroupMode.SEQUENTIAL,
            stages=(Stage("one", "bot"), Stage("two", "bot", "Again: {previous}")),
        ),
    )
    spec = ScheduleSpec("*/5 * * * *", "Europe/Paris", TargetKind.GROUP, "duo", "go")
    workspace.automations.definitions.add(AutomationKind.SCHEDULE, "five", spec)
    first = cron.next_fire("*/5 * * * *", "Europe/Paris", now_ms())
    assert first is not None
    scheduler = workspace.automations.scheduler
    # The loop's sleep moves the clock to the fire, and no further.
    scheduler.clock = FakeClock(first - 1_000, until=first + 1_000)
    fake.scenario = Scenario(chunks=("ok",))

    async def go() -> list[Any]:
        workspace.automations.start(scheduler=True)
        for _ in range(200):
            await asyncio.sleep(0.01)
            runs = automation_store.list_pipeline_runs(workspace.store)
            if runs and runs[0].status != "running":
                return runs
        return []

    [pipeline] = run_to_end(workspace, go())
    assert pipeline.trigger == "cron" and pipeline.name == "duo" and pipeline.stage_count == 2
    assert prompts(fake) == ["go", "Again: ok"]


# -- hooks ------------------------------------------------------------------------------------


def hook(ws: Workspace, name: str, source: str, target: str, **changes: Any) -> None:
    spec = HookSpec(HookEvent.COMPLETED, source, TargetKind.AGENT, target, "{run.output}")
    fields = {**spec.as_dict(), **{k: getattr(v, "value", v) for k, v in changes.items()}}
    ws.automations.definitions.add(AutomationKind.HOOK, name, HookSpec.from_dict(fields))


def test_hook_chain_stops_at_its_depth_limit(workspace: Workspace, fake: FakeLLMServer) -> None:
    agents(workspace, fake, "a", "b", "c", "d")
    hook(workspace, "a-to-b", "a", "b", template="Follow up on: {run.output}", max_depth=2)
    hook(workspace, "b-to-c", "b", "c", max_depth=2)
    hook(workspace, "c-to-d", "c", "d", max_depth=2)
    fake.enqueue(Scenario(chunks=("from a",)), Scenario(chunks=("from b",)))
    fake.scenario = Scenario(chunks=("from c",))

    async def go() -> str:
        workspace.automations.start()
        result = await workspace.dispatcher.dispatch(DispatchRequest("start", agent="a"))
        await workspace.automations.drain(30)
        return result.run_id

    source = run_to_end(workspace, go())
    assert prompts(fake) == ["start", "Follow up on: from a", "from b"]
    fires = workspace.automations.hooks.fired
    assert [(f.hook, f.skipped is None) for f in fires] == [
        ("a-to-b", True),
        ("b-to-c", True),
        ("c-to-d", False),
    ]
    assert "depth limit 2" in (fires[-1].skipped or "")
    b_run = workspace.store.get_run(fires[0].run_id or "")
    assert b_run.trigger == "hook" and b_run.tags["hook.source_run"] == source
    assert b_run.tags["hook.depth"] == "1" and b_run.tags["hook"] == "a-to-b"
    c_run = workspace.store.get_run(fires[1].run_id or "")
    assert c_run.tags["hook.source_run"] == b_run.id and c_run.tags["hook.depth"] == "2"
    # The chain is one pipeline run: a parent after the source run, the hooked runs its stages.
    chain = workspace.store.get_run(b_run.parent_run_id or "")
    assert c_run.parent_run_id == chain.id and chain.parent_run_id == source
    assert chain.trigger == "hook" and chain.status == "completed"
    [row] = automation_store.list_pipeline_runs(workspace.store)
    assert (row.run_id, row.kind, row.name, row.stage_count) == (chain.id, "hook", "a-to-b", 2)
    detail = automation_store.pipeline_run(workspace.store, chain.id)
    assert [(s.stage_name, s.agent_name, s.status) for s in detail.stages] == [
        ("source run", "a", "completed"),
        ("a-to-b", "b", "completed"),
        ("b-to-c", "c", "completed"),
    ]
    assert detail.cost_usd is not None and detail.duration_ns is not None


def test_failed_and_over_budget_hooks(workspace: Workspace, fake: FakeLLMServer) -> None:
    agents(workspace, fake, "worker", "medic", "accountant")
    workspace.agents.edit("worker", {"budget_per_day_usd": 0.0000001})
    hook(
        workspace, "on-fail", "worker", "medic", event=HookEvent.FAILED, template="Fix: {run.error}"
    )
    hook(workspace, "on-budget", "worker", "accountant", event=HookEvent.OVER_BUDGET,
         template="{run.agent} is over budget")  # fmt: skip
    fake.enqueue(Scenario(status=400, error_message="bad prompt"))
    fake.scenario = Scenario(chunks=("fine",))

    async def go() -> None:
        workspace.automations.start()
        for prompt in ("one", "two", "three"):
            await workspace.dispatcher.dispatch(DispatchRequest(prompt, agent="worker"))
            await workspace.automations.drain(30)

    run_to_end(workspace, go())
    sent = prompts(fake)
    assert any(p.startswith("Fix: ") and "bad prompt" in p for p in sent)
    # Over budget from the second run on, but the hook fires once in the period.
    assert sent.count("worker is over budget") == 1


def test_disabled_hooks_do_not_fire(workspace: Workspace, fake: FakeLLMServer) -> None:
    agents(workspace, fake, "a", "b")
    hook(workspace, "a-to-b", "a", "b")
    workspace.automations.definitions.set_enabled(AutomationKind.HOOK, "a-to-b", False)

    async def go() -> None:
        workspace.automations.start()
        await workspace.dispatcher.dispatch(DispatchRequest("start", agent="a"))
        await workspace.automations.drain(30)

    run_to_end(workspace, go())
    assert len(fake.requests) == 1


def test_hooks_that_would_loop_are_refused(workspace: Workspace, fake: FakeLLMServer) -> None:
    agents(workspace, fake, "a", "b")
    workspace.automations.definitions.add(
        AutomationKind.GROUP, "pair", GroupSpec(GroupMode.SEQUENTIAL, stages=(Stage("s", "a"),))
    )
    hook(workspace, "b-to-group", "b", "pair", target_kind=TargetKind.GROUP)
    with pytest.raises(DefinitionError, match="a → b → a"):
        hook(workspace, "a-to-b", "a", "b")


def test_a_hooks_recent_runs_are_its_chains_and_the_pipelines_it_started(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    agents(workspace, fake, "a", "b", "c")
    workspace.automations.definitions.add(
        AutomationKind.GROUP, "pair", GroupSpec(GroupMode.SEQUENTIAL, stages=(Stage("s", "c"),))
    )
    hook(workspace, "a-to-b", "a", "b")
    hook(workspace, "a-to-pair", "a", "pair", target_kind=TargetKind.GROUP)
    fake.scenario = Scenario(chunks=("ok",))

    async def go() -> None:
        workspace.automations.start()
        await workspace.dispatcher.dispatch(DispatchRequest("start", agent="a"))
        await workspace.automations.drain(30)

    run_to_end(workspace, go())
    # The group run outside the hook, which must not count as the hook's.
    run_to_end(workspace, workspace.automations.pipelines.run_group("pair", "by hand"))
    defs = workspace.automations.definitions
    store = workspace.store
    [chain] = automation_store.hook_recent_runs(store, defs.get(AutomationKind.HOOK, "a-to-b"))
    assert chain.trigger == "hook" and chain.status == "completed"
    assert automation_store.pipeline_run(store, chain.id).kind == "hook"
    [group_run] = automation_store.hook_recent_runs(
        store, defs.get(AutomationKind.HOOK, "a-to-pair")
    )
    assert group_run.tags["hook"] == "a-to-pair" and group_run.model == "pair"
    pipelines = automation_store.list_pipeline_runs(store)
    assert sorted(p.kind for p in pipelines) == ["group", "group", "hook"]


# -- skill flows ------------------------------------------------------------------------------

SKILL = """# Trip planner
Plans a trip in two steps.

## Step 1: Ideas
List three ideas for {input}.

## Step 2: Pick
Agent: judge
Timeout: 2m
On failure: retry 1
Pick the best one.
"""


def test_skill_flow_runs_and_is_re_read_when_the_file_changes(
    workspace: Workspace, fake: FakeLLMServer, tmp_path: Path
) -> None:
    agents(workspace, fake, "planner", "judge")
    path = tmp_path / "trip.md"
    path.write_text(SKILL)
    service = workspace.automations.definitions
    record = service.add_skill("trip", str(path), "planner")
    spec = record.spec
    assert isinstance(spec, SkillSpec) and spec.title == "Trip planner"
    assert [(s.name, s.agent) for s in spec.steps] == [("Ideas", "planner"), ("Pick", "judge")]
    assert spec.steps[1].timeout_s == 120 and spec.steps[1].retries == 1
    fake.enqueue(Scenario(chunks=("rome, oslo, lima",)), Scenario(chunks=("lima",)))
    result = run_to_end(workspace, workspace.automations.pipelines.run_skill("trip", "spring"))
    assert result.status is RunStatus.COMPLETED and result.output == "lima"
    assert prompts(fake) == [
        "List three ideas for spring.",
        "Pick the best one.\n\nrome, oslo, lima",
    ]

    path.write_text(SKILL + "\n## Step 3: Pack\nPack for {previous}.\n")
    fake.scenario = Scenario(chunks=("done",))
    second = run_to_end(workspace, workspace.automations.pipelines.run_skill("trip", "autumn"))
    assert len(second.stages) == 3
    history = service.history(AutomationKind.SKILL, "trip")
    assert [(v.version, v.change_source) for v in history] == [(2, "file"), (1, "cli")]
    summaries = automation_store.list_pipeline_runs(workspace.store, pipeline_id=record.id)
    assert [s.kind for s in summaries] == ["skill", "skill"]
    assert service.sync_skill("trip") is None  # nothing changed since

    path.write_text("no steps any more")
    with pytest.raises(SkillParseError, match="no `## Step` sections"):
        service.sync_skill("trip")
    assert service.get(AutomationKind.SKILL, "trip").version == 2  # the recorded one stays
    [(name, error)] = service.sync_skills()
    assert name == "trip" and "no `## Step` sections" in (error or "")
