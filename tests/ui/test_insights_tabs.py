"""Every Insights tab loads on its first show, from every entry point: a click on its tab, the
app opening on it, the palette's quick action, a link (Regressions -> Compare before/after), also
when a change arrived while the tab was hidden. Over the demo workspace, in the real window."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from ato_desktop.core.records import NewAction, NewRun, RunEnd
from ato_desktop.engine.demo import REGRESSED_AGENT, build_demo_workspace
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.execution_log import now_ms
from ato_desktop.store.paths import DataPaths
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.insights.compare_view import MODE_VERSION, STATE_GROUPS
from ato_desktop.ui.main_window import MainWindow
from ato_desktop.ui.pages.insights_page import InsightsPage
from ato_desktop.ui.palette.palette_commands import INSIGHTS_TABS
from ato_desktop.ui.widgets.async_view import STATE_LOADING
from tests.support.qt_helpers import open_main_window

TABS = [tab for tab, _title, _keywords in INSIGHTS_TABS]


def _loaded(page: InsightsPage, tab: str) -> bool:
    """The tab shows something other than its loading line, and Compare's picker is filled."""
    view: Any = page.tabs.widget(page._tab_ids.index(tab))
    if view.state in ("", STATE_LOADING):
        return False
    if tab == "compare":
        return page.compare.agent_combo.count() > 0 and not page.compare.busy
    return True


@pytest.fixture
def window(ui_ctx: AppContext, qtbot: Any, ato_home: Path) -> Iterator[MainWindow]:
    workspace = Workspace.open(DataPaths(ato_home))
    try:
        build_demo_workspace(workspace.store, workspace.prices, runs=300, seed=7)
    finally:
        workspace.close()
    window = open_main_window(ui_ctx, qtbot, (1280, 820))
    qtbot.waitUntil(lambda: window.current_page_id is not None, timeout=5000)
    yield window
    if window.palette_host.palette is not None:
        window.palette_host.palette.hide()
    done: list[bool] = []
    ui_ctx.spawn(ui_ctx.shutdown()).add_done_callback(lambda _t: done.append(True))
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)


def _insights(window: MainWindow) -> InsightsPage:
    page = window.page("insights")
    assert isinstance(page, InsightsPage)
    return page


def _click_tab(qtbot: Any, page: InsightsPage, tab: str) -> None:
    bar = page.tabs.tabBar()
    index = page._tab_ids.index(tab)
    QTest.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    assert page.current_tab == tab


def test_every_tab_loads_on_its_first_click(window: MainWindow, qtbot: Any) -> None:
    window.navigate("insights")
    page = _insights(window)
    qtbot.waitUntil(lambda: _loaded(page, "regressions"), timeout=10_000)
    for tab in TABS[1:]:
        _click_tab(qtbot, page, tab)
        qtbot.waitUntil(lambda tab=tab: _loaded(page, tab), timeout=10_000)
    # Compare compared something on its own (the saved or first agent), with a filled picker.
    assert page.compare.state != STATE_LOADING and page.compare.agent_id is not None


@pytest.mark.parametrize("tab", TABS)
def test_the_page_opening_on_a_saved_tab_loads_it(window: MainWindow, qtbot: Any, tab: str) -> None:
    window.ctx.settings.setValue("insights/tab", tab)
    window.navigate("insights")  # no target: the tab the user left it on
    page = _insights(window)
    assert page.current_tab == tab
    qtbot.waitUntil(lambda: _loaded(page, tab), timeout=10_000)


def test_every_tab_loads_from_the_palette(window: MainWindow, qtbot: Any) -> None:
    # Each tab's first show comes from its quick action (Regressions is shown first by the page
    # itself, so it goes last, from another page).
    window.navigate("runs")
    for tab in [*TABS[1:], TABS[0]]:
        window.ctx.commands.run(f"go.insights.{tab}")
        page = _insights(window)
        assert window.current_page_id == "insights" and page.current_tab == tab
        qtbot.waitUntil(lambda p=page, t=tab: _loaded(p, t), timeout=10_000)
        window.navigate("runs")


def _a_run_ends(ctx: AppContext, qtbot: Any) -> None:
    """A run of another agent ends (as if from another process): hidden views go stale."""
    store = ctx.workspace.store
    agent = store.get_agent("data-analyst")
    t = now_ms()
    with qtbot.waitSignal(ctx.bridge.sig_runs_bulk_changed, timeout=5000):
        store.ingest(
            [
                (
                    NewRun("claude", "m", "cli", t, agent_id=agent.id),
                    RunEnd("completed", t + 10, 10_000_000),
                    [NewAction("call_llm", "llm", "success", t, t + 10)],
                )
            ]
        ).result()


@pytest.mark.parametrize(
    ("seen", "stale"),
    [(False, False), (False, True), (True, True)],
    ids=["fresh", "changed-while-hidden", "seen-then-changed-while-hidden"],
)
def test_regressions_compare_before_after_lands_on_that_comparison(
    window: MainWindow, qtbot: Any, seen: bool, stale: bool
) -> None:
    ctx = window.ctx
    triage = ctx.workspace.store.get_agent(REGRESSED_AGENT)
    page = _insights(window)
    if seen:  # Compare was looked at before (two runs of the first agent)
        ctx.settings.setValue("insights/compare_mode", "runs")
        ctx.navigate("insights", {"tab": "compare"})
        qtbot.waitUntil(lambda: _loaded(page, "compare"), timeout=10_000)
    ctx.navigate("insights", {"tab": "regressions", "agent_id": triage.id, "version": 3})
    regressions = page.regressions
    qtbot.waitUntil(
        lambda: (
            regressions.detail.change is not None
            and regressions.detail.change.agent_id == triage.id
            and regressions.detail.change.version == 3
        ),
        timeout=10_000,
    )
    if stale:
        _a_run_ends(ctx, qtbot)
        refresh = page.compare._refresh
        qtbot.waitUntil(lambda: refresh.stale, timeout=5000)
    regressions.detail.compare_button.click()
    assert page.current_tab == "compare"
    compare = page.compare
    qtbot.waitUntil(lambda: compare.state == STATE_GROUPS and not compare.busy, timeout=15_000)
    assert compare.mode == MODE_VERSION and compare.agent_id == triage.id
    assert compare.version_combo.currentData() == 3
    assert compare.agent_combo.count() > 0
