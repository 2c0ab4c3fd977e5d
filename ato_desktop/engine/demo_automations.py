"""The demo's automations, evals and cost evidence, on top of its month of runs.

`DemoGenerator` is the whole demo workspace: the agents, chats and runs of
`engine.demo_generator.RunGenerator`, plus what the app's automation and eval engines would have
written over that month, in their shapes (engine.pipelines, engine.hooks, engine.scheduler,
engine.evals, engine.cost_recs):

* two groups: `release-train` (sequential: review -> notes -> summary, with a retry, a skipped
  stage, a run stopped by a failing stage whose later stages never ran, and one killed), and
  `support-desk` (routed by rules, with a default member);
* a skill flow, `incident-review`, from a Markdown file written beside the log;
* two schedules: `release-notes-daily` (weekdays 09:00: the cron runs of release-notes) and
  `release-train-weekly` (Fridays 16:00: pipeline runs of the group);
* two hooks from day 25 on: `announce-release` (release-notes completed -> support-triage)
  and `triage-failure-digest` (support-triage failed -> local-summarizer), whose chains follow
  every run that fired them, the second inside the first when an announcement fails;
* two eval suites: `triage-golden` run on support-triage's version 2, again on version 3 (the
  regression shows case by case in the diff), and on claude-haiku-4-5; `analyst-golden` on
  data-analyst and on gpt-5-mini;
* evidence for cost recommendations gathered as the app gathers it (replays of an agent's
  newest runs on a candidate, then its suites there): gpt-5-mini qualifies for data-analyst,
  claude-haiku-4-5 does not for support-triage (its eval score is too low).

Schedules and hooks are loaded paused: the demo never dispatches anything on its own.
"""

from __future__ import annotations

import dataclasses
import json
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ato_desktop.core.automations import (
    AutomationKind,
    GroupMode,
    GroupSpec,
    HookEvent,
    HookSpec,
    OnFailure,
    RouteRule,
    ScheduleSpec,
    SkillSpec,
    Spec,
    Stage,
    TargetKind,
)
from ato_desktop.core.cost_rollup import rollup_cost, rollup_source
from ato_desktop.core.eval_scoring import (
    CaseOutcome,
    SuiteFigures,
    combine,
    figures,
    score_deterministic,
)
from ato_desktop.core.eval_suite import EvalSuite, parse_suite
from ato_desktop.core.models import (
    AgentConfig,
    ErrorClass,
    Outcome,
    RunStatus,
    RuntimeName,
    Trigger,
)
from ato_desktop.core.pricing import PriceBook
from ato_desktop.core.records import NewAction, NewRun, RunEnd
from ato_desktop.core.skill_flow import parse_skill
from ato_desktop.core.templates import render
from ato_desktop.engine import demo_corpus as corpus
from ato_desktop.engine.cost_recs import DEFAULT_SAMPLE
from ato_desktop.engine.demo_generator import (
    DAY_MS,
    DAYS,
    DEFAULT_RUNS,
    DEFAULT_SEED,
    HOUR_MS,
    MS,
    CastMember,
    Links,
    Planned,
    RunGenerator,
    RunItem,
    RunOutcome,
    between,
    topic_content,
)
from ato_desktop.engine.hooks import CHAIN_TAG, DEPTH_TAG, SOURCE_TAG
from ato_desktop.engine.pipelines import MAX_RECORDED_CHARS, PIPELINE_RUNTIME
from ato_desktop.store.evals import NewSuiteRun

KILLED_PIPELINE = "Killed; the stages run so far are kept."  # engine.pipelines / engine.hooks
HOOKS_DAY = 25.3  # when the hooks were added (days after the month starts)
# (agent, candidate runtime, candidate model, when the evidence was gathered: day, hh:mm UTC)
EVIDENCE = (
    ("data-analyst", RuntimeName.CODEX.value, "gpt-5-mini", 27, "14:24"),
    (corpus.REGRESSED_AGENT, RuntimeName.CLAUDE.value, "claude-haiku-4-5", 27, "10:48"),
)
SCHEDULE_LEAD_MS = 2_000  # a fire starts its run within a second or two of its time


@dataclass(frozen=True, slots=True)
class DemoDefinition:
    """A group, schedule, hook or skill flow as the demo creates it (version 1)."""

    kind: AutomationKind
    name: str
    spec: Spec
    created_at: int
    id: str
    version_id: str
    paused: bool = False  # loaded disabled, so it never fires on its own


@dataclass(frozen=True, slots=True)
class DemoScheduleState:
    """A schedule's progress: its last fire and the run it started."""

    automation_id: str
    last_fire_at: int
    last_run_id: str | None
    note: str = "on time"


@dataclass(frozen=True, slots=True)
class DemoSuiteRun:
    """A run of a suite as engine.evals records it: the row, its cases, its figures."""

    new: NewSuiteRun
    outcomes: tuple[CaseOutcome, ...]
    figures: SuiteFigures
    details: dict[str, Any]
    ended_at: int


@dataclass(slots=True)
class DemoSuite:
    """An eval suite with its text and its runs, oldest first."""

    suite: EvalSuite
    text: str
    id: str
    runs: list[DemoSuiteRun] = field(default_factory=list)


@dataclass(slots=True)
class _Evidence:
    """Gathering evidence for one agent: its newest finished production runs until then."""

    agent: CastMember
    runtime: str
    model: str
    at: int
    size: int  # how many runs the sample takes (engine.cost_recs.DEFAULT_SAMPLE at most)
    recent: deque[RunItem]  # the newest ones seen, some maybe still running at `at`
    done: bool = False


