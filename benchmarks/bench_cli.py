"""The CLI answers at once: reading commands and `--help`, timed as a script or cron runs them.

    .venv/bin/python -m benchmarks.bench_cli [--home DIR ...] [--repeat N]

Each command is a new process, timed from spawn to exit, `--repeat` times, the commands
interleaved so that load falls on all of them alike: the `ato-desktop` script pip installed
beside the interpreter (what users run; it imports ato_desktop.main and nothing else, and
PYTHONPATH points it at the tree measured), or `python -m ato_desktop` where there is none.
Against two baselines measured in the same run: the interpreter alone (`python -c pass`, the
floor any Python CLI starts from) and bare sqlite3 of the same first page of `runs list` in a
new process (the floor for reading the log). Targets (issue 20):
`runs list`, `runs show`, `agents list`, `insights regressions` p95 <= 150 ms on a 10,000-run
log and <= 250 ms on the 1,000,000-run workspace; `--help` <= 100 ms.

Without --home it measures the 10,000-run demo workspace and the benchmark workspace
(benchmarks/workspace.py; built once, cached in .bench/). Nothing is written to them: the
commands measured only read.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SMALL_RUNS, SMALL_ACTIONS = 10_000, 34_000

# The same first page `runs list --since all --limit 50` reads (store.run_listing's walk of
# idx_runs_started), in a process that imports nothing else.
BARE_SQL = (
    "import sqlite3, sys\n"
    "c = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)\n"
    "c.execute('SELECT * FROM runs ORDER BY started_at DESC, id DESC LIMIT 50').fetchall()\n"
)


def _env(home: Path, tree: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ATO_HOME=str(home),
        ATO_OFFLINE="1",
        PYTHONPATH=str(tree),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    env.pop("QT_QPA_PLATFORM", None)
    # An installed app has its bytecode compiled (pip does it): the warm-up run writes it here.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _time(command: list[str], env: dict[str, str]) -> float:
    """Milliseconds from spawn to exit; the command must succeed (exit 0, or 1 for a gate)."""
    started = time.perf_counter()
    # From the tree measured: `python -m` looks in the working directory first.
    done = subprocess.run(command, env=env, cwd=env["PYTHONPATH"], capture_output=True, timeout=120)
    elapsed = (time.perf_counter() - started) * 1000
    if done.returncode not in (0, 1):
        raise SystemExit(f"{command} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return elapsed


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 1)

    return {"p50_ms": at(0.5), "p95_ms": at(0.95), "max_ms": round(ordered[-1], 1)}


def measure(home: Path, repeat: int, tree: Path = REPO) -> dict[str, Any]:
    """Every command and both baselines on the workspace at home, `repeat` times each, with
    the CLI of the source tree `tree` (this one; another checkout to compare with)."""
    env = _env(home, tree)
    database = home / "ato.sqlite3"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        runs = conn.execute("SELECT count(*) FROM runs").fetchone()[0]
        run_id = conn.execute(
            "SELECT id FROM runs ORDER BY started_at DESC, id DESC LIMIT 1"
        ).fetchone()[0]
    cli = cli_command()
    big = runs > 100_000
    cases: list[tuple[str, list[str], float]] = [
        ("runs list", [*cli, "runs", "list", "--since", "all", "--limit", "50", "--json"], 0),
        ("runs show", [*cli, "runs", "show", run_id, "--json"], 0),
        ("agents list", [*cli, "agents", "list"], 0),
        ("insights regressions", [*cli, "insights", "regressions"], 0),
        ("--help", [*cli, "--help"], 100.0),
        ("python -c pass", [sys.executable, "-c", "pass"], 0),
        ("bare sqlite3", [sys.executable, "-c", BARE_SQL, str(database)], 0),
    ]
    samples: dict[str, list[float]] = {name: [] for name, _c, _t in cases}
    for _name, command, _target in cases:  # warm the page cache and the bytecode cache
        _time(command, env)
    for _ in range(repeat):
        for name, command, _target in cases:
            samples[name].append(_time(command, env))
    base = _stats(samples["python -c pass"])
    rows = []
    for name, _command, target in cases[:5]:
        target = target or (250.0 if big else 150.0)
        stats = _stats(samples[name])
        rows.append(
            {
                "command": name,
                **stats,
                "over_python_ms": round(stats["p50_ms"] - base["p50_ms"], 1),
                "target_p95_ms": target,
                "met": stats["p95_ms"] <= target,
            }
        )
    return {
        "runs": runs,
        "rows": rows,
        "python_pass": base,
        "bare_sqlite": _stats(samples["bare sqlite3"]),
        "repeat": repeat,
        "tree": str(tree),
        "command": " ".join(Path(part).name for part in cli),
    }


def cli_command() -> list[str]:
    """How users start the CLI: the console script beside the interpreter (pip's `ato-desktop`,
    which imports ato_desktop.main alone, no runpy), else `python -m ato_desktop`."""
    script = Path(sys.executable).with_name("ato-desktop")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "ato_desktop"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--home", action="append", type=Path, help="a data directory to measure (repeat)"
    )
    parser.add_argument("--repeat", type=int, default=20, help="runs of each command (20)")
    parser.add_argument(
        "--tree", type=Path, default=REPO, help="time the CLI of this source tree (default: this)"
    )
    parser.add_argument("--runs", type=int, help="the benchmark workspace's runs")
    parser.add_argument("--actions", type=int, help="the benchmark workspace's actions")
    args = parser.parse_args()
    homes: list[Path] = args.home or []
    if not homes:
        from benchmarks.workspace import ACTIONS, RUNS, ensure_workspace

        homes = [
            ensure_workspace(SMALL_RUNS, SMALL_ACTIONS),
            ensure_workspace(args.runs or RUNS, args.actions or ACTIONS),
        ]
    load_before = round(os.getloadavg()[0], 2)
    results = [measure(home, args.repeat, args.tree) for home in homes]
    result = {
        "workspaces": results,
        "load_before": load_before,
        "load_after": round(os.getloadavg()[0], 2),
    }
    print(json.dumps({"cli": result}))


def cli_section(cli: dict[str, Any]) -> list[str]:
    """docs/benchmarks.md's section (benchmarks.run_all)."""
    lines = [
        "## The command line",
        "",
        "Reading commands and `--help`, each a new process (the installed `ato-desktop` script, "
        "what users run; `python -m ato_desktop` where there is none) timed from spawn to exit, "
        "the commands interleaved, against the interpreter alone (`python -c pass`) and bare "
        "sqlite3 reading the same first page of runs in a new process "
        "(`python -m benchmarks.bench_cli`). Reading commands open the log read-only "
        "(no crash recovery, no services) and import only what they use "
        "(tests/test_cli_imports.py keeps that). Load average (1 min): "
        f"{cli.get('load_before', '?')} before, {cli.get('load_after', '?')} after (2 cores: "
        "above 2, other work shared the CPU and the timings are pessimistic).",
        "",
    ]
    for ws in cli["workspaces"]:
        base, bare = ws["python_pass"], ws["bare_sqlite"]
        lines += [
            f"On a {ws['runs']:,}-run log ({ws['repeat']} runs of each, as "
            f"`{ws.get('command', 'python -m ato_desktop')}`): `python -c pass` "
            f"{base['p50_ms']} / {base['p95_ms']} ms (p50 / p95), bare sqlite3 "
            f"{bare['p50_ms']} / {bare['p95_ms']} ms.",
            "",
            "| Command | p50 / p95 | Max | Over `python -c pass` (p50) | Target (p95) | |",
            "|---|---|---|---|---|---|",
        ]
        for row in ws["rows"]:
            verdict = "met" if row["met"] else "**missed**"
            lines.append(
                f"| `{row['command']}` | {row['p50_ms']} / {row['p95_ms']} ms | {row['max_ms']} ms"
                f" | +{row['over_python_ms']} ms | <= {row['target_p95_ms']:g} ms | {verdict} |"
            )
        lines.append("")
    return lines


if __name__ == "__main__":
    main()
