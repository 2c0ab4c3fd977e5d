"""Reads behind Insights -> Cost: an agent's runs per runtime and model, aggregated in SQL.

Production runs (not replays, not evals) are counted from run_rollups (migrations 9 and 10:
per UTC day, runtime, model and status) for the whole days of the window, and from the runs
themselves for the part of its first day (one index range of idx_runs_agent) and for the runs
written since the rollup was last folded (the rowid range above run_rollup_mark), so a month of
a million runs costs a few hundred rollup rows plus one day's runs, and the figures are exactly
those of the runs. Rolled-up runs that change or go keep the rollup right by trigger; new runs
are folded in by fold_run_rollups (after a demo build, and by the cost recommendations when
more than FOLD_AT runs wait). Replays of them are found through idx_runs_replay_of for the newest
REPLAY_SOURCE_CAP of those runs. Simulations (trigger replay, tag simulation) cost nothing by
design and are never evidence of what a runtime costs, and neither is a replay that failed
before reaching a model (no API key: $0, no tokens, no answer).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from ato_desktop.core.agent_records import AgentConfig, AgentVersionRecord
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.json_codec import from_json
from ato_desktop.store.schema import COST_BAND_SQL

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:  # the writer (and its events) loads with the first write, not with a reader
    from typing import Any, Final

    from ato_desktop.store.writer import Emit

REPLAY_SOURCE_CAP: Final = 50_000
DAY_MS: Final = 86_400_000  # run_rollups.day = started_at / DAY_MS
FOLD_AT: Final = 20_000  # runs above the mark that make a reader fold them in first
FOLD_BATCH: Final = 200_000  # runs folded per write job (the writer stays responsive)
_PRODUCTION: Final = "r.agent_id IS NOT NULL AND r.\"trigger\" NOT IN ('replay', 'eval')"

_KNOWN_COST: Final = "r.cost_usd IS NOT NULL AND coalesce(r.cost_source, '') != 'unknown'"
# A replay that failed before any model answered (no API key, a bad config, no connection) is no
# evidence of the target's cost or quality (core.replay_figures.reached_model, in SQL).
_REACHED_MODEL: Final = (
    "(r.status = 'completed' OR r.output_tokens > 0 OR (r.input_tokens > 0 AND "
    "coalesce(r.error_class, '') NOT IN ('auth', 'config', 'network')))"
)
# The last figure, known-cost completed runs, tells whether a pair's runs with no cost are calls
# that never reached the model ($0) or ones of an unpriced model (unknown): see PairStats.
_AGGREGATES: Final = (
    "r.runtime, r.model, count(*), "
    "sum(r.status = 'completed'), sum(r.status = 'failed'), "
    f"total(CASE WHEN {_KNOWN_COST} THEN r.cost_usd END), sum({_KNOWN_COST}), "
    "sum(r.cost_source = 'estimated'), "
    f"sum(r.status = 'completed' AND {_KNOWN_COST})"
)
HOUR_ROLLUP_FOLD: Final = (
    "INSERT INTO run_hour_rollups SELECT r.started_at / 3600000, coalesce(r.agent_id, ''), "
    "coalesce(r.agent_version_id, ''), r.runtime, r.model, r.status, count(*), "
    f"total(CASE WHEN {_KNOWN_COST} THEN r.cost_usd END), sum({_KNOWN_COST}), "
    "sum(coalesce(r.cost_source = 'estimated', 0)), sum(r.duration_ns IS NOT NULL "
    "AND r.status IN ('completed', 'failed') AND r.\"trigger\" NOT IN ('replay', 'eval')) "
    "FROM runs r WHERE r.run_no > ? AND r.run_no <= ? GROUP BY 1, 2, 3, 4, 5, 6 "
    "ON CONFLICT DO UPDATE SET runs = runs + excluded.runs, "
    "cost_usd = cost_usd + excluded.cost_usd, costed = costed + excluded.costed, "
    "estimated = estimated + excluded.estimated, timed = timed + excluded.timed"
)
VOLUME_ROLLUP_FOLD: Final = (
    "INSERT INTO run_volume_rollups SELECT r.started_at / 3600000, r.status, "
    "coalesce(r.agent_id, ''), coalesce(r.agent_version_id, ''), r.is_simulation, "
    f"{COST_BAND_SQL.format(cost='r.cost_usd')}, count(*), total(r.cost_usd) FROM runs r "
    "WHERE r.run_no > ? AND r.run_no <= ? GROUP BY 1, 2, 3, 4, 5, 6 "
    "ON CONFLICT DO UPDATE SET runs = runs + excluded.runs, "
    "cost_usd = cost_usd + excluded.cost_usd"
)


@dataclass(frozen=True, slots=True)
class PairRow:
    runtime: str
    model: str
    runs: int
    ok: int
    failed: int
    cost_total_usd: float
    costed_runs: int
    replay: bool  # rows of replays of the agent's runs (else its own runs)
    estimated_runs: int = 0  # runs whose cost is an estimate
    costed_completed: int = 0  # completed runs with a known cost


def agent_pair_rows(log: ExecutionLog, agent_id: str, since_ms: int) -> list[PairRow]:
    """The agent's finished production runs since since_ms, and the finished replays of them,
    counted per runtime and model."""
    return pair_rows_by_agent(log, [agent_id], since_ms)[agent_id]


def pair_rows_by_agent(
    log: ExecutionLog, agent_ids: Sequence[str], since_ms: int
) -> dict[str, list[PairRow]]:
    """agent_pair_rows for several agents at once (the replays are read in one pass)."""
    conn = log.reader()
    own = {agent_id: _own_rows(conn, agent_id, since_ms) for agent_id in agent_ids}
    replays = _replay_rows(conn, agent_ids, since_ms)
    return {
        agent_id: [
            PairRow(
                str(rt),
                str(model),
                int(n),
                int(ok or 0),
                int(bad or 0),
                float(cost or 0.0),
                int(costed or 0),
                replay,
                int(estimated or 0),
                int(costed_ok or 0),
            )
            for rows, replay in ((own[agent_id], False), (replays.get(agent_id, []), True))
            for rt, model, n, ok, bad, cost, costed, estimated, costed_ok in rows
        ]
        for agent_id in agent_ids
    }


def _own_rows(conn: sqlite3.Connection, agent_id: str, since_ms: int) -> list[Any]:
    whole_days, until_ms = _whole_days(since_ms)
    own: list[Any] = conn.execute(
        f"SELECT {_AGGREGATES} FROM runs r INDEXED BY idx_runs_agent "
        "WHERE r.agent_id = ? AND r.started_at >= ? AND r.started_at < ? "
        "AND r.status != 'running' AND r.\"trigger\" NOT IN ('replay', 'eval') "
        "GROUP BY r.runtime, r.model",
        (agent_id, since_ms, until_ms),
    ).fetchall()
    if whole_days is None:
        return own
    rolled = conn.execute(
        "SELECT runtime, model, sum(runs), total(CASE WHEN status = 'completed' THEN "
        "runs END), total(CASE WHEN status = 'failed' THEN runs END), total(cost_usd), "
        "sum(costed), sum(estimated), total(CASE WHEN status = 'completed' THEN costed END) "
        "FROM run_rollups WHERE agent_id = ? AND day >= ? "
        "AND status != 'running' GROUP BY runtime, model",
        (agent_id, whole_days),
    ).fetchall()
    fresh = conn.execute(
        f"SELECT {_AGGREGATES} FROM runs r NOT INDEXED WHERE r.run_no > ? AND r.agent_id = ? "
        "AND r.started_at >= ? AND r.status != 'running' "
        "AND r.\"trigger\" NOT IN ('replay', 'eval') GROUP BY r.runtime, r.model",
        (rollup_mark(conn), agent_id, until_ms),
    ).fetchall()
    return _merged(_merged(own, rolled), fresh)


def agent_versions(log: ExecutionLog, agent_id: str) -> list[AgentVersionRecord]:
    """The agent's config versions, oldest first, without their run counts (run_count 0):
    counting them reads every run's index entry, and regressions only need the versions."""
    rows = log.reader().execute(
        "SELECT * FROM agent_versions WHERE agent_id = ? ORDER BY version", (agent_id,)
    )
    return [
        AgentVersionRecord(
            id=row["id"],
            agent_id=row["agent_id"],
            version=row["version"],
            created_at=row["created_at"],
            config=AgentConfig.from_dict(json.loads(row["config_json"])),
            diff=from_json(row["diff_json"]) or [],
            change_source=row["change_source"],
        )
        for row in rows
    ]


