"""The benchmark workspace: the demo generator at 1,000,000 runs / 10,000,000 actions, cached.

    .venv/bin/python -m benchmarks.workspace            # build it (once) and print its sizes

It lives in .bench/ws-<runs>-<actions>-g<generator version>/ and is rebuilt when the generator's
version changes (a new directory name; older ones are removed). A log at an older schema is
migrated as a user's would be, and the backup the migration takes is deleted afterwards (the
workspace can be rebuilt; its backup is only disk space). Building it streams through
`ExecutionLog.ingest` like `ato-desktop demo --runs 1000000 --actions 10000000` does, with progress
printed; it takes about a quarter of an hour on two cores and 15 GB of disk.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO / ".bench"
RUNS = 1_000_000
ACTIONS = 10_000_000
_DONE = "built.json"


def workspace_dir(runs: int, actions: int) -> Path:
    from ato_desktop.engine.demo import GENERATOR_VERSION

    return BENCH_DIR / f"ws-{runs}-{actions}-g{GENERATOR_VERSION}"


def ensure_workspace(
    runs: int = RUNS, actions: int = ACTIONS, *, home: Path | None = None, quiet: bool = False
) -> Path:
    """The data dir of a demo workspace of that size, built first when missing or stale."""
    from ato_desktop.engine.demo import build_demo_workspace
    from ato_desktop.engine.workspace import Workspace
    from ato_desktop.store.paths import DataPaths
    from ato_desktop.store.schema import LATEST_VERSION

    say = (lambda *_a: None) if quiet else (lambda text: print(text, flush=True))
    home = home or workspace_dir(runs, actions)
    db = home / "ato.sqlite3"
    if (home / _DONE).exists() and db.exists():
        conn = sqlite3.connect(db)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        finally:
            conn.close()
        if version != LATEST_VERSION:  # an older schema: migrate it, as a user's log is
            say(f"migrating {home} to schema {LATEST_VERSION}...")
            Workspace.open(DataPaths(home)).close()
            for backup in home.glob("ato.sqlite3.backup-v*"):
                backup.unlink()
        return home
    if home.exists():  # a build that did not finish
        shutil.rmtree(home)
    if home.parent == BENCH_DIR:  # stale workspaces of earlier generator versions: disk space
        for old in BENCH_DIR.glob(f"ws-{runs}-{actions}-g*"):
            if old != home:
                say(f"removing {old} (an earlier generator version)")
                shutil.rmtree(old)
    home.mkdir(parents=True)
    say(f"building a {runs:,}-run / {actions:,}-action demo workspace in {home} (once)...")
    workspace = Workspace.open(DataPaths(home))
    started = time.perf_counter()
    step = max(runs // 20, 1)

    def progress(done: int, total: int) -> None:
        if done and (done % step < 2_000 or done == total):
            elapsed = time.perf_counter() - started
            say(f"  {done:,}/{total:,} runs, {elapsed:.0f} s")

    try:
        summary = build_demo_workspace(
            workspace.store, workspace.prices, runs=runs, actions=actions, progress=progress
        )
    finally:
        workspace.close()
    facts = {
        "runs": summary.runs,
        "actions": summary.actions,
        "agents": summary.agents,
        "threads": summary.threads,
        "messages": summary.messages,
        "seconds": round(summary.seconds),
        "bytes": db.stat().st_size,
    }
    (home / _DONE).write_text(json.dumps(facts))
    say(f"  built in {summary.seconds:.0f} s: {json.dumps(facts)}")
    return home


def facts(home: Path) -> dict[str, Any]:
    """What the build wrote (runs, actions, agents, threads, messages, seconds, bytes)."""
    data: dict[str, Any] = json.loads((home / _DONE).read_text())
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--actions", type=int, default=ACTIONS)
    args = parser.parse_args()
    home = ensure_workspace(args.runs, args.actions)
    print(json.dumps({"workspace": {"path": str(home), **facts(home)}}))


if __name__ == "__main__":
    main()
