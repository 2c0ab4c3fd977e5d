"""Background work of a widget (widgets.background.BackgroundWork): only the newest read shows, a
deleted widget's work is dropped quietly, failures reach the caller or the usual dialog, and
views call nothing off the UI thread any other way."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtWidgets import QWidget

import ato_desktop.ui
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.widgets.background import BackgroundWork, Dropped


def test_only_the_newest_read_is_applied_and_errors_show_only_when_newest(
    open_ctx: AppContext, qtbot: Any
) -> None:
    view = QWidget()
    busy: list[int] = []
    reads = BackgroundWork(view, open_ctx, on_busy=lambda: busy.append(reads.pending))
    applied: list[str] = []
    failed: list[str] = []
    gate = threading.Event()

    def slow(_store: Any, value: str) -> str:
        gate.wait(10)
        return value

    def broken(_store: Any) -> str:
        gate.wait(10)
        raise ValueError("the table is gone")

    store = open_ctx.opened_workspace.store
    outcomes: list[bool] = []

    def start(fn: Any, *args: Any) -> None:
        task = open_ctx.spawn(
            reads.show(fn, store, *args, apply=applied.append, fail=failed.append)
        )
        assert task is not None
        task.add_done_callback(lambda t: outcomes.append(t.result()))

    start(slow, "older")
    start(slow, "newer")
    qtbot.waitUntil(lambda: reads.pending == 2, timeout=5000)
    gate.set()
    qtbot.waitUntil(lambda: len(outcomes) == 2, timeout=5000)
    assert applied == ["newer"] and sorted(outcomes) == [False, True]
    assert reads.pending == 0 and busy[-1] == 0 and max(busy) == 2

    # A failing read older than a good one says nothing; the newest failing one does.
    gate.clear()
    start(broken)
    start(slow, "after the error")
    qtbot.waitUntil(lambda: reads.pending == 2, timeout=5000)
    gate.set()
    qtbot.waitUntil(lambda: len(outcomes) == 4, timeout=5000)
    assert failed == [] and applied[-1] == "after the error"
    start(broken)
    qtbot.waitUntil(lambda: len(outcomes) == 5, timeout=5000)
    assert failed == ["the table is gone"] and outcomes[-1] is False

    # What shows now is not replaced by a read still under way.
    gate.clear()
    start(slow, "stale")
    qtbot.waitUntil(lambda: reads.pending == 1, timeout=5000)
    reads.drop_pending()
    gate.set()
    qtbot.waitUntil(lambda: len(outcomes) == 6, timeout=5000)
    assert "stale" not in applied


def test_a_deleted_widgets_work_ends_quietly(open_ctx: AppContext, qtbot: Any) -> None:
    view = QWidget()
    work = BackgroundWork(view, open_ctx)
    gate = threading.Event()
    reached: list[str] = []
    errors: list[tuple[str, str]] = []
    open_ctx.sig_error.connect(lambda title, text: errors.append((title, text)))

    def slow(value: str) -> str:
        gate.wait(10)
        return value

    def failing() -> str:
        gate.wait(10)
        raise OSError("the disk went away")

    async def save_then_touch(fn: Any, *args: Any) -> None:
        value = await work.call(fn, *args)
        reached.append(value)  # would touch the deleted widget

    tasks = [
        open_ctx.spawn(save_then_touch(slow, "saved"), what="save"),
        open_ctx.spawn(save_then_touch(failing), what="save"),
    ]
    qtbot.waitUntil(lambda: work.pending == 2, timeout=5000)
    shiboken6.delete(view)
    assert not work.alive()
    gate.set()
    qtbot.waitUntil(lambda: all(t is not None and t.done() for t in tasks), timeout=5000)
    assert all(t is not None and t.cancelled() for t in tasks)
    assert reached == [] and errors == [] and work.pending == 0


def test_failures_reach_the_caller_and_else_the_usual_dialog(
    open_ctx: AppContext, qtbot: Any
) -> None:
    view = QWidget()
    work = BackgroundWork(view, open_ctx)
    handled: list[str] = []
    errors: list[tuple[str, str]] = []
    open_ctx.sig_error.connect(lambda title, text: errors.append((title, text)))

    def failing() -> None:
        raise OSError("the settings file is read-only")

    async def handles_it() -> None:
        try:
            await work.call(failing)
        except OSError as exc:
            handled.append(str(exc))

    async def leaves_it() -> None:
        await work.call(failing)

    first = open_ctx.spawn(handles_it(), what="save the setting")
    second = open_ctx.spawn(leaves_it(), what="save the setting")
    qtbot.waitUntil(lambda: all(t is not None and t.done() for t in (first, second)), timeout=5000)
    assert handled == ["the settings file is read-only"]
    assert errors == [("Could not finish: save the setting", "the settings file is read-only")]


def test_a_newer_lookup_replaces_an_older_one(open_ctx: AppContext, qtbot: Any) -> None:
    view = QWidget()
    work = BackgroundWork(view, open_ctx)
    gate = threading.Event()
    got: list[str] = []
    dropped: list[str] = []

    def lookup(value: str) -> str:
        gate.wait(10)
        return value

    async def ask(value: str) -> None:
        try:
            got.append(await work.call_newest(lookup, value))
        except Dropped:
            dropped.append(value)
            raise

    tasks = [open_ctx.spawn(ask("a")), open_ctx.spawn(ask("ab"))]
    qtbot.waitUntil(lambda: work.pending == 2, timeout=5000)
    gate.set()
    qtbot.waitUntil(lambda: all(t is not None and t.done() for t in tasks), timeout=5000)
    assert got == ["ab"] and dropped == ["a"]


def test_views_leave_the_ui_thread_only_through_background_work() -> None:
    """No raw asyncio.to_thread in ui/ but the helper's own, the app context's start-up (no
    widget yet) and the MCP probe (a function the section awaits)."""
    root = Path(ato_desktop.ui.__file__).parent
    allowed = {
        root / "widgets" / "background.py",
        root / "context.py",
        root / "mcp_probe.py",
    }
    raw = [
        f"{path.relative_to(root)}:{number}"
        for path in sorted(root.rglob("*.py"))
        if path not in allowed
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\bto_thread\(", line)
    ]
    assert raw == []


def test_no_view_guards_itself_with_isvalid_after_a_read() -> None:
    """A widget's liveness after background work is BackgroundWork's to check (it drops the
    result, or `work.alive()` says so after an engine call), not a hand-written isValid."""
    root = Path(ato_desktop.ui.__file__).parent
    guards = [
        f"{path.relative_to(root)}:{number}"
        for path in sorted(root.rglob("*.py"))
        if path != root / "widgets" / "background.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "shiboken6.isValid(self)" in line
    ]
    assert guards == []
