"""What the Automations canvas reads from the log, on a reader thread: the definitions with
their next fires, the agents they call, and each node's recent runs for its live status."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ato_desktop.core.automation_graph import (
    AutomationGraph,
    NodeKind,
    NodeStatus,
    build_graph,
    node_status,
)
from ato_desktop.core.automations import AutomationKind
from ato_desktop.core.records import RunFilter
from ato_desktop.engine.automations import AutomationService, DefinitionRow
from ato_desktop.store import automations as automation_store
from ato_desktop.store.execution_log import NotFoundError

RECENT_RUNS = 20  # the runs a node's status and success rate are read over


@dataclass(frozen=True, slots=True)
class CanvasData:
    graph: AutomationGraph
    rows: dict[str, DefinitionRow] = field(default_factory=dict)  # by definition id
    statuses: dict[str, NodeStatus] = field(default_factory=dict)  # by node id


def read_canvas(store: Any) -> CanvasData:
    """Definitions, the graph and every node's status."""
    rows = AutomationService(store).rows()
    agents = {a.name: a.id for a in store.list_agents()}
    graph = build_graph([r.record for r in rows], agents)
    return CanvasData(graph, {r.record.id: r for r in rows}, read_statuses(store, graph))


def read_statuses(store: Any, graph: AutomationGraph) -> dict[str, NodeStatus]:
    """Each node's status from its recent runs (groups and skill flows: their pipeline runs;
    schedules: the run of their last fire; hooks: their chains and the pipeline runs they started;
    agents: theirs)."""
    statuses: dict[str, NodeStatus] = {}
    for node in graph.nodes:
        runs: list[tuple[str, str, int]] = []
        if node.kind in (NodeKind.PIPELINE, NodeKind.ROUTER, NodeKind.SKILL):
            if node.definition_id is None:
                continue
            runs = [
                (p.run_id, p.status, p.started_at)
                for p in automation_store.list_pipeline_runs(
                    store, pipeline_id=node.definition_id, limit=RECENT_RUNS
                )
            ]
        elif node.kind is NodeKind.SCHEDULE and node.definition_id:
            state = automation_store.get_schedule_state(store, node.definition_id)
            if state is not None and state.last_run_id:
                try:
                    run = store.get_run(state.last_run_id)
                except NotFoundError:
                    continue
                runs = [(run.id, run.status, run.started_at)]
        elif node.kind is NodeKind.HOOK and node.definition_id:
            hook = automation_store.get_definition_by_id(store, node.definition_id)
            if hook is None:
                continue
            runs = [
                (r.id, r.status, r.started_at)
                for r in automation_store.hook_recent_runs(store, hook, RECENT_RUNS)
            ]
        elif node.kind is NodeKind.AGENT and node.agent_id:
            flt = RunFilter(agent_id=node.agent_id)
            runs = [(r.id, r.status, r.started_at) for r in store.list_runs(flt, limit=RECENT_RUNS)]
        if runs:
            statuses[node.id] = node_status(runs)
    return statuses


def runs_target(kind: NodeKind, name: str, agent_id: str | None) -> dict[str, Any]:
    """Where "View runs" goes: the Runs page filtered to this node's runs."""
    if kind is NodeKind.AGENT:
        return {"agent_id": agent_id or "", "metadata": ""}
    key = {
        NodeKind.SCHEDULE: "schedule",
        NodeKind.HOOK: "hook",
    }.get(kind, "pipeline")
    quoted = name.replace('"', "")
    return {"agent_id": "", "metadata": f'{key}:"{quoted}"' if " " in name else f"{key}:{name}"}


def definition_kind(kind: NodeKind) -> AutomationKind:
    if kind in (NodeKind.PIPELINE, NodeKind.ROUTER):
        return AutomationKind.GROUP
    return AutomationKind(kind.value)
