"""Agent hooks: when a run of agent X completes, fails or takes X over its budget, dispatch an
agent or group with a template over that run ({run.output}, {run.error}, {run.id}, ...).

The listener subscribes to the store's bus (RunCompleted / RunFailed, published after the run
is committed) and hands each event to its loop, like the online judge. A hooked run is tagged
with the hook, the run that caused it (also its parent_run_id) and its depth in the chain:
a run caused by a hooked run is one deeper, and a hook does not fire from a run at its depth
limit, so hooks that feed each other stop (cycles are also refused when a hook is added).
"Failed" means status failed: a run a person killed does not fire hooks. "Over budget" fires
once per agent, hook and budget period (UTC day or month) in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ato_desktop.core.automations import AutomationKind, HookEvent, HookSpec
from ato_desktop.core.budgets import day_start_ms, month_start_ms
from ato_desktop.core.events import DomainEvent, RunCompleted, RunFailed
from ato_desktop.core.models import RunStatus, Trigger
from ato_desktop.core.records import ActionRecord, RunRecord
from ato_desktop.core.templates import render
from ato_desktop.engine.online_judge import run_exchange
from ato_desktop.store import automations as automation_store
from ato_desktop.store import run_queries
from ato_desktop.store.automations import AutomationRecord
from ato_desktop.store.execution_log import NotFoundError, now_ms

if TYPE_CHECKING:
    from ato_desktop.engine.pipelines import PipelineRunner
    from ato_desktop.engine.workspace import Workspace

log = logging.getLogger(__name__)

DEPTH_TAG = "hook.depth"


@dataclass(frozen=True, slots=True)
class HookFire:
    """A hook that fired (run_id of what it dispatched) or was held back (skipped says why)."""

    hook: str
    source_run_id: str
    event: HookEvent
    run_id: str | None = None
    status: str | None = None
    skipped: str | None = None


def hook_depth(run: RunRecord) -> int:
    """How many hooks led to this run (0: not caused by a hook)."""
    try:
        return max(0, int(str(run.tags.get(DEPTH_TAG) or 0)))
    except ValueError:
        return 0


class HookRunner:
    """Fires hooks on run events once `start()`ed on a running loop."""

    def __init__(self, workspace: Workspace, pipelines: PipelineRunner) -> None:
        self._ws = workspace
        self._pipelines = pipelines
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._tasks: set[asyncio.Task[list[HookFire]]] = set()
        self._budget_fired: set[tuple[str, str]] = set()  # (hook id, period) in this process
        self.fired: list[HookFire] = []  # this process's recent fires, newest last (bounded)

    @property
    def running(self) -> bool:
        return self._loop is not None

    def start(self) -> None:
        if self._unsubscribe is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._unsubscribe = self._ws.bus.subscribe(self._on_event)

    def _on_event(self, event: DomainEvent) -> None:
        loop = self._loop
        if loop is None or not isinstance(event, RunCompleted | RunFailed) or not event.agent_id:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self._schedule, event.run_id)

    def _schedule(self, run_id: str) -> None:
        task = asyncio.ensure_future(self.handle_run(run_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def handle_run(self, run_id: str) -> list[HookFire]:
        """Fire the hooks a finished run calls for; returns what fired or was held back."""
        try:
            return await self._handle(run_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("hooks for run %s failed", run_id)
            return []

    async def _handle(self, run_id: str) -> list[HookFire]:
        store = self._ws.store
        hooks = await store.read_async(
            automation_store.list_definitions, store, AutomationKind.HOOK, enabled_only=True
        )
        if not hooks:
            return []
        run = await store.read_async(store.get_run, run_id)
        if run.agent_id is None or run.status == RunStatus.RUNNING.value:
            return []
        events: list[HookEvent] = []
        if run.status == RunStatus.COMPLETED.value:
            events.append(HookEvent.COMPLETED)
        elif run.status == RunStatus.FAILED.value:
            events.append(HookEvent.FAILED)
        mine = [h for h in hooks if await self._is_source(h, run.agent_id)]
        if not mine:
            return []
        if any(
            isinstance(h.spec, HookSpec) and h.spec.event is HookEvent.OVER_BUDGET for h in mine
        ):
            period = await self._over_budget_period(run.agent_id)
            if period is not None:
                events.append(HookEvent.OVER_BUDGET)
        else:
            period = None
        fires: list[HookFire] = []
        for hook in mine:
            spec = hook.spec
            assert isinstance(spec, HookSpec)
            if spec.event not in events:
                continue
            if spec.event is HookEvent.OVER_BUDGET:
                key = (hook.id, period or "")
                if key in self._budget_fired:
                    continue
                self._budget_fired.add(key)
            fires.append(await self._fire(hook, spec, run))
        self.fired = [*self.fired, *fires][-200:]
        return fires

    async def _is_source(self, hook: AutomationRecord, agent_id: str) -> bool:
        spec = hook.spec
        if not isinstance(spec, HookSpec):
            return False
        store = self._ws.store
        try:
            agent = await store.read_async(store.get_agent, spec.source_agent)
        except NotFoundError:
            return False
        return agent.id == agent_id

    async def _over_budget_period(self, agent_id: str) -> str | None:
        store = self._ws.store
        agent = await store.read_async(store.get_agent, agent_id)
        config = agent.config
        if config.budget_per_day_usd is None and config.budget_per_month_usd is None:
            return None
        now = now_ms()
        state = await store.read_async(run_queries.budget_state, store, agent_id, config, now)
        if state.month_exhausted:
            return f"month:{month_start_ms(now)}"
        if state.day_exhausted:
            return f"day:{day_start_ms(now)}"
        return None

    async def _fire(self, hook: AutomationRecord, spec: HookSpec, run: RunRecord) -> HookFire:
        depth = hook_depth(run)
        if depth >= spec.max_depth:
            log.info("hook %s held back: run %s is at depth %d", hook.name, run.id, depth)
            return HookFire(
                hook.name,
                run.id,
                spec.event,
                skipped=f"depth limit {spec.max_depth} reached (run {run.id} is at depth {depth})",
            )
        store = self._ws.store
        actions = await store.read_async(store.get_actions, run.id)
        _transcript, output = run_exchange(actions)
        values = {
            "run.output": output or run.partial_output or "",
            "run.error": run.error_message or "",
            "run.id": run.id,
            "run.agent": run.agent_name or "",
            "run.status": run.status,
            "input": _first_prompt(actions),
        }
        prompt = render(spec.template, values)
        tags = {
            "hook": hook.name,
            DEPTH_TAG: str(depth + 1),
            "hook.source_run": run.id,
        }
        try:
            run_id, status = await self._pipelines.run_target(
                spec.target_kind,
                spec.target,
                prompt,
                trigger=Trigger.HOOK,
                tags=tags,
                parent_run_id=run.id,
            )
        except Exception as exc:  # unknown target, refused by budget: say so, go on
            log.warning("hook %s could not dispatch %s: %s", hook.name, spec.target, exc)
            return HookFire(hook.name, run.id, spec.event, skipped=str(exc))
        return HookFire(hook.name, run.id, spec.event, run_id=run_id, status=status.value)

    async def drain(self, timeout_s: float | None = None) -> None:
        """Wait until hooked runs under way (and the hooks they fire) are done."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout_s is None else loop.time() + timeout_s
        while True:
            await self._barrier()
            if not self._tasks:
                return
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return
            await asyncio.wait(set(self._tasks), timeout=remaining)

    async def _barrier(self) -> None:
        """Let every event of the writes made so far reach the loop: the writer publishes a
        batch's events before it takes the next job, so once a no-op job is done they have
        been handed over (and call_soon_threadsafe keeps their order)."""
        await asyncio.wrap_future(self._ws.store.submit(lambda _conn, _emit: None))
        await asyncio.sleep(0)

    async def aclose(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        tasks = set(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._loop = None


def _first_prompt(actions: list[ActionRecord]) -> str:
    for action in actions:
        if action.name in ("call_llm", "call_agent") and isinstance(action.inputs, dict):
            messages = action.inputs.get("messages") or []
            users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
            if users:
                return str(users[-1].get("content") or "")
    return ""
