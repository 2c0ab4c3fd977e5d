"""`insights regressions|cost|evidence|thresholds`: what config changes did, cheaper models."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from ato_desktop.cli import commands_in
from ato_desktop.cli.exit_codes import EXIT_FAILED, EXIT_OK
from ato_desktop.cli.options import json_option, runtime_choices
from ato_desktop.cli.output import emit_json, short, when
from ato_desktop.cli.text_io import UsageError
from ato_desktop.cli.workspaces import open_log_for_reading, open_workspace

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:
    from typing import Any, TextIO

COMMANDS = commands_in(__name__)  # name -> help, from cli.COMMAND_TABLE


def add_parsers(commands: Any) -> None:
    """Register `insights` and its subcommands."""
    insights = commands.add_parser("insights", help=COMMANDS["insights"])
    insight_cmds = insights.add_subparsers(
        dest="insights_command", metavar="SUBCOMMAND", required=True
    )
    reg = insight_cmds.add_parser(
        "regressions",
        help="config changes that made an agent worse, with failing examples",
        description="Join every agent config change against its runs before and after. A "
        "change is a regression when a metric crosses its threshold (success rate -10 pp, p95 "
        "latency +50%%, cost per call +25%%, eval score -15 pp), the change is unlikely to be "
        "chance (one-sided Fisher's exact test for success rate, Mann-Whitney U for the others, "
        "p < alpha) and both sides have enough runs. Exits 1 when an agent's current version "
        "regressed, so it can gate CI.",
    )
    reg.add_argument("--agent", metavar="NAME", help="one agent (default: all)")
    reg.add_argument(
        "--all", action="store_true", help="list every change checked, not only regressions"
    )
    json_option(reg)
    reg.set_defaults(handler=insights_regressions)
    cost = insight_cmds.add_parser(
        "cost",
        help="cheaper runtimes/models for your agents, only where runs prove it",
        description="For each agent, compare its current runtime and model with every other "
        "one it has runs on in the last 30 days (its own earlier runs, or replays of its "
        "runs). A swap is recommended when it is at least 30%% cheaper per call, its ok-rate "
        "is within 10 pp and its eval score within 5 pp, on at least 10 runs; sorted by the "
        "projected monthly saving at the agent's current volume.",
    )
    cost.add_argument("--all", action="store_true", help="also list candidates that fail")
    json_option(cost)
    cost.set_defaults(handler=insights_cost)
    evidence = insight_cmds.add_parser(
        "evidence",
        help="replay a sample of an agent's runs on a candidate to earn a cost recommendation",
        description="Replays the agent's newest finished runs on the candidate runtime and "
        "model through the one dispatch path (each replay is a run, trigger replay). The "
        "estimated cost is shown first; without --yes it asks before sending (and refuses "
        "when it cannot ask).",
    )
    evidence.add_argument("agent", metavar="AGENT")
    evidence.add_argument(
        "--runtime", required=True, choices=runtime_choices(), help="the candidate runtime"
    )
    evidence.add_argument("--model", required=True, help="the candidate model")
    evidence.add_argument("--base-url", help="for a local OpenAI-compatible server")
    evidence.add_argument("--sample", type=int, default=20, metavar="N", help="runs (20)")
    evidence.add_argument(
        "--concurrency", type=int, default=4, metavar="N", help="replays at once (4)"
    )
    evidence.add_argument("--yes", action="store_true", help="send without asking")
    json_option(evidence)
    evidence.set_defaults(handler=insights_evidence)
    thr = insight_cmds.add_parser(
        "thresholds",
        help="show or set the regression thresholds (settings.json in the data directory)",
    )
    thr.add_argument(
        "assignments",
        nargs="*",
        metavar="KEY=VALUE",
        help="success_drop_pp, p95_latency_rise_pct, cost_rise_pct, eval_drop_pp, min_runs, alpha",
    )
    thr.add_argument("--reset", action="store_true", help="back to the defaults")
    json_option(thr)
    thr.set_defaults(handler=insights_thresholds)


def insights_regressions(args: argparse.Namespace, out: TextIO) -> int:
    """`insights regressions`: read-only; exit 1 when an agent's current version regressed."""
    from ato_desktop.engine.regressions import detect
    from ato_desktop.store.paths import data_paths

    store = open_log_for_reading()
    try:
        detection = detect(store, data_paths(), agent=args.agent)
    finally:
        store.close()
    _said(detection.settings)
    report = detection.report
    active = [c for c in report.regressions if c.is_current]
    if args.json:
        data = report.as_dict()
        if not args.all:
            data["changes"] = [c.as_dict() for c in report.regressions]
        emit_json(out, data)
        return EXIT_FAILED if active else EXIT_OK
    shown = report.changes if args.all else report.regressions
    if not report.changes:
        out.write(
            "No config change to judge yet: an agent needs runs on both sides of a change "
            "(edit an agent with `agents edit`, then dispatch).\n"
        )
        return EXIT_OK
    unjudged = len(report.without_enough_data)
    judged = len(report.changes) - unjudged
    waiting = f"; {unjudged} without enough data yet" if unjudged else ""
    if not shown:
        if judged == 0:
            out.write(
                f"Not enough data yet to judge {len(report.changes)} config change"
                f"{'s' if len(report.changes) != 1 else ''}: each needs "
                f"{report.thresholds.min_runs} finished runs on both sides (--all lists them).\n"
            )
            return EXIT_OK
        out.write(
            f"No regressions in {judged} config change{'s' if judged != 1 else ''} checked"
            f"{waiting} (--all lists them).\n"
        )
        return EXIT_OK
    for change in shown:
        flag = {
            "regression": "REGRESSION",
            "ok": "ok",
            "not_enough_data": change.not_enough_text,
        }[change.verdict]
        current = " (current version)" if change.is_current else ""
        out.write(
            f"\n{flag}  @{change.agent_name} v{change.previous_version} → v{change.version}"
            f"{current} · {when(change.changed_at)} · {change.summary}\n"
        )
        for check in change.checks:
            mark = "✗" if check.regression else "·"
            out.write(
                f"  {mark} {check.label:<14} {_figure(check.metric, check.before)} → "
                f"{_figure(check.metric, check.after)}  ({check.reason}; "
                f"n = {check.n_before}/{check.n_after})\n"
            )
        for metric, examples in change.examples.items():
            out.write(f"  examples ({metric.replace('_', ' ')}):\n")
            for example in examples:
                error = (
                    f" · {example.error_class}: {short(example.error_message, 80)}"
                    if (example.error_class)
                    else ""
                )
                prompt = f' · "{short(example.prompt, 70)}"' if example.prompt else ""
                out.write(f"    {example.run_id}  {example.why}{error}{prompt}\n")
    out.write(
        f"\n{len(report.regressions)} regression"
        f"{'s' if len(report.regressions) != 1 else ''} in {len(report.changes)} change"
        f"{'s' if len(report.changes) != 1 else ''}{waiting}; tests: Fisher's exact (success "
        "rate), Mann-Whitney U (latency, cost, eval score), one-sided.\n"
    )
    return EXIT_FAILED if active else EXIT_OK


