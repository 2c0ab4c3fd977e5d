"""Options several commands share: --json, --limit, runtimes, run statuses, the run filters,
tags."""

from __future__ import annotations

import argparse

from ato_desktop.cli.text_io import UsageError

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:
    from ato_desktop.core.log_records import RunFilter
    from ato_desktop.store.execution_log import ExecutionLog


def runtime_choices() -> list[str]:
    """The runtimes an agent, a dispatch or a replay can name."""
    from ato_desktop.core.vocabulary import RuntimeName

    return [r.value for r in RuntimeName]


def status_choices() -> list[str]:
    """The statuses a run can have."""
    from ato_desktop.core.vocabulary import RunStatus

    return [s.value for s in RunStatus]


def json_option(parser: argparse.ArgumentParser) -> None:
    """--json: print machine-readable output (the commands that list or show)."""
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def limit_option(parser: argparse.ArgumentParser) -> None:
    """--limit N: rows to show, 50 by default, 0 for all."""
    parser.add_argument("--limit", type=int, default=50, help="rows to show (default 50; 0: all)")


def filter_options(parser: argparse.ArgumentParser) -> None:
    """The run filters `runs list` and `export` share."""
    from ato_desktop.core.timefmt import TIME_WINDOWS

    parser.add_argument(
        "--status",
        action="append",
        default=[],
        metavar="S",
        help=f"one of {', '.join(status_choices())} (repeat or comma-separate for several)",
    )
    parser.add_argument("--agent", metavar="NAME", help="runs of this agent")
    parser.add_argument(
        "--since",
        default="all",
        metavar="WINDOW",
        help=f"time window: {', '.join(TIME_WINDOWS)} or any duration like 12h (default all)",
    )
    parser.add_argument(
        "--min-cost", type=float, metavar="USD", help="runs that cost at least this much"
    )
    parser.add_argument("--user", metavar="NAME", help="runs tagged user=NAME")
    parser.add_argument("--tenant", metavar="NAME", help="runs tagged tenant=NAME")
    parser.add_argument(
        "--tag", action="append", default=[], metavar="K=V", help="runs with this tag (repeat)"
    )
    parser.add_argument("--error-class", metavar="CLASS", help="e.g. timeout, rate_limit")
    parser.add_argument(
        "--min-duration", metavar="DURATION", help="runs that took at least this long, e.g. 30s"
    )


def tags(items: list[str]) -> dict[str, str]:
    """K=V items as a dict; UsageError for one that is not K=V."""
    found: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"tag {item!r} must look like key=value")
        found[key.strip()] = value
    return found


def run_filter(store: ExecutionLog, args: argparse.Namespace) -> RunFilter:
    """The runs the filter options ask for; UsageError says what is wrong with them."""
    from ato_desktop.core.log_records import RunFilter
    from ato_desktop.core.timefmt import parse_duration_ms, window_start_ms
    from ato_desktop.store.execution_log import now_ms

    known = status_choices()
    statuses: list[str] = []
    for item in args.status:
        statuses.extend(s.strip() for s in item.split(",") if s.strip())
    unknown = [s for s in statuses if s not in known]
    if unknown:
        raise UsageError(f"unknown status {unknown[0]!r}; use {', '.join(known)}")
    agent_id = store.get_agent(args.agent).id if args.agent else None
    if args.min_cost is not None and args.min_cost < 0:
        raise UsageError("--min-cost cannot be negative")
    wanted = tags(args.tag)
    for key in ("user", "tenant"):
        if getattr(args, key):
            wanted[key] = getattr(args, key)
    return RunFilter(
        statuses=tuple(statuses),
        agent_id=agent_id,
        since_ms=window_start_ms(args.since, now_ms()),
        min_cost_usd=args.min_cost,
        tags=tuple(wanted.items()),
        error_class=args.error_class,
        min_duration_ms=parse_duration_ms(args.min_duration) if args.min_duration else None,
    )
