"""The process the crash suite kills: ``python -m tests.resilience.crash_worker HOME URL``.

It is a zygote: it warms up once (one dispatch to the fake at URL in a scratch workspace), then
for every ``run OUT_FILE`` line on stdin it forks a child and prints ``pid N``; when the child
has gone it prints ``exited N STATUS``. The child opens the workspace in HOME exactly as the app
does (start-up recovery included) and keeps 50 streaming dispatches in flight through the one
dispatch path (Dispatcher.dispatch) against the fake provider (the agents' base URL, see
prepare) until it is killed. Even slots dispatch as the agent ``synced`` (the one cloud sync
covers), odd slots as ``local`` (not covered).

``run OUT_FILE POINT N`` makes the child kill itself inside the write transaction that ends its
Nth run (see KILL_POINTS), to show that ending a run and queueing it for sync are one write.

Each time a dispatch returns, the child appends one JSON line to OUT_FILE with the run id, its
status and a digest of its row and actions (``run_digest``), written with one ``os.write`` on an
O_APPEND descriptor, so a line is either whole or absent whatever moment the kill lands on.
Forking a warmed-up zygote keeps an iteration's set-up well under a second, so the deep run
(ATO_CRASH_ITERATIONS=200) takes minutes, not an hour.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import signal
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

CONCURRENCY = 50
SYNCED_AGENT = "synced"
LOCAL_AGENT = "local"
MODEL = "claude-sonnet-5"
# A child that was never killed stops by itself after this long (the test then fails loudly).
CHILD_LIFETIME_S = 60.0


def run_digest(store: Any, run_id: str) -> str:
    """A digest of everything recorded for a run: its row and each of its actions."""
    run = dataclasses.asdict(store.get_run(run_id))
    actions = [dataclasses.asdict(action) for action in store.get_actions(run_id)]
    text = json.dumps({"run": run, "actions": actions}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def prepare(home: Path, url: str) -> None:
    """Create the two agents and turn cloud sync on for `synced` only (the test calls this
    before starting the zygote, which must have no threads when it forks)."""
    from ato_desktop.core.models import AgentConfig
    from ato_desktop.engine.workspace import Workspace
    from ato_desktop.store.paths import DataPaths

    ws = Workspace.open(DataPaths(home))
    try:
        for name in (SYNCED_AGENT, LOCAL_AGENT):
            ws.agents.create(name, AgentConfig(runtime="claude", model=MODEL, base_url=url))
        # Nothing is ever sent (the worker does not start the sync loop): every ended run of
        # `synced` must stay in the outbox.
        ws.sync.configure(
            endpoint="http://127.0.0.1:9/v1/traces",
            enabled=True,
            auth_kind="none",
            agents=[SYNCED_AGENT],
        )
    finally:
        ws.close()


KILL_POINTS = ("update", "trigger", "commit", "after-commit")


def _kill_inside_completion(point: str, nth: int, fd: int) -> Any:
    """A writer job installing a trace hook that SIGKILLs this process at `point` of the
    transaction ending the nth run: before the UPDATE that ends it runs, inside it (SQLite
    traces the statement again as its first AFTER trigger starts: the row is changed, the
    outbox insert not yet made), just before its COMMIT, or just after it (before the dispatch
    could return and report)."""
    state = {"seen": 0, "calls": 0, "armed": False}

    def die(where: str) -> None:
        os.write(fd, (json.dumps({"event": "self-kill", "at": where}) + "\n").encode())
        os.kill(os.getpid(), signal.SIGKILL)

    def trace(sql: str) -> None:
        head = sql.lstrip()[:24].upper()
        if head.startswith("UPDATE RUNS SET STATUS"):
            if state["calls"] == 0:
                state["seen"] += 1
            state["calls"] += 1
            if state["seen"] == nth:
                state["armed"] = True
                if point == "update" and state["calls"] == 1:
                    die(point)
                if point == "trigger" and state["calls"] == 2:
                    die(point)
            return
        state["calls"] = 0
        if state["armed"] and point == "commit" and head.startswith("COMMIT"):
            die(point)
        if state["armed"] and point == "after-commit" and not head.startswith("COMMIT"):
            die(point)

    def job(conn: sqlite3.Connection, emit: Any) -> None:
        conn.set_trace_callback(trace)

    return job


async def _dispatch_forever(home: Path, fd: int, kill_at: tuple[str, int] | None) -> None:
    from ato_desktop.core.models import Trigger
    from ato_desktop.engine.dispatcher import DispatchRequest
    from ato_desktop.engine.workspace import Workspace
    from ato_desktop.store.paths import DataPaths

    ws = await asyncio.to_thread(Workspace.open, DataPaths(home))
    if kill_at is not None:
        ws.store.submit(_kill_inside_completion(kill_at[0], kill_at[1], fd)).result()
    opened = {"event": "opened", "pid": os.getpid(), "t": time.monotonic()}
    os.write(fd, (json.dumps(opened) + "\n").encode())

    async def slot(index: int) -> None:
        agent = SYNCED_AGENT if index % 2 == 0 else LOCAL_AGENT
        n = 0
        while True:
            n += 1
            result = await ws.dispatcher.dispatch(
                DispatchRequest(prompt=f"slot {index} prompt {n}", agent=agent, trigger=Trigger.CLI)
            )
            digest = await ws.store.read_async(run_digest, ws.store, result.run_id)
            line = {
                "event": "ended",
                "run_id": result.run_id,
                "status": result.status.value,
                "agent": agent,
                "digest": digest,
                "t": time.monotonic(),
            }
            os.write(fd, (json.dumps(line) + "\n").encode())

    await asyncio.wait_for(
        asyncio.gather(*(slot(i) for i in range(CONCURRENCY))), timeout=CHILD_LIFETIME_S
    )


def _child(home: Path, out_file: Path, kill_at: tuple[str, int] | None) -> None:
    fd = os.open(out_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        asyncio.run(_dispatch_forever(home, fd, kill_at))
    except BaseException as exc:  # reported to the test, which fails on it
        os.write(fd, (json.dumps({"event": "error", "error": repr(exc)}) + "\n").encode())
        os._exit(3)
    os._exit(0)


def _warm_up(url: str) -> None:
    """One dispatch in a throwaway workspace: the SDK's ~3,000 lazily imported modules, the
    price table and pydantic's schemas load here once, not in every child (seconds each)."""
    import tempfile

    from ato_desktop.core.models import Trigger
    from ato_desktop.engine.dispatcher import DispatchRequest
    from ato_desktop.engine.workspace import Workspace
    from ato_desktop.store.paths import DataPaths

    async def go() -> None:
        ws = Workspace.open(DataPaths(Path(scratch)))
        try:
            request = DispatchRequest(
                prompt="warm up", runtime="claude", model=MODEL, base_url=url, trigger=Trigger.CLI
            )
            await ws.dispatcher.dispatch(request)
        finally:
            ws.close()

    with tempfile.TemporaryDirectory() as scratch:
        asyncio.run(go())


def main(argv: list[str]) -> int:
    import threading

    home, url = Path(argv[0]), argv[1]
    _warm_up(url)
    # Forking is only safe with no other thread alive (one could hold a lock the child needs).
    alive = [t.name for t in threading.enumerate() if t is not threading.current_thread()]
    if alive:
        print(f"threads still alive after the warm-up: {alive}", flush=True)
        return 1
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] != "run":
            break
        kill_at = (words[2], int(words[3])) if len(words) == 4 else None
        pid = os.fork()
        if pid == 0:
            _child(home, Path(words[1]), kill_at)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"exited {pid} {status}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