def insights_cost(args: argparse.Namespace, out: TextIO) -> int:
    """`insights cost`: cheaper runtimes and models, where runs prove it."""
    return _insights_cost(args, out)


def insights_evidence(args: argparse.Namespace, out: TextIO) -> int:
    """`insights evidence AGENT`: replay a sample on a candidate (asks before sending)."""
    import asyncio

    return asyncio.run(_insights_evidence(args, out))


def insights_thresholds(args: argparse.Namespace, out: TextIO) -> int:
    """`insights thresholds [KEY=VALUE ...]`: show or set them in settings.json."""
    from ato_desktop.engine.regressions import load_thresholds
    from ato_desktop.engine.settings_file import SettingsFileError, save_regression_thresholds
    from ato_desktop.store.paths import data_paths

    def load(paths: Any) -> Any:
        return _said(load_thresholds(paths))

    try:
        return _thresholds(args, out, data_paths(), load, save_regression_thresholds)
    except SettingsFileError as exc:  # a broken file is never overwritten
        raise UsageError(str(exc)) from exc


def _said(loaded: Any) -> Any:
    """The thresholds, read as the app reads them: a broken settings.json is said on stderr,
    and the defaults used."""
    if loaded.error:
        reason = loaded.error.rstrip(".")
        print(f"warning: {reason}; using the default thresholds", file=sys.stderr)
    return loaded.thresholds


