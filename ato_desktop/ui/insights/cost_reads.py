"""What Insights -> Cost reads and how it words it: plain functions (no Qt), the reads run off
the UI thread (ctx.read)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ato_desktop.core.cost_recs import AgentEvidence, Candidate, PairStats
from ato_desktop.core.figures import DASH, rate_text, usd_cents
from ato_desktop.engine.cost_recs import CostReport, EvidencePlan, cost_recommendations
from ato_desktop.engine.cost_recs import estimate_evidence as _estimate_evidence
from ato_desktop.engine.replay import BatchSummary, ReplayTarget
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.ui.runs.formatting import plural


def load_report(store: ExecutionLog) -> CostReport:
    """Every agent's candidates judged, recommendations first (a reader thread)."""
    return cost_recommendations(store)


def estimate(workspace: Any, agent: str, target: ReplayTarget, size: int) -> EvidencePlan:
    """What gathering evidence would replay and its estimated cost (a reader thread)."""
    return _estimate_evidence(workspace, agent, target, size)


@dataclass(frozen=True, slots=True)
class EvidenceRow:
    """One line of the current-vs-candidate comparison."""

    label: str
    current: str
    candidate: str


def per_call(usd: float | None, estimated: bool = False) -> str:
    """A cost per call: four decimals under a dollar ($0.0042), so candidates compare; "est."
    when part of it is estimated from token counts."""
    if usd is None:
        return DASH
    text = f"${usd:.4f}" if abs(usd) < 1 else f"${usd:,.2f}"
    return f"{text} est." if estimated else text


def runs_text(stats: PairStats) -> str:
    text = f"{stats.runs:,}"
    if stats.replays:
        text += f" ({plural(stats.replays, 'replay')})"
    return text


def eval_text(stats: PairStats) -> str:
    if stats.eval_score is None:
        return DASH
    return f"{stats.eval_score:.0%} on {plural(len(stats.eval_scores), 'case')}"


def evidence_rows(current: PairStats, candidate: PairStats) -> list[EvidenceRow]:
    """Current vs candidate: the figures a recommendation stands on."""
    return [
        EvidenceRow("Runtime · model", current.label, candidate.label),
        EvidenceRow("Runs (30 days)", runs_text(current), runs_text(candidate)),
        EvidenceRow("Ok-rate", rate_text(current.ok_rate), rate_text(candidate.ok_rate)),
        EvidenceRow(
            "Cost per call",
            per_call(current.cost_per_call, current.cost_estimated),
            per_call(candidate.cost_per_call, candidate.cost_estimated),
        ),
        EvidenceRow("Eval score", eval_text(current), eval_text(candidate)),
    ]


def saving_text(candidate: Candidate) -> str:
    pct = candidate.saving_pct
    if pct is None:
        return DASH
    return f"-{pct:.0f}%" if pct >= 0 else f"+{-pct:.0f}%"


def current_stats(agent: AgentEvidence) -> PairStats:
    return agent.pairs.get(agent.current) or PairStats(*agent.current)


def headline_text(report: CostReport) -> str:
    recs = report.recommendations
    if not recs:
        return "No recommendation"
    total = sum(r.monthly_saving_usd for r in recs)
    return f"{plural(len(recs), 'recommendation')} · projected -{usd_cents(total)}/mo in all"


def candidate_count(report: CostReport) -> int:
    return sum(len(a.candidates) for a in report.agents)


def plan_text(plan: EvidencePlan) -> str:
    """'for 20 replays of @writer's newest runs on codex · gpt-5-mini; 2 skipped (…)'."""
    text = (
        f"for {plural(len(plan.run_ids), 'replay')} of @{plan.agent}'s newest runs on "
        f"{plan.target.label}"
    )
    if plan.skipped:
        text += f"; {plan.skipped} skipped (no recorded prompt to replay)"
    return text


def errors_of(summary: BatchSummary) -> list[str]:
    """Why replays did not work, each distinct reason once (could not start, or failed)."""
    reasons: dict[str, None] = {}
    for item in summary.items:
        if item.error:
            reasons[item.error] = None
        elif (
            item.result is not None
            and item.result.dispatch.error_message
            and item.result.comparison.replay.status != "completed"
        ):
            reasons[item.result.dispatch.error_message] = None
    return list(reasons)


def summary_lines(summary: BatchSummary, target: ReplayTarget) -> tuple[str, str]:
    """A headline and a line of detail for a finished gathering."""
    completed = sum(
        1
        for item in summary.items
        if item.result is not None and item.result.comparison.replay.status == "completed"
    )
    if summary.cancelled:
        head = f"Cancelled: {summary.replayed} of {summary.total} replayed on {target.label}"
    else:
        head = f"{plural(summary.replayed, 'replay')} on {target.label}"
    detail = f"{completed} of {summary.replayed} completed"
    if summary.replayed:
        detail += (
            f" · cost {usd_cents(summary.source_cost_usd)} → {usd_cents(summary.replay_cost_usd)}"
        )
        if summary.cost_delta_pct is not None:
            detail += f" ({summary.cost_delta_pct:+.0f}%)"
    if summary.skipped:
        detail += f" · {summary.skipped} skipped"
    return head, detail
