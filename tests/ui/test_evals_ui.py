"""Evals in the UI, end to end: the official SDKs against the loopback wire fake, a real log,
real widgets offscreen. The empty Evals tab; a suite file with a bad line run through the dialog
to its report; the diff after a second run ("Run again…", changes only, Enter opens a case's
run); thumbs up/down with a note in run details (replace, clear); the online judge saved from
the agent page and a dispatch in the app judged at 100%."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from ato_desktop.engine.dispatcher import DispatchRequest
from ato_desktop.engine.evals import run_ratings
from ato_desktop.store import evals as eval_store
from ato_desktop.ui.agents.online_judge import OnlineJudgeButton
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.insights.evals_reads import FAIL_TO_PASS, PASS_TO_FAIL
from ato_desktop.ui.insights.evals_run_dialog import RunSuiteDialog
from ato_desktop.ui.insights.evals_view import STATE_EMPTY, STATE_SUITES, EvalsView
from ato_desktop.ui.runs.rating_widget import RatingWidget
from tests.fakes import FakeLLMServer, Scenario, UsageSpec
from tests.support.builders import support_agent
from tests.support.qt_helpers import Show, run_on_engine


def _answer(text: str) -> Scenario:
    return Scenario(chunks=(text,), usage=UsageSpec(uncached_input_tokens=20, output_tokens=8))


def _suite_file(tmp_path: Path) -> Path:
    lines = [
        json.dumps({"suite": {"name": "support-ui", "scorers": ["contains"]}}),
        json.dumps({"id": "capital", "input": "Capital of France?", "expected": "Paris"}),
        "{not json",
        json.dumps({"id": "refund", "input": "Refund window?", "expected": "30 days"}),
    ]
    path = tmp_path / "support_ui.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Navigation:
    """Where the app was asked to go; Insights targets are opened in the view under test."""

    def __init__(self, ctx: AppContext, view: EvalsView | None = None) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.view = view
        ctx.sig_navigate.connect(self._on_navigate)

    def _on_navigate(self, page: str, target: Any) -> None:
        self.calls.append((page, target))
        if page == "insights" and self.view is not None:
            self.view.open_target({k: v for k, v in (target or {}).items() if k != "tab"})


def _evals_view(ctx: AppContext, show: Show, qtbot: Any) -> EvalsView:
    view = EvalsView(ctx)
    show(view, width=1300, height=800)
    view.ensure_loaded()
    qtbot.waitUntil(lambda: view.state in (STATE_EMPTY, STATE_SUITES), timeout=5_000)
    return view


def _run_dialog(qtbot: Any, dialog: RunSuiteDialog, view: EvalsView) -> str:
    qtbot.waitUntil(lambda: dialog.start_button.isEnabled(), timeout=5_000)
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=15_000)
    assert dialog.report is not None
    run_id = dialog.report.suite_run_id
    qtbot.waitUntil(
        lambda: (
            view.report_view is not None
            and view.report_view.report.suite_run_id == run_id
            and view.report_view.report.status == "completed"
        ),
        timeout=5_000,
    )
    return run_id


def test_the_empty_state_says_how_to_run_a_first_suite(
    open_ctx: AppContext, qtbot: Any, show: Show
) -> None:
    view = _evals_view(open_ctx, show, qtbot)
    assert view.state == STATE_EMPTY
    assert view.empty.title.text() == "No eval suites yet"
    assert "docs/evals.md" in view.empty.text.text()
    assert "support_bot.jsonl" in view.empty.text.text()
    assert view.empty.primary.text() == "Run a suite…"
    qtbot.mouseClick(view.empty.primary, Qt.MouseButton.LeftButton)
    dialog = view.dialog
    assert isinstance(dialog, RunSuiteDialog) and dialog.isVisible()
    assert not dialog.start_button.isEnabled()  # no suite chosen yet
    dialog.close()


def test_a_suite_runs_from_a_file_through_the_dialog_then_diffs_on_a_second_run(
    open_ctx: AppContext,
    qtbot: Any,
    show: Show,
    fake: FakeLLMServer,
    keys: None,
    tmp_path: Path,
) -> None:
    support_agent(open_ctx.workspace, fake)
    view = _evals_view(open_ctx, show, qtbot)
    navigation = Navigation(open_ctx, view)
    dialog = view.open_run_dialog()
    assert isinstance(dialog, RunSuiteDialog)
    dialog.set_path(str(_suite_file(tmp_path)))
    qtbot.waitUntil(lambda: dialog.prepared is not None, timeout=5_000)
    # The bad line is reported by number before anything runs; the rest still runs.
    assert dialog.bad_box.isVisible()
    assert "line 3:" in dialog.bad_lines.toPlainText()
    assert "2 cases still run" in dialog.bad_title.text()
    assert open_ctx.settings.value("evals/last_dir") == str(tmp_path.resolve())
    qtbot.waitUntil(lambda: dialog.target_form.loaded, timeout=5_000)
    assert dialog.target_form.select_agent("support")
    dialog.concurrency.setValue(1)
    dialog.gate_check.setChecked(True)
    dialog.gate.setValue(50)
    fake.enqueue(_answer("It is Paris."), _answer("Within 14 days."))
    first_id = _run_dialog(qtbot, dialog, view)

    report = view.report_view
    assert report is not None and report.report.diff is None
    assert view.figures["pass_rate"].text() == "50%"
    assert view.figures["cost"].text().startswith("$")
    assert "First run" in view.diff_line.text()
    assert "reaches the required 50%" in view.report_title.text()
    assert "line 3" in view.notes_line.text()
    assert view.cases_model.rowCount() == 2
    capital = view.cases_model.case(0)
    assert capital is not None and capital.input_text == "Capital of France?"
    assert capital.expected_text == "Paris" and capital.outcome.passed
    assert view.suites_model.rowCount() == 1
    assert "@support" in view.suites_model.index(0, 1).data()

    # Run again (the suite's stored text), on the same target; one case flips each way.
    again = view.run_again()
    assert isinstance(again, RunSuiteDialog) and again.rerun_name == "support-ui"
    qtbot.waitUntil(lambda: again.prepared is not None, timeout=5_000)
    assert not again.file_row.isVisible()
    # The suite's last target is chosen again once the agents are listed.
    qtbot.waitUntil(lambda: again.target_form.agent_radio.isChecked(), timeout=5_000)
    assert again.target_form.agent_combo.currentData() == "support"
    again.concurrency.setValue(1)
    fake.enqueue(_answer("Lyon, I think."), _answer("30 days from delivery."))
    second_id = _run_dialog(qtbot, again, view)
    assert second_id != first_id

    view_report = view.report_view
    assert view_report is not None and view_report.report.diff is not None
    assert view_report.report.target == "@support"
    changes = {row.case_id: row.change for row in view_report.rows}
    assert changes == {"capital": PASS_TO_FAIL, "refund": FAIL_TO_PASS}
    assert "1 pass→fail" in view.diff_line.text() and "1 fail→pass" in view.diff_line.text()
    assert view.runs_model.rowCount() == 2

    # Changes only: every case here changed; then Enter on a case opens its run.
    view.changes_only.setChecked(True)
    assert view.cases_model.rowCount() == 2
    view.cases.setFocus()
    view.cases.selectRow(0)
    qtbot.keyClick(view.cases, Qt.Key.Key_Return)
    opened = [target for page, target in navigation.calls if page == "runs"]
    capital_row = view.cases_model.case(0)
    assert capital_row is not None
    assert opened == [{"run_id": capital_row.outcome.run_id}]
    run = open_ctx.workspace.store.get_run(capital_row.outcome.run_id)
    assert run.trigger == "eval"

    # The older run's report still opens from the history.
    view.runs.selectRow(1)
    qtbot.waitUntil(
        lambda: view.report_view is not None and view.report_view.report.suite_run_id == first_id,
        timeout=5_000,
    )
    view.changes_only.setChecked(False)


def test_thumbs_up_and_down_with_a_note_replace_and_clear(
    open_ctx: AppContext, qtbot: Any, show: Show, fake: FakeLLMServer, keys: None
) -> None:
    support_agent(open_ctx.workspace, fake)
    fake.scenario = _answer("Hello!")
    result = run_on_engine(
        open_ctx,
        qtbot,
        open_ctx.workspace.dispatcher.dispatch(DispatchRequest("Hi", agent="support")),
    )
    store = open_ctx.workspace.store
    rating = RatingWidget(open_ctx)
    show(rating, width=600, height=60)
    with qtbot.waitSignal(rating.sig_scores_shown, timeout=5_000):
        rating.show_run(result.run_id)
    assert rating.isEnabled() and rating.manual is None
    assert not rating.clear_button.isVisible()

    qtbot.keyClicks(rating.note, "friendly")
    rating.up.setFocus()
    with qtbot.waitSignal(rating.sig_scores_shown, timeout=5_000):
        qtbot.keyClick(rating.up, Qt.Key.Key_Space)  # keyboard: focus and Space
    assert rating.manual is not None and rating.manual.thumbs_up
    assert rating.manual.note == "friendly" and rating.up.isChecked()
    assert rating.clear_button.isVisible()

    rating.note.setText("actually wrong")
    with qtbot.waitSignal(rating.sig_scores_shown, timeout=5_000):
        qtbot.mouseClick(rating.down, Qt.MouseButton.LeftButton)
    assert rating.manual is not None and not rating.manual.thumbs_up
    assert rating.down.isChecked() and not rating.up.isChecked()
    manual = [s for s in run_ratings(store, result.run_id) if s.source == "manual"]
    assert len(manual) == 1 and manual[0].note == "actually wrong"

    with qtbot.waitSignal(rating.sig_scores_shown, timeout=5_000):
        qtbot.mouseClick(rating.clear_button, Qt.MouseButton.LeftButton)
    assert rating.manual is None and not rating.up.isChecked() and not rating.down.isChecked()
    assert run_ratings(store, result.run_id) == []


def test_online_judge_settings_are_saved_and_a_dispatch_in_the_app_is_judged(
    open_ctx: AppContext, qtbot: Any, show: Show, fake: FakeLLMServer, keys: None
) -> None:
    support_agent(open_ctx.workspace, fake)
    store = open_ctx.workspace.store
    agent_id = store.get_agent("support").id
    button = OnlineJudgeButton(open_ctx)
    show(button, width=300, height=40)
    button.show_agent(agent_id)
    qtbot.waitUntil(lambda: button.state is not None, timeout=5_000)
    assert button.text() == "Online judging: off"

    dialog = button.open_dialog()
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.state is not None and dialog.target_form.loaded, timeout=5_000)
    assert dialog.summary.text() == "No run judged yet."
    dialog.sample.setValue(100)
    dialog.rubric.setPlainText("Friendly and correct.")
    form = dialog.target_form
    form.runtime_radio.setChecked(True)
    form.set_runtime("codex")
    form.set_model("gpt-5-mini")
    form.base_url.setText(fake.openai_base_url)
    with qtbot.waitSignal(dialog.sig_saved, timeout=5_000):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    settings = eval_store.get_online_judge(store, agent_id)
    assert settings is not None and settings.enabled and settings.sample_percent == 100
    assert settings.judge_runtime == "codex" and settings.judge_model == "gpt-5-mini"
    assert settings.rubric == "Friendly and correct."
    assert store.get_agent("support").current_version == 1  # no config version
    qtbot.waitUntil(lambda: button.text() == "Online judging: 100%", timeout=5_000)

    # A dispatch in the app (the context started the judge) is judged; run details shows it.
    fake.enqueue(_answer("Hello there!"), _answer('{"score": 9, "reason": "friendly"}'))
    result = run_on_engine(
        open_ctx,
        qtbot,
        open_ctx.workspace.dispatcher.dispatch(DispatchRequest("Hi", agent="support")),
    )
    rating = RatingWidget(open_ctx)
    show(rating, width=600, height=60)
    rating.show_run(result.run_id)
    qtbot.waitUntil(lambda: rating.judge is not None, timeout=10_000)
    assert rating.judge is not None and rating.judge.passed
    assert abs(rating.judge.score - 0.9) < 1e-9
    assert rating.judge_label.isVisible() and "0.90" in rating.judge_label.text()
    qtbot.waitUntil(lambda: "1 run judged" in button.toolTip(), timeout=5_000)

    # Reopened, the dialog shows the saved settings.
    again = button.open_dialog()
    assert again is not None
    qtbot.waitUntil(lambda: again.state is not None, timeout=5_000)
    assert again.sample.value() == 100 and again.rubric.toPlainText() == "Friendly and correct."
    assert "1 run judged" in again.summary.text()
    again.close()
