"""A scheduler process for the fire-claim race: ``python -m tests.resilience.schedule_race_worker
HOME SIGNALS ROUNDS``.

It opens the workspace in HOME as `schedules daemon` does and says so (``SIGNALS/ready-PID``).
Then, ROUNDS times, it waits for ``SIGNALS/go-N`` and handles the due fires at once, as one look
of `schedules daemon --once` does (Scheduler.tick, then the fires run to their end), and writes
what it did to ``SIGNALS/done-N-PID`` (JSON: one entry per fire it acted on). Every worker
spins on the same file, so the looks of all of them start within a millisecond or so of each
other: the race a system cron starting `--once` every minute beside running daemons makes, made
tight on purpose.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.paths import DataPaths

ROUND_TIMEOUT_S = 120.0


async def serve(home: Path, signals: Path, rounds: int) -> None:
    ws = Workspace.open(DataPaths(home))
    pid = os.getpid()
    try:
        scheduler = ws.automations.scheduler
        (signals / f"ready-{pid}").write_text("ready")
        for number in range(rounds):
            go = signals / f"go-{number}"
            deadline = time.monotonic() + ROUND_TIMEOUT_S
            while not go.exists():
                if time.monotonic() > deadline:
                    raise SystemExit(f"no go-{number} within {ROUND_TIMEOUT_S} s")
                time.sleep(0.0005)
            reports = await scheduler.tick()
            await scheduler.drain()
            done = [
                {"schedule": r.schedule, "action": r.action, "fire_at": r.fire_at} for r in reports
            ]
            tmp = signals / f".done-{number}-{pid}"
            tmp.write_text(json.dumps(done))
            tmp.rename(signals / f"done-{number}-{pid}")
    finally:
        await ws.automations.aclose()
        await ws.live.aclose()
        ws.close()


if __name__ == "__main__":
    asyncio.run(serve(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])))
