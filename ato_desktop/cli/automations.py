"""The CLI's automation commands: groups, schedules, hooks, skills and pipelines.

The same thin layer over engine.automations as the desktop app uses. Bad input raises
DefinitionError, CronError, PipelineError or NotFoundError, which cli.main prints as
`error: ...` with exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from ato_desktop.cli import commands_in
from ato_desktop.cli.exit_codes import EXIT_FAILED, EXIT_KILLED, EXIT_OK
from ato_desktop.cli.options import json_option
from ato_desktop.cli.text_io import read_stdin_text
from ato_desktop.cli.workspaces import open_workspace

if TYPE_CHECKING:
    from ato_desktop.core.automations import AutomationKind, GroupSpec
    from ato_desktop.engine.pipelines import PipelineResult
    from ato_desktop.engine.workspace import Workspace
    from ato_desktop.store.automations import AutomationRecord, PipelineSummary

COMMANDS = commands_in(__name__)  # name -> help, from cli.COMMAND_TABLE
HOOK_DRAIN_S = 300.0  # how long a CLI run waits for the hooks its runs fired
T = TypeVar("T")


# -- parsers ----------------------------------------------------------------------------------


def add_parsers(commands: Any) -> None:
    """Register groups, schedules, hooks, skills and pipelines on the CLI's subparsers."""
    _groups_parser(commands)
    _schedules_parser(commands)
    _hooks_parser(commands)
    _skills_parser(commands)
    _pipelines_parser(commands)


def _toggles(cmds: Any, what: str, *, remove: bool = True) -> None:
    for name, text in (("enable", "enable"), ("disable", "disable")):
        cmd = cmds.add_parser(name, help=f"{text} a {what}")
        cmd.add_argument("name")
    if remove:
        cmd = cmds.add_parser("remove", help=f"remove a {what} (its runs stay in the log)")
        cmd.add_argument("name")


def _json_flag(parser: argparse.ArgumentParser) -> None:
    json_option(parser)


def _groups_parser(commands: Any) -> None:
    groups = commands.add_parser(
        "groups",
        help=COMMANDS["groups"],
        description="A sequential group runs its stages in order, each stage's prompt a "
        "template over {input} (the group's input) and {previous} (the previous stage's "
        "output); a routed group sends the input to one member picked by rules or a router "
        "agent. Every change is recorded as a new version.",
    )
    groups.set_defaults(handler=cmd_groups)
    cmds = groups.add_subparsers(dest="groups_command", metavar="SUBCOMMAND", required=True)
    add = cmds.add_parser("add", help="define a group (or, with --replace, a new version)")
    add.add_argument("name")
    add.add_argument(
        "--stage",
        action="append",
        default=[],
        metavar="NAME=AGENT",
        help="a stage, in order (sequential group)",
    )
    add.add_argument(
        "--template",
        action="append",
        default=[],
        metavar="STAGE=TEXT",
        help="a stage's prompt over {input} and {previous} (default {previous})",
    )
    add.add_argument(
        "--timeout", action="append", default=[], metavar="STAGE=DURATION", help="e.g. draft=90s"
    )
    add.add_argument(
        "--on-failure",
        action="append",
        default=[],
        metavar="STAGE=POLICY",
        help="stop (default), skip, or retry:N",
    )
    add.add_argument(
        "--member", action="append", default=[], metavar="AGENT", help="a member (routed group)"
    )
    add.add_argument(
        "--rule",
        action="append",
        default=[],
        metavar="MEMBER=MATCH",
        help="route to MEMBER when the input contains TEXT (contains:TEXT or TEXT) or matches "
        "re:REGEX; rules are tried in order",
    )
    add.add_argument("--router", metavar="AGENT", help="an LLM agent that picks the member")
    add.add_argument("--default", metavar="MEMBER", help="the member when nothing matches")
    add.add_argument("--description", default="", metavar="TEXT", help="what the group is for")
    add.add_argument("--replace", action="store_true", help="record a new version if it exists")
    _json_flag(cmds.add_parser("list", help="groups with their kind, version and stages"))
    show = cmds.add_parser("show", help="a group's definition and its versions")
    show.add_argument("name")
    _json_flag(show)
    run = cmds.add_parser("run", help="run a group on an input (PROMPT, or - for stdin)")
    run.add_argument("name")
    run.add_argument("prompt", metavar="PROMPT")
    _json_flag(run)
    _toggles(cmds, "group")


