"""Run details' Simulation and Determinism tabs, the r/s/d keys, and an agent's determinism on the
Agents page: a real log, the official SDK against the wire fake (which must not be hit by a
simulation), crafted runs for the determinism scanner."""

from __future__ import annotations

import html
import time
from typing import Any

from PySide6.QtCore import Qt

from ato_desktop.core.determinism import band_for
from ato_desktop.core.models import AgentConfig, Trigger
from ato_desktop.core.records import NewAction, NewRun, RunEnd
from ato_desktop.core.simulation import INPUT_MISMATCH, MATCH
from ato_desktop.engine.dispatcher import DispatchRequest
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.main_window import MainWindow
from ato_desktop.ui.pages.agents_page import AgentsPage
from ato_desktop.ui.pages.runs_page import DETAILS, RunsPage
from ato_desktop.ui.runs.determinism_tab import (
    COL_ISSUE,
    COL_SEVERITY,
    DETERMINISM_TAB,
    DeterminismTab,
)
from ato_desktop.ui.runs.simulation_tab import COL_STATUS, KIND_ROLE, SIMULATION_TAB
from ato_desktop.ui.widgets.score_bar import band_colour
from tests.fakes import FakeLLMServer, Scenario
from tests.support import determinism_runs as crafted
from tests.support.qt_helpers import run_on_engine, show_page

ANTHROPIC_KEY = "sk-ant-api03-SIMKEY-abcdefghijklmnopqrstuvwxyz0123456789"
NOW = int(time.time() * 1000)


def _page(ctx: AppContext, qtbot: Any, run_id: str) -> RunsPage:
    page = show_page(qtbot, RunsPage(ctx))
    page.activate({"run_id": run_id})
    qtbot.waitUntil(lambda: page.simulation.run is not None, timeout=5_000)
    return page


