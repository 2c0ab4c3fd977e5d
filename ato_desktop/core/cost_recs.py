"""Cost recommendations, only from evidence.

An agent gets a recommendation to swap its runtime/model for a candidate only when the log holds
runs of that agent's work on the candidate (its own runs from an earlier configuration, or
replays of its runs) and the candidate, per call:
  - costs at least 30 % less than the current runtime/model,
  - has an ok-rate (completed runs out of completed and failed) within 10 points of the current,
  - has an eval score within 5 points of the current, when eval scores exist for both,
  - has at least `min_evidence_runs` runs (10 by default) with a known cost.
The monthly impact is the saving per call times the agent's production runs of the last 30
days; recommendations are sorted by it, largest first. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

WINDOW_DAYS: Final = 30


@dataclass(frozen=True, slots=True)
class RecThresholds:
    min_saving_pct: float = 30.0
    ok_rate_within_pp: float = 10.0
    eval_within_pp: float = 5.0
    min_evidence_runs: int = 10


@dataclass(frozen=True, slots=True)
class PairStats:
    """An agent's runs on one runtime and model."""

    runtime: str
    model: str
    runs: int = 0
    ok: int = 0
    failed: int = 0
    cost_total_usd: float = 0.0
    costed_runs: int = 0  # runs with a known cost
    replays: int = 0  # of runs, how many are replays of the agent's runs
    eval_scores: tuple[float, ...] = ()
    estimated_runs: int = 0  # of costed runs, how many costs are estimates (not the provider's)
    costed_completed: int = 0  # of costed runs, how many completed

    @property
    def zero_cost_runs(self) -> int:
        """Runs that ended before reaching the model (a 429, a refused key, a kill in a retry
        wait): no cost recorded because nothing was spent, so $0 calls that count in cost per
        call, or it would rise as failures do. Only when every completed run of the pair has a
        known cost: otherwise the model is unpriced and a run with no cost may be unknown."""
        if self.costed_completed < self.ok:
            return 0
        return max(self.runs - self.ok - (self.costed_runs - self.costed_completed), 0)

    @property
    def cost_estimated(self) -> bool:
        """Part of the cost per call is an estimate: shown with "est."."""
        return self.estimated_runs > 0

    @property
    def label(self) -> str:
        return f"{self.runtime} · {self.model}"

    @property
    def ok_rate(self) -> float | None:
        judged = self.ok + self.failed
        return self.ok / judged if judged else None

    @property
    def cost_per_call(self) -> float | None:
        """Known cost over the calls it covers, $0 calls included; None when no cost is known."""
        if not self.costed_runs:
            return None
        return self.cost_total_usd / (self.costed_runs + self.zero_cost_runs)

    @property
    def cost_source(self) -> str:
        """Where cost per call comes from: "estimated" when part of it is an estimate,
        "provider" when all of it was stated, "unknown" when no cost is known at all."""
        if not self.costed_runs:
            return "unknown"
        return "estimated" if self.cost_estimated else "provider"

    @property
    def eval_score(self) -> float | None:
        return sum(self.eval_scores) / len(self.eval_scores) if self.eval_scores else None

    def merged(self, other: PairStats) -> PairStats:
        return PairStats(
            self.runtime,
            self.model,
            self.runs + other.runs,
            self.ok + other.ok,
            self.failed + other.failed,
            self.cost_total_usd + other.cost_total_usd,
            self.costed_runs + other.costed_runs,
            self.replays + other.replays,
            self.eval_scores + other.eval_scores,
            self.estimated_runs + other.estimated_runs,
            self.costed_completed + other.costed_completed,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "runtime": self.runtime,
            "model": self.model,
            "runs": self.runs,
            "replays": self.replays,
            "ok_rate": _round(self.ok_rate, 4),
            "cost_per_call_usd": _round(self.cost_per_call, 8),
            "costed_runs": self.costed_runs,
            "zero_cost_runs": self.zero_cost_runs,
            "cost_source": self.cost_source,
            "eval_score": _round(self.eval_score, 4),
            "eval_cases": len(self.eval_scores),
        }


@dataclass(frozen=True, slots=True)
class Candidate:
    """A runtime/model judged against the agent's current one."""

    stats: PairStats
    saving_pct: float | None  # per call; positive is cheaper
    qualifies: bool
    reasons: tuple[str, ...]  # why not (empty when it qualifies)
    notes: tuple[str, ...] = ()  # caveats of a qualifying candidate

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.stats.as_dict(),
            "saving_pct": _round(self.saving_pct, 2),
            "qualifies": self.qualifies,
            "reasons": list(self.reasons),
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class Recommendation:
    agent_id: str
    agent_name: str
    current: PairStats
    candidate: Candidate
    monthly_runs: int  # production runs in the last 30 days
    monthly_saving_usd: float

    @property
    def headline(self) -> str:
        saving = self.candidate.saving_pct or 0.0
        return (
            f"@{self.agent_name} · {self.current.runtime} → {self.candidate.stats.runtime} · "
            f"-{saving:.0f}% per call · projected -${self.monthly_saving_usd:,.2f}/mo at this "
            f"volume ({self.monthly_runs:,} runs/mo)"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "agent": self.agent_name,
            "agent_id": self.agent_id,
            "headline": self.headline,
            "current": self.current.as_dict(),
            "candidate": self.candidate.as_dict(),
            "monthly_runs": self.monthly_runs,
            "monthly_saving_usd": round(self.monthly_saving_usd, 4),
        }


