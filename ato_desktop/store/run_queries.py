"""Reads behind the Runs page beyond listing (which is store.run_listing): critical
intercepts, live-run summaries, payload sizes and incremental action reads.

Every function takes an ExecutionLog and reads on the calling thread's connection; async code
runs them with `ExecutionLog.read_async`.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ato_desktop.core.budgets import (
    BASELINE_HOURS,
    HOUR_MS,
    BudgetState,
    BurnAnomaly,
    burn_anomaly,
    day_start_ms,
    month_start_ms,
)
from ato_desktop.core.coerce import as_money
from ato_desktop.core.models import AgentConfig, ErrorClass, Outcome, RunStatus
from ato_desktop.core.records import ActionRecord, RunFilter, RunRecord
from ato_desktop.core.replay_link import LinkRun
from ato_desktop.core.run_filter import normalize_filter, run_matches
from ato_desktop.store import run_listing
from ato_desktop.store.execution_log import (
    ExecutionLog,
    NotFoundError,
    _action_from_row,
    now_ms,
)
from ato_desktop.store.run_listing import RUN_COLUMNS, RUN_JOINS, filter_sql, run_from_row
from ato_desktop.store.run_volume import UNFOLDED_CAP, rollup_mark, snapshot, unfolded

DAY_MS = 86_400_000
# A run whose actions ended in error or were blocked at least this often needs a look.
HIGH_ERROR_RATE = 0.5
INTERCEPT_LIMIT = 50
# How many runs with a non-successful action the error-rate check looks at, newest first.
UNSUCCESSFUL_SCAN_CAP = 10_000
_BAD_OUTCOMES = (Outcome.ERROR.value, Outcome.BLOCKED.value)


def any_runs(log: ExecutionLog) -> bool:
    """Whether the log holds any run at all (tells 'no runs yet' from 'filters match nothing')."""
    return log.reader().execute("SELECT 1 FROM runs LIMIT 1").fetchone() is not None


def log_is_empty(log: ExecutionLog) -> bool:
    """No run and no agent yet: a first start (the window opens on its welcome page)."""
    conn = log.reader()
    return (
        conn.execute("SELECT 1 FROM runs LIMIT 1").fetchone() is None
        and conn.execute("SELECT 1 FROM agents LIMIT 1").fetchone() is None
    )


def version_config(log: ExecutionLog, version_id: str) -> AgentConfig | None:
    """The config an agent version recorded, or None when there is no such version."""
    row = (
        log.reader()
        .execute("SELECT config_json FROM agent_versions WHERE id = ?", (version_id,))
        .fetchone()
    )
    return AgentConfig.from_dict(json.loads(row[0])) if row is not None else None


# -- actions ---------------------------------------------------------------------------------------


def actions_after(log: ExecutionLog, run_id: str, after_seq: int = 0) -> list[ActionRecord]:
    """The run's actions with seq > after_seq, in order (a live run's new actions)."""
    conn = log.reader()
    row = conn.execute("SELECT run_no FROM runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"No run {run_id!r}.")
    rows = conn.execute(
        "SELECT * FROM actions WHERE run_no = ? AND seq > ? ORDER BY seq", (row[0], after_seq)
    )
    return [_action_from_row(run_id, r) for r in rows]


@dataclass(frozen=True, slots=True)
class PayloadText:
    """An action's stored JSON, measured and clipped in SQL (no JSON work in Python)."""

    inputs_chars: int
    outputs_chars: int
    inputs_head: str  # the first max_chars characters of the stored JSON
    outputs_head: str


def payload_texts(
    log: ExecutionLog, run_id: str, *, after_seq: int = 0, max_chars: int = 200_000
) -> dict[int, PayloadText]:
    """seq -> the size and the beginning of each action's inputs/outputs JSON, as stored.

    Sizes and content search for payloads of any size, without encoding them again (a C JSON
    encoder holds the GIL, and so the UI thread, for as long as a huge payload takes).
    """
    rows = log.reader().execute(
        "SELECT ac.seq, length(ac.inputs_json), length(ac.outputs_json), "
        "substr(ac.inputs_json, 1, ?), substr(ac.outputs_json, 1, ?) "
        "FROM actions ac JOIN runs r ON r.run_no = ac.run_no "
        "WHERE r.id = ? AND ac.seq > ? ORDER BY ac.seq",
        (max_chars, max_chars, run_id, after_seq),
    )
    return {
        int(seq): PayloadText(int(in_len or 0), int(out_len or 0), in_head or "", out_head or "")
        for seq, in_len, out_len, in_head, out_head in rows
    }


