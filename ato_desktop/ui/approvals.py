"""Tool calls waiting for the user, as Qt signals: a thin adapter over the engine's
ApprovalBroker, shared by Chat, Runs and the status bar.

The broker calls its listeners on the engine's thread (a run asks) or on the answering one (the
window answers); the adapter hands every change to the UI thread through one queued signal
before it touches its state or emits anything. A request that ends without an answer (the run
was killed while it waited) is never reported by the broker; the adapter notices when the run
ends and emits sig_request_dropped for it, so no view keeps showing buttons that can no longer
work.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QObject, Signal

from ato_desktop.engine.approvals import ApprovalBroker, ApprovalDecision, ApprovalRequest

MAX_ARGUMENTS_CHARS = 20_000


def arguments_text(arguments: Any) -> str:
    """The arguments as readable JSON (indented, keys in their order), cut when very long."""
    try:
        text = json.dumps(arguments, indent=2, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = str(arguments)
    if len(text) > MAX_ARGUMENTS_CHARS:
        text = text[:MAX_ARGUMENTS_CHARS] + "\n…"
    return text


def arguments_summary(arguments: Any, limit: int = 80) -> str:
    """One line of the arguments: 'text="hi", n=2'."""
    if isinstance(arguments, dict):
        parts = []
        for key, value in arguments.items():
            shown = json.dumps(value, ensure_ascii=False, default=str)
            parts.append(f"{key}={shown}")
        text = ", ".join(parts)
    else:
        text = json.dumps(arguments, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Approvals(QObject):
    """Pending approvals of this process, and answers to them. Lives on the UI thread."""

    sig_approval_requested = Signal(object)  # ApprovalRequest
    sig_approval_decided = Signal(object)  # ApprovalDecision
    sig_request_dropped = Signal(object)  # ApprovalRequest: its run ended unanswered
    sig_pending_changed = Signal()  # any of the above
    _sig_marshal = Signal(object)  # broker thread -> UI thread (queued when they differ)

    def __init__(self, broker: ApprovalBroker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._broker = broker
        self._shown: dict[int, ApprovalRequest] = {}
        self._sig_marshal.connect(self._on_broker)
        self._unsubscribe = broker.subscribe(self._sig_marshal.emit)

    # -- queries -------------------------------------------------------------------------------

    def pending(self, run_id: str | None = None) -> list[ApprovalRequest]:
        """Requests waiting now (of one run, or all), oldest first."""
        return sorted(self._broker.pending(run_id), key=lambda r: r.id)

    def waiting_runs(self) -> list[str]:
        """Run ids with a request waiting, oldest request first, each once."""
        seen: dict[str, None] = {}
        for request in self.pending():
            seen.setdefault(request.run_id, None)
        return list(seen)

    # -- answers -------------------------------------------------------------------------------

    def answer(self, request_id: int, approved: bool) -> bool:
        """Approve or deny; False when the request is no longer waiting (run ended, killed)."""
        answered = self._broker.answer(request_id, approved, by="user")
        if not answered:
            self._drop(request_id)
        return answered

    def run_ended(self, run_id: str) -> None:
        """A run ended: whatever it still waited for will never be answered."""
        for request_id, request in list(self._shown.items()):
            if request.run_id == run_id:
                self._drop(request_id)

    def close(self) -> None:
        self._unsubscribe()

    # -- internals -------------------------------------------------------------------------------

    def _drop(self, request_id: int) -> None:
        request = self._shown.pop(request_id, None)
        if request is not None:
            self.sig_request_dropped.emit(request)
            self.sig_pending_changed.emit()

    def _on_broker(self, item: ApprovalRequest | ApprovalDecision) -> None:
        if isinstance(item, ApprovalRequest):
            self._shown[item.id] = item
            self.sig_approval_requested.emit(item)
        else:
            self._shown.pop(item.request.id, None)
            self.sig_approval_decided.emit(item)
        self.sig_pending_changed.emit()
