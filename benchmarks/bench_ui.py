"""Desktop benchmarks on the benchmark workspace (1,000,000 runs / 10,000,000 actions).

1. Start to first painted window, ATO against a bare PySide6 QMainWindow, both spawned as fresh
   processes in this run (median of 5 each). Target: <= 2.5x bare.
2. A filter change on the Runs page to its first rows shown, through the real page, over every
   combination of the page's filters, against the bare SQL page query of the same filters in
   this run. Target: p95 <= 100 ms.
3. Resident memory with that workspace open on the Runs page (after scrolling 10,000 rows),
   against a bare PySide6 window's. Target: <= 300 MB.

Offscreen Qt platform on both sides. The workspace is built once into .bench/ (see
benchmarks/workspace.py) and reused while the generator's version is the same.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.workspace import ACTIONS, RUNS, ensure_workspace

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "ATO_OFFLINE": "1", "PYTHONPATH": str(REPO)}


def time_to_paint(mode: str, home: Path) -> float:
    env = {**ENV, "ATO_HOME": str(home)}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.startup_probe", mode],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.perf_counter() - started
    if "painted" not in done.stdout:
        raise RuntimeError(f"probe {mode} did not paint: {done.stderr[-2000:]}")
    return elapsed * 1000


def bench_startup(home: Path, repeats: int = 5) -> dict[str, Any]:
    time_to_paint("bare", home)  # warm the OS file cache for both sides alike
    time_to_paint("ato", home)
    bare = [time_to_paint("bare", home) for _ in range(repeats)]
    ato = [time_to_paint("ato", home) for _ in range(repeats)]
    return {
        "bare_ms": round(statistics.median(bare), 1),
        "ato_ms": round(statistics.median(ato), 1),
        "ratio": round(statistics.median(ato) / statistics.median(bare), 2),
        "target_ratio": 2.5,
    }


def bare_window_rss_mb() -> float:
    code = (
        "from PySide6.QtWidgets import QApplication, QMainWindow\n"
        "app = QApplication([]); w = QMainWindow(); w.resize(1280, 820); w.show()\n"
        "app.processEvents()\n"
        "print([l for l in open('/proc/self/status') if l.startswith('VmRSS')][0].split()[1])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=ENV, capture_output=True, text=True, check=True
    )
    return int(done.stdout.strip()) / 1024


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_runs_page(home: Path) -> dict[str, Any]:
    """Filter changes and memory, in this process, through the real main window."""
    import qasync
    from PySide6.QtWidgets import QApplication

    from ato_desktop.core.records import RunFilter
    from ato_desktop.store.paths import DataPaths
    from ato_desktop.ui.commands import CommandRegistry
    from ato_desktop.ui.context import AppContext
    from ato_desktop.ui.main_window import MainWindow
    from ato_desktop.ui.theme import ThemeManager

    os.environ.update(QT_QPA_PLATFORM="offscreen", ATO_OFFLINE="1")
    app = QApplication([sys.argv[0]])
    loop = qasync.QEventLoop(app)
    loop.set_default_executor(ThreadPoolExecutor(max_workers=8))
    asyncio.set_event_loop(loop)
    result: dict[str, Any] = {}

    async def run() -> None:
        ctx = AppContext(CommandRegistry(app), ThemeManager(app), DataPaths(home))
        await ctx.open_workspace()
        window = MainWindow(ctx)
        window.resize(1280, 820)
        window.show()
        window.navigate("runs")
        page = window.page("runs")
        while page.model.rowCount() == 0:
            await asyncio.sleep(0.001)
        store = ctx.workspace.store
        agents = store.list_agents()
        combos = [
            dict(
                statuses=statuses,
                agent_id=agent.id if agent else None,
                agent_name=agent.name if agent else None,
                window=span,
                min_cost_usd=cost,
            )
            for statuses in [(), ("failed",), ("completed", "failed"), ("killed", "interrupted")]
            for agent in (None, agents[0])
            for span in ("24h", "7d", "30d", "all")
            for cost in (None, 0.02, 0.5)
        ]
        shown: list[float] = []
        slowest: list[tuple[float, dict[str, Any]]] = []
        bare: list[float] = []
        now = int(time.time() * 1000)
        spans = {"24h": 86_400_000, "7d": 7 * 86_400_000, "30d": 30 * 86_400_000, "all": None}
        conn = store.reader()
        for combo in combos:
            state = dataclasses.replace(page.filters.state(), **combo)
            loaded = asyncio.Event()

            def on_loaded(*_args: Any, event: asyncio.Event = loaded) -> None:
                event.set()

            page.model.sig_page_loaded.connect(on_loaded)
            started = time.perf_counter()
            page.filters.set_state(state)
            await loaded.wait()
            page.history.table.viewport().repaint()  # the first rows, painted
            shown.append((time.perf_counter() - started) * 1000)
            slowest.append((shown[-1], combo))
            page.model.sig_page_loaded.disconnect(on_loaded)
            # The baseline: the same filter as one bare SQL statement on the same connection
            # kind, no planning, no records, no Qt.
            span = spans[str(combo["window"])]
            flt = RunFilter(
                statuses=tuple(combo["statuses"]),  # type: ignore[arg-type]
                agent_id=combo["agent_id"],  # type: ignore[arg-type]
                since_ms=now - span if span else None,
                min_cost_usd=combo["min_cost_usd"],  # type: ignore[arg-type]
            )
            where, params = [], []
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
            sql = "SELECT * FROM runs" + (" WHERE " + " AND ".join(where) if where else "")
            sql += " ORDER BY started_at DESC, id DESC LIMIT 100"
            t0 = time.perf_counter()
            conn.execute(sql, params).fetchall()
            bare.append((time.perf_counter() - t0) * 1000)
            await asyncio.sleep(0.3)  # a user's pace: the count and intercepts settle between
        shown.sort()
        bare.sort()
        result["filter_changes"] = len(shown)
        result["filter_p50_ms"] = round(statistics.median(shown), 1)
        result["filter_p95_ms"] = round(shown[int(len(shown) * 0.95) - 1], 1)
        result["filter_max_ms"] = round(shown[-1], 1)
        result["bare_sql_p50_ms"] = round(statistics.median(bare), 1)
        result["bare_sql_p95_ms"] = round(bare[int(len(bare) * 0.95) - 1], 1)
        result["bare_sql_max_ms"] = round(bare[-1], 1)
        result["filter_target_p95_ms"] = 100
        # The slowest changes, to tell which filters they were.
        result["filter_slowest"] = [
            {
                "ms": round(ms, 1),
                "statuses": list(combo["statuses"]),  # type: ignore[call-overload]
                "agent": bool(combo["agent_id"]),
                "window": combo["window"],
                "min_cost_usd": combo["min_cost_usd"],
            }
            for ms, combo in sorted(slowest, key=lambda item: -item[0])[:5]
        ]
        # Memory: everything shown, then 50 more pages scrolled in (10,000 rows).
        page.filters.set_state(
            dataclasses.replace(
                page.filters.state(),
                statuses=(),
                agent_id=None,
                agent_name=None,
                window="all",
                min_cost_usd=None,
            )
        )
        while page.model.total is None or page.model.loading:
            await asyncio.sleep(0.005)
        # The list holds every row once counted; scroll 50 pages in, one after the other.
        from ato_desktop.ui.runs.runs_model import PAGE_SIZE

        for i in range(50):
            last = (i + 1) * PAGE_SIZE - 1
            page.history.table.scrollTo(page.model.index(last, 0))
            page.model.ensure_rows(i * PAGE_SIZE, last)
            while not page.model.is_loaded(last) or page.model.loading:
                await asyncio.sleep(0.001)
        page.history.table.scrollToBottom()
        app.processEvents()
        await asyncio.sleep(1.0)
        result["rows_loaded"] = page.model.loaded_count()
        result["runs_in_log"] = await ctx.read(store.count_runs, RunFilter())
        result["rss_mb"] = round(rss_mb(), 1)
        result["rss_target_mb"] = 300
        await ctx.shutdown()

    with loop:
        loop.run_until_complete(run())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--actions", type=int, default=ACTIONS)
    parser.add_argument(
        "--home", type=Path, help="a workspace to use (migrated when older; default: built)"
    )
    parser.add_argument("--page-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    home = ensure_workspace(args.runs, args.actions, home=args.home, quiet=args.page_only)
    if args.page_only:  # the Runs page part, in a process of its own (clean memory figures)
        print(json.dumps({"runs_page": bench_runs_page(home)}), flush=True)
        return
    print(json.dumps({"startup": bench_startup(home)}), flush=True)
    print(json.dumps({"bare_window_rss_mb": round(bare_window_rss_mb(), 1)}), flush=True)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.bench_ui",
            "--runs",
            str(args.runs),
            "--actions",
            str(args.actions),
            *(("--home", str(args.home)) if args.home else ()),
            "--page-only",
        ],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        check=True,
    )
    sys.stdout.write(done.stdout)


if __name__ == "__main__":
    main()
