"""Creating and editing agents: validation, then a new config version for every change."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any
from urllib.parse import urlparse

from ato_desktop.core.models import AgentConfig, RuntimeName
from ato_desktop.core.records import AgentRecord
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
    for key in config.params:
        if not isinstance(key, str) or not key:
            raise AgentConfigError("parameter names must be non-empty text")
    return replace(config, model=config.model.strip())


class AgentService:
    """Agent operations shared by the CLI and the UI."""

    def __init__(self, store: ExecutionLog) -> None:
        self._store = store

    def create(self, name: str, config: AgentConfig, *, source: str = "cli") -> AgentRecord:
        return self._store.create_agent(name, validate_config(config), source=source).result()

    def edit(
        self, name: str, changes: dict[str, Any], *, source: str = "cli"
    ) -> tuple[AgentRecord, bool]:
        """Apply changes (AgentConfig field -> value; params/role_models merge) to the agent."""
        agent = self._store.get_agent(name)
        config = agent.config
        updates = dict(changes)
        if "params" in updates:
            params = {**config.params, **updates.pop("params")}
            updates["params"] = {k: v for k, v in params.items() if v is not None}
        if "role_models" in updates:
            roles = {**config.role_models, **updates.pop("role_models")}
            updates["role_models"] = {k: v for k, v in roles.items() if v}
        new_config = validate_config(replace(config, **updates))
        return self._store.update_agent(agent.id, new_config, source=source).result()

    async def edit_async(
        self, name: str, changes: dict[str, Any], *, source: str = "ui"
    ) -> tuple[AgentRecord, bool]:
        return await asyncio.to_thread(self.edit, name, changes, source=source)
