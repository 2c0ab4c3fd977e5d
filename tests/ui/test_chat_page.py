"""The Chat page end to end: real widgets offscreen, a real log, the official SDKs talking to the
loopback fake LLM servers. Waits are on signals and conditions, never on sleeps.
"""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from ato_desktop.core.models import AgentConfig, Trigger
from ato_desktop.core.records import AgentRecord
from ato_desktop.engine.credentials import CredentialStore
from ato_desktop.engine.dispatcher import DispatchRequest, DispatchResult
from ato_desktop.ui.chat.conversation_view import AnswerTurn, ErrorTurn, UserTurn
from ato_desktop.ui.chat.thread_list import ThreadIdRole, ThreadListModel, ThreadRow
from ato_desktop.ui.chat.turns import TurnStats, relative_time
from ato_desktop.ui.commands import Command
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.pages.chat_page import ChatPage
from ato_desktop.ui.widgets.markdown_view import MarkdownSplitter, MarkdownView, split_markdown
from tests.fakes import FakeLLMServer, Scenario, UsageSpec
from tests.support.qt_helpers import run_on_engine, show_page


@pytest.fixture
def page(open_ctx: AppContext, qtbot: Any) -> ChatPage:
    return show_page(qtbot, ChatPage(open_ctx))


def _agent(ctx: AppContext, fake: FakeLLMServer, name: str = "writer") -> AgentRecord:
    config = AgentConfig("claude", "claude-sonnet-5", base_url=fake.anthropic_base_url)
    return ctx.workspace.agents.create(name, config, source="test")


def _pick_agent(page: ChatPage, qtbot: Any, agent: AgentRecord) -> None:
    qtbot.waitUntil(lambda: page.picker.select_agent(agent.id), timeout=5_000)


def _answer(page: ChatPage) -> AnswerTurn:
    answers = [page.conversation.turn(k) for k in page.conversation.keys if "assistant" in k]
    assert answers and isinstance(answers[-1], AnswerTurn)
    return answers[-1]


def _send(page: ChatPage, qtbot: Any, text: str) -> None:
    page.composer.set_text(text)
    qtbot.keyClick(page.composer.edit, Qt.Key.Key_Return)


# -- streaming -----------------------------------------------------------------------------------


def test_answer_streams_chunk_by_chunk_then_shows_stats_and_lands_in_runs(
    page: ChatPage, qtbot: Any, fake: FakeLLMServer, keys: CredentialStore
) -> None:
    ctx = page.ctx
    fake.scenario = Scenario(
        chunks=("Alpha ", "beta ", "gamma ", "**delta**."),
        delay_s=0.15,
        usage=UsageSpec(uncached_input_tokens=20, cache_read_tokens=0, cache_write_tokens=0,
                        output_tokens=7),
    )  # fmt: skip
    agent = _agent(ctx, fake)
    _pick_agent(page, qtbot, agent)
    _send(page, qtbot, "Say four words")

    assert page.streaming
    assert not page.composer.edit.isEnabled() and page.composer.stop_button.isVisible()
    assert not page.composer.send_button.isVisible()
    user = page.conversation.turn(page.conversation.keys[0])
    assert isinstance(user, UserTurn) and user.body.toPlainText() == "Say four words"
    # The answer grows on screen before the stream is over, a chunk at a time. The first chunk
    # waits for the engine to load the SDK (the file's first dispatch): seconds on a busy machine.
    qtbot.waitUntil(lambda: _answer(page).body.toPlainText().startswith("Alpha"), timeout=15_000)
    assert "delta" not in _answer(page).body.toPlainText()
    qtbot.waitUntil(lambda: "gamma" in _answer(page).body.toPlainText(), timeout=5_000)
    assert page.streaming
    qtbot.waitUntil(lambda: not page.streaming, timeout=10_000)

    answer = _answer(page)
    assert answer.body.toPlainText() == "Alpha beta gamma delta."  # Markdown rendered
    assert page.composer.edit.isEnabled() and page.composer.send_button.isVisible()
    qtbot.waitUntil(lambda: answer.stats.text.isVisible(), timeout=5_000)
    assert "20 in · 7 out" in answer.stats.text.text()
    assert answer.stats.badge.isVisible() and answer.stats.badge.text() == "est."

    runs = ctx.workspace.store.list_runs(_all_runs())
    assert len(runs) == 1
    run = runs[0]
    assert run.trigger == "ui" and run.status == "completed" and run.agent_id == agent.id
    assert run.cost_source == "estimated"
    assert page.thread_id == run.thread_id
    messages = ctx.workspace.store.thread_messages(run.thread_id or "")
    assert [(m.role, m.content) for m in messages] == [
        ("user", "Say four words"),
        ("assistant", "Alpha beta gamma **delta**."),
    ]
    qtbot.waitUntil(lambda: page.thread_model.rowCount() == 1, timeout=5_000)
    assert page.thread_list.currentIndex().data(ThreadIdRole) == run.thread_id

    with qtbot.waitSignal(ctx.sig_navigate) as nav:
        qtbot.mouseClick(answer.stats.run_link, Qt.MouseButton.LeftButton)
    assert nav.args == ["runs", {"run_id": run.id}]


