"""A run deleted from the log (retention, the demo's removal) does not stay on screen: its
details close, back to the list, and the user is told why."""

from __future__ import annotations

import time
from typing import Any

from ato_desktop.core.records import NewAction, NewRun, RunEnd
from ato_desktop.store.retention import delete_runs
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.pages.runs_page import DETAILS, HISTORY
from tests.ui.test_runs_page import make_page

NOW = int(time.time() * 1000)


def _ingest(ctx: AppContext, qtbot: Any, count: int) -> list[str]:
    ids = [f"{NOW - 10_000 + n:012x}" + f"{n:02x}" * 10 for n in range(count)]
    rows = [
        (
            NewRun("claude", "m", "cli", NOW - 10_000 + n, id=run_id),
            RunEnd("completed", NOW - 9_000 + n, 1_000_000),
            [NewAction("call_llm", "llm", "success", NOW - 10_000 + n, NOW - 9_000 + n)],
        )
        for n, run_id in enumerate(ids)
    ]
    with qtbot.waitSignal(ctx.bridge.sig_runs_bulk_changed, timeout=5000):
        ctx.workspace.store.ingest(rows).result()
    return ids


def test_the_open_run_deleted_by_retention_leaves_the_screen(
    open_ctx: AppContext, qtbot: Any
) -> None:
    keep, gone = _ingest(open_ctx, qtbot, 2)
    page = make_page(open_ctx, qtbot)
    page.open_run(gone)
    qtbot.waitUntil(lambda: page.details.run is not None, timeout=5000)
    assert page.view == DETAILS
    statuses: list[str] = []
    open_ctx.sig_status_message.connect(statuses.append)
    # Another run going first changes nothing here.
    with qtbot.waitSignal(open_ctx.bridge.sig_runs_bulk_changed, timeout=5000):
        open_ctx.workspace.store.submit(delete_runs([keep])).result()
    qtbot.wait(300)
    assert page.view == DETAILS and page.details.run_id == gone
    # The open one (the same write job a retention pass runs).
    with qtbot.waitSignal(page.details.sig_run_deleted, timeout=5000) as deleted:
        open_ctx.workspace.store.submit(delete_runs([gone])).result()
    assert deleted.args == [gone]
    assert page.view == HISTORY and page.details.run is None
    assert any("was deleted from the log" in text for text in statuses)
    qtbot.waitUntil(lambda: page.model.rowCount() == 0, timeout=5000)
