"""Insights -> Cost over a real log: recommendations (largest monthly saving first) with their
evidence, the one-line explanation when nothing qualifies, "Why not?"; Gather evidence through
the official SDKs and the loopback fakes (estimate first, Send, progress, summary, Cancel, a
missing API key); and budgets: the Agents editor's fields, the spend line, the refusal in Chat."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import AgentRecord
from ato_desktop.engine.credentials import CredentialStore
from ato_desktop.engine.dispatcher import DispatchRequest
from ato_desktop.store.execution_log import now_ms
from ato_desktop.ui.agents.budget_line import budget_text
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.insights.cost_models import COL_HEADLINE, COL_SAVING, RecommendationsModel
from ato_desktop.ui.insights.cost_view import (
    STATE_NONE,
    STATE_RECS,
    W_LABEL,
    W_VERDICT,
    CostView,
)
from ato_desktop.ui.insights.evidence_dialog import DONE, RUNNING, EvidenceDialog
from ato_desktop.ui.pages.agents_page import AgentsPage
from ato_desktop.ui.pages.chat_page import ChatPage
from ato_desktop.ui.pages.insights_page import COST_TAB, InsightsPage
from tests.fakes import FakeLLMServer, Scenario, UsageSpec
from tests.support.builders import priced_runs
from tests.support.qt_helpers import Show, run_on_engine, show_page

DAY = 86_400_000


def swap_history(
    ctx: AppContext, name: str, tag: str, *, old: float, new: float, runs: int
) -> AgentRecord:
    """An agent that ran on codex (cheap) and now runs on claude (dearer)."""
    agents = ctx.workspace.agents
    agents.create(name, AgentConfig("codex", "gpt-5-mini"), source="test")
    start = now_ms() - 5 * DAY
    priced_runs(ctx.workspace.store, name, f"{tag}1", 20, old, ok=19, start=start)
    agents.edit(name, {"runtime": "claude", "model": "claude-sonnet-5"})
    priced_runs(ctx.workspace.store, name, f"{tag}2", runs, new, ok=runs - 1, start=start + DAY)
    return ctx.workspace.store.get_agent(name)


def loaded_view(ctx: AppContext, qtbot: Any, show: Show) -> CostView:
    view = CostView(ctx)
    with qtbot.waitSignal(view.sig_report_shown, timeout=10_000):
        show(view, width=1100, height=760)
    return view


# -- recommendations -----------------------------------------------------------------------------


def test_recommendations_are_rows_by_monthly_saving_with_their_evidence(
    open_ctx: AppContext, qtbot: Any, show: Show
) -> None:
    swap_history(open_ctx, "triage", "a", old=0.004, new=0.020, runs=50)  # $0.016 x 70 runs/mo
    swap_history(open_ctx, "support", "b", old=0.010, new=0.050, runs=100)  # $0.04 x 120
    open_ctx.workspace.agents.create("solo", AgentConfig("claude", "claude-sonnet-5"))
    priced_runs(open_ctx.workspace.store, "solo", "c", 12, 0.01, ok=12, start=now_ms() - DAY)

    view = loaded_view(open_ctx, qtbot, show)
    assert view.state == STATE_RECS
    model = view.recs_model
    assert model.rowCount() == 2
    first = model.index(0, COL_HEADLINE).data()
    assert first.startswith("@support · claude → codex · -80% per call · projected -$4.80/mo")
    assert model.index(1, COL_HEADLINE).data().startswith("@triage · claude → codex · -80%")
    assert model.index(0, COL_SAVING).data() == "-$4.80/mo"
    assert view.headline.text() == "2 recommendations · projected -$5.92/mo in all"

    # The first row is selected: its evidence, current vs candidate.
    panel = view.evidence
    assert panel.rec is not None and panel.rec.agent_name == "support"
    cells = {
        panel.cells[(r, 0)].text(): (panel.cells[(r, 1)].text(), panel.cells[(r, 2)].text())
        for r in range(1, 6)
    }
    assert cells["Runtime · model"] == ("claude · claude-sonnet-5", "codex · gpt-5-mini")
    assert cells["Runs (30 days)"] == ("100", "20")
    assert cells["Ok-rate"] == ("99%", "95%")
    assert cells["Cost per call"] == ("$0.0500 est.", "$0.0100 est.")  # estimated from tokens
    assert cells["Eval score"] == ("—", "—")
    assert "quality judged by ok-rate only" in panel.notes.text()

    # Keyboard: Down selects the next recommendation and shows its evidence.
    view.recs.setFocus()
    qtbot.keyClick(view.recs, Qt.Key.Key_Down)
    assert panel.rec is not None and panel.rec.agent_name == "triage"
    assert panel.cells[(2, 1)].text() == "50"

    # Why not?: every agent's candidates with their verdict; solo has none yet.
    qtbot.mouseClick(view.why_not_button, Qt.MouseButton.LeftButton)
    assert view.why_not_box.isVisible()
    tops = {
        view.why_not.topLevelItem(i).text(W_LABEL): view.why_not.topLevelItem(i)
        for i in range(view.why_not.topLevelItemCount())
    }
    assert set(tops) == {
        "@support · now claude · claude-sonnet-5",
        "@triage · now claude · claude-sonnet-5",
        "@solo · now claude · claude-sonnet-5",
    }
    assert tops["@support · now claude · claude-sonnet-5"].child(0).text(W_VERDICT) == (
        "✓ qualifies"
    )
    solo = tops["@solo · now claude · claude-sonnet-5"].child(0)
    assert solo.text(W_LABEL) == "No runs on another runtime or model yet"

    # Open agent and Compare navigate.
    targets: list[tuple[str, object]] = []
    open_ctx.sig_navigate.connect(lambda page, target: targets.append((page, target)))
    qtbot.mouseClick(panel.agent_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.compare_button, Qt.MouseButton.LeftButton)
    agent_id = open_ctx.workspace.store.get_agent("triage").id
    assert targets == [
        ("agents", {"agent_id": agent_id}),
        ("insights", {"tab": "compare", "agent_id": agent_id, "mode": "runtime"}),
    ]


def test_nothing_qualifies_shows_only_the_explanation_and_why_not_lists_the_reasons(
    open_ctx: AppContext, qtbot: Any, show: Show
) -> None:
    agents = open_ctx.workspace.agents
    agents.create("writer", AgentConfig("codex", "gpt-5-mini"), source="test")
    start = now_ms() - 5 * DAY
    priced_runs(
        open_ctx.workspace.store, "writer", "d1", 4, 0.004, ok=4, start=start
    )  # too few runs
    agents.edit("writer", {"runtime": "claude", "model": "claude-sonnet-5"})
    priced_runs(open_ctx.workspace.store, "writer", "d2", 30, 0.020, ok=30, start=start + DAY)

    view = loaded_view(open_ctx, qtbot, show)
    assert view.state == STATE_NONE
    assert view.explanation.isVisible() and not view.recs.isVisible()
    assert view.explanation.text().startswith("Nothing qualifies: 1 candidate checked;")
    assert view.headline.text() == "No recommendation"

    view.why_not_button.setChecked(True)
    top = view.why_not.topLevelItem(0)
    assert top.child(0).text(W_LABEL) == "codex · gpt-5-mini"
    assert "only 4 runs with a known cost (10 needed)" in top.child(0).text(W_VERDICT)


def test_no_agents_explains_itself_and_new_runs_refresh_coalesced(
    open_ctx: AppContext, qtbot: Any, show: Show
) -> None:
    view = loaded_view(open_ctx, qtbot, show)
    assert view.state == STATE_NONE
    assert view.explanation.text().startswith("No agents yet")
    swap_history(open_ctx, "triage", "e", old=0.004, new=0.020, runs=50)  # emits bus events
    qtbot.waitUntil(lambda: view.state == STATE_RECS, timeout=10_000)


def test_the_insights_page_hosts_the_cost_tab_and_its_commands(
    open_ctx: AppContext, qtbot: Any
) -> None:
    page = show_page(qtbot, InsightsPage(open_ctx))
    page.activate({"tab": COST_TAB, "why_not": True})
    assert page.current_tab == COST_TAB and page.cost.why_not_button.isChecked()
    ids = {c.id for c in page.commands()}
    assert {"insights.cost", "insights.gather_evidence"} <= ids
    qtbot.waitUntil(lambda: page.cost.report is not None, timeout=10_000)


def test_recommendations_model(qtmodeltester: Any) -> None:
    model = RecommendationsModel()
    qtmodeltester.check(model)
    assert model.recommendation(0) is None and model.row_of("x") == -1


# -- gather evidence -----------------------------------------------------------------------------


def _writer_with_runs(ctx: AppContext, qtbot: Any, fake: FakeLLMServer, count: int) -> None:
    ctx.workspace.agents.create(
        "writer",
        AgentConfig("claude", "claude-sonnet-5", base_url=fake.anthropic_base_url),
        source="test",
    )
    fake.scenario = Scenario(
        chunks=("A long careful answer.",),
        usage=UsageSpec(uncached_input_tokens=2000, output_tokens=800),
    )

    async def runs() -> None:
        for i in range(count):
            await ctx.workspace.dispatcher.dispatch(
                DispatchRequest(f"Question {i}", agent="writer")
            )

    run_on_engine(ctx, qtbot, runs())


def _open_dialog(view: CostView, qtbot: Any, fake: FakeLLMServer) -> EvidenceDialog:
    dialog = view.gather_evidence("writer", "codex", "gpt-5-mini")
    assert isinstance(dialog, EvidenceDialog)
    qtbot.waitUntil(lambda: dialog.agent_record() is not None, timeout=5_000)
    with qtbot.waitSignal(dialog.sig_plan_ready, timeout=10_000):
        dialog.target_form.base_url.setText(fake.openai_base_url)
    return dialog


def test_gather_evidence_estimates_first_then_sends_with_progress_and_a_summary(
    open_ctx: AppContext, qtbot: Any, show: Show, fake: FakeLLMServer, keys: CredentialStore
) -> None:
    _writer_with_runs(open_ctx, qtbot, fake, 3)
    view = loaded_view(open_ctx, qtbot, show)
    assert view.state == STATE_NONE and "No evidence yet" in view.explanation.text()
    requests_before = len(fake.requests)

    dialog = _open_dialog(view, qtbot, fake)
    assert dialog.title.text() == "Gather evidence for @writer"
    assert dialog.target_form.runtime() == "codex"
    assert dialog.target_form.model_combo.model_name() == "gpt-5-mini"
    assert dialog.estimate_value.text().startswith("$") and dialog.estimate_badge.isVisible()
    assert dialog.estimate_detail.text().startswith("for 3 replays of @writer's newest runs on")
    assert dialog.send_button.text() == "&Send 3 replays" and dialog.send_button.isEnabled()
    assert len(fake.requests) == requests_before  # the estimate sent nothing

    fake.scenario = Scenario(
        chunks=("Short.",), usage=UsageSpec(uncached_input_tokens=2000, output_tokens=50)
    )
    done: list[tuple[int, int]] = []
    dialog.sig_item_done.connect(lambda d, t: done.append((d, t)))
    with (
        qtbot.waitSignal(view.sig_report_shown, timeout=15_000),  # the Cost tab refreshes
        qtbot.waitSignal(dialog.sig_evidence_gathered, timeout=15_000) as finished,
    ):
        qtbot.mouseClick(dialog.send_button, Qt.MouseButton.LeftButton)
        assert dialog.state == RUNNING and dialog.cancel_button.isVisible()
    summary = finished.args[0]
    assert summary.replayed == 3 and not summary.cancelled
    assert done[-1] == (3, 3) and dialog.progress.value() == 3
    assert dialog.state == DONE and dialog.items.rowCount() == 3
    assert dialog.headline.text().startswith("3 replays on codex · gpt-5-mini")
    assert dialog.detail.text().startswith("3 of 3 completed · cost ")
    assert "now counts these replays as evidence" in dialog.next_line.text()
    assert not dialog.problem.isVisible()

    # The replays are evidence now: the candidate shows in Why not? with its replays.
    report = view.report
    assert report is not None
    (agent,) = report.agents
    (candidate,) = agent.candidates
    assert candidate.stats.runtime == "codex" and candidate.stats.replays == 3
    view.why_not_button.setChecked(True)
    child = view.why_not.topLevelItem(0).child(0)
    assert child.text(W_LABEL) == "codex · gpt-5-mini" and "3 (3 replays)" in child.text(1)
    dialog.close()


def test_cancel_starts_no_new_replay(
    open_ctx: AppContext, qtbot: Any, show: Show, fake: FakeLLMServer, keys: CredentialStore
) -> None:
    _writer_with_runs(open_ctx, qtbot, fake, 3)
    view = loaded_view(open_ctx, qtbot, show)
    dialog = _open_dialog(view, qtbot, fake)
    dialog.concurrency.setValue(1)
    fake.scenario = Scenario(chunks=("One", " two"), stall_after=1)
    qtbot.mouseClick(dialog.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(r.stalled.is_set() for r in fake.requests), timeout=10_000)
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert not dialog.cancel_button.isEnabled()
    assert dialog.progress_label.text().startswith("Cancelling")
    with qtbot.waitSignal(dialog.sig_evidence_gathered, timeout=15_000) as finished:
        fake.release()
    summary = finished.args[0]
    assert summary.cancelled and summary.replayed == 1
    assert dialog.headline.text().startswith("Cancelled: 1 of 3 replayed")
    dialog.close()


def test_a_missing_api_key_is_a_clear_error_with_a_way_to_fix_it(
    open_ctx: AppContext, qtbot: Any, show: Show, fake: FakeLLMServer, keys: CredentialStore
) -> None:
    _writer_with_runs(open_ctx, qtbot, fake, 2)
    assert keys.delete_key("openai")
    view = loaded_view(open_ctx, qtbot, show)
    dialog = _open_dialog(view, qtbot, fake)
    with qtbot.waitSignal(dialog.sig_evidence_gathered, timeout=15_000):
        qtbot.mouseClick(dialog.send_button, Qt.MouseButton.LeftButton)
    assert dialog.problem.isVisible()
    assert "Some replays failed" in dialog.problem.text()
    assert "API key" in dialog.problem.text()
    assert dialog.keys_button.isVisible()
    targets: list[tuple[str, object]] = []
    open_ctx.sig_navigate.connect(lambda page, target: targets.append((page, target)))
    qtbot.mouseClick(dialog.keys_button, Qt.MouseButton.LeftButton)
    assert targets == [("settings", {"section": "keys"})]
    dialog.close()


def test_an_agent_without_replayable_runs_says_so_and_cannot_send(
    open_ctx: AppContext, qtbot: Any, show: Show
) -> None:
    swap_history(open_ctx, "triage", "f", old=0.004, new=0.020, runs=12)  # no recorded prompts
    view = loaded_view(open_ctx, qtbot, show)
    dialog = view.gather_evidence("triage", "openai-compatible", "llama3.1:8b")
    assert isinstance(dialog, EvidenceDialog)
    qtbot.waitUntil(lambda: dialog.estimate_error.startswith("Nothing to replay"), timeout=10_000)
    assert "(20 without one)" in dialog.estimate_error
    assert not dialog.send_button.isEnabled()
    dialog.close()


# -- budgets -------------------------------------------------------------------------------------


@pytest.fixture
def agents_page(open_ctx: AppContext, qtbot: Any) -> AgentsPage:
    return show_page(qtbot, AgentsPage(open_ctx))


def test_budget_fields_validate_like_the_engine_and_save(
    agents_page: AgentsPage, open_ctx: AppContext, qtbot: Any
) -> None:
    agent = open_ctx.workspace.agents.create(
        "writer", AgentConfig("claude", "claude-sonnet-5"), source="test"
    )
    agents_page.select_agent(agent.id)
    editor = agents_page.editor
    qtbot.waitUntil(lambda: editor.loaded_config is not None, timeout=5_000)
    assert not editor.is_dirty()

    editor.budget_ceiling_check.setChecked(True)
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    assert editor.error_text("budget_ceiling") == (
        "A hard ceiling needs a budget per day or per month to enforce."
    )
    editor.budget_month_edit.setText("-3")
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    assert editor.error_text("budget_month") == "The budget per month cannot be negative."
    editor.budget_month_edit.setText("$100")
    editor.budget_edit.setText("5")
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: open_ctx.workspace.store.get_agent("writer").current_version == 2, timeout=5_000
    )
    config = open_ctx.workspace.store.get_agent("writer").config
    assert config.budget_per_day_usd == 5 and config.budget_per_month_usd == 100
    assert config.budget_hard_ceiling is True
    qtbot.waitUntil(lambda: not editor.is_dirty(), timeout=5_000)

    # A monthly budget set elsewhere (the CLI) loads, and is kept by an unrelated save.
    open_ctx.workspace.agents.edit("writer", {"budget_per_month_usd": 250.0})
    qtbot.waitUntil(lambda: editor.budget_month_edit.text() == "250", timeout=5_000)


def test_the_agent_page_shows_spend_against_budget(
    agents_page: AgentsPage, open_ctx: AppContext, qtbot: Any
) -> None:
    agent = open_ctx.workspace.agents.create(
        "writer",
        AgentConfig(
            "claude", "claude-sonnet-5", budget_per_day_usd=5.0, budget_per_month_usd=100.0
        ),
        source="test",
    )
    priced_runs(
        open_ctx.workspace.store, "writer", "g", 4, 0.30, ok=4, start=now_ms() - 10 * 60_000
    )
    with qtbot.waitSignal(agents_page.budget_line.sig_state_shown, timeout=5_000):
        agents_page.select_agent(agent.id)
    line = agents_page.budget_line
    assert line.isVisible()
    assert line.text() == "Today $1.20 of $5.00 · this month $1.20 of $100.00"

    # Spent with the ceiling on: the line says dispatches are refused.
    open_ctx.workspace.agents.edit(
        "writer", {"budget_per_day_usd": 1.0, "budget_hard_ceiling": True}
    )
    qtbot.waitUntil(lambda: "refusing dispatches" in line.text(), timeout=5_000)
    assert line.text().startswith("Today $1.20 of $1.00 · ")


def test_budget_text_without_budgets() -> None:
    from ato_desktop.core.budgets import BudgetState

    assert budget_text(BudgetState(0.5, 12.0, None, None, False)) == (
        "Today $0.50 · this month $12.00"
    )
    assert budget_text(BudgetState(6.0, 12.0, 5.0, None, False)).endswith("over budget")


def test_a_refused_dispatch_shows_the_refusal_in_chat(
    open_ctx: AppContext, qtbot: Any, fake: FakeLLMServer, keys: CredentialStore
) -> None:
    agent = open_ctx.workspace.agents.create(
        "writer",
        AgentConfig(
            "claude",
            "claude-sonnet-5",
            base_url=fake.anthropic_base_url,
            budget_per_day_usd=1.0,
            budget_hard_ceiling=True,
        ),
        source="test",
    )
    priced_runs(
        open_ctx.workspace.store, "writer", "h", 4, 0.30, ok=4, start=now_ms() - 10 * 60_000
    )
    page = show_page(qtbot, ChatPage(open_ctx))
    qtbot.waitUntil(lambda: page.picker.select_agent(agent.id), timeout=5_000)
    requests_before = len(fake.requests)
    page.composer.set_text("Write the summary")
    # After a refusal the picker reloads its agents (the same target again): the notice stays.
    reloads_after: list[bool] = []
    page.picker.sig_target_changed.connect(
        lambda: reloads_after.append(page.notice.text().startswith("Refused"))
    )
    qtbot.keyClick(page.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: any(reloads_after), timeout=10_000)
    assert page.notice.isVisible()
    text = page.notice.text()
    assert text.startswith("Refused: @writer has spent $1.20 of its $1.00 daily budget")
    assert "raise the budget or turn the hard ceiling off" in text
    assert page.composer.text() == "Write the summary"  # kept, to send later
    assert not any("assistant" in key for key in page.conversation.keys)
    assert len(fake.requests) == requests_before  # nothing was sent
