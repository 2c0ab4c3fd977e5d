"""Insights -> Pipelines, end to end: a three-stage pipeline run through the one dispatch path
against the loopback wire fake (official SDKs), a real log, real widgets offscreen. The empty
state; the row with its stages, duration and cost; the stage flow with per-stage timing and the
files a stage touched; a stage one click from its run; paging; a failed stage's error."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt

from ato_desktop.core.automations import (
    AutomationKind,
    GroupMode,
    GroupSpec,
    HookEvent,
    HookSpec,
    Stage,
    TargetKind,
)
from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import NewAction, NewRun, RunEnd
from ato_desktop.engine.dispatcher import DispatchRequest
from ato_desktop.store.execution_log import now_ms
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.insights import pipelines_view
from ato_desktop.ui.insights.pipelines_models import COL_COST, COL_NAME, COL_STAGES, COL_TRIGGER
from ato_desktop.ui.insights.pipelines_view import STATE_EMPTY, STATE_ROWS, PipelinesView
from tests.fakes import FakeLLMServer, Scenario, UsageSpec
from tests.support.builders import article_group
from tests.support.qt_helpers import Show, run_on_engine


def run_article(ctx: AppContext, qtbot: Any, fake: FakeLLMServer, *answers: Scenario) -> Any:
    fake.enqueue(
        *(
            answers
            or (
                Scenario(chunks=("facts",), usage=UsageSpec(uncached_input_tokens=30)),
                Scenario(chunks=("draft",), usage=UsageSpec(output_tokens=40)),
                Scenario(chunks=("final",), usage=UsageSpec(output_tokens=20)),
            )
        )
    )
    return run_on_engine(
        ctx, qtbot, ctx.workspace.automations.pipelines.run_group("article", "otters")
    )


def test_empty_state_says_how_to_create_a_pipeline(
    open_ctx: AppContext, qtbot: Any, show: Show
) -> None:
    view = PipelinesView(open_ctx)
    show(view)
    with qtbot.waitSignal(
        view.sig_state_changed, timeout=5000, check_params_cb=lambda s: s == STATE_EMPTY
    ):
        view.ensure_loaded()
    assert "ato-desktop groups add" in view.empty.text.text()
    assert "skills add" in view.empty.text.text()
    targets: list[tuple[str, Any]] = []
    open_ctx.sig_navigate.connect(lambda page, target: targets.append((page, target)))
    view.empty.primary.click()
    assert targets == [("automations", None)]


def test_row_and_stage_flow_with_timing_files_and_a_click_to_the_stage_run(
    open_ctx: AppContext, qtbot: Any, show: Show, fake: FakeLLMServer, keys: None
) -> None:
    article_group(open_ctx.workspace, fake)
    result = run_article(open_ctx, qtbot, fake)
    assert result.status.value == "completed"
    store = open_ctx.workspace.store
    edit = result.stages[2]
    run = store.get_run(edit.run_id)
    at = now_ms()
    store.append_action(
        run.id,
        run.run_no,
        NewAction(
            "Edit",
            "file",
            "success",
            at,
            at + 5,
            meta={"files_touched": [{"path": "docs/otters.md", "change": "edited"}]},
        ),
    ).result()

    view = PipelinesView(open_ctx)
    show(view, width=1200, height=760)
    with qtbot.waitSignal(view.sig_flow_shown, timeout=5000) as shown:
        view.ensure_loaded()
    assert view.state == STATE_ROWS
    model = view.model
    assert model.rowCount() == 1
    assert model.index(0, COL_NAME).data() == "article"
    assert model.index(0, COL_STAGES).data() == "3 · research → draft → edit"
    assert model.index(0, COL_TRIGGER).data() == "cli"
    assert model.index(0, COL_COST).data().startswith("$")
    summary = shown.args[0]
    assert summary.run_id == result.run_id
    cards = view.flow.cards
    assert [c.title.text() for c in cards] == ["1 · research", "2 · draft", "3 · edit"]
    assert [c.agent.text() for c in cards] == ["@researcher", "@writer", "@editor"]
    assert all(c.timing.text().split(" · ")[0].endswith(("ms", "s")) for c in cards)
    assert all("$" in c.timing.text() for c in cards)
    assert cards[0].files.isHidden() and not cards[2].files.isHidden()
    assert "1 file touched" in cards[2].files.text()
    assert "docs/otters.md" in cards[2].files.text()

    targets: list[tuple[str, Any]] = []
    open_ctx.sig_navigate.connect(lambda page, target: targets.append((page, target)))
    qtbot.mouseClick(cards[1], Qt.MouseButton.LeftButton, pos=QPoint(20, 20))
    assert targets == [("runs", {"run_id": result.stages[1].run_id})]
    cards[0].setFocus()
    qtbot.keyClick(cards[0], Qt.Key.Key_Return)
    assert targets[-1] == ("runs", {"run_id": result.stages[0].run_id})
    view.flow.open_parent.click()
    assert targets[-1] == ("runs", {"run_id": result.run_id})

    # A second run, its middle stage failing: it shows on top, live, with the error.
    with qtbot.waitSignal(view.sig_rows_loaded, timeout=8000, check_params_cb=lambda n: n == 2):
        failed = run_article(
            open_ctx,
            qtbot,
            fake,
            Scenario(chunks=("facts",)),
            Scenario(status=400),
        )
    assert failed.status.value == "failed"
    with qtbot.waitSignal(view.sig_flow_shown, timeout=5000) as shown:
        view.table.selectRow(0)
    assert shown.args[0].run_id == failed.run_id
    cards = view.flow.cards
    assert len(cards) == 3
    assert not cards[1].error.isHidden() and cards[1].error.text()
    assert not view.flow.error.isHidden()
    # The stage the failure stopped is shown as never run, and opens nothing.
    assert cards[2].stage.status == "not_run" and cards[2].timing.text() == "never ran"
    assert cards[2].accessibleName() == "Stage 3 · edit, Not run"
    before = len(targets)
    qtbot.mouseClick(cards[2], Qt.MouseButton.LeftButton, pos=QPoint(20, 20))
    assert len(targets) == before


def test_a_hook_chain_is_a_row_with_its_source_run_first(
    open_ctx: AppContext, qtbot: Any, show: Show, fake: FakeLLMServer, keys: None
) -> None:
    ws = open_ctx.workspace
    for name in ("writer", "critic"):
        ws.agents.create(
            name, AgentConfig("claude", "claude-sonnet-5", base_url=fake.anthropic_base_url)
        )
    spec = HookSpec(
        HookEvent.COMPLETED, "writer", TargetKind.AGENT, "critic", "Check: {run.output}"
    )
    ws.automations.definitions.add(AutomationKind.HOOK, "review", spec)
    fake.enqueue(Scenario(chunks=("a draft",)), Scenario(chunks=("looks fine",)))

    async def go() -> str:
        ws.automations.start()
        done = await ws.dispatcher.dispatch(DispatchRequest("write", agent="writer"))
        await ws.automations.drain(30)
        return done.run_id

    source = run_on_engine(open_ctx, qtbot, go())
    view = PipelinesView(open_ctx)
    show(view, width=1200, height=760)
    with qtbot.waitSignal(view.sig_flow_shown, timeout=5000) as shown:
        view.ensure_loaded()
    assert view.model.index(0, COL_NAME).data() == "review"
    assert view.model.index(0, COL_STAGES).data() == "1 · review"
    assert view.model.index(0, COL_TRIGGER).data() == "hook"
    assert shown.args[0].kind == "hook"
    cards = view.flow.cards
    assert [c.title.text() for c in cards] == ["1 · source run", "2 · review"]
    assert [c.agent.text() for c in cards] == ["@writer", "@critic"]
    assert "Hook chain" in view.flow.title.text()
    targets: list[tuple[str, Any]] = []
    open_ctx.sig_navigate.connect(lambda page, target: targets.append((page, target)))
    qtbot.mouseClick(cards[0], Qt.MouseButton.LeftButton, pos=QPoint(20, 20))
    assert targets == [("runs", {"run_id": source})]


def test_rows_are_paged_as_the_list_scrolls(
    open_ctx: AppContext, qtbot: Any, show: Show, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = open_ctx.workspace
    ws.agents.create("solo", AgentConfig("claude", "claude-sonnet-5"))
    record = ws.automations.definitions.add(
        AutomationKind.GROUP, "solo-flow", GroupSpec(GroupMode.SEQUENTIAL, (Stage("one", "solo"),))
    )
    base = now_ms() - 100_000
    items = []
    for i in range(12):
        parent_id = f"{base + i * 10:012x}" + "ab" * 10
        items.append(
            (
                NewRun(
                    "pipeline",
                    "solo-flow",
                    "cron",
                    base + i * 10,
                    pipeline_id=record.id,
                    id=parent_id,
                    tags={"pipeline.kind": "group"},
                ),
                RunEnd("completed", base + i * 10 + 5, 5_000_000),
                [],
            )
        )
        items.append(
            (
                NewRun(
                    "claude",
                    "claude-sonnet-5",
                    "pipeline",
                    base + i * 10 + 1,
                    parent_run_id=parent_id,
                    pipeline_id=record.id,
                    stage_index=0,
                    stage_name="one",
                    id=f"{base + i * 10 + 1:012x}" + "cd" * 10,
                ),
                RunEnd("completed", base + i * 10 + 4, 3_000_000),
                [],
            )
        )
    ws.store.ingest(items).result()
    monkeypatch.setattr(pipelines_view, "PAGE_SIZE", 5)
    view = PipelinesView(open_ctx)
    show(view, width=900, height=420)
    with qtbot.waitSignal(view.sig_rows_loaded, timeout=5000):
        view.ensure_loaded()
    assert view.model.rowCount() == 5 and view.has_more
    # Scrolling to the end reads the next page, then the last.
    bar = view.table.verticalScrollBar()

    def scrolled_to_all() -> bool:
        bar.setValue(bar.maximum())
        return view.model.rowCount() == 12

    qtbot.waitUntil(scrolled_to_all, timeout=5000)
    started = [view.model.summary(r).started_at for r in range(12)]
    assert started == sorted(started, reverse=True)
    assert not view.has_more
