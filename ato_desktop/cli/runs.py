"""`runs list|show|kill`: list, inspect and kill runs."""

from __future__ import annotations

import argparse
import json
import time

from ato_desktop.cli import commands_in
from ato_desktop.cli.exit_codes import EXIT_FAILED, EXIT_OK
from ato_desktop.cli.options import filter_options, json_option, limit_option, run_filter
from ato_desktop.cli.output import emit_json, short, table, when
from ato_desktop.cli.text_io import UsageError
from ato_desktop.cli.workspaces import open_log_for_reading, open_workspace

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:
    from typing import Any, TextIO

COMMANDS = commands_in(__name__)  # name -> help, from cli.COMMAND_TABLE


def add_parsers(commands: Any) -> None:
    """Register `runs` and its subcommands."""
    from ato_desktop.core.run_sort import SORT_HELP

    runs = commands.add_parser("runs", help=COMMANDS["runs"])
    run_cmds = runs.add_subparsers(dest="runs_command", metavar="SUBCOMMAND", required=True)
    rlist = run_cmds.add_parser("list", help="runs, newest first (or sorted by --sort)")
    filter_options(rlist)
    rlist.add_argument("--sort", default="started", metavar="KEY", help=SORT_HELP)
    rlist.add_argument("--asc", action="store_true", help="ascending: oldest, cheapest... first")
    limit_option(rlist)
    json_option(rlist)
    rlist.set_defaults(handler=runs_list)
    show = run_cmds.add_parser("show", help="a run and its actions")
    show.add_argument("run_id", metavar="RUN_ID", help="full id, or a unique prefix or suffix")
    json_option(show)
    show.set_defaults(handler=runs_show)
    kill = run_cmds.add_parser("kill", help="kill running dispatches (partial output is kept)")
    kill.add_argument("run_ids", nargs="*", metavar="RUN_ID")
    kill.add_argument("--all-stuck", action="store_true", help="every run with no recent event")
    kill.add_argument(
        "--older-than",
        default="10m",
        metavar="DURATION",
        help="with --all-stuck: no event for this long (default 10m)",
    )
    json_option(kill)
    kill.set_defaults(handler=runs_kill)


def runs_list(args: argparse.Namespace, out: TextIO) -> int:
    """`runs list`: read-only, one page of the log's run listing (store.run_listing)."""
    from ato_desktop.core.cost_rollup import format_cost
    from ato_desktop.core.ids import short_id
    from ato_desktop.core.run_json import run_to_json
    from ato_desktop.core.run_sort import RunSort, SortKeyError
    from ato_desktop.core.timefmt import human_duration

    store = open_log_for_reading()
    try:
        flt = run_filter(store, args)
        if args.limit < 0:
            raise UsageError("--limit cannot be negative")
        try:
            sort = RunSort(args.sort.strip().lower(), descending=not args.asc)
        except SortKeyError as exc:
            raise UsageError(str(exc)) from exc
        runs = (
            list(store.iter_runs(flt, sort=sort))
            if args.limit == 0
            else store.list_runs(flt, limit=args.limit, sort=sort)
        )
        if args.json:
            emit_json(out, [run_to_json(r) for r in runs])
        elif not runs:
            out.write(
                "No runs match. Widen the filters (e.g. --since all) or dispatch one: "
                'ato-desktop dispatch --agent NAME "hello"\n'
            )
        else:
            table(
                out,
                ["RUN", "STATUS", "AGENT", "MODEL", "STARTED", "DURATION", "ACTIONS", "COST", "OK"],
                [
                    [
                        short_id(r.id),
                        r.status,
                        r.agent_name or "—",
                        f"{r.runtime}·{r.model}",
                        when(r.started_at),
                        human_duration(r.duration_ns),
                        str(r.action_count),
                        format_cost(r.cost_usd, r.cost_source),
                        "—" if r.success_rate is None else f"{r.success_rate:.0%}",
                    ]
                    for r in runs
                ],
            )
        return EXIT_OK
    finally:
        store.close()


def runs_show(args: argparse.Namespace, out: TextIO) -> int:
    """`runs show RUN_ID`: read-only."""
    from ato_desktop.core.run_json import run_to_json

    store = open_log_for_reading()
    try:
        run = store.get_run(store.resolve_run_id(args.run_id))
        actions = store.get_actions(run.id)
    finally:
        store.close()
    if args.json:
        emit_json(out, run_to_json(run, actions))
    else:
        _print_run(out, run_to_json(run, actions))
    return EXIT_OK


