"""The command-line front end: a thin layer over the same services the desktop app uses.

Exit codes: 0 success; 1 a dispatch that failed; 2 bad usage or input (unknown agent, malformed
file, ...); 3 the execution log or data directory cannot be used; 130 a killed dispatch.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import logging
import os
import signal
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from ato_desktop import (
    __version__,
    cli_actions,
    cli_automations,
    cli_doctor,
    cli_retention,
    cli_sync,
)
from ato_desktop.cli_io import (
    TerminalSafeWriter,
    UsageError,
    check_arguments,
    check_numbers,
    read_stdin_lines,
    read_stdin_text,
    unescaped,
)
from ato_desktop.core.automations import DefinitionError
from ato_desktop.core.config_diff import ConfigChange, summarize_changes
from ato_desktop.core.cost_rollup import format_cost
from ato_desktop.core.ids import short_id
from ato_desktop.core.models import AgentConfig, RunStatus, RuntimeName, Trigger
from ato_desktop.core.pricing import PriceFileError
from ato_desktop.core.records import RunFilter
from ato_desktop.core.run_json import agent_to_json, run_to_json, version_to_json
from ato_desktop.core.run_sort import SORT_HELP, RunSort, SortKeyError
from ato_desktop.core.timefmt import (
    TIME_WINDOWS,
    DurationError,
    human_duration,
    parse_duration_ms,
    rfc3339,
    window_start_ms,
)
from ato_desktop.engine import demo as demo_workspace
from ato_desktop.engine.agents import AgentConfigError, parse_assignments
from ato_desktop.engine.approvals import ApprovalRequest
from ato_desktop.engine.credentials import PROVIDERS, CredentialError
from ato_desktop.engine.dispatcher import DispatchError, DispatchRequest
from ato_desktop.engine.export import FORMATS, ExportCancelled, export_runs
from ato_desktop.engine.log_redaction import install_secret_redaction
from ato_desktop.engine.pipelines import PipelineError
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.database import StoreError, translate_operational_error
from ato_desktop.store.execution_log import NotFoundError, now_ms
from ato_desktop.store.paths import data_paths

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_STORE, EXIT_KILLED = 0, 1, 2, 3, 130
JUDGE_WAIT_S = 120.0  # how long `dispatch` waits for its run's online judge before leaving
STATUSES = [s.value for s in RunStatus]
RUNTIMES = [r.value for r in RuntimeName]


# -- parser -----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ato-desktop",
        description=(
            "ATO Desktop: the local operations layer for LLM agents. With no command it opens "
            "the desktop app; the commands below work on the same execution log."
        ),
        epilog="Data directory: $ATO_HOME, or the platform's user data directory.",
    )
    parser.add_argument("--version", action="version", version=f"ato-desktop {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    agents = commands.add_parser("agents", help="create, edit and list agents")
    agent_cmds = agents.add_subparsers(dest="agents_command", metavar="SUBCOMMAND", required=True)
    add = agent_cmds.add_parser("add", help="create an agent")
    add.add_argument("name")
    _agent_options(add, required=True)
    edit = agent_cmds.add_parser("edit", help="change an agent (records a new config version)")
    edit.add_argument("name")
    _agent_options(edit, required=False)
    lst = agent_cmds.add_parser("list", help="list agents")
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    agent_cmds.add_parser(
        "sync",
        help="record edits of linked system prompt files as new versions",
        description="For every agent whose system prompt lives in a file "
        "(--link-system-prompt-file), record the file's text as a new config version when it "
        "was edited outside the app. Dispatch does this on its own before each run; exit 1 "
        "when a file cannot be read.",
    )
    hist = agent_cmds.add_parser("history", help="an agent's config versions with their diffs")
    hist.add_argument("name")
    hist.add_argument("--json", action="store_true", help="machine-readable output")

    dispatch = commands.add_parser(
        "dispatch",
        help="run a prompt and stream the answer",
        description="Stream the answer to stdout; the run id goes to stderr. Exit 0 completed, "
        "1 failed, 130 killed (Ctrl+C kills the dispatch and keeps its partial output).",
    )
    target = dispatch.add_mutually_exclusive_group(required=True)
    target.add_argument("--agent", help="agent name")
    target.add_argument("--runtime", choices=RUNTIMES, help="runtime, with --model")
    dispatch.add_argument("--model", help="model (with --runtime)")
    dispatch.add_argument("--thread", metavar="ID", help="continue a chat thread")
    dispatch.add_argument("--system-prompt", help="system prompt (with --runtime)")
    dispatch.add_argument("--base-url", help="API base URL (with --runtime)")
    dispatch.add_argument(
        "--param", action="append", default=[], metavar="K=V", help="parameter (with --runtime)"
    )
    dispatch.add_argument(
        "--stall-timeout",
        default="60s",
        metavar="DURATION",
        help="fail as stalled after this long without a chunk (default 60s)",
    )
    approvals = dispatch.add_mutually_exclusive_group()
    approvals.add_argument(
        "--approve-tools",
        action="store_true",
        help="approve every tool call the agent's rules say to ask about",
    )
    approvals.add_argument(
        "--deny-tools", action="store_true", help="deny them (each becomes a blocked action)"
    )
    dispatch.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="K=V",
        help="metadata on the run, searchable in filters (user=alice, tenant=acme, ...)",
    )
    dispatch.add_argument("--json", action="store_true", help="print the run as JSON at the end")
    dispatch.add_argument("prompt", help="the prompt; '-' reads it from stdin")

    runs = commands.add_parser("runs", help="list, inspect and kill runs")
    run_cmds = runs.add_subparsers(dest="runs_command", metavar="SUBCOMMAND", required=True)
    rlist = run_cmds.add_parser("list", help="runs, newest first (or sorted by --sort)")
    _filter_options(rlist)
    rlist.add_argument("--sort", default="started", metavar="KEY", help=SORT_HELP)
    rlist.add_argument("--asc", action="store_true", help="ascending: oldest, cheapest... first")
    rlist.add_argument("--limit", type=int, default=50, help="rows to show (default 50; 0: all)")
    rlist.add_argument("--json", action="store_true", help="machine-readable output")
    show = run_cmds.add_parser("show", help="a run and its actions")
    show.add_argument("run_id", metavar="RUN_ID", help="full id, or a unique prefix or suffix")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    kill = run_cmds.add_parser("kill", help="kill running dispatches (partial output is kept)")
    kill.add_argument("run_ids", nargs="*", metavar="RUN_ID")
    kill.add_argument("--all-stuck", action="store_true", help="every run with no recent event")
    kill.add_argument(
        "--older-than",
        default="10m",
        metavar="DURATION",
        help="with --all-stuck: no event for this long (default 10m)",
    )
    kill.add_argument("--json", action="store_true", help="machine-readable output")

    rep = commands.add_parser(
        "replay",
        help="send a recorded request again on another runtime or agent, and compare",
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
    rep_target.add_argument("--runtime", choices=RUNTIMES, help="replay on this runtime")
    rep.add_argument("--model", help="with --runtime")
    rep.add_argument("--base-url", help="with --runtime: where that runtime's API is")
    rep.add_argument("--concurrency", type=int, default=4, help="batch: at most N at once")
    rep.add_argument("--json", action="store_true", help="machine-readable output")

    sim = commands.add_parser(
        "simulate",
        help="replay a run for free against its agent's current config, find divergences",
        description="Walk a recorded run action by action: model answers and tools with side "
        "effects come from the recording (no network call, no cost); the request ATO would "
        "send now is rebuilt from the agent's current configuration and read-only local tools "
        "run again, so an edited prompt, a swapped model or a denied tool shows up as a "
        "divergence. The simulation is recorded as a run (trigger replay).",
    )
    sim.add_argument("run_id", metavar="RUN_ID")
    sim.add_argument("--json", action="store_true", help="machine-readable output")

    det = commands.add_parser(
        "determinism",
        help="how reproducible a run, or an agent's history, is: a 0-100 score and findings",
        description="Scan recorded inputs and outputs for timestamps, random values and "
        "UUIDs, floating-point noise, unordered collections and side effects without an "
        "idempotency key, and compare with other recorded runs for identical inputs that got "
        "different outputs. The score is 100 minus the deductions of the findings listed.",
    )
    det_target = det.add_mutually_exclusive_group(required=True)
    det_target.add_argument("run_id", nargs="?", metavar="RUN_ID")
    det_target.add_argument("--agent", metavar="NAME", help="the agent's recent history")
    det.add_argument("--json", action="store_true", help="machine-readable output")

    cmp = commands.add_parser(
        "compare",
        help="two runs side by side: actions aligned, input/output diffs, deltas",
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
    cmp.add_argument("--json", action="store_true", help="machine-readable output")

    insights = commands.add_parser(
        "insights", help="regressions after agent config changes; the thresholds they use"
    )
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
    reg.add_argument("--json", action="store_true", help="machine-readable output")
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
    cost.add_argument("--json", action="store_true", help="machine-readable output")
    evidence = insight_cmds.add_parser(
        "evidence",
        help="replay a sample of an agent's runs on a candidate to earn a cost recommendation",
        description="Replays the agent's newest finished runs on the candidate runtime and "
        "model through the one dispatch path (each replay is a run, trigger replay). The "
        "estimated cost is shown first; without --yes it asks before sending (and refuses "
        "when it cannot ask).",
    )
    evidence.add_argument("agent", metavar="AGENT")
    evidence.add_argument("--runtime", required=True, choices=[r.value for r in RuntimeName])
    evidence.add_argument("--model", required=True)
    evidence.add_argument("--base-url", help="for a local OpenAI-compatible server")
    evidence.add_argument("--sample", type=int, default=20, metavar="N", help="runs (20)")
    evidence.add_argument("--concurrency", type=int, default=4, metavar="N")
    evidence.add_argument("--yes", action="store_true", help="send without asking")
    evidence.add_argument("--json", action="store_true", help="machine-readable output")
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
    thr.add_argument("--json", action="store_true", help="machine-readable output")

    _add_eval_parser(commands)

    export = commands.add_parser("export", help="export runs with their actions")
    export.add_argument("--format", required=True, choices=FORMATS)
    _filter_options(export)
    export.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")

    keys = commands.add_parser("keys", help="API keys in the OS keyring")
    key_cmds = keys.add_subparsers(dest="keys_command", metavar="SUBCOMMAND", required=True)
    kset = key_cmds.add_parser("set", help="store a key (read from stdin, never from arguments)")
    kset.add_argument("provider", choices=PROVIDERS)
    kdel = key_cmds.add_parser("remove", help="delete a stored key")
    kdel.add_argument("provider", choices=PROVIDERS)
    kstat = key_cmds.add_parser("status", help="which keys are present (never the keys)")
    kstat.add_argument("--json", action="store_true", help="machine-readable output")

    _mcp_parser(commands)
    cli_automations.add_parsers(commands)
    cli_sync.add_parsers(commands)
    cli_retention.add_parsers(commands)
    cli_doctor.add_parsers(commands)
    cli_actions.add_parsers(commands)

    demo = commands.add_parser(
        "demo",
        help="load the demo workspace (or remove it with --remove)",
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
    return parser


def _mcp_parser(commands: Any) -> None:
    mcp = commands.add_parser(
        "mcp",
        help="MCP tool servers: register, list, test, remove",
        description="MCP servers whose tools agents may use. Secret values (environment "
        "variables, HTTP headers) live in the OS keyring, never in the database.",
    )
    mcp_cmds = mcp.add_subparsers(dest="mcp_command", metavar="SUBCOMMAND", required=True)
    add = mcp_cmds.add_parser(
        "add",
        help="register a server (stdio command or streamable HTTP URL)",
        description="Register an MCP server. Secret values are read from stdin, one line per "
        "name in the order given (prompted, hidden, on a terminal), and kept in the OS keyring; "
        "with no secure keyring nothing is saved. Repeat --arg for each argument of the "
        "command; write one that starts with '-' as --arg=-x.",
    )
    add.add_argument("name")
    target = add.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--command",
        dest="server_command",  # "command" is the name of the subcommand
        metavar="CMD",
        help="start the server with this command",
    )
    target.add_argument("--url", metavar="URL", help="streamable HTTP endpoint, e.g. .../mcp")
    add.add_argument(
        "--arg",
        action="append",
        default=[],
        metavar="A",
        help="an argument for --command, one per --arg (--arg=-x for one starting with '-')",
    )
    add.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="K=V",
        help="an environment variable for --command (stored in plain text: not for secrets)",
    )
    add.add_argument(
        "--secret-env",
        action="append",
        default=[],
        metavar="NAME",
        help="an environment variable whose value is a secret (read from stdin, kept in the "
        "keyring)",
    )
    add.add_argument(
        "--secret-header",
        action="append",
        default=[],
        metavar="NAME",
        help="an HTTP header whose value is a secret, e.g. Authorization (read from stdin, "
        "kept in the keyring)",
    )
    add.add_argument(
        "--timeout",
        default="30s",
        metavar="DURATION",
        help="start-up and per-tool-call timeout (default 30s)",
    )
    mlist = mcp_cmds.add_parser("list", help="registered servers (never the secret values)")
    mlist.add_argument("--json", action="store_true", help="machine-readable output")
    test = mcp_cmds.add_parser(
        "test", help="connect to a server and list its tools (exit 1 if it fails)"
    )
    test.add_argument("name")
    test.add_argument("--json", action="store_true", help="machine-readable output")
    remove = mcp_cmds.add_parser("remove", help="unregister a server and delete its secrets")
    remove.add_argument("name")


def _agent_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--runtime", choices=RUNTIMES, required=required)
    parser.add_argument("--model", required=required)
    prompt = parser.add_mutually_exclusive_group()
    prompt.add_argument("--system-prompt", metavar="TEXT")
    prompt.add_argument("--system-prompt-file", metavar="FILE", help="copy the prompt from FILE")
    prompt.add_argument(
        "--link-system-prompt-file",
        metavar="FILE",
        help="keep the prompt in FILE: an edit of the file is recorded as a new version "
        "(before the next dispatch, or by `agents sync`); an empty FILE unlinks",
    )
    parser.add_argument("--base-url", metavar="URL", help="API base URL for this agent")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="K=V",
        help="generation parameter, e.g. temperature=0.2 (JSON values; K=null removes it)",
    )
    parser.add_argument(
        "--role-model",
        action="append",
        default=[],
        metavar="ROLE=MODEL",
        help="model for a role, e.g. planner=claude-opus-4-1 (ROLE= removes it)",
    )
    parser.add_argument(
        "--budget-per-day", type=float, metavar="USD", help="spend limit a UTC day (0 removes it)"
    )
    parser.add_argument(
        "--budget-per-month", type=float, metavar="USD", help="spend limit a UTC month (0: none)"
    )
    parser.add_argument(
        "--hard-ceiling",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="refuse the agent's dispatches once a budget is spent (until the period ends)",
    )
    parser.add_argument(
        "--working-dir", metavar="DIR", help="where a claude-code / codex-cli agent works"
    )
    parser.add_argument(
        "--mcp-servers",
        metavar="A,B",
        help="registered MCP servers whose tools the agent may use (empty: none)",
    )
    parser.add_argument(
        "--tool-rule",
        action="append",
        default=[],
        metavar="SERVER/TOOL=RULE",
        help="allow, deny or approve (ask before each call); SERVER/* for a whole server; "
        "RULE empty removes the rule",
    )
    parser.add_argument(
        "--read-only-tools",
        metavar="SERVER/TOOL,...",
        help="tools to treat as read-only (besides those their server marks read-only)",
    )
    parser.add_argument(
        "--max-tool-calls", metavar="N", help="per-run ceiling on tool calls ('none' removes)"
    )
    parser.add_argument(
        "--max-cost", metavar="USD", help="per-run ceiling on cost in USD ('none' removes)"
    )


def _filter_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--status",
        action="append",
        default=[],
        metavar="S",
        help=f"one of {', '.join(STATUSES)} (repeat or comma-separate for several)",
    )
    parser.add_argument("--agent", metavar="NAME")
    parser.add_argument(
        "--since",
        default="all",
        metavar="WINDOW",
        help=f"time window: {', '.join(TIME_WINDOWS)} or any duration like 12h (default all)",
    )
    parser.add_argument("--min-cost", type=float, metavar="USD")
    parser.add_argument("--user", metavar="NAME", help="runs tagged user=NAME")
    parser.add_argument("--tenant", metavar="NAME", help="runs tagged tenant=NAME")
    parser.add_argument(
        "--tag", action="append", default=[], metavar="K=V", help="runs with this tag (repeat)"
    )
    parser.add_argument("--error-class", metavar="CLASS", help="e.g. timeout, rate_limit")
    parser.add_argument(
        "--min-duration", metavar="DURATION", help="runs that took at least this long, e.g. 30s"
    )


def _tags(items: list[str]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"tag {item!r} must look like key=value")
        tags[key.strip()] = value
    return tags


# -- entry ------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None) -> int:
    """Run one command; everything it prints is terminal-safe (cli_io.TerminalSafeWriter)."""
    out = TerminalSafeWriter.wrap(stdout or sys.stdout)
    previous_stderr = sys.stderr
    if previous_stderr is not None:
        sys.stderr = TerminalSafeWriter.wrap(previous_stderr)
    try:
        return _main(list(sys.argv[1:] if argv is None else argv), out)
    finally:
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
            out.finish()
            if isinstance(sys.stderr, TerminalSafeWriter):
                sys.stderr.finish()
        sys.stderr = previous_stderr


def _main(argv: list[str], out: TextIO) -> int:
    _configure_logging()
    try:
        check_arguments(argv)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(out)
        return EXIT_OK
    handler = _HANDLERS[args.command]
    try:
        check_numbers(args)
        return handler(args, out)
    except (
        UsageError,
        AgentConfigError,
        NotFoundError,
        DispatchError,
        CredentialError,
        DurationError,
        PriceFileError,
        DefinitionError,  # automations: bad definitions, skill files, cron expressions
        PipelineError,
    ) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_STORE
    except sqlite3.DatabaseError as exc:
        # A read that met damage (or another refusal SQLite gives outside the writer): the
        # same message the checks at open give, never a crash report.
        print(f"error: {translate_operational_error(exc, data_paths().database)}", file=sys.stderr)
        return EXIT_STORE
    except KeyboardInterrupt:
        return EXIT_KILLED
    except BrokenPipeError:
        # The reader went away (`ato-desktop runs list | head`): stop quietly, as Unix tools do.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _configure_logging() -> None:
    """Warnings and errors to stderr (ATO_LOG_LEVEL=DEBUG for more), secrets redacted."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(TerminalSafeWriter.wrap(sys.stderr))
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        level = os.environ.get("ATO_LOG_LEVEL", "WARNING").upper()
        root.setLevel(level if level in logging.getLevelNamesMapping() else "WARNING")
        install_secret_redaction(handler)


