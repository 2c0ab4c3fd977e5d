"""The shared body of the Insights views (widgets.async_view): the state pages, the message's
buttons, and reads where only the newest request's result or error shows."""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtWidgets import QLabel, QWidget

from ato_desktop.ui.context import AppContext
from ato_desktop.ui.widgets.async_view import (
    STATE_ERROR,
    STATE_LOADING,
    NewestRead,
    StateStack,
)
from tests.support.qt_helpers import Show


def test_states_show_their_page_and_the_message_buttons_do_what_they_say(
    show: Show, qtbot: Any
) -> None:
    body = StateStack("Reading…", name="Probe")
    content = QLabel("the content")
    body.add_page(content, "content", "also")
    clicked: list[str] = []
    show(body)
    assert body.currentWidget() is body.loading and body.loading.objectName() == "ProbeLoading"

    with qtbot.waitSignal(body.sig_state_changed) as changed:
        body.show_state("also")
    assert changed.args == ["also"] and body.currentWidget() is content and body.state == "also"

    body.show_message(
        "empty",
        "Nothing yet",
        "Do <b>this</b> first",
        primary=("Do it", lambda: clicked.append("primary")),
        secondary=("Elsewhere", lambda: clicked.append("secondary")),
    )
    m = body.message
    assert body.currentWidget() is m and (m.kind, body.state) == ("empty", "empty")
    assert (m.title.text(), m.primary.text(), m.secondary.text()) == (
        "Nothing yet",
        "Do it",
        "Elsewhere",
    )
    m.secondary.click()
    m.primary.click()
    assert clicked == ["secondary", "primary"]

    # An error: its text escaped, Try again retries, the other button hidden.
    body.show_error("Could not read", "<no such table>", retry=lambda: clicked.append("retry"))
    assert body.state == STATE_ERROR and m.text.text() == "&lt;no such table&gt;"
    assert not m.secondary.isVisibleTo(body) and m.primary.text() == "Try again"
    m.primary.click()
    assert clicked[-1] == "retry"
    body.show_error("Could not read", "gone", retry=None)
    assert not m.primary.isVisibleTo(body)
    body.show_state(STATE_LOADING)
    assert body.currentWidget() is body.loading


def test_only_the_newest_read_is_applied_and_errors_show_only_when_newest(
    open_ctx: AppContext, qtbot: Any
) -> None:
    view = QWidget()
    busy: list[int] = []
    reads = NewestRead(view, open_ctx, on_busy=lambda: busy.append(reads.pending))
    applied: list[str] = []
    failed: list[str] = []
    gate = threading.Event()

    def slow(_store: Any, value: str) -> str:
        gate.wait(10)
        return value

    def broken(_store: Any) -> str:
        gate.wait(10)
        raise ValueError("the table is gone")

    store = open_ctx.workspace.store
    outcomes: list[bool] = []

    def start(fn: Any, *args: Any) -> None:
        task = open_ctx.spawn(
            reads.read(fn, store, *args, apply=applied.append, fail=failed.append)
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
