"""The provider HTTP in the network process (runtimes.net_process): the adapters' own tests,
run again with the SDK clients' requests made by the network process, and what only it has
(a network process that dies, one that ends with the app, nothing secret on its command line)."""

from __future__ import annotations

import asyncio
import os
import signal
import types
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest

from ato_desktop.core.models import ErrorClass, EventKind, RuntimeEvent
from ato_desktop.runtimes import net_transport
from ato_desktop.runtimes.net_process import NetProcess, use_for_loop
from tests.fakes import FakeLLMServer, Scenario
from tests.runtimes import test_adapters
from tests.runtimes.conftest import API_KEY, Target, collect_async, make_request

# The adapters' tests collected here again, and run through a network process (this module's
# autouse fixture).
REUSED = tuple(
    getattr(test_adapters, name)
    for name in (
        "test_401_is_auth_with_key_instructions_and_no_key",
        "test_5xx_is_server_error",
        "test_a_retry_that_succeeds_streams_normally",
        "test_cancelling_the_consumer_closes_the_stream",
        "test_clean_end_without_terminal_event_is_stream_interrupted",
        "test_cut_stream_is_stream_interrupted_after_partial_text",
        "test_finish_carries_reason_id_and_model",
        "test_in_stream_error_events_are_classified",
        "test_no_response_in_time_is_timeout",
        "test_stall_ends_in_stalled_within_the_stall_timeout",
        "test_text_arrives_as_several_events_in_order",
        "test_the_key_travels_in_the_auth_header",
        "test_unreachable_server_is_network",
        "test_usage_is_normalised_with_cache_tokens",
    )
)
globals().update({test.__name__: test for test in REUSED})


@pytest.fixture(params=[test_adapters.CLAUDE, test_adapters.CODEX], ids=["claude", "codex"])
def target(request: pytest.FixtureRequest) -> Target:
    """One runtime per SDK (the openai-compatible runtime uses the OpenAI SDK as codex does):
    what goes through the network process is the SDK's HTTP."""
    result: Target = request.param
    return result


def run_through_network_process(main: Coroutine[Any, Any, Any], used: list[NetProcess]) -> Any:
    """asyncio.run(main) on a loop whose SDK clients send through a network process."""

    async def wrapper() -> Any:
        net = NetProcess()
        used.append(net)
        use_for_loop(asyncio.get_running_loop(), net)
        try:
            return await main
        finally:
            await net.aclose()

    return asyncio.run(wrapper())


