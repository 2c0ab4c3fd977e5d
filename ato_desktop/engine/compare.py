"""Compare (Insights -> Compare): two runs of any agent, or two groups of its runs.

The comparing is core.compare's; this module reads what it needs from the execution log, with
bounded work on a log of any size:

- a group is at most `limit` runs, the newest that match, read as one index range on agent
  (or config version) and start time (store.compare_queries.group_runs);
- runtime and model, which no index covers, are checked per row within the agent's SCAN_CAP
  newest runs;
- group statistics read actions without their payloads, at most MAX_GROUP_ACTIONS per group;
- a run comparison aligns at most MAX_RUN_ACTIONS actions per run.

Everything here reads on the calling thread; async callers use `ExecutionLog.read_async`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ato_desktop.core.compare import (
    GroupComparison,
    RunComparison,
    build_group_comparison,
    build_run_comparison,
    group_stats,
)
from ato_desktop.core.records import ActionRecord, AgentRecord, RunFilter, RunRecord
from ato_desktop.core.regressions import CHANGE_SIDE_RUNS, change_side_text
from ato_desktop.core.timefmt import rfc3339
from ato_desktop.store.compare_queries import GroupRuns, action_facts, group_runs
from ato_desktop.store.execution_log import ExecutionLog, NotFoundError

MAX_RUN_ACTIONS = 2_000
MAX_GROUP_ACTIONS = 100_000
# Runs of an agent looked at, at most, to find a group by runtime or model (no index covers
# them): about 70 ms on a 1M-run log.
SCAN_CAP = 50_000


class CompareUnavailable(ValueError):
    """The comparison asked for cannot be made (say, the first version has no version before it)."""


@dataclass(frozen=True, slots=True)
class GroupSpec:
    """Which runs make a group: one agent's runs, narrowed by config version, a time range
    [since_ms, until_ms) and runtime / model. Runs still running are left out."""

    agent: str  # name or id
    version: int | None = None  # the config version number (v3 -> 3)
    since_ms: int | None = None
    until_ms: int | None = None
    runtime: str | None = None
    model: str | None = None
    label: str | None = None  # shown as the group's name; made from the filters when None
    # One side of a config change, counted as Regressions counts it (core.regressions): the
    # newest CHANGE_SIDE_RUNS production runs that completed or failed.
    change_side: bool = False

    def describe(self, agent_name: str | None = None) -> str:
        if self.label:
            return self.label
        parts = [agent_name] if agent_name else []
        if self.version is not None:
            parts.append(f"v{self.version}")
        parts.extend(p for p in (self.runtime, self.model) if p)
        if self.since_ms is not None:
            parts.append(f"from {_minute(self.since_ms)}")
        if self.until_ms is not None:
            parts.append(f"until {_minute(self.until_ms)}")
        return " · ".join(parts) or "all runs"


def compare_runs(
    store: ExecutionLog, run_a: str, run_b: str, *, max_actions: int = MAX_RUN_ACTIONS
) -> RunComparison:
    """Two runs side by side (ids, or unique prefixes / suffixes of at least 6 hex digits)."""
    notes: list[str] = []
    sides: list[tuple[RunRecord, list[ActionRecord]]] = []
    for side, text in (("left", run_a), ("right", run_b)):
        run = store.get_run(store.resolve_run_id(text))
        actions = store.get_actions(run.id)
        if len(actions) > max_actions:
            notes.append(
                f"The {side} run has {len(actions)} actions; the first {max_actions} are compared."
            )
            actions = actions[:max_actions]
        sides.append((run, actions))
    (left, left_actions), (right, right_actions) = sides
    return build_run_comparison(
        left, right, left_actions=left_actions, right_actions=right_actions, notes=notes
    )


def select_runs(store: ExecutionLog, spec: GroupSpec, *, limit: int = 500) -> GroupRuns:
    """The newest finished runs matching spec, at most limit of them (a side of a change:
    exactly the runs Regressions judges, CHANGE_SIDE_RUNS of them)."""
    agent = store.get_agent(spec.agent)
    return group_runs(
        store,
        agent_id=agent.id,
        version_id=_version_id(store, agent, spec.version) if spec.version is not None else None,
        since_ms=spec.since_ms,
        until_ms=spec.until_ms,
        runtime=spec.runtime,
        model=spec.model,
        limit=CHANGE_SIDE_RUNS if spec.change_side else limit,
        scan_cap=SCAN_CAP,
        change_side=spec.change_side,
    )


def compare_groups(
    store: ExecutionLog,
    left: GroupSpec,
    right: GroupSpec,
    *,
    limit: int = 500,
    max_actions: int = MAX_GROUP_ACTIONS,
) -> GroupComparison:
    """Two groups of runs: each one's stats (the newest `limit` matching runs) and the deltas."""
    notes: list[str] = []
    if left.change_side and right.change_side:
        notes.append(
            f"Runs before and after the change are {change_side_text()}, as Regressions "
            "counts them; success rate is completed / (completed + failed)."
        )
    stats = []
    for spec in (left, right):
        agent = store.get_agent(spec.agent)
        label = spec.describe(None if _same_agent(store, left, right) else agent.name)
        selection = select_runs(store, spec, limit=limit)
        if selection.limited and not spec.change_side:
            notes.append(f"{label}: the newest {limit} runs (older ones are left out).")
        if selection.capped:
            notes.append(f"{label}: only the agent's newest {SCAN_CAP} runs were looked at.")
        facts = action_facts(store, selection.runs, max_actions=max_actions)
        stats.append(group_stats(selection.runs, label=label, actions_by_run=facts))
    return build_group_comparison(stats[0], stats[1], notes=notes)


