"""The aggregates behind the charts, each a few SQL statements that return a few hundred rows
whatever the size of the log (plans checked with EXPLAIN QUERY PLAN in tests/store).

- run_volume: runs per time bucket and status under the Runs page's filters (store.run_volume:
  whole hours from run_volume_rollups, migration 18, for every filter of the page but the
  metadata search; the part-hours at the window's edges and the runs not folded in yet from the
  runs).
- agent_trends: an agent's production runs per day (run_rollups) or per hour (its index range),
  success rate, cost per call, p95 latency (idx_runs_agent_day_duration: a short walk from the
  top of each day's range), eval scores, and its config changes as markers.
- spend_by_day: every run's known cost per UTC day, by agent, model or runtime
  (run_hour_rollups).
- version_distribution: the sample a regression check judges (the newest production runs that
  completed or failed, of a config version), as counts, figures and a histogram on given bin
  edges.
- pair_cost_distribution: cost per call of an agent's runs on one runtime and model (its own
  and the replays of its runs), the newest ones, as figures and a histogram.

Bins are given by the caller (core.chart_buckets) and counted in SQL with a sum of comparisons,
which needs no math functions (not every SQLite build has them).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

from ato_desktop.core.chart_buckets import bin_edges
from ato_desktop.core.records import RunFilter
from ato_desktop.core.run_filter import normalize_filter
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.insights_queries import (
    DAY_MS,
    FOLD_AT,
    fold_run_rollups,
    rollup_mark,
    unfolded_runs,
)
from ato_desktop.store.run_volume import (
    count_runs,
    rollup_serves,
    snapshot,
    volume_rows,
)

HOUR_MS: Final = 3_600_000
_PRODUCTION: Final = "r.\"trigger\" NOT IN ('replay', 'eval')"
_KNOWN_COST: Final = "r.cost_usd IS NOT NULL AND coalesce(r.cost_source, '') != 'unknown'"
# The partial index of migration 14: these terms must appear as written for the planner.
_DURATION_INDEX_TERMS: Final = (
    "r.agent_id = ? AND r.duration_ns IS NOT NULL AND r.status IN ('completed', 'failed') "
    "AND r.\"trigger\" NOT IN ('replay', 'eval')"
)


# -- the Runs timeline ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VolumeCounts:
    """Runs per bucket and status: bucket i covers [start_ms + i * bucket_ms, + bucket_ms)."""

    start_ms: int
    end_ms: int
    bucket_ms: int
    counts: dict[int, dict[str, int]] = field(default_factory=dict)
    from_rollup: bool = False  # whole hours were read from run_volume_rollups

    @property
    def buckets(self) -> int:
        return max(0, -(-(self.end_ms - self.start_ms) // self.bucket_ms))

    def total(self) -> int:
        return sum(sum(by_status.values()) for by_status in self.counts.values())


def fold_if_due(log: ExecutionLog) -> None:
    """Fold the runs written since the last fold into the rollups when more than FOLD_AT wait
    (as cost recommendations do), so the runs read above the mark stay a short range. A write
    job: call it off the UI thread."""
    if unfolded_runs(log) > FOLD_AT:
        fold_run_rollups(log)


def log_time_span(log: ExecutionLog) -> tuple[int, int] | None:
    """(first, last) started_at in the log, or None when it holds no runs (two index probes)."""
    # Two statements: SQLite answers a lone min() or max() from the index's end, but both in
    # one statement scan the whole index.
    conn = log.reader()
    (first,) = conn.execute("SELECT min(started_at) FROM runs").fetchone()
    (last,) = conn.execute("SELECT max(started_at) FROM runs").fetchone()
    if first is None or last is None:
        return None
    return int(first), int(last)


def run_volume(
    log: ExecutionLog, flt: RunFilter, start_ms: int, end_ms: int, bucket_ms: int
) -> VolumeCounts:
    """Runs matching flt that started in [start_ms, end_ms), per bucket of bucket_ms and status.

    flt's own since/until narrow the window further (the counts stay in the same buckets).
    """
    flt = normalize_filter(flt)
    if bucket_ms <= 0:
        raise ValueError("bucket_ms must be positive")
    lo = max(start_ms, flt.since_ms) if flt.since_ms is not None else start_ms
    hi = min(end_ms, flt.until_ms) if flt.until_ms is not None else end_ms
    result = VolumeCounts(start_ms, end_ms, bucket_ms)
    if hi <= lo:
        return result
    conn = log.reader()
    use_rollup = rollup_serves(flt) and bucket_ms % HOUR_MS == 0 and start_ms % HOUR_MS == 0
    if not use_rollup or hi // HOUR_MS <= -(-lo // HOUR_MS):  # no whole hour in range
        _add(result, count_runs(conn, flt, start_ms, bucket_ms, lo, hi, None))
        return result
    fold_if_due(log)
    with snapshot(conn):
        _add(result, volume_rows(conn, flt, start_ms, bucket_ms, lo, hi))
    return replace(result, from_rollup=True)


def _add(result: VolumeCounts, rows: Sequence[Any]) -> None:
    for bucket, status, runs in rows:
        if runs:
            by_status = result.counts.setdefault(int(bucket), {})
            by_status[str(status)] = by_status.get(str(status), 0) + int(runs)


# -- an agent's trends ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrendBucket:
    """An agent's production runs in one bucket (replays and evals left out)."""

    index: int
    runs: int = 0
    completed: int = 0
    failed: int = 0
    cost_usd: float = 0.0  # the known costs' total
    costed: int = 0  # runs with a known cost
    p95_ms: float | None = None  # nearest-rank p95 of finished runs' durations
    eval_score: float | None = None  # mean of the eval suite runs' mean scores (0..1)
    eval_runs: int = 0

    @property
    def success_rate(self) -> float | None:
        judged = self.completed + self.failed
        return self.completed / judged if judged else None

    @property
    def cost_per_call(self) -> float | None:
        return self.cost_usd / self.costed if self.costed else None


