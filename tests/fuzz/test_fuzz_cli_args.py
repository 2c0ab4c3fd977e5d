"""The CLI's argument handling: any arguments to any command end in an exit code and a message,
never an unexpected exception (a crash report).

Argument lists are built from the real parser (every subcommand, its positionals and a random
subset of its options, with hostile values: control characters, bidi overrides, lone
surrogates as a shell passes undecodable bytes, huge and non-finite numbers, empty strings),
then run in process against a real log that holds an agent, a run, a group and a schedule.
Commands that would reach the network, run forever, spawn programs or write files where the
arguments say are left out (listed in SKIPPED); their parsers still run through --help-free
parse checks in test_every_parser_reaches_a_decision.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ato_desktop import cli
from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import NewAction, NewRun, RunEnd
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.paths import DataPaths

# What a command may end with: done, failed, usage, log unusable, killed.
EXIT_CODES = {0, 1, 2, 3, 130}

# Commands whose run reaches the network or a model, runs until stopped, spawns a program, or
# writes where an argument points: the fuzz drives their parsers only (see below).
SKIPPED = {
    "dispatch",
    "replay",
    "eval",
    "insights evidence",
    "groups run",
    "skills run",
    "schedules run",
    "schedules daemon",
    "mcp test",
    "sync now",
    "receiver run",
    "demo",
    "keys set",  # reads a key from stdin and writes the keyring
}
WRITES_WHERE_TOLD = {"-o", "--output"}


def _commands() -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{prefix} {name}".strip())
                return
        found[prefix] = parser

    walk(cli.build_parser(), "")
    return found


COMMANDS = _commands()
RUNNABLE = sorted(name for name in COMMANDS if name not in SKIPPED)

HOSTILE = st.one_of(
    st.text(max_size=30).filter(lambda t: "\x00" not in t),
    st.sampled_from(
        [
            "",
            " ",
            "-",
            "--",
            "a\x1b]0;pwned\x07",
            "\x1b[2J",
            "x\u202eevil",
            "caf\udce9",  # a non-UTF-8 byte, as Python decodes argv
            "\r",
            "nan",
            "-nan",
            "inf",
            "-inf",
            "1e999",
            "-1",
            "0",
            "99999999999999999999",
            "-99999999999999999999",
            "1.5",
            "1e308",
            "0x10",
            "10m",
            "-5s",
            "999999999999d",
            "all",
            "24h",
            "key=value",
            "=",
            "a=b=c",
            "planner",
            "daily",
            "* * * * *",
            "@daily",
            "* * * * * *",
            "completed",
            "claude",
            "csv",
            "/nonexistent/file",
            ".",
            "{}",
            "[]",
            '{"a":1}',
            "\ufeff",
            "é😀",
        ]
    ),
)


def _value(action: argparse.Action) -> st.SearchStrategy[str]:
    if action.choices:
        return st.one_of(st.sampled_from([str(c) for c in action.choices]), HOSTILE)
    return HOSTILE


@st.composite
def argument_lists(draw: st.DrawFn) -> list[str]:
    command = draw(st.sampled_from(RUNNABLE))
    parser = COMMANDS[command]
    argv = command.split()
    options: list[str] = []
    positionals: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if not action.option_strings:
            count = {None: 1, "?": draw(st.integers(0, 1)), "*": draw(st.integers(0, 2))}.get(
                action.nargs,  # type: ignore[arg-type]
                draw(st.integers(1, 2)),
            )
            positionals += [draw(_value(action)) for _ in range(count)]
            continue
        if set(action.option_strings) & WRITES_WHERE_TOLD or not draw(st.booleans()):
            continue
        flag = draw(st.sampled_from(action.option_strings))
        if action.nargs == 0:
            options.append(flag)
        else:
            # --opt=value keeps values that start with "-" from being read as options.
            options.append(f"{flag}={draw(_value(action))}")
    return argv + draw(st.permutations(options)) + ["--", *positionals] * bool(positionals)


@pytest.fixture(scope="module")
def seeded_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A log with an agent, a finished run, a group and a schedule, so commands find things."""
    home = tmp_path_factory.mktemp("fuzz-cli-home")
    ws = Workspace.open(DataPaths(home))
    try:
        ws.agents.create("planner", AgentConfig("claude", "claude-sonnet-5"))
        run_id, run_no = ws.store.create_run(
            NewRun("claude", "claude-sonnet-5", "cli", 1_700_000_000_000), owner=None
        ).result()
        ws.store.complete_run(
            run_id,
            run_no,
            NewAction("call_llm", "llm", "success", 1_700_000_000_000, outputs={"text": "ok"}),
            RunEnd("completed", 1_700_000_001_000, 1_000_000_000),
        ).result()
    finally:
        ws.close()
    yield home


@settings(
    deadline=None,  # each example opens the workspace; the bound is the loop's own limit below
    suppress_health_check=(HealthCheck.function_scoped_fixture, HealthCheck.too_slow),
)
@given(argv=argument_lists())
def test_any_arguments_end_in_an_exit_code_never_an_exception(
    argv: list[str],
    seeded_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("ATO_HOME", str(seeded_home))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"caf\xe9\n"), "utf-8"))
    out = io.StringIO()
    try:
        code = cli.main(argv, stdout=out)
    except SystemExit as exc:  # argparse: a usage error, printed with the usage line
        assert exc.code in (0, 2), argv
        return
    assert code in EXIT_CODES, (argv, code)
    printed = out.getvalue()
    assert "\x1b" not in printed and "\x07" not in printed and "\u202e" not in printed


@pytest.mark.parametrize("command", sorted(SKIPPED))
def test_every_parser_reaches_a_decision(command: str) -> None:
    """The commands the fuzz does not run still parse hostile values into a namespace or a
    usage error (exit 2), and the checks after parsing refuse non-finite or huge numbers."""
    parser = cli.build_parser()
    for value in ("nan", "1e999", "99999999999999999999", "caf\udce9", "\x1b[2J"):
        for action in COMMANDS[command]._actions:
            if not action.option_strings or action.nargs == 0:
                continue
            argv = [*command.split(), f"{action.option_strings[0]}={value}"]
            try:
                args = parser.parse_args(argv)
            except SystemExit as exc:
                assert exc.code == 2
                continue
            try:
                cli.check_numbers(args)
            except cli.UsageError:
                continue
