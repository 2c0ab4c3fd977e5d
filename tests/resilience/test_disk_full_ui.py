"""The app on a full disk: one banner (no dialog per refused write) until writes work again."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLabel

from ato_desktop.core.models import AgentConfig
from ato_desktop.engine.credentials import CredentialStore
from ato_desktop.engine.dispatcher import DispatchRequest
from ato_desktop.ui.context import AppContext
from tests.fakes import FakeLLMServer, Scenario
from tests.resilience.test_disk_full import MODEL, SMALL_CHUNKS, cap_job, uncap
from tests.support.qt_helpers import open_main_window


def test_a_full_disk_shows_a_banner_until_a_run_is_written_again(
    ui_ctx: AppContext, qtbot: Any, fake: FakeLLMServer, keys: CredentialStore
) -> None:
    window = open_main_window(ui_ctx, qtbot)
    try:
        ws = ui_ctx.workspace
        ws.agents.create(
            "writer", AgentConfig(runtime="claude", model=MODEL, base_url=fake.anthropic_base_url)
        )
        fake.scenario = Scenario(chunks=SMALL_CHUNKS)
        dialogs: list[tuple[str, str]] = []
        ui_ctx.sig_error.connect(lambda title, text: dialogs.append((title, text)))
        banner = window.findChild(QLabel, "StoreFullBanner")
        assert banner is not None and not banner.isVisible()

        ws.store.submit(cap_job()).result()
        request = DispatchRequest("Hi", agent="writer", tags={"note": "y" * 200_000})
        with qtbot.waitSignal(ui_ctx.sig_store_full, timeout=10_000):
            ui_ctx.spawn(
                ui_ctx.engine_run(ws.dispatcher.dispatch(request)), what="send the message"
            )
        assert banner.isVisible() and "is full" in banner.text()
        assert str(ui_ctx.paths.root) in banner.text()
        assert dialogs == []

        uncap(ws)
        with qtbot.waitSignal(ui_ctx.bridge.sig_run_ended, timeout=10_000):
            ui_ctx.spawn(
                ui_ctx.engine_run(ws.dispatcher.dispatch(DispatchRequest("Hi", agent="writer")))
            )
        assert not banner.isVisible()
    finally:
        done: list[bool] = []
        ui_ctx.spawn(ui_ctx.shutdown()).add_done_callback(lambda _t: done.append(True))
        qtbot.waitUntil(lambda: bool(done), timeout=10_000)