def _schedules_parser(commands: Any) -> None:
    sched = commands.add_parser(
        "schedules",
        help=COMMANDS["schedules"],
        description="Schedules fire while the desktop app or `schedules daemon` runs. Fires "
        "missed while neither ran follow --missed: skip them, or run once.",
    )
    sched.set_defaults(handler=cmd_schedules)
    cmds = sched.add_subparsers(dest="schedules_command", metavar="SUBCOMMAND", required=True)
    add = cmds.add_parser("add", help="define a schedule (or, with --replace, a new version)")
    add.add_argument("name")
    add.add_argument("--cron", required=True, metavar="EXPR", help="e.g. '0 9 * * MON-FRI'")
    add.add_argument("--timezone", default="UTC", metavar="TZ", help="e.g. Europe/Paris")
    target = add.add_mutually_exclusive_group(required=True)
    target.add_argument("--agent", metavar="NAME", help="dispatch this agent")
    target.add_argument("--group", metavar="NAME", help="run this group")
    target.add_argument("--skill", metavar="NAME", help="run this skill flow")
    add.add_argument("--prompt", required=True, metavar="TEXT", help="the input of each fire")
    add.add_argument(
        "--missed",
        choices=["skip", "run-once"],
        default="skip",
        help="fires missed while nothing ran: skip them, or run once (default skip)",
    )
    add.add_argument(
        "--overlap",
        choices=["skip", "allow"],
        default="skip",
        help="a fire while the previous one still runs: skip it, or allow it (default skip)",
    )
    add.add_argument("--replace", action="store_true", help="record a new version if it exists")
    lst = cmds.add_parser("list", help="schedules with their next fire time and last outcome")
    _json_flag(lst)
    run = cmds.add_parser("run", help="fire a schedule now")
    run.add_argument("name")
    _json_flag(run)
    daemon = cmds.add_parser("daemon", help="fire schedules in the foreground until Ctrl+C")
    daemon.add_argument("--once", action="store_true", help="handle due fires once, then exit")
    _toggles(cmds, "schedule")


def _hooks_parser(commands: Any) -> None:
    hooks = commands.add_parser(
        "hooks",
        help=COMMANDS["hooks"],
        description="Hooks fire while the desktop app, a CLI run or `schedules daemon` runs. "
        "A chain of hooks stops at --max-depth hooked runs; hooks that would loop are refused.",
    )
    hooks.set_defaults(handler=cmd_hooks)
    cmds = hooks.add_subparsers(dest="hooks_command", metavar="SUBCOMMAND", required=True)
    add = cmds.add_parser("add", help="define a hook (or, with --replace, a new version)")
    add.add_argument("name")
    add.add_argument(
        "--on",
        required=True,
        choices=["completed", "failed", "over-budget"],
        help="the run ending that fires the hook",
    )
    add.add_argument("--agent", required=True, metavar="NAME", help="whose runs to watch")
    target = add.add_mutually_exclusive_group(required=True)
    target.add_argument("--dispatch-agent", metavar="NAME", help="dispatch this agent")
    target.add_argument("--dispatch-group", metavar="NAME", help="run this group")
    add.add_argument(
        "--template",
        default="{run.output}",
        metavar="TEXT",
        help="the prompt over {run.output}, {run.error}, {run.id}, {run.agent}, {run.status}, "
        "{input} (default {run.output})",
    )
    add.add_argument("--max-depth", type=int, default=3, metavar="N", help="chain limit (3)")
    add.add_argument("--replace", action="store_true", help="record a new version if it exists")
    _json_flag(cmds.add_parser("list", help="hooks"))
    _toggles(cmds, "hook")


