"""Replay in the UI, end to end: the official SDKs against the loopback wire fake, a real log,
real widgets offscreen. One run replayed on another runtime (estimate first, then side by side
with the word diff and the deltas), a run that cannot be replayed (the reason, no Send), a
missing key, cancel while sending, the entry points on the Runs page and in Telemetry, and a
batch replay with progress, cancel and the recovered count."""

from __future__ import annotations

import time
from typing import Any

import pytest
from PySide6.QtCore import Qt

from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import NewAction, NewRun, RunEnd
from ato_desktop.engine.credentials import CredentialStore
from ato_desktop.engine.dispatcher import DispatchRequest
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.replay.batch_dialog import (
    COL_OUTCOME,
    COL_SOURCE,
    RUN_ID_ROLE,
    BatchReplayDialog,
)
from ato_desktop.ui.replay.replay_dialog import RESULT, SETUP, UNAVAILABLE, ReplayDialog
from tests.fakes import FakeLLMServer, Scenario, UsageSpec
from tests.support.provider_keys import OPENAI_KEY
from tests.support.qt_helpers import run_on_engine, show_page

NOW = int(time.time() * 1000)


def _writer(ctx: AppContext, fake: FakeLLMServer) -> None:
    ctx.workspace.agents.create(
        "writer",
        AgentConfig(
            "claude",
            "claude-sonnet-5",
            system_prompt="Answer in one line.",
            params={"temperature": 0.4, "top_k": 40, "max_tokens": 300},
            base_url=fake.anthropic_base_url,
        ),
        source="test",
    )


def _source_run(
    ctx: AppContext, qtbot: Any, fake: FakeLLMServer, scenario: Scenario, prompt: str = "Capital?"
) -> str:
    fake.scenario = scenario
    result = run_on_engine(
        ctx, qtbot, ctx.workspace.dispatcher.dispatch(DispatchRequest(prompt, agent="writer"))
    )
    return str(result.run_id)


def _dialog(ctx: AppContext, qtbot: Any, run_id: str, seq: int | None = None) -> ReplayDialog:
    dialog = ReplayDialog(ctx, run_id, seq)
    show_page(qtbot, dialog)
    qtbot.waitUntil(lambda: dialog.state != "loading", timeout=5_000)
    return dialog


def _target_codex(qtbot: Any, dialog: ReplayDialog, fake: FakeLLMServer) -> None:
    form = dialog.target_form
    qtbot.waitUntil(lambda: form.loaded, timeout=5_000)
    form.set_runtime("codex")
    form.set_model("gpt-5")
    form.base_url.setText(fake.openai_base_url)
    qtbot.waitUntil(
        lambda: (
            dialog.plan is not None
            and dialog.plan.target.model == "gpt-5"
            and dialog.plan.target.base_url == fake.openai_base_url
        ),
        timeout=5_000,
    )


