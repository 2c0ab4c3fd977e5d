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


def _open_window(ctx: AppContext, qtbot: Any) -> MainWindow:
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(ctx.sig_workspace_ready, timeout=10_000):
        ctx.spawn(ctx.open_workspace())
    return window


def _close_ctx(ctx: AppContext, qtbot: Any) -> None:
    done: list[bool] = []
    ctx.spawn(ctx.shutdown()).add_done_callback(lambda _t: done.append(True))
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)


def test_empty_log_lands_on_welcome_and_nav_shortcuts_work(ui_ctx: AppContext, qtbot: Any) -> None:
    window = _open_window(ui_ctx, qtbot)
    qtbot.waitUntil(lambda: window.current_page_id == "welcome", timeout=5000)
    ui_ctx.commands.action("go.runs").trigger()
    assert window.current_page_id == "runs"
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    QTest.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.current_page_id == "chat", timeout=2000)
    _close_ctx(ui_ctx, qtbot)


def test_question_mark_lists_every_shortcut_by_where_it_works(
    ui_ctx: AppContext, qtbot: Any
) -> None:
    from PySide6.QtWidgets import QTreeWidget

    from ato_desktop.ui.main_window import ShortcutsDialog

    window = _open_window(ui_ctx, qtbot)
    window.navigate("runs")  # builds the page, registering its commands
    window.show_shortcuts()
    dialog = window.findChild(ShortcutsDialog)
    assert dialog is not None
    tree = dialog.findChild(QTreeWidget, "ShortcutTree")
    groups = {
        tree.topLevelItem(i).text(0): [
            (tree.topLevelItem(i).child(j).text(0), tree.topLevelItem(i).child(j).text(1))
            for j in range(tree.topLevelItem(i).childCount())
        ]
        for i in range(tree.topLevelItemCount())
    }
    assert ("?", "Keyboard shortcuts") in groups["Anywhere"]
    runs = dict((title, key) for key, title in groups["Runs page"])
    assert runs.get("Focus search") == "/" and "Esc" in runs.values()
    assert any(key == "T" or key == "t" for key in runs.values())
    dialog.close()
    _close_ctx(ui_ctx, qtbot)


def test_closing_with_runs_in_flight_asks_first(
    ui_ctx: AppContext, qtbot: Any, monkeypatch: Any
) -> None:
    from PySide6.QtWidgets import QApplication, QMessageBox

    from ato_desktop.engine.dispatcher import DispatchRequest
    from tests.fakes import FakeLLMServer, Scenario

    window = _open_window(ui_ctx, qtbot)
    asked: list[str] = []
    answers = [QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Yes]

    def question(parent: Any, title: str, text: str, *args: Any) -> Any:
        asked.append(text)
        return answers.pop(0)

    monkeypatch.setattr(QMessageBox, "question", question)
    quits: list[bool] = []
    monkeypatch.setattr(QApplication, "quit", lambda *_a: quits.append(True))
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", "local-key")
    with FakeLLMServer() as fake:
        fake.scenario = Scenario(chunks=("a", "b", "c"), stall_after=1)
        request = DispatchRequest(
            "hi", runtime="openai-compatible", model="m", base_url=fake.openai_base_url
        )
        task = ui_ctx.spawn(ui_ctx.engine_run(ui_ctx.workspace.dispatcher.dispatch(request)))
        qtbot.waitUntil(lambda: len(ui_ctx.workspace.live) == 1, timeout=5000)
        window.close()  # answered Cancel: nothing happens
        assert asked and "1 dispatch is still running" in asked[0]
        assert window.isVisible() and len(ui_ctx.workspace.live) == 1
        window.close()  # answered Yes: the run is killed (and recorded), then the app quits
        qtbot.waitUntil(lambda: task.done() and bool(quits), timeout=10_000)
    assert task.result().status.value == "killed"


def test_second_launch_brings_the_first_to_the_front(qapp: Any, qtbot: Any, tmp_path: Path) -> None:
    from ato_desktop.ui.single_instance import SingleInstance

    first = SingleInstance(str(tmp_path))
    assert first.listen()
    with qtbot.waitSignal(first.sig_activate_requested, timeout=5000):
        assert SingleInstance(str(tmp_path)).notify_running_instance()
    other_home = SingleInstance(str(tmp_path / "elsewhere"))
    assert not other_home.notify_running_instance(timeout_ms=200)


def test_window_paints_before_the_heavy_sdks_are_imported(tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    probe = (
        "import sys, json, os\n"
        "from PySide6.QtCore import QEvent, QObject\n"
        "from PySide6.QtWidgets import QApplication, QMainWindow\n"
        "class P(QObject):\n"
        "    def eventFilter(self, w, e):\n"
        "        if e.type() == QEvent.Type.Paint and isinstance(w, QMainWindow):\n"
        "            heavy = ['anthropic', 'openai', 'genai_prices', 'tiktoken',\n"
        "                     'PySide6.QtCharts']\n"
        "            print(json.dumps([m for m in heavy if m in sys.modules]), flush=True)\n"
        "            os._exit(0)\n"
        "        return False\n"
        "app = QApplication([]); p = P(); app.installEventFilter(p)\n"
        "from ato_desktop.ui.app import main\n"
        "main(['ato'])\n"
    )
    env = {**os.environ, "ATO_HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_the_window_settles_the_heap_on_its_thread_after_start_and_heavy_imports(
    ui_ctx: AppContext, qtbot: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    """Once its first page is open, and after a heavy package is imported on another thread,
    the window freezes what exists out of later full collections, on the UI thread."""
    import gc
    import sys
    import threading

    from ato_desktop.core import heavy_imports

    settled_on: list[str] = []
    real_settle = heavy_imports.settle_heap

    def settle() -> None:
        settled_on.append(threading.current_thread().name)
        real_settle()

    monkeypatch.setattr(heavy_imports, "settle_heap", settle)
    gc.unfreeze()
    window = _open_window(ui_ctx, qtbot)
    qtbot.waitUntil(lambda: window.current_page_id == "welcome", timeout=5000)
    qtbot.waitUntil(lambda: bool(settled_on), timeout=5000)
    assert settled_on == ["MainThread"] and gc.get_freeze_count() > 0
    (tmp_path / "ato_heavy_window_probe.py").write_text("TABLE = [[n] for n in range(100)]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importer = threading.Thread(
        target=heavy_imports.import_heavy, args=("ato_heavy_window_probe",), name="importer"
    )
    importer.start()
    importer.join(10)
    table = sys.modules["ato_heavy_window_probe"].TABLE

    def frozen() -> bool:
        return id(table) not in {id(obj) for obj in gc.get_objects()}

    # Settled after the import (the app's own heavy imports may settle too, in between).
    qtbot.waitUntil(frozen, timeout=5000)
    assert len(settled_on) >= 2 and set(settled_on) == {"MainThread"}
    sys.modules.pop("ato_heavy_window_probe", None)
    _close_ctx(ui_ctx, qtbot)
