"""Insights -> Regressions over a real log: a harmful config change is a row with its metrics,
sample sizes and test names; its failing examples open their runs; empty states; thresholds
edited (re-running detection) and a broken settings.json (shown, never overwritten); the
Agents page's banner."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import AgentRecord
from ato_desktop.engine.settings_file import regression_thresholds
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.insights.regressions_models import (
    COL_AGENT,
    COL_LATENCY,
    COL_SAMPLES,
    COL_SUCCESS,
    COL_VERDICT,
    EX_OUTCOME,
    EX_PROMPT,
    EX_RUN,
    REGRESSED_ROLE,
    RUN_ID_ROLE,
    ChangesModel,
    ExamplesModel,
)
from ato_desktop.ui.insights.regressions_view import (
    STATE_CHANGES,
    STATE_EMPTY,
    STATE_NONE,
    RegressionsView,
    failing_run_ids,
)
from ato_desktop.ui.pages.insights_page import InsightsPage
from tests.support.builders import ticket_runs
from tests.support.qt_helpers import show_page

T0 = 1_790_000_000_000
HOUR = 3_600_000
TOOLTIP = Qt.ItemDataRole.ToolTipRole


@pytest.fixture
def triage(open_ctx: AppContext) -> AgentRecord:
    return open_ctx.workspace.agents.create(
        "triage", AgentConfig("claude", "claude-sonnet-5"), source="test"
    )


@pytest.fixture
def harmful(open_ctx: AppContext, triage: AgentRecord) -> list[str]:
    """triage v1 -> v2 made 16 of 40 runs fail (1 of 40 before): the failing run ids. The runs
    after the change start after it (the replay of failures since the change looks by time)."""
    ticket_runs(open_ctx.workspace.store, triage, T0, 40, failed=1, tag="a1", seed="a1")
    open_ctx.workspace.agents.edit("triage", {"system_prompt": "Be terse."})
    after = int(time.time() * 1000) + 1000
    return ticket_runs(
        open_ctx.workspace.store, triage, after, 40, failed=16, tag="b2", seed="b2", step=1000
    )


def _view(ctx: AppContext, qtbot: Any) -> RegressionsView:
    view = show_page(qtbot, RegressionsView(ctx))
    view.ensure_loaded()
    return view


def _wait(qtbot: Any, view: RegressionsView, state: str) -> None:
    qtbot.waitUntil(lambda: view.state == state and not view.busy, timeout=10_000)


def test_a_regression_row_with_metrics_samples_and_tests(
    open_ctx: AppContext, qtbot: Any, triage: AgentRecord, harmful: list[str]
) -> None:
    view = _view(open_ctx, qtbot)
    _wait(qtbot, view, STATE_CHANGES)
    model = view.changes_model
    assert model.rowCount() == 1
    assert view.headline.text() == "1 regression in 1 config change · 1 active"

    def cell(col: int, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        return model.index(0, col).data(role)

    assert cell(COL_VERDICT) == "Regression\ncurrent version"
    assert cell(COL_AGENT) == "triage\nv1 → v2"
    assert cell(COL_SAMPLES) == "40 / 40"
    assert cell(COL_SUCCESS) == "✗ 98% → 60%\n−37.5 pp" and cell(COL_SUCCESS, REGRESSED_ROLE)
    tip = cell(COL_SUCCESS, TOOLTIP)
    assert "Fisher's exact test (one-sided)" in tip and "p < 0.001" in tip
    assert "drops by 10 pp or more" in tip and "40 before, 40 after" in tip
    # Latency did not move: shown, not flagged, its test named too.
    assert not cell(COL_LATENCY, REGRESSED_ROLE) and not cell(COL_LATENCY).startswith("✗")
    latency_tip = cell(COL_LATENCY, TOOLTIP)
    assert "Mann-Whitney U" in latency_tip and "Not a regression" in latency_tip
    # The detail: what changed, each metric with n, its tooltip naming the test.
    detail = view.detail
    assert "system_prompt changed" in detail.summary.text()
    success = detail.check_labels[0]
    assert success.text().startswith("✗ Success rate") and "n 40 / 40" in success.text()
    assert "Fisher's exact test" in success.toolTip()


def test_failing_examples_open_their_runs(
    open_ctx: AppContext, qtbot: Any, triage: AgentRecord, harmful: list[str]
) -> None:
    view = _view(open_ctx, qtbot)
    _wait(qtbot, view, STATE_CHANGES)
    examples = view.detail.examples
    model = examples.model()
    assert model.rowCount() == 5 and examples.isVisible()
    ids = [model.index(r, EX_RUN).data(RUN_ID_ROLE) for r in range(5)]
    assert set(ids) <= set(harmful[:16])
    assert model.index(0, EX_PROMPT).data().startswith("Ticket b2-")
    assert model.index(0, EX_OUTCOME).data() == "bad_request: prompt too long"
    # One click opens the run.
    rect = examples.visualRect(model.index(1, EX_PROMPT))
    with qtbot.waitSignal(open_ctx.sig_navigate) as nav:
        QTest.mouseClick(examples.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert nav.args == ["runs", {"run_id": ids[1]}]
    # Enter opens the current one.
    examples.setFocus()
    examples.setCurrentIndex(model.index(2, EX_RUN))
    with qtbot.waitSignal(open_ctx.sig_navigate) as nav:
        QTest.keyClick(examples, Qt.Key.Key_Return)
    assert nav.args == ["runs", {"run_id": ids[2]}]
    # Compare before/after jumps to Insights -> Compare on that version.
    with qtbot.waitSignal(open_ctx.sig_navigate) as nav:
        view.detail.compare_button.click()
    assert nav.args == [
        "insights",
        {"tab": "compare", "agent_id": triage.id, "mode": "version", "version": 2},
    ]


def test_empty_states_say_what_to_do(open_ctx: AppContext, qtbot: Any, triage: AgentRecord) -> None:
    view = _view(open_ctx, qtbot)
    _wait(qtbot, view, STATE_EMPTY)
    assert view.empty.title.text() == "No config changes to judge yet"
    assert "Edit an agent" in view.empty.text.text() and "20" in view.empty.text.text()
    with qtbot.waitSignal(open_ctx.sig_navigate) as nav:
        view.empty.primary.click()
    assert nav.args == ["agents", None]

    # A harmless change: checked, not a regression; the page says how many and by what rules.
    ticket_runs(open_ctx.workspace.store, triage, T0, 30, failed=1, tag="c1", seed="c1")
    open_ctx.workspace.agents.edit("triage", {"system_prompt": "Be kind."})
    view._refresh.timer.setInterval(20)
    ticket_runs(
        open_ctx.workspace.store, triage, T0 + 10 * HOUR, 30, failed=1, tag="d2", seed="d2"
    )  # the bridge re-runs it
    _wait(qtbot, view, STATE_NONE)
    text = view.empty.text.text()
    assert view.empty.title.text() == "No regressions"
    assert "1 config change checked" in text and "success rate −10 pp" in text
    assert "≥ 20 runs a side" in text and "p &lt; 0.05" in text
    view.empty.primary.click()  # "Show all changes"
    _wait(qtbot, view, STATE_CHANGES)
    assert view.show_all.isChecked()
    assert view.changes_model.index(0, COL_VERDICT).data() == "No regression"
    assert "did not make the agent worse" in view.detail.no_examples.text()


def test_editing_thresholds_saves_them_and_checks_again(
    open_ctx: AppContext, qtbot: Any, triage: AgentRecord, harmful: list[str]
) -> None:
    view = _view(open_ctx, qtbot)
    _wait(qtbot, view, STATE_CHANGES)
    view.thresholds_button.click()
    form = view.form
    assert form.isVisible() and form.success.value() == 10.0
    form.success.setValue(50.0)  # the 37.5 pp drop no longer counts
    form.min_runs.setValue(25)
    form.save_button.click()
    _wait(qtbot, view, STATE_NONE)
    assert not form.isVisible()
    saved = regression_thresholds(open_ctx.paths)
    assert saved.success_drop_pp == 50.0 and saved.min_runs == 25
    assert view.detection is not None and view.detection.settings.thresholds == saved
    assert "success rate −50 pp" in view.thresholds_line.text()
    # Restore defaults: the regression is back.
    view.thresholds_button.click()
    form.defaults_button.click()
    form.save_button.click()
    _wait(qtbot, view, STATE_CHANGES)
    assert regression_thresholds(open_ctx.paths).success_drop_pp == 10.0


def test_a_broken_settings_file_is_shown_and_never_overwritten(
    open_ctx: AppContext, qtbot: Any, triage: AgentRecord, harmful: list[str]
) -> None:
    target = open_ctx.paths.settings_file
    target.write_text('{"regressions": {"min_runs": 5,', encoding="utf-8")
    view = _view(open_ctx, qtbot)
    _wait(qtbot, view, STATE_CHANGES)  # judged with the defaults meanwhile
    assert view.settings_error.isVisible()
    assert "not valid JSON" in view.settings_error_text.text()
    assert not view.form.save_button.isEnabled()
    view.thresholds_button.click()
    view.form.save()  # Enter in a field: refused, the file untouched
    qtbot.waitUntil(lambda: view.form.error.isVisible() and not view.busy, timeout=5000)
    assert view.form.error.text().startswith("Not saved:")
    assert target.read_text(encoding="utf-8") == '{"regressions": {"min_runs": 5,'
    # Fixed on disk, read again: the error goes, the file's thresholds apply.
    target.write_text(json.dumps({"regressions": {"min_runs": 50}}), encoding="utf-8")
    view.reload_button.click()
    _wait(qtbot, view, STATE_NONE)  # 40 runs a side are too few now
    assert not view.settings_error.isVisible()


def test_agent_page_banner_links_to_the_regression(
    open_ctx: AppContext, qtbot: Any, triage: AgentRecord, harmful: list[str]
) -> None:
    from ato_desktop.ui.pages.agents_page import AgentsPage

    other = open_ctx.workspace.agents.create(
        "helper", AgentConfig("claude", "claude-sonnet-5"), source="test"
    )
    page = show_page(qtbot, AgentsPage(open_ctx))
    banner = page.regression_banner
    page.select_agent(triage.id)
    qtbot.waitUntil(lambda: banner.isVisible(), timeout=10_000)
    assert "Regression since v2" in banner.text.text()
    assert "success rate 98% → 60% (−37.5 pp)" in banner.text.text()
    assert "Fisher's exact test" in banner.toolTip()
    with qtbot.waitSignal(open_ctx.sig_navigate) as nav:
        banner.link.click()
    assert nav.args == ["insights", {"tab": "regressions", "agent_id": triage.id, "version": 2}]
    with qtbot.waitSignal(banner.sig_change_shown, timeout=10_000):
        page.select_agent(other.id)
    assert not banner.isVisible()


def test_insights_page_opens_regressions_first_and_at_a_change(
    open_ctx: AppContext, qtbot: Any, triage: AgentRecord, harmful: list[str]
) -> None:
    page = show_page(qtbot, InsightsPage(open_ctx))
    assert page.tabs.tabText(0) == "Regressions" and page.tabs.tabText(1) == "Compare"
    commands = {c.id for c in page.commands()}
    assert {"insights.regressions", "insights.regression_thresholds"} <= commands
    page.activate({"tab": "regressions", "agent_id": triage.id, "version": 2})
    view = page.regressions
    _wait(qtbot, view, STATE_CHANGES)
    assert page.current_tab == "regressions"
    assert view.selected_change is not None and view.selected_change.version == 2
    page.activate({"tab": "regressions", "thresholds": True})
    assert view.form.isVisible()


def test_item_models(
    open_ctx: AppContext, qtbot: Any, qtmodeltester: Any, triage: AgentRecord, harmful: list[str]
) -> None:
    for model in (ChangesModel(), ExamplesModel()):
        qtmodeltester.check(model)
    view = _view(open_ctx, qtbot)
    _wait(qtbot, view, STATE_CHANGES)
    qtmodeltester.check(view.changes_model)
    qtmodeltester.check(view.detail.examples_model)


def test_replay_failures_opens_the_batch_replay(
    open_ctx: AppContext, qtbot: Any, triage: AgentRecord, harmful: list[str]
) -> None:
    pytest.importorskip("ato_desktop.ui.replay.batch_dialog")
    view = _view(open_ctx, qtbot)
    _wait(qtbot, view, STATE_CHANGES)
    button = view.detail.replay_button
    assert (
        button is not None and button.isVisible() and "since this change (v2)" in button.toolTip()
    )
    button.click()
    dialog = view.replay_dialog
    assert dialog is not None and dialog.isVisible() and dialog.failures_mode
    # The agent's failed runs since the change (its current version): all 16 of them.
    qtbot.waitUntil(lambda: len(dialog.run_ids) == 16, timeout=10_000)
    assert set(dialog.run_ids) == set(harmful[:16])
    dialog.close()
    # An older change (no longer current) replays its failing examples, failed first.
    change = view.selected_change
    assert change is not None
    ids = failing_run_ids(change)
    assert len(ids) == 5 and set(ids) <= set(harmful[:16])


def test_a_change_with_too_few_runs_says_not_enough_data_yet(
    open_ctx: AppContext, qtbot: Any, triage: AgentRecord
) -> None:
    """Six runs a side are not "ok" and not "No regressions": the change has no verdict yet,
    and the page says how many runs it has and how many it needs."""
    ticket_runs(open_ctx.workspace.store, triage, T0, 6, failed=0, tag="e1", seed="e1")
    open_ctx.workspace.agents.edit("triage", {"model": "claude-haiku-5"})
    ticket_runs(open_ctx.workspace.store, triage, T0 + 10 * HOUR, 6, failed=3, tag="f2", seed="f2")
    view = _view(open_ctx, qtbot)
    _wait(qtbot, view, STATE_NONE)
    assert view.headline.text() == "Not enough data yet to judge 1 config change"
    assert view.empty.title.text() == "Not enough data yet"
    assert "No regressions" not in view.empty.title.text()
    assert "20 finished runs on both sides" in view.empty.text.text()
    view.empty.primary.click()  # "Show all changes"
    _wait(qtbot, view, STATE_CHANGES)
    verdict = view.changes_model.index(0, COL_VERDICT).data()
    assert verdict == "Not enough data yet\nneeds 20 runs a side"
    assert view.changes_model.index(0, COL_SAMPLES).data() == "6 / 6"
    assert "No regression" not in verdict
    assert "not enough data yet (6 before, 6 after; 20 needed)" in (
        view.changes_model.index(0, COL_VERDICT).data(TOOLTIP)
    )
    assert "Not enough data yet (6 before, 6 after; 20 needed)" in view.detail.title.text()
    assert "No verdict" in view.detail.no_examples.text()
    assert "did not make the agent worse" not in view.detail.no_examples.text()
