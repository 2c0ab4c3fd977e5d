"""Run the fake server as its own process: ``python -m tests.fakes.serve [--port N]``.

Prints the base URL (``http://127.0.0.1:<port>``) as the first line of stdout, then serves until
SIGTERM / SIGINT (or kill -9). Script it with ``--scenario FILE.json`` and/or the control API
(see tests/fakes/README.md and FakeControl).
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.fakes.scenario import Scenario
from tests.fakes.server import FakeLLMServer

REPO_ROOT = Path(__file__).resolve().parents[2]


def load_scenarios(path: Path) -> tuple[Scenario | None, list[Scenario]]:
    """(default, queue) from a JSON file ``{"default": {...}, "queue": [{...}, ...]}``."""
    data = json.loads(path.read_text(encoding="utf-8"))
    default = Scenario.from_dict(data["default"]) if "default" in data else None
    queue = [Scenario.from_dict(item) for item in data.get("queue", [])]
    return default, queue


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.serve", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--scenario", type=Path, help="JSON file: {default: {...}, queue: [...]}")
    parser.add_argument("--api-key", help="the only key accepted; others get a real 401")
    args = parser.parse_args(argv)

    default, queue = load_scenarios(args.scenario) if args.scenario else (None, [])
    server = FakeLLMServer(args.host, args.port, api_key=args.api_key, scenario=default)
    server.enqueue(*queue)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with server:
        print(f"http://{args.host}:{server.port}", flush=True)
        while not stop.wait(0.5):
            pass
    return 0


@contextmanager
def spawn_fake_server(
    *extra_args: str, scenario_file: Path | None = None
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start ``python -m tests.fakes.serve`` in a subprocess; yield (process, base URL).

    The process is terminated (or killed) on exit if it is still running.
    """
    command = [sys.executable, "-m", "tests.fakes.serve", "--port", "0", *extra_args]
    if scenario_file is not None:
        command += ["--scenario", str(scenario_file)]
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True, encoding="utf-8"
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"fake server did not start (printed {url!r})")
        yield process, url
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()


if __name__ == "__main__":
    raise SystemExit(main())
