"""The demo workspace's generator: the corpus (`engine.demo_corpus`) turned into rows.

Pure apart from reading the price book: every id, timestamp, prompt, token count and outcome
comes from RNGs seeded by the seed, so the same seed and the same "now" give the same rows.
`engine.demo` writes what this generates.
"""

from __future__ import annotations

import bisect
import collections
import hashlib
import heapq
import itertools
import json
import math
import random
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from ato_desktop.core.models import (
    AgentConfig,
    CostSource,
    ErrorClass,
    Outcome,
    RunStatus,
    RuntimeName,
    TokenUsage,
    Trigger,
)
from ato_desktop.core.pricing import PriceBook
from ato_desktop.core.records import NewAction, NewRun, RunEnd
from ato_desktop.engine import demo_corpus as corpus
from ato_desktop.store.demo_data import DemoAgent, DemoCatalog, DemoMessage, DemoThread, DemoVersion

DEFAULT_RUNS = 2_000
DEFAULT_SEED = 7
DAYS = 30
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
MS = 1_000_000  # ns per ms

RunItem = tuple[NewRun, RunEnd, list[NewAction]]
FOLLOW_UP_FLOOR = 6
"""Stream slots kept for follow-ups until the end (the longest hook chain: a parent, 2 stages,
twice over)."""


