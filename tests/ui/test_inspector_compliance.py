"""The inspector's compliance section: what applied to a run. A real dispatch whose tool call
waits for approval (answered from run details), cloud sync to a loopback OTLP collector, the
retention setting; and the Meta tab never shows a bare `null`."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ato_desktop.core.compliance import DAY_MS
from ato_desktop.core.models import Trigger
from ato_desktop.core.records import AgentRecord, NewAction, NewRun, RunEnd
from ato_desktop.engine.credentials import CredentialStore
from ato_desktop.engine.dispatcher import DispatchRequest
from ato_desktop.engine.retention import save_retention_days
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.pages.runs_page import RunsPage
from tests.fakes import FakeLLMServer
from tests.fakes.otlp_server import FakeOtlpServer
from tests.support.builders import approval_clerk
from tests.support.qt_helpers import run_on_engine
from tests.ui.test_runs_page import make_page


@pytest.fixture
def collector(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOtlpServer]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with FakeOtlpServer() as server:
        yield server


@pytest.fixture
def clerk(
    open_ctx: AppContext, fake: FakeLLMServer, tmp_path: Path, keys: CredentialStore
) -> AgentRecord:
    """An agent whose write_note calls wait for approval, on a registered stdio server."""
    return approval_clerk(
        open_ctx.workspace,
        fake,
        tmp_path / "notes.txt",
        "call bob@example.com",
        timeout_s=10,
        source="ui",
    )


def _open(page: RunsPage, qtbot: Any, run_id: str) -> None:
    with qtbot.waitSignal(page.details.sig_run_loaded, timeout=5000):
        page.open_run(run_id)


def _select_action(page: RunsPage, qtbot: Any, kind: str) -> Any:
    telemetry = page.details.telemetry
    qtbot.waitUntil(lambda: telemetry.model.total > 0, timeout=5000)
    for row in range(telemetry.model.rowCount()):
        index = telemetry.model.index(row, 0)
        action_row = telemetry.model.row_at(index)
        if action_row is not None and action_row.action.kind == kind:
            telemetry.tree.setCurrentIndex(index)
            return telemetry.inspector
    raise AssertionError(f"no {kind} action")


def test_what_applied_to_a_run_approved_and_synced(
    open_ctx: AppContext, qtbot: Any, clerk: AgentRecord, collector: FakeOtlpServer
) -> None:
    workspace = open_ctx.workspace
    workspace.sync.configure(endpoint=collector.url, enabled=True, include_content=True)
    page = make_page(open_ctx, qtbot)
    task = open_ctx.spawn(
        open_ctx.engine_run(
            workspace.dispatcher.dispatch(
                DispatchRequest("Note: call bob", agent="clerk", trigger=Trigger.UI)
            )
        )
    )
    # The call waits for approval; the run's details ask, and the user approves there.
    qtbot.waitUntil(lambda: bool(open_ctx.approvals.pending()), timeout=60_000)
    (request,) = open_ctx.approvals.pending()
    page.open_run(request.run_id)
    details = page.details
    qtbot.waitUntil(lambda: details.approval_banner.isVisible(), timeout=5000)
    time.sleep(0.02)  # a measurable wait between the ask and the answer
    details.approve_button.click()
    qtbot.waitUntil(task.done, timeout=30_000)
    result = task.result()
    assert result.status.value == "completed"
    # The ended run went to the outbox; the sync worker sends it to the collector.
    run_on_engine(open_ctx, qtbot, workspace.sync.sync_now())
    assert len(collector.accepted()) == 1

    _open(page, qtbot, result.run_id)
    inspector = _select_action(page, qtbot, "tool")
    # (Read again when the run ended, and again when opened after the send: the newest wins.)
    qtbot.waitUntil(
        lambda: inspector.compliance is not None and inspector.compliance.sync.state == "synced",
        timeout=5000,
    )
    facts = inspector.compliance
    (approval,) = facts.approvals
    assert approval.tool == "shop/write_note" and approval.decision == "approved"
    assert approval.by == "user" and approval.account
    assert approval.requested_at <= approval.decided_at
    # The tool box says who answered and when.
    said = inspector._tool_fields["approval"].text()
    assert said.startswith("Approved by you, in the app") and "after it was asked" in said

    # Collapsed: one line; opened: a line per thing that applied.
    assert inspector.compliance_header.isVisible() and not inspector.compliance_box.isVisible()
    summary = inspector.compliance_summary.text()
    assert summary.startswith("v1 · 1 approval · synced · archived after ")
    inspector.compliance_toggle.click()
    assert inspector.compliance_box.isVisible()
    text = inspector.compliance_text()
    assert (
        text["Config"].startswith("clerk v1, the version of ")
        and "edited in the app" in text["Config"]
    )
    assert text["Approvals"].startswith(f"#{approval.seq} shop/write_note: approved by you")
    endpoint = workspace.sync.config().endpoint  # the collector's traces path
    assert endpoint.startswith(collector.url) and text["Sync"].startswith(f"Sent to {endpoint} at ")
    assert "PII redaction: email, phone, card, api_key" in text["Redaction"]
    assert "API keys are scrubbed" in text["Redaction"]
    due = datetime.fromtimestamp((details.run.started_at + 90 * DAY_MS) / 1000)
    assert text["Retention"].startswith(f"Archived after {due:%Y-%m-%d} (90-day retention)")
    # The record is in the log itself, with the settings the run was sent under.
    row = (
        workspace.store.reader()
        .execute(
            "SELECT endpoint, include_content, redaction_json FROM run_syncs WHERE run_id = ?",
            (result.run_id,),
        )
        .fetchone()
    )
    assert row[0] == endpoint and row[1] == 1 and json.loads(row[2])["builtin"]


def _ingest_old_run(ctx: AppContext, qtbot: Any, *, days_ago: int, meta: Any) -> str:
    start = int(time.time() * 1000) - days_ago * DAY_MS
    run_id = f"{start:012x}" + "ab" * 10
    with qtbot.waitSignal(ctx.bridge.sig_runs_bulk_changed, timeout=5000):
        ctx.workspace.store.ingest(
            [
                (
                    NewRun("claude", "claude-sonnet-5", "cli", start, id=run_id),
                    RunEnd("completed", start + 10, 10_000_000),
                    [
                        NewAction("call_llm", "llm", "success", start, start + 5, meta=None),
                        NewAction("write_note", "tool", "success", start + 5, start + 9, meta=meta),
                    ],
                )
            ]
        ).result()
    return run_id


def test_retention_states_and_an_approval_recorded_before_who_and_when(
    open_ctx: AppContext, qtbot: Any
) -> None:
    # A run of 100 days ago, from an older app: its approval has no who/when.
    run_id = _ingest_old_run(
        open_ctx, qtbot, days_ago=100, meta={"server": "shop", "approval": "approved"}
    )
    page = make_page(open_ctx, qtbot)
    _open(page, qtbot, run_id)
    inspector = _select_action(page, qtbot, "tool")
    qtbot.waitUntil(lambda: inspector.compliance is not None, timeout=5000)
    text = inspector.compliance_text()
    assert text["Config"] == "No agent: claude · claude-sonnet-5 given directly"
    assert text["Approvals"].endswith("approved (who and when were not recorded for this run)")
    assert inspector._tool_fields["approval"].text() == "Approved before it ran"
    assert text["Retention"] == "Past its 90 days: the next daily pass archives it"
    assert text["Sync"].startswith("Not sent: cloud sync is off")
    assert text["Redaction"].startswith("API keys are scrubbed") and "PII" not in text["Redaction"]

    # Retention off in Settings: kept.
    save_retention_days(open_ctx.paths, None)
    _open(page, qtbot, run_id)
    inspector = _select_action(page, qtbot, "tool")
    qtbot.waitUntil(
        lambda: (
            inspector.compliance is not None
            and inspector.compliance_text()["Retention"].startswith("Kept: retention is off")
        ),
        timeout=5000,
    )
    # A settings.json that cannot be read: said, not guessed.
    open_ctx.paths.settings_file.write_text("{ not json", encoding="utf-8")
    _open(page, qtbot, run_id)
    inspector = _select_action(page, qtbot, "tool")
    qtbot.waitUntil(
        lambda: (
            inspector.compliance is not None
            and inspector.compliance_text()["Retention"].startswith("Unknown: settings.json")
        ),
        timeout=5000,
    )


def test_the_meta_tab_never_shows_a_bare_null(open_ctx: AppContext, qtbot: Any) -> None:
    run_id = _ingest_old_run(open_ctx, qtbot, days_ago=1, meta=None)
    page = make_page(open_ctx, qtbot)
    _open(page, qtbot, run_id)
    inspector = _select_action(page, qtbot, "llm")
    inspector.show_part("meta")
    assert inspector.json.text().strip() != "null"
    assert inspector.json.editor.placeholderText() == "No metadata was recorded for this action."
    inspector.show_part("inputs")  # nothing recorded either: said too
    assert inspector.json.editor.placeholderText() == "No inputs were recorded for this action."
