"""The Activity Ledger view (Runs → Ledger), offscreen over a real log: it lists every action,
filters and sorts them like the store's rules, opens an action's run, is reached from a run's
details filtered to that run, and exports what it shows."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from ato_desktop.core.ledger import LedgerFilter, LedgerSort
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.pages.runs_page import DETAILS, LEDGER, RunsPage
from ato_desktop.ui.runs.ledger_view import COL_COST, COL_MODEL, LedgerModel
from tests.store.test_action_ledger import all_entries, expected, seed_ledger
from tests.ui.test_runs_page import make_page


def _page(ctx: AppContext, qtbot: Any) -> RunsPage:
    page = make_page(ctx, qtbot)
    # The main window routes navigation; here the page takes its own targets.
    ctx.sig_navigate.connect(lambda page_id, target: page_id == "runs" and page.activate(target))
    return page


def _shown(page: RunsPage) -> list[tuple[int, int]]:
    model = page.ledger.model
    keys = []
    for row in range(model.rowCount()):
        entry = model.entry_at(row)
        assert entry is not None
        keys.append((entry.run_no, entry.seq))
    return keys


def _wait(qtbot: Any, page: RunsPage, generation: int | None = None) -> None:
    model = page.ledger.model
    if generation is not None:
        qtbot.waitUntil(lambda: model.generation > generation, timeout=3000)
    qtbot.waitUntil(lambda: not model.loading and model.generation > 0, timeout=5000)


def _all(qtbot: Any, page: RunsPage) -> list[tuple[int, int]]:
    model = page.ledger.model
    while model.canFetchMore():
        model.fetchMore()
        qtbot.waitUntil(lambda: not model.loading, timeout=5000)
    return _shown(page)


def test_the_ledger_lists_filters_and_sorts_every_action(
    open_ctx: AppContext, qtbot: Any, qtmodeltester: Any
) -> None:
    store = open_ctx.workspace.store
    agents = seed_ledger(store)
    entries = all_entries(store)
    page = _page(open_ctx, qtbot)
    page.ledger_button.click()
    assert page.view == LEDGER and not page.export_button.isVisible()
    ledger = page.ledger
    _wait(qtbot, page)
    assert _all(qtbot, page) == expected(entries, LedgerFilter(), LedgerSort())
    qtbot.waitUntil(lambda: ledger.count_label.text() == f"{len(entries):,} actions", timeout=5000)

    # Filters from the widgets, combined: errors of one agent's runs.
    qtbot.waitUntil(lambda: ledger.agent_combo.count() > 1, timeout=5000)
    generation = ledger.model.generation
    ledger.outcome_combo.setCurrentIndex(ledger.outcome_combo.findData("error"))
    _wait(qtbot, page, generation)
    generation = ledger.model.generation
    ledger.agent_combo.setCurrentIndex(ledger.agent_combo.findData(agents[0]))
    _wait(qtbot, page, generation)
    flt = LedgerFilter(outcome="error", agent_id=agents[0])
    assert ledger.filter == flt
    assert _all(qtbot, page) == expected(entries, flt, LedgerSort())
    assert ledger.reset_button.isVisible()

    # A duration it cannot read is said, and the list stays as it was.
    generation = ledger.model.generation
    ledger.duration_edit.setText("soon")
    ledger.duration_edit.returnPressed.emit()
    assert "not a duration" in ledger.error_label.text()
    assert ledger.model.generation == generation

    # The most expensive first: a click on Cost; the model column does not sort.
    ledger.duration_edit.clear()
    ledger.reset_button.click()
    _wait(qtbot, page)
    header = ledger.table.horizontalHeader()

    def click(column: int) -> None:
        x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
        QTest.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))

    generation = ledger.model.generation
    click(COL_COST)
    _wait(qtbot, page, generation)
    assert ledger.model.sort_order == LedgerSort("cost", descending=True)
    assert _all(qtbot, page) == expected(entries, LedgerFilter(), LedgerSort("cost"))
    click(COL_MODEL)
    assert ledger.model.sort_order == LedgerSort("cost", descending=True)
    assert header.sortIndicatorSection() == COL_COST

    # Enter on a row opens its run at that action.
    ledger.table.setFocus()
    ledger.table.setCurrentIndex(ledger.model.index(0, 0))
    top = ledger.model.entry_at(0)
    assert top is not None
    QTest.keyClick(ledger.table, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: page.view == DETAILS and page.details.run_id == top.run_id, timeout=5000
    )
    qtmodeltester.check(ledger.model)  # (it stays attached and fetches every page: last)


def test_view_in_activity_ledger_shows_that_runs_actions_and_exports_them(
    open_ctx: AppContext, qtbot: Any, tmp_path: Path
) -> None:
    store = open_ctx.workspace.store
    seed_ledger(store)
    entries = all_entries(store)
    run_id = max(entries, key=lambda e: e.seq).run_id  # a run with several actions
    page = _page(open_ctx, qtbot)
    page.open_run(run_id)
    qtbot.waitUntil(lambda: page.details.run is not None, timeout=5000)
    page.details.ledger_button.click()
    qtbot.waitUntil(lambda: page.view == LEDGER, timeout=3000)
    ledger = page.ledger
    _wait(qtbot, page)
    flt = LedgerFilter(run_id=run_id)
    assert ledger.filter == flt and ledger.run_chip.isVisible()
    qtbot.waitUntil(lambda: _shown(page) == expected(entries, flt, LedgerSort()), timeout=5000)

    # Export what the ledger shows, as CSV: the same actions, money as plain decimals.
    dialog = page.open_export()  # Ctrl+E in the ledger exports the ledger
    assert dialog is not None and dialog.windowTitle() == "Export actions"
    target = tmp_path / "run-actions.csv"
    dialog.path_edit.setText(str(target))
    with qtbot.waitSignal(dialog.sig_export_finished, timeout=10_000):
        dialog.start()
    with target.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["seq"]) for r in rows] == [
        seq for _run, seq in expected(entries, flt, LedgerSort())
    ]
    assert {r["run_id"] for r in rows} == {run_id}
    assert all("e-" not in r["cost_usd"] for r in rows)

    # The chip clears the run filter: every run's actions again.
    generation = ledger.model.generation
    ledger.run_chip.click()
    _wait(qtbot, page, generation)
    assert ledger.filter == LedgerFilter() and not ledger.run_chip.isVisible()

    # From the run list: L with a run selected shows that run's actions.
    page.show_view("history")
    page.history.table.setCurrentIndex(page.model.index(0, 0))
    selected = page.model.run_at(0)
    assert selected is not None
    page.show_ledger()
    assert page.view == LEDGER and ledger.filter == LedgerFilter(run_id=selected.id)


def test_the_ledger_model_pages_in_keyset_order(
    open_ctx: AppContext, qtbot: Any, qtmodeltester: Any
) -> None:
    store = open_ctx.workspace.store
    seed_ledger(store, runs=400)
    entries = all_entries(store)
    model = LedgerModel(open_ctx)
    qtmodeltester.check(model)
    model.set_sort(LedgerSort("duration", descending=False))
    model.set_filter(LedgerFilter(kind="tool"))
    qtbot.waitUntil(lambda: model.rowCount() > 0 and not model.loading, timeout=5000)
    while model.canFetchMore():
        model.fetchMore()
        qtbot.waitUntil(lambda: not model.loading, timeout=5000)
    got = [(model.entry_at(r).run_no, model.entry_at(r).seq) for r in range(model.rowCount())]  # type: ignore[union-attr]
    assert got == expected(entries, LedgerFilter(kind="tool"), LedgerSort("duration", False))
    qtmodeltester.check(model)


def test_the_ledger_shows_actions_another_process_writes(
    open_ctx: AppContext, qtbot: Any, tmp_path: Path
) -> None:
    """A CLI process (a peer on the same log) ingests runs while the ledger shows its top: the
    ledger reloads and lists their actions; scrolled down, it offers Refresh instead."""
    import os
    import subprocess
    import sys

    store = open_ctx.workspace.store
    seed_ledger(store, runs=30)
    page = _page(open_ctx, qtbot)
    page.ledger_button.click()
    ledger = page.ledger
    _wait(qtbot, page)
    before = ledger.model.rowCount()
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from ato_desktop.core.records import NewAction, NewRun, RunEnd\n"
        "from ato_desktop.store.execution_log import ExecutionLog\n"
        "from ato_desktop.store.paths import DataPaths\n"
        "log = ExecutionLog.open(DataPaths(Path(sys.argv[1])))\n"
        "now = int(time.time() * 1000) + 60_000\n"
        "log.ingest([(NewRun('claude', 'peer-model', 'cli', now),"
        " RunEnd('completed', now + 5, 5_000_000),"
        " [NewAction('peer_tool', 'tool', 'success', now, now + 1)])]).result()\n"
        "log.close()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, "-c", script, str(open_ctx.paths.root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    qtbot.waitUntil(
        lambda: (
            ledger.model.entry_at(0) is not None and ledger.model.entry_at(0).name == "peer_tool"
        ),  # type: ignore[union-attr]
        timeout=10_000,
    )
    assert ledger.model.rowCount() >= min(before, 100)
