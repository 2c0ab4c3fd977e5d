"""The one bridge from the event bus to Qt: bus events become signals on the UI thread.

The bus calls subscribers on the store's writer thread (this process's writes) or on the change
feed's thread (other processes' writes). The bridge queues each event and wakes the UI thread
through one queued signal, once per burst; on the UI thread it drains the queue and fans each
event out to its typed `sig_<noun>_<past_tense>` signal. Views therefore have one path for
"something changed", whoever changed it.

A burst (a receiver writing a thousand runs a second, fifty streams checkpointing) must not
freeze the window: the drain works in slices of a few milliseconds and lets Qt paint between
them, and a run's progress events that queued up behind each other collapse into the newest one
(a view only shows the latest).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from ato_desktop.core.event_bus import EventBus
from ato_desktop.core.events import (
    ActionCreated,
    ActionStarted,
    AgentDeleted,
    AutomationChanged,
    ChangesMissed,
    ConfigChanged,
    DomainEvent,
    EvalSuiteRunChanged,
    KillRequested,
    McpServersChanged,
    RunCompleted,
    RunCreated,
    RunFailed,
    RunProgressed,
    RunScored,
    RunsIngested,
    RunsRemoved,
    SettingsChanged,
    SyncStateChanged,
    ThreadChanged,
)

# The UI thread spends at most this long draining events before it lets Qt paint (a frame).
DRAIN_SLICE_S = 0.008


class EventBridge(QObject):
    """Re-emits domain events as Qt signals. Views connect to the signals they care about."""

    sig_event_received = Signal(object)  # every event
    sig_run_created = Signal(object)  # RunCreated
    sig_action_started = Signal(object)  # ActionStarted
    sig_action_created = Signal(object)  # ActionCreated
    sig_run_progressed = Signal(object)  # RunProgressed
    sig_run_ended = Signal(object)  # RunCompleted | RunFailed
    sig_config_changed = Signal(object)  # ConfigChanged | AgentDeleted
    sig_thread_changed = Signal(object)  # ThreadChanged
    sig_runs_bulk_changed = Signal(object)  # RunsIngested | RunsRemoved | ChangesMissed (reload)
    sig_mcp_changed = Signal(object)  # McpServersChanged
    sig_eval_run_changed = Signal(object)  # EvalSuiteRunChanged
    sig_run_scored = Signal(object)  # RunScored
    sig_automation_changed = Signal(object)  # AutomationChanged
    sig_kill_requested = Signal(object)  # KillRequested
    sig_sync_changed = Signal(object)  # SyncStateChanged
    sig_settings_changed = Signal(object)  # SettingsChanged
    sig_changes_missed = Signal(object)  # ChangesMissed: everything may be stale, reload

    _sig_wake = Signal()

    def __init__(self, bus: EventBus, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._queue: deque[DomainEvent] = deque()
        # Taken from the queue (and collapsed) but not yet fanned out: a slice ran out of time.
        # UI thread only.
        self._taken: deque[DomainEvent] = deque()
        self._woken = False
        # Marshal to the UI thread through one queued signal per burst, then fan out there.
        self._sig_wake.connect(self._drain)
        self._unsubscribe = bus.subscribe(self._on_bus_event)
        self.delivered = 0  # events fanned out so far (tests and benchmarks read it)

    def _on_bus_event(self, event: DomainEvent) -> None:
        # Writer or change-feed thread: queue, and wake the UI thread once per burst.
        with self._lock:
            self._queue.append(event)
            if self._woken:
                return
            self._woken = True
        self._sig_wake.emit()  # queued to the UI thread (the bridge lives there)

    def _take(self) -> deque[DomainEvent]:
        """What is left of the last slice, then what arrived since (collapsed once: a burst of
        thousands drained in many slices is not scanned again in each)."""
        with self._lock:
            events = list(self._queue)
            self._queue.clear()
            self._woken = False
        self._taken.extend(_collapse_progress(events))
        return self._taken

    def _drain(self) -> None:
        events = self._take()
        deadline = time.monotonic() + DRAIN_SLICE_S
        while events:
            self._dispatch(events.popleft())
            if events and time.monotonic() > deadline:
                # Let Qt paint; the rest goes first in the next slice.
                with self._lock:
                    already = self._woken
                    self._woken = True
                if not already:
                    QTimer.singleShot(0, self._drain)
                return

    def _dispatch(self, event: DomainEvent) -> None:
        self.delivered += 1
        self.sig_event_received.emit(event)
        if isinstance(event, RunCreated):
            self.sig_run_created.emit(event)
        elif isinstance(event, ActionStarted):
            self.sig_action_started.emit(event)
        elif isinstance(event, ActionCreated):
            self.sig_action_created.emit(event)
        elif isinstance(event, RunProgressed):
            self.sig_run_progressed.emit(event)
        elif isinstance(event, (RunCompleted, RunFailed)):
            self.sig_run_ended.emit(event)
        elif isinstance(event, (ConfigChanged, AgentDeleted)):
            self.sig_config_changed.emit(event)
        elif isinstance(event, ThreadChanged):
            self.sig_thread_changed.emit(event)
        elif isinstance(event, (RunsIngested, RunsRemoved)):
            self.sig_runs_bulk_changed.emit(event)
        elif isinstance(event, McpServersChanged):
            self.sig_mcp_changed.emit(event)
        elif isinstance(event, EvalSuiteRunChanged):
            self.sig_eval_run_changed.emit(event)
        elif isinstance(event, RunScored):
            self.sig_run_scored.emit(event)
        elif isinstance(event, AutomationChanged):
            self.sig_automation_changed.emit(event)
        elif isinstance(event, KillRequested):
            self.sig_kill_requested.emit(event)
        elif isinstance(event, SyncStateChanged):
            self.sig_sync_changed.emit(event)
        elif isinstance(event, SettingsChanged):
            self.sig_settings_changed.emit(event)
        elif isinstance(event, ChangesMissed):
            # Every view that reloads on a bulk change reloads; the rest listen here.
            self.sig_runs_bulk_changed.emit(event)
            self.sig_changes_missed.emit(event)

    def close(self) -> None:
        self._unsubscribe()


def _collapse_progress(events: list[DomainEvent]) -> list[DomainEvent]:
    """Drop a run's progress events that a newer one of the same run follows in the queue."""
    if len(events) < 2:
        return events
    newest: dict[str, int] = {}
    progressed = 0
    for index, event in enumerate(events):
        if isinstance(event, RunProgressed):
            newest[event.run_id] = index
            progressed += 1
    if len(newest) == progressed:
        return events
    return [
        e for i, e in enumerate(events) if not isinstance(e, RunProgressed) or newest[e.run_id] == i
    ]


def connect_for(receiver: QObject, signal: Any, slot: Callable[..., object]) -> None:
    """Connect ``slot`` to one of the bridge's signals for as long as ``receiver`` lives.

    The bridge outlives the pages and views; a lambda connected to it stays connected after the
    widget it calls into is deleted, and the next event then reaches a deleted timer or model.
    A bound method of a QObject is disconnected by Qt; a lambda connected here is called only
    while its receiver lives.
    """
    alive = [True]
    receiver.destroyed.connect(alive.clear)

    def call(*args: object) -> None:
        if alive:
            slot(*args)

    signal.connect(call)
