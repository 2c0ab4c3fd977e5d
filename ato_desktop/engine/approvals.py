"""Tool calls that wait for the user: a run asks, the UI (or the CLI) answers.

A tool marked "approve" pauses its run until someone approves or denies the call; a denial
becomes a blocked action and the model is told the user said no. Kill still works while a run
waits: the wait is cancelled with the rest of the run.
"""

from __future__ import annotations

import asyncio
import getpass
import inspect
import itertools
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """One tool call waiting for a yes or no."""

    id: int
    run_id: str
    tool: str  # "<server>/<tool>"
    arguments: dict[str, Any]
    requested_at_ms: int


@dataclass(frozen=True, slots=True)
class ApprovalDecision:
    request: ApprovalRequest
    approved: bool
    by: str  # "user" (in the app) | "cli" (a flag or its terminal) | "policy"
    decided_at_ms: int = 0


Listener = Callable[[ApprovalRequest | ApprovalDecision], None]


class ApprovalBroker:
    """Pending approvals of this process. Runs wait on the engine's loop; answers may come from
    any thread (the window's): pending() and answer() are thread-safe, and an answer resolves
    the run's wait on the run's own loop. Listeners are called on the thread that made the
    change (the engine's for a request, the answering one for a decision)."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._pending: dict[int, tuple[ApprovalRequest, asyncio.Future[ApprovalDecision]]] = {}
        self._listeners: list[Listener] = []
        # The CLI answers by a flag or on its terminal; the app leaves this None and shows the
        # request in the window. None from it means "ask the usual way".
        self.auto_answer: (
            Callable[[ApprovalRequest], bool | Awaitable[bool | None] | None] | None
        ) = None

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Be told of new requests and of decisions; returns an unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def pending(self, run_id: str | None = None) -> list[ApprovalRequest]:
        with self._lock:
            entries = list(self._pending.values())
        return [
            r
            for r, future in entries
            if not future.done() and (run_id is None or r.run_id == run_id)
        ]

    async def request(self, run_id: str, tool: str, arguments: dict[str, Any]) -> bool:
        """Wait until the call is approved (True) or denied (False)."""
        return (await self.decide(run_id, tool, arguments)).approved

    async def decide(self, run_id: str, tool: str, arguments: dict[str, Any]) -> ApprovalDecision:
        """Wait for the answer, with who gave it and when (what the run records)."""
        request = ApprovalRequest(next(self._ids), run_id, tool, arguments, _now_ms())
        if self.auto_answer is not None:
            answer = self.auto_answer(request)
            if inspect.isawaitable(answer):
                answer = await answer
            if answer is not None:
                decision = ApprovalDecision(request, answer, "cli", _now_ms())
                self._notify(decision)
                return decision
        future: asyncio.Future[ApprovalDecision] = asyncio.get_running_loop().create_future()
        with self._lock:
            self._pending[request.id] = (request, future)
        self._notify(request)
        try:
            return await future
        finally:
            with self._lock:
                self._pending.pop(request.id, None)

    def answer(self, request_id: int, approved: bool, *, by: str = "user") -> bool:
        """Answer a pending request; False when it is no longer pending (run ended, killed)."""
        with self._lock:
            entry = self._pending.get(request_id)
            if entry is None or entry[1].done():
                return False
            request, future = entry
            del self._pending[request_id]  # no longer pending, even before the run resumes
        decision = ApprovalDecision(request, approved, by, _now_ms())
        loop = future.get_loop()
        if _running_loop() is loop:
            _resolve(future, decision)
        else:
            try:
                loop.call_soon_threadsafe(_resolve, future, decision)
            except RuntimeError:  # the engine's loop closed: the run is gone anyway
                return False
        self._notify(decision)
        return True

    def _notify(self, item: ApprovalRequest | ApprovalDecision) -> None:
        for listener in list(self._listeners):
            try:
                listener(item)
            except Exception:  # a broken view must not stop a run
                log.exception("approval listener failed")


def _resolve(future: asyncio.Future[ApprovalDecision], decision: ApprovalDecision) -> None:
    if not future.done():  # a kill may have cancelled the wait meanwhile
        future.set_result(decision)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _now_ms() -> int:
    return int(time.time() * 1000)


def approval_record(decision: ApprovalDecision) -> dict[str, Any]:
    """What a tool action keeps of its approval: who answered (where, and the OS account this
    process runs as) and when it was asked and answered."""
    return {
        "approval_by": decision.by,
        "approval_account": _account(),
        "approval_requested_at": decision.request.requested_at_ms,
        "approval_decided_at": decision.decided_at_ms,
    }


def _account() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # no login name (a container without USER, an odd platform)
        return None
