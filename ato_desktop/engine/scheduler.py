"""The scheduler: fires cron schedules while the app (or `schedules daemon`) runs, and on each
look re-reads edited skill files (a new version each), so a running app watches them.

Each look (`tick`) takes every enabled schedule, finds its fires since the newest one handled
(kept in the log, so fires missed while nothing ran are found on the next start: core.cron
plan_due), and starts the due one as a task through the pipeline runner (an agent dispatch, a
group or a skill flow, trigger cron, tagged with the schedule). A fire while the previous one
of the same schedule still runs is skipped when its overlap policy says so. Every handled fire
moves the schedule's progress on with a note the UI shows ("on time", "missed 3 fires while not
running: skipped", "skipped: still running").

Any number of schedulers may look at one log at once (the app, `schedules daemon` processes,
`schedules daemon --once` from the system's cron): each fire is claimed before anything is
started, with a compare-and-swap of the schedule's progress in the log (store.automations
claim_fire). The scheduler that moves the progress from what it read to the fire runs it; the
others, which read the same progress, find it moved and leave that fire alone. So a fire runs
exactly once, whoever looks.

The clock is injected: the app uses the system clock, tests a fake one they move by hand and
call `tick()` on, so nothing waits in tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from ato_desktop.core import cron
from ato_desktop.core.automations import AutomationKind, Overlap, ScheduleSpec
from ato_desktop.core.events import AutomationChanged, DomainEvent
from ato_desktop.core.models import RunStatus, Trigger
from ato_desktop.engine.automations import AutomationService
from ato_desktop.engine.pipelines import PipelineRunner
from ato_desktop.store import automations as automation_store
from ato_desktop.store.automations import AutomationRecord
from ato_desktop.store.execution_log import ExecutionLog, NotFoundError

log = logging.getLogger(__name__)

MAX_SLEEP_S = 30.0  # look again at least this often (edits, clock jumps, the machine waking)
MIN_SLEEP_S = 0.05


class Clock(Protocol):
    def now_ms(self) -> int: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now_ms(self) -> int:
        return int(time.time() * 1000)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@dataclass(frozen=True, slots=True)
class FireReport:
    """What one look did for one schedule."""

    schedule: str
    fire_at: int | None  # the fire time acted on (None: missed fires skipped)
    action: str  # "started" | "skipped_overlap" | "skipped_missed"
    note: str
    missed: int = 0


class Scheduler:
    """Fires enabled schedules; `start()` runs the loop on the running event loop."""

    def __init__(
        self, store: ExecutionLog, pipelines: PipelineRunner, clock: Clock | None = None
    ) -> None:
        self._store = store
        self._pipelines = pipelines
        self.clock: Clock = clock or SystemClock()
        self._running: dict[str, asyncio.Task[tuple[str, RunStatus] | None]] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self.last_run_ids: dict[str, str] = {}
        self._paused = False

    @property
    def paused(self) -> bool:
        """Paused: looks fire nothing (fires due meanwhile follow each schedule's missed policy
        on resume); `run_now` still fires by hand."""
        return self._paused

    def pause(self) -> None:
        self._paused = True

    def resume(self) -> None:
        self._paused = False
        if self._wake is not None:
            self._wake.set()  # look now, not at the next planned fire

    @property
    def running(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    def running_fires(self) -> list[str]:
        """Schedules (ids) whose fire is still running in this process."""
        return [sid for sid, task in self._running.items() if not task.done()]

    # -- one look ---------------------------------------------------------------------------------

    async def tick(self) -> list[FireReport]:
        """Handle every enabled schedule's due fires at the clock's now (none while paused)."""
        if self._paused:
            return []
        store = self._store
        now = self.clock.now_ms()
        records = await store.read_async(
            automation_store.list_definitions, store, AutomationKind.SCHEDULE, enabled_only=True
        )
        reports: list[FireReport] = []
        for record in records:
            try:
                report = await self._consider(record, now)
            except Exception:
                log.exception("schedule %s could not be handled", record.name)
                continue
            if report is not None:
                reports.append(report)
        return reports

    async def _consider(self, record: AutomationRecord, now: int) -> FireReport | None:
        spec = record.spec
        assert isinstance(spec, ScheduleSpec)
        store = self._store
        state = await store.read_async(automation_store.get_schedule_state, store, record.id)
        seen = state.last_fire_at if state is not None else None
        last = seen if seen is not None else record.created_at
        try:
            plan = cron.plan_due(spec.cron, spec.timezone, last, now, spec.missed)
        except cron.CronError as exc:
            # Saved before the rule (a six-field expression): say so once, fire nothing.
            note = f"cannot fire: {exc}"
            if state is None or state.last_note != note:
                await self._note(record.id, last, note)
            return None
        if plan is None:
            return None
        if plan.fire_at is None:
            if not await self._claim(record.id, seen, plan.last_considered, plan.note):
                return None
            return FireReport(record.name, None, "skipped_missed", plan.note, plan.missed)
        if spec.overlap is Overlap.SKIP:
            busy = await self._still_running(record.id, state.last_run_id if state else None)
            if busy is not None:
                note = f"skipped: the previous fire (run {busy[:8]}) is still running"
                if plan.missed:
                    note += f"; {plan.note}"
                if not await self._claim(record.id, seen, plan.last_considered, note):
                    return None
                return FireReport(record.name, plan.fire_at, "skipped_overlap", note, plan.missed)
        note = plan.note
        if not await self._claim(record.id, seen, plan.last_considered, note):
            return None  # another scheduler (another process) has this fire
        started: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        task = asyncio.ensure_future(self._fire(record, spec, plan.fire_at, note, started))
        self._running[record.id] = task
        schedule_id = record.id
        task.add_done_callback(lambda done: self._forget(schedule_id, done))
        # Wait until the run exists (or the fire failed), so an overlap check that follows
        # sees it.
        waiters: set[asyncio.Future[object]] = {started, task}  # type: ignore[arg-type]
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        return FireReport(record.name, plan.fire_at, "started", note, plan.missed)

    def _forget(self, schedule_id: str, task: asyncio.Task[tuple[str, RunStatus] | None]) -> None:
        if self._running.get(schedule_id) is task:
            del self._running[schedule_id]

    async def _still_running(self, schedule_id: str, last_run_id: str | None) -> str | None:
        """The run id of this schedule's previous fire if it still runs (here or elsewhere)."""
        task = self._running.get(schedule_id)
        if task is not None and not task.done():
            return self.last_run_ids.get(schedule_id, "in progress")
        if last_run_id:
            store = self._store
            with contextlib.suppress(NotFoundError):
                run = await store.read_async(store.get_run, last_run_id)
                if run.status == RunStatus.RUNNING.value:
                    return run.id
        return None

    async def _claim(self, schedule_id: str, seen: int | None, fire_at: int, note: str) -> bool:
        """Claim the fires up to fire_at (True), unless another scheduler moved the schedule's
        progress on since it was read as `seen` (False: that fire is theirs)."""
        return await asyncio.wrap_future(
            automation_store.claim_fire(self._store, schedule_id, seen, fire_at, note)
        )

    async def _note(
        self, schedule_id: str, fire_at: int, note: str, *, run_id: str | None = None
    ) -> None:
        await asyncio.wrap_future(
            automation_store.set_schedule_state(
                self._store,
                schedule_id,
                fire_at,
                last_run_id=run_id,
                note=note,
                keep_run=run_id is None,
            )
        )

    async def _fire(
        self,
        record: AutomationRecord,
        spec: ScheduleSpec,
        fire_at: int,
        note: str,
        started: asyncio.Future[str] | None = None,
    ) -> tuple[str, RunStatus] | None:
        when = datetime.fromtimestamp(fire_at / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        def on_started(run_id: str) -> None:
            self.last_run_ids[record.id] = run_id
            automation_store.set_schedule_state(
                self._store, record.id, fire_at, last_run_id=run_id, note=note
            )
            if started is not None and not started.done():
                started.set_result(run_id)

        try:
            return await self._pipelines.run_target(
                spec.target_kind,
                spec.target,
                spec.prompt,
                trigger=Trigger.CRON,
                tags={"schedule": record.name, "schedule.fire_at": when},
                on_started=on_started,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the target was removed, a budget refused it: say so
            log.warning("schedule %s could not fire: %s", record.name, exc)
            await self._note(record.id, fire_at, f"could not fire: {exc}")
            return None
        finally:
            if started is not None and not started.done():
                started.cancel()

    async def run_now(self, name: str) -> tuple[str, RunStatus] | None:
        """Fire a schedule at once, whatever its next time (`schedules run`)."""
        store = self._store
        record = await store.read_async(
            automation_store.get_definition, store, AutomationKind.SCHEDULE, name
        )
        assert isinstance(record.spec, ScheduleSpec)
        now = self.clock.now_ms()
        return await self._fire(record, record.spec, now, "run by hand")

    # -- the loop ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Look now and at every next fire time, on the running loop, until aclose()."""
        if self.running:
            return
        self._wake = asyncio.Event()
        loop = asyncio.get_running_loop()
        wake = self._wake

        def on_event(event: DomainEvent) -> None:
            if isinstance(event, AutomationChanged) and event.kind == "schedule":
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(wake.set)

        self._unsubscribe = self._store.bus.subscribe(on_event)
        self._loop_task = loop.create_task(self._loop(), name="ato-scheduler")

    async def _loop(self) -> None:
        assert self._wake is not None
        while True:
            try:
                await self._sync_skills()
                await self.tick()
                delay = await self._until_next()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the scheduler's look failed")
                delay = MAX_SLEEP_S
            self._wake.clear()
            sleeper = asyncio.ensure_future(self.clock.sleep(delay))
            waker = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                waker.cancel()

    async def _sync_skills(self) -> None:
        """Skill files edited since the last look become new versions (the file watch)."""
        results = await asyncio.to_thread(AutomationService(self._store).sync_skills)
        for name, error in results:
            if error:
                log.warning("skill flow %s: %s", name, error)

    async def _until_next(self) -> float:
        store = self._store
        now = self.clock.now_ms()
        records = await store.read_async(
            automation_store.list_definitions, store, AutomationKind.SCHEDULE, enabled_only=True
        )
        soonest: int | None = None
        for record in records:
            spec = record.spec
            assert isinstance(spec, ScheduleSpec)
            with contextlib.suppress(cron.CronError, ValueError):
                fire = cron.next_fire(spec.cron, spec.timezone, now)
                if fire is not None and (soonest is None or fire < soonest):
                    soonest = fire
        if soonest is None:
            return MAX_SLEEP_S
        return max(MIN_SLEEP_S, min(MAX_SLEEP_S, (soonest - now) / 1000))

    async def drain(self, timeout_s: float | None = None) -> None:
        """Wait for fires under way."""
        tasks = [t for t in self._running.values() if not t.done()]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)

    async def aclose(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        tasks = [t for t in self._running.values() if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
