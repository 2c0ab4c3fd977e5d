"""Driving the coding-agent adapters against the fake `claude` and `codex` in tests/fakes/bin."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ato_desktop.core.models import (
    AgentStep,
    ChatMessage,
    ErrorClass,
    EventKind,
    RuntimeEvent,
    RuntimeRequest,
)
from ato_desktop.runtimes.base import RuntimeAdapter

FAKE_BIN = Path(__file__).resolve().parents[1] / "fakes" / "bin"
API_KEY = "sk-test-cli-key-0123456789abcdef"


@dataclass
class FakeCli:
    """The fakes on PATH, a working directory, and what the last invocation received."""

    monkeypatch: pytest.MonkeyPatch
    workdir: Path
    record_path: Path
    pidfile: Path

    @staticmethod
    def install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeCli:
        # The fakes are `#!/usr/bin/env python3` scripts: this interpreter's folder comes next.
        path = os.pathsep.join(
            [str(FAKE_BIN), str(Path(sys.executable).parent), os.environ["PATH"]]
        )
        monkeypatch.setenv("PATH", path)
        for var in (
            "ATO_CLAUDE_BIN",
            "ATO_CODEX_BIN",
            "ANTHROPIC_API_KEY",
            "OPENAI_API_KEY",
            "CODEX_API_KEY",
            "ATO_FAKE_DELAY",
            "ATO_FAKE_EXIT",
        ):
            monkeypatch.delenv(var, raising=False)
        workdir = tmp_path / "work"
        workdir.mkdir()
        fake = FakeCli(monkeypatch, workdir, tmp_path / "record.json", tmp_path / "pids.json")
        monkeypatch.setenv("ATO_FAKE_RECORD", str(fake.record_path))
        monkeypatch.setenv("ATO_FAKE_PIDFILE", str(fake.pidfile))
        fake.scenario("happy")
        return fake

    def scenario(self, name: str, **env: str) -> None:
        self.monkeypatch.setenv("ATO_FAKE_SCENARIO", name)
        for key, value in env.items():
            self.monkeypatch.setenv(key, value)

    def request(self, **overrides: Any) -> RuntimeRequest:
        values: dict[str, Any] = {
            "model": "model-under-test",
            "messages": (ChatMessage("user", "Say hello."),),
            "cwd": str(self.workdir),
            "api_key": API_KEY,
            "stall_timeout_s": 5.0,
            "request_timeout_s": 10.0,
        }
        values.update(overrides)
        return RuntimeRequest(**values)

    def run(
        self, adapter: Callable[[], RuntimeAdapter], scenario: str, **overrides: Any
    ) -> list[RuntimeEvent]:
        """Every event of one run of adapter() on the fake playing scenario."""
        self.scenario(scenario)
        return collect(adapter(), self.request(**overrides))

    def recorded(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.record_path.read_text(encoding="utf-8"))
        return data

    def pids(self, timeout: float = 5.0) -> dict[str, int]:
        deadline = time.monotonic() + timeout
        while not self.pidfile.exists():
            assert time.monotonic() < deadline, "the fake never wrote its pids"
            time.sleep(0.01)
        data: dict[str, int] = json.loads(self.pidfile.read_text(encoding="utf-8"))
        return data


def collect(
    adapter: RuntimeAdapter, request: RuntimeRequest, timeout: float = 15.0
) -> list[RuntimeEvent]:
    """Every event of one run; a hung adapter fails the test instead of hanging it."""

    async def run() -> list[RuntimeEvent]:
        return [event async for event in adapter.stream(request)]

    return asyncio.run(asyncio.wait_for(run(), timeout))


def kinds(events: list[RuntimeEvent]) -> list[EventKind]:
    return [event.kind for event in events]


def text_of(events: list[RuntimeEvent]) -> str:
    return "".join(event.text for event in events if event.kind is EventKind.TEXT)


def steps(events: list[RuntimeEvent]) -> list[AgentStep]:
    return [event.step for event in events if event.kind is EventKind.STEP and event.step]


def finished(events: list[RuntimeEvent]) -> RuntimeEvent:
    assert events and events[-1].kind is EventKind.FINISH, events[-1:]
    assert EventKind.ERROR not in kinds(events)
    return events[-1]


def failed(events: list[RuntimeEvent], error_class: ErrorClass) -> RuntimeEvent:
    assert events, "no events"
    error = events[-1]
    assert error.kind is EventKind.ERROR, events[-3:]
    assert EventKind.FINISH not in kinds(events)
    assert error.error_class is error_class, error
    assert API_KEY not in error.message
    return error


def live_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of group ``pgid``, from /proc; orphaned zombies are not
    running, and some container inits never reap them."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            members.append(int(entry.name))
    return members


def process_running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in (b"Z", b"X")


def assert_nothing_left_running(pgid: int) -> None:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return
    if sys.platform == "linux":
        assert live_members(pgid) == []
    else:  # pragma: no cover - the tests run on Linux
        pytest.fail(f"process group {pgid} is still alive")


async def kill_while_running(
    adapter: RuntimeAdapter, request: RuntimeRequest, fake: FakeCli
) -> tuple[float, dict[str, int], list[RuntimeEvent]]:
    """Start a run, wait for its first TEXT, cancel the consuming task: (seconds the cancel
    took, the fake's pids, the events seen)."""
    seen: list[RuntimeEvent] = []
    first_text = asyncio.Event()

    async def consume() -> None:
        async for event in adapter.stream(request):
            seen.append(event)
            if event.kind is EventKind.TEXT:
                first_text.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first_text.wait(), 10)
    pids = fake.pids()
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return time.monotonic() - started, pids, seen
