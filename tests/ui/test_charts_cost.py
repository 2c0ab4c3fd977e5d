"""Insights -> Cost's charts over a real log: spend per day stacked by agent (and by model or
runtime) with the daily budgets as a line, this month so far and its projection, and a
recommendation's two options' cost per call side by side."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from ato_desktop.core.budgets import month_start_ms
from ato_desktop.core.chart_buckets import DAY_MS, month_projection
from ato_desktop.core.models import AgentConfig
from ato_desktop.store.execution_log import now_ms
from ato_desktop.ui.charts.chart_frame import CHART
from ato_desktop.ui.charts.spend_charts import month_figures
from ato_desktop.ui.context import AppContext
from tests.support.builders import priced_runs
from tests.support.qt_helpers import Show
from tests.ui.test_cost_ui import loaded_view, swap_history


def test_spend_per_day_is_every_known_cost_by_agent_with_budgets_and_the_month(
    open_ctx: AppContext, qtbot: Any, show: Show
) -> None:
    agents = open_ctx.workspace.agents
    agents.create("alpha", AgentConfig("claude", "claude-sonnet-5", budget_per_day_usd=2.0))
    agents.create("beta", AgentConfig("codex", "gpt-5-mini", budget_per_month_usd=40.0))
    today = now_ms() // DAY_MS * DAY_MS
    priced_runs(
        open_ctx.workspace.store,
        "alpha",
        "a",
        10,
        0.10,
        ok=10,
        start=today - 2 * DAY_MS + 3_600_000,
    )
    priced_runs(
        open_ctx.workspace.store, "beta", "b", 4, 0.25, ok=4, start=today - 2 * DAY_MS + 7_200_000
    )
    priced_runs(open_ctx.workspace.store, "alpha", "c", 3, 0.50, ok=3, start=today + 60_000)
    view = loaded_view(open_ctx, qtbot, show)
    spend = view.spend
    qtbot.waitUntil(lambda: spend.data is not None and spend.daily.state == CHART, timeout=10_000)
    spec = spend.daily.spec
    assert spec is not None
    series = {s.name: s.values for s in spec.series}
    assert set(series) == {"@alpha", "@beta"}
    assert series["@alpha"][-3] == pytest.approx(1.0)  # 10 x $0.10, two days ago
    assert series["@beta"][-3] == pytest.approx(1.0)
    assert series["@alpha"][-1] == pytest.approx(1.5)  # today
    (budget,) = spec.guides
    assert budget.value == 2.0 and "daily budgets $2.00" in budget.label
    assert "$3.50 in 30 days" in spend.daily.subtitle.text()
    # The readout and CSV carry the exact amounts.
    assert "@alpha $1.00" in spec.describe(len(spec.categories) - 3)
    rows = list(csv.reader(io.StringIO(spec.to_csv())))
    assert rows[1][0] == "Day (UTC)" and "@alpha (USD)" in rows[1]
    # By model: the same money, other stacks.
    spend.set_grouping("model")
    qtbot.waitUntil(lambda: spend.data is not None and spend.data.by == "model", timeout=10_000)
    by_model = {s.name: sum(v or 0 for v in s.values) for s in spend.daily.spec.series}  # type: ignore[union-attr]
    assert by_model == {
        "claude-sonnet-5": pytest.approx(2.5),
        "gpt-5-mini": pytest.approx(1.0),
    }
    # This month: spent so far, the projection at this pace, the monthly budgets.
    assert spend.data is not None
    spent, projected = month_figures(spend.data)
    month_start = month_start_ms(spend.data.now_ms)
    two_days_ago = today - 2 * DAY_MS
    expected = 1.5 + (2.0 if two_days_ago >= month_start else 0.0)
    assert spent == pytest.approx(expected)
    assert projected == pytest.approx(month_projection(spent, spend.data.now_ms)[0])
    month = spend.month.spec
    assert month is not None
    assert [s.name for s in month.series] == ["spent", "projected"]
    assert month.series[1].dashed
    assert month.guides[0].value == 40.0
    assert max(v for v in month.series[0].values if v is not None) == pytest.approx(spent)
    assert month.series[1].values[-1] == pytest.approx(projected)


def test_a_recommendations_two_options_cost_per_call(
    open_ctx: AppContext, qtbot: Any, show: Show
) -> None:
    swap_history(open_ctx, "support", "b", old=0.010, new=0.050, runs=40)
    view = loaded_view(open_ctx, qtbot, show)
    chart = view.evidence.options_chart
    qtbot.waitUntil(lambda: chart.state == CHART, timeout=10_000)
    spec = chart.spec
    assert spec is not None
    now, candidate = spec.series
    assert "claude · claude-sonnet-5 (n=40)" in now.name
    assert "codex · gpt-5-mini (n=20)" in candidate.name
    assert sum(v or 0 for v in now.values) == 40 and sum(v or 0 for v in candidate.values) == 20
    # All of one option's calls cost the same: one bin each, the candidate's the cheaper one.
    (now_bin,) = [i for i, v in enumerate(now.values) if v]
    (candidate_bin,) = [i for i, v in enumerate(candidate.values) if v]
    assert candidate_bin < now_bin
    means = {g.label.split(" ")[1]: g.value for g in spec.guides}
    assert set(means) == {"now", "candidate"} and means["candidate"] < means["now"]
    assert spec.unit == "runs" and "USD" in spec.x_title
