"""The Runs page, offscreen, over a real log: filters (combined, remembered), intercepts, the
run list's empty states, navigation targets, run details and the inspector, shortcuts, export,
and a live streaming dispatch."""

from __future__ import annotations

import csv
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel

from ato_desktop.core.models import AgentConfig, CostSource, TokenUsage, Trigger
from ato_desktop.core.records import NewAction, NewRun, RunEnd, RunFilter, RunRecord
from ato_desktop.engine.dispatcher import DispatchRequest
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.main_window import MainWindow
from ato_desktop.ui.pages.runs_page import DETAILS, HISTORY, LIVE, RunsPage
from ato_desktop.ui.runs.filters_bar import RunsFilterState
from ato_desktop.ui.runs.history_view import EMPTY_NO_MATCH, EMPTY_NO_RUNS, PULSE_MAX_ROWS
from ato_desktop.ui.runs.live_view import COL_KILL, KILL_ROLE, kill_button_pixmap
from ato_desktop.ui.runs.runs_model import COL_AGENT
from ato_desktop.ui.widgets.json_view import DISPLAY_MAX_CHARS
from benchmarks.workload import DAY_MS, synthetic_runs
from tests.fakes import FakeLLMServer, Scenario

NOW = int(time.time() * 1000)
ANTHROPIC_KEY = "sk-ant-api03-TESTKEY-abcdefghijklmnopqrstuvwxyz0123456789"


# -- helpers (also used by the other test_runs_* modules) ----------------------------------------


def seed(ctx: AppContext, qtbot: Any, count: int = 240, *, days: int = 40) -> list[tuple[str, str]]:
    """count synthetic runs (2 actions each) over `days` days, spread over three agents."""
    store = ctx.workspace.store
    agents = []
    for i in range(3):
        agent = store.create_agent(f"agent-{i}", AgentConfig("claude", "claude-sonnet-5")).result()
        agents.append((agent.id, agent.current_version_id))
    with qtbot.waitSignal(ctx.bridge.sig_runs_bulk_changed, timeout=5000):
        store.ingest(synthetic_runs(count, 2, agents, now_ms=NOW, days=days)).result()
    return agents


def make_page(ctx: AppContext, qtbot: Any, *, target: dict[str, Any] | None = None) -> RunsPage:
    page = RunsPage(ctx)
    qtbot.addWidget(page)
    # A top-level of its own here (in the app it sits in the main window, which has a minimum
    # size): without one, layout changes resize the window's minimum, which offscreen Qt warns
    # about.
    page.setMinimumSize(900, 640)
    page.resize(1100, 760)
    page.show()
    page.activate(target)
    wait_loaded(qtbot, page)
    return page


def wait_loaded(qtbot: Any, page: RunsPage) -> None:
    """The run list has its first page (or its empty state) and the count."""
    qtbot.waitUntil(
        lambda: (
            not page.model.loading
            and (page.model.rowCount() > 0 or bool(page.history.showing_empty))
            and page.total is not None
        ),
        timeout=5000,
    )


def set_filters(qtbot: Any, page: RunsPage, **changes: Any) -> None:
    state = dataclasses.replace(page.filters.state(), **changes)
    generation = page.model.generation
    page.filters.set_state(state)
    qtbot.waitUntil(lambda: page.model.generation > generation, timeout=2000)
    qtbot.waitUntil(
        lambda: (
            not page.model.loading
            and (page.model.rowCount() > 0 or bool(page.history.showing_empty))
        ),
        timeout=5000,
    )


def shown_runs(page: RunsPage) -> list[RunRecord]:
    while page.model.canFetchMore():
        page.model.fetchMore()
        QApplication.processEvents()
    runs = []
    for row in range(page.model.rowCount()):
        run = page.model.run_at(row)
        assert run is not None
        runs.append(run)
    return runs


