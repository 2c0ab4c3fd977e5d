"""Online judging: a sampled percent of an agent's production runs scored by a judge.

The service listens for RunCompleted on the bus (published by the store's writer after the run
is committed, so the dispatch result never waits for it), and on its event loop decides: does
the agent have an enabled judge, is the run in the sample (a hash of the judge's seed and the
run id: the same seed picks the same runs, see core.eval_scoring.sampled), and is it a
production run (any trigger but eval and replay: a judge's own run is trigger eval, so judging
never feeds itself). Then the judge scores the run's input and final answer by the rubric
through the one dispatch path, and the score is stored on the run (run_scores, source judge).

Settings live in their own table, not in the versioned agent config; see
core.eval_scoring.OnlineJudgeSettings for why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ato_desktop.core.eval_scoring import OnlineJudgeSettings, RunScore, sampled
from ato_desktop.core.eval_suite import JudgeTarget
from ato_desktop.core.events import DomainEvent, RunCompleted
from ato_desktop.core.models import RunStatus, RuntimeName, Trigger
from ato_desktop.core.records import ActionRecord
from ato_desktop.engine.dispatcher import Dispatcher
from ato_desktop.engine.evals import EvalError, judge_output
from ato_desktop.store import evals as eval_store
from ato_desktop.store.execution_log import ExecutionLog

log = logging.getLogger(__name__)

NOT_JUDGED_TRIGGERS = frozenset({Trigger.EVAL.value, Trigger.REPLAY.value})
CALL_ACTIONS = ("call_llm", "call_agent")


class OnlineJudge:
    """Judges sampled production runs after they complete. `start()` from the running loop
    (the app once its loop runs, the CLI around a dispatch); `drain()` waits for judgements
    under way; `aclose()` stops listening and cancels what is pending."""

    def __init__(self, store: ExecutionLog, dispatcher: Dispatcher) -> None:
        self._store = store
        self._dispatcher = dispatcher
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._tasks: set[asyncio.Task[RunScore | None]] = set()
        self._judging = 0

    @property
    def running(self) -> bool:
        return self._loop is not None

    @property
    def pending(self) -> int:
        """Completed runs being considered or judged."""
        return len(self._tasks)

    @property
    def judging(self) -> int:
        """Runs that were sampled and are with their judge now."""
        return self._judging

    def start(self) -> None:
        """Listen for completed runs; judgements run as tasks of the current event loop."""
        if self._unsubscribe is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._unsubscribe = self._store.bus.subscribe(self._on_event, local_only=True)

    def _on_event(self, event: DomainEvent) -> None:
        # On the writer thread: hand over to the loop at once.
        loop = self._loop
        if isinstance(event, RunCompleted) and event.agent_id and loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._schedule, event.run_id, event.agent_id)

    def _schedule(self, run_id: str, agent_id: str) -> None:
        task = asyncio.ensure_future(self._consider(run_id, agent_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _consider(self, run_id: str, agent_id: str) -> RunScore | None:
        store = self._store
        try:
            settings = await store.read_async(eval_store.get_online_judge, store, agent_id)
            if settings is None or not settings.enabled:
                return None
            if not sampled(run_id, settings.seed, settings.sample_percent):
                return None
            run = await store.read_async(store.get_run, run_id)
            if run.trigger in NOT_JUDGED_TRIGGERS or run.status != RunStatus.COMPLETED.value:
                return None
            self._judging += 1
            try:
                return await self.judge_run(run_id, settings)
            finally:
                self._judging -= 1
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("online judging of run %s failed", run_id)
            return None

    async def judge_run(
        self, run_id: str, settings: OnlineJudgeSettings | None = None
    ) -> RunScore | None:
        """Judge one run now (sampled or not) with its agent's judge settings, or the ones
        given; the score is stored on the run. None when the judge gave no usable score."""
        store = self._store
        run = await store.read_async(store.get_run, run_id)
        if settings is None:
            if run.agent_id is None:
                raise EvalError("the run has no agent, so no online judge applies")
            settings = await store.read_async(eval_store.get_online_judge, store, run.agent_id)
            if settings is None:
                raise EvalError(f"agent {run.agent_name or run.agent_id} has no online judge")
        actions = await store.read_async(store.get_actions, run_id)
        transcript, output = run_exchange(actions)
        result = await judge_output(
            self._dispatcher,
            settings.scorer(),
            judge_target(settings),
            transcript=transcript,
            output=output,
            judged_run_id=run_id,
            tags={"eval.online_judge": run.agent_name or ""},
        )
        if result.failed:
            log.warning("online judge gave no score for run %s: %s", run_id, result.reason)
            return None
        return await asyncio.wrap_future(
            eval_store.set_run_score(
                store,
                run_id,
                "judge",
                result.score,
                result.passed,
                result.reason[:2000],
                judge_run_id=result.judge_run_id,
            )
        )

    async def drain(self, timeout_s: float | None = None) -> None:
        """Wait until the judgements under way (and those they started) are done."""
        deadline = None if timeout_s is None else asyncio.get_running_loop().time() + timeout_s
        await asyncio.sleep(0)  # let completions already handed over become tasks
        while self._tasks:
            remaining = None if deadline is None else deadline - asyncio.get_running_loop().time()
            if remaining is not None and remaining <= 0:
                return
            await asyncio.wait(set(self._tasks), timeout=remaining)
            # A completion event may still be on its way from the writer thread.
            await asyncio.sleep(0)

    async def aclose(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        tasks = set(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._loop = None


def judge_target(settings: OnlineJudgeSettings) -> JudgeTarget:
    if settings.judge_agent:
        return JudgeTarget(agent=settings.judge_agent)
    return JudgeTarget(
        runtime=settings.judge_runtime,
        model=settings.judge_model,
        base_url=settings.judge_base_url,
    )


def run_exchange(actions: list[ActionRecord]) -> tuple[str, str]:
    """(what the run was asked, as a transcript; what it finally answered) from its actions."""
    calls = [a for a in actions if a.name in CALL_ACTIONS]
    transcript = ""
    if calls and isinstance(calls[0].inputs, dict):
        messages = calls[0].inputs.get("messages") or []
        lines = [
            f"[{m.get('role')}] {m.get('content')}"
            for m in messages
            if isinstance(m, dict) and m.get("role") in ("user", "assistant") and m.get("content")
        ]
        transcript = "\n\n".join(lines)
    output = ""
    for action in reversed(calls):
        if isinstance(action.outputs, dict) and action.outputs.get("text"):
            output = str(action.outputs["text"])
            break
    return transcript, output


@dataclass(frozen=True, slots=True)
class JudgeSummary:
    """An agent's online judge scores over a window (newest `limit` at most)."""

    count: int
    mean_score: float | None
    pass_rate: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "mean_score": self.mean_score, "pass_rate": self.pass_rate}