# -- live runs -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LiveRunSummary:
    """A running run (any process) with what a Live view shows about it."""

    run: RunRecord
    output_chars: int  # size of the partial output checkpointed so far
    live_action: str | None  # name of the action in flight, if one was noted


def live_run_summaries(log: ExecutionLog) -> list[LiveRunSummary]:
    """Every running run, newest first (the status index; no scan)."""
    rows = log.reader().execute(
        f"SELECT {RUN_COLUMNS}, length(r.partial_output) AS output_chars, "
        "json_extract(r.live_action_json, '$.name') AS live_action "
        f"FROM runs r {RUN_JOINS} WHERE r.status = 'running' "
        "ORDER BY r.started_at DESC, r.id DESC"
    )
    return [
        LiveRunSummary(
            run_from_row(row),
            int(row["output_chars"] or 0),
            row["live_action"] if isinstance(row["live_action"], str) else None,
        )
        for row in rows
    ]


# -- critical intercepts ---------------------------------------------------------------------------

FAILED = "failed"
OVER_BUDGET = "over_budget"
ERROR_RATE = "error_rate"
BURN_RATE = "burn_rate"
BURN_LOOKBACK_HOURS = 24  # hours checked for a budget-burn anomaly


@dataclass(frozen=True, slots=True)
class Intercept:
    """A run that needs attention, and why (one entry per run, reasons merged)."""

    run: RunRecord
    reasons: tuple[str, ...]  # FAILED, OVER_BUDGET, ERROR_RATE, BURN_RATE
    bad_actions: int | None = None  # actions that ended in error or were blocked
    day_spend_usd: float | None = None  # the agent's spend that UTC day (over budget)
    budget_usd: float | None = None  # the agent's budget per day (over budget)
    burn: BurnAnomaly | None = None  # the hour's spend against the agent's baseline (burn rate)


def critical_intercepts(
    log: ExecutionLog,
    flt: RunFilter | None = None,
    *,
    agent_id: str | None = None,
    since_ms: int | None = None,
    limit: int = INTERCEPT_LIMIT,
    error_rate: float = HIGH_ERROR_RATE,
    now: int | None = None,
) -> list[Intercept]:
    """Runs that need attention, most recent first: failed runs, the run that took its agent
    over its daily budget (per agent and UTC day), runs with a high share of actions that
    ended in error or were blocked (a kill the user asked for is no error), and the newest run
    of an hour in which an agent burnt through money far faster than its baseline
    (core.budgets.burn_anomaly).

    Only runs that pass flt (the Runs page's filters, every one of them) are listed; agent_id
    and since_ms narrow it further. A budget or a spend spike is still judged on all of the
    agent's spend: the filter chooses which runs are shown, not what the agent spent.
    """
    flt = normalize_filter(flt or RunFilter())
    if agent_id is not None:
        flt = dataclasses.replace(flt, agent_id=agent_id)
    if since_ms is not None:
        flt = dataclasses.replace(flt, since_ms=max(since_ms, flt.since_ms or since_ms))
    conn = log.reader()
    found: dict[int, Intercept] = {}

    def add(run: RunRecord, reason: str, **facts: Any) -> None:
        current = found.get(run.run_no)
        if current is None:
            found[run.run_no] = Intercept(run, (reason,), **facts)
        elif reason not in current.reasons:
            found[run.run_no] = dataclasses.replace(
                current, reasons=(*current.reasons, reason), **facts
            )

    if not flt.statuses or RunStatus.FAILED.value in flt.statuses:
        failed = dataclasses.replace(flt, statuses=(RunStatus.FAILED.value,))
        for run in run_listing.page(conn, failed, None, limit):
            add(run, FAILED)
    for run, bad in _error_heavy_runs(conn, flt, limit, error_rate):
        add(run, ERROR_RATE, bad_actions=bad)
    for run, spend, budget in _over_budget_runs(conn, flt.agent_id, flt.since_ms, limit):
        if run_matches(flt, run):
            add(run, OVER_BUDGET, day_spend_usd=spend, budget_usd=budget)
    for run, anomaly in burn_anomalies(log, agent_id=flt.agent_id, now=now):
        if run_matches(flt, run):
            add(run, BURN_RATE, burn=anomaly)
    ordered = sorted(found.values(), key=lambda i: (i.run.started_at, i.run.id), reverse=True)
    return ordered[:limit]