def all_matching(ctx: AppContext, flt: RunFilter) -> list[str]:
    return [r.id for r in ctx.workspace.store.list_runs(flt, limit=100_000)]


# -- filters ---------------------------------------------------------------------------------------


def test_filters_change_the_rows_combine_and_are_remembered(
    open_ctx: AppContext, qtbot: Any
) -> None:
    agents = seed(open_ctx, qtbot)
    page = make_page(open_ctx, qtbot)
    assert page.model.rowCount() > 0
    qtbot.waitUntil(lambda: page.total == 240)

    set_filters(qtbot, page, statuses=("failed",))
    failed = shown_runs(page)
    assert failed and all(r.status == "failed" for r in failed)

    # Status + agent + window + min cost combine (AND).
    agent_id = agents[1][0]
    set_filters(
        qtbot,
        page,
        statuses=("completed", "failed"),
        agent_id=agent_id,
        agent_name="agent-1",
        window="30d",
    )
    set_filters(qtbot, page, min_cost_usd=0.005)
    runs = shown_runs(page)
    state = page.filters.state()
    expected = all_matching(open_ctx, state.to_run_filter(NOW))
    assert [r.id for r in runs] == expected
    assert runs and all(
        r.status in ("completed", "failed")
        and r.agent_id == agent_id
        and r.started_at >= NOW - 30 * DAY_MS - 5000
        and (r.cost_usd or 0) >= 0.005
        for r in runs
    )
    qtbot.waitUntil(lambda: page.total == len(expected))

    # A new page (a restart) opens with the same filters, read from the settings file.
    open_ctx.settings.sync()
    again = make_page(open_ctx, qtbot)
    assert again.filters.state() == state
    assert again.model.filter.agent_id == agent_id
    assert again.model.filter.statuses == ("completed", "failed")
    assert again.filters.cost_edit.text() == "0.005"
    assert [r.id for r in shown_runs(again)] == expected


def test_filter_bar_widgets_drive_the_filter(open_ctx: AppContext, qtbot: Any) -> None:
    agents = seed(open_ctx, qtbot, 60)
    page = make_page(open_ctx, qtbot)
    bar = page.filters
    qtbot.waitUntil(lambda: bar.agent_name(agents[2][0]) == "agent-2")
    generation = page.model.generation
    bar._chips["failed"].click()
    qtbot.waitUntil(lambda: page.model.generation > generation)
    assert page.model.filter.statuses == ("failed",)
    bar._chips["stopped"].click()
    assert page.model.filter.statuses == ("failed", "killed", "interrupted")
    bar._window_buttons["7d"].click()
    assert page.model.filter.since_ms is not None
    # Type to search an agent: the completer lists matches (its popup is left out offscreen);
    # a unique part of a name picks that agent.
    completer = bar.agent_edit.completer()
    completer.setCompletionPrefix("2")
    assert completer.currentCompletion() == "agent-2"
    bar.agent_edit.setText("nt-2")
    bar.agent_edit.editingFinished.emit()
    qtbot.waitUntil(lambda: page.model.filter.agent_id == agents[2][0])
    assert bar.agent_edit.text() == "agent-2"
    qtbot.keyClicks(bar.cost_edit, "0.01")
    qtbot.waitUntil(lambda: page.model.filter.min_cost_usd == 0.01, timeout=3000)
    bar.reset_button.click()
    assert page.model.filter == RunsFilterState().to_run_filter(NOW) or (
        page.model.filter.statuses == () and page.model.filter.agent_id is None
    )


