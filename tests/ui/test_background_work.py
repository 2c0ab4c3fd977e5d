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
