"""Differences between two agent configurations, recorded with every new config version."""

from __future__ import annotations

from dataclasses import dataclass

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:
    from typing import Any


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """One changed field; path is dotted for nested dicts (params.temperature)."""

    path: str
    before: Any
    after: Any

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "before": self.before, "after": self.after}


def diff_configs(before: dict[str, Any] | None, after: dict[str, Any]) -> list[ConfigChange]:
    """Field-level changes from before to after (before None: everything is new)."""
    changes: list[ConfigChange] = []
    _diff("", before or {}, after, changes, created=before is None)
    return changes


def _diff(
    prefix: str,
    before: dict[str, Any],
    after: dict[str, Any],
    out: list[ConfigChange],
    *,
    created: bool,
) -> None:
    for key in sorted(set(before) | set(after)):
        path = f"{prefix}{key}"
        old, new = before.get(key), after.get(key)
        # role_models and params are dicts: report their keys one by one, a clearer history.
        if isinstance(old, dict) or isinstance(new, dict):
            _diff(f"{path}.", old or {}, new or {}, out, created=created)
        elif old != new and not (created and _empty(new)):
            # An absent list and an empty one mean the same, as do an absent switch and one
            # that is off (configs saved before a field existed lack it): not a change.
            if _empty(old) and _empty(new):
                continue
            out.append(ConfigChange(path, old, new))


def _empty(value: Any) -> bool:
    """None, an empty list and a switch that is off (False, not 0) mean "not set"."""
    return value is None or value is False or value == [] or value == ()


def summarize_changes(changes: list[ConfigChange], limit: int = 3) -> str:
    """'model: a -> b; system_prompt changed; +1 more'."""
    parts: list[str] = []
    for change in changes[:limit]:
        if change.path == "system_prompt":
            parts.append("system_prompt changed")
        else:
            parts.append(f"{change.path}: {_short(change.before)} -> {_short(change.after)}")
    if len(changes) > limit:
        parts.append(f"+{len(changes) - limit} more")
    return "; ".join(parts) if parts else "no changes"


def _short(value: Any) -> str:
    text = "∅" if value is None else str(value)
    return text if len(text) <= 40 else text[:37] + "..."