def test_empty_states_say_what_to_do(open_ctx: AppContext, qtbot: Any) -> None:
    page = make_page(open_ctx, qtbot)
    assert page.history.showing_empty == EMPTY_NO_RUNS
    assert "Chat" in page.history.empty.primary.text()
    with qtbot.waitSignal(open_ctx.sig_navigate) as nav:
        page.history.empty.secondary.click()
    assert nav.args == ["welcome", None]

    seed(open_ctx, qtbot, 30)
    qtbot.waitUntil(lambda: page.model.rowCount() == 30, timeout=5000)
    set_filters(qtbot, page, min_cost_usd=10_000.0)
    qtbot.waitUntil(lambda: page.history.showing_empty == EMPTY_NO_MATCH)
    assert "Widen" in page.history.empty.text.text()
    page.history.empty.primary.click()  # reset filters
    qtbot.waitUntil(lambda: page.model.rowCount() == 30, timeout=5000)
    assert not page.filters.state().is_narrowed


# -- intercepts and navigation ---------------------------------------------------------------------


def test_intercepts_list_the_failures_and_open_the_run(open_ctx: AppContext, qtbot: Any) -> None:
    seed(open_ctx, qtbot, 120)
    page = make_page(open_ctx, qtbot)
    panel = page.history.intercepts
    qtbot.waitUntil(lambda: panel.model.rowCount() > 0, timeout=5000)
    failed = all_matching(open_ctx, RunFilter(statuses=("failed",)))
    listed = [panel.model.intercept_at(r) for r in range(panel.model.rowCount())]
    assert {i.run.id for i in listed if i is not None} >= set(failed[:50])
    starts = [i.run.started_at for i in listed if i is not None]
    assert starts == sorted(starts, reverse=True)
    # Compact: at most four rows tall, and it collapses (remembered).
    assert panel.list.height() <= 4 * 28 + 8
    panel.toggle.click()
    assert panel.collapsed and not panel.list.isVisible()
    assert str(open_ctx.settings.value("runs/intercepts_collapsed")).lower() == "true"
    panel.toggle.click()
    # A click opens the run.
    rect = panel.list.visualRect(panel.model.index(0))
    with qtbot.waitSignal(page.sig_run_opened) as opened:
        qtbot.mouseClick(panel.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert opened.args == [listed[0].run.id]  # type: ignore[union-attr]
    assert page.view == DETAILS


def test_intercepts_empty_state(open_ctx: AppContext, qtbot: Any) -> None:
    page = make_page(open_ctx, qtbot)
    qtbot.waitUntil(lambda: "Nothing needs attention" in page.history.intercepts.empty.text())


def test_navigation_targets(open_ctx: AppContext, qtbot: Any) -> None:
    agents = seed(open_ctx, qtbot, 90)
    page = make_page(open_ctx, qtbot)
    agent_id, version_id = agents[0]
    page.activate({"agent_id": agent_id, "agent_version_id": version_id, "statuses": ["failed"]})
    wait_loaded(qtbot, page)
    assert page.view == HISTORY
    assert page.model.filter.agent_version_id == version_id
    runs = shown_runs(page)
    assert runs and all(r.agent_id == agent_id and r.status == "failed" for r in runs)
    qtbot.waitUntil(lambda: page.filters.version_chip.text().startswith("v1"))
    assert page.filters.agent_edit.text() == "agent-0"

    page.activate({"tab": "live"})
    assert page.view == LIVE
    page.activate({"tab": "history"})
    assert page.view == HISTORY

    run_id = runs[0].id
    page.activate({"run_id": run_id})
    assert page.view == DETAILS
    qtbot.waitUntil(lambda: page.details.telemetry.model.total == 2)
    assert page.details.run_id == run_id
    page.details.back_button.click()
    assert page.view == HISTORY


def test_agent_cell_links_to_the_agent(open_ctx: AppContext, qtbot: Any) -> None:
    seed(open_ctx, qtbot, 10)
    page = make_page(open_ctx, qtbot)
    table = page.history.table
    run = page.model.run_at(0)
    assert run is not None
    rect = table.visualRect(page.model.index(0, COL_AGENT))
    with qtbot.waitSignal(open_ctx.sig_navigate) as nav:
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert nav.args == ["agents", {"agent_id": run.agent_id}]
    assert page.view == HISTORY


# -- details, inspector, big payloads --------------------------------------------------------------


def _ingest_run(
    ctx: AppContext, qtbot: Any, actions: list[NewAction], *, status: str = "completed"
) -> str:
    store = ctx.workspace.store
    run_id = f"{NOW:012x}" + "ab" * 10
    new = NewRun("claude", "claude-sonnet-5", "cli", NOW - 5000, id=run_id, tags={"team": "qa"})
    error = "server_error" if status == "failed" else None
    end = RunEnd(status, NOW, 5_000_000_000, error_class=error)
    with qtbot.waitSignal(ctx.bridge.sig_runs_bulk_changed, timeout=5000):
        store.ingest([(new, end, actions)]).result()
    return run_id


def _action(name: str, outcome: str = "success", **kw: Any) -> NewAction:
    return NewAction(
        name=name, kind="tool", outcome=outcome, started_at=NOW - 4000, ended_at=NOW - 3000, **kw
    )


def test_telemetry_search_filter_expand_copy_and_inspector(
    open_ctx: AppContext, qtbot: Any
) -> None:
    run_id = _ingest_run(
        open_ctx,
        qtbot,
        [
            _action(
                "call_llm",
                inputs={"messages": [{"role": "user", "content": "find the zebra"}]},
                outputs={"text": "a striped horse"},
                usage=TokenUsage(100, 20),
                cost_usd=0.001,
                cost_source=CostSource.ESTIMATED,
            ),
            _action("search_docs", inputs={"query": "penguins"}, outputs={"hits": [1, 2]}),
            _action(
                "send_email",
                "blocked",
                inputs={"to": "ceo@example.com"},
                error_class="policy",
                error_message="needs approval",
            ),
            _action("run_sql", "error", inputs={"sql": "select 1"}, error_message="timeout"),
        ],
        status="failed",
    )
    page = make_page(open_ctx, qtbot, target={"run_id": run_id})
    telemetry = page.details.telemetry
    qtbot.waitUntil(lambda: telemetry.model.total == 4)
    assert "4 actions · 1 error" in telemetry.summary.text()
    assert "failed" in page.details.banner_text.text().lower()

    telemetry.search.setText("zebra")  # by content
    qtbot.waitUntil(lambda: telemetry.model.shown == 1)
    assert telemetry.model.row_at(telemetry.model.index(0, 0)).action.name == "call_llm"
    telemetry.search.setText("SEARCH_DOCS")  # by name, any case
    qtbot.waitUntil(lambda: telemetry.model.shown == 1)
    telemetry.search.setText("")
    qtbot.waitUntil(lambda: telemetry.model.shown == 4)
    telemetry.outcome.setCurrentIndex(1)  # errors
    assert telemetry.model.shown == 1
    telemetry.outcome.setCurrentIndex(3)  # blocked
    assert telemetry.model.row_at(telemetry.model.index(0, 0)).action.name == "send_email"
    telemetry.outcome.setCurrentIndex(0)

    telemetry.expand_button.click()
    assert all(telemetry.tree.isExpanded(telemetry.model.index(r, 0)) for r in range(4))
    first = telemetry.model.index(0, 0)
    assert telemetry.model.rowCount(first) == 2  # inputs, outputs
    assert "zebra" in telemetry.model.index(0, 0, first).data()

    with qtbot.waitSignal(telemetry.sig_copied, timeout=3000):
        telemetry.copy_part(telemetry.model.row_at(first).action, "outputs")
    assert json.loads(QApplication.clipboard().text()) == {"text": "a striped horse"}

    # The inspector: metadata, error details, highlighted JSON; Esc closes it.
    telemetry.tree.setCurrentIndex(telemetry.model.index(2, 0))
    inspector = telemetry.inspector
    assert inspector.isVisible()
    assert inspector.title.text() == "#3  send_email"
    assert inspector._fields["run"].toolTip() == run_id
    assert len(inspector._fields["span"].text()) == 16
    assert inspector.tags.text() == "team=qa"
    assert inspector.error_box.isVisible() and "needs approval" in inspector.error_text.text()
    qtbot.waitUntil(lambda: "ceo@example.com" in inspector.json.text())
    with qtbot.waitSignal(inspector.json.sig_copied, timeout=3000):
        inspector.json.copy_button.click()
    assert json.loads(QApplication.clipboard().text()) == {"to": "ceo@example.com"}
    page.escape()
    assert not inspector.isVisible() and page.view == DETAILS
    page.escape()
    assert page.view == HISTORY


def test_inspector_shows_a_big_payload_truncated_off_the_ui_thread(
    open_ctx: AppContext, qtbot: Any, tmp_path: Path
) -> None:
    big = {"blob": b"\x00\x01" * 4000, "log": [f"line {i}: " + "x" * 90 for i in range(14_000)]}
    run_id = _ingest_run(open_ctx, qtbot, [_action("dump", outputs=big, inputs=b"\xff" * 300)])
    page = make_page(open_ctx, qtbot, target={"run_id": run_id, "seq": 1})
    inspector = page.details.telemetry.inspector
    qtbot.waitUntil(lambda: inspector.isVisible() and inspector.action is not None)
    json_view = inspector.json

    # Inputs: a binary payload, shown as a marker; Save to file writes its raw bytes.
    qtbot.waitUntil(lambda: json_view.shown is not None)
    assert "binary data, 300 bytes" in json_view.text()
    with qtbot.waitSignal(json_view.sig_saved, timeout=3000):
        json_view.save_to_file(tmp_path / "inputs.bin")
    assert (tmp_path / "inputs.bin").read_bytes() == b"\xff" * 300

    # Outputs: over 1 MB. The view is not built on the UI thread: it says "Formatting…" and
    # shows a truncated text when the worker is done.
    inspector.show_part("outputs")
    assert json_view.shown is None and "Formatting" in json_view.editor.placeholderText()
    with qtbot.waitSignal(json_view.sig_content_shown, timeout=10_000) as shown:
        pass
    prepared = shown.args[0]
    assert prepared.total_chars > 1_000_000
    assert prepared.truncated and not prepared.highlight  # colours off: too big to highlight
    assert len(json_view.text()) <= DISPLAY_MAX_CHARS + 200
    assert "truncated" in json_view.text() and "binary data, 8,000 bytes" in json_view.text()
    assert "truncated view" in json_view._notice.text()
    # Save to file writes all of it, intact.
    with qtbot.waitSignal(json_view.sig_saved, timeout=10_000):
        json_view.save_to_file(tmp_path / "outputs.json")
    saved = json.loads((tmp_path / "outputs.json").read_text())
    assert len(saved["log"]) == 14_000 and saved["blob"]["size"] == 8000


# -- shortcuts -------------------------------------------------------------------------------------


def test_shortcuts_t_slash_esc_ctrl_e(open_ctx: AppContext, qtbot: Any) -> None:
    seed(open_ctx, qtbot, 20)
    window = MainWindow(open_ctx)
    qtbot.addWidget(window)
    window.show()
    window.navigate("runs")
    page = window.page("runs")
    assert isinstance(page, RunsPage)
    wait_loaded(qtbot, page)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    listed = {c.id: c for c in open_ctx.commands.with_shortcuts()}
    assert {"runs.telemetry", "runs.search", "runs.close_inspector", "runs.export"} <= set(listed)
    assert listed["runs.telemetry"].scope == "page" and listed["runs.telemetry"].page_id == "runs"

    table = page.history.table
    table.setFocus()
    table.selectRow(0)
    qtbot.keyClick(table, Qt.Key.Key_T)  # t: open the selected run's telemetry
    assert page.view == DETAILS
    telemetry = page.details.telemetry
    qtbot.waitUntil(lambda: telemetry.model.total == 2)

    telemetry.tree.setFocus()
    qtbot.keyClick(telemetry.tree, Qt.Key.Key_Slash)  # /: focus the action search
    assert telemetry.search.hasFocus()
    qtbot.keyClicks(telemetry.search, "t/t")  # typing: the keys go to the field
    assert telemetry.search.text() == "t/t" and page.view == DETAILS
    telemetry.search.clear()

    telemetry.tree.setCurrentIndex(telemetry.model.index(0, 0))
    assert telemetry.inspector.isVisible()
    telemetry.tree.setFocus()
    qtbot.keyClick(telemetry.tree, Qt.Key.Key_Escape)  # Esc: close the inspector
    assert not telemetry.inspector.isVisible() and page.view == DETAILS
    qtbot.keyClick(telemetry.tree, Qt.Key.Key_Escape)  # again: back to the list
    assert page.view == HISTORY

    qtbot.keyClick(table, Qt.Key.Key_Slash)  # in the list: the agent search
    assert page.filters.agent_edit.hasFocus()
    qtbot.keyClicks(page.filters.agent_edit, "zt/")  # (matches no agent: no completer popup)
    assert page.filters.agent_edit.text() == "zt/" and page.view == HISTORY
    page.filters.agent_edit.clear()

    with qtbot.waitSignal(page.sig_export_opened) as opened:
        qtbot.keyClick(table, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    dialog = opened.args[0]
    assert dialog.isVisible()
    dialog.reject()


# -- export ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_export_writes_the_filtered_runs(
    open_ctx: AppContext, qtbot: Any, tmp_path: Path, fmt: str
) -> None:
    seed(open_ctx, qtbot, 80)
    page = make_page(open_ctx, qtbot)
    set_filters(qtbot, page, statuses=("completed", "failed"), window="30d")
    expected = all_matching(open_ctx, page.model.filter)
    dialog = page.open_export()
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog._total == len(expected))
    dialog.set_format(fmt)
    target = tmp_path / f"runs.{fmt}"
    dialog.path_edit.setText(str(target))
    progress: list[tuple[int, int]] = []
    dialog.export_button.click()
    assert dialog.job is not None
    dialog.job.sig_export_progressed.connect(lambda done, total: progress.append((done, total)))
    with qtbot.waitSignal(dialog.sig_export_finished, timeout=10_000) as finished:
        pass
    assert finished.args == [str(target), len(expected)]
    assert progress and progress[-1] == (len(expected), len(expected))
    assert "Exported" in dialog.status.text()
    text = target.read_text(encoding="utf-8")
    if fmt == "csv":
        rows = list(csv.DictReader(text.splitlines()))
        ids = list(dict.fromkeys(row["run_id"] for row in rows))
        assert len(rows) == 2 * len(expected)  # one row per action
    elif fmt == "json":
        document = json.loads(text)
        ids = [run["id"] for run in document["runs"]]
        assert document["run_count"] == len(expected)
        assert all(len(run["actions"]) == 2 for run in document["runs"])
    else:
        ids = [json.loads(line)["id"] for line in text.splitlines()]
    assert ids == expected