def test_stop_kills_mid_stream_and_keeps_the_partial_answer(
    page: ChatPage, qtbot: Any, fake: FakeLLMServer, keys: CredentialStore
) -> None:
    ctx = page.ctx
    fake.scenario = Scenario(chunks=("One ", "two ", "three ", "four"), stall_after=2)
    agent = _agent(ctx, fake)
    _pick_agent(page, qtbot, agent)
    _send(page, qtbot, "Count")
    qtbot.waitUntil(lambda: "two" in _answer(page).body.toPlainText(), timeout=15_000)
    assert page.streaming

    qtbot.mouseClick(page.composer.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.streaming, timeout=5_000)
    assert fake.last_request.disconnected.wait(2)

    (run,) = ctx.workspace.store.list_runs(_all_runs())
    assert run.status == "killed" and run.trigger == "ui"
    answer = _answer(page)
    assert answer.body.toPlainText().strip() == "One two"
    qtbot.waitUntil(lambda: answer.stats.status.text() == "Stopped", timeout=5_000)
    assert answer.stats.badge.isVisible()  # tokens and cost of a kill are estimated
    messages = ctx.workspace.store.thread_messages(run.thread_id or "")
    assert [(m.role, m.content) for m in messages][-1] == ("assistant", "One two ")


def test_the_stop_command_is_escape_and_stops_the_answer(
    page: ChatPage, qtbot: Any, fake: FakeLLMServer, keys: CredentialStore
) -> None:
    registry = page.ctx.commands
    for command in page.commands():
        page.addAction(registry.register(command))
    assert registry.action("chat.stop").shortcut().toString() == "Esc"
    fake.scenario = Scenario(chunks=("Wait", "ing"), stall_after=1)
    _pick_agent(page, qtbot, _agent(page.ctx, fake))
    _send(page, qtbot, "Hold on")
    # (The first stream a test process sends waits for the engine to load the SDK: under xdist
    # this test may be its worker's first.)
    qtbot.waitUntil(lambda: "Wait" in _answer(page).body.toPlainText(), timeout=15_000)
    registry.action("chat.stop").trigger()
    qtbot.waitUntil(lambda: not page.streaming, timeout=5_000)
    (run,) = page.ctx.workspace.store.list_runs(_all_runs())
    assert run.status == "killed"


