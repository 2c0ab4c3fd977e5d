"""Carrying generation parameters from one runtime to another (replay), with a note for each
one that had to change or be dropped.

ATO stores parameters under neutral names (temperature, top_p, top_k, max_tokens, stop, seed,
frequency_penalty, presence_penalty, reasoning_effort); each runtime adapter sends the ones its
API has. Replaying on another runtime keeps what the target supports, maps what has an
equivalent, and drops the rest, saying so, so an A/B is never silently different.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# What each runtime's adapter sends (see the adapters' docstrings).
SUPPORTED: dict[str, frozenset[str]] = {
    "claude": frozenset({"temperature", "top_p", "top_k", "max_tokens", "stop"}),
    "codex": frozenset({"temperature", "top_p", "max_tokens", "reasoning_effort"}),
    "openai-compatible": frozenset(
        {
            "temperature",
            "top_p",
            "max_tokens",
            "stop",
            "seed",
            "frequency_penalty",
            "presence_penalty",
        }
    ),
    "claude-code": frozenset(
        {
            "permission_mode",
            "allowed_tools",
            "disallowed_tools",
            "max_turns",
            "max_budget_usd",
            "replace_system_prompt",
        }
    ),
    "codex-cli": frozenset({"sandbox", "reasoning_effort"}),
}

# Temperature ranges: Anthropic 0..1, OpenAI 0..2.
_TEMPERATURE_MAX = {"claude": 1.0, "codex": 2.0, "openai-compatible": 2.0}


def map_params(
    params: Mapping[str, Any], source_runtime: str, target_runtime: str
) -> tuple[dict[str, Any], list[str]]:
    """(params for the target, notes about what changed). Same runtime: unchanged, no notes."""
    if source_runtime == target_runtime:
        return dict(params), []
    supported = SUPPORTED.get(target_runtime)
    if supported is None:
        return dict(params), [f"unknown runtime {target_runtime!r}: parameters sent as they were"]
    mapped: dict[str, Any] = {}
    notes: list[str] = []
    for name, value in params.items():
        if name not in supported:
            notes.append(f"{name}={value!r} is not supported by {target_runtime}: dropped")
            continue
        if name == "temperature" and isinstance(value, int | float) and not isinstance(value, bool):
            ceiling = _TEMPERATURE_MAX.get(target_runtime)
            if ceiling is not None and value > ceiling:
                notes.append(
                    f"temperature {value} is above {target_runtime}'s maximum {ceiling}: "
                    f"sent as {ceiling}"
                )
                value = ceiling
        mapped[name] = value
    if target_runtime == "claude" and "max_tokens" not in mapped:
        notes.append("claude requires max_tokens: the adapter's default (4096) is used")
    return mapped, notes
