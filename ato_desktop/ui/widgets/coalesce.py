"""Coalescing a stream of events into timed work without starving it.

A single-shot timer restarted on every event (a debounce) never fires while events keep coming:
with another process writing a run every 50 ms, a 60 ms reload timer would wait for a pause that
never comes, and the view would never change. Views that follow the event bridge poke their
timer instead: it starts when idle and is left running otherwise, so the work runs once per
interval however fast the events come (a throttle), and at most one interval after the first.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer


def poke(timer: QTimer) -> None:
    """Start timer unless it is already counting down."""
    if not timer.isActive():
        timer.start()


def fire_soon(timer: QTimer) -> None:
    """Run the timer's work on the next turn of the event loop, keeping its interval.

    `timer.start(0)` would do it once, but it also sets the interval to 0 for good: every
    later poke would then run the work at once, per event, with no coalescing at all."""
    timer.stop()
    QTimer.singleShot(0, timer, timer.timeout.emit)