class DemoGenerator(RunGenerator):
    """The whole demo workspace; see the module docstring.

    Beyond RunGenerator: definitions() (what to create, before the runs), schedule_states(),
    suites() (what to record once the runs are in: case rows point at runs). skill_dir: where
    the skill flow's file will be (its path is part of the flow's definition).
    """

    def __init__(
        self,
        prices: PriceBook,
        *,
        runs: int = DEFAULT_RUNS,
        actions: int | None = None,
        seed: int = DEFAULT_SEED,
        now_ms: int | None = None,
        taken_names: set[str] | frozenset[str] = frozenset(),
        taken_automations: set[tuple[str, str]] | frozenset[tuple[str, str]] = frozenset(),
        taken_suites: set[str] | frozenset[str] = frozenset(),
        skill_dir: str = "",
    ) -> None:
        self._taken_automations = {(k, n.lower()) for k, n in taken_automations}
        self._taken_suites = {n.lower() for n in taken_suites}
        self._skill_dir = skill_dir.rstrip("/\\")
        self._definitions: list[DemoDefinition] = []
        self._states: list[DemoScheduleState] = []
        self._suites: list[DemoSuite] = []
        self._hooks: dict[str, DemoDefinition] = {}
        self._hooks_from = 0
        self._evidence: list[_Evidence] = []
        super().__init__(
            prices,
            runs=runs,
            actions=actions,
            seed=seed,
            now_ms=now_ms,
            taken_names=taken_names,
        )

    # -- what engine.demo writes besides the runs ------------------------------------------------

    def definitions(self) -> list[DemoDefinition]:
        """Every definition, in the order to create them (what a definition names comes
        first)."""
        return list(self._definitions)

    def schedule_states(self) -> list[DemoScheduleState]:
        return list(self._states)

    def suites(self) -> list[DemoSuite]:
        return list(self._suites)

    @property
    def skill_text(self) -> str:
        """The skill flow's Markdown, naming the demo's agents."""
        text = corpus.INCIDENT_REVIEW_SKILL
        for spec in corpus.AGENTS:
            text = text.replace(f"Agent: {spec.name}\n", f"Agent: {self._agent_name(spec.name)}\n")
        return text

    @property
    def skill_file(self) -> str:
        return f"{self._skill_dir}/{corpus.INCIDENT_REVIEW_FILE}"

    # -- names --------------------------------------------------------------------------------

    def _agent_name(self, key: str) -> str:
        return self._by_name[key].record.name

    def _free(self, kind: AutomationKind, name: str) -> str:
        """The name, or its "-demo" twin when the user has a definition of that name."""
        return f"{name}-demo" if (kind.value, name.lower()) in self._taken_automations else name

    def _define(
        self, rng: random.Random, kind: AutomationKind, name: str, spec: Spec, day: float
    ) -> DemoDefinition:
        at = self._at(day) + between(rng, 0, 50) * 60_000 + between(rng, 0, 60_000)
        definition = DemoDefinition(
            kind,
            self._free(kind, name),
            spec,
            at,
            self._id(at, rng),
            self._id(at, rng),
            paused=kind in (AutomationKind.SCHEDULE, AutomationKind.HOOK),
        )
        self._definitions.append(definition)
        return definition

    # -- planning -----------------------------------------------------------------------------

    def _plan_more(self) -> list[Planned]:
        rng = self._rng("automations")
        scale = min(1.0, self.total / DEFAULT_RUNS)
        planned: list[Planned] = []
        train = self._define(
            rng, AutomationKind.GROUP, corpus.RELEASE_TRAIN, self._train_spec(), -10
        )
        desk = self._define(rng, AutomationKind.GROUP, corpus.SUPPORT_DESK, self._desk_spec(), 2.3)
        skill_spec = parse_skill(
            self.skill_text, path=self.skill_file, agent=self._agent_name(corpus.REGRESSED_AGENT)
        )
        skill = self._define(rng, AutomationKind.SKILL, corpus.INCIDENT_REVIEW, skill_spec, 6.2)
        notes_daily = self._define(
            rng,
            AutomationKind.SCHEDULE,
            corpus.RELEASE_NOTES_DAILY,
            ScheduleSpec(
                corpus.RELEASE_NOTES_DAILY_CRON,
                "UTC",
                TargetKind.AGENT,
                self._agent_name("release-notes"),
                corpus.RELEASE_NOTES_DAILY_PROMPT,
            ),
            -20,
        )
        train_weekly = self._define(
            rng,
            AutomationKind.SCHEDULE,
            corpus.RELEASE_TRAIN_WEEKLY,
            ScheduleSpec(
                corpus.RELEASE_TRAIN_WEEKLY_CRON,
                "UTC",
                TargetKind.GROUP,
                train.name,
                corpus.RELEASE_TRAIN_WEEKLY_PROMPT,
            ),
            15.5,
        )
        for name, spec in (
            (
                corpus.ANNOUNCE_RELEASE,
                HookSpec(
                    HookEvent.COMPLETED,
                    self._agent_name("release-notes"),
                    TargetKind.AGENT,
                    self._agent_name(corpus.REGRESSED_AGENT),
                    corpus.ANNOUNCE_RELEASE_TEMPLATE,
                ),
            ),
            (
                corpus.TRIAGE_FAILURE_DIGEST,
                HookSpec(
                    HookEvent.FAILED,
                    self._agent_name(corpus.REGRESSED_AGENT),
                    TargetKind.AGENT,
                    self._agent_name("local-summarizer"),
                    corpus.TRIAGE_FAILURE_DIGEST_TEMPLATE,
                ),
            ),
        ):
            hook = self._define(rng, AutomationKind.HOOK, name, spec, HOOKS_DAY)
            self._hooks[hook.name] = hook
        self._hooks_from = max(h.created_at for h in self._hooks.values())

        planned.extend(self._plan_notes_daily(notes_daily))
        pipelines = self._plan_train(train, train_weekly, max(1, round(6 * scale)))
        pipelines += self._plan_desk(desk, max(2, round(14 * scale)))
        pipelines += self._plan_skill(skill, max(1, round(4 * scale)))
        planned.extend(pipelines)
        planned.extend(self._plan_evals(scale))
        return planned

    def _begin(self) -> None:
        """Every pass over the runs gathers its evidence afresh."""
        sample = max(3, min(DEFAULT_SAMPLE, self.total // 50))
        self._evidence = [
            _Evidence(
                self._by_name[agent],
                runtime,
                model,
                self._evidence_at(day, hhmm),
                sample,
                deque(maxlen=3 * sample),
            )
            for agent, runtime, model, day, hhmm in EVIDENCE
        ]

    def _evidence_at(self, day: int, hhmm: str) -> int:
        hours, minutes = hhmm.split(":")
        return self._clock(day, int(hours) * 60 + int(minutes))

    # -- schedules ----------------------------------------------------------------------------

    def _fires(self, cron_days: Sequence[int], hour: int, after: int) -> list[int]:
        """Fire times at hour:00 UTC on the given weekdays, after `after`, before now."""
        fires = []
        for day in range(-1, DAYS + 1):
            at = self.start_ms - self.start_ms % DAY_MS + day * DAY_MS + hour * HOUR_MS
            if at <= after or at < self.start_ms or at >= self.end_ms:
                continue
            if datetime.fromtimestamp(at / 1000, UTC).weekday() in cron_days:
                fires.append(at)
        return fires

    @staticmethod
    def _fire_tags(schedule: DemoDefinition, fire_at: int) -> dict[str, str]:
        when = datetime.fromtimestamp(fire_at / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"schedule": schedule.name, "schedule.fire_at": when}  # engine.scheduler

    def _plan_notes_daily(self, schedule: DemoDefinition) -> list[Planned]:
        """release-notes every weekday at 09:00, from the scheduler."""
        agent = self._by_name["release-notes"]
        rng = self._rng("cron")
        turns: list[Planned] = []
        budget = self.total // 8  # small builds: leave room for everything else
        last: tuple[int, str] | None = None
        for fire_at in self._fires(range(5), 9, schedule.created_at)[-budget:] if budget else []:
            at = fire_at + between(rng, 300, SCHEDULE_LEAD_MS)
            version, vspec = self._version(agent, at)
            _prompt, answer, steps = topic_content(rng, "notes", self._keyed)
            item, _text = self._make_run(
                rng,
                self._id(at, rng),
                at,
                agent,
                version.config,
                vspec.behaviour,
                Trigger.CRON,
                self._pick_outcome(rng, vspec.behaviour, version.config, at),
                prompt=corpus.RELEASE_NOTES_DAILY_PROMPT,
                answer=answer,
                steps=steps,
                tags=self._fire_tags(schedule, fire_at),
            )
            turns.append(Planned(at, item))
            last = (fire_at, item[0].id or "")
        if last is not None:
            self._states.append(DemoScheduleState(schedule.id, last[0], last[1]))
        return turns

    # -- groups and the skill flow ------------------------------------------------------------

    def _train_spec(self) -> GroupSpec:
        return GroupSpec(
            GroupMode.SEQUENTIAL,
            stages=tuple(
                Stage(name, self._agent_name(agent), template, timeout, OnFailure(policy), retries)
                for name, agent, template, timeout, policy, retries in corpus.RELEASE_TRAIN_STAGES
            ),
            description=corpus.RELEASE_TRAIN_DESCRIPTION,
        )

    def _desk_spec(self) -> GroupSpec:
        rules = tuple(
            RouteRule(self._agent_name(member), pattern, match)
            for member, pattern, match in corpus.SUPPORT_DESK_RULES
        )
        return GroupSpec(
            GroupMode.ROUTED,
            members=(self._agent_name(corpus.REGRESSED_AGENT), self._agent_name("data-analyst")),
            rules=rules,
            default_member=self._agent_name(corpus.SUPPORT_DESK_DEFAULT),
            description=corpus.SUPPORT_DESK_DESCRIPTION,
        )

    def _clock(self, day: int, minute: int, rng: random.Random | None = None) -> int:
        """That minute (UTC) of the month's day-th day, a few seconds in."""
        midnight = self.start_ms - self.start_ms % DAY_MS
        seconds = between(rng, 0, 60_000) if rng is not None else 0
        return midnight + day * DAY_MS + minute * 60_000 + seconds

    def _work_hours(self, rng: random.Random, count: int, first_day: float) -> list[int]:
        """count times spread from first_day to the end, in working hours (UTC)."""
        times = []
        span = DAYS - first_day - 0.5
        for i in range(count):
            day = first_day + (i + rng.random()) * span / count
            at = self._clock(int(day), between(rng, 9 * 60, 17 * 60), rng)
            times.append(max(self.start_ms, min(at, self.end_ms - 2 * HOUR_MS)))
        return sorted(times)

    def _plan_train(
        self, train: DemoDefinition, weekly: DemoDefinition, manual: int
    ) -> list[Planned]:
        """release-train runs: every Friday's fire and some by hand, in every way a sequential
        pipeline can go."""
        rng = self._rng("release-train")
        fires = self._fires((4,), 16, weekly.created_at)
        starts: list[tuple[int, int | None]] = [
            (at + between(rng, 300, SCHEDULE_LEAD_MS), at) for at in fires
        ]
        starts += [(at, None) for at in self._work_hours(rng, manual, 1.0)]
        starts.sort()
        # The ways runs by hand go, in turn (a person was watching the one that was killed);
        # the scheduled fires went well.
        ways = ("killed", "stop", "retry", "skip")
        turns: list[Planned] = []
        last_fire: tuple[int, str] | None = None
        by_hand = 0
        for index, (at, fire_at) in enumerate(starts):
            if fire_at is not None:
                trigger, tags = Trigger.CRON, self._fire_tags(weekly, fire_at)
                text, way = corpus.RELEASE_TRAIN_WEEKLY_PROMPT, "ok"
            else:
                trigger, tags = (Trigger.UI, Trigger.CLI)[index % 2], {}
                text = f"release 2.{between(rng, 10, 30)}.0 ({between(rng, 4, 19)} merged PRs)"
                way = ways[by_hand] if by_hand < len(ways) else "ok"
                by_hand += 1
            items = self._sequential(rng, train, text, at, trigger, tags, way, kind="group")
            turns.extend(Planned(item[0].started_at, item) for item in items)
            if fire_at is not None:
                last_fire = (fire_at, items[0][0].id or "")
        if last_fire is not None:
            self._states.append(DemoScheduleState(weekly.id, *last_fire))
        return turns

    def _plan_skill(self, skill: DemoDefinition, count: int) -> list[Planned]:
        rng = self._rng("incident-review")
        turns: list[Planned] = []
        ways = ("ok", "retry", "ok", "stop")
        for index, at in enumerate(self._work_hours(rng, count, 7.0)):
            path = corpus.DOCUMENTS[index % len(corpus.DOCUMENTS)][0]
            items = self._sequential(
                rng,
                skill,
                path,
                at,
                (Trigger.UI, Trigger.CLI)[index % 2],
                {},
                ways[index % len(ways)],
                kind="skill",
            )
            turns.extend(Planned(item[0].started_at, item) for item in items)
        return turns

    def _stage_answer(self, rng: random.Random, agent: CastMember, prompt: str) -> str:
        """What a stage's agent answers its prompt (its topic's kind of answer)."""
        topic = agent.spec.topic
        if topic == "summary":
            for path, _title, bullets in corpus.DOCUMENTS:
                if path in prompt:
                    return bullets
            lines = [line for line in prompt.splitlines() if line.startswith("- ")][:3]
            return "\n".join(lines) or rng.choice(corpus.DOCUMENTS)[2]
        if topic == "notes":
            return topic_content(rng, "notes", self._keyed)[1]
        if topic == "review":
            return rng.choice(corpus.REVIEWS)[2]
        if topic == "analyst":
            return rng.choice(corpus.INCIDENT_IMPACT)
        for question, answer in corpus.SUPPORT_DESK_OTHER:
            if question in prompt:
                return answer
        if "incident" in prompt.lower():
            return rng.choice(corpus.INCIDENT_UPDATES)
        return rng.choice(corpus.ANNOUNCEMENTS)

    def _sequential(
        self,
        rng: random.Random,
        definition: DemoDefinition,
        text: str,
        at: int,
        trigger: Trigger,
        tags: dict[str, str],
        way: str,
        *,
        kind: str,
    ) -> list[RunItem]:
        """A sequential pipeline run as engine.pipelines records it: the parent, then each
        stage's runs (a retried stage has one per attempt). way: "ok", or where it goes wrong:
        "retry" (a stage with retries fails once), "skip" (a skip stage fails), "stop" (the
        first stage fails: the others never run), "killed" (killed during the second)."""
        spec = definition.spec
        stages: tuple[Stage, ...] = ()
        if isinstance(spec, SkillSpec):
            stages = spec.steps
        elif isinstance(spec, GroupSpec):
            stages = spec.stages
        parent_id = self._id(at, rng)
        links_tags = {**tags, "pipeline": definition.name}
        items: list[RunItem] = []
        outcomes: list[dict[str, Any]] = []
        previous, output, failed, killed = text, text, None, False
        t = at + between(rng, 20, 120)
        for index, stage in enumerate(stages):
            prompt = render(stage.template, {"input": text, "previous": previous})
            attempts = 1 + (stage.retries if stage.on_failure is OnFailure.RETRY else 0)
            agent = self._by_key(stage.agent)
            for attempt in range(1, attempts + 1):
                wanted = RunOutcome(RunStatus.COMPLETED)
                if way == "retry" and stage.on_failure is OnFailure.RETRY and attempt == 1:
                    wanted = RunOutcome(RunStatus.FAILED, ErrorClass.RATE_LIMIT)
                elif way == "skip" and stage.on_failure is OnFailure.SKIP:
                    wanted = RunOutcome(RunStatus.FAILED, ErrorClass.TIMEOUT)
                elif way == "stop" and index == 0:
                    wanted = RunOutcome(RunStatus.FAILED, ErrorClass.SERVER_ERROR)
                elif way == "killed" and index == 1:
                    wanted = RunOutcome(RunStatus.KILLED, ErrorClass.KILLED)
                stage_tags = dict(links_tags)
                if attempt > 1:
                    stage_tags["pipeline.attempt"] = str(attempt)
                version, vspec = self._version(agent, t)
                item, shown = self._make_run(
                    rng,
                    self._id(t, rng),
                    t,
                    agent,
                    version.config,
                    vspec.behaviour,
                    Trigger.PIPELINE,
                    wanted,
                    prompt=prompt,
                    answer=self._stage_answer(rng, agent, prompt),
                    tool_calls=0,
                    tags=stage_tags,
                    links=Links(parent_id, definition.id, index, stage.name),
                )
                items.append(item)
                end = item[1]
                t = end.ended_at + between(rng, 5, 60)
                status = end.status
                record = {
                    "stage_index": index,
                    "stage_name": stage.name,
                    "attempt": attempt,
                    "run_id": item[0].id,
                    "status": status,
                    "skipped": False,
                }
                if status == RunStatus.COMPLETED:
                    outcomes.append(record)
                    previous = output = _final_text(item) or shown
                    break
                if status == RunStatus.KILLED:
                    outcomes.append(record)
                    killed = True
                    break
                if attempt < attempts:
                    outcomes.append(record)
                    continue
                if stage.on_failure is OnFailure.SKIP:
                    outcomes.append({**record, "skipped": True})
                    break
                outcomes.append(record)
                tries = f" after {attempts} attempts" if attempts > 1 else ""
                failed = (
                    end.error_class or ErrorClass.CONFIG.value,
                    f"stage {index + 1} ({stage.name}) {status}{tries}: "
                    f"{end.error_message or 'no detail'}",
                )
            if killed or failed:
                break
        if killed:
            status, error = RunStatus.KILLED.value, (ErrorClass.KILLED.value, KILLED_PIPELINE)
        elif failed:
            status, error = RunStatus.FAILED.value, failed
        else:
            status, error = RunStatus.COMPLETED.value, None
        parent = self._parent(
            parent_id,
            definition,
            at,
            t,
            trigger,
            {**tags, "pipeline": definition.name, "pipeline.kind": kind, "pipeline.version": "1"},
            status,
            error,
            inputs={"input": text[:MAX_RECORDED_CHARS], "version": 1},
            outputs={
                "text": output[:MAX_RECORDED_CHARS] if status == RunStatus.COMPLETED else "",
                "stages": outcomes,
            },
        )
        return [parent, *items]

    def _parent(
        self,
        run_id: str,
        definition: DemoDefinition,
        started: int,
        ended: int,
        trigger: Trigger,
        tags: dict[str, str],
        status: str,
        error: tuple[str, str] | None,
        *,
        inputs: dict[str, Any],
        outputs: dict[str, Any],
        before: Sequence[NewAction] = (),
        parent_run_id: str | None = None,
    ) -> RunItem:
        """A pipeline run's parent (or a hook chain's): runtime "pipeline", the definition's
        name as model, and its one `pipeline` action written when it ends."""
        duration_ns = (ended - started) * MS
        summary = NewAction(
            name="pipeline",
            kind="pipeline",
            outcome=Outcome.SUCCESS if status == RunStatus.COMPLETED else Outcome.ERROR,
            started_at=ended,
            ended_at=ended,
            inputs=inputs,
            outputs=outputs,
            duration_ns=duration_ns,
            error_class=error[0] if error else None,
            error_message=error[1] if error else None,
        )
        return (
            NewRun(
                runtime=PIPELINE_RUNTIME,
                model=definition.name,
                trigger=str(trigger),
                started_at=started,
                parent_run_id=parent_run_id,
                pipeline_id=definition.id,
                tags=tags,
                is_demo=True,
                id=run_id,
            ),
            RunEnd(
                status=status,
                ended_at=ended,
                duration_ns=duration_ns,
                error_class=error[0] if error else None,
                error_message=error[1] if error else None,
            ),
            [*before, summary],
        )

    def _plan_desk(self, desk: DemoDefinition, count: int) -> list[Planned]:
        """support-desk runs: the route decided by rules (or the default), then the member."""
        rng = self._rng("support-desk")
        spec = desk.spec
        assert isinstance(spec, GroupSpec)
        turns: list[Planned] = []
        for index, at in enumerate(self._work_hours(rng, count, 2.5)):
            kind = ("triage", "analyst", "triage", "other")[index % 4]
            if kind == "other":
                text, answer = rng.choice(corpus.SUPPORT_DESK_OTHER)
            else:
                text, answer, _steps = topic_content(rng, kind, self._keyed)
            rule = next((r for r in spec.rules if r.matches(text)), None)
            if rule is not None:
                how = "matches regex" if rule.match == "regex" else "contains"
                member, router = rule.member, "rules"
                reason = f"the input {how} {rule.pattern!r}"  # engine.pipelines._decide
            else:
                member, router = spec.default_member or spec.members[0], "default"
                reason = "no rule matched the input; the default"
            parent_id = self._id(at, rng)
            route_at = at + between(rng, 1, 4)
            route = NewAction(
                name="route",
                kind="route",
                outcome=Outcome.SUCCESS,
                started_at=route_at,
                ended_at=route_at,
                duration_ns=between(rng, 40_000, 400_000),
                inputs={"input": text[:MAX_RECORDED_CHARS], "members": list(spec.members)},
                outputs={
                    "member": member,
                    "reason": reason,
                    "router": router,
                    "router_run_id": None,
                },
                meta={"router": router},
            )
            agent = self._by_key(member)
            t = route_at + between(rng, 5, 40)
            version, vspec = self._version(agent, t)
            trigger = (Trigger.UI, Trigger.CLI)[index % 2]
            item, shown = self._make_run(
                rng,
                self._id(t, rng),
                t,
                agent,
                version.config,
                vspec.behaviour,
                Trigger.PIPELINE,
                self._pick_outcome(rng, vspec.behaviour, version.config, t),
                prompt=text,
                answer=answer if agent.spec.topic in (kind, "triage") else "",
                tool_calls=0,
                tags={"pipeline": desk.name},
                links=Links(parent_id, desk.id, 1, member),
            )
            end = item[1]
            status, error = end.status, None
            if status == RunStatus.FAILED:
                error = (
                    end.error_class or ErrorClass.CONFIG.value,
                    f"{member} {status}: {end.error_message or 'no detail'}",
                )
            elif status == RunStatus.KILLED:
                error = (ErrorClass.KILLED.value, KILLED_PIPELINE)
            stages = [
                {
                    "stage_index": 1,
                    "stage_name": member,
                    "attempt": 1,
                    "run_id": item[0].id,
                    "status": status,
                    "skipped": False,
                }
            ]
            parent = self._parent(
                parent_id,
                desk,
                at,
                end.ended_at + between(rng, 5, 60),
                trigger,
                {"pipeline": desk.name, "pipeline.kind": "group", "pipeline.version": "1"},
                status,
                error,
                inputs={"input": text[:MAX_RECORDED_CHARS], "version": 1},
                outputs={
                    "text": (_final_text(item) or shown) if status == RunStatus.COMPLETED else "",
                    "stages": stages,
                },
                before=[route],
            )
            turns.append(Planned(at, parent))
            turns.append(Planned(t, item))
        return turns

    def _by_key(self, name: str) -> CastMember:
        """The cast member an automation names (by its name in the log)."""
        for member in self._agents:
            if member.record.name == name or member.spec.name == name:
                return member
        raise KeyError(name)

    # -- evals --------------------------------------------------------------------------------

    def _plan_evals(self, scale: float) -> list[Planned]:
        rng = self._rng("evals")
        cases = max(3, min(len(corpus.TRIAGE_CASES), round(len(corpus.TRIAGE_CASES) * 4 * scale)))
        triage_cases = corpus.TRIAGE_CASES[:cases]
        analyst_cases = corpus.ANALYST_CASES[: max(3, min(len(corpus.ANALYST_CASES), cases))]
        triage_suite = self._suite(
            corpus.TRIAGE_SUITE,
            "Support triage: the category and priority of known tickets.",
            [
                {
                    "id": case_id,
                    "input": f"Ticket from a customer: {ticket}\n\nClassify it and draft a reply.",
                    "expected": [f"Category: {category}", f"Priority: {priority}"],
                }
                for case_id, ticket, category, priority in triage_cases
            ],
        )
        analyst_suite = self._suite(
            corpus.ANALYST_SUITE,
            "Warehouse questions with known answers.",
            [
                {"id": case_id, "input": question, "expected": number}
                for case_id, question, number in analyst_cases
            ],
        )
        evidence = {
            agent: self._evidence_at(day, hhmm) for agent, _rt, _model, day, hhmm in EVIDENCE
        }
        turns: list[Planned] = []
        # (suite, agent, start, candidate (runtime, model) or None, how its answers go); the
        # candidates' suites run once their replays are in, as gather_evidence runs them.
        plan: tuple[tuple[DemoSuite, str, int, tuple[str, str] | None, str], ...] = (
            (analyst_suite, "data-analyst", self._clock(16, 10 * 60 + 5, rng), None, "good"),
            (
                triage_suite,
                corpus.REGRESSED_AGENT,
                self._clock(19, 11 * 60 + 20, rng),
                None,
                "good",
            ),
            (
                triage_suite,
                corpus.REGRESSED_AGENT,
                self._clock(24, 15 * 60 + 40, rng),
                None,
                "regressed",
            ),
            (
                triage_suite,
                corpus.REGRESSED_AGENT,
                evidence[corpus.REGRESSED_AGENT] + between(rng, 50, 70) * 60_000,
                (RuntimeName.CLAUDE.value, "claude-haiku-4-5"),
                "weaker",
            ),
            (
                analyst_suite,
                "data-analyst",
                evidence["data-analyst"] + between(rng, 50, 70) * 60_000,
                (RuntimeName.CODEX.value, "gpt-5-mini"),
                "good",
            ),
        )
        for suite, agent_key, started, candidate, quality in plan:
            turns.extend(
                self._suite_run(rng, suite, self._by_name[agent_key], started, candidate, quality)
            )
        return turns

    def _suite(self, name: str, description: str, cases: list[dict[str, Any]]) -> DemoSuite:
        if name.lower() in self._taken_suites:
            name = f"{name}-demo"
        header = {
            "suite": {"name": name, "description": description, "scorers": [{"type": "contains"}]}
        }
        text = "\n".join(json.dumps(line, ensure_ascii=False) for line in [header, *cases]) + "\n"
        suite = parse_suite(text, default_name=name)
        made = DemoSuite(suite, text, "")
        self._suites.append(made)
        return made

    def _suite_run(
        self,
        rng: random.Random,
        demo_suite: DemoSuite,
        agent: CastMember,
        started: int,
        candidate: tuple[str, str] | None,
        quality: str,
    ) -> list[Planned]:
        """A run of a suite as engine.evals.run_suite records it: one dispatch per case
        (trigger eval, four at a time), scored by the suite's scorers."""
        suite = demo_suite.suite
        if not demo_suite.id:
            demo_suite.id = self._id(started, rng)
        suite_run_id = self._id(started, rng)
        version, vspec = self._version(agent, started)
        config = version.config
        label = f"@{agent.record.name}"
        if candidate is not None:
            config = dataclasses.replace(config, runtime=candidate[0], model=candidate[1])
            label = f"@{agent.record.name} on {candidate[0]} · {candidate[1]}"
        turns: list[Planned] = []
        outcomes: list[CaseOutcome] = []
        ended = started
        for index, case in enumerate(suite.cases):
            at = started + (index // 4) * between(rng, 4_000, 9_000) + between(rng, 5, 400)
            wanted, answer = self._case_answer(case.prompt, case.expected, index, quality)
            item, shown = self._make_run(
                rng,
                self._id(at, rng),
                at,
                agent,
                config,
                vspec.behaviour,
                Trigger.EVAL,
                wanted,
                prompt=case.prompt,
                answer=answer,
                tool_calls=0,
                tags={
                    "eval.suite": suite.name,
                    "eval.case": case.case_id,
                    "eval.suite_run": suite_run_id,
                },
            )
            turns.append(Planned(at, item))
            ended = max(ended, item[1].ended_at)
            outcomes.append(self._case_outcome(suite, case, item, shown))
        outcomes.sort(key=lambda o: (o.line_no, o.case_id))
        previous = next((r for r in reversed(demo_suite.runs) if r.new.target == label), None)
        demo_suite.runs.append(
            DemoSuiteRun(
                NewSuiteRun(
                    suite_id=demo_suite.id,
                    content_hash=suite.content_hash,
                    runtime=config.runtime,
                    model=config.model,
                    target=label,
                    case_count=len(suite.cases),
                    bad_line_count=len(suite.bad_lines),
                    agent_id=agent.record.id,
                    agent_version_id=version.id,
                    swapped=candidate is not None,
                    started_at=started,
                    id=suite_run_id,
                ),
                tuple(outcomes),
                figures(outcomes, len(suite.cases)),
                {
                    "bad_lines": [],
                    "notes": [],
                    "previous_suite_run_id": previous.new.id if previous else None,
                },
                ended + between(rng, 50, 400),
            )
        )
        return turns

    @staticmethod
    def _case_answer(
        prompt: str, expected: Any, index: int, quality: str
    ) -> tuple[RunOutcome, str]:
        """What the target answers a case (and whether its run fails): "good" gets them right
        but one priority, "regressed" fails two (timeouts, a rate limit) and rambles past the
        priority on one, "weaker" (a cheaper model) gets categories wrong."""
        if isinstance(expected, list):  # a triage case: [category, priority]
            category, priority = expected
            reply = (
                "Thanks for getting in touch. I've looked into this and shared the next steps "
                "with the team; you'll hear from us shortly."
            )
            right = f"{category} · {priority}\n\n{reply}"
            if quality == "good":
                if index == 7:
                    return RunOutcome(RunStatus.COMPLETED), f"{category} · Priority: P4\n\n{reply}"
                return RunOutcome(RunStatus.COMPLETED), right
            if quality == "regressed":
                if index in (1, 6):
                    error = ErrorClass.TIMEOUT if index == 1 else ErrorClass.RATE_LIMIT
                    return RunOutcome(RunStatus.FAILED, error), right
                if index == 4:
                    return RunOutcome(RunStatus.COMPLETED), (
                        f"{category}. This ticket touches several areas, so here is everything "
                        "the documentation says about each of them, in full: ..."
                    )
                return RunOutcome(RunStatus.COMPLETED), right
            if index in (0, 5, 7):
                return RunOutcome(RunStatus.COMPLETED), right
            if index in (3, 6):
                return RunOutcome(RunStatus.COMPLETED), f"Category: other · Priority: P4\n\n{reply}"
            wrong = "Category: account" if category == "Category: how-to" else "Category: how-to"
            return RunOutcome(RunStatus.COMPLETED), f"{wrong} · {priority}\n\n{reply}"
        known = _KNOWN_ANSWERS.get(prompt, "")
        if str(expected) in known:  # asked before (a chat, say): the same question, the same answer
            return RunOutcome(RunStatus.COMPLETED), known
        return RunOutcome(RunStatus.COMPLETED), (
            f"{expected}. That figure comes straight from the warehouse query; "
            "ask if you want it broken down further."
        )

    def _case_outcome(self, suite: EvalSuite, case: Any, item: RunItem, shown: str) -> CaseOutcome:
        """engine.evals._SuiteRun.score: a failed run scores 0; else the case's scorers."""
        new, end, actions = item
        cost: float | None = None
        source: str | None = None
        for action in actions:
            cost = rollup_cost(cost, action.cost_usd)
            source = rollup_source(source, action.cost_source.value if action.cost_source else None)
        duration_ms = (end.duration_ns or 0) / 1_000_000
        output = _final_text(item) or shown
        if end.status != RunStatus.COMPLETED:
            return CaseOutcome(
                case.case_id,
                case.line_no,
                new.id,
                end.status,
                0.0,
                False,
                output=output,
                error=end.error_message or end.status,
                cost_usd=cost,
                cost_source=source,
                duration_ms=duration_ms,
            )
        results = [score_deterministic(spec, output, case) for spec in case.scorers]
        return combine(
            case.case_id,
            case.line_no,
            results,
            pass_threshold=suite.pass_threshold,
            run_id=new.id,
            status=end.status,
            output=output,
            cost_usd=cost,
            cost_source=source,
            duration_ms=duration_ms,
        )

    # -- follow-ups: hook chains and evidence ---------------------------------------------------

    def _after(self, item: RunItem) -> None:
        new, end, _actions = item
        for gathering in self._evidence:
            if gathering.done:
                continue
            if new.started_at >= gathering.at:
                gathering.done = True
                self._follow_up(self._replays(gathering, new.started_at))
            elif (
                new.agent_id == gathering.agent.record.id
                and new.trigger not in (Trigger.REPLAY, Trigger.EVAL)
                and end.status in (RunStatus.COMPLETED, RunStatus.FAILED)
            ):
                gathering.recent.append(item)
        if new.agent_id is None or CHAIN_TAG in new.tags or end.ended_at < self._hooks_from:
            return
        for hook in self._due(item):
            self._follow_up(self._chain(hook, item))

    def _due(self, item: RunItem) -> list[DemoDefinition]:
        """The hooks a finished agent run fires (engine.hooks.HookRunner._due)."""
        new, end, _actions = item
        due = []
        for hook in self._hooks.values():
            spec = hook.spec
            assert isinstance(spec, HookSpec)
            if self._by_key(spec.source_agent).record.id != new.agent_id:
                continue
            if (spec.event is HookEvent.COMPLETED and end.status == RunStatus.COMPLETED) or (
                spec.event is HookEvent.FAILED and end.status == RunStatus.FAILED
            ):
                due.append(hook)
        return due

    def _chain(self, first: DemoDefinition, source: RunItem) -> list[RunItem]:
        """A hook chain after source, as engine.hooks.HookRunner._chain records it: its parent
        run, then a stage per hooked run, breadth first (a stage's own due hooks follow it)."""
        rng = random.Random(f"ato-demo:{self.seed}:chain:{source[0].id}")
        started = source[1].ended_at + between(rng, 40, 400)
        chain_id = self._id(started, rng)
        stages: list[RunItem] = []
        records: list[dict[str, Any]] = []
        queue: deque[tuple[DemoDefinition, RunItem]] = deque([(first, source)])
        t = started + between(rng, 5, 40)
        while queue:
            hook, after = queue.popleft()
            spec = hook.spec
            assert isinstance(spec, HookSpec)
            depth = int(after[0].tags.get(DEPTH_TAG) or 0)
            if depth >= spec.max_depth:
                continue
            prompt = render(spec.template, self._hook_values(after))
            agent = self._by_key(spec.target)
            version, vspec = self._version(agent, t)
            if spec.event is HookEvent.COMPLETED:
                answer = rng.choice(corpus.ANNOUNCEMENTS)
            else:
                answer = _digest(after)
            item, _shown = self._make_run(
                rng,
                self._id(t, rng),
                t,
                agent,
                version.config,
                vspec.behaviour,
                Trigger.HOOK,
                self._pick_outcome(rng, vspec.behaviour, version.config, t),
                prompt=prompt,
                answer=answer,
                tool_calls=0,
                tags={
                    "hook": hook.name,
                    DEPTH_TAG: str(depth + 1),
                    SOURCE_TAG: after[0].id or "",
                    CHAIN_TAG: chain_id,
                    "pipeline": first.name,
                },
                links=Links(chain_id, first.id, len(stages), hook.name),
            )
            stages.append(item)
            records.append(
                {
                    "stage_index": len(records),
                    "stage_name": hook.name,
                    "run_id": item[0].id,
                    "status": item[1].status,
                    "source_run": after[0].id,
                }
            )
            t = item[1].ended_at + between(rng, 20, 300)
            queue.extend((next_hook, item) for next_hook in self._due(item))
        failed = next((s for s in stages if s[1].status != RunStatus.COMPLETED), None)
        error: tuple[str, str] | None = None
        status = RunStatus.COMPLETED.value
        if any(s[1].status == RunStatus.KILLED for s in stages):
            status, error = RunStatus.KILLED.value, (ErrorClass.KILLED.value, KILLED_PIPELINE)
        elif failed is not None:
            position = stages.index(failed) + 1
            message = f"stage {position} ({failed[0].stage_name}) {failed[1].status}"
            if failed[1].error_message:
                message += f": {failed[1].error_message}"
            status = RunStatus.FAILED.value
            error = (failed[1].error_class or ErrorClass.CONFIG.value, message)
        parent = self._parent(
            chain_id,
            first,
            started,
            t,
            Trigger.HOOK,
            {
                "hook": first.name,
                "pipeline": first.name,
                "pipeline.kind": "hook",
                "pipeline.version": "1",
                SOURCE_TAG: source[0].id or "",
            },
            status,
            error,
            inputs={"source_run": source[0].id, "version": 1},
            outputs={"stages": records, "held_back": []},
            parent_run_id=source[0].id,
        )
        return [parent, *stages]

    def _hook_values(self, item: RunItem) -> dict[str, str]:
        """A finished run's template values (engine.hooks.HookRunner._prompt_and_tags)."""
        new, end, actions = item
        first = next((a for a in actions if a.name == "call_llm"), None)
        messages = first.inputs.get("messages") if first and isinstance(first.inputs, dict) else []
        users = [m for m in messages or [] if isinstance(m, dict) and m.get("role") == "user"]
        agent = next((a for a in self._agents if a.record.id == new.agent_id), None)
        return {
            "run.output": _final_text(item),
            "run.error": end.error_message or "",
            "run.id": new.id or "",
            "run.agent": agent.record.name if agent else "",
            "run.status": end.status,
            "input": str(users[-1].get("content") or "") if users else "",
        }

    def _replays(self, gathering: _Evidence, now: int) -> list[RunItem]:
        """engine.cost_recs.gather_evidence: the sample replayed on the candidate, four at a
        time, through the dispatcher (trigger replay, no agent: a runtime and model target)."""
        rng = random.Random(f"ato-demo:{self.seed}:evidence:{gathering.agent.spec.name}")
        label = f"{gathering.runtime} · {gathering.model}"
        # sample_runs: the newest finished ones, newest first.
        finished = [s for s in gathering.recent if s[1].ended_at < gathering.at]
        sample = finished[::-1][: gathering.size]
        items = []
        t0 = max(gathering.at, now) + between(rng, 1_000, 30_000)
        for index, source in enumerate(sample):
            new, _end, actions = source
            call = next(a for a in reversed(actions) if a.name == "call_llm")
            recorded = call.inputs if isinstance(call.inputs, dict) else {}
            version, vspec = self._version(gathering.agent, new.started_at)
            config: AgentConfig = dataclasses.replace(
                version.config, runtime=gathering.runtime, model=gathering.model, base_url=None
            )
            at = t0 + (index // 4) * between(rng, 6_000, 14_000) + between(rng, 5, 500)
            outcome = self._pick_outcome(rng, vspec.behaviour, config, at)
            text = str((call.outputs or {}).get("text") or "") if call.outputs else ""
            action, _shown, _tokens = self._llm_action(
                rng,
                at + between(rng, 3, 30),
                config,
                vspec.behaviour,
                corpus.SPEEDS[config.model],
                list(recorded.get("messages") or []),
                text or "Done.",
                None,
                outcome.status,
                outcome.error_class,
                0,
                0,
                0,
            )
            ended = (action.ended_at or at) + between(rng, 2, 25)
            items.append(
                (
                    NewRun(
                        runtime=config.runtime,
                        model=config.model,
                        trigger=Trigger.REPLAY.value,
                        started_at=at,
                        replay_of=new.id,
                        tags={"replay.target": label},
                        is_demo=True,
                        id=self._id(at, rng),
                    ),
                    RunEnd(
                        status=outcome.status,
                        ended_at=ended,
                        duration_ns=(ended - at) * MS,
                        ttft_ns=action.ttft_ns,
                        error_class=action.error_class,
                        error_message=action.error_message,
                    ),
                    [action],
                )
            )
        return items


# Answers the corpus gives elsewhere to the very same prompt (a chat's first question).
_KNOWN_ANSWERS: dict[str, str] = {
    **{question: answer for question, _sql, _cols, _rows, answer in corpus.QUESTIONS},
    **{turns[0][0]: turns[0][1] for _agent, turns in corpus.CONVERSATIONS},
}


def _final_text(item: RunItem) -> str:
    """What the run answered last (engine.online_judge.run_exchange's output)."""
    for action in reversed(item[2]):
        if action.name == "call_llm" and isinstance(action.outputs, dict):
            text = str(action.outputs.get("text") or "")
            if text:
                return text
    return ""


def _digest(item: RunItem) -> str:
    """The on-call line about a failed run."""
    new, end, _actions = item
    reason = (end.error_message or end.status).split(":")[0]
    return f"Triage run {(new.id or '')[-8:]} failed ({end.error_class}): {reason}."
