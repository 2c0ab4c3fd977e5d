"""What runs automations in a workspace: the pipeline runner (groups and skill flows), the hook
listener and the scheduler, started with the workspace like the online judge."""

from __future__ import annotations

import asyncio

from ato_desktop.engine.automations import AutomationService
from ato_desktop.engine.hooks import HookRunner
from ato_desktop.engine.parts import RunParts
from ato_desktop.engine.pipelines import PipelineRunner
from ato_desktop.engine.scheduler import Scheduler


class AutomationEngine:
    """What runs automations in a workspace: `pipelines` (groups and skill flows), `hooks`
    (listening for runs once started) and `scheduler` (firing schedules once started with
    scheduler=True: the app, `schedules daemon`)."""

    def __init__(self, parts: RunParts) -> None:
        self.definitions = AutomationService(parts.store)
        self.pipelines = PipelineRunner(parts)
        self.hooks = HookRunner(parts, self.pipelines)
        self.scheduler = Scheduler(parts.store, self.pipelines)

    def start(self, *, scheduler: bool = False) -> None:
        """Listen for hook events (and fire schedules) on the running loop."""
        self.hooks.start()
        if scheduler:
            self.scheduler.start()

    async def drain(self, timeout_s: float | None = None) -> None:
        """Wait for hooked runs and fired schedules under way."""
        await self.hooks.drain(timeout_s)
        await self.scheduler.drain(timeout_s)

    async def aclose(self) -> None:
        await self.scheduler.aclose()
        await self.hooks.aclose()
        await asyncio.sleep(0)
