"""Budgets: UTC periods, the hard ceiling refusing dispatches with a clear message, and the
budget-burn anomaly raised as a critical intercept."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from ato_desktop.core.budgets import (
    BudgetState,
    burn_anomaly,
    day_start_ms,
    month_start_ms,
    next_month_ms,
    refusal_message,
)
from ato_desktop.core.models import AgentConfig, CostSource, RunStatus
from ato_desktop.core.records import NewAction, NewRun, RunEnd, RunFilter
from ato_desktop.engine.agents import AgentConfigError
from ato_desktop.engine.dispatcher import DispatchError, DispatchRequest
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.execution_log import now_ms
from ato_desktop.store.run_queries import BURN_RATE, budget_state, critical_intercepts
from tests.fakes import FakeLLMServer
from tests.test_cli import in_process

HOUR = 3_600_000


def _ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


def test_periods_are_utc_days_and_months() -> None:
    now = _ms(2026, 2, 17, 15, 30)
    assert day_start_ms(now) == _ms(2026, 2, 17)
    assert month_start_ms(now) == _ms(2026, 2, 1)
    assert next_month_ms(now) == _ms(2026, 3, 1)
    assert next_month_ms(_ms(2026, 12, 31, 23)) == _ms(2027, 1, 1)


def test_refusal_says_what_was_spent_and_when_it_resumes() -> None:
    day = BudgetState(5.2, 40.0, 5.0, 100.0, True)
    assert day.refuses and not day.month_exhausted
    text = refusal_message("triage", day, _ms(2026, 2, 17, 15))
    assert "$5.20 of its $5.00 daily budget" in text and "resume at 00:00 UTC" in text
    month = BudgetState(1.0, 120.0, None, 100.0, True)
    assert "monthly budget" in refusal_message("t", month, _ms(2026, 2, 17))
    assert "2026-03-01 00:00 UTC" in refusal_message("t", month, _ms(2026, 2, 17))
    assert not BudgetState(9.0, 9.0, 5.0, None, False).refuses  # no ceiling: never refused


def test_burn_anomaly_needs_a_big_factor_and_real_money() -> None:
    week = 0.10 * 168  # $0.10 an hour
    assert burn_anomaly(0.30, week) is None  # 3x: ordinary
    spike = burn_anomaly(0.80, week)
    assert spike is not None and spike.factor == pytest.approx(8.0)
    assert "8.0x its 7-day hourly average of $0.10" in spike.describe()
    assert burn_anomaly(0.45, 0.01 * 168) is None  # 45x, but under the $0.50 floor
    assert burn_anomaly(1.99, 0.0) is None and burn_anomaly(2.0, 0.0) is not None


def _spend(ws: Workspace, agent: str, at: int, cost: float, tag: str) -> None:
    record = ws.store.get_agent(agent)
    run = NewRun("claude", "claude-sonnet-5", "cli", at, agent_id=record.id, id=tag.ljust(32, "0"))
    call = NewAction(
        "call_llm",
        "llm",
        "success",
        at,
        at + 1000,
        cost_usd=cost,
        cost_source=CostSource.ESTIMATED,
    )
    ws.store.ingest([(run, RunEnd("completed", at + 1000, 10**9), [call])]).result()


def test_a_hard_ceiling_refuses_dispatches_once_the_budget_is_spent(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    with pytest.raises(AgentConfigError, match="needs a budget"):
        workspace.agents.create("x", AgentConfig("claude", "m", budget_hard_ceiling=True))
    workspace.agents.create(
        "capped",
        AgentConfig(
            "claude",
            "claude-sonnet-5",
            base_url=fake.anthropic_base_url,
            budget_per_day_usd=1.0,
            budget_hard_ceiling=True,
        ),
    )
    request = DispatchRequest("hello", agent="capped")

    async def dispatch() -> RunStatus:
        try:
            return (await workspace.dispatcher.dispatch(request)).status
        finally:
            await workspace.live.aclose()

    assert asyncio.run(dispatch()) is RunStatus.COMPLETED  # under budget
    _spend(workspace, "capped", now_ms() - 1000, 1.25, "ab")
    record = workspace.store.get_agent("capped")
    state = budget_state(workspace.store, record.id, record.config, now_ms())
    assert state.day_exhausted and state.refuses
    runs_before = len(workspace.store.list_runs(RunFilter(), limit=100))
    with pytest.raises(DispatchError, match=r"has spent \$1\.2\d of its \$1\.00 daily budget"):
        asyncio.run(dispatch())
    # Nothing was sent or recorded for the refused dispatch.
    assert (
        len(
            workspace.store.list_runs(
                RunFilter(),
                limit=100,
            )
        )
        == runs_before
    )

    # The CLI says the same and exits 2; turning the ceiling off lets it through again.
    code, _out = in_process("dispatch", "--agent", "capped", "hello")
    assert code == 2
    assert in_process("agents", "edit", "capped", "--no-hard-ceiling")[0] == 0
    assert not workspace.store.get_agent("capped").config.budget_hard_ceiling
    assert asyncio.run(dispatch()) is RunStatus.COMPLETED


def test_a_spend_spike_is_a_critical_intercept(workspace: Workspace) -> None:
    workspace.agents.create("burner", AgentConfig("claude", "claude-sonnet-5"))
    now = now_ms()
    for hour in range(2, 7 * 24, 6):  # a week of about $0.05 an hour
        _spend(workspace, "burner", now - hour * HOUR, 0.30, f"b{hour:04x}")
    assert not [i for i in critical_intercepts(workspace.store) if BURN_RATE in i.reasons]
    hour_start = now - now % HOUR
    for i in range(6):  # then $3 within this hour
        _spend(workspace, "burner", hour_start + i * 1000, 0.50, f"c{i:04x}")
    (spike,) = [i for i in critical_intercepts(workspace.store) if BURN_RATE in i.reasons]
    assert spike.run.id == "c0005".ljust(32, "0")  # the newest run of that hour
    assert spike.burn is not None and spike.burn.hour_spend_usd == pytest.approx(3.0)
    assert "in the last hour" in spike.burn.describe()