def around_version(
    store: ExecutionLog, agent: str, version: int | None = None
) -> tuple[GroupSpec, GroupSpec]:
    """Before vs after a config change: the runs of the version before `version` (default: the
    current one) and the runs of `version`, each side as Regressions counts it (the same n and
    rates for the same change)."""
    record = store.get_agent(agent)
    target = record.current_version if version is None else version
    numbers = sorted(v.version for v in store.agent_history(record.id))
    if target not in numbers:
        raise CompareUnavailable(
            f"{record.name} has no version {target} (it has v{numbers[0]}..v{numbers[-1]})."
        )
    earlier = [n for n in numbers if n < target]
    if not earlier:
        raise CompareUnavailable(
            f"v{target} is {record.name}'s first version: there is nothing before it to compare."
        )
    return (
        GroupSpec(record.id, version=earlier[-1], label=f"v{earlier[-1]}", change_side=True),
        GroupSpec(record.id, version=target, label=f"v{target}", change_side=True),
    )


def by_runtime(
    store: ExecutionLog,
    agent: str,
    runtime_a: str,
    runtime_b: str,
    *,
    model_a: str | None = None,
    model_b: str | None = None,
    since_ms: int | None = None,
) -> tuple[GroupSpec, GroupSpec]:
    """Runtime A vs runtime B (optionally each with a model) for one agent's runs."""
    if (runtime_a, model_a) == (runtime_b, model_b):
        raise CompareUnavailable("Both groups would be the same runs: pick two runtimes or models.")
    record = store.get_agent(agent)
    return (
        GroupSpec(record.id, runtime=runtime_a, model=model_a, since_ms=since_ms),
        GroupSpec(record.id, runtime=runtime_b, model=model_b, since_ms=since_ms),
    )


def comparable_agents(store: ExecutionLog) -> list[AgentRecord]:
    """Agents with at least two runs (one two-row index probe per agent)."""
    return [
        agent
        for agent in store.list_agents()
        if len(store.list_runs(RunFilter(agent_id=agent.id), limit=2)) >= 2
    ]


def _version_id(store: ExecutionLog, agent: AgentRecord, version: int) -> str:
    if version == agent.current_version:
        return agent.current_version_id
    for record in store.agent_history(agent.id):
        if record.version == version:
            return record.id
    raise NotFoundError(f"{agent.name} has no version {version}.")


def _same_agent(store: ExecutionLog, left: GroupSpec, right: GroupSpec) -> bool:
    if left.agent == right.agent:
        return True
    return store.get_agent(left.agent).id == store.get_agent(right.agent).id


def _minute(epoch_ms: int) -> str:
    text = rfc3339(epoch_ms) or ""
    return text[:16].replace("T", " ")
