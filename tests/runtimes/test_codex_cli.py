"""The codex-cli runtime against the fake `codex` (tests/fakes/bin) on PATH."""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

import pytest

from ato_desktop.core.models import (
    ChatMessage,
    ErrorClass,
    EventKind,
    FileTouch,
    TokenUsage,
)
from ato_desktop.runtimes.codex_cli import CodexCliAdapter, codex_command, toml_string
from ato_desktop.runtimes.subprocess_stream import OptionError
from tests.runtimes.subprocess_fakes import (
    API_KEY,
    FAKE_BIN,
    FakeCli,
    collect,
    failed,
    finished,
    kinds,
    steps,
    text_of,
)

THREAD_ID = "0199a213-81c0-7800-8aa1-bbab2a035a53"


def test_happy_path_streams_text_steps_and_usage(cli: FakeCli) -> None:
    events = cli.run(CodexCliAdapter, "happy", system='Be brief. Say "hi".\nThanks.')

    finish = finished(events)
    assert (finish.finish_reason, finish.response_id) == ("completed", THREAD_ID)
    assert finish.response_model == "model-under-test"
    assert text_of(events) == "Hello from Codex."
    (usage,) = [e for e in events if e.kind is EventKind.USAGE]
    assert kinds(events).index(EventKind.USAGE) == len(events) - 2
    # OpenAI semantics: input_tokens already includes cached_input_tokens. No stated cost.
    assert usage.usage == TokenUsage(input_tokens=24763, output_tokens=122, cache_read_tokens=24448)
    assert usage.provider_cost_usd is None

    found = [(s.name, s.kind, s.outcome) for s in steps(events)]
    assert found == [
        ("reasoning", "reasoning", "success"),
        ("command", "command", "success"),
        ("docs/search", "tool", "success"),
        ("todo_list", "reasoning", "success"),
        ("agent_message", "message", "success"),
    ]
    command = steps(events)[1]
    assert command.inputs == {"command": "bash -lc 'cat build.log'"}
    assert command.outputs["exit_code"] == 0
    assert command.outputs["output_chars"] == 1000 * len("line 00000 of the build log\n")
    assert len(command.outputs["output"]) < 5000
    assert command.duration_ns is not None
    mcp = steps(events)[2]
    assert mcp.inputs == {"query": "greeting"}
    assert mcp.outputs["result"]["content"][0]["text"] == "Say hello."

    recorded = cli.recorded()
    argv = recorded["argv"]
    assert argv[:8] == [
        "exec",
        "--json",
        "--skip-git-repo-check",
        "--cd",
        str(cli.workdir),
        "--sandbox",
        "workspace-write",
        "--model",
    ]
    assert argv[-1] == "-"  # the prompt comes on stdin
    config = argv[argv.index("-c") + 1]
    assert config.startswith("developer_instructions=")
    # The value is TOML, as `codex -c key=value` parses it.
    assert tomllib.loads(config)["developer_instructions"] == 'Be brief. Say "hi".\nThanks.'
    assert recorded["prompt"] == "Say hello."
    assert recorded["cwd"] == str(cli.workdir)
    assert (recorded["api_key"], recorded["openai_api_key"]) == (API_KEY, API_KEY)


def test_without_a_key_codex_uses_its_own_login_and_earlier_turns_are_folded_in(
    cli: FakeCli,
) -> None:
    history = (
        ChatMessage("user", "Make a file."),
        ChatMessage("assistant", "Done."),
        ChatMessage("user", "Now test it."),
    )
    finished(cli.run(CodexCliAdapter, "happy", api_key=None, messages=history))

    recorded = cli.recorded()
    assert (recorded["api_key"], recorded["openai_api_key"]) == (None, None)
    assert "-c" not in recorded["argv"]  # no system prompt, no instructions
    assert "<transcript>\n<user>\nMake a file.\n</user>" in recorded["prompt"]
    assert recorded["prompt"].endswith("Now test it.")


def test_params_become_flags(cli: FakeCli) -> None:
    request = cli.request(params={"sandbox": "read-only", "reasoning_effort": "high"})
    argv = codex_command("codex", request, "/work/dir")
    assert argv[argv.index("--sandbox") + 1] == "read-only"
    assert 'model_reasoning_effort="high"' in argv
    assert argv[argv.index("--cd") + 1] == "/work/dir"
    with pytest.raises(OptionError, match="sandbox"):
        codex_command("codex", cli.request(params={"sandbox": "none"}), "/w")
    tricky = 'tab\t del\x7f é "quoted" \\ back'
    assert tomllib.loads("x=" + toml_string(tricky))["x"] == tricky


