"""The shared body of the Insights views (widgets.async_view): the state pages and the message's
buttons. The reads that fill them: tests/ui/test_widget_background.py."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLabel

from ato_desktop.ui.widgets.async_view import (
    STATE_ERROR,
    STATE_LOADING,
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
