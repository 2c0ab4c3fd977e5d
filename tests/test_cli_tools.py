"""The CLI with tools: agents that use MCP servers, approvals from flags, coding agents."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fakes import FakeLLMServer, FakeToolCall, Scenario
from tests.fakes.mcp_server import stdio_command
from tests.test_cli import in_process, run_cli


def _register_shop(ato_home: Path, notes: Path) -> None:
    command, args, _env = stdio_command("--notes", str(notes))
    done = run_cli(
        ato_home, "mcp", "add", "shop", "--command", command, *[f"--arg={a}" for a in args]
    )
    assert done.returncode == 0, done.stderr


def test_agent_tool_options_are_validated(ato_home: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert (
        in_process(
            "agents", "add", "a", "--runtime", "claude", "--model", "m", "--mcp-servers", "nowhere"
        )[0]
        == 2
    )
    assert "no MCP server named 'nowhere'" in capsys.readouterr().err
    assert in_process("agents", "add", "c", "--runtime", "claude-code", "--model", "m")[0] == 2
    assert "needs a working directory" in capsys.readouterr().err
    assert (
        in_process(
            "agents",
            "add",
            "c",
            "--runtime",
            "claude-code",
            "--model",
            "m",
            "--working-dir",
            str(tmp_path),
        )[0]
        == 0
    )
    assert (
        in_process(
            "agents",
            "add",
            "d",
            "--runtime",
            "claude",
            "--model",
            "m",
            "--tool-rule",
            "shop/write_note=maybe",
        )[0]
        == 2
    )
    assert "is not one of allow, deny, approve" in capsys.readouterr().err


def test_dispatch_with_tools_and_approval_flags(
    ato_home: Path,
    tmp_path: Path,
    fake: FakeLLMServer,
) -> None:
    notes = tmp_path / "notes.txt"
    _register_shop(ato_home, notes)
    done = run_cli(
        ato_home,
        "agents",
        "add",
        "clerk",
        "--runtime",
        "claude",
        "--model",
        "claude-sonnet-5",
        "--base-url",
        fake.anthropic_base_url,
        "--mcp-servers",
        "shop",
        "--tool-rule",
        "shop/write_note=approve",
        "--max-tool-calls",
        "5",
    )
    assert done.returncode == 0, done.stderr
    history = json.loads(run_cli(ato_home, "agents", "history", "clerk", "--json").stdout)
    config = history["versions"][0]["config"]
    assert config["mcp_servers"] == ["shop"] and config["max_tool_calls"] == 5
    assert config["tool_rules"] == {"shop/write_note": "approve"}

    for flag, expected in (("--deny-tools", "blocked"), ("--approve-tools", "success")):
        fake.enqueue(
            Scenario(tool_calls=(FakeToolCall("shop__write_note", {"text": "hi"}),)),
            Scenario(chunks=("Done.",)),
        )
        done = run_cli(ato_home, "dispatch", "--agent", "clerk", flag, "--json", "save a note")
        assert done.returncode == 0, done.stderr
        run = json.loads(done.stdout)
        (write,) = [a for a in run["actions"] if a["name"] == "write_note"]
        assert write["outcome"] == expected
        assert "(flag)" in done.stderr
    assert notes.read_text().count("hi") == 1  # only the approved call wrote


def test_without_a_terminal_or_flag_approval_is_denied(
    ato_home: Path,
    tmp_path: Path,
    fake: FakeLLMServer,
) -> None:
    _register_shop(ato_home, tmp_path / "notes.txt")
    run_cli(
        ato_home,
        "agents",
        "add",
        "clerk",
        "--runtime",
        "claude",
        "--model",
        "claude-sonnet-5",
        "--base-url",
        fake.anthropic_base_url,
        "--mcp-servers",
        "shop",
        "--tool-rule",
        "shop/*=approve",
    )
    fake.enqueue(
        Scenario(tool_calls=(FakeToolCall("shop__add", {"a": 1, "b": 2}),)),
        Scenario(chunks=("ok",)),
    )
    done = run_cli(ato_home, "dispatch", "--agent", "clerk", "add")
    assert done.returncode == 0
    assert "needs approval and no one can be asked here: denied" in done.stderr


def test_replay_cli_single_and_batch(ato_home: Path, fake: FakeLLMServer) -> None:
    done = run_cli(
        ato_home,
        "agents",
        "add",
        "w",
        "--runtime",
        "claude",
        "--model",
        "claude-sonnet-5",
        "--base-url",
        fake.anthropic_base_url,
        "--param",
        "top_k=20",
    )
    assert done.returncode == 0
    fake.scenario = Scenario(chunks=("Paris.",))
    first = run_cli(ato_home, "dispatch", "--agent", "w", "--json", "Capital of France?")
    source = json.loads(first.stdout)["id"]
    fake.scenario = Scenario(chunks=("Paris, France.",))
    done = run_cli(
        ato_home,
        "replay",
        source[-8:],
        "--runtime",
        "codex",
        "--model",
        "gpt-5",
        "--base-url",
        fake.openai_base_url,
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert "estimated $" in done.stderr and "top_k" in done.stderr
    data = json.loads(done.stdout)
    assert data["source"]["output"] == "Paris." and data["replay"]["output"] == "Paris, France."
    assert data["deltas_pct"]["cost"] is not None
    assert {"op": "insert", "text": ", France."} in data["diff"] or any(
        p["op"] == "insert" for p in data["diff"]
    )
    human = run_cli(ato_home, "replay", source, "--agent", "w")
    assert human.returncode == 0 and "word diff" in human.stdout

    fake.scenario = Scenario(status=500)
    for i in range(2):
        run_cli(ato_home, "dispatch", "--agent", "w", f"q{i}")
    fake.scenario = Scenario(chunks=("ok",))
    done = run_cli(
        ato_home,
        "replay",
        "--failures-of",
        "w",
        "--since",
        "v1",
        "--runtime",
        "codex",
        "--model",
        "gpt-5",
        "--base-url",
        fake.openai_base_url,
        "--json",
    )
    summary = json.loads(done.stdout)
    assert (summary["total"], summary["recovered"]) == (2, 2)


def test_simulate_cli(ato_home: Path, fake: FakeLLMServer) -> None:
    run_cli(
        ato_home,
        "agents",
        "add",
        "w",
        "--runtime",
        "claude",
        "--model",
        "claude-sonnet-5",
        "--base-url",
        fake.anthropic_base_url,
        "--system-prompt",
        "Brief.",
    )
    source = json.loads(run_cli(ato_home, "dispatch", "--agent", "w", "--json", "hi").stdout)
    run_cli(ato_home, "agents", "edit", "w", "--system-prompt", "Thorough.")
    calls = len(fake.requests)
    done = run_cli(ato_home, "simulate", source["id"], "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert len(fake.requests) == calls
    assert data["divergences"] == 1 and data["replay_cost_usd"] == 0
    assert any(r["divergence"] == "input mismatch" for r in data["rows"])
    human = run_cli(ato_home, "simulate", source["id"])
    assert "system prompt changed" in human.stdout and "ORIGINAL" in human.stdout


def test_determinism_cli(ato_home: Path) -> None:
    from ato_desktop.core.models import AgentConfig
    from ato_desktop.core.records import NewRun, RunEnd
    from ato_desktop.engine.workspace import Workspace
    from ato_desktop.store.paths import DataPaths
    from tests.support.determinism_runs import clean_run, pattern_cases, with_extra

    ws = Workspace.open(DataPaths(ato_home))
    agent = ws.agents.create("reporter", AgentConfig("claude", "claude-sonnet-5"))
    timestamp_action = pattern_cases()["timestamp"][0]  # the spec's example: a report's time
    now = 1_790_000_000_000
    for run_id, actions in (
        ("a" * 32, clean_run()),
        ("b" * 32, with_extra(clean_run(), timestamp_action)),
    ):
        ws.store.ingest(
            [
                (
                    NewRun(
                        "claude",
                        "claude-sonnet-5",
                        "cli",
                        now,
                        agent_id=agent.id,
                        agent_version_id=agent.current_version_id,
                        id=run_id,
                    ),
                    RunEnd("completed", now + 1000, 10**9),
                    actions,
                )
            ]
        ).result()
    ws.close()
    clean = json.loads(run_cli(ato_home, "determinism", "a" * 32, "--json").stdout)
    assert clean["score"] >= 90 and clean["findings"] == []
    done = run_cli(ato_home, "determinism", "b" * 32)
    assert done.returncode == 0 and "generate_report" in done.stdout
    assert "Pass timestamp as input parameter instead." in done.stdout
    agent_report = json.loads(
        run_cli(ato_home, "determinism", "--agent", "reporter", "--json").stdout
    )
    assert agent_report["scope"] == "agent"
