"""Every process is a peer: what one process does, the others following the log hear and act on
once (hooks claimed in the log), and a run whose owner died is ended by whoever kills it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ato_desktop.core.automations import AutomationKind, HookEvent, HookSpec, TargetKind
from ato_desktop.core.models import AgentConfig, RunStatus
from ato_desktop.engine.dispatcher import DispatchRequest
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.paths import DataPaths
from tests.fakes import FakeLLMServer, Scenario
from tests.support.builders import peer_env

REPO = Path(__file__).resolve().parents[2]


def _setup(ws: Workspace, fake: FakeLLMServer) -> None:
    for name in ("a", "b"):
        ws.agents.create(
            name, AgentConfig("claude", "claude-sonnet-5", base_url=fake.anthropic_base_url)
        )
    spec = HookSpec(HookEvent.COMPLETED, "a", TargetKind.AGENT, "b", "Follow up: {run.output}")
    ws.automations.definitions.add(AutomationKind.HOOK, "a-to-b", spec)


def _prompts(fake: FakeLLMServer) -> list[str]:
    return [str(r.body["messages"][-1]["content"]) for r in fake.requests]


async def _until(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_two_processes_hearing_a_run_end_fire_its_hook_once(
    workspace: Workspace, fake: FakeLLMServer, ato_home: Path
) -> None:
    """The app and a daemon both follow the log: both hear the run end, one fires the hook."""
    _setup(workspace, fake)
    peer = Workspace.open(DataPaths(ato_home))
    fake.enqueue(Scenario(chunks=("from a",)))
    fake.scenario = Scenario(chunks=("from b",))

    async def go() -> None:
        for ws in (workspace, peer):
            ws.follow_changes()
            ws.automations.start()
        try:
            await workspace.dispatcher.dispatch(DispatchRequest("start", agent="a"))
            await _until(lambda: len(fake.requests) >= 2)
            await asyncio.sleep(1.0)  # time for a second fire, were there one
            await workspace.automations.drain(30)
            await peer.automations.drain(30)
        finally:
            for ws in (workspace, peer):
                await ws.automations.aclose()
                await ws.live.aclose()

    try:
        asyncio.run(go())
    finally:
        peer.close()
    assert _prompts(fake) == ["start", "Follow up: from a"]


def test_a_daemon_fires_the_hook_of_a_cli_dispatch(
    workspace: Workspace, fake: FakeLLMServer, ato_home: Path
) -> None:
    """A CLI dispatch (a real second process) runs no hooks of its own; a process following the
    log (here this one, as `schedules daemon` does) hears its run end and fires the hook."""
    _setup(workspace, fake)
    fake.enqueue(Scenario(chunks=("from cli",)))
    fake.scenario = Scenario(chunks=("from b",))

    async def go() -> None:
        workspace.follow_changes()
        workspace.automations.start()
        try:
            done = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "ato_desktop", "dispatch", "--agent", "a", "start"],
                env=peer_env(ato_home),
                capture_output=True,
                text=True,
                timeout=120,
                cwd=REPO,
            )
            assert done.returncode == 0, done.stderr
            await _until(lambda: len(fake.requests) >= 2)
            await workspace.automations.drain(30)
        finally:
            await workspace.automations.aclose()
            await workspace.live.aclose()

    asyncio.run(go())
    assert _prompts(fake) == ["start", "Follow up: from cli"]
    fires = workspace.automations.hooks.fired
    assert [f.hook for f in fires] == ["a-to-b"]


def test_killing_a_run_whose_process_died_ends_it_interrupted(
    workspace: Workspace, fake: FakeLLMServer, ato_home: Path
) -> None:
    _setup(workspace, fake)
    fake.scenario = Scenario(chunks=("partial ", "never"), stall_after=1)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ato_desktop", "dispatch", "--agent", "a", "stall"],
        env=peer_env(ato_home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not workspace.store.live_runs() or not fake.requests:
            assert time.monotonic() < deadline, "the CLI dispatch never started"
            time.sleep(0.05)
        [run] = workspace.store.live_runs()
        os.killpg(proc.pid, signal.SIGKILL)  # the owner dies without a word
        proc.wait(10)

        async def go() -> Any:
            try:
                return await workspace.live.kill_anywhere([run.id])
            finally:
                await workspace.live.aclose()

        outcome = asyncio.run(go())
        assert outcome.requested == [run.id]
        ended = workspace.store.get_run(run.id)
        assert ended.status == RunStatus.INTERRUPTED.value
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        fake.release()
