"""`simulate`: replay a run for free against its agent's current config, find divergences."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from ato_desktop.cli import commands_in
from ato_desktop.cli.exit_codes import EXIT_FAILED, EXIT_OK
from ato_desktop.cli.options import json_option
from ato_desktop.cli.output import emit_json, table
from ato_desktop.cli.workspaces import open_workspace

COMMANDS = commands_in(__name__)  # name -> help, from cli.COMMAND_TABLE


def add_parsers(commands: Any) -> None:
    """Register `simulate`."""
    sim = commands.add_parser(
        "simulate",
        help=COMMANDS["simulate"],
        description="Walk a recorded run action by action: model answers and tools with side "
        "effects come from the recording (no network call, no cost); the request ATO would "
        "send now is rebuilt from the agent's current configuration and read-only local tools "
        "run again, so an edited prompt, a swapped model or a denied tool shows up as a "
        "divergence. The simulation is recorded as a run (trigger replay).",
    )
    sim.add_argument("run_id", metavar="RUN_ID")
    json_option(sim)
    sim.set_defaults(handler=cmd_simulate)


def cmd_simulate(args: argparse.Namespace, out: TextIO) -> int:
    import asyncio

    return asyncio.run(_simulate(args, out))


async def _simulate(args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.core.cost_rollup import format_cost
    from ato_desktop.engine.replay import ReplayUnavailable
    from ato_desktop.engine.simulation import simulate

    ws = open_workspace()
    try:
        run_id = ws.store.resolve_run_id(args.run_id)
        try:
            result = await simulate(ws, run_id)
        except ReplayUnavailable as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_FAILED
        summary = result.summary
        if args.json:
            emit_json(
                out,
                {
                    "source_run_id": result.source_run_id,
                    "simulation_run_id": result.simulation_run_id,
                    "configuration": result.config_label,
                    "original_cost_usd": summary.original_cost_usd,
                    "replay_cost_usd": summary.replay_cost_usd,
                    "savings_usd": summary.savings_usd,
                    "divergences": summary.divergences,
                    "match_rate": round(summary.match_rate, 4),
                    "notes": list(summary.notes),
                    "rows": [
                        {
                            "seq": r.seq,
                            "action": r.action,
                            "aspect": r.aspect,
                            "original": r.original,
                            "replay": r.replay,
                            "status": r.status,
                            "divergence": r.divergence,
                            "detail": r.detail,
                            "how": r.how,
                        }
                        for r in summary.rows
                    ],
                },
            )
            return EXIT_OK
        out.write(
            f"simulated {result.source_run_id} with {result.config_label}: "
            f"{summary.divergences} divergence(s), {summary.match_rate:.0%} match · original "
            f"{format_cost(summary.original_cost_usd, 'estimated')} · replay $0.00 · saved "
            f"{format_cost(summary.savings_usd, 'estimated')}\n"
        )
        for note in summary.notes:
            out.write(f"note: {note}\n")
        table(
            out,
            ["#", "ACTION", "", "ORIGINAL", "REPLAY", "STATUS"],
            [
                [
                    str(r.seq),
                    r.action,
                    r.aspect,
                    r.original,
                    r.replay,
                    ("✓ match" if r.divergence is None else f"✗ {r.divergence}"),
                ]
                for r in summary.rows
            ],
        )
        for r in summary.rows:
            if r.divergence:
                out.write(f"  #{r.seq} {r.action}: {r.divergence}: {r.detail}\n")
        return EXIT_OK
    finally:
        await ws.aclose()
