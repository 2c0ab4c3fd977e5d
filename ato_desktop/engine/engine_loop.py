"""The engine's own event loop, on a thread of its own (the desktop app).

The app runs two loops, one job each. The UI thread runs Qt and the UI's own coroutines (qasync)
and only paints; the engine (the dispatcher, the runtimes' SDK streams, the tool loop and its MCP
sessions, the scheduler, hooks, the online judge, the sync worker) runs here. Parsing every delta
of fifty streams on the UI thread bounded how soon the window could paint.

Crossing is explicit and small: `submit(coro)` runs a coroutine here and returns a
concurrent.futures.Future (the UI awaits it with `asyncio.wrap_future`; cancelling that cancels
the task here); `call(fn, *args)` runs a plain function here (anything that touches the engine's
asyncio objects: a kill cancels tasks, an approval resolves a future). Engine -> UI goes through
the event bus (ui/bridge.py) and, for streamed text, a relay that coalesces it per frame.

The CLI needs none of this: it runs the same engine on the loop of `asyncio.run`.

Both threads run Python under one GIL. When the UI thread wakes (a timer, a paint, the frame
clock's text) while the engine holds the GIL, it waits until the engine lets it go: at the latest
after the interpreter's switch interval, 5 ms by default, at every entry into Python. Once the
engine runs, the switch interval is 1 ms (bench_event_loop: the lag's p99 about halved under 50
streams; the engine's streams end in the same time).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


class EngineLoop:
    """An asyncio loop running forever on a daemon thread, until stop()."""

    SWITCH_INTERVAL_S = 0.001

    def __init__(self, name: str = "ato-engine") -> None:
        sys.setswitchinterval(min(sys.getswitchinterval(), self.SWITCH_INTERVAL_S))
        self._loop = asyncio.new_event_loop()
        self._loop.set_default_executor(
            concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="ato-engine-io")
        )
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._ready.wait()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def in_engine(self) -> bool:
        """True on the engine's own thread."""
        return threading.current_thread() is self._thread

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(self._ready.set)
        try:
            self._loop.run_forever()
        finally:
            try:
                self._loop.run_until_complete(self._loop.shutdown_asyncgens())
                self._loop.run_until_complete(self._loop.shutdown_default_executor())
            finally:
                self._loop.close()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run coro on the engine loop; its future resolves with the result (or exception)."""
        if self._loop.is_closed():
            coro.close()
            future: concurrent.futures.Future[T] = concurrent.futures.Future()
            future.set_exception(RuntimeError("the engine has stopped"))
            return future
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def call(
        self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> concurrent.futures.Future[T]:
        """Run a plain function on the engine's thread (at once when already there)."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:
                future.set_exception(exc)

        if self.in_engine():
            run()
        elif self._loop.is_closed():
            future.set_exception(RuntimeError("the engine has stopped"))
        else:
            self._loop.call_soon_threadsafe(run)
        return future

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await coro, run on the engine loop, from another loop (the UI's)."""
        return await asyncio.wrap_future(self.submit(coro))

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop (after the caller closed what runs on it) and wait for the thread."""
        if self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
