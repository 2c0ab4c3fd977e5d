"""qtmodeltester on every item model of the Runs page, empty, filled, paged, filtered and live."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from PySide6.QtCore import Qt

from ato_desktop.core.models import RunStatus
from ato_desktop.core.records import NewRun, RunEnd, RunFilter
from ato_desktop.store import run_queries
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.runs.intercepts import InterceptsModel
from ato_desktop.ui.runs.live_view import (
    COL_OUTPUT,
    COL_STATUS,
    COL_TOKENS,
    RUN_ID_ROLE,
    LiveRunsModel,
    _row,
)
from ato_desktop.ui.runs.runs_model import FIRST_PAGE_SIZE, PAGE_SIZE, RunsTableModel
from ato_desktop.ui.runs.telemetry import ActionsModel, build_action_rows
from ato_desktop.ui.widgets.json_view import DISPLAY_MAX_CHARS, display_value, prepare_json
from tests.ui.test_runs_page import seed


def test_runs_table_model_pages_in_and_folds_live_runs(
    open_ctx: AppContext, qtbot: Any, qtmodeltester: Any, other_process: str
) -> None:
    seed(open_ctx, qtbot, PAGE_SIZE + 50)
    model = RunsTableModel(open_ctx)
    qtmodeltester.check(model)
    model.set_filter(RunFilter())
    qtbot.waitUntil(lambda: model.rowCount() >= FIRST_PAGE_SIZE, timeout=5000)
    while model.rowCount() < PAGE_SIZE + 50:  # (the tester may ask for pages too)
        model.fetchMore()
        qtbot.waitUntil(lambda: not model.loading, timeout=5000)
    assert model.exhausted and not model.canFetchMore()
    keys = [(model.run_at(r).started_at, model.run_at(r).id) for r in range(model.rowCount())]  # type: ignore[union-attr]
    assert keys == sorted(keys, reverse=True) and len(set(keys)) == len(keys)

    # A stale page is dropped: change the filter while a page is being read.
    model.set_filter(RunFilter(statuses=("failed",)))
    model.set_filter(RunFilter(statuses=("completed",)))
    qtbot.waitUntil(lambda: not model.loading and model.rowCount() > 0, timeout=5000)
    assert all(model.run_at(r).status == "completed" for r in range(model.rowCount()))  # type: ignore[union-attr]

    # Live: a new running run is inserted on top only if it matches; ending it updates or
    # removes it.
    store = open_ctx.workspace.store
    run_id, run_no = store.create_run(
        NewRun("claude", "m", "ui", int(time.time() * 1000)), owner=other_process
    ).result()
    model.upsert(store.get_run(run_id))
    assert not model.contains(run_id)  # running, the filter wants completed
    model.set_filter(RunFilter())
    qtbot.waitUntil(lambda: not model.loading and model.rowCount() > 0, timeout=5000)
    assert model.run_at(0).id == run_id  # type: ignore[union-attr]
    store.finish_run(run_id, run_no, RunEnd(RunStatus.FAILED.value, 1, 1)).result()
    model.upsert(store.get_run(run_id))
    assert model.run_at(0).status == "failed"  # type: ignore[union-attr]
    model.set_filter(RunFilter(statuses=("failed",)))
    qtbot.waitUntil(lambda: not model.loading and model.contains(run_id), timeout=5000)
    finished = store.get_run(run_id)
    model.upsert(run_queries_copy(finished, status="completed"))
    assert not model.contains(run_id)  # no longer matches: removed


def run_queries_copy(run: Any, **changes: Any) -> Any:
    return dataclasses.replace(run, **changes)


def test_intercepts_model(open_ctx: AppContext, qtbot: Any, qtmodeltester: Any) -> None:
    seed(open_ctx, qtbot, 80)
    model = InterceptsModel()
    qtmodeltester.check(model)
    items = run_queries.critical_intercepts(open_ctx.workspace.store)
    assert items
    model.set_intercepts(items)
    assert model.rowCount() == len(items)
    assert "Failed" in model.index(0).data()
    model.set_intercepts([])
    assert model.rowCount() == 0


def test_actions_model_tree_filter_and_append(
    open_ctx: AppContext, qtbot: Any, qtmodeltester: Any
) -> None:
    seed(open_ctx, qtbot, 5)
    store = open_ctx.workspace.store
    runs = store.list_runs(RunFilter(statuses=("failed",)), limit=1) or store.list_runs(
        RunFilter(), limit=1
    )
    actions = store.get_actions(runs[0].id)
    rows = build_action_rows(actions)
    model = ActionsModel()
    qtmodeltester.check(model)
    model.set_rows(rows[:1])
    model.append_rows(rows)  # the first is known already: only the rest are added
    assert model.rowCount() == len(rows) == 2
    first = model.index(0, 0)
    assert model.rowCount(first) >= 2 and model.parent(model.index(0, 0, first)) == first
    model.set_query("call_llm")
    assert model.rowCount() == 1
    model.set_query("")
    model.set_outcome("success")
    assert all(
        model.row_at(model.index(r, 0)).action.outcome == "success"  # type: ignore[union-attr]
        for r in range(model.rowCount())
    )
    model.set_outcome(None)
    assert model.rowCount() == 2


def test_live_runs_model(
    open_ctx: AppContext, qtbot: Any, qtmodeltester: Any, other_process: str
) -> None:
    store = open_ctx.workspace.store
    now = int(time.time() * 1000)
    ids = [
        store.create_run(
            NewRun("claude", "m", "cli", now - i * 1000), owner=other_process
        ).result()[0]
        for i in range(3)
    ]
    model = LiveRunsModel()
    qtmodeltester.check(model)
    model.set_rows([_row(s) for s in run_queries.live_run_summaries(store)])
    assert model.run_ids() == ids
    model.update_row(ids[1], output_chars=1234, last_event="streaming", last_event_at=now)
    assert model.index(1, COL_OUTPUT).data() == "1.2 K chars"
    assert model.index(1, COL_TOKENS).data() == "~309"  # estimated while it streams
    model.tick()
    model.remove(ids[0])
    assert model.run_ids() == ids[1:]


def test_live_rows_of_runs_still_in_flight_stay_put_when_others_start_and_end(
    open_ctx: AppContext, qtbot: Any, qtmodeltester: Any, other_process: str
) -> None:
    """A reload places the rows: a run that started comes in at the top, one that ended
    leaves, and the rows in between keep their cells, so a selection of them survives."""
    store = open_ctx.workspace.store
    now = int(time.time() * 1000)

    def start(at: int) -> tuple[str, int]:
        return store.create_run(NewRun("claude", "m", "cli", at), owner=other_process).result()

    started = [start(now - i * 1000) for i in range(1, 4)]  # newest first
    older = [run_id for run_id, _no in started]
    model = LiveRunsModel()
    qtmodeltester.check(model)
    model.set_rows([_row(s) for s in run_queries.live_run_summaries(store)])
    assert model.run_ids() == older
    items = [model.item(row, 0) for row in range(3)]
    store.finish_run(*started[2], RunEnd("completed", now, 0)).result()
    newest, _no = start(now)
    model.set_rows([_row(s) for s in run_queries.live_run_summaries(store)])
    assert model.run_ids() == [newest, *older[:2]]
    assert [model.item(row, 0) for row in (1, 2)] == items[:2]  # the same cells, not rebuilt
    assert model.index(0, 0).data(RUN_ID_ROLE) == newest
    assert [model.index(row, 0).data(RUN_ID_ROLE) for row in (1, 2)] == older[:2]
    assert model.index(0, COL_STATUS).data(Qt.ItemDataRole.AccessibleTextRole) == "Running"
    assert model.index(0, COL_STATUS).data(Qt.ItemDataRole.DecorationRole) is not None
    # A new order (not only starts and ends) is placed too.
    reordered = [_row(s) for s in run_queries.live_run_summaries(store)][::-1]
    model.set_rows(reordered)
    assert model.run_ids() == [row.run.id for row in reordered]
    assert [model.index(r, 0).data(RUN_ID_ROLE) for r in range(3)] == model.run_ids()


def test_json_preparation_is_bounded() -> None:
    value = {"blob": {"$binary": "AAEC" * 10, "size": 30}, "text": "y" * 50_000}
    shown, binaries, cut = display_value(value)
    assert binaries == 1 and cut == 1
    assert "binary data, 30 bytes" in shown["blob"]["$binary"]
    huge = {"rows": [{"i": i, "v": "z" * 50} for i in range(60_000)]}
    prepared = prepare_json(huge)
    assert prepared.truncated and len(prepared.text) <= DISPLAY_MAX_CHARS + 200
    assert prepared.total_chars > 3_000_000
    small = prepare_json({"a": [1, 2.5, None, True]})
    assert not small.truncated and small.highlight and '"a"' in small.text
