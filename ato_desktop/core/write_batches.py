"""How much a bulk write job may carry, so no transaction holds the log for long.

Every process shares one log, and a write transaction blocks every other writer: a dispatch
ending elsewhere waits behind it (and gives up after the busy timeout). Bulk work (retention's
removals, archive imports) is therefore cut into jobs sized by rows, and the size follows what
the jobs measure: a job that took longer than the target makes the next one smaller, a quick
one lets it grow, within bounds. Whole runs stay together (a run with its actions is never
split), so a job holds at least one run whatever its size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

# A write job should hold the log for about this long: short enough that another process's
# write (a run ending) waits a fraction of a second, long enough to keep the per-job overhead
# (a commit, an fsync) small.
TARGET_JOB_S = 0.15
# After each job the bulk writer pauses this share of the job's time: another process waiting
# for the lock polls it (SQLite's busy handler sleeps between tries), and a writer that takes
# the lock back at once could keep it from getting in for many jobs in a row.
PAUSE_SHARE = 0.3
START_ROWS = 500
MIN_ROWS = 20
MAX_ROWS = 20_000


@dataclass(slots=True)
class RowBudget:
    """The rows the next job may carry, adjusted from each job's measured time."""

    target_s: float = TARGET_JOB_S
    rows: int = START_ROWS
    min_rows: int = MIN_ROWS
    max_rows: int = MAX_ROWS

    def pause_after(self, seconds: float) -> float:
        """How long to leave the log to others after a job that took seconds."""
        return min(self.target_s, max(0.0, seconds)) * PAUSE_SHARE

    def record(self, rows_done: int, seconds: float) -> None:
        """A job carried rows_done rows in seconds: aim the next at target_s."""
        if rows_done <= 0 or seconds <= 0:
            return
        fitting = int(rows_done * self.target_s / seconds)
        # Shrink at once when a job overran; grow at most twofold a step (one quick job on a
        # warm cache says little about the next).
        wanted = fitting if fitting < self.rows else min(fitting, self.rows * 2)
        self.rows = max(self.min_rows, min(self.max_rows, wanted))


def batches(
    items: Iterable[T], budget: RowBudget, rows_of: Callable[[T], int], max_items: int
) -> Iterator[list[T]]:
    """items in lists of at most max_items whose rows stay within budget.rows (read afresh for
    every list, so a budget adjusted meanwhile applies to the next); an item larger than the
    budget goes alone."""
    pending: list[T] = []
    rows = 0
    for item in items:
        size = max(1, rows_of(item))
        if pending and (rows + size > budget.rows or len(pending) >= max_items):
            yield pending
            pending, rows = [], 0
        pending.append(item)
        rows += size
    if pending:
        yield pending
