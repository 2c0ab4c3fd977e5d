"""Run every atheris harness in fuzz/ for a fixed time or number of runs and print the counts.

    .venv/bin/python fuzz/run_all.py --seconds 60        # each harness for 60 s
    .venv/bin/python fuzz/run_all.py --runs 100000       # or for a number of inputs
    .venv/bin/python fuzz/run_all.py --seconds 5 otlp_json cron   # some harnesses only

Each harness runs in its own process (libFuzzer owns it), from an empty corpus, with no
corpus written to the tree; a crash's input is written under the --artifacts directory (a
temporary one by default) and the harness's output is shown. Exit status 1 if any crashed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from seeds import seeds

HERE = Path(__file__).resolve().parent
HARNESSES = (
    "otlp_protobuf",
    "otlp_json",
    "eval_suite",
    "skill_flow",
    "run_json",
    "prices",
    "cli_events",
    "cron",
    "run_search",
)
_DONE = re.compile(r"Done (\d+) runs in (\d+) second")
_COVERAGE = re.compile(r"cov: (\d+) ft: (\d+)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--seconds", type=int, default=60, help="per harness (default 60)")
    budget.add_argument("--runs", type=int, help="inputs per harness instead of a time")
    parser.add_argument("--artifacts", type=Path, help="where crash inputs go")
    parser.add_argument("names", nargs="*", choices=[[], *HARNESSES], help="harnesses to run")
    args = parser.parse_args(argv)
    artifacts = args.artifacts or Path(tempfile.mkdtemp(prefix="ato-fuzz-artifacts-"))
    artifacts.mkdir(parents=True, exist_ok=True)
    limit = [f"-runs={args.runs}"] if args.runs else [f"-max_total_time={args.seconds}"]
    print(f"{'harness':<15}{'runs':>12}{'seconds':>9}{'runs/s':>9}{'coverage':>10}  result")
    crashed = 0
    for name in args.names or HARNESSES:
        corpus = Path(tempfile.mkdtemp(prefix=f"ato-fuzz-{name}-"))
        for i, seed in enumerate(seeds(name)):
            (corpus / f"seed-{i}").write_bytes(seed)
        command = [
            sys.executable,
            str(HERE / f"{name}.py"),
            str(corpus),  # libFuzzer adds what it finds here: a temporary directory
            *limit,
            "-timeout=10",  # one input taking 10 s is a hang
            "-rss_limit_mb=2048",
            "-max_len=65536",
            f"-artifact_prefix={artifacts}/{name}-",
            "-print_final_stats=1",
        ]
        started = time.monotonic()
        done = subprocess.run(command, cwd=HERE, capture_output=True, text=True)
        elapsed = time.monotonic() - started
        output = done.stdout + done.stderr
        runs = _DONE.findall(output)
        coverage = _COVERAGE.findall(output)
        count = int(runs[-1][0]) if runs else _last_count(output)
        ok = done.returncode == 0
        crashed += not ok
        cov = coverage[-1][0] if coverage else "?"
        rate = count / elapsed if elapsed else 0
        result = "ok, 0 crashes" if ok else f"CRASH (exit {done.returncode})"
        print(f"{name:<15}{count:>12,}{elapsed:>9.0f}{rate:>9,.0f}{cov:>10}  {result}", flush=True)
        if not ok:
            print(output[-6000:])
    print(f"artifacts (crash inputs): {artifacts}")
    return 1 if crashed else 0


def _last_count(output: str) -> int:
    """The last '#N' libFuzzer printed (when it stopped before its final 'Done' line)."""
    counts = re.findall(r"^#(\d+)", output, re.MULTILINE)
    return int(counts[-1]) if counts else 0


if __name__ == "__main__":
    sys.exit(main())
