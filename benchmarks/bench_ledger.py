"""The Activity Ledger on the benchmark workspace (10,000,000 actions).

The first page (100 actions) for a grid of the ledger's filters (none; action name, kind,
outcome, agent, model, min cost, min duration, time window, one run, and combinations) in each
of its orders (time, cost, duration, both directions), through `store.action_ledger.page`,
against the bare SQL in this run: one SELECT of the actions joined to their runs with the same
WHERE and ORDER BY, planned by SQLite over the same indexes. Also the capped count the view
shows beside the list. Target: first page p95 <= 200 ms.

    .venv/bin/python -m benchmarks.bench_ledger [--home DIR]

Prints one JSON object: {"ledger": {...}}.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_sort import percentile, summary
from benchmarks.workspace import ACTIONS, RUNS, ensure_workspace

DAY_MS = 86_400_000
PAGE = 100
TARGET_P95_MS = 200
_BARE_VALUE = {"time": "a.started_at", "cost": "a.cost_usd", "duration": "a.duration_ns"}


def describe(flt: Any) -> str:
    """The filter's terms that are set: 'outcome=error, since 24 h'."""
    import dataclasses

    parts = [
        f"{f.name}={getattr(flt, f.name)}"
        for f in dataclasses.fields(flt)
        if getattr(flt, f.name) is not None and f.name not in ("since_ms", "run_id", "agent_id")
    ]
    if flt.agent_id:
        parts.append("one agent")
    if flt.run_id:
        parts.append("one run")
    if flt.since_ms is not None:
        parts.append("a time window")
    return ", ".join(parts) or "no filter"


def bare_sql(flt: Any, key: str, descending: bool, run_no: int | None) -> tuple[str, list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    for column, value in (("a.name", flt.name), ("a.kind", flt.kind), ("a.outcome", flt.outcome)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    for column, value in (("r.agent_id", flt.agent_id), ("r.model", flt.model)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if flt.since_ms is not None:
        where.append("a.started_at >= ?")
        params.append(flt.since_ms)
    if flt.min_cost_usd is not None:
        where.append("a.cost_usd >= ?")
        params.append(flt.min_cost_usd)
    if flt.min_duration_ms is not None:
        where.append("a.duration_ns >= ?")
        params.append(int(flt.min_duration_ms * 1_000_000))
    if run_no is not None:
        where.append("a.run_no = ?")
        params.append(run_no)
    value = _BARE_VALUE[key]
    direction = "DESC" if descending else "ASC"
    order = f"{value} IS NULL, {value} {direction}, a.started_at {direction}, a.run_no {direction}"
    sql = (
        "SELECT a.run_no, a.seq, a.name, a.kind, a.outcome, a.started_at, a.duration_ns, "
        "a.cost_usd, r.id, r.agent_id, r.model FROM actions a JOIN runs r ON r.run_no = a.run_no"
        + (" WHERE " + " AND ".join(where) if where else "")
        + f" ORDER BY {order} LIMIT {PAGE}"
    )
    return sql, params


def bench_ledger(home: Path, *, bare_cap_s: float = 5.0) -> dict[str, Any]:
    from ato_desktop.core.ledger import LEDGER_SORT_KEYS, LedgerFilter, LedgerSort
    from ato_desktop.core.records import RunFilter
    from ato_desktop.store import action_ledger
    from ato_desktop.store.execution_log import ExecutionLog
    from ato_desktop.store.paths import DataPaths

    log = ExecutionLog.open(DataPaths(home))
    try:
        conn = log.reader()
        agents = log.list_agents()
        models = action_ledger.models(conn)
        triples = action_ledger.streams(conn)
        names = sorted({name for _k, name, _o in triples})
        tools = [name for kind, name, _o in triples if kind == "tool"]
        newest = conn.execute("SELECT max(started_at) FROM runs").fetchone()[0]
        run = log.list_runs(RunFilter(), limit=50)[-1]  # a recent run, finished
        day = newest - DAY_MS
        filters = [
            LedgerFilter(),
            LedgerFilter(name="call_llm"),
            LedgerFilter(name=tools[0] if tools else names[0]),
            LedgerFilter(kind="tool"),
            LedgerFilter(outcome="error"),
            LedgerFilter(outcome="blocked"),
            LedgerFilter(agent_id=agents[0].id),
            LedgerFilter(agent_id=agents[-1].id, kind="llm"),
            LedgerFilter(model=models[0]),
            LedgerFilter(model=models[-1], outcome="error"),
            LedgerFilter(min_cost_usd=0.01),
            LedgerFilter(min_duration_ms=5_000),
            LedgerFilter(since_ms=day),
            LedgerFilter(since_ms=newest - 7 * DAY_MS, outcome="error", kind="tool"),
            LedgerFilter(agent_id=agents[0].id, name="call_llm", since_ms=newest - 7 * DAY_MS),
            LedgerFilter(run_id=run.id),
        ]
        ours: list[float] = []
        bare: list[float] = []
        bare_capped = 0
        slowest: list[tuple[float, str]] = []
        counts: list[float] = []
        for flt in filters:
            t0 = time.perf_counter()
            action_ledger.count(conn, flt)
            counts.append((time.perf_counter() - t0) * 1000)
            for key in LEDGER_SORT_KEYS:
                for descending in (True, False):
                    sort = LedgerSort(key, descending)
                    t0 = time.perf_counter()
                    action_ledger.page(conn, flt, None, PAGE, sort=sort)
                    elapsed = (time.perf_counter() - t0) * 1000
                    ours.append(elapsed)
                    slowest.append(
                        (elapsed, f"{key} {'desc' if descending else 'asc'} / {describe(flt)}")
                    )
                    sql, params = bare_sql(flt, key, descending, run.run_no if flt.run_id else None)
                    deadline = time.perf_counter() + bare_cap_s
                    conn.set_progress_handler(
                        lambda end=deadline: 1 if time.perf_counter() > end else 0, 10_000
                    )
                    t0 = time.perf_counter()
                    try:
                        conn.execute(sql, params).fetchall()
                    except Exception:  # interrupted at the cap
                        bare_capped += 1
                    finally:
                        conn.set_progress_handler(None, 0)
                    bare.append((time.perf_counter() - t0) * 1000)
        slowest.sort(reverse=True)
        actions = conn.execute("SELECT max(rowid) FROM actions").fetchone()[0]
        return {
            "actions_in_log": actions,
            "queries": len(ours),
            "filters": len(filters),
            "ours": summary(ours),
            "bare_sql": summary(bare),
            "bare_sql_capped": bare_capped,
            "bare_cap_s": bare_cap_s,
            "count": summary(counts),
            "count_cap": action_ledger.COUNT_CAP,
            "streams": conn.execute("SELECT count(*) FROM ledger_streams").fetchone()[0],
            "slowest": [f"{ms:.1f} ms: {what}" for ms, what in slowest[:3]],
            "p99_ms": round(percentile(ours, 0.99), 2),
            "target_p95_ms": TARGET_P95_MS,
        }
    finally:
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--actions", type=int, default=ACTIONS)
    parser.add_argument("--home", type=Path, help="a workspace to use as it is")
    args = parser.parse_args()
    home = args.home or ensure_workspace(args.runs, args.actions)
    load_before = round(os.getloadavg()[0], 2)
    figures = bench_ledger(home)
    figures["load"] = [load_before, round(os.getloadavg()[0], 2)]
    print(json.dumps({"ledger": figures}))


if __name__ == "__main__":
    main()