def test_export_cancel_leaves_no_file(open_ctx: AppContext, qtbot: Any, tmp_path: Path) -> None:
    seed(open_ctx, qtbot, 60)
    page = make_page(open_ctx, qtbot)
    dialog = page.open_export()
    assert dialog is not None
    target = tmp_path / "never.jsonl"
    dialog.set_format("jsonl")
    dialog.path_edit.setText(str(target))
    dialog.start()
    assert dialog.job is not None
    # Cancel mid-way: from the worker's own (first) progress report, on the worker thread.
    dialog.job.sig_export_progressed.connect(
        lambda done, _total: done >= 1 and dialog.job.cancel(),  # type: ignore[union-attr]
        Qt.ConnectionType.DirectConnection,
    )
    with qtbot.waitSignal(dialog.sig_export_cancelled, timeout=10_000):
        pass
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left either
    assert "cancelled" in dialog.status.text()


# -- live ------------------------------------------------------------------------------------------


def _dispatch(ctx: AppContext, fake: FakeLLMServer, scenario: Scenario) -> list[Any]:
    workspace = ctx.workspace
    assert workspace.credentials.set_key("anthropic", ANTHROPIC_KEY).persisted
    if "writer" not in {a.name for a in workspace.store.list_agents()}:
        workspace.agents.create(
            "writer", AgentConfig("claude", "claude-sonnet-5", base_url=fake.anthropic_base_url)
        )
    fake.scenario = scenario
    results: list[Any] = []
    task = ctx.spawn(
        ctx.engine_run(
            workspace.dispatcher.dispatch(
                DispatchRequest("Say hello", agent="writer", trigger=Trigger.UI)
            )
        ),
        what="dispatch",
    )
    task.add_done_callback(lambda t: results.append(t.result()))
    return results


