"""The event bus: the only way views and services learn about changes.

Events come from this process's writes (published by the store's writer thread after COMMIT) and
from other processes' writes (published by the change feed's thread, store/change_feed.py, which
follows the records every write leaves in the log). Views want both; a service that *acts* on an
event (fires a hook, judges a run) subscribes with `local_only=True`, so the work is done once, by
the process that made the change, and never again by every process that hears of it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:  # the events' classes load with the writer, not with every reader
    from ato_desktop.core.events import DomainEvent


Subscriber = Callable[["DomainEvent"], None]


class EventBus:
    """Thread-safe publish/subscribe.

    Subscribers are called on the publishing thread (the store's writer thread, or the change
    feed's), so they must be quick and hand work over to their own thread or loop (asyncio's
    call_soon_threadsafe, a Qt queued signal). A failing subscriber is logged and never stops the
    others.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: tuple[tuple[Subscriber, bool], ...] = ()

    def subscribe(self, callback: Subscriber, *, local_only: bool = False) -> Callable[[], None]:
        """Add a subscriber (local_only: only this process's own changes); returns a function
        that removes it."""
        entry = (callback, local_only)
        with self._lock:
            self._subscribers = (*self._subscribers, entry)

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers = tuple(s for s in self._subscribers if s is not entry)

        return unsubscribe

    def publish(self, event: DomainEvent, *, foreign: bool = False) -> None:
        """Call every subscriber; foreign=True for another process's change (the change feed)."""
        for callback, local_only in self._subscribers:
            if foreign and local_only:
                continue
            try:
                callback(event)
            except Exception:  # a broken view must not break the writer
                import logging  # here: a process whose subscribers never fail never loads it

                logging.getLogger(__name__).exception(
                    "event subscriber failed on %s", type(event).__name__
                )
