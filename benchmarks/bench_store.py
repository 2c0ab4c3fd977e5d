"""Ingest and Runs-list benchmarks for the execution log (issue: foundation).

Ingest: 100,000 runs with 1,000,000 actions through ExecutionLog.ingest, against raw sqlite3
executemany of the very same rows (already encoded as tuples: runs, actions and the Activity
Ledger's rows) into the same schema, in the same run. Target: our throughput >= 0.5x raw.

Runs list: status + agent + 7d + min cost, first page, on that database. Target: p95 <= 50 ms.
Printed as JSON; `python -m benchmarks.run_all` collects the figures into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import RunFilter
from ato_desktop.store.database import connect, open_database
from ato_desktop.store.execution_log import (
    ACTION_INSERT,
    RUN_INSERT,
    ExecutionLog,
    _action_row,
    _bulk_run_row,
)
from ato_desktop.store.ledger_rows import LEDGER_INSERT, StreamKey, ledger_rows
from ato_desktop.store.paths import DataPaths
from benchmarks.workload import DAY_MS, synthetic_runs

BATCH_RUNS = 2_000


def _agents(log: ExecutionLog, n: int) -> list[tuple[str, str]]:
    out = []
    for i in range(n):
        agent = log.create_agent(f"agent-{i:02d}", AgentConfig("claude", "claude-sonnet-5"))
        record = agent.result()
        out.append((record.id, record.current_version_id))
    return out


def bench_ingest(root: Path, runs: int, actions_per_run: int) -> dict[str, Any]:
    now = int(time.time() * 1000)
    # -- ours
    ours = DataPaths(root / "ours").ensure()
    log = ExecutionLog.open(ours)
    agents = _agents(log, 20)
    workload = list(synthetic_runs(runs, actions_per_run, agents, now_ms=now))
    t0 = time.perf_counter()
    futures = [log.ingest(workload[i : i + BATCH_RUNS]) for i in range(0, runs, BATCH_RUNS)]
    written = sum(f.result() for f in futures)
    ours_s = time.perf_counter() - t0
    assert written == runs
    log.close()

    # -- raw sqlite3: the same rows, pre-encoded, same schema and indexes
    raw_path = root / "raw" / "ato.sqlite3"
    raw_path.parent.mkdir(parents=True)
    open_database(raw_path).close()
    conn = connect(raw_path)
    conn.execute("ATTACH DATABASE ? AS src", (str(ours.database),))
    conn.execute("BEGIN")
    conn.execute("INSERT INTO agents SELECT * FROM src.agents")
    conn.execute("INSERT INTO agent_versions SELECT * FROM src.agent_versions")
    # The Activity Ledger's streams as ingest made them: the raw side writes the very same
    # ledger rows, numbers already looked up (migration 16).
    conn.execute("INSERT INTO ledger_streams SELECT * FROM src.ledger_streams")
    conn.execute("COMMIT")
    conn.execute("DETACH DATABASE src")
    streams: dict[StreamKey, int] = {}
    batches = []
    run_no = 0
    for i in range(0, runs, BATCH_RUNS):
        run_rows, action_rows, ledger = [], [], []
        for new, end, actions in workload[i : i + BATCH_RUNS]:
            run_no += 1
            run_rows.append(_bulk_run_row(run_no, new, end, actions))
            action_rows.extend(_action_row(run_no, s, a) for s, a in enumerate(actions, 1))
            ledger.extend(
                ledger_rows(conn, run_no, new.agent_id, new.model, enumerate(actions, 1), streams)
            )
        batches.append((run_rows, action_rows, ledger))
    t0 = time.perf_counter()
    for run_rows, action_rows, ledger in batches:
        conn.execute("BEGIN")
        conn.executemany(RUN_INSERT, run_rows)
        conn.executemany(ACTION_INSERT, action_rows)
        conn.executemany(LEDGER_INSERT, ledger)
        conn.execute("COMMIT")
    raw_s = time.perf_counter() - t0
    conn.close()
    return {
        "runs": runs,
        "actions": runs * actions_per_run,
        "ours_s": round(ours_s, 3),
        "raw_s": round(raw_s, 3),
        "ours_actions_per_s": round(runs * actions_per_run / ours_s),
        "raw_actions_per_s": round(runs * actions_per_run / raw_s),
        "ratio_vs_raw": round(raw_s / ours_s, 3),
        "target_ratio": 0.5,
        "db_path": str(ours.database),
    }


def bench_runs_list(root: Path, repeats: int = 200) -> dict[str, Any]:
    paths = DataPaths(root / "ours")
    log = ExecutionLog.open(paths)
    agents = log.list_agents()
    now = int(time.time() * 1000)
    flt = RunFilter(
        statuses=("completed",),
        agent_id=agents[3].id,
        since_ms=now - 7 * DAY_MS,
        min_cost_usd=0.05,
    )
    samples = []
    rows = 0
    for i in range(repeats):
        # vary the agent so each query is not a page-cache replay of the last one
        flt_i = RunFilter(flt.statuses, agents[i % len(agents)].id, flt.since_ms, flt.min_cost_usd)
        t0 = time.perf_counter()
        page = log.list_runs(flt_i, limit=50)
        samples.append((time.perf_counter() - t0) * 1000)
        rows = max(rows, len(page))
    # baseline: the bare SQL query on the runs table without joins or record building
    conn = log.reader()
    bare = []
    for i in range(repeats):
        t0 = time.perf_counter()
        conn.execute(
            "SELECT * FROM runs WHERE status = ? AND agent_id = ? AND started_at >= ? "
            "AND cost_usd >= ? ORDER BY started_at DESC, id DESC LIMIT 50",
            ("completed", agents[i % len(agents)].id, flt.since_ms, 0.05),
        ).fetchall()
        bare.append((time.perf_counter() - t0) * 1000)
    total = log.count_runs(RunFilter())
    log.close()
    q = statistics.quantiles(samples, n=100)
    qb = statistics.quantiles(bare, n=100)
    return {
        "runs_in_db": total,
        "first_page_rows": rows,
        "p50_ms": round(q[49], 3),
        "p95_ms": round(q[94], 3),
        "bare_sql_p95_ms": round(qb[94], 3),
        "target_p95_ms": 50,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--actions-per-run", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ato-bench-") as tmp:
        root = Path(tmp)
        ingest = bench_ingest(root, args.runs, args.actions_per_run)
        print(json.dumps({"ingest": ingest}), flush=True)
        listing = bench_runs_list(root)
        print(json.dumps({"runs_list": listing}), flush=True)


if __name__ == "__main__":
    main()