def test_a_streaming_dispatch_shows_up_live(
    open_ctx: AppContext, qtbot: Any, fake: FakeLLMServer
) -> None:
    page = make_page(open_ctx, qtbot)
    notices: list[str] = []
    page.sig_notice_shown.connect(notices.append)
    results = _dispatch(open_ctx, fake, Scenario(chunks=("Hel", "lo", " there", "!"), delay_s=0.15))
    # The run appears in the list (running) and in the Live view. (The engine loads the SDK
    # before it writes the run: seconds on a busy machine.)
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=15_000)
    run = page.model.run_at(0)
    assert run is not None and run.status == "running"
    page.show_view(LIVE)
    qtbot.waitUntil(lambda: page.live.model.rowCount() == 1, timeout=5000)
    assert page.live_button.text() == "Live · 1"
    # Its telemetry gains the action when it lands; the user is told it completed.
    page.open_run(run.id)
    telemetry = page.details.telemetry
    qtbot.waitUntil(lambda: page.details.run is not None, timeout=5000)
    qtbot.waitUntil(lambda: bool(results), timeout=10_000)
    qtbot.waitUntil(lambda: telemetry.model.total == 1, timeout=5000)
    assert telemetry.model.row_at(telemetry.model.index(0, 0)).action.name == "call_llm"
    qtbot.waitUntil(lambda: bool(notices), timeout=5000)
    assert "completed" in notices[0]
    assert "completed" in page.details.banner_text.text()
    assert page.details.badge.status == "completed"
    qtbot.waitUntil(lambda: page.model.run_at(0).status == "completed")  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: page.live.model.rowCount() == 0, timeout=5000)
    assert page.live_button.text() == "Live"