def test_file_changes_are_reported_with_their_change_and_really_happened(cli: FakeCli) -> None:
    (cli.workdir / "existing.txt").write_text("hello world\n")
    (cli.workdir / "old.txt").write_text("bye\n")
    (cli.workdir / "scratch.txt").write_text("tmp\n")

    events = cli.run(CodexCliAdapter, "files")

    finished(events)
    touched = [(s.name, s.kind, s.outcome, s.files_touched) for s in steps(events)]
    assert touched[:3] == [
        (
            "file_change",
            "file",
            "success",
            (
                FileTouch("src/new_file.py", "created"),
                FileTouch("existing.txt", "edited"),
                FileTouch("old.txt", "deleted"),
            ),
        ),
        ("command", "command", "success", (FileTouch("scratch.txt", "deleted"),)),
        ("command", "command", "error", ()),  # exit code 1
    ]
    assert steps(events)[2].outputs["exit_code"] == 1
    assert (cli.workdir / "src" / "new_file.py").read_text() == "print('new')\n"
    assert (cli.workdir / "existing.txt").read_text() == "goodbye world\n"
    assert not (cli.workdir / "old.txt").exists()
    assert not (cli.workdir / "scratch.txt").exists()


def test_a_non_zero_exit_is_an_error_with_the_redacted_stderr_tail(cli: FakeCli) -> None:
    cli.scenario("error", ATO_FAKE_EXIT="2")
    error = failed(collect(CodexCliAdapter(), cli.request()), ErrorClass.SERVER_ERROR)
    assert error.message.startswith("Codex CLI exited with code 2: Error: fatal error in the fake")
    assert "[REDACTED]" in error.message


@pytest.mark.parametrize(
    ("scenario", "error_class", "said"),
    [
        ("turn_failed", ErrorClass.BAD_REQUEST, "model 'gpt-nope' does not exist"),
        ("auth", ErrorClass.AUTH, "401 Unauthorized: Incorrect API key provided"),
        ("error_only", ErrorClass.RATE_LIMIT, "429 Too Many Requests"),
    ],
)
def test_failed_turns_and_errors_get_clear_classes(
    cli: FakeCli, scenario: str, error_class: ErrorClass, said: str
) -> None:
    events = cli.run(CodexCliAdapter, scenario)

    error = failed(events, error_class)
    assert said in error.message
    assert any(s.name == "error" and s.outcome == "error" for s in steps(events))
    if error_class is ErrorClass.AUTH:
        assert "codex login" in error.message
        assert "ato-desktop keys set openai" in error.message


def test_missing_executable_says_how_to_install_it(
    cli: FakeCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    error = failed(collect(CodexCliAdapter(), cli.request()), ErrorClass.CONFIG)
    assert error.message.startswith(
        "Codex CLI is not installed: npm install -g @openai/codex (or: brew install --cask "
        "codex) (then `codex` must be on PATH"
    )

    # The override is used instead of PATH (which still needs python3 for the fake itself).
    monkeypatch.setenv("PATH", os.pathsep.join([str(empty), str(Path(sys.executable).parent)]))
    monkeypatch.setenv("ATO_CODEX_BIN", str(FAKE_BIN / "codex"))
    finished(cli.run(CodexCliAdapter, "happy"))


def test_the_working_directory_must_exist(cli: FakeCli) -> None:
    path = str(cli.workdir / "missing")
    error = failed(collect(CodexCliAdapter(), cli.request(cwd=path)), ErrorClass.CONFIG)
    assert "does not exist" in error.message


def test_malformed_lines_and_unknown_events_are_skipped(cli: FakeCli) -> None:
    events = cli.run(CodexCliAdapter, "garbage")

    finished(events)
    assert text_of(events) == "Survived the garbage."
    (future,) = [s for s in steps(events) if s.name == "future_item"]
    assert future.outputs == {"data": 1}  # an unknown item type is kept as a generic step


def test_an_old_codex_is_told_to_update(cli: FakeCli) -> None:
    error = failed(cli.run(CodexCliAdapter, "old"), ErrorClass.CONFIG)
    assert "unexpected argument '--json'" in error.message
    assert "update it" in error.message


def test_an_exit_without_a_turn_end_is_an_interrupted_stream(cli: FakeCli) -> None:
    error = failed(cli.run(CodexCliAdapter, "no_result"), ErrorClass.STREAM_INTERRUPTED)
    assert "exited before finishing" in error.message


def test_a_long_running_command_is_not_a_stall(cli: FakeCli) -> None:
    cli.scenario("slow_tool", ATO_FAKE_DELAY="0.8")
    events = collect(CodexCliAdapter(), cli.request(stall_timeout_s=0.3, request_timeout_s=5))

    finished(events)
    (command,) = [s for s in steps(events) if s.kind == "command"]
    assert command.outputs["output"] == "42 passed\n"
    assert command.duration_ns is not None and command.duration_ns >= 700_000_000
