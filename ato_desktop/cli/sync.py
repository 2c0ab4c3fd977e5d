"""The cloud sync and OTLP receiver commands: `sync ...` and `receiver run`.

A thin layer over engine.otlp_sync and engine.otlp_receiver, the same APIs the Settings page
uses. Secrets (token, password, header values) are read from stdin, never from arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import sys
from typing import TYPE_CHECKING, Any, TextIO

from ato_desktop.cli import commands_in
from ato_desktop.cli.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from ato_desktop.cli.options import json_option
from ato_desktop.cli.text_io import UsageError

if TYPE_CHECKING:
    from ato_desktop.engine.workspace import Workspace

COMMANDS = commands_in(__name__)  # name -> help, from cli.COMMAND_TABLE


def add_parsers(commands: Any) -> None:
    """Register `sync` and `receiver` and their subcommands."""
    from ato_desktop.core.pii import BUILTIN_RULES
    from ato_desktop.engine.otlp_receiver import DEFAULT_HOST, DEFAULT_PORT

    sync = commands.add_parser("sync", help=COMMANDS["sync"])
    sync.set_defaults(handler=cmd_sync)
    cmds = sync.add_subparsers(dest="sync_command", metavar="SUBCOMMAND", required=True)
    conf = cmds.add_parser("configure", help="endpoint, auth, scope, content and redaction")
    conf.add_argument(
        "--endpoint", metavar="URL", help="OTLP/HTTP endpoint (https unless loopback)"
    )
    conf.add_argument(
        "--auth",
        choices=("none", "bearer", "basic", "headers"),
        help="how to sign in: a bearer token, basic auth, or custom headers",
    )
    conf.add_argument("--user", metavar="NAME", help="basic-auth user name")
    conf.add_argument(
        "--header", action="append", default=None, metavar="NAME", help="a custom auth header"
    )
    conf.add_argument(
        "--secrets-from-stdin",
        action="store_true",
        help="read the token / password / header values from stdin, one line each",
    )
    conf.add_argument("--agent", action="append", default=None, metavar="NAME", help="only these")
    conf.add_argument("--all-agents", action="store_true", help="send every run (the default)")
    conf.add_argument(
        "--content",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also send prompts, answers and tool payloads, after redaction (off by default)",
    )
    conf.add_argument(
        "--redact",
        metavar="RULES",
        help=f"built-in redaction rules, comma separated ({','.join(BUILTIN_RULES)}; none)",
    )
    conf.add_argument(
        "--redact-pattern",
        action="append",
        default=None,
        metavar="REGEX",
        help="also redact what this matches (repeat)",
    )
    conf.add_argument("--batch-size", type=int, help="runs sent per request (1-500)")
    conf.add_argument(
        "--project",
        metavar="NAME",
        help="the project the traces land in (service.name, openinference.project.name); "
        '"" for the default, ato-desktop',
    )
    conf.add_argument(
        "--ingested",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also send runs received from other tools by `receiver run` (off by default)",
    )
    conf.add_argument(
        "--enable", dest="enabled", action="store_true", default=None, help="start sending"
    )
    conf.add_argument("--disable", dest="enabled", action="store_false", help="stop sending")
    conf.add_argument("--backfill-days", type=float, metavar="N", help="queue runs of N days")
    json_option(conf)
    status = cmds.add_parser("status", help="queued, last success, last error, sign-in state")
    json_option(status)
    now = cmds.add_parser("now", help="send everything queued now (exit 1 if it fails)")
    json_option(now)
    cmds.add_parser("pause", help="stop sending (runs are still queued)")
    cmds.add_parser("resume", help="send again")

    rx = commands.add_parser("receiver", help=COMMANDS["receiver"])
    rx.set_defaults(handler=cmd_receiver)
    rx_cmds = rx.add_subparsers(dest="receiver_command", metavar="SUBCOMMAND", required=True)
    run = rx_cmds.add_parser("run", help="accept OTLP traces as runs until Ctrl+C")
    run.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"listen port (default {DEFAULT_PORT})"
    )
    run.add_argument("--host", default=DEFAULT_HOST, help="listen address (default 127.0.0.1)")
    run.add_argument(
        "--require-token",
        action="store_true",
        help="accept only requests carrying the receiver token (Authorization: Bearer)",
    )
    token = rx_cmds.add_parser("token", help="the receiver's bearer token, kept in the keyring")
    token.add_argument(
        "action",
        choices=("create", "show", "delete"),
        help="create (shown in full this once), show (its last characters), delete",
    )


def _read_secret(prompt: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    line = sys.stdin.readline() if getattr(sys.stdin, "buffer", None) is None else None
    if line is None:  # bytes: a value that is not UTF-8 is a usage error, not a crash
        raw = sys.stdin.buffer.readline()
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError("a secret value on stdin is not UTF-8 text") from None
    return line.rstrip("\r\n")


def cmd_sync(args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.engine.otlp_sync import SyncConfigError
    from ato_desktop.engine.workspace import Workspace

    ws = Workspace.open()
    try:
        return _sync(ws, args, out)
    except SyncConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        ws.close()


def _sync(ws: Workspace, args: argparse.Namespace, out: TextIO) -> int:
    import asyncio

    from ato_desktop.core.pii import PiiRules
    from ato_desktop.engine.otlp_sync import SyncConfigError, SyncState
    from ato_desktop.store import sync_outbox
    from ato_desktop.store.execution_log import now_ms

    sync = ws.sync
    command = args.sync_command
    if command == "configure":
        redaction = None
        if args.redact is not None or args.redact_pattern is not None:
            current = sync.config().redaction
            builtin = current.builtin
            if args.redact is not None:
                names = [n.strip() for n in args.redact.split(",") if n.strip()]
                builtin = () if names == ["none"] else tuple(names)
            custom = (
                tuple(args.redact_pattern) if args.redact_pattern is not None else current.custom
            )
            try:
                redaction = PiiRules(builtin=builtin, custom=custom)
            except ValueError as exc:
                raise SyncConfigError(str(exc)) from None
        agents = [] if args.all_agents else args.agent
        config = sync.configure(
            endpoint=args.endpoint,
            enabled=args.enabled,
            auth_kind=args.auth,
            basic_user=args.user,
            header_names=args.header,
            agents=agents,
            include_content=args.content,
            redaction=redaction,
            batch_size=args.batch_size,
            project_name=args.project,
            include_ingested=args.ingested,
        )
        if args.secrets_from_stdin:
            if config.auth_kind == "bearer":
                sync.set_credentials(token=_read_secret("Token: "))
            elif config.auth_kind == "basic":
                sync.set_credentials(password=_read_secret("Password: "))
            elif config.auth_kind == "headers":
                sync.set_credentials(
                    headers={n: _read_secret(f"{n}: ") for n in config.header_names}
                )
        if args.backfill_days:
            since = now_ms() - int(args.backfill_days * 86_400_000)
            queued = sync_outbox.enqueue_ended_since(ws.store, since).result()
            print(f"queued {queued} earlier runs", file=sys.stderr)
        if args.json:
            out.write(json.dumps(config.as_dict(), indent=2) + "\n")
        else:
            out.write(_config_text(config.as_dict()))
        return EXIT_OK
    if command == "status":
        status = sync.status()
        if args.json:
            out.write(json.dumps(status.as_dict(), indent=2) + "\n")
        else:
            out.write(status.line + "\n")
            if status.needs_sign_in:
                out.write("Save new credentials: ato-desktop sync configure --secrets-from-stdin\n")
        return EXIT_OK
    if command == "now":
        results = asyncio.run(sync.sync_now())
        sent = sum(r.sent for r in results)
        skipped = sum(r.skipped for r in results)
        last = results[-1] if results else None
        failed = last is not None and last.outcome in ("retry", "auth", "busy")
        if args.json:
            out.write(
                json.dumps(
                    {
                        "sent": sent,
                        "skipped": skipped,
                        "failed": failed,
                        "error": last.error if last else None,
                        "status": sync.status().as_dict(),
                    },
                    indent=2,
                )
                + "\n"
            )
        else:
            out.write(f"sent {sent} runs" + (f", skipped {skipped}" if skipped else "") + "\n")
            if last is not None and last.outcome == "busy":
                out.write(f"{last.error}; it sends the queued runs\n")
            out.write(sync.status().line + "\n")
        if sync.status().state is SyncState.DISABLED:
            print(
                "cloud sync is off: ato-desktop sync configure --endpoint URL --enable",
                file=sys.stderr,
            )
        return EXIT_FAILED if failed else EXIT_OK
    if command == "pause":
        sync.pause()
        out.write(sync.status().line + "\n")
        return EXIT_OK
    if command == "resume":
        sync.resume()
        out.write(sync.status().line + "\n")
        return EXIT_OK
    raise AssertionError(command)


def _config_text(config: dict[str, Any]) -> str:
    lines = [f"{key}: {value}" for key, value in config.items()]
    return "\n".join(lines) + "\n"


def cmd_receiver(args: argparse.Namespace, out: TextIO) -> int:
    import asyncio

    from ato_desktop.engine.credentials import KeyringUnavailableError
    from ato_desktop.engine.otlp_receiver import OtlpReceiver
    from ato_desktop.engine.otlp_sync import is_loopback_host
    from ato_desktop.engine.workspace import Workspace

    if args.receiver_command == "token":
        return _receiver_token(args.action, out)
    if not is_loopback_host(args.host):
        print(
            f"warning: listening on {args.host}: other machines can send runs to this log"
            + ("" if args.require_token else "; --require-token lets only your exporters in"),
            file=sys.stderr,
        )
    ws = Workspace.open()
    try:
        receiver = OtlpReceiver(
            ws, host=args.host, port=args.port, require_token=args.require_token
        )
    except KeyringUnavailableError as exc:
        ws.close()
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        try:
            receiver.start()
        except OSError as exc:
            print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
            return EXIT_USAGE
        out.write(f"receiving OTLP traces at {receiver.url}/v1/traces (Ctrl+C stops)\n")
        out.flush()
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_receive_and_sync(ws))
        return EXIT_OK
    finally:
        receiver.close()
        ws.close()


async def send_before_exit(ws: Workspace) -> None:
    """A CLI run's last step: send what cloud sync has queued (this run included), for at most
    FLUSH_TIMEOUT_S; what is left stays queued for the next process that sends, and stderr
    says so. Silent when sync is off or everything went."""
    from ato_desktop.engine.otlp_sync import FLUSH_TIMEOUT_S

    try:
        results = await ws.sync.flush(FLUSH_TIMEOUT_S)
    except Exception as exc:  # the run itself is recorded: sync must never fail the command
        print(f"cloud sync: not sent now ({exc}); the runs stay queued", file=sys.stderr)
        return
    last = results[-1] if results else None
    if last is None or last.outcome in ("nothing", "sent", "skipped"):
        return
    if last.outcome == "busy":
        return  # another process (the app, a daemon) sends it
    print(
        f"cloud sync: not sent now ({last.error or last.outcome}); the runs stay queued and "
        "the next process that sends delivers them (`ato-desktop sync status`)",
        file=sys.stderr,
    )


async def _receive_and_sync(ws: Workspace) -> None:
    """Until Ctrl+C: the receiver serves in its thread; this process also sends to the cloud
    sync endpoint, like every long-lived process (engine.otlp_sync)."""
    import asyncio

    ws.follow_changes()  # runs that end in other processes wake this sender too
    ws.sync.start(label="the OTLP receiver")
    try:
        await asyncio.Event().wait()
    finally:
        await ws.sync.aclose()


def _receiver_token(action: str, out: TextIO) -> int:
    """`receiver token create|show|delete`: the token is printed in full only when created."""
    from ato_desktop.engine.credentials import KeyringUnavailableError
    from ato_desktop.engine.otlp_receiver import ReceiverToken

    token = ReceiverToken()
    try:
        if action == "create":
            value = token.create()
            out.write(f"{value}\n")
            print(
                "Saved in the keyring. It is shown this once: give it to your exporters as "
                "OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>, and run "
                "`ato-desktop receiver run --require-token`.",
                file=sys.stderr,
            )
        elif action == "show":
            hint = token.hint()
            out.write(("no receiver token" if hint is None else f"receiver token {hint}") + "\n")
        else:
            out.write(("deleted" if token.delete() else "no receiver token") + "\n")
    except KeyringUnavailableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
