"""The UI thread only paints: provider streams run on the engine's own loop and thread
(engine/engine_loop.py), and streamed text crosses back coalesced (ui/engine_calls.py)."""

from __future__ import annotations

import itertools
import os
import sys
import threading
import time
from types import FrameType
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QObject

from ato_desktop.core.models import AgentConfig, Trigger
from ato_desktop.engine.credentials import CredentialStore
from ato_desktop.engine.dispatcher import DispatchRequest
from ato_desktop.runtimes.net_process import NetProcess, net_for_running_loop
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.engine_calls import TextRelay, UiInvoker
from tests.fakes import FakeLLMServer, Scenario
from tests.support.qt_helpers import run_on_engine

ANTHROPIC_KEY = "sk-ant-api03-ENGINETESTKEY-abcdefghijklmnopqrstuvwxyz0123456"
CHUNKS = tuple(f"word{i} " for i in range(12))


def _writer(ctx: AppContext, fake: FakeLLMServer) -> str:
    assert CredentialStore().set_key("anthropic", ANTHROPIC_KEY).persisted
    ctx.workspace.agents.create(
        "writer", AgentConfig("claude", "claude-sonnet-5", base_url=fake.anthropic_base_url)
    )
    return "writer"


def test_a_blocked_ui_thread_loses_nothing_and_stalls_nothing(
    open_ctx: AppContext, qtbot: Any, fake: FakeLLMServer
) -> None:
    """The UI thread sleeps 500 ms in the middle of a stream whose stall timeout is 300 ms:
    the engine keeps reading it, so it completes, and every delta reaches the widget after."""
    agent = _writer(open_ctx, fake)
    fake.scenario = Scenario(chunks=CHUNKS, delay_s=0.05)
    shown: list[str] = []
    relay = TextRelay(shown.append)
    threads: set[str] = set()

    blocked: list[float] = []

    def block() -> None:
        t0 = time.monotonic()
        time.sleep(0.5)  # the UI thread does nothing at all for half a second
        blocked.append(time.monotonic() - t0)

    invoker = UiInvoker()

    def on_text(text: str) -> None:
        if not threads:  # the first delta: block the UI thread while the rest stream
            invoker.post(block)
        threads.add(threading.current_thread().name)
        relay.push(text)

    request = DispatchRequest("write", agent=agent, trigger=Trigger.UI, stall_timeout_s=0.3)
    result = run_on_engine(
        open_ctx, qtbot, open_ctx.workspace.dispatcher.dispatch(request, on_text=on_text)
    )
    relay.flush()
    assert blocked and blocked[0] >= 0.5
    assert result.status.value == "completed", result.error_message
    assert "".join(shown) == "".join(CHUNKS)
    assert threads == {"ato-engine"}
    # Coalesced: fewer widget updates than deltas (the 500 ms gap alone merges several).
    assert len(shown) < len(CHUNKS)


def test_the_ui_thread_never_runs_sdk_code_during_a_chat_answer(
    open_ctx: AppContext, qtbot: Any, fake: FakeLLMServer
) -> None:
    agent = _writer(open_ctx, fake)
    fake.scenario = Scenario(chunks=CHUNKS, delay_s=0.01)
    sdk_frames: list[str] = []
    markers = ("/anthropic/", "/openai/", "/httpx", "/httpcore/", "/h11/")

    def profile(frame: FrameType, event: str, _arg: Any) -> None:
        if event == "call":
            name = frame.f_code.co_filename
            if any(m in name for m in markers):
                sdk_frames.append(f"{name}:{frame.f_code.co_name}")

    shown: list[str] = []
    relay = TextRelay(shown.append)
    request = DispatchRequest("write", agent=agent, trigger=Trigger.UI)
    sys.setprofile(profile)  # this thread only: the UI thread
    try:
        result = run_on_engine(
            open_ctx, qtbot, open_ctx.workspace.dispatcher.dispatch(request, on_text=relay.push)
        )
    finally:
        sys.setprofile(None)
    relay.flush()
    assert result.status.value == "completed"
    assert "".join(shown) == "".join(CHUNKS)
    assert sdk_frames == []


