"""Eval scores per agent config version and per model: what Regressions and the cost
recommendations judge with.

Apart from store.evals (suites, suite runs, ratings, the online judge) so that reading them
loads none of the evals' records or write paths: `insights regressions` reads them on every run.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from ato_desktop.store.execution_log import ExecutionLog

DEFAULT_LIMIT = 50
SCORES_WINDOW = 500  # suite runs read to find an agent's latest per suite / version / model


def version_case_scores(
    log: ExecutionLog, agent_version_id: str, *, window: int = DEFAULT_LIMIT
) -> list[tuple[str, float]]:
    """(run id, score) of every case of the newest completed run of each suite against this
    agent config version: the eval scores of the version (engine.regressions' EvalScores).
    Cases whose run was never made (or was removed) have no run id and are left out."""
    conn = log.reader()
    rows = conn.execute(
        "SELECT id, suite_id FROM eval_suite_runs WHERE agent_version_id = ?"
        " AND status = 'completed' AND swapped = 0 ORDER BY started_at DESC LIMIT ?",
        (agent_version_id, window),
    ).fetchall()
    return _case_scores(conn, _newest_per_suite(rows))


def model_case_scores(
    log: ExecutionLog, agent_id: str, runtime: str, model: str, *, window: int = SCORES_WINDOW
) -> list[float]:
    """Case scores of the newest completed run of each suite of the agent on runtime + model
    (its own, or a candidate's: `EvalTarget(agent, runtime, model)`): the eval score of the
    agent's work on that model (engine.cost_recs' EvalScores)."""
    conn = log.reader()
    rows = conn.execute(
        "SELECT id, suite_id FROM eval_suite_runs WHERE agent_id = ? AND runtime = ?"
        " AND model = ? AND status = 'completed' ORDER BY started_at DESC LIMIT ?",
        (agent_id, runtime, model, window),
    ).fetchall()
    suite_run_ids = _newest_per_suite(rows)
    if not suite_run_ids:
        return []
    marks = ", ".join("?" for _ in suite_run_ids)
    return [
        float(r[0])
        for r in conn.execute(
            f"SELECT score FROM eval_case_results WHERE suite_run_id IN ({marks})", suite_run_ids
        )
    ]


def _newest_per_suite(rows: Sequence[sqlite3.Row]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for row in rows:
        if row[1] not in seen:
            seen.add(row[1])
            out.append(row[0])
    return out


def _case_scores(conn: sqlite3.Connection, suite_run_ids: Sequence[str]) -> list[tuple[str, float]]:
    if not suite_run_ids:
        return []
    marks = ", ".join("?" for _ in suite_run_ids)
    rows = conn.execute(
        f"SELECT run_id, score FROM eval_case_results WHERE suite_run_id IN ({marks})"
        " AND run_id IS NOT NULL",
        tuple(suite_run_ids),
    )
    return [(str(r[0]), float(r[1])) for r in rows]
