"""The coding-agent parsers on what the real CLIs print (issue 16.11).

The fixtures are the stdout of the real Claude Code 2.1.197 and Codex CLI 0.171.0 binaries (npm
@anthropic-ai/claude-code, @openai/codex), run against the loopback fake in a network namespace
of their own by scripts/capture-cli-fixtures.sh; the scenarios they were given are in
fixtures/scenarios/. Nothing here runs npm or the binaries.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from ato_desktop.core.models import AgentStep, ErrorClass, EventKind, RuntimeEvent, TokenUsage
from ato_desktop.core.usage import usage_from_anthropic
from ato_desktop.runtimes.claude_code import ClaudeStreamParser
from ato_desktop.runtimes.codex_cli import CodexStreamParser
from ato_desktop.runtimes.subprocess_stream import ProcessExit

FIXTURES = Path(__file__).parent / "fixtures"
CLAUDE = FIXTURES / "claude-code-2.1.197"
CODEX = FIXTURES / "codex-0.171.0"


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def replay(
    parser: ClaudeStreamParser | CodexStreamParser, events: list[dict[str, Any]], code: int = 0
) -> list[RuntimeEvent]:
    out: list[RuntimeEvent] = []
    for number, event in enumerate(events):
        out.extend(parser.feed(event, number * 1_000_000))
    out.extend(parser.finish(ProcessExit(code, "", 0)))
    return out


def steps(events: list[RuntimeEvent]) -> list[AgentStep]:
    return [e.step for e in events if e.kind is EventKind.STEP and e.step is not None]


def tool_steps(events: list[RuntimeEvent], name: str) -> list[AgentStep]:
    return [step for step in steps(events) if step.name == name]


def claude(name: str, tmp_path: Path) -> list[RuntimeEvent]:
    return replay(ClaudeStreamParser(str(tmp_path), None), lines(CLAUDE / f"{name}.jsonl"))


# --------------------------------------------------------------------------------- Claude Code


def test_a_plain_answer_reads_text_usage_cost_and_the_model_that_answered(tmp_path: Path) -> None:
    events = claude("happy", tmp_path)

    assert "".join(e.text for e in events if e.kind is EventKind.TEXT) == "Hello from the fake."
    (usage,) = [e for e in events if e.kind is EventKind.USAGE]
    result = lines(CLAUDE / "happy.jsonl")[-1]
    assert usage.usage == usage_from_anthropic(result["usage"])
    assert usage.usage == TokenUsage(142, 9, 100, 30)
    assert usage.provider_cost_usd == result["total_cost_usd"]
    finish = events[-1]
    assert finish.kind is EventKind.FINISH
    # init says "claude-opus-4-8[1m]" (the agent asked for Claude Code's default); the model
    # that answered, as the API and the price table name it:
    assert finish.response_model == "claude-opus-4-8"


@pytest.mark.parametrize("name", ["deny", "deny_outside_workdir"])
def test_a_refused_tool_is_blocked_not_an_error(name: str, tmp_path: Path) -> None:
    events = claude(name, tmp_path)

    (bash,) = tool_steps(events, "Bash")
    assert bash.outcome == "blocked"
    assert bash.outputs is not None and bash.outputs["exit_code"] is None  # it never ran
    result = lines(CLAUDE / f"{name}.jsonl")[-1]
    assert [d["tool_name"] for d in result["permission_denials"]] == ["Bash"]
    assert events[-1].kind is EventKind.FINISH  # the agent answered after the refusal


def test_permission_denials_decide_a_refusal_worded_in_a_way_not_known_yet(
    tmp_path: Path,
) -> None:
    """The result event's permission_denials is authoritative: a refusal in new words is held
    until it arrives, then blocked; the same failure not listed there is an error."""
    events = lines(CLAUDE / "deny.jsonl")
    for event in events:
        if event.get("type") == "user":
            event["message"]["content"][0]["content"] = "Denied by the organisation's policy"
    refused = replay(ClaudeStreamParser(str(tmp_path), None), events)
    (bash,) = tool_steps(refused, "Bash")
    assert bash.outcome == "blocked"

    events[-1]["permission_denials"] = []
    failed = replay(ClaudeStreamParser(str(tmp_path), None), events)
    (bash,) = tool_steps(failed, "Bash")
    assert bash.outcome == "error"


def test_a_bash_step_keeps_its_exit_code(tmp_path: Path) -> None:
    (failed,) = tool_steps(claude("bash_exit", tmp_path), "Bash")
    assert failed.outcome == "error" and failed.kind == "command"
    assert failed.outputs is not None and failed.outputs["exit_code"] == 2
    assert "No such file or directory" in failed.outputs["output"]

    (ok,) = tool_steps(claude("bash_ok", tmp_path), "Bash")
    assert ok.outcome == "success" and ok.outputs is not None
    assert (ok.outputs["exit_code"], ok.outputs["output"]) == (0, "hi")


def test_an_api_retry_shows_the_run_waiting_and_its_wait_is_not_a_stall(tmp_path: Path) -> None:
    parser = ClaudeStreamParser(str(tmp_path), None)
    events = lines(CLAUDE / "retry.jsonl")
    retry_at = next(n for n, e in enumerate(events) if e.get("subtype") == "api_retry")
    seen: list[RuntimeEvent] = []
    for number, event in enumerate(events[: retry_at + 1]):
        seen.extend(parser.feed(event, number))

    (waiting,) = tool_steps(seen, "api_retry")
    assert waiting.kind == "wait" and waiting.outputs is not None
    assert (waiting.outputs["error_status"], waiting.outputs["retry_delay_ms"]) == (429, 2000)
    assert parser.waiting_s == 2.0  # run_cli adds it to the stall allowance
    rest = [event for n, event in enumerate(events) if n > retry_at]
    for event in rest:
        seen.extend(parser.feed(event, 0))
    assert parser.waiting_s == 0.0  # the next event ends the wait
    seen.extend(parser.finish(ProcessExit(0, "", 0)))
    assert seen[-1].kind is EventKind.FINISH
    assert seen[-1].response_model == "claude-haiku-4-5"


# ------------------------------------------------------------------------------------- Codex


def test_codex_usage_reads_cache_writes(tmp_path: Path) -> None:
    events = replay(CodexStreamParser(str(tmp_path), None, None), lines(CODEX / "happy.jsonl"))

    (usage,) = [e for e in events if e.kind is EventKind.USAGE]
    reported = lines(CODEX / "happy.jsonl")[-1]["usage"]
    assert reported["cache_write_input_tokens"] == 30
    assert usage.usage == TokenUsage(
        input_tokens=142, output_tokens=9, cache_read_tokens=100, cache_write_tokens=30
    )


def test_codex_names_the_model_that_answered_from_its_session_rollout(tmp_path: Path) -> None:
    """The agent said "default": codex exec's events never name the model; the session's
    rollout file (its turn_context) does."""
    happy = lines(CODEX / "happy.jsonl")
    thread_id = happy[0]["thread_id"]
    day = tmp_path / "sessions" / "2026" / "12" / "07"
    day.mkdir(parents=True)
    shutil.copy(
        CODEX / "rollout_head.jsonl", day / f"rollout-2026-12-07T02-50-59-{thread_id}.jsonl"
    )

    events = replay(CodexStreamParser(str(tmp_path), None, None, str(tmp_path)), happy)

    assert events[-1].kind is EventKind.FINISH
    assert events[-1].response_model == "gpt-6.2-sol"
    # No rollout (another CODEX_HOME): no model rather than a guess.
    elsewhere = replay(CodexStreamParser(str(tmp_path), None, None, str(day)), happy)
    assert elsewhere[-1].response_model is None


def test_codex_rate_limited_turn_fails_as_rate_limit(tmp_path: Path) -> None:
    events = replay(
        CodexStreamParser(str(tmp_path), None, None), lines(CODEX / "rate_limited.jsonl"), code=1
    )

    error = events[-1]
    assert error.kind is EventKind.ERROR and error.error_class is ErrorClass.RATE_LIMIT
    assert "429 Too Many Requests" in error.message
