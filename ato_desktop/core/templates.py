"""Hand-off templates: `{input}`, `{previous}`, `{run.output}` filled in, nothing evaluated.

Like str.format_map restricted to plain names: a placeholder is `{name}` or `{a.b}`; `{{` and
`}}` are literal braces. No attribute access, indexing or format specs, so a template can never
reach into an object or run code. Anything else in braces stays as it is (prompts often hold
JSON), while a name-shaped placeholder that is not allowed is an error when the template is
checked, and left alone when it is rendered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}")


class TemplateError(ValueError):
    """A template naming a placeholder that does not exist."""


def placeholders(template: str) -> list[str]:
    """The names used, in order of first use."""
    seen: list[str] = []
    for match in _PLACEHOLDER.finditer(template):
        name = match.group(1)
        if name and name not in seen:
            seen.append(name)
    return seen


def template_problems(template: str, allowed: Iterable[str]) -> list[str]:
    known = list(allowed)
    unknown = [n for n in placeholders(template) if n not in known]
    if not unknown:
        return []
    names = ", ".join("{" + n + "}" for n in unknown)
    usable = ", ".join("{" + n + "}" for n in known)
    return [f"unknown placeholder {names} in the template; use {usable} (write {{{{ for a brace)"]


def render(template: str, values: Mapping[str, str]) -> str:
    """The template with its placeholders replaced by values (unknown ones left as written)."""

    def sub(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = match.group(1)
        return values.get(name, token)

    return _PLACEHOLDER.sub(sub, template)