def test_text_relay_hands_text_over_at_most_once_a_frame(qtbot: Any) -> None:
    shown: list[tuple[float, str]] = []
    relay = TextRelay(lambda text: shown.append((time.perf_counter(), text)))
    stop = threading.Event()

    def engine() -> None:  # a fast stream on another thread: a delta every millisecond
        for i in range(300):
            relay.push(f"{i},")
            time.sleep(0.001)
        stop.set()

    worker = threading.Thread(target=engine)
    worker.start()
    qtbot.waitUntil(stop.is_set, timeout=10_000)
    worker.join()
    qtbot.wait(50)
    relay.flush()
    text = "".join(t for _, t in shown)
    assert text == "".join(f"{i}," for i in range(300))
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(shown)]
    assert all(gap >= 0.015 for gap in gaps[:-1])  # the explicit flush may come sooner
    assert relay.latencies_ms and max(relay.latencies_ms) < 1000


def test_posted_calls_run_on_the_ui_thread_in_order(qtbot: Any) -> None:
    invoker = UiInvoker()
    seen: list[tuple[int, str]] = []
    ui_thread = threading.current_thread().name
    poster = threading.Thread(
        target=lambda: [
            invoker.post(lambda i=i: seen.append((i, threading.current_thread().name)))
            for i in range(100)
        ]
    )
    poster.start()
    poster.join()
    qtbot.waitUntil(lambda: len(seen) == 100, timeout=5_000)
    assert [i for i, _ in seen] == list(range(100))
    assert {name for _, name in seen} == {ui_thread}


def test_one_frame_flushes_every_stream_and_skips_a_deleted_ones_sink(qtbot: Any) -> None:
    """Fifty streams pushing from another thread reach their sinks together, a frame at a time
    (one wake-up of the UI thread for all), and a relay deleted with its widget is not called."""
    shown: dict[int, list[str]] = {i: [] for i in range(50)}
    relays = [TextRelay(shown[i].append) for i in range(50)]
    owner = QObject()
    orphan: list[str] = []
    doomed = TextRelay(orphan.append, owner)

    def engine() -> None:
        for n in range(20):
            for relay in relays:
                relay.push(f"{n},")
            time.sleep(0.002)

    worker = threading.Thread(target=engine)
    worker.start()
    doomed.push("never shown")
    shiboken6.delete(owner)  # the page went away with its relay's text still waiting
    worker.join()
    qtbot.waitUntil(lambda: all("".join(s).count(",") == 20 for s in shown.values()), timeout=5000)
    assert all("".join(s) == "".join(f"{n}," for n in range(20)) for s in shown.values())
    # Coalesced: 20 pushes per stream over ~40 ms, a few flushes each.
    assert max(len(s) for s in shown.values()) < 20
    qtbot.wait(50)
    assert orphan == []


async def _network_process() -> NetProcess | None:
    return net_for_running_loop()


def test_the_apps_provider_requests_go_through_its_network_process_which_ends_with_it(
    ui_ctx: AppContext, qtbot: Any, fake: FakeLLMServer
) -> None:
    with qtbot.waitSignal(ui_ctx.sig_workspace_ready, timeout=10_000):
        ui_ctx.spawn(ui_ctx.open_workspace())
    agent = _writer(ui_ctx, fake)
    fake.scenario = Scenario(chunks=CHUNKS[:3])
    net = run_on_engine(ui_ctx, qtbot, _network_process())
    assert net is not None and net.pid is None  # not started before it is needed
    request = DispatchRequest("write", agent=agent, trigger=Trigger.UI)
    result = run_on_engine(ui_ctx, qtbot, ui_ctx.workspace.dispatcher.dispatch(request))
    assert result.status.value == "completed", result.error_message
    pid = net.pid
    assert pid is not None and net.requests_sent == 1
    os.kill(pid, 0)  # alive between dispatches
    done: list[bool] = []
    task = ui_ctx.spawn(ui_ctx.shutdown())  # (it cancels every task of the app: itself too)
    task.add_done_callback(lambda _t: done.append(True))
    qtbot.waitUntil(lambda: bool(done), timeout=15_000)
    assert net.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # ended with the app, and reaped
