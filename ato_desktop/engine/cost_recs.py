"""Cost recommendations over the log, and gathering the evidence they need.

`cost_recommendations` reads, for every agent, its runs of the last 30 days per runtime and model
(plus replays of them on other targets) and lets core.cost_recs judge each candidate against the
agent's current runtime and model. `gather_evidence` earns a recommendation instead of guessing
one: it replays a sample of the agent's recent runs on a candidate through the one dispatch path
(each replay is a run, trigger replay), after `estimate_evidence` has said what that will cost.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from ato_desktop.core.cost_recs import (
    WINDOW_DAYS,
    AgentEvidence,
    PairStats,
    Recommendation,
    RecThresholds,
    explain_none,
    recommend,
)
from ato_desktop.core.models import Cost, CostSource, RunStatus
from ato_desktop.core.records import RunFilter
from ato_desktop.engine.evals import (
    EvalError,
    EvalTarget,
    agent_suites,
    model_case_scores,
    rerun_suite,
)
from ato_desktop.engine.parts import ReplayParts
from ato_desktop.engine.replay import (
    BatchSummary,
    Progress,
    ReplayTarget,
    ReplayUnavailable,
    load_source,
    plan_replay,
    replay_batch,
)
from ato_desktop.store.execution_log import ExecutionLog, now_ms
from ato_desktop.store.insights_queries import (
    FOLD_AT,
    fold_run_rollups,
    pair_rows_by_agent,
    production_runs_since,
    unfolded_runs,
)

DAY_MS: Final = 86_400_000
DEFAULT_SAMPLE: Final = 20

# (agent id, runtime, model) -> eval case scores of the agent's work on that runtime and model
EvalScores = Callable[[str, str, str], Sequence[float]]


@dataclass(frozen=True, slots=True)
class CostReport:
    recommendations: tuple[Recommendation, ...]  # largest monthly saving first
    agents: tuple[AgentEvidence, ...]  # every agent with its judged candidates
    explanation: str | None  # one line when there is no recommendation
    thresholds: RecThresholds

    def as_dict(self) -> dict[str, object]:
        return {
            "recommendations": [r.as_dict() for r in self.recommendations],
            "explanation": self.explanation,
            "agents": [
                {
                    "agent": a.agent_name,
                    "current": {"runtime": a.current[0], "model": a.current[1]},
                    "monthly_runs": a.monthly_runs,
                    "candidates": [c.as_dict() for c in a.candidates],
                }
                for a in self.agents
            ],
        }


def cost_recommendations(
    store: ExecutionLog,
    thresholds: RecThresholds | None = None,
    *,
    now: int | None = None,
    eval_scores: EvalScores | None = None,
) -> CostReport:
    thresholds = thresholds or RecThresholds()
    if eval_scores is None:  # default: the evals recorded for the agent per runtime and model

        def eval_scores(agent_id: str, runtime: str, model: str) -> Sequence[float]:
            return model_case_scores(store, agent_id, runtime, model)

    since = (now if now is not None else now_ms()) - WINDOW_DAYS * DAY_MS
    if unfolded_runs(store) > FOLD_AT:  # many runs since the last fold: roll them up first
        fold_run_rollups(store)
    evidence = []
    agents = store.list_agents()
    rows_by_agent = pair_rows_by_agent(store, [agent.id for agent in agents], since)
    for agent in agents:
        pairs: dict[tuple[str, str], PairStats] = {}
        for row in rows_by_agent[agent.id]:
            key = (row.runtime, row.model)
            stats = PairStats(
                row.runtime,
                row.model,
                row.runs,
                row.ok,
                row.failed,
                row.cost_total_usd,
                row.costed_runs,
                row.runs if row.replay else 0,
                estimated_runs=row.estimated_runs,
                costed_completed=row.costed_completed,
            )
            pairs[key] = pairs[key].merged(stats) if key in pairs else stats
        for key, stats in list(pairs.items()):
            scores = tuple(eval_scores(agent.id, *key))
            if scores:
                pairs[key] = dataclasses.replace(stats, eval_scores=scores)
        evidence.append(
            AgentEvidence(
                agent.id,
                agent.name,
                (agent.config.runtime, agent.config.model),
                pairs,
                production_runs_since(store, agent.id, since),
            )
        )
    recs, judged = recommend(evidence, thresholds)
    return CostReport(
        tuple(recs),
        tuple(judged),
        None if recs else explain_none(judged, thresholds),
        thresholds,
    )


# -- gathering evidence ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EvidencePlan:
    agent: str
    target: ReplayTarget
    run_ids: tuple[str, ...]  # the sample that can be replayed
    skipped: int  # sampled runs whose prompt is not in the log
    estimate: Cost  # what replaying the sample will cost, estimated
    # The agent's eval suites, run on the candidate too (their cost is not in the estimate: it
    # depends on each case's answer and any judge; it shows as they run).
    suites: tuple[str, ...] = ()


def sample_runs(store: ExecutionLog, agent: str, size: int = DEFAULT_SAMPLE) -> list[str]:
    """The agent's newest finished production runs (completed and failed alike: a candidate
    must be judged on the hard cases too), at most size of them."""
    record = store.get_agent(agent)
    picked: list[str] = []
    flt = RunFilter(
        agent_id=record.id,
        statuses=(RunStatus.COMPLETED.value, RunStatus.FAILED.value),
    )
    for run in store.iter_runs(flt):
        if run.trigger in ("replay", "eval"):
            continue
        picked.append(run.id)
        if len(picked) >= size:
            break
    return picked


def estimate_evidence(
    workspace: ReplayParts, agent: str, target: ReplayTarget, size: int = DEFAULT_SAMPLE
) -> EvidencePlan:
    """What gathering evidence on target would replay, and its estimated cost (nothing sent)."""
    run_ids: list[str] = []
    skipped = 0
    total = 0.0
    for run_id in sample_runs(workspace.store, agent, size):
        try:
            plan = plan_replay(workspace, load_source(workspace, run_id), target)
        except ReplayUnavailable:
            skipped += 1
            continue
        run_ids.append(run_id)
        total += plan.estimate.usd or 0.0
    return EvidencePlan(
        agent,
        target,
        tuple(run_ids),
        skipped,
        Cost(total, CostSource.ESTIMATED),
        tuple(agent_suites(workspace.store, agent)),
    )


async def gather_evidence(
    workspace: ReplayParts,
    plan: EvidencePlan,
    *,
    concurrency: int = 4,
    progress: Progress | None = None,
    cancel: asyncio.Event | None = None,
) -> BatchSummary:
    """Replay the plan's sample on its target (each replay is a run: the evidence), then run
    the agent's eval suites on the candidate (per-model eval scores for the recommendation)."""
    summary = await replay_batch(
        workspace,
        plan.run_ids,
        plan.target,
        concurrency=concurrency,
        progress=progress,
        cancel=cancel,
    )
    if plan.suites and plan.target.runtime and plan.target.model:
        target = EvalTarget(
            agent=plan.agent,
            runtime=plan.target.runtime,
            model=plan.target.model,
            base_url=plan.target.base_url,
        )
        notes = list(summary.notes)
        for suite in plan.suites:
            if cancel is not None and cancel.is_set():
                break
            try:
                report = await rerun_suite(
                    workspace, suite, target, concurrency=concurrency, cancel=cancel
                )
            except EvalError as exc:
                notes.append(f"eval suite {suite} could not run: {exc}")
                continue
            rate = report.figures.pass_rate
            notes.append(
                f"eval suite {suite} on {target.runtime} · {target.model}: "
                + ("no case ran" if rate is None else f"{rate:.0%} passed")
            )
        summary = dataclasses.replace(summary, notes=tuple(notes))
    return summary
