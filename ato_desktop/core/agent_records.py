"""Agents as the log records them: an agent's versioned config, the agent and its versions.

Apart from core.log_records (runs and actions) so that a command that reads runs alone (`runs
list`, `runs show`) creates none of these classes; core.models and core.records name them too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:
    from typing import Any


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """The versioned part of an agent: any change here records a new config version.

    mcp_servers: names of registered MCP servers whose tools the agent may use.
    tool_rules: "<server>/<tool>" (or "<tool>") -> allow | deny | approve.
    read_only_tools: "<server>/<tool>" marked read-only by the user (in addition to tools whose
    server declares readOnlyHint); only read-only tools are re-executed by simulation replay.
    max_tool_calls / max_cost_usd: per-run ceilings; a run that hits one fails with class
    "ceiling". working_dir: where a coding-agent runtime (claude-code, codex-cli) works.
    budget_per_day_usd / budget_per_month_usd: spend limits per UTC day and month; over one, the
    run is a critical intercept, and with budget_hard_ceiling the agent's dispatches are refused
    until the period ends (core.budgets).
    system_prompt_file: a file on disk holding the system prompt (kept with the agent's
    instructions in a repository, say). Its content is what system_prompt records; an edit of
    the file outside the app is detected and recorded as a new version (engine.agents).
    """

    runtime: str
    model: str
    system_prompt: str | None = None
    system_prompt_file: str | None = None
    role_models: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    base_url: str | None = None
    budget_per_day_usd: float | None = None
    budget_per_month_usd: float | None = None
    budget_hard_ceiling: bool = False
    mcp_servers: tuple[str, ...] = ()
    tool_rules: dict[str, str] = field(default_factory=dict)
    read_only_tools: tuple[str, ...] = ()
    max_tool_calls: int | None = None
    max_cost_usd: float | None = None
    working_dir: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "runtime": self.runtime,
            "model": self.model,
            "system_prompt": self.system_prompt,
            "system_prompt_file": self.system_prompt_file,
            "role_models": dict(self.role_models),
            "params": dict(self.params),
            "base_url": self.base_url,
            "budget_per_day_usd": self.budget_per_day_usd,
            "budget_per_month_usd": self.budget_per_month_usd,
            "budget_hard_ceiling": self.budget_hard_ceiling,
            "mcp_servers": list(self.mcp_servers),
            "tool_rules": dict(self.tool_rules),
            "read_only_tools": list(self.read_only_tools),
            "max_tool_calls": self.max_tool_calls,
            "max_cost_usd": self.max_cost_usd,
            "working_dir": self.working_dir,
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> AgentConfig:
        return AgentConfig(
            runtime=str(data["runtime"]),
            model=str(data["model"]),
            system_prompt=data.get("system_prompt"),
            system_prompt_file=data.get("system_prompt_file"),
            role_models=dict(data.get("role_models") or {}),
            params=dict(data.get("params") or {}),
            base_url=data.get("base_url"),
            budget_per_day_usd=data.get("budget_per_day_usd"),
            budget_per_month_usd=data.get("budget_per_month_usd"),
            budget_hard_ceiling=bool(data.get("budget_hard_ceiling") or False),
            mcp_servers=tuple(data.get("mcp_servers") or ()),
            tool_rules=dict(data.get("tool_rules") or {}),
            read_only_tools=tuple(data.get("read_only_tools") or ()),
            max_tool_calls=data.get("max_tool_calls"),
            max_cost_usd=data.get("max_cost_usd"),
            working_dir=data.get("working_dir"),
        )


@dataclass(frozen=True, slots=True)
class AgentRecord:
    id: str
    name: str
    created_at: int
    updated_at: int
    current_version: int
    config: AgentConfig
    current_version_id: str
    is_demo: bool = False


@dataclass(frozen=True, slots=True)
class AgentVersionRecord:
    id: str
    agent_id: str
    version: int
    created_at: int
    config: AgentConfig
    diff: list[dict[str, Any]]
    change_source: str
    run_count: int = 0
