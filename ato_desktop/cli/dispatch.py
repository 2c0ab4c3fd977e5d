"""`dispatch`: run a prompt through the one dispatch path and stream the answer."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TextIO

from ato_desktop.cli import commands_in
from ato_desktop.cli.exit_codes import EXIT_FAILED, EXIT_KILLED, EXIT_OK
from ato_desktop.cli.options import runtime_choices, tags
from ato_desktop.cli.output import emit_json
from ato_desktop.cli.text_io import UsageError, read_stdin_text
from ato_desktop.cli.workspaces import open_workspace

if TYPE_CHECKING:
    from ato_desktop.engine.approvals import ApprovalRequest
    from ato_desktop.engine.dispatcher import DispatchRequest
    from ato_desktop.engine.workspace import Workspace

COMMANDS = commands_in(__name__)  # name -> help, from cli.COMMAND_TABLE
JUDGE_WAIT_S = 120.0  # how long `dispatch` waits for its run's online judge before leaving


def add_parsers(commands: Any) -> None:
    """Register `dispatch`."""
    dispatch = commands.add_parser(
        "dispatch",
        help=COMMANDS["dispatch"],
        description="Stream the answer to stdout; the run id goes to stderr. Exit 0 completed, "
        "1 failed, 130 killed (Ctrl+C kills the dispatch and keeps its partial output).",
    )
    target = dispatch.add_mutually_exclusive_group(required=True)
    target.add_argument("--agent", help="agent name")
    target.add_argument("--runtime", choices=runtime_choices(), help="runtime, with --model")
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
    dispatch.set_defaults(handler=cmd_dispatch)


def cmd_dispatch(args: argparse.Namespace, out: TextIO) -> int:
    import asyncio

    from ato_desktop.core.models import Trigger
    from ato_desktop.core.timefmt import parse_duration_ms
    from ato_desktop.engine.agents import parse_assignments
    from ato_desktop.engine.dispatcher import DispatchRequest

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
        tags=tags(args.tag),
    )
    return asyncio.run(
        _dispatch(request, out, as_json=args.json, approve=args.approve_tools, deny=args.deny_tools)
    )


async def _dispatch(
    request: DispatchRequest, out: TextIO, *, as_json: bool, approve: bool, deny: bool
) -> int:
    import asyncio

    from ato_desktop.cli.sync import send_before_exit
    from ato_desktop.core.cost_rollup import format_cost
    from ato_desktop.core.models import RunStatus
    from ato_desktop.core.run_json import run_to_json
    from ato_desktop.core.timefmt import human_duration

    ws = open_workspace()
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
            emit_json(out, run_to_json(run, actions))
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
        await send_before_exit(ws)  # cloud sync, within a bound
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
    import asyncio

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