def test_auth_failure_is_shown_with_its_message_and_a_fix(
    page: ChatPage, qtbot: Any, fake: FakeLLMServer
) -> None:
    ctx = page.ctx  # no key stored: the dispatch fails with class auth
    _pick_agent(page, qtbot, _agent(ctx, fake))
    _send(page, qtbot, "Hello?")
    qtbot.waitUntil(lambda: not page.streaming, timeout=10_000)

    (run,) = ctx.workspace.store.list_runs(_all_runs())
    assert run.status == "failed" and run.error_class == "auth" and run.trigger == "ui"
    key = f"error:{run.id}"
    qtbot.waitUntil(lambda: page.conversation.turn(key) is not None, timeout=5_000)
    card = page.conversation.turn(key)
    assert isinstance(card, ErrorTurn)
    assert "keys set anthropic" in card.message.text()
    assert "API key" in card.title.text()
    assert not any("assistant" in k for k in page.conversation.keys)

    # The card's buttons are made again when its run's figures arrive; a new button shows at
    # the event loop's next turn.
    def shown_fix() -> QPushButton | None:
        buttons = card.findChildren(QPushButton, "FixKeysButton")
        return next((button for button in buttons if button.isVisible()), None)

    qtbot.waitUntil(lambda: shown_fix() is not None, timeout=5_000)
    fix = shown_fix()
    assert fix is not None
    with qtbot.waitSignal(ctx.sig_navigate) as nav:
        qtbot.mouseClick(fix, Qt.MouseButton.LeftButton)
    assert nav.args == ["settings", {"section": "keys"}]


def test_a_rate_limit_offers_to_try_again(
    page: ChatPage, qtbot: Any, fake: FakeLLMServer, keys: CredentialStore
) -> None:
    fake.scenario = Scenario(status=429, retry_after="0")
    _pick_agent(page, qtbot, _agent(page.ctx, fake))
    _send(page, qtbot, "Busy?")
    qtbot.waitUntil(lambda: not page.streaming, timeout=15_000)
    qtbot.waitUntil(
        lambda: any(k.startswith("error:") for k in page.conversation.keys), timeout=5_000
    )
    card = page.conversation.turn(page.conversation.keys[-1])
    assert isinstance(card, ErrorTurn)
    retry = card.findChild(type(page.composer.send_button), "RetryButton")
    assert retry is not None
    fake.scenario = Scenario(chunks=("Now ", "fine"))
    qtbot.mouseClick(retry, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.streaming, timeout=10_000)
    qtbot.waitUntil(lambda: _answer(page).body.toPlainText() == "Now fine", timeout=5_000)


# -- threads -------------------------------------------------------------------------------------


def _seed(ctx: AppContext, qtbot: Any, fake: FakeLLMServer, prompt: str, answer: str,
          agent: str, thread_id: str | None = None) -> DispatchResult:  # fmt: skip
    fake.scenario = Scenario(chunks=(answer,))
    request = DispatchRequest(
        prompt, agent=agent, thread_id=thread_id, new_thread=thread_id is None,
        trigger=Trigger.UI,
    )  # fmt: skip
    return run_on_engine(ctx, qtbot, ctx.workspace.dispatcher.dispatch(request))


def test_switching_threads_shows_their_history_and_the_next_send_carries_it(
    page: ChatPage, qtbot: Any, fake: FakeLLMServer, keys: CredentialStore
) -> None:
    ctx = page.ctx
    agent = _agent(ctx, fake)
    first = _seed(ctx, qtbot, fake, "About apples", "Apples are red.", agent.name)
    second = _seed(ctx, qtbot, fake, "About boats", "Boats float.", agent.name)
    qtbot.waitUntil(lambda: page.thread_model.rowCount() == 2, timeout=5_000)

    def texts() -> list[str]:
        out = []
        for key in page.conversation.keys:
            turn = page.conversation.turn(key)
            assert turn is not None
            out.append(turn.body.toPlainText())  # type: ignore[attr-defined]
        return out

    def click_thread(thread_id: str) -> None:
        row = page.thread_model.row_of(thread_id)
        index = page.thread_proxy.mapFromSource(page.thread_model.index(row))
        rect = page.thread_list.visualRect(index)
        qtbot.mouseClick(page.thread_list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())

    click_thread(first.thread_id or "")
    qtbot.waitUntil(lambda: texts() == ["About apples", "Apples are red."], timeout=5_000)
    assert page.title_label.text() == "About apples"
    click_thread(second.thread_id or "")
    qtbot.waitUntil(lambda: texts() == ["About boats", "Boats float."], timeout=5_000)

    fake.scenario = Scenario(chunks=("They ", "sail."))
    _send(page, qtbot, "And then?")
    qtbot.waitUntil(lambda: not page.streaming, timeout=10_000)
    sent = fake.last_request.body["messages"]
    assert [(m["role"], _text(m["content"])) for m in sent] == [
        ("user", "About boats"),
        ("assistant", "Boats float."),
        ("user", "And then?"),
    ]
    qtbot.waitUntil(lambda: texts()[-2:] == ["And then?", "They sail."], timeout=5_000)
    assert page.thread_id == second.thread_id


