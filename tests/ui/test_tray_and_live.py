"""Live bulk kill, notifications, the tray and close-to-tray.

Offscreen Qt has no system tray: notifications are checked through the notification service's
interface (what it emits, and the in-window fallback), the tray through its menu object.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt

from ato_desktop.core.models import AgentConfig, Trigger
from ato_desktop.engine.dispatcher import DispatchRequest
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.pages.runs_page import RunsPage
from tests.fakes import FakeLLMServer, Scenario

ANTHROPIC_KEY = "sk-ant-api03-PLANTEDKEY-abcdefghijklmnopqrstuvwxyz0123456789"


def _page(ctx: AppContext, qtbot: Any, show: Any) -> RunsPage:
    page = RunsPage(ctx)
    show(page)
    page.activate({"tab": "live"})
    return page


def _stalled_dispatches(ctx: AppContext, fake: FakeLLMServer, count: int) -> list[Any]:
    workspace = ctx.workspace
    assert workspace.credentials.set_key("anthropic", ANTHROPIC_KEY).persisted
    workspace.agents.create(
        "writer", AgentConfig("claude", "claude-sonnet-5", base_url=fake.anthropic_base_url)
    )
    fake.scenario = Scenario(chunks=("partial ", "never sent"), stall_after=1)
    tasks = []
    for i in range(count):
        request = DispatchRequest(f"job {i}", agent="writer", trigger=Trigger.UI)
        tasks.append(ctx.spawn(workspace.dispatcher.dispatch(request), what="dispatch"))
    return tasks


def test_ten_stuck_dispatches_are_killed_in_one_action(
    open_ctx: AppContext, qtbot: Any, fake: FakeLLMServer, show: Any
) -> None:
    page = _page(open_ctx, qtbot, show)
    live = page.live
    live.set_stuck_after_s(1)
    tasks = _stalled_dispatches(open_ctx, fake, 10)
    qtbot.waitUntil(lambda: len(fake.requests) == 10, timeout=10_000)
    qtbot.waitUntil(lambda: all(r.stalled.is_set() for r in fake.requests), timeout=10_000)
    qtbot.waitUntil(lambda: live.model.rowCount() == 10, timeout=10_000)
    # Quiet for the threshold: every row is stuck (highlighted), and one click selects them.
    qtbot.waitUntil(lambda: len(live.model.stuck_run_ids()) == 10, timeout=10_000)
    assert live.model.index(0, 0).data(int(Qt.ItemDataRole.BackgroundRole)) is not None
    assert len(live.select_all_stuck()) == 10
    assert live.selected_run_ids() and "10 selected" in live.selection_label.text()
    box = live.confirm_kill_selected()
    assert box is not None and box.isVisible()
    assert "Kill 10 runs" in box.windowTitle() and box.kill_button.text() == "Kill 10 runs"
    t0 = time.monotonic()
    box.kill_button.click()
    qtbot.waitUntil(lambda: all(t.done() for t in tasks), timeout=5_000)
    assert time.monotonic() - t0 < 2.0  # each is killed within a second (slack for CI)
    results = [t.result() for t in tasks]
    assert {r.status.value for r in results} == {"killed"}
    # None keeps streaming: the fake saw every connection closed.
    assert all(r.disconnected.wait(2) for r in fake.requests)
    store = open_ctx.workspace.store
    for result in results:
        run = store.get_run(result.run_id)
        assert run.status == "killed"
        (action,) = store.get_actions(run.id)
        assert action.outputs["text"] == "partial " and action.outputs["partial"] is True
    qtbot.waitUntil(lambda: live.model.rowCount() == 0, timeout=5_000)
    assert len(open_ctx.workspace.live) == 0


def test_delete_asks_before_killing_the_selection(
    open_ctx: AppContext, qtbot: Any, fake: FakeLLMServer, show: Any
) -> None:
    page = _page(open_ctx, qtbot, show)
    live = page.live
    tasks = _stalled_dispatches(open_ctx, fake, 2)
    qtbot.waitUntil(lambda: live.model.rowCount() == 2, timeout=10_000)
    live.table.selectAll()
    live.table.setFocus()
    qtbot.keyClick(live.table, Qt.Key.Key_Delete)
    box = live._confirm
    assert box is not None and box.isVisible() and "Kill 2 runs?" in box.windowTitle()
    box.reject()  # Cancel: nothing is killed
    assert not any(t.done() for t in tasks)
    live.table.selectAll()
    live.kill_selected_action.trigger()
    assert live._confirm is not None
    live._confirm.accept()
    qtbot.waitUntil(lambda: all(t.done() for t in tasks), timeout=5_000)
    assert {t.result().status.value for t in tasks} == {"killed"}
