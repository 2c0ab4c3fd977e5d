"""`determinism`: how reproducible a run, or an agent's history, is (read-only)."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from ato_desktop.cli import commands_in
from ato_desktop.cli.exit_codes import EXIT_OK
from ato_desktop.cli.options import json_option
from ato_desktop.cli.output import emit_json
from ato_desktop.cli.workspaces import open_log_for_reading

COMMANDS = commands_in(__name__)  # name -> help, from cli.COMMAND_TABLE


def add_parsers(commands: Any) -> None:
    """Register `determinism`."""
    det = commands.add_parser(
        "determinism",
        help=COMMANDS["determinism"],
        description="Scan recorded inputs and outputs for timestamps, random values and "
        "UUIDs, floating-point noise, unordered collections and side effects without an "
        "idempotency key, and compare with other recorded runs for identical inputs that got "
        "different outputs. The score is 100 minus the deductions of the findings listed.",
    )
    det_target = det.add_mutually_exclusive_group(required=True)
    det_target.add_argument("run_id", nargs="?", metavar="RUN_ID")
    det_target.add_argument("--agent", metavar="NAME", help="the agent's recent history")
    json_option(det)
    det.set_defaults(handler=cmd_determinism)


def cmd_determinism(args: argparse.Namespace, out: TextIO) -> int:
    """`determinism RUN_ID | --agent NAME`: read-only."""
    from ato_desktop.engine.determinism import analyse_agent, analyse_run

    store = open_log_for_reading()
    try:
        if args.agent is not None:
            report = analyse_agent(store, args.agent)
        else:
            report = analyse_run(store, store.resolve_run_id(args.run_id))
        if args.json:
            emit_json(out, report.as_dict())
            return EXIT_OK
        if report.nothing_to_judge:
            out.write(f"determinism: nothing to judge · {report.scope} {report.subject}\n")
            out.write(report.unjudged_reason + "\n")
            return EXIT_OK
        band = report.band
        out.write(
            f"determinism {report.score:.0f}/100 · {band.label} ({band.colour}) · "
            f"{report.scope} {report.subject}\n"
        )
        if not report.findings:
            out.write("No non-deterministic patterns found.\n")
        for finding in report.findings:
            where = f"#{finding.action_seq} {finding.action_name}"
            if finding.path:
                where += f" {finding.path}"
            line = f" line {finding.line}" if finding.line else ""
            if finding.json_line:
                line += f" (line {finding.json_line} of the JSON)"
            out.write(
                f"\n[{finding.severity.value}] {finding.title} · {where}{line} · "
                f"-{finding.deduction:g}\n  {finding.description}\n"
                f"  fix: {finding.recommendation}\n  docs: {finding.doc}\n"
            )
        if report.truncated:
            out.write("\n(the analysis stopped at its bound: more history exists)\n")
        return EXIT_OK
    finally:
        store.close()