@dataclass(frozen=True, slots=True)
class AgentEvidence:
    """What the log holds for one agent: its current runtime/model and every pair it ran on."""

    agent_id: str
    agent_name: str
    current: tuple[str, str]  # (runtime, model) of its current config
    pairs: Mapping[tuple[str, str], PairStats]
    monthly_runs: int
    candidates: tuple[Candidate, ...] = field(default_factory=tuple)


def judge(current: PairStats, candidate: PairStats, thresholds: RecThresholds) -> Candidate:
    """Does the candidate qualify as a cheaper swap for the current runtime/model?"""
    reasons: list[str] = []
    notes: list[str] = []
    t = thresholds
    saving = None
    now_cost, new_cost = current.cost_per_call, candidate.cost_per_call
    if candidate.costed_runs < t.min_evidence_runs:
        reasons.append(
            f"only {candidate.costed_runs} run{'s' if candidate.costed_runs != 1 else ''} with "
            f"a known cost ({t.min_evidence_runs} needed)"
        )
    if now_cost is None or now_cost <= 0:
        reasons.append("the current runtime has no known cost to compare with")
    elif new_cost is not None:
        saving = (now_cost - new_cost) / now_cost * 100
        if saving < t.min_saving_pct:
            reasons.append(
                f"only {saving:.0f}% cheaper per call ({t.min_saving_pct:g}% needed)"
                if saving >= 0
                else f"{-saving:.0f}% dearer per call"
            )
    now_ok, new_ok = current.ok_rate, candidate.ok_rate
    if now_ok is not None and new_ok is not None:
        if (now_ok - new_ok) * 100 > t.ok_rate_within_pp:
            reasons.append(
                f"ok-rate {new_ok:.0%} vs {now_ok:.0%} (within {t.ok_rate_within_pp:g} pp needed)"
            )
    elif new_ok is None:
        reasons.append("no finished runs to judge its ok-rate")
    now_eval, new_eval = current.eval_score, candidate.eval_score
    if now_eval is not None and new_eval is not None:
        if (now_eval - new_eval) * 100 > t.eval_within_pp:
            reasons.append(
                f"eval score {new_eval:.0%} vs {now_eval:.0%} "
                f"(within {t.eval_within_pp:g} pp needed)"
            )
    elif now_eval is not None:
        reasons.append("no eval score on it yet (run the agent's eval suite on it)")
    else:
        notes.append("no eval scores: quality judged by ok-rate only")
    return Candidate(candidate, saving, not reasons, tuple(reasons), tuple(notes))


def recommend(
    evidence: Iterable[AgentEvidence], thresholds: RecThresholds | None = None
) -> tuple[list[Recommendation], list[AgentEvidence]]:
    """Qualifying swaps (the best per agent) sorted by monthly saving, largest first; and every
    agent's evidence with its judged candidates."""
    t = thresholds or RecThresholds()
    recs: list[Recommendation] = []
    judged: list[AgentEvidence] = []
    for agent in evidence:
        current = agent.pairs.get(agent.current) or PairStats(*agent.current)
        candidates = tuple(
            judge(current, stats, t)
            for key, stats in sorted(agent.pairs.items())
            if key != agent.current
        )
        judged.append(
            AgentEvidence(
                agent.agent_id,
                agent.agent_name,
                agent.current,
                agent.pairs,
                agent.monthly_runs,
                candidates,
            )
        )
        best = max(
            (c for c in candidates if c.qualifies),
            key=lambda c: c.saving_pct or 0.0,
            default=None,
        )
        if best is None:
            continue
        per_call = (current.cost_per_call or 0.0) - (best.stats.cost_per_call or 0.0)
        recs.append(
            Recommendation(
                agent.agent_id,
                agent.agent_name,
                current,
                best,
                agent.monthly_runs,
                per_call * agent.monthly_runs,
            )
        )
    recs.sort(key=lambda r: r.monthly_saving_usd, reverse=True)
    return recs, judged


def explain_none(judged: Sequence[AgentEvidence], thresholds: RecThresholds | None = None) -> str:
    """One line for an empty panel: why nothing qualifies."""
    t = thresholds or RecThresholds()
    if not judged:
        return "No agents yet: recommendations come from agents' recorded runs."
    candidates = [c for agent in judged for c in agent.candidates]
    if not candidates:
        return (
            "No evidence yet: no agent has runs on another runtime or model. Gather evidence "
            "(replay a sample of an agent's runs on a candidate) to earn a recommendation."
        )
    return (
        f"Nothing qualifies: {len(candidates)} candidate{'s' if len(candidates) != 1 else ''} "
        f"checked; a swap needs to be ≥ {t.min_saving_pct:g}% cheaper per call with its "
        f"ok-rate within {t.ok_rate_within_pp:g} pp and eval score within "
        f"{t.eval_within_pp:g} pp, on ≥ {t.min_evidence_runs} runs."
    )


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
