"""`agents add|edit|list|sync|history`: create, edit and list agents."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ato_desktop.cli import commands_in
from ato_desktop.cli.exit_codes import EXIT_FAILED, EXIT_OK
from ato_desktop.cli.options import json_option, runtime_choices
from ato_desktop.cli.output import emit_json, short, table, when
from ato_desktop.cli.text_io import UsageError
from ato_desktop.cli.workspaces import open_log_for_reading, open_workspace

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:
    from typing import Any, TextIO

COMMANDS = commands_in(__name__)  # name -> help, from cli.COMMAND_TABLE


def add_parsers(commands: Any) -> None:
    """Register `agents` and its subcommands."""
    agents = commands.add_parser("agents", help=COMMANDS["agents"])
    agent_cmds = agents.add_subparsers(dest="agents_command", metavar="SUBCOMMAND", required=True)
    add = agent_cmds.add_parser("add", help="create an agent")
    add.add_argument("name")
    _agent_options(add, required=True)
    add.set_defaults(handler=agents_add)
    edit = agent_cmds.add_parser("edit", help="change an agent (records a new config version)")
    edit.add_argument("name")
    _agent_options(edit, required=False)
    edit.set_defaults(handler=agents_edit)
    lst = agent_cmds.add_parser("list", help="list agents")
    json_option(lst)
    lst.set_defaults(handler=agents_list)
    sync = agent_cmds.add_parser(
        "sync",
        help="record edits of linked system prompt files as new versions",
        description="For every agent whose system prompt lives in a file "
        "(--link-system-prompt-file), record the file's text as a new config version when it "
        "was edited outside the app. Dispatch does this on its own before each run; exit 1 "
        "when a file cannot be read.",
    )
    sync.set_defaults(handler=agents_sync)
    hist = agent_cmds.add_parser("history", help="an agent's config versions with their diffs")
    hist.add_argument("name")
    json_option(hist)
    hist.set_defaults(handler=agents_history)


def _agent_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument(
        "--runtime", choices=runtime_choices(), required=required, help="the runtime it runs on"
    )
    parser.add_argument("--model", required=required, help="the model, e.g. claude-sonnet-5")
    prompt = parser.add_mutually_exclusive_group()
    prompt.add_argument("--system-prompt", metavar="TEXT", help="the system prompt")
    prompt.add_argument("--system-prompt-file", metavar="FILE", help="copy the prompt from FILE")
    prompt.add_argument(
        "--link-system-prompt-file",
        metavar="FILE",
        help="keep the prompt in FILE: an edit of the file is recorded as a new version "
        "(before the next dispatch, or by `agents sync`); an empty FILE unlinks",
    )
    parser.add_argument("--base-url", metavar="URL", help="API base URL for this agent")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="K=V",
        help="generation parameter, e.g. temperature=0.2 (JSON values; K=null removes it)",
    )
    parser.add_argument(
        "--role-model",
        action="append",
        default=[],
        metavar="ROLE=MODEL",
        help="model for a role, e.g. planner=claude-opus-4-1 (ROLE= removes it)",
    )
    parser.add_argument(
        "--budget-per-day", type=float, metavar="USD", help="spend limit a UTC day (0 removes it)"
    )
    parser.add_argument(
        "--budget-per-month", type=float, metavar="USD", help="spend limit a UTC month (0: none)"
    )
    parser.add_argument(
        "--hard-ceiling",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="refuse the agent's dispatches once a budget is spent (until the period ends)",
    )
    parser.add_argument(
        "--working-dir", metavar="DIR", help="where a claude-code / codex-cli agent works"
    )
    parser.add_argument(
        "--mcp-servers",
        metavar="A,B",
        help="registered MCP servers whose tools the agent may use (empty: none)",
    )
    parser.add_argument(
        "--tool-rule",
        action="append",
        default=[],
        metavar="SERVER/TOOL=RULE",
        help="allow, deny or approve (ask before each call); SERVER/* for a whole server; "
        "RULE empty removes the rule",
    )
    parser.add_argument(
        "--read-only-tools",
        metavar="SERVER/TOOL,...",
        help="tools to treat as read-only (besides those their server marks read-only)",
    )
    parser.add_argument(
        "--max-tool-calls", metavar="N", help="per-run ceiling on tool calls ('none' removes)"
    )
    parser.add_argument(
        "--max-cost", metavar="USD", help="per-run ceiling on cost in USD ('none' removes)"
    )


def agents_add(args: argparse.Namespace, out: TextIO) -> int:
    """`agents add NAME`: a new agent at version 1."""
    from ato_desktop.core.models import AgentConfig
    from ato_desktop.engine.agents import parse_assignments

    ws = open_workspace()
    try:
        config = AgentConfig(
            runtime=args.runtime,
            model=args.model,
            system_prompt=_system_prompt(args),
            system_prompt_file=args.link_system_prompt_file or None,
            role_models={
                k: str(v) for k, v in parse_assignments(args.role_model, "role model").items()
            },
            params=parse_assignments(args.param, "parameter"),
            base_url=args.base_url,
            budget_per_day_usd=args.budget_per_day,
            budget_per_month_usd=args.budget_per_month,
            budget_hard_ceiling=bool(args.hard_ceiling),
            **_tool_settings(args),
        )
        agent = ws.agents.create(args.name, config)
        out.write(f"created agent {agent.name} (version 1, {config.runtime} · {config.model})\n")
        return EXIT_OK
    finally:
        ws.close()


def agents_edit(args: argparse.Namespace, out: TextIO) -> int:
    """`agents edit NAME`: a new config version when anything changed."""
    from ato_desktop.core.config_diff import ConfigChange, summarize_changes

    ws = open_workspace()
    try:
        changes = _agent_changes(args)
        if not changes:
            raise UsageError("nothing to change: give at least one option, see --help")
        agent, changed = ws.agents.edit(args.name, changes)
        if changed:
            latest = ws.store.agent_history(agent.id)[0]
            summary = summarize_changes(
                [ConfigChange(c["path"], c["before"], c["after"]) for c in latest.diff]
            )
            out.write(f"{agent.name}: version {agent.current_version} ({summary})\n")
        else:
            out.write(f"{agent.name}: no change (still version {agent.current_version})\n")
        return EXIT_OK
    finally:
        ws.close()


def agents_list(args: argparse.Namespace, out: TextIO) -> int:
    """`agents list`: read-only."""
    from ato_desktop.core.run_json import agent_to_json

    store = open_log_for_reading()
    try:
        agents = store.list_agents()
    finally:
        store.close()
    if args.json:
        emit_json(out, [agent_to_json(a) for a in agents])
    elif not agents:
        out.write(
            "No agents yet. Create one: ato-desktop agents add NAME --runtime "
            "claude --model claude-sonnet-5\n"
        )
    else:
        table(
            out,
            ["NAME", "RUNTIME", "MODEL", "VERSION", "UPDATED"],
            [
                [
                    a.name,
                    a.config.runtime,
                    a.config.model,
                    str(a.current_version),
                    when(a.updated_at),
                ]
                for a in agents
            ],
        )
    return EXIT_OK


def agents_sync(args: argparse.Namespace, out: TextIO) -> int:
    """`agents sync`: linked system prompt files edited outside ATO become new versions."""
    ws = open_workspace()
    try:
        results = ws.agents.sync_prompt_files()
        if not results:
            out.write("No change: every linked system prompt file matches its version.\n")
        for name, error in results:
            if error:
                print(f"error: {name}: {error}", file=sys.stderr)
            else:
                agent = ws.store.get_agent(name)
                out.write(f"{name}: version {agent.current_version} (system prompt file edited)\n")
        return EXIT_FAILED if any(error for _name, error in results) else EXIT_OK
    finally:
        ws.close()


def agents_history(args: argparse.Namespace, out: TextIO) -> int:
    """`agents history NAME`: read-only."""
    from ato_desktop.core.run_json import version_to_json

    store = open_log_for_reading()
    try:
        agent = store.get_agent(args.name)
        versions = store.agent_history(agent.id)
    finally:
        store.close()
    if args.json:
        emit_json(
            out,
            {
                "agent": agent.name,
                "agent_id": agent.id,
                "versions": [version_to_json(v) for v in versions],
            },
        )
        return EXIT_OK
    for v in versions:
        out.write(
            f"version {v.version} · {when(v.created_at)} · {v.change_source} · "
            f"{v.run_count} run(s)\n"
        )
        for change in v.diff:
            out.write(
                f"    {change['path']}: {short(change['before'])} -> {short(change['after'])}\n"
            )
    return EXIT_OK


def _system_prompt(args: argparse.Namespace) -> str | None:
    if getattr(args, "system_prompt_file", None):
        path = Path(args.system_prompt_file)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
        if len(raw) > 1_000_000:
            raise UsageError(f"{path} is {len(raw):,} bytes; a system prompt is at most 1 MB")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(f"{path} is not UTF-8 text (byte {exc.start})") from exc
    value = getattr(args, "system_prompt", None)
    return str(value) if value is not None else None


def _agent_changes(args: argparse.Namespace) -> dict[str, Any]:
    from ato_desktop.engine.agents import parse_assignments

    changes: dict[str, Any] = {}
    if args.runtime:
        changes["runtime"] = args.runtime
    if args.model:
        changes["model"] = args.model
    if args.system_prompt is not None or args.system_prompt_file:
        changes["system_prompt"] = _system_prompt(args) or None
    if args.link_system_prompt_file is not None:
        changes["system_prompt_file"] = args.link_system_prompt_file or None
    if args.base_url is not None:
        changes["base_url"] = args.base_url or None
    if args.param:
        changes["params"] = parse_assignments(args.param, "parameter")
    if args.role_model:
        changes["role_models"] = parse_assignments(args.role_model, "role model")
    if args.budget_per_day is not None:
        changes["budget_per_day_usd"] = args.budget_per_day or None
    if args.budget_per_month is not None:
        changes["budget_per_month_usd"] = args.budget_per_month or None
    if args.hard_ceiling is not None:
        changes["budget_hard_ceiling"] = args.hard_ceiling
    # Tool rules merge into the agent's current ones (AgentService.edit); empty removes one.
    changes.update(_tool_settings(args))
    return changes


def _tool_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The tool-related agent options that were given, as AgentConfig fields."""
    settings: dict[str, Any] = {}
    if args.working_dir is not None:
        settings["working_dir"] = args.working_dir or None
    if args.mcp_servers is not None:
        settings["mcp_servers"] = tuple(n.strip() for n in args.mcp_servers.split(",") if n.strip())
    if args.tool_rule:
        rules: dict[str, str] = {}
        for item in args.tool_rule:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise UsageError(
                    f"tool rule {item!r} must look like server/tool=allow|deny|approve"
                )
            rules[key.strip()] = value.strip().lower()
        settings["tool_rules"] = rules
    if args.read_only_tools is not None:
        settings["read_only_tools"] = tuple(
            t.strip() for t in args.read_only_tools.split(",") if t.strip()
        )
    if args.max_tool_calls is not None:
        settings["max_tool_calls"] = _optional_number(args.max_tool_calls, "--max-tool-calls", int)
    if args.max_cost is not None:
        settings["max_cost_usd"] = _optional_number(args.max_cost, "--max-cost", float)
    return settings


def _optional_number(text: str, option: str, kind: type[int] | type[float]) -> Any:
    if text.strip().lower() in ("none", ""):
        return None
    try:
        return kind(text)
    except ValueError:
        raise UsageError(f"{option} takes a number or 'none', not {text!r}") from None
