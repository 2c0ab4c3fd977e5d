"""The Ctrl+K palette in the real main window over a real log: opening, two-character search
with snippets, Quick Actions to each Insights sub-tab, Enter to open things, Esc, recent queries."""

from __future__ import annotations

from collections.abc import Iterator
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


def test_declared_page_commands_equal_what_the_pages_register(window: MainWindow) -> None:
    """The start-up table is the pages' own commands(): building each page proves it."""
    import os
    from pathlib import Path

    from ato_desktop.ui.pages import declared_commands
    from ato_desktop.ui.pages.declared_commands import TABLE_MARKER, CommandDecl, render
    from ato_desktop.ui.pages.registry import PAGES

    real = {
        spec.id: tuple(CommandDecl.of(c) for c in window.page(spec.id).commands()) for spec in PAGES
    }
    real = {page_id: decls for page_id, decls in real.items() if decls}
    if os.environ.get("ATO_WRITE_DECLARED_COMMANDS"):
        path = Path(declared_commands.__file__)
        head = path.read_text(encoding="utf-8").rpartition(TABLE_MARKER)[0]
        path.write_text(f"{head}{TABLE_MARKER}\n{render(real)}", encoding="utf-8")
        return
    assert real == declared_commands.PAGE_COMMANDS, (
        "a page's commands changed: run ATO_WRITE_DECLARED_COMMANDS=1 pytest "
        "tests/ui/test_palette.py -k declared, then ruff format the table"
    )


def test_every_page_command_is_listed_before_its_page_is_built(window: MainWindow) -> None:
    from ato_desktop.ui.pages.declared_commands import PAGE_COMMANDS

    built = set(window._pages)
    for page_id, decls in PAGE_COMMANDS.items():
        if page_id in built:
            continue
        for decl in decls:
            assert decl.id in window.ctx.commands
            assert window.ctx.commands.get(decl.id).title == decl.title


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
    # The stand-in was replaced by the page's command, whose shortcut works on its page.
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
