"""Tool calls that wait for the user: a run asks, the UI (or the CLI) answers.

A tool marked "approve" pauses its run until someone approves or denies the call; a denial
becomes a blocked action and the model is told the user said no. Kill still works while a run
waits: the wait is cancelled with the rest of the run.
"""

from __future__ import annotations

import asyncio
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
    by: str  # "user" | "cli" | "policy"


Listener = Callable[[ApprovalRequest | ApprovalDecision], None]


class ApprovalBroker:
    """Pending approvals of this process. Runs wait on the engine's loop; answers may come from
    any thread (the window's): pending() and answer() are thread-safe, and an answer resolves
    the run's wait on the run's own loop. Listeners are called on the thread that made the
    change (the engine's for a request, the answering one for a decision)."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._pending: dict[int, tuple[ApprovalRequest, asyncio.Future[bool]]] = {}
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
        request = ApprovalRequest(next(self._ids), run_id, tool, arguments, int(time.time() * 1000))
        if self.auto_answer is not None:
            answer = self.auto_answer(request)
            if inspect.isawaitable(answer):
                answer = await answer
            if answer is not None:
                self._notify(ApprovalDecision(request, answer, "cli"))
                return answer
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
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
        loop = future.get_loop()
        if _running_loop() is loop:
            _resolve(future, approved)
        else:
            try:
                loop.call_soon_threadsafe(_resolve, future, approved)
            except RuntimeError:  # the engine's loop closed: the run is gone anyway
                return False
        self._notify(ApprovalDecision(request, approved, by))
        return True

    def _notify(self, item: ApprovalRequest | ApprovalDecision) -> None:
        for listener in list(self._listeners):
            try:
                listener(item)
            except Exception:  # a broken view must not stop a run
                log.exception("approval listener failed")


def _resolve(future: asyncio.Future[bool], approved: bool) -> None:
    if not future.done():  # a kill may have cancelled the wait meanwhile
        future.set_result(approved)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
