"""Determinism analysis over the execution log: a run, or an agent over its recent history.

The rules are in `core.determinism`; this module decides which runs to read, with bounded
work on any size of log. Runs are found through the runs indexes (keyset pages, `list_runs`),
never by scanning; each run read is reduced at once to a digest (its findings and fingerprints),
so memory holds digests, not conversations. Calls are synchronous reads on the caller's thread:
from async code run them with `ExecutionLog.read_async`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from ato_desktop.core.determinism import (
    DeterminismReport,
    RunDigest,
    agent_report,
    digest_run,
    run_report,
    with_json_lines,
)
from ato_desktop.core.records import RunCursor, RunFilter, RunRecord
from ato_desktop.core.simulation import is_simulation
from ato_desktop.store.execution_log import ExecutionLog

SCAN_FACTOR = 4
"""A run's analysis reads at most this many times history_runs other runs while it looks for
runs that share identical action inputs."""
MAX_AGENT_RUNS = 2_000
"""The most runs an agent's analysis reads, whatever is asked."""
MAX_ACTIONS = 100_000
"""The most actions one analysis reads (runs beyond it are left out, and the report says so)."""
_PAGE = 100


def analyse_run(store: ExecutionLog, run_id: str, *, history_runs: int = 50) -> DeterminismReport:
    """A run's determinism report: its own patterns, plus variation against up to history_runs
    other runs of the same agent that share identical action inputs with it.

    Other runs are looked for among the agent's newest runs since this one, then among the runs
    before it (newest first), reading at most SCAN_FACTOR x history_runs runs. A run without an
    agent is compared with the newest runs of the log: only identical inputs are compared, and
    a model call's inputs include its runtime, model and whole conversation.
    """
    run = store.get_run(store.resolve_run_id(run_id))
    actions = store.get_actions(run.id)
    target = digest_run(run.id, actions, run.started_at)
    wanted = target.input_keys
    history: list[RunDigest] = []
    truncated = False
    if wanted and history_runs > 0:
        budget_runs = history_runs * SCAN_FACTOR
        budget_actions = MAX_ACTIONS
        for other in _neighbours(store, run, history_runs):
            if len(history) >= history_runs:
                break
            if budget_runs <= 0 or other.action_count > budget_actions:
                truncated = True
                break
            budget_runs -= 1
            budget_actions -= other.action_count
            digest = digest_run(other.id, store.get_actions(other.id), other.started_at)
            if digest.input_keys & wanted:
                history.append(digest)
    report = run_report(target, history, agent_id=run.agent_id, truncated=truncated)
    return replace(report, findings=tuple(with_json_lines(report.findings, actions)))


def analyse_agent(store: ExecutionLog, agent: str, *, runs: int = 200) -> DeterminismReport:
    """An agent's determinism report over its most recent runs (at most MAX_AGENT_RUNS, and at
    most MAX_ACTIONS actions): each run scored on its own patterns and its variation against
    the others, the agent's score their mean, with per-action-name statistics."""
    record = store.get_agent(agent)
    limit = max(0, min(runs, MAX_AGENT_RUNS))
    digests: list[RunDigest] = []
    budget_actions = MAX_ACTIONS
    truncated = False
    for run in _pages(store, RunFilter(agent_id=record.id), after=None, limit=None):
        if is_simulation(run.tags):
            continue  # a recording answered again: not the agent's own behaviour
        if len(digests) >= limit or run.action_count > budget_actions:
            truncated = True
            break
        budget_actions -= run.action_count
        digests.append(digest_run(run.id, store.get_actions(run.id), run.started_at))
    report = agent_report(record.name, digests, agent_id=record.id, truncated=truncated)
    # Where each finding's evidence sits: the actions of the runs it names (a few reads).
    located = list(report.findings)
    for run_id in dict.fromkeys(f.run_id for f in report.findings if f.json_line is None):
        located = with_json_lines(located, store.get_actions(run_id))
    return replace(report, findings=tuple(located))


def _neighbours(store: ExecutionLog, run: RunRecord, history_runs: int) -> Iterator[RunRecord]:
    """Other runs of the run's agent: the newest since it started (one page), then the ones
    before it, newest first (keyset pages from its own position)."""
    newer = store.list_runs(
        RunFilter(agent_id=run.agent_id, since_ms=run.started_at), limit=history_runs + 1
    )
    seen = {run.id}
    for other in newer:
        if other.id not in seen and not is_simulation(other.tags):
            seen.add(other.id)
            yield other
    cursor = RunCursor(run.started_at, run.id)
    for other in _pages(store, RunFilter(agent_id=run.agent_id), after=cursor, limit=None):
        if other.id not in seen and not is_simulation(other.tags):
            seen.add(other.id)
            yield other


def _pages(
    store: ExecutionLog, flt: RunFilter, *, after: RunCursor | None, limit: int | None
) -> Iterator[RunRecord]:
    """Matching runs newest first, a keyset page at a time, at most limit (None: until the
    caller stops)."""
    taken = 0
    while limit is None or taken < limit:
        size = _PAGE if limit is None else min(_PAGE, limit - taken)
        page = store.list_runs(flt, after=after, limit=size)
        yield from page
        taken += len(page)
        if len(page) < size:
            return
        after = RunCursor(page[-1].started_at, page[-1].id)
