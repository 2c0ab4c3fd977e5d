"""`compare`: two runs side by side, actions aligned, diffs and deltas (read-only)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ato_desktop.cli import commands_in
from ato_desktop.cli.exit_codes import EXIT_OK
from ato_desktop.cli.options import json_option
from ato_desktop.cli.output import emit_json, short, table
from ato_desktop.cli.text_io import UsageError
from ato_desktop.cli.workspaces import open_log_for_reading

if TYPE_CHECKING:
    from ato_desktop.store.execution_log import ExecutionLog

COMMANDS = commands_in(__name__)  # name -> help, from cli.COMMAND_TABLE
MAX_RUN_FILE_BYTES = 256 * 1024 * 1024


def add_parsers(commands: Any) -> None:
    """Register `compare`."""
    cmp = commands.add_parser(
        "compare",
        help=COMMANDS["compare"],
        description="Align the two runs' actions by position and name, diff each pair's "
        "inputs and outputs, and show cost, latency and token deltas (right minus left, in "
        "percent of left). A run is an id (or a unique prefix/suffix of at least 6 hex "
        "digits) or a JSON file holding one run, such as `export --format json` of one run.",
    )
    cmp.add_argument("run_a", metavar="RUN_A")
    cmp.add_argument("run_b", metavar="RUN_B")
    cmp.add_argument(
        "--diff-lines",
        type=int,
        default=12,
        metavar="N",
        help="lines of each changed action's diff to print (default: 12; 0: none)",
    )
    json_option(cmp)
    cmp.set_defaults(handler=cmd_compare)


def cmd_compare(args: argparse.Namespace, out: TextIO) -> int:
    """`compare RUN_A RUN_B`: read-only (a side may be a JSON file instead of a run id)."""
    from ato_desktop.core.compare import build_run_comparison
    from ato_desktop.engine.compare import compare_runs

    if args.diff_lines < 0:
        raise UsageError("--diff-lines must be 0 or more.")
    files = [read_run_file(text) for text in (args.run_a, args.run_b)]
    if all(f is None for f in files):
        store = open_log_for_reading()
        try:
            comparison = compare_runs(store, args.run_a, args.run_b)
        finally:
            store.close()
    else:
        sides: list[Any] = []
        log: ExecutionLog | None = None
        try:
            for text, loaded in zip((args.run_a, args.run_b), files, strict=True):
                if loaded is not None:
                    sides.append(loaded)
                    continue
                log = log or open_log_for_reading()
                run = log.get_run(log.resolve_run_id(text))
                sides.append((run, log.get_actions(run.id)))
        finally:
            if log is not None:
                log.close()
        left, right = (s if isinstance(s, tuple) else (s, None) for s in sides)
        comparison = build_run_comparison(
            left[0], right[0], left_actions=left[1], right_actions=right[1]
        )
    if args.json:
        emit_json(out, comparison.as_dict())
        return EXIT_OK
    _print_run_comparison(comparison, out, args.diff_lines)
    return EXIT_OK


def read_run_file(text: str) -> dict[str, Any] | None:
    """The run in a JSON/JSONL file named text; None when text is not a file (a run id)."""
    path = Path(text).expanduser()
    if not path.is_file():
        if path.suffix.lower() in (".json", ".jsonl"):
            raise UsageError(f"No file {text}.")
        return None
    try:
        if path.stat().st_size > MAX_RUN_FILE_BYTES:
            raise UsageError(f"{text} is over {MAX_RUN_FILE_BYTES // 2**20} MiB: not a run.")
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{text} is not UTF-8 text (a binary file?).") from exc
    except OSError as exc:
        raise UsageError(f"Cannot read {text}: {exc.strerror or exc}.") from exc
    try:
        data: Any = json.loads(raw)
    except (ValueError, RecursionError):  # also a 5,000-digit number, [[[[... too deep
        lines = [line for line in raw.splitlines() if line.strip()]
        try:
            data = [json.loads(line) for line in lines]
        except json.JSONDecodeError as exc:
            raise UsageError(
                f"{text} is neither JSON nor JSONL (line {exc.lineno}: {exc.msg})."
            ) from exc
        except (ValueError, RecursionError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            raise UsageError(f"{text} is neither JSON nor JSONL ({reason}).") from None
    if isinstance(data, dict) and isinstance(data.get("runs"), list):
        data = data["runs"]
    if isinstance(data, list):
        if len(data) != 1:
            raise UsageError(
                f"{text} holds {len(data)} runs; compare takes one run per side "
                "(export one run, or give run ids)."
            )
        data = data[0]
    if not isinstance(data, dict):
        raise UsageError(f"{text} does not hold a run (a JSON object with its actions).")
    return data


def _print_run_comparison(comparison: Any, out: TextIO, diff_lines: int) -> None:
    from ato_desktop.core.compare import CHANGED, ONLY_LEFT, ONLY_RIGHT
    from ato_desktop.core.cost_rollup import format_cost
    from ato_desktop.core.figures import duration_ms

    def header(side: str, view: Any) -> str:
        agent = f"@{view.agent}" + (f" v{view.agent_version}" if view.agent_version else "")
        parts = [agent if view.agent else None, view.runtime, view.model, view.status]
        return f"{side}  {view.id or '(no id)'}  " + " · ".join(p for p in parts if p)

    left, right, totals = comparison.left, comparison.right, comparison.totals
    out.write(header("left ", left) + "\n" + header("right", right) + "\n\n")

    def cost(view: Any) -> str:
        return format_cost(view.cost_usd, view.cost_source)

    def tokens(kind: str) -> tuple[str, str]:
        delta = totals.tokens[kind]
        return _count_text(delta.left), _count_text(delta.right)

    rate = totals.success_rate
    figures = [
        ("cost", cost(left), cost(right), totals.cost_usd),
        (
            "duration",
            duration_ms(left.duration_ms),
            duration_ms(right.duration_ms),
            totals.duration_ms,
        ),
        ("ttft", duration_ms(left.ttft_ms), duration_ms(right.ttft_ms), totals.ttft_ms),
        ("input tokens", *tokens("input"), totals.tokens["input"]),
        ("output tokens", *tokens("output"), totals.tokens["output"]),
        ("total tokens", *tokens("total"), totals.tokens["total"]),
        ("actions", str(left.action_count or 0), str(right.action_count or 0), "count"),
        (
            "success rate",
            "—" if rate.left is None else f"{rate.left:.0%}",
            "—" if rate.right is None else f"{rate.right:.0%}",
            "rate",
        ),
    ]

    def change(delta: Any) -> str:
        if delta == "count":
            moved = totals.action_count.change
            return "—" if moved is None else f"{int(moved):+d}"
        if delta == "rate":
            moved = rate.change
            return "—" if moved is None else f"{moved * 100:+.0f} pp"
        return _delta_text(delta)

    table(
        out,
        ["", "left", "right", "change"],
        [[name, a, b, change(delta)] for name, a, b, delta in figures],
    )
    counts = totals.rows
    out.write(
        f"\nactions aligned by position and name: {counts.get('same', 0)} same · "
        f"{counts.get(CHANGED, 0)} changed · {counts.get(ONLY_LEFT, 0)} only left · "
        f"{counts.get(ONLY_RIGHT, 0)} only right\n\n"
    )
    rows: list[list[str]] = []
    for index, row in enumerate(comparison.actions, 1):
        status = row.status.replace("_", " ") + (" (moved)" if row.moved else "")
        if (
            row.outcome_changed
            and row.left
            and row.right
            and row.left.outcome
            and row.right.outcome
        ):
            status += f" · {row.left.outcome} → {row.right.outcome}"
        rows.append(
            [
                str(index),
                row.name,
                (row.left.outcome or "—") if row.left else "—",
                (row.right.outcome or "—") if row.right else "—",
                status,
                _delta_text(row.duration_ms),
                _delta_text(row.cost_usd),
            ]
        )
    if rows:
        table(out, ["#", "action", "left", "right", "status", "Δ duration", "Δ cost"], rows)
    else:
        out.write("Neither run has actions.\n")
    if diff_lines:
        for index, row in enumerate(comparison.actions, 1):
            for what, diff in (("inputs", row.inputs), ("outputs", row.outputs)):
                if diff is None or not diff.changed:
                    continue
                lines = list(diff.unified[2:])  # without the ---/+++ header
                out.write(f"\n#{index} {row.name} · {what} differ\n")
                for line in lines[:diff_lines]:
                    out.write(f"  {short(line, 160)}\n")
                if len(lines) > diff_lines:
                    more = len(lines) - diff_lines
                    out.write(f"  … {more} more line{'s' if more != 1 else ''} (--json for all)\n")
    for note in comparison.notes:
        out.write(f"\nnote: {note}\n")


def _count_text(value: float | None) -> str:
    return "—" if value is None else f"{int(value):,}"


def _delta_text(delta: Any) -> str:
    if delta is None or delta.change is None:
        return "—"
    if delta.change == 0:
        return "±0"
    if delta.pct is None:
        return f"{delta.change:+g}"
    return f"{delta.pct:+.1f}%"
