"""The claude-code runtime against the fake `claude` (tests/fakes/bin) on PATH."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ato_desktop.core.models import (
    ChatMessage,
    ErrorClass,
    EventKind,
    FileTouch,
    TokenUsage,
)
from ato_desktop.runtimes.claude_code import ClaudeCodeAdapter, claude_command
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

SESSION_ID = "00000000-0000-0000-0000-000000005e55"


def test_happy_path_streams_text_steps_usage_and_cost(cli: FakeCli) -> None:
    events = cli.run(ClaudeCodeAdapter, "happy", system="Be brief.")

    finish = finished(events)
    assert (finish.finish_reason, finish.response_id) == ("end_turn", SESSION_ID)
    assert finish.response_model == "model-under-test"  # as the init event named it
    # Token by token (--include-partial-messages), the two messages apart, nothing twice.
    assert text_of(events) == "Hello from Claude Code.\n\nAll done."
    assert kinds(events).count(EventKind.TEXT) > 4
    (usage,) = [e for e in events if e.kind is EventKind.USAGE]
    assert kinds(events).index(EventKind.USAGE) == len(events) - 2
    # Anthropic counts cache reads and writes apart from input; ATO's input includes them.
    assert usage.usage == TokenUsage(
        input_tokens=2112, output_tokens=50, cache_read_tokens=2000, cache_write_tokens=100
    )
    assert usage.provider_cost_usd == pytest.approx(0.0123)

    by_name = {step.name: step for step in steps(events)}
    assert by_name["thinking"].kind == "reasoning"
    bash = by_name["Bash"]
    assert (bash.kind, bash.outcome) == ("command", "success")
    assert bash.inputs == {"command": "cat build.log", "description": "Read the log"}
    full = 1000 * len("line 00000 of the build log\n")
    assert bash.outputs["output_chars"] == full
    assert len(bash.outputs["output"]) < 5000 and "characters omitted" in bash.outputs["output"]
    assert bash.duration_ns is not None and bash.duration_ns >= 0
    assert by_name["Grep"].kind == "tool"
    assert by_name["Grep"].outputs["output"] == "Found 0 files"
    assert by_name["WebFetch"].outcome == "blocked"  # no permission rule allows it
    messages = [s.outputs["text"] for s in steps(events) if s.kind == "message"]
    assert messages == ["Hello from Claude Code.", "All done."]

    recorded = cli.recorded()
    assert recorded["argv"] == [
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--include-partial-messages",
        "--permission-mode",
        "acceptEdits",
        "--model",
        "model-under-test",
        "--append-system-prompt",
        "Be brief.",
    ]
    assert recorded["prompt"] == "Say hello."  # on stdin
    assert recorded["cwd"] == str(cli.workdir)
    assert recorded["api_key"] == API_KEY


def test_without_a_key_claude_code_uses_its_own_login_and_earlier_turns_are_folded_in(
    cli: FakeCli,
) -> None:
    history = (
        ChatMessage("user", "Make a file."),
        ChatMessage("assistant", "Done: a.txt."),
        ChatMessage("user", "Now delete it."),
    )
    finished(cli.run(ClaudeCodeAdapter, "happy", api_key=None, messages=history, model="default"))

    recorded = cli.recorded()
    assert recorded["api_key"] is None
    assert "--model" not in recorded["argv"]  # "default": Claude Code's own choice
    prompt = recorded["prompt"]
    assert "<user>\nMake a file.\n</user>" in prompt
    assert "<assistant>\nDone: a.txt.\n</assistant>" in prompt
    assert prompt.endswith("The user's new message, which is the task now:\n\nNow delete it.")


def test_params_become_flags_and_bad_ones_are_config_errors(cli: FakeCli) -> None:
    request = cli.request(
        system="Only this.",
        params={
            "permission_mode": "bypassPermissions",
            "max_turns": 5,
            "max_budget_usd": "0.5",
            "allowed_tools": ["Read", "Bash(git:*)"],
            "disallowed_tools": "WebFetch",
            "replace_system_prompt": True,
            "temperature": 0.2,  # no such flag: ignored
        },
    )
    argv = claude_command("claude", request)
    assert argv[argv.index("--permission-mode") + 1] == "bypassPermissions"
    assert argv[argv.index("--system-prompt") + 1] == "Only this."
    assert "--append-system-prompt" not in argv
    assert argv[argv.index("--max-turns") + 1] == "5"
    assert argv[argv.index("--max-budget-usd") + 1] == "0.5"
    assert argv[argv.index("--allowedTools") + 1] == "Read,Bash(git:*)"
    assert argv[argv.index("--disallowedTools") + 1] == "WebFetch"
    with pytest.raises(OptionError, match="permission_mode"):
        claude_command("claude", cli.request(params={"permission_mode": "yolo"}))

    events = collect(ClaudeCodeAdapter(), cli.request(params={"max_turns": 0}))
    assert "max_turns" in failed(events, ErrorClass.CONFIG).message
    assert not cli.record_path.exists()  # refused before anything ran


def test_files_touched_are_reported_with_their_change_and_really_changed(cli: FakeCli) -> None:
    (cli.workdir / "existing.txt").write_text("hello world\n")
    (cli.workdir / "notes.md").write_text("# Notes\n")
    (cli.workdir / "old.txt").write_text("bye\n")

    events = cli.run(ClaudeCodeAdapter, "files")

    finished(events)
    touched = [
        (s.name, s.kind, s.outcome, s.files_touched) for s in steps(events) if s.kind != "message"
    ]
    assert touched == [
        ("Write", "file", "success", (FileTouch("src/new_file.py", "created"),)),
        ("Edit", "file", "success", (FileTouch("existing.txt", "edited"),)),
        # No structured result: "has been updated" in the answer says it existed.
        ("Write", "file", "success", (FileTouch("notes.md", "edited"),)),
        ("Bash", "command", "success", (FileTouch("old.txt", "deleted"),)),
        ("Edit", "file", "error", ()),
    ]
    assert (cli.workdir / "src" / "new_file.py").read_text() == "print('new')\n"
    assert (cli.workdir / "existing.txt").read_text() == "goodbye world\n"
    assert (cli.workdir / "notes.md").read_text() == "# Rewritten\n"
    assert not (cli.workdir / "old.txt").exists()


def test_a_non_zero_exit_is_an_error_with_the_redacted_stderr_tail(cli: FakeCli) -> None:
    cli.scenario("error", ATO_FAKE_EXIT="3")
    events = collect(ClaudeCodeAdapter(), cli.request())

    error = failed(events, ErrorClass.SERVER_ERROR)
    assert error.message.startswith("Claude Code exited with code 3: Error: the fake crashed")
    assert "[REDACTED]" in error.message  # the fake printed the key


@pytest.mark.parametrize(
    ("scenario", "error_class", "said"),
    [
        ("result_error", ErrorClass.SERVER_ERROR, "Tool execution failed: boom"),
        ("max_turns", ErrorClass.CEILING, "turn limit"),
        ("auth", ErrorClass.AUTH, "Invalid API key · Please run /login"),
        ("rate_limit", ErrorClass.RATE_LIMIT, "per-minute rate limit"),
    ],
)
def test_result_errors_get_clear_classes(
    cli: FakeCli, scenario: str, error_class: ErrorClass, said: str
) -> None:
    events = cli.run(ClaudeCodeAdapter, scenario)

    error = failed(events, error_class)
    assert said in error.message
    assert EventKind.USAGE in kinds(events)  # what was counted still comes first
    if error_class is ErrorClass.AUTH:
        assert "typing /login" in error.message
        assert "ato-desktop keys set anthropic" in error.message
        assert text_of(events) == ""  # the error is not the answer
    if error_class is ErrorClass.RATE_LIMIT:
        assert error.status_code == 429


def test_missing_executable_says_how_to_install_it(
    cli: FakeCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    error = failed(collect(ClaudeCodeAdapter(), cli.request()), ErrorClass.CONFIG)
    assert error.message == (
        "Claude Code is not installed: npm install -g @anthropic-ai/claude-code (then `claude` "
        "must be on PATH, or set ATO_CLAUDE_BIN to its path)."
    )

    monkeypatch.setenv("ATO_CLAUDE_BIN", str(tmp_path / "nowhere" / "claude"))
    error = failed(collect(ClaudeCodeAdapter(), cli.request()), ErrorClass.CONFIG)
    assert "ATO_CLAUDE_BIN is set to" in error.message and "npm install" in error.message


def test_the_executable_can_come_from_ato_claude_bin(
    cli: FakeCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(
        "PATH",
        os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != str(FAKE_BIN)),
    )
    monkeypatch.setenv("ATO_CLAUDE_BIN", str(FAKE_BIN / "claude"))
    finished(cli.run(ClaudeCodeAdapter, "happy"))


@pytest.mark.parametrize("cwd", [None, "missing"])
def test_the_working_directory_must_exist(cli: FakeCli, cwd: str | None) -> None:
    path = None if cwd is None else str(cli.workdir / cwd)
    error = failed(collect(ClaudeCodeAdapter(), cli.request(cwd=path)), ErrorClass.CONFIG)
    assert "working" in error.message and "working_dir" in error.message


def test_malformed_lines_and_unknown_events_are_skipped(
    cli: FakeCli, caplog: pytest.LogCaptureFixture
) -> None:
    events = cli.run(ClaudeCodeAdapter, "garbage")

    finished(events)
    assert text_of(events) == "Survived the garbage."
    assert "not a JSON event" in caplog.text


def test_an_old_claude_code_is_told_to_update(cli: FakeCli) -> None:
    error = failed(cli.run(ClaudeCodeAdapter, "old"), ErrorClass.CONFIG)
    assert "unknown option '--include-partial-messages'" in error.message
    assert "update it (npm install -g @anthropic-ai/claude-code)" in error.message


def test_an_exit_without_a_result_is_an_interrupted_stream(cli: FakeCli) -> None:
    events = cli.run(ClaudeCodeAdapter, "no_result")
    error = failed(events, ErrorClass.STREAM_INTERRUPTED)
    assert "exited before finishing" in error.message
    assert text_of(events) == "Exiting early."


def test_a_long_running_tool_is_not_a_stall(cli: FakeCli) -> None:
    cli.scenario("slow_tool", ATO_FAKE_DELAY="0.8")
    events = collect(ClaudeCodeAdapter(), cli.request(stall_timeout_s=0.3, request_timeout_s=5))

    finished(events)
    (bash,) = [s for s in steps(events) if s.name == "Bash"]
    assert bash.outputs["output"] == "42 passed"
    assert bash.duration_ns is not None and bash.duration_ns >= 700_000_000
