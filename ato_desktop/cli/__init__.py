"""The command-line front end: a thin layer over the same services the desktop app uses.

One module per command group, each with its arguments beside its handlers: `add_parsers`
registers its subcommands, and each subcommand names its handler (`set_defaults(handler=...)`).
A module imports what its commands need inside them, so a command loads only its own part of
the app: `runs list` reads the log without the provider SDKs, Qt, keyring or the price table,
and `--help` loads none of the app at all (tests/test_cli_imports.py keeps it so).

Exit codes: 0 success; 1 a dispatch that failed; 2 bad usage or input (unknown agent, malformed
file, ...); 3 the execution log or data directory cannot be used; 130 a killed dispatch.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

from ato_desktop import __version__
from ato_desktop.cli.exit_codes import EXIT_FAILED, EXIT_KILLED, EXIT_OK, EXIT_STORE, EXIT_USAGE
from ato_desktop.cli.text_io import (
    TerminalSafeWriter,
    UsageError,
    check_arguments,
    check_numbers,
)

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:
    import logging
    from typing import Any, TextIO

__all__ = [
    "EXIT_FAILED",
    "EXIT_KILLED",
    "EXIT_OK",
    "EXIT_STORE",
    "EXIT_USAGE",
    "UsageError",
    "build_parser",
    "check_numbers",
    "commands_in",
    "main",
]

DESCRIPTION = (
    "ATO Desktop: the local operations layer for LLM agents. With no command it opens "
    "the desktop app; the commands below work on the same execution log."
)
EPILOG = "Data directory: $ATO_HOME, or the platform's user data directory."

# Errors that mean bad input (exit 2), by the module that defines them. A module that was never
# imported raised none of its errors, so they are checked only when loaded: the command that
# failed imported them, and no other command pays for importing them.
USAGE_ERRORS = (
    ("ato_desktop.cli.text_io", "UsageError"),
    ("ato_desktop.engine.agents", "AgentConfigError"),
    ("ato_desktop.store.execution_log", "NotFoundError"),
    ("ato_desktop.engine.dispatcher", "DispatchError"),
    ("ato_desktop.engine.credentials", "CredentialError"),
    ("ato_desktop.core.timefmt", "DurationError"),
    ("ato_desktop.core.pricing", "PriceFileError"),
    ("ato_desktop.core.automations", "DefinitionError"),  # definitions, skill files, cron
    ("ato_desktop.engine.pipelines", "PipelineError"),
)
NO_COMMAND = ""  # build_parser(NO_COMMAND): every command by name and help, none built
STORE_ERRORS = (("ato_desktop.store.database", "StoreError"),)  # exit 3


# Every command, in the order `--help` lists them: its name, the module of cli/ that has its
# parsers and handlers, and its help. A command line imports its command's module alone, and
# `--help` none of them; each module's COMMANDS are its rows (commands_in).
COMMAND_TABLE: tuple[tuple[str, str, str], ...] = (
    ("agents", "agents", "create, edit and list agents"),
    ("dispatch", "dispatch", "run a prompt and stream the answer"),
    ("runs", "runs", "list, inspect and kill runs"),
    ("replay", "replay", "send a recorded request again on another runtime or agent, and compare"),
    (
        "simulate",
        "simulate",
        "replay a run for free against its agent's current config, find divergences",
    ),
    (
        "determinism",
        "determinism",
        "how reproducible a run, or an agent's history, is: a 0-100 score and findings",
    ),
    ("compare", "compare", "two runs side by side: actions aligned, input/output diffs, deltas"),
    ("insights", "insights", "regressions after agent config changes; the thresholds they use"),
    (
        "eval",
        "evals",
        "run an eval suite (JSONL) against an agent or a runtime + model; gate CI on it",
    ),
    ("export", "export", "export runs with their actions"),
    ("keys", "keys", "API keys in the OS keyring"),
    ("mcp", "mcp", "MCP tool servers: register, list, test, remove"),
    ("groups", "automations", "sequential pipelines and routed groups of agents"),
    ("schedules", "automations", "cron schedules that dispatch an agent, group or skill flow"),
    (
        "hooks",
        "automations",
        "dispatch an agent or group when another agent's run completes, fails or goes over budget",
    ),
    (
        "skills",
        "automations",
        "skill flows: Markdown files whose `## Step` sections run as a pipeline",
    ),
    ("pipelines", "automations", "runs of groups and skill flows with per-stage timing and cost"),
    ("sync", "sync", "send runs to an OTLP backend (cloud sync)"),
    ("receiver", "sync", "the local OTLP/HTTP receiver"),
    ("retention", "retention", "archive old runs to compressed JSONL files"),
    ("doctor", "doctor", "check the log whole; back it up; recover a damaged one into a new log"),
    ("actions", "actions", "the Activity Ledger: every action across runs, filtered and sorted"),
    ("demo", "demo", "load the demo workspace (or remove it with --remove)"),
)


def commands_in(module_name: str) -> dict[str, str]:
    """The commands the module of cli/ named module_name has, with their help (its COMMANDS)."""
    short = module_name.rsplit(".", 1)[-1]
    return {name: text for name, module, text in COMMAND_TABLE if module == short}


def command_modules(command: str | None = None) -> list[ModuleType]:
    """The command modules, in the order `--help` lists their commands; with a command's name,
    the module that has it alone (none for a name that is no command)."""
    names = dict.fromkeys(m for name, m, _text in COMMAND_TABLE if command in (None, name))
    return [importlib.import_module(f"{__name__}.{m}") for m in names]


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser. With a command's name, only the parser of the module that has it (the
    others' arguments unbuilt, their imports not made): what a command line starting with that
    command needs. With NO_COMMAND, every command by name and help, none built: the top-level
    `--help` and errors, which read the same as the whole parser's (tests/test_cli_docs.py)."""
    parser = _Parser(prog="ato-desktop", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"ato-desktop {__version__}")
    parser.set_defaults(handler=None)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    if command == NO_COMMAND:
        for name, _module, text in COMMAND_TABLE:
            commands.add_parser(name, help=text)
        return parser
    for module in command_modules(command):
        module.add_parsers(commands)
    return parser


