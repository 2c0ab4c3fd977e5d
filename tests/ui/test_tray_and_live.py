"""Live bulk kill, notifications, the tray and close-to-tray.

Offscreen Qt has no system tray: notifications are checked through the notification service's
interface (what it emits, and the in-window fallback), the tray through its menu object.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget

from ato_desktop.core.models import AgentConfig, Trigger
from ato_desktop.core.notify_rules import Notification, NotifyPolicy, RunEnding
from ato_desktop.core.records import NewRun, RunEnd
from ato_desktop.engine.dispatcher import DispatchRequest
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.notifications import NO_TRAY_TEXT, NotificationService
from ato_desktop.ui.pages.runs_page import RunsPage
from ato_desktop.ui.tray import KEEP_RUNNING_SETTING, Tray
from tests.fakes import FakeLLMServer, Scenario
from tests.support.qt_helpers import open_main_window

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
        dispatch = workspace.dispatcher.dispatch(request)
        tasks.append(ctx.spawn(ctx.engine_run(dispatch), what="dispatch"))
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
    # Highlighted by the view's clock, at its next tick (every 100 ms).
    qtbot.waitUntil(
        lambda: all(
            live.model.index(row, 0).data(int(Qt.ItemDataRole.BackgroundRole)) is not None
            for row in range(10)
        ),
        timeout=1000,
    )
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


# -- notifications ------------------------------------------------------------------------------


def _failed_runs(ctx: AppContext, count: int) -> list[str]:
    store = ctx.workspace.store
    now = int(time.time() * 1000)
    ids = []
    for i in range(count):
        run_id, run_no = store.create_run(NewRun("claude", "m", "cli", now), owner="x").result()
        store.finish_run(
            run_id,
            run_no,
            RunEnd("failed", now + i, 1_000_000, error_class="server_error", error_message="boom"),
        )
        ids.append(run_id)
    return ids


def test_a_failure_notifies_and_its_click_opens_the_run(
    open_ctx: AppContext, qtbot: Any, show: Any
) -> None:
    host = show(QWidget())
    policy = NotifyPolicy(coalesce_ms=100, min_gap_ms=0)
    service = NotificationService(open_ctx, tray_available=False, policy=policy)
    service.set_window(host)
    open_ctx.bridge.sig_run_ended.connect(service.on_run_ended)
    statuses: list[str] = []
    open_ctx.sig_status_message.connect(statuses.append)
    with qtbot.waitSignal(service.sig_notification_shown, timeout=5_000) as shown:
        (run_id,) = _failed_runs(open_ctx, 1)
    note = shown.args[0]
    assert note.kind == "failure" and note.run_id == run_id and note.body == "boom"
    # No tray here: said once, and the notification shows in the window instead.
    assert statuses.count(NO_TRAY_TEXT) == 1
    assert service.toast is not None and service.toast.isVisible()
    with qtbot.waitSignal(open_ctx.sig_navigate) as navigated:
        service.open(note)
    assert navigated.args == ["runs", {"run_id": run_id}]
    with qtbot.waitSignal(service.sig_notification_shown, timeout=5_000):
        _failed_runs(open_ctx, 1)
    assert statuses.count(NO_TRAY_TEXT) == 1  # only once


def test_a_burst_of_100_failures_gives_one_summary_that_opens_the_failures(
    open_ctx: AppContext, qtbot: Any
) -> None:
    service = NotificationService(
        open_ctx, tray_available=False, policy=NotifyPolicy(coalesce_ms=1_500)
    )
    open_ctx.bridge.sig_run_ended.connect(service.on_run_ended)
    shown: list[Notification] = []
    service.sig_notification_shown.connect(shown.append)
    _failed_runs(open_ctx, 100)
    qtbot.waitUntil(lambda: bool(shown), timeout=10_000)
    assert len(shown) == 1 and service.batcher.pending == 0
    (note,) = shown
    assert note.is_summary and note.failures == 100 and note.title == "100 runs failed"
    with qtbot.waitSignal(open_ctx.sig_navigate) as navigated:
        service.open(note)
    assert navigated.args[0] == "runs"
    assert navigated.args[1]["statuses"] == ["failed", "interrupted"]


def test_a_watched_run_notifies_on_completion(open_ctx: AppContext, qtbot: Any) -> None:
    service = NotificationService(
        open_ctx, tray_available=False, policy=NotifyPolicy(coalesce_ms=50)
    )
    service.watch("run-0000watched")
    assert service.is_watched("run-0000watched")
    with qtbot.waitSignal(service.sig_notification_shown, timeout=5_000) as shown:
        service.offer(RunEnding("run-0000watched", "completed", 3_000, "bot"))
        service.offer(RunEnding("run-0000quick", "completed", 3_000, "bot"))  # not watched
    assert shown.args[0].title == "@bot completed" and service.batcher.pending == 0


# -- the tray and close-to-tray ---------------------------------------------------------------


class _Window(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.quits = 0
        self.raised = 0

    def quit_app(self) -> None:
        self.quits += 1

    def bring_to_front(self) -> None:
        self.raised += 1


def test_tray_menu_lists_runs_kills_stuck_pauses_schedules_and_quits(
    open_ctx: AppContext, qtbot: Any, fake: FakeLLMServer, other_process: str
) -> None:
    window = _Window()
    qtbot.addWidget(window)
    tray = Tray(open_ctx, window, available=False)
    assert tray.icon is None  # offscreen: no tray, but the menu is there
    store = open_ctx.workspace.store
    now = int(time.time() * 1000)
    old = NewRun("claude", "m", "cli", now - 120_000)
    stuck_id, _ = store.create_run(old, owner=other_process).result()
    (task,) = _stalled_dispatches(open_ctx, fake, 1)
    qtbot.waitUntil(lambda: len(open_ctx.workspace.live) == 1, timeout=5_000)
    with qtbot.waitSignal(tray.sig_menu_rebuilt, timeout=5_000):
        tray.refresh()
    assert tray.count == 2 and "2 runs in flight" in tray.tooltip()
    assert len(tray.run_actions) == 2
    texts = [a.text() for a in tray.menu.actions()]
    assert {"Open window", "Kill all stuck", "Pause schedules", "Quit"} <= set(texts)
    # A running dispatch opens its run (and the window).
    mine = next(a for a in tray.run_actions if a.data() != stuck_id)
    with qtbot.waitSignal(open_ctx.sig_navigate) as navigated:
        mine.trigger()
    assert navigated.args[1] == {"run_id": mine.data()} and window.raised == 1
    # Kill all stuck: only the run quiet for two minutes (another process's: flagged).
    tray.kill_stuck_action.trigger()
    qtbot.waitUntil(lambda: store.get_run(stuck_id).kill_requested_at is not None, timeout=5_000)
    assert not task.done()
    # Pause / resume schedules.
    scheduler = open_ctx.workspace.automations.scheduler
    tray.pause_action.trigger()
    assert scheduler.paused and tray.pause_action.text() == "Resume schedules"
    assert "schedules paused" in tray.tooltip()
    tray.pause_action.trigger()
    assert not scheduler.paused and tray.pause_action.text() == "Pause schedules"
    tray.open_action.trigger()
    assert window.raised == 2
    tray.quit_action.trigger()
    assert window.quits == 1
    open_ctx.engine.call(open_ctx.workspace.live.kill_all).result(5)
    qtbot.waitUntil(task.done, timeout=5_000)


def test_close_hides_to_the_tray_once_said_and_quit_really_quits(
    ui_ctx: AppContext, qtbot: Any, monkeypatch: Any
) -> None:
    window = open_main_window(ui_ctx, qtbot)
    assert window.tray is not None and ui_ctx.notifications is window.notifications
    window.tray.available = True  # as on a desktop with a tray (offscreen has none)
    said: list[Notification] = []
    window.notifications.sig_notification_shown.connect(said.append)
    quits: list[bool] = []
    monkeypatch.setattr(QApplication, "quit", lambda *_a: quits.append(True))
    window.close()
    assert not window.isVisible() and not ui_ctx.closing and not quits
    assert len(said) == 1 and "still running" in said[0].title
    window.show()  # as the tray's Open window does (raise() is not offscreen's)
    window.close()
    assert not window.isVisible() and len(said) == 1  # said only the first time
    # The setting off: closing quits.
    ui_ctx.settings.setValue(KEEP_RUNNING_SETTING, False)
    window.show()
    window.close()
    qtbot.waitUntil(lambda: bool(quits), timeout=10_000)
    assert ui_ctx.closing


def test_quit_from_the_tray_quits_even_when_hidden(
    ui_ctx: AppContext, qtbot: Any, monkeypatch: Any
) -> None:
    window = open_main_window(ui_ctx, qtbot)
    window.tray.available = True
    quits: list[bool] = []
    monkeypatch.setattr(QApplication, "quit", lambda *_a: quits.append(True))
    window.close()
    assert not window.isVisible()
    window.tray.quit_action.trigger()
    qtbot.waitUntil(lambda: bool(quits), timeout=10_000)
    assert ui_ctx.closing


def test_watch_this_run_in_run_details(
    open_ctx: AppContext, qtbot: Any, show: Any, other_process: str
) -> None:
    service = NotificationService(open_ctx, tray_available=False)
    open_ctx.notifications = service
    store = open_ctx.workspace.store
    run_id, _ = store.create_run(
        NewRun("claude", "m", "cli", int(time.time() * 1000)), owner=other_process
    ).result()
    page = _page(open_ctx, qtbot, show)
    page.open_run(run_id)
    details = page.details
    qtbot.waitUntil(lambda: details.run is not None and details.watch_button.isVisible())
    with qtbot.waitSignal(service.sig_watch_changed) as changed:
        details.watch_button.click()
    assert changed.args == [run_id, True] and service.is_watched(run_id)
    details.watch_button.click()
    assert not service.is_watched(run_id)
