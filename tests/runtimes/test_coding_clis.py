"""What claude-code and codex-cli do alike, against their fakes on PATH: a kill ends the whole
process group, and silence is a stall that stops the process."""

from __future__ import annotations

import asyncio
import time

import pytest

from ato_desktop.core.models import ErrorClass
from ato_desktop.runtimes.base import RuntimeAdapter
from ato_desktop.runtimes.claude_code import ClaudeCodeAdapter
from ato_desktop.runtimes.codex_cli import CodexCliAdapter
from tests.runtimes.subprocess_fakes import (
    FakeCli,
    assert_nothing_left_running,
    collect,
    failed,
    kill_while_running,
    process_running,
    text_of,
)

ADAPTERS = [ClaudeCodeAdapter, CodexCliAdapter]


@pytest.fixture(params=ADAPTERS, ids=["claude-code", "codex-cli"])
def adapter(request: pytest.FixtureRequest) -> RuntimeAdapter:
    made: RuntimeAdapter = request.param()
    return made


@pytest.mark.parametrize("scenario", ["hang", "hang_stubborn"])
def test_kill_ends_the_whole_process_group_within_a_second(
    cli: FakeCli, adapter: RuntimeAdapter, scenario: str
) -> None:
    cli.scenario(scenario)
    elapsed, pids, seen = asyncio.run(kill_while_running(adapter, cli.request(), cli))

    assert elapsed < 1.0
    if isinstance(adapter, ClaudeCodeAdapter):  # token by token: the kill may come mid-way
        assert "Working on it.".startswith(text_of(seen)) and text_of(seen)
    else:
        assert text_of(seen) == "Working on it."
    assert pids["child"] and pids["pgid"] == pids["pid"]  # a group of its own
    assert_nothing_left_running(pids["pgid"])
    assert not process_running(pids["child"])


def test_silence_is_a_stall_and_the_process_is_stopped(
    cli: FakeCli, adapter: RuntimeAdapter
) -> None:
    cli.scenario("slow", ATO_FAKE_DELAY="30")
    started = time.monotonic()
    events = collect(adapter, cli.request(stall_timeout_s=0.4))

    error = failed(events, ErrorClass.STALLED)
    assert "printed nothing for 0.4 s" in error.message
    assert time.monotonic() - started < 3
    assert_nothing_left_running(cli.pids()["pgid"])
