"""The live-run registry: every in-flight dispatch of this process, and how to kill it.

Kills come from this process (`kill(ids)`, the UI's bulk kill) or from another one (`ato-desktop
runs kill`, or the app killing a CLI's run, flags the run in the log). The owner hears the flag
through the change feed at once when it follows the log (the app), and its watcher reads the flag
within a quarter of a second otherwise (a CLI dispatch). Either way the dispatch's streaming task
is cancelled, which closes the HTTP stream, and the dispatcher records the run as killed with its
partial output. A run whose owner died (kill -9) cannot be killed by its owner: it is ended
`interrupted` by whoever asked, through crash recovery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field

from ato_desktop.core.events import DomainEvent, KillRequested
from ato_desktop.core.live_status import is_stuck
from ato_desktop.store.execution_log import ExecutionLog, now_ms

log = logging.getLogger(__name__)

KILL_POLL_INTERVAL_S = 0.25
# Runs of other processes are checked for a dead owner at most this often (a lock-file probe
# per owner; the Live view asks on every reload).
ORPHAN_SWEEP_INTERVAL_S = 2.0

Recover = Callable[[Collection[str] | None], list[str]]


@dataclass
class LiveDispatch:
    """What the registry knows of one in-flight dispatch."""

    run_id: str
    run_no: int
    started_monotonic: float
    task: asyncio.Task[object] | None = None
    kill_requested: bool = False
    output_chars: int = 0
    output_tokens_so_far: int = 0
    last_event_monotonic: float = field(default_factory=time.monotonic)

    # The text of the model turn streaming now (the dispatcher's own chunk list, not a copy),
    # and who follows it as it grows (run details): see listen().
    turn_chunks: list[str] = field(default_factory=list)
    _listeners: list[Callable[[str | None], None]] = field(default_factory=list)

    def note_event(self, chars: int = 0) -> None:
        self.output_chars += chars
        self.last_event_monotonic = time.monotonic()

    def begin_turn(self, chunks: list[str]) -> None:
        """A model turn starts; chunks is the list its text will be appended to."""
        self.turn_chunks = chunks
        self._tell(None)

    def note_text(self, chunk: str) -> None:
        """A text chunk arrived (already appended to turn_chunks by the dispatcher)."""
        self.note_event(len(chunk))
        self._tell(chunk)

    @property
    def turn_text(self) -> str:
        return "".join(self.turn_chunks)

    def listen(self, listener: Callable[[str | None], None]) -> Callable[[], None]:
        """Call listener(chunk) for each text chunk, listener(None) when a new turn begins
        (on the dispatch's thread: hand over to your own); returns the way to stop."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _tell(self, chunk: str | None) -> None:
        for listener in list(self._listeners):
            try:
                listener(chunk)
            except Exception:  # a view's failure must never stop a run
                log.exception("live text listener failed")


@dataclass(frozen=True, slots=True)
class KillOutcome:
    """What a kill did: cancelled here, flagged for another process, or already over."""

    local: list[str]
    requested: list[str]
    ended: list[str]

    @property
    def count(self) -> int:
        return len(self.local) + len(self.requested)


class LiveRunRegistry:
    """In-flight dispatches of this process, keyed by run id."""

    def __init__(self, store: ExecutionLog, owner: str, recover: Recover | None = None) -> None:
        self._store = store
        self._owner = owner
        self._recover = recover  # ends dead owners' runs `interrupted` (engine.recovery)
        self._live: dict[str, LiveDispatch] = {}
        self._watcher: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._last_sweep = 0.0

    def register(self, run_id: str, run_no: int) -> LiveDispatch:
        entry = LiveDispatch(run_id, run_no, time.monotonic())
        self._live[run_id] = entry
        self._ensure_watcher()
        return entry

    def _on_event(self, event: DomainEvent) -> None:
        """A kill request from any process (on the writer's or the feed's thread)."""
        loop = self._loop
        if isinstance(event, KillRequested) and loop is not None:
            mine = [r for r in event.run_ids if r in self._live]
            if mine:
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                    loop.call_soon_threadsafe(self.kill, mine)

    def attach_task(self, run_id: str, task: asyncio.Task[object]) -> None:
        entry = self._live.get(run_id)
        if entry is not None:
            entry.task = task
            if entry.kill_requested:
                task.cancel()

    def unregister(self, run_id: str) -> None:
        self._live.pop(run_id, None)

    def get(self, run_id: str) -> LiveDispatch | None:
        return self._live.get(run_id)

    @property
    def run_ids(self) -> list[str]:
        return list(self._live)

    def __len__(self) -> int:
        return len(self._live)

    def kill(self, run_ids: Iterable[str]) -> list[str]:
        """Kill these dispatches of this process at once; returns the ids that were live here."""
        killed: list[str] = []
        for run_id in run_ids:
            entry = self._live.get(run_id)
            if entry is None:
                continue
            entry.kill_requested = True
            if entry.task is not None and not entry.task.done():
                entry.task.cancel()
            killed.append(run_id)
        return killed

    def kill_all(self) -> list[str]:
        return self.kill(list(self._live))

    async def kill_anywhere(self, run_ids: Sequence[str]) -> KillOutcome:
        """Kill runs of any process: this one's at once, others' through the log's flag (their
        owner's watcher cancels them within a second); runs that already ended are reported."""
        ids = list(dict.fromkeys(run_ids))
        local = self.kill(ids)
        others = [r for r in ids if r not in set(local)]
        requested: list[str] = []
        if others:
            requested = await asyncio.wrap_future(self._store.request_kill(others))
            if requested and self._recover is not None:
                # An owner that died cannot answer: end its runs here, as recovery would.
                await asyncio.to_thread(self._recover, set(requested))
        ended = [r for r in others if r not in set(requested)]
        return KillOutcome(local, requested, ended)

    async def sweep_dead_owners(self) -> list[str]:
        """End `interrupted` the running runs whose process died since (at most every 2 s)."""
        now = time.monotonic()
        if self._recover is None or now - self._last_sweep < ORPHAN_SWEEP_INTERVAL_S:
            return []
        self._last_sweep = now
        return await asyncio.to_thread(self._recover, None)

    async def stuck_anywhere(self, older_than_s: float) -> list[str]:
        """Ids of running runs of any process with no event for older_than_s seconds."""
        runs = await self._store.read_async(self._store.live_runs)
        now = now_ms()
        return [r.id for r in runs if is_stuck(r.last_event_at or r.started_at, now, older_than_s)]

    def stuck(self, older_than_s: float) -> list[str]:
        """Ids with no stream event for older_than_s seconds."""
        now = time.monotonic()
        return [r for r, e in self._live.items() if now - e.last_event_monotonic >= older_than_s]

    def _ensure_watcher(self) -> None:
        if self._unsubscribe is None:
            self._loop = asyncio.get_running_loop()
            self._unsubscribe = self._store.bus.subscribe(self._on_event)
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.get_running_loop().create_task(
                self._watch_kill_requests(), name="ato-kill-watcher"
            )

    async def _watch_kill_requests(self) -> None:
        """Pick up kills requested by other processes while this one has live runs."""
        while self._live:
            try:
                requested = await self._store.read_async(self._store.kill_requests_for, self._owner)
            except Exception:  # a busy database must not kill the watcher
                log.exception("could not read kill requests")
                requested = []
            if requested:
                self.kill(requested)
            await asyncio.sleep(KILL_POLL_INTERVAL_S)

    async def aclose(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
