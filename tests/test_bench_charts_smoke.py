"""The charts benchmark runs end to end on a tiny workspace (no timing asserted: the figures
live in docs/benchmarks.md) and its section of the page is written from what it printed."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks import run_all
from benchmarks.workspace import ensure_workspace

REPO = Path(__file__).resolve().parents[1]


def test_the_charts_benchmark_times_every_chart_and_writes_its_section(tmp_path: Path) -> None:
    home = ensure_workspace(200, 2_000, home=tmp_path / "ws", quiet=True)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_charts", "--home", str(home), "--repeats", "2"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    results = {}
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            results.update(json.loads(line))
    rows = results["charts"]["rows"]
    assert [r["chart"] for r in rows] == [
        "Runs timeline (all time)",
        "Runs timeline: a filter change",
        "Agent trends (30 days, five charts)",
        "Spend per day and this month",
        "Regression evidence (per change, read + paint)",
        "Cost recommendation: two options",
        "Compare: two runs' actions",
    ]
    assert rows[1]["filter_changes"] == 96
    assert all(r["p95_ms"] > 0 and r["bare_sql_p95_ms"] >= 0 for r in rows)
    page = tmp_path / "benchmarks.md"
    run_all.write_doc(results, argparse.Namespace(runs=200), doc=page)
    text = page.read_text()
    assert "## Charts" in text and "Runs timeline: a filter change" in text
