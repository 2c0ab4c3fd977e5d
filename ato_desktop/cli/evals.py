"""`eval SUITE.jsonl`: run an eval suite against an agent or a runtime + model; gate CI on it."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from pathlib import Path
from typing import Any, TextIO

from ato_desktop.cli import commands_in
from ato_desktop.cli.exit_codes import EXIT_FAILED, EXIT_KILLED, EXIT_OK, EXIT_USAGE
from ato_desktop.cli.options import json_option, runtime_choices
from ato_desktop.cli.output import Progress, emit_json, short
from ato_desktop.cli.text_io import UsageError
from ato_desktop.cli.workspaces import open_workspace

COMMANDS = commands_in(__name__)  # name -> help, from cli.COMMAND_TABLE


def add_parsers(commands: Any) -> None:
    """Register `eval`."""
    ev = commands.add_parser(
        "eval",
        help=COMMANDS["eval"],
        description="Run every case of a JSONL eval suite (docs/evals.md) as its own run "
        "(trigger eval) against an agent, an agent on another runtime/model (--agent with "
        "--runtime and --model), or a runtime + model, and score it: exact, contains, regex, "
        "json (valid JSON, optionally a JSON Schema), numeric (with a tolerance), judge (an "
        "LLM with a rubric, its cost reported apart) or python (package.module:function). "
        "Bad lines are reported by number and skipped. The report has the pass rate, mean "
        "score, cost, p50/p95 latency and the cases that changed since the previous run of "
        "the same suite (by name) on the same target. Exits 1 below --min-pass-rate.",
    )
    ev.add_argument("suite", metavar="SUITE.jsonl")
    ev.add_argument("--agent", metavar="NAME", help="run the cases as this agent")
    ev.add_argument(
        "--runtime", choices=runtime_choices(), help="with --model (and optionally --agent)"
    )
    ev.add_argument("--model", help="with --runtime")
    ev.add_argument("--base-url", metavar="URL", help="with --runtime: where its API is")
    ev.add_argument("--system-prompt", metavar="TEXT", help="with --runtime, without --agent")
    ev.add_argument(
        "--scorer",
        action="append",
        default=[],
        metavar="SPEC",
        help="add a scorer to every case: a kind (exact, contains, json, ...) or a JSON object "
        'such as \'{"type": "regex", "pattern": "^\\\\d+$"}\'',
    )
    ev.add_argument("--judge-agent", metavar="NAME", help="who judges judge scorers")
    ev.add_argument("--judge-runtime", choices=runtime_choices(), help="with --judge-model")
    ev.add_argument("--judge-model", metavar="MODEL", help="with --judge-runtime")
    ev.add_argument("--judge-base-url", metavar="URL", help="with --judge-runtime")
    ev.add_argument(
        "--min-pass-rate",
        metavar="X",
        help="exit 1 when the pass rate is below X (0.9 or 90%%)",
    )
    ev.add_argument("--concurrency", type=int, default=4, help="at most N cases at once")
    ev.add_argument(
        "--strict", action="store_true", help="exit 2 when any line of the suite is bad"
    )
    json_option(ev)
    ev.set_defaults(handler=cmd_eval)


def _pass_rate_option(text: str | None) -> float | None:
    if text is None:
        return None
    raw = text.strip()
    problem = f"--min-pass-rate {text!r}: give a fraction (0.9) or a percent (90%)"
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise UsageError(problem) from None
    if not 0 <= value <= 1:
        raise UsageError(problem)
    return value


def cmd_eval(args: argparse.Namespace, out: TextIO) -> int:
    import asyncio

    from ato_desktop.core.eval_suite import JudgeTarget, parse_scorer_option
    from ato_desktop.engine.evals import EvalError, EvalTarget, load_suite

    if bool(args.runtime) != bool(args.model):
        raise UsageError("--runtime and --model go together")
    if not args.agent and not args.runtime:
        raise UsageError("give --agent NAME, or --runtime R --model M (or all three)")
    if args.agent and args.system_prompt:
        raise UsageError("--system-prompt goes with --runtime alone; an agent has its own")
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if bool(args.judge_runtime) != bool(args.judge_model):
        raise UsageError("--judge-runtime and --judge-model go together")
    if args.judge_agent and args.judge_runtime:
        raise UsageError("give --judge-agent, or --judge-runtime with --judge-model")
    threshold = _pass_rate_option(args.min_pass_rate)
    try:
        extra = [parse_scorer_option(s) for s in args.scorer]
        target = EvalTarget(args.agent, args.runtime, args.model, args.base_url, args.system_prompt)
        suite, text = load_suite(Path(args.suite), extra)
    except (ValueError, EvalError) as exc:
        raise UsageError(str(exc)) from exc
    for bad in suite.bad_lines:
        print(f"{args.suite}: {bad}", file=sys.stderr)
    if suite.bad_lines and args.strict:
        print(f"{len(suite.bad_lines)} bad line(s); nothing was run (--strict)", file=sys.stderr)
        return EXIT_USAGE
    judge: JudgeTarget | None = None
    if args.judge_agent or args.judge_runtime:
        judge = JudgeTarget(
            args.judge_agent, args.judge_runtime, args.judge_model, args.judge_base_url
        )
    return asyncio.run(_eval(args, suite, text, target, judge, threshold, out))


async def _eval(
    args: argparse.Namespace,
    suite: Any,
    text: str,
    target: Any,
    judge: Any,
    threshold: float | None,
    out: TextIO,
) -> int:
    import asyncio

    from ato_desktop.engine.evals import EvalError, run_suite

    ws = open_workspace()
    cancel = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, cancel.set)
    progress = Progress(f"eval {suite.name}")
    try:
        print(
            f"eval {suite.name}: {len(suite.cases)} case(s) on {target.label}, "
            f"{args.concurrency} at a time",
            file=sys.stderr,
        )
        try:
            report = await run_suite(
                ws,
                suite,
                target,
                source_text=text,
                concurrency=args.concurrency,
                progress=lambda done, total, _outcome: progress(done, total),
                cancel=cancel,
                judge=judge,
            )
        except EvalError as exc:
            raise UsageError(str(exc)) from exc
        finally:
            progress.finish()
        if args.json:
            data = report.as_dict()
            data["min_pass_rate"] = threshold
            data["gate"] = None if threshold is None else report.passes(threshold)
            emit_json(out, data)
        else:
            _print_eval_report(out, report)
        if report.status != "completed":
            print("eval cancelled: the report covers the cases that finished", file=sys.stderr)
            return EXIT_KILLED
        if threshold is not None and not report.passes(threshold):
            rate = report.figures.pass_rate or 0.0
            print(f"gate failed: pass rate {rate:.0%} is below {threshold:.0%}", file=sys.stderr)
            return EXIT_FAILED
        return EXIT_OK
    finally:
        await ws.aclose()


def _print_eval_report(out: TextIO, report: Any) -> None:
    from ato_desktop.core.cost_rollup import format_cost
    from ato_desktop.core.figures import duration_ms
    from ato_desktop.core.ids import short_id

    figs = report.figures
    for outcome in report.outcomes:
        mark = "✓" if outcome.passed else "✗"
        why = outcome.error or "; ".join(
            f"{s.name}: {s.reason}" for s in outcome.scores if not s.passed
        )
        out.write(
            f"{mark} {short(outcome.case_id, 24):<24} {outcome.score:.2f}  "
            f"{short(why, 80) if why else ''}".rstrip()
            + "\n"
        )
    rate = "—" if figs.pass_rate is None else f"{figs.pass_rate:.0%}"
    mean = "—" if figs.mean_score is None else f"{figs.mean_score:.2f}"
    cost = format_cost(figs.cost_usd, figs.cost_source)
    line = (
        f"\n{report.suite} on {report.target}: pass rate {rate} ({figs.passed}/{figs.ran}) · "
        f"mean score {mean} · cost {cost}"
    )
    if figs.judge_cost_source is not None:
        line += f" + judge {format_cost(figs.judge_cost_usd, figs.judge_cost_source)}"
    line += f" · p50 {duration_ms(figs.p50_ms)} · p95 {duration_ms(figs.p95_ms)}"
    out.write(line + "\n")
    if report.bad_lines:
        out.write(f"{len(report.bad_lines)} bad line(s) skipped (listed on stderr)\n")
    for note in report.notes:
        out.write(f"note: {note}\n")
    diff = report.diff
    if diff is None:
        out.write("first run of this suite on this target: nothing to compare with\n")
    else:
        changed = " (the suite changed since)" if diff.suite_changed else ""
        out.write(
            f"vs previous run {short_id(diff.previous_suite_run_id)}{changed}: "
            f"{len(diff.newly_failing)} pass→fail, {len(diff.newly_passing)} fail→pass, "
            f"{len(diff.score_changed)} score changed, {len(diff.added)} new, "
            f"{len(diff.removed)} gone\n"
        )
        for label, changes in (
            ("pass→fail", diff.newly_failing),
            ("fail→pass", diff.newly_passing),
            ("score", diff.score_changed),
        ):
            for change in changes:
                out.write(
                    f"  {label:<9} {change.case_id}: {change.before_score:.2f} → "
                    f"{change.after_score:.2f}\n"
                )
    out.write(f"eval run {report.suite_run_id}\n")
