"""The demo workspace: a month of realistic agent runs, deterministic for a seed, clearly marked.

`build_demo_workspace` writes it, `remove_demo_workspace` takes it out again. Every row is marked
`is_demo`; ids, timestamps, prompts, tokens and outcomes all come from RNGs seeded by the seed,
and the month ends at a fixed "now" (the caller's, or the current hour), so the same seed and
the same now give the very same rows, ids included. What the rows say comes from
`engine.demo_corpus` (the cast and its words), `engine.demo_generator` (agents, chats and the
month's runs) and `engine.demo_automations` (automations, evals and cost evidence); this module
writes them, through the store functions the app itself uses.

What is in it:

* five agents on the three runtimes (claude-sonnet-5, claude-haiku-4-5, gpt-5, gpt-5-mini and
  llama3.1:8b / qwen2.5:14b on an OpenAI-compatible server at http://localhost:11434/v1), each
  created before the month, four of them changed during it;
* ONE change that made an agent worse: `support-triage` version 3 (a system prompt rewrite that
  asks for exhaustive answers, with max_tokens raised from 1024 to 8192). After it the agent makes
  more tool calls and longer answers: failures rise from about 4% to about 25% (timeouts, rate
  limits, stalls, prompts too long), the median run takes 3.5 times as long (p95: 17 s -> 5
  min) and costs almost twice as much; its eval suite's pass rate drops too. Every other change
  is harmless or better (code-reviewer moves to gpt-5-mini: half the latency, a fifth of the
  cost);
* runs over 30 days with a working-hours rhythm, agent loops (call_llm turns and search_docs /
  read_file / run_sql / lookup_ticket / git_log tools, recorded as the dispatcher records them),
  every failure class (auth, rate_limit, timeout, stalled, stream_interrupted, server_error,
  bad_request, and network for the local server), killed and interrupted runs, costs from the
  PriceBook (estimated; unknown for the unpriced local model), a 90-minute burst of auth failures
  on the codex runtime (a rotated key), git-hook runs and replays;
* chat threads with messages, linked to their runs (run.thread_id, message.run_id);
* groups, a skill flow, schedules and hooks with their pipeline runs and hook chains, eval suites
  with their reports, and the evidence behind a cost recommendation (engine.demo_automations).

With `actions` given (the benchmark workspace: 1,000,000 runs and 10,000,000 actions), agent
runs make longer tool loops so the whole log holds about that many actions; each version keeps
its own habits (the regressed version still calls more tools than the others).
"""

from __future__ import annotations

import itertools
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from ato_desktop.core.pricing import PriceBook
from ato_desktop.engine.automations import AutomationService
from ato_desktop.engine.demo_automations import DemoGenerator
from ato_desktop.engine.demo_corpus import REGRESSED_AGENT
from ato_desktop.engine.demo_generator import (
    DEFAULT_RUNS,
    DEFAULT_SEED,
    RunItem,
    demo_now_ms,
)
from ato_desktop.store import automations as automation_store
from ato_desktop.store import evals as eval_store
from ato_desktop.store.demo_data import (
    BuildClaim,
    DemoBusyError,
    DemoCounts,
    DemoExistsError,
    agent_names,
    claim_build,
    finish_build,
    remove_demo_data,
    write_catalog,
)
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.insights_queries import fold_run_rollups
from ato_desktop.store.paths import DataPaths
from ato_desktop.store.process_lease import ProcessLease

__all__ = [
    "DEFAULT_RUNS",
    "DEFAULT_SEED",
    "GENERATOR_VERSION",
    "MAX_ACTIONS_PER_RUN",
    "MAX_RUNS",
    "MIN_RUNS",
    "REGRESSED_AGENT",
    "DemoBusyError",
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
Phase = Callable[[str], None]
DEMO_FOLDER = "demo"
"""The folder beside the log for the demo's files (its skill flow's Markdown)."""


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
    automations: int = 0
    eval_suites: int = 0
    eval_runs: int = 0
    resumed: bool = False  # a build killed half-way was found and cleaned up first


def demo_folder(paths: DataPaths) -> Path:
    return paths.root / DEMO_FOLDER


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
    phase: Phase | None = None,
) -> DemoSummary:
    """Write the demo workspace; blocks, so call it from a worker thread (or the CLI).

    runs: how many runs (MIN_RUNS..MAX_RUNS), ending at demo_now_ms(now_ms) and starting 30 days
    before. actions: about how many actions in all (runs..runs * MAX_ACTIONS_PER_RUN; default:
    what the agents' usual loops give, about 3.4 a run). They stream through `store.ingest` in
    batches of batch_runs with at most two batches in flight, so a million runs need no more
    memory than two thousand. progress(done, total) is called from this thread after each batch
    commits; phase(text) as each step starts ("writing the runs"...).

    The build is claimed in the log first, under this process's lease: a build that was killed
    half-way (kill -9, power loss) is found by the next one, which removes what it wrote and
    builds afresh. Raises DemoExistsError when a demo is loaded, DemoBusyError (a
    DemoExistsError) while another live process builds one, and DemoCancelledError when cancel
    is set (the partial demo is removed).
    """
    if not MIN_RUNS <= runs <= MAX_RUNS:
        raise ValueError(f"the demo workspace has {MIN_RUNS:,} to {MAX_RUNS:,} runs, not {runs:,}")
    check_actions(runs, actions)
    lease = ProcessLease(store.paths.leases_dir)
    try:
        claim = claim_build(store, lease.token, seed=seed, runs=runs).result()
        return _build(
            store,
            prices,
            lease.token,
            claim,
            runs=runs,
            actions=actions,
            seed=seed,
            now_ms=now_ms,
            batch_runs=batch_runs,
            progress=progress,
            cancel=cancel,
            phase=phase or (lambda _text: None),
        )
    finally:
        lease.release()