def _runs_by_no(conn: sqlite3.Connection, run_nos: Sequence[int]) -> dict[int, RunRecord]:
    if not run_nos:
        return {}
    marks = ",".join("?" * len(run_nos))
    rows = conn.execute(
        f"SELECT {RUN_COLUMNS} FROM runs r {RUN_JOINS} WHERE r.run_no IN ({marks})", list(run_nos)
    )
    return {row["run_no"]: run_from_row(row) for row in rows}


def _error_heavy_runs(
    conn: sqlite3.Connection, flt: RunFilter, limit: int, rate: float
) -> list[tuple[RunRecord, int]]:
    # Candidates come from the partial index of runs with a non-successful action, narrowed by
    # the filter as the walk goes; the actions of each are counted by primary key (run_no, seq).
    # The action a kill ended is not counted: the user stopped the run, it did not go wrong.
    # A run's bad actions are among those that did not succeed, so a run whose unsuccessful
    # share is under the rate cannot reach it: its actions are not counted.
    where, params = filter_sql(flt)
    where.insert(0, "r.success_count < r.action_count")
    candidates = conn.execute(
        "SELECT r.run_no, r.action_count, r.success_count FROM runs r "
        f"INDEXED BY idx_runs_unsuccessful WHERE {' AND '.join(where)} "
        "ORDER BY r.started_at DESC, r.id DESC LIMIT ?",
        [*params, UNSUCCESSFUL_SCAN_CAP],
    )
    hits: list[tuple[int, int]] = []
    count_sql = (
        "SELECT count(*) FROM actions WHERE run_no = ? "
        f"AND outcome IN ({','.join('?' * len(_BAD_OUTCOMES))}) "
        "AND coalesce(error_class, '') <> ?"
    )
    for run_no, action_count, success_count in candidates.fetchall():
        if not action_count or (action_count - success_count) / action_count < rate:
            continue
        bad = int(
            conn.execute(count_sql, (run_no, *_BAD_OUTCOMES, ErrorClass.KILLED.value)).fetchone()[0]
        )
        if bad and action_count and bad / action_count >= rate:
            hits.append((run_no, bad))
            if len(hits) >= limit:
                break
    runs = _runs_by_no(conn, [run_no for run_no, _ in hits])
    return [(runs[run_no], bad) for run_no, bad in hits if run_no in runs]


def agent_budgets(log: ExecutionLog) -> dict[str, float]:
    """Agent id -> budget per day in USD, for agents whose current config sets one."""
    return _agent_budgets(log.reader())


def _agent_budgets(conn: sqlite3.Connection) -> dict[str, float]:
    rows = conn.execute(
        "SELECT a.id, v.config_json FROM agents a "
        "JOIN agent_versions v ON v.agent_id = a.id AND v.version = a.current_version"
    )
    budgets: dict[str, float] = {}
    for agent_id, config_json in rows:
        try:
            config = json.loads(config_json)
        except ValueError:
            continue
        budget = as_money(config.get("budget_per_day_usd")) if isinstance(config, dict) else None
        if budget is not None and budget > 0:
            budgets[agent_id] = budget
    return budgets


