"""Widgets come and go; the bridge stays: what a widget connects to it ends with the widget."""

from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget

from ato_desktop.core.events import ConfigChanged
from ato_desktop.ui.bridge import connect_for
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.pages.automations_page import AutomationsPage


def test_a_lambda_connected_for_a_widget_ends_with_it(open_ctx: AppContext, qtbot: Any) -> None:
    bridge = open_ctx.opened_bridge
    widget = QWidget()
    timer = QTimer(widget)
    seen: list[bool] = []
    connect_for(widget, bridge.sig_config_changed, lambda _e: seen.append(timer.isActive()))
    event = ConfigChanged("agent-1", 2, "version-2")

    bridge.sig_config_changed.emit(event)
    shiboken6.delete(widget)  # its timer goes with it
    bridge.sig_config_changed.emit(event)  # would reach the deleted timer

    assert seen == [False]


def test_events_after_a_page_is_deleted_reach_nothing_of_it(
    open_ctx: AppContext, qtbot: Any
) -> None:
    page = AutomationsPage(open_ctx)
    page.activate()  # it reads its definitions and follows the log from now on
    shiboken6.delete(page)
    bridge = open_ctx.opened_bridge
    # (An exception in a slot fails the test: pytest-qt catches what the Qt loop raises.)
    bridge.sig_config_changed.emit(ConfigChanged("agent-1", 2, "version-2"))
    qtbot.wait(50)
