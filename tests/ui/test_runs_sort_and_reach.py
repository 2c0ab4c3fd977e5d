"""History sorts by its column headers, reaches any run (End, the scrollbar) without reading the
whole list, and hides simulation replays unless the toggle shows them. Offscreen, real log."""

from __future__ import annotations

import time
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from ato_desktop.core.models import AgentConfig, CostSource
from ato_desktop.core.records import NewAction, NewRun, RunEnd, RunFilter
from ato_desktop.core.run_sort import RunSort, order_key
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.pages.runs_page import RunsPage
from ato_desktop.ui.runs import runs_model
from ato_desktop.ui.runs.runs_model import (
    COL_COST,
    COL_RUN,
    COL_STATUS,
    PAGE_SIZE,
    PLACEHOLDER,
    RunsTableModel,
)
from tests.ui.test_runs_page import make_page, seed, wait_loaded

NOW = int(time.time() * 1000)


def _click_header(page: RunsPage, column: int) -> None:
    header = page.history.table.horizontalHeader()
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    QTest.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))


def _wait_rows(qtbot: Any, page: RunsPage, first: int, last: int) -> None:
    qtbot.waitUntil(
        lambda: all(page.model.run_at(r) is not None for r in range(first, last + 1)),
        timeout=5000,
    )


def _expected(ctx: AppContext, flt: RunFilter, sort: RunSort) -> list[str]:
    runs = ctx.workspace.store.list_runs(flt, limit=100_000)
    return [r.id for r in sorted(runs, key=lambda r: order_key(r, sort))]


def test_header_clicks_sort_by_the_column_both_ways_and_are_remembered(
    open_ctx: AppContext, qtbot: Any
) -> None:
    seed(open_ctx, qtbot, 300)
    page = make_page(open_ctx, qtbot)
    flt = page.model.filter
    with qtbot.waitSignal(page.model.sig_page_loaded, timeout=5000):
        _click_header(page, COL_COST)
    assert page.model.sort_order == RunSort("cost", descending=True)  # most expensive first
    expected = _expected(open_ctx, flt, RunSort("cost"))
    _wait_rows(qtbot, page, 0, 49)
    assert [page.model.run_at(r).id for r in range(50)] == expected[:50]  # type: ignore[union-attr]
    header = page.history.table.horizontalHeader()
    assert header.sortIndicatorSection() == COL_COST
    assert header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder

    with qtbot.waitSignal(page.model.sig_page_loaded, timeout=5000):
        _click_header(page, COL_COST)  # again: cheapest first
    _wait_rows(qtbot, page, 0, 49)
    cheapest = _expected(open_ctx, flt, RunSort("cost", descending=False))
    assert [page.model.run_at(r).id for r in range(50)] == cheapest[:50]  # type: ignore[union-attr]

    with qtbot.waitSignal(page.model.sig_page_loaded, timeout=5000):
        _click_header(page, COL_STATUS)  # statuses A to Z on the first click
    assert page.model.sort_order == RunSort("status", descending=False)
    _click_header(page, COL_RUN)  # the Run column does not sort: the indicator stays
    assert page.model.sort_order == RunSort("status", descending=False)
    assert header.sortIndicatorSection() == COL_STATUS

    again = make_page(open_ctx, qtbot)  # a new Runs page opens sorted as the user left it
    assert again.model.sort_order == RunSort("status", descending=False)
    assert again.history.table.horizontalHeader().sortIndicatorSection() == COL_STATUS


