"""`ato-desktop doctor`: is the log sound; a copy of it; what can be read of a damaged one, in
a new log. A thin layer over store.doctor; it never opens the workspace (which refuses a
damaged log) and never writes to the log it examines. Progress goes to stderr, results to
stdout. Exit 0: the log is sound; 1: it is damaged; 3: it cannot be read at all.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, TextIO

from ato_desktop.cli import commands_in
from ato_desktop.cli.options import json_option
from ato_desktop.cli.text_io import unescaped

COMMANDS = commands_in(__name__)  # name -> help, from cli.COMMAND_TABLE
EXIT_OK, EXIT_DAMAGED = 0, 1


def add_parsers(commands: Any) -> None:
    """Register `doctor`."""
    doc = commands.add_parser(
        "doctor",
        help=COMMANDS["doctor"],
        description="Check every table and index of the execution log (SQLite's integrity "
        "check, table by table, with progress). --backup copies the log (and its -wal) into "
        "backups/ in the data directory; --recover also copies every row that can still be "
        "read into a new log beside it, stepping over damaged pages. The log itself is never "
        "changed. Exit 0 sound, 1 damaged, 3 unreadable.",
    )
    doc.add_argument("--backup", action="store_true", help="copy the log into backups/ first")
    doc.add_argument(
        "--recover",
        action="store_true",
        help="back it up, then copy what can be read into a new log (ato-recovered-*.sqlite3)",
    )
    json_option(doc)
    doc.set_defaults(handler=cmd_doctor)


class _Progress:
    """One line per step on stderr, redrawn in place on a terminal, at most 10 a second."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.what = ""

    def __call__(self, what: str, done: int, total: int) -> None:
        now = time.monotonic()
        if what == self.what and now - self.last < 0.1 and done < total:
            return
        self.last = now
        count = f"{done:,}/{total:,}" if total else f"{done:,} rows"
        if what.startswith("backing up") and total:
            count = f"{done * 100 // total}%"
        stream = unescaped(sys.stderr)
        if self.tty:
            stream.write(f"\r\x1b[K{what}: {count}")
        elif what != self.what:
            stream.write(f"{what}…\n")
        stream.flush()
        self.what = what

    def finish(self) -> None:
        if self.tty and self.what:
            unescaped(sys.stderr).write("\n")


def cmd_doctor(args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.store import damage, doctor
    from ato_desktop.store.database import StoreError, disk_full_error
    from ato_desktop.store.paths import data_paths
    from ato_desktop.store.retention import log_bytes

    paths = data_paths()
    database = paths.database
    if not database.exists():
        out.write(f"No execution log at {database} yet: nothing to check.\n")
        return EXIT_OK
    progress = _Progress()
    report: dict[str, Any] = {"database": str(database)}
    try:
        check = doctor.full_check(database, progress)
        report.update(
            sound=check.sound,
            problems=check.problems[:50],
            tables=check.tables,
            seconds=round(check.seconds, 2),
        )
        if check.sound:
            report["damage_note_cleared"] = damage.clear_damage(database)
        else:
            damage.record_damage(database, "; ".join(check.problems[:5]))
        if args.backup or args.recover:
            if not doctor.disk_usage_ok(paths.root, log_bytes(database)):
                raise disk_full_error(paths.root, "could not back up its log")
            report["backup"] = str(doctor.back_up(database, paths.root / "backups", progress))
        if args.recover:
            target = doctor.recovered_name(database)
            result = doctor.recover(database, target, progress)
            report["recovered"] = {
                "file": str(result.target),
                "rows": result.rows,
                "tables": {
                    t.table: {
                        "copied": t.copied - t.dropped,
                        "unreadable_ranges": t.unreadable_ranges,
                        "refused": t.refused,
                        "dropped_orphans": t.dropped,
                    }
                    for t in result.tables
                },
                "check": result.check,
            }
    except OSError as exc:
        raise StoreError(f"ATO could not read or copy {database}: {exc.strerror or exc}.") from exc
    finally:
        progress.finish()
    if args.json:
        out.write(json.dumps(report, indent=2) + "\n")
        return EXIT_OK if check.sound else EXIT_DAMAGED
    _print(out, report, database.name)
    return EXIT_OK if check.sound else EXIT_DAMAGED


def _print(out: TextIO, report: dict[str, Any], name: str) -> None:
    if report["sound"]:
        out.write(
            f"The log {report['database']} is sound: {report['tables']} tables and their "
            f"indexes checked in {report['seconds']} s.\n"
        )
        if report.get("damage_note_cleared"):
            out.write("An earlier note that it was damaged was removed: ATO opens it again.\n")
    else:
        problems = report["problems"]
        out.write(f"The log {report['database']} is damaged ({len(problems)} problems):\n")
        for problem in problems[:10]:
            out.write(f"  {problem}\n")
        if len(problems) > 10:
            out.write(f"  ... and {len(problems) - 10} more (--json lists 50)\n")
        out.write("ATO will not write to it. It was not changed.\n")
    if "backup" in report:
        out.write(f"Backed up to {report['backup']}\n")
    recovered = report.get("recovered")
    if recovered:
        lost = sum(t["unreadable_ranges"] for t in recovered["tables"].values())
        out.write(
            f"Recovered {recovered['rows']:,} rows into {recovered['file']}"
            + (f" ({lost} damaged ranges stepped over)" if lost else "")
            + (f"; its own check: {', '.join(recovered['check'])}" if recovered["check"] else "")
            + "\n"
        )
        for table, figures in recovered["tables"].items():
            if figures["copied"] or figures["unreadable_ranges"]:
                out.write(f"  {table}: {figures['copied']:,} rows\n")
        out.write(
            "To use it: close ATO (the app, daemons, receivers), then in the data directory "
            f"move {name} aside (keep it) and rename the recovered file to {name}.\n"
        )
    elif not report["sound"]:
        out.write(
            "Next: `ato-desktop doctor --recover` backs it up and copies what can be read into "
            "a new log, leaving this one as it is.\n"
        )
