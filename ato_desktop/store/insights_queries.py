"""Reads behind Insights -> Cost: an agent's runs per runtime and model, aggregated in SQL.

Production runs come from one index range (idx_runs_agent: the agent's runs since a time);
replays of them are found through idx_runs_replay_of for the newest REPLAY_SOURCE_CAP of those
runs. Simulations (trigger replay, tag simulation) cost nothing by design and are never
evidence of what a runtime costs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ato_desktop.store.execution_log import ExecutionLog

REPLAY_SOURCE_CAP: Final = 50_000

_KNOWN_COST: Final = "r.cost_usd IS NOT NULL AND coalesce(r.cost_source, '') != 'unknown'"
_AGGREGATES: Final = (
    "r.runtime, r.model, count(*), "
    "sum(r.status = 'completed'), sum(r.status = 'failed'), "
    f"total(CASE WHEN {_KNOWN_COST} THEN r.cost_usd END), sum({_KNOWN_COST}), "
    "sum(r.cost_source = 'estimated')"
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


def agent_pair_rows(log: ExecutionLog, agent_id: str, since_ms: int) -> list[PairRow]:
    """The agent's finished production runs since since_ms, and the finished replays of them,
    counted per runtime and model."""
    conn = log.reader()
    own = conn.execute(
        f"SELECT {_AGGREGATES} FROM runs r INDEXED BY idx_runs_agent "
        "WHERE r.agent_id = ? AND r.started_at >= ? AND r.status != 'running' "
        "AND r.\"trigger\" NOT IN ('replay', 'eval') GROUP BY r.runtime, r.model",
        (agent_id, since_ms),
    ).fetchall()
    replays = conn.execute(
        f"SELECT {_AGGREGATES} FROM runs r WHERE r.replay_of IN ("
        "  SELECT s.id FROM runs s INDEXED BY idx_runs_agent "
        "  WHERE s.agent_id = ? AND s.started_at >= ? AND s.\"trigger\" NOT IN ('replay', 'eval') "
        "  ORDER BY s.started_at DESC LIMIT ?) "
        "AND r.status != 'running' AND json_extract(r.tags_json, '$.simulation') IS NULL "
        "GROUP BY r.runtime, r.model",
        (agent_id, since_ms, REPLAY_SOURCE_CAP),
    ).fetchall()
    return [
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
        )
        for rows, replay in ((own, False), (replays, True))
        for rt, model, n, ok, bad, cost, costed, estimated in rows
    ]


def production_runs_since(log: ExecutionLog, agent_id: str, since_ms: int) -> int:
    """How many production runs (not replays, not evals) the agent made since since_ms."""
    row = (
        log.reader()
        .execute(
            "SELECT count(*) FROM runs r INDEXED BY idx_runs_agent WHERE r.agent_id = ? "
            "AND r.started_at >= ? AND r.\"trigger\" NOT IN ('replay', 'eval')",
            (agent_id, since_ms),
        )
        .fetchone()
    )
    return int(row[0])