def _open_workspace() -> Workspace:
    return Workspace.open()


def _emit_json(out: TextIO, value: Any) -> None:
    out.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


# -- agents -----------------------------------------------------------------------------------


def cmd_agents(args: argparse.Namespace, out: TextIO) -> int:
    ws = _open_workspace()
    try:
        sub = args.agents_command
        if sub == "add":
            config = AgentConfig(
                runtime=args.runtime,
                model=args.model,
                system_prompt=_system_prompt(args),
                system_prompt_file=args.link_system_prompt_file or None,
                role_models={
                    k: str(v) for k, v in parse_assignments(args.role_model, "role model").items()
                },
                params=parse_assignments(args.param, "parameter"),
                base_url=args.base_url,
                budget_per_day_usd=args.budget_per_day,
                budget_per_month_usd=args.budget_per_month,
                budget_hard_ceiling=bool(args.hard_ceiling),
                **_tool_settings(args),
            )
            agent = ws.agents.create(args.name, config)
            out.write(
                f"created agent {agent.name} (version 1, {config.runtime} · {config.model})\n"
            )
        elif sub == "edit":
            changes = _agent_changes(args)
            if not changes:
                raise UsageError("nothing to change: give at least one option, see --help")
            agent, changed = ws.agents.edit(args.name, changes)
            if changed:
                latest = ws.store.agent_history(agent.id)[0]
                summary = summarize_changes(
                    [ConfigChange(c["path"], c["before"], c["after"]) for c in latest.diff]
                )
                out.write(f"{agent.name}: version {agent.current_version} ({summary})\n")
            else:
                out.write(f"{agent.name}: no change (still version {agent.current_version})\n")
        elif sub == "list":
            agents = ws.store.list_agents()
            if args.json:
                _emit_json(out, [agent_to_json(a) for a in agents])
            elif not agents:
                out.write(
                    "No agents yet. Create one: ato-desktop agents add NAME --runtime "
                    "claude --model claude-sonnet-5\n"
                )
            else:
                _table(
                    out,
                    ["NAME", "RUNTIME", "MODEL", "VERSION", "UPDATED"],
                    [
                        [
                            a.name,
                            a.config.runtime,
                            a.config.model,
                            str(a.current_version),
                            _when(a.updated_at),
                        ]
                        for a in agents
                    ],
                )
        elif sub == "sync":
            results = ws.agents.sync_prompt_files()
            if not results:
                out.write("No change: every linked system prompt file matches its version.\n")
            for name, error in results:
                if error:
                    print(f"error: {name}: {error}", file=sys.stderr)
                else:
                    agent = ws.store.get_agent(name)
                    out.write(
                        f"{name}: version {agent.current_version} (system prompt file edited)\n"
                    )
            return EXIT_FAILED if any(error for _name, error in results) else EXIT_OK
        elif sub == "history":
            agent = ws.store.get_agent(args.name)
            versions = ws.store.agent_history(agent.id)
            if args.json:
                _emit_json(
                    out,
                    {
                        "agent": agent.name,
                        "agent_id": agent.id,
                        "versions": [version_to_json(v) for v in versions],
                    },
                )
            else:
                for v in versions:
                    out.write(
                        f"version {v.version} · {_when(v.created_at)} · {v.change_source} · "
                        f"{v.run_count} run(s)\n"
                    )
                    for change in v.diff:
                        out.write(
                            f"    {change['path']}: {_short(change['before'])} -> "
                            f"{_short(change['after'])}\n"
                        )
        return EXIT_OK
    finally:
        ws.close()