def test_navigation_targets_open_a_thread_or_a_new_one_with_an_agent(
    page: ChatPage, qtbot: Any, fake: FakeLLMServer, keys: CredentialStore
) -> None:
    ctx = page.ctx
    agent = _agent(ctx, fake)
    other = _agent(ctx, fake, "other")
    seeded = _seed(ctx, qtbot, fake, "Old question", "Old answer.", agent.name)

    page.activate({"thread_id": seeded.thread_id})
    qtbot.waitUntil(lambda: len(page.conversation.keys) == 2, timeout=5_000)
    assert page.thread_id == seeded.thread_id
    qtbot.waitUntil(lambda: page.picker.agent_id() == agent.id, timeout=5_000)

    page.activate({"agent_id": other.id})
    assert page.thread_id is None and page.conversation.keys == []
    qtbot.waitUntil(lambda: page.picker.agent_id() == other.id, timeout=5_000)
    assert page.title_label.text() == "New conversation"


# The confirmation is a window of its own; the offscreen platform warns when it sizes it.
OFFSCREEN_DIALOG = pytest.mark.qt_log_ignore("does not support propagateSizeHints")


@OFFSCREEN_DIALOG
def test_rename_in_place_and_delete_with_confirmation(
    page: ChatPage, qtbot: Any, fake: FakeLLMServer, keys: CredentialStore
) -> None:
    ctx = page.ctx
    store = ctx.workspace.store
    seeded = _seed(ctx, qtbot, fake, "Untitled thought", "Noted.", _agent(ctx, fake).name)
    thread_id = seeded.thread_id or ""
    page.activate({"thread_id": thread_id})
    qtbot.waitUntil(lambda: page.thread_model.row_of(thread_id) == 0, timeout=5_000)

    index = page.thread_model.index(0)
    with qtbot.waitSignal(ctx.bridge.sig_thread_changed):
        assert page.thread_model.setData(index, "  Groceries  ")
        # A load of the list read before the rename is written (it is not yet: the write
        # waits for the event loop) keeps the new title instead of putting the old one back.
        stale = store.list_threads()
        assert [thread.title for thread in stale] == ["Untitled thought"]
        page._show_threads(stale)
        assert page.thread_model.thread_at(0).title == "Groceries"
    qtbot.waitUntil(lambda: store.get_thread(thread_id).title == "Groceries", timeout=5_000)
    qtbot.waitUntil(lambda: page.title_label.text() == "Groceries", timeout=5_000)

    box = page.delete_thread()
    assert box is not None and "Groceries" in box.text()
    confirm = box.findChild(type(page.composer.send_button), "ConfirmDelete")
    with qtbot.waitSignal(ctx.bridge.sig_thread_changed):
        qtbot.mouseClick(confirm, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.thread_model.rowCount() == 0, timeout=5_000)
    assert page.thread_id is None and page.title_label.text() == "New conversation"
    assert store.list_threads() == []
    assert store.get_run(seeded.run_id).thread_id is None  # the run stays in Runs