class _Parser(argparse.ArgumentParser):
    """argparse's parser, its help as wide as the terminal without loading shutil (argparse
    imports it for the width, and shutil loads the bz2, lzma and zlib modules: a few ms of
    every command's start). Subcommands' parsers are of this class too (add_subparsers)."""

    def _get_formatter(self) -> argparse.HelpFormatter:
        if self.formatter_class is not argparse.HelpFormatter:
            return super()._get_formatter()
        return argparse.HelpFormatter(prog=self.prog, width=_terminal_width() - 2)


def _terminal_width() -> int:
    """shutil.get_terminal_size().columns, as argparse reads it: $COLUMNS, else the terminal
    of stdout, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def _parser_for(argv: Sequence[str]) -> argparse.ArgumentParser:
    """The parser a command line needs: its command's alone when it starts with one (the only
    options before a command are --help and --version); otherwise none of the commands'
    arguments (`--help`, no command, an unknown one: only their names and help are shown)."""
    if argv and not argv[0].startswith("-") and argv[0] in all_command_names():
        return build_parser(argv[0])
    return build_parser(NO_COMMAND)


def all_command_names() -> set[str]:
    """Every command's name."""
    return {name for name, _module, _text in COMMAND_TABLE}


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None) -> int:
    """Run one command; everything it prints is terminal-safe (text_io.TerminalSafeWriter)."""
    out = TerminalSafeWriter.wrap(stdout or sys.stdout)
    previous_stderr = sys.stderr
    if previous_stderr is not None:
        sys.stderr = TerminalSafeWriter.wrap(previous_stderr)
    try:
        return _main(list(sys.argv[1:] if argv is None else argv), out)  # type: ignore[arg-type]
    finally:
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
            out.finish()
            if isinstance(sys.stderr, TerminalSafeWriter):
                sys.stderr.finish()
        sys.stderr = previous_stderr