def test_replay_on_codex_shows_the_estimate_first_then_both_answers_with_diff_and_deltas(
    open_ctx: AppContext, qtbot: Any, fake: FakeLLMServer, keys: None
) -> None:
    _writer(open_ctx, fake)
    source_id = _source_run(
        open_ctx,
        qtbot,
        fake,
        Scenario(
            chunks=("The capital ", "is Paris."),
            usage=UsageSpec(uncached_input_tokens=40, output_tokens=20),
        ),
    )
    dialog = _dialog(open_ctx, qtbot, source_id)
    assert dialog.state == SETUP
    # The usual question first: the other provider, with a model already filled in.
    qtbot.waitUntil(lambda: dialog.target_form.target() is not None, timeout=5_000)
    assert dialog.target_form.runtime() == "codex"
    _target_codex(qtbot, dialog, fake)

    # Before sending: the estimated cost (with its badge), then what had to change.
    assert dialog.estimate_value.text().startswith("$")
    assert dialog.estimate_badge.isVisibleTo(dialog)
    assert "top_k" in dialog.notes.text() and "dropped" in dialog.notes.text()
    assert dialog.send_button.isEnabled() and dialog.send_button.isVisibleTo(dialog)
    requests_before = len(fake.requests)

    fake.scenario = Scenario(
        chunks=("Paris ", "is the capital."),
        usage=UsageSpec(uncached_input_tokens=40, output_tokens=40),
    )
    with qtbot.waitSignal(dialog.sig_replay_finished, timeout=15_000) as finished:
        qtbot.mouseClick(dialog.send_button, Qt.MouseButton.LeftButton)
    result = finished.args[0]
    assert len(fake.requests) == requests_before + 1
    assert fake.last_request.path == "/v1/responses"
    assert dialog.state == RESULT and not dialog.error_frame.isVisibleTo(dialog)

    view = dialog.comparison
    assert view.source.plain_output() == "The capital is Paris."
    assert view.replay.plain_output() == "Paris is the capital."
    assert "background-color" in view.replay.output.toHtml()  # inserted words highlighted
    assert "line-through" in view.source.output.toHtml()  # deleted words struck through
    tokens_pct = result.comparison.tokens_delta_pct
    assert tokens_pct is not None and tokens_pct > 0  # 20 more output tokens
    tokens = view.replay.deltas["tokens"]
    assert tokens.text() == f"+{tokens_pct:g}%" and tokens.property("tone") == "worse"
    assert view.replay.values["tokens"].text().endswith("/ 40")
    cost_pct = result.comparison.cost_delta_pct
    assert cost_pct is not None
    assert view.replay.deltas["cost"].text().startswith("+" if cost_pct > 0 else "−")
    assert view.replay.deltas["duration"].text().endswith("%")

    # The replay is a run (trigger replay, replay_of the source), one click away.
    replay_id = result.dispatch.run_id
    run = open_ctx.workspace.store.get_run(replay_id)
    assert (run.trigger, run.replay_of) == ("replay", source_id)
    assert dialog.open_replay_button.isVisibleTo(dialog)
    with qtbot.waitSignal(open_ctx.sig_navigate, timeout=2_000) as navigated:
        qtbot.mouseClick(dialog.open_replay_button, Qt.MouseButton.LeftButton)
    assert navigated.args == ["runs", {"run_id": replay_id}]


def test_a_run_without_its_prompt_says_why_and_offers_no_send(
    open_ctx: AppContext, qtbot: Any
) -> None:
    run_id = "e" * 32
    with qtbot.waitSignal(open_ctx.bridge.sig_runs_bulk_changed, timeout=5_000):
        open_ctx.workspace.store.ingest(
            [
                (
                    NewRun("claude", "m", "external", NOW - 5_000, id=run_id),
                    RunEnd("completed", NOW - 4_000, 1),
                    [NewAction("search_docs", "tool", "success", NOW - 5_000, inputs={"q": "x"})],
                )
            ]
        ).result()
    dialog = _dialog(open_ctx, qtbot, run_id)
    assert dialog.state == UNAVAILABLE
    assert "prompt is not in the local log" in dialog.unavailable_reason.text()
    assert dialog.unavailable_reason.isVisibleTo(dialog)
    assert not dialog.send_button.isVisibleTo(dialog)

    # A tool step is not a model call: the reason says what to pick instead.
    dialog = _dialog(open_ctx, qtbot, run_id, seq=1)
    assert dialog.state == UNAVAILABLE
    assert "not a model call" in dialog.unavailable_reason.text()