def test_a_failing_dispatch_is_reported(
    open_ctx: AppContext, qtbot: Any, fake: FakeLLMServer
) -> None:
    page = make_page(open_ctx, qtbot, target={"tab": "live"})
    notices: list[str] = []
    page.sig_notice_shown.connect(notices.append)
    results = _dispatch(
        open_ctx, fake, Scenario(chunks=("a", "b", "c"), delay_s=0.1, stream_error_after=2)
    )
    qtbot.waitUntil(lambda: page.live.model.rowCount() == 1, timeout=5000)
    qtbot.waitUntil(lambda: bool(results), timeout=10_000)
    qtbot.waitUntil(lambda: bool(notices), timeout=5000)
    assert "failed" in notices[0]
    # The intercepts are read for History, when it shows (not for every run end on Live).
    panel = page.history.intercepts
    assert page._intercepts_stale
    page.show_view(HISTORY)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=5000)
    assert not page._intercepts_stale


def test_live_view_kills_a_run_of_another_process(
    open_ctx: AppContext, qtbot: Any, other_process: str
) -> None:
    store = open_ctx.workspace.store
    run_id, _run_no = store.create_run(
        NewRun("claude", "claude-sonnet-5", "cli", NOW - 3000), owner=other_process
    ).result()
    page = make_page(open_ctx, qtbot, target={"tab": "live"})
    live = page.live
    qtbot.waitUntil(lambda: live.model.rowCount() == 1, timeout=5000)
    box = live.confirm_kill(run_id)
    assert box.isVisible() and run_id[-8:] in box.findChildren(QLabel)[1].text()
    box.kill_button.click()
    qtbot.waitUntil(lambda: store.get_run(run_id).kill_requested_at is not None, timeout=5000)
    # The row learns of the request from the store, a moment later: its button says so (a
    # picture, "Killing…"; its words for screen readers and the tooltip's).
    cell = lambda: live.model.index(0, COL_KILL)  # noqa: E731
    requested = "Kill requested…"
    qtbot.waitUntil(
        lambda: cell().data(Qt.ItemDataRole.AccessibleTextRole) == requested, timeout=5000
    )
    assert cell().data(KILL_ROLE) == "requested"
    picture = kill_button_pixmap(True, live.table.font(), live.table.devicePixelRatioF())
    icon = cell().data(Qt.ItemDataRole.DecorationRole)
    assert icon.pixmap(picture.size()).toImage() == picture.toImage()