def demo_now_ms(now_ms: int | None = None) -> int:
    """The demo's "now": the given time (default: the clock) rounded down to the hour."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    return ms - ms % HOUR_MS


@dataclass(slots=True)
class CastMember:
    spec: corpus.AgentSpec
    record: DemoAgent
    starts: list[int]  # each version's creation time, for bisect
    recent: list[str] = field(default_factory=list)  # recent run ids, for replays


@dataclass(slots=True)
class Planned:
    """A planned run: its time is known before the stream reaches it (threads, cron...)."""

    started_at: int
    item: RunItem


@dataclass(frozen=True, slots=True)
class Links:
    """Where a run sits in a pipeline run or hook chain (NewRun's link fields)."""

    parent_run_id: str | None = None
    pipeline_id: str | None = None
    stage_index: int | None = None
    stage_name: str | None = None


@dataclass(slots=True)
class RunOutcome:
    status: str
    error_class: str | None = None


class RunGenerator:
    """Generates the demo's agents, chats and month of runs; pure apart from reading the price
    book. (engine.demo_automations.DemoGenerator adds the automations and evals.)

    catalog(): agents, versions, threads and messages. runs(): every run, oldest first, as
    (NewRun, RunEnd, actions) for ExecutionLog.ingest; a fresh iterator gives the same runs.

    Three sources merge into runs(): the stream (runs spread over the month's traffic), planned
    runs (their time is known up front: chat turns, schedule fires, pipelines, evals), and
    follow-ups (runs that other runs cause once they end: hook chains, replays gathering
    evidence), which take the place of stream runs so the total stays exact.
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
    ) -> None:
        self.prices = prices
        self.total = runs
        self.target_actions = actions
        self.seed = seed
        self.end_ms = demo_now_ms(now_ms)
        self.start_ms = self.end_ms - DAYS * DAY_MS
        self._taken = {name.lower() for name in taken_names}
        self._agents = self._make_agents()
        self._by_name = {a.spec.name: a for a in self._agents}
        self._agent_cum = list(
            itertools.accumulate([a.spec.weight for a in self._agents] + [corpus.DIRECT_WEIGHT])
        )
        self._direct_cum = list(itertools.accumulate(w for _, w in corpus.DIRECT_TARGETS))
        self._threads, planned = self._plan_threads()
        planned.extend(self._plan_more())
        planned.sort(key=lambda t: t.started_at)
        self._planned = planned
        # Follow-ups waiting for their time: (started_at, order, item); see runs().
        self._follow_ups: list[tuple[int, int, RunItem]] = []
        self._follow_order = 0
        self._slots_left = 0  # stream slots neither used nor promised to a follow-up

    # -- what subclasses add ------------------------------------------------------------------

    def _plan_more(self) -> list[Planned]:
        """More planned runs (pipelines, evals...): none here."""
        return []

    def _begin(self) -> None:
        """Called as runs() starts (to reset what follow-ups depend on): nothing here."""

    def _after(self, item: RunItem) -> None:
        """Called with every run as runs() yields it (to cause follow-ups): nothing here."""

    def _follow_up(self, items: Sequence[RunItem]) -> bool:
        """Queue runs that a run caused, each yielded at its start time in place of a stream
        run; all or none (False: no room left in the month, nothing queued)."""
        # A run still going at "now" is not in the demo (it would be running, and a crash
        # recovery would mark it interrupted).
        if len(items) > self._slots_left or any(i[1].ended_at >= self.end_ms for i in items):
            return False
        self._slots_left -= len(items)
        for item in items:
            self._follow_order += 1
            heapq.heappush(self._follow_ups, (item[0].started_at, self._follow_order, item))
        return True

    # -- ids and randomness -----------------------------------------------------------------

    def _rng(self, purpose: str) -> random.Random:
        return random.Random(f"ato-demo:{self.seed}:{purpose}")

    @staticmethod
    def _id(ms: int, rng: random.Random) -> str:
        """A UUIDv7 for time ms whose random bits come from rng (so: reproducible)."""
        bits = rng.getrandbits(74)
        value = (ms & ((1 << 48) - 1)) << 80
        value |= 0x7 << 76
        value |= (bits >> 62) << 64
        value |= 0b10 << 62
        value |= bits & ((1 << 62) - 1)
        return uuid.UUID(int=value).hex

    def _at(self, day: float) -> int:
        return self.start_ms + int(day * DAY_MS)

    # -- catalogue -------------------------------------------------------------------------

    def catalog(self) -> DemoCatalog:
        return DemoCatalog(tuple(a.record for a in self._agents), tuple(self._threads))

    def _make_agents(self) -> list[CastMember]:
        rng = self._rng("agents")
        agents = []
        for spec in corpus.AGENTS:
            name = spec.name
            if name.lower() in self._taken:  # the user has an agent of that name: keep theirs
                name = f"{name}-demo"
            versions = []
            for number, version in enumerate(spec.versions, 1):
                # Changes land in working hours, a few minutes past something.
                at = self._at(version.day) + between(rng, 0, 50) * 60_000
                versions.append(
                    DemoVersion(
                        self._id(at, rng), number, at, version.config, version.change_source
                    )
                )
            record = DemoAgent(self._id(versions[0].created_at, rng), name, tuple(versions))
            agents.append(CastMember(spec, record, [v.created_at for v in versions]))
        return agents

    def _version(self, agent: CastMember, at: int) -> tuple[DemoVersion, corpus.VersionSpec]:
        index = max(0, bisect.bisect_right(agent.starts, at) - 1)
        return agent.record.versions[index], agent.spec.versions[index]

    # -- planned runs: chat threads and the daily cron ------------------------------------

    def _plan_threads(self) -> tuple[list[DemoThread], list[Planned]]:
        rng = self._rng("threads")
        count = max(4, min(120, self.total // 40))
        threads: list[DemoThread] = []
        turns: list[Planned] = []
        agentless = 0
        for index in range(count):
            agent_name, script = corpus.CONVERSATIONS[index % len(corpus.CONVERSATIONS)]
            agent = self._by_name.get(agent_name) if agent_name else None
            # Spread over the month, in working hours, never past "now".
            day = (index + rng.random()) * (DAYS - 1) / count
            at = self.start_ms + int(day) * DAY_MS + between(rng, 8 * 60, 18 * 60) * 60_000
            if agent is not None:
                version, vspec = self._version(agent, at)
                config, behaviour = version.config, vspec.behaviour
            else:
                config = corpus.DIRECT_TARGETS[index % 2][0]
                behaviour = corpus.DIRECT_BEHAVIOUR
            thread_id = self._id(at, rng)
            history: list[dict[str, str]] = []
            messages: list[DemoMessage] = []
            t = at
            # Now and then the second turn goes wrong: killed (the answer was going the wrong
            # way) or rate-limited, and the user asks again. Only in chats without an agent:
            # threads repeat the same scripts, and an agent's identical requests answered
            # differently would be real nondeterminism, which the simulator reports.
            plan = [
                (question, answer, RunOutcome(RunStatus.COMPLETED)) for question, answer in script
            ]
            if agent is None and len(plan) > 1:
                agentless += 1
                if agentless % 3 == 1:
                    killed = RunOutcome(RunStatus.KILLED, ErrorClass.KILLED)
                    plan[1] = (plan[1][0], plan[1][1], killed)
                elif agentless % 3 == 0:
                    limited = RunOutcome(RunStatus.FAILED, ErrorClass.RATE_LIMIT)
                    plan.insert(1, (plan[1][0], plan[1][1], limited))
            for question, answer, outcome in plan:
                run_id = self._id(t, rng)
                item, text = self._make_run(
                    rng,
                    run_id,
                    t,
                    agent,
                    config,
                    behaviour,
                    Trigger.UI,
                    outcome,
                    prompt=question,
                    answer=answer,
                    history=history,
                    tool_calls=0,
                    thread_id=thread_id,
                )
                messages.append(DemoMessage("user", question, t, run_id))
                end = item[1]
                if text:
                    messages.append(DemoMessage("assistant", text, end.ended_at, run_id))
                turns.append(Planned(t, item))
                history = [*history, {"role": "user", "content": question}]
                if text:
                    history.append({"role": "assistant", "content": text})
                # The next turn: after reading the answer, a minute or a few.
                t = end.ended_at + between(rng, 20_000, 6 * 60_000)
                if t >= self.end_ms:
                    break
            threads.append(
                DemoThread(
                    thread_id,
                    " ".join(script[0][0].split())[:120],
                    at,
                    agent.record.id if agent else None,
                    config.runtime,
                    config.model,
                    tuple(messages),
                )
            )
        return threads, turns

    # -- the stream ------------------------------------------------------------------------

    def runs(self) -> Iterator[RunItem]:
        """Every run, oldest first: the stream merged with the planned runs and follow-ups.

        One loop decides what comes next (the earliest of the next planned run, the next
        follow-up and the next stream slot) after the last run's follow-ups were queued, so the
        order holds whatever a run causes.
        """
        rng = self._rng("runs")
        hours, cumulative = self._hour_weights()
        total_weight = cumulative[-1]
        count = self.total - len(self._planned)  # stream slots: stream runs and follow-ups
        forced = self._forced_outcomes(rng, count)
        deferred: list[tuple[str, str]] = []  # forced outcomes whose slot a follow-up took
        for each in self._agents:
            each.recent.clear()
        self._follow_ups.clear()
        self._follow_order = 0
        self._slots_left = count
        self._begin()
        planned = collections.deque(self._planned)
        last = self.start_ms
        # With a target number of actions, the stream makes up what the planned runs (chat
        # turns, cron...) and tool-less runs do not: each agent run's tool loop is sized from
        # the shortfall so far, so the total lands on the target whatever the failures cut short.
        per_run = made = 0.0
        if self.target_actions is not None and count:
            planned_actions = sum(len(turn.item[2]) for turn in self._planned)
            # Over the slots before the quiet last few (runs without an agent, no tool loops).
            per_run = max(
                1.0, (self.target_actions - planned_actions) / max(1, count - FOLLOW_UP_FLOOR)
            )
        produced = 0  # stream slots used
        slot_at: int | None = None  # the next stream slot's time, once drawn
        while planned or produced < count:
            # The month's last few slots wait until nothing can cause a follow-up any more, so
            # a run near the end still finds room for what it causes.
            held = FOLLOW_UP_FLOOR if (planned or self._follow_ups) else 0
            if self._slots_left <= held:
                slot_at = None  # none free (a follow-up may have taken the one drawn last)
            elif slot_at is None:
                # Stratified: slot i falls in the i-th slice of the month's traffic, so times
                # ascend.
                target = (produced + rng.random()) / count * total_weight
                h = min(bisect.bisect_left(cumulative, target), len(hours) - 1)
                before = cumulative[h - 1] if h else 0.0
                share = (target - before) / (cumulative[h] - before)
                slot_at = max(last, self.start_ms + h * HOUR_MS + int(share * HOUR_MS))
            follow_at = self._follow_ups[0][0] if self._follow_ups else None
            plan_at = planned[0].started_at if planned else None
            times = [t for t in (plan_at, follow_at, slot_at) if t is not None]
            if not times:
                break  # follow-ups that found no room were never queued: nothing is left
            first = min(times)
            if plan_at == first:
                item = planned.popleft().item
            elif follow_at == first:
                _at, _order, item = heapq.heappop(self._follow_ups)
                if produced in forced:
                    deferred.append(forced.pop(produced))
                produced += 1
                made += len(item[2])
            else:
                assert slot_at is not None
                # The month's very last slots: runs without an agent, which cause nothing.
                quiet = self._slots_left <= FOLLOW_UP_FLOOR
                item = self._stream_run(
                    rng, produced, slot_at, forced, deferred, per_run, made, quiet=quiet
                )
                self._slots_left -= 1
                produced += 1
                made += len(item[2])
                slot_at = None
            last = max(last, item[0].started_at)
            self._after(item)
            yield item

    def _stream_run(
        self,
        rng: random.Random,
        i: int,
        started: int,
        forced: dict[int, tuple[str, str]],
        deferred: list[tuple[str, str]],
        per_run: float,
        made: float,
        *,
        quiet: bool = False,
    ) -> RunItem:
        """The run of stream slot i: an agent (or none) by the month's mix, at time started;
        quiet: no agent."""
        force = forced.pop(i, None) or (deferred.pop() if deferred else None)
        agent = None if quiet else self._pick_agent(rng, force)
        if agent is not None:
            version, vspec = self._version(agent, started)
            config, behaviour = version.config, vspec.behaviour
            trigger = weighted(rng, agent.spec.triggers)
        else:
            pick = bisect.bisect(self._direct_cum, rng.random() * self._direct_cum[-1])
            if force is not None:  # an auth failure on codex, the rest on claude
                pick = 1 if force[1] == ErrorClass.AUTH else 0
            config = corpus.DIRECT_TARGETS[pick][0]
            behaviour = corpus.DIRECT_BEHAVIOUR
            trigger = Trigger.UI if rng.random() < 0.7 else Trigger.CLI
        if force is not None:
            outcome = RunOutcome(*force)
        else:
            outcome = self._pick_outcome(rng, behaviour, config, started)
        replay_of = None
        if trigger == Trigger.REPLAY:
            if agent is not None and agent.recent:
                replay_of = rng.choice(agent.recent)
            else:
                trigger = Trigger.CLI
        tags: dict[str, str] = {}
        if trigger == Trigger.HOOK:
            tags = {
                "hook": "pre-push" if rng.random() < 0.6 else "pull_request",
                "repo": "acme/monorepo",
            }
        run_id = self._id(started, rng)
        tool_calls = None
        if per_run and agent is not None and agent.spec.tools:
            low, high = behaviour.tool_calls
            usual = between(rng, low, high + 1)
            # 2 actions per tool call (the call, then the model reading its result) + 1.
            wanted = ((i + 1) * per_run - made - 1) / 2
            # Beyond the steady agents' usual loop: a version with longer loops keeps them.
            extra = wanted * rng.uniform(0.5, 1.5) - sum(corpus.STEADY.tool_calls) / 2
            tool_calls = usual + min(max(0, round(extra)), int(4 * per_run))
        item, _ = self._make_run(
            rng,
            run_id,
            started,
            agent,
            config,
            behaviour,
            trigger,
            outcome,
            replay_of=replay_of,
            tags=tags,
            tool_calls=tool_calls,
        )
        if agent is not None:
            agent.recent.append(run_id)
            if len(agent.recent) > 32:
                del agent.recent[0]
        return item

    def _hour_weights(self) -> tuple[list[float], list[float]]:
        """Traffic per hour of the month: working hours, quieter weekends, slowly growing."""
        by_hour = (
            0.12,
            0.1,
            0.08,
            0.08,
            0.1,
            0.15,
            0.3,
            0.55,
            0.85,
            1.0,
            1.0,
            1.0,
            0.8,
            0.9,
            1.0,
            1.0,
            0.95,
            0.8,
            0.6,
            0.45,
            0.35,
            0.3,
            0.22,
            0.16,
        )
        weights = []
        for h in range(DAYS * 24):
            at = self.start_ms + h * HOUR_MS
            moment = datetime.fromtimestamp(at / 1000, UTC)
            weekend = 0.35 if moment.weekday() >= 5 else 1.0
            growth = 0.8 + 0.4 * h / (DAYS * 24)
            weights.append(by_hour[moment.hour] * weekend * growth)
        return weights, list(itertools.accumulate(weights))

    def _forced_outcomes(self, rng: random.Random, count: int) -> dict[int, tuple[str, str]]:
        """A few runs that make sure every status and failure class appears in every build."""
        slots = rng.sample(range(count), len(corpus.REQUIRED_OUTCOMES))
        return {
            slot: (str(status), str(error))
            for slot, (status, error) in zip(slots, corpus.REQUIRED_OUTCOMES, strict=True)
        }

    def _pick_agent(self, rng: random.Random, force: tuple[str, str] | None) -> CastMember | None:
        if force is not None:
            return None  # no agent, no config version: forced outcomes never fake a regression
        index = bisect.bisect(self._agent_cum, rng.random() * self._agent_cum[-1])
        return self._agents[index] if index < len(self._agents) else None

    def _pick_outcome(
        self, rng: random.Random, behaviour: corpus.Behaviour, config: AgentConfig, at: int
    ) -> RunOutcome:
        day = (at - self.start_ms) / DAY_MS
        if (
            config.runtime == RuntimeName.CODEX
            and corpus.AUTH_INCIDENT[0] <= day < corpus.AUTH_INCIDENT[1]
        ):
            return RunOutcome(RunStatus.FAILED, ErrorClass.AUTH)
        roll = rng.random()
        if roll < behaviour.fail_rate:
            return RunOutcome(RunStatus.FAILED, weighted(rng, behaviour.failures))
        roll -= behaviour.fail_rate
        if roll < corpus.KILL_RATE:
            return RunOutcome(RunStatus.KILLED, ErrorClass.KILLED)
        if roll - corpus.KILL_RATE < corpus.INTERRUPT_RATE:
            return RunOutcome(RunStatus.INTERRUPTED, ErrorClass.INTERRUPTED)
        return RunOutcome(RunStatus.COMPLETED)

    # -- one run ---------------------------------------------------------------------------

    def _make_run(
        self,
        rng: random.Random,
        run_id: str,
        started: int,
        agent: CastMember | None,
        config: AgentConfig,
        behaviour: corpus.Behaviour,
        trigger: str,
        outcome: RunOutcome,
        *,
        prompt: str | None = None,
        answer: str | None = None,
        history: Sequence[dict[str, str]] = (),
        tool_calls: int | None = None,
        steps: list[ToolStep] | None = None,
        thread_id: str | None = None,
        replay_of: str | None = None,
        tags: dict[str, str] | None = None,
        links: Links | None = None,
    ) -> tuple[RunItem, str]:
        """One run with its actions; returns it and the answer text the user saw (or "").

        prompt and answer: given (a chat turn, a pipeline stage...) or made up for the agent's
        topic; steps: the tool calls that go with a given answer. links: a stage's place in its
        pipeline run."""
        topic = agent.spec.topic if agent else "chat"
        tools = agent.spec.tools if agent else ()
        if prompt is None or answer is None:
            prompt, answer, tool_steps = topic_content(rng, topic, self._keyed)
        else:
            tool_steps = list(steps or [])
        if tool_calls is None:
            low, high = behaviour.tool_calls
            tool_calls = between(rng, low, high + 1) if tools else 0
        plan = tool_plan(rng, topic, tools, tool_steps, tool_calls)
        speed = corpus.SPEEDS[config.model]
        # The conversation as the dispatcher records it on every call (core.conversation's
        # message_json): the model's tool calls, then each tool's result for the next turn.
        messages: list[dict[str, Any]] = [*history, {"role": "user", "content": prompt}]
        chars = sum(len(str(m["content"])) for m in messages)
        # Where the run stops early: failures and kills hit one of its LLM calls.
        llm_calls = len(plan) + 1
        stop_at = llm_calls - 1
        if outcome.status != RunStatus.COMPLETED:
            stop_at = between(rng, 0, llm_calls) if llm_calls > 1 else 0
        actions: list[NewAction] = []
        t = started + between(rng, 3, 40)
        first_ttft: int | None = None
        cached = context = 0
        text = ""
        for call in range(llm_calls):
            last_call = call == stop_at
            is_final = call == llm_calls - 1
            status = outcome.status if last_call else RunStatus.COMPLETED
            # A turn that calls a tool says nothing else (the call is in its tool_calls).
            planned_text = answer if is_final else ""
            tool_call = None
            if not is_final:
                name, inputs, _outputs = plan[call]
                tool_call = {"id": call_id(rng, config.runtime), "name": name, "arguments": inputs}
            action, text, cached = self._llm_action(
                rng,
                t,
                config,
                behaviour,
                speed,
                messages,
                planned_text,
                tool_call,
                status,
                outcome.error_class if last_call else None,
                call,
                cached,
                context,
                chars,
            )
            actions.append(action)
            if first_ttft is None and action.ttft_ns is not None:
                first_ttft = action.ttft_ns
            t = (action.ended_at or t) + between(rng, 2, 25)
            if last_call:
                break
            assert tool_call is not None
            tool, tokens = self._tool_action(rng, t, tool_call, plan[call][2])
            context += tokens
            actions.append(tool)
            t = (tool.ended_at or t) + between(rng, 2, 25)
            result: dict[str, Any] = {
                "role": "tool",
                "content": tool.outputs["content"],
                "tool_call_id": tool_call["id"],
                "tool_name": tool_call["name"],
            }
            if tool.outcome != Outcome.SUCCESS:
                result["is_error"] = True
            messages = [
                *messages,
                {"role": "assistant", "content": planned_text, "tool_calls": [tool_call]},
                result,
            ]
            # The call's arguments are read as text too (about their JSON's length).
            chars += len(planned_text) + len(str(tool_call["arguments"])) + len(result["content"])
        ended = t
        end = RunEnd(
            status=outcome.status,
            ended_at=ended,
            duration_ns=(ended - started) * MS + between(rng, 0, MS),
            ttft_ns=first_ttft,
            error_class=actions[-1].error_class if outcome.status != RunStatus.COMPLETED else None,
            error_message=actions[-1].error_message
            if outcome.status != RunStatus.COMPLETED
            else None,
        )
        new = NewRun(
            runtime=config.runtime,
            model=config.model,
            trigger=str(trigger),
            started_at=started,
            agent_id=agent.record.id if agent else None,
            agent_version_id=self._version(agent, started)[0].id if agent else None,
            thread_id=thread_id,
            parent_run_id=links.parent_run_id if links else None,
            pipeline_id=links.pipeline_id if links else None,
            stage_index=links.stage_index if links else None,
            stage_name=links.stage_name if links else None,
            replay_of=replay_of,
            tags=tags or {},
            is_demo=True,
            id=run_id,
        )
        shown = text if outcome.status in (RunStatus.COMPLETED, RunStatus.KILLED) else ""
        return (new, end, actions), shown

    def _llm_action(
        self,
        rng: random.Random,
        t: int,
        config: AgentConfig,
        behaviour: corpus.Behaviour,
        speed: corpus.ModelSpeed,
        messages: list[dict[str, Any]],
        planned_text: str,
        tool_call: dict[str, Any] | None,
        status: str,
        error_class: str | None,
        call: int,
        cached: int,
        context: int,
        chars: int | None = None,
    ) -> tuple[NewAction, str, int]:
        """One model call: tool_call is what it asks for (None: the final answer). chars: the
        conversation's length in characters, when the caller keeps count."""
        runtime = config.runtime
        is_final = tool_call is None
        system = config.system_prompt
        # Prompt size: the system prompt, the conversation so far, tool results (~4 chars/token).
        # What tools returned is in the prompt in full; the log keeps a summary of it.
        if chars is None:
            chars = sum(len(str(m["content"])) for m in messages)
        prompt_tokens = 40 + context + chars // 4
        if system:
            # Tool schemas and the few-shot examples agents carry with their instructions.
            prompt_tokens += len(system) // 4 + 2_200
        prompt_tokens = int(prompt_tokens * rng.uniform(1.0, 1.35))
        if is_final:
            low, high = behaviour.answer_tokens
            out_tokens = between(rng, low, high + 1)
        else:
            out_tokens = between(rng, 35, 140 + 1)
        reasoning = 0
        if speed.reasoning[1]:
            share = rng.uniform(*speed.reasoning)
            reasoning = int(out_tokens * share / (1 - share))
            out_tokens += reasoning
        cache_read = cache_write = 0
        if runtime == RuntimeName.CLAUDE and system:
            # Prompt caching: the first call writes the prefix, later calls read it.
            if call == 0:
                cache_write = min(prompt_tokens, len(system) // 4 + 2_200)
            else:
                cache_read = min(cached, prompt_tokens)
                cache_write = max(0, prompt_tokens - cache_read) // 2
        elif runtime == RuntimeName.CODEX and call > 0 and cached >= 1024:
            cache_read = min(prompt_tokens, cached - cached % 128)
        jitter = math.exp(rng.gauss(0, 0.3))
        ttft_ms = speed.ttft_ms * behaviour.latency * jitter * (1 + prompt_tokens / 40_000)
        gen_ms = out_tokens / speed.tokens_per_s * 1000 * behaviour.latency * jitter
        # What the dispatcher records on every call, not only the first: the simulator rebuilds
        # each call from the agent's config and compares (core.simulation).
        inputs: dict[str, Any] = {"runtime": runtime, "model": config.model, "messages": messages}
        if system:
            inputs["system"] = system
        if config.params:
            inputs["params"] = dict(config.params)
        meta: dict[str, Any] = {"response_model": config.model}
        if config.base_url:
            meta["base_url"] = config.base_url
        text = planned_text
        usage: TokenUsage | None = TokenUsage(
            prompt_tokens, out_tokens, cache_read, cache_write, reasoning
        )
        estimated = False
        outcome = Outcome.SUCCESS
        message: str | None = None
        finish = "stop" if is_final else "tool_calls"
        ttft_ns: int | None = int(ttft_ms * MS)
        duration_ms = ttft_ms + gen_ms
        if status == RunStatus.COMPLETED:
            meta["response_id"] = response_id(rng, runtime)
        else:
            outcome = Outcome.ERROR
            finish = ""
            assert error_class is not None
            message, code = error_message_for(rng, runtime, error_class, config.model)
            if code is not None:
                meta["status_code"] = code
            if error_class in (
                ErrorClass.KILLED,
                ErrorClass.INTERRUPTED,
                ErrorClass.STALLED,
                ErrorClass.STREAM_INTERRUPTED,
            ):
                # Part of the answer streamed, then it stopped: no usage from the provider, so
                # the tokens are estimated.
                part = rng.uniform(0.15, 0.8)
                text = cut_text(planned_text, part)
                usage = TokenUsage(prompt_tokens, max(1, int(out_tokens * part)))
                estimated = True
                duration_ms = ttft_ms + gen_ms * part
                if error_class == ErrorClass.STALLED:
                    duration_ms += 60_000
            else:
                # Never reached the model, or it refused before answering: nothing spent.
                text, usage, ttft_ns = "", None, None
                waits: dict[str, float] = {
                    ErrorClass.AUTH: rng.uniform(140, 420),
                    ErrorClass.RATE_LIMIT: rng.uniform(2_500, 9_000),  # after the SDK's retries
                    ErrorClass.TIMEOUT: rng.uniform(120_000, 600_000),
                    ErrorClass.BAD_REQUEST: rng.uniform(180, 900),
                    ErrorClass.NETWORK: rng.uniform(3, 40),
                }
                duration_ms = waits.get(error_class, rng.uniform(600, 4_000))
                if error_class == ErrorClass.TIMEOUT:
                    message = corpus.GENERIC_ERRORS[ErrorClass.TIMEOUT].format(
                        seconds=int(duration_ms / 1000)
                    )
        outputs: dict[str, Any] = {"text": text}
        if finish:
            outputs["finish_reason"] = finish
        if status != RunStatus.COMPLETED and text:
            outputs["partial"] = True
        if tool_call is not None and status == RunStatus.COMPLETED:
            outputs["tool_calls"] = [tool_call]
        cost_usd: float | None = None
        cost_source: CostSource | None = None
        if usage is not None:
            cost = self.prices.cost(
                runtime, config.model, usage, at=datetime.fromtimestamp(t / 1000, UTC)
            )
            cost_usd, cost_source = cost.usd, cost.source
        duration_ns = int(duration_ms * MS)
        action = NewAction(
            name="call_llm",
            kind="llm",
            outcome=outcome,
            started_at=t,
            ended_at=t + int(duration_ms),
            inputs=inputs,
            outputs=outputs,
            usage=usage,
            tokens_estimated=estimated,
            ttft_ns=ttft_ns,
            duration_ns=duration_ns,
            cost_usd=cost_usd,
            cost_source=cost_source,
            error_class=error_class if status != RunStatus.COMPLETED else None,
            error_message=message,
            meta=meta,
        )
        return action, text, prompt_tokens

    def _keyed(self, name: str, inputs: dict[str, Any]) -> KeyedDraws:
        """Draws keyed by a tool call's inputs: the same call gets the same answer in every
        run, as a deterministic tool would give (the simulator compares runs that way)."""
        return KeyedDraws(f"{self.seed}:{name}:{sorted(inputs.items())!r}")

    def _tool_action(
        self, rng: random.Random, t: int, call: dict[str, Any], facts: dict[str, Any]
    ) -> tuple[NewAction, int]:
        """One tool call as the tool runner records it, and the tokens its full result adds to
        the next prompt. Its answer depends on its inputs only (failures too)."""
        name, inputs = str(call["name"]), call["arguments"]
        duration_ms = {
            "search_docs": rng.uniform(60, 420),
            "lookup_ticket": rng.uniform(30, 180),
            "read_file": rng.uniform(2, 25),
            "run_sql": rng.uniform(40, 2_400),
            "git_log": rng.uniform(15, 120),
        }.get(name, rng.uniform(20, 400))
        keyed = self._keyed(name, inputs)
        meta = {"tool_call_id": call["id"], "model_name": name}
        # Now and then a tool fails and the model carries on without it.
        if keyed.random() < 0.02:
            text = "upstream returned 503; no results"
            failed = NewAction(
                name=name,
                kind="tool",
                outcome=Outcome.ERROR,
                started_at=t,
                ended_at=t + int(duration_ms),
                inputs=inputs,
                outputs={"content": text},
                duration_ns=int(duration_ms * MS),
                error_message=text,
                meta=meta,
            )
            return failed, 20
        low, high = corpus.TOOL_RESULT_TOKENS.get(name, (200, 800))
        tokens = between(keyed, low, high) * max(1, int(inputs.get("top_k", 5))) // 5
        done = NewAction(
            name=name,
            kind="tool",
            outcome=Outcome.SUCCESS,
            started_at=t,
            ended_at=t + int(duration_ms),
            inputs=inputs,
            # What the model read: the log keeps the tool's answer as text, as MCP gives it.
            outputs={"content": json.dumps(facts, ensure_ascii=False, separators=(", ", ": "))},
            duration_ns=int(duration_ms * MS),
            meta=meta,
        )
        return done, tokens


# -- content helpers ------------------------------------------------------------------------


class Draws(Protocol):
    """Where random numbers come from: a random.Random, or KeyedDraws."""

    def random(self) -> float: ...


class KeyedDraws:
    """A few random numbers fixed by a key (a hash of it, no generator state to seed: a
    random.Random costs more to seed than a tool call costs to make up)."""

    __slots__ = ("_pool", "_used")

    def __init__(self, key: str) -> None:
        self._pool = hashlib.blake2b(key.encode(), digest_size=64).digest()
        self._used = 0

    def random(self) -> float:
        if self._used + 7 > len(self._pool):
            self._pool = hashlib.blake2b(self._pool, digest_size=64).digest()
            self._used = 0
        chunk = self._pool[self._used : self._used + 7]
        self._used += 7
        return int.from_bytes(chunk, "big") / (1 << 56)

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.random()

    def choice(self, items: Sequence[Any]) -> Any:
        return items[int(self.random() * len(items))]

    def getrandbits(self, bits: int) -> int:
        return int(self.random() * (1 << 56)) >> (56 - bits)


def between(rng: Draws, low: int, high: int) -> int:
    """A random int in [low, high): random.randrange's result, at a third of its cost."""
    return low + int(rng.random() * (high - low))


def weighted(rng: random.Random, choices: Sequence[tuple[Any, float]]) -> Any:
    total = sum(w for _, w in choices)
    roll = rng.random() * total
    for value, weight in choices:
        roll -= weight
        if roll < 0:
            return value
    return choices[-1][0]


ToolStep = tuple[str, dict[str, Any], dict[str, Any]]  # tool name, its inputs, its answer
Keyed = Callable[[str, dict[str, Any]], KeyedDraws]


def topic_content(rng: random.Random, topic: str, keyed: Keyed) -> tuple[str, str, list[ToolStep]]:
    """A prompt, the final answer, and tool calls that fit them. What a tool answers comes from
    keyed(tool, inputs): the same inputs, the same answer, in every run."""
    if topic == "triage":
        name, company, plan = rng.choice(corpus.CUSTOMERS)
        index = between(rng, 0, len(corpus.TICKETS))
        category, priority, complaint = corpus.TICKETS[index]
        doc, snippet = corpus.DOCS[index]
        ticket = f"T-{between(rng, 40_000, 60_000)}"
        prompt = (
            f"Ticket {ticket} from {name} ({company}, {plan} plan): {complaint}\n\nClassify it "
            "and draft a reply."
        )
        reply = corpus.TRIAGE_REPLIES[category].format(first=name.split()[0], doc=doc)
        answer = f"Category: {category} · Priority: {priority}\n\n{reply}"
        search = {"query": complaint.split(".")[0][:80].lower(), "top_k": 5}
        lookup = {"ticket_id": ticket, "customer": company}
        found, account = keyed("search_docs", search), keyed("lookup_ticket", lookup)
        steps: list[ToolStep] = [
            (
                "search_docs",
                search,
                {
                    "hits": [
                        {
                            "doc": doc,
                            "score": round(found.uniform(0.71, 0.93), 2),
                            "snippet": snippet,
                        }
                    ]
                },
            ),
            (
                "lookup_ticket",
                lookup,
                {
                    "plan": plan,
                    "open_tickets": between(account, 0, 4),
                    "last_contact_days": between(account, 1, 90),
                    "mrr_usd": account.choice((49, 290, 1_200, 8_400)),
                },
            ),
        ]
        return prompt, answer, steps
    if topic == "review":
        title, path, review = rng.choice(corpus.REVIEWS)
        number = between(rng, 1_200, 2_400)
        start = between(rng, 10, 140)
        prompt = (
            f"Review PR #{number}: {title}\n\nChanged: {path} (+{between(rng, 8, 160)} "
            f"-{between(rng, 0, 60)})"
        )
        read = {"path": path, "start_line": start, "end_line": start + 40}
        steps = [
            (
                "read_file",
                read,
                {
                    "path": path,
                    "lines": 40,
                    "sha": f"{keyed('read_file', read).getrandbits(28):07x}",
                },
            )
        ]
        return prompt, review, steps
    if topic == "analyst":
        question, sql, columns, rows, answer = rng.choice(corpus.QUESTIONS)
        # Who asked, and their request's number: people ask the same questions, in requests of
        # their own.
        asker = rng.choice(corpus.CUSTOMERS)[0].split()[0]
        prompt = f"{question}\n\n(request DATA-{between(rng, 1_000, 10_000)} from {asker})"
        query = {"sql": sql, "database": "analytics", "timeout_s": 30}
        steps = [
            (
                "run_sql",
                query,
                {
                    "columns": columns,
                    "rows": rows,
                    "row_count": len(rows),
                    "elapsed_ms": between(keyed("run_sql", query), 40, 2_400),
                },
            )
        ]
        return prompt, answer, steps
    if topic == "notes":
        minor = between(rng, 10, 30)
        items = rng.sample(corpus.RELEASE_ITEMS, 4)
        prompt = f"Write the release notes for v2.{minor}.0 from these merged PRs:\n" + "\n".join(
            f"- #{between(rng, 1_200, 2_400)} {item}" for item in items
        )
        features = [i.split(": ", 1)[1] for i in items if i.startswith("feat")]
        fixes = [i.split(": ", 1)[1] for i in items if i.startswith(("fix", "perf"))]
        answer = (
            f"## Release 2.{minor}.0\n\n### Features\n"
            + ("\n".join(f"- {f[0].upper()}{f[1:]}." for f in features) or "- No new features.")
            + "\n\n### Fixes\n"
            + ("\n".join(f"- {f[0].upper()}{f[1:]}." for f in fixes) or "- No fixes.")
        )
        log = {"since": f"v2.{minor - 1}.0", "until": "HEAD", "merges_only": True}
        steps = [
            (
                "git_log",
                log,
                {"commits": len(items), "authors": between(keyed("git_log", log), 2, 7)},
            )
        ]
        return prompt, answer, steps
    if topic == "summary":
        path, title, bullets = rng.choice(corpus.DOCUMENTS)
        # The document as of a commit: the notes are edited, so each summary names its version.
        ref = f"{rng.getrandbits(28):07x}"
        prompt = f"Summarise {path} ({title}) at {ref}."
        read = {"path": path, "ref": ref}
        steps = [
            (
                "read_file",
                read,
                {
                    "path": path,
                    "bytes": between(keyed("read_file", read), 2_000, 14_000),
                    "title": title,
                },
            )
        ]
        return prompt, bullets, steps
    question, answer = rng.choice(corpus.CHAT_PAIRS)
    return question, answer, []


def tool_plan(
    rng: random.Random,
    topic: str,
    tools: Sequence[str],
    steps: list[ToolStep],
    calls: int,
) -> list[ToolStep]:
    """calls tool steps: the ones the content suggested, then more searches of the same kind."""
    if not tools or calls <= 0:
        return []
    plan = list(steps[:calls])
    while len(plan) < calls:
        name, inputs, outputs = steps[len(plan) % len(steps)] if steps else (tools[0], {}, {})
        extra = dict(inputs)
        if name == "search_docs":
            term = rng.choice(
                ("billing", "sso", "webhooks", "exports", "limits", "regions", "audit", "roles")
            )
            extra = {"query": f"{inputs.get('query', '')} {term}".strip(), "top_k": 10}
        plan.append((name, extra, outputs))
    return plan


def error_message_for(
    rng: random.Random, runtime: str, error_class: str, model: str
) -> tuple[str, int | None]:
    if error_class == ErrorClass.KILLED:
        return corpus.KILLED_MESSAGE, None
    if error_class == ErrorClass.INTERRUPTED:
        return corpus.INTERRUPTED_MESSAGE, None
    options = corpus.ERROR_MESSAGES.get(runtime, {}).get(error_class)
    if options:
        text, code = rng.choice(options)
        return text.replace("{model}", model), code
    return corpus.GENERIC_ERRORS.get(error_class, error_class), None


def call_id(rng: random.Random, runtime: str) -> str:
    """A tool call id in the provider's own form (Anthropic's toolu_..., OpenAI's call_...)."""
    if runtime == RuntimeName.CLAUDE:
        return f"toolu_01{rng.getrandbits(88):022x}"
    return f"call_{rng.getrandbits(96):024x}"


def response_id(rng: random.Random, runtime: str) -> str:
    if runtime == RuntimeName.CLAUDE:
        return f"msg_01{rng.getrandbits(120):030x}"[:30]
    if runtime == RuntimeName.CODEX:
        return f"resp_{rng.getrandbits(192):048x}"
    return f"chatcmpl-{between(rng, 100, 999)}"


def cut_text(text: str, share: float) -> str:
    cut = max(1, int(len(text) * share))
    space = text.rfind(" ", 0, cut)
    return text[: space if space > 0 else cut]