def production_runs_since(log: ExecutionLog, agent_id: str, since_ms: int) -> int:
    """How many production runs (not replays, not evals) the agent made since since_ms."""
    return production_runs_since_conn(log.reader(), agent_id, since_ms)


def production_runs_since_conn(conn: sqlite3.Connection, agent_id: str, since_ms: int) -> int:
    """production_runs_since on a given reader connection."""
    whole_days, until_ms = _whole_days(since_ms)
    row = conn.execute(
        "SELECT count(*) FROM runs r INDEXED BY idx_runs_agent WHERE r.agent_id = ? "
        "AND r.started_at >= ? AND r.started_at < ? AND r.\"trigger\" NOT IN ('replay', 'eval')",
        (agent_id, since_ms, until_ms),
    ).fetchone()
    count = int(row[0])
    if whole_days is not None:
        (rolled,) = conn.execute(
            "SELECT total(runs) FROM run_rollups WHERE agent_id = ? AND day >= ?",
            (agent_id, whole_days),
        ).fetchone()
        (fresh,) = conn.execute(
            "SELECT count(*) FROM runs r NOT INDEXED WHERE r.run_no > ? AND r.agent_id = ? "
            "AND r.started_at >= ? AND r.\"trigger\" NOT IN ('replay', 'eval')",
            (rollup_mark(conn), agent_id, until_ms),
        ).fetchone()
        count += int(rolled) + int(fresh)
    return count


