"""Creating and editing agents: validation, then a new config version for every change."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ato_desktop.core.models import AgentConfig, RuntimeName
from ato_desktop.core.records import AgentRecord
from ato_desktop.core.tools import rule_problems
from ato_desktop.store.execution_log import ExecutionLog


class AgentConfigError(ValueError):
    """An agent setting that cannot be used, with a message for the user."""


def parse_assignments(items: list[str], what: str) -> dict[str, Any]:
    """['temperature=0.2', 'stop=["\\n"]'] -> {'temperature': 0.2, 'stop': ['\\n']}.

    Values are read as JSON when they parse (numbers, booleans, lists), else kept as text.
    """
    result: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise AgentConfigError(f"{what} {item!r} must look like key=value")
        try:
            result[key] = json.loads(raw)
        except ValueError:
            result[key] = raw
    return result


def validate_config(config: AgentConfig) -> AgentConfig:
    runtimes = {r.value for r in RuntimeName}
    if config.runtime not in runtimes:
        raise AgentConfigError(
            f"unknown runtime {config.runtime!r}; use one of {', '.join(sorted(runtimes))}"
        )
    if not config.model.strip():
        raise AgentConfigError("a model is required")
    if config.base_url:
        parsed = urlparse(config.base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise AgentConfigError(
                f"base URL {config.base_url!r} must be an http(s) URL, e.g. http://localhost:11434/v1"
            )
    if config.budget_per_day_usd is not None and config.budget_per_day_usd < 0:
        raise AgentConfigError("the budget per day cannot be negative")
    if config.budget_per_month_usd is not None and config.budget_per_month_usd < 0:
        raise AgentConfigError("the budget per month cannot be negative")
    if config.budget_hard_ceiling and (
        config.budget_per_day_usd is None and config.budget_per_month_usd is None
    ):
        raise AgentConfigError("a hard ceiling needs a budget per day or per month to enforce")
    for key in config.params:
        if not isinstance(key, str) or not key:
            raise AgentConfigError("parameter names must be non-empty text")
    problems = rule_problems(config.tool_rules)
    if problems:
        raise AgentConfigError("; ".join(problems))
    for name, value in (
        ("max_tool_calls", config.max_tool_calls),
        ("max_cost_usd", config.max_cost_usd),
    ):
        if value is not None and value < 0:
            raise AgentConfigError(f"{name} cannot be negative")
    working_dir = config.working_dir
    if working_dir:
        path = Path(working_dir).expanduser()
        if not path.is_dir():
            raise AgentConfigError(f"the working directory {working_dir!r} does not exist")
        working_dir = str(path.resolve())
    elif RuntimeName(config.runtime).is_subprocess:
        raise AgentConfigError(
            f"a {config.runtime} agent needs a working directory (--working-dir): the folder "
            "the coding agent may read and change"
        )
    return replace(config, model=config.model.strip(), working_dir=working_dir)


class AgentService:
    """Agent operations shared by the CLI and the UI."""

    def __init__(self, store: ExecutionLog) -> None:
        self._store = store

    def create(self, name: str, config: AgentConfig, *, source: str = "cli") -> AgentRecord:
        clean = validate_config(config)
        self._check_servers(clean)
        return self._store.create_agent(name, clean, source=source).result()

    def _check_servers(self, config: AgentConfig) -> None:
        """Every MCP server the agent names must be registered."""
        if not config.mcp_servers:
            return
        from ato_desktop.store.mcp_servers import list_servers

        known = {record.config.name.lower() for record in list_servers(self._store)}
        missing = [name for name in config.mcp_servers if name.lower() not in known]
        if missing:
            raise AgentConfigError(
                f"no MCP server named {', '.join(map(repr, missing))}; register it with "
                "`ato-desktop mcp add NAME ...`"
            )

    def edit(
        self, name: str, changes: dict[str, Any], *, source: str = "cli"
    ) -> tuple[AgentRecord, bool]:
        """Apply changes (AgentConfig field -> value; params, role_models and tool_rules merge
        into the current ones, an empty or None value removing a key) to the agent."""
        agent = self._store.get_agent(name)
        config = agent.config
        updates = dict(changes)
        if "params" in updates:
            params = {**config.params, **updates.pop("params")}
            updates["params"] = {k: v for k, v in params.items() if v is not None}
        if "role_models" in updates:
            roles = {**config.role_models, **updates.pop("role_models")}
            updates["role_models"] = {k: v for k, v in roles.items() if v}
        if "tool_rules" in updates:
            rules = {**config.tool_rules, **updates.pop("tool_rules")}
            updates["tool_rules"] = {k: v for k, v in rules.items() if v}
        new_config = validate_config(replace(config, **updates))
        self._check_servers(new_config)
        return self._store.update_agent(agent.id, new_config, source=source).result()

    async def edit_async(
        self, name: str, changes: dict[str, Any], *, source: str = "ui"
    ) -> tuple[AgentRecord, bool]:
        return await asyncio.to_thread(self.edit, name, changes, source=source)
