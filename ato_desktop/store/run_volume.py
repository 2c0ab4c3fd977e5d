"""How many runs match the Runs page's filters, per time bucket and status: the Runs timeline's
bars and the page's count, from run_volume_rollups (migration 18), a few thousand rollup rows
at any size of log.

- Whole hours come from the rollup, which keeps each run's hour, status, agent, config
  version, whether it is a simulation replay, and cost band (how many of COST_BAND_EDGES are
  at or below its cost). A minimum cost on a band edge is a range of bands; between two edges,
  the runs of its own band that cost at least that much are counted through a cost index
  (cost and time a range of it, status and simulation checked in it).
- The part-hours at the window's edges, and the runs above run_rollup_mark (not folded in
  yet: a rowid range), are counted from the runs, each status through its own index range.
- Filters the rollup does not keep (tags, error class, duration, trigger, demo runs hidden)
  count the runs themselves, through the index their filter walks.

Read inside one snapshot (a read transaction): the rollup, its mark and the runs above it
must be read as of one commit, or another process folding meanwhile would have its runs
counted twice or not at all.
"""

from __future__ import annotations

import bisect
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from ato_desktop.core.log_records import RunFilter
from ato_desktop.core.run_filter import ALL_STATUSES, normalize_filter
from ato_desktop.store.run_listing import _cost_is_selective, _where
from ato_desktop.store.schema import COST_BAND_EDGES

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:
    from typing import Any, Final

HOUR_MS: Final = 3_600_000
# More runs than this above the mark (nobody folded them in: the charts and cost
# recommendations fold when they read) and a count reads them through the filter's index
# instead of the rowid range.
UNFOLDED_CAP: Final = 50_000
_ONE_BUCKET: Final = 1 << 62  # a bucket as long as all time: a count


