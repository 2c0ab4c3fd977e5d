"""`keys set|remove|status`: API keys in the OS keyring (never in arguments, never printed)."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any, TextIO

from ato_desktop.cli import commands_in
from ato_desktop.cli.exit_codes import EXIT_FAILED, EXIT_OK
from ato_desktop.cli.options import json_option
from ato_desktop.cli.output import emit_json
from ato_desktop.cli.text_io import read_stdin_text

COMMANDS = commands_in(__name__)  # name -> help, from cli.COMMAND_TABLE


def add_parsers(commands: Any) -> None:
    """Register `keys` and its subcommands."""
    from ato_desktop.engine.credentials import PROVIDERS

    keys = commands.add_parser("keys", help=COMMANDS["keys"])
    key_cmds = keys.add_subparsers(dest="keys_command", metavar="SUBCOMMAND", required=True)
    kset = key_cmds.add_parser("set", help="store a key (read from stdin, never from arguments)")
    kset.add_argument("provider", choices=PROVIDERS)
    kset.set_defaults(handler=keys_set)
    kdel = key_cmds.add_parser("remove", help="delete a stored key")
    kdel.add_argument("provider", choices=PROVIDERS)
    kdel.set_defaults(handler=keys_remove)
    kstat = key_cmds.add_parser("status", help="which keys are present (never the keys)")
    json_option(kstat)
    kstat.set_defaults(handler=keys_status)


def keys_set(args: argparse.Namespace, out: TextIO) -> int:
    """`keys set PROVIDER`: the key from a hidden prompt, or stdin."""
    from ato_desktop.engine.credentials import CredentialStore

    store = CredentialStore()
    if sys.stdin.isatty():
        key = getpass.getpass(f"{args.provider} API key (input hidden): ")
    else:
        key = read_stdin_text("the key")
    outcome = store.set_key(args.provider, key)
    if outcome.persisted:
        out.write(
            f"saved the {args.provider} key in the OS keyring ({store.backend_description()})\n"
        )
        return EXIT_OK
    print(outcome.notice or "the key was not saved", file=sys.stderr)
    return EXIT_FAILED


def keys_remove(args: argparse.Namespace, out: TextIO) -> int:
    """`keys remove PROVIDER`."""
    from ato_desktop.engine.credentials import CredentialStore

    removed = CredentialStore().delete_key(args.provider)
    out.write(
        f"removed the {args.provider} key from the keyring\n"
        if removed
        else f"no {args.provider} key was stored in the keyring\n"
    )
    return EXIT_OK


def keys_status(args: argparse.Namespace, out: TextIO) -> int:
    """`keys status`: which keys are present and where from (never the keys)."""
    from ato_desktop.engine.credentials import CredentialStore

    store = CredentialStore()
    statuses = store.status()
    if args.json:
        emit_json(
            out,
            {
                "backend": store.backend_description(),
                "secure": store.backend_is_secure(),
                "keys": [
                    {"provider": s.provider, "present": s.present, "source": s.source}
                    for s in statuses
                ],
            },
        )
        return EXIT_OK
    if not store.backend_is_secure():
        out.write(
            f"No secure keyring on this system ({store.backend_description()}). Keys can "
            "only come from ANTHROPIC_API_KEY / OPENAI_API_KEY.\n"
        )
    else:
        out.write(f"keyring: {store.backend_description()}\n")
    for s in statuses:
        out.write(f"{s.provider:<10} {'present' if s.present else 'missing':<8} {s.source or ''}\n")
    return EXIT_OK
