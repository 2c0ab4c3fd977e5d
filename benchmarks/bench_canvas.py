"""The Automations canvas with 500 nodes, against an empty scene in the same run.

1. Build + first paint: the graph laid out (core.canvas_layout), its items made, statuses set,
   fitted and painted once, against the same view and scene with nothing in it.
2. Frame time while panning at 100% and 50% zoom: 120 frames, each a scroll step then the
   events it posts processed (the viewport scrolls and paints what it exposed, as in use),
   against the same pan over the empty scene. Target: p95 <= 16 ms (60 fps).

Offscreen Qt platform; prints one JSON line per figure like the other benchmarks.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

FRAMES = 120


@dataclass(frozen=True)
class _Definition:
    id: str
    kind: Any
    name: str
    spec: Any
    enabled: bool = True


def synthetic_definitions(nodes: int) -> list[_Definition]:
    """About `nodes` nodes: a fifth agents, the rest schedules, hooks, groups and skill flows."""
    from ato_desktop.core.automations import (
        AutomationKind,
        GroupMode,
        GroupSpec,
        HookEvent,
        HookSpec,
        RouteRule,
        ScheduleSpec,
        SkillSpec,
        Stage,
        TargetKind,
    )

    agents = [f"agent-{i:03d}" for i in range(max(4, nodes // 5))]
    defs: list[_Definition] = []
    flows = max(2, int(nodes * 0.4))
    for i in range(flows):
        a = [agents[(i * 3 + k) % len(agents)] for k in range(3)]
        if i % 3 == 0:
            spec: Any = GroupSpec(
                GroupMode.ROUTED, members=(a[0], a[1]), rules=(RouteRule(a[0], "x"),)
            )
            defs.append(_Definition(f"g{i}", AutomationKind.GROUP, f"router-{i}", spec))
        elif i % 7 == 0:
            steps = tuple(Stage(f"s{k}", a[k]) for k in range(3))
            spec = SkillSpec(f"/skills/{i}.md", a[0], "Skill", steps, "h")
            defs.append(_Definition(f"k{i}", AutomationKind.SKILL, f"skill-{i}", spec))
        else:
            stages = tuple(Stage(f"stage{k}", a[k]) for k in range(3))
            spec = GroupSpec(GroupMode.SEQUENTIAL, stages=stages)
            defs.append(_Definition(f"g{i}", AutomationKind.GROUP, f"pipeline-{i}", spec))
    triggers = nodes - flows - len(agents)
    for i in range(max(0, triggers)):
        target = defs[i % flows]
        kind = TargetKind.SKILL if target.kind is AutomationKind.SKILL else TargetKind.GROUP
        if i % 2:
            spec = ScheduleSpec("0 * * * *", "UTC", kind, target.name, "go")
            defs.append(_Definition(f"s{i}", AutomationKind.SCHEDULE, f"schedule-{i}", spec))
        else:
            spec = HookSpec(HookEvent.FAILED, agents[i % len(agents)], kind, target.name)
            defs.append(_Definition(f"h{i}", AutomationKind.HOOK, f"hook-{i}", spec))
    return defs


def _pan(app: Any, view: Any) -> list[float]:
    bar = view.horizontalScrollBar()
    vbar = view.verticalScrollBar()
    times: list[float] = []
    for frame in range(FRAMES):
        started = time.perf_counter()
        bar.setValue(bar.value() + (14 if (frame // 30) % 2 == 0 else -14))
        vbar.setValue(vbar.value() + (9 if (frame // 20) % 2 == 0 else -9))
        app.processEvents()  # the scrolled viewport paints what scrolling exposed, as in use
        times.append((time.perf_counter() - started) * 1000)
    return times


def _summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "median_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1], 2),
    }


def bench(nodes: int) -> dict[str, Any]:
    from PySide6.QtWidgets import QApplication

    from ato_desktop.core.automation_graph import build_graph, node_status
    from ato_desktop.ui.automations.canvas_scene import AutomationScene
    from ato_desktop.ui.automations.canvas_view import CanvasView

    app = QApplication.instance() or QApplication(sys.argv[:1])
    graph = build_graph(synthetic_definitions(nodes))
    statuses = {
        n.id: node_status([("r", "completed" if i % 5 else "failed", 1)])
        for i, n in enumerate(graph.nodes)
    }

    def build_and_paint(with_graph: bool) -> tuple[float, Any, Any]:
        started = time.perf_counter()
        scene = AutomationScene()
        view = CanvasView(scene)
        view.resize(1280, 800)
        if with_graph:
            scene.set_graph(graph)
            scene.set_statuses(statuses)
        view.show()
        view.fit()
        view.viewport().repaint()
        app.processEvents()
        return (time.perf_counter() - started) * 1000, scene, view

    # Warm up Qt's font and paint caches on both sides before measuring.
    for flag in (False, True):
        _t, scene, view = build_and_paint(flag)
        view.close()
    empty_ms, empty_scene, empty_view = build_and_paint(False)
    ours_ms, scene, view = build_and_paint(True)
    empty_view.set_zoom(1.0)
    empty_scene.setSceneRect(scene.sceneRect())  # the same room to pan over
    view.set_zoom(1.0)
    view.centerOn(scene.sceneRect().center())
    empty_view.centerOn(scene.sceneRect().center())
    pan_empty = _summary(_pan(app, empty_view))
    pan_ours = _summary(_pan(app, view))
    view.set_zoom(0.5)
    pan_half = _summary(_pan(app, view))
    return {
        "nodes": len(graph.nodes),
        "edges": len(graph.edges),
        "build_paint_ms": round(ours_ms, 1),
        "empty_build_paint_ms": round(empty_ms, 1),
        "pan_100pct": pan_ours,
        "pan_50pct": pan_half,
        "pan_empty": pan_empty,
        "pan_target_p95_ms": 16.0,
        "pan_met": pan_ours["p95_ms"] <= 16.0 and pan_half["p95_ms"] <= 16.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=500)
    args = parser.parse_args()
    print(json.dumps({"canvas": bench(args.nodes)}), flush=True)


if __name__ == "__main__":
    main()