def _ingest(
    ctx: AppContext,
    qtbot: Any,
    actions: list[NewAction],
    *,
    suffix: str,
    agent: Any = None,
    at: int = NOW,
) -> str:
    run_id = f"{at:012x}" + suffix * (20 // len(suffix))
    new = NewRun(
        "claude",
        "claude-sonnet-4-5",
        Trigger.CLI.value,
        at - 5_000,
        agent_id=agent.id if agent else None,
        agent_version_id=agent.current_version_id if agent else None,
        id=run_id,
    )
    with qtbot.waitSignal(ctx.bridge.sig_runs_bulk_changed, timeout=5_000):
        ctx.workspace.store.ingest(
            [(new, RunEnd("completed", at, 5_000_000_000), actions)]
        ).result()
    return run_id


# -- simulation ----------------------------------------------------------------------------------


def test_simulation_shows_an_edited_prompt_as_a_divergence_without_network(
    open_ctx: AppContext, qtbot: Any, fake: FakeLLMServer, qtmodeltester: Any
) -> None:
    ws = open_ctx.workspace
    assert ws.credentials.set_key("anthropic", ANTHROPIC_KEY).persisted
    ws.agents.create(
        "helper",
        AgentConfig(
            "claude", "claude-sonnet-5", system_prompt="Brief.", base_url=fake.anthropic_base_url
        ),
        source="test",
    )
    fake.scenario = Scenario(chunks=("Hello there!",))
    source = run_on_engine(
        open_ctx, qtbot, ws.dispatcher.dispatch(DispatchRequest("Say hi", agent="helper"))
    )
    ws.agents.edit("helper", {"system_prompt": "Be thorough and cite sources."}, source="test")
    # From here on any model call fails loudly, and is counted.
    fake.scenario = Scenario(status=500)
    calls = len(fake.requests)

    page = _page(open_ctx, qtbot, source.run_id)
    tab = page.simulation
    assert page.details.show_tab(SIMULATION_TAB)
    assert tab.current_page() == tab.PAGE_INTRO and tab.simulate_button.isEnabled()
    assert "no network call, $0" in tab.subtitle.text()
    assert "helper" in tab.intro_text.text()

    with qtbot.waitSignal(tab.sig_simulation_finished, timeout=15_000):
        qtbot.mouseClick(tab.simulate_button, Qt.MouseButton.LeftButton)
        assert tab.current_page() == tab.PAGE_BUSY and not tab.simulate_button.isEnabled()
    assert len(fake.requests) == calls  # not one request reached the (fake) network

    assert tab.current_page() == tab.PAGE_RESULT
    run = ws.store.get_run(source.run_id)
    figures = {key: figure.value.text() for key, figure in tab.figures.items()}
    assert figures["replay"] == "$0.00" and figures["divergences"] == "1"
    assert figures["original"] not in ("", "$0.00", "unknown")  # the fake reports usage
    assert run.cost_usd and figures["savings"] == figures["original"]
    assert figures["match_rate"].endswith("%") and figures["match_rate"] != "100%"

    model = tab.model
    qtmodeltester.check(model)
    kinds = [model.index(r, COL_STATUS).data(KIND_ROLE) for r in range(model.rowCount())]
    assert kinds.count(INPUT_MISMATCH) == 1 and MATCH in kinds
    row = kinds.index(INPUT_MISMATCH)
    assert model.index(row, COL_STATUS).data() == "✗ Input mismatch"
    assert model.index(row, 0).data().endswith("call_llm")
    # The divergence is selected first, and its details say what changed.
    assert tab.table.selectionModel().selectedRows()[0].row() == row
    assert tab.detail_change.text() == "System prompt changed."
    assert "recomputed" in tab.detail_text.text()
    assert "changed since this run (v1 -> v2)" in html.unescape(tab.result_note.text())

    # A matching row explains itself too.
    match_row = kinds.index(MATCH)
    tab.table.selectRow(match_row)
    assert "did what the recording did" in tab.detail_text.text()
    tab.only_divergences.setChecked(True)
    assert model.rowCount() == 1 and model.index(0, COL_STATUS).data(KIND_ROLE) == INPUT_MISMATCH

    # Editing the agent again makes this result out of date, and the tab says so.
    selected = tab.table.selectionModel().selectedRows()[0].row()
    ws.agents.edit("helper", {"system_prompt": "Brief."}, source="test")
    qtbot.waitUntil(lambda: "Simulate again to test the change" in tab.result_note.text())
    assert tab.table.selectionModel().selectedRows()[0].row() == selected

    # The simulation is a run of its own, linked from the tab.
    result = tab.result()
    simulated = ws.store.get_run(result.simulation_run_id)
    assert simulated.replay_of == source.run_id and simulated.tags["simulation"] == "true"
    assert "Open the simulation run" in tab.result_note.text()
    with qtbot.waitSignal(open_ctx.sig_navigate) as nav:
        assert tab.open_simulation_run()
    assert nav.args == ["runs", {"run_id": result.simulation_run_id}]

    # Opening the simulation run says what it is, and the source's result stays for later.
    page.open_run(simulated.id)
    qtbot.waitUntil(lambda: tab.run is not None and tab.run.id == simulated.id, timeout=5_000)
    assert not tab.source_note.isHidden() and "a simulation of run" in tab.source_note.text()
    assert tab.current_page() == tab.PAGE_INTRO
    page.open_run(source.run_id)
    qtbot.waitUntil(lambda: tab.run is not None and tab.run.id == source.run_id, timeout=5_000)
    assert tab.current_page() == tab.PAGE_RESULT and tab.simulate_button.text() == "Simulate again"


def test_a_running_run_can_be_simulated_when_it_ends(
    open_ctx: AppContext, qtbot: Any, other_process: str
) -> None:
    store = open_ctx.workspace.store
    run_id, run_no = store.create_run(
        NewRun("claude", "claude-sonnet-5", "cli", NOW - 1_000), owner=other_process
    ).result()
    page = _page(open_ctx, qtbot, run_id)
    tab = page.simulation
    page.details.show_tab(SIMULATION_TAB)
    assert tab.current_page() == tab.PAGE_MESSAGE
    assert "still running" in tab.message_title.text()
    assert "when it has finished" in tab.message_text.text()
    assert not tab.simulate_button.isEnabled()
    assert not tab.simulate()  # and r says so instead of starting
    # No actions recorded when it ends: nothing to simulate, said plainly.
    store.finish_run(run_id, run_no, RunEnd("completed", NOW, 1_000_000)).result()
    qtbot.waitUntil(lambda: tab.run is not None and tab.run.status == "completed", timeout=5_000)
    assert "Nothing to simulate" in tab.message_title.text()


# -- determinism ---------------------------------------------------------------------------------


def test_determinism_findings_score_band_and_advice(open_ctx: AppContext, qtbot: Any) -> None:
    cases = crafted.pattern_cases()
    actions = crafted.with_extra(crafted.clean_run(), cases["timestamp"][0], cases["uuid"][0])
    run_id = _ingest(open_ctx, qtbot, actions, suffix="d1")
    page = _page(open_ctx, qtbot, run_id)
    tab = page.determinism
    assert tab.report is None and not tab.loading  # lazy: nothing until the tab shows

    with qtbot.waitSignal(tab.sig_report_shown, timeout=10_000) as shown:
        assert page.show_run_tab(DETERMINISM_TAB)
        assert tab.pages.currentIndex() == tab.PAGE_LOADING
    report = shown.args[0]
    assert report.subject == run_id and report.score < 90
    titles = {f.title for f in report.findings}
    assert {"Timestamp in output", "UUID in output"} <= titles

    band = band_for(report.score)
    assert tab.band_label.text() == band.label
    assert f">{report.score:.0f}<" in tab.score_label.text()
    assert tab.score_bar.score == report.score
    assert tab.score_bar.fill_colour().name().lower() == band_colour(band).lower()
    deducted = 100 - report.score
    assert f"deduct {deducted:g} points" in tab.explanation.text().replace(".0 ", " ")

    model = tab.model
    rows = {model.index(r, COL_ISSUE).data(): r for r in range(model.rowCount())}
    assert set(rows) == titles
    tab.table.selectRow(rows["UUID in output"])
    assert model.index(rows["UUID in output"], COL_SEVERITY).data() == "High"
    uuid = next(f for f in report.findings if f.title == "UUID in output")
    assert tab.recommendation.text() == uuid.recommendation
    assert tab.before.toPlainText() == uuid.before_snippet.rstrip("\n")
    assert "uuid" in tab.after.toPlainText() and tab.after.toPlainText() != tab.before.toPlainText()
    assert tab.detail_description.text() == uuid.description
    assert tab.detail_where.text().startswith("#")
    tab.table.selectRow(rows["Timestamp in output"])
    assert "generate_report" in tab.detail_where.text() and "line 3" in tab.detail_where.text()
    assert "timestamp" in tab.recommendation.text().lower()
    assert tab.before.toPlainText() and tab.after.toPlainText()


def test_a_clean_run_scores_90_or_more_and_says_why(
    open_ctx: AppContext, qtbot: Any, qtmodeltester: Any
) -> None:
    run_id = _ingest(open_ctx, qtbot, crafted.clean_run(), suffix="c1")
    page = _page(open_ctx, qtbot, run_id)
    tab = page.determinism
    with qtbot.waitSignal(tab.sig_report_shown, timeout=10_000) as shown:
        page.show_run_tab(DETERMINISM_TAB)
    report = shown.args[0]
    assert report.score >= 90
    assert tab.band_label.text() == "Highly deterministic"
    if not report.findings:
        assert tab.explanation.text().startswith("No findings: nothing to deduct.")
        assert tab.findings_stack.currentWidget() is tab.no_findings
    qtmodeltester.check(tab.model)


def test_keys_r_s_d_and_not_while_typing(open_ctx: AppContext, qtbot: Any) -> None:
    run_id = _ingest(open_ctx, qtbot, crafted.clean_run(), suffix="e1")
    window = MainWindow(open_ctx)
    qtbot.addWidget(window)
    window.show()
    window.navigate("runs")
    page = window.page("runs")
    assert isinstance(page, RunsPage)
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=5_000)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    listed = {c.id: c for c in open_ctx.commands.with_shortcuts()}
    assert {
        listed[c].shortcut for c in ("runs.simulate", "runs.simulation", "runs.determinism")
    } == {
        "R",
        "S",
        "D",
    }
    shortcuts = [c.shortcut for c in listed.values() if c.page_id in (None, "runs")]
    assert len(shortcuts) == len(set(shortcuts))  # no clash on the Runs page

    table = page.history.table
    table.setFocus()
    table.selectRow(0)
    qtbot.keyClick(table, Qt.Key.Key_D)  # d: the selected run's Determinism tab
    assert page.view == DETAILS and page.details.current_tab() == DETERMINISM_TAB
    assert isinstance(page.determinism, DeterminismTab) and page.determinism.table.hasFocus()
    qtbot.waitUntil(lambda: page.determinism.report is not None, timeout=10_000)

    qtbot.keyClick(page.determinism.table, Qt.Key.Key_S)  # s: the Simulation tab
    assert page.details.current_tab() == SIMULATION_TAB
    assert page.simulation.result() is None and page.simulation.simulate_button.hasFocus()

    # Typing in the action search: the letters go to the field, nothing switches or runs.
    page.focus_search()
    search = page.details.telemetry.search
    assert search.hasFocus()
    qtbot.keyClicks(search, "rsd")
    assert search.text() == "rsd" and page.details.current_tab() == "telemetry"
    assert page.simulation.result() is None and not page.simulation._busy
    search.clear()

    page.details.telemetry.tree.setFocus()
    with qtbot.waitSignal(page.simulation.sig_simulation_finished, timeout=15_000) as done:
        qtbot.keyClick(page.details.telemetry.tree, Qt.Key.Key_R)  # r: simulate
    assert done.args[0] == run_id and page.details.current_tab() == SIMULATION_TAB
    assert page.simulation.current_page() == page.simulation.PAGE_RESULT


