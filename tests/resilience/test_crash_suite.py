"""kill -9 at random moments during 50 concurrent streaming dispatches, over many iterations.

After every kill the workspace is reopened the way the app opens it (start-up recovery marks the
dead process's runs interrupted) and checked: `PRAGMA integrity_check` is ok; every run the worker
reported ended is there with the same row and actions (same digest); no run is left `running`;
every other run is interrupted, or completed with its whole output (its completion committed
just before the kill, in the window before the worker could report it); every ended run of the
synced agent, and no other, is in the sync outbox. The reported runs of all earlier iterations
are checked again after each kill.

`make test` runs a few iterations; ATO_CRASH_ITERATIONS=200 runs the deep suite (see
docs/resilience.md). ATO_CRASH_SEED replays a sequence of kill moments.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keyring
import pytest

from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.paths import DataPaths
from tests.fakes import FakeLLMServer, Scenario
from tests.resilience.crash_worker import (
    KILL_POINTS,
    LOCAL_AGENT,
    SYNCED_AGENT,
    prepare,
    run_digest,
)
from tests.support.memory_keyring import MemoryKeyring

# The worker forks (a warmed-up zygote) and is killed with SIGKILL: POSIX, and macOS's
# frameworks do not survive fork after import, so Linux.
pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="forks a worker and SIGKILLs it (Linux)"
)
REPO_ROOT = Path(__file__).resolve().parents[2]
ITERATIONS = int(os.environ.get("ATO_CRASH_ITERATIONS", "4"))
# Kills land anywhere from the fork (the workspace opening, recovering the last iteration's
# runs) to a couple of seconds of 50 dispatches streaming, completing and starting.
KILL_AFTER_S = (0.05, 2.0)
CHUNKS = tuple(f"word{i} " for i in range(8))
ANSWER = "".join(CHUNKS)


@dataclass
class CrashStats:
    iterations: int = 0
    kills: int = 0
    kills_before_open: int = 0
    reported: int = 0
    # Completed in the log but not reported: the kill landed between the commit that ended
    # the run (and queued it in the outbox, same transaction) and the worker's report.
    completed_unreported: int = 0
    interrupted: int = 0
    lost: int = 0
    # Kills that landed after a completion committed and before the worker reported it.
    kills_after_commit_before_report: int = 0
    kill_points: Counter[str] = field(default_factory=Counter)


@dataclass
class CrashEnv:
    """One worker and one workspace for the module: both tests add kills to the same log, and
    every run reported by either is checked again after every later kill."""

    zygote: subprocess.Popen[str]
    home: Path
    reported: dict[str, dict[str, Any]] = field(default_factory=dict)
    completed_unreported: set[str] = field(default_factory=set)
    interrupted: set[str] = field(default_factory=set)


@pytest.fixture(scope="module")
def crash_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrashEnv]:
    home = tmp_path_factory.mktemp("crash-home")
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())  # the module fixture runs outside the per-test one
    try:
        with FakeLLMServer() as fake:
            fake.scenario = Scenario(chunks=CHUNKS, delay_s=0.03)
            prepare(home, fake.anthropic_base_url)
            env = {
                **_one_ca_certificate(tmp_path_factory.mktemp("crash-ca")),
                "ATO_HOME": str(home),
                "NO_PROXY": "127.0.0.1,localhost",
                "ANTHROPIC_API_KEY": "sk-ant-crash-suite-not-a-real-key",
                "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            }
            command = [sys.executable, "-m", "tests.resilience.crash_worker", str(home)]
            process = subprocess.Popen(
                [*command, fake.anthropic_base_url],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=env,
                cwd=REPO_ROOT,
            )
            try:
                assert process.stdout is not None
                first = process.stdout.readline().strip()
                assert first == "ready", f"the crash worker did not start: {first!r}"
                yield CrashEnv(process, home)
            finally:
                if process.stdin is not None:
                    process.stdin.close()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
    finally:
        keyring.set_keyring(previous)


def _one_ca_certificate(tmp_path: Path) -> dict[str, str]:
    """SSL_CERT_FILE with one CA certificate: the SDK builds a TLS context per client even for
    http://127.0.0.1, and parsing the system's whole bundle 50 times on the event loop (about
    3 s here) would leave most kills landing before any dispatch could finish."""
    import ssl

    bundle = Path(ssl.get_default_verify_paths().openssl_cafile)
    for candidate in (bundle, Path("/etc/ssl/certs/ca-certificates.crt")):
        if candidate.is_file():
            text = candidate.read_text(encoding="ascii", errors="replace")
            end = "-----END CERTIFICATE-----"
            start = text.find("-----BEGIN CERTIFICATE-----")
            if start >= 0 and end in text:
                one = tmp_path / "one-ca.pem"
                one.write_text(text[start : text.index(end) + len(end)] + "\n")
                return {**os.environ, "SSL_CERT_FILE": str(one)}
    return dict(os.environ)


def test_kill_9_at_random_moments_loses_nothing(crash_env: CrashEnv, tmp_path: Path) -> None:
    seed = int(os.environ.get("ATO_CRASH_SEED") or random.SystemRandom().randrange(2**32))
    print(f"\ncrash suite: seed {seed} (ATO_CRASH_SEED={seed} replays it), {ITERATIONS} kills")
    rng = random.Random(seed)
    reported = crash_env.reported
    stats = CrashStats()
    for iteration in range(ITERATIONS):
        context = f"seed {seed}, iteration {iteration}"
        lines = run_child(
            crash_env.zygote, tmp_path / f"{iteration}.jsonl", rng.uniform(*KILL_AFTER_S)
        )
        record(lines, reported, stats, context)
        check_workspace(crash_env, stats, context)
    print(f"crash suite: {stats}")
    assert stats.lost == 0
    assert stats.kills == ITERATIONS


def test_kill_9_inside_the_transaction_that_ends_a_run(crash_env: CrashEnv, tmp_path: Path) -> None:
    """The worker kills itself before the UPDATE ending its Nth run, inside it (the outbox
    trigger starting), before its COMMIT and just after it: the run is either ended and queued,
    or interrupted (and queued by the recovery that ends it), never ended without its entry."""
    seed = int(os.environ.get("ATO_CRASH_SEED") or random.SystemRandom().randrange(2**32))
    iterations = max(len(KILL_POINTS), ITERATIONS // 2)
    print(f"\ncrash suite (in the transaction): seed {seed}, {iterations} kills")
    rng = random.Random(seed)
    reported = crash_env.reported
    stats = CrashStats()
    for iteration in range(iterations):
        point = KILL_POINTS[iteration % len(KILL_POINTS)]
        nth = rng.randint(1, 40)
        context = f"seed {seed}, iteration {iteration}, kill at {point} of run {nth}"
        lines = run_child(crash_env.zygote, tmp_path / f"{iteration}.jsonl", None, f"{point} {nth}")
        assert [line["at"] for line in lines if line["event"] == "self-kill"] == [point], context
        record(lines, reported, stats, context)
        check_workspace(crash_env, stats, context)
        stats.kill_points[point] += 1
    print(f"crash suite (in the transaction): {stats}")
    assert stats.lost == 0
    assert sum(stats.kill_points.values()) == iterations


def run_child(
    zygote: subprocess.Popen[str], out: Path, kill_after_s: float | None, kill_at: str = ""
) -> list[dict[str, Any]]:
    """Fork a worker child; SIGKILL it after kill_after_s (or let it kill itself at kill_at)."""
    assert zygote.stdin is not None and zygote.stdout is not None
    zygote.stdin.write(f"run {out} {kill_at}\n")
    zygote.stdin.flush()
    pid = int(zygote.stdout.readline().split()[1])
    if kill_after_s is not None:
        # The random moment of the kill is the point of the test: a sleep, seeded.
        time.sleep(kill_after_s)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _, exited_pid, status = zygote.stdout.readline().split()
    assert int(exited_pid) == pid
    lines = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    errors = [line for line in lines if line["event"] == "error"]
    assert not errors, f"the worker failed: {errors}"
    assert os.WIFSIGNALED(int(status)), "the worker ended before the kill"
    assert os.WTERMSIG(int(status)) == signal.SIGKILL
    return lines


def record(
    lines: list[dict[str, Any]],
    reported: dict[str, dict[str, Any]],
    stats: CrashStats,
    context: str,
) -> None:
    stats.iterations += 1
    stats.kills += 1
    if not any(line["event"] == "opened" for line in lines):
        stats.kills_before_open += 1
    for line in lines:
        if line["event"] == "ended":
            assert line["run_id"] not in reported, context
            reported[line["run_id"]] = line
            stats.reported += 1


def check_workspace(env: CrashEnv, stats: CrashStats, context: str) -> None:
    """Reopen as the app does (recovery included) and check everything the brief promises."""
    reported = env.reported
    ws = Workspace.open(DataPaths(env.home))
    try:
        check = sqlite3.connect(str(ws.paths.database))
        try:
            assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)], context
            agents = dict(check.execute("SELECT name, id FROM agents").fetchall())
            runs = check.execute("SELECT id, status, agent_id FROM runs").fetchall()
            outbox = {row[0] for row in check.execute("SELECT run_id FROM sync_outbox")}
        finally:
            check.close()
        by_id = {run_id: (status, agent_id) for run_id, status, agent_id in runs}
        assert not [r for r in runs if r[1] == "running"], f"{context}: runs left running"
        for run_id, line in reported.items():
            if run_id not in by_id:
                stats.lost += 1
                pytest.fail(f"{context}: reported run {run_id} is missing")
            assert by_id[run_id][0] == line["status"], f"{context}: {run_id} changed status"
            if run_digest(ws.store, run_id) != line["digest"]:
                stats.lost += 1
                pytest.fail(f"{context}: reported run {run_id} changed after the kill")
        completed_unreported: set[str] = set()
        interrupted: set[str] = set()
        for run_id, (status, _agent) in by_id.items():
            actions = ws.store.get_actions(run_id)
            run = ws.store.get_run(run_id)
            assert run.action_count == len(actions), f"{context}: {run_id} aggregates"
            if status == "completed":
                # Whole output, one priced call: what the fake streamed, nothing half-written.
                assert [a.outputs["text"] for a in actions] == [ANSWER], f"{context}: {run_id}"
                assert run.cost_usd is not None, f"{context}: {run_id} lost its cost"
                if run_id not in reported:
                    completed_unreported.add(run_id)
            else:
                assert status == "interrupted", f"{context}: {run_id} is {status}"
                interrupted.add(run_id)
                partial = run.partial_output or ""
                assert ANSWER.startswith(partial), f"{context}: {run_id} partial output"
        synced_ended = {
            run_id for run_id, (_s, agent) in by_id.items() if agent == agents[SYNCED_AGENT]
        }
        local_ended = {
            run_id for run_id, (_s, agent) in by_id.items() if agent == agents[LOCAL_AGENT]
        }
        missing = synced_ended - outbox
        assert not missing, f"{context}: ended runs of the synced agent not queued: {missing}"
        assert not (outbox & local_ended), f"{context}: runs of an unsynced agent queued"
        # This iteration's kill is the only one that can have added runs to either set.
        new_unreported = completed_unreported - env.completed_unreported
        if new_unreported:
            stats.kills_after_commit_before_report += 1
        stats.completed_unreported += len(new_unreported)
        stats.interrupted += len(interrupted - env.interrupted)
        env.completed_unreported |= new_unreported
        env.interrupted |= interrupted
    finally:
        ws.close()
