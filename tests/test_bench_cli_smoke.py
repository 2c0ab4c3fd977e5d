"""The CLI latency benchmark runs (no timing asserted here: figures live in docs/benchmarks.md)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks import run_all
from benchmarks.workspace import ensure_workspace

REPO = Path(__file__).resolve().parents[1]


def test_the_cli_benchmark_runs_and_its_section_is_written(tmp_path: Path) -> None:
    home = ensure_workspace(200, 2_000, home=tmp_path / "ws", quiet=True)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_cli", "--home", str(home), "--repeat", "2"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results: dict[str, Any] = {}
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            results.update(json.loads(line))
    (ws,) = results["cli"]["workspaces"]
    assert ws["runs"] == 200 and ws["repeat"] == 2
    assert [r["command"] for r in ws["rows"]] == [
        "runs list",
        "runs show",
        "agents list",
        "insights regressions",
        "--help",
    ]
    assert all(r["p95_ms"] >= r["p50_ms"] > 0 for r in ws["rows"])
    assert ws["python_pass"]["p50_ms"] > 0 and ws["bare_sqlite"]["p50_ms"] > 0
    page = tmp_path / "benchmarks.md"
    run_all.write_doc(results, argparse.Namespace(runs=0), doc=page)
    text = page.read_text()
    assert "## The command line" in text and "`runs list`" in text