def test_r_in_the_list_opens_and_simulates_the_selected_run(
    open_ctx: AppContext, qtbot: Any
) -> None:
    run_id = _ingest(open_ctx, qtbot, crafted.clean_run(), suffix="f1")
    page = show_page(qtbot, RunsPage(open_ctx))
    page.activate()
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=5_000)
    page.history.table.selectRow(0)
    with qtbot.waitSignal(page.simulation.sig_simulation_finished, timeout=15_000) as done:
        page.simulate_run()
    assert done.args[0] == run_id and page.view == DETAILS
    assert page.details.current_tab() == SIMULATION_TAB


# -- the agent's score -----------------------------------------------------------------------------


def test_agents_page_shows_the_agents_determinism(open_ctx: AppContext, qtbot: Any) -> None:
    agent = open_ctx.workspace.agents.create(
        "support", AgentConfig("claude", "claude-sonnet-5"), source="test"
    )
    cases = crafted.pattern_cases()
    _ingest(open_ctx, qtbot, crafted.clean_run(), suffix="a1", agent=agent, at=NOW - 60_000)
    _ingest(
        open_ctx,
        qtbot,
        crafted.with_extra(crafted.clean_run(), cases["uuid"][0]),
        suffix="a2",
        agent=agent,
    )
    page = show_page(qtbot, AgentsPage(open_ctx))
    badge = page.determinism
    with qtbot.waitSignal(badge.sig_report_shown, timeout=10_000) as shown:
        page.select_agent(agent.id)
    report = shown.args[0]
    assert report.runs_analysed == 2 and 0 < report.score < 100
    band = band_for(report.score)
    assert badge.isVisible() and badge.pill.text() == f"Determinism {report.score:.0f}"
    assert band_colour(band).lower() in badge.pill.styleSheet().lower()
    assert band.label in badge.summary.text() and "UUID in output" in badge.summary.text()
    assert "2 runs" in badge.summary.text() and "UUID in output · call_llm" in badge.toolTip()

    page.start_create()
    assert not badge.isVisible()