@dataclass(frozen=True, slots=True)
class ConfigMarker:
    """A config change of the agent: where it falls on the time axis and what it changed."""

    version: int
    version_id: str
    created_at: int
    position: float  # in buckets from the window's start (fractional)
    diff: list[dict[str, Any]]
    change_source: str


@dataclass(frozen=True, slots=True)
class AgentTrends:
    agent_id: str
    start_ms: int
    end_ms: int
    bucket_ms: int
    buckets: tuple[TrendBucket, ...]
    markers: tuple[ConfigMarker, ...]

    def total_runs(self) -> int:
        return sum(b.runs for b in self.buckets)


def agent_trends(
    log: ExecutionLog, agent_id: str, start_ms: int, end_ms: int, bucket_ms: int
) -> AgentTrends:
    """The agent's production runs in [start_ms, end_ms) per bucket. Day buckets must start at
    a UTC midnight (they are read from run_rollups); shorter buckets read the runs themselves,
    so keep their windows short (two days of runs of one agent)."""
    if bucket_ms <= 0 or end_ms <= start_ms:
        raise ValueError("an empty window or bucket")
    conn = log.reader()
    count = -(-(end_ms - start_ms) // bucket_ms)
    figures: dict[int, list[Any]] = {}
    by_day = bucket_ms % DAY_MS == 0 and start_ms % DAY_MS == 0
    if by_day:
        fold_if_due(log)
        with snapshot(conn):
            rows = _day_rollup_rows(conn, agent_id, start_ms, end_ms, bucket_ms)
        for row in rows:
            _merge_figures(figures, row)
        for index, p95 in _day_p95(conn, agent_id, start_ms, end_ms, bucket_ms).items():
            figures.setdefault(index, [0, 0, 0, 0.0, 0, None])[5] = p95
    else:
        for row in _runs_rows(conn, agent_id, start_ms, end_ms, bucket_ms, None):
            _merge_figures(figures, row)
        for index, p95 in _bucket_p95(conn, agent_id, start_ms, end_ms, bucket_ms).items():
            figures.setdefault(index, [0, 0, 0, 0.0, 0, None])[5] = p95
    evals = {
        int(index): (float(score), int(n))
        for index, score, n in conn.execute(
            "SELECT (started_at - ?) / ?, avg(mean_score), count(*) FROM eval_suite_runs "
            "INDEXED BY idx_suite_runs_agent WHERE agent_id = ? AND started_at >= ? "
            "AND started_at < ? AND swapped = 0 AND status = 'completed' "
            "AND mean_score IS NOT NULL GROUP BY 1",
            (start_ms, bucket_ms, agent_id, start_ms, end_ms),
        )
    }
    buckets = []
    for index in range(count):
        runs, completed, failed, cost, costed, p95 = figures.get(index, [0, 0, 0, 0.0, 0, None])
        score, scored = evals.get(index, (None, 0))
        buckets.append(
            TrendBucket(index, runs, completed, failed, cost, costed, p95, score, scored)
        )
    markers = tuple(
        ConfigMarker(
            int(row["version"]),
            str(row["id"]),
            int(row["created_at"]),
            (int(row["created_at"]) - start_ms) / bucket_ms,
            _json_list(row["diff_json"]),
            str(row["change_source"]),
        )
        for row in conn.execute(
            "SELECT id, version, created_at, diff_json, change_source FROM agent_versions "
            "WHERE agent_id = ? AND version > 1 AND created_at >= ? AND created_at < ? "
            "ORDER BY version",
            (agent_id, start_ms, end_ms),
        )
    )
    return AgentTrends(agent_id, start_ms, end_ms, bucket_ms, tuple(buckets), markers)


def _json_list(text: str | None) -> list[dict[str, Any]]:
    import json

    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _merge_figures(figures: dict[int, list[Any]], row: Sequence[Any]) -> None:
    index, runs, completed, failed, cost, costed = row
    slot = figures.setdefault(int(index), [0, 0, 0, 0.0, 0, None])
    slot[0] += int(runs or 0)
    slot[1] += int(completed or 0)
    slot[2] += int(failed or 0)
    slot[3] += float(cost or 0.0)
    slot[4] += int(costed or 0)


def _day_rollup_rows(
    conn: sqlite3.Connection, agent_id: str, start_ms: int, end_ms: int, bucket_ms: int
) -> list[Any]:
    first_day, end_day = start_ms // DAY_MS, -(-end_ms // DAY_MS)
    days_per_bucket = bucket_ms // DAY_MS
    rows: list[Any] = conn.execute(
        "SELECT (day - ?) / ?, sum(runs), total(CASE WHEN status = 'completed' THEN runs END), "
        "total(CASE WHEN status = 'failed' THEN runs END), total(cost_usd), sum(costed) "
        "FROM run_rollups WHERE agent_id = ? AND day >= ? AND day < ? GROUP BY 1",
        (first_day, days_per_bucket, agent_id, first_day, end_day),
    ).fetchall()
    return rows + _runs_rows(conn, agent_id, start_ms, end_ms, bucket_ms, rollup_mark(conn))


def _runs_rows(
    conn: sqlite3.Connection,
    agent_id: str,
    start_ms: int,
    end_ms: int,
    bucket_ms: int,
    above_run_no: int | None,
) -> list[Any]:
    """The agent's production runs per bucket, from the log: its index range, or (above_run_no
    given) the runs not yet folded into the rollups (a rowid range)."""
    if above_run_no is None:
        source, extra, params = "runs r INDEXED BY idx_runs_agent", "", []
    else:
        source, extra, params = "runs r NOT INDEXED", "r.run_no > ? AND ", [above_run_no]
    rows: list[Any] = conn.execute(
        f"SELECT (r.started_at - ?) / ?, count(*), sum(r.status = 'completed'), "
        f"sum(r.status = 'failed'), total(CASE WHEN {_KNOWN_COST} THEN r.cost_usd END), "
        f"sum({_KNOWN_COST}) FROM {source} WHERE {extra}r.agent_id = ? "
        f"AND r.started_at >= ? AND r.started_at < ? AND {_PRODUCTION} GROUP BY 1",
        (start_ms, bucket_ms, *params, agent_id, start_ms, end_ms),
    ).fetchall()
    return rows


def _nearest_rank(n: int, q: int = 95) -> int:
    """The 1-based nearest rank of the q-th percentile of n values: ceil(q% of n)."""
    return max(1, -(-q * n // 100))


def _day_p95(
    conn: sqlite3.Connection, agent_id: str, start_ms: int, end_ms: int, bucket_ms: int
) -> dict[int, float]:
    """p95 of each bucket of whole days, through idx_runs_agent_day_duration: the entries per
    day are counted in the index, then each bucket's p95 is one walk of (100 - 95)% of its
    entries down from the top (a bucket of several days: a walk per day, merged)."""
    first_day, end_day = start_ms // DAY_MS, -(-end_ms // DAY_MS)
    days_per_bucket = bucket_ms // DAY_MS
    # The entries per day: run_hour_rollups counts them (timed) for the folded runs, and the
    # runs above its mark are a short rowid range; counting them in the index would visit
    # every one of the agent's runs in the window.
    counts: dict[int, int] = {}
    with snapshot(conn):
        rows = conn.execute(
            "SELECT hour / 24, sum(timed) FROM run_hour_rollups WHERE hour >= ? AND hour < ? "
            "AND agent_id = ? GROUP BY 1",
            (first_day * 24, end_day * 24, agent_id),
        ).fetchall()
        rows += conn.execute(
            "SELECT r.started_at / 86400000, count(*) FROM runs r NOT INDEXED "
            f"WHERE r.run_no > ? AND {_DURATION_INDEX_TERMS} AND r.started_at >= ? "
            "AND r.started_at < ? GROUP BY 1",
            (rollup_mark(conn), agent_id, first_day * DAY_MS, end_day * DAY_MS),
        ).fetchall()
    for day, n in rows:
        if n:
            counts[int(day)] = counts.get(int(day), 0) + int(n)
    result: dict[int, float] = {}
    buckets: dict[int, list[int]] = {}
    for day in counts:
        buckets.setdefault((day - first_day) // days_per_bucket, []).append(day)
    for index, days in buckets.items():
        n = sum(counts[d] for d in days)
        from_top = n - _nearest_rank(n)  # values above the p95's rank
        if len(days) == 1:
            row = conn.execute(
                "SELECT r.duration_ns FROM runs r INDEXED BY idx_runs_agent_day_duration "
                f"WHERE {_DURATION_INDEX_TERMS} AND r.started_at / 86400000 = ? "
                "ORDER BY r.duration_ns DESC LIMIT 1 OFFSET ?",
                (agent_id, days[0], from_top),
            ).fetchone()
            value = row[0]
        else:  # the top (from_top + 1) values of each day, merged: the last is the p95
            tops: list[int] = []
            for day in days:
                tops.extend(
                    v
                    for (v,) in conn.execute(
                        "SELECT r.duration_ns FROM runs r "
                        f"INDEXED BY idx_runs_agent_day_duration WHERE {_DURATION_INDEX_TERMS} "
                        "AND r.started_at / 86400000 = ? ORDER BY r.duration_ns DESC LIMIT ?",
                        (agent_id, day, from_top + 1),
                    )
                )
            value = sorted(tops, reverse=True)[from_top]
        result[index] = int(value) / 1e6
    return result


def _bucket_p95(
    conn: sqlite3.Connection, agent_id: str, start_ms: int, end_ms: int, bucket_ms: int
) -> dict[int, float]:
    """p95 per bucket over the agent's index range (short windows), ranked in SQL."""
    rows = conn.execute(
        "SELECT b, d FROM (SELECT (r.started_at - ?) / ? AS b, r.duration_ns AS d, "
        "row_number() OVER (PARTITION BY (r.started_at - ?) / ? ORDER BY r.duration_ns) AS rn, "
        "count(*) OVER (PARTITION BY (r.started_at - ?) / ?) AS n "
        "FROM runs r INDEXED BY idx_runs_agent WHERE r.agent_id = ? AND r.started_at >= ? "
        "AND r.started_at < ? AND r.duration_ns IS NOT NULL "
        f"AND r.status IN ('completed', 'failed') AND {_PRODUCTION}) "
        "WHERE rn = max(1, (95 * n + 99) / 100)",
        (start_ms, bucket_ms) * 3 + (agent_id, start_ms, end_ms),
    ).fetchall()
    return {int(b): int(d) / 1e6 for b, d in rows}


# -- spend --------------------------------------------------------------------------------------

SPEND_KEYS: Final = {"agent": "agent_id", "model": "model", "runtime": "runtime"}


@dataclass(frozen=True, slots=True)
class SpendRow:
    day: int  # UTC days since the epoch
    key: str  # an agent id ('' without), a model or a runtime
    cost_usd: float  # the known costs' total
    runs: int
    costed: int  # runs with a known cost (the rest are unknown: never counted as $0)
    estimated: int  # runs whose cost is an estimate


def spend_by_day(log: ExecutionLog, start_ms: int, end_ms: int, by: str) -> list[SpendRow]:
    """Every run's known cost per UTC day in [start_ms, end_ms) (whole days: start at a
    midnight), per agent, model or runtime; replays and evals included (money spent)."""
    if by not in SPEND_KEYS:
        raise ValueError(f"spend by agent, model or runtime, not {by!r}")
    if start_ms % DAY_MS:
        raise ValueError("spend days start at a UTC midnight")
    column = SPEND_KEYS[by]
    fold_if_due(log)
    conn = log.reader()
    first_hour, end_hour = start_ms // HOUR_MS, -(-end_ms // DAY_MS) * 24
    totals: dict[tuple[int, str], list[Any]] = {}
    with snapshot(conn):
        rows = _spend_rows(conn, column, by, first_hour, end_hour)
    for day, key, cost, runs, costed, estimated in rows:
        slot = totals.setdefault((int(day), str(key)), [0.0, 0, 0, 0])
        slot[0] += float(cost or 0.0)
        slot[1] += int(runs or 0)
        slot[2] += int(costed or 0)
        slot[3] += int(estimated or 0)
    return [SpendRow(day, key, *figures) for (day, key), figures in sorted(totals.items())]


def _spend_rows(
    conn: sqlite3.Connection, column: str, by: str, first_hour: int, end_hour: int
) -> list[Any]:
    rows: list[Any] = conn.execute(
        f"SELECT hour / 24, {column}, total(cost_usd), sum(runs), sum(costed), sum(estimated) "
        "FROM run_hour_rollups WHERE hour >= ? AND hour < ? GROUP BY 1, 2",
        (first_hour, end_hour),
    ).fetchall()
    fresh_column = f"coalesce(r.{column}, '')" if by == "agent" else f"r.{column}"
    rows += conn.execute(
        f"SELECT r.started_at / 86400000, {fresh_column}, "
        f"total(CASE WHEN {_KNOWN_COST} THEN r.cost_usd END), count(*), sum({_KNOWN_COST}), "
        "sum(coalesce(r.cost_source = 'estimated', 0)) FROM runs r NOT INDEXED "
        "WHERE r.run_no > ? AND r.started_at >= ? AND r.started_at < ? GROUP BY 1, 2",
        (rollup_mark(conn), first_hour * HOUR_MS, end_hour * HOUR_MS),
    ).fetchall()
    return rows


# -- distributions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Distribution:
    """Values of one sample: how many, figures, and counts per bin of the given edges (bin i is
    [edges[i], edges[i + 1]); the last bin includes its upper edge)."""

    n: int
    mean: float | None
    p50: float | None
    p95: float | None
    low: float | None
    high: float | None
    bins: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class VersionSample:
    """The runs a regression check judges for one config version (its newest production runs
    that completed or failed, as engine.regressions reads them)."""

    version_id: str
    ok: int
    failed: int
    durations_ms: Distribution
    costs_usd: Distribution

    @property
    def runs(self) -> int:
        return self.ok + self.failed


def _sample_cte(limit_param: bool = True) -> str:
    # One side of a change as core.regressions defines it (and Regressions and Compare read
    # it, store.compare_queries.group_runs(change_side=True)): the newest production runs that
    # completed or failed.
    return (
        'WITH newest AS (SELECT r.status, r.duration_ns, r.cost_usd, r.cost_source, r."trigger" '
        "FROM runs r INDEXED BY idx_runs_version WHERE r.agent_version_id = ? "
        "AND (CASE WHEN r.status IN ('completed', 'failed') "
        "AND r.\"trigger\" NOT IN ('replay', 'eval') THEN 1 ELSE 0 END) = 1 "
        "ORDER BY r.started_at DESC, r.id DESC"
        + (" LIMIT ?)" if limit_param else ")")
        + ", kept AS (SELECT * FROM newest r) "
    )


def version_value_range(
    log: ExecutionLog, version_id: str, per_side: int
) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
    """(min, max) of the sample's durations (ms) and known costs (USD): for the bin edges."""
    row = (
        log.reader()
        .execute(
            _sample_cte()
            + "SELECT min(CASE WHEN r.status IN ('completed', 'failed') THEN r.duration_ns END), "
            "max(CASE WHEN r.status IN ('completed', 'failed') THEN r.duration_ns END), "
            f"min(CASE WHEN r.status IN ('completed', 'failed') AND {_KNOWN_COST} "
            "THEN r.cost_usd END), "
            f"max(CASE WHEN r.status IN ('completed', 'failed') AND {_KNOWN_COST} "
            "THEN r.cost_usd END) FROM kept r",
            (version_id, per_side),
        )
        .fetchone()
    )
    durations = (row[0] / 1e6, row[1] / 1e6) if row[0] is not None else None
    costs = (float(row[2]), float(row[3])) if row[2] is not None else None
    return durations, costs


def version_sample(
    log: ExecutionLog,
    version_id: str,
    per_side: int,
    duration_edges_ms: Sequence[float],
    cost_edges_usd: Sequence[float],
) -> VersionSample:
    """The regression sample of a config version: ok / failed counts, and the durations and
    known costs of its completed and failed runs, binned on the given edges."""
    conn = log.reader()
    ok, failed = conn.execute(
        _sample_cte()
        + "SELECT total(r.status = 'completed'), total(r.status = 'failed') FROM kept r",
        (version_id, per_side),
    ).fetchone()
    durations = _distribution(
        conn,
        "r.duration_ns / 1e6",
        "r.status IN ('completed', 'failed') AND r.duration_ns IS NOT NULL",
        (version_id, per_side),
        duration_edges_ms,
    )
    costs = _distribution(
        conn,
        "r.cost_usd",
        f"r.status IN ('completed', 'failed') AND {_KNOWN_COST}",
        (version_id, per_side),
        cost_edges_usd,
    )
    return VersionSample(version_id, int(ok), int(failed), durations, costs)


def _distribution(
    conn: sqlite3.Connection,
    value: str,
    condition: str,
    params: Sequence[Any],
    edges: Sequence[float],
    cte: str | None = None,
) -> Distribution:
    """Figures of `value` over the kept sample rows where `condition` holds, ranked and binned
    in one SQL statement (nearest-rank p50 and p95, as core.regressions.percentile; bin i is
    [edges[i], edges[i + 1]), the last one closed)."""
    head = cte if cte is not None else _sample_cte()
    count = len(edges) - 1 if len(edges) >= 2 else 0
    bins = [f"total(v >= ? AND v {'<=' if i == count - 1 else '<'} ?)" for i in range(count)]
    bin_params = [bound for i in range(count) for bound in (edges[i], edges[i + 1])]
    row = conn.execute(
        f"{head}, vals AS (SELECT {value} AS v FROM kept r WHERE {condition}), "
        "ranked AS (SELECT v, row_number() OVER (ORDER BY v) AS rn, count(*) OVER () AS n "
        "FROM vals) SELECT max(n), avg(v), "
        "max(CASE WHEN rn = max(1, (50 * n + 99) / 100) THEN v END), "
        "max(CASE WHEN rn = max(1, (95 * n + 99) / 100) THEN v END), min(v), max(v)"
        + "".join(f", {b}" for b in bins)
        + " FROM ranked",
        (*params, *bin_params),
    ).fetchone()
    n = int(row[0] or 0)
    return Distribution(
        n,
        float(row[1]) if row[1] is not None else None,
        float(row[2]) if row[2] is not None else None,
        float(row[3]) if row[3] is not None else None,
        float(row[4]) if row[4] is not None else None,
        float(row[5]) if row[5] is not None else None,
        tuple(int(b or 0) for b in row[6:]) if n else (),
    )


PAIR_SCAN_CAP: Final = 20_000  # the agent's newest runs among which its own runs on a pair are


def _pair_cte() -> str:
    """An agent's newest finished runs on one runtime and model with a known cost: its own
    production runs (its time index, newest first, stopping at `limit` matches; the caller
    bounds the walk with a floor) and the replays of its runs (the replays' index; not
    simulations, which cost nothing by design), as cost recommendations count them."""
    return (
        "WITH own AS (SELECT * FROM (SELECT r.started_at, r.cost_usd FROM runs r "
        "INDEXED BY idx_runs_agent WHERE r.agent_id = ? AND r.started_at >= ? "
        f"AND r.runtime = ? AND r.model = ? AND r.status <> 'running' AND {_PRODUCTION} "
        f"AND {_KNOWN_COST} ORDER BY r.started_at DESC LIMIT ?)), "
        "replays AS (SELECT r.started_at, r.cost_usd FROM runs r INDEXED BY idx_runs_replay_of "
        "CROSS JOIN runs s ON s.id = r.replay_of WHERE r.replay_of IS NOT NULL "
        "AND s.agent_id = ? AND r.started_at >= ? AND r.runtime = ? AND r.model = ? "
        f"AND r.status <> 'running' AND {_KNOWN_COST} "
        "AND json_extract(r.tags_json, '$.simulation') IS NULL), "
        "kept AS (SELECT cost_usd FROM (SELECT * FROM own UNION ALL SELECT * FROM replays) "
        "ORDER BY started_at DESC LIMIT ?) "
    )


def _pair_params(
    agent_id: str, runtime: str, model: str, since_ms: int, limit: int, floor_ms: int | None = None
) -> tuple[Any, ...]:
    own_since = max(since_ms, floor_ms) if floor_ms is not None else since_ms
    return (agent_id, own_since, runtime, model, limit, agent_id, since_ms, runtime, model, limit)


def _scan_floor(conn: sqlite3.Connection, agent_id: str, since_ms: int) -> int | None:
    """started_at of the agent's PAIR_SCAN_CAP-th newest run since since_ms (found index-only),
    or None when it has fewer: its own runs on a pair are looked for among the newer ones."""
    row = conn.execute(
        "SELECT started_at FROM runs INDEXED BY idx_runs_agent WHERE agent_id = ? "
        "AND started_at >= ? ORDER BY started_at DESC LIMIT 1 OFFSET ?",
        (agent_id, since_ms, PAIR_SCAN_CAP),
    ).fetchone()
    return int(row[0]) if row else None


def pair_cost_distributions(
    log: ExecutionLog,
    agent_id: str,
    pairs: Sequence[tuple[str, str]],
    since_ms: int,
    limit: int,
    bins: int = 14,
) -> tuple[tuple[float, ...], list[Distribution]]:
    """Cost per call of the agent's newest `limit` runs on each (runtime, model) since
    since_ms that have a known cost (its own and replays of its runs), on shared log-scale bin
    edges: (edges, a distribution per pair). Each pair's sample is walked once, into a
    temporary table of this reader connection, and binned from there."""
    conn = log.reader()
    tables = [f"temp.chart_pair_sample_{i}" for i in range(len(pairs))]
    with snapshot(conn):
        floor = _scan_floor(conn, agent_id, since_ms)
        try:
            for table, (runtime, model) in zip(tables, pairs, strict=True):
                conn.execute(f"DROP TABLE IF EXISTS {table}")
                conn.execute(
                    f"CREATE TABLE {table} AS {_pair_cte()} SELECT cost_usd FROM kept",
                    _pair_params(agent_id, runtime, model, since_ms, limit, floor),
                )
            ranges = [
                conn.execute(f"SELECT min(cost_usd), max(cost_usd) FROM {table}").fetchone()
                for table in tables
            ]
            known = [(float(lo), float(hi)) for lo, hi in ranges if lo is not None]
            edges: list[float] = []
            if known:
                low, high = min(r[0] for r in known), max(r[1] for r in known)
                edges = bin_edges(low if low > 0 else (high / 1000 or 1e-6), high, bins, log=True)
                edges[0] = min(edges[0], low)
            distributions = [
                _distribution(
                    conn, "r.cost_usd", "1", (), edges, cte=f"WITH kept AS (SELECT * FROM {t})"
                )
                for t in tables
            ]
        finally:
            for table in tables:
                conn.execute(f"DROP TABLE IF EXISTS {table}")
    return tuple(edges), distributions


def pair_value_range(
    log: ExecutionLog, agent_id: str, runtime: str, model: str, since_ms: int, limit: int
) -> tuple[float, float] | None:
    """(min, max) known cost per call of the agent's newest `limit` runs on runtime + model."""
    conn = log.reader()
    row = conn.execute(
        _pair_cte() + "SELECT min(cost_usd), max(cost_usd) FROM kept",
        _pair_params(
            agent_id, runtime, model, since_ms, limit, _scan_floor(conn, agent_id, since_ms)
        ),
    ).fetchone()
    return (float(row[0]), float(row[1])) if row[0] is not None else None


def pair_cost_distribution(
    log: ExecutionLog,
    agent_id: str,
    runtime: str,
    model: str,
    since_ms: int,
    limit: int,
    edges: Sequence[float],
) -> Distribution:
    """Cost per call of the agent's newest `limit` runs on runtime + model since since_ms that
    have a known cost (its own and replays of its runs), binned on edges."""
    conn = log.reader()
    return _distribution(
        conn,
        "r.cost_usd",
        "1",
        _pair_params(
            agent_id, runtime, model, since_ms, limit, _scan_floor(conn, agent_id, since_ms)
        ),
        edges,
        cte=_pair_cte(),
    )