def judge_summary(
    store: ExecutionLog, agent: str, *, since_ms: int | None = None, limit: int = 1_000
) -> JudgeSummary:
    record = store.get_agent(agent)
    scores = eval_store.agent_run_scores(store, record.id, "judge", since_ms=since_ms, limit=limit)
    if not scores:
        return JudgeSummary(0, None, None)
    return JudgeSummary(
        len(scores),
        sum(s.score for s in scores) / len(scores),
        sum(1 for s in scores if s.passed) / len(scores),
    )


def configure_online_judge(
    store: ExecutionLog,
    agent: str,
    *,
    rubric: str,
    sample_percent: float = 10.0,
    judge_agent: str | None = None,
    judge_runtime: str | None = None,
    judge_model: str | None = None,
    judge_base_url: str | None = None,
    max_score: int = 10,
    pass_score: float = 0.7,
    seed: str = "ato",
    enabled: bool = True,
) -> OnlineJudgeSettings:
    """Turn on (or change) an agent's online judge; ValueError / NotFoundError say what is
    wrong. Does not create a config version."""
    record = store.get_agent(agent)
    if judge_agent:
        store.get_agent(judge_agent)
    if judge_runtime and judge_runtime not in {r.value for r in RuntimeName}:
        raise ValueError(f"unknown judge runtime {judge_runtime!r}")
    settings = OnlineJudgeSettings(
        agent_id=record.id,
        rubric=rubric,
        sample_percent=float(sample_percent),
        judge_agent=judge_agent,
        judge_runtime=None if judge_agent else judge_runtime,
        judge_model=None if judge_agent else judge_model,
        judge_base_url=None if judge_agent else judge_base_url,
        max_score=max_score,
        pass_score=pass_score,
        seed=seed,
        enabled=enabled,
    )
    eval_store.set_online_judge(store, settings).result()
    return settings