def _main(argv: list[str], out: TextIO) -> int:
    try:
        check_arguments(argv)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    parser = _parser_for(argv)
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace, TextIO], int] | None = args.handler
    if handler is None:
        parser.print_help(out)
        return EXIT_OK
    _configure_logging()  # here: `--help` and usage errors log nothing, nor load logging
    try:
        check_numbers(args)
        return handler(args, out)
    except KeyboardInterrupt:
        return EXIT_KILLED
    except BrokenPipeError:
        # The reader went away (`ato-desktop runs list | head`): stop quietly, as Unix tools do.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:
        if _is_one_of(exc, USAGE_ERRORS):
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        if _is_one_of(exc, STORE_ERRORS):
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_STORE
        if _is_one_of(exc, (("sqlite3", "DatabaseError"),)):
            # A read that met damage (or another refusal SQLite gives outside the writer): the
            # same message the checks at open give, never a crash report.
            from ato_desktop.store.database import translate_operational_error
            from ato_desktop.store.paths import data_paths

            error = translate_operational_error(exc, data_paths().database)  # type: ignore[arg-type]
            print(f"error: {error}", file=sys.stderr)
            return EXIT_STORE
        raise


def _is_one_of(exc: Exception, names: Sequence[tuple[str, str]]) -> bool:
    """exc is an instance of one of the named classes (of modules already imported)."""
    for module_name, class_name in names:
        module = sys.modules.get(module_name)
        if module is not None and isinstance(exc, getattr(module, class_name)):
            return True
    return False


def _configure_logging() -> None:
    """Warnings and errors to stderr (ATO_LOG_LEVEL=DEBUG for more), secrets redacted: now when
    logging is loaded, else as soon as a module loads it (before that module can log). A command
    that logs nothing never loads logging, a few ms of a reading command's start."""
    if "logging" in sys.modules:
        _install_log_handler()
    elif not any(isinstance(finder, _ConfigureLoggingOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _ConfigureLoggingOnImport())


def _install_log_handler() -> None:
    import logging

    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(TerminalSafeWriter.wrap(sys.stderr))
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler.addFilter(_RedactingOnFirstRecord())
        root.addHandler(handler)
        level = os.environ.get("ATO_LOG_LEVEL", "WARNING").upper()
        root.setLevel(level if level in logging.getLevelNamesMapping() else "WARNING")


class _ConfigureLoggingOnImport:
    """A finder, first on sys.meta_path, for `logging` alone: it finds the module where the
    other finders do and has the CLI's handler installed as soon as the module has run, so the
    module that imported logging logs through it. Used once, then removed."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> Any:
        if name != "logging":
            return None
        sys.meta_path.remove(self)
        import importlib.util

        spec = importlib.util.find_spec(name)  # the other finders, as the import would
        if spec is not None and spec.loader is not None:
            spec.loader = _ThenInstallLogHandler(spec.loader)  # type: ignore[assignment]
        return spec


class _ThenInstallLogHandler:
    """logging's own loader, installing the CLI's handler once it has run the module."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self.loader.exec_module(module)
        _install_log_handler()

    def __getattr__(self, name: str) -> Any:  # the rest of the loader (is_package, get_source)
        return getattr(self.loader, name)


class _RedactingOnFirstRecord:
    """engine.log_redaction's filter, loaded with the first record: it imports the keyring
    (to know the secrets this process has seen), which a command that logs nothing never needs.
    Every record still passes through it before the handler writes it. (A handler takes any
    object with a `filter` method; this one is no logging.Filter so the module needs no logging
    loaded before a command runs.)"""

    def __init__(self) -> None:
        self._filter: logging.Filter | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if self._filter is None:
            from ato_desktop.engine.log_redaction import SecretRedactingFilter

            self._filter = SecretRedactingFilter()
        return bool(self._filter.filter(record))
