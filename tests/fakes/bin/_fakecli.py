"""What the fake `claude` and `codex` executables share (stdlib only; see README.md)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any


def scenario() -> str:
    """The scripted behaviour: ATO_FAKE_SCENARIO (default "happy")."""
    return os.environ.get("ATO_FAKE_SCENARIO", "happy")


def delay(default: float) -> float:
    """ATO_FAKE_DELAY seconds (slow scenarios), else ``default``."""
    return float(os.environ.get("ATO_FAKE_DELAY", default))


def emit(event: dict[str, Any]) -> None:
    """One event: one JSON line on stdout, flushed at once like the real CLIs."""
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def emit_raw(line: str) -> None:
    """A line that is not a JSON event (the garbage scenario)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def fail(message: str, code: int = 1) -> None:
    """Exit like a CLI that gives up: a message on stderr, a non-zero status."""
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.stderr.flush()
    sys.exit(code)


def exit_code(default: int = 1) -> int:
    """ATO_FAKE_EXIT, else ``default``."""
    return int(os.environ.get("ATO_FAKE_EXIT", default))


def read_prompt(argument: str | None) -> str:
    """The prompt argument, or stdin when there is none or it is "-"."""
    if argument is not None and argument != "-":
        return argument
    return sys.stdin.read()


def record(details: dict[str, Any]) -> None:
    """Write what this invocation received to $ATO_FAKE_RECORD, for the tests to check."""
    path = os.environ.get("ATO_FAKE_RECORD")
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump({"argv": sys.argv[1:], "cwd": os.getcwd(), **details}, handle)


def note_pids(child: int | None = None) -> None:
    """Write this process's pid, its process group and a child's pid to $ATO_FAKE_PIDFILE."""
    path = os.environ.get("ATO_FAKE_PIDFILE")
    if path:
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            json.dump({"pid": os.getpid(), "pgid": os.getpgrp(), "child": child}, handle)
        os.replace(path + ".tmp", path)


def start_hang(stubborn: bool) -> None:
    """Spawn a child that sleeps forever in this process group and note its pid.
    ``stubborn``: both ignore SIGTERM, so only SIGKILL ends them."""
    ignore = "signal.signal(signal.SIGTERM, signal.SIG_IGN); " if stubborn else ""
    child = subprocess.Popen(
        [sys.executable, "-c", f"import signal, time; {ignore}time.sleep(10**6)"],
        stdin=subprocess.DEVNULL,
    )
    if stubborn:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    note_pids(child.pid)


def sleep_forever() -> None:
    while True:
        time.sleep(3600)


def write_file(path: str, content: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(content)


def numbered_lines(count: int) -> str:
    """A long command output (trimming tests)."""
    return "".join(f"line {n:05d} of the build log\n" for n in range(count))
