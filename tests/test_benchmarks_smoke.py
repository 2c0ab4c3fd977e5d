"""The benchmarks run (no timing asserted here: figures live in docs/benchmarks.md).

A tiny workspace stands in for the 1,000,000-run one: the generator sizes its tool loops to an
action target, the workspace is built once and reused, the insights and event-loop benchmarks
run on it end to end (the latter in a process of its own, as `make bench` runs it), and the page
is written from what they printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from ato_desktop.core.pricing import PriceBook
from ato_desktop.engine.demo import DemoGenerator
from benchmarks import run_all
from benchmarks.bench_insights import bench_insights
from benchmarks.workspace import ensure_workspace, facts

REPO = Path(__file__).resolve().parents[1]
RUNS, ACTIONS = 200, 2_000


def test_the_generator_lands_on_the_action_target_and_repeats_itself() -> None:
    def sizes(generator: DemoGenerator) -> list[tuple[str | None, int]]:
        return [(new.id, len(actions)) for new, _end, actions in generator.runs()]

    first = sizes(DemoGenerator(PriceBook(), runs=400, actions=6_000, now_ms=0))
    again = sizes(DemoGenerator(PriceBook(), runs=400, actions=6_000, now_ms=0))
    usual = sizes(DemoGenerator(PriceBook(), runs=400, now_ms=0))
    total = sum(n for _id, n in first)
    assert first == again  # the same seed, the same rows
    assert len(first) == 400 and abs(total - 6_000) <= 6_000 * 0.05
    assert sum(n for _id, n in usual) < total / 2  # without a target: the agents' usual loops
    assert min(n for _id, n in first) >= 1


def test_the_workspace_is_built_once_and_the_insights_benchmark_runs_on_it(
    tmp_path: Path,
) -> None:
    home = tmp_path / "ws"
    assert ensure_workspace(RUNS, ACTIONS, home=home, quiet=True) == home
    built = facts(home)
    assert built["runs"] == RUNS and abs(built["actions"] - ACTIONS) <= ACTIONS * 0.1
    stamp = (home / "built.json").stat().st_mtime_ns
    ensure_workspace(RUNS, ACTIONS, home=home, quiet=True)  # cached: not rebuilt
    assert (home / "built.json").stat().st_mtime_ns == stamp
    figures = bench_insights(home, repeats=1)
    assert figures["regressions"]["runs_in_log"] == RUNS
    assert figures["regressions"]["changes"] >= 1
    assert figures["cost_recs"]["agents"] == built["agents"]


def test_the_event_loop_benchmark_runs_and_the_page_is_written(tmp_path: Path) -> None:
    home = ensure_workspace(RUNS, ACTIONS, home=tmp_path / "ws", quiet=True)
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONPATH": str(REPO),
        "NO_PROXY": "127.0.0.1,localhost",
    }
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_event_loop", "--home", str(home),
         "--dispatches", "3", "--chunks", "20", "--baseline-s", "0.2"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    results: dict[str, Any] = {}
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            results.update(json.loads(line))
    loop = results["event_loop"]
    assert loop["statuses"] == {"completed": 3} and loop["warmup_status"] == "completed"
    assert loop["loaded"]["ticks"] > 0 and loop["baseline"]["ticks"] > 0
    assert loop["runs_in_log"] == RUNS + 4  # the warm-up and the three dispatches were logged
    conn = sqlite3.connect(home / "ato.sqlite3")
    try:  # ... and removed at the end: the workspace is the generated one again
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == RUNS
    finally:
        conn.close()
    # The page, from what the benchmarks printed.
    results["workspace"] = facts(home)
    results.update(bench_insights(home, repeats=1))
    page = tmp_path / "benchmarks.md"
    run_all.write_doc(results, argparse.Namespace(runs=RUNS), doc=page)
    text = page.read_text()
    for heading in (
        "## The workspace",
        "## Targets",
        "## Insights over the whole workspace",
        "## The UI thread during streaming dispatches",
    ):
        assert heading in text
    assert f"{RUNS:,} runs" in text and "p99" in text


def test_only_some_benchmarks_replace_their_sections_and_rows_and_keep_the_rest(
    tmp_path: Path,
) -> None:
    """`run_all --only bench_feed`: the feed's section and Targets rows are replaced in place,
    every other section and row is kept as it was."""
    page = tmp_path / "benchmarks.md"
    page.write_text(
        "# Benchmarks\n\n## Targets\n\n| Target | Measured | Goal | |\n|---|---|---|---|\n"
        "| Ingest | 0.5x raw | >= 0.5x raw | met |\n"
        "| Following other processes, idle | 9 % of a core | <= 1.0 % of a core | **missed** |\n"
        "\n## Other processes, seen by the window\n\nold text\n\n## Palette search\n\nkept\n"
    )
    idle = {
        "seconds": 60.0,
        "cpu_core_pct_feed_on": 0.5,
        "cpu_core_pct_feed_off": 0.25,
        "feed_cost_core_pct": 0.25,
        "target_core_pct": 1.0,
    }
    run_all.splice(page, {"feed": {"idle": idle}, "load_before": 1.0, "load_after": 2.0})
    text = page.read_text()
    assert "| Ingest | 0.5x raw | >= 0.5x raw | met |" in text
    assert "| Following other processes, idle | 0.25 % of a core | <= 1.0 % of a core | met |" in (
        text
    )
    assert "9 % of a core" not in text and "old text" not in text
    assert "following: 0.5 % of a core" in text and "Load average (1 min) before and after" in text
    assert text.index("## Other processes") < text.index("## Palette search") and "kept" in text
