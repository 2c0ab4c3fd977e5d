"""A system prompt kept in a file: edits made outside the app are detected and recorded as new
config versions (before a dispatch, by `agents sync`, and by the app's poll)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ato_desktop.core.models import AgentConfig, RunStatus
from ato_desktop.engine.agents import AgentConfigError
from ato_desktop.engine.dispatcher import DispatchError, DispatchRequest
from ato_desktop.engine.workspace import Workspace
from tests.fakes import FakeLLMServer
from tests.test_cli import in_process


def _dispatch(ws: Workspace, prompt: str) -> str:
    async def go() -> str:
        try:
            result = await ws.dispatcher.dispatch(DispatchRequest(prompt, agent="writer"))
            assert result.status is RunStatus.COMPLETED
            return result.run_id
        finally:
            await ws.live.aclose()

    return asyncio.run(go())


def test_an_edit_of_the_file_is_a_new_version_before_the_next_dispatch(
    workspace: Workspace, fake: FakeLLMServer, tmp_path: Path
) -> None:
    prompt = tmp_path / "writer.md"
    prompt.write_text("Answer in one line.\n", encoding="utf-8")
    agent = workspace.agents.create(
        "writer",
        AgentConfig(
            "claude",
            "claude-sonnet-5",
            base_url=fake.anthropic_base_url,
            system_prompt_file=str(prompt),
        ),
    )
    assert agent.config.system_prompt == "Answer in one line."
    first = _dispatch(workspace, "hi")
    assert fake.last_request.body["system"] == "Answer in one line."

    prompt.write_text("Answer in French, in one line.\n", encoding="utf-8")
    second = _dispatch(workspace, "hi")
    assert fake.last_request.body["system"] == "Answer in French, in one line."
    (latest, _first_version) = workspace.store.agent_history(agent.id)
    assert latest.version == 2 and latest.change_source == "file"
    assert [change["path"] for change in latest.diff] == ["system_prompt"]
    assert workspace.store.get_run(second).agent_version_id == latest.id
    assert workspace.store.get_run(first).agent_version_id != latest.id

    assert workspace.agents.sync_prompt_file("writer") is None  # nothing new
    with pytest.raises(AgentConfigError, match=r"lives in .*writer\.md: edit that file"):
        workspace.agents.edit("writer", {"system_prompt": "typed in the app"})

    # A file that cannot be read stops the dispatch with a clear error (nothing stale is sent).
    prompt.write_bytes(b"\x00\x01binary")
    with pytest.raises(DispatchError, match="is binary, not text; fix the file, or unlink"):
        _dispatch(workspace, "hi")
    prompt.unlink()
    assert workspace.agents.sync_prompt_files() == [
        ("writer", f"the system prompt file {prompt} does not exist")
    ]

    # Unlinking keeps the last recorded text as a plain prompt.
    record, _changed = workspace.agents.edit("writer", {"system_prompt_file": None})
    assert record.config.system_prompt == "Answer in French, in one line."
    assert record.config.system_prompt_file is None


def test_cli_link_and_sync(
    ato_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompt = tmp_path / "p.txt"
    prompt.write_text("v1 text", encoding="utf-8")
    args = ("agents", "add", "a", "--runtime", "claude", "--model", "m")
    assert in_process(*args, "--link-system-prompt-file", str(prompt))[0] == 0
    assert in_process("agents", "sync") == (
        0,
        "No change: every linked system prompt file matches its version.\n",
    )
    prompt.write_text("v2 text", encoding="utf-8")
    assert in_process("agents", "sync") == (0, "a: version 2 (system prompt file edited)\n")
    code, out = in_process("agents", "history", "a")
    assert code == 0 and "version 2" in out and "file" in out
    prompt.write_bytes(b"\xff\xfe bad")
    assert in_process("agents", "sync")[0] == 1
    assert "is not UTF-8 text" in capsys.readouterr().err
    missing = tmp_path / "nope.txt"
    assert in_process(*args[:2], "b", *args[3:], "--link-system-prompt-file", str(missing))[0] == 2
    assert "does not exist" in capsys.readouterr().err