@pytest.fixture(autouse=True)
def through_network_process(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[list[NetProcess]]:
    """The adapters' tests' asyncio.run and collect, through a network process; afterwards
    every request went through one, and every network process has ended."""
    used: list[NetProcess] = []
    shim = types.ModuleType("asyncio")
    shim.__dict__.update(asyncio.__dict__)
    shim.run = lambda main, **_: run_through_network_process(main, used)  # type: ignore[attr-defined]

    def collect(target: Target, request: Any, timeout: float = 10.0) -> list[RuntimeEvent]:
        main = asyncio.wait_for(collect_async(target.adapter(), request), timeout)
        result: list[RuntimeEvent] = run_through_network_process(main, used)
        return result

    monkeypatch.setattr(test_adapters, "asyncio", shim)
    monkeypatch.setattr(test_adapters, "collect", collect)
    yield used
    if request.function in REUSED:
        assert used, "the test made no request"
    assert all(net.requests_sent > 0 for net in used), "a request went around the process"
    assert all(net.pid is None for net in used)


def test_a_network_process_that_dies_fails_the_stream_and_the_next_starts_another(
    fake: FakeLLMServer, through_network_process: list[NetProcess]
) -> None:
    fake.scenario = Scenario(chunks=tuple(f"chunk{n} " for n in range(40)), delay_s=0.05)
    target = test_adapters.CLAUDE

    async def run() -> tuple[list[RuntimeEvent], list[RuntimeEvent], int, int]:
        net = NetProcess()
        through_network_process.append(net)
        use_for_loop(asyncio.get_running_loop(), net)
        try:
            events: list[RuntimeEvent] = []
            first_pid = 0
            async for event in target.adapter().stream(make_request(target, fake)):
                events.append(event)
                if event.kind is EventKind.TEXT and not first_pid:
                    first_pid = net.pid or 0
                    os.kill(first_pid, signal.SIGKILL)
            fake.scenario = Scenario(chunks=("after",))
            again = await collect_async(target.adapter(), make_request(target, fake))
            return events, again, first_pid, net.pid or 0
        finally:
            await net.aclose()

    events, again, first_pid, second_pid = asyncio.run(asyncio.wait_for(run(), 20))

    assert first_pid and second_pid and first_pid != second_pid
    error = events[-1]
    assert error.kind is EventKind.ERROR
    assert error.error_class is ErrorClass.STREAM_INTERRUPTED
    assert "network process ended" in error.message
    assert [e.text for e in again if e.kind is EventKind.TEXT] == ["after"]


@pytest.mark.skipif(not os.path.exists("/proc/self/cmdline"), reason="reads /proc")
def test_the_network_process_ends_with_its_engine_and_carries_no_secret_in_its_arguments(
    fake: FakeLLMServer, through_network_process: list[NetProcess]
) -> None:
    target = test_adapters.CLAUDE

    async def run() -> tuple[int, bytes, bytes]:
        net = NetProcess()
        through_network_process.append(net)
        use_for_loop(asyncio.get_running_loop(), net)
        await collect_async(target.adapter(), make_request(target, fake))
        pid = net.pid
        assert pid is not None
        with (
            open(f"/proc/{pid}/cmdline", "rb") as cmdline,
            open(f"/proc/{pid}/environ", "rb") as env,
        ):
            seen = cmdline.read(), env.read()
        await net.aclose()
        return pid, *seen

    pid, cmdline, environ = asyncio.run(asyncio.wait_for(run(), 20))

    assert API_KEY.encode() not in cmdline and API_KEY.encode() not in environ
    assert b"ato_desktop.runtimes.net_worker" in cmdline
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # reaped: gone, not a zombie


def test_a_network_process_that_cannot_start_leaves_the_http_in_process(
    fake: FakeLLMServer, through_network_process: list[NetProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.scenario = Scenario(chunks=("still ", "here"))
    target = test_adapters.CLAUDE
    monkeypatch.setattr("sys.executable", "/nonexistent/python3")

    async def run() -> tuple[list[RuntimeEvent], NetProcess]:
        net = NetProcess()
        use_for_loop(asyncio.get_running_loop(), net)
        try:
            return await collect_async(target.adapter(), make_request(target, fake)), net
        finally:
            await net.aclose()

    events, net = asyncio.run(asyncio.wait_for(run(), 20))

    assert [e.text for e in events if e.kind is EventKind.TEXT] == ["still ", "here"]
    assert net.unavailable and "nonexistent" in net.unavailable
    assert net.requests_sent == 0


def test_requests_beyond_the_network_process_cap_are_made_in_process(
    fake: FakeLLMServer, through_network_process: list[NetProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.scenario = Scenario(chunks=tuple(f"w{n} " for n in range(10)), delay_s=0.05)
    target = test_adapters.CLAUDE
    monkeypatch.setattr(net_transport, "MAX_STREAMS", 2)

    async def run() -> list[list[RuntimeEvent]]:
        net = NetProcess()
        through_network_process.append(net)
        use_for_loop(asyncio.get_running_loop(), net)
        try:
            streams = [
                collect_async(target.adapter(), make_request(target, fake)) for _ in range(3)
            ]
            return list(await asyncio.gather(*streams))
        finally:
            await net.aclose()

    results = asyncio.run(asyncio.wait_for(run(), 20))

    for events in results:  # all three answered in full
        assert "".join(e.text for e in events if e.kind is EventKind.TEXT) == "".join(
            f"w{n} " for n in range(10)
        )
    assert through_network_process[-1].requests_sent == 2  # the third in process


def test_a_request_on_a_connection_that_just_ended_fails_at_once() -> None:
    import httpx2

    from ato_desktop.runtimes.net_process import Connection

    async def run() -> BaseException | None:
        connection = Connection()
        connection.connection_lost(None)  # the network process ended a moment ago
        request = httpx2.Request("POST", "http://127.0.0.1:9/v1/messages", content=b"{}")
        _stream_id, stream = connection.open(request, b"{}")
        try:
            await asyncio.wait_for(stream.head, 2)
        except httpx2.ReadError as exc:
            return exc
        return None

    error = asyncio.run(run())

    assert error is not None and "network process ended" in str(error)