def _system_prompt(args: argparse.Namespace) -> str | None:
    if getattr(args, "system_prompt_file", None):
        path = Path(args.system_prompt_file)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
        if len(raw) > 1_000_000:
            raise UsageError(f"{path} is {len(raw):,} bytes; a system prompt is at most 1 MB")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(f"{path} is not UTF-8 text (byte {exc.start})") from exc
    value = getattr(args, "system_prompt", None)
    return str(value) if value is not None else None


def _agent_changes(args: argparse.Namespace) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if args.runtime:
        changes["runtime"] = args.runtime
    if args.model:
        changes["model"] = args.model
    if args.system_prompt is not None or args.system_prompt_file:
        changes["system_prompt"] = _system_prompt(args) or None
    if args.link_system_prompt_file is not None:
        changes["system_prompt_file"] = args.link_system_prompt_file or None
    if args.base_url is not None:
        changes["base_url"] = args.base_url or None
    if args.param:
        changes["params"] = parse_assignments(args.param, "parameter")
    if args.role_model:
        changes["role_models"] = parse_assignments(args.role_model, "role model")
    if args.budget_per_day is not None:
        changes["budget_per_day_usd"] = args.budget_per_day or None
    if args.budget_per_month is not None:
        changes["budget_per_month_usd"] = args.budget_per_month or None
    if args.hard_ceiling is not None:
        changes["budget_hard_ceiling"] = args.hard_ceiling
    # Tool rules merge into the agent's current ones (AgentService.edit); empty removes one.
    changes.update(_tool_settings(args))
    return changes