def _over_budget_runs(
    conn: sqlite3.Connection, agent_id: str | None, since_ms: int | None, limit: int
) -> list[tuple[RunRecord, float, float]]:
    budgets = _agent_budgets(conn)
    if agent_id is not None:
        budgets = {agent_id: budgets[agent_id]} if agent_id in budgets else {}
    # Whole UTC days: a day that started before the window still counts all of its spend.
    day_floor = (since_ms // DAY_MS) * DAY_MS if since_ms is not None else None
    over_days: list[tuple[int, str, float, float]] = []  # (day, agent, spend, budget)
    for agent, budget in budgets.items():
        where: list[str] = ["r.agent_id = ?"]
        params: list[Any] = [agent]
        if day_floor is not None:
            where.append("r.started_at >= ?")
            params.append(day_floor)
        # Index-only: (agent_id, started_at, id, cost_usd).
        rows = conn.execute(
            "SELECT r.started_at / ? AS day, sum(r.cost_usd) AS spend FROM runs r "
            f"WHERE {' AND '.join(where)} GROUP BY day HAVING spend > ? "
            "ORDER BY day DESC LIMIT ?",
            [DAY_MS, *params, budget, limit],
        ).fetchall()
        over_days.extend((int(day), agent, float(spend), budget) for day, spend in rows)
    # Only the most recent agent-days can make the list: find their crossing runs only.
    over_days.sort(reverse=True)
    crossings: list[tuple[int, float, float]] = []
    for day, agent, spend, budget in over_days[:limit]:
        run_no = _budget_crossing(conn, agent, day * DAY_MS, budget)
        if run_no is not None:
            crossings.append((run_no, spend, budget))
    runs = _runs_by_no(conn, [run_no for run_no, _, _ in crossings])
    result = []
    for run_no, spend, budget in crossings:
        run = runs.get(run_no)
        if run is not None and (since_ms is None or run.started_at >= since_ms):
            result.append((run, spend, budget))
    return result


def _budget_crossing(
    conn: sqlite3.Connection, agent_id: str, day_start: int, budget: float
) -> int | None:
    """The run that took the agent's spend that day over its budget."""
    spent = 0.0
    for run_no, cost in conn.execute(
        "SELECT r.run_no, r.cost_usd FROM runs r WHERE r.agent_id = ? AND r.started_at >= ? "
        "AND r.started_at < ? AND r.cost_usd IS NOT NULL ORDER BY r.started_at, r.id",
        (agent_id, day_start, day_start + DAY_MS),
    ):
        spent += float(cost)
        if spent > budget:
            return int(run_no)
    return None


# -- spend -----------------------------------------------------------------------------------------


def agent_spend(
    log: ExecutionLog, agent_id: str, since_ms: int, until_ms: int | None = None
) -> float:
    """What the agent's runs that started in [since_ms, until_ms) cost (known costs), index-only
    on (agent_id, started_at, id, cost_usd)."""
    sql = (
        "SELECT total(r.cost_usd) FROM runs r INDEXED BY idx_runs_agent "
        "WHERE r.agent_id = ? AND r.started_at >= ?"
    )
    params: list[Any] = [agent_id, since_ms]
    if until_ms is not None:
        sql += " AND r.started_at < ?"
        params.append(until_ms)
    return float(log.reader().execute(sql, params).fetchone()[0])


def budget_state(log: ExecutionLog, agent_id: str, config: AgentConfig, now: int) -> BudgetState:
    """The agent's spend this UTC day and month against the budgets of config."""
    month = agent_spend(log, agent_id, month_start_ms(now))
    day = agent_spend(log, agent_id, day_start_ms(now))
    return BudgetState(
        day,
        month,
        config.budget_per_day_usd,
        config.budget_per_month_usd,
        config.budget_hard_ceiling,
    )


def burn_anomalies(
    log: ExecutionLog, *, agent_id: str | None = None, now: int | None = None
) -> list[tuple[RunRecord, BurnAnomaly]]:
    """Hours of the last BURN_LOOKBACK_HOURS in which an agent spent far above its trailing
    7-day hourly baseline; for each, the newest run of that hour. Each agent's spend per hour
    over 8 days comes from run_volume_rollups (migration 18) and the runs above its mark."""
    now = now if now is not None else now_ms()
    conn = log.reader()
    first_hour = (now - BURN_LOOKBACK_HOURS * HOUR_MS) // HOUR_MS
    with snapshot(conn):
        spend = _hourly_spend(conn, agent_id, first_hour - BASELINE_HOURS, first_hour)
    found: list[tuple[str, int, BurnAnomaly]] = []
    for agent in sorted(spend):
        hourly = spend[agent]
        for hour in range(first_hour, now // HOUR_MS + 1):
            spent = hourly.get(hour, 0.0)
            if spent <= 0:
                continue
            week = sum(hourly.get(h, 0.0) for h in range(hour - BASELINE_HOURS, hour))
            anomaly = burn_anomaly(spent, week)
            if anomaly is not None:
                found.append((agent, hour, anomaly))
    result = []
    for agent, hour, anomaly in found:
        row = conn.execute(
            f"SELECT {RUN_COLUMNS} FROM runs r {RUN_JOINS} WHERE r.agent_id = ? "
            "AND r.started_at >= ? AND r.started_at < ? ORDER BY r.started_at DESC, r.id DESC "
            "LIMIT 1",
            (agent, hour * HOUR_MS, (hour + 1) * HOUR_MS),
        ).fetchone()
        if row is not None:
            result.append((run_from_row(row), anomaly))
    return result


def _hourly_spend(
    conn: sqlite3.Connection, agent_id: str | None, floor_hour: int, first_hour: int
) -> dict[str, dict[int, float]]:
    """Agent -> UTC hour -> the total of its runs' costs, for hours from floor_hour on (agents
    that spent in an hour from first_hour on; one agent when agent_id is given). Call inside a
    snapshot: the rollup, its mark and the runs above it as of one commit."""
    spend: dict[str, dict[int, float]] = {}
    if unfolded(conn) > UNFOLDED_CAP:  # nobody folded them in: each agent's own index range
        if agent_id is not None:
            agents = [agent_id]
        else:
            agents = [
                str(row[0])
                for row in conn.execute(
                    "SELECT DISTINCT r.agent_id FROM runs r INDEXED BY idx_runs_started "
                    "WHERE r.started_at >= ? AND r.cost_usd > 0 AND r.agent_id IS NOT NULL",
                    (first_hour * HOUR_MS,),
                )
            ]
        for agent in agents:
            spend[agent] = {
                int(hour): float(spent)
                for hour, spent in conn.execute(
                    "SELECT r.started_at / ? AS hour, total(r.cost_usd) FROM runs r "
                    "INDEXED BY idx_runs_agent WHERE r.agent_id = ? AND r.started_at >= ? "
                    "GROUP BY hour",
                    (HOUR_MS, agent, floor_hour * HOUR_MS),
                )
            }
        return spend
    one = (agent_id,) if agent_id is not None else ()
    rows = conn.execute(
        "SELECT hour, agent_id, total(cost_usd) FROM run_volume_rollups "
        f"WHERE hour >= ? AND agent_id <> ''{' AND agent_id = ?' * len(one)} GROUP BY 1, 2",
        (floor_hour, *one),
    ).fetchall()
    rows += conn.execute(
        "SELECT r.started_at / ?, r.agent_id, total(r.cost_usd) FROM runs r NOT INDEXED "
        "WHERE r.run_no > ? AND r.started_at >= ? AND r.agent_id IS NOT NULL"
        f"{' AND r.agent_id = ?' * len(one)} GROUP BY 1, 2",
        (HOUR_MS, rollup_mark(conn), floor_hour * HOUR_MS, *one),
    ).fetchall()
    for hour, agent, spent in rows:
        by_hour = spend.setdefault(str(agent), {})
        by_hour[int(hour)] = by_hour.get(int(hour), 0.0) + float(spent)
    return spend


# -- prompt links by time -------------------------------------------------------------------------

LINK_CANDIDATE_CAP = 200
_CALL_ACTIONS = ("call_llm", "call_agent")


def prompt_link_candidates(
    log: ExecutionLog,
    since_ms: int,
    until_ms: int,
    *,
    agent_id: str | None,
    runtime: str,
    model: str,
) -> list[LinkRun]:
    """Runs that started in [since_ms, until_ms] and hold a recorded model call: of agent_id,
    or (without an agent) of runtime and model. One index range; at most LINK_CANDIDATE_CAP."""
    if agent_id is not None:
        where, args = "r.agent_id = ?", [agent_id]
    else:
        where, args = "r.runtime = ? AND r.model = ?", [runtime, model]
    rows = (
        log.reader()
        .execute(
            "SELECT r.id, r.started_at, r.agent_id, r.runtime, r.model, r.pipeline_id, "
            'r."trigger" FROM runs r '
            f"WHERE r.started_at BETWEEN ? AND ? AND {where} "
            "AND EXISTS (SELECT 1 FROM actions a WHERE a.run_no = r.run_no "
            "AND a.name IN (?, ?)) ORDER BY r.started_at LIMIT ?",
            (since_ms, until_ms, *args, *_CALL_ACTIONS, LINK_CANDIDATE_CAP),
        )
        .fetchall()
    )
    return [LinkRun(*row) for row in rows]
