"""Creating and editing agents: validation, then a new config version for every change."""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ato_desktop.core.models import AgentConfig, RuntimeName
from ato_desktop.core.records import AgentRecord
from ato_desktop.core.redaction import url_credentials
from ato_desktop.core.terminal_text import name_problem
from ato_desktop.core.tools import rule_problems
from ato_desktop.engine.credentials import PROVIDER_ENV_VARS, RUNTIME_PROVIDERS
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.mcp_servers import list_servers


class AgentConfigError(ValueError):
    """An agent setting that cannot be used, with a message for the user."""


MAX_PROMPT_FILE_BYTES = 1_000_000
FILE_SOURCE = "file"  # the change source of a version recorded from the prompt file


def read_prompt_file(path: str) -> str:
    """The system prompt held in path; AgentConfigError says why it cannot be used."""
    target = Path(path).expanduser()
    try:
        size = target.stat().st_size
        if size > MAX_PROMPT_FILE_BYTES:
            raise AgentConfigError(
                f"the system prompt file {target} is {size:,} bytes; at most 1 MB is read"
            )
        raw = target.read_bytes()
    except FileNotFoundError as exc:
        raise AgentConfigError(f"the system prompt file {target} does not exist") from exc
    except IsADirectoryError as exc:
        raise AgentConfigError(f"the system prompt file {target} is a folder") from exc
    except OSError as exc:
        raise AgentConfigError(
            f"cannot read the system prompt file {target}: {exc.strerror or exc}"
        ) from exc
    if b"\x00" in raw:
        raise AgentConfigError(f"the system prompt file {target} is binary, not text")
    try:
        return raw.decode("utf-8").replace("\r\n", "\n").strip()
    except UnicodeDecodeError as exc:
        raise AgentConfigError(f"the system prompt file {target} is not UTF-8 text") from exc


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
        except (ValueError, RecursionError):  # not JSON, or [[[[... too deep to read as JSON
            result[key] = raw
    return result


def _with_file_prompt(config: AgentConfig) -> AgentConfig:
    if not config.system_prompt_file:
        return config
    path = str(Path(config.system_prompt_file).expanduser().resolve())
    text = read_prompt_file(path)
    return replace(config, system_prompt_file=path, system_prompt=text or None)


def base_url_refusal(url: str, runtime: str) -> str | None:
    """Why a base URL cannot be used (it carries a credential), saying where keys go; None
    when it carries none."""
    found = url_credentials(url)
    if found is None:
        return None
    provider = RUNTIME_PROVIDERS.get(runtime, "openai-compatible")
    return (
        f"the base URL carries a credential ({found}): it would be stored in the log and copied "
        "into every run. Give the URL without it, and keep the key in the OS keyring with "
        f"`ato-desktop keys set {provider}` (or the {PROVIDER_ENV_VARS[provider]} environment "
        "variable)."
    )


def validate_config(config: AgentConfig) -> AgentConfig:
    runtimes = {r.value for r in RuntimeName}
    if config.runtime not in runtimes:
        raise AgentConfigError(
            f"unknown runtime {config.runtime!r}; use one of {', '.join(sorted(runtimes))}"
        )
    if not config.model.strip():
        raise AgentConfigError("a model is required")
    if config.base_url:
        try:
            parsed = urlparse(config.base_url)
        except ValueError:  # "http://[::1": Invalid IPv6 URL
            parsed = urlparse("")
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise AgentConfigError(
                f"base URL {config.base_url!r} must be an http(s) URL, e.g. http://localhost:11434/v1"
            )
        refusal = base_url_refusal(config.base_url, config.runtime)
        if refusal:
            raise AgentConfigError(refusal)
    for name, amount in (
        ("budget per day", config.budget_per_day_usd),
        ("budget per month", config.budget_per_month_usd),
        ("max_cost_usd", config.max_cost_usd),
    ):
        if amount is not None and not math.isfinite(amount):
            raise AgentConfigError(f"the {name} must be a finite number of USD, not {amount}")
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
        problem = name_problem(name, "agent")
        if problem is not None:
            raise AgentConfigError(problem)
        clean = validate_config(_with_file_prompt(config))
        self._check_servers(clean)
        return self._store.create_agent(name, clean, source=source).result()

    def _check_servers(self, config: AgentConfig) -> None:
        """Every MCP server the agent names must be registered."""
        if not config.mcp_servers:
            return
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
        linked = updates.get("system_prompt_file", config.system_prompt_file)
        if "system_prompt" in updates and linked:
            raise AgentConfigError(
                f"{agent.name}'s system prompt lives in {linked}: edit that file (the change is "
                "recorded as a new version), or unlink it first"
            )
        if "params" in updates:
            params = {**config.params, **updates.pop("params")}
            updates["params"] = {k: v for k, v in params.items() if v is not None}
        if "role_models" in updates:
            roles = {**config.role_models, **updates.pop("role_models")}
            updates["role_models"] = {k: v for k, v in roles.items() if v}
        if "tool_rules" in updates:
            rules = {**config.tool_rules, **updates.pop("tool_rules")}
            updates["tool_rules"] = {k: v for k, v in rules.items() if v}
        new_config = replace(config, **updates)
        if "system_prompt_file" in updates:  # linked (or relinked): the file's text is the prompt
            new_config = _with_file_prompt(new_config)
        new_config = validate_config(new_config)
        self._check_servers(new_config)
        return self._store.update_agent(agent.id, new_config, source=source).result()

    def sync_prompt_file(self, name: str) -> AgentRecord | None:
        """An agent whose system prompt lives in a file: when the file's text differs from the
        recorded prompt (edited outside the app), record it as a new version (change source
        "file") and return the agent; None when nothing changed or no file is linked. Raises
        AgentConfigError when the file cannot be read."""
        agent = self._store.get_agent(name)
        path = agent.config.system_prompt_file
        if not path:
            return None
        text = read_prompt_file(path)
        if text == (agent.config.system_prompt or ""):
            return None
        record, _changed = self._store.update_agent(
            agent.id, replace(agent.config, system_prompt=text or None), source=FILE_SOURCE
        ).result()
        return record

    def sync_prompt_files(self) -> list[tuple[str, str | None]]:
        """Every agent with a prompt file: (name, error or None) for those that changed or
        could not be read."""
        results: list[tuple[str, str | None]] = []
        for agent in self._store.list_agents():
            if not agent.config.system_prompt_file:
                continue
            try:
                if self.sync_prompt_file(agent.id) is not None:
                    results.append((agent.name, None))
            except AgentConfigError as exc:
                results.append((agent.name, str(exc)))
        return results

    async def edit_async(
        self, name: str, changes: dict[str, Any], *, source: str = "ui"
    ) -> tuple[AgentRecord, bool]:
        return await asyncio.to_thread(self.edit, name, changes, source=source)
