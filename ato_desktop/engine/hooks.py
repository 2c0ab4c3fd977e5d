"""Agent hooks: when a run of agent X completes, fails or takes X over its budget, dispatch an
agent or group with a template over that run ({run.output}, {run.error}, {run.id}, ...).

The listener subscribes to the store's bus (RunCompleted / RunFailed, published after the run
is committed) and hands each event to its loop, like the online judge. A hooked run is tagged
with the hook, the run that caused it (also its parent_run_id) and its depth in the chain:
a run caused by a hooked run is one deeper, and a hook does not fire from a run at its depth
limit, so hooks that feed each other stop (cycles are also refused when a hook is added).
"Failed" means status failed: a run a person killed does not fire hooks. "Over budget" fires
once per agent, hook and budget period (UTC day or month) in this process.

A hook that dispatches an agent opens a hook chain: a parent run (runtime "pipeline", model =
the hook's name, pipeline_id = the hook's id, tag pipeline.kind = "hook", parent_run_id = the
run that fired it) whose stages are the hooked runs, in order, including those that hooks on
the hooked runs fire in turn (stage_index 0, 1, ...; each stage's parent_run_id is the chain and
its tag hook.source_run the run it followed). The chain ends when no hook fires from its last
stage, so it shows in Insights -> Pipelines like a sequential group, and killing it kills the
stage under way. A hook that runs a group or skill flow starts that pipeline run instead (its
parent_run_id is the run that fired it): it has a Pipelines row of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from ato_desktop.core.automations import AutomationKind, HookEvent, HookSpec, TargetKind
from ato_desktop.core.budgets import day_start_ms, month_start_ms
from ato_desktop.core.events import (
    AgentDeleted,
    AutomationChanged,
    ChangesMissed,
    ConfigChanged,
    DomainEvent,
    RunCompleted,
    RunFailed,
)
from ato_desktop.core.models import ErrorClass, RunStatus, Trigger
from ato_desktop.core.records import ActionRecord, RunRecord
from ato_desktop.core.templates import render
from ato_desktop.engine.dispatcher import DispatchRequest
from ato_desktop.engine.online_judge import run_exchange
from ato_desktop.engine.parts import RunParts
from ato_desktop.engine.pipelines import (
    PipelineRunner,
    close_parent_run,
    open_parent_run,
    run_killable,
)
from ato_desktop.store import automations as automation_store
from ato_desktop.store import claims, run_queries
from ato_desktop.store.automations import AutomationRecord
from ato_desktop.store.execution_log import NotFoundError, now_ms

log = logging.getLogger(__name__)

DEPTH_TAG = "hook.depth"
CHAIN_TAG = "hook.chain"  # on a chain's stages: the chain's parent run
SOURCE_TAG = "hook.source_run"  # the run a hooked run followed


@dataclass(frozen=True, slots=True)
class HookFire:
    """A hook that fired (run_id of what it dispatched) or was held back (skipped says why)."""

    hook: str
    source_run_id: str
    event: HookEvent
    run_id: str | None = None
    status: str | None = None
    skipped: str | None = None
    refused: bool = False  # could not dispatch (unknown target, budget): skipped says why


def hook_depth(run: RunRecord) -> int:
    """How many hooks led to this run (0: not caused by a hook)."""
    try:
        return max(0, int(str(run.tags.get(DEPTH_TAG) or 0)))
    except ValueError:
        return 0


class HookRunner:
    """Fires hooks on run events once `start()`ed on a running loop."""

    def __init__(self, parts: RunParts, pipelines: PipelineRunner) -> None:
        self._parts = parts
        self._pipelines = pipelines
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._tasks: set[asyncio.Task[list[HookFire]]] = set()
        self._budget_fired: set[tuple[str, str]] = set()  # (hook id, period) in this process
        self.fired: list[HookFire] = []  # this process's recent fires, newest last (bounded)
        self._sources: frozenset[str] | None = None  # agents enabled hooks watch (a cache)
        self._sources_generation = 0

    @property
    def running(self) -> bool:
        return self._loop is not None

    def start(self) -> None:
        if self._unsubscribe is not None:
            return
        self._loop = asyncio.get_running_loop()
        # Other processes' runs too (the app hears a CLI dispatch end): claims keep it to one fire.
        self._unsubscribe = self._parts.store.bus.subscribe(self._on_event)

    def _on_event(self, event: DomainEvent) -> None:
        # On the writer's or the change feed's thread: decide cheaply, hand work to the loop.
        if isinstance(event, AutomationChanged | ConfigChanged | AgentDeleted | ChangesMissed):
            self._sources_generation += 1
            self._sources = None  # which agents hooks watch may have changed
            return
        loop = self._loop
        if loop is None or not isinstance(event, RunCompleted | RunFailed) or not event.agent_id:
            return
        sources = self._sources
        if sources is not None and event.agent_id not in sources:
            return  # no hook watches this agent: a burst of other runs costs nothing here
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self._schedule, event.run_id)

    async def _watched_agents(self) -> frozenset[str]:
        """Ids of the agents some enabled hook watches (cached until a definition changes)."""
        sources = self._sources
        if sources is not None:
            return sources
        generation = self._sources_generation
        store = self._parts.store
        hooks = await store.read_async(
            automation_store.list_definitions, store, AutomationKind.HOOK, enabled_only=True
        )
        found: set[str] = set()
        for hook in hooks:
            if isinstance(hook.spec, HookSpec):
                try:
                    agent = await store.read_async(store.get_agent, hook.spec.source_agent)
                except NotFoundError:
                    continue
                found.add(agent.id)
        sources = frozenset(found)
        if generation == self._sources_generation:
            self._sources = sources
        return sources

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
        store = self._parts.store
        run = await store.read_async(store.get_run, run_id)
        if run.tags.get(CHAIN_TAG):
            return []  # a stage of a hook chain: the chain fires the hooks that follow it
        if run.agent_id not in await self._watched_agents():
            return []
        fires: list[HookFire] = []
        for hook, spec in await self._due(run):
            if spec.target_kind is TargetKind.AGENT:
                fires.extend(await self._chain(hook, spec, run))
            else:
                fires.append(await self._fire(hook, spec, run))
        self.fired = [*self.fired, *fires][-200:]
        return fires

    async def _due(self, run: RunRecord) -> list[tuple[AutomationRecord, HookSpec]]:
        """The enabled hooks this finished run fires, in the order they were defined."""
        store = self._parts.store
        if run.agent_id is None or run.status == RunStatus.RUNNING.value:
            return []
        hooks = await store.read_async(
            automation_store.list_definitions, store, AutomationKind.HOOK, enabled_only=True
        )
        if not hooks:
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
        due: list[tuple[AutomationRecord, HookSpec]] = []
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
                subject = f"over-budget:{period or ''}"
            else:
                subject = f"{spec.event.value}:{run.id}"
            # Every process following the log hears this run end (the app, a daemon): the
            # one whose claim goes in fires the hook, the others leave it.
            claimed = await asyncio.wrap_future(
                claims.claim(store, f"hook:{hook.id}", subject, self._parts.lease_token)
            )
            if claimed:
                due.append((hook, spec))
        return due

    async def _is_source(self, hook: AutomationRecord, agent_id: str) -> bool:
        spec = hook.spec
        if not isinstance(spec, HookSpec):
            return False
        store = self._parts.store
        try:
            agent = await store.read_async(store.get_agent, spec.source_agent)
        except NotFoundError:
            return False
        return agent.id == agent_id

    async def _over_budget_period(self, agent_id: str) -> str | None:
        store = self._parts.store
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

    def _held_back(self, hook: AutomationRecord, spec: HookSpec, run: RunRecord) -> HookFire | None:
        depth = hook_depth(run)
        if depth < spec.max_depth:
            return None
        log.info("hook %s held back: run %s is at depth %d", hook.name, run.id, depth)
        return HookFire(
            hook.name,
            run.id,
            spec.event,
            skipped=f"depth limit {spec.max_depth} reached (run {run.id} is at depth {depth})",
        )

    async def _prompt_and_tags(
        self, hook: AutomationRecord, spec: HookSpec, run: RunRecord
    ) -> tuple[str, dict[str, str]]:
        store = self._parts.store
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
        tags = {"hook": hook.name, DEPTH_TAG: str(hook_depth(run) + 1), SOURCE_TAG: run.id}
        return render(spec.template, values), tags

    async def _fire(self, hook: AutomationRecord, spec: HookSpec, run: RunRecord) -> HookFire:
        """Run the hook's group or skill flow (its own pipeline run) after this run."""
        held = self._held_back(hook, spec, run)
        if held is not None:
            return held
        prompt, tags = await self._prompt_and_tags(hook, spec, run)
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
            return HookFire(hook.name, run.id, spec.event, skipped=str(exc), refused=True)
        return HookFire(hook.name, run.id, spec.event, run_id=run_id, status=status.value)

    async def _chain(
        self, hook: AutomationRecord, spec: HookSpec, source: RunRecord
    ) -> list[HookFire]:
        """A hook chain from this run: its parent run, then a stage per hooked agent run."""
        held = self._held_back(hook, spec, source)
        if held is not None:
            return [held]
        tags = {
            "hook": hook.name,
            "pipeline": hook.name,
            "pipeline.kind": "hook",
            "pipeline.version": str(hook.version),
            SOURCE_TAG: source.id,
        }
        chain_id, chain_no = await open_parent_run(self._parts, hook, Trigger.HOOK, tags, source.id)
        fires: list[HookFire] = []  # everything that fired or was held back, in order
        stages: list[HookFire] = []  # the chain's own stages (dispatches of agents)
        t0 = time.perf_counter_ns()
        killed, shutting_down = await run_killable(
            self._parts,
            chain_id,
            chain_no,
            self._chain_stages(hook, spec, source, chain_id, fires, stages),
        )
        failed = next((f for f in stages if f.status != RunStatus.COMPLETED.value), None)
        refused = next((f for f in fires if f.refused), None)
        error_class: str | None = None
        message: str | None = None
        if killed or any(f.status == RunStatus.KILLED.value for f in fires):
            status = RunStatus.KILLED
            error_class, message = (
                ErrorClass.KILLED.value,
                "Killed; the stages run so far are kept.",
            )
        elif failed is not None or refused is not None:
            status = RunStatus.FAILED
            if failed is not None:
                position = stages.index(failed) + 1
                message = f"stage {position} ({failed.hook}) {failed.status}"
                stage_run = await self._parts.store.read_async(
                    self._parts.store.get_run, failed.run_id or ""
                )
                error_class = stage_run.error_class
                if stage_run.error_message:
                    message += f": {stage_run.error_message}"
            else:
                assert refused is not None
                error_class = ErrorClass.CONFIG.value
                message = f"hook {refused.hook} could not dispatch: {refused.skipped}"
        else:
            status = RunStatus.COMPLETED
        await close_parent_run(
            self._parts,
            chain_id,
            chain_no,
            status,
            error_class,
            message,
            time.perf_counter_ns() - t0,
            inputs={"source_run": source.id, "version": hook.version},
            outputs={
                "stages": [
                    {
                        "stage_index": i,
                        "stage_name": f.hook,
                        "run_id": f.run_id,
                        "status": f.status,
                        "source_run": f.source_run_id,
                    }
                    for i, f in enumerate(stages)
                ],
                "held_back": [f.skipped for f in fires if f.run_id is None],
            },
        )
        if shutting_down:
            raise asyncio.CancelledError
        return fires

    async def _chain_stages(
        self,
        first: AutomationRecord,
        first_spec: HookSpec,
        source: RunRecord,
        chain_id: str,
        fires: list[HookFire],
        stages: list[HookFire],
    ) -> None:
        """Dispatch the chain's stages breadth first: each hooked run's own due hooks follow it
        (a hook to a group or skill flow starts that pipeline run, outside the chain)."""
        store = self._parts.store
        queue = deque([(first, first_spec, source)])
        while queue:
            hook, spec, after = queue.popleft()
            held = self._held_back(hook, spec, after)
            if held is not None:
                fires.append(held)
                continue
            prompt, tags = await self._prompt_and_tags(hook, spec, after)
            tags.update({CHAIN_TAG: chain_id, "pipeline": first.name})
            try:
                done = await self._parts.dispatcher.dispatch(
                    DispatchRequest(
                        prompt,
                        agent=spec.target,
                        trigger=Trigger.HOOK,
                        parent_run_id=chain_id,
                        pipeline_id=first.id,
                        stage_index=len(stages),
                        stage_name=hook.name,
                        tags=tags,
                    )
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # unknown agent, refused by budget: no run was made
                log.warning("hook %s could not dispatch %s: %s", hook.name, spec.target, exc)
                fires.append(
                    HookFire(hook.name, after.id, spec.event, skipped=str(exc), refused=True)
                )
                continue
            fire = HookFire(
                hook.name, after.id, spec.event, run_id=done.run_id, status=done.status.value
            )
            fires.append(fire)
            stages.append(fire)
            stage = await store.read_async(store.get_run, done.run_id)
            for next_hook, next_spec in await self._due(stage):
                if next_spec.target_kind is TargetKind.AGENT:
                    queue.append((next_hook, next_spec, stage))
                else:
                    fires.append(await self._fire(next_hook, next_spec, stage))

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
        await asyncio.wrap_future(self._parts.store.submit(lambda _conn, _emit: None))
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