def rollup_mark(conn: sqlite3.Connection) -> int:
    """The highest run_no in run_rollups (runs above it are not rolled up yet)."""
    row = conn.execute("SELECT run_no FROM run_rollup_mark WHERE id = 1").fetchone()
    return int(row[0]) if row else 0


def unfolded_runs(log: ExecutionLog) -> int:
    """How many runs (at most) wait above the rollup's mark."""
    conn = log.reader()
    (top,) = conn.execute("SELECT coalesce(max(run_no), 0) FROM runs").fetchone()
    return max(0, int(top) - rollup_mark(conn))


def fold_run_rollups(log: ExecutionLog, batch: int = FOLD_BATCH) -> int:
    """Roll up the runs written since the last fold, in write jobs of `batch` runs; returns how
    many run numbers it moved the mark over. Blocks: call it off the UI thread."""

    def job(conn: sqlite3.Connection, _emit: Emit) -> int:
        mark = rollup_mark(conn)
        (top,) = conn.execute("SELECT coalesce(max(run_no), 0) FROM runs").fetchone()
        upto = min(int(top), mark + batch)
        if upto <= mark:
            return 0
        conn.execute(
            "INSERT INTO run_rollups SELECT r.agent_id, r.started_at / 86400000, r.runtime, "
            f"r.model, r.status, count(*), total(CASE WHEN {_KNOWN_COST} THEN r.cost_usd END), "
            f"sum({_KNOWN_COST}), sum(coalesce(r.cost_source = 'estimated', 0)) "
            f"FROM runs r WHERE r.run_no > ? AND r.run_no <= ? AND {_PRODUCTION} "
            "GROUP BY 1, 2, 3, 4, 5 ON CONFLICT DO UPDATE SET runs = runs + excluded.runs, "
            "cost_usd = cost_usd + excluded.cost_usd, costed = costed + excluded.costed, "
            "estimated = estimated + excluded.estimated",
            (mark, upto),
        )
        # The charts' hourly rollup of every run (migration 14) shares the mark.
        conn.execute(HOUR_ROLLUP_FOLD, (mark, upto))
        # ...and the Runs timeline's and count's (migration 18).
        conn.execute(VOLUME_ROLLUP_FOLD, (mark, upto))
        conn.execute("UPDATE run_rollup_mark SET run_no = ? WHERE id = 1", (upto,))
        return upto - mark

    moved = 0
    while step := log.submit(job).result():
        moved += step
    return moved


def _replay_rows(
    conn: sqlite3.Connection, agent_ids: Sequence[str], since_ms: int
) -> dict[str, list[Any]]:
    """Per agent: finished replays (not simulations) of its newest REPLAY_SOURCE_CAP production
    runs since since_ms, aggregated per runtime and model.

    Two plans with the same answer: from the sources (walk each agent's runs, newest first,
    and look up replays of each), or from the replays (every replay in the log, kept when its
    source is one of those runs: the agent's, in the window, at or after its cap's floor). The
    second is taken when the log holds fewer replays than there are sources to walk, as it
    usually does: replays are a small share of a log.
    """
    finished = (
        "r.status != 'running' AND json_extract(r.tags_json, '$.simulation') IS NULL "
        f"AND {_REACHED_MODEL}"
    )
    sources = {
        agent_id: min(production_runs_since_conn(conn, agent_id, since_ms), REPLAY_SOURCE_CAP)
        for agent_id in agent_ids
    }
    walk = [agent_id for agent_id, count in sources.items() if count > 0]
    out: dict[str, list[Any]] = {}
    if since_ms >= 0 and walk:
        (replays,) = conn.execute(
            "SELECT count(*) FROM runs INDEXED BY idx_runs_replay_of WHERE replay_of IS NOT NULL"
        ).fetchone()
        if replays < sum(sources[agent_id] for agent_id in walk):
            floors: list[Any] = []
            for agent_id in walk:
                floor = _cap_floor(conn, agent_id, since_ms, REPLAY_SOURCE_CAP)
                floors.extend((agent_id, *(floor or (since_ms, ""))))
            values = ",".join("(?, ?, ?)" for _ in walk)
            rows = conn.execute(
                f"WITH floors (agent_id, at, id) AS (VALUES {values}) "
                f"SELECT f.agent_id, {_AGGREGATES} FROM runs r INDEXED BY idx_runs_replay_of "
                "CROSS JOIN runs s ON s.id = r.replay_of CROSS JOIN floors f "
                "ON f.agent_id = s.agent_id WHERE r.replay_of IS NOT NULL AND s.started_at >= ? "
                "AND s.\"trigger\" NOT IN ('replay', 'eval') "
                "AND (s.started_at, s.id) >= (f.at, f.id) "
                f"AND {finished} GROUP BY f.agent_id, r.runtime, r.model",
                (*floors, since_ms),
            ).fetchall()
            for agent_id, *figures in rows:
                out.setdefault(str(agent_id), []).append(tuple(figures))
            return out
    for agent_id in walk:
        out[agent_id] = conn.execute(
            f"SELECT {_AGGREGATES} FROM runs r WHERE r.replay_of IN ("
            "  SELECT s.id FROM runs s INDEXED BY idx_runs_agent WHERE s.agent_id = ? "
            "  AND s.started_at >= ? AND s.\"trigger\" NOT IN ('replay', 'eval') "
            "  ORDER BY s.started_at DESC, s.id DESC LIMIT ?) "
            f"AND {finished} GROUP BY r.runtime, r.model",
            (agent_id, since_ms, REPLAY_SOURCE_CAP),
        ).fetchall()
    return out