@OFFSCREEN_DIALOG
def test_cancelled_delete_keeps_the_thread(
    page: ChatPage, qtbot: Any, fake: FakeLLMServer, keys: CredentialStore
) -> None:
    seeded = _seed(page.ctx, qtbot, fake, "Keep me", "Kept.", _agent(page.ctx, fake).name)
    page.activate({"thread_id": seeded.thread_id})
    box = page.delete_thread()
    assert box is not None
    box.reject()
    assert page.ctx.workspace.store.get_thread(seeded.thread_id or "").title == "Keep me"


def test_no_agent_path_uses_the_settings_defaults_and_price_table_suggestions(
    open_ctx: AppContext,
    qtbot: Any,
    fake: FakeLLMServer,
    keys: CredentialStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.anthropic_base_url)
    open_ctx.settings.setValue("defaults/runtime", "claude")
    open_ctx.settings.setValue("defaults/model", "claude-haiku-4-5")
    page = ChatPage(open_ctx)
    qtbot.addWidget(page)
    assert page.picker.agent_id() is None
    assert page.picker.runtime() == "claude"
    assert page.picker.model_combo.model_name() == "claude-haiku-4-5"
    expected = open_ctx.workspace.prices.known_models("claude")
    qtbot.waitUntil(lambda: page.picker.model_combo.suggestions() == expected, timeout=10_000)
    assert "claude-haiku-4-5" in expected
    # Switching runtime offers that runtime's priced models.
    page.picker.runtime_combo.setCurrentIndex(page.picker.runtime_combo.findData("codex"))
    codex = open_ctx.workspace.prices.known_models("codex")
    qtbot.waitUntil(lambda: page.picker.model_combo.suggestions() == codex, timeout=10_000)
    page.picker.set_direct("claude", "claude-haiku-4-5")

    fake.scenario = Scenario(chunks=("Direct ", "answer"))
    page.send("No agent, please")
    qtbot.waitUntil(lambda: not page.streaming, timeout=10_000)
    (run,) = open_ctx.workspace.store.list_runs(_all_runs())
    assert (run.agent_id, run.runtime, run.model, run.trigger) == (
        None,
        "claude",
        "claude-haiku-4-5",
        "ui",
    )
    assert run.status == "completed" and fake.last_request.path == "/v1/messages"


def test_a_send_without_a_model_says_what_to_pick(page: ChatPage, qtbot: Any) -> None:
    page.picker.select_agent(None)
    page.picker.set_direct("openai-compatible", "")
    page.send("Anyone there?")
    assert not page.streaming
    assert page.notice.isVisibleTo(page) and "Pick a model" in page.notice.text()
    assert page.ctx.workspace.store.list_runs(_all_runs()) == []


