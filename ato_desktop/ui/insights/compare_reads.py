"""What Compare reads from the log, as plain functions run on a reader thread (no Qt)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ato_desktop.core.compare import GroupComparison, RunComparison
from ato_desktop.core.records import AgentRecord, AgentVersionRecord, RunFilter, RunRecord
from ato_desktop.engine.compare import (
    around_version,
    by_runtime,
    comparable_agents,
    compare_groups,
    compare_runs,
)
from ato_desktop.store.execution_log import ExecutionLog

RECENT_RUNS = 200  # runs offered in the two-runs pickers
RUNTIME_SAMPLE = 500  # newest runs looked at to find the runtimes / models an agent ran on


@dataclass(frozen=True, slots=True)
class Target:
    """A runtime, optionally with a model, and how many of the sampled runs used it."""

    runtime: str
    model: str | None
    runs: int

    @property
    def label(self) -> str:
        return f"{self.runtime} · {self.model or 'any model'}"


@dataclass(frozen=True, slots=True)
class AgentChoices:
    """What can be picked for one agent: recent runs, config versions, runtimes / models."""

    agent: AgentRecord
    runs: list[RunRecord]
    versions: list[AgentVersionRecord]  # newest first
    targets: list[Target]  # most used first


def load_agents(store: ExecutionLog) -> list[AgentRecord]:
    return comparable_agents(store)


def load_choices(store: ExecutionLog, agent_id: str) -> AgentChoices:
    agent = store.get_agent(agent_id)
    runs = store.list_runs(RunFilter(agent_id=agent.id), limit=RUNTIME_SAMPLE)
    return AgentChoices(
        agent=agent,
        runs=runs[:RECENT_RUNS],
        versions=store.agent_history(agent.id),
        targets=runtime_targets(runs),
    )


def runtime_targets(runs: list[RunRecord]) -> list[Target]:
    """Each runtime / model pair the runs used, most used first; and each runtime alone when
    the runs used more than one model on it."""
    pairs = Counter((run.runtime, run.model) for run in runs if run.status != "running")
    per_runtime: Counter[str] = Counter()
    models: dict[str, int] = {}
    for (runtime, _model), count in pairs.items():
        per_runtime[runtime] += count
        models[runtime] = models.get(runtime, 0) + 1
    targets = [Target(r, None, n) for r, n in per_runtime.items() if models[r] > 1]
    targets.extend(Target(r, m, n) for (r, m), n in pairs.items())
    targets.sort(key=lambda t: (-t.runs, t.runtime, t.model is not None, t.model or ""))
    return targets


def run_agent(store: ExecutionLog, run_text: str) -> tuple[str, str | None]:
    """A run's full id and its agent's id (None for a run without an agent)."""
    run = store.get_run(store.resolve_run_id(run_text))
    return run.id, run.agent_id


def two_runs(store: ExecutionLog, run_a: str, run_b: str) -> RunComparison:
    return compare_runs(store, run_a, run_b)


def around_change(store: ExecutionLog, agent_id: str, version: int | None) -> GroupComparison:
    before, after = around_version(store, agent_id, version)
    return compare_groups(store, before, after)


def runtime_vs_runtime(store: ExecutionLog, agent_id: str, a: Target, b: Target) -> GroupComparison:
    left, right = by_runtime(
        store, agent_id, a.runtime, b.runtime, model_a=a.model, model_b=b.model
    )
    return compare_groups(store, left, right)