def _cap_floor(
    conn: sqlite3.Connection, agent_id: str, since_ms: int, cap: int
) -> tuple[int, str] | None:
    """(started_at, id) of the agent's cap-th newest production run since since_ms (since_ms
    >= 0), or None when it has fewer: the rollup's day counts find its day, and only that
    day's runs are read."""
    whole_days, until_ms = _whole_days(since_ms)
    remaining = cap
    nth = (
        "SELECT started_at, id FROM runs INDEXED BY idx_runs_agent WHERE agent_id = ? "
        "AND started_at >= ? AND started_at < ? AND \"trigger\" NOT IN ('replay', 'eval') "
        "ORDER BY started_at DESC, id DESC LIMIT 1 OFFSET ?"
    )
    per_day: dict[int, int] = {}
    for day, runs in (
        conn.execute(
            "SELECT day, sum(runs) FROM run_rollups WHERE agent_id = ? AND day >= ? GROUP BY day",
            (agent_id, whole_days),
        ).fetchall()
        + conn.execute(
            "SELECT r.started_at / 86400000, count(*) FROM runs r NOT INDEXED WHERE r.run_no > ? "
            "AND r.agent_id = ? AND r.started_at >= ? AND r.\"trigger\" NOT IN ('replay', 'eval') "
            "GROUP BY 1",
            (rollup_mark(conn), agent_id, until_ms),
        ).fetchall()
    ):
        per_day[int(day)] = per_day.get(int(day), 0) + int(runs)
    for day, runs in sorted(per_day.items(), reverse=True):
        if runs >= remaining:
            row = conn.execute(
                nth, (agent_id, day * DAY_MS, (day + 1) * DAY_MS, remaining - 1)
            ).fetchone()
            return (int(row[0]), str(row[1])) if row else None
        remaining -= int(runs)
    row = conn.execute(nth, (agent_id, since_ms, until_ms, remaining - 1)).fetchone()
    return (int(row[0]), str(row[1])) if row else None


_NO_END: Final = 2**63 - 1


def _whole_days(since_ms: int) -> tuple[int | None, int]:
    """(first whole UTC day of the window, where the runs read from the log stop).

    The runs from since_ms to the end of its day are read from the log, every later day from
    run_rollups. Before the epoch (SQLite's integer division rounds towards zero there) the
    whole window is read from the log.
    """
    if since_ms < 0:
        return None, _NO_END
    first = -(-since_ms // DAY_MS)  # the day since_ms falls in, or that day if it starts it
    return first, first * DAY_MS


def _merged(rows: list[Any], more: list[Any]) -> list[tuple[Any, ...]]:
    """Two sets of aggregate rows (runtime, model, runs, ok, failed, cost, costed, estimated,
    costed completed) added up per runtime and model, in runtime and model order (as GROUP BY
    gives them)."""
    totals: dict[tuple[str, str], list[Any]] = {}
    for runtime, model, *figures in [*rows, *more]:
        key = (str(runtime), str(model))
        if key not in totals:
            totals[key] = [float(f or 0) if i == 3 else int(f or 0) for i, f in enumerate(figures)]
        else:
            for i, f in enumerate(figures):
                totals[key][i] += float(f or 0) if i == 3 else int(f or 0)
    return [(runtime, model, *figures) for (runtime, model), figures in sorted(totals.items())]