def test_a_missing_key_is_said_clearly_and_cancel_kills_a_replay_under_way(
    open_ctx: AppContext, qtbot: Any, fake: FakeLLMServer, keys: None
) -> None:
    _writer(open_ctx, fake)
    source_id = _source_run(open_ctx, qtbot, fake, Scenario(chunks=("Paris.",)))
    assert CredentialStore().delete_key("openai")
    dialog = _dialog(open_ctx, qtbot, source_id)
    _target_codex(qtbot, dialog, fake)
    with qtbot.waitSignal(dialog.sig_replay_finished, timeout=15_000):
        qtbot.keyClick(dialog.send_button, Qt.Key.Key_Space)
    assert dialog.error_frame.isVisibleTo(dialog)
    assert "(auth)" in dialog.error_title.text()
    assert "No API key for openai" in dialog.error_text.text()
    assert "Settings → API keys" in dialog.error_text.text()
    assert OPENAI_KEY not in dialog.error_text.text()

    # With the key back, a slow answer can be cancelled: its run is recorded as killed.
    assert CredentialStore().set_key("openai", OPENAI_KEY).persisted
    qtbot.mouseClick(dialog.again_button, Qt.MouseButton.LeftButton)
    assert dialog.state == SETUP
    qtbot.waitUntil(lambda: dialog.send_button.isEnabled(), timeout=5_000)
    fake.scenario = Scenario(chunks=tuple(f"w{i} " for i in range(40)), delay_s=0.1)
    qtbot.mouseClick(dialog.send_button, Qt.MouseButton.LeftButton)
    assert dialog.cancel_button.isVisibleTo(dialog) and not dialog.send_button.isVisibleTo(dialog)
    qtbot.waitUntil(lambda: bool(dialog.stream_preview.text()), timeout=5_000)
    with qtbot.waitSignal(dialog.sig_replay_finished, timeout=10_000) as finished:
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert finished.args[0].dispatch.status.value == "killed"
    assert dialog.error_title.text() == "Replay cancelled"
    run = open_ctx.workspace.store.get_run(finished.args[0].dispatch.run_id)
    assert run.status == "killed" and run.replay_of == source_id


@pytest.mark.qt_log_ignore("does not support grabbing the keyboard", "does not support raise")
def test_replay_is_offered_from_run_details_telemetry_and_the_run_list(
    open_ctx: AppContext, qtbot: Any, fake: FakeLLMServer, keys: None
) -> None:
    from PySide6.QtCore import QItemSelectionModel
    from PySide6.QtWidgets import QMenu

    from ato_desktop.ui.pages.runs_page import DETAILS, HISTORY
    from tests.ui.test_runs_page import make_page

    _writer(open_ctx, fake)
    first = _source_run(open_ctx, qtbot, fake, Scenario(chunks=("One.",)), "one")
    second = _source_run(open_ctx, qtbot, fake, Scenario(chunks=("Two.",)), "two")
    page = make_page(open_ctx, qtbot)
    qtbot.waitUntil(lambda: page.model.rowCount() == 2, timeout=5_000)
    commands = {c.id: c for c in page.commands()}
    assert commands["runs.replay"].shortcut == "Shift+R"
    assert "runs.replay_failures" in commands

    # Run details: the header's Replay… button.
    page.open_run(first)
    qtbot.waitUntil(lambda: page.details.run is not None, timeout=5_000)
    assert page.view == DETAILS
    qtbot.mouseClick(page.details.replay_button, Qt.MouseButton.LeftButton)
    dialog = page.replay.dialog
    assert dialog is not None and (dialog.run_id, dialog.seq) == (first, None)
    qtbot.waitUntil(lambda: dialog.state == SETUP, timeout=5_000)
    dialog.close()

    # Telemetry: "Replay this call…" on the call_llm action row.
    telemetry = page.details.telemetry
    qtbot.waitUntil(lambda: telemetry.model.total == 1, timeout=5_000)
    rect = telemetry.tree.visualRect(telemetry.model.index(0, 0))
    telemetry._context_menu(rect.center())
    menu = telemetry.findChildren(QMenu)[-1]
    action = next(a for a in menu.actions() if a.text() == "Replay this call…")
    action.trigger()
    menu.close()
    dialog = page.replay.dialog
    assert dialog is not None and (dialog.run_id, dialog.seq) == (first, 1)
    qtbot.waitUntil(lambda: dialog.state == SETUP, timeout=5_000)
    assert "model call #1" in dialog.subtitle.text()
    dialog.close()

    # The run list: several runs selected, Shift+R replays them as a batch.
    page.go_back()
    assert page.view == HISTORY
    table = page.history.table
    selection = table.selectionModel()
    for row in range(2):
        selection.select(
            page.model.index(row, 0),
            QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
        )
    assert set(page.replay.selected_run_ids()) == {first, second}
    page.replay.replay_current()
    batch = page.replay.batch_dialog
    assert batch is not None and set(batch.run_ids) == {first, second}
    batch.close()


