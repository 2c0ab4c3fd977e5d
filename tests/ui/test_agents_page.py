"""The Agents page: create and edit through the form, versions with diffs, links to runs."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt

from ato_desktop.core.models import AgentConfig, Trigger
from ato_desktop.core.records import AgentRecord, AgentVersionRecord, RunFilter
from ato_desktop.engine.dispatcher import DispatchRequest
from ato_desktop.ui.agents.agent_editor import edit_changes, field_of_error
from ato_desktop.ui.agents.agent_list import AgentListModel, DemoRole
from ato_desktop.ui.agents.config_history import describe_changes, prompt_diff, version_summary
from ato_desktop.ui.agents.history_view import VersionListModel
from ato_desktop.ui.agents.key_value_table import KeyValueModel
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.pages.agents_page import HISTORY_TAB, AgentsPage
from tests.support.qt_helpers import run_on_engine, show_page

PROMPT_V1 = "You are a careful writer.\nAnswer in one paragraph.\nCite sources."
PROMPT_V2 = "You are a careful writer.\nAnswer in two paragraphs.\nCite sources."


@pytest.fixture
def page(open_ctx: AppContext, qtbot: Any) -> AgentsPage:
    return show_page(qtbot, AgentsPage(open_ctx))


def _create(ctx: AppContext, name: str = "writer", **config: Any) -> AgentRecord:
    values = {"runtime": "claude", "model": "claude-sonnet-5", **config}
    return ctx.workspace.agents.create(name, AgentConfig(**values), source="test")


def _save(page: AgentsPage, qtbot: Any) -> None:
    qtbot.mouseClick(page.editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(page.editor.save_button.isEnabled, timeout=5_000)


def _history(ctx: AppContext, agent_id: str) -> list[AgentVersionRecord]:
    return ctx.workspace.store.agent_history(agent_id)


def test_create_an_agent_through_the_form(page: AgentsPage, qtbot: Any) -> None:
    ctx = page.ctx
    page.activate({"new": True})
    editor = page.editor
    assert editor.creating and editor.name_edit.isVisible()
    assert not page.chat_button.isVisible()
    qtbot.keyClicks(editor.name_edit, "reviewer")
    editor.runtime_combo.setCurrentIndex(editor.runtime_combo.findData("codex"))
    editor.model_combo.set_model_name("gpt-5-mini")
    editor.system_prompt_edit.setPlainText("Review carefully.")
    editor.params.model.add_row("temperature", "0.2")
    editor.params.model.add_row("stop", '["\\n"]')
    editor.params.model.add_row("style", "terse")
    editor.role_models.model.add_row("planner", "gpt-5")
    editor.budget_edit.setText("2.50")
    _save(page, qtbot)

    agent = ctx.workspace.store.get_agent("reviewer")
    assert agent.current_version == 1
    assert agent.config == AgentConfig(
        runtime="codex",
        model="gpt-5-mini",
        system_prompt="Review carefully.",
        role_models={"planner": "gpt-5"},
        params={"temperature": 0.2, "stop": ["\n"], "style": "terse"},  # JSON, like --param
        budget_per_day_usd=2.5,
    )
    assert _history(ctx, agent.id)[0].change_source == "ui"
    assert "Created reviewer" in editor.status_label.text()
    qtbot.waitUntil(lambda: page.agent_model.rowCount() == 1, timeout=5_000)
    assert page.agent is not None and page.agent.id == agent.id and not editor.creating


def test_every_save_records_a_version_and_a_no_op_save_says_so(
    page: AgentsPage, qtbot: Any
) -> None:
    ctx = page.ctx
    agent = _create(ctx, system_prompt=PROMPT_V1, params={"temperature": 0.3, "top_p": 0.9})
    page.activate({"agent_id": agent.id})
    qtbot.waitUntil(lambda: page.agent is not None, timeout=5_000)
    editor = page.editor
    assert editor.model_combo.model_name() == "claude-sonnet-5"
    assert editor.params.model.pairs() == [("temperature", "0.3"), ("top_p", "0.9")]

    editor.model_combo.set_model_name("claude-opus-4-5")
    editor.params.model.setData(editor.params.model.index(0, 1), "0.5")
    editor.params.model.remove_row(1)  # top_p removed
    _save(page, qtbot)
    saved = ctx.workspace.store.get_agent(agent.id)
    assert saved.current_version == 2
    assert saved.config.model == "claude-opus-4-5"
    assert saved.config.params == {"temperature": 0.5}
    assert editor.status_label.text() == "Saved as version 2."

    _save(page, qtbot)
    assert editor.status_label.text() == "No changes: nothing was saved."
    assert ctx.workspace.store.get_agent(agent.id).current_version == 2
    qtbot.waitUntil(lambda: "version 2" in page.subtitle_label.text(), timeout=5_000)


def test_validation_errors_are_shown_next_to_their_field(page: AgentsPage, qtbot: Any) -> None:
    ctx = page.ctx
    _create(ctx, "taken")
    page.activate({"new": True})
    editor = page.editor

    page.save()  # no name
    assert "name" in editor.error_text("name").lower()
    editor.name_edit.setText("fresh")
    page.save()  # no model
    assert editor.error_text("model") == "Pick or type a model."
    editor.model_combo.set_model_name("claude-haiku-4-5")
    editor.budget_edit.setText("lots")
    page.save()
    assert "not a number" in editor.error_text("budget")
    assert editor.error_text("model") == ""  # one error at a time, where it belongs
    editor.budget_edit.clear()
    editor.base_url_edit.setText("ftp://example.org")
    _save(page, qtbot)  # the service's own validation
    assert "http(s) URL" in editor.error_text("base_url")
    editor.base_url_edit.clear()
    editor.name_edit.setText("taken")
    _save(page, qtbot)
    assert "already exists" in editor.error_text("name")
    assert [a.name for a in ctx.workspace.store.list_agents()] == ["taken"]


def test_history_shows_versions_with_diffs_and_links_to_their_runs(
    page: AgentsPage, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = page.ctx
    # No key: each dispatch fails fast with class auth, but it is a run of that version.
    agent = _create(ctx, system_prompt=PROMPT_V1, params={"temperature": 0.3})
    for prompt in ("one", "two"):
        run_on_engine(ctx, qtbot, ctx.workspace.dispatcher.dispatch(
            DispatchRequest(prompt, agent=agent.name, trigger=Trigger.UI)))  # fmt: skip
    ctx.workspace.agents.edit(
        agent.name,
        {"system_prompt": PROMPT_V2, "model": "claude-opus-4-5", "params": {"temperature": 0.7}},
    )
    page.activate({"agent_id": agent.id})
    qtbot.waitUntil(lambda: page.history.model.rowCount() == 2, timeout=5_000)
    assert page.tabs.tabText(HISTORY_TAB) == "History (2)"
    page.show_tab(HISTORY_TAB)

    history = page.history
    newest = history.current_version
    assert newest is not None and newest.version == 2
    html = history.browser.toPlainText()
    assert "claude-sonnet-5" in html and "claude-opus-4-5" in html
    assert "- Answer in one paragraph." in html and "+ Answer in two paragraphs." in html
    assert "Parameter temperature" in html
    assert not history.runs_button.isEnabled()  # version 2 made no run yet

    history.select_row(1)
    first = history.current_version
    assert first is not None and first.version == 1 and first.run_count == 2
    assert "Created with" in history.browser.toPlainText()
    assert history.runs_button.text() == "View 2 runs →"
    with qtbot.waitSignal(ctx.sig_navigate) as nav:
        qtbot.mouseClick(history.runs_button, Qt.MouseButton.LeftButton)
    assert nav.args == ["runs", {"agent_id": agent.id, "agent_version_id": first.id}]
    runs = ctx.workspace.store.list_runs(RunFilter(agent_version_id=first.id))
    assert len(runs) == 2


def test_history_follows_edits_made_elsewhere(page: AgentsPage, qtbot: Any) -> None:
    ctx = page.ctx
    agent = _create(ctx)
    page.activate({"agent_id": agent.id})
    qtbot.waitUntil(lambda: page.history.model.rowCount() == 1, timeout=5_000)
    ctx.workspace.agents.edit(agent.name, {"model": "claude-haiku-4-5"}, source="cli")
    qtbot.waitUntil(lambda: page.history.model.rowCount() == 2, timeout=5_000)
    qtbot.waitUntil(
        lambda: page.editor.model_combo.model_name() == "claude-haiku-4-5", timeout=5_000
    )
    assert "version 2" in page.subtitle_label.text()


def test_model_suggestions_come_from_the_price_table(page: AgentsPage, qtbot: Any) -> None:
    prices = page.ctx.workspace.prices
    page.activate({"new": True})
    combo = page.editor.model_combo
    qtbot.waitUntil(lambda: combo.suggestions() == prices.known_models("claude"), timeout=10_000)
    page.editor.runtime_combo.setCurrentIndex(page.editor.runtime_combo.findData("codex"))
    qtbot.waitUntil(lambda: combo.suggestions() == prices.known_models("codex"), timeout=10_000)
    assert "gpt-5" in combo.suggestions()
    completer = combo.completer()
    assert completer.filterMode() == Qt.MatchFlag.MatchContains
    completer.setCompletionPrefix("5-mini")
    assert completer.currentCompletion() in {m for m in combo.suggestions() if "5-mini" in m}


def test_chat_with_this_agent_and_navigation_targets(page: AgentsPage, qtbot: Any) -> None:
    ctx = page.ctx
    first = _create(ctx, "alpha")
    second = _create(ctx, "beta")
    page.activate({"agent_id": second.id})
    qtbot.waitUntil(lambda: page.agent is not None and page.agent.id == second.id, timeout=5_000)
    assert page.name_label.text() == "beta"
    with qtbot.waitSignal(ctx.sig_navigate) as nav:
        qtbot.mouseClick(page.chat_button, Qt.MouseButton.LeftButton)
    assert nav.args == ["chat", {"agent_id": second.id}]
    page.activate({"agent_id": first.id})
    assert page.agent is not None and page.agent.id == first.id
    page.activate({"new": True})
    assert page.editor.creating and page.name_label.text() == "New agent"


def test_a_target_that_is_not_listed_yet_wins_when_it_arrives(page: AgentsPage, qtbot: Any) -> None:
    ctx = page.ctx
    page.activate({"agent_id": "beta"})  # e.g. created by the CLI a moment ago
    alpha = _create(ctx, "alpha")
    qtbot.waitUntil(lambda: page.agent is not None and page.agent.id == alpha.id, timeout=5_000)
    beta = _create(ctx, "beta")
    qtbot.waitUntil(lambda: page.agent is not None and page.agent.id == beta.id, timeout=5_000)


def test_demo_agents_carry_a_badge(page: AgentsPage, qtbot: Any) -> None:
    store = page.ctx.workspace.store
    store.create_agent("demo-bot", AgentConfig("codex", "gpt-5"), is_demo=True).result()
    _create(page.ctx, "mine")
    qtbot.waitUntil(lambda: page.agent_model.rowCount() == 2, timeout=5_000)
    demo_row = page.agent_model.row_of("demo-bot")
    assert page.agent_model.index(demo_row).data(DemoRole) is True
    assert page.agent_model.index(page.agent_model.row_of("mine")).data(DemoRole) is False
    page.activate({"agent_id": "demo-bot"})
    assert page.demo_badge.isVisible() and page.demo_badge.text() == "Demo"
    page.activate({"agent_id": "mine"})
    assert not page.demo_badge.isVisible()


def test_empty_state_offers_to_create_an_agent(page: AgentsPage, qtbot: Any) -> None:
    qtbot.waitUntil(lambda: page.right.currentIndex() == 0, timeout=5_000)
    assert page.empty_create.isVisible()
    qtbot.mouseClick(page.empty_create, Qt.MouseButton.LeftButton)
    assert page.right.currentIndex() == 1 and page.editor.creating


def test_commands_are_page_scoped_data(page: AgentsPage) -> None:
    commands = {c.id: c for c in page.commands()}
    assert commands["agents.new"].shortcut == "Ctrl+N"
    assert commands["agents.save"].shortcut == "Ctrl+S"
    assert all(c.scope == "page" and c.page_id == "agents" for c in commands.values())
    assert "agents.chat" in commands


# -- models --------------------------------------------------------------------------------------


def _version(version: int, diff: list[dict[str, Any]], runs: int = 0) -> AgentVersionRecord:
    return AgentVersionRecord(
        f"v{version}", "agent", version, 1_000 * version,
        AgentConfig("claude", "m"), diff, "ui", runs,
    )  # fmt: skip


def test_item_models(qtmodeltester: Any) -> None:
    agents = AgentListModel()
    agents.set_agents(
        [
            AgentRecord("a", "alpha", 1, 2, 1, AgentConfig("claude", "m"), "va"),
            AgentRecord("b", "beta", 1, 2, 3, AgentConfig("codex", "n"), "vb", is_demo=True),
        ]
    )
    qtmodeltester.check(agents)
    versions = VersionListModel()
    versions.set_versions(
        [
            _version(2, [{"path": "model", "before": "a", "after": "b"}], runs=4),
            _version(1, [{"path": "model", "before": None, "after": "a"}]),
        ]
    )
    qtmodeltester.check(versions)
    pairs = KeyValueModel(("Key", "Value"))
    pairs.set_pairs([("temperature", "0.2"), ("stop", "[]")])
    qtmodeltester.check(pairs)
    pairs.add_row()
    assert pairs.pairs() == [("temperature", "0.2"), ("stop", "[]")]  # empty rows ignored
    assert pairs.setData(pairs.index(2, 0), "seed")
    assert pairs.headerData(1, Qt.Orientation.Horizontal) == "Value"
    assert pairs.rowCount(pairs.index(0, 0)) == 0 and pairs.columnCount(QModelIndex()) == 2


def test_changes_are_described_field_by_field() -> None:
    version = _version(
        3,
        [
            {"path": "params.temperature", "before": 0.2, "after": 0.7},
            {"path": "system_prompt", "before": "a\nb\nc", "after": "a\nB\nc"},
            {"path": "model", "before": "old", "after": "new"},
            {"path": "role_models.review", "before": None, "after": "small"},
        ],
    )
    changes = describe_changes(version)
    assert [c.label for c in changes] == [
        "Model",
        "System prompt",
        "Parameter temperature",
        "Model for role review",
    ]
    assert (changes[0].before, changes[0].after) == ("old", "new")
    assert changes[3].kind == "added" and changes[3].before == "not set"
    assert prompt_diff("a\nb\nc", "a\nB\nc") == [("@", "…"), (" ", "a"), ("-", "b"), ("+", "B"),
                                                  (" ", "c")]  # fmt: skip
    assert version_summary(version) == "Model, System prompt +2"


def test_form_changes_remove_what_the_form_dropped() -> None:
    before = AgentConfig("claude", "m", params={"a": 1, "b": 2}, role_models={"x": "y"})
    after = AgentConfig("claude", "m", params={"a": 3})
    changes = edit_changes(before, after)
    assert changes["params"] == {"a": 3, "b": None}
    assert changes["role_models"] == {"x": ""}
    assert field_of_error("an agent named 'x' already exists") == "name"
    assert field_of_error("parameter names must be non-empty text") == "params"
    assert field_of_error("the budget per day cannot be negative") == "budget"
