"""The Agents page's budget line: the agent's spend this UTC day and month against its budgets
("Today $1.20 of $5.00 · this month $31.00 of $100.00 · hard ceiling"), read off the UI thread
(store.run_queries.budget_state) and again, coalesced, when the agent's runs end.

    line = BudgetLine(ctx)
    line.show_agent(agent)   # hidden for an agent with no budget and no spend this month
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QLabel, QWidget

from ato_desktop.core.budgets import BudgetState
from ato_desktop.core.figures import usd_cents
from ato_desktop.core.records import AgentRecord
from ato_desktop.store.execution_log import now_ms
from ato_desktop.store.run_queries import budget_state
from ato_desktop.ui.chat.log_tasks import log_closed
from ato_desktop.ui.theme import current_theme
from ato_desktop.ui.widgets.background import BackgroundWork

log = logging.getLogger(__name__)

REFRESH_MS = 1000


def budget_text(state: BudgetState) -> str:
    """'Today $1.20 of $5.00 · this month $31.00 of $100.00 · hard ceiling: refusing'."""
    day = f"Today {usd_cents(state.day_spend_usd)}"
    if state.per_day_usd is not None:
        day += f" of {usd_cents(state.per_day_usd)}"
    month = f"this month {usd_cents(state.month_spend_usd)}"
    if state.per_month_usd is not None:
        month += f" of {usd_cents(state.per_month_usd)}"
    parts = [day, month]
    if state.refuses:
        parts.append("hard ceiling: refusing dispatches")
    elif state.hard_ceiling:
        parts.append("hard ceiling on")
    elif state.day_exhausted or state.month_exhausted:
        parts.append("over budget")
    return " · ".join(parts)


def budget_tooltip(state: BudgetState) -> str:
    lines = ["Spend of every run of the agent (replays and evals too), UTC day and month."]
    if state.hard_ceiling:
        lines.append(
            "Hard ceiling: once a budget is spent, the agent's dispatches are refused until "
            "the period ends (00:00 UTC; a new month for the monthly budget)."
        )
    elif state.per_day_usd is not None or state.per_month_usd is not None:
        lines.append(
            "Over a budget, runs are flagged as critical intercepts; they are not stopped."
        )
    return "\n".join(lines)


class BudgetLine(QLabel):
    """One muted line under the agent's name; red when a budget is spent."""

    sig_state_shown = Signal(object)  # BudgetState | None, after each read

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("AgentBudgetLine")
        self._ctx = ctx
        self._agent: AgentRecord | None = None
        self.work = BackgroundWork(self, ctx)  # the newest read only
        self.state: BudgetState | None = None
        self.setWordWrap(True)
        self._timer = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._timer.timeout.connect(self._reload)
        bridge = getattr(ctx, "bridge", None)
        if bridge is not None:
            bridge.sig_run_ended.connect(self._on_run_ended)
            bridge.sig_runs_bulk_changed.connect(self._schedule)
        self.hide()

    def show_agent(self, agent: AgentRecord) -> None:
        if self._agent is None or self._agent.id != agent.id:
            self.state = None
            self.hide()
        self._agent = agent
        self._reload()

    def clear(self) -> None:
        self.work.drop_pending()  # a read under way must not show its result
        self._agent = None
        self.state = None
        self.hide()

    def _reload(self) -> None:
        agent = self._agent
        if agent is None or self._ctx.workspace is None or log_closed(self._ctx):
            return
        self._ctx.spawn(self._load(agent), what="read the agent's spend")

    async def _load(self, agent: AgentRecord) -> None:
        try:
            state = await self.work.read(
                budget_state, self._ctx.workspace.store, agent.id, agent.config, now_ms()
            )
        except Exception as exc:  # a closing log, a removed agent: no line, no dialog
            log.debug("budget read of %s failed: %s", agent.id, exc)
            state = None
        if self._agent is None or self._agent.id != agent.id:
            return
        self.state = state
        has_budget = state is not None and (
            state.per_day_usd is not None or state.per_month_usd is not None
        )
        visible = state is not None and (has_budget or state.month_spend_usd > 0)
        if state is not None and visible:
            t = current_theme()
            spent = state.day_exhausted or state.month_exhausted
            colour = t.failed if spent else t.text_muted
            self.setStyleSheet(f"QLabel#AgentBudgetLine {{ color: {colour}; }}")
            self.setText(budget_text(state))
            self.setToolTip(budget_tooltip(state))
        self.setVisible(visible)
        self.sig_state_shown.emit(state)

    def _on_run_ended(self, event: Any) -> None:
        if self._agent is not None and getattr(event, "agent_id", None) == self._agent.id:
            self._schedule()

    def _schedule(self, *_args: object) -> None:
        if self._agent is not None and not self._timer.isActive():
            self._timer.start()