def _flaky(ctx: AppContext, qtbot: Any, fake: FakeLLMServer) -> tuple[list[str], str]:
    """Three runs that failed (a provider error) and one that completed."""
    ctx.workspace.agents.create(
        "flaky", AgentConfig("claude", "claude-sonnet-5", base_url=fake.anthropic_base_url)
    )
    failed = []
    for i in range(3):
        fake.scenario = Scenario(status=400)
        run = run_on_engine(
            ctx,
            qtbot,
            ctx.workspace.dispatcher.dispatch(DispatchRequest(f"question {i}", agent="flaky")),
        )
        failed.append(str(run.run_id))
    fake.scenario = Scenario(chunks=("fine",))
    ok = run_on_engine(
        ctx, qtbot, ctx.workspace.dispatcher.dispatch(DispatchRequest("question ok", agent="flaky"))
    )
    return failed, str(ok.run_id)


def _batch(ctx: AppContext, qtbot: Any, fake: FakeLLMServer, **kwargs: Any) -> BatchReplayDialog:
    dialog = BatchReplayDialog(ctx, **kwargs)
    show_page(qtbot, dialog)
    form = dialog.target_form
    qtbot.waitUntil(lambda: form.loaded, timeout=5_000)
    form.set_runtime("codex")
    form.set_model("gpt-5")
    form.base_url.setText(fake.openai_base_url)
    return dialog


def test_batch_replay_estimates_first_shows_progress_and_counts_recoveries(
    open_ctx: AppContext, qtbot: Any, fake: FakeLLMServer, keys: None, qtmodeltester: Any
) -> None:
    failed, ok = _flaky(open_ctx, qtbot, fake)
    dialog = _batch(open_ctx, qtbot, fake, run_ids=[*failed, ok])
    assert dialog.concurrency.value() == 4
    qtbot.waitUntil(lambda: dialog.plan is not None and dialog.plan.total.parts == 4, timeout=5_000)
    # The estimated total first, with its badge; the button says how many.
    assert dialog.estimate_value.text().startswith("$")
    assert dialog.estimate_badge.isVisibleTo(dialog)
    assert "for 4 replays on codex · gpt-5" in dialog.estimate_detail.text()
    assert dialog.start_button.text() == "&Replay 4 runs"

    dialog.concurrency.setValue(2)
    fake.scenario = Scenario(chunks=("Now it works.",))
    done: list[int] = []
    dialog.sig_item_done.connect(lambda d, _t: done.append(d))
    with qtbot.waitSignal(dialog.sig_batch_finished, timeout=20_000) as finished:
        qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
        assert dialog.cancel_button.isVisibleTo(dialog)
        assert dialog.progress.maximum() == 4
    summary = finished.args[0]
    assert done == [1, 2, 3, 4] and dialog.progress.value() == 4
    assert (summary.recovered, summary.still_failing, summary.regressed) == (3, 0, 0)
    assert dialog.headline.text() == "3 of 3 failures recovered"
    assert dialog.count_labels["recovered"].text() == "3 recovered"
    assert dialog.count_labels["still_failing"].text() == "0 still failing"
    assert dialog.cost_line.text().startswith("Cost: ")
    assert "Median latency" in dialog.latency_line.text() and "%" in dialog.latency_line.text()

    model = dialog.items
    qtmodeltester.check(model)
    assert model.rowCount() == 4
    outcomes = sorted(model.index(r, COL_OUTCOME).data() for r in range(4))
    assert outcomes == ["recovered", "recovered", "recovered", "still ok"]
    # Each item opens its replay run.
    index = model.index(0, COL_SOURCE)
    replay_id = index.data(RUN_ID_ROLE)
    assert open_ctx.workspace.store.get_run(replay_id).trigger == "replay"
    with qtbot.waitSignal(open_ctx.sig_navigate, timeout=2_000) as navigated:
        qtbot.mouseClick(
            dialog.table.viewport(),
            Qt.MouseButton.LeftButton,
            pos=dialog.table.visualRect(index).center(),
        )
    assert navigated.args == ["runs", {"run_id": replay_id}]


