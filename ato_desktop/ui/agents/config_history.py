"""Agent config versions as readable text: field labels, before -> after values, prompt diffs.

Plain functions and dataclasses (no Qt): the history view renders them, tests read them.
"""

from __future__ import annotations

import difflib
import html
import json
from dataclasses import dataclass
from typing import Any

from ato_desktop.core.records import AgentVersionRecord

FIELD_LABELS = {
    "runtime": "Runtime",
    "model": "Model",
    "system_prompt": "System prompt",
    "base_url": "Base URL",
    "budget_per_day_usd": "Budget per day (USD)",
    "working_dir": "Working directory",
    "mcp_servers": "MCP servers",
    "tool_rules": "Tool rules",
    "read_only_tools": "Read-only tools",
    "max_tool_calls": "Tool calls per run (limit)",
    "max_cost_usd": "Cost per run (limit, USD)",
}
NOT_SET = "not set"
NONE = "none"
RULE_TEXT = {
    "allow": "allow",
    "approve": "approve (asks first)",
    "deny": "deny (never offered)",
}


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One changed field of a version, ready to show."""

    path: str
    label: str
    before: str
    after: str
    kind: str  # "added" | "removed" | "changed"
    is_prompt: bool = False
    before_raw: Any = None
    after_raw: Any = None


def field_label(path: str) -> str:
    """'params.temperature' -> 'Parameter temperature'."""
    if path in FIELD_LABELS:
        return FIELD_LABELS[path]
    group, _, key = path.partition(".")
    if group == "params":
        return f"Parameter {key}"
    if group == "role_models":
        return f"Model for role {key}"
    if group == "tool_rules":
        return f"Tool rule {key}"
    return path


def value_text(value: Any, path: str = "") -> str:
    """A recorded value as a person reads it: lists as 'a, b', rules with what they do."""
    if value is None or value == "":
        return NOT_SET
    if path.startswith("tool_rules.") and isinstance(value, str):
        return RULE_TEXT.get(value.strip().lower(), value)
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) if value else NONE
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def describe_changes(version: AgentVersionRecord) -> list[FieldChange]:
    """The version's recorded diff, in a stable order: core fields first, then the rest."""
    order = {path: n for n, path in enumerate(FIELD_LABELS)}
    changes = []
    for entry in version.diff:
        path = str(entry.get("path", ""))
        before, after = entry.get("before"), entry.get("after")
        kind = "added" if before is None else "removed" if after is None else "changed"
        changes.append(
            FieldChange(
                path=path,
                label=field_label(path),
                before=value_text(before, path),
                after=value_text(after, path),
                kind=kind,
                is_prompt=path == "system_prompt",
                before_raw=before,
                after_raw=after,
            )
        )
    # Grouped fields (tool_rules.shop/x) sort where their group does.
    return sorted(
        changes,
        key=lambda c: (order.get(c.path, order.get(c.path.partition(".")[0], len(order))), c.path),
    )


def prompt_diff(before: str | None, after: str | None) -> list[tuple[str, str]]:
    """A unified diff of two prompts as (mark, line): mark is '+', '-', ' ' or '@'."""
    lines = difflib.unified_diff(
        (before or "").splitlines(), (after or "").splitlines(), lineterm="", n=2
    )
    result: list[tuple[str, str]] = []
    for line in lines:
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            result.append(("@", "…"))
        else:
            result.append((line[:1] or " ", line[1:]))
    return result


def version_summary(version: AgentVersionRecord) -> str:
    """'model, Parameter temperature' or 'created'."""
    if version.version == 1:
        return "created"
    labels = [change.label for change in describe_changes(version)]
    if not labels:
        return "no changes"
    if len(labels) > 2:
        return f"{labels[0]}, {labels[1]} +{len(labels) - 2}"
    return ", ".join(labels)


@dataclass(frozen=True, slots=True)
class DiffColors:
    text: str
    muted: str
    added_bg: str
    removed_bg: str
    added_text: str
    removed_text: str
    border: str
    code_bg: str


def changes_html(version: AgentVersionRecord, colors: DiffColors) -> str:
    """The version's changes as an HTML table (before -> after), prompts as a line diff."""
    changes = describe_changes(version)
    esc = html.escape
    if not changes:
        return f"<p style='color:{colors.muted}'>Nothing changed in this version.</p>"
    created = version.version == 1
    rows = []
    cell = f"padding:6px 10px; border-bottom:1px solid {colors.border}; vertical-align:top;"
    for change in changes:
        label = f"<td style='{cell} font-weight:600; white-space:nowrap'>{esc(change.label)}</td>"
        if change.is_prompt:
            body = _prompt_html(change, colors, created)
            rows.append(f"<tr>{label}<td colspan='3' style='{cell}'>{body}</td></tr>")
            continue
        before = (
            f"<span style='color:{colors.muted}'>{esc(change.before)}</span>"
            if change.before_raw is None
            else f"<span style='background:{colors.removed_bg}; color:{colors.removed_text}'>"
            f"&nbsp;{esc(change.before)}&nbsp;</span>"
        )
        after = (
            f"<span style='color:{colors.muted}'>{esc(change.after)}</span>"
            if change.after_raw is None
            else f"<span style='background:{colors.added_bg}; color:{colors.added_text}'>"
            f"&nbsp;{esc(change.after)}&nbsp;</span>"
        )
        if created:
            rows.append(f"<tr>{label}<td colspan='3' style='{cell}'>{after}</td></tr>")
        else:
            rows.append(
                f"<tr>{label}<td style='{cell}'>{before}</td>"
                f"<td style='{cell} color:{colors.muted}; width:16px'>→</td>"
                f"<td style='{cell}'>{after}</td></tr>"
            )
    head = "Created with" if created else "Changes from the previous version"
    return (
        f"<p style='color:{colors.muted}; margin-bottom:6px'>{head}</p>"
        f"<table cellspacing='0' cellpadding='0' width='100%'>{''.join(rows)}</table>"
    )


def _prompt_html(change: FieldChange, colors: DiffColors, created: bool) -> str:
    esc = html.escape
    pre = (
        f"margin:0; padding:6px 8px; background:{colors.code_bg}; "
        f"border:1px solid {colors.border}; white-space:pre-wrap;"
    )
    if created or change.before_raw is None or change.after_raw is None:
        text = change.after if change.after_raw is not None else change.before
        return f"<pre style='{pre}'>{esc(text)}</pre>"
    lines = []
    for mark, line in prompt_diff(change.before_raw, change.after_raw):
        if mark == "+":
            style = f"background:{colors.added_bg}; color:{colors.added_text}"
        elif mark == "-":
            style = f"background:{colors.removed_bg}; color:{colors.removed_text}"
        elif mark == "@":
            style = f"color:{colors.muted}"
        else:
            style = f"color:{colors.text}"
        shown = mark if mark in "+-" else " "
        lines.append(f"<span style='{style}'>{esc(shown)} {esc(line) or '&nbsp;'}</span>")
    return f"<pre style='{pre}'>{'<br>'.join(lines)}</pre>"