def _skills_parser(commands: Any) -> None:
    skills = commands.add_parser(
        "skills",
        help=COMMANDS["skills"],
        description="A skill file's `## Step` sections run in order as stages (docs in "
        "ato_desktop/core/skill_flow.py). An edit of the file is recorded as a new version "
        "before the next run, by `skills sync`, and by the desktop app.",
    )
    skills.set_defaults(handler=cmd_skills)
    cmds = skills.add_subparsers(dest="skills_command", metavar="SUBCOMMAND", required=True)
    add = cmds.add_parser("add", help="register a skill file")
    add.add_argument("name")
    add.add_argument("file", metavar="FILE.md")
    add.add_argument("--agent", required=True, metavar="NAME", help="runs steps naming no agent")
    _json_flag(cmds.add_parser("list", help="skill flows with their steps and version"))
    run = cmds.add_parser("run", help="run a skill flow on an input (PROMPT, or - for stdin)")
    run.add_argument("name")
    run.add_argument("prompt", metavar="PROMPT")
    _json_flag(run)
    cmds.add_parser("sync", help="record edited skill files as new versions")
    _toggles(cmds, "skill flow")


def _pipelines_parser(commands: Any) -> None:
    pipes = commands.add_parser("pipelines", help=COMMANDS["pipelines"])
    pipes.set_defaults(handler=cmd_pipelines)
    cmds = pipes.add_subparsers(dest="pipelines_command", metavar="SUBCOMMAND", required=True)
    lst = cmds.add_parser("list", help="pipeline runs, newest first")
    which = lst.add_mutually_exclusive_group()
    which.add_argument("--group", metavar="NAME", help="the runs of this group")
    which.add_argument("--skill", metavar="NAME", help="the runs of this skill flow")
    which.add_argument("--hook", metavar="NAME", help="the hook chains of this hook")
    lst.add_argument("--limit", type=int, default=20, metavar="N", help="rows to show (20)")
    _json_flag(lst)
    show = cmds.add_parser("show", help="one pipeline run: its stages, timing, cost, files")
    show.add_argument("run_id", metavar="RUN_ID")
    _json_flag(show)


# -- handlers ---------------------------------------------------------------------------------


def _with_workspace(
    fn: Callable[[Workspace, argparse.Namespace, TextIO], int],
) -> Callable[[argparse.Namespace, TextIO], int]:
    def handler(args: argparse.Namespace, out: TextIO) -> int:
        ws = open_workspace()
        try:
            return fn(ws, args, out)
        finally:
            ws.close()

    return handler


def _run_async(ws: Workspace, make: Callable[[], Awaitable[T]], *, hooks: bool = True) -> T:
    """Run a coroutine with hooks listening; wait for the hooked runs before leaving."""
    import asyncio

    from ato_desktop.cli.sync import send_before_exit

    async def go() -> T:
        if hooks:
            ws.automations.start()
        try:
            result = await make()
            await ws.automations.drain(HOOK_DRAIN_S)
            return result
        finally:
            await ws.automations.aclose()
            await ws.live.aclose()
            await send_before_exit(ws)  # cloud sync of the runs made here, within a bound
            await ws.sync.aclose()

    return asyncio.run(go())


def _emit(out: TextIO, value: Any) -> None:
    out.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def _when(epoch_ms: int | None) -> str:
    from ato_desktop.core.timefmt import rfc3339

    text = rfc3339(epoch_ms) if epoch_ms is not None else None
    return text[:19].replace("T", " ") if text else "—"


def _table(out: TextIO, header: list[str], rows: list[list[str]]) -> None:
    widths = [min(60, max(len(h), *(len(r[i]) for r in rows))) for i, h in enumerate(header)]
    for row in [header, *rows]:
        cells = []
        for i, cell in enumerate(row):
            text = cell.replace("\n", " ")
            text = text if len(text) <= widths[i] else text[: widths[i] - 1] + "…"
            cells.append(text.ljust(widths[i]))
        out.write("  ".join(cells).rstrip() + "\n")


def _prompt(text: str) -> str:
    from ato_desktop.core.automations import DefinitionError

    value = read_stdin_text("the prompt") if text == "-" else text
    if not value.strip():
        raise DefinitionError("the prompt is empty")
    return value


def _per_stage(items: list[str], what: str, names: list[str]) -> dict[str, str]:
    from ato_desktop.core.automations import DefinitionError

    found: dict[str, str] = {}
    for item in items:
        stage, sep, value = item.partition("=")
        if not sep or not stage.strip():
            raise DefinitionError(f"{what} {item!r} must look like STAGE=VALUE")
        if stage.strip() not in names:
            raise DefinitionError(f"{what} {item!r}: no stage named {stage.strip()!r}")
        found[stage.strip()] = value
    return found


