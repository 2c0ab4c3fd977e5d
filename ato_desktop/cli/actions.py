"""The CLI's Activity Ledger: `actions list` and `actions export`, every action across runs with
the filters and orders of the Runs page's Ledger view (store.action_ledger, core.ledger).

Bad input (an unknown agent, run, outcome or sort key, a malformed duration) is a clear error
with exit code 2; results go to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ato_desktop.cli import commands_in
from ato_desktop.cli.exit_codes import EXIT_KILLED, EXIT_OK, EXIT_USAGE
from ato_desktop.cli.options import json_option, limit_option
from ato_desktop.cli.workspaces import open_log_for_reading, open_workspace

if TYPE_CHECKING:
    from ato_desktop.core.ledger import LedgerFilter, LedgerSort
    from ato_desktop.store.execution_log import ExecutionLog

COMMANDS = commands_in(__name__)  # name -> help, from cli.COMMAND_TABLE


class _Usage(Exception):
    pass


def _outcomes() -> list[str]:
    from ato_desktop.core.vocabulary import Outcome

    return [o.value for o in Outcome]


def _filter_options(parser: argparse.ArgumentParser) -> None:
    from ato_desktop.core.ledger import LEDGER_SORT_HELP
    from ato_desktop.core.timefmt import TIME_WINDOWS

    parser.add_argument("--name", metavar="ACTION", help="the action's name, e.g. call_llm")
    parser.add_argument("--kind", metavar="KIND", help="e.g. llm, tool")
    parser.add_argument("--outcome", metavar="O", help=f"one of {', '.join(_outcomes())}")
    parser.add_argument("--agent", metavar="NAME", help="actions of this agent's runs")
    parser.add_argument("--model", metavar="MODEL", help="actions of runs on this model")
    parser.add_argument("--min-cost", metavar="USD", help="actions that cost at least this")
    parser.add_argument(
        "--min-duration", metavar="DURATION", help="actions that took at least this, e.g. 2s"
    )
    parser.add_argument(
        "--since",
        default="all",
        metavar="WINDOW",
        help=f"started within: {', '.join(TIME_WINDOWS)} or any duration like 12h (default all)",
    )
    parser.add_argument("--run", metavar="RUN_ID", help="one run's actions (id, prefix or suffix)")
    parser.add_argument("--sort", default="time", metavar="KEY", help=LEDGER_SORT_HELP)
    parser.add_argument("--asc", action="store_true", help="oldest, cheapest, fastest first")


def add_parsers(commands: Any) -> None:
    """Register `actions list` and `actions export`."""
    from ato_desktop.engine.export import LEDGER_FORMATS

    actions = commands.add_parser("actions", help=COMMANDS["actions"])
    cmds = actions.add_subparsers(dest="actions_command", metavar="SUBCOMMAND", required=True)
    lst = cmds.add_parser("list", help="actions, newest first (or sorted by --sort)")
    _filter_options(lst)
    limit_option(lst)
    json_option(lst)
    lst.set_defaults(handler=actions_list)
    exp = cmds.add_parser("export", help="the matching actions with their inputs and outputs")
    exp.add_argument("--format", required=True, choices=LEDGER_FORMATS, help="the file format")
    _filter_options(exp)
    exp.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    exp.set_defaults(handler=actions_export)


def ledger_filter(store: ExecutionLog, args: argparse.Namespace) -> tuple[LedgerFilter, LedgerSort]:
    """The filter and order the options ask for; _Usage says what is wrong with them."""
    from ato_desktop.core.coerce import as_money
    from ato_desktop.core.ledger import LedgerFilter, LedgerSort, LedgerSortError
    from ato_desktop.core.timefmt import DurationError, parse_duration_ms, window_start_ms
    from ato_desktop.store.execution_log import now_ms

    outcomes = _outcomes()
    if args.outcome is not None and args.outcome not in outcomes:
        raise _Usage(f"unknown outcome {args.outcome!r}; use {', '.join(outcomes)}")
    min_cost = None
    if args.min_cost is not None:
        min_cost = as_money(args.min_cost)
        if min_cost is None or min_cost < 0:
            raise _Usage(f"--min-cost {args.min_cost!r} is not an amount in USD (e.g. 0.05)")
    try:
        min_duration = float(parse_duration_ms(args.min_duration)) if args.min_duration else None
        since = window_start_ms(args.since, now_ms())
        sort = LedgerSort(args.sort.strip().lower(), descending=not args.asc)
    except (DurationError, LedgerSortError) as exc:
        raise _Usage(str(exc)) from exc
    agent_id = store.get_agent(args.agent).id if args.agent else None
    run_id = store.resolve_run_id(args.run) if args.run else None
    flt = LedgerFilter(
        name=args.name or None,
        kind=args.kind or None,
        outcome=args.outcome,
        agent_id=agent_id,
        model=args.model or None,
        min_cost_usd=min_cost,
        min_duration_ms=min_duration,
        since_ms=since,
        run_id=run_id,
    )
    return flt, sort


def actions_list(args: argparse.Namespace, out: TextIO) -> int:
    """`actions list`: read-only."""
    from ato_desktop.store.execution_log import NotFoundError

    try:
        store = open_log_for_reading()
        try:
            flt, sort = ledger_filter(store, args)
            return _list(store, flt, sort, args, out)
        finally:
            store.close()
    except (_Usage, NotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def actions_export(args: argparse.Namespace, out: TextIO) -> int:
    """`actions export --format F`: the matching actions with their payloads."""
    from ato_desktop.store.execution_log import NotFoundError

    try:
        ws = open_workspace()
        try:
            flt, sort = ledger_filter(ws.store, args)
            return _export(ws.store, flt, sort, args, out)
        finally:
            ws.close()
    except (_Usage, NotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _list(
    store: ExecutionLog, flt: LedgerFilter, sort: LedgerSort, args: argparse.Namespace, out: TextIO
) -> int:
    from ato_desktop.core.cost_rollup import format_cost
    from ato_desktop.core.ids import short_id
    from ato_desktop.core.ledger import entry_to_json
    from ato_desktop.core.timefmt import human_duration, rfc3339
    from ato_desktop.store import action_ledger

    if args.limit < 0:
        raise _Usage("--limit cannot be negative")
    conn = store.reader()
    entries = (
        list(action_ledger.iter_entries(conn, flt, sort=sort, payloads=args.json))
        if args.limit == 0
        else action_ledger.page(conn, flt, None, args.limit, sort=sort, payloads=args.json)
    )
    if args.json:
        out.write(json.dumps([entry_to_json(e) for e in entries], ensure_ascii=False, indent=2))
        out.write("\n")
        return EXIT_OK
    if not entries:
        out.write("No actions match. Widen the filters (e.g. --since all).\n")
        return EXIT_OK
    header = ["STARTED", "RUN", "AGENT", "MODEL", "ACTION", "KIND", "OUTCOME", "DURATION", "COST"]
    rows = [
        [
            (rfc3339(e.started_at) or "")[:19].replace("T", " "),
            short_id(e.run_id),
            e.agent_name or "—",
            e.model,
            e.name,
            e.kind,
            e.outcome,
            human_duration(e.duration_ns) if e.duration_ns is not None else "—",
            format_cost(e.cost_usd, e.cost_source) if e.cost_usd is not None else "—",
        ]
        for e in entries
    ]
    widths = [min(48, max(len(h), *(len(r[i]) for r in rows))) for i, h in enumerate(header)]
    for row in [header, *rows]:
        cells = [cell[: widths[i]].ljust(widths[i]) for i, cell in enumerate(row)]
        out.write("  ".join(cells).rstrip() + "\n")
    return EXIT_OK


def _export(
    store: ExecutionLog, flt: LedgerFilter, sort: LedgerSort, args: argparse.Namespace, out: TextIO
) -> int:
    from ato_desktop.engine.export import ExportCancelled, export_actions

    if not args.output:
        export_actions(store, flt, args.format, out, sort=sort)
        return EXIT_OK
    target = Path(args.output)
    progress_out = sys.stderr if sys.stderr.isatty() else None

    def progress(done: int, total: int) -> None:
        if progress_out is not None and (done % 500 == 0 or done == total):
            progress_out.write(f"\rexporting {done:,}/{total:,} actions")
            progress_out.flush()

    try:
        count = export_actions(store, flt, args.format, target, sort=sort, progress=progress)
    except (ExportCancelled, KeyboardInterrupt):
        print("\nexport cancelled; nothing was written", file=sys.stderr)
        return EXIT_KILLED
    except OSError as exc:
        raise _Usage(f"cannot write {target}: {exc.strerror}") from exc
    if progress_out is not None:
        progress_out.write("\n")
    print(f"exported {count:,} action(s) to {target}", file=sys.stderr)
    return EXIT_OK
