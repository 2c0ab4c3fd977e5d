"""Regressions and cost recommendations over the whole benchmark workspace.

1. `engine.regressions.detect_regressions`: every config change of every agent judged on the runs
   before and after it, with examples for the ones that regressed (as Insights and `ato-desktop
   regressions` compute it), against the bare SQL aggregate of the same runs in the same run:
   per config version, runs, failures, mean duration and total cost over the whole log.
2. `engine.cost_recs.cost_recommendations`: every agent's 30 days of runs per runtime and model,
   replays included, judged against each candidate, against the bare SQL aggregate of the same
   30 days per agent, runtime and model.

Target: <= 1 s each. Each is timed once cold (the first call in this process) and then
repeated; the figures are the median and the worst of the repeats, with the same for the
baseline. `python -m benchmarks.bench_insights [--home DIR]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.workspace import ACTIONS, RUNS, ensure_workspace

TARGET_S = 1.0
DAY_MS = 86_400_000

_VERSION_AGGREGATE = (
    "SELECT agent_version_id, count(*), sum(status = 'failed'), avg(duration_ns), total(cost_usd) "
    "FROM runs WHERE agent_version_id IS NOT NULL AND status != 'running' "
    "AND \"trigger\" NOT IN ('replay', 'eval') GROUP BY agent_version_id"
)
_PAIR_AGGREGATE = (
    "SELECT agent_id, runtime, model, count(*), sum(status = 'completed'), "
    "sum(status = 'failed'), total(cost_usd) FROM runs WHERE agent_id IS NOT NULL "
    "AND started_at >= ? AND status != 'running' GROUP BY agent_id, runtime, model"
)


def _timed(fn: Callable[[], Any], repeats: int) -> tuple[float, list[float], Any]:
    started = time.perf_counter()
    result = fn()
    cold = time.perf_counter() - started
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - started)
    return cold, samples, result


def _figures(prefix: str, cold: float, samples: list[float]) -> dict[str, float]:
    return {
        f"{prefix}cold_s": round(cold, 3),
        f"{prefix}median_s": round(statistics.median(samples), 3),
        f"{prefix}max_s": round(max(samples), 3),
    }


def bench_insights(home: Path, repeats: int = 5) -> dict[str, Any]:
    from ato_desktop.engine.cost_recs import cost_recommendations
    from ato_desktop.engine.regressions import detect_regressions
    from ato_desktop.engine.workspace import Workspace
    from ato_desktop.store.paths import DataPaths

    workspace = Workspace.open(DataPaths(home))
    try:
        store = workspace.store
        conn = store.reader()
        end = conn.execute("SELECT max(started_at) FROM runs").fetchone()[0] or 0
        runs = conn.execute("SELECT count(*) FROM runs").fetchone()[0]
        cold, samples, report = _timed(lambda: detect_regressions(store), repeats)
        bare_cold, bare, _ = _timed(lambda: conn.execute(_VERSION_AGGREGATE).fetchall(), repeats)
        regressions = {
            "runs_in_log": runs,
            "changes": len(report.changes),
            "regressed": len(report.regressions),
            **_figures("", cold, samples),
            **_figures("bare_sql_", bare_cold, bare),
            "target_s": TARGET_S,
        }
        # "Now" is the end of the workspace's month, so its 30 days are all of it.
        now = int(end) + 1
        since = now - 30 * DAY_MS
        cold, samples, costs = _timed(lambda: cost_recommendations(store, now=now), repeats)
        bare_cold, bare, _ = _timed(
            lambda: conn.execute(_PAIR_AGGREGATE, (since,)).fetchall(), repeats
        )
        cost = {
            "runs_in_log": runs,
            "agents": len(costs.agents),
            "recommendations": len(costs.recommendations),
            **_figures("", cold, samples),
            **_figures("bare_sql_", bare_cold, bare),
            "target_s": TARGET_S,
        }
    finally:
        workspace.close()
    return {"regressions": regressions, "cost_recs": cost}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", type=Path, help="a workspace (default: the benchmark one)")
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--actions", type=int, default=ACTIONS)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    home = args.home or ensure_workspace(args.runs, args.actions)
    for key, value in bench_insights(home, args.repeats).items():
        print(json.dumps({key: value}), flush=True)


if __name__ == "__main__":
    main()