def test_batch_of_an_agents_failures_since_a_change_and_cancel(
    open_ctx: AppContext, qtbot: Any, fake: FakeLLMServer, keys: None
) -> None:
    failed, _ok = _flaky(open_ctx, qtbot, fake)
    dialog = _batch(open_ctx, qtbot, fake, run_ids=None, agent="flaky")
    assert dialog.failures_box.isVisibleTo(dialog)
    qtbot.waitUntil(lambda: dialog.run_ids == tuple(failed), timeout=5_000)
    assert dialog.agent_combo.currentText() == "flaky"
    assert dialog.since_combo.currentText().startswith("v1 · ")
    assert dialog.since_combo.itemText(dialog.since_combo.count() - 1) == "All time"
    assert "3 failed runs of flaky since v1" in dialog.subtitle.text()
    qtbot.waitUntil(lambda: dialog.start_button.isEnabled(), timeout=5_000)

    # One at a time, slowly: Cancel stops the one under way (a killed run) and starts no other.
    dialog.concurrency.setValue(1)
    fake.scenario = Scenario(chunks=("slow ", "answer"), delay_s=0.15)
    sent = len(fake.requests)
    with qtbot.waitSignal(dialog.sig_batch_finished, timeout=15_000) as finished:
        qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: len(fake.requests) > sent, timeout=5_000)
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
        assert "Cancelling" in dialog.progress_label.text()
    summary = finished.args[0]
    assert summary.cancelled and summary.replayed == 1 and summary.recovered == 0
    (item,) = summary.items
    assert item.result is not None and item.result.dispatch.status.value == "killed"
    assert dialog.progress.value() == 1 and dialog.items.rowCount() == 1
    assert dialog.progress_label.text().startswith("Cancelled after 1 of 3")


def test_a_replay_that_never_reached_a_model_shows_no_diff_and_no_deltas(qtbot: Any) -> None:
    """The source's answer is not struck through and a $0 that was never spent is no green
    "−100 %": the view says the replay failed before reaching a model."""
    from ato_desktop.engine.replay import Side, compare_sides
    from ato_desktop.ui.replay.comparison_view import ComparisonView

    source = Side(
        "a" * 32, "completed", "Your order shipped.", 900.0, 120, 30, 0.0031, "provider", None
    )
    replay = Side("b" * 32, "failed", "", 4.0, 0, 0, None, None, "auth", "No API key for openai.")
    view = ComparisonView()
    qtbot.addWidget(view)
    view.set_comparison(compare_sides(source, replay), "claude", "codex · gpt-5")
    assert "failed before reaching a model (auth: No API key for openai.)" in view.summary.text()
    assert "Similarity" not in view.summary.text()
    for key in ("duration", "tokens", "cost"):
        assert view.replay.deltas[key].text() == "—"
        assert view.replay.deltas[key].property("tone") == "none"
    assert view.source.plain_output() == "Your order shipped."
    assert "<s>" not in view.source.output.toHtml() and "line-through" not in (
        view.source.output.toHtml()
    )
