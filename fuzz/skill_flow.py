"""Skill flow Markdown -> parse_skill (SkillParseError when it is not a usable flow)."""

from __future__ import annotations

import atheris

with atheris.instrument_imports(include=["ato_desktop"]):
    from ato_desktop.core.skill_flow import SkillParseError, parse_skill

from harness import fuzz, text


def target(data: bytes) -> None:
    markdown = text(data)
    if markdown is not None and "\x00" not in markdown:  # the reader refuses binary files
        parse_skill(markdown, path="flow.md", agent="default")


if __name__ == "__main__":
    fuzz(target, (SkillParseError,))
