"""Crossing from the engine's thread back to the UI thread: callbacks and streamed text.

The engine runs on a loop of its own (engine/engine_loop.py). What it calls back into the window
(a run started, a batch's progress, the text of a stream) arrives on the engine's thread, where no
widget may be touched. `UiInvoker` posts a call to the UI thread through one queued signal.
`TextRelay` does the same for streamed text, coalesced: deltas collect in a buffer and reach the
widget at most once a frame (16 ms), all streams in one call a frame, so fifty streams cost the UI
thread one wake-up a frame, while an answer still appears token by token to the eye.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, Signal

log = logging.getLogger(__name__)

FRAME_S = 0.016


class UiInvoker(QObject):
    """Runs callables on the thread this object lives on (the UI thread), posted from any, in
    the order they were posted. drain() runs what is still waiting at once: the context calls it
    when an engine call returns, so a job's last progress callbacks come before its result."""

    _sig_wake = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._calls: deque[Callable[[], Any]] = deque()
        self._woken = False
        self._sig_wake.connect(self.drain)

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Call fn(*args) on the UI thread soon."""
        with self._lock:
            self._calls.append(functools.partial(fn, *args))
            if self._woken:
                return
            self._woken = True
        self._sig_wake.emit()

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., None]:
        """A function that, called from any thread, calls fn on the UI thread."""

        def posted(*args: Any) -> None:
            self.post(fn, *args)

        return posted

    def drain(self) -> None:
        """Run every posted call now (on the UI thread)."""
        while True:
            with self._lock:
                if not self._calls:
                    self._woken = False
                    return
                call = self._calls.popleft()
            try:
                call()
            except Exception:  # one broken callback must not drop the others
                log.exception("a callback from the engine failed")


class _FrameClock(QObject):
    """Flushes every TextRelay with text waiting, all in one call on the UI thread, at most once a
    frame. One wake-up a frame for all streams, not one per stream: each call into Python from the
    Qt loop takes the GIL, which the engine thread holds much of the time while it streams."""

    _sig_wake = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._waiting: dict[int, TextRelay] = {}
        self._woken = False
        self._last_flush = 0.0
        # Precise and checked again when it fires: a coarse timer may fire 5 % early, and two
        # hand-overs must be a frame apart.
        self._timer = QTimer(self, singleShot=True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._on_wake)
        self._sig_wake.connect(self._on_wake)

    def request(self, relay: TextRelay) -> None:
        with self._lock:
            self._waiting[id(relay)] = relay
            if self._woken:
                return
            self._woken = True
        self._sig_wake.emit()  # queued to the UI thread when pushed from the engine's

    def _on_wake(self) -> None:
        wait = self._last_flush + FRAME_S - time.perf_counter()
        if wait > 0:
            if not self._timer.isActive():
                self._timer.start(max(1, math.ceil(wait * 1000)))
            return
        self._flush_all()

    def _flush_all(self) -> None:
        with self._lock:
            relays = list(self._waiting.values())
            self._waiting.clear()
            self._woken = False
        self._last_flush = time.perf_counter()
        for relay in relays:
            try:
                relay.flush()
            except Exception:  # one broken sink must not hold up the other streams
                log.exception("streamed text could not be shown")


_clock: _FrameClock | None = None


def _frame_clock() -> _FrameClock:
    """The UI thread's one frame clock (made on first use, by a relay made there)."""
    global _clock
    if _clock is None or not shiboken6.isValid(_clock):
        _clock = _FrameClock()
    return _clock


class TextRelay(QObject):
    """Streamed text from the engine's thread to a widget, at most one update per frame.

    push() may be called from any thread. The sink is called on the UI thread with all the text
    that arrived since its last call; every relay with text waiting is flushed by one frame clock
    (one call a frame for all streams). flush() hands over what is buffered at once (call it when
    the stream ended, before showing the result). `latencies_ms` keeps, per update, how long the
    oldest delta in it waited (delta received -> handed to the widget): the benchmark reads it.
    """

    def __init__(self, sink: Callable[[str], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sink = sink
        self._lock = threading.Lock()
        self._parts: list[str] = []
        self._first_at: float | None = None
        self._scheduled = False
        self._closed = False
        self.latencies_ms: list[float] = []
        self._clock = _frame_clock()  # made here, on the UI thread
        # Deleted with its parent (the widget's page): the clock may still hold it, and its
        # sink must not be called then.
        gone = self._gone = [False]
        self.destroyed.connect(lambda *_: gone.__setitem__(0, True))

    def push(self, text: str) -> None:
        if not text:
            return
        with self._lock:
            self._parts.append(text)
            if self._first_at is None:
                self._first_at = time.perf_counter()
            if self._scheduled:
                return
            self._scheduled = True
        self._clock.request(self)

    def flush(self) -> None:
        """Hand everything buffered to the sink now (on the UI thread)."""
        with self._lock:
            parts, self._parts = self._parts, []
            first, self._first_at = self._first_at, None
            self._scheduled = False
        if not parts or self._closed or self._gone[0]:
            return
        if first is not None:
            self.latencies_ms.append((time.perf_counter() - first) * 1000)
            del self.latencies_ms[:-10_000]
        self._sink("".join(parts))

    def close(self) -> None:
        """No more text reaches the sink (its widget is gone)."""
        self._closed = True
