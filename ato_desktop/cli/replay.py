"""`replay`: send a recorded request again on another runtime or agent, and compare."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from typing import TYPE_CHECKING, Any, TextIO

from ato_desktop.cli import commands_in
from ato_desktop.cli.exit_codes import EXIT_FAILED, EXIT_OK
from ato_desktop.cli.options import json_option, runtime_choices
from ato_desktop.cli.output import emit_json, pct_text, table
from ato_desktop.cli.text_io import UsageError, unescaped
from ato_desktop.cli.workspaces import open_workspace

if TYPE_CHECKING:
    from ato_desktop.engine.workspace import Workspace

COMMANDS = commands_in(__name__)  # name -> help, from cli.COMMAND_TABLE


def add_parsers(commands: Any) -> None:
    """Register `replay`."""
    rep = commands.add_parser(
        "replay",
        help=COMMANDS["replay"],
        description="Replay a run (its first model call, and its tool loop against the same MCP "
        "servers) or one call (--seq) on a target: an agent (its own prompt, tools and "
        "parameters) or a runtime + model (the source's configuration, model swapped). The "
        "estimated cost is printed before anything is sent. With --batch or --failures-of, "
        "many runs are replayed and summarised (recovered = failed before, completed now).",
    )
    rep.add_argument("run_id", nargs="?", metavar="RUN_ID")
    rep.add_argument("--seq", type=int, metavar="N", help="replay only the call_llm action #N")
    rep.add_argument("--batch", nargs="+", metavar="RUN_ID", help="replay these runs")
    rep.add_argument("--failures-of", metavar="AGENT", help="replay this agent's failed runs")
    rep.add_argument(
        "--since",
        default="all",
        metavar="WHEN",
        help="with --failures-of: 24h, 7d, 30d, all, a duration, or vN (since that config "
        "version of the agent)",
    )
    rep_target = rep.add_mutually_exclusive_group(required=True)
    rep_target.add_argument("--agent", help="replay as this agent")
    rep_target.add_argument("--runtime", choices=runtime_choices(), help="replay on this runtime")
    rep.add_argument("--model", help="with --runtime")
    rep.add_argument("--base-url", help="with --runtime: where that runtime's API is")
    rep.add_argument("--concurrency", type=int, default=4, help="batch: at most N at once")
    json_option(rep)
    rep.set_defaults(handler=cmd_replay)


def cmd_replay(args: argparse.Namespace, out: TextIO) -> int:
    import asyncio

    from ato_desktop.engine.replay import ReplayTarget

    if args.runtime and not args.model:
        raise UsageError("--runtime needs --model")
    batch = bool(args.batch or args.failures_of)
    if batch and (args.run_id or args.seq is not None):
        raise UsageError("give RUN_ID (one replay) or --batch / --failures-of, not both")
    if not batch and not args.run_id:
        raise UsageError("give RUN_ID, --batch RUN_ID..., or --failures-of AGENT")
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    try:
        target = ReplayTarget(args.agent, args.runtime, args.model, args.base_url)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    return asyncio.run(_replay(args, target, out, batch=batch))


async def _replay(args: argparse.Namespace, target: Any, out: TextIO, *, batch: bool) -> int:
    import asyncio

    from ato_desktop.core.cost_rollup import format_cost
    from ato_desktop.core.models import RunStatus
    from ato_desktop.engine import replay as replay_engine

    ws = open_workspace()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, ws.live.kill_all)
    try:
        if batch:
            return await _replay_batch(ws, args, target, out, replay_engine)
        run_id = ws.store.resolve_run_id(args.run_id)
        try:
            source = replay_engine.load_source(ws, run_id, args.seq)
            plan = replay_engine.plan_replay(ws, source, target)
        except replay_engine.ReplayUnavailable as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_FAILED
        print(
            f"replaying {source.run.id} on {target.label} · estimated "
            f"{format_cost(plan.estimate.usd, plan.estimate.source.value)} "
            f"({plan.estimated_input_tokens} in + ~{plan.estimated_output_tokens} out tokens)",
            file=sys.stderr,
        )
        for note in plan.notes:
            print(f"  note: {note}", file=sys.stderr)
        result = await replay_engine.replay(ws, run_id, target, seq=args.seq, plan=plan)
        if args.json:
            emit_json(out, _replay_json(result))
        else:
            _print_comparison(out, result)
        return EXIT_OK if result.dispatch.status is RunStatus.COMPLETED else EXIT_FAILED
    finally:
        await ws.aclose()


async def _replay_batch(
    ws: Workspace, args: argparse.Namespace, target: Any, out: TextIO, engine: Any
) -> int:
    from ato_desktop.core.figures import duration_ms

    if args.failures_of:
        since = _since_for(ws, args.failures_of, args.since)
        run_ids = engine.failures_of(ws, args.failures_of, since)
    else:
        run_ids = [ws.store.resolve_run_id(r) for r in args.batch]
    if not run_ids:
        out.write("Nothing to replay: no runs matched.\n")
        return EXIT_OK
    print(
        f"replaying {len(run_ids)} run(s) on {target.label}, {args.concurrency} at a time",
        file=sys.stderr,
    )

    def progress(done: int, total: int, item: Any) -> None:
        if sys.stderr.isatty():
            unescaped(sys.stderr).write(f"\r{done}/{total} replayed")
            sys.stderr.flush()

    summary = await engine.replay_batch(
        ws, run_ids, target, concurrency=args.concurrency, progress=progress
    )
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    if args.json:
        emit_json(
            out,
            {
                "target": target.label,
                "total": summary.total,
                "replayed": summary.replayed,
                "skipped": summary.skipped,
                "recovered": summary.recovered,
                "still_failing": summary.still_failing,
                "regressed": summary.regressed,
                "source_cost_usd": summary.source_cost_usd,
                "replay_cost_usd": summary.replay_cost_usd,
                "cost_delta_pct": summary.cost_delta_pct,
                "source_median_ms": summary.source_median_ms,
                "replay_median_ms": summary.replay_median_ms,
                "latency_delta_pct": summary.latency_delta_pct,
                "unreached": summary.unreached,
                "notes": list(summary.notes),
                "items": [
                    {
                        "source_run_id": item.source_run_id,
                        "replay_run_id": item.result.dispatch.run_id if item.result else None,
                        "source_status": item.result.comparison.source.status
                        if item.result
                        else None,
                        "replay_status": item.result.dispatch.status.value if item.result else None,
                        "skipped": item.skipped,
                        "error": item.error,
                    }
                    for item in summary.items
                ],
            },
        )
    else:
        out.write(
            f"{summary.replayed}/{summary.total} replayed on {target.label}: "
            f"{summary.recovered} recovered, {summary.still_failing} still failing, "
            f"{summary.regressed} regressed\n"
            f"cost: ${summary.source_cost_usd:.4f} -> ${summary.replay_cost_usd:.4f}"
            f"{pct_text(summary.cost_delta_pct)} · median latency "
            f"{duration_ms(summary.source_median_ms)} -> {duration_ms(summary.replay_median_ms)}"
            f"{pct_text(summary.latency_delta_pct)}\n"
        )
        for note in summary.notes:
            out.write(f"  note: {note}\n")
        for item in summary.items:
            if item.skipped or item.error:
                out.write(f"  skipped {item.source_run_id[-8:]}: {item.skipped or item.error}\n")
    return EXIT_OK


def _since_for(ws: Workspace, agent: str, since: str) -> int | None:
    """A time window, or vN: the moment the agent's config version N was recorded."""
    from ato_desktop.core.timefmt import window_start_ms
    from ato_desktop.store.execution_log import now_ms

    if since.lower().startswith("v") and since[1:].isdigit():
        record = ws.store.get_agent(agent)
        for version in ws.store.agent_history(record.id):
            if version.version == int(since[1:]):
                return version.created_at
        raise UsageError(f"agent {agent!r} has no config version {since}")
    return window_start_ms(since, now_ms())


