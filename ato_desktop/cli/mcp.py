"""`mcp add|list|test|remove`: MCP tool servers (their secret values in the OS keyring)."""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from ato_desktop.cli import commands_in
from ato_desktop.cli.exit_codes import EXIT_FAILED, EXIT_OK
from ato_desktop.cli.options import json_option
from ato_desktop.cli.output import emit_json, table
from ato_desktop.cli.text_io import UsageError, read_stdin_lines
from ato_desktop.cli.workspaces import open_log_for_reading, open_workspace

COMMANDS = commands_in(__name__)  # name -> help, from cli.COMMAND_TABLE
Handler = Callable[[argparse.Namespace, TextIO], int]


def add_parsers(commands: Any) -> None:
    """Register `mcp` and its subcommands."""
    mcp = commands.add_parser(
        "mcp",
        help=COMMANDS["mcp"],
        description="MCP servers whose tools agents may use. Secret values (environment "
        "variables, HTTP headers) live in the OS keyring, never in the database.",
    )
    mcp_cmds = mcp.add_subparsers(dest="mcp_command", metavar="SUBCOMMAND", required=True)
    add = mcp_cmds.add_parser(
        "add",
        help="register a server (stdio command or streamable HTTP URL)",
        description="Register an MCP server. Secret values are read from stdin, one line per "
        "name in the order given (prompted, hidden, on a terminal), and kept in the OS keyring; "
        "with no secure keyring nothing is saved. Repeat --arg for each argument of the "
        "command; write one that starts with '-' as --arg=-x.",
    )
    add.add_argument("name")
    target = add.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--command",
        dest="server_command",  # "command" is the name of the subcommand
        metavar="CMD",
        help="start the server with this command",
    )
    target.add_argument("--url", metavar="URL", help="streamable HTTP endpoint, e.g. .../mcp")
    add.add_argument(
        "--arg",
        action="append",
        default=[],
        metavar="A",
        help="an argument for --command, one per --arg (--arg=-x for one starting with '-')",
    )
    add.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="K=V",
        help="an environment variable for --command (stored in plain text: not for secrets)",
    )
    add.add_argument(
        "--secret-env",
        action="append",
        default=[],
        metavar="NAME",
        help="an environment variable whose value is a secret (read from stdin, kept in the "
        "keyring)",
    )
    add.add_argument(
        "--secret-header",
        action="append",
        default=[],
        metavar="NAME",
        help="an HTTP header whose value is a secret, e.g. Authorization (read from stdin, "
        "kept in the keyring)",
    )
    add.add_argument(
        "--timeout",
        default="30s",
        metavar="DURATION",
        help="start-up and per-tool-call timeout (default 30s)",
    )
    add.set_defaults(handler=_config_errors_are_usage(_mcp_add))
    mlist = mcp_cmds.add_parser("list", help="registered servers (never the secret values)")
    json_option(mlist)
    mlist.set_defaults(handler=_config_errors_are_usage(_mcp_list))
    test = mcp_cmds.add_parser(
        "test", help="connect to a server and list its tools (exit 1 if it fails)"
    )
    test.add_argument("name")
    json_option(test)
    test.set_defaults(handler=_config_errors_are_usage(mcp_test))
    remove = mcp_cmds.add_parser("remove", help="unregister a server and delete its secrets")
    remove.add_argument("name")
    remove.set_defaults(handler=_config_errors_are_usage(_mcp_remove))


def _config_errors_are_usage(handler: Handler) -> Handler:
    """A bad server definition or a taken name is the user's input: a usage error (exit 2)."""

    def run(args: argparse.Namespace, out: TextIO) -> int:
        from ato_desktop.core.mcp_config import McpConfigError
        from ato_desktop.store.mcp_servers import McpServerExistsError

        try:
            return handler(args, out)
        except (McpConfigError, McpServerExistsError) as exc:
            raise UsageError(str(exc)) from None

    return run


def mcp_test(args: argparse.Namespace, out: TextIO) -> int:
    """`mcp test NAME`: connect and list the server's tools (exit 1 when it fails)."""
    import asyncio

    return asyncio.run(_mcp_test(args, out))


def _mcp_config_from_args(args: argparse.Namespace) -> Any:
    from ato_desktop.core.mcp_config import McpServerConfig, validate_config
    from ato_desktop.core.timefmt import parse_duration_ms

    env: dict[str, str] = {}
    for item in args.env:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--env takes NAME=value, not {item!r}")
        env[key.strip()] = value
    if args.url and (args.arg or args.env or args.secret_env):
        raise UsageError("--arg, --env and --secret-env go with --command, not --url")
    if args.server_command and args.secret_header:
        raise UsageError("--secret-header goes with --url, not --command")
    timeout_s = parse_duration_ms(args.timeout) / 1000
    return validate_config(
        McpServerConfig(
            name=args.name,
            transport="http" if args.url else "stdio",
            command=args.server_command,
            args=tuple(args.arg),
            env=env,
            secret_env_names=tuple(args.secret_env),
            url=args.url,
            secret_header_names=tuple(args.secret_header),
            timeout_s=timeout_s,
        )
    )


def _read_secret_values(names: list[str], what: str) -> list[str]:
    """One value per name: prompted (hidden) on a terminal, else one line each from stdin."""
    if not names:
        return []
    if sys.stdin.isatty():
        return [getpass.getpass(f"{what} {name} (input hidden): ") for name in names]
    lines = read_stdin_lines(f"the {what}")
    values = [line for line in lines if line.strip()]
    if len(values) != len(names):
        raise UsageError(
            f"expected {len(names)} secret value(s) on stdin, one line each, in this order: "
            f"{', '.join(names)}; got {len(values)}"
        )
    return values


