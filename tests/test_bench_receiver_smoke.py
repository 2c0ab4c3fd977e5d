"""The receiver benchmark runs (no timing asserted here: figures live in docs/benchmarks.md)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks import run_all
from benchmarks.otlp_corpus import corpus

REPO = Path(__file__).resolve().parents[1]


def test_the_corpus_has_the_shape_the_issue_describes() -> None:
    exports = list(corpus(40, 10))
    spans = sum(n for _body, n in exports)
    assert len(exports) == 4 and 6 * 40 <= spans <= 14 * 40
    assert exports == list(corpus(40, 10))  # deterministic
    per_span = sum(len(body) for body, _n in exports) / spans
    assert 300 <= per_span <= 3_000  # 200 to 2,000 characters of text a span, plus framing


def test_the_receiver_benchmark_runs_and_its_section_is_written(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_PROXY": "127.0.0.1,localhost"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.bench_receiver",
            "--traces",
            "30",
            "--per-request",
            "10",
            "--memory-mb",
            "1",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results: dict[str, Any] = {}
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            results.update(json.loads(line))
    r = results["receiver"]
    assert r["traces"] == 30 and r["exports"] == 3 and r["spans"] > 0
    assert r["ours_spans_per_s"] > 0 and r["baseline_actions_per_s"] > 0
    assert r["memory"]["peak_rss_mb"] >= r["memory"]["idle_rss_mb"] > 0
    page = tmp_path / "benchmarks.md"
    run_all.write_doc(results, argparse.Namespace(runs=0), doc=page)
    text = page.read_text()
    assert "## The OTLP receiver" in text and "spans/s" in text