def _insights_cost(args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.core.figures import rate_text
    from ato_desktop.engine.cost_recs import cost_recommendations

    ws = open_workspace()
    try:
        report = cost_recommendations(ws.store)
    finally:
        ws.close()
    if args.json:
        emit_json(out, report.as_dict())
        return EXIT_OK
    for rec in report.recommendations:
        current, candidate = rec.current, rec.candidate.stats
        out.write(f"{rec.headline}\n")
        out.write(
            f"  evidence: {current.label} ${current.cost_per_call or 0:.4f}/call, ok "
            f"{rate_text(current.ok_rate)} on {current.runs:,} runs · {candidate.label} "
            f"${candidate.cost_per_call or 0:.4f}/call, ok {rate_text(candidate.ok_rate)} on "
            f"{candidate.runs:,} runs ({candidate.replays:,} replays)"
            f"{_eval_text(current, candidate)}\n"
        )
        for note in rec.candidate.notes:
            out.write(f"  note: {note}\n")
    if report.explanation:
        out.write(report.explanation + "\n")
    if args.all:
        for agent in report.agents:
            for candidate_row in agent.candidates:
                if candidate_row.qualifies:
                    continue
                out.write(
                    f"  @{agent.agent_name} → {candidate_row.stats.label}: "
                    f"{'; '.join(candidate_row.reasons)}\n"
                )
    return EXIT_OK


def _eval_text(current: Any, candidate: Any) -> str:
    from ato_desktop.core.figures import rate_text

    if current.eval_score is None and candidate.eval_score is None:
        return ""
    return f" · eval {rate_text(current.eval_score)} → {rate_text(candidate.eval_score)}"


async def _insights_evidence(args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.core.cost_rollup import format_cost
    from ato_desktop.engine.cost_recs import estimate_evidence, gather_evidence
    from ato_desktop.engine.replay import ReplayTarget

    if args.sample < 1 or args.concurrency < 1:
        raise UsageError("--sample and --concurrency must be at least 1")
    target = ReplayTarget(runtime=args.runtime, model=args.model, base_url=args.base_url)
    ws = open_workspace()
    try:
        plan = await ws.store.read_async(estimate_evidence, ws, args.agent, target, args.sample)
        if not plan.run_ids:
            out.write(
                f"Nothing to replay: @{args.agent} has no finished runs with a recorded prompt"
                f"{f' ({plan.skipped} without one)' if plan.skipped else ''}.\n"
            )
            return EXIT_OK
        print(
            f"gathering evidence for @{args.agent} on {target.label}: {len(plan.run_ids)} "
            f"run(s), estimated {format_cost(plan.estimate.usd, plan.estimate.source.value)}"
            + (f" ({plan.skipped} skipped: no recorded prompt)" if plan.skipped else "")
            + (
                f"; then its eval suite(s) {', '.join(plan.suites)} on it (their cost shows "
                "as they run)"
                if plan.suites
                else ""
            ),
            file=sys.stderr,
        )
        if not args.yes:
            if not sys.stdin.isatty():
                raise UsageError("this sends real requests: add --yes to go ahead")
            if input("Send? [y/N] ").strip().lower() not in ("y", "yes"):
                out.write("Nothing sent.\n")
                return EXIT_OK
        summary = await gather_evidence(ws, plan, concurrency=args.concurrency)
    finally:
        await ws.aclose()
    if args.json:
        emit_json(
            out,
            {
                "agent": args.agent,
                "target": target.label,
                "replayed": summary.replayed,
                "skipped": summary.skipped,
                "replay_cost_usd": summary.replay_cost_usd,
                "source_cost_usd": summary.source_cost_usd,
                "cost_delta_pct": summary.cost_delta_pct,
                "notes": list(summary.notes),
            },
        )
    else:
        delta = summary.cost_delta_pct
        out.write(
            f"replayed {summary.replayed} run(s) on {target.label}; cost "
            f"{'—' if delta is None else f'{delta:+.0f}%'} vs the originals. "
            "`ato-desktop insights cost` now counts them as evidence.\n"
        )
        for note in summary.notes:
            out.write(f"  {note}\n")
    return EXIT_OK


def _thresholds(
    args: argparse.Namespace,
    out: TextIO,
    paths: Any,
    load: Callable[[Any], Any],
    save: Callable[[Any, Any], None],
) -> int:
    from ato_desktop.core.regressions import ThresholdError, Thresholds

    current = Thresholds() if args.reset else load(paths)
    if args.assignments or args.reset:
        values = current.as_dict()
        for item in args.assignments:
            key, sep, raw = item.partition("=")
            if not sep or key not in values:
                raise UsageError(
                    f"{item!r}: expected KEY=VALUE with KEY one of {', '.join(values)}."
                )
            try:
                values[key] = int(raw) if key == "min_runs" else float(raw)
            except ValueError as exc:
                raise UsageError(f"{key}: {raw!r} is not a number.") from exc
        try:
            current = Thresholds.from_dict(values)
        except ThresholdError as exc:
            raise UsageError(str(exc)) from exc
        save(paths, current)
    if args.json:
        emit_json(out, current.as_dict())
        return EXIT_OK
    for key, value in current.as_dict().items():
        out.write(f"{key:<22} {value:g}\n")
    return EXIT_OK


def _figure(metric: str, value: float | None) -> str:
    from ato_desktop.core.figures import duration_ms

    if value is None:
        return "—"
    if metric in ("success_rate", "eval_score"):
        return f"{value:.0%}"
    if metric == "p95_latency":
        return duration_ms(value)
    return f"${value:.4f}"
