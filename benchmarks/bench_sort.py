"""Sorting History and reaching any run, on the benchmark workspace (1,000,000 runs).

1. The first page in every order of History (8 sort keys x 2 directions) under a grid of the
   page's filters (statuses x agent x time window x min cost, simulations hidden as the page
   does), through `ExecutionLog.list_runs`, against the bare SQL in this run: one SELECT with
   the same WHERE and ORDER BY that SQLite plans on its own over the same indexes.
   Target: p95 <= 100 ms.
2. Reaching any run: the positional reads the History model makes for End and a scrollbar drag
   (the page at 0 %, 10 % ... 100 % of the list, read from the nearer end), in the default
   order and by cost, with the count they start from; then through the real Runs page in the
   main window: End, and the scrollbar set to each tenth, until the rows there are painted.
   Target: p95 <= 200 ms.

    .venv/bin/python -m benchmarks.bench_sort [--home DIR]

Prints one JSON object: {"sort": {...}}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.workspace import ACTIONS, RUNS, ensure_workspace

DAY_MS = 86_400_000
PAGE = 100
SORT_TARGET_P95_MS = 100
REACH_TARGET_P95_MS = 200

_BARE_ORDER = {
    "started": "started_at DESC, id DESC",
    "ended": "ended_at IS NULL, ended_at DESC, started_at DESC, run_no DESC",
    "duration": "duration_ns IS NULL, duration_ns DESC, started_at DESC, run_no DESC",
    "cost": "cost_usd IS NULL, cost_usd DESC, started_at DESC, run_no DESC",
    "actions": "action_count DESC, started_at DESC, run_no DESC",
    "success": (
        "action_count = 0, CAST(success_count AS REAL) / max(action_count, 1) DESC, "
        "started_at DESC, run_no DESC"
    ),
    "status": (
        "CASE status WHEN 'running' THEN 0 WHEN 'completed' THEN 1 WHEN 'failed' THEN 2 "
        "WHEN 'killed' THEN 3 ELSE 4 END DESC, started_at DESC, id DESC"
    ),
    "agent": "g.name IS NULL, g.name COLLATE NOCASE DESC, started_at DESC, id DESC",
}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * share + 0.5) - 1)]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(values), 2),
        "p95_ms": round(percentile(values, 0.95), 2),
        "max_ms": round(max(values), 2),
    }


def bare_sql(flt: Any, key: str, descending: bool) -> tuple[str, list[Any]]:
    """The same page as one plain statement, planned by SQLite alone."""
    where = ["is_simulation = 0"]
    params: list[Any] = []
    if flt.statuses:
        where.append(f"status IN ({','.join('?' * len(flt.statuses))})")
        params += list(flt.statuses)
    if flt.agent_id:
        where.append("agent_id = ?")
        params.append(flt.agent_id)
    if flt.since_ms is not None:
        where.append("started_at >= ?")
        params.append(flt.since_ms)
    if flt.min_cost_usd is not None:
        where.append("cost_usd >= ?")
        params.append(flt.min_cost_usd)
    order = _BARE_ORDER[key]
    if not descending:
        order = order.replace(" DESC", " ASC")
    join = " LEFT JOIN agents g ON g.id = runs.agent_id" if key == "agent" else ""
    sql = f"SELECT runs.* FROM runs{join} WHERE {' AND '.join(where)} ORDER BY {order} LIMIT {PAGE}"
    return sql, params


def bench_sorted_pages(home: Path) -> dict[str, Any]:
    from ato_desktop.core.records import RunFilter
    from ato_desktop.core.run_sort import SORT_KEYS, RunSort
    from ato_desktop.store.execution_log import ExecutionLog
    from ato_desktop.store.paths import DataPaths

    log = ExecutionLog.open(DataPaths(home))
    try:
        conn = log.reader()
        agents = log.list_agents()
        now = int(time.time() * 1000)
        newest = conn.execute("SELECT max(started_at) FROM runs").fetchone()[0] or now
        filters = [
            RunFilter(
                statuses=statuses,
                agent_id=agent.id if agent else None,
                since_ms=newest - days * DAY_MS if days else None,
                min_cost_usd=cost,
                include_simulations=False,
            )
            for statuses in ((), ("failed",), ("completed", "failed"), ("running",))
            for agent in (None, agents[0])
            for days in (None, 7)
            for cost in (None, 0.05)
        ]
        ours: list[float] = []
        bare: list[float] = []
        by_key: dict[str, list[float]] = {}
        slowest: list[tuple[float, str]] = []
        for key in SORT_KEYS:
            for descending in (True, False):
                sort = RunSort(key, descending)
                log.list_runs(filters[0], limit=PAGE, sort=sort)  # the index's pages, warm
                for flt in filters:
                    t0 = time.perf_counter()
                    log.list_runs(flt, limit=PAGE, sort=sort)
                    elapsed = (time.perf_counter() - t0) * 1000
                    ours.append(elapsed)
                    by_key.setdefault(key, []).append(elapsed)
                    slowest.append((elapsed, f"{sort.describe()} / {_describe(flt, agents)}"))
                    sql, params = bare_sql(flt, key, descending)
                    t0 = time.perf_counter()
                    conn.execute(sql, params).fetchall()
                    bare.append((time.perf_counter() - t0) * 1000)
        slowest.sort(reverse=True)
        return {
            "queries": len(ours),
            "filters": len(filters),
            "orders": len(SORT_KEYS) * 2,
            "ours": summary(ours),
            "bare_sql": summary(bare),
            "by_key_p95_ms": {k: round(percentile(v, 0.95), 2) for k, v in by_key.items()},
            "slowest": [f"{ms:.1f} ms: {what}" for ms, what in slowest[:3]],
            "target_p95_ms": SORT_TARGET_P95_MS,
        }
    finally:
        log.close()


def _describe(flt: Any, agents: list[Any]) -> str:
    parts = [",".join(flt.statuses) or "any status"]
    if flt.agent_id:
        parts.append(next((a.name for a in agents if a.id == flt.agent_id), "agent"))
    parts.append("7 d" if flt.since_ms is not None else "all time")
    if flt.min_cost_usd is not None:
        parts.append(f">= ${flt.min_cost_usd}")
    return " · ".join(parts)


def bench_positions(home: Path) -> dict[str, Any]:
    """The History model's positional reads, without Qt: the count, then a page per tenth."""
    from ato_desktop.core.records import RunFilter
    from ato_desktop.core.run_sort import RunSort
    from ato_desktop.store.execution_log import ExecutionLog
    from ato_desktop.store.paths import DataPaths

    log = ExecutionLog.open(DataPaths(home))
    try:
        flt = RunFilter(include_simulations=False)
        result: dict[str, Any] = {}
        reads: list[float] = []
        for sort in (RunSort(), RunSort("cost")):
            t0 = time.perf_counter()
            total = log.count_runs(flt)
            count_ms = (time.perf_counter() - t0) * 1000
            jumps = []
            for tenth in range(11):
                position = min(total - 1, total * tenth // 10)
                backwards = position > total // 2
                skip = total - position - 1 if backwards else position
                t0 = time.perf_counter()
                log.list_runs(flt, limit=200, sort=sort, offset=skip, backwards=backwards)
                jumps.append((time.perf_counter() - t0) * 1000)
            reads += jumps
            result[sort.key] = {
                "total": total,
                "count_ms": round(count_ms, 1),
                "worst_jump_ms": round(max(jumps), 1),
            }
        result["reads"] = summary(reads)
        return result
    finally:
        log.close()


def bench_page_jumps(home: Path) -> dict[str, Any]:
    """End and scrollbar drags through the real Runs page in the main window."""
    import qasync
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from ato_desktop.core.run_sort import RunSort
    from ato_desktop.store.paths import DataPaths
    from ato_desktop.ui.commands import CommandRegistry
    from ato_desktop.ui.context import AppContext
    from ato_desktop.ui.main_window import MainWindow
    from ato_desktop.ui.theme import ThemeManager

    os.environ.update(QT_QPA_PLATFORM="offscreen", ATO_OFFLINE="1")
    app = QApplication.instance() or QApplication([sys.argv[0]])
    loop = qasync.QEventLoop(app)
    loop.set_default_executor(ThreadPoolExecutor(max_workers=8))
    asyncio.set_event_loop(loop)
    result: dict[str, Any] = {}

    async def until(check: Any, what: str, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not check():
            if time.monotonic() > deadline:
                raise RuntimeError(f"gave up waiting for {what}")
            await asyncio.sleep(0.001)

    async def shown(page: Any, rows: range) -> None:
        await until(lambda: all(page.model.is_loaded(r) for r in rows), f"rows {rows}")
        page.history.table.viewport().repaint()

    async def run() -> None:
        ctx = AppContext(CommandRegistry(app), ThemeManager(app), DataPaths(home))
        await ctx.open_workspace()
        window = MainWindow(ctx)
        window.resize(1280, 820)
        window.show()
        window.navigate("runs")
        page = window.page("runs")
        table = page.history.table
        jumps: list[float] = []
        for sort in (RunSort(), RunSort("cost")):
            page.model.set_sort(sort)
            await until(lambda: page.model.total is not None and not page.model.loading, "count")
            total = page.model.total
            print(f"jumps in {sort.describe()}: {total:,} runs", file=sys.stderr, flush=True)
            table.setFocus()
            await asyncio.sleep(0.3)
            t0 = time.perf_counter()
            QTest.keyClick(table, Qt.Key.Key_End)
            await shown(page, range(total - 10, total))
            jumps.append((time.perf_counter() - t0) * 1000)
            bar = table.verticalScrollBar()
            for tenth in (1, 2, 3, 4, 5, 6, 7, 8, 9, 5, 1):
                await asyncio.sleep(0.2)  # a user's pace
                t0 = time.perf_counter()
                bar.setValue(bar.maximum() * tenth // 10)
                top = table.rowAt(0)
                await shown(page, range(top, min(total, top + 15)))
                jumps.append((time.perf_counter() - t0) * 1000)
            result[f"{sort.key}_total"] = total
        result["jumps"] = len(jumps)
        result["page"] = summary(jumps)
        result["loaded_rows_after"] = page.model.loaded_count()
        await ctx.shutdown()

    with loop:
        loop.run_until_complete(run())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--actions", type=int, default=ACTIONS)
    parser.add_argument("--home", type=Path, help="a workspace to use as it is")
    parser.add_argument("--skip-ui", action="store_true", help="no Qt part")
    args = parser.parse_args()
    home = args.home or ensure_workspace(args.runs, args.actions)
    load_before = round(os.getloadavg()[0], 2)
    figures: dict[str, Any] = {"pages": bench_sorted_pages(home)}
    figures["positions"] = bench_positions(home)
    if not args.skip_ui:
        figures["ui"] = bench_page_jumps(home)
    figures["reach_target_p95_ms"] = REACH_TARGET_P95_MS
    figures["load"] = [load_before, round(os.getloadavg()[0], 2)]
    print(json.dumps({"sort": figures}))


if __name__ == "__main__":
    main()