def group_spec(args: argparse.Namespace) -> GroupSpec:
    """The group the options describe."""
    from ato_desktop.core.automations import (
        DefinitionError,
        GroupMode,
        GroupSpec,
        Stage,
        parse_on_failure,
        parse_rule,
    )
    from ato_desktop.core.timefmt import DurationError, parse_duration_ms

    if args.stage and (args.member or args.rule or args.router):
        raise DefinitionError("give stages (sequential) or members (routed), not both")
    if args.stage:
        pairs = []
        for item in args.stage:
            name, sep, agent = item.partition("=")
            if not sep or not name.strip() or not agent.strip():
                raise DefinitionError(f"--stage {item!r} must look like NAME=AGENT")
            pairs.append((name.strip(), agent.strip()))
        names = [n for n, _ in pairs]
        templates = _per_stage(args.template, "--template", names)
        timeouts = _per_stage(args.timeout, "--timeout", names)
        policies = _per_stage(args.on_failure, "--on-failure", names)
        stages = []
        for name, agent in pairs:
            policy, retries = parse_on_failure(policies.get(name, "stop"))
            timeout_s = None
            if name in timeouts:
                try:
                    timeout_s = parse_duration_ms(timeouts[name]) / 1000
                except DurationError as exc:
                    raise DefinitionError(f"--timeout {name}: {exc}") from exc
            stages.append(
                Stage(name, agent, templates.get(name, "{previous}"), timeout_s, policy, retries)
            )
        spec = GroupSpec(GroupMode.SEQUENTIAL, stages=tuple(stages), description=args.description)
    elif args.member:
        spec = GroupSpec(
            GroupMode.ROUTED,
            members=tuple(args.member),
            rules=tuple(parse_rule(r) for r in args.rule),
            router_agent=args.router,
            default_member=args.default,
            description=args.description,
        )
    else:
        raise DefinitionError("give --stage NAME=AGENT (sequential) or --member AGENT (routed)")
    return spec.validate()


def _save(
    ws: Workspace, kind: AutomationKind, args: argparse.Namespace, spec: Any, out: TextIO
) -> int:
    service = ws.automations.definitions
    if args.replace:
        record, changed = service.save(kind, args.name, spec)
    else:
        record, changed = service.add(kind, args.name, spec), True
    state = (
        f"version {record.version}" if changed else f"no change (still version {record.version})"
    )
    out.write(f"{kind.value} {record.name}: {state}\n")
    return EXIT_OK


def _toggle(ws: Workspace, kind: AutomationKind, sub: str, name: str, out: TextIO) -> bool:

    service = ws.automations.definitions
    if sub in ("enable", "disable"):
        changed = service.set_enabled(kind, name, sub == "enable")
        state = f"{sub}d" if changed else f"already {sub}d"
        out.write(f"{kind.value} {name}: {state}\n")
        return True
    if sub == "remove":
        service.remove(kind, name)
        out.write(f"{kind.value} {name}: removed (its runs stay in the log)\n")
        return True
    return False


