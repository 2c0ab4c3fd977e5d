"""Background work of one widget, the one way views leave the UI thread (like Anki's QueryOp and
CollectionOp): a store read on a reader thread, or any other blocking call (a file, the keyring,
a settings file, a write through a service) on a worker thread.

A result comes back only while it still means something: once the widget is deleted, or when a
newer request of the same kind has started since (reads, and calls made with newest=True), the
rest of the work is dropped quietly by raising `Dropped` (a kind of cancellation, so the task
that awaited it ends without a dialog and no `except Exception` catches it). A failure is raised
as it came, so the caller's own `except` handles what it expects and `ctx.spawn` shows the rest,
the usual way. The calls into the engine's thread stay on `ctx.engine_run` / `engine_call`.

    work = BackgroundWork(self, ctx)
    rows = await work.read(store.list_things, filters)     # the newest read's rows, or Dropped
    count = await work.fetch(store.count_things)            # one of several reads at once
    saved = await work.call(save_settings, path, values)    # on a worker thread

`show` is the callback form for views that only fill themselves: the newest read's result is
applied, or its error text handed to `fail`.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

import shiboken6
from PySide6.QtCore import QObject

from ato_desktop.ui.context import AppContext

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


class Dropped(asyncio.CancelledError):
    """The widget is gone, or a newer request replaced this one: the rest is not done."""


class BackgroundWork:
    """The background work of one widget. `pending` counts the calls under way; on_busy is
    called whenever it changes (a busy line, a spinner)."""

    def __init__(
        self,
        widget: QObject,
        ctx: AppContext,
        *,
        on_busy: Callable[[], object] | None = None,
        log_level: int = logging.WARNING,
    ) -> None:
        # Weakly: a widget holds its BackgroundWork, and a cycle through a QObject would leave
        # its deletion to Python's cyclic collector, which may run on any thread (a QObject with
        # timers must be deleted on its own).
        self._widget = weakref.ref(widget)
        self._ctx = ctx
        self._on_busy = on_busy
        self._log_level = log_level
        self._latest = 0
        self.pending = 0

    def alive(self) -> bool:
        """The widget still exists (its C++ side was not deleted)."""
        widget = self._widget()
        return widget is not None and shiboken6.isValid(widget)

    def drop_pending(self) -> None:
        """What shows now must not be replaced by a request still under way."""
        self._latest += 1

    async def read(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """fn(*args) on a reader thread of the log (ctx.read); only the newest read returns.

        Raises Dropped when the widget is gone or a newer read (or drop_pending) came since,
        and also for an error once the log has closed (the app is quitting)."""
        work = self._ctx.read(fn, *args, **kwargs)
        return await self._finish(work, newest=True, of_log=True)

    async def fetch(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """fn(*args) on a reader thread of the log, like read(), but no newer request replaces
        it (one of several reads the widget makes at once); Dropped once the widget is gone."""
        work = self._ctx.read(fn, *args, **kwargs)
        return await self._finish(work, newest=False, of_log=True)

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """fn(*args) on a worker thread (asyncio.to_thread): a blocking call that is not a
        read of the log (a file, the keyring, a write). Raises Dropped when the widget is gone
        by then."""
        work = asyncio.to_thread(fn, *args, **kwargs)
        return await self._finish(work, newest=False, of_log=False)

    async def call_newest(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """call(), for a request that a newer one replaces (a lookup as the user types): also
        raises Dropped when a newer read or call_newest came since."""
        work = asyncio.to_thread(fn, *args, **kwargs)
        return await self._finish(work, newest=True, of_log=False)

    async def show(
        self,
        read: Callable[..., T],
        *args: Any,
        apply: Callable[[T], object],
        fail: Callable[[str], object],
        what: str = "",
    ) -> bool:
        """read(*args) on a reader thread, then apply(result) or fail(error text) if this is
        still the newest request and the widget is alive; True when the result was applied.
        `what` names it in the log."""
        try:
            value = await self.read(read, *args)
        except Dropped:
            return False
        except Exception as exc:  # a read error: say so, keep the app usable
            if what:
                log.log(self._log_level, "%s failed: %s", what, exc)
            fail(str(exc) or type(exc).__name__)
            return False
        apply(value)
        return True

    async def _finish(self, work: Awaitable[T], *, newest: bool, of_log: bool) -> T:
        if newest:
            self._latest += 1
        request = self._latest
        self._busy(+1)
        try:
            value = await work
        except Exception:
            if (
                not self._wanted(request, newest)
                or self._ctx.closing
                or (of_log and self._log_closed())
            ):
                raise Dropped() from None
            raise
        finally:
            self._busy(-1)
        if not self._wanted(request, newest):
            raise Dropped()
        return value

    def _wanted(self, request: int, newest: bool) -> bool:
        return self.alive() and (not newest or request == self._latest)

    def _log_closed(self) -> bool:
        workspace = self._ctx.workspace
        return workspace is None or bool(workspace.store.closed)

    def _busy(self, change: int) -> None:
        self.pending += change
        if self._on_busy is not None and self.alive():
            self._on_busy()
