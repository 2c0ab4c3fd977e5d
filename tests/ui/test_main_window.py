"""The main window shell: painted before the log opens, a clear failure when it cannot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QLabel

from ato_desktop.ui.context import AppContext
from ato_desktop.ui.main_window import MainWindow


def test_damaged_log_shows_a_failure_view_and_is_untouched(
    ui_ctx: AppContext, qtbot: Any, ato_home: Path
) -> None:
    db = ato_home / "ato.sqlite3"
    db.write_bytes(b"not a database" * 100)
    window = MainWindow(ui_ctx)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(ui_ctx.sig_workspace_failed, timeout=10_000):
        ui_ctx.spawn(ui_ctx.open_workspace())
    message = window.findChild(QLabel, "FailureMessage")
    assert message is not None and message.isVisible()
    assert "damaged" in message.text() and "not modified" in message.text()
    assert db.read_bytes() == b"not a database" * 100


def test_malformed_prices_file_does_not_lock_the_app_out(
    ui_ctx: AppContext, qtbot: Any, ato_home: Path
) -> None:
    (ato_home / "prices.json").write_text('{"models": {"x": {"input_per_mtok": "free"}}}')
    errors: list[tuple[str, str]] = []
    ui_ctx.sig_error.connect(lambda title, text: errors.append((title, text)))
    with qtbot.waitSignal(ui_ctx.sig_workspace_ready, timeout=10_000):
        ui_ctx.spawn(ui_ctx.open_workspace())
    assert errors and "prices.json" in errors[0][1] and "Settings" in errors[0][1]
    assert ui_ctx.workspace.price_file_error
    done: list[bool] = []
    ui_ctx.spawn(ui_ctx.shutdown()).add_done_callback(lambda _t: done.append(True))
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)
