"""The run list: a table model that pages in runs off the UI thread, in any order of
core.run_sort, and can show any row of a million at once.

Pages are read by `ExecutionLog.list_runs` on a reader thread, already formatted into display
rows there, so `data()` only indexes tuples. Each filter or sort change bumps a generation
counter; a page that arrives for an older generation is dropped.

Reaching any row: until the count of matching runs is known the list grows a page at a time
from the top (keyset pages, as the view scrolls). Once the page hands the count over
(`set_total`), every row exists: loaded ones in blocks, the others as placeholders. Painting a
placeholder asks for its rows (and a scroll asks at once for those in sight), read from the
nearest known place: the top, the end (the order read backwards), the edge of a loaded block,
or one of the places mapped every ANCHOR_EVERY rows by one walk of the order after the count;
the rows between are skipped inside the index walk (store.run_listing), so a jump to the end or
a drag of the scrollbar to anywhere reads one page. Live runs are folded in with `upsert` (the
page decides when, from the bridge's events).
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor

from ato_desktop.core.figures import DASH, rate_text
from ato_desktop.core.records import RunCursor, RunFilter, RunRecord
from ato_desktop.core.run_filter import run_matches
from ato_desktop.core.run_sort import DEFAULT_SORT, RunSort, cursor_after, order_key
from ato_desktop.core.timefmt import human_duration
from ato_desktop.store import run_listing
from ato_desktop.ui.runs.columns import alignment, header_data, id_font
from ato_desktop.ui.runs.formatting import (
    cost_cell,
    elapsed,
    full_time,
    local_time,
    now_ms,
    short_id,
)
from ato_desktop.ui.theme import current_theme
from ato_desktop.ui.widgets.background import BackgroundWork
from ato_desktop.ui.widgets.status_badge import COST_ESTIMATED_ROLE, STATUS_ROLE, status_label

_ROOT = QModelIndex()  # the default parent (one instance, never changed)

log = logging.getLogger(__name__)

PAGE_SIZE = 200
FIRST_PAGE_SIZE = 100  # a screenful and then some: the first rows show sooner
MAX_LOADED_ROWS = 20_000  # blocks far from the rows asked for last are dropped beyond this
ANCHOR_EVERY = 2_000  # a known place every this many rows: a jump skips at most half of it
PLACEHOLDER = "…"
_WANTED_ASKS = 3  # the newest asks: the older ones were scrolled past
FETCH_MARGIN = 30  # rows read beyond the shown ones, either side, so a small scroll needs none

COLUMNS = ("Run", "Agent", "Status", "Duration", "Actions", "Cost", "Success", "Started", "Ended")
(
    COL_RUN,
    COL_AGENT,
    COL_STATUS,
    COL_DURATION,
    COL_ACTIONS,
    COL_COST,
    COL_SUCCESS,
    COL_STARTED,
    COL_ENDED,
) = range(len(COLUMNS))
_RIGHT = {COL_DURATION, COL_ACTIONS, COL_COST, COL_SUCCESS}

# The sort key of each column, and the direction of its first click (highest first, but agents
# and statuses A to Z). The Run column does not sort.
SORT_COLUMNS: dict[int, str] = {
    COL_AGENT: "agent",
    COL_STATUS: "status",
    COL_DURATION: "duration",
    COL_ACTIONS: "actions",
    COL_COST: "cost",
    COL_SUCCESS: "success",
    COL_STARTED: "started",
    COL_ENDED: "ended",
}
FIRST_CLICK_DESCENDING = {"agent": False, "status": False}


def column_of_sort(key: str) -> int:
    return next(col for col, k in SORT_COLUMNS.items() if k == key)


RUN_ROLE = int(Qt.ItemDataRole.UserRole) + 1  # RunRecord
RUN_ID_ROLE = int(Qt.ItemDataRole.UserRole) + 2
AGENT_ID_ROLE = int(Qt.ItemDataRole.UserRole) + 3


@dataclass(frozen=True, slots=True)
class RunRow:
    """A run with its display texts, built off the UI thread."""

    run: RunRecord
    texts: tuple[str, ...]
    cost_estimated: bool
    tooltip: str


def build_row(run: RunRecord, now: int) -> RunRow:
    """Pure Python (reader threads call it): every text a cell shows."""
    cost_text, estimated = cost_cell(run.cost_usd, run.cost_source)
    # The no-agent path (runtime + model) shows what ran instead of a name.
    agent = run.agent_name or (f"{run.runtime} · {run.model}" if not run.agent_id else DASH)
    texts = (
        short_id(run.id),
        agent,
        status_label(run.status),
        human_duration(run.duration_ns) if run.status != "running" else "",
        f"{run.action_count:,}",
        cost_text,
        rate_text(run.success_rate),
        local_time(run.started_at, now),
        local_time(run.ended_at, now) if run.ended_at else DASH,
    )
    lines = [f"Run {run.id}", f"{run.runtime} · {run.model} · trigger {run.trigger}"]
    if run.agent_name:
        version = f" v{run.agent_version}" if run.agent_version is not None else ""
        lines.append(f"Agent {run.agent_name}{version}")
    if run.error_class or run.error_message:
        lines.append(f"Error: {run.error_class or ''} {run.error_message or ''}".strip())
    return RunRow(run, texts, estimated, "\n".join(lines))


def load_anchors(store: Any, flt: RunFilter, sort: RunSort, cancelled: Any) -> list[Any]:
    """(position, cursor) every ANCHOR_EVERY rows of the order (on a reader thread)."""
    return run_listing.anchors(store.reader(), flt, sort, ANCHOR_EVERY, cancelled=cancelled)


def load_rows_page(
    store: Any,
    flt: RunFilter,
    after: RunCursor | None,
    limit: int,
    sort: RunSort = DEFAULT_SORT,
    offset: int = 0,
    backwards: bool = False,
) -> list[RunRow]:
    """One page of display rows (runs on a reader thread), in list order."""
    now = now_ms()
    runs = store.list_runs(
        flt, after=after, limit=limit, sort=sort, offset=offset, backwards=backwards
    )
    rows = [build_row(run, now) for run in runs]
    return rows[::-1] if backwards else rows


def _block_start(block: _Block) -> int:
    return block.start


@dataclass(slots=True)
class _Block:
    """Loaded rows at positions start .. start + len(rows) - 1, in list order."""

    start: int
    rows: list[RunRow] = field(default_factory=list)

    @property
    def end(self) -> int:
        return self.start + len(self.rows)


class RunsTableModel(QAbstractTableModel):
    """Runs matching a filter in a sort order: a page at a time from the top until the count is
    known (`set_total`), then every row, loaded as it is shown."""

    sig_page_loaded = Signal(int, bool)  # rows now loaded, whether it was the first page
    sig_load_failed = Signal(str)
    sig_rows_changed = Signal()  # live inserts/removals (the page recounts)
    sig_sort_changed = Signal(object)  # RunSort

    def __init__(self, ctx: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.work = BackgroundWork(self, ctx)
        self._flt = RunFilter()
        self._sort = DEFAULT_SORT
        self._blocks: list[_Block] = [_Block(0)]  # the top block is always there (may be empty)
        self._hit: _Block | None = None  # the block _block_at found last
        self._total: int | None = None  # every row exists once known
        self._generation = 0
        self._loading = False  # the next page from the top
        self._exhausted = True  # nothing to fetch until a filter is set
        self._started = False
        self._ids: dict[str, RunRow] = {}
        self._wanted: dict[tuple[int, int], None] = {}  # rows asked for (lo, hi), newest last
        self._fetching: int | None = None  # the page being read by position
        self._anchors: list[tuple[int, RunCursor]] = []  # known places: (position, cursor)
        self._want_timer = QTimer(self, singleShot=True, interval=15)
        self._want_timer.timeout.connect(self._fetch_wanted)
        self._mono = id_font()

    # -- filter, sort and loading ---------------------------------------------------------------

    @property
    def filter(self) -> RunFilter:
        return self._flt

    @property
    def sort_order(self) -> RunSort:
        return self._sort

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def loading(self) -> bool:
        return self._loading or self._fetching is not None

    @property
    def exhausted(self) -> bool:
        return self._exhausted

    @property
    def total(self) -> int | None:
        return self._total

    def set_filter(self, flt: RunFilter) -> None:
        """Show the runs matching flt: drop the rows now and load the first page."""
        self._flt = flt
        self._restart()

    def set_sort(self, sort: RunSort) -> None:
        """Order the list by sort (rows reload when a filter was set)."""
        if sort == self._sort:
            return
        self._sort = sort
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(COLUMNS) - 1)
        self.sig_sort_changed.emit(sort)
        if self._started:
            self._restart()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        key = SORT_COLUMNS.get(column)
        if key is not None:
            self.set_sort(RunSort(key, descending=order == Qt.SortOrder.DescendingOrder))

    def reload(self) -> None:
        self.set_filter(self._flt)

    def _restart(self) -> None:
        self._generation += 1
        self._started = True
        self.beginResetModel()
        self._blocks = [_Block(0)]
        self._hit = None
        self._ids = {}
        self._anchors = []
        self._total = None
        self._wanted = {}
        self._fetching = None
        self._loading = False
        self._exhausted = False
        self.endResetModel()
        self._start_load()

    def set_total(self, total: int, generation: int | None = None) -> None:
        """How many runs match (counted for generation): from now on every row exists, and
        the rows not loaded yet are read as they are shown."""
        if generation is not None and generation != self._generation:
            return  # counted for an older filter or sort
        if not self._started:
            return
        loaded_end = self._blocks[-1].end if self._blocks else 0
        if self._total is None:
            if total <= loaded_end and not self._exhausted:
                return  # a newer page already holds more than this count saw
            if self._exhausted:
                total = loaded_end  # everything is loaded: the rows are the truth
            self._total = loaded_end
            self._exhausted = True
            self._resize(total)
            if total > 2 * ANCHOR_EVERY and self._ctx.workspace is not None:
                self._ctx.spawn(self._read_anchors(self._generation), what="map the run list")
            return
        if total != self._total:
            self._resize(total)

    def _resize(self, total: int) -> None:
        """Make the list total rows long by growing or shrinking the unloaded rows at its end;
        when loaded rows reach past the new end, they are out of date: start over."""
        assert self._total is not None
        if total > self._total:
            self.beginInsertRows(_ROOT, self._total, total - 1)
            self._total = total
            self.endInsertRows()
        elif total < self._total:
            loaded_end = self._blocks[-1].end if self._blocks else 0
            if loaded_end <= total:
                self.beginRemoveRows(_ROOT, total, self._total - 1)
                self._total = total
                self.endRemoveRows()
            else:
                self.beginResetModel()
                self._blocks = [_Block(0)]
                self._hit = None
                self._ids = {}
                self._anchors = []
                self._total = total
                self.endResetModel()

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> bool:
        return (
            not parent.isValid()
            and self._total is None
            and not self._exhausted
            and not self._loading
            and self.loaded_count() > 0  # the first page is asked for by set_filter, not the view
        )

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> None:
        if self.canFetchMore(parent):
            self._start_load()

    def _start_load(self) -> None:
        if self._loading or self._exhausted or self._ctx.workspace is None:
            return
        self._loading = True
        last = self._blocks[0].rows[-1].run if self._blocks[0].rows else None
        after = cursor_after(last, self._sort) if last is not None else None
        limit = PAGE_SIZE if after is not None else FIRST_PAGE_SIZE
        store = self._ctx.workspace.store
        # Started at once (submit_read): a coroutine's read would start on the loop's next
        # turn, after whatever it does first (the emptied list's paint, a chart's redraw).
        try:
            future = store.submit_read(load_rows_page, store, self._flt, after, limit, self._sort)
        except RuntimeError:  # the log was closed (the app or the workspace is closing)
            self._loading = False
            return
        self._ctx.spawn(self._load(self._generation, after, limit, future), what="load runs")

    async def _load(
        self, generation: int, after: RunCursor | None, limit: int, future: Any
    ) -> None:
        try:
            rows = await asyncio.wrap_future(future)
        except Exception as exc:
            if not self.work.alive() or self._ctx.closing:
                return  # the list is gone, or the app is quitting
            log.exception("could not load runs")
            if generation == self._generation:
                self._loading = False
                self._exhausted = True
                self.sig_load_failed.emit(str(exc) or type(exc).__name__)
            return
        if not self.work.alive():
            return
        if generation != self._generation:
            return  # a newer filter replaced this one while the page was being read
        if self._total is not None:
            # The count came meanwhile: these rows go where they belong, as a positional read.
            self._loading = False
            self._place(self._blocks[0].end, rows)
            self.sig_page_loaded.emit(self.loaded_count(), after is None)
            return
        self._exhausted = len(rows) < limit
        fresh = [row for row in rows if row.run.id not in self._ids]
        if fresh:
            block = self._blocks[0]
            start = block.end
            self.beginInsertRows(QModelIndex(), start, start + len(fresh) - 1)
            block.rows.extend(fresh)
            for row in fresh:
                self._ids[row.run.id] = row
            self.endInsertRows()
        # Only now: a view asking for more while the rows go in must not read this page again.
        self._loading = False
        self.sig_page_loaded.emit(self.loaded_count(), after is None)

    # -- rows by position -----------------------------------------------------------------------

    def loaded_count(self) -> int:
        return sum(len(block.rows) for block in self._blocks)

    def _block_at(self, row: int) -> _Block | None:
        # Painting asks for the cells of a few rows in a row, many roles each: the block that
        # answered last is checked first (blocks in the list only; any change of it resets it).
        hit = self._hit
        if hit is not None and hit.start <= row < hit.start + len(hit.rows):
            return hit
        i = bisect.bisect_right(self._blocks, row, key=_block_start) - 1
        if i >= 0 and row < self._blocks[i].end:
            self._hit = self._blocks[i]
            return self._hit
        return None

    def _row(self, row: int) -> RunRow | None:
        block = self._block_at(row)
        return block.rows[row - block.start] if block is not None else None

    def is_loaded(self, row: int) -> bool:
        return self._row(row) is not None

    def ensure_rows(self, first: int, last: int, *, now: bool = False) -> None:
        """Ask for rows first..last (what the view shows) and a margin around them; now: read
        at once (the view scrolled) instead of after the paint that asked (a placeholder)."""
        if self._total is None or self._total == 0:
            return
        lo = max(0, min(first, last) - FETCH_MARGIN)
        hi = min(self._total, max(first, last) + FETCH_MARGIN + 1)
        if lo >= hi:
            return
        if self._wanted:
            newest = next(reversed(self._wanted))
            if newest[0] <= lo and hi <= newest[1]:
                lo, hi = newest  # painting the rows of the last ask: nothing new
            elif lo <= newest[1] and newest[0] <= hi:
                del self._wanted[newest]  # overlapping: one ask for both
                lo, hi = min(lo, newest[0]), max(hi, newest[1])
        self._wanted.pop((lo, hi), None)
        self._wanted[(lo, hi)] = None
        while len(self._wanted) > _WANTED_ASKS:  # passed by while dragging: no longer shown
            del self._wanted[next(iter(self._wanted))]
        if self._fetching is None:
            if now:
                self._fetch_wanted()
            elif not self._want_timer.isActive():
                self._want_timer.start()

    def _missing(self, lo: int, hi: int) -> tuple[int, int] | None:
        """The longest stretch of rows lo..hi not loaded, or None."""
        best: tuple[int, int] | None = None
        row = lo
        while row < hi:
            block = self._block_at(row)
            if block is not None:
                row = block.end
                continue
            later = [b.start for b in self._blocks if b.start > row and b.rows]
            end = min(hi, later[0]) if later else hi
            if best is None or end - row > best[1] - best[0]:
                best = (row, end)
            row = end
        return best

    def _fetch_wanted(self) -> None:
        if self._fetching is not None or self._total is None or self._ctx.workspace is None:
            return
        while self._wanted:
            lo, hi = next(reversed(self._wanted))  # the newest ask: where the user is now
            del self._wanted[(lo, hi)]
            missing = self._missing(lo, min(hi, self._total))
            if missing is not None:
                self._fetching = missing[0]
                self._read_stretch(*missing)
                return

    def _anchor(self, lo: int, hi: int) -> tuple[RunCursor | None, int, bool, int]:
        """The nearest known place to read lo..hi from: (cursor, rows to skip, backwards,
        position of the first row read)."""
        assert self._total is not None
        best: tuple[int, RunCursor | None, bool] = (lo, None, False)  # from the top
        from_end = self._total - hi
        if from_end < best[0]:
            best = (from_end, None, True)
        for block in self._blocks:
            if not block.rows:
                continue
            if block.end <= lo and lo - block.end < best[0]:
                best = (lo - block.end, cursor_after(block.rows[-1].run, self._sort), False)
            if block.start >= hi and block.start - hi < best[0]:
                best = (block.start - hi, cursor_after(block.rows[0].run, self._sort), True)
        for position, anchor in self._anchors:
            if position < lo and lo - position - 1 < best[0]:
                best = (lo - position - 1, anchor, False)  # the rows after the anchor's run
            if position >= hi and position - hi < best[0]:
                best = (position - hi, anchor, True)  # the rows before it
        skip, cursor, backwards = best
        return cursor, skip, backwards, lo

    async def _read_anchors(self, generation: int) -> None:
        """Known places every ANCHOR_EVERY rows (one walk of the order, off the UI thread),
        so later jumps skip at most half that many rows."""

        def stale() -> bool:
            return generation != self._generation

        try:
            found = await self.work.fetch(
                load_anchors, self._ctx.workspace.store, self._flt, self._sort, stale
            )
        except Exception:
            log.exception("could not map the run list")  # jumps read from the ends instead
            return
        if generation == self._generation:
            self._anchors = found

    def _read_stretch(self, lo: int, hi: int) -> None:
        """Read rows lo..hi from the nearest known place, starting the read at once."""
        cursor, skip, backwards, _ = self._anchor(lo, hi)
        store = self._ctx.workspace.store
        future = store.submit_read(
            load_rows_page, store, self._flt, cursor, hi - lo, self._sort, skip, backwards
        )
        self._ctx.spawn(
            self._stretch_read(self._generation, lo, hi, backwards, future), what="load runs"
        )

    async def _stretch_read(
        self, generation: int, lo: int, hi: int, backwards: bool, future: Any
    ) -> None:
        # The read was started at once (submit_read, not work.fetch), so only alive() applies.
        try:
            rows = await asyncio.wrap_future(future)
        except Exception as exc:
            log.exception("could not load runs")
            if self.work.alive() and generation == self._generation:
                self._fetching = None
                self.sig_load_failed.emit(str(exc) or type(exc).__name__)
            return
        if not self.work.alive() or generation != self._generation:
            return
        self._fetching = None
        start = hi - len(rows) if backwards else lo
        self._place(start, rows)
        self.sig_page_loaded.emit(self.loaded_count(), False)
        if self._wanted:
            self._want_timer.start()

    def _place(self, start: int, rows: list[RunRow]) -> None:
        """Put rows read by position at start.. (keeping the loaded ones they overlap)."""
        assert self._total is not None
        rows = [row for row in rows if row.run.id not in self._ids]
        if not rows or start >= self._total:
            return
        rows = rows[: self._total - start]
        new = _Block(start, rows)
        kept: list[_Block] = []
        for block in self._blocks:
            if block.end < new.start or block.start > new.end:
                kept.append(block)
                continue
            # Touching or overlapping: one block (loaded rows win where both have one).
            lo = min(block.start, new.start)
            merged: list[RunRow | None] = [None] * (max(block.end, new.end) - lo)
            for i, row in enumerate(new.rows):
                merged[new.start - lo + i] = row
            for i, row in enumerate(block.rows):
                merged[block.start - lo + i] = row
            if any(row is None for row in merged):
                kept.append(block)  # cannot happen for touching blocks; keep both as they are
                continue
            new = _Block(lo, [row for row in merged if row is not None])
        kept.append(new)
        kept.sort(key=lambda b: b.start)
        self._blocks = kept
        self._hit = None
        for row in rows:
            self._ids[row.run.id] = row
        self._evict(new)
        self.dataChanged.emit(
            self.index(start, 0), self.index(start + len(rows) - 1, len(COLUMNS) - 1), []
        )

    def _evict(self, keep: _Block) -> None:
        """Drop the blocks farthest from keep while more than MAX_LOADED_ROWS are loaded (the
        top page stays: live runs land there)."""
        while self.loaded_count() > MAX_LOADED_ROWS and len(self._blocks) > 2:
            candidates = [b for b in self._blocks if b is not keep and b.start != 0]
            if not candidates:
                return
            far = max(candidates, key=lambda b: abs(b.start - keep.start))
            self._blocks.remove(far)
            self._hit = None
            for row in far.rows:
                self._ids.pop(row.run.id, None)
            self.dataChanged.emit(
                self.index(far.start, 0), self.index(far.end - 1, len(COLUMNS) - 1), []
            )

    # -- live updates --------------------------------------------------------------------------

    def contains(self, run_id: str) -> bool:
        return run_id in self._ids

    def row_of(self, run_id: str) -> int | None:
        item = self._ids.get(run_id)
        if item is None:
            return None
        key = order_key(item.run, self._sort)
        for block in self._blocks:
            i = self._position_in(block, key)
            if i < len(block.rows) and block.rows[i].run.id == run_id:
                return block.start + i
        return None

    def _position_in(self, block: _Block, key: tuple[Any, ...]) -> int:
        """Index in block of the first row that does not come before key."""
        lo, hi = 0, len(block.rows)
        while lo < hi:
            mid = (lo + hi) // 2
            if order_key(block.rows[mid].run, self._sort) < key:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def upsert(self, run: RunRecord) -> None:
        """Fold a fresh copy of a run in: update it, move it where it now belongs, insert it,
        or drop it when it no longer matches the filter."""
        matches = run_matches(self._flt, run)
        row = self.row_of(run.id)
        if row is not None:
            old = self._ids[run.id].run
            if matches and order_key(old, self._sort) == order_key(run, self._sort):
                block = self._block_at(row)
                assert block is not None
                new = build_row(run, now_ms())
                block.rows[row - block.start] = new
                self._ids[run.id] = new
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1), [])
                return
            self._remove_row(row)
            self.sig_rows_changed.emit()
            if not matches:
                return
            new = build_row(run, now_ms())
            if not self._insert(new) and self._total is not None:
                self._grow_gap(order_key(run, self._sort))  # moved out of sight: keep the count
            return
        if not matches or (self._loading and not self.loaded_count()):
            return
        # Not loaded: new to the list, or somewhere in an unloaded stretch already; only a
        # place among loaded rows is sure (the recount settles the rest).
        if self._insert(build_row(run, now_ms())):
            self.sig_rows_changed.emit()

    def _remove_row(self, row: int) -> None:
        block = self._block_at(row)
        assert block is not None
        self.beginRemoveRows(QModelIndex(), row, row)
        removed = block.rows.pop(row - block.start)
        self._ids.pop(removed.run.id, None)
        for other in self._blocks:
            if other.start > block.start:
                other.start -= 1
        self._shift_anchors(row, -1)
        if not block.rows and block.start != 0:
            self._blocks.remove(block)
            self._hit = None
        if self._total is not None:
            self._total -= 1
        self.endRemoveRows()

    def _insert(self, new: RunRow) -> bool:
        """Insert a row where its key belongs among the loaded rows; False when that place is
        not loaded (a later read brings it)."""
        key = order_key(new.run, self._sort)
        if self._total is None:
            block = self._blocks[0]
            i = self._position_in(block, key)
            if i >= len(block.rows) and not self._exhausted:
                return False  # older than every loaded row: a later page brings it
            self._insert_at(block, i, new)
            return True
        for block in self._blocks:
            i = self._position_in(block, key)
            inside = 0 < i < len(block.rows)
            at_top = i == 0 and block.start == 0
            at_bottom = i == len(block.rows) and block.end == self._total
            if inside or at_top or at_bottom:
                self._insert_at(block, i, new)
                return True
        return False  # in a stretch not loaded: the recount makes room for it

    def _grow_gap(self, key: tuple[Any, ...]) -> None:
        """One more unloaded row in the stretch where key falls (before the first loaded block
        whose rows come after it, else at the end)."""
        assert self._total is not None
        after = [b for b in self._blocks if b.rows and order_key(b.rows[0].run, self._sort) > key]
        position = after[0].start if after else self._total
        self.beginInsertRows(QModelIndex(), position, position)
        for block in self._blocks:
            if block.start >= position:
                block.start += 1
        self._shift_anchors(position, 1)
        self._total += 1
        self.endInsertRows()

    def _insert_at(self, block: _Block, i: int, new: RunRow) -> None:
        position = block.start + i
        self.beginInsertRows(QModelIndex(), position, position)
        block.rows.insert(i, new)
        self._ids[new.run.id] = new
        for other in self._blocks:
            if other.start > block.start:
                other.start += 1
        self._shift_anchors(position, 1)
        if self._total is not None:
            self._total += 1
        self.endInsertRows()

    def _shift_anchors(self, position: int, by: int) -> None:
        """Rows inserted (by > 0) or removed at position move the known places after it."""
        self._anchors = [(p + by if p >= position else p, c) for p, c in self._anchors]

    def refresh_times(self) -> None:
        """Repaint the elapsed time of running rows (a clock tick, not a data read)."""
        for block in self._blocks:
            for i, item in enumerate(block.rows):
                if item.run.status == "running":
                    index = self.index(block.start + i, COL_DURATION)
                    self.dataChanged.emit(index, index, [int(Qt.ItemDataRole.DisplayRole)])

    # -- access --------------------------------------------------------------------------------

    def run_at(self, row: int) -> RunRecord | None:
        item = self._row(row) if row >= 0 else None
        return item.run if item is not None else None

    def running_count(self) -> int:
        return sum(1 for b in self._blocks for row in b.rows if row.run.status == "running")

    # -- QAbstractItemModel --------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        if parent.isValid():
            return 0
        if self._total is not None:
            return self._total
        return self._blocks[0].end if self._blocks else 0

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and section in SORT_COLUMNS:
            key = SORT_COLUMNS[section]
            if role == Qt.ItemDataRole.InitialSortOrderRole:
                descending = FIRST_CLICK_DESCENDING.get(key, True)
                return Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"Sort by {key} (click again for the other direction)"
        sorted_section = column_of_sort(self._sort.key)
        return header_data(COLUMNS, _RIGHT, section, orientation, role, sorted_section)

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        # The hot path of painting: no parent() call (a table's indexes have none), the loaded
        # row first, the bounds only for the rest.
        row, col = index.row(), index.column()
        item = self._row(row) if 0 <= col < len(COLUMNS) else None
        if item is None:
            if not index.isValid() or not 0 <= row < self.rowCount():
                return None
            if not 0 <= col < len(COLUMNS):
                return None
            if role == Qt.ItemDataRole.DisplayRole:
                if col == COL_RUN:
                    # Not read yet: ask for it (painting asks for exactly the rows shown).
                    self.ensure_rows(row, row)
                    return PLACEHOLDER
                return ""
            if role == Qt.ItemDataRole.ForegroundRole:
                return QColor(current_theme().text_muted)
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return alignment(col in _RIGHT)
            return None
        run = item.run
        if role == Qt.ItemDataRole.DisplayRole:
            if col == COL_DURATION and run.status == "running":
                return elapsed(run.started_at)
            return item.texts[col]
        if role == STATUS_ROLE:
            return run.status if col == COL_STATUS else None
        if role == COST_ESTIMATED_ROLE:
            return item.cost_estimated if col == COL_COST else None
        if role == RUN_ROLE:
            return run
        if role == RUN_ID_ROLE:
            return run.id
        if role == AGENT_ID_ROLE:
            return run.agent_id
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_STARTED:
                return full_time(run.started_at)
            if col == COL_ENDED:
                return full_time(run.ended_at) if run.ended_at else "Still running"
            if col == COL_AGENT and run.agent_id:
                return f"Open agent {run.agent_name or run.agent_id}"
            if col == COL_COST and run.cost_source:
                return f"Cost source: {run.cost_source}"
            return item.tooltip
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return alignment(col in _RIGHT)
        if role == Qt.ItemDataRole.ForegroundRole:
            theme = current_theme()
            if col == COL_AGENT and run.agent_id:
                return QColor(theme.accent)
            if col == COL_SUCCESS and run.success_rate is not None and run.success_rate < 0.5:
                return QColor(theme.failed)
            if col in (COL_RUN, COL_ENDED) or item.texts[col] == DASH:
                return QColor(theme.text_muted)
            return None
        if role == Qt.ItemDataRole.FontRole and col == COL_RUN:
            return self._mono
        if role == Qt.ItemDataRole.AccessibleTextRole and col == COL_STATUS:
            return status_label(run.status)
        return None