def _tool_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The tool-related agent options that were given, as AgentConfig fields."""
    settings: dict[str, Any] = {}
    if args.working_dir is not None:
        settings["working_dir"] = args.working_dir or None
    if args.mcp_servers is not None:
        settings["mcp_servers"] = tuple(n.strip() for n in args.mcp_servers.split(",") if n.strip())
    if args.tool_rule:
        rules: dict[str, str] = {}
        for item in args.tool_rule:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise UsageError(
                    f"tool rule {item!r} must look like server/tool=allow|deny|approve"
                )
            rules[key.strip()] = value.strip().lower()
        settings["tool_rules"] = rules
    if args.read_only_tools is not None:
        settings["read_only_tools"] = tuple(
            t.strip() for t in args.read_only_tools.split(",") if t.strip()
        )
    if args.max_tool_calls is not None:
        settings["max_tool_calls"] = _optional_number(args.max_tool_calls, "--max-tool-calls", int)
    if args.max_cost is not None:
        settings["max_cost_usd"] = _optional_number(args.max_cost, "--max-cost", float)
    return settings


def _optional_number(text: str, option: str, kind: type[int] | type[float]) -> Any:
    if text.strip().lower() in ("none", ""):
        return None
    try:
        return kind(text)
    except ValueError:
        raise UsageError(f"{option} takes a number or 'none', not {text!r}") from None


# -- dispatch ---------------------------------------------------------------------------------


def cmd_dispatch(args: argparse.Namespace, out: TextIO) -> int:
    prompt = read_stdin_text("the prompt") if args.prompt == "-" else args.prompt
    if not prompt.strip():
        raise UsageError("the prompt is empty")
    if args.runtime and not args.model:
        raise UsageError("--runtime needs --model")
    if args.agent and (args.model or args.system_prompt or args.base_url or args.param):
        raise UsageError(
            "--model, --system-prompt, --base-url and --param go with --runtime; "
            "to change an agent use `agents edit`"
        )
    stall_s = parse_duration_ms(args.stall_timeout) / 1000
    request = DispatchRequest(
        prompt=prompt,
        agent=args.agent,
        runtime=args.runtime,
        model=args.model,
        system_prompt=args.system_prompt,
        params=parse_assignments(args.param, "parameter"),
        base_url=args.base_url,
        thread_id=args.thread,
        new_thread=args.thread is None,
        trigger=Trigger.CLI,
        stall_timeout_s=stall_s,
        tags=_tags(args.tag),
    )
    return asyncio.run(
        _dispatch(request, out, as_json=args.json, approve=args.approve_tools, deny=args.deny_tools)
    )


async def _dispatch(
    request: DispatchRequest, out: TextIO, *, as_json: bool, approve: bool, deny: bool
) -> int:
    ws = _open_workspace()
    ws.approvals.auto_answer = _approval_answerer(approve=approve, deny=deny)
    ws.online_judge.start()  # the agent's online judge, if it has one and the run is sampled
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, ws.live.kill_all)
    try:

        def started(run_id: str) -> None:
            print(f"run {run_id}", file=sys.stderr, flush=True)

        def text(chunk: str) -> None:
            if not as_json:
                out.write(chunk)
                out.flush()

        result = await ws.dispatcher.dispatch(request, on_text=text, on_started=started)
        if not as_json and result.output and not result.output.endswith("\n"):
            out.write("\n")
        if as_json:
            run = await ws.store.read_async(ws.store.get_run, result.run_id)
            actions = await ws.store.read_async(ws.store.get_actions, result.run_id)
            _emit_json(out, run_to_json(run, actions))
        usage = result.usage
        tokens = (
            f"{usage.input_tokens} in / {usage.output_tokens} out tokens"
            + (" (est.)" if result.tokens_estimated else "")
            if usage
            else "no tokens"
        )
        cost = format_cost(result.cost.usd, result.cost.source.value) if result.cost else "—"
        ttft = human_duration(result.ttft_ns) if result.ttft_ns is not None else "—"
        print(
            f"{result.status.value} · {human_duration(result.duration_ns)} · ttft {ttft} · "
            f"{tokens} · {cost} · thread {result.thread_id or '—'}",
            file=sys.stderr,
        )
        if result.status is RunStatus.COMPLETED:
            return EXIT_OK
        if result.status is RunStatus.KILLED:
            return EXIT_KILLED
        print(f"error ({result.error_class}): {result.error_message}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        await _finish_judging(ws)
        await cli_sync.send_before_exit(ws)  # cloud sync, within a bound
        await ws.aclose()


async def _finish_judging(ws: Workspace) -> None:
    """Let a sampled run's online judgement finish (the result is already printed)."""
    await ws.online_judge.drain(0.5)  # not sampled, or no judge: decided at once
    if ws.online_judge.judging:
        print("online judge: scoring this run…", file=sys.stderr)
        await ws.online_judge.drain(JUDGE_WAIT_S)


def _approval_answerer(
    *, approve: bool, deny: bool
) -> Callable[[ApprovalRequest], Awaitable[bool | None]]:
    """Answer tool approvals from a flag, else by asking on the terminal, else deny."""

    async def answer(request: ApprovalRequest) -> bool | None:
        arguments = json.dumps(request.arguments, ensure_ascii=False)
        if approve or deny:
            verdict = "approved" if approve else "denied"
            print(f"tool {request.tool} {arguments}: {verdict} (flag)", file=sys.stderr)
            return approve
        try:
            terminal = open("/dev/tty", "r+", encoding="utf-8")  # noqa: SIM115
        except OSError:
            print(
                f"tool {request.tool} needs approval and no one can be asked here: denied "
                "(pass --approve-tools to allow it)",
                file=sys.stderr,
            )
            return False

        def ask() -> bool:
            with terminal:
                terminal.write(f"\nAllow tool {request.tool} with {arguments}? [y/N] ")
                terminal.flush()
                return terminal.readline().strip().lower() in ("y", "yes")

        return await asyncio.to_thread(ask)

    return answer


# -- runs -------------------------------------------------------------------------------------


