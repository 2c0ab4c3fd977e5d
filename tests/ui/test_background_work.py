"""Work the app does in the background: a linked system prompt file edited outside it (a new
version, a word in the status bar, a read error said once), hooks and schedules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ato_desktop.core.models import AgentConfig
from ato_desktop.ui.context import AppContext


def test_the_app_records_an_edited_prompt_file(
    open_ctx: AppContext, qtbot: Any, tmp_path: Path
) -> None:
    prompt = tmp_path / "prompt.md"
    prompt.write_text("Be brief.", encoding="utf-8")
    workspace = open_ctx.workspace
    agent = workspace.agents.create(
        "poller", AgentConfig("claude", "m", system_prompt_file=str(prompt))
    )
    prompt.write_text("Be brief and kind.", encoding="utf-8")
    with qtbot.waitSignal(open_ctx.sig_status_message, timeout=5_000) as said:
        task = open_ctx.check_prompt_files()
        assert task is not None
    assert said.args == ["@poller: its system prompt file was edited; recorded a new version"]
    record = workspace.store.get_agent(agent.id)
    assert record.current_version == 2 and record.config.system_prompt == "Be brief and kind."

    prompt.unlink()
    messages: list[str] = []
    open_ctx.sig_status_message.connect(messages.append)
    for _ in range(2):
        task = open_ctx.check_prompt_files()
        assert task is not None
        qtbot.waitUntil(task.done, timeout=5_000)
    assert messages == [f"@poller: the system prompt file {prompt} does not exist"]


def test_the_app_runs_hooks_and_schedules(open_ctx: AppContext) -> None:
    """Automations (hooks on run events, cron schedules) run while the app does."""
    scheduler = open_ctx.workspace.automations.scheduler
    assert scheduler.running


def test_a_spend_spike_is_announced_once(open_ctx: AppContext, qtbot: Any) -> None:
    from ato_desktop.core.events import RunCompleted
    from ato_desktop.core.models import CostSource
    from ato_desktop.core.records import NewAction, NewRun, RunEnd
    from ato_desktop.store.execution_log import now_ms
    from ato_desktop.ui.spend_watch import SpendWatch

    store = open_ctx.workspace.store
    agent = open_ctx.workspace.agents.create("burner", AgentConfig("claude", "m"))
    now = now_ms()
    hour = 3_600_000
    rows = []
    spends = [(now - h * hour, 0.30) for h in range(2, 168, 6)]  # a quiet week
    spends += [(now - now % hour + i * 1000, 0.50) for i in range(6)]  # $3 this hour
    for i, (at, cost) in enumerate(spends):
        call = NewAction(
            "call_llm", "llm", "success", at, at + 10, cost_usd=cost,
            cost_source=CostSource.ESTIMATED,
        )  # fmt: skip
        new = NewRun("claude", "m", "cli", at, agent_id=agent.id, id=f"{i:032x}")
        rows.append((new, RunEnd("completed", at + 10, 10**7), [call]))
    store.ingest(rows).result()

    watch = SpendWatch(open_ctx)
    said: list[str] = []
    open_ctx.sig_status_message.connect(said.append)
    for _ in range(2):  # the same spike, reported by two runs ending
        watch.on_run_ended(RunCompleted(f"{len(rows) - 1:032x}", agent.id, 10**7))
        task = watch.check_now()
        assert task is not None
        qtbot.waitUntil(task.done, timeout=5_000)
    spikes = [text for text in said if text.startswith("Spend spike: @burner spent $3.00")]
    assert len(spikes) == 1 and "in the last hour" in spikes[0]
