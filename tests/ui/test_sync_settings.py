"""Settings → Cloud sync against a loopback OTLP collector, with the token in a memory keyring."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit

from ato_desktop.ui.context import AppContext
from ato_desktop.ui.pages.settings_page import SettingsPage
from ato_desktop.ui.settings.sync_section import SyncSection
from tests.engine.test_otlp_sync import finished_run
from tests.fakes.otlp_server import FakeOtlpServer
from tests.support.memory_keyring import MemoryKeyring
from tests.support.qt_helpers import Show

TOKEN = "otlp-ui-token-PLANTED-0123456789abcdef"
TOKEN2 = "otlp-ui-token-RENEWED-fedcba9876543210"


@pytest.fixture
def collector(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOtlpServer]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with FakeOtlpServer() as server:
        yield server


@pytest.fixture
def section(open_ctx: AppContext, qtbot: Any, show: Show) -> Iterator[SyncSection]:
    card = SyncSection(open_ctx)
    show(card, height=900)
    with qtbot.waitSignal(card.sig_status_shown, timeout=10_000):
        open_ctx.spawn(card.load())
    yield card
    card.close_receiver()


def _texts(card: SyncSection) -> str:
    widgets = card.findChildren(QLabel) + card.findChildren(QLineEdit)
    return "\n".join([w.text() for w in widgets] + [w.toolTip() for w in widgets])


def _configure(card: SyncSection, qtbot: Any, url: str, token: str) -> None:
    card.endpoint.setText(url)
    card.auth.setCurrentIndex(card.auth.findData("bearer"))
    assert card.token.isVisible() and card.token.echoMode() == QLineEdit.EchoMode.Password
    assert card.token_state.text() == "○ not set"
    card.token.setText(token)
    card.enabled.setChecked(True)
    with qtbot.waitSignal(card.sig_saved, timeout=10_000):
        qtbot.mouseClick(card.save_button, Qt.MouseButton.LeftButton)
    assert card.token.text() == ""
    assert card.token_state.text() == "● saved"


def test_send_now_delivers_an_ended_run_and_the_token_stays_in_the_keyring(
    section: SyncSection,
    open_ctx: AppContext,
    qtbot: Any,
    collector: FakeOtlpServer,
    memory_keyring: MemoryKeyring,
) -> None:
    assert "Cloud sync is off" in section.status_line.text()
    _configure(section, qtbot, collector.url, TOKEN)
    workspace = open_ctx.workspace
    assert workspace is not None
    run_id = finished_run(workspace)

    qtbot.waitUntil(section.send_now_button.isEnabled, timeout=10_000)
    qtbot.mouseClick(section.send_now_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: run_id in collector.accepted_run_ids(), timeout=10_000)
    qtbot.waitUntil(lambda: section.status_line.text().startswith("Synced"), timeout=10_000)
    assert collector.accepted()[0].headers["authorization"] == f"Bearer {TOKEN}"

    assert TOKEN not in _texts(section)
    assert TOKEN.encode() not in workspace.paths.database.read_bytes()
    wal = workspace.paths.database.with_name(workspace.paths.database.name + "-wal")
    if wal.exists():
        assert TOKEN.encode() not in wal.read_bytes()


def test_plain_http_to_another_host_is_refused_with_a_message(
    section: SyncSection, open_ctx: AppContext, qtbot: Any
) -> None:
    section.endpoint.setText("http://collector.example.com:4318")
    assert section.endpoint_message.isVisible()
    assert "https" in section.endpoint_message.text()
    section.enabled.setChecked(True)
    with qtbot.waitSignal(section.sig_refused, timeout=5_000) as refused:
        qtbot.mouseClick(section.save_button, Qt.MouseButton.LeftButton)
    assert "https" in refused.args[0]
    assert section.message.isVisible() and "https" in section.message.text()
    assert open_ctx.workspace is not None
    assert open_ctx.workspace.sync.config().endpoint is None

    section.endpoint.setText("http://127.0.0.1:4318")
    assert "Traces go to http://127.0.0.1:4318/v1/traces" in section.endpoint_message.text()


def test_401_shows_sign_in_and_a_new_token_resumes(
    section: SyncSection,
    open_ctx: AppContext,
    qtbot: Any,
    collector: FakeOtlpServer,
    memory_keyring: MemoryKeyring,
) -> None:
    collector.script([(401, {})])
    _configure(section, qtbot, collector.url, TOKEN)
    workspace = open_ctx.workspace
    assert workspace is not None
    run_id = finished_run(workspace)

    # The worker sends the ended run on its own; Send now does too, whichever comes first.
    section.send_now()
    qtbot.waitUntil(lambda: section.sign_in.isVisible(), timeout=10_000)
    assert section.status_line.text().startswith("Sign in to sync")
    assert section.status is not None and section.status.needs_sign_in
    assert not section.send_now_button.isEnabled()

    section.window().activateWindow()
    qtbot.mouseClick(section.sign_in_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(section.token.hasFocus, timeout=5_000)

    section.token.setText(TOKEN2)
    with qtbot.waitSignal(section.sig_saved, timeout=10_000):
        section.token.returnPressed.emit()
    qtbot.waitUntil(lambda: run_id in collector.accepted_run_ids(), timeout=10_000)
    assert collector.accepted()[-1].headers["authorization"] == f"Bearer {TOKEN2}"
    qtbot.waitUntil(lambda: not section.sign_in.isVisible(), timeout=10_000)
    assert TOKEN2 not in _texts(section)


def test_settings_page_navigates_to_the_sync_section(
    open_ctx: AppContext, qtbot: Any, show: Show
) -> None:
    page = SettingsPage(open_ctx)
    show(page)
    with qtbot.waitSignal(page.sig_section_shown, timeout=10_000) as shown:
        page.activate({"section": "sync"})
    assert shown.args == ["sync"]
    assert page.current_section == "sync"
    page.sync.close_receiver()


def test_local_receiver_starts_and_stops(section: SyncSection, qtbot: Any) -> None:
    section.receiver_port.setValue(_free_port())
    with qtbot.waitSignal(section.sig_receiver_changed, timeout=5_000) as changed:
        section.receiver_toggle.setChecked(True)
    assert changed.args == [True]
    assert section.receiver is not None
    assert "Listening" in section.receiver_message.text()
    with qtbot.waitSignal(section.sig_receiver_changed, timeout=5_000) as changed:
        section.receiver_toggle.setChecked(False)
    assert changed.args == [False] and section.receiver is None


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_project_name_and_received_runs_are_settings_of_the_form(
    section: SyncSection, open_ctx: AppContext, qtbot: Any, collector: FakeOtlpServer
) -> None:
    assert section.project_name.placeholderText() == "ato-desktop"
    assert not section.include_ingested.isChecked()
    section.project_name.setText("  support   bots ")
    section.include_ingested.setChecked(True)
    _configure(section, qtbot, collector.url, TOKEN)
    assert open_ctx.workspace is not None
    config = open_ctx.workspace.sync.config()
    assert config.project_name == "support bots" and config.include_ingested

    section.project_name.setText("")
    section.include_ingested.setChecked(False)
    section.project_name.setText("elsewhere")
    with qtbot.waitSignal(section.sig_loaded, timeout=10_000):
        open_ctx.spawn(section.load())
    # Loading shows what is stored, not what was typed.
    assert section.project_name.text() == "support bots"
    assert section.include_ingested.isChecked()
