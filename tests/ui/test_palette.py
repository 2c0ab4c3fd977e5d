"""The Ctrl+K palette in the real main window over a real log: opening, two-character search
with snippets, Quick Actions to each Insights sub-tab, Enter to open things, Esc, recent queries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import NewRun
from ato_desktop.core.search_text import MARK_END, MARK_START
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.main_window import MainWindow
from ato_desktop.ui.palette.palette_commands import INSIGHTS_TABS
from ato_desktop.ui.palette.palette_dialog import RECENT_KEY, CommandPalette
from ato_desktop.ui.palette.palette_model import PaletteItem
from tests.support.qt_helpers import open_main_window

NOW = 1_760_000_000_000


@pytest.fixture
def window(ui_ctx: AppContext, qtbot: Any) -> Iterator[MainWindow]:
    window = open_main_window(ui_ctx, qtbot)
    qtbot.waitUntil(lambda: window.current_page_id is not None, timeout=5000)
    yield window
    if window.palette_host.palette is not None:
        window.palette_host.palette.hide()
    done: list[bool] = []
    ui_ctx.spawn(ui_ctx.shutdown()).add_done_callback(lambda _t: done.append(True))
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)


@pytest.fixture
def seeded(window: MainWindow) -> dict[str, str]:
    store = window.ctx.workspace.store
    agent = store.create_agent("triage-bot", AgentConfig("claude", "claude-x")).result()
    thread = store.create_thread("Incident review", agent_id=agent.id).result()
    store.add_message(thread.id, "user", "what broke last night?").result()
    store.add_message(thread.id, "assistant", "The qz cache <b>flag</b> was off").result()
    run_id, _ = store.create_run(
        NewRun("claude", "claude-x", "cli", NOW, agent_id=agent.id), owner=None
    ).result()
    return {"agent": agent.id, "thread": thread.id, "run": run_id}


def _open(window: MainWindow, qtbot: Any) -> CommandPalette:
    # Closing the palette hands activation back to the window (asynchronously).
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    QTest.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(
        lambda: window.palette_host.palette is not None and window.palette_host.palette.isVisible(),
        timeout=2000,
    )
    palette = window.palette_host.palette
    assert palette is not None
    return palette


def _type(palette: CommandPalette, qtbot: Any, text: str) -> None:
    with qtbot.waitSignal(
        palette.sig_results_shown, timeout=5000, check_params_cb=lambda q: q == text
    ):
        palette.field.clear()
        QTest.keyClicks(palette.field, text)


def _select(palette: CommandPalette, qtbot: Any, key: str) -> PaletteItem:
    """Arrow down to the item with this key (from the top), as a user would."""
    for _ in range(palette.model.rowCount()):
        item = palette.current_item()
        if item is not None and item.key == key:
            return item
        QTest.keyClick(palette.field, Qt.Key.Key_Down)
    raise AssertionError(f"no item {key!r} in {[i.key for i in palette.model.items()]}")


def test_ctrl_k_opens_from_anywhere_and_esc_closes(window: MainWindow, qtbot: Any) -> None:
    window.navigate("runs")
    palette = _open(window, qtbot)
    assert "actions" in palette.model.groups()
    assert palette.field.hasFocus() or palette.field.isVisible()
    QTest.keyClick(palette.field, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not palette.isVisible(), timeout=2000)
    window.navigate("settings")
    assert _open(window, qtbot) is palette  # one palette, reused


def test_two_characters_find_a_message_body_with_its_snippet(
    window: MainWindow, qtbot: Any, seeded: dict[str, str]
) -> None:
    palette = _open(window, qtbot)
    _type(palette, qtbot, "qz")
    messages = [i for i in palette.model.items() if i.group == "messages"]
    assert len(messages) == 1
    assert f"{MARK_START}qz{MARK_END}" in messages[0].title
    assert "Incident review" in messages[0].detail
    # Markup in a message is shown as text, never rendered.
    from ato_desktop.ui.palette.palette_model import marked_html

    assert "&lt;b&gt;flag&lt;/b&gt;" in marked_html(messages[0].title, "")
    QTest.keyClick(palette.field, Qt.Key.Key_Escape)


def test_a_quick_action_opens_each_insights_sub_tab(window: MainWindow, qtbot: Any) -> None:
    for tab_id, title, _keywords in INSIGHTS_TABS:
        palette = _open(window, qtbot)
        _type(palette, qtbot, f"insights {title.lower()}")
        _select(palette, qtbot, f"go.insights.{tab_id}")
        QTest.keyClick(palette.field, Qt.Key.Key_Return)
        assert not palette.isVisible()
        assert window.current_page_id == "insights"
        page: Any = window.page("insights")
        assert page.current_tab == tab_id


def test_quick_actions_come_from_the_command_registry(window: MainWindow, qtbot: Any) -> None:
    palette = _open(window, qtbot)
    _type(palette, qtbot, "shortcuts")
    assert [i.key for i in palette.model.items() if i.group == "actions"] == ["help.shortcuts"]
    window.page("insights")  # a page's own commands join the registry when it is built
    _type(palette, qtbot, "regression thresholds")
    assert "insights.regression_thresholds" in [i.key for i in palette.model.items()]


def test_enter_opens_an_agent_a_run_and_a_thread(
    window: MainWindow, qtbot: Any, seeded: dict[str, str]
) -> None:
    palette = _open(window, qtbot)
    _type(palette, qtbot, "triage")
    _select(palette, qtbot, seeded["agent"])
    QTest.keyClick(palette.field, Qt.Key.Key_Return)
    assert window.current_page_id == "agents"
    agents: Any = window.page("agents")
    qtbot.waitUntil(
        lambda: agents.agent is not None and agents.agent.id == seeded["agent"], timeout=5000
    )

    palette = _open(window, qtbot)
    _type(palette, qtbot, seeded["run"][:10])
    _select(palette, qtbot, seeded["run"])
    QTest.keyClick(palette.field, Qt.Key.Key_Return)
    assert window.current_page_id == "runs"

    palette = _open(window, qtbot)
    _type(palette, qtbot, "broke")
    _select(palette, qtbot, f"{seeded['thread']}#1")
    QTest.keyClick(palette.field, Qt.Key.Key_Return)
    assert window.current_page_id == "chat"
    chat: Any = window.page("chat")
    assert chat.thread_id == seeded["thread"]


def test_last_queries_are_remembered(
    window: MainWindow, qtbot: Any, seeded: dict[str, str]
) -> None:
    palette = _open(window, qtbot)
    _type(palette, qtbot, "incident")
    _select(palette, qtbot, seeded["thread"])
    QTest.keyClick(palette.field, Qt.Key.Key_Return)
    assert window.ctx.settings.value(RECENT_KEY) == ["incident"]

    palette = _open(window, qtbot)
    _type(palette, qtbot, "")
    recent = [i for i in palette.model.items() if i.group == "recent"]
    assert [i.title for i in recent] == ["incident"]
    # Enter on a recent search runs it again.
    with qtbot.waitSignal(
        palette.sig_results_shown, timeout=5000, check_params_cb=lambda q: q == "incident"
    ):
        QTest.keyClick(palette.field, Qt.Key.Key_Return)
    assert palette.isVisible()
    assert any(i.key == seeded["thread"] for i in palette.model.items())


def test_newest_query_wins_while_typing_fast(
    window: MainWindow, qtbot: Any, seeded: dict[str, str]
) -> None:
    palette = _open(window, qtbot)
    shown: list[str] = []
    palette.sig_results_shown.connect(shown.append)
    palette.field.clear()
    with qtbot.waitSignal(
        palette.sig_results_shown, timeout=5000, check_params_cb=lambda q: q == "triage-bot"
    ):
        QTest.keyClicks(palette.field, "triage-bot")
    # Intermediate texts were skipped, never shown after a newer one.
    assert shown[-1] == "triage-bot" and len(shown) < len("triage-bot")
    assert [i.key for i in palette.model.items() if i.group == "agents"] == [seeded["agent"]]


# -- every page's commands from start-up -----------------------------------------------------


def test_every_declared_command_names_a_method_of_its_page(window: MainWindow) -> None:
    """Commands are declared as data (ui/pages/page_commands.py) and bound when run: each
    names a method its page really has, callable with the declared arguments."""
    import inspect

    from ato_desktop.ui.commands import method_of
    from ato_desktop.ui.pages.page_commands import PAGE_COMMANDS
    from ato_desktop.ui.pages.registry import PAGES

    page_ids = {spec.id for spec in PAGES}
    assert PAGE_COMMANDS and {c.target for c in PAGE_COMMANDS} <= page_ids
    for command in PAGE_COMMANDS:
        assert command.callback is None and command.target is not None
        method = method_of(window.page(command.target), command.method)
        inspect.signature(method).bind(*command.args)
        assert command.scope == "window" or command.page_id == command.target
    # Building every page registered nothing new: the registry had them all from start-up.
    ids = [c.id for c in window.ctx.commands]
    assert len(ids) == len(set(ids)) and {c.id for c in PAGE_COMMANDS} <= set(ids)


def test_every_page_command_is_listed_before_its_page_is_built(window: MainWindow) -> None:
    from ato_desktop.ui.pages.page_commands import PAGE_COMMANDS

    built = set(window._pages)
    unbuilt = [c for c in PAGE_COMMANDS if c.target not in built]
    assert unbuilt
    for declared in unbuilt:
        assert declared.id in window.ctx.commands
        assert window.ctx.commands.get(declared.id) == declared


def test_page_commands_are_listed_without_importing_a_page(tmp_path: Path) -> None:
    """The window lists every command (the palette, menus, `?`) before any page module loads."""
    probe = (
        "import json, sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from pathlib import Path\n"
        "from ato_desktop.store.paths import DataPaths\n"
        "from ato_desktop.ui.commands import CommandRegistry\n"
        "from ato_desktop.ui.context import AppContext\n"
        "from ato_desktop.ui.main_window import MainWindow\n"
        "app = QApplication([])\n"
        f"ctx = AppContext(CommandRegistry(), paths=DataPaths(Path({str(tmp_path)!r})))\n"
        "window = MainWindow(ctx)\n"
        "pages = sorted(m for m in sys.modules if m.endswith('_page'))\n"
        "print(json.dumps([pages, [c.id for c in ctx.commands]]))\n"
    )
    env = {**os.environ, "ATO_HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    pages, ids = json.loads(done.stdout.strip().splitlines()[-1])
    assert pages == []
    assert {"runs.telemetry", "agents.new", "insights.cost", "automations.fit"} <= set(ids)


def test_a_page_command_runs_from_the_palette_before_its_page_was_built(
    window: MainWindow, qtbot: Any
) -> None:
    assert "insights" not in window._pages and "agents" not in window._pages
    palette = _open(window, qtbot)
    _type(palette, qtbot, "cost recommendations")
    _select(palette, qtbot, "insights.cost")
    QTest.keyClick(palette.field, Qt.Key.Key_Return)
    assert window.current_page_id == "insights"
    insights: Any = window.page("insights")
    assert insights.current_tab == "cost"

    # A page-scope command: the page opens and the real command runs (a new agent's form).
    palette = _open(window, qtbot)
    _type(palette, qtbot, "new agent")
    _select(palette, qtbot, "agents.new")
    QTest.keyClick(palette.field, Qt.Key.Key_Return)
    assert window.current_page_id == "agents"
    agents: Any = window.page("agents")
    assert agents.editor.creating
    # The command, bound when it ran, has its shortcut on its page now that the page is built.
    action = window.ctx.commands.action("agents.new")
    assert action in agents.actions()


def test_a_message_opened_from_the_palette_is_scrolled_into_view_and_highlighted(
    window: MainWindow, qtbot: Any
) -> None:
    store = window.ctx.workspace.store
    thread = store.create_thread("Long talk").result()
    for n in range(40):
        role = "user" if n % 2 == 0 else "assistant"
        text = "the zyxwv needle is here" if n == 5 else f"line {n} " + "filler text " * 30
        store.add_message(thread.id, role, text).result()
    palette = _open(window, qtbot)
    _type(palette, qtbot, "zyxwv")
    (hit,) = [i for i in palette.model.items() if i.group == "messages"]
    _select(palette, qtbot, hit.key)
    QTest.keyClick(palette.field, Qt.Key.Key_Return)
    assert window.current_page_id == "chat"
    chat: Any = window.page("chat")
    view = chat.conversation
    key = "assistant:m" + hit.key.partition("#")[2]
    qtbot.waitUntil(lambda: view.highlighted_key == key, timeout=5000)
    turn = view.turn(key)
    assert turn.property("highlighted") is True
    assert "zyxwv" in turn.item.text

    def in_view() -> bool:
        top = turn.mapTo(view.viewport(), turn.rect().topLeft()).y()
        return 0 <= top < view.viewport().height()

    # Not left at the bottom (the newest message), where an opened thread goes otherwise.
    bar = view.verticalScrollBar()
    qtbot.waitUntil(lambda: in_view() and bar.value() < bar.maximum(), timeout=5000)
    # The highlight is brief.
    qtbot.waitUntil(lambda: view.highlighted_key is None, timeout=5000)
    assert turn.property("highlighted") is False


# -- a first look: before typing, no match, one hit per message ----------------------------------


def test_every_insights_tab_is_listed_before_typing(window: MainWindow, qtbot: Any) -> None:
    palette = _open(window, qtbot)  # nothing typed (a fresh palette)
    assert palette.query == ""
    actions = [i.key for i in palette.model.items() if i.group == "actions"]
    wanted = [f"go.insights.{tab_id}" for tab_id, _title, _keywords in INSIGHTS_TABS]
    assert actions[: len(wanted)] == wanted
    assert len(actions) > len(wanted)  # and a few other commands after them
    # Arrow down and Enter: the first one opens its tab at once.
    QTest.keyClick(palette.field, Qt.Key.Key_Return)
    assert window.current_page_id == "insights"
    assert window.page("insights").current_tab == INSIGHTS_TABS[0][0]  # type: ignore[attr-defined]


def test_a_search_with_no_match_says_so(
    window: MainWindow, qtbot: Any, seeded: dict[str, str]
) -> None:
    palette = _open(window, qtbot)
    _type(palette, qtbot, "zqxjv")
    assert palette.model.items() == [] and palette.says_no_match
    assert "No match for “zqxjv”" in palette.no_match.text()
    assert palette.no_match.isVisible() and not palette.view.isVisible()
    _type(palette, qtbot, "triage")  # something again: the list is back
    assert not palette.says_no_match and palette.view.isVisible()
    assert any(i.key == seeded["agent"] for i in palette.model.items())
    _type(palette, qtbot, "")  # an empty field is no "no match" either
    assert not palette.says_no_match


def test_a_message_sent_in_several_chats_matches_once(window: MainWindow, qtbot: Any) -> None:
    store = window.ctx.workspace.store
    threads = []
    for _ in range(6):  # the same question asked in six chats (as the demo does)
        thread = store.create_thread("Nightly failures").result()
        store.add_message(thread.id, "user", "why did the qzv import fail?").result()
        threads.append(thread.id)
    other = store.create_thread("Nightly failures").result()
    store.add_message(other.id, "assistant", "the qzv importer ran out of disk").result()
    palette = _open(window, qtbot)
    _type(palette, qtbot, "qzv")
    messages = [i for i in palette.model.items() if i.group == "messages"]
    assert len(messages) == 2  # the question once, the different answer once
    question = next(i for i in messages if "import fail" in i.plain_title)
    assert question.key.startswith(threads[-1])  # the newest copy opens
    assert "and 5 more like it" in question.detail
    answer = next(i for i in messages if "disk" in i.plain_title)
    assert "more like it" not in answer.detail


def test_the_tray_menu_is_built_from_the_commands_the_palette_runs(
    window: MainWindow, qtbot: Any
) -> None:
    """Kill all stuck and Pause schedules are in the palette as in the tray; Quit is one
    command, the same action in the tray and the File menu."""
    registry = window.ctx.commands
    tray = window.tray
    assert tray is not None
    tray.rebuild_menu()
    in_tray = tray.menu.actions()
    for command_id in ("app.open_window", "runs.kill_stuck", "schedules.toggle", "app.quit"):
        assert registry.action(command_id) in in_tray
    file_menu = window.menuBar().actions()[0].menu()
    assert file_menu is not None and registry.action("app.quit") in file_menu.actions()
    assert [c.id for c in registry if c.title == "Quit"] == ["app.quit"]

    palette = _open(window, qtbot)
    _type(palette, qtbot, "kill all stuck")
    _select(palette, qtbot, "runs.kill_stuck")
    with qtbot.waitSignal(window.ctx.sig_status_message, timeout=5000) as said:
        QTest.keyClick(palette.field, Qt.Key.Key_Return)
    assert said.args[0].startswith("No run is stuck")

    scheduler = window.ctx.opened_workspace.automations.scheduler
    assert not scheduler.paused
    palette = _open(window, qtbot)
    _type(palette, qtbot, "pause schedules")
    _select(palette, qtbot, "schedules.toggle")
    QTest.keyClick(palette.field, Qt.Key.Key_Return)
    assert scheduler.paused and tray.pause_action.text() == "Resume schedules"
    tray.pause_action.trigger()
    assert not scheduler.paused and registry.get("schedules.toggle").title == "Pause schedules"
