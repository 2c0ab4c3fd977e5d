"""Automation definitions: groups (sequential pipelines and routed groups), cron schedules, agent
hooks and skill flows, as plain data with validation and a JSON form.

Definitions are versioned like agents (store.automations): the spec's JSON form is what a
version records, and diff_configs over two of them is the version's diff. Names of agents are
checked against the log by the engine; everything checked here needs no I/O.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ato_desktop.core.templates import TemplateError, template_problems
from ato_desktop.core.terminal_text import name_problem

MAX_STAGES = 50
MAX_RETRIES = 10
MAX_HOOK_DEPTH = 10  # the most any hook may allow; each hook has its own limit below this
DEFAULT_HOOK_DEPTH = 3


class DefinitionError(ValueError):
    """A definition that cannot be used, with a message for the user."""


class AutomationKind(enum.StrEnum):
    GROUP = "group"
    SCHEDULE = "schedule"
    HOOK = "hook"
    SKILL = "skill"


class OnFailure(enum.StrEnum):
    """What a sequential pipeline does when a stage fails (or times out)."""

    STOP = "stop"  # the pipeline fails with the stage
    SKIP = "skip"  # the next stage gets the last good output and the pipeline goes on
    RETRY = "retry"  # run the stage again, up to `retries` more times, then stop


class GroupMode(enum.StrEnum):
    SEQUENTIAL = "sequential"
    ROUTED = "routed"


class MissedFires(enum.StrEnum):
    """Fires that fell while nothing was running the scheduler (the app was closed)."""

    SKIP = "skip"
    RUN_ONCE = "run_once"


class Overlap(enum.StrEnum):
    SKIP = "skip"  # a fire while the previous one still runs is skipped
    ALLOW = "allow"


class HookEvent(enum.StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    OVER_BUDGET = "over_budget"


class TargetKind(enum.StrEnum):
    AGENT = "agent"
    GROUP = "group"
    SKILL = "skill"


STAGE_FIELDS = ("input", "previous")
HOOK_FIELDS = ("run.output", "run.error", "run.id", "run.agent", "run.status", "input")


@dataclass(frozen=True, slots=True)
class Stage:
    """One stage of a sequential pipeline: an agent and the prompt it gets.

    template: over {input} (the pipeline's input) and {previous} (the previous stage's output;
    the input for the first stage). timeout_s None: the stage may take as long as it takes.
    """

    name: str
    agent: str
    template: str = "{previous}"
    timeout_s: float | None = None
    on_failure: OnFailure = OnFailure.STOP
    retries: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "agent": self.agent,
            "template": self.template,
            "timeout_s": self.timeout_s,
            "on_failure": self.on_failure.value,
            "retries": self.retries,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Stage:
        return cls(
            name=str(data["name"]),
            agent=str(data["agent"]),
            template=str(data.get("template") or "{previous}"),
            timeout_s=_opt_float(data.get("timeout_s")),
            on_failure=OnFailure(data.get("on_failure") or OnFailure.STOP.value),
            retries=int(data.get("retries") or 0),
        )

    def problems(self, position: int) -> list[str]:
        where = f"stage {position} ({self.name or 'unnamed'})"
        found: list[str] = []
        if not self.name.strip():
            found.append(f"stage {position} needs a name")
        elif (bad_name := name_problem(self.name, "stage")) is not None:
            found.append(f"stage {position}: {bad_name}")
        if not self.agent.strip():
            found.append(f"{where} needs an agent")
        found += [f"{where}: {p}" for p in template_problems(self.template, STAGE_FIELDS)]
        if self.timeout_s is not None and self.timeout_s <= 0:
            found.append(f"{where}: the timeout must be more than 0 seconds")
        if not 0 <= self.retries <= MAX_RETRIES:
            found.append(f"{where}: retries must be between 0 and {MAX_RETRIES}")
        if self.on_failure is OnFailure.RETRY and self.retries < 1:
            found.append(f"{where}: on-failure retry needs a number of retries (retry:N)")
        return found


def parse_on_failure(text: str) -> tuple[OnFailure, int]:
    """'stop' | 'skip' | 'retry' | 'retry:2' | 'retry 2' -> (policy, retries)."""
    raw = text.strip().lower()
    match = re.fullmatch(r"(stop|skip|retry)(?:[\s:=]+(\d+))?", raw)
    if match is None:
        raise DefinitionError(f"on-failure {text!r}: use stop, skip or retry:N")
    policy = OnFailure(match.group(1))
    if policy is OnFailure.RETRY:
        return policy, int(match.group(2) or 1)
    if match.group(2):
        raise DefinitionError(f"on-failure {text!r}: only retry takes a count")
    return policy, 0


@dataclass(frozen=True, slots=True)
class RouteRule:
    """A rule of a routed group: when the input matches, the member answers."""

    member: str
    pattern: str
    match: str = "contains"  # "contains" (case-insensitive) | "regex" (re.search)

    def as_dict(self) -> dict[str, Any]:
        return {"member": self.member, "pattern": self.pattern, "match": self.match}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RouteRule:
        return cls(str(data["member"]), str(data["pattern"]), str(data.get("match") or "contains"))

    def matches(self, text: str) -> bool:
        if self.match == "regex":
            return re.search(self.pattern, text) is not None
        return self.pattern.lower() in text.lower()


@dataclass(frozen=True, slots=True)
class GroupSpec:
    """A sequential pipeline (stages in order) or a routed group (one member picked)."""

    mode: GroupMode
    stages: tuple[Stage, ...] = ()
    members: tuple[str, ...] = ()
    rules: tuple[RouteRule, ...] = ()
    router_agent: str | None = None
    default_member: str | None = None
    description: str = ""

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"mode": self.mode.value, "description": self.description}
        if self.mode is GroupMode.SEQUENTIAL:
            data["stages"] = [s.as_dict() for s in self.stages]
        else:
            data["members"] = list(self.members)
            data["rules"] = [r.as_dict() for r in self.rules]
            data["router_agent"] = self.router_agent
            data["default_member"] = self.default_member
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GroupSpec:
        return cls(
            mode=GroupMode(data["mode"]),
            stages=tuple(Stage.from_dict(s) for s in data.get("stages") or ()),
            members=tuple(str(m) for m in data.get("members") or ()),
            rules=tuple(RouteRule.from_dict(r) for r in data.get("rules") or ()),
            router_agent=data.get("router_agent"),
            default_member=data.get("default_member"),
            description=str(data.get("description") or ""),
        )

    def agents(self) -> list[str]:
        """Every agent the group may dispatch to (stages, members, the router)."""
        if self.mode is GroupMode.SEQUENTIAL:
            return [s.agent for s in self.stages]
        return [*self.members, *([self.router_agent] if self.router_agent else [])]

    def validate(self) -> GroupSpec:
        problems: list[str] = []
        if self.mode is GroupMode.SEQUENTIAL:
            if not self.stages:
                problems.append("a sequential group needs at least one stage")
            if len(self.stages) > MAX_STAGES:
                problems.append(f"a group has at most {MAX_STAGES} stages")
            for i, stage in enumerate(self.stages, 1):
                problems += stage.problems(i)
            names = [s.name.lower() for s in self.stages]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                problems.append(f"stage names must differ: {', '.join(dupes)}")
        else:
            if not self.members:
                problems.append("a routed group needs members (--member AGENT)")
            if not self.rules and not self.router_agent:
                problems.append("a routed group needs rules (--rule) or a router agent (--router)")
            lowered = {m.lower() for m in self.members}
            for rule in self.rules:
                if rule.member.lower() not in lowered:
                    problems.append(
                        f"rule {rule.pattern!r} routes to {rule.member!r}, not a member"
                    )
                if rule.match not in ("contains", "regex"):
                    problems.append(f"rule {rule.pattern!r}: match is contains or regex")
                elif rule.match == "regex":
                    try:
                        re.compile(rule.pattern)
                    except re.error as exc:
                        problems.append(f"rule {rule.pattern!r} is not a valid regex: {exc}")
            if self.default_member and self.default_member.lower() not in lowered:
                problems.append(f"the default {self.default_member!r} is not a member")
        if problems:
            raise DefinitionError("; ".join(problems))
        return self


def parse_rule(text: str) -> RouteRule:
    """'billing=contains:invoice' or 'billing=re:^refund' or 'billing=invoice' -> a rule."""
    member, sep, pattern = text.partition("=")
    if not sep or not member.strip() or not pattern:
        raise DefinitionError(
            f"rule {text!r} must look like MEMBER=contains:TEXT or MEMBER=re:REGEX"
        )
    kind = "contains"
    for prefix, name in (("re:", "regex"), ("regex:", "regex"), ("contains:", "contains")):
        if pattern.startswith(prefix):
            kind, pattern = name, pattern[len(prefix) :]
            break
    return RouteRule(member.strip(), pattern, kind)


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    """Fire a prompt at an agent, group or skill flow on a cron expression in a time zone."""

    cron: str
    timezone: str
    target_kind: TargetKind
    target: str
    prompt: str
    missed: MissedFires = MissedFires.SKIP
    overlap: Overlap = Overlap.SKIP

    def as_dict(self) -> dict[str, Any]:
        return {
            "cron": self.cron,
            "timezone": self.timezone,
            "target_kind": self.target_kind.value,
            "target": self.target,
            "prompt": self.prompt,
            "missed": self.missed.value,
            "overlap": self.overlap.value,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScheduleSpec:
        return cls(
            cron=str(data["cron"]),
            timezone=str(data.get("timezone") or "UTC"),
            target_kind=TargetKind(data["target_kind"]),
            target=str(data["target"]),
            prompt=str(data.get("prompt") or ""),
            missed=MissedFires(data.get("missed") or MissedFires.SKIP.value),
            overlap=Overlap(data.get("overlap") or Overlap.SKIP.value),
        )


@dataclass(frozen=True, slots=True)
class HookSpec:
    """On a run of source_agent completing / failing / going over budget, dispatch the target
    with a template over that run ({run.output}, {run.error}, {run.id}, {run.agent},
    {run.status}). A chain of hooks stops at max_depth hooked runs."""

    event: HookEvent
    source_agent: str
    target_kind: TargetKind
    target: str
    template: str = "{run.output}"
    max_depth: int = DEFAULT_HOOK_DEPTH

    def as_dict(self) -> dict[str, Any]:
        return {
            "event": self.event.value,
            "source_agent": self.source_agent,
            "target_kind": self.target_kind.value,
            "target": self.target,
            "template": self.template,
            "max_depth": self.max_depth,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HookSpec:
        return cls(
            event=HookEvent(data["event"]),
            source_agent=str(data["source_agent"]),
            target_kind=TargetKind(data["target_kind"]),
            target=str(data["target"]),
            template=str(data.get("template") or "{run.output}"),
            max_depth=int(data.get("max_depth") or DEFAULT_HOOK_DEPTH),
        )

    def validate(self) -> HookSpec:
        problems = template_problems(self.template, HOOK_FIELDS)
        if not 1 <= self.max_depth <= MAX_HOOK_DEPTH:
            problems.append(f"the depth limit must be between 1 and {MAX_HOOK_DEPTH}")
        if self.target_kind is TargetKind.SKILL:
            problems.append("a hook dispatches an agent or a group")
        if problems:
            raise DefinitionError("; ".join(problems))
        return self


@dataclass(frozen=True, slots=True)
class SkillSpec:
    """A skill flow: a Markdown file whose `## Step` sections run as a sequential pipeline.

    agent: who runs steps that name no agent of their own. steps are parsed from the file
    (core.skill_flow); content_hash tells an edit of the file apart."""

    path: str
    agent: str
    title: str
    steps: tuple[Stage, ...]
    content_hash: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "agent": self.agent,
            "title": self.title,
            "steps": [s.as_dict() for s in self.steps],
            "content_hash": self.content_hash,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SkillSpec:
        return cls(
            path=str(data["path"]),
            agent=str(data["agent"]),
            title=str(data.get("title") or ""),
            steps=tuple(Stage.from_dict(s) for s in data.get("steps") or ()),
            content_hash=str(data.get("content_hash") or ""),
        )

    def pipeline(self) -> GroupSpec:
        return GroupSpec(GroupMode.SEQUENTIAL, stages=self.steps, description=self.title)


Spec = GroupSpec | ScheduleSpec | HookSpec | SkillSpec


def spec_from_dict(kind: AutomationKind, data: Mapping[str, Any]) -> Spec:
    if kind is AutomationKind.GROUP:
        return GroupSpec.from_dict(data)
    if kind is AutomationKind.SCHEDULE:
        return ScheduleSpec.from_dict(data)
    if kind is AutomationKind.HOOK:
        return HookSpec.from_dict(data)
    return SkillSpec.from_dict(data)


@dataclass(frozen=True, slots=True)
class HookEdge:
    """source agent -> the agents a hook's target dispatches to."""

    hook: str
    source: str
    targets: tuple[str, ...] = field(default_factory=tuple)


def find_cycle(edges: Iterable[HookEdge]) -> list[str] | None:
    """A cycle of agents through hooks (['a', 'b', 'a']), or None. Names compare
    case-insensitively, as agent names do."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.source.lower(), set()).update(t.lower() for t in edge.targets)
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def _opt_float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    return float(value)


__all__ = [
    "AutomationKind",
    "DefinitionError",
    "GroupMode",
    "GroupSpec",
    "HookEdge",
    "HookEvent",
    "HookSpec",
    "MissedFires",
    "OnFailure",
    "Overlap",
    "RouteRule",
    "ScheduleSpec",
    "SkillSpec",
    "Spec",
    "Stage",
    "TargetKind",
    "TemplateError",
    "find_cycle",
    "parse_on_failure",
    "parse_rule",
    "spec_from_dict",
]
