"""Killing runs of any process in one call, finding stuck ones, pausing the scheduler."""

from __future__ import annotations

from typing import Any

from ato_desktop.core import cron
from ato_desktop.core.automations import AutomationKind, ScheduleSpec, TargetKind
from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import NewRun, RunEnd
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.execution_log import now_ms
from tests.engine.test_automations import FakeClock
from tests.fakes import FakeLLMServer, Scenario
from tests.support.builders import run_to_end


def test_kill_anywhere_flags_other_processes_runs_and_reports_ended_ones(
    workspace: Workspace,
) -> None:
    store = workspace.store
    now = now_ms()
    running, _ = store.create_run(NewRun("claude", "m", "cli", now), owner="other").result()
    ended, ended_no = store.create_run(NewRun("claude", "m", "cli", now), owner="other").result()
    store.finish_run(ended, ended_no, RunEnd("completed", now + 10, 10_000)).result()
    outcome = run_to_end(workspace, workspace.live.kill_anywhere([running, ended, running]))
    assert outcome.local == [] and outcome.requested == [running] and outcome.ended == [ended]
    assert outcome.count == 1
    assert store.get_run(running).kill_requested_at is not None


def test_stuck_anywhere_finds_runs_quiet_for_the_threshold(workspace: Workspace) -> None:
    store = workspace.store
    now = now_ms()
    old, _ = store.create_run(NewRun("claude", "m", "cli", now - 120_000), owner="x").result()
    store.create_run(NewRun("claude", "m", "cli", now - 1_000), owner="x").result()
    assert run_to_end(workspace, workspace.live.stuck_anywhere(60)) == [old]


def test_a_paused_scheduler_fires_nothing_until_resumed(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    workspace.agents.create(
        "bot", AgentConfig("claude", "claude-sonnet-5", base_url=fake.anthropic_base_url)
    )
    spec = ScheduleSpec("0 * * * *", "UTC", TargetKind.AGENT, "bot", "tick")
    workspace.automations.definitions.add(AutomationKind.SCHEDULE, "hourly", spec)
    first = cron.next_fire("0 * * * *", "UTC", now_ms())
    assert first is not None
    scheduler = workspace.automations.scheduler
    scheduler.clock = FakeClock(first + 1_000)
    fake.scenario = Scenario(chunks=("ok",))

    async def go() -> tuple[list[Any], list[Any]]:
        scheduler.pause()
        paused = await scheduler.tick()
        assert scheduler.paused
        scheduler.resume()
        resumed = await scheduler.tick()
        await scheduler.drain()
        return paused, resumed

    paused, resumed = run_to_end(workspace, go())
    assert paused == [] and [r.action for r in resumed] == ["started"]
    assert len(fake.requests) == 1
