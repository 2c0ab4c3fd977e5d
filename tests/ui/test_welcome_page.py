"""First run: the welcome page's three ways in, and the demo banner that follows the demo."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import RunFilter
from ato_desktop.engine.demo import build_demo_workspace
from ato_desktop.store.demo_data import count_demo_data, has_demo_data
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.pages.welcome_page import WelcomePage
from ato_desktop.ui.widgets.demo_banner import DemoBanner
from tests.support.memory_keyring import MemoryKeyring
from tests.support.qt_helpers import Show


@pytest.fixture
def show(show: Show) -> Show:
    """The conftest's show, in a larger window."""
    return functools.partial(show, width=1080, height=760)


def _navigations(ctx: AppContext) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []
    ctx.sig_navigate.connect(lambda page_id, target: seen.append((page_id, target)))
    return seen


def test_add_a_key_and_create_an_agent_navigate(
    open_ctx: AppContext, qtbot: Any, show: Show
) -> None:
    page = WelcomePage(open_ctx)
    show(page)
    seen = _navigations(open_ctx)
    page.key_card.button.click()
    page.agent_card.button.click()
    assert seen == [("settings", {"section": "keys"}), ("agents", {"new": True})]


def test_the_key_step_shows_whether_a_key_is_there(
    open_ctx: AppContext, qtbot: Any, show: Show, memory_keyring: MemoryKeyring
) -> None:
    page = WelcomePage(open_ctx)
    show(page)
    page.activate(None)
    qtbot.waitUntil(lambda: page.key_card.button.property("primary") is True)
    assert page.key_card.button.text() == "Add a key"
    assert not page.key_card.badge.done
    memory_keyring.set_password("ato-desktop", "anthropic", "sk-ant-api03-" + "k" * 40)
    page.activate(None)
    qtbot.waitUntil(lambda: page.key_card.badge.done)
    assert page.key_card.button.text() == "Manage keys"
    assert page.key_card.note.text() == "✓ Key found: Anthropic."
    assert page.agent_card.button.property("primary") is True
    assert "k" * 10 not in page.key_card.note.text()


def test_load_demo_shows_progress_then_opens_the_runs(
    open_ctx: AppContext, qtbot: Any, show: Show
) -> None:
    page = WelcomePage(open_ctx)
    page.demo_runs = 150
    show(page)
    seen = _navigations(open_ctx)
    progress: list[tuple[int, int]] = []
    page.sig_demo_progress.connect(lambda d, t: progress.append((d, t)))
    with qtbot.waitSignal(page.sig_demo_loaded, timeout=20_000) as loaded:
        page.demo_card.button.click()
        assert page.progress.isVisible() and not page.demo_card.button.isEnabled()
    assert loaded.args[0].runs == 150
    assert seen == [("runs", None)]
    assert progress[-1] == (150, 150)
    assert not page.progress.isVisible() and page.demo_card.badge.done
    store = open_ctx.workspace.store
    assert store.count_runs(RunFilter()) == 150 and has_demo_data(store)
    # Loaded already (say, from the CLI): the button just opens the runs.
    seen.clear()
    page.demo_card.button.click()
    qtbot.waitUntil(lambda: seen == [("runs", None)])
    assert store.count_runs(RunFilter()) == 150


def test_the_banner_appears_with_demo_data_and_removes_it(
    open_ctx: AppContext, qtbot: Any, show: Show
) -> None:
    workspace = open_ctx.workspace
    mine = workspace.store.create_agent("mine", AgentConfig("codex", "gpt-5-mini")).result()
    banner = DemoBanner(open_ctx)
    page = WelcomePage(open_ctx)
    page.demo_runs = 120
    show(banner, page)
    qtbot.wait(50)
    assert banner.isHidden() and not banner.demo_present

    with qtbot.waitSignal(banner.sig_presence_changed, timeout=20_000) as appeared:
        page.load_demo()
    assert appeared.args == [True] and banner.isVisible()
    assert "demo workspace" in banner.text.text()

    # Asked first, in the banner; "Keep it" leaves everything as it was.
    banner.remove_button.click()
    assert banner.cancel_button.isVisible() and "Remove every demo run" in banner.text.text()
    banner.cancel_button.click()
    assert not banner.cancel_button.isVisible()
    assert has_demo_data(workspace.store)

    banner.remove_button.click()
    with qtbot.waitSignal(banner.sig_demo_removed, timeout=20_000) as removed:
        banner.remove_button.click()
    counts = removed.args[0]
    assert (counts.runs, counts.agents) == (120, 5)
    assert banner.isHidden() and not banner.demo_present
    assert count_demo_data(workspace.store).empty
    assert [a.id for a in workspace.store.list_agents()] == [mine.id]


def test_the_banner_finds_demo_data_written_elsewhere(
    open_ctx: AppContext, qtbot: Any, show: Show
) -> None:
    workspace = open_ctx.workspace
    build_demo_workspace(workspace.store, workspace.prices, runs=100, seed=4)
    banner = DemoBanner(open_ctx)  # built after the fact: checks once at start
    show(banner)
    qtbot.waitUntil(lambda: banner.demo_present, timeout=10_000)
    assert banner.isVisible()
