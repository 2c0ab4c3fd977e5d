"""The demo workspace: a month of realistic agent runs, deterministic for a seed, clearly marked.

`build_demo_workspace` writes it, `remove_demo_workspace` takes it out again. Every row is marked
`is_demo`; ids, timestamps, prompts, tokens and outcomes all come from RNGs seeded by the seed,
and the month ends at a fixed "now" (the caller's, or the current hour), so the same seed and
the same now give the very same rows, ids included.

What is in it:

* five agents on the three runtimes (claude-sonnet-5, claude-haiku-4-5, gpt-5, gpt-5-mini and
  llama3.1:8b / qwen2.5:14b on an OpenAI-compatible server at http://localhost:11434/v1), each
  created before the month, four of them changed during it;
* ONE change that made an agent worse: `support-triage` version 3 (a system prompt rewrite that
  asks for exhaustive answers, with max_tokens raised from 1024 to 8192). After it the agent makes
  more tool calls and longer answers: failures rise from about 4% to about 25% (timeouts, rate
  limits, stalls, prompts too long), the median run takes 3.5 times as long (p95: 17 s -> 5
  min) and costs almost twice as much. Every other change is harmless or better (code-reviewer
  moves to gpt-5-mini: half the latency, a fifth of the cost);
* runs over 30 days with a working-hours rhythm, agent loops (call_llm turns and search_docs /
  read_file / run_sql / lookup_ticket / git_log tools with JSON inputs and outputs), every failure
  class (auth, rate_limit, timeout, stalled, stream_interrupted, server_error, bad_request, and
  network for the local server), killed and interrupted runs, costs from the PriceBook
  (estimated; unknown for the unpriced local model), a 90-minute burst of auth failures on the
  codex runtime (a rotated key), weekday cron runs, git-hook runs, evals and replays;
* chat threads with messages, linked to their runs (run.thread_id, message.run_id).

With `actions` given (the benchmark workspace: 1,000,000 runs and 10,000,000 actions), agent
runs make longer tool loops so the whole log holds about that many actions; each version keeps
its own habits (the regressed version still calls more tools than the others).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass

from ato_desktop.core.pricing import PriceBook
from ato_desktop.engine.demo_corpus import REGRESSED_AGENT
from ato_desktop.engine.demo_generator import (
    DEFAULT_RUNS,
    DEFAULT_SEED,
    DemoGenerator,
    RunItem,
    demo_now_ms,
)
from ato_desktop.store.demo_data import (
    DemoCounts,
    agent_names,
    has_demo_data,
    remove_demo_data,
    write_catalog,
)
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.insights_queries import fold_run_rollups

__all__ = [
    "DEFAULT_RUNS",
    "DEFAULT_SEED",
    "GENERATOR_VERSION",
    "MAX_ACTIONS_PER_RUN",
    "MAX_RUNS",
    "MIN_RUNS",
    "REGRESSED_AGENT",
    "DemoCancelledError",
    "DemoExistsError",
    "DemoGenerator",
    "DemoSummary",
    "build_demo_workspace",
    "check_actions",
    "demo_now_ms",
    "remove_demo_workspace",
]

MIN_RUNS = 100
MAX_RUNS = 10_000_000
MAX_ACTIONS_PER_RUN = 40
"""The most actions per run `actions` may ask for on average (a tool loop that long is rare)."""
GENERATOR_VERSION = 3
"""Bumped whenever the same seed and sizes would give different rows (caches key on it)."""
BATCH_RUNS = 2_000
"""Runs per ingest job; at most two jobs are in flight, so memory stays bounded at any size."""

Progress = Callable[[int, int], None]


class DemoExistsError(Exception):
    """The log already holds a demo workspace."""


class DemoCancelledError(Exception):
    """The build was cancelled; whatever it had written was removed again."""


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What a build wrote."""

    runs: int
    actions: int
    agents: int
    threads: int
    messages: int
    seed: int
    start_ms: int
    end_ms: int
    seconds: float


