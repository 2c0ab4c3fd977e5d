"""Insights -> Compare over a real log: two runs (aligned actions, diffs, deltas), before/after a
config change, runtime A vs B, the empty state, navigation, and numbers that arrive as strings."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import pytest
from PySide6.QtCore import Qt

from ato_desktop.core.compare import ONLY_LEFT, ONLY_RIGHT, build_run_comparison
from ato_desktop.core.figures import cost_text, ms_text, usd
from ato_desktop.core.models import AgentConfig, CostSource, TokenUsage
from ato_desktop.core.records import AgentRecord, NewAction, NewRun, RunEnd, RunFilter
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.insights.action_diff import INPUTS, OUTPUTS
from ato_desktop.ui.insights.compare_format import delta_text
from ato_desktop.ui.insights.compare_models import (
    COL_COST,
    COL_STATUS,
    VERDICT_ROLE,
    ActionRowsModel,
    GroupActionsModel,
    MetricsModel,
)
from ato_desktop.ui.insights.compare_reads import runtime_targets
from ato_desktop.ui.insights.compare_view import (
    MODE_RUNS,
    MODE_RUNTIME,
    MODE_VERSION,
    STATE_EMPTY,
    STATE_ERROR,
    STATE_GROUPS,
    STATE_RUNS,
    STATE_UNAVAILABLE,
    CompareView,
)
from ato_desktop.ui.pages.insights_page import InsightsPage
from ato_desktop.ui.pages.registry import PAGES
from tests.support.qt_helpers import show_page

NOW = int(time.time() * 1000)


def _run_id(n: int) -> str:
    return f"{NOW - 100_000 + n:012x}" + f"{n:02x}" * 10


def _action(name: str, out: Any, *, cost: float = 0.001, ms: int = 400, **kw: Any) -> NewAction:
    return NewAction(
        name,
        kw.pop("kind", "llm"),
        kw.pop("outcome", "success"),
        NOW - 9000,
        NOW - 8000,
        inputs=kw.pop("inputs", {"prompt": f"do {name}"}),
        outputs=out,
        usage=TokenUsage(100, 20),
        duration_ns=ms * 1_000_000,
        cost_usd=cost,
        cost_source=kw.pop("source", CostSource.PROVIDER),
        **kw,
    )


def _ingest(
    ctx: AppContext,
    qtbot: Any,
    agent: AgentRecord | None,
    runs: list[tuple[int, list[NewAction]]],
    *,
    version_id: str | None = None,
    runtime: str = "claude",
    model: str = "claude-sonnet-5",
    status: str = "completed",
) -> list[str]:
    items = []
    for n, actions in runs:
        new = NewRun(
            runtime,
            model,
            "chat",
            NOW - 100_000 + n * 1000,
            agent_id=agent.id if agent else None,
            agent_version_id=version_id or (agent.current_version_id if agent else None),
            id=_run_id(n),
        )
        items.append((new, RunEnd(status, NOW - 100_000 + n * 1000 + 500, 500_000_000), actions))
    with qtbot.waitSignal(ctx.bridge.sig_runs_bulk_changed, timeout=5000):
        ctx.workspace.store.ingest(items).result()
    return [_run_id(n) for n, _a in runs]


@pytest.fixture
def writer(open_ctx: AppContext) -> AgentRecord:
    return open_ctx.workspace.agents.create(
        "writer", AgentConfig("claude", "claude-sonnet-5"), source="test"
    )


def _view(ctx: AppContext, qtbot: Any) -> CompareView:
    view = CompareView(ctx)
    show_page(qtbot, view)
    return view


def _wait_state(qtbot: Any, view: CompareView, state: str) -> None:
    qtbot.waitUntil(lambda: view.state == state and not view.busy, timeout=10_000)


# -- pure parts ----------------------------------------------------------------------------------


def test_formatting_never_crashes_on_strings_nulls_and_garbage() -> None:
    assert usd("0.014200") == "$0.014"
    assert cost_text("0.0042", "estimated") == "$0.0042 est."
    assert cost_text(None, "unknown") == "unknown"
    assert cost_text(None, None) == "—"
    assert cost_text("n/a", "provider") == "—"
    assert ms_text("1500") == "1.50 s" and ms_text(None) == "—" and ms_text(float("nan")) == "—"
    from ato_desktop.core.compare import Delta

    assert delta_text("cost", Delta(0.01, 0.02)) == "+$0.010 (+100%)"
    assert delta_text("duration", Delta(2000.0, 1500.0)) == "−500 ms (−25%)"
    assert delta_text("success_rate", Delta(0.5, 0.75)) == "+25 pp"
    assert delta_text("cost", Delta(None, 0.02)) == "—"


def test_runtime_targets_from_runs(open_ctx: AppContext, qtbot: Any) -> None:
    _ingest(open_ctx, qtbot, None, [(1, []), (2, [])], runtime="claude", model="a")
    _ingest(open_ctx, qtbot, None, [(3, [])], runtime="claude", model="b")
    _ingest(open_ctx, qtbot, None, [(4, [])], runtime="codex", model="c")
    runs = open_ctx.workspace.store.list_runs(RunFilter())
    labels = [t.label for t in runtime_targets(runs)]
    assert labels[0] == "claude · any model"  # three runs, two models
    assert set(labels[1:]) == {"claude · a", "claude · b", "codex · c"}


# -- the view ------------------------------------------------------------------------------------


def test_empty_state_says_what_to_do(open_ctx: AppContext, qtbot: Any, writer: AgentRecord) -> None:
    _ingest(open_ctx, qtbot, writer, [(1, [_action("plan", "x")])])  # one run is not enough
    view = _view(open_ctx, qtbot)
    view.reload()
    _wait_state(qtbot, view, STATE_EMPTY)
    assert view.empty.title.text() == "Nothing to compare yet"
    assert "at least two runs" in view.empty.text.text()
    assert not view.compare_button.isEnabled()
    with qtbot.waitSignal(open_ctx.sig_navigate) as nav:
        view.empty.primary.click()
    assert nav.args[0] == "chat"
    # A second run arrives: the view learns of it from the bridge and offers the agent.
    _ingest(open_ctx, qtbot, writer, [(2, [_action("plan", "y")])])
    qtbot.waitUntil(lambda: view.agent_combo.count() == 1, timeout=5000)


def test_two_runs_aligned_with_one_sided_rows_and_word_diff(
    open_ctx: AppContext, qtbot: Any, writer: AgentRecord, qtmodeltester: Any
) -> None:
    left_actions = [
        _action("plan", {"text": "Write a short poem about the sea"}),
        _action("search", {"content": "three results"}, kind="tool"),
        _action("answer", {"text": "The sea is calm and blue tonight"}, cost=0.002, ms=800),
    ]
    right_actions = [
        _action("plan", {"text": "Write a short poem about the sea"}),
        _action("answer", {"text": "The sea is wild and grey tonight"}, cost=0.003, ms=600),
        _action("review", {"text": "ok"}, source=CostSource.ESTIMATED),
    ]
    left, right = _ingest(open_ctx, qtbot, writer, [(1, left_actions), (2, right_actions)])
    view = _view(open_ctx, qtbot)
    view.reload()
    _wait_state(qtbot, view, STATE_RUNS)
    result = view.runs_result
    comparison = result.comparison
    assert comparison is not None
    # Defaults: the newest run on the right, the one before it on the left.
    assert (comparison.left.id, comparison.right.id) == (left, right)
    model = result.actions_model
    qtmodeltester.check(model)
    qtmodeltester.check(result.metrics_model)
    statuses = [model.row_at(i).status for i in range(model.rowCount())]
    assert statuses == ["same", ONLY_LEFT, "changed", ONLY_RIGHT]
    assert model.index(1, COL_STATUS).data() == "only left"
    assert model.index(2, COL_COST).data() == "+$0.0010 (+50%)"
    assert "1 same, 1 changed, 1 only left, 1 only right" in result.rows_label.text()
    # Totals: the right run's cost is partly estimated; it shows "est.".
    cost_row = result.metrics_model.index(0, 2).data()
    assert cost_row.endswith("est.")
    # The first row that differs is selected: its word diff arrives off the UI thread.
    diff = result.diff
    qtbot.waitUntil(lambda: diff.row is not None and not diff.busy, timeout=5000)
    assert diff.row is not None and diff.row.status == ONLY_LEFT  # "search" (row 2)
    assert diff.pieces(OUTPUTS) is None  # one side: shown as is, no diff
    assert "three results" in diff.outputs.left.toPlainText()
    assert "Not in the right run" in diff.outputs.right.toPlainText()
    # Keyboard: Down moves to the changed "answer" row.
    result.actions_table.setFocus()
    qtbot.keyClick(result.actions_table, Qt.Key.Key_Down)
    qtbot.waitUntil(
        lambda: diff.row is not None and diff.row.name == "answer" and not diff.busy,
        timeout=5000,
    )
    pieces = diff.pieces(OUTPUTS)
    assert pieces is not None
    assert ("delete", "calm") in [(p.op, p.text.strip()) for p in pieces]
    assert ("insert", "wild") in [(p.op, p.text.strip()) for p in pieces]
    assert "wild" in diff.outputs.right.toPlainText()
    assert diff.pieces(INPUTS) is not None
    # Swap puts the runs the other way round.
    view.swap()
    qtbot.waitUntil(
        lambda: result.comparison is not None and result.comparison.left.id == right,
        timeout=5000,
    )


def test_pasted_ids_and_a_bad_id(open_ctx: AppContext, qtbot: Any, writer: AgentRecord) -> None:
    ids = _ingest(open_ctx, qtbot, writer, [(n, [_action("a", str(n))]) for n in range(1, 4)])
    view = _view(open_ctx, qtbot)
    view.reload()
    _wait_state(qtbot, view, STATE_RUNS)
    view.left_combo.setEditText(ids[0][-8:])  # a unique suffix
    view.right_combo.setEditText(ids[2])
    qtbot.keyClick(view.right_combo.lineEdit(), Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: (
            view.runs_result.comparison is not None
            and view.runs_result.comparison.left.id == ids[0]
            and view.runs_result.comparison.right.id == ids[2]
        ),
        timeout=5000,
    )
    view.left_combo.setEditText("ffffffffffff")
    view.compare()
    _wait_state(qtbot, view, STATE_ERROR)
    assert view.unavailable.title.text() == "Could not compare" and view.last_error


def test_string_numbers_from_the_log_and_from_exports(
    open_ctx: AppContext, qtbot: Any, writer: AgentRecord, show: Any
) -> None:
    ids = _ingest(open_ctx, qtbot, writer, [(1, [_action("a", "x")]), (2, [_action("a", "y")])])
    # A column written by another tool as text SQLite cannot read as a number.
    with sqlite3.connect(open_ctx.paths.database) as conn:
        conn.execute(
            "UPDATE runs SET cost_usd = '$0.014200', input_tokens = '120 ' WHERE id = ?", (ids[0],)
        )
        conn.execute(
            "UPDATE actions SET cost_usd = 'n/a', duration_ns = '' WHERE run_no = "
            "(SELECT run_no FROM runs WHERE id = ?)",
            (ids[1],),
        )
    view = _view(open_ctx, qtbot)
    view.reload()
    _wait_state(qtbot, view, STATE_RUNS)
    metrics = view.runs_result.metrics_model
    assert metrics.index(0, 1).data() == "$0.014"
    # And a comparison of run_json dicts (an export) with numbers as strings, nulls, missing.
    left = {"id": "a" * 32, "cost_usd": "0.014200", "cost_source": "estimated",
            "duration_ms": "1200", "tokens": {"input": "100", "output": None},
            "actions": [{"name": "a", "cost_usd": "0.014200", "duration_ms": "1200.5",
                         "outputs": {"text": "hello world"}}]}  # fmt: skip
    right = {"id": "b" * 32, "cost_usd": None, "duration_ms": "oops",
             "actions": [{"name": "a", "outputs": {"text": "hello there"}},
                         {"name": "b"}]}  # fmt: skip
    comparison = build_run_comparison(left, right)
    view.runs_result.show_comparison(comparison)
    assert metrics.index(0, 1).data() == "$0.014 est."
    assert metrics.index(0, 2).data() == "—"
    rows = view.runs_result.actions_model
    for r in range(rows.rowCount()):
        for c in range(rows.columnCount()):
            rows.index(r, c).data()
            rows.index(r, c).data(Qt.ItemDataRole.ForegroundRole)
            rows.index(r, c).data(Qt.ItemDataRole.ToolTipRole)


def test_before_after_a_config_change(
    open_ctx: AppContext, qtbot: Any, writer: AgentRecord, qtmodeltester: Any
) -> None:
    v1 = writer.current_version_id
    _ingest(open_ctx, qtbot, writer, [(n, [_action("a", "x", ms=400)]) for n in range(1, 4)],
            version_id=v1)  # fmt: skip
    edited, _changed = open_ctx.workspace.agents.edit(
        "writer", {"system_prompt": "Be terse."}, source="test"
    )
    _ingest(open_ctx, qtbot, writer, [(n, [_action("a", "y", ms=900)]) for n in range(4, 6)],
            version_id=edited.current_version_id, status="failed")  # fmt: skip
    view = _view(open_ctx, qtbot)
    view.set_mode(MODE_VERSION)
    view.reload()
    _wait_state(qtbot, view, STATE_GROUPS)
    result = view.groups_result
    comparison = result.comparison
    assert comparison is not None
    assert (comparison.left.label, comparison.right.label) == ("v1", "v2")
    assert (comparison.left.runs, comparison.right.runs) == (3, 2)
    assert "v1 · 3 runs" in result.title.text() and "v2 · 2 runs" in result.title.text()
    qtmodeltester.check(result.metrics_model)
    qtmodeltester.check(result.actions_model)
    rows = {
        result.metrics_model.index(r, 0).data(): r for r in range(result.metrics_model.rowCount())
    }
    success = rows["Success rate"]
    assert result.metrics_model.index(success, 3).data() == "−100 pp"
    assert result.metrics_model.index(success, 3).data(VERDICT_ROLE) == "worse"
    assert "v1 → v2" in view.version_combo.currentText()
    assert "System prompt" in view.version_combo.currentText()


def test_one_version_and_one_runtime_explain_themselves(
    open_ctx: AppContext, qtbot: Any, writer: AgentRecord
) -> None:
    _ingest(open_ctx, qtbot, writer, [(1, [_action("a", "x")]), (2, [_action("a", "y")])])
    view = _view(open_ctx, qtbot)
    view.set_mode(MODE_VERSION)
    view.reload()
    _wait_state(qtbot, view, STATE_UNAVAILABLE)
    assert "one config version" in view.unavailable.title.text()
    view.mode_buttons[MODE_RUNTIME].click()
    qtbot.waitUntil(
        lambda: view.unavailable.title.text() == "Only one runtime so far", timeout=5000
    )
    assert "claude · claude-sonnet-5" in view.unavailable.text.text()


def test_runtime_a_vs_b(open_ctx: AppContext, qtbot: Any, writer: AgentRecord) -> None:
    _ingest(open_ctx, qtbot, writer, [(1, [_action("a", "x", cost=0.01)]),
                                       (2, [_action("a", "x", cost=0.01)])])  # fmt: skip
    _ingest(open_ctx, qtbot, writer, [(3, [_action("a", "x", cost=0.004)])],
            runtime="codex", model="gpt-5")  # fmt: skip
    view = _view(open_ctx, qtbot)
    view.set_mode(MODE_RUNTIME)
    view.reload()
    _wait_state(qtbot, view, STATE_GROUPS)
    comparison = view.groups_result.comparison
    assert comparison is not None
    assert (comparison.left.runs, comparison.right.runs) == (2, 1)
    assert comparison.cost_mean_usd.change == pytest.approx(-0.006)


# -- the page ------------------------------------------------------------------------------------


def test_page_is_registered_with_its_shortcut() -> None:
    spec = next(s for s in PAGES if s.id == "insights")
    assert (spec.title, spec.shortcut, spec.icon) == ("Insights", "Ctrl+4", "nav-insights")
    shortcuts = [s.shortcut for s in PAGES if s.shortcut]
    assert len(shortcuts) == len(set(shortcuts))


def test_activate_opens_two_runs_and_agent_modes(
    open_ctx: AppContext, qtbot: Any, writer: AgentRecord
) -> None:
    ids = _ingest(open_ctx, qtbot, writer, [(n, [_action("a", str(n))]) for n in range(1, 5)])
    page = show_page(qtbot, InsightsPage(open_ctx))
    commands = {c.id: c for c in page.commands()}
    assert commands["insights.compare_runs"].title == "Compare two runs…"
    assert commands["insights.compare_versions"].title == "Compare before/after a config change…"
    view = page.compare
    page.activate({"tab": "compare", "run_a": ids[0], "run_b": ids[3][-8:]})
    qtbot.waitUntil(
        lambda: (
            view.runs_result.comparison is not None
            and (view.runs_result.comparison.left.id, view.runs_result.comparison.right.id)
            == (ids[0], ids[3])
        ),
        timeout=5000,
    )
    assert page.current_tab == "compare" and view.mode == MODE_RUNS
    # One run: it goes right, the agent's run before it left.
    page.activate({"tab": "compare", "run_a": ids[2]})
    qtbot.waitUntil(
        lambda: (
            view.runs_result.comparison is not None
            and (view.runs_result.comparison.left.id, view.runs_result.comparison.right.id)
            == (ids[1], ids[2])
        ),
        timeout=5000,
    )
    page.activate({"tab": "compare", "agent_id": writer.id, "mode": "version"})
    _wait_state(qtbot, view, STATE_UNAVAILABLE)
    assert view.mode == MODE_VERSION and view.agent_id == writer.id


def test_item_models_empty(qtmodeltester: Any) -> None:
    for model in (MetricsModel(), ActionRowsModel(), GroupActionsModel()):
        qtmodeltester.check(model)


def test_runs_page_compare_with_opens_insights(
    open_ctx: AppContext, qtbot: Any, writer: AgentRecord
) -> None:
    from ato_desktop.ui.pages.runs_page import RunsPage

    ids = _ingest(open_ctx, qtbot, writer, [(1, [_action("a", "x")]), (2, [_action("a", "y")])])
    page = show_page(qtbot, RunsPage(open_ctx))
    command = next(c for c in page.commands() if c.id == "runs.compare_with")
    assert command.title == "Compare with…"
    with qtbot.waitSignal(open_ctx.sig_status_message):
        command.callback()  # nothing open or selected yet
    page.activate({"run_id": ids[1]})
    qtbot.waitUntil(lambda: page.details.run_id == ids[1], timeout=5000)
    with qtbot.waitSignal(open_ctx.sig_navigate) as nav:
        command.callback()
    assert nav.args == ["insights", {"tab": "compare", "run_a": ids[1]}]
