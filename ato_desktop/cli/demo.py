"""`demo`: load the demo workspace, or remove it with --remove."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from ato_desktop.cli import commands_in
from ato_desktop.cli.exit_codes import EXIT_KILLED, EXIT_OK
from ato_desktop.cli.output import Progress, when
from ato_desktop.cli.text_io import UsageError
from ato_desktop.cli.workspaces import open_workspace

COMMANDS = commands_in(__name__)  # name -> help, from cli.COMMAND_TABLE


def add_parsers(commands: Any) -> None:
    """Register `demo`."""
    from ato_desktop.engine import demo as demo_workspace

    demo = commands.add_parser(
        "demo",
        help=COMMANDS["demo"],
        description="Load a realistic, deterministic month of demo runs (agents on claude, codex "
        "and a local OpenAI-compatible model, failures, config changes, chat threads). Every "
        "demo row is marked; --remove takes them all out and leaves your own data alone.",
    )
    demo.add_argument(
        "--runs",
        type=int,
        metavar="N",
        help=f"how many runs (default {demo_workspace.DEFAULT_RUNS:,}; 1000000 builds the "
        "benchmark size)",
    )
    demo.add_argument(
        "--actions",
        type=int,
        metavar="N",
        help="about how many actions in all: longer agent tool loops (default: their usual "
        "length, about 3.4 a run; --runs 1000000 --actions 10000000 builds the benchmark size)",
    )
    demo.add_argument(
        "--seed",
        type=int,
        metavar="S",
        help="random seed; the same seed gives the same rows "
        f"(default {demo_workspace.DEFAULT_SEED})",
    )
    demo.add_argument("--remove", action="store_true", help="remove every demo row")
    demo.set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.engine import demo as demo_workspace

    if args.remove and (args.runs is not None or args.seed is not None or args.actions is not None):
        raise UsageError("--remove takes no --runs, --actions or --seed")
    runs = demo_workspace.DEFAULT_RUNS if args.runs is None else args.runs
    seed = demo_workspace.DEFAULT_SEED if args.seed is None else args.seed
    if not args.remove and not demo_workspace.MIN_RUNS <= runs <= demo_workspace.MAX_RUNS:
        raise UsageError(
            f"--runs must be between {demo_workspace.MIN_RUNS:,} and {demo_workspace.MAX_RUNS:,}"
        )
    if not args.remove:
        try:
            demo_workspace.check_actions(runs, args.actions)
        except ValueError as exc:
            raise UsageError(f"--actions: {exc}") from None
    ws = open_workspace()
    progress = Progress(
        "removing the demo workspace" if args.remove else "loading the demo workspace"
    )
    try:
        if args.remove:
            try:
                removed = demo_workspace.remove_demo_workspace(ws.store, progress=progress)
            except demo_workspace.DemoBusyError as exc:
                progress.finish()
                raise UsageError(str(exc)) from None
            progress.finish()
            if removed.empty:
                out.write("No demo data to remove.\n")
            else:
                out.write(
                    f"Removed the demo workspace: {removed.runs:,} runs, {removed.agents} "
                    f"agents, {removed.threads} chat threads, {removed.automations} automations, "
                    f"{removed.eval_suites} eval suites. Your own data was not touched.\n"
                )
            return EXIT_OK
        try:
            summary = demo_workspace.build_demo_workspace(
                ws.store,
                ws.prices,
                runs=runs,
                actions=args.actions,
                seed=seed,
                progress=progress,
                phase=progress.phase,
            )
        except demo_workspace.DemoExistsError as exc:
            progress.finish()
            raise UsageError(str(exc)) from None
        except KeyboardInterrupt:
            progress.finish()
            print("cancelled; the partly loaded demo workspace was removed", file=sys.stderr)
            return EXIT_KILLED
        progress.finish()
        if summary.resumed:
            out.write("An earlier demo build had been interrupted; what it wrote was removed.\n")
        out.write(
            f"Loaded the demo workspace: {summary.runs:,} runs ({summary.actions:,} actions), "
            f"{summary.agents} agents, {summary.threads} chat threads, {summary.automations} "
            f"automations (paused), {summary.eval_suites} eval suites ({summary.eval_runs} "
            f"reports), over the 30 days to {when(summary.end_ms)} UTC (seed {seed}, "
            f"{summary.seconds:.1f} s).\n"
            "Every demo row is marked; remove them all with `ato-desktop demo --remove`.\n"
        )
        return EXIT_OK
    finally:
        ws.close()