def test_enter_sends_and_shift_enter_adds_a_line(page: ChatPage, qtbot: Any) -> None:
    edit = page.composer.edit
    edit.setFocus()
    qtbot.keyClicks(edit, "first")
    qtbot.keyClick(edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(edit, "second")
    assert page.composer.text() == "first\nsecond"
    with qtbot.waitSignal(page.composer.sig_submitted) as sent:
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert sent.args == ["first\nsecond"]


def test_empty_states_say_what_to_do(page: ChatPage, qtbot: Any) -> None:
    qtbot.waitUntil(lambda: page.threads_empty.isVisible(), timeout=5_000)
    assert "No conversations yet" in page.threads_empty.text()
    assert page.conversation.empty_title.text() == "Start a conversation"
    assert page.conversation.empty_action.isVisible()  # no agents yet: offer to create one
    with qtbot.waitSignal(page.ctx.sig_navigate) as nav:
        qtbot.mouseClick(page.conversation.empty_action, Qt.MouseButton.LeftButton)
    assert nav.args == ["agents", {"new": True}]


def test_commands_are_page_scoped_data(page: ChatPage) -> None:
    commands = {c.id: c for c in page.commands()}
    assert {"chat.new_thread", "chat.rename_thread", "chat.delete_thread", "chat.stop"} <= set(
        commands
    )
    new = commands["chat.new_thread"]
    assert isinstance(new, Command)
    assert (new.shortcut, new.scope, new.page_id) == ("Ctrl+N", "page", "chat")


def test_thread_list_model(qtmodeltester: Any) -> None:
    model = ThreadListModel()
    model.set_rows(
        [
            ThreadRow("a", "First", "writer", 1_000),
            ThreadRow("b", "Second", "claude · m", 2_000, is_demo=True),
        ]
    )
    qtmodeltester.check(model)
    assert model.setData(model.index(1), "Renamed")
    assert model.data(model.index(1)) == "Renamed"
    assert not model.setData(model.index(1), "   ")


# -- pure helpers --------------------------------------------------------------------------------


def test_stats_text_and_relative_times() -> None:
    stats = TurnStats("r", "completed", 1_500_000_000, 1200, 34, False, 0.0123, "estimated")
    assert (stats.duration_text(), stats.tokens_text(), stats.cost_text()) == (
        "1.5 s",
        "1,200 in · 34 out",
        "$0.012",
    )
    assert stats.cost_is_estimated
    unknown = TurnStats("r", "completed", cost_usd=None, cost_source="unknown")
    assert unknown.cost_text() == "unknown" and not unknown.cost_is_estimated
    assert relative_time(0, 30_000) == "just now"
    assert relative_time(0, 5 * 60_000) == "5 min ago"
    assert relative_time(0, 26 * 3_600_000) == "yesterday"


# -- Markdown ------------------------------------------------------------------------------------

LONG_MARKDOWN = "".join(
    f"## Part {n}\n\nSome *text* with `code` number {n}.\n\n"
    f"```python\nprint({n})\n\nprint({n + 1})\n```\n\n1. one\n2. two\n\n- a\n- b\n\n"
    for n in range(120)
)


def test_markdown_splitter_keeps_fences_and_numbered_lists_whole() -> None:
    segments = split_markdown("Intro\n\n```py\na = 1\n\nb = 2\n```\n\n1. x\n\n2. y\n\nEnd\n")
    assert [(s.kind, s.text) for s in segments] == [
        ("markdown", "Intro\n\n"),
        ("code", "a = 1\n\nb = 2\n"),
        ("markdown", "1. x\n\n2. y\n\n"),
        ("markdown", "End\n"),
    ]
    assert segments[1].language == "py"
    splitter = MarkdownSplitter()
    assert splitter.feed("```\nopen code") == []
    tail = splitter.tail()
    assert tail is not None and tail.kind == "code" and tail.text == "open code"


def test_streamed_markdown_renders_like_the_whole_text_in_linear_work(qtbot: Any) -> None:
    whole = MarkdownView(fit_height=True)
    streamed = MarkdownView(fit_height=True)
    for view in (whole, streamed):
        qtbot.addWidget(view)
        view.resize(640, 200)
    whole.set_markdown(LONG_MARKDOWN)
    streamed.begin_stream()
    for start in range(0, len(LONG_MARKDOWN), 7):
        streamed.append_stream(LONG_MARKDOWN[start : start + 7])
        streamed.flush_stream()  # worst case: a render after every chunk
    streamed.end_stream()
    assert streamed.document().toMarkdown() == whole.document().toMarkdown()
    assert streamed.markdown_source() == LONG_MARKDOWN
    # Re-rendering the whole document per chunk would lay out ~1000x the text here.
    assert streamed.rendered_chars < 12 * len(LONG_MARKDOWN)
    assert "print(3)" in streamed.toPlainText()


def test_stream_chunks_are_batched_until_the_throttle_fires(qtbot: Any) -> None:
    view = MarkdownView()
    qtbot.addWidget(view)
    view.begin_stream()
    view.append_stream("Hello ")
    view.append_stream("there")
    assert view.toPlainText() == ""  # not rendered per chunk
    qtbot.waitUntil(lambda: view.toPlainText() == "Hello there", timeout=2_000)


def _all_runs() -> Any:
    from ato_desktop.core.records import RunFilter

    return RunFilter()


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content)