def _build(
    store: ExecutionLog,
    prices: PriceBook,
    owner: str,
    claim: BuildClaim,
    *,
    runs: int,
    actions: int | None,
    seed: int,
    now_ms: int | None,
    batch_runs: int,
    progress: Progress | None,
    cancel: threading.Event | None,
    phase: Phase,
) -> DemoSummary:
    started = time.perf_counter()
    folder = demo_folder(store.paths)
    if claim is BuildClaim.RECLAIMED:
        phase("removing what an interrupted demo build left")
        remove_demo_data(store, owner=owner, keep_build=True)
        shutil.rmtree(folder, ignore_errors=True)
    phase("planning the month")
    generator = DemoGenerator(
        prices,
        runs=runs,
        actions=actions,
        seed=seed,
        now_ms=demo_now_ms(now_ms),
        taken_names=agent_names(store),
        taken_automations={
            (r.kind.value, r.name) for r in automation_store.list_definitions(store)
        },
        taken_suites={s.name for s in eval_store.list_suites(store, limit=100_000)},
        skill_dir=str(folder / "skills"),
    )
    catalog = generator.catalog()
    done = actions = 0
    pending: list[tuple[Future[int], int, int]] = []
    try:
        phase("writing the agents, chats and automations")
        write_catalog(store, catalog).result()
        _write_definitions(store, generator)
        if progress is not None:
            progress(0, runs)
        phase("writing the runs")
        for batch in _batches(generator.runs(), batch_runs):
            if cancel is not None and cancel.is_set():
                raise DemoCancelledError("the demo build was cancelled")
            pending.append((store.ingest(batch), len(batch), sum(len(a) for _, _, a in batch)))
            del batch  # the writer holds the only reference now
            if len(pending) >= 2:
                done, actions = _settle(pending.pop(0), done, actions, runs, progress)
        while pending:
            done, actions = _settle(pending.pop(0), done, actions, runs, progress)
        phase("writing the eval reports and schedule progress")
        eval_runs = _write_evals(store, generator)
        for state in generator.schedule_states():
            automation_store.set_schedule_state(
                store,
                state.automation_id,
                state.last_fire_at,
                last_run_id=state.last_run_id,
                note=state.note,
            ).result()
        phase("rolling up the month for Insights")
        fold_run_rollups(store)  # the month's runs into the rollups Insights reads
        finish_build(store, owner).result()
    except BaseException:
        for future, _, _ in pending:
            future.cancel()
        for future, _, _ in pending:
            if not future.cancelled():
                future.exception()  # wait: removal must see every committed batch
        remove_demo_data(store, owner=owner)
        shutil.rmtree(folder, ignore_errors=True)
        raise
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
        automations=len(generator.definitions()),
        eval_suites=len(generator.suites()),
        eval_runs=eval_runs,
        resumed=claim is BuildClaim.RECLAIMED,
    )


def _write_definitions(store: ExecutionLog, generator: DemoGenerator) -> None:
    """The groups, skill flow, schedules and hooks, through the store functions the CLI uses
    after the same validation (names checked against the log, hooks checked for loops).
    Schedules and hooks are created paused: the demo never dispatches on its own."""
    skill_file = Path(generator.skill_file)
    skill_file.parent.mkdir(parents=True, exist_ok=True)
    skill_file.write_text(generator.skill_text, encoding="utf-8")
    service = AutomationService(store)
    for definition in generator.definitions():
        spec = service.validate(definition.kind, definition.spec, name=definition.name)
        automation_store.create_definition(
            store,
            definition.kind,
            definition.name,
            spec,
            source="demo",
            enabled=not definition.paused,
            at_ms=definition.created_at,
            is_demo=True,
            ids=(definition.id, definition.version_id),
        ).result()


def _write_evals(store: ExecutionLog, generator: DemoGenerator) -> int:
    """Each suite run as engine.evals.run_suite records it: the suite (saved at every run), the
    run, its cases, its figures. After the runs: case rows point at them."""
    written = 0
    last: Future[None] | None = None
    for demo_suite in generator.suites():
        for run in demo_suite.runs:
            eval_store.save_suite(
                store,
                demo_suite.suite,
                demo_suite.text,
                at_ms=run.new.started_at,
                is_demo=True,
                suite_id=demo_suite.id,
            )
            eval_store.start_suite_run(store, run.new)
            for outcome in run.outcomes:
                eval_store.record_case(store, run.new.id or "", outcome)
            last = eval_store.finish_suite_run(
                store,
                run.new.id or "",
                "completed",
                run.figures,
                run.details,
                ended_at=run.ended_at,
            )
            written += 1
    if last is not None:
        last.result()  # the writer runs jobs in order: every one before it is done
    return written


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
    """Remove every demo row (runs with their actions and the simulations of them, agents,
    threads, automations, eval suites) and the demo's files; returns the counts.

    Blocks: call it from a worker thread. Rows that are not demo stay. Raises DemoBusyError
    while another process is building the demo.
    """
    removed = remove_demo_data(store, progress=progress, cancel=cancel)
    if cancel is None or not cancel.is_set():
        shutil.rmtree(demo_folder(store.paths), ignore_errors=True)
    return removed