def _replay_json(result: Any) -> dict[str, Any]:
    comparison = result.comparison

    def side(s: Any) -> dict[str, Any]:
        return {
            "run_id": s.run_id,
            "status": s.status,
            "output": s.output,
            "duration_ms": s.duration_ms,
            "tokens": {"input": s.input_tokens, "output": s.output_tokens},
            "cost_usd": s.cost_usd,
            "cost_source": s.cost_source,
            "error_class": s.error_class,
        }

    return {
        "target": result.plan.target.label,
        "notes": list(result.plan.notes),
        "estimate": {
            "cost_usd": result.plan.estimate.usd,
            "cost_source": result.plan.estimate.source.value,
        },
        "source": side(comparison.source),
        "replay": side(comparison.replay),
        "deltas_pct": {
            "duration": comparison.duration_delta_pct,
            "tokens": comparison.tokens_delta_pct,
            "cost": comparison.cost_delta_pct,
        },
        "similarity": round(comparison.similarity, 3),
        "replay_reached_model": comparison.replay_reached_model,
        "diff": [{"op": p.op, "text": p.text} for p in comparison.diff],
    }


def _print_comparison(out: TextIO, result: Any) -> None:
    from ato_desktop.core.cost_rollup import format_cost
    from ato_desktop.core.figures import duration_ms
    from ato_desktop.core.word_diff import render_plain

    c = result.comparison
    rows = [
        ("", "source", "replay", "delta"),
        ("run", c.source.run_id[-8:], c.replay.run_id[-8:], ""),
        ("status", c.source.status, c.replay.status, ""),
        (
            "duration",
            duration_ms(c.source.duration_ms),
            duration_ms(c.replay.duration_ms),
            pct_text(c.duration_delta_pct).strip(" ()"),
        ),
        (
            "tokens",
            f"{c.source.input_tokens}+{c.source.output_tokens}",
            f"{c.replay.input_tokens}+{c.replay.output_tokens}",
            pct_text(c.tokens_delta_pct).strip(" ()"),
        ),
        (
            "cost",
            format_cost(c.source.cost_usd, c.source.cost_source),
            format_cost(c.replay.cost_usd, c.replay.cost_source),
            pct_text(c.cost_delta_pct).strip(" ()"),
        ),
    ]
    table(out, list(rows[0]), [list(r) for r in rows[1:]])
    out.write(f"\nsource:\n{c.source.output}\n\nreplay:\n{c.replay.output}\n")
    if not c.replay_reached_model:
        out.write(
            f"\nThe replay failed before reaching a model ({c.replay.error_class or 'error'}): "
            "there is no answer to compare, and its figures are no evidence.\n"
        )
        return
    out.write(f"\nword diff ({c.similarity:.0%} alike):\n{render_plain(list(c.diff))}\n")
