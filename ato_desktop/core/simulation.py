"""Simulation replay, the pure part: what ATO would send now, and how it differs from the
recording.

A simulation walks a recorded run action by action. What ATO computes itself (the request it
assembles from the agent's current configuration and the conversation so far) is computed
again; what came from outside (model answers, tools with side effects) is answered from the
recording. Each step is compared with what was recorded:

- action mismatch: the flow would now take a different step (a tool the model called is no
  longer offered, or is denied). Such a tool is not run again: the step would not happen, so
  there is no output to compare;
- input mismatch: same action, different inputs (a changed system prompt, model, parameters,
  tools, or a conversation that changed because an earlier step's output changed);
- output mismatch: same inputs, different outputs (a replay-safe tool re-run for real gave
  another answer, or other recorded runs with identical inputs got other outputs).

The table has one row per compared input and one per output of each action (a second finding
about the same output is added to that row's detail, never counted as a row of its own). The
match rate is per action, as the spec says ("% of actions that matched"): an action matched
when every row of it did.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

from ato_desktop.core.models import AgentConfig, ToolRule
from ato_desktop.core.run_filter import is_simulation as is_simulation  # its home: run_filter
from ato_desktop.core.tools import resolve_rule

MATCH = "match"
DIVERGED = "diverged"
ACTION_MISMATCH = "action mismatch"
INPUT_MISMATCH = "input mismatch"
OUTPUT_MISMATCH = "output mismatch"

# The request fields a config change can move (the conversation is compared separately).
_CONFIG_FIELDS = ("runtime", "model", "system", "params", "tools")


def canonical_hash(value: Any) -> str:
    """A stable hash of a JSON value: key order and whitespace do not matter."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def expected_call_inputs(
    recorded: dict[str, Any], config: AgentConfig, messages: list[dict[str, Any]]
) -> dict[str, Any]:
    """The call_llm inputs ATO would record now: the current config's runtime, model, system
    prompt, parameters and tools (the recorded tools an agent may still use), and the
    conversation as the simulation rebuilt it."""
    expected: dict[str, Any] = {
        "runtime": config.runtime,
        "model": config.model,
        "messages": messages,
    }
    if config.system_prompt:
        expected["system"] = config.system_prompt
    if config.params:
        expected["params"] = dict(config.params)
    tools = [t for t in recorded.get("tools") or [] if isinstance(t, dict)]
    offered = [t for t in tools if tool_still_offered(config, str(t.get("name", "")))]
    if offered:
        expected["tools"] = offered
    if recorded.get("working_dir") and config.working_dir:
        expected["working_dir"] = config.working_dir
    return expected


def tool_still_offered(config: AgentConfig, model_name: str) -> bool:
    """Whether the current config still offers a tool the recording offered ("server__tool")."""
    server, sep, tool = model_name.partition("__")
    if not sep:
        return True  # not an MCP-routed name: nothing in the config governs it
    if server.lower() not in {s.lower() for s in config.mcp_servers}:
        return False
    return resolve_rule(config.tool_rules, server, tool) is not ToolRule.DENY


def input_differences(recorded: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """Plain descriptions of how expected differs from recorded (empty: the same)."""
    notes: list[str] = []
    for name in _CONFIG_FIELDS:
        before, after = recorded.get(name), expected.get(name)
        if name == "tools":
            before_names = [t.get("name") for t in before or [] if isinstance(t, dict)]
            after_names = [t.get("name") for t in after or [] if isinstance(t, dict)]
            if before_names != after_names:
                removed = sorted(set(before_names) - set(after_names), key=str)
                added = sorted(set(after_names) - set(before_names), key=str)
                detail = (
                    ", ".join([f"-{n}" for n in removed] + [f"+{n}" for n in added]) or "reordered"
                )
                notes.append(f"tools offered changed ({detail})")
            continue
        if canonical_hash(before) != canonical_hash(after):
            if name == "system":
                notes.append("system prompt changed")
            else:
                notes.append(f"{name}: {_short(before)} -> {_short(after)}")
    before_messages = recorded.get("messages") or []
    after_messages = expected.get("messages") or []
    if canonical_hash(before_messages) != canonical_hash(after_messages):
        first = next(
            (
                i
                for i, (a, b) in enumerate(zip(before_messages, after_messages, strict=False))
                if canonical_hash(a) != canonical_hash(b)
            ),
            min(len(before_messages), len(after_messages)),
        )
        notes.append(f"conversation differs from message {first + 1}")
    return notes


def _short(value: Any) -> str:
    text = "∅" if value is None else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True, slots=True)
