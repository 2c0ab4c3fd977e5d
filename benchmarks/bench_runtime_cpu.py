"""The engine thread's CPU per streamed delta: N concurrent streams of one runtime adapter.

Runs ``--streams`` streams of a runtime (claude, codex or openai-compatible) at once on the
app's engine loop (engine.engine_loop.EngineLoop: a thread of its own, a 1 ms switch
interval) against the loopback fake of tests/fakes in a process of its own (so the server's
CPU is not counted), and reports that thread's CPU time (time.thread_time) divided by the
deltas it received: the Python per delta that competes with the UI thread for the GIL; a probe
thread that wakes every 5 ms says how late the GIL let it (``gil_probe``). ``--dispatcher``
runs the streams through the one dispatch path (Dispatcher.dispatch on a fresh workspace,
with an on_text callback) instead of the bare adapter; ``--profile N`` prints the N functions
with the most own time (cProfile timed by time.thread_time on that thread).

    .venv/bin/python -m benchmarks.bench_runtime_cpu [--runtime claude] [--streams 50]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import os
import pstats
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

_KEYS = {
    "claude": ("anthropic", "sk-ant-api03-bench-runtime-cpu-000000000000000000000000"),
    "codex": ("openai", "sk-proj-bench-runtime-cpu-0000000000000000000000000000"),
    "openai-compatible": ("openai-compatible", "sk-bench-runtime-cpu-compatible-0000"),
}
_MODELS = {"claude": "claude-sonnet-5", "codex": "gpt-5", "openai-compatible": "llama3"}


def _scenario_file(directory: Path, chunks: int, delay_s: float) -> Path:
    path = directory / "scenario.json"
    words = [f"tok{i % 97} " for i in range(chunks)]
    scenario = {"chunks": words, "delay_s": delay_s, "usage": {"output_tokens": chunks}}
    path.write_text(json.dumps({"default": scenario}), encoding="utf-8")
    return path


class GilProbe:
    """A thread that sleeps 5 ms at a time and records how late it wakes: waking needs the GIL,
    so its lateness is how long the engine thread kept another Python thread (the UI's) out."""

    def __init__(self) -> None:
        self.lags_ms: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gil-probe", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            t0 = time.perf_counter()
            time.sleep(0.005)
            self.lags_ms.append((time.perf_counter() - t0 - 0.005) * 1000)

    def __enter__(self) -> GilProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict[str, float]:
        lags = sorted(self.lags_ms) or [0.0]
        return {
            "ticks": len(lags),
            "p50_ms": round(lags[len(lags) // 2], 2),
            "p99_ms": round(lags[min(len(lags) - 1, int(len(lags) * 0.99))], 2),
            "max_ms": round(lags[-1], 2),
        }


def _base_url(runtime: str, url: str) -> str:
    return url if runtime == "claude" else f"{url}/v1"


async def _adapter_streams(runtime: str, url: str, streams: int) -> tuple[int, dict[str, int]]:
    from ato_desktop.core.models import ChatMessage, EventKind, RuntimeRequest
    from ato_desktop.runtimes.registry import get_adapter

    adapter = get_adapter(runtime)
    request = RuntimeRequest(
        model=_MODELS[runtime],
        messages=(ChatMessage("user", "benchmark"),),
        api_key=_KEYS[runtime][1],
        base_url=_base_url(runtime, url),
    )

    async def one() -> tuple[int, str]:
        deltas, last = 0, ""
        async with contextlib.aclosing(adapter.stream(request)) as events:
            async for event in events:
                if event.kind is EventKind.TEXT:
                    deltas += 1
                last = event.kind.value
        return deltas, last

    results = await asyncio.gather(*(one() for _ in range(streams)))
    endings: dict[str, int] = {}
    for _, last in results:
        endings[last] = endings.get(last, 0) + 1
    return sum(deltas for deltas, _ in results), endings


async def _dispatched_streams(
    runtime: str, url: str, streams: int, workspace: Any
) -> tuple[int, dict[str, int]]:
    from ato_desktop.core.models import Trigger
    from ato_desktop.engine.dispatcher import DispatchRequest

    received = [0]

    def on_text(_text: str) -> None:
        received[0] += 1

    def request(i: int) -> DispatchRequest:
        return DispatchRequest(
            f"benchmark stream {i}",
            runtime=runtime,
            model=_MODELS[runtime],
            base_url=_base_url(runtime, url),
            trigger=Trigger.UI,
        )

    done = await asyncio.gather(
        *(workspace.dispatcher.dispatch(request(i), on_text=on_text) for i in range(streams))
    )
    endings: dict[str, int] = {}
    for item in done:
        endings[item.status.value] = endings.get(item.status.value, 0) + 1
    return received[0], endings


def bench_runtime_cpu(
    *,
    runtime: str = "claude",
    streams: int = 50,
    chunks: int = 200,
    delay_s: float = 0.020,
    dispatcher: bool = False,
    profile: int = 0,
) -> dict[str, Any]:
    """Measure in this process; the fake server runs in a subprocess."""
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    from ato_desktop.engine.engine_loop import EngineLoop
    from ato_desktop.runtimes.registry import get_adapter
    from ato_desktop.runtimes.sdk_clients import prepare_sdk
    from tests.fakes.serve import spawn_fake_server

    prepare_sdk(get_adapter(runtime).sdk_module)
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="ato-bench-cpu-") as tmp:
        scenario = _scenario_file(Path(tmp), chunks, delay_s)
        workspace = None
        if dispatcher:
            import keyring

            from ato_desktop.engine.workspace import Workspace
            from ato_desktop.store.paths import DataPaths
            from tests.support.memory_keyring import MemoryKeyring

            keyring.set_keyring(MemoryKeyring())
            workspace = Workspace.open(DataPaths(Path(tmp) / "home"))
            key_name, key = _KEYS[runtime]
            workspace.credentials.set_key(key_name, key)
        with spawn_fake_server(scenario_file=scenario) as (_process, url):

            async def main() -> None:
                if workspace is None:
                    await _adapter_streams(runtime, url, 1)  # warm-up, unmeasured
                else:
                    await _dispatched_streams(runtime, url, 1, workspace)
                profiler = cProfile.Profile(time.thread_time) if profile else None
                cpu0, wall0 = time.thread_time(), time.perf_counter()
                if profiler is not None:
                    profiler.enable()
                with GilProbe() as probe:
                    if workspace is None:
                        deltas, endings = await _adapter_streams(runtime, url, streams)
                    else:
                        deltas, endings = await _dispatched_streams(
                            runtime, url, streams, workspace
                        )
                if profiler is not None:
                    profiler.disable()
                cpu, wall = time.thread_time() - cpu0, time.perf_counter() - wall0
                result.update(
                    {
                        "runtime": runtime,
                        "through": "dispatcher" if workspace is not None else "adapter",
                        "streams": streams,
                        "deltas": deltas,
                        "endings": endings,
                        "wall_s": round(wall, 2),
                        "engine_cpu_s": round(cpu, 3),
                        "engine_busy": round(cpu / wall, 3) if wall else None,
                        "cpu_us_per_delta": round(cpu / deltas * 1e6, 1) if deltas else None,
                        "gil_probe": probe.summary(),
                        "loadavg": [round(x, 2) for x in os.getloadavg()],
                    }
                )
                if profiler is not None:
                    text = io.StringIO()
                    stats = pstats.Stats(profiler, stream=text)
                    stats.sort_stats("tottime").print_stats(profile)
                    result["profile"] = text.getvalue()

            # The app's engine thread: its own loop, and the 1 ms switch interval it sets.
            engine = EngineLoop()
            try:
                engine.submit(main()).result()
            finally:
                engine.stop()
        if workspace is not None:
            workspace.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runtime", default="claude", choices=sorted(_KEYS))
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--chunks", type=int, default=200, help="text deltas per stream")
    parser.add_argument("--delta-ms", type=float, default=20.0, help="ms between deltas")
    parser.add_argument("--dispatcher", action="store_true", help="through Dispatcher.dispatch")
    parser.add_argument("--profile", type=int, default=0, help="print the top N by own time")
    args = parser.parse_args()
    result = bench_runtime_cpu(
        runtime=args.runtime,
        streams=args.streams,
        chunks=args.chunks,
        delay_s=args.delta_ms / 1000,
        dispatcher=args.dispatcher,
        profile=args.profile,
    )
    profile = result.pop("profile", None)
    print(json.dumps({"runtime_cpu": result}, indent=2))
    if profile:
        print(profile)


if __name__ == "__main__":
    main()
