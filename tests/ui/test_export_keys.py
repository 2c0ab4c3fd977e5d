"""Ctrl+E exports from the Runs page whatever has the focus, a filter field included (a line
edit's own Ctrl+E, "end of line", must not swallow it; nor Ctrl+K, the palette), and the export
dialog opens in the folder of the last export."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit

from ato_desktop.core.records import NewRun, RunEnd
from ato_desktop.store.execution_log import now_ms
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.main_window import MainWindow
from ato_desktop.ui.pages.runs_page import RunsPage
from ato_desktop.ui.runs.export_dialog import ExportDialog
from tests.support.qt_helpers import open_main_window


@pytest.fixture
def window(ui_ctx: AppContext, qtbot: Any) -> Iterator[MainWindow]:
    window = open_main_window(ui_ctx, qtbot, (1280, 820))
    qtbot.waitUntil(lambda: window.current_page_id is not None, timeout=5000)
    t = now_ms()
    ui_ctx.workspace.store.ingest(
        [
            (NewRun("claude", "m", "cli", t - i * 1000), RunEnd("completed", t, 1), [])
            for i in range(3)
        ]
    ).result()
    yield window
    done: list[bool] = []
    ui_ctx.spawn(ui_ctx.shutdown()).add_done_callback(lambda _t: done.append(True))
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)


def _runs_page(window: MainWindow, qtbot: Any) -> RunsPage:
    window.navigate("runs", {"tab": "history"})
    page = window.page("runs")
    assert isinstance(page, RunsPage)
    qtbot.waitUntil(lambda: window.isActiveWindow(), timeout=2000)
    return page


def _press_ctrl_e_in(field: QLineEdit, page: RunsPage, qtbot: Any) -> ExportDialog:
    field.setFocus()
    qtbot.waitUntil(field.hasFocus, timeout=2000)
    with qtbot.waitSignal(page.sig_export_opened, timeout=3000) as opened:
        qtbot.keyClick(field, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    dialog = opened.args[0]
    assert isinstance(dialog, ExportDialog) and dialog.isVisible()
    return dialog


@pytest.mark.parametrize("field", ["agent_edit", "cost_edit", "meta_edit"])
def test_ctrl_e_exports_while_a_filter_field_has_focus(
    window: MainWindow, qtbot: Any, field: str
) -> None:
    page = _runs_page(window, qtbot)
    edit: QLineEdit = getattr(page.filters, field)
    if field == "meta_edit":
        qtbot.keyClicks(edit, "user:alice")
        edit.setCursorPosition(0)
    dialog = _press_ctrl_e_in(edit, page, qtbot)
    dialog.reject()
    if field == "meta_edit":  # the field is untouched by the key (no cursor jump, no "e")
        assert edit.text() == "user:alice" and edit.cursorPosition() == 0


REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(
    shutil.which("xvfb-run") is None, reason="needs xvfb-run (make test installs it)"
)
def test_ctrl_e_and_ctrl_k_beat_a_line_edits_x11_bindings(tmp_path: Path) -> None:
    """On X11 a line edit binds Ctrl+E and Ctrl+K itself (offscreen Qt does not): the real
    window under a real X server."""
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "xcb",
        "PYTHONPATH": str(REPO),
        "ATO_HOME": str(tmp_path / "home"),
        "ATO_OFFLINE": "1",
    }
    done = subprocess.run(
        ["xvfb-run", "-a", sys.executable, "-m", "tests.ui.xcb_keys_child", env["ATO_HOME"]],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, done.stderr[-3000:]
    result = json.loads(lines[-1])
    assert result["platform"] == "xcb" and result["field_binds_ctrl_e"]  # the premise
    assert result["export_opened"], result
    assert result["after_ctrl_e"] == ["user:alice", 0]  # no jump to the end of the line
    assert result["palette_opened"], result
    assert result["after_ctrl_k"] == "user:alice"  # nothing deleted


def test_ctrl_k_opens_the_palette_from_a_filter_field(window: MainWindow, qtbot: Any) -> None:
    page = _runs_page(window, qtbot)
    edit = page.filters.meta_edit
    qtbot.keyClicks(edit, "tenant:acme")
    edit.setCursorPosition(0)
    qtbot.keyClick(edit, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    palette = window.palette_host.palette
    qtbot.waitUntil(lambda: palette is not None and palette.isVisible(), timeout=2000)
    assert edit.text() == "tenant:acme"  # Ctrl+K did not delete to the end of the line
    assert palette is not None
    palette.hide()
    # Typing and the editing keys still belong to the field.
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus, timeout=2000)
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.clipboard().text() == "tenant:acme"
    edit.end(False)
    qtbot.keyClicks(edit, " e")
    assert edit.text() == "tenant:acme e"


def test_the_export_dialog_remembers_its_folder(
    window: MainWindow, qtbot: Any, tmp_path: Path
) -> None:
    page = _runs_page(window, qtbot)
    folder = tmp_path / "exports" / "runs"
    folder.mkdir(parents=True)
    dialog = page.open_export()
    assert dialog is not None
    assert dialog.path.parent != folder
    dialog.path_edit.setText(str(folder / "mine.csv"))
    with qtbot.waitSignal(dialog.sig_export_finished, timeout=10_000):
        dialog.export_button.click()
    assert (folder / "mine.csv").exists()
    dialog.reject()
    qtbot.waitUntil(lambda: page.export_dialog is None, timeout=2000)
    # The next export (even after a restart: it is a setting) starts in that folder.
    again = page.open_export()
    assert again is not None
    assert again.path.parent == folder and again.path.name.startswith("ato-runs-")
    again.reject()
    qtbot.waitUntil(lambda: page.export_dialog is None, timeout=2000)
    # A folder that is gone since: back to the default, never an error.
    (folder / "mine.csv").unlink()
    folder.rmdir()
    third = page.open_export()
    assert third is not None and third.path.parent != folder and third.path.parent.is_dir()
    third.reject()