# -- texts (plain functions) -----------------------------------------------------------------------


def test_figures_never_show_an_unknown_cost_as_zero() -> None:
    from types import SimpleNamespace

    from ato_desktop.core.simulation import summarize
    from ato_desktop.ui.runs.simulation_tab import figures

    result = SimpleNamespace(summary=summarize([], None, []))
    unpriced = SimpleNamespace(cost_source="unknown")
    assert figures(result, unpriced).original == "unknown"  # type: ignore[arg-type]
    assert figures(result, unpriced).savings == "unknown"  # type: ignore[arg-type]
    assert figures(result, None).original == "—" and figures(result, None).savings == "—"
    priced = SimpleNamespace(summary=summarize([], 0.0142, []))
    texts = figures(priced, SimpleNamespace(cost_source="estimated"))  # type: ignore[arg-type]
    assert texts.original == "$0.014 est." and texts.savings == "$0.014 est."
    assert texts.replay == "$0.00"
    assert texts.match_rate == "100%"


def test_the_explanation_names_what_was_deducted() -> None:
    from ato_desktop.core.determinism import digest_run, run_report
    from ato_desktop.ui.runs.determinism_tab import explain, points

    clean = run_report(digest_run("r1", crafted.as_records("r1", crafted.clean_run())), [])
    assert explain(clean).startswith("No findings: nothing to deduct. 5 actions scanned; no other")
    case = crafted.pattern_cases()["uuid"][0]
    actions = crafted.as_records("r2", crafted.with_extra(crafted.clean_run(), case))
    report = run_report(digest_run("r2", actions), [])
    assert explain(report).startswith("1 finding deducts 16 points from 100.")
    assert points(16.0) == "−16" and points(2.5) == "−2.5"