def runs_kill(args: argparse.Namespace, out: TextIO) -> int:
    """`runs kill`: flag the runs in the log; their owners (or crash recovery) end them."""
    import asyncio

    return asyncio.run(_kill(args, out))


def _print_run(out: TextIO, data: dict[str, Any]) -> None:
    from ato_desktop.core.cost_rollup import format_cost
    from ato_desktop.core.figures import duration_ms

    tokens = data["tokens"]
    lines = [
        f"run        {data['id']}",
        f"status     {data['status']}"
        + (f" ({data['error_class']}: {data['error_message']})" if data["error_class"] else ""),
        f"agent      {data['agent'] or '—'}"
        + (f" v{data['agent_version']}" if data["agent_version"] else ""),
        f"model      {data['runtime']} · {data['model']}",
        f"trigger    {data['trigger']}",
        f"started    {data['started_at']}",
        f"ended      {data['ended_at'] or '—'}",
        f"duration   {duration_ms(data['duration_ms'])}   ttft {duration_ms(data['ttft_ms'])}",
        f"tokens     {tokens['input']} in ({tokens['cache_read']} cache read, "
        f"{tokens['cache_write']} cache write) · {tokens['output']} out "
        f"({tokens['reasoning']} reasoning)" + (" · estimated" if tokens["estimated"] else ""),
        f"cost       {format_cost(data['cost_usd'], data['cost_source'])}"
        + (f" [{data['cost_source']}]" if data["cost_source"] else ""),
        f"actions    {data['action_count']}",
    ]
    if data.get("partial_output"):
        lines.append(f"so far     {short(data['partial_output'], 200)}")
    out.write("\n".join(lines) + "\n")
    for action in data.get("actions", []):
        out.write(
            f"\n#{action['seq']} {action['name']} · {action['outcome']} · "
            f"{duration_ms(action['duration_ms'])} · ttft {duration_ms(action['ttft_ms'])} · "
            f"{format_cost(action['cost_usd'], action['cost_source'])}\n"
        )
        if action["error_class"]:
            out.write(f"  error: {action['error_class']}: {action['error_message']}\n")
        out.write(
            "  inputs:  " + short(json.dumps(action["inputs"], ensure_ascii=False), 400) + "\n"
        )
        out.write(
            "  outputs: " + short(json.dumps(action["outputs"], ensure_ascii=False), 400) + "\n"
        )


async def _kill(args: argparse.Namespace, out: TextIO) -> int:
    import asyncio

    from ato_desktop.core.models import RunStatus
    from ato_desktop.core.timefmt import parse_duration_ms
    from ato_desktop.store.execution_log import now_ms

    if not args.run_ids and not args.all_stuck:
        raise UsageError("give run ids, or --all-stuck")
    ws = open_workspace()  # recovery on open turns runs of dead processes into `interrupted`
    try:
        store = ws.store
        ids = [store.resolve_run_id(r) for r in args.run_ids]
        if args.all_stuck:
            cutoff = now_ms() - parse_duration_ms(args.older_than)
            ids += [r.id for r in store.live_runs() if (r.last_event_at or r.started_at) <= cutoff]
        report: dict[str, str] = {}
        for run_id in ids:
            status = store.get_run(run_id).status
            if status != RunStatus.RUNNING.value:
                report[run_id] = f"already {status}"
        flagged = await asyncio.wrap_future(store.request_kill([i for i in ids if i not in report]))
        deadline = time.monotonic() + 3.0
        pending = set(flagged)
        while pending and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            for run_id in list(pending):
                status = store.get_run(run_id).status
                if status != RunStatus.RUNNING.value:
                    report[run_id] = status
                    pending.discard(run_id)
        for run_id in pending:
            report[run_id] = "still running (its process did not answer within 3 s)"
        if args.json:
            emit_json(out, [{"id": k, "result": v} for k, v in report.items()])
        elif not report:
            out.write("Nothing to kill.\n")
        else:
            for run_id, outcome in report.items():
                out.write(f"{run_id}  {outcome}\n")
        return EXIT_FAILED if pending else EXIT_OK
    finally:
        await ws.aclose()