@pytest.mark.parametrize("anchor_every", [2_000, 150])
def test_the_end_and_any_scrollbar_position_show_their_rows_reading_a_page(
    open_ctx: AppContext,
    qtbot: Any,
    qtmodeltester: Any,
    monkeypatch: pytest.MonkeyPatch,
    anchor_every: int,
) -> None:
    # With 2,000 (the app's) the list has no known places yet: jumps read from its ends;
    # with 150 it maps the order first, and jumps read from the nearest mapped place.
    monkeypatch.setattr(runs_model, "ANCHOR_EVERY", anchor_every)
    seed(open_ctx, qtbot, 2_400, days=90)
    page = make_page(open_ctx, qtbot)
    model, table = page.model, page.history.table
    expected = _expected(open_ctx, model.filter, model.sort_order)
    qtbot.waitUntil(lambda: model.rowCount() == len(expected), timeout=5000)  # every row exists
    if anchor_every < 1_000:
        qtbot.waitUntil(lambda: len(model._anchors) == len(expected) // anchor_every, timeout=5000)
    assert model.loaded_count() < len(expected)
    assert model.data(model.index(len(expected) - 1, COL_RUN)) == PLACEHOLDER  # not read yet

    # End: the oldest runs show, read from the end of the order (a page, not the whole list),
    # at the first press even with no current row.
    table.setFocus()
    table.setCurrentIndex(model.index(-1, -1))
    QTest.keyClick(table, Qt.Key.Key_End)
    last = len(expected) - 1
    _wait_rows(qtbot, page, last - 15, last)
    assert [model.run_at(r).id for r in range(last - 15, last + 1)] == expected[-16:]  # type: ignore[union-attr]
    assert model.loaded_count() <= 3 * PAGE_SIZE
    assert table.currentIndex().row() == last
    QTest.keyClick(table, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    assert table.currentIndex().row() == 0 and model.run_at(0).id == expected[0]  # type: ignore[union-attr]

    # The scrollbar dragged to 40 %: the rows shown there are the ones at those positions.
    bar = table.verticalScrollBar()
    bar.setValue(int(bar.maximum() * 0.4))
    top = table.rowAt(0)
    assert 0.3 * len(expected) < top < 0.5 * len(expected)
    _wait_rows(qtbot, page, top, top + 10)
    assert [model.run_at(r).id for r in range(top, top + 11)] == expected[top : top + 11]  # type: ignore[union-attr]
    assert model.loaded_count() <= 5 * PAGE_SIZE  # the pages in between were never read

    # Sorted another way, a jump lands on the right rows too.
    with qtbot.waitSignal(model.sig_page_loaded, timeout=5000):
        _click_header(page, COL_COST)
    qtbot.waitUntil(lambda: model.total == len(expected), timeout=5000)
    by_cost = _expected(open_ctx, model.filter, model.sort_order)
    bar.setValue(int(bar.maximum() * 0.75))
    top = table.rowAt(0)
    _wait_rows(qtbot, page, top, top + 10)
    assert [model.run_at(r).id for r in range(top, top + 11)] == by_cost[top : top + 11]  # type: ignore[union-attr]
    qtmodeltester.check(model)


def test_a_live_run_lands_where_the_sort_puts_it(open_ctx: AppContext, qtbot: Any) -> None:
    seed(open_ctx, qtbot, 120)
    model = RunsTableModel(open_ctx)
    model.set_sort(RunSort("cost", descending=True))
    model.set_filter(RunFilter())
    qtbot.waitUntil(lambda: model.rowCount() >= 100 and not model.loading, timeout=5000)
    store = open_ctx.workspace.store
    agent = store.create_agent("big", AgentConfig("claude", "claude-sonnet-5")).result()
    run_id, run_no = store.create_run(
        NewRun("claude", "m", "ui", NOW, agent_id=agent.id), owner="x"
    ).result()
    model.upsert(store.get_run(run_id))
    assert not model.contains(run_id)  # no cost yet: after every priced run, not loaded yet
    store.append_action(
        run_id,
        run_no,
        NewAction(
            "call_llm",
            "llm",
            "success",
            NOW,
            NOW + 5,
            cost_usd=99.0,
            cost_source=CostSource.PROVIDER,
        ),
    ).result()
    model.upsert(store.get_run(run_id))
    assert model.row_of(run_id) == 0  # the most expensive run now
    store.finish_run(run_id, run_no, RunEnd("completed", NOW + 9, 9_000_000)).result()
    model.upsert(store.get_run(run_id))
    assert model.row_of(run_id) == 0 and model.run_at(0).status == "completed"  # type: ignore[union-attr]


def test_simulations_are_hidden_until_the_toggle_shows_them(
    open_ctx: AppContext, qtbot: Any
) -> None:
    seed(open_ctx, qtbot, 20)
    store = open_ctx.workspace.store
    source = store.list_runs(RunFilter(), limit=1)[0]
    with qtbot.waitSignal(open_ctx.bridge.sig_runs_bulk_changed, timeout=5000):
        store.ingest(
            [
                (
                    NewRun(
                        "claude",
                        "m",
                        "replay",
                        NOW + 5,
                        replay_of=source.id,
                        tags={"simulation": "true"},
                    ),
                    RunEnd("completed", NOW + 6, 1_000_000),
                    [],
                )
            ]
        ).result()
    page = make_page(open_ctx, qtbot)
    toggle = page.history.simulations_toggle
    assert toggle.isVisible() and not toggle.isChecked()
    assert page.total == 20
    shown = [page.model.run_at(r) for r in range(page.model.rowCount())]
    assert all(r is not None and r.tags.get("simulation") != "true" for r in shown)

    generation = page.model.generation
    toggle.click()
    qtbot.waitUntil(lambda: page.model.generation > generation, timeout=3000)
    wait_loaded(qtbot, page)
    qtbot.waitUntil(lambda: page.total == 21, timeout=5000)
    assert page.model.run_at(0).tags.get("simulation") == "true"  # type: ignore[union-attr]
    assert page.filters.state().include_simulations
    assert "simulations included" in page.filters.state().describe()

    again = make_page(open_ctx, qtbot)  # remembered
    assert again.history.simulations_toggle.isChecked()
    again.filters.reset()  # not a filter to clear
    assert again.filters.state().include_simulations


def test_telemetry_sorts_a_runs_actions_by_cost_and_duration(
    open_ctx: AppContext, qtbot: Any, qtmodeltester: Any
) -> None:
    from ato_desktop.ui.runs.telemetry import (
        COL_COST as T_COST,
    )
    from ato_desktop.ui.runs.telemetry import (
        COL_DURATION as T_DURATION,
    )
    from ato_desktop.ui.runs.telemetry import (
        COL_SEQ,
        TelemetryView,
        build_action_rows,
    )

    store = open_ctx.workspace.store
    spec = [  # name, cost, duration ms
        ("call_llm", 0.004, 900),
        ("search_docs", None, 40),
        ("call_llm", 0.040335, 3200),
        ("read_file", None, 5),
        ("call_llm", 0.0012, 1500),
    ]
    actions = [
        NewAction(
            name,
            "llm" if cost is not None else "tool",
            "success",
            NOW + i,
            NOW + i + ms,
            duration_ns=ms * 1_000_000,
            cost_usd=cost,
            cost_source=CostSource.PROVIDER if cost is not None else None,
        )
        for i, (name, cost, ms) in enumerate(spec)
    ]
    store.ingest(
        [(NewRun("claude", "m", "cli", NOW), RunEnd("completed", NOW + 9, 9), actions)]
    ).result()
    run = store.list_runs(RunFilter(), limit=1)[0]
    view = TelemetryView()
    qtbot.addWidget(view)
    view.resize(900, 500)
    view.show()
    view.show_actions(run, build_action_rows(store.get_actions(run.id)))
    model = view.model
    header = view.tree.header()

    def seqs() -> list[int]:
        return [model.row_at(model.index(r, 0)).action.seq for r in range(model.rowCount())]  # type: ignore[union-attr]

    def click(column: int) -> None:
        x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
        QTest.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))

    assert seqs() == [1, 2, 3, 4, 5]
    click(T_COST)  # the most expensive first; actions without a cost last
    assert seqs() == [3, 1, 5, 2, 4]
    click(T_COST)
    assert seqs() == [5, 1, 3, 2, 4]
    click(T_DURATION)  # the slowest first
    assert seqs() == [3, 5, 1, 2, 4]
    qtmodeltester.check(model)
    view.search.setText("call_llm")
    qtbot.waitUntil(lambda: model.shown == 3, timeout=3000)
    assert seqs() == [3, 5, 1]  # the search keeps the order
    click(COL_SEQ)
    view.search.clear()
    qtbot.waitUntil(lambda: model.shown == 5, timeout=3000)
    assert seqs() == [1, 2, 3, 4, 5]
