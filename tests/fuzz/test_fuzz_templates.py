"""Hand-off templates: any text renders or is reported, nothing is evaluated, never a crash."""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from ato_desktop.core.templates import placeholders, render, template_problems
from tests.fuzz.strategies import HOSTILE_TEXT

NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}(\.[A-Za-z_][A-Za-z0-9_]{0,4})?", fullmatch=True)
TEMPLATES = st.one_of(
    HOSTILE_TEXT,
    st.lists(st.one_of(HOSTILE_TEXT, NAMES.map(lambda n: "{" + n + "}")), max_size=8).map("".join),
)


@given(TEMPLATES, st.dictionaries(NAMES, HOSTILE_TEXT, max_size=4))
@example("{a.__class__}{0}{x!r}{y:>10}{{z}}", {"a": "A", "y": "Y"})
@example("{A}}", {})
def test_render_fills_only_plain_names(template: str, values: dict[str, str]) -> None:
    out = render(template, values)
    # Every name-shaped placeholder given a value is gone; format syntax stays as written.
    for name in placeholders(template):
        if name in values and "{" + name + "}" not in values[name]:
            leftover = re.sub(r"\{\{|\}\}", "", template)
            assert ("{" + name + "}" in leftover) or name not in placeholders(template)
    assert isinstance(out, str)
    # Without placeholders, rendering only unescapes the doubled braces (with one, "{A}}" is
    # the placeholder {A} then a stray brace, so the braces pair up differently).
    if not placeholders(template):
        assert render(template, {}) == _unescape_only(template)


def _unescape_only(template: str) -> str:
    return re.sub(r"\{\{|\}\}", lambda m: m.group(0)[0], template)


@given(TEMPLATES, st.lists(NAMES, max_size=4))
def test_problems_name_exactly_the_unknown_placeholders(template: str, allowed: list[str]) -> None:
    problems = template_problems(template, allowed)
    unknown = [n for n in placeholders(template) if n not in allowed]
    assert bool(problems) == bool(unknown)
    for name in unknown:
        assert "{" + name + "}" in problems[0]
