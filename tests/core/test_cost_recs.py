"""Cost recommendations: each guard, the headline, sorting by monthly impact, explanations."""

from __future__ import annotations

import pytest

from ato_desktop.core.cost_recs import (
    AgentEvidence,
    PairStats,
    RecThresholds,
    explain_none,
    judge,
    recommend,
)

CLAUDE = ("claude", "claude-sonnet-5")
CODEX = ("codex", "gpt-5-mini")


def _pair(key: tuple[str, str], runs: int, ok: int, cost: float, **kw: object) -> PairStats:
    return PairStats(*key, runs=runs, ok=ok, failed=runs - ok, cost_total_usd=cost * runs,
                     costed_runs=runs, **kw)  # type: ignore[arg-type]  # fmt: skip


CURRENT = _pair(CLAUDE, 100, 95, 0.020)


def test_a_cheaper_candidate_with_the_same_quality_qualifies() -> None:
    verdict = judge(CURRENT, _pair(CODEX, 20, 19, 0.008), RecThresholds())
    assert verdict.qualifies and verdict.reasons == ()
    assert verdict.saving_pct == pytest.approx(60.0)
    assert verdict.notes == ("no eval scores: quality judged by ok-rate only",)


@pytest.mark.parametrize(
    ("candidate", "reason"),
    [
        (_pair(CODEX, 20, 19, 0.016), "only 20% cheaper per call (30% needed)"),
        (_pair(CODEX, 20, 19, 0.030), "50% dearer per call"),
        (_pair(CODEX, 20, 16, 0.008), "ok-rate 80% vs 95% (within 10 pp needed)"),
        (_pair(CODEX, 9, 9, 0.008), "only 9 runs with a known cost (10 needed)"),
        (
            _pair(CODEX, 20, 19, 0.008, eval_scores=(0.7,) * 10),
            "eval score 70% vs 90% (within 5 pp needed)",
        ),
    ],
)
def test_each_guard_refuses(candidate: PairStats, reason: str) -> None:
    current = (
        _pair(CLAUDE, 100, 95, 0.020, eval_scores=(0.9,) * 10) if candidate.eval_scores else CURRENT
    )
    verdict = judge(current, candidate, RecThresholds())
    assert not verdict.qualifies and reason in verdict.reasons


def test_evals_on_the_current_side_only_need_evals_on_the_candidate() -> None:
    current = _pair(CLAUDE, 100, 95, 0.020, eval_scores=(0.9,))
    verdict = judge(current, _pair(CODEX, 20, 19, 0.008), RecThresholds())
    assert not verdict.qualifies and any("no eval score on it yet" in r for r in verdict.reasons)
    near = judge(current, _pair(CODEX, 20, 19, 0.008, eval_scores=(0.87,)), RecThresholds())
    assert near.qualifies  # 3 pp lower: within 5


def test_recommendations_are_sorted_by_monthly_impact_and_say_so() -> None:
    small = AgentEvidence(
        "a1", "small", CLAUDE, {CLAUDE: CURRENT, CODEX: _pair(CODEX, 20, 19, 0.004)}, 100
    )
    big = AgentEvidence(
        "a2",
        "big",
        CLAUDE,
        {CLAUDE: CURRENT, CODEX: _pair(CODEX, 30, 29, 0.012)},  # 40% cheaper, more volume
        5_000,
    )
    none = AgentEvidence("a3", "solo", CLAUDE, {CLAUDE: CURRENT}, 10)
    recs, judged = recommend([small, big, none])
    assert [r.agent_name for r in recs] == ["big", "small"]
    assert recs[0].monthly_saving_usd == pytest.approx(0.008 * 5_000)
    assert recs[0].headline == (
        "@big · claude → codex · -40% per call · projected -$40.00/mo at this volume "
        "(5,000 runs/mo)"
    )
    assert recs[1].monthly_saving_usd == pytest.approx(0.016 * 100)
    assert len(judged) == 3 and judged[2].candidates == ()
    data = recs[0].as_dict()
    assert data["candidate"]["saving_pct"] == 40.0 and data["current"]["runs"] == 100


def test_the_best_qualifying_candidate_per_agent() -> None:
    cheap = ("openai-compatible", "llama3.1:8b")
    agent = AgentEvidence(
        "a1",
        "x",
        CLAUDE,
        {CLAUDE: CURRENT, CODEX: _pair(CODEX, 20, 19, 0.010), cheap: _pair(cheap, 20, 19, 0.002)},
        1_000,
    )
    (rec,), _ = recommend([agent])
    assert rec.candidate.stats.runtime == "openai-compatible"


def test_one_line_explanations_when_nothing_qualifies() -> None:
    assert "No agents yet" in explain_none([])
    solo = AgentEvidence("a3", "solo", CLAUDE, {CLAUDE: CURRENT}, 10)
    _recs, judged = recommend([solo])
    assert explain_none(judged).startswith("No evidence yet")
    dear = AgentEvidence("a4", "d", CLAUDE, {CLAUDE: CURRENT, CODEX: _pair(CODEX, 20, 20, 0.05)}, 9)
    recs, judged = recommend([dear])
    assert recs == [] and explain_none(judged).startswith("Nothing qualifies: 1 candidate checked")


def test_estimated_costs_are_marked() -> None:
    provider = _pair(CODEX, 20, 19, 0.008)
    estimated = PairStats(
        *CODEX, runs=5, ok=5, cost_total_usd=0.05, costed_runs=5, estimated_runs=5
    )
    assert not provider.cost_estimated and provider.as_dict()["cost_source"] == "provider"
    merged = provider.merged(estimated)
    assert merged.cost_estimated and merged.estimated_runs == 5
    assert merged.as_dict()["cost_source"] == "estimated"