def _run_filter(ws: Workspace, args: argparse.Namespace) -> RunFilter:
    statuses: list[str] = []
    for item in args.status:
        statuses.extend(s.strip() for s in item.split(",") if s.strip())
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown:
        raise UsageError(f"unknown status {unknown[0]!r}; use {', '.join(STATUSES)}")
    agent_id = ws.store.get_agent(args.agent).id if args.agent else None
    if args.min_cost is not None and args.min_cost < 0:
        raise UsageError("--min-cost cannot be negative")
    tags = _tags(args.tag)
    for key in ("user", "tenant"):
        if getattr(args, key):
            tags[key] = getattr(args, key)
    return RunFilter(
        statuses=tuple(statuses),
        agent_id=agent_id,
        since_ms=window_start_ms(args.since, now_ms()),
        min_cost_usd=args.min_cost,
        tags=tuple(tags.items()),
        error_class=args.error_class,
        min_duration_ms=parse_duration_ms(args.min_duration) if args.min_duration else None,
    )


def cmd_runs(args: argparse.Namespace, out: TextIO) -> int:
    if args.runs_command == "kill":
        return asyncio.run(_kill(args, out))
    ws = _open_workspace()
    try:
        if args.runs_command == "list":
            flt = _run_filter(ws, args)
            if args.limit < 0:
                raise UsageError("--limit cannot be negative")
            try:
                sort = RunSort(args.sort.strip().lower(), descending=not args.asc)
            except SortKeyError as exc:
                raise UsageError(str(exc)) from exc
            runs = (
                list(ws.store.iter_runs(flt, sort=sort))
                if args.limit == 0
                else ws.store.list_runs(flt, limit=args.limit, sort=sort)
            )
            if args.json:
                _emit_json(out, [run_to_json(r) for r in runs])
            elif not runs:
                out.write(
                    "No runs match. Widen the filters (e.g. --since all) or dispatch one: "
                    'ato-desktop dispatch --agent NAME "hello"\n'
                )
            else:
                _table(
                    out,
                    [
                        "RUN",
                        "STATUS",
                        "AGENT",
                        "MODEL",
                        "STARTED",
                        "DURATION",
                        "ACTIONS",
                        "COST",
                        "OK",
                    ],
                    [
                        [
                            short_id(r.id),
                            r.status,
                            r.agent_name or "—",
                            f"{r.runtime}·{r.model}",
                            _when(r.started_at),
                            human_duration(r.duration_ns),
                            str(r.action_count),
                            format_cost(r.cost_usd, r.cost_source),
                            "—" if r.success_rate is None else f"{r.success_rate:.0%}",
                        ]
                        for r in runs
                    ],
                )
        elif args.runs_command == "show":
            run = ws.store.get_run(ws.store.resolve_run_id(args.run_id))
            actions = ws.store.get_actions(run.id)
            if args.json:
                _emit_json(out, run_to_json(run, actions))
            else:
                _print_run(out, run_to_json(run, actions))
        return EXIT_OK
    finally:
        ws.close()


def _print_run(out: TextIO, data: dict[str, Any]) -> None:
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
        f"duration   {_ms(data['duration_ms'])}   ttft {_ms(data['ttft_ms'])}",
        f"tokens     {tokens['input']} in ({tokens['cache_read']} cache read, "
        f"{tokens['cache_write']} cache write) · {tokens['output']} out "
        f"({tokens['reasoning']} reasoning)" + (" · estimated" if tokens["estimated"] else ""),
        f"cost       {format_cost(data['cost_usd'], data['cost_source'])}"
        + (f" [{data['cost_source']}]" if data["cost_source"] else ""),
        f"actions    {data['action_count']}",
    ]
    if data.get("partial_output"):
        lines.append(f"so far     {_short(data['partial_output'], 200)}")
    out.write("\n".join(lines) + "\n")
    for action in data.get("actions", []):
        out.write(
            f"\n#{action['seq']} {action['name']} · {action['outcome']} · "
            f"{_ms(action['duration_ms'])} · ttft {_ms(action['ttft_ms'])} · "
            f"{format_cost(action['cost_usd'], action['cost_source'])}\n"
        )
        if action["error_class"]:
            out.write(f"  error: {action['error_class']}: {action['error_message']}\n")
        out.write(
            "  inputs:  " + _short(json.dumps(action["inputs"], ensure_ascii=False), 400) + "\n"
        )
        out.write(
            "  outputs: " + _short(json.dumps(action["outputs"], ensure_ascii=False), 400) + "\n"
        )


async def _kill(args: argparse.Namespace, out: TextIO) -> int:
    if not args.run_ids and not args.all_stuck:
        raise UsageError("give run ids, or --all-stuck")
    ws = _open_workspace()  # recovery on open turns runs of dead processes into `interrupted`
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
            _emit_json(out, [{"id": k, "result": v} for k, v in report.items()])
        elif not report:
            out.write("Nothing to kill.\n")
        else:
            for run_id, outcome in report.items():
                out.write(f"{run_id}  {outcome}\n")
        return EXIT_FAILED if pending else EXIT_OK
    finally:
        await ws.aclose()


# -- replay -------------------------------------------------------------------------------------


def cmd_replay(args: argparse.Namespace, out: TextIO) -> int:
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
    from ato_desktop.engine import replay as replay_engine

    ws = _open_workspace()
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
            _emit_json(out, _replay_json(result))
        else:
            _print_comparison(out, result)
        return EXIT_OK if result.dispatch.status is RunStatus.COMPLETED else EXIT_FAILED
    finally:
        await ws.aclose()


async def _replay_batch(
    ws: Workspace, args: argparse.Namespace, target: Any, out: TextIO, engine: Any
) -> int:
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
        _emit_json(
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
            f"{_pct_text(summary.cost_delta_pct)} · median latency "
            f"{_ms_text(summary.source_median_ms)} -> {_ms_text(summary.replay_median_ms)}"
            f"{_pct_text(summary.latency_delta_pct)}\n"
        )
        for note in summary.notes:
            out.write(f"  note: {note}\n")
        for item in summary.items:
            if item.skipped or item.error:
                out.write(f"  skipped {item.source_run_id[-8:]}: {item.skipped or item.error}\n")
    return EXIT_OK


def _since_for(ws: Workspace, agent: str, since: str) -> int | None:
    """A time window, or vN: the moment the agent's config version N was recorded."""
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
    from ato_desktop.core.word_diff import render_plain

    c = result.comparison
    rows = [
        ("", "source", "replay", "delta"),
        ("run", c.source.run_id[-8:], c.replay.run_id[-8:], ""),
        ("status", c.source.status, c.replay.status, ""),
        (
            "duration",
            _ms_text(c.source.duration_ms),
            _ms_text(c.replay.duration_ms),
            _pct_text(c.duration_delta_pct).strip(" ()"),
        ),
        (
            "tokens",
            f"{c.source.input_tokens}+{c.source.output_tokens}",
            f"{c.replay.input_tokens}+{c.replay.output_tokens}",
            _pct_text(c.tokens_delta_pct).strip(" ()"),
        ),
        (
            "cost",
            format_cost(c.source.cost_usd, c.source.cost_source),
            format_cost(c.replay.cost_usd, c.replay.cost_source),
            _pct_text(c.cost_delta_pct).strip(" ()"),
        ),
    ]
    _table(out, list(rows[0]), [list(r) for r in rows[1:]])
    out.write(f"\nsource:\n{c.source.output}\n\nreplay:\n{c.replay.output}\n")
    if not c.replay_reached_model:
        out.write(
            f"\nThe replay failed before reaching a model ({c.replay.error_class or 'error'}): "
            "there is no answer to compare, and its figures are no evidence.\n"
        )
        return
    out.write(f"\nword diff ({c.similarity:.0%} alike):\n{render_plain(list(c.diff))}\n")


