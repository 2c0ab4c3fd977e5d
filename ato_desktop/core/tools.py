"""MCP tools as ATO sees them: server names, the names models see, rules and the read-only flag.

Pure: no I/O. The MCP client (engine.mcp_client) fills these types from the servers; the
dispatcher's tool runner uses the rules to block or allow calls.

- Every tool offered to a model is named ``<server>__<tool>``, sanitised to what all three APIs
  accept (``^[a-zA-Z0-9_-]{1,64}$``), whatever servers an agent uses: a name then depends only on
  its server and tool, so it stays the same when the agent gains or loses a server, and replay
  and compare can rely on it. ``ToolNames`` maps both ways.
- Rules (``AgentConfig.tool_rules``): ``"<server>/<tool>"``, then ``"<server>/*"``, then
  ``"<tool>"``; allow when none matches. Server names match case-insensitively (the registry's
  names are unique without regard to case), tool names exactly. A value that is not a rule
  denies: a typo must not open a tool up.
- Read-only: the server's ``readOnlyHint`` annotation, or the agent's ``read_only_tools``
  (``"<server>/<tool>"``). Only read-only tools are re-executed by simulation replay.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ato_desktop.core.models import ToolRule, ToolSpec

SERVER_NAME_MAX = 48
_SERVER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
MODEL_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
"""What a tool name must look like for the Anthropic, Responses and Chat Completions APIs."""
MODEL_NAME_MAX = 64
SEPARATOR = "__"
_INVALID_CHARS = re.compile(r"[^a-zA-Z0-9_-]")
_HASH_CHARS = 8


class ServerNameError(ValueError):
    """A server name that cannot be registered; the message says why."""


def validate_server_name(name: str) -> str:
    """The name, trimmed, if it can name an MCP server; else ServerNameError.

    Letters, digits, ``.``, ``_`` and ``-``, starting with a letter or digit, at most
    SERVER_NAME_MAX characters: it appears in rules (``server/tool``), keyring entries and the
    names models see, so ``/``, ``:`` and spaces are out.
    """
    clean = name.strip() if isinstance(name, str) else ""
    if not clean:
        raise ServerNameError("an MCP server needs a name")
    if len(clean) > SERVER_NAME_MAX:
        raise ServerNameError(
            f"the server name {clean[:60]!r} is {len(clean)} characters long; at most "
            f"{SERVER_NAME_MAX}"
        )
    if not _SERVER_NAME.match(clean):
        raise ServerNameError(
            f"the server name {clean!r} may only use letters, digits, '.', '_' and '-', and "
            "must start with a letter or digit"
        )
    return clean


# -- tools and results ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class McpTool:
    """A tool as its server lists it.

    read_only is the server's readOnlyHint (None when the server does not say);
    annotations holds every annotation the server sent, with the protocol's camelCase names.
    """

    server: str
    name: str
    description: str
    input_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object"})
    read_only: bool | None = None
    annotations: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class McpCallResult:
    """What one tool call gave back.

    content_text: the text content blocks joined (other blocks are described in brackets).
    structured: the structured content, when the server sent any.
    is_error: the tool failed: an error result, a timeout, a server that went away.
    error_kind: why, when is_error: "tool" (the tool said so), "timeout", "protocol" (the server
    answered with an MCP error) or "connection" (the server is gone).
    """

    content_text: str
    structured: Any = None
    is_error: bool = False
    duration_ns: int = 0
    error_kind: str | None = None


@dataclass(frozen=True, slots=True)
class ToolRoute:
    """Where a model-visible tool name leads: the server, the tool's own name, read-only."""

    server: str
    tool: str
    read_only: bool


# -- names models see -------------------------------------------------------------------------


def _digest(server: str, tool: str, chars: int = _HASH_CHARS) -> str:
    return hashlib.sha256(f"{server.lower()}/{tool}".encode()).hexdigest()[:chars]


def _sanitise(text: str) -> str:
    return _INVALID_CHARS.sub("_", text)


def _plain_name(server: str, tool: str) -> str:
    name = f"{_sanitise(server)}{SEPARATOR}{_sanitise(tool)}"
    if len(name) > MODEL_NAME_MAX:
        return _hashed_name(server, tool)
    return name


def _hashed_name(server: str, tool: str, chars: int = _HASH_CHARS) -> str:
    """A prefix of the plain name plus a digest of the exact (server, tool) pair."""
    plain = f"{_sanitise(server)}{SEPARATOR}{_sanitise(tool)}"
    return f"{plain[: MODEL_NAME_MAX - chars - 1]}_{_digest(server, tool, chars)}"


@dataclass(frozen=True, slots=True)
class ToolNames:
    """The model-visible name of each (server, tool) pair, and back."""

    by_pair: Mapping[tuple[str, str], str]
    by_name: Mapping[str, tuple[str, str]]

    def name_of(self, server: str, tool: str) -> str:
        return self.by_pair[(server, tool)]

    def pair_of(self, model_name: str) -> tuple[str, str] | None:
        """The (server, tool) a name leads to, or None for a name no server offers."""
        return self.by_name.get(model_name)


