"""Charts over the benchmark workspace (1,000,000 runs / 10,000,000 actions): each chart's query
and first paint, against the bare SQL aggregate of the same figures in the same run.

For every chart: its read (store.chart_queries, as the view calls it), its spec, and the first
paint of the real chart frame (offscreen, 1280-px window widths), timed together, in this
process, after one warm-up (Qt Charts imported); the p95 of the repeats. The baseline is the one
GROUP BY over the runs that gives the same figures without rollups or indexes chosen for it,
timed the same way on a reader connection of the same log.

1. Runs timeline, all time, unfiltered; then a filter change (every combination of the Runs
   page's filters that bench_ui times) to the timeline redrawn. Targets: p95 <= 150 ms and
   <= 100 ms.
2. Agent trends (30 days, the busiest agent): five charts. Target: p95 <= 150 ms.
3. Spend per day (30 days, by agent) and this month. Target: p95 <= 150 ms.
4. Regression evidence of every config change (the judged samples, binned). Target: 150 ms.
5. A cost recommendation's two options (the busiest agent's pair against another). 150 ms.
6. Compare: two runs' aligned actions drawn. Target: p95 <= 150 ms.

`python -m benchmarks.bench_charts [--home DIR] [--repeats N]`. The home is migrated to this
schema when it is older (use a copy of someone else's workspace).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.workspace import ACTIONS, RUNS, ensure_workspace

TARGET_MS = 150.0
FILTER_TARGET_MS = 100.0
DAY_MS = 86_400_000


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * 0.95 + 0.999) - 1)]


def timed(fn: Callable[[], Any], repeats: int) -> tuple[list[float], Any]:
    result = fn()  # warm-up
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples, result


def figures(name: str, ours: list[float], bare: list[float], target: float) -> dict[str, Any]:
    return {
        "chart": name,
        "p50_ms": round(statistics.median(ours), 1),
        "p95_ms": round(p95(ours), 1),
        "bare_sql_p50_ms": round(statistics.median(bare), 1),
        "bare_sql_p95_ms": round(p95(bare), 1),
        "target_p95_ms": target,
        "met": p95(ours) <= target,
    }


def bench_charts(home: Path, repeats: int) -> list[dict[str, Any]]:
    from PySide6.QtWidgets import QApplication

    from ato_desktop.core.records import RunFilter
    from ato_desktop.engine.regressions import PER_SIDE
    from ato_desktop.engine.workspace import Workspace
    from ato_desktop.store.insights_queries import fold_run_rollups
    from ato_desktop.store.paths import DataPaths
    from ato_desktop.ui.charts import agent_trends, regression_evidence, runs_timeline, spend_charts
    from ato_desktop.ui.charts.chart_frame import ChartFrame
    from ato_desktop.ui.charts.compare_bars import CompareBars
    from ato_desktop.ui.theme import LIGHT, build_palette, set_current_theme

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setStyle("Fusion")
    set_current_theme(LIGHT)
    app.setPalette(build_palette(LIGHT))
    workspace = Workspace.open(DataPaths(home), strict_prices=False)
    results: list[dict[str, Any]] = []
    try:
        store = workspace.store
        fold_run_rollups(store)  # as after a demo build: the rollups hold the log
        conn = store.reader()
        (last,) = conn.execute("SELECT max(started_at) FROM runs").fetchone()
        now = int(last) + 1

        def fresh(width: int = 1240, height: int = 260) -> ChartFrame:
            """A frame of its own per chart, as in the app (only the charts timed show)."""
            made = ChartFrame("bench", empty_title="", empty_text="", min_height=180)
            made.resize(width, height)
            made.show()
            return made

        frame = fresh()

        def draw(target: ChartFrame, spec: Any) -> None:
            target.set_spec(spec)
            target.repaint()
            app.processEvents()

        # 1. The timeline, all time; then filter changes.
        def timeline(flt: RunFilter) -> Any:
            volume = runs_timeline.read_volume(store, flt, now)
            draw(frame, runs_timeline.volume_spec(volume))
            return volume

        ours, volume = timed(lambda: timeline(RunFilter()), repeats)
        bucket = volume.bucket_ms
        bare, _ = timed(
            lambda: conn.execute(
                "SELECT (started_at - ?) / ?, status, count(*) FROM runs GROUP BY 1, 2",
                (volume.start_ms, bucket),
            ).fetchall(),
            max(3, repeats // 4),
        )
        results.append(figures("Runs timeline (all time)", ours, bare, TARGET_MS))
        agents = store.list_agents()
        busiest = max(
            agents,
            key=lambda a: conn.execute(
                "SELECT total(runs) FROM run_rollups WHERE agent_id = ?", (a.id,)
            ).fetchone()[0],
        )
        combos = [
            dict(statuses=statuses, agent_id=agent, since_ms=since, min_cost_usd=cost)
            for statuses in [(), ("failed",), ("completed", "failed"), ("killed", "interrupted")]
            for agent in (None, busiest.id)
            for since in (now - DAY_MS, now - 7 * DAY_MS, now - 30 * DAY_MS, None)
            for cost in (None, 0.02, 0.5)
        ]
        changes: list[float] = []
        bare_changes: list[float] = []
        by_cost: dict[str, list[float]] = {"no min cost": [], "min cost": []}
        timeline(RunFilter())
        for combo in combos:
            flt = dataclasses.replace(RunFilter(), **combo)  # type: ignore[arg-type]
            started = time.perf_counter()
            timeline(flt)
            elapsed = (time.perf_counter() - started) * 1000
            changes.append(elapsed)
            by_cost["min cost" if combo["min_cost_usd"] else "no min cost"].append(elapsed)
            where, params = ["1"], []
            if combo["statuses"]:
                where.append(f"status IN ({','.join('?' * len(combo['statuses']))})")
                params += list(combo["statuses"])
            if combo["agent_id"]:
                where.append("agent_id = ?")
                params.append(combo["agent_id"])
            if combo["since_ms"]:
                where.append("started_at >= ?")
                params.append(combo["since_ms"])
            if combo["min_cost_usd"]:
                where.append("cost_usd >= ?")
                params.append(combo["min_cost_usd"])
            started = time.perf_counter()
            conn.execute(
                f"SELECT started_at / 3600000, status, count(*) FROM runs WHERE "
                f"{' AND '.join(where)} GROUP BY 1, 2",
                params,
            ).fetchall()
            bare_changes.append((time.perf_counter() - started) * 1000)
        row = figures("Runs timeline: a filter change", changes, bare_changes, FILTER_TARGET_MS)
        row["filter_changes"] = len(changes)
        row["p95_without_min_cost_ms"] = round(p95(by_cost["no min cost"]), 1)
        row["p95_with_min_cost_ms"] = round(p95(by_cost["min cost"]), 1)
        results.append(row)

        frame.hide()

        # 2. Agent trends.
        trends_view_frames = [ChartFrame(str(m), empty_title="", empty_text="") for m in range(5)]
        for f in trends_view_frames:
            f.resize(600, 240)
            f.show()

        def trends() -> None:
            data = agent_trends.read_trends(store, busiest.id, "30d", now)
            for f, spec in zip(
                trends_view_frames, agent_trends.trend_specs(data).values(), strict=True
            ):
                draw(f, spec)

        ours, _ = timed(trends, repeats)
        since = now - 30 * DAY_MS
        bare, _ = timed(
            lambda: conn.execute(
                "SELECT started_at / 86400000, count(*), sum(status = 'completed'), "
                "sum(status = 'failed'), total(cost_usd), max(duration_ns) FROM runs "
                "WHERE agent_id = ? AND started_at >= ? GROUP BY 1",
                (busiest.id, since),
            ).fetchall(),
            max(3, repeats // 4),
        )
        results.append(figures("Agent trends (30 days, five charts)", ours, bare, TARGET_MS))

        for f in trends_view_frames:
            f.hide()

        # 3. Spend.
        frame = fresh()
        month_frame = fresh(500, 240)

        def spend() -> None:
            data = spend_charts.read_spend(store, "agent", now)
            draw(frame, spend_charts.spend_spec(data))
            draw(month_frame, spend_charts.month_spec(data))

        ours, _ = timed(spend, repeats)
        bare, _ = timed(
            lambda: conn.execute(
                "SELECT started_at / 86400000, agent_id, total(cost_usd) FROM runs "
                "WHERE started_at >= ? GROUP BY 1, 2",
                (now - now % DAY_MS - 29 * DAY_MS,),
            ).fetchall(),
            max(3, repeats // 4),
        )
        results.append(figures("Spend per day and this month", ours, bare, TARGET_MS))

        frame.hide()
        month_frame.hide()

        # 4. Regression evidence: every change of every agent, in turn.
        changes_list = conn.execute(
            "SELECT p.id, v.id FROM agent_versions v JOIN agent_versions p "
            "ON p.agent_id = v.agent_id AND p.version = v.version - 1"
        ).fetchall()
        evidence_frames = [fresh(600, 250) for _ in range(2)]
        ours, bare = [], []
        for previous, version in changes_list:
            samples, _ = timed(
                lambda p=previous, v=version: (
                    regression_evidence.read_samples(store, p, v) and None
                ),
                max(2, repeats // len(changes_list) or 1),
            )
            ours.extend(samples)
            bare.extend(
                timed(
                    lambda p=previous, v=version: [
                        conn.execute(
                            "SELECT status, duration_ns, cost_usd FROM runs "
                            "WHERE agent_version_id = ? AND status <> 'running' "
                            "ORDER BY started_at DESC LIMIT ?",
                            (x, PER_SIDE),
                        ).fetchall()
                        for x in (p, v)
                    ],
                    max(2, repeats // len(changes_list) or 1),
                )[0]
            )
        # The paint of the charts (the figures above are the reads): added per change.
        from ato_desktop.engine.regressions import detect_regressions

        report = detect_regressions(store)
        paint: list[float] = []
        for change in report.changes:
            data = regression_evidence.read_samples(
                store, change.previous_version_id, change.version_id
            )
            started = time.perf_counter()
            for f, check in zip(
                evidence_frames, regression_evidence.charted_checks(change), strict=False
            ):
                draw(f, regression_evidence.evidence_spec(check, change, data, report.thresholds))
            paint.append((time.perf_counter() - started) * 1000)
        worst_paint = max(paint, default=0.0)
        row = figures(
            "Regression evidence (per change, read + paint)",
            [t + worst_paint for t in ours],
            bare,
            TARGET_MS,
        )
        row["changes"] = len(changes_list)
        results.append(row)

        for f in evidence_frames:
            f.hide()

        # 5. A recommendation's two options.
        pairs = conn.execute(
            "SELECT runtime, model, sum(runs) FROM run_rollups WHERE agent_id = ? "
            "GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 2",
            (busiest.id,),
        ).fetchall()
        current = (pairs[0][0], pairs[0][1])
        other = (pairs[-1][0], pairs[-1][1]) if len(pairs) > 1 else ("codex", "gpt-5-mini")

        def options() -> None:
            costs = spend_charts.read_option_costs(store, busiest.id, current, other, now)
            draw(frame, spend_charts.option_costs_spec(costs))

        frame = fresh(700, 260)
        ours, _ = timed(options, repeats)
        frame.hide()
        bare, _ = timed(
            lambda: conn.execute(
                "SELECT runtime, model, count(*), avg(cost_usd) FROM runs WHERE agent_id = ? "
                "AND started_at >= ? AND cost_usd IS NOT NULL GROUP BY 1, 2",
                (busiest.id, now - 30 * DAY_MS),
            ).fetchall(),
            max(3, repeats // 4),
        )
        results.append(figures("Cost recommendation: two options", ours, bare, TARGET_MS))

        # 6. Compare two runs: the busiest agent's two newest with most actions.
        from ato_desktop.engine.compare import compare_runs

        ids = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM runs INDEXED BY idx_runs_agent WHERE agent_id = ? "
                "ORDER BY started_at DESC LIMIT 2",
                (busiest.id,),
            )
        ]
        bars = CompareBars()
        bars.resize(600, 260)
        bars.show()

        def compare() -> None:
            comparison = compare_runs(store, ids[1], ids[0])
            bars.show_runs(comparison)
            bars.repaint()
            app.processEvents()

        ours, _ = timed(compare, repeats)
        bare, _ = timed(
            lambda: conn.execute(
                "SELECT a.* FROM actions a JOIN runs r ON r.run_no = a.run_no WHERE r.id IN "
                "(?, ?) ORDER BY a.run_no, a.seq",
                ids,
            ).fetchall(),
            max(3, repeats // 4),
        )
        results.append(figures("Compare: two runs' actions", ours, bare, TARGET_MS))
    finally:
        workspace.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", type=Path, help="a workspace (default: the benchmark one)")
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--actions", type=int, default=ACTIONS)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    home = args.home or ensure_workspace(args.runs, args.actions)
    load = round(os.getloadavg()[0], 2)
    rows = bench_charts(home, args.repeats)
    print(
        json.dumps(
            {
                "charts": {
                    "rows": rows,
                    "load_before": load,
                    "load_after": round(os.getloadavg()[0], 2),
                }
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
