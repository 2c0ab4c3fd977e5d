"""The Automations canvas, end to end: definitions of every kind in a real log, a pipeline run
through the one dispatch path against the loopback wire fake, real widgets offscreen. Nodes and
edges of every kind with their source colours; live status after a run; search focusing a
node; fit to view; "View runs" landing on the filtered Runs page; enable/disable from the
editor; the empty state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from ato_desktop.core.automation_graph import EdgeKind, NodeKind
from ato_desktop.core.automations import (
    AutomationKind,
    GroupMode,
    GroupSpec,
    HookEvent,
    HookSpec,
    RouteRule,
    ScheduleSpec,
    Stage,
    TargetKind,
)
from ato_desktop.core.models import AgentConfig
from ato_desktop.ui.automations.canvas_scene import KIND_COLORS
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.pages.automations_page import STATE_CANVAS, STATE_EMPTY, AutomationsPage
from ato_desktop.ui.pages.runs_page import RunsPage
from tests.fakes import FakeLLMServer, Scenario
from tests.support.qt_helpers import run_on_engine, show_page


def define_everything(ctx: AppContext, fake: FakeLLMServer, tmp_path: Path) -> None:
    ws = ctx.workspace
    for name in ("researcher", "writer", "editor", "billing", "support"):
        ws.agents.create(
            name, AgentConfig("claude", "claude-sonnet-5", base_url=fake.anthropic_base_url)
        )
    service = ws.automations.definitions
    service.add(
        AutomationKind.GROUP,
        "article",
        GroupSpec(
            GroupMode.SEQUENTIAL,
            stages=(
                Stage("research", "researcher", "Find facts about {input}"),
                Stage("draft", "writer"),
                Stage("edit", "editor"),
            ),
        ),
    )
    service.add(
        AutomationKind.GROUP,
        "triage",
        GroupSpec(
            GroupMode.ROUTED,
            members=("billing", "support"),
            rules=(RouteRule("billing", "invoice"),),
            default_member="support",
        ),
    )
    service.add(
        AutomationKind.SCHEDULE,
        "nightly",
        ScheduleSpec("0 2 * * *", "UTC", TargetKind.GROUP, "article", "Tonight's topic"),
    )
    service.add(
        AutomationKind.HOOK,
        "escalate",
        HookSpec(HookEvent.FAILED, "support", TargetKind.AGENT, "editor", "Fix: {run.error}"),
    )
    skill = tmp_path / "release.md"
    skill.write_text(
        "# Release\n\n## Step: check\nCheck the changelog.\n\n## Step: announce\nWrite it up.\n",
        encoding="utf-8",
    )
    service.add_skill("release", str(skill), "writer")


def open_page(ctx: AppContext, qtbot: Any) -> AutomationsPage:
    page = show_page(qtbot, AutomationsPage(ctx))
    with qtbot.waitSignal(page.sig_graph_shown, timeout=8000):
        page.activate()
    return page


def test_empty_canvas_says_what_to_define(open_ctx: AppContext, qtbot: Any) -> None:
    page = open_page(open_ctx, qtbot)
    assert page.state == STATE_EMPTY
    assert "ato-desktop groups add" in page.empty.text.text()
    assert "schedules add" in page.empty.text.text()


def test_every_kind_is_a_node_with_edges_colours_status_search_and_view_runs(
    open_ctx: AppContext, qtbot: Any, fake: FakeLLMServer, keys: None, tmp_path: Path
) -> None:
    define_everything(open_ctx, fake, tmp_path)
    page = open_page(open_ctx, qtbot)
    assert page.state == STATE_CANVAS
    nodes = {item.node.name: item for item in page.scene.nodes.values()}
    kinds = {name: item.node.kind for name, item in nodes.items()}
    assert kinds["article"] is NodeKind.PIPELINE
    assert kinds["triage"] is NodeKind.ROUTER
    assert kinds["nightly"] is NodeKind.SCHEDULE
    assert kinds["escalate"] is NodeKind.HOOK
    assert kinds["release"] is NodeKind.SKILL
    assert {n for n, k in kinds.items() if k is NodeKind.AGENT} == {
        "researcher",
        "writer",
        "editor",
        "billing",
        "support",
    }
    # Colour-coded by source, all different; layers left to right.
    assert len({KIND_COLORS[k] for k in kinds.values()}) == 6
    assert QColor(KIND_COLORS[NodeKind.SCHEDULE]).isValid()
    x = {name: item.pos().x() for name, item in nodes.items()}
    assert x["nightly"] < x["article"] < x["researcher"]
    assert x["escalate"] < x["triage"] < x["billing"]
    edges = {(e.edge.src, e.edge.dst, e.edge.kind) for e in page.scene.edges}
    art, night = nodes["article"].node.id, nodes["nightly"].node.id
    assert (night, art, EdgeKind.DISPATCHES) in edges
    assert (art, "agent:researcher", EdgeKind.STAGE) in edges
    assert ("agent:support", nodes["escalate"].node.id, EdgeKind.TRIGGERS) in edges
    # stages, members, schedule, hook (trigger + dispatch), skill (both steps @writer: one edge)
    assert len(page.scene.edges) == 3 + 2 + 1 + 2 + 1
    # No two nodes overlap.
    rects = [item.sceneBoundingRect().adjusted(3, 3, -3, -3) for item in nodes.values()]
    assert not any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1 :])

    # Fit: everything in view.
    page.view.set_zoom(3.0)
    qtbot.keyClick(page.view, Qt.Key.Key_F)
    seen = page.view.visible_scene_rect()
    assert all(seen.contains(item.sceneBoundingRect()) for item in nodes.values())
    assert page.view.zoom <= 1.0

    # Search focuses a node: selected, centred, its details shown.
    page.view.set_zoom(2.0)
    assert page.focus_node("trIA") is not None
    assert page.selected == nodes["triage"].node.id
    assert page.view.visible_scene_rect().contains(nodes["triage"].sceneBoundingRect().center())
    assert page.details.title.text() == "triage"
    assert "routes to billing, support" in page.details.body.text()
    page.search.setText("nosuchnode")
    page.search.returnPressed.emit()
    assert page.selected == nodes["triage"].node.id

    # A pipeline run: live status on its node and on its agents, without a reload of the graph.
    fake.enqueue(Scenario(chunks=("facts",)), Scenario(chunks=("draft",)), Scenario(chunks=("ok",)))
    with qtbot.waitSignal(
        page.sig_statuses_shown,
        timeout=10_000,
        check_params_cb=lambda s: art in s and s[art].last_status == "completed",
    ):
        result = run_on_engine(
            open_ctx, qtbot, open_ctx.workspace.automations.pipelines.run_group("article", "x")
        )
    item = page.scene.nodes[art]
    assert item.status.last_status == "completed" and item.status.success_rate == 1.0
    assert item.status.last_run_id == result.run_id
    assert page.scene.nodes["agent:editor"].status.last_status == "completed"
    assert not page.scene.pulsing

    # View runs: the Runs page filtered to the pipeline run and its stage runs.
    page.focus_node("article")
    assert "1 of the last" not in page.details.body.text()
    assert "100% of the last 1 runs completed" in page.details.body.text()
    assert page.details.runs.count() == 1
    targets: list[tuple[str, Any]] = []
    open_ctx.sig_navigate.connect(lambda p, t: targets.append((p, t)))
    page.details.view_runs.click()
    assert targets[-1] == ("runs", {"agent_id": "", "metadata": "pipeline:article"})
    runs = show_page(qtbot, RunsPage(open_ctx))
    runs.activate(targets[-1][1])
    qtbot.waitUntil(lambda: runs.model.rowCount() == 4, timeout=8000)
    stages = {runs.model.run_at(r).stage_name for r in range(4)}  # type: ignore[union-attr]
    assert stages == {None, "research", "draft", "edit"}  # None: the parent pipeline run
    # An agent's "View runs" filters by the agent.
    page.focus_node("editor")
    page.details.view_runs.click()
    editor_id = open_ctx.workspace.store.get_agent("editor").id
    assert targets[-1] == ("runs", {"agent_id": editor_id, "metadata": ""})


def test_editor_disables_and_edits_a_schedule(
    open_ctx: AppContext, qtbot: Any, fake: FakeLLMServer, tmp_path: Path
) -> None:
    define_everything(open_ctx, fake, tmp_path)
    page = open_page(open_ctx, qtbot)
    page.focus_node("nightly")
    page.details.edit.click()
    qtbot.waitUntil(lambda: page.editor is not None and page.editor.isVisible(), timeout=5000)
    editor = page.editor
    assert editor is not None
    editor.enabled.setChecked(False)
    editor.fields["prompt"].setPlainText("A new topic")  # type: ignore[union-attr]
    with qtbot.waitSignal(editor.sig_saved, timeout=8000):  # both writes are done
        editor.save()
    service = open_ctx.workspace.automations.definitions
    record = service.get(AutomationKind.SCHEDULE, "nightly")
    assert not record.enabled and record.version == 2
    qtbot.waitUntil(
        lambda: any(
            i.node.name == "nightly" and not i.node.enabled for i in page.scene.nodes.values()
        ),
        timeout=8000,
    )
    assert record.spec.prompt == "A new topic"  # type: ignore[union-attr]
    node = next(i for i in page.scene.nodes.values() if i.node.name == "nightly")
    assert node.node.enabled is False
    # A bad cron is refused with the engine's message, and nothing is saved.
    page.focus_node("nightly")
    page.edit_selected()
    qtbot.waitUntil(lambda: page.editor is not editor and page.editor.isVisible(), timeout=5000)
    editor = page.editor
    editor.enabled.setChecked(True)
    editor.fields["cron"].setText("not a cron")  # type: ignore[union-attr]
    editor.save()
    qtbot.waitUntil(lambda: not editor.error.isHidden(), timeout=5000)
    assert editor.error.text()
    assert service.get(AutomationKind.SCHEDULE, "nightly").version == 2
    editor.reject()


def test_run_now_fires_a_schedule_from_its_node(
    open_ctx: AppContext, qtbot: Any, fake: FakeLLMServer, keys: None, tmp_path: Path
) -> None:
    define_everything(open_ctx, fake, tmp_path)
    page = open_page(open_ctx, qtbot)
    page.focus_node("article")
    assert not page.details.run_now.isVisibleTo(page)  # only schedules fire by hand
    page.focus_node("nightly")
    assert page.details.run_now.isVisibleTo(page)
    fake.enqueue(
        Scenario(chunks=("facts",)), Scenario(chunks=("draft",)), Scenario(chunks=("done",))
    )
    said: list[str] = []
    open_ctx.sig_status_message.connect(said.append)
    task = page.run_selected_now()
    assert task is not None
    qtbot.waitUntil(task.done, timeout=15_000)
    assert any(text.startswith("Schedule nightly fired: run ") for text in said), said
    assert "Find facts about Tonight's topic" in str(fake.requests[0].body)
