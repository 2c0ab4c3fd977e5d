"""Issue 16.6: a run's duration and TTFT measure the provider, not our start-up.

A real CLI process dispatches to the loopback fake: the provider SDK is imported and prepared
before the run starts, so the run's clock starts just before the request goes out, and the
summary the CLI prints shows the very TTFT the log keeps.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from ato_desktop.core.timefmt import human_duration
from tests.fakes import FakeLLMServer, Scenario
from tests.test_cli import REPO, _env, run_cli


def _sdk_import_seconds(ato_home: Path) -> float:
    """How long a fresh interpreter takes to import the SDK now (the same machine, same load)."""
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-c", "import anthropic, httpx2"],
        env=_env(ato_home),
        cwd=REPO,
        check=True,
        timeout=120,
    )
    return time.monotonic() - started


def test_the_cli_summary_shows_the_stored_ttft_and_the_run_starts_when_the_sdk_is_ready(
    ato_home: Path, fake: FakeLLMServer
) -> None:
    fake.scenario = Scenario(chunks=("Four", "."), delay_s=0.3)
    added = run_cli(
        ato_home,
        *("agents", "add", "writer", "--runtime", "claude", "--model", "claude-sonnet-5"),
        *("--base-url", fake.anthropic_base_url),
    )
    assert added.returncode == 0, added.stderr

    done = run_cli(ato_home, "dispatch", "--agent", "writer", "What is 2+2?")

    assert done.returncode == 0, done.stderr
    run_id = done.stderr.splitlines()[0].split()[1]
    shown = run_cli(ato_home, "runs", "show", run_id, "--json")

    data = json.loads(shown.stdout)
    summary = done.stderr.splitlines()[-1]
    printed = re.search(r" · ttft (.+?) · ", summary)
    assert printed is not None, summary
    assert printed.group(1) == human_duration(round(data["ttft_ms"] * 1_000_000))
    assert data["actions"][0]["ttft_ms"] == data["ttft_ms"]
    # The run began once the SDK was ready: its start is close to the request's arrival, far
    # closer than an SDK import takes on this machine right now.
    started = datetime.fromisoformat(data["started_at"].replace("Z", "+00:00")).timestamp()
    gap = fake.requests[0].received_at - started
    assert gap < _sdk_import_seconds(ato_home) / 2, gap


def test_a_dispatch_killed_9_while_waiting_out_a_rate_limit_records_no_cost(
    ato_home: Path, fake: FakeLLMServer
) -> None:
    """Issue 15.14, across processes: the CLI waits out a 30 s Retry-After, is killed -9, and the
    next start marks the run interrupted with no usage and no cost (it never reached a model)."""
    fake.scenario = Scenario(status=429, retry_after="30")
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "ato_desktop", "dispatch", "--runtime", "claude"),
            *("--model", "claude-sonnet-5", "--base-url", fake.anthropic_base_url, "tell me"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(ato_home),
        cwd=REPO,
    )
    assert process.stderr is not None
    run_id = process.stderr.readline().split()[1]
    fake.wait_for_requests(1, timeout=60)
    time.sleep(0.5)  # the SDK is now asleep in its retry wait
    process.kill()
    process.wait(timeout=10)

    data = json.loads(run_cli(ato_home, "runs", "show", run_id, "--json").stdout)

    assert (data["status"], data["error_class"]) == ("interrupted", "interrupted")
    assert (data["cost_usd"], data["cost_source"]) == (None, None)
    (action,) = data["actions"]
    assert action["cost_usd"] is None and action["tokens"] is None
