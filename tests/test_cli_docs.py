"""docs/cli.md is generated from the parser and current; every command and option is documented
and names its handler (issue 19, item 3: the CLI as a package, each command beside its parser)."""

from __future__ import annotations

import argparse
import io
import re
from collections.abc import Iterator

import pytest

from ato_desktop import cli
from ato_desktop.cli import docs


def _commands() -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    return docs.command_paths(cli.build_parser())


def _sections(text: str) -> dict[str, str]:
    """docs/cli.md's `## ato-desktop ...` sections by title."""
    parts = re.split(r"^## (ato-desktop.*)$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_the_page_is_what_the_parser_says() -> None:
    assert docs.DOC.read_text(encoding="utf-8") == docs.render(), (
        "docs/cli.md is out of date: run python -m ato_desktop.cli.docs"
    )
    assert docs.main(["--check"]) == 0


def test_every_command_and_option_is_documented() -> None:
    sections = _sections(docs.DOC.read_text(encoding="utf-8"))
    missing: list[str] = []
    for path, parser in _commands():
        title = " ".join(("ato-desktop", *path))
        section = sections.get(title)
        if section is None:
            missing.append(f"no section for {title}")
            continue
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if isinstance(action, argparse._SubParsersAction):
                helps = {choice.dest: choice.help for choice in action._choices_actions}
                missing += [
                    f"{title} {name}: no help" for name in action.choices if not helps[name]
                ]
                continue
            if action.option_strings and not action.help:
                missing.append(f"{title} {action.option_strings[0]}: no help")
            for option in action.option_strings:
                if option not in section:
                    missing.append(f"{title} {option}: not on the page")
    assert missing == []


def test_every_command_names_its_handler() -> None:
    """Each command that runs something names its handler beside its parser (set_defaults, on
    the command or on the group it belongs to): no table of handlers far from the parsers."""
    parsers = dict(_commands())

    def handler(path: tuple[str, ...]) -> object:
        for end in range(len(path), 0, -1):
            found = parsers[path[:end]].get_default("handler")
            if found is not None:
                return found
        return None

    without = [
        " ".join(path)
        for path, parser in parsers.items()
        if path
        and not any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)
        and not callable(handler(path))
    ]
    assert without == []
    assert not hasattr(cli, "_HANDLERS")


def _help(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> str:
    for name in path:
        (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        parser = subparsers.choices[name]
    out = io.StringIO()
    parser.print_help(out)
    return out.getvalue()


@pytest.mark.parametrize("command", sorted(cli.all_command_names()))
def test_a_command_alone_reads_as_in_the_whole_parser(command: str) -> None:
    """Running one command builds its parser alone; its help, and what it parses, are the same
    as in the whole parser."""
    whole, alone = cli.build_parser(), cli.build_parser(command)
    assert _help(alone, ()).splitlines()[0] == _help(whole, ()).splitlines()[0]  # usage
    paths = [p for p, _parser in docs.command_paths(whole) if p[:1] == (command,)]
    assert paths
    for path in paths:
        assert _help(alone, path) == _help(whole, path)


def test_the_top_level_help_lists_every_command_without_building_them() -> None:
    overview = cli.build_parser(cli.NO_COMMAND)
    assert _help(overview, ()) == _help(cli.build_parser(), ())
