"""Run a page's log work as a task that stops quietly when the log closes under it (quitting)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from ato_desktop.store.database import StoreError
from ato_desktop.ui.context import AppContext

T = TypeVar("T")


def spawn_log_task(
    ctx: AppContext, work: Callable[[], Coroutine[Any, Any, T]], *, what: str
) -> asyncio.Task[T | None] | None:
    """ctx.spawn(work()), except that nothing runs once the log has closed, and a read refused
    because it closed meanwhile ends the task silently: events that arrive while the app quits
    can ask for a reload after the log closed, and that is not an error worth a dialog.
    """
    if log_closed(ctx):
        return None

    async def guarded() -> T | None:
        try:
            return await work()
        except (RuntimeError, StoreError):
            if log_closed(ctx):
                return None
            raise

    return ctx.spawn(guarded(), what=what)


def log_closed(ctx: AppContext) -> bool:
    store = getattr(ctx.workspace, "store", None)
    return store is None or bool(store.closed)


class Generations:
    """Numbers the loads of one kind, so only the newest applies its result: reads run on a
    pool and can finish out of order."""

    def __init__(self) -> None:
        self._latest = 0

    def next(self) -> int:
        self._latest += 1
        return self._latest

    def is_latest(self, generation: int) -> bool:
        return generation == self._latest

    def spawn_read(
        self,
        ctx: AppContext,
        read: Callable[[Any], T],
        apply: Callable[[T], object],
        *,
        what: str,
    ) -> None:
        """A load of this kind: read(store) on a reader thread, then apply(result) unless a newer
        load started meanwhile. Nothing happens while no log is open."""
        if ctx.workspace is None:
            return

        async def load() -> None:
            generation = self.next()
            value = await ctx.read(read, ctx.opened_workspace.store)
            if self.is_latest(generation):
                apply(value)

        spawn_log_task(ctx, load, what=what)
