"""The pure helpers the coding-agent runtimes share (runtimes.subprocess_stream)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ato_desktop.core.models import ChatMessage, ErrorClass, ToolCall
from ato_desktop.runtimes.subprocess_stream import (
    CliInfo,
    ExecutableNotFound,
    PromptError,
    classify_failure,
    deleted_files,
    find_executable,
    relative_path,
    removal_targets,
    transcript_prompt,
    trim_text,
)

INFO = CliInfo("Thing CLI", "thing", "ATO_THING_BIN", "pip install thing", "Log in.")


@pytest.mark.parametrize(
    ("command", "targets"),
    [
        ("rm old.txt", ["old.txt"]),
        ("rm -rf build dist && make", ["build", "dist"]),
        ("rm -f old.txt 2>/dev/null", ["old.txt"]),
        ("rm x > log.txt; unlink y", ["x", "y"]),
        ("bash -lc 'rm scratch.txt'", ["scratch.txt"]),
        ("FOO=1 sudo rm -- -weird.txt", ["-weird.txt"]),
        ("git rm tracked.py", ["tracked.py"]),
        ("git rm --cached tracked.py", []),  # the file stays on disk
        ("rm -rf build/* $TMPDIR/x ~/y", []),  # globs and expansions: not evident
        ("cat x | xargs rm", []),
        ("echo rm x", []),
        ("rm 'unterminated", []),
    ],
)
def test_removal_targets(command: str, targets: list[str]) -> None:
    assert removal_targets(command) == targets


def test_deleted_files_are_the_targets_gone_afterwards(tmp_path: Path) -> None:
    (tmp_path / "kept.txt").write_text("x")
    touched = deleted_files(f"rm gone.txt kept.txt {tmp_path / 'abs.txt'}", str(tmp_path))
    assert [(t.path, t.change) for t in touched] == [
        ("gone.txt", "deleted"),
        ("abs.txt", "deleted"),
    ]


def test_relative_path(tmp_path: Path) -> None:
    cwd = str(tmp_path)
    assert relative_path(str(tmp_path / "src" / "a.py"), cwd) == "src/a.py"
    assert relative_path("src/../b.py", cwd) == "b.py"
    assert relative_path("/etc/hosts", cwd) == "/etc/hosts"


def test_transcript_prompt() -> None:
    assert transcript_prompt([ChatMessage("user", "Hi")]) == "Hi"
    prompt = transcript_prompt(
        [
            ChatMessage("user", "List files"),
            ChatMessage("assistant", "", tool_calls=(ToolCall("c1", "ls", {"path": "."}),)),
            ChatMessage("tool", "a.txt", tool_call_id="c1", tool_name="ls"),
            ChatMessage("user", "Delete a.txt"),
        ]
    )
    assert '[called tool ls with {"path": "."}]' in prompt
    assert '<tool_result name="ls">\na.txt\n</tool_result>' in prompt
    assert prompt.endswith("Delete a.txt")
    with pytest.raises(PromptError):
        transcript_prompt([])
    with pytest.raises(PromptError, match="must end with a user message"):
        transcript_prompt([ChatMessage("user", "a"), ChatMessage("assistant", "b")])


@pytest.mark.parametrize(
    ("text", "status", "error_class"),
    [
        ("Invalid API key · Please run /login", None, ErrorClass.AUTH),
        ("unexpected status 401 Unauthorized", None, ErrorClass.AUTH),
        ("Not logged in. Run codex login", None, ErrorClass.AUTH),
        ("exceeded retry limit, last status: 429 Too Many Requests", None, ErrorClass.RATE_LIMIT),
        ("Credit balance is too low", None, ErrorClass.RATE_LIMIT),
        ("error: unknown option '--verbose'", None, ErrorClass.CONFIG),
        ("connect ECONNREFUSED 127.0.0.1:443", None, ErrorClass.NETWORK),
        ("model 'x' does not exist", None, ErrorClass.BAD_REQUEST),
        ("Overloaded", None, ErrorClass.SERVER_ERROR),
        ("something odd", None, ErrorClass.SERVER_ERROR),
        ("whatever", 403, ErrorClass.AUTH),
        ("whatever", 529, ErrorClass.SERVER_ERROR),
    ],
)
def test_classify_failure(text: str, status: int | None, error_class: ErrorClass) -> None:
    assert classify_failure(text, status) is error_class


def test_trim_text_keeps_head_and_tail_and_says_how_much_was_cut() -> None:
    text = "a" * 10_000 + "END"
    trimmed = trim_text(text, 1000)
    assert len(trimmed) < 1100
    assert trimmed.startswith("a" * 700) and trimmed.endswith("END")
    assert "[… 9,003 characters omitted of 10,003 …]" in trimmed
    assert trim_text("short", 1000) == "short"


def test_find_executable(tmp_path: Path) -> None:
    tool = tmp_path / "thing"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    assert find_executable(INFO, {"PATH": str(tmp_path)}) == str(tool)
    assert find_executable(INFO, {"PATH": "", "ATO_THING_BIN": str(tool)}) == str(tool)
    assert find_executable(INFO, {"PATH": str(tmp_path), "ATO_THING_BIN": "thing"}) == str(tool)
    with pytest.raises(ExecutableNotFound, match=r"Thing CLI is not installed: pip install thing"):
        find_executable(INFO, {"PATH": str(tmp_path / "nowhere")})
    with pytest.raises(ExecutableNotFound, match="ATO_THING_BIN is set to"):
        find_executable(INFO, {"PATH": str(tmp_path), "ATO_THING_BIN": str(tmp_path / "no")})