def _pct_text(value: float | None) -> str:
    return "" if value is None else f" ({value:+.1f}%)"


def _ms_text(value: float | None) -> str:
    return "—" if value is None else human_duration(int(value * 1_000_000))


# -- simulate -----------------------------------------------------------------------------------


def cmd_simulate(args: argparse.Namespace, out: TextIO) -> int:
    return asyncio.run(_simulate(args, out))


async def _simulate(args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.engine.replay import ReplayUnavailable
    from ato_desktop.engine.simulation import simulate

    ws = _open_workspace()
    try:
        run_id = ws.store.resolve_run_id(args.run_id)
        try:
            result = await simulate(ws, run_id)
        except ReplayUnavailable as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_FAILED
        summary = result.summary
        if args.json:
            _emit_json(
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
        _table(
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


# -- determinism --------------------------------------------------------------------------------


def cmd_determinism(args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.engine.determinism import analyse_agent, analyse_run

    ws = _open_workspace()
    try:
        if args.agent is not None:
            report = analyse_agent(ws.store, args.agent)
        else:
            report = analyse_run(ws.store, ws.store.resolve_run_id(args.run_id))
        if args.json:
            _emit_json(out, report.as_dict())
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
        ws.close()


# -- compare ------------------------------------------------------------------------------------

MAX_RUN_FILE_BYTES = 256 * 1024 * 1024


def cmd_compare(args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.core.compare import build_run_comparison
    from ato_desktop.engine.compare import compare_runs

    if args.diff_lines < 0:
        raise UsageError("--diff-lines must be 0 or more.")
    files = [_run_file(text) for text in (args.run_a, args.run_b)]
    if all(f is None for f in files):
        ws = _open_workspace()
        try:
            comparison = compare_runs(ws.store, args.run_a, args.run_b)
        finally:
            ws.close()
    else:
        sides: list[Any] = []
        ws = None
        try:
            for text, loaded in zip((args.run_a, args.run_b), files, strict=True):
                if loaded is not None:
                    sides.append(loaded)
                    continue
                ws = ws or _open_workspace()
                run = ws.store.get_run(ws.store.resolve_run_id(text))
                sides.append((run, ws.store.get_actions(run.id)))
        finally:
            if ws is not None:
                ws.close()
        left, right = (s if isinstance(s, tuple) else (s, None) for s in sides)
        comparison = build_run_comparison(
            left[0], right[0], left_actions=left[1], right_actions=right[1]
        )
    if args.json:
        _emit_json(out, comparison.as_dict())
        return EXIT_OK
    _print_run_comparison(comparison, out, args.diff_lines)
    return EXIT_OK


def _run_file(text: str) -> dict[str, Any] | None:
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
        ("duration", _ms(left.duration_ms), _ms(right.duration_ms), totals.duration_ms),
        ("ttft", _ms(left.ttft_ms), _ms(right.ttft_ms), totals.ttft_ms),
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

    _table(
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
    table: list[list[str]] = []
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
        table.append(
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
    if table:
        _table(out, ["#", "action", "left", "right", "status", "Δ duration", "Δ cost"], table)
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
                    out.write(f"  {_short(line, 160)}\n")
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


# -- insights -----------------------------------------------------------------------------------


def cmd_insights(args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.engine.settings_file import (
        SettingsFileError,
        regression_thresholds,
        save_regression_thresholds,
    )
    from ato_desktop.store.paths import data_paths

    if args.insights_command == "cost":
        return _insights_cost(args, out)
    if args.insights_command == "evidence":
        return asyncio.run(_insights_evidence(args, out))
    paths = data_paths()
    try:
        if args.insights_command == "thresholds":
            return _thresholds(args, out, paths, regression_thresholds, save_regression_thresholds)
        thresholds = regression_thresholds(paths)
    except SettingsFileError as exc:
        raise UsageError(str(exc)) from exc
    from ato_desktop.engine.regressions import detect_regressions

    ws = _open_workspace()
    try:
        report = detect_regressions(ws.store, thresholds, agent=args.agent)
    finally:
        ws.close()
    active = [c for c in report.regressions if c.is_current]
    if args.json:
        data = report.as_dict()
        if not args.all:
            data["changes"] = [c.as_dict() for c in report.regressions]
        _emit_json(out, data)
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
            f"{current} · {_when(change.changed_at)} · {change.summary}\n"
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
                    f" · {example.error_class}: {_short(example.error_message, 80)}"
                    if (example.error_class)
                    else ""
                )
                prompt = f' · "{_short(example.prompt, 70)}"' if example.prompt else ""
                out.write(f"    {example.run_id}  {example.why}{error}{prompt}\n")
    out.write(
        f"\n{len(report.regressions)} regression"
        f"{'s' if len(report.regressions) != 1 else ''} in {len(report.changes)} change"
        f"{'s' if len(report.changes) != 1 else ''}{waiting}; tests: Fisher's exact (success "
        "rate), Mann-Whitney U (latency, cost, eval score), one-sided.\n"
    )
    return EXIT_FAILED if active else EXIT_OK


def _insights_cost(args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.engine.cost_recs import cost_recommendations

    ws = _open_workspace()
    try:
        report = cost_recommendations(ws.store)
    finally:
        ws.close()
    if args.json:
        _emit_json(out, report.as_dict())
        return EXIT_OK
    for rec in report.recommendations:
        current, candidate = rec.current, rec.candidate.stats
        out.write(f"{rec.headline}\n")
        out.write(
            f"  evidence: {current.label} ${current.cost_per_call or 0:.4f}/call, ok "
            f"{_rate(current.ok_rate)} on {current.runs:,} runs · {candidate.label} "
            f"${candidate.cost_per_call or 0:.4f}/call, ok {_rate(candidate.ok_rate)} on "
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


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _eval_text(current: Any, candidate: Any) -> str:
    if current.eval_score is None and candidate.eval_score is None:
        return ""
    return f" · eval {_rate(current.eval_score)} → {_rate(candidate.eval_score)}"


async def _insights_evidence(args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.engine.cost_recs import estimate_evidence, gather_evidence
    from ato_desktop.engine.replay import ReplayTarget

    if args.sample < 1 or args.concurrency < 1:
        raise UsageError("--sample and --concurrency must be at least 1")
    target = ReplayTarget(runtime=args.runtime, model=args.model, base_url=args.base_url)
    ws = _open_workspace()
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
        _emit_json(
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
        _emit_json(out, current.as_dict())
        return EXIT_OK
    for key, value in current.as_dict().items():
        out.write(f"{key:<22} {value:g}\n")
    return EXIT_OK


def _figure(metric: str, value: float | None) -> str:
    if value is None:
        return "—"
    if metric in ("success_rate", "eval_score"):
        return f"{value:.0%}"
    if metric == "p95_latency":
        return _ms(value)
    return f"${value:.4f}"


# -- eval -------------------------------------------------------------------------------------


def _add_eval_parser(commands: Any) -> None:
    ev = commands.add_parser(
        "eval",
        help="run an eval suite (JSONL) against an agent or a runtime + model; gate CI on it",
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
    ev.add_argument("--runtime", choices=RUNTIMES, help="with --model (and optionally --agent)")
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
    ev.add_argument("--judge-runtime", choices=RUNTIMES, help="with --judge-model")
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
    ev.add_argument("--json", action="store_true", help="machine-readable output")


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
    from ato_desktop.engine.evals import EvalError, run_suite

    ws = _open_workspace()
    cancel = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, cancel.set)
    progress = _Progress(f"eval {suite.name}")
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
            _emit_json(out, data)
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
    figs = report.figures
    for outcome in report.outcomes:
        mark = "✓" if outcome.passed else "✗"
        why = outcome.error or "; ".join(
            f"{s.name}: {s.reason}" for s in outcome.scores if not s.passed
        )
        out.write(
            f"{mark} {_short(outcome.case_id, 24):<24} {outcome.score:.2f}  "
            f"{_short(why, 80) if why else ''}".rstrip()
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
    line += f" · p50 {_ms(figs.p50_ms)} · p95 {_ms(figs.p95_ms)}"
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


# -- export -----------------------------------------------------------------------------------


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    ws = _open_workspace()
    try:
        flt = _run_filter(ws, args)
        if args.output:
            target = Path(args.output)
            progress_out = unescaped(sys.stderr) if sys.stderr.isatty() else None

            def progress(done: int, total: int) -> None:
                if progress_out is not None and (done % 200 == 0 or done == total):
                    progress_out.write(f"\rexporting {done}/{total} runs")
                    progress_out.flush()

            try:
                count = export_runs(ws.store, flt, args.format, target, progress=progress)
            except (ExportCancelled, KeyboardInterrupt):
                print("\nexport cancelled; nothing was written", file=sys.stderr)
                return EXIT_KILLED
            except OSError as exc:
                raise UsageError(f"cannot write {target}: {exc.strerror}") from exc
            if progress_out is not None:
                progress_out.write("\n")
            print(f"exported {count} run(s) to {target}", file=sys.stderr)
        else:
            export_runs(ws.store, flt, args.format, out)
        return EXIT_OK
    finally:
        ws.close()


# -- keys -------------------------------------------------------------------------------------


def cmd_keys(args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.engine.credentials import CredentialStore

    store = CredentialStore()
    sub = args.keys_command
    if sub == "set":
        if sys.stdin.isatty():
            key = getpass.getpass(f"{args.provider} API key (input hidden): ")
        else:
            key = read_stdin_text("the key")
        outcome = store.set_key(args.provider, key)
        if outcome.persisted:
            out.write(
                f"saved the {args.provider} key in the OS keyring ({store.backend_description()})\n"
            )
            return EXIT_OK
        print(outcome.notice or "the key was not saved", file=sys.stderr)
        return EXIT_FAILED
    if sub == "remove":
        removed = store.delete_key(args.provider)
        out.write(
            f"removed the {args.provider} key from the keyring\n"
            if removed
            else f"no {args.provider} key was stored in the keyring\n"
        )
        return EXIT_OK
    statuses = store.status()
    if args.json:
        _emit_json(
            out,
            {
                "backend": store.backend_description(),
                "secure": store.backend_is_secure(),
                "keys": [
                    {"provider": s.provider, "present": s.present, "source": s.source}
                    for s in statuses
                ],
            },
        )
        return EXIT_OK
    if not store.backend_is_secure():
        out.write(
            f"No secure keyring on this system ({store.backend_description()}). Keys can "
            "only come from ANTHROPIC_API_KEY / OPENAI_API_KEY.\n"
        )
    else:
        out.write(f"keyring: {store.backend_description()}\n")
    for s in statuses:
        out.write(f"{s.provider:<10} {'present' if s.present else 'missing':<8} {s.source or ''}\n")
    return EXIT_OK


# -- mcp --------------------------------------------------------------------------------------


def cmd_mcp(args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.core.mcp_config import McpConfigError
    from ato_desktop.store.mcp_servers import McpServerExistsError

    try:
        if args.mcp_command == "add":
            return _mcp_add(args, out)
        if args.mcp_command == "list":
            return _mcp_list(args, out)
        if args.mcp_command == "test":
            return asyncio.run(_mcp_test(args, out))
        return _mcp_remove(args, out)
    except (McpConfigError, McpServerExistsError) as exc:
        raise UsageError(str(exc)) from None


def _mcp_config_from_args(args: argparse.Namespace) -> Any:
    from ato_desktop.core.mcp_config import McpServerConfig, validate_config

    env: dict[str, str] = {}
    for item in args.env:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--env takes NAME=value, not {item!r}")
        env[key.strip()] = value
    if args.url and (args.arg or args.env or args.secret_env):
        raise UsageError("--arg, --env and --secret-env go with --command, not --url")
    if args.server_command and args.secret_header:
        raise UsageError("--secret-header goes with --url, not --command")
    timeout_s = parse_duration_ms(args.timeout) / 1000
    return validate_config(
        McpServerConfig(
            name=args.name,
            transport="http" if args.url else "stdio",
            command=args.server_command,
            args=tuple(args.arg),
            env=env,
            secret_env_names=tuple(args.secret_env),
            url=args.url,
            secret_header_names=tuple(args.secret_header),
            timeout_s=timeout_s,
        )
    )


def _read_secret_values(names: list[str], what: str) -> list[str]:
    """One value per name: prompted (hidden) on a terminal, else one line each from stdin."""
    if not names:
        return []
    if sys.stdin.isatty():
        return [getpass.getpass(f"{what} {name} (input hidden): ") for name in names]
    lines = read_stdin_lines(f"the {what}")
    values = [line for line in lines if line.strip()]
    if len(values) != len(names):
        raise UsageError(
            f"expected {len(names)} secret value(s) on stdin, one line each, in this order: "
            f"{', '.join(names)}; got {len(values)}"
        )
    return values


def _mcp_add(args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.engine.credentials import KeyringUnavailableError
    from ato_desktop.engine.mcp_secrets import McpSecrets, secret_names
    from ato_desktop.store import mcp_servers

    config = _mcp_config_from_args(args)
    secrets = McpSecrets()
    entries = secret_names(config)
    if entries and not secrets.is_secure():
        # Refuse before anything is written: a server without its secrets cannot work.
        print(
            f"error: no secure keyring is available ({secrets.backend_description()}); the "
            "secret values would have nowhere safe to go, so nothing was saved. Install and "
            "unlock a Secret Service keyring such as gnome-keyring or KWallet, then try again.",
            file=sys.stderr,
        )
        return EXIT_FAILED
    ws = _open_workspace()
    try:
        taken = {r.name.lower(): r.name for r in mcp_servers.list_servers(ws.store)}
        if config.name.lower() in taken:
            # Before asking for secrets: the add would fail after the user typed them.
            name = taken[config.name.lower()]
            raise UsageError(
                f"an MCP server named {name!r} already exists; remove it first "
                f"(ato-desktop mcp remove {name})"
            )
        kind_label = "header" if config.transport == "http" else "environment variable"
        values = _read_secret_values([name for _, name in entries], f"Secret {kind_label}")
        saved: list[tuple[str, str]] = []
        try:
            for (kind, name), value in zip(entries, values, strict=True):
                secrets.set(config.name, kind, name, value)
                saved.append((kind, name))
            record = mcp_servers.add_server(ws.store, config).result()
        except BaseException as exc:
            with contextlib.suppress(Exception):
                secrets.delete(config.name, saved)
            if isinstance(exc, KeyringUnavailableError):  # locked, D-Bus gone: not bad input
                print(f"error: {exc} Nothing was saved.", file=sys.stderr)
                return EXIT_FAILED
            raise
        kept = f"; {len(saved)} secret(s) in the OS keyring" if saved else ""
        out.write(
            f"added MCP server {record.name} ({record.config.transport}: "
            f"{record.config.target()}){kept}\n"
            f"check it with: ato-desktop mcp test {record.name}\n"
        )
        return EXIT_OK
    finally:
        ws.close()


def _mcp_list(args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.engine.mcp_secrets import McpSecrets, secret_names
    from ato_desktop.store import mcp_servers

    ws = _open_workspace()
    try:
        records = mcp_servers.list_servers(ws.store)
    finally:
        ws.close()
    secrets = McpSecrets()

    def secret_state(record: Any) -> list[dict[str, Any]]:
        states = []
        for kind, name in secret_names(record.config):
            try:
                present = secrets.get(record.name, kind, name) is not None
            except CredentialError:
                present = None
            states.append({"kind": kind, "name": name, "present": present})
        return states

    if args.json:
        _emit_json(
            out,
            [
                {**r.as_dict(), "secrets": secret_state(r), "created_at": rfc3339(r.created_at)}
                for r in records
            ],
        )
        return EXIT_OK
    if not records:
        out.write(
            "No MCP servers yet. Add one: ato-desktop mcp add NAME --command CMD [--arg A ...] "
            "or --url URL\n"
        )
        return EXIT_OK
    rows = []
    for r in records:
        states = secret_state(r)
        missing = [s["name"] for s in states if s["present"] is False]
        secret_text = ", ".join(s["name"] for s in states) or "—"
        if missing:
            secret_text += f" (missing: {', '.join(missing)})"
        rows.append(
            [
                r.name,
                r.config.transport,
                r.config.target(),
                secret_text,
                f"{r.config.timeout_s:g}s",
            ]
        )
    _table(out, ["NAME", "TRANSPORT", "TARGET", "SECRETS", "TIMEOUT"], rows)
    return EXIT_OK


async def _mcp_test(args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.engine.mcp_client import McpConnectError, McpConnection, McpServerSpec
    from ato_desktop.store import mcp_servers

    ws = _open_workspace()
    try:
        record = mcp_servers.get_server(ws.store, args.name)
    finally:
        ws.close()
    spec = await asyncio.to_thread(McpServerSpec.from_config, record.config)
    started = time.perf_counter_ns()
    try:
        async with McpConnection(spec) as conn:
            elapsed_ns = time.perf_counter_ns() - started
            tools = list(conn.tools)
            protocol, server_name = conn.protocol_version, conn.server_name
            server_version = conn.server_version
    except McpConnectError as exc:
        if args.json:
            _emit_json(out, {"server": record.name, "ok": False, "error": str(exc), "tools": []})
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        _emit_json(
            out,
            {
                "server": record.name,
                "ok": True,
                "protocol_version": protocol,
                "server_info": {"name": server_name, "version": server_version},
                "duration_ms": round(elapsed_ns / 1e6, 1),
                "tools": [
                    {
                        "name": t.name,
                        "description": t.description,
                        "read_only": t.read_only,
                        "annotations": t.annotations,
                        "input_schema": t.input_schema,
                    }
                    for t in tools
                ],
            },
        )
        return EXIT_OK
    who = f"{server_name} {server_version}".strip() if server_name else "the server"
    out.write(
        f"{record.name}: connected to {who} in {human_duration(elapsed_ns)} (protocol "
        f"{protocol}); {len(tools)} tool(s)\n"
    )
    if tools:
        _table(
            out,
            ["TOOL", "READ-ONLY", "DESCRIPTION"],
            [
                [
                    t.name,
                    {True: "yes", False: "no", None: "not declared"}[t.read_only],
                    t.description,
                ]
                for t in tools
            ],
        )
    return EXIT_OK


def _mcp_remove(args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.engine.mcp_secrets import McpSecrets, secret_names
    from ato_desktop.store import mcp_servers

    ws = _open_workspace()
    try:
        record = mcp_servers.remove_server(ws.store, args.name).result()
    finally:
        ws.close()
    if record is None:
        raise NotFoundError(f"No MCP server named {args.name!r}. See `ato-desktop mcp list`.")
    removed = McpSecrets().delete(record.name, secret_names(record.config))
    extra = f" and {removed} secret(s) from the keyring" if removed else ""
    out.write(f"removed MCP server {record.name}{extra}\n")
    return EXIT_OK


# -- demo -------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
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
    ws = _open_workspace()
    progress = _Progress(
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
            f"reports), over the 30 days to {_when(summary.end_ms)} UTC (seed {seed}, "
            f"{summary.seconds:.1f} s).\n"
            "Every demo row is marked; remove them all with `ato-desktop demo --remove`.\n"
        )
        return EXIT_OK
    finally:
        ws.close()


class _Progress:
    """How a long command gets on, on stderr: on a terminal `label: done/total runs (n%)`
    redrawn in place (and the step under way); elsewhere (a log, CI, a pipe) a plain line for
    each step and then at most every `every_s` seconds, so a long build is never silent and a
    short one prints nothing."""

    def __init__(
        self,
        label: str,
        stream: TextIO | None = None,
        *,
        every_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._label = label
        # The command's own progress (it rewrites its line): past the escaping of printed text.
        self._out = stream if stream is not None else unescaped(sys.stderr)
        self._tty = self._out.isatty()
        self._every_s = every_s
        self._clock = clock
        self._started = clock()
        self._last = -1.0
        self._drawn = False
        self._step = ""

    def phase(self, text: str) -> None:
        """A step of the command starts ("writing the runs")."""
        self._step = text
        if self._tty:
            self._draw(f"{self._label}: {text}…")
        elif self._clock() - self._started >= self._every_s:
            self._line(f"{self._label}: {text}")

    def __call__(self, done: int, total: int) -> None:
        if total <= 0:
            return
        now = self._clock()
        text = f"{self._label}: {done:,}/{total:,} runs ({done * 100 // total}%)"
        if self._tty:
            if done < total and now - self._last < 0.1:
                return
            self._last = now
            self._draw(text)
        elif now - self._started >= self._every_s and now - self._last >= self._every_s:
            self._last = now
            self._line(text)

    def _draw(self, text: str) -> None:
        self._out.write(f"\r\x1b[K{text}")
        self._out.flush()
        self._drawn = True

    def _line(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()

    def finish(self) -> None:
        if self._tty and self._drawn:
            self._out.write("\n")
            self._out.flush()
            self._drawn = False


# -- output helpers ---------------------------------------------------------------------------


def _table(out: TextIO, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    widths = [min(w, 48) for w in widths]
    for row in [header, *rows]:
        cells = [_short(c, widths[i]).ljust(widths[i]) for i, c in enumerate(row)]
        out.write("  ".join(cells).rstrip() + "\n")


def _short(value: Any, limit: int = 60) -> str:
    text = "∅" if value is None else str(value).replace("\n", " ")
    return text if len(text) <= limit else text[: max(1, limit - 1)] + "…"


def _when(epoch_ms: int | None) -> str:
    text = rfc3339(epoch_ms)
    return text[:19].replace("T", " ") if text else "—"


def _ms(value: float | None) -> str:
    return "—" if value is None else human_duration(int(value * 1_000_000))


_HANDLERS = {
    "determinism": cmd_determinism,
    "compare": cmd_compare,
    "eval": cmd_eval,
    "insights": cmd_insights,
    "replay": cmd_replay,
    "simulate": cmd_simulate,
    "agents": cmd_agents,
    "dispatch": cmd_dispatch,
    "runs": cmd_runs,
    "export": cmd_export,
    "keys": cmd_keys,
    "mcp": cmd_mcp,
    "demo": cmd_demo,
    **cli_automations.HANDLERS,
    **cli_sync.HANDLERS,
    **cli_retention.HANDLERS,
    "doctor": cli_doctor.cmd_doctor,
    **cli_actions.HANDLERS,
}