@contextmanager
def snapshot(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One read transaction over several statements (see the module docstring)."""
    if conn.in_transaction:  # already inside one: it is the snapshot
        yield conn
        return
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        conn.execute("COMMIT")


def rollup_serves(flt: RunFilter) -> bool:
    """Whether run_volume_rollups keeps what flt filters on (statuses, agent, version, time,
    minimum cost, simulations)."""
    flt = normalize_filter(flt)
    return (
        not flt.tags
        and flt.error_class is None
        and flt.min_duration_ms is None
        and flt.trigger is None
        and flt.include_demo
    )


def cost_bands(min_cost: float) -> tuple[int, float | None]:
    """(the lowest band whose runs all cost at least min_cost, the upper end of the band below
    it when some of that band's runs do too, else None).

    A run's band is how many edges are at or below its cost; the band below the first whole
    one holds costs in [edge, next edge), some of them under min_cost unless it is an edge.
    """
    below = bisect.bisect_right(COST_BAND_EDGES, min_cost)  # min_cost's own band
    if below and COST_BAND_EDGES[below - 1] == min_cost:
        return below, None  # on an edge: its band's runs all qualify
    upper = COST_BAND_EDGES[below] if below < len(COST_BAND_EDGES) else float("inf")
    return below + 1, upper


def rollup_mark(conn: sqlite3.Connection) -> int:
    """The highest run_no folded into the rollups (runs above it are read from the log)."""
    row = conn.execute("SELECT run_no FROM run_rollup_mark WHERE id = 1").fetchone()
    return int(row[0]) if row else 0


def unfolded(conn: sqlite3.Connection) -> int:
    """How many runs (at most) wait above the mark."""
    (top,) = conn.execute("SELECT coalesce(max(run_no), 0) FROM runs").fetchone()
    return max(0, int(top) - rollup_mark(conn))


def count(conn: sqlite3.Connection, flt: RunFilter) -> int | None:
    """How many runs match flt, from the rollup; None when it does not keep flt's filters or
    too many runs wait above its mark (count them through an index instead)."""
    flt = normalize_filter(flt)
    if not rollup_serves(flt):
        return None
    with snapshot(conn):
        if unfolded(conn) > UNFOLDED_CAP:
            return None
        rows = volume_rows(conn, flt, 0, _ONE_BUCKET, flt.since_ms, flt.until_ms)
    return sum(int(n) for _bucket, _status, n in rows)


def volume_rows(
    conn: sqlite3.Connection,
    flt: RunFilter,
    origin: int,
    bucket_ms: int,
    lo: int | None,
    hi: int | None,
) -> list[Any]:
    """(bucket, status, runs) rows of the runs of flt that started in [lo, hi) (None: no
    bound), bucket = (started_at - origin) // bucket_ms; a bucket and status may come in
    several rows (add them). flt must be normalized and served by the rollup; call inside
    a snapshot. Buckets must hold whole hours (bucket_ms and origin multiples of an hour)."""
    first_hour = None if lo is None else -(-lo // HOUR_MS)
    last_hour = None if hi is None else hi // HOUR_MS  # exclusive
    if first_hour is not None and last_hour is not None and last_hour <= first_hour:
        return count_runs(conn, flt, origin, bucket_ms, lo, hi, None)
    whole_lo = None if first_hour is None else first_hour * HOUR_MS
    whole_hi = None if last_hour is None else last_hour * HOUR_MS
    mark = rollup_mark(conn)
    rows = _rollup_rows(conn, flt, origin, bucket_ms, first_hour, last_hour)
    if flt.min_cost_usd is not None:
        rows += _straddle_rows(conn, flt, origin, bucket_ms, whole_lo, whole_hi, mark)
    if lo is not None and whole_lo is not None and lo < whole_lo:
        rows += count_runs(conn, flt, origin, bucket_ms, lo, whole_lo, None)
    if hi is not None and whole_hi is not None and whole_hi < hi:
        rows += count_runs(conn, flt, origin, bucket_ms, whole_hi, hi, None)
    rows += count_runs(conn, flt, origin, bucket_ms, whole_lo, whole_hi, mark)
    return rows


def _rollup_rows(
    conn: sqlite3.Connection,
    flt: RunFilter,
    origin: int,
    bucket_ms: int,
    first_hour: int | None,
    last_hour: int | None,
) -> list[Any]:
    where = ["1"]
    params: list[Any] = []
    if first_hour is not None:
        where.append("hour >= ?")
        params.append(first_hour)
    if last_hour is not None:
        where.append("hour < ?")
        params.append(last_hour)
    if flt.statuses:
        where.append(f"status IN ({','.join('?' * len(flt.statuses))})")
        params.extend(flt.statuses)
    if flt.agent_id:
        where.append("agent_id = ?")
        params.append(flt.agent_id)
    if flt.agent_version_id:
        where.append("version_id = ?")
        params.append(flt.agent_version_id)
    if not flt.include_simulations:
        where.append("is_simulation = 0")
    if flt.min_cost_usd is not None:
        where.append("band >= ?")
        params.append(cost_bands(flt.min_cost_usd)[0])
    if bucket_ms == _ONE_BUCKET:  # a count: no grouping (nor its temporary b-tree)
        return conn.execute(
            f"SELECT 0, '', total(runs) FROM run_volume_rollups WHERE {' AND '.join(where)}",
            params,
        ).fetchall()
    return conn.execute(
        "SELECT (hour * 3600000 - ?) / ?, status, sum(runs) FROM run_volume_rollups "
        f"WHERE {' AND '.join(where)} GROUP BY 1, 2",
        (origin, bucket_ms, *params),
    ).fetchall()


def _straddle_rows(
    conn: sqlite3.Connection,
    flt: RunFilter,
    origin: int,
    bucket_ms: int,
    whole_lo: int | None,
    whole_hi: int | None,
    mark: int,
) -> list[Any]:
    """The rolled-up runs in whole hours of the band min cost falls inside that cost at least
    min cost (none when it is an edge): a range of the (agent's) cost index."""
    assert flt.min_cost_usd is not None
    _first, upper = cost_bands(flt.min_cost_usd)
    if upper is None:
        return []
    ranged = replace(flt, since_ms=whole_lo, until_ms=whole_hi)
    where, params = _where(ranged, cost_via_index=True)
    where += ["r.cost_usd < ?", "r.run_no <= ?"]
    params += [upper, mark]
    index = "idx_runs_agent_cost" if flt.agent_id else "idx_runs_cost"
    return conn.execute(
        f"SELECT (r.started_at - ?) / ?, r.status, count(*) FROM runs r INDEXED BY {index} "
        f"WHERE {' AND '.join(where)} GROUP BY 1, 2",
        (origin, bucket_ms, *params),
    ).fetchall()


def count_runs(
    conn: sqlite3.Connection,
    flt: RunFilter,
    origin: int,
    bucket_ms: int,
    lo: int | None,
    hi: int | None,
    above_run_no: int | None,
) -> list[Any]:
    """Runs of flt in [lo, hi) per bucket and status, counted from the log (only those above
    the rollup's mark when above_run_no is given: a rowid range).

    From the log, each status is counted on its own through the (agent,) status, started_at
    index, which holds cost_usd and is_simulation too: index-only for the page's status,
    agent, time, cost and simulation filters. A selective min cost reads its few runs through
    the cost index instead.
    """
    ranged = replace(flt, since_ms=lo, until_ms=hi)
    if above_run_no is not None:
        where, params = _where(ranged, cost_via_index=False)
        return conn.execute(
            f"SELECT (r.started_at - ?) / ?, r.status, count(*) FROM runs r NOT INDEXED "
            f"WHERE {' AND '.join(['r.run_no > ?', *where])} GROUP BY 1, 2",
            (origin, bucket_ms, above_run_no, *params),
        ).fetchall()
    plain = not (ranged.tags or ranged.error_class or ranged.agent_version_id)
    if ranged.min_cost_usd is not None and _cost_is_selective(conn, ranged.min_cost_usd):
        where, params = _where(ranged, cost_via_index=True)
        return conn.execute(
            "SELECT (r.started_at - ?) / ?, r.status, count(*) FROM runs r "
            f"INDEXED BY idx_runs_cost WHERE {' AND '.join(where)} GROUP BY 1, 2",
            (origin, bucket_ms, *params),
        ).fetchall()
    if not plain or ranged.min_duration_ms is not None or ranged.trigger:
        where, params = _where(ranged, cost_via_index=False)
        return conn.execute(
            f"SELECT (r.started_at - ?) / ?, r.status, count(*) FROM runs r "
            f"WHERE {' AND '.join(where) or '1'} GROUP BY 1, 2",
            (origin, bucket_ms, *params),
        ).fetchall()
    index = "idx_runs_agent_status" if ranged.agent_id else "idx_runs_status"
    rows: list[Any] = []
    for status in ranged.statuses or ALL_STATUSES:
        where, params = _where(replace(ranged, statuses=(status,)), cost_via_index=False)
        rows += conn.execute(
            f"SELECT (r.started_at - ?) / ?, r.status, count(*) FROM runs r INDEXED BY {index} "
            f"WHERE {' AND '.join(where)} GROUP BY 1",
            (origin, bucket_ms, *params),
        ).fetchall()
    return rows