def test_live_view_empty_state_and_kill_click_asks_first(
    open_ctx: AppContext, qtbot: Any, other_process: str
) -> None:
    page = make_page(open_ctx, qtbot, target={"tab": "live"})
    qtbot.waitUntil(lambda: page.live.empty.isVisible())
    assert "Nothing in flight" in page.live.empty.text()
    store = open_ctx.workspace.store
    with qtbot.waitSignal(open_ctx.bridge.sig_run_created):
        run_id, _ = store.create_run(
            NewRun("claude", "m", "cli", NOW), owner=other_process
        ).result()
    qtbot.waitUntil(lambda: page.live.model.rowCount() == 1, timeout=5000)
    table = page.live.table
    rect = table.visualRect(page.live.model.index(0, COL_KILL))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    box = page.live._confirm
    assert box is not None and box.isVisible()
    box.reject()  # Cancel: nothing is killed
    assert store.get_run(run_id).kill_requested_at is None
    rect = table.visualRect(page.live.model.index(0, 0))
    with qtbot.waitSignal(page.sig_run_opened):
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_run_queries_agree_with_the_page_count(open_ctx: AppContext, qtbot: Any) -> None:
    seed(open_ctx, qtbot, 50)
    page = make_page(open_ctx, qtbot)
    store = open_ctx.workspace.store
    assert page.total == store.count_runs(page.model.filter) == 50


def test_history_badges_rest_when_many_running_runs_are_in_sight(
    open_ctx: AppContext, qtbot: Any, other_process: str
) -> None:
    """The running pulse draws the eye to a run in flight; with more than PULSE_MAX_ROWS in
    sight it stops (each pulse repaints every badge), and starts again when fewer are."""
    store = open_ctx.workspace.store
    now = int(time.time() * 1000)
    runs = [
        store.create_run(NewRun("claude", "m", "cli", now - i * 1000), owner=other_process).result()
        for i in range(PULSE_MAX_ROWS + 4)
    ]
    page = make_page(open_ctx, qtbot)
    table = page.history.table
    qtbot.waitUntil(lambda: table.model().rowCount() == len(runs), timeout=5000)
    qtbot.waitUntil(lambda: table.clock.active and table.clock.steady, timeout=5000)
    assert table.clock.phase == 0.0
    for run_id, run_no in runs[:5]:
        store.finish_run(run_id, run_no, RunEnd("completed", now, 0)).result()
    qtbot.waitUntil(lambda: not table.clock.steady, timeout=5000)
    assert table.clock.active
