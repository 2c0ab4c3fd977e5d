"""Other processes' writes in the window: how soon, at what idle cost, and through a burst.

The real app window (MainWindow under qasync, on the benchmark workspace) follows the log while
a second process (this module with --writer, a plain ExecutionLog: what a CLI dispatch, the
daemon or the receiver is) writes runs into it:

- latency: the writer starts and ends 20 runs a second for --seconds; for each run it notes the
  wall-clock time its commit returned, the window the time the run's row appeared (Live: the row
  of the running run; History: the row with the run completed). Target: p95 <= 250 ms, on Live
  and on History, each reported as p50 / p95 / max.
- idle: the process's CPU time over --idle-s seconds with nothing changing, with the change feed
  following and then with it stopped (the baseline, same window, same run). Target: the feed
  costs <= 1 % of one core.
- burst: the writer writes 1,000 finished runs a second for 10 s, one write per run (every run
  its own RunCreated + RunCompleted events: harder than the receiver's batches), while a 5 ms
  timer on the UI thread records how late it fires. Target: lag p99 <= 50 ms, and the counts
  the window shows at the end equal the log's.

    .venv/bin/python -m benchmarks.bench_feed [--home DIR] [--seconds 15] [--idle-s 60]

The writer's runs are tagged benchmark=feed and removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.bench_event_loop import LagProbe, _quantile
from benchmarks.workspace import ACTIONS, RUNS, ensure_workspace

REPO = Path(__file__).resolve().parents[1]
TAGS = {"benchmark": "feed"}
TARGET_LATENCY_P95_MS = 250.0
TARGET_IDLE_CORE_PCT = 1.0
TARGET_BURST_P99_MS = 50.0


# -- the second process ---------------------------------------------------------------------------


def writer(home: Path, mode: str, rate: float, seconds: float) -> None:
    """Write runs into the log at `rate` a second; print one JSON line per commit."""
    from ato_desktop.core.records import NewRun, RunEnd
    from ato_desktop.store.execution_log import ExecutionLog, now_ms
    from ato_desktop.store.paths import DataPaths
    from ato_desktop.store.process_lease import ProcessLease

    paths = DataPaths(home)
    log = ExecutionLog.open(paths)
    lease = ProcessLease(paths.leases_dir)  # its runs belong to a live process, as a CLI's do
    out = sys.stdout
    try:
        if mode == "burst":
            _burst(log, rate, seconds)
            print(json.dumps({"done": True}), flush=True)
            return
        interval = 1.0 / rate
        open_runs: list[tuple[str, int]] = []
        deadline = time.monotonic() + seconds
        next_at = time.monotonic()
        while time.monotonic() < deadline:
            started = now_ms()
            run_id, run_no = log.create_run(
                NewRun("claude", "claude-sonnet-5", "cli", started, tags=dict(TAGS)),
                owner=lease.token,
            ).result()
            out.write(json.dumps({"run": run_id, "event": "created", "t": time.time()}) + "\n")
            open_runs.append((run_id, run_no))
            if len(open_runs) > 3:  # each run stays in flight for a few ticks
                end_id, end_no = open_runs.pop(0)
                log.finish_run(end_id, end_no, RunEnd("completed", now_ms(), 150_000_000)).result()
                out.write(json.dumps({"run": end_id, "event": "ended", "t": time.time()}) + "\n")
            out.flush()
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))
        for end_id, end_no in open_runs:
            log.finish_run(end_id, end_no, RunEnd("completed", now_ms(), 150_000_000)).result()
            out.write(json.dumps({"run": end_id, "event": "ended", "t": time.time()}) + "\n")
        print(json.dumps({"done": True}), flush=True)
    finally:
        log.close()
        lease.release()


def _burst(log: Any, rate: float, seconds: float) -> None:
    """`rate` finished runs a second, each its own write (create + finish in one job)."""
    import sqlite3

    from ato_desktop.core.events import RunCompleted, RunCreated
    from ato_desktop.core.records import NewRun, RunEnd
    from ato_desktop.store.execution_log import RUN_INSERT, _bulk_run_row, now_ms

    def job(conn: sqlite3.Connection, emit: Any) -> None:
        at = now_ms()
        new = NewRun("claude", "claude-sonnet-5", "cli", at, tags=dict(TAGS))
        end = RunEnd("completed", at + 5, 5_000_000)
        row = _bulk_run_row(None, new, end, ())  # type: ignore[arg-type]
        conn.execute(RUN_INSERT, row)
        emit(RunCreated(row[1], None, "cli", at))
        emit(RunCompleted(row[1], None, 5_000_000))

    per_tick = max(1, int(rate / 100))
    deadline = time.monotonic() + seconds
    next_at = time.monotonic()
    futures = []
    while time.monotonic() < deadline:
        futures.extend(log.submit(job) for _ in range(per_tick))
        next_at += 0.01
        time.sleep(max(0.0, next_at - time.monotonic()))
    for future in futures:
        future.result()


# -- the window -----------------------------------------------------------------------------------


def _spawn_writer(home: Path, mode: str, rate: float, seconds: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bench_feed", "--writer", str(home), "--mode", mode,
         "--rate", str(rate), "--seconds", str(seconds)],
        stdout=subprocess.PIPE, text=True, env=env, cwd=REPO,
    )  # fmt: skip


def _forget_runs(conn: Any, _emit: Any) -> int:
    after = "run_no > (SELECT coalesce(max(run_no), 0) FROM runs WHERE is_demo = 1)"
    tagged = "json_extract(tags_json, '$.benchmark') = 'feed'"
    conn.execute(
        f"DELETE FROM actions WHERE run_no IN (SELECT run_no FROM runs WHERE {after} AND {tagged})"
    )
    return int(conn.execute(f"DELETE FROM runs WHERE {after} AND {tagged}").rowcount)


def _latency_summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": round(_quantile(values, 0.50), 1),
        "p95_ms": round(_quantile(values, 0.95), 1),
        "max_ms": round(max(values, default=0.0), 1),
    }


def bench_feed(
    home: Path, *, seconds: float, idle_s: float, burst_s: float, only: str = ""
) -> dict[str, Any]:
    os.environ.update(QT_QPA_PLATFORM="offscreen", ATO_OFFLINE="1")
    import qasync
    from PySide6.QtWidgets import QApplication

    from ato_desktop.core.records import RunFilter
    from ato_desktop.store.paths import DataPaths
    from ato_desktop.ui.commands import CommandRegistry
    from ato_desktop.ui.context import AppContext
    from ato_desktop.ui.main_window import MainWindow
    from ato_desktop.ui.runs.live_view import RUN_ID_ROLE
    from ato_desktop.ui.theme import ThemeManager

    app = QApplication.instance() or QApplication([sys.argv[0]])
    loop = qasync.QEventLoop(app)
    loop.set_default_executor(ThreadPoolExecutor(max_workers=8))
    asyncio.set_event_loop(loop)
    result: dict[str, Any] = {}
    state: dict[str, Any] = {}

    async def run() -> None:
        ctx = AppContext(CommandRegistry(app), ThemeManager(app), DataPaths(home))
        await ctx.open_workspace()
        window = MainWindow(ctx)
        window.resize(1280, 820)
        window.show()
        window.navigate("runs", {"tab": "history"})
        page = window.page("runs")
        while page.model.rowCount() == 0:
            await asyncio.sleep(0.01)
        store = ctx.workspace.store
        state.update(ctx=ctx, page=page, store=store)
        await asyncio.wrap_future(store.submit(_forget_runs))
        await asyncio.sleep(1.0)

        async def latencies(tab: str) -> dict[str, float]:
            page.activate({"tab": tab})
            await asyncio.sleep(0.5)
            seen: dict[str, float] = {}

            def look(*_args: Any) -> None:
                now = time.time()
                if tab == "live":
                    model = page.live.model
                    for r in range(model.rowCount()):
                        run_id = str(model.index(r, 0).data(RUN_ID_ROLE))
                        seen.setdefault(run_id, now)
                else:
                    for r in range(min(page.model.rowCount(), 20)):
                        run = page.model.run_at(r)
                        if run is not None and run.status == "completed":
                            seen.setdefault(run.id, now)

            model = page.live.model if tab == "live" else page.model
            model.rowsInserted.connect(look)
            model.dataChanged.connect(look)
            model.modelReset.connect(look)
            proc = _spawn_writer(home, "steady", 20.0, seconds)
            commits: dict[str, float] = {}
            assert proc.stdout is not None
            reader = asyncio.get_running_loop().run_in_executor(None, proc.stdout.read)
            text = await reader
            proc.wait()
            await asyncio.sleep(1.0)
            want = "created" if tab == "live" else "ended"
            for line in text.splitlines():
                item = json.loads(line)
                if item.get("event") == want:
                    commits[item["run"]] = item["t"]
            for signal in (model.rowsInserted, model.dataChanged, model.modelReset):
                signal.disconnect(look)
            lags = [(seen[r] - t) * 1000 for r, t in commits.items() if r in seen]
            summary = _latency_summary(lags)
            summary["missed"] = len(commits) - len(lags)
            return summary

        if only in ("", "latency"):
            result["latency_live"] = await latencies("live")
            result["latency_history"] = await latencies("history")
        if only in ("", "idle"):
            result["idle"] = await idle()
        if only in ("", "burst"):
            result["burst"] = await burst()
        result["target_latency_p95_ms"] = TARGET_LATENCY_P95_MS
        await asyncio.wrap_future(store.submit(_forget_runs))
        await ctx.shutdown()

    async def idle() -> dict[str, Any]:
        """CPU time of this process with nothing changing, feed on, then feed off."""
        page, store = state["page"], state["store"]
        page.activate({"tab": "live"})
        await asyncio.sleep(2.0)
        t0, c0 = time.monotonic(), time.process_time()
        await asyncio.sleep(idle_s)
        on = (time.process_time() - c0) / (time.monotonic() - t0) * 100
        feed = store.feed
        assert feed is not None
        feed.close()
        await asyncio.sleep(1.0)
        t0, c0 = time.monotonic(), time.process_time()
        await asyncio.sleep(idle_s)
        off = (time.process_time() - c0) / (time.monotonic() - t0) * 100
        figures = {
            "seconds": idle_s,
            "cpu_core_pct_feed_on": round(on, 3),
            "cpu_core_pct_feed_off": round(off, 3),
            "feed_cost_core_pct": round(on - off, 3),
            "target_core_pct": TARGET_IDLE_CORE_PCT,
        }
        store._feed = None  # follow again for the burst
        store.follow_changes()
        await asyncio.sleep(0.5)
        return figures

    async def burst() -> dict[str, Any]:
        """1,000 runs a second for burst_s, the window on History."""
        ctx, page, store = state["ctx"], state["page"], state["store"]
        page.activate({"tab": "history"})
        await asyncio.sleep(1.0)
        probe = LagProbe()
        probe.start()
        await asyncio.sleep(2.0)
        baseline = probe.stop()
        before = await ctx.read(store.count_runs, RunFilter())
        delivered0 = ctx.bridge.delivered
        probe.start()
        proc = _spawn_writer(home, "burst", 1000.0, burst_s)
        await asyncio.get_running_loop().run_in_executor(None, proc.wait)
        await asyncio.sleep(2.0)  # the last of it settles
        loaded = probe.stop()
        after = await ctx.read(store.count_runs, RunFilter())
        page.refresh_count()
        await asyncio.sleep(1.0)
        return {
            "runs_written": after - before,
            "events_delivered": ctx.bridge.delivered - delivered0,
            "window_count": page.total,
            "log_count": after,
            "counts_exact": page.total == after,
            "baseline_p99_ms": round(_quantile(baseline, 0.99), 2),
            "lag_p50_ms": round(_quantile(loaded, 0.50), 2),
            "lag_p99_ms": round(_quantile(loaded, 0.99), 2),
            "lag_max_ms": round(max(loaded, default=0.0), 2),
            "target_p99_ms": TARGET_BURST_P99_MS,
        }

    with loop:
        loop.run_until_complete(run())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", type=Path, help="a workspace (default: the benchmark one)")
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--actions", type=int, default=ACTIONS)
    parser.add_argument("--seconds", type=float, default=15.0, help="latency phase, each view")
    parser.add_argument("--idle-s", type=float, default=60.0)
    parser.add_argument("--burst-s", type=float, default=10.0)
    parser.add_argument("--only", choices=("latency", "idle", "burst"), default="")
    parser.add_argument("--writer", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="steady", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, default=20.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.writer is not None:
        writer(args.writer, args.mode, args.rate, args.seconds)
        return
    home = args.home or ensure_workspace(args.runs, args.actions)
    figures = bench_feed(
        home, seconds=args.seconds, idle_s=args.idle_s, burst_s=args.burst_s, only=args.only
    )
    print(json.dumps({"feed": figures}), flush=True)


if __name__ == "__main__":
    main()
