"""The Runs page's metadata search: user/tenant tags, error class and latency narrow the list;
text it cannot read is marked and the last readable search stays; it is remembered."""

from __future__ import annotations

import time
from typing import Any

from ato_desktop.core.records import NewRun, RunEnd, RunFilter
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.runs.filters_bar import RunsFilterState
from tests.ui.test_runs_page import make_page, shown_runs

NOW = int(time.time() * 1000)


def _seed(ctx: AppContext, qtbot: Any) -> None:
    rows = []
    for i in range(30):
        user = ("alice", "bob", "carol")[i % 3]
        tenant = ("acme", "globex")[i % 2]
        error = "timeout" if i % 5 == 0 else None
        seconds = 90 if i % 4 == 0 else 3
        start = NOW - (i + 1) * 60_000
        rows.append(
            (
                NewRun(
                    "claude", "m", "cli", start, tags={"user": user, "tenant": tenant},
                    id=f"{i:032x}",
                ),
                RunEnd(
                    "failed" if error else "completed", start + seconds * 1000,
                    seconds * 1_000_000_000, error_class=error,
                ),
                [],
            )
        )  # fmt: skip
    with qtbot.waitSignal(ctx.bridge.sig_runs_bulk_changed, timeout=5000):
        ctx.workspace.store.ingest(rows).result()


def _ids(ctx: AppContext, flt: RunFilter) -> list[str]:
    return [r.id for r in ctx.workspace.store.list_runs(flt, limit=1000)]


def test_metadata_search_narrows_the_list(open_ctx: AppContext, qtbot: Any) -> None:
    _seed(open_ctx, qtbot)
    page = make_page(open_ctx, qtbot)
    bar = page.filters
    generation = page.model.generation
    qtbot.keyClicks(bar.meta_edit, "user:alice tenant:acme")
    qtbot.waitUntil(lambda: page.model.generation > generation, timeout=3000)
    qtbot.waitUntil(lambda: not page.model.loading, timeout=3000)
    flt = page.model.filter
    assert flt.tags == (("tenant", "acme"), ("user", "alice"))
    expected = _ids(open_ctx, RunFilter(tags=(("tenant", "acme"), ("user", "alice"))))
    assert [r.id for r in shown_runs(page)] == expected and len(expected) == 5
    assert all(r.tags["user"] == "alice" for r in shown_runs(page))

    bar.meta_edit.setText("error:timeout >1m")
    bar.meta_edit.returnPressed.emit()
    qtbot.waitUntil(lambda: page.model.filter.error_class == "timeout", timeout=3000)
    qtbot.waitUntil(lambda: not page.model.loading, timeout=3000)
    assert page.model.filter.min_duration_ms == 60_000
    runs = shown_runs(page)
    assert runs and all(r.error_class == "timeout" and (r.duration_ns or 0) >= 6e10 for r in runs)

    # Unreadable text: marked, explained, and the last readable search stays in force.
    bar.meta_edit.setText("error:timeout >soon")
    bar.meta_edit.returnPressed.emit()
    assert bar.meta_error == "'>soon': 'soon' is not a duration (30s, 2m, 1h)"
    assert bar.meta_edit.property("invalid") is True
    assert page.model.filter.error_class == "timeout"
    assert bar.state().metadata == "error:timeout >1m"

    # Remembered with the other filters, and part of what Reset clears.
    settings = open_ctx.settings
    bar.state().save(settings)
    assert RunsFilterState.load(settings).metadata == "error:timeout >1m"
    bar.reset_button.click()
    assert bar.meta_edit.text() == "" and page.model.filter.tags == ()
