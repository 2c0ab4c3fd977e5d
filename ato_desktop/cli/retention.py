"""The retention commands: `retention status|run|import|set` (docs/retention.md).

A thin layer over engine.retention, the same functions the Settings card and the app's daily job
call. Progress goes to stderr, results to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ato_desktop.cli import commands_in
from ato_desktop.cli.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from ato_desktop.cli.options import json_option
from ato_desktop.cli.text_io import unescaped

if TYPE_CHECKING:
    from ato_desktop.engine.workspace import Workspace

COMMANDS = commands_in(__name__)  # name -> help, from cli.COMMAND_TABLE


def add_parsers(commands: Any) -> None:
    """Register `retention` and its subcommands."""
    ret = commands.add_parser("retention", help=COMMANDS["retention"])
    ret.set_defaults(handler=cmd_retention)
    cmds = ret.add_subparsers(dest="retention_command", metavar="SUBCOMMAND", required=True)
    status = cmds.add_parser("status", help="the setting, runs due now, archives with sizes")
    json_option(status)
    run = cmds.add_parser("run", help="archive the runs due now, remove them, reclaim space")
    run.add_argument("--days", metavar="N", help="keep N days this time (default: the setting)")
    run.add_argument("--dry-run", action="store_true", help="count what would go; change nothing")
    run.add_argument(
        "--compact",
        action="store_true",
        help="a large log made before ATO gave space back bit by bit: convert it now with one "
        "VACUUM (it holds the log while it rewrites it; close other ATO windows first)",
    )
    json_option(run)
    imp = cmds.add_parser("import", help="put an archive's runs back into the log")
    imp.add_argument("archive", metavar="ARCHIVE", help="a runs-*.jsonl.gz file")
    json_option(imp)
    cmd_set = cmds.add_parser("set", help="how many days runs stay in the log (or off)")
    cmd_set.add_argument(
        "--days", metavar="N|off", required=True, help="days a run stays, or off: forever"
    )


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


class _Progress:
    """Progress on stderr: one line per stage, updated in place on a terminal, in tenths else."""

    def __init__(self) -> None:
        self.stage = ""
        self.shown = -1
        self.tty = sys.stderr.isatty()

    def __call__(self, stage: str, done: int, total: int) -> None:
        tenth = done * 10 // total if total else 10
        if stage == self.stage and (tenth == self.shown or (not self.tty and tenth < 10)):
            return
        if stage != self.stage and self.stage and self.tty:
            print(file=sys.stderr)
        self.stage, self.shown = stage, tenth
        end = "" if self.tty else "\n"
        # The CLI's own line, rewritten in place: past the escaping of printed text.
        print(f"\r{stage}: {done}/{total}", end=end, file=unescaped(sys.stderr), flush=True)

    def finish(self) -> None:
        if self.stage and self.tty:
            print(file=sys.stderr)


def cmd_retention(args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.core.retention import ArchiveFormatError, RetentionSettingError
    from ato_desktop.engine import retention
    from ato_desktop.engine.settings_file import SettingsFileError
    from ato_desktop.engine.workspace import Workspace

    command = args.retention_command
    try:
        if command == "set":
            return _set(args, out)
        ws = Workspace.open()
        try:
            if command == "status":
                return _status(ws, args, out)
            if command == "run":
                return _run(ws, args, out)
            if command == "import":
                return _import(ws, args, out)
        finally:
            ws.close()
    except (SettingsFileError, RetentionSettingError, ArchiveFormatError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except retention.RetentionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    raise AssertionError(command)


def _set(args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.core.retention import days_text, parse_days
    from ato_desktop.engine import retention
    from ato_desktop.store.paths import data_paths

    days = parse_days(args.days)
    paths = data_paths().ensure()
    retention.save_retention_days(paths, days)
    out.write(f"retention: {days_text(days)}\n")
    return EXIT_OK


def _status(ws: Workspace, args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.core.retention import days_text
    from ato_desktop.engine import retention

    days = retention.retention_days(ws.paths)
    status = retention.retention_status(ws.store, ws.paths, days=days)
    if args.json:
        data = {
            "days": status.days,
            "cutoff": status.cutoff_ms,
            "due": status.due,
            "held_running": status.held_running,
            "held_queued_for_sync": status.held_queued,
            "archives": [
                {"path": str(a.path), "bytes": a.size, "modified_at": a.modified_at_ms}
                for a in status.archives
            ],
        }
        out.write(json.dumps(data, indent=2) + "\n")
        return EXIT_OK
    out.write(f"retention: {days_text(status.days)}\n")
    if status.days is not None:
        held = []
        if status.held_running:
            held.append(f"{status.held_running} running")
        if status.held_queued:
            held.append(f"{status.held_queued} waiting for cloud sync")
        extra = f" (held back: {', '.join(held)})" if held else ""
        out.write(f"due now: {status.due} runs older than {status.days} days{extra}\n")
    out.write(f"archives in {retention.archives_dir(ws.paths)}: {len(status.archives)}\n")
    for archive in status.archives:
        out.write(f"  {archive.name}  {_size(archive.size)}\n")
    return EXIT_OK


def _run(ws: Workspace, args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.core.retention import parse_days
    from ato_desktop.engine import retention

    days = parse_days(args.days) if args.days is not None else retention.retention_days(ws.paths)
    if days is None:
        print(
            "retention is off: nothing to do (ato-desktop retention set --days N, or run --days N)",
            file=sys.stderr,
        )
        return EXIT_OK
    progress = _Progress()
    try:
        result = retention.run_retention(
            ws.store,
            ws.paths,
            days=days,
            dry_run=args.dry_run,
            progress=progress,
            compact=args.compact,
        )
    finally:
        progress.finish()
    if args.json:
        data = {
            "dry_run": result.dry_run,
            "archive": str(result.archive) if result.archive else None,
            "runs": result.runs,
            "actions": result.actions,
            "removed": result.removed,
            "archive_bytes": result.archive_bytes,
            "bytes_before": result.bytes_before,
            "bytes_after": result.bytes_after,
            "reclaimed": result.reclaimed,
            "notes": result.notes,
        }
        out.write(json.dumps(data, indent=2) + "\n")
        return EXIT_OK
    if result.dry_run:
        out.write(
            f"would archive {result.runs} runs ({result.actions} actions) older than {days} days\n"
        )
    elif result.archive is None:
        out.write(f"nothing to archive: no run older than {days} days is due\n")
    else:
        out.write(
            f"archived {result.runs} runs ({result.actions} actions) to {result.archive} "
            f"({_size(result.archive_bytes)})\n"
            f"removed {result.removed} runs from the log; reclaimed {_size(result.reclaimed)} "
            f"({_size(result.bytes_before)} -> {_size(result.bytes_after)})\n"
        )
    for note in result.notes:
        out.write(f"note: {note}\n")
    return EXIT_OK


def _import(ws: Workspace, args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.engine import retention

    path = Path(args.archive).expanduser()
    if not path.is_file():
        print(f"error: {path}: no such file", file=sys.stderr)
        return EXIT_USAGE
    progress = _Progress()
    try:
        result = retention.import_archive(ws.store, path, progress=progress)
    finally:
        progress.finish()
    if args.json:
        data = {"runs": result.runs, "actions": result.actions, "skipped": result.skipped}
        out.write(json.dumps(data, indent=2) + "\n")
    else:
        out.write(
            f"imported {result.runs} runs ({result.actions} actions) from {path.name}"
            + (f"; {result.skipped} were already in the log" if result.skipped else "")
            + "\n"
        )
    return EXIT_OK
