"""The one bridge from the store's event bus to Qt: bus events become signals on the UI thread.

The bus calls subscribers on the writer thread; emitting a signal from there to this QObject,
which lives on the UI thread, is a queued connection, so every slot runs on the UI thread.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from ato_desktop.core.event_bus import EventBus
from ato_desktop.core.events import (
    ActionCreated,
    AgentDeleted,
    AutomationChanged,
    ConfigChanged,
    DomainEvent,
    EvalSuiteRunChanged,
    McpServersChanged,
    RunCompleted,
    RunCreated,
    RunFailed,
    RunProgressed,
    RunScored,
    RunsIngested,
    RunsRemoved,
    ThreadChanged,
)


class EventBridge(QObject):
    """Re-emits domain events as Qt signals. Views connect to the signals they care about."""

    sig_event_received = Signal(object)  # every event
    sig_run_created = Signal(object)  # RunCreated
    sig_action_created = Signal(object)  # ActionCreated
    sig_run_progressed = Signal(object)  # RunProgressed
    sig_run_ended = Signal(object)  # RunCompleted | RunFailed
    sig_config_changed = Signal(object)  # ConfigChanged | AgentDeleted
    sig_thread_changed = Signal(object)  # ThreadChanged
    sig_runs_bulk_changed = Signal(object)  # RunsIngested | RunsRemoved (bulk: reload)
    sig_mcp_changed = Signal(object)  # McpServersChanged
    sig_eval_run_changed = Signal(object)  # EvalSuiteRunChanged
    sig_run_scored = Signal(object)  # RunScored
    sig_automation_changed = Signal(object)  # AutomationChanged

    def __init__(self, bus: EventBus, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._unsubscribe = bus.subscribe(self._on_bus_event)
        # Marshal to the UI thread through one queued signal, then fan out there.
        self._sig_marshal.connect(self._dispatch)

    _sig_marshal = Signal(object)

    def _on_bus_event(self, event: DomainEvent) -> None:
        self._sig_marshal.emit(event)  # writer thread -> queued to the UI thread

    def _dispatch(self, event: DomainEvent) -> None:
        self.sig_event_received.emit(event)
        if isinstance(event, RunCreated):
            self.sig_run_created.emit(event)
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

    def close(self) -> None:
        self._unsubscribe()
