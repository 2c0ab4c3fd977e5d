"""The canvas layout and graph: layered, ordered to cut crossings, never overlapping."""

from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import combinations

from ato_desktop.core.automation_graph import (
    EdgeKind,
    NodeKind,
    build_graph,
    node_status,
)
from ato_desktop.core.automations import (
    AutomationKind,
    GroupMode,
    GroupSpec,
    HookEvent,
    HookSpec,
    RouteRule,
    ScheduleSpec,
    SkillSpec,
    Spec,
    Stage,
    TargetKind,
)
from ato_desktop.core.canvas_layout import LayoutNode, count_crossings, layered_layout


def _no_overlaps(rects: dict) -> bool:
    return not any(a.intersects(b) for a, b in combinations(rects.values(), 2))


def _random_graph(seed: int, count: int) -> tuple[list[LayoutNode], list[tuple[str, str]]]:
    rng = random.Random(seed)
    nodes = [
        LayoutNode(f"n{i}", rng.choice((0, 1, 1, 2, 2, 2)), rng.choice((150, 180, 220)), 56)
        for i in range(count)
    ]
    by_layer = {layer: [n.id for n in nodes if n.layer == layer] for layer in (0, 1, 2)}
    edges = []
    for node in nodes:
        if node.layer < 2:
            for _ in range(rng.randint(1, 3)):
                edges.append((node.id, rng.choice(by_layer[node.layer + 1])))
    return nodes, edges


def test_a_few_hundred_nodes_never_overlap_and_keep_their_layers() -> None:
    for seed in (1, 2, 3):
        nodes, edges = _random_graph(seed, 400)
        layout = layered_layout(nodes, edges)
        assert set(layout.rects) == {n.id for n in nodes}
        assert _no_overlaps(layout.rects)
        # Columns by layer, left to right, not overlapping each other.
        xs = {
            layer: {layout.rects[n.id].x for n in nodes if n.layer == layer} for layer in (0, 1, 2)
        }
        assert max(xs[0]) < min(xs[1]) and max(xs[1]) < min(xs[2])
        assert all(r.y >= 0 for r in layout.rects.values())
        assert layout.height >= max(r.y + r.height for r in layout.rects.values())


def test_barycentric_ordering_removes_crossings_it_can() -> None:
    # a->z, b->y, c->x drawn in input order cross three times; ordered, none.
    nodes = [LayoutNode(i, 0, 100, 40) for i in "abc"] + [LayoutNode(i, 1, 100, 40) for i in "xyz"]
    edges = [("a", "z"), ("b", "y"), ("c", "x")]
    neighbours: dict[str, list[str]] = {}
    for s, d in edges:
        neighbours.setdefault(s, []).append(d)
        neighbours.setdefault(d, []).append(s)
    assert count_crossings([list("abc"), list("xyz")], neighbours) == 3
    layout = layered_layout(nodes, edges)
    assert count_crossings(layout.order, neighbours) == 0
    nodes, edges = _random_graph(7, 200)
    neighbours = {}
    for s, d in edges:
        neighbours.setdefault(s, []).append(d)
        neighbours.setdefault(d, []).append(s)
    before = [[n.id for n in nodes if n.layer == layer] for layer in (0, 1, 2)]
    after = layered_layout(nodes, edges).order
    assert count_crossings(after, neighbours) < count_crossings(before, neighbours)


def test_a_node_sits_level_with_its_only_neighbour_and_the_empty_layout() -> None:
    pair = [LayoutNode("a", 0, 100, 40), LayoutNode("b", 1, 100, 40)]
    layout = layered_layout(pair, [("a", "b")])
    assert layout.rects["a"].center_y == layout.rects["b"].center_y
    assert layout.rects["b"].x == 100 + 120
    empty = layered_layout([], [])
    assert (empty.rects, empty.width, empty.height) == ({}, 0.0, 0.0)


@dataclass
class Definition:
    id: str
    kind: AutomationKind
    name: str
    spec: Spec
    enabled: bool = True


def test_graph_has_a_node_for_every_kind_and_the_agents_they_call() -> None:
    defs = [
        Definition(
            "g1",
            AutomationKind.GROUP,
            "article",
            GroupSpec(
                GroupMode.SEQUENTIAL,
                stages=(Stage("research", "researcher"), Stage("draft", "writer")),
            ),
        ),
        Definition(
            "g2",
            AutomationKind.GROUP,
            "triage",
            GroupSpec(
                GroupMode.ROUTED,
                members=("billing", "writer"),
                rules=(RouteRule("billing", "invoice"),),
            ),
        ),
        Definition(
            "s1",
            AutomationKind.SCHEDULE,
            "nightly",
            ScheduleSpec("0 2 * * *", "UTC", TargetKind.GROUP, "article", "go"),
        ),
        Definition(
            "h1",
            AutomationKind.HOOK,
            "on-fail",
            HookSpec(HookEvent.FAILED, "writer", TargetKind.AGENT, "Billing"),
            enabled=False,
        ),
        Definition(
            "k1",
            AutomationKind.SKILL,
            "release",
            SkillSpec("/x.md", "writer", "Release", (Stage("check", "writer"),), "h"),
        ),
    ]
    graph = build_graph(defs, {"writer": "agent-w"})
    kinds = {n.name: n.kind for n in graph.nodes}
    assert kinds == {
        "article": NodeKind.PIPELINE,
        "triage": NodeKind.ROUTER,
        "nightly": NodeKind.SCHEDULE,
        "on-fail": NodeKind.HOOK,
        "release": NodeKind.SKILL,
        "researcher": NodeKind.AGENT,
        "writer": NodeKind.AGENT,
        "billing": NodeKind.AGENT,
    }
    assert graph.node("agent:writer").agent_id == "agent-w"  # type: ignore[union-attr]
    assert graph.node("hook:h1").enabled is False  # type: ignore[union-attr]
    edges = {(e.src, e.dst, e.kind, e.label) for e in graph.edges}
    assert ("group:g1", "agent:researcher", EdgeKind.STAGE, "1 research") in edges
    assert ("schedule:s1", "group:g1", EdgeKind.DISPATCHES, "") in edges
    assert ("agent:writer", "hook:h1", EdgeKind.TRIGGERS, "failed") in edges
    assert ("hook:h1", "agent:billing", EdgeKind.DISPATCHES, "") in edges
    assert ("skill:k1", "agent:writer", EdgeKind.STAGE, "1 check") in edges
    assert [n.name for n in graph.find("writ")] == ["writer"]
    assert [n.name for n in graph.find("@article")] == ["article"]


def test_node_status_from_recent_runs() -> None:
    assert node_status([]).last_status is None
    status = node_status(
        [
            ("r3", "running", 30),
            ("r2", "failed", 20),
            ("r1", "completed", 10),
            ("r0", "completed", 5),
        ]
    )
    assert status.running and status.last_status == "running" and status.last_run_id == "r3"
    assert status.success_rate == 2 / 3 and status.runs == 4
