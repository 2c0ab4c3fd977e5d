"""The Automations canvas as a graph: every definition that runs without the user (schedules,
hooks, sequential pipelines, routed groups, skill flows) and the agents they call, as nodes and
edges in layers (schedule/hook -> group/skill -> agents), plus the live status each node shows,
derived from its recent runs.

Pure: definitions in (anything with id, kind, name, enabled and spec), a graph out.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ato_desktop.core.automations import (
    AutomationKind,
    GroupMode,
    GroupSpec,
    HookSpec,
    ScheduleSpec,
    SkillSpec,
    Spec,
    TargetKind,
)

LAYER_TRIGGER = 0  # schedules and hooks
LAYER_FLOW = 1  # groups and skill flows
LAYER_AGENT = 2  # the agents they call
_TRIGGERS = (AutomationKind.SCHEDULE, AutomationKind.HOOK)


class NodeKind(enum.StrEnum):
    """What a node is; also its source colour on the canvas and its entry in the legend."""

    SCHEDULE = "schedule"
    HOOK = "hook"
    PIPELINE = "pipeline"  # a sequential group
    ROUTER = "router"  # a routed group
    SKILL = "skill"
    AGENT = "agent"


KIND_LABELS: dict[NodeKind, str] = {
    NodeKind.SCHEDULE: "Schedule",
    NodeKind.HOOK: "Hook",
    NodeKind.PIPELINE: "Pipeline",
    NodeKind.ROUTER: "Routed group",
    NodeKind.SKILL: "Skill flow",
    NodeKind.AGENT: "Agent",
}


class EdgeKind(enum.StrEnum):
    DISPATCHES = "dispatches"  # a schedule or hook fires its target
    STAGE = "stage"  # a pipeline or skill flow runs the agent as a stage
    ROUTES = "routes"  # a routed group may pick the agent (or asks it, as its router)
    TRIGGERS = "triggers"  # a run of the agent fires the hook


class _Definition(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> AutomationKind: ...
    @property
    def name(self) -> str: ...
    @property
    def enabled(self) -> bool: ...
    @property
    def spec(self) -> Spec: ...


@dataclass(frozen=True, slots=True)
class GraphNode:
    id: str
    kind: NodeKind
    name: str
    layer: int
    enabled: bool = True
    definition_id: str | None = None  # the automation's id (None for agents)
    definition_kind: AutomationKind | None = None
    agent_id: str | None = None  # agents known to the log
    detail: str = ""  # one line under the name: cron, event, stage count, ...

    @property
    def title(self) -> str:
        return f"@{self.name}" if self.kind is NodeKind.AGENT else self.name


@dataclass(frozen=True, slots=True)
class GraphEdge:
    src: str
    dst: str
    kind: EdgeKind
    label: str = ""


@dataclass(frozen=True, slots=True)
class AutomationGraph:
    nodes: tuple[GraphNode, ...] = ()
    edges: tuple[GraphEdge, ...] = ()

    def node(self, node_id: str) -> GraphNode | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    def find(self, text: str) -> list[GraphNode]:
        """Nodes whose name contains text (case-insensitive): exact names first, then prefixes."""
        needle = text.strip().lstrip("@").lower()
        if not needle:
            return []
        hits = [n for n in self.nodes if needle in n.name.lower()]
        return sorted(
            hits,
            key=lambda n: (
                n.name.lower() != needle,
                not n.name.lower().startswith(needle),
                n.layer,
                n.name.lower(),
            ),
        )


def agent_node_id(name: str) -> str:
    return f"agent:{name.lower()}"


def definition_node_id(kind: AutomationKind, definition_id: str) -> str:
    return f"{kind.value}:{definition_id}"


def build_graph(
    definitions: Iterable[_Definition], agent_ids: Mapping[str, str] | None = None
) -> AutomationGraph:
    """The canvas graph; agent_ids maps agent names (any case) to their ids in the log."""
    agent_ids = {k.lower(): v for k, v in (agent_ids or {}).items()}
    defs = list(definitions)
    nodes: dict[str, GraphNode] = {}
    edges: dict[tuple[str, str, EdgeKind], list[str]] = {}
    by_name: dict[tuple[AutomationKind, str], str] = {}

    for d in defs:
        node_id = definition_node_id(d.kind, d.id)
        by_name[(d.kind, d.name.lower())] = node_id
        nodes[node_id] = GraphNode(
            node_id,
            _node_kind(d.kind, d.spec),
            d.name,
            LAYER_TRIGGER if d.kind in _TRIGGERS else LAYER_FLOW,
            enabled=d.enabled,
            definition_id=d.id,
            definition_kind=d.kind,
            detail=_detail(d.spec),
        )

    def agent(name: str) -> str:
        node_id = agent_node_id(name)
        if node_id not in nodes:
            nodes[node_id] = GraphNode(
                node_id, NodeKind.AGENT, name, LAYER_AGENT, agent_id=agent_ids.get(name.lower())
            )
        return node_id

    def edge(src: str, dst: str, kind: EdgeKind, label: str = "") -> None:
        labels = edges.setdefault((src, dst, kind), [])
        if label and label not in labels:
            labels.append(label)

    def target(kind: TargetKind, name: str) -> str:
        if kind is TargetKind.AGENT:
            return agent(name)
        definition_kind = AutomationKind.GROUP if kind is TargetKind.GROUP else AutomationKind.SKILL
        found = by_name.get((definition_kind, name.lower()))
        if found is not None:
            return found
        # A target that no longer exists still shows, as a missing node, so the break is seen.
        missing = f"missing:{definition_kind.value}:{name.lower()}"
        if missing not in nodes:
            nodes[missing] = GraphNode(
                missing,
                NodeKind.PIPELINE if kind is TargetKind.GROUP else NodeKind.SKILL,
                name,
                LAYER_FLOW,
                enabled=False,
                detail="not defined",
            )
        return missing

    for d in defs:
        node_id = definition_node_id(d.kind, d.id)
        spec = d.spec
        if isinstance(spec, GroupSpec) and spec.mode is GroupMode.SEQUENTIAL:
            for i, stage in enumerate(spec.stages, 1):
                edge(node_id, agent(stage.agent), EdgeKind.STAGE, f"{i} {stage.name}")
        elif isinstance(spec, GroupSpec):
            for member in spec.members:
                edge(node_id, agent(member), EdgeKind.ROUTES)
            if spec.router_agent:
                edge(node_id, agent(spec.router_agent), EdgeKind.ROUTES, "router")
        elif isinstance(spec, SkillSpec):
            for i, step in enumerate(spec.steps, 1):
                edge(node_id, agent(step.agent), EdgeKind.STAGE, f"{i} {step.name}")
        elif isinstance(spec, ScheduleSpec):
            edge(node_id, target(spec.target_kind, spec.target), EdgeKind.DISPATCHES)
        elif isinstance(spec, HookSpec):
            edge(agent(spec.source_agent), node_id, EdgeKind.TRIGGERS, spec.event.value)
            edge(node_id, target(spec.target_kind, spec.target), EdgeKind.DISPATCHES)

    return AutomationGraph(
        tuple(nodes.values()),
        tuple(GraphEdge(s, d, k, ", ".join(labels)) for (s, d, k), labels in edges.items()),
    )


def _node_kind(kind: AutomationKind, spec: Spec) -> NodeKind:
    if kind is AutomationKind.GROUP:
        routed = isinstance(spec, GroupSpec) and spec.mode is GroupMode.ROUTED
        return NodeKind.ROUTER if routed else NodeKind.PIPELINE
    return NodeKind(kind.value)


def _detail(spec: Spec) -> str:
    if isinstance(spec, GroupSpec):
        if spec.mode is GroupMode.SEQUENTIAL:
            return f"{len(spec.stages)} stage{'s' if len(spec.stages) != 1 else ''}"
        how = "LLM router" if spec.router_agent else f"{len(spec.rules)} rules"
        return f"{len(spec.members)} members · {how}"
    if isinstance(spec, ScheduleSpec):
        return f"{spec.cron} · {spec.timezone}"
    if isinstance(spec, HookSpec):
        return f"on {spec.event.value.replace('_', ' ')}"
    return f"{len(spec.steps)} steps"


# -- live status ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """What a node's recent runs say: the newest outcome, whether one runs now, success rate."""

    last_status: str | None = None  # a run status of the newest run
    running: bool = False
    success_rate: float | None = None  # completed / ended, over the runs read
    runs: int = 0  # how many recent runs that is over
    last_started_at: int | None = None
    last_run_id: str | None = None
    recent: tuple[tuple[str, str, int], ...] = field(default=())  # (run id, status, started)


def node_status(runs: Sequence[tuple[str, str, int]]) -> NodeStatus:
    """Status from recent runs (run id, status, started_at), newest first."""
    if not runs:
        return NodeStatus()
    ended = [status for _id, status, _at in runs if status != "running"]
    rate = sum(1 for s in ended if s == "completed") / len(ended) if ended else None
    newest_id, newest_status, newest_at = runs[0]
    return NodeStatus(
        last_status=newest_status,
        running=any(status == "running" for _id, status, _at in runs),
        success_rate=rate,
        runs=len(runs),
        last_started_at=newest_at,
        last_run_id=newest_id,
        recent=tuple(runs),
    )