def assign_model_names(pairs: Iterable[tuple[str, str]]) -> ToolNames:
    """Unique model-visible names for (server, tool) pairs; see the module docstring.

    ``<server>__<tool>`` with every character outside ``[a-zA-Z0-9_-]`` replaced by ``_``. A
    name that would be longer than 64 characters, or that two pairs would share (``a.b`` and
    ``a_b``), becomes a prefix plus a digest of the exact pair, so the result never depends on
    the order of the pairs.
    """
    unique = sorted(set(pairs))
    plain: dict[tuple[str, str], str] = {pair: _plain_name(*pair) for pair in unique}
    counts: dict[str, int] = {}
    for name in plain.values():
        counts[name] = counts.get(name, 0) + 1
    by_pair: dict[tuple[str, str], str] = {}
    taken: set[str] = set()
    for pair in unique:
        name = plain[pair]
        if counts[name] > 1:
            name = _hashed_name(*pair)
        chars = _HASH_CHARS
        while name in taken:  # a digest colliding with another name: astronomically rare
            chars += 4
            name = _hashed_name(*pair, chars=chars)
        taken.add(name)
        by_pair[pair] = name
    return ToolNames(by_pair, {name: pair for pair, name in by_pair.items()})


# -- rules and read-only ----------------------------------------------------------------------


def _rule_value(value: object) -> ToolRule:
    try:
        return ToolRule(str(value).strip().lower())
    except ValueError:
        return ToolRule.DENY


def resolve_rule(rules: Mapping[str, str], server: str, tool: str) -> ToolRule:
    """The agent's rule for a tool: ``server/tool``, ``server/*``, ``tool``, else allow."""
    if not rules:
        return ToolRule.ALLOW
    server_key = server.lower()
    exact: str | None = None
    wildcard: str | None = None
    bare: str | None = None
    for key, value in rules.items():
        head, sep, tail = key.partition("/")
        if not sep:
            if key == tool:
                bare = value
        elif head.lower() == server_key:
            if tail == tool:
                exact = value
            elif tail == "*":
                wildcard = value
    for found in (exact, wildcard, bare):
        if found is not None:
            return _rule_value(found)
    return ToolRule.ALLOW


def rule_problems(rules: Mapping[str, str]) -> list[str]:
    """Plain sentences about rules that cannot mean what was meant (empty when all are fine)."""
    problems = []
    allowed = ", ".join(r.value for r in ToolRule)
    for key, value in rules.items():
        if str(value).strip().lower() not in {r.value for r in ToolRule}:
            problems.append(f"tool rule {key!r}: {value!r} is not one of {allowed} (it denies)")
        head, sep, tail = key.partition("/")
        if sep and (not head or not tail):
            problems.append(f"tool rule {key!r}: use server/tool, server/* or tool")
    return problems


def _qualified(server: str, tool: str) -> str:
    return f"{server.lower()}/{tool}"


def read_only_source(tool: McpTool, read_only_tools: Iterable[str]) -> str | None:
    """Why a tool counts as read-only: "server" (its readOnlyHint), "agent" (the agent's
    read_only_tools lists ``server/tool``), or None when it may have side effects."""
    if tool.read_only is True:
        return "server"
    wanted = _qualified(tool.server, tool.name)
    for entry in read_only_tools:
        head, sep, tail = entry.partition("/")
        if sep and _qualified(head, tail) == wanted:
            return "agent"
    return None


def is_read_only(tool: McpTool, read_only_tools: Iterable[str]) -> bool:
    """True when simulation replay may re-execute the tool (see read_only_source)."""
    return read_only_source(tool, read_only_tools) is not None


# -- what one agent is offered ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OfferedTool:
    """One tool of an agent's servers, named for the model, with the agent's rule applied."""

    model_name: str
    tool: McpTool
    rule: ToolRule
    read_only: bool
    read_only_source: str | None

    @property
    def route(self) -> ToolRoute:
        return ToolRoute(self.tool.server, self.tool.name, self.read_only)

    @property
    def spec(self) -> ToolSpec:
        """The tool as offered to a model."""
        return ToolSpec(self.model_name, self.tool.description, self.tool.input_schema)


def plan_tools(
    tools: Sequence[McpTool],
    rules: Mapping[str, str] | None = None,
    read_only_tools: Iterable[str] = (),
) -> list[OfferedTool]:
    """Every tool with its model-visible name, rule and read-only flag, in server then tool
    order. Denied tools are included (rule DENY) so views can show them; `offered_specs`
    leaves them out."""
    marked = tuple(read_only_tools)
    names = assign_model_names((t.server, t.name) for t in tools)
    planned = []
    for tool in sorted(tools, key=lambda t: (t.server.lower(), t.name)):
        source = read_only_source(tool, marked)
        planned.append(
            OfferedTool(
                model_name=names.name_of(tool.server, tool.name),
                tool=tool,
                rule=resolve_rule(rules or {}, tool.server, tool.name),
                read_only=source is not None,
                read_only_source=source,
            )
        )
    return planned


def offered_specs(planned: Iterable[OfferedTool]) -> list[ToolSpec]:
    """The ToolSpecs a model is offered: every planned tool the agent does not deny."""
    return [p.spec for p in planned if p.rule is not ToolRule.DENY]
