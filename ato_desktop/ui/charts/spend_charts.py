"""Insights -> Cost: spend per day stacked by agent (or model, or runtime) over the last 30
days with the agents' daily budgets as a line; this month's spend so far, its projection to the
month's end and the monthly budgets; and, for a cost recommendation, the cost per call of its
two options side by side (store.chart_queries, off the UI thread).

Spend counts every run with a known cost, replays and evals included (money spent is money
spent, as budgets count it); runs of unknown cost are counted and said, never drawn as $0.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass
from typing import Any, Final

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QButtonGroup, QPushButton, QWidget

from ato_desktop.core.budgets import month_start_ms
from ato_desktop.core.chart_buckets import (
    DAY_MS,
    format_value,
    full_time_label,
    month_projection,
    tick_positions,
    time_label,
)
from ato_desktop.store import chart_queries
from ato_desktop.store.chart_queries import Distribution, SpendRow
from ato_desktop.ui.charts.chart_frame import ChartFrame
from ato_desktop.ui.charts.chart_spec import BARS, LINE, STACKED, ChartSpec, Guide, Series
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.widgets.background import BackgroundWork

DAYS: Final = 30
MAX_STACKS: Final = 6  # the biggest spenders; the rest is one "other" stack
STACK_COLOURS: Final = ("accent", "completed", "warning", "json_key", "json_number", "json_string")
GROUPINGS: Final = (("agent", "Agent"), ("model", "Model"), ("runtime", "Runtime"))
DISTRIBUTION_RUNS: Final = 1000  # the newest runs of each option drawn
EVIDENCE_DAYS: Final = 30  # as cost recommendations read them


@dataclass(frozen=True, slots=True)
class SpendData:
    now_ms: int
    start_ms: int  # the first day's midnight
    days: int
    by: str
    rows: tuple[SpendRow, ...]
    month_rows: tuple[SpendRow, ...]  # by day, this month
    names: dict[str, str]  # agent id -> name
    daily_budget_usd: float | None  # the agents' daily budgets added up (None: none set)
    monthly_budget_usd: float | None


def read_spend(store: Any, by: str, now_ms: int) -> SpendData:
    today = now_ms - now_ms % DAY_MS
    start = today - (DAYS - 1) * DAY_MS
    rows = chart_queries.spend_by_day(store, start, today + DAY_MS, by)
    month = month_start_ms(now_ms)
    month_rows = chart_queries.spend_by_day(store, month, today + DAY_MS, "runtime")
    agents = store.list_agents()
    daily = [a.config.budget_per_day_usd for a in agents if a.config.budget_per_day_usd]
    monthly = [a.config.budget_per_month_usd for a in agents if a.config.budget_per_month_usd]
    return SpendData(
        now_ms,
        start,
        DAYS,
        by,
        tuple(rows),
        tuple(month_rows),
        {a.id: a.name for a in agents},
        sum(daily) if daily else None,
        sum(monthly) if monthly else None,
    )


def spend_spec(data: SpendData) -> ChartSpec:
    """Spend per day stacked by the biggest keys of data.by; the daily budgets as a line."""
    first_day = data.start_ms // DAY_MS
    totals: dict[str, float] = {}
    for row in data.rows:
        totals[row.key] = totals.get(row.key, 0.0) + row.cost_usd
    ranked = [k for k, v in sorted(totals.items(), key=lambda kv: -kv[1]) if v > 0]
    shown, rest = ranked[:MAX_STACKS], set(ranked[MAX_STACKS:])
    values: dict[str, list[float]] = {k: [0.0] * data.days for k in [*shown, "other"]}
    for row in data.rows:
        index = row.day - first_day
        if 0 <= index < data.days:
            key = row.key if row.key not in rest else "other"
            if key in values:
                values[key][index] += row.cost_usd
    series = [
        Series(_label(key, data), tuple(values[key]), STACK_COLOURS[i % len(STACK_COLOURS)])
        for i, key in enumerate(shown)
    ]
    if rest:
        series.append(Series("other", tuple(values["other"]), "neutral"))
    starts = [data.start_ms + i * DAY_MS for i in range(data.days)]
    unknown = sum(r.runs - r.costed for r in data.rows)
    budget = data.daily_budget_usd
    guides = (Guide(budget, "daily budgets " + format_value(budget, "USD")),) if budget else ()
    return ChartSpec(
        STACKED,
        tuple(full_time_label(s, DAY_MS) for s in starts),
        tuple(series) or (Series("spend", (0.0,) * data.days, "accent"),),
        "USD",
        "Day (UTC)",
        "USD",
        ticks=tuple(
            (i, time_label(starts[i], DAY_MS))
            for i in tick_positions(data.days, DAY_MS, data.start_ms)
        ),
        guides=guides,
        keys=tuple(starts),
        notes=(f"spend by {data.by}, known costs only; {unknown:,} runs of unknown cost",),
    )


def _label(key: str, data: SpendData) -> str:
    if data.by == "agent":
        return f"@{data.names[key]}" if key in data.names else ("no agent" if not key else key[-8:])
    return key or "—"


def month_figures(data: SpendData) -> tuple[float, float]:
    """(month to date, projected for the month) in USD."""
    spent = sum(r.cost_usd for r in data.month_rows)
    projected, _elapsed = month_projection(spent, data.now_ms)
    return spent, projected


def month_spec(data: SpendData) -> ChartSpec:
    """This month's spend so far, day by day (cumulative), its projection to the month's end
    (dashed) and the monthly budgets as a line."""
    month = month_start_ms(data.now_ms)
    when = time.gmtime(data.now_ms / 1000)
    next_month = _next_month_ms(when.tm_year, when.tm_mon)
    days = (next_month - month) // DAY_MS
    today_index = (data.now_ms - month) // DAY_MS
    per_day = [0.0] * days
    for row in data.month_rows:
        index = row.day - month // DAY_MS
        if 0 <= index < days:
            per_day[index] += row.cost_usd
    spent: list[float | None] = []
    running = 0.0
    for i in range(days):
        running += per_day[i]
        spent.append(running if i <= today_index else None)
    total, projected = month_figures(data)
    pace: list[float | None] = [None] * days
    for i in range(today_index, days):
        pace[i] = total + (projected - total) * (i - today_index) / max(1, days - 1 - today_index)
    starts = [month + i * DAY_MS for i in range(days)]
    budget = data.monthly_budget_usd
    guides = (Guide(budget, "monthly budgets " + format_value(budget, "USD")),) if budget else ()
    return ChartSpec(
        LINE,
        tuple(full_time_label(s, DAY_MS) for s in starts),
        (
            Series("spent", tuple(spent), "accent"),
            Series("projected", tuple(pace), "warning", dashed=True),
        ),
        "USD",
        "Day (UTC)",
        "USD",
        ticks=tuple(
            (i, time_label(starts[i], DAY_MS)) for i in tick_positions(days, DAY_MS, month, most=5)
        ),
        guides=guides,
        keys=tuple(starts),
        notes=(
            f"month to date {format_value(total, 'USD')}, projected "
            f"{format_value(projected, 'USD')}",
        ),
    )


def _next_month_ms(year: int, month: int) -> int:
    import calendar

    return int(calendar.timegm((year + month // 12, month % 12 + 1, 1, 0, 0, 0)) * 1000)


class SpendCharts(QWidget):
    """The two spend charts, side by side; refresh() reads them again."""

    sig_spend_shown = Signal(object)  # SpendData

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from PySide6.QtWidgets import QHBoxLayout

        self.ctx = ctx
        self.by = "agent"
        self.data: SpendData | None = None
        self._reads = BackgroundWork(self, ctx)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(10)
        self.daily = ChartFrame(
            "Spend per day",
            empty_title="No spend in the last 30 days",
            empty_text="Costs appear as runs on priced models end. Runs on unpriced models "
            "are unknown, never $0: add a price in Settings → Price overrides.",
            name="SpendPerDay",
            min_height=150,
            hint="Point at a day or use ←/→ for exact amounts",
        )
        self._groups = QButtonGroup(self)
        for key, label in GROUPINGS:
            button = QPushButton(label)
            button.setObjectName(f"SpendBy_{key}")
            button.setCheckable(True)
            button.setChecked(key == self.by)
            button.setToolTip(f"Stack spend by {label.lower()}")
            button.clicked.connect(lambda _c=False, k=key: self.set_grouping(k))
            self._groups.addButton(button)
            self.daily.controls.addWidget(button)
        self.month = ChartFrame(
            "This month",
            empty_title="Nothing spent this month",
            empty_text="Month-to-date spend and its projection appear with the month's first "
            "priced run.",
            name="SpendThisMonth",
            min_height=150,
            hint="Point at a day or use ←/→ for the amount so far and the projection",
        )
        row.addWidget(self.daily, 3)
        row.addWidget(self.month, 2)

    def set_grouping(self, by: str) -> None:
        self.by = by
        for button in self._groups.buttons():
            button.setChecked(button.objectName() == f"SpendBy_{by}")
        self.refresh()

    def refresh(self) -> None:
        if self.ctx.workspace is None:
            return
        self.ctx.spawn(self._read(), what="read spend")

    async def _read(self) -> None:
        await self._reads.show(
            read_spend,
            self.ctx.opened_workspace.store,
            self.by,
            int(time.time() * 1000),
            apply=self.show_data,
            fail=self._show_error,
            what="spend",
        )

    def _show_error(self, message: str) -> None:
        self.daily.show_error(message)
        self.month.show_error(message)

    def show_data(self, data: SpendData) -> None:
        self.data = data
        self.daily.set_spec(spend_spec(data))
        total = sum(r.cost_usd for r in data.rows)
        unknown = sum(r.runs - r.costed for r in data.rows)
        self.daily.subtitle.setText(
            f"{format_value(total, 'USD')} in {DAYS} days"
            + (f" · {unknown:,} runs of unknown cost not counted" if unknown else "")
        )
        spent, projected = month_figures(data)
        self.month.set_spec(month_spec(data))
        self.month.subtitle.setText(
            f"{format_value(spent, 'USD')} so far · projected {format_value(projected, 'USD')}"
        )
        self.sig_spend_shown.emit(data)


# -- a recommendation's two options -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OptionCosts:
    edges: tuple[float, ...]
    current: Distribution
    candidate: Distribution
    current_label: str
    candidate_label: str


def read_option_costs(
    store: Any, agent_id: str, current: tuple[str, str], candidate: tuple[str, str], now_ms: int
) -> OptionCosts:
    """Cost per call of the agent's newest runs on its current runtime + model and on the
    candidate (replays of its runs included), on shared log-scale bins."""
    since = now_ms - EVIDENCE_DAYS * DAY_MS
    edges, (current_d, candidate_d) = chart_queries.pair_cost_distributions(
        store, agent_id, [current, candidate], since, DISTRIBUTION_RUNS
    )
    return OptionCosts(
        edges,
        current_d,
        candidate_d,
        f"{current[0]} · {current[1]}",
        f"{candidate[0]} · {candidate[1]}",
    )


def option_costs_spec(costs: OptionCosts) -> ChartSpec:
    """Two histograms on shared bins: how many calls cost how much, now vs the candidate."""
    edges = costs.edges
    categories = tuple(
        f"{format_value(lo, 'USD')} – {format_value(hi, 'USD')}"
        for lo, hi in itertools.pairwise(edges)
    )
    count = len(categories)

    def share(d: Distribution) -> tuple[float | None, ...]:
        return tuple(float(d.bins[i]) if d.bins else 0.0 for i in range(count))

    guides = tuple(
        Guide(
            _bin_position(edges, d.mean),
            f"mean {label} {format_value(d.mean, 'USD')}",
            colour,
            axis="x",
        )
        for d, label, colour in (
            (costs.current, "now", "neutral"),
            (costs.candidate, "candidate", "completed"),
        )
        if d.mean is not None and edges
    )
    return ChartSpec(
        BARS,
        categories,
        (
            Series(
                f"now: {costs.current_label} (n={costs.current.n:,})",
                share(costs.current),
                "neutral",
            ),
            Series(
                f"candidate: {costs.candidate_label} (n={costs.candidate.n:,})",
                share(costs.candidate),
                "completed",
            ),
        ),
        "runs",
        "Cost per call (USD, log scale)",
        "Runs",
        ticks=tuple((i, format_value(edges[i], "USD")) for i in range(0, count, 3)),
        guides=guides,
    )


def _bin_position(edges: tuple[float, ...], value: float | None) -> float:
    """Where value falls on an axis whose categories are the bins (fractional, log-aware)."""
    if value is None or len(edges) < 2:
        return 0.0
    for i in range(len(edges) - 1):
        lo, hi = edges[i], edges[i + 1]
        if lo <= value <= hi:
            if lo > 0 and hi > lo:
                part = math.log(value / lo) / math.log(hi / lo) if value > 0 else 0.0
            else:
                part = (value - lo) / (hi - lo) if hi > lo else 0.0
            return i - 0.5 + part
    return -0.5 if value < edges[0] else len(edges) - 1.5