def build_demo_workspace(
    store: ExecutionLog,
    prices: PriceBook,
    *,
    runs: int = DEFAULT_RUNS,
    actions: int | None = None,
    seed: int = DEFAULT_SEED,
    now_ms: int | None = None,
    batch_runs: int = BATCH_RUNS,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> DemoSummary:
    """Write the demo workspace; blocks, so call it from a worker thread (or the CLI).

    runs: how many runs (MIN_RUNS..MAX_RUNS), ending at demo_now_ms(now_ms) and starting 30 days
    before. actions: about how many actions in all (runs..runs * MAX_ACTIONS_PER_RUN; default:
    what the agents' usual loops give, about 3.4 a run). They stream through `store.ingest` in
    batches of batch_runs with at most two batches in flight, so a million runs need no more
    memory than two thousand. progress(done, total)
    is called from this thread after each batch commits. Raises DemoExistsError when demo data
    is already there, and DemoCancelledError when cancel is set (the partial demo is removed).
    """
    if not MIN_RUNS <= runs <= MAX_RUNS:
        raise ValueError(f"the demo workspace has {MIN_RUNS:,} to {MAX_RUNS:,} runs, not {runs:,}")
    check_actions(runs, actions)
    if has_demo_data(store):
        raise DemoExistsError(
            "The demo workspace is already loaded. Remove it first "
            "(`ato-desktop demo --remove`, or Remove demo data in the app)."
        )
    started = time.perf_counter()
    generator = DemoGenerator(
        prices,
        runs=runs,
        actions=actions,
        seed=seed,
        now_ms=demo_now_ms(now_ms),
        taken_names=agent_names(store),
    )
    catalog = generator.catalog()
    write_catalog(store, catalog).result()
    if progress is not None:
        progress(0, runs)
    done = actions = 0
    pending: list[tuple[Future[int], int, int]] = []
    try:
        for batch in _batches(generator.runs(), batch_runs):
            if cancel is not None and cancel.is_set():
                raise DemoCancelledError("the demo build was cancelled")
            pending.append((store.ingest(batch), len(batch), sum(len(a) for _, _, a in batch)))
            del batch  # the writer holds the only reference now
            if len(pending) >= 2:
                done, actions = _settle(pending.pop(0), done, actions, runs, progress)
        while pending:
            done, actions = _settle(pending.pop(0), done, actions, runs, progress)
    except BaseException:
        for future, _, _ in pending:
            future.cancel()
        for future, _, _ in pending:
            if not future.cancelled():
                future.exception()  # wait: removal must see every committed batch
        remove_demo_data(store)
        raise
    fold_run_rollups(store)  # the month's runs into the rollups Insights reads
    return DemoSummary(
        runs=done,
        actions=actions,
        agents=len(catalog.agents),
        threads=len(catalog.threads),
        messages=sum(len(t.messages) for t in catalog.threads),
        seed=seed,
        start_ms=generator.start_ms,
        end_ms=generator.end_ms,
        seconds=time.perf_counter() - started,
    )


def check_actions(runs: int, actions: int | None) -> None:
    """Raise ValueError unless actions is None or within runs..runs * MAX_ACTIONS_PER_RUN."""
    if actions is not None and not runs <= actions <= runs * MAX_ACTIONS_PER_RUN:
        raise ValueError(
            f"{runs:,} demo runs hold {runs:,} to {runs * MAX_ACTIONS_PER_RUN:,} actions, "
            f"not {actions:,}"
        )


def _settle(
    item: tuple[Future[int], int, int],
    done: int,
    actions: int,
    total: int,
    progress: Progress | None,
) -> tuple[int, int]:
    future, _count, action_count = item
    done += future.result()
    actions += action_count
    if progress is not None:
        progress(done, total)
    return done, actions


def _batches(items: Iterator[RunItem], size: int) -> Iterator[list[RunItem]]:
    while True:
        batch = list(itertools.islice(items, size))
        if not batch:
            return
        yield batch


def remove_demo_workspace(
    store: ExecutionLog, *, progress: Progress | None = None, cancel: threading.Event | None = None
) -> DemoCounts:
    """Remove every demo row (runs with their actions, agents, threads); returns the counts.

    Blocks: call it from a worker thread. Rows that are not demo stay.
    """
    return remove_demo_data(store, progress=progress, cancel=cancel)
