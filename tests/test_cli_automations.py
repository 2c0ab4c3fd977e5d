"""CLI groups, schedules, hooks, skills and pipelines: a real log, the wire fakes, in process."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ato_desktop import cli
from ato_desktop.core.models import AgentConfig
from ato_desktop.engine.credentials import CredentialStore
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.paths import DataPaths
from tests.fakes import FakeLLMServer, Scenario


@pytest.fixture
def bots(ato_home: Path, fake: FakeLLMServer) -> Path:
    assert CredentialStore().set_key("anthropic", "sk-ant-api03-test-key-0123456789").persisted
    ws = Workspace.open(DataPaths(ato_home))
    try:
        for name in ("planner", "writer", "critic"):
            ws.agents.create(
                name, AgentConfig("claude", "claude-haiku-4-5", base_url=fake.anthropic_base_url)
            )
    finally:
        ws.close()
    return ato_home


def in_process(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = cli.main(list(args), stdout=out)
    return code, out.getvalue()


def test_group_add_run_and_pipelines_show(
    bots: Path, fake: FakeLLMServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = in_process(
        "groups", "add", "post",
        "--stage", "plan=planner", "--stage", "write=writer", "--stage", "review=critic",
        "--template", "write=Write: {previous}", "--on-failure", "review=skip",
        "--timeout", "write=90s",
    )  # fmt: skip
    assert code == 0 and "version 1" in text
    fake.enqueue(
        Scenario(chunks=("an outline",)),
        Scenario(chunks=("a draft",)),
        Scenario(chunks=("reviewed",)),
    )
    code, text = in_process("groups", "run", "post", "--json", "cats")
    assert code == 0
    result = json.loads(text)
    assert result["status"] == "completed" and result["output"] == "reviewed"
    assert [s["stage_name"] for s in result["stages"]] == ["plan", "write", "review"]
    assert fake.requests[1].body["messages"][-1]["content"] == "Write: an outline"

    code, text = in_process("pipelines", "list")
    assert code == 0 and "post" in text and "completed" in text
    code, text = in_process("pipelines", "show", result["run_id"], "--json")
    detail = json.loads(text)
    assert detail["stage_count"] == 3
    assert all(s["duration_ms"] > 0 for s in detail["stages"])
    code, text = in_process("pipelines", "show", result["run_id"])
    assert code == 0 and "[2] write" in text and "↓" in text

    code, text = in_process("groups", "show", "post")
    assert "on failure skip" in text and "timeout 90s" in text
    code, _ = in_process("groups", "add", "post", "--stage", "plan=planner", "--replace")
    code, text = in_process("groups", "list", "--json")
    assert json.loads(text)[0]["version"] == 2
    assert in_process("groups", "disable", "post")[0] == 0
    assert in_process("groups", "run", "post", "x")[0] == 2
    assert "is disabled" in capsys.readouterr().err


def test_bad_input_is_a_clear_error(
    bots: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = [
        (("groups", "add", "g", "--stage", "a=ghost"), "No agent named 'ghost'"),
        (("groups", "add", "g", "--stage", "a=writer", "--on-failure", "a=again"), "retry:N"),
        (("groups", "add", "g", "--stage", "a=writer", "--template", "a={prev}"), "{prev}"),
        (("groups", "add", "g", "--member", "writer", "--rule", "writer=re:("), "regex"),
        (("schedules", "add", "s", "--cron", "61 * * * *", "--agent", "writer", "--prompt", "p"),
         "bad cron expression"),
        (("schedules", "add", "s", "--cron", "@daily", "--timezone", "Mars/Olympus",
          "--agent", "writer", "--prompt", "p"), "unknown time zone"),
        (("skills", "add", "k", str(tmp_path / "none.md"), "--agent", "writer"), "does not exist"),
    ]  # fmt: skip
    for args, message in cases:
        assert in_process(*args)[0] == 2, args
        assert message in capsys.readouterr().err, args
    assert in_process("hooks", "add", "h1", "--on", "completed", "--agent", "writer",
                      "--dispatch-agent", "critic")[0] == 0  # fmt: skip
    assert in_process("hooks", "add", "h2", "--on", "failed", "--agent", "critic",
                      "--dispatch-agent", "writer")[0] == 2  # fmt: skip
    assert "hooks would loop: critic → writer → critic" in capsys.readouterr().err
    empty = tmp_path / "empty.md"
    empty.write_text("# Nothing\nno steps here\n")
    assert in_process("skills", "add", "k", str(empty), "--agent", "writer")[0] == 2
    assert "no `## Step` sections" in capsys.readouterr().err


def test_schedules_hooks_and_skills_commands(
    bots: Path, fake: FakeLLMServer, tmp_path: Path
) -> None:
    code, text = in_process(
        "schedules", "add", "morning", "--cron", "0 9 * * *", "--timezone", "Europe/Paris",
        "--agent", "writer", "--prompt", "Good morning", "--missed", "run-once",
    )  # fmt: skip
    assert code == 0 and "next fire:" in text
    code, text = in_process("schedules", "list", "--json")
    [row] = json.loads(text)
    assert row["spec"]["missed"] == "run_once" and row["next_fire_at"] > 0
    fake.scenario = Scenario(chunks=("morning!",))
    code, text = in_process("schedules", "run", "morning", "--json")
    assert code == 0 and json.loads(text)["status"] == "completed"
    assert fake.last_request.body["messages"][-1]["content"] == "Good morning"
    code, text = in_process("schedules", "daemon", "--once")
    assert code == 0
    assert in_process("schedules", "disable", "morning")[0] == 0
    code, text = in_process("schedules", "list")
    assert "morning" in text and " no " in text

    hook = ("--dispatch-agent", "critic", "--template", "Check: {run.output}")
    assert (
        in_process("hooks", "add", "followup", "--on", "completed", "--agent", "planner", *hook)[0]
        == 0
    )
    code, text = in_process("hooks", "list")
    assert "on planner completed → agent critic" in text

    skill = tmp_path / "flow.md"
    skill.write_text(
        "# Flow\n## Step 1: Plan\nPlan {input}\n## Step 2: Write\nAgent: writer\nWrite it.\n"
    )
    code, text = in_process("skills", "add", "flow", str(skill), "--agent", "planner")
    assert code == 0 and "2 step(s)" in text
    fake.scenario = Scenario(chunks=("ok",))
    code, text = in_process("skills", "run", "flow", "--json", "a trip")
    assert code == 0 and json.loads(text)["status"] == "completed"
    sent = [r.body["messages"][-1]["content"] for r in fake.requests]
    assert "Write it.\n\nok" in sent
    assert "Check: ok" in sent  # the hook on planner fired from the skill's first step
    skill.write_text(skill.read_text() + "## Step 3: Polish\nPolish {previous}\n")
    code, text = in_process("skills", "sync")
    assert code == 0 and "flow: version 2" in text
    code, text = in_process("skills", "list", "--json")
    assert len(json.loads(text)[0]["spec"]["steps"]) == 3