def _mcp_add(args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.engine import mcp_registry
    from ato_desktop.engine.credentials import KeyringUnavailableError
    from ato_desktop.engine.mcp_secrets import McpSecrets, NoSecureKeyringError, secret_names

    config = _mcp_config_from_args(args)
    secrets = McpSecrets()
    ws = open_workspace()
    try:
        try:
            # Before asking for secrets: the add would fail after the user typed them.
            mcp_registry.refuse_unregistrable(ws.store, config, secrets)
            entries = secret_names(config)
            kind_label = "header" if config.transport == "http" else "environment variable"
            values = _read_secret_values([name for _, name in entries], f"Secret {kind_label}")
            named = dict(zip((name for _, name in entries), values, strict=True))
            record = mcp_registry.register_server(ws.store, config, named, secrets)
        except KeyringUnavailableError as exc:  # none secure, locked, D-Bus gone: not bad input
            said = str(exc)
            if not isinstance(exc, NoSecureKeyringError):  # that one says so already
                said += " Nothing was saved."
            print(f"error: {_lower_first(said)}", file=sys.stderr)
            return EXIT_FAILED
        kept = f"; {len(entries)} secret(s) in the OS keyring" if entries else ""
        out.write(
            f"added MCP server {record.name} ({record.config.transport}: "
            f"{record.config.target()}){kept}\n"
            f"check it with: ato-desktop mcp test {record.name}\n"
        )
        return EXIT_OK
    finally:
        ws.close()


def _lower_first(text: str) -> str:
    """A message as the tail of "error: ..." (the CLI's errors start in lower case)."""
    return text[:1].lower() + text[1:]


def _mcp_list(args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.core.timefmt import rfc3339
    from ato_desktop.engine import mcp_registry
    from ato_desktop.engine.mcp_secrets import McpSecrets

    store = open_log_for_reading()
    try:
        infos = mcp_registry.list_servers(store, McpSecrets())
    finally:
        store.close()
    records = [info.record for info in infos]
    by_name = {info.name: [s.as_dict() for s in info.secrets] for info in infos}

    def secret_state(record: Any) -> list[dict[str, Any]]:
        return by_name[record.name]

    if args.json:
        emit_json(
            out,
            [
                {**r.as_dict(), "secrets": secret_state(r), "created_at": rfc3339(r.created_at)}
                for r in records
            ],
        )
        return EXIT_OK
    if not records:
        out.write(
            "No MCP servers yet. Add one: ato-desktop mcp add NAME --command CMD [--arg A ...] "
            "or --url URL\n"
        )
        return EXIT_OK
    rows = []
    for r in records:
        states = secret_state(r)
        missing = [s["name"] for s in states if s["present"] is False]
        secret_text = ", ".join(s["name"] for s in states) or "—"
        if missing:
            secret_text += f" (missing: {', '.join(missing)})"
        rows.append(
            [
                r.name,
                r.config.transport,
                r.config.target(),
                secret_text,
                f"{r.config.timeout_s:g}s",
            ]
        )
    table(out, ["NAME", "TRANSPORT", "TARGET", "SECRETS", "TIMEOUT"], rows)
    return EXIT_OK


async def _mcp_test(args: argparse.Namespace, out: TextIO) -> int:
    import asyncio

    from ato_desktop.core.timefmt import human_duration
    from ato_desktop.engine.mcp_client import McpConnectError, McpConnection, McpServerSpec
    from ato_desktop.store import mcp_servers

    store = open_log_for_reading()
    try:
        record = mcp_servers.get_server(store, args.name)
    finally:
        store.close()
    spec = await asyncio.to_thread(McpServerSpec.from_config, record.config)
    started = time.perf_counter_ns()
    try:
        async with McpConnection(spec) as conn:
            elapsed_ns = time.perf_counter_ns() - started
            tools = list(conn.tools)
            protocol, server_name = conn.protocol_version, conn.server_name
            server_version = conn.server_version
    except McpConnectError as exc:
        if args.json:
            emit_json(out, {"server": record.name, "ok": False, "error": str(exc), "tools": []})
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        emit_json(
            out,
            {
                "server": record.name,
                "ok": True,
                "protocol_version": protocol,
                "server_info": {"name": server_name, "version": server_version},
                "duration_ms": round(elapsed_ns / 1e6, 1),
                "tools": [
                    {
                        "name": t.name,
                        "description": t.description,
                        "read_only": t.read_only,
                        "annotations": t.annotations,
                        "input_schema": t.input_schema,
                    }
                    for t in tools
                ],
            },
        )
        return EXIT_OK
    who = f"{server_name} {server_version}".strip() if server_name else "the server"
    out.write(
        f"{record.name}: connected to {who} in {human_duration(elapsed_ns)} (protocol "
        f"{protocol}); {len(tools)} tool(s)\n"
    )
    if tools:
        table(
            out,
            ["TOOL", "READ-ONLY", "DESCRIPTION"],
            [
                [
                    t.name,
                    {True: "yes", False: "no", None: "not declared"}[t.read_only],
                    t.description,
                ]
                for t in tools
            ],
        )
    return EXIT_OK


def _mcp_remove(args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.engine import mcp_registry
    from ato_desktop.engine.mcp_secrets import McpSecrets
    from ato_desktop.store.execution_log import NotFoundError

    ws = open_workspace()
    try:
        removed = mcp_registry.unregister_server(ws.store, args.name, McpSecrets())
    finally:
        ws.close()
    if removed is None:
        raise NotFoundError(f"No MCP server named {args.name!r}. See `ato-desktop mcp list`.")
    deleted = removed.secrets_deleted
    extra = f" and {deleted} secret(s) from the keyring" if deleted else ""
    out.write(f"removed MCP server {removed.record.name}{extra}\n")
    return EXIT_OK
