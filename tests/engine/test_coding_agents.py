"""Coding agents through the one dispatch path: the fake `claude` and `codex` executables on
PATH, a real working directory, a real log."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest

from ato_desktop.core.models import AgentConfig, ErrorClass, RunStatus
from ato_desktop.engine.dispatcher import DispatchRequest, DispatchResult
from ato_desktop.engine.workspace import Workspace
from tests.runtimes.subprocess_fakes import FakeCli
from tests.support.builders import dispatch


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeCli:
    return FakeCli.install(monkeypatch, tmp_path)


def test_claude_code_run_records_steps_files_and_cost(workspace: Workspace, cli: FakeCli) -> None:
    for name in ("existing.txt", "notes.md", "old.txt"):
        (cli.workdir / name).write_text("before\n")
    cli.scenario("files")
    workspace.agents.create(
        "coder", AgentConfig("claude-code", "claude-sonnet-5", working_dir=str(cli.workdir))
    )
    result = dispatch(workspace, DispatchRequest("Tidy the repo", agent="coder"))
    assert result.status is RunStatus.COMPLETED, result.error_message
    actions = workspace.store.get_actions(result.run_id)
    touched = {
        (f["path"].split("/")[-1], f["change"])
        for a in actions
        for f in (a.meta or {}).get("files_touched", [])
    }
    assert {("new_file.py", "created"), ("existing.txt", "edited"), ("old.txt", "deleted")} <= (
        touched
    )
    assert (cli.workdir / "src" / "new_file.py").exists() and not (cli.workdir / "old.txt").exists()
    session = actions[-1]
    assert session.name == "call_agent" and session.meta["working_dir"] == str(cli.workdir)
    assert session.cost_source == "provider" and session.cost_usd and session.cost_usd > 0
    assert any(a.outcome == "error" for a in actions)  # the failing Edit of missing.txt
    record = json.loads(cli.record_path.read_text())
    assert record["cwd"] == str(cli.workdir) and "Tidy the repo" in record["prompt"]


def test_codex_cli_run_is_killed_cleanly(workspace: Workspace, cli: FakeCli) -> None:
    cli.scenario("hang")
    workspace.agents.create(
        "builder", AgentConfig("codex-cli", "gpt-5", working_dir=str(cli.workdir))
    )

    async def go() -> tuple[DispatchResult, float]:
        task = asyncio.create_task(
            workspace.dispatcher.dispatch(DispatchRequest("build it", agent="builder"))
        )
        while not cli.pidfile.exists() or "child" not in cli.pidfile.read_text():
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # the fake is now hanging with its child
        started = time.monotonic()
        workspace.live.kill_all()
        result = await task
        elapsed = time.monotonic() - started
        await workspace.live.aclose()
        return result, elapsed

    result, elapsed = asyncio.run(go())
    assert result.status is RunStatus.KILLED and elapsed < 1.0
    pids = json.loads(cli.pidfile.read_text())
    for pid in (pids["pid"], pids["child"]):
        status = Path(f"/proc/{pid}/status")
        alive = status.exists() and "State:\tZ" not in status.read_text()
        assert not alive, f"process {pid} outlived the kill"


def test_a_missing_coding_agent_says_how_to_install_it(
    workspace: Workspace, cli: FakeCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    workspace.agents.create(
        "coder", AgentConfig("claude-code", "claude-sonnet-5", working_dir=str(cli.workdir))
    )
    result = dispatch(workspace, DispatchRequest("hi", agent="coder"))
    assert result.error_class is ErrorClass.CONFIG
    assert "npm install -g @anthropic-ai/claude-code" in (result.error_message or "")
    assert os.environ["PATH"] == str(tmp_path / "empty-bin")


def test_a_default_model_run_records_the_model_that_answered(
    workspace: Workspace, cli: FakeCli
) -> None:
    """Issue 16.11: the agent lets Claude Code pick ("default"); the run, its cost and the
    per-model views follow the model that answered, not the word "default"."""
    workspace.agents.create(
        "coder", AgentConfig("claude-code", "default", working_dir=str(cli.workdir))
    )

    result = dispatch(workspace, DispatchRequest("Say hello", agent="coder"))

    assert result.status is RunStatus.COMPLETED, result.error_message
    record = json.loads(cli.record_path.read_text())
    assert "--model" not in record["argv"]  # Claude Code chose
    run = workspace.store.get_run(result.run_id)
    answered = workspace.store.get_actions(result.run_id)[-1].meta["response_model"]
    assert answered and answered != "default"
    assert run.model == answered
