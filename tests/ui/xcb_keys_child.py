"""Run under a real X server (xvfb-run, QT_QPA_PLATFORM=xcb) by test_export_keys: X11's key
bindings give a line edit Ctrl+E (end of line) and Ctrl+K (delete to the end of the line), which
the offscreen platform does not. Opens the real main window over a fresh log in the data
directory given, presses the keys in the Runs page's metadata filter field, and prints what
happened as one JSON line."""

from __future__ import annotations

import asyncio
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import keyring
import qasync
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from ato_desktop.store.paths import DataPaths
from ato_desktop.ui.commands import CommandRegistry
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.main_window import MainWindow
from ato_desktop.ui.theme import ThemeManager
from tests.support.memory_keyring import MemoryKeyring


async def _until(check: object, seconds: float = 5.0) -> bool:
    for _ in range(int(seconds / 0.05)):
        if check():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.05)
    return bool(check())  # type: ignore[operator]


def main(home: Path) -> None:
    keyring.set_keyring(MemoryKeyring())
    app = QApplication([sys.argv[0]])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    loop.set_default_executor(ThreadPoolExecutor(max_workers=2))
    ctx = AppContext(CommandRegistry(app), ThemeManager(app), DataPaths(home))
    window = MainWindow(ctx)
    window.resize(1280, 820)
    window.show()
    result: dict[str, object] = {
        "platform": app.platformName(),
        "field_binds_ctrl_e": any(
            k.matches(QKeySequence("Ctrl+E")) == QKeySequence.SequenceMatch.ExactMatch
            for k in QKeySequence.keyBindings(QKeySequence.StandardKey.MoveToEndOfLine)
        ),
    }

    async def run() -> None:
        await ctx.open_workspace()
        window.activateWindow()
        await _until(window.isActiveWindow)
        window.navigate("runs", {"tab": "history"})
        page = window.page("runs")
        opened: list[object] = []
        page.sig_export_opened.connect(opened.append)  # type: ignore[attr-defined]
        edit = page.filters.meta_edit  # type: ignore[attr-defined]
        edit.setFocus()
        await _until(edit.hasFocus)
        QTest.keyClicks(edit, "user:alice")
        edit.setCursorPosition(0)
        QTest.keyClick(edit, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
        result["export_opened"] = await _until(lambda: bool(opened), 3.0)
        result["after_ctrl_e"] = [edit.text(), edit.cursorPosition()]
        if opened:
            opened[0].reject()  # type: ignore[attr-defined]
        await _until(window.isActiveWindow)
        edit.setFocus()
        await _until(edit.hasFocus)
        edit.setCursorPosition(0)
        QTest.keyClick(edit, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
        palette = window.palette_host
        result["palette_opened"] = await _until(
            lambda: palette.palette is not None and palette.palette.isVisible(), 3.0
        )
        result["after_ctrl_k"] = edit.text()
        if palette.palette is not None:
            palette.palette.hide()
        await ctx.shutdown()
        window.hide()
        print(json.dumps(result), flush=True)
        app.quit()

    with loop:
        loop.run_until_complete(run())


if __name__ == "__main__":
    main(Path(sys.argv[1]))