class SimRow:
    """One line of the comparison table: an action's input or output, original vs replay."""

    seq: int
    action: str
    aspect: str  # "input" | "output"
    original: str
    replay: str
    status: str  # MATCH | DIVERGED
    divergence: str | None = None  # ACTION_MISMATCH | INPUT_MISMATCH | OUTPUT_MISMATCH
    detail: str = ""
    how: str = ""  # "recomputed", "from the recording", "re-executed (read-only)", ...


@dataclass(frozen=True, slots=True)
class SimulationSummary:
    rows: tuple[SimRow, ...]
    original_cost_usd: float | None
    replay_cost_usd: float
    divergences: int  # rows that diverged (mismatches found)
    match_rate: float  # share of actions whose every row matched, 0..1
    notes: tuple[str, ...] = field(default_factory=tuple)
    actions: int = 0  # actions compared
    matched_actions: int = 0

    @property
    def savings_usd(self) -> float | None:
        if self.original_cost_usd is None:
            return None
        return self.original_cost_usd - self.replay_cost_usd


def summarize(
    rows: list[SimRow], original_cost: float | None, notes: list[str]
) -> SimulationSummary:
    """The figures of a comparison table: divergences are rows that diverged; the match rate
    is the share of actions (rows grouped by seq) whose every row matched."""
    diverged = sum(1 for r in rows if r.status == DIVERGED)
    actions: dict[int, bool] = {}
    for row in rows:
        actions[row.seq] = actions.get(row.seq, True) and row.status == MATCH
    matched = sum(actions.values())
    return SimulationSummary(
        rows=tuple(rows),
        original_cost_usd=original_cost,
        replay_cost_usd=0.0,
        divergences=diverged,
        match_rate=matched / len(actions) if actions else 1.0,
        notes=tuple(notes),
        actions=len(actions),
        matched_actions=matched,
    )


def merge_output_rows(rows: list[SimRow], extra: list[SimRow]) -> list[SimRow]:
    """rows with the extra output findings folded in: one row per action output. An extra
    finding replaces an output row that matched; beside a row that already diverged it is
    added to that row's detail (the same output, one mismatch). An action that would not run
    now (an action mismatch) has no output to compare, so nothing is added to it."""
    merged = list(rows)
    index = {(r.seq, r.action, r.aspect): i for i, r in enumerate(merged)}
    not_run = {(r.seq, r.action) for r in rows if r.divergence == ACTION_MISMATCH}
    for row in extra:
        if (row.seq, row.action) in not_run:
            continue
        at = index.get((row.seq, row.action, row.aspect))
        if at is None:
            index[(row.seq, row.action, row.aspect)] = len(merged)
            merged.append(row)
            continue
        current = merged[at]
        if current.status == MATCH:
            merged[at] = row
        elif row.detail and row.detail not in current.detail:
            detail = f"{current.detail}; also {row.detail}" if current.detail else row.detail
            merged[at] = replace(current, detail=detail)
    return merged


def describe_inputs(inputs: Any) -> str:
    """A short text of an action's inputs for the comparison table."""
    if isinstance(inputs, dict) and isinstance(inputs.get("messages"), list):
        messages = inputs["messages"]
        last = messages[-1] if messages else {}
        role = last.get("role", "?") if isinstance(last, dict) else "?"
        content = last.get("content", "") if isinstance(last, dict) else ""
        return f"{role}: {_clip(str(content))}"
    return _clip(json.dumps(inputs, ensure_ascii=False, default=str))


def describe_outputs(outputs: Any) -> str:
    if isinstance(outputs, dict):
        calls = outputs.get("tool_calls")
        if calls:
            # A list of calls as the dispatcher records them; other recorders (imports, the
            # demo) may keep only a count.
            if isinstance(calls, list):
                names = ", ".join(
                    str(c.get("name")) if isinstance(c, dict) else str(c) for c in calls
                )
            else:
                names = f"{calls} tool call(s)"
            text = str(outputs.get("text") or "")
            return _clip(f"{text} → {names}".strip(" →"))
        if "text" in outputs:
            return _clip(str(outputs.get("text") or ""))
        if "content" in outputs:
            return _clip(str(outputs.get("content") or ""))
    return _clip(json.dumps(outputs, ensure_ascii=False, default=str))


def _clip(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
