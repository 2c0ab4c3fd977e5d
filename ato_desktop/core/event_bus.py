"""The in-process event bus: the only way views and services learn about changes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ato_desktop.core.events import DomainEvent

log = logging.getLogger(__name__)

Subscriber = Callable[[DomainEvent], None]


class EventBus:
    """Thread-safe publish/subscribe.

    Subscribers are called on the publishing thread (the store's writer thread), so they must be
    quick and hand work over to their own thread or loop (asyncio's call_soon_threadsafe, a Qt
    queued signal). A failing subscriber is logged and never stops the others.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: tuple[Subscriber, ...] = ()

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Add a subscriber; returns a function that removes it."""
        with self._lock:
            self._subscribers = (*self._subscribers, callback)

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers = tuple(s for s in self._subscribers if s is not callback)

        return unsubscribe

    def publish(self, event: DomainEvent) -> None:
        for callback in self._subscribers:
            try:
                callback(event)
            except Exception:  # a broken view must not break the writer
                log.exception("event subscriber failed on %s", type(event).__name__)