def _list(ws: Workspace, kind: AutomationKind, args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.core.automations import AutomationKind

    rows = ws.automations.definitions.rows(kind)
    if args.json:
        _emit(out, [r.as_dict() for r in rows])
        return EXIT_OK
    if not rows:
        out.write(f"No {kind.value}s yet. See `ato-desktop {kind.value}s add --help`.\n")
        return EXIT_OK
    header = ["NAME", "ON", "VERSION", "WHAT"]
    if kind is AutomationKind.SCHEDULE:
        header += ["NEXT FIRE", "LAST"]
    table = []
    for row in rows:
        cells = [
            row.record.name,
            "yes" if row.record.enabled else "no",
            str(row.record.version),
            row.summary,
        ]
        if kind is AutomationKind.SCHEDULE:
            cells += [_when(row.next_fire_at), row.last_note or "—"]
        table.append(cells)
    _table(out, header, table)
    return EXIT_OK


def _result(out: TextIO, result: PipelineResult, as_json: bool) -> int:
    from ato_desktop.core.models import RunStatus
    from ato_desktop.core.timefmt import human_duration

    if as_json:
        _emit(
            out,
            {
                "run_id": result.run_id,
                "name": result.name,
                "status": result.status.value,
                "output": result.output,
                "error": result.error,
                "route": None
                if result.route is None
                else {
                    "member": result.route.member,
                    "reason": result.route.reason,
                    "router": result.route.router,
                    "router_run_id": result.route.router_run_id,
                },
                "stages": [
                    {
                        "stage_index": s.stage_index,
                        "stage_name": s.stage_name,
                        "agent": s.agent,
                        "attempt": s.attempt,
                        "run_id": s.run_id,
                        "status": s.status,
                        "skipped": s.skipped,
                        "duration_ms": s.duration_ns / 1e6,
                        "error": s.error,
                    }
                    for s in result.stages
                ],
            },
        )
    else:
        print(f"pipeline run {result.run_id}", file=sys.stderr)
        if result.route is not None:
            print(
                f"routed to {result.route.member} ({result.route.router}): {result.route.reason}",
                file=sys.stderr,
            )
        for s in result.stages:
            mark = " (skipped)" if s.skipped else ""
            try_no = f" try {s.attempt}" if s.attempt > 1 else ""
            print(
                f"  {s.stage_index + 1}. {s.stage_name}@{s.agent}{try_no}: {s.status}{mark} "
                f"in {human_duration(s.duration_ns)}"
                + (f" — {s.error}" if s.error and s.status != "completed" else ""),
                file=sys.stderr,
            )
        if result.output:
            out.write(result.output.rstrip("\n") + "\n")
        summary = f"{result.status.value} in {human_duration(result.duration_ns)}"
        if result.error:
            summary += f": {result.error}"
        print(summary, file=sys.stderr)
    if result.status is RunStatus.KILLED:
        return EXIT_KILLED
    return EXIT_OK if result.status is RunStatus.COMPLETED else EXIT_FAILED


@_with_workspace
def cmd_groups(ws: Workspace, args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.core.automations import AutomationKind

    sub, kind = args.groups_command, AutomationKind.GROUP
    if sub == "add":
        return _save(ws, kind, args, group_spec(args), out)
    if sub == "list":
        return _list(ws, kind, args, out)
    if sub == "show":
        return _show(ws, kind, args, out)
    if sub == "run":
        text = _prompt(args.prompt)
        record = ws.automations.definitions.get(kind, args.name)
        _enabled(record)
        result = _run_async(ws, lambda: ws.automations.pipelines.run_group(record, text))
        return _result(out, result, args.json)
    _toggle(ws, kind, sub, args.name, out)
    return EXIT_OK


def _enabled(record: AutomationRecord) -> None:
    from ato_desktop.core.automations import DefinitionError

    if not record.enabled:
        raise DefinitionError(
            f"{record.kind.value} {record.name} is disabled; "
            f"`ato-desktop {record.kind.value}s enable {record.name}` first"
        )


def _show(ws: Workspace, kind: AutomationKind, args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.core.automations import GroupMode, GroupSpec

    service = ws.automations.definitions
    record = service.get(kind, args.name)
    versions = service.history(kind, args.name)
    if args.json:
        _emit(out, {**record.as_dict(), "versions": [v.as_dict() for v in versions]})
        return EXIT_OK
    state = "enabled" if record.enabled else "disabled"
    out.write(f"{kind.value} {record.name} · version {record.version} · {state}\n")
    spec = record.spec
    if isinstance(spec, GroupSpec) and spec.mode is GroupMode.SEQUENTIAL:
        for i, stage in enumerate(spec.stages, 1):
            extra = [f"on failure {stage.on_failure.value}"]
            if stage.retries:
                extra[-1] += f" {stage.retries}"
            if stage.timeout_s:
                extra.append(f"timeout {stage.timeout_s:g}s")
            out.write(f"  {i}. {stage.name} @{stage.agent} ({', '.join(extra)})\n")
            out.write(f"     {stage.template!r}\n")
    elif isinstance(spec, GroupSpec):
        out.write(f"  members: {', '.join(spec.members)}\n")
        for rule in spec.rules:
            out.write(f"  rule: {rule.match} {rule.pattern!r} → {rule.member}\n")
        if spec.router_agent:
            out.write(f"  router: {spec.router_agent}\n")
        if spec.default_member:
            out.write(f"  default: {spec.default_member}\n")
    for v in versions:
        out.write(f"version {v.version} · {_when(v.created_at)} · {v.change_source}\n")
        for change in v.diff[:8]:
            out.write(
                f"    {change['path']}: {_short(change['before'])} -> {_short(change['after'])}\n"
            )
    return EXIT_OK


def _short(value: Any) -> str:
    text = "∅" if value is None else str(value).replace("\n", " ")
    return text if len(text) <= 50 else text[:49] + "…"


@_with_workspace
def cmd_schedules(ws: Workspace, args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.core.automations import (
        AutomationKind,
        DefinitionError,
        MissedFires,
        Overlap,
        ScheduleSpec,
        TargetKind,
    )
    from ato_desktop.core.models import RunStatus

    sub, kind = args.schedules_command, AutomationKind.SCHEDULE
    if sub == "add":
        if args.agent:
            target_kind, target = TargetKind.AGENT, args.agent
        elif args.group:
            target_kind, target = TargetKind.GROUP, args.group
        else:
            target_kind, target = TargetKind.SKILL, args.skill
        spec = ScheduleSpec(
            cron=args.cron,
            timezone=args.timezone,
            target_kind=target_kind,
            target=target,
            prompt=args.prompt,
            missed=MissedFires(args.missed.replace("-", "_")),
            overlap=Overlap(args.overlap),
        )
        code = _save(ws, kind, args, spec, out)
        [row] = [r for r in ws.automations.definitions.rows(kind) if r.record.name == args.name]
        out.write(f"next fire: {_when(row.next_fire_at)} UTC\n")
        return code
    if sub == "list":
        return _list(ws, kind, args, out)
    if sub == "run":
        ws.automations.definitions.get(kind, args.name)
        fired = _run_async(ws, lambda: ws.automations.scheduler.run_now(args.name))
        if fired is None:
            raise DefinitionError(f"schedule {args.name} could not fire; see `schedules list`")
        run_id, status = fired
        if args.json:
            _emit(out, {"run_id": run_id, "status": status.value})
        else:
            out.write(f"schedule {args.name}: run {run_id} {status.value}\n")
        return EXIT_OK if status is RunStatus.COMPLETED else EXIT_FAILED
    if sub == "daemon":
        return _daemon(ws, args, out)
    _toggle(ws, kind, sub, args.name, out)
    return EXIT_OK


def _daemon(ws: Workspace, args: argparse.Namespace, out: TextIO) -> int:
    import asyncio

    async def once() -> int:
        reports = await ws.automations.scheduler.tick()
        await ws.automations.scheduler.drain()
        for report in reports:
            out.write(f"{report.schedule}: {report.action.replace('_', ' ')} {report.note}\n")
        return len(reports)

    async def forever() -> int:
        # Schedules and hooks added or changed by other processes (the CLI, the app) wake the
        # scheduler at once, and runs that end elsewhere fire their hooks here (claimed once).
        ws.follow_changes()
        ws.automations.start(scheduler=True)
        ws.sync.start(label="schedules daemon")  # a long-lived process sends, like the app
        out.write("firing schedules (Ctrl+C stops)\n")
        out.flush()
        while True:
            await asyncio.sleep(3600)

    if args.once:
        _run_async(ws, once)
        return EXIT_OK
    try:
        _run_async(ws, forever)
    except KeyboardInterrupt:
        return EXIT_OK
    return EXIT_OK


@_with_workspace
def cmd_hooks(ws: Workspace, args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.core.automations import AutomationKind, HookEvent, HookSpec, TargetKind

    sub, kind = args.hooks_command, AutomationKind.HOOK
    if sub == "add":
        target_kind = TargetKind.AGENT if args.dispatch_agent else TargetKind.GROUP
        spec = HookSpec(
            event=HookEvent(args.on.replace("-", "_")),
            source_agent=args.agent,
            target_kind=target_kind,
            target=args.dispatch_agent or args.dispatch_group,
            template=args.template,
            max_depth=args.max_depth,
        )
        return _save(ws, kind, args, spec, out)
    if sub == "list":
        return _list(ws, kind, args, out)
    _toggle(ws, kind, sub, args.name, out)
    return EXIT_OK


@_with_workspace
def cmd_skills(ws: Workspace, args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.core.automations import AutomationKind

    sub, kind = args.skills_command, AutomationKind.SKILL
    service = ws.automations.definitions
    if sub == "add":
        record = service.add_skill(args.name, args.file, args.agent)
        spec = record.spec
        steps = len(spec.steps) if hasattr(spec, "steps") else 0
        out.write(f"skill {record.name}: version 1, {steps} step(s)\n")
        return EXIT_OK
    if sub == "list":
        return _list(ws, kind, args, out)
    if sub == "sync":
        results = service.sync_skills()
        if not results:
            out.write("No change: every skill file matches its version.\n")
        for name, error in results:
            if error:
                print(f"error: {name}: {error}", file=sys.stderr)
            else:
                version = service.get(kind, name).version
                out.write(f"{name}: version {version} (skill file edited)\n")
        return EXIT_FAILED if any(e for _n, e in results) else EXIT_OK
    if sub == "run":
        text = _prompt(args.prompt)
        record = service.get(kind, args.name)
        _enabled(record)
        result = _run_async(ws, lambda: ws.automations.pipelines.run_skill(record, text))
        return _result(out, result, args.json)
    _toggle(ws, kind, sub, args.name, out)
    return EXIT_OK


@_with_workspace
def cmd_pipelines(ws: Workspace, args: argparse.Namespace, out: TextIO) -> int:
    from ato_desktop.core.automations import AutomationKind
    from ato_desktop.core.cost_rollup import format_cost
    from ato_desktop.core.timefmt import human_duration
    from ato_desktop.store import automations as automation_store

    store = ws.store
    if args.pipelines_command == "list":
        pipeline_id = None
        if args.group or args.skill or args.hook:
            kind, name = (
                (AutomationKind.GROUP, args.group)
                if args.group
                else (AutomationKind.SKILL, args.skill)
                if args.skill
                else (AutomationKind.HOOK, args.hook)
            )
            pipeline_id = ws.automations.definitions.get(kind, name).id
        rows = automation_store.list_pipeline_runs(
            store, pipeline_id=pipeline_id, limit=args.limit, with_stages=args.json
        )
        if args.json:
            _emit(out, [r.as_dict() for r in rows])
        elif not rows:
            out.write("No pipeline runs yet. Run one: ato-desktop groups run NAME PROMPT\n")
        else:
            _table(
                out,
                ["RUN", "STARTED", "NAME", "KIND", "TRIGGER", "STATUS", "STAGES", "TIME", "COST"],
                [
                    [
                        r.run_id[-12:],
                        _when(r.started_at),
                        r.name,
                        r.kind,
                        r.trigger,
                        r.status,
                        str(r.stage_count),
                        human_duration(r.duration_ns) if r.duration_ns else "—",
                        _cost(r),
                    ]
                    for r in rows
                ],
            )
        return EXIT_OK
    summary = automation_store.pipeline_run(store, args.run_id)
    if args.json:
        _emit(out, summary.as_dict())
        return EXIT_OK
    out.write(
        f"{summary.kind} {summary.name} · run {summary.run_id} · {summary.status} · "
        f"{summary.trigger} · {_when(summary.started_at)} · "
        f"{human_duration(summary.duration_ns) if summary.duration_ns else '—'} · "
        f"{_cost(summary)}\n"
    )
    if summary.error_message:
        out.write(f"  {summary.error_message}\n")
    for i, stage in enumerate(summary.stages):
        arrow = "  ↓\n" if i else ""
        attempt = f" (try {stage.attempt})" if stage.attempt > 1 else ""
        number = (
            "source"
            if stage.stage_name == automation_store.SOURCE_STAGE
            else str((stage.stage_index or 0) + 1)
        )
        head = f"{arrow}  [{number}] {stage.stage_name}{attempt} @{stage.agent_name or '—'}"
        if not stage.run_id:
            out.write(f"{head} · never ran\n")
            continue
        out.write(
            f"{head} · {stage.status} · "
            f"{human_duration(stage.duration_ns) if stage.duration_ns else '—'} · "
            f"{format_cost(stage.cost_usd, stage.cost_source)} · run {stage.run_id[-12:]}\n"
        )
        for touched in stage.files_touched:
            out.write(f"        {touched.change} {touched.path}\n")
    return EXIT_OK


def _cost(summary: PipelineSummary) -> str:
    if summary.cost_usd is None:
        return "unknown"
    text = f"${summary.cost_usd:.4f}"
    return text if summary.cost_complete else text + "+"
