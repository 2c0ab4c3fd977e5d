"""Critical intercepts follow every filter of the Runs page (the metadata search included), and a
run the user killed on purpose is not flagged as "High error rate"."""

from __future__ import annotations

import time
from typing import Any

from ato_desktop.core.models import AgentConfig, CostSource, TokenUsage, Trigger
from ato_desktop.core.records import NewAction, NewRun, RunEnd, RunFilter
from ato_desktop.engine.dispatcher import DispatchRequest
from ato_desktop.store.run_queries import ERROR_RATE, FAILED, critical_intercepts
from ato_desktop.ui.context import AppContext
from tests.fakes import FakeLLMServer, Scenario
from tests.ui.test_runs_page import make_page

NOW = int(time.time() * 1000)
ANTHROPIC_KEY = "sk-ant-api03-PLANTEDKEY-abcdefghijklmnopqrstuvwxyz0123456789"


def _run(
    n: int, user: str, outcomes: list[str], status: str = "completed", error: str | None = None
) -> tuple[NewRun, RunEnd, list[NewAction]]:
    start = NOW - (n + 1) * 60_000
    actions = [
        NewAction(
            "call_llm" if i == 0 else "tool",
            "llm",
            outcome,
            start + i,
            start + i + 1,
            usage=TokenUsage(10, 10),
            cost_usd=0.001,
            cost_source=CostSource.PROVIDER,
        )
        for i, outcome in enumerate(outcomes)
    ]
    return (
        NewRun("claude", "m", "cli", start, tags={"user": user, "tenant": "acme"}, id=f"{n:032x}"),
        RunEnd(status, start + 1000, 1_000_000_000, error_class=error),
        actions,
    )


def _seed(ctx: AppContext, qtbot: Any) -> dict[str, str]:
    rows = [
        _run(1, "alice", ["success", "error"], "failed", "server_error"),  # alice: failed
        _run(2, "bob", ["success", "error"], "failed", "timeout"),  # bob: failed
        _run(3, "bob", ["error", "blocked", "success"]),  # bob: 2 of 3 bad
        _run(4, "alice", ["success", "success"]),  # clean
    ]
    with qtbot.waitSignal(ctx.bridge.sig_runs_bulk_changed, timeout=5000):
        ctx.workspace.store.ingest(rows).result()
    return {"alice_failed": f"{1:032x}", "bob_failed": f"{2:032x}", "bob_errors": f"{3:032x}"}


def _shown(page: Any) -> set[str]:
    model = page.history.intercepts.model
    return {model.intercept_at(row).run.id for row in range(model.rowCount())}


def test_intercepts_follow_the_metadata_search_and_the_status_chips(
    open_ctx: AppContext, qtbot: Any
) -> None:
    ids = _seed(open_ctx, qtbot)
    page = make_page(open_ctx, qtbot)
    panel = page.history.intercepts
    qtbot.waitUntil(lambda: _shown(page) == set(ids.values()), timeout=5000)

    # user:alice: only alice's failed run needs attention in this view.
    with qtbot.waitSignal(panel.sig_loaded, timeout=5000):
        qtbot.keyClicks(page.filters.meta_edit, "user:alice")
    qtbot.waitUntil(lambda: _shown(page) == {ids["alice_failed"]}, timeout=5000)
    assert page.model.filter.tags == (("user", "alice"),)

    # user:bob and only completed runs: the failed ones are filtered out, the error-heavy
    # completed one stays.
    page.filters.meta_edit.setText("user:bob")
    page.filters.meta_edit.returnPressed.emit()
    qtbot.waitUntil(lambda: _shown(page) == {ids["bob_failed"], ids["bob_errors"]}, timeout=5000)
    page.filters._chips["completed"].click()
    qtbot.waitUntil(lambda: _shown(page) == {ids["bob_errors"]}, timeout=5000)
    # error:timeout narrows to bob's failed run, which the status chip now hides: nothing left.
    page.filters._chips["completed"].click()
    page.filters.meta_edit.setText("error:timeout")
    page.filters.meta_edit.returnPressed.emit()
    qtbot.waitUntil(lambda: _shown(page) == {ids["bob_failed"]}, timeout=5000)


def test_the_store_applies_every_filter_field(open_ctx: AppContext, qtbot: Any) -> None:
    ids = _seed(open_ctx, qtbot)
    store = open_ctx.workspace.store

    def found(flt: RunFilter) -> set[str]:
        return {i.run.id for i in critical_intercepts(store, flt)}

    assert found(RunFilter()) == set(ids.values())
    assert found(RunFilter(tags=(("user", "alice"),))) == {ids["alice_failed"]}
    assert found(RunFilter(statuses=("completed",))) == {ids["bob_errors"]}
    assert found(RunFilter(error_class="timeout")) == {ids["bob_failed"]}
    assert found(RunFilter(tags=(("tenant", "globex"),))) == set()
    assert found(RunFilter(min_duration_ms=5_000)) == set()  # every run took a second


def test_a_run_killed_on_purpose_is_not_a_high_error_rate(
    open_ctx: AppContext, qtbot: Any, fake: FakeLLMServer
) -> None:
    workspace = open_ctx.workspace
    assert workspace.credentials.set_key("anthropic", ANTHROPIC_KEY).persisted
    workspace.agents.create(
        "writer", AgentConfig("claude", "claude-sonnet-5", base_url=fake.anthropic_base_url)
    )
    fake.scenario = Scenario(chunks=("partial ", "never sent"), stall_after=1)
    task = open_ctx.spawn(
        open_ctx.engine_run(
            workspace.dispatcher.dispatch(
                DispatchRequest("job", agent="writer", trigger=Trigger.UI)
            )
        )
    )
    # The first dispatch imports the provider SDK: seconds on a loaded machine.
    qtbot.waitUntil(
        lambda: bool(fake.requests) and fake.requests[0].stalled.is_set(), timeout=60_000
    )
    workspace.live.kill(workspace.live.run_ids)
    qtbot.waitUntil(task.done, timeout=5000)
    result = task.result()
    assert result.status.value == "killed"
    (action,) = workspace.store.get_actions(result.run_id)
    assert action.outcome == "error"  # the kill ended its one action: 1 of 1 "bad"
    # ...and yet it is no intercept: the user stopped it, nothing went wrong.
    assert result.run_id not in {i.run.id for i in critical_intercepts(workspace.store)}
    # A run that went wrong still is (the same shape, failed by the provider).
    fake.scenario = Scenario(status=500)
    failed = open_ctx.spawn(
        open_ctx.engine_run(
            workspace.dispatcher.dispatch(
                DispatchRequest("job", agent="writer", trigger=Trigger.UI)
            )
        )
    )
    qtbot.waitUntil(failed.done, timeout=20_000)
    (hit,) = [i for i in critical_intercepts(workspace.store) if i.run.id == failed.result().run_id]
    assert FAILED in hit.reasons and ERROR_RATE in hit.reasons
