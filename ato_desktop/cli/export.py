"""`export`: runs with their actions, as CSV, JSON or JSONL."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from ato_desktop.cli import commands_in
from ato_desktop.cli.exit_codes import EXIT_KILLED, EXIT_OK
from ato_desktop.cli.options import filter_options, run_filter
from ato_desktop.cli.text_io import UsageError, unescaped
from ato_desktop.cli.workspaces import open_workspace

COMMANDS = commands_in(__name__)  # name -> help, from cli.COMMAND_TABLE


def add_parsers(commands: Any) -> None:
    """Register `export`."""
    from ato_desktop.engine.export import FORMATS

    export = commands.add_parser("export", help=COMMANDS["export"])
    export.add_argument("--format", required=True, choices=FORMATS, help="the file format")
    filter_options(export)
    export.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    export.set_defaults(handler=cmd_export)


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.engine.export import ExportCancelled, export_runs

    ws = open_workspace()
    try:
        flt = run_filter(ws.store, args)
        if args.output:
            target = Path(args.output)
            progress_out = unescaped(sys.stderr) if sys.stderr.isatty() else None

            def progress(done: int, total: int) -> None:
                if progress_out is not None and (done % 200 == 0 or done == total):
                    progress_out.write(f"\rexporting {done}/{total} runs")
                    progress_out.flush()

            try:
                count = export_runs(ws.store, flt, args.format, target, progress=progress)
            except (ExportCancelled, KeyboardInterrupt):
                print("\nexport cancelled; nothing was written", file=sys.stderr)
                return EXIT_KILLED
            except OSError as exc:
                raise UsageError(f"cannot write {target}: {exc.strerror}") from exc
            if progress_out is not None:
                progress_out.write("\n")
            print(f"exported {count} run(s) to {target}", file=sys.stderr)
        else:
            export_runs(ws.store, flt, args.format, out)
        return EXIT_OK
    finally:
        ws.close()
