"""The engine-thread CPU benchmark (benchmarks/bench_runtime_cpu.py) runs and counts what it
measures: every delta of every stream, each stream ending as it should."""

from __future__ import annotations

import pytest

from benchmarks.bench_runtime_cpu import bench_runtime_cpu


@pytest.mark.parametrize("runtime", ["claude", "codex", "openai-compatible"])
def test_the_benchmark_counts_every_delta_of_every_stream(runtime: str) -> None:
    result = bench_runtime_cpu(runtime=runtime, streams=3, chunks=5, delay_s=0.0, profile=5)

    assert result["deltas"] == 15
    assert result["endings"] == {"finish": 3}
    assert result["engine_cpu_s"] > 0 and result["cpu_us_per_delta"] > 0
    assert "function calls" in result["profile"]
