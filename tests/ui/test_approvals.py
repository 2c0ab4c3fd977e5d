"""Tool calls that wait for the user, end to end: the official SDK against the wire fake (which
asks for shop__write_note), the real MCP test server over stdio (which really writes the note),
a real log. Chat's inline card, the run details banner, the Live view, the status bar, and what
Telemetry and the inspector show of tool actions afterwards."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from ato_desktop.core.models import Trigger
from ato_desktop.core.records import AgentRecord, NewAction, NewRun, RunEnd
from ato_desktop.engine.credentials import CredentialStore
from ato_desktop.engine.dispatcher import DispatchRequest
from ato_desktop.ui.chat.conversation_view import APPROVED, DENIED, UNANSWERED, AnswerTurn
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.main_window import MainWindow
from ato_desktop.ui.pages.chat_page import ChatPage
from ato_desktop.ui.pages.runs_page import DETAILS, LIVE, RunsPage
from ato_desktop.ui.runs.live_view import COL_LAST
from ato_desktop.ui.runs.telemetry import COL_NAME, TAGS_ROLE
from tests.fakes import FakeLLMServer
from tests.support.builders import approval_clerk
from tests.support.qt_helpers import show_page

NOW = int(time.time() * 1000)


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    return tmp_path / "notes.txt"


@pytest.fixture
def clerk(
    open_ctx: AppContext, fake: FakeLLMServer, notes: Path, keys: CredentialStore
) -> AgentRecord:
    """An agent whose write_note calls wait for approval, on a registered stdio server."""
    return approval_clerk(open_ctx.workspace, fake, notes, "hi")


def _chat(ctx: AppContext, qtbot: Any, agent: AgentRecord) -> ChatPage:
    page = show_page(qtbot, ChatPage(ctx))
    qtbot.waitUntil(lambda: page.picker.select_agent(agent.id), timeout=5_000)
    page.composer.set_text("Note hi for me")
    qtbot.keyClick(page.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bool(page.pending_approval_cards()), timeout=20_000)
    return page


def _answer(page: ChatPage) -> AnswerTurn:
    widget = page.conversation.turn(page.conversation.keys[-1])
    assert isinstance(widget, AnswerTurn)
    return widget


def test_chat_card_approve_runs_the_tool_and_completes(
    open_ctx: AppContext, qtbot: Any, clerk: AgentRecord, notes: Path
) -> None:
    page = _chat(open_ctx, qtbot, clerk)
    (card,) = page.pending_approval_cards()
    assert "clerk" in card.title.text() and "shop/write_note" in card.title.text()
    assert json.loads(card.arguments.text()) == {"text": "hi"}
    answer = _answer(page)
    assert "Waiting for your approval to run shop/write_note" in answer.stats.status.text()
    assert not notes.exists()  # nothing runs before the user says so

    # Keyboard: the Approve button takes Space like any button with focus.
    card.approve_button.setFocus()
    qtbot.keyClick(card.approve_button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not page.streaming, timeout=20_000)
    assert notes.read_text(encoding="utf-8") == "hi\n"  # the tool really ran
    assert card.state == APPROVED and card.record.isVisible()
    assert card.record.text() == "✓  Approved: shop/write_note"
    assert not card.approve_button.isVisible()
    answer = _answer(page)
    assert "Done." in answer.body.markdown_source()
    qtbot.waitUntil(lambda: "2 messages" in page.subtitle_label.text(), timeout=5_000)

    run_id = answer.stats._run_id
    write = next(a for a in open_ctx.workspace.store.get_actions(run_id) if a.kind == "tool")
    assert write.outcome == "success" and write.meta["approval"] == "approved"

    # The subtitle keeps its count when the agents list reloads (an agent edit).
    open_ctx.workspace.agents.edit("clerk", {"system_prompt": "Be brief."}, source="test")
    qtbot.waitUntil(lambda: "version 2" in page.picker.agent_combo.itemData(1, 3), timeout=5_000)
    assert page.subtitle_label.text().endswith("2 messages")


def test_chat_card_deny_blocks_the_tool(
    open_ctx: AppContext, qtbot: Any, clerk: AgentRecord, notes: Path
) -> None:
    page = _chat(open_ctx, qtbot, clerk)
    (card,) = page.pending_approval_cards()
    qtbot.mouseClick(card.deny_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.streaming, timeout=20_000)
    assert not notes.exists()
    assert card.state == DENIED and "Denied: shop/write_note was not run" in card.record.text()
    run_id = _answer(page).stats._run_id
    write = next(a for a in open_ctx.workspace.store.get_actions(run_id) if a.kind == "tool")
    assert write.outcome == "blocked" and write.meta["approval"] == "denied"


def test_stop_while_waiting_leaves_no_live_buttons(
    open_ctx: AppContext, qtbot: Any, clerk: AgentRecord, notes: Path
) -> None:
    page = _chat(open_ctx, qtbot, clerk)
    (card,) = page.pending_approval_cards()
    page.stop()
    qtbot.waitUntil(lambda: not page.streaming, timeout=10_000)
    qtbot.waitUntil(lambda: card.state == UNANSWERED, timeout=5_000)
    assert "Not answered" in card.record.text() and not notes.exists()
    assert not open_ctx.approvals.pending()


def test_run_details_banner_live_view_and_status_bar(
    open_ctx: AppContext, qtbot: Any, clerk: AgentRecord, notes: Path
) -> None:
    window = MainWindow(open_ctx)
    # No "runs in flight" question at teardown should an assertion fail mid-run.
    qtbot.addWidget(window, before_close_func=lambda w: setattr(w, "_quitting", True))
    window._on_workspace_ready(open_ctx.workspace)  # the context opened before the window
    page = RunsPage(open_ctx)
    qtbot.addWidget(page)
    page.setMinimumSize(900, 640)
    page.resize(1100, 760)
    page.show()
    page.activate({"tab": LIVE})
    task = open_ctx.spawn(
        open_ctx.engine_run(
            open_ctx.workspace.dispatcher.dispatch(
                DispatchRequest("Note hi", agent="clerk", trigger=Trigger.UI)
            )
        )
    )
    assert task is not None
    qtbot.waitUntil(lambda: bool(open_ctx.approvals.pending()), timeout=20_000)
    (request,) = open_ctx.approvals.pending()

    live = page.live.model
    qtbot.waitUntil(lambda: live.rowCount() == 1, timeout=5_000)
    last = live.index(0, COL_LAST)
    qtbot.waitUntil(
        lambda: str(last.data()).startswith("Waiting for approval: shop/write_note"),
        timeout=5_000,
    )
    with qtbot.waitSignal(page.live.sig_loaded, timeout=5_000):
        page.live.reload()  # a reload (a run started elsewhere) keeps saying so
    assert str(live.index(0, COL_LAST).data()).startswith("Waiting for approval")

    assert window.waiting_text == "⚠  A run waits for your approval: shop/write_note"
    window.open_waiting_run()  # what clicking the status-bar notice does
    runs_page = window.page("runs")
    assert window.current_page_id == "runs" and isinstance(runs_page, RunsPage)
    assert runs_page.view == DETAILS
    qtbot.waitUntil(lambda: runs_page.details.run_id == request.run_id, timeout=5_000)

    page.open_run(request.run_id)
    assert page.view == DETAILS
    details = page.details
    assert details.approval_banner.isVisible()
    assert "shop/write_note" in details.approval_text.text()
    assert 'text="hi"' in details.approval_text.text().replace("&quot;", '"')
    qtbot.mouseClick(details.approve_button, Qt.MouseButton.LeftButton)
    assert not details.approval_banner.isVisible() and window.waiting_text == ""
    qtbot.waitUntil(task.done, timeout=20_000)
    assert task.result().status.value == "completed" and notes.read_text() == "hi\n"
    qtbot.waitUntil(lambda: live.rowCount() == 0, timeout=5_000)

    # Telemetry: the tool action shows its server and its approval; the inspector too.
    telemetry = details.telemetry
    qtbot.waitUntil(lambda: telemetry.model.total == 3, timeout=5_000)
    row = next(
        r
        for r in range(telemetry.model.rowCount())
        if telemetry.model.row_at(telemetry.model.index(r, 0)).action.kind == "tool"
    )
    name = telemetry.model.index(row, COL_NAME)
    assert name.data() == "shop/write_note"
    assert ("approved", "completed") in name.data(TAGS_ROLE)
    assert not any(tag == "read-only" for tag, _c in name.data(TAGS_ROLE))
    telemetry.tree.setCurrentIndex(name)
    inspector = telemetry.inspector
    assert inspector.title.text().endswith("shop/write_note")
    assert inspector.tool_box.isVisible() and not inspector.files_box.isVisible()
    assert inspector._tool_fields["server"].text() == "shop"
    # Who answered (in the app, this OS account) and when, as the run recorded it.
    said = inspector._tool_fields["approval"].text()
    assert said.startswith("Approved by you, in the app (") and said.endswith("after it was asked")
    assert inspector._tool_fields["read_only"].text().startswith("No")


def test_blocked_read_only_and_files_touched_in_telemetry(open_ctx: AppContext, qtbot: Any) -> None:
    store = open_ctx.workspace.store
    run_id = f"{NOW:012x}" + "cd" * 10

    def action(name: str, kind: str, outcome: str = "success", **kw: Any) -> NewAction:
        return NewAction(name, kind, outcome, NOW - 4000, NOW - 3000, **kw)

    actions = [
        action("lookup_order", "tool", meta={"server": "shop", "read_only": True}),
        action(
            "write_note",
            "tool",
            "blocked",
            meta={"server": "shop", "read_only": False, "approval": "denied"},
            error_message="The user denied this tool call.",
        ),
        action(
            "Edit",
            "file",
            meta={
                "files_touched": [
                    {"path": "src/app.py", "change": "edited"},
                    {"path": "src/new.py", "change": "created"},
                    {"path": "old.txt", "change": "deleted"},
                ]
            },
        ),
    ]
    new = NewRun("claude-code", "claude-sonnet-5", "cli", NOW - 5000, id=run_id)
    with qtbot.waitSignal(open_ctx.bridge.sig_runs_bulk_changed, timeout=5000):
        store.ingest([(new, RunEnd("completed", NOW, 5_000_000_000), actions)]).result()
    page = RunsPage(open_ctx)
    qtbot.addWidget(page)
    page.setMinimumSize(900, 640)
    page.resize(1100, 760)
    page.show()
    page.activate({"run_id": run_id})
    telemetry = page.details.telemetry
    qtbot.waitUntil(lambda: telemetry.model.total == 3, timeout=5_000)
    model = telemetry.model
    assert model.index(0, COL_NAME).data() == "shop/lookup_order"
    assert model.index(0, COL_NAME).data(TAGS_ROLE) == (("read-only", "accent"),)
    assert model.index(1, COL_NAME).data(TAGS_ROLE) == (("denied", "failed"),)
    assert model.index(2, COL_NAME).data(TAGS_ROLE) == (("3 files", "neutral"),)
    telemetry.outcome.setCurrentIndex(telemetry.outcome.findData("blocked"))
    assert model.rowCount() == 1
    telemetry.tree.setCurrentIndex(model.index(0, 0))
    inspector = telemetry.inspector
    assert inspector.outcome.text() == "⊘ blocked"
    assert inspector._tool_fields["approval"].text() == "Denied: it was not run"
    telemetry.outcome.setCurrentIndex(0)
    telemetry.tree.setCurrentIndex(model.index(2, 0))
    assert inspector.files_box.isVisible() and not inspector.tool_box.isVisible()
    assert inspector.files_title.text() == "Files touched (3)"
    text = inspector.files.text()
    assert "src/app.py" in text and "created" in text and "deleted" in text
    telemetry.search.setText("new.py")  # files touched are searchable
    qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=2_000)
