"""How replay figures read: deltas, verdicts, batch outcomes, totals, model suggestions."""

from __future__ import annotations

import pytest

from ato_desktop.core.models import Cost, CostSource
from ato_desktop.core.replay_figures import (
    BETTER,
    NO_FIGURE,
    RECOVERED,
    REGRESSED,
    SAME,
    SKIPPED,
    STILL_FAILING,
    STILL_OK,
    WORSE,
    batch_outcome,
    delta_text,
    delta_tone,
    other_runtime,
    suggest_models,
    total_cost,
)


@pytest.mark.parametrize(
    ("pct", "text"),
    [(None, "—"), (0.0, "±0%"), (12.5, "+12.5%"), (-8.0, "−8%"), (250.0, "+250%")],
)
def test_delta_text(pct: float | None, text: str) -> None:
    assert delta_text(pct) == text


def test_delta_tone_lower_is_better_unless_told() -> None:
    assert delta_tone(-20.0) == BETTER
    assert delta_tone(15.0) == WORSE
    assert delta_tone(0.4) == SAME
    assert delta_tone(None) == NO_FIGURE
    assert delta_tone(15.0, higher_is_better=True) == BETTER


@pytest.mark.parametrize(
    ("before", "after", "outcome"),
    [
        ("failed", "completed", RECOVERED),
        ("failed", "failed", STILL_FAILING),
        ("killed", "failed", STILL_FAILING),
        ("completed", "failed", REGRESSED),
        ("completed", "completed", STILL_OK),
        ("failed", None, SKIPPED),
    ],
)
def test_batch_outcome(before: str, after: str | None, outcome: str) -> None:
    assert batch_outcome(before, after) == outcome


def test_total_cost_never_hides_an_unknown_part() -> None:
    total = total_cost(
        [Cost(0.01, CostSource.ESTIMATED), Cost.unknown(), Cost(0.02, CostSource.ESTIMATED)]
    )
    assert (total.usd, total.source, total.unknown_parts, total.parts) == (
        0.03,
        "estimated",
        1,
        3,
    )
    assert total.partly_unknown
    assert total_cost([Cost.unknown()]).source == "unknown"
    assert total_cost([]).usd == 0.0


def test_model_suggestions_put_used_models_first() -> None:
    used = [("codex", "gpt-5-mini"), ("claude", "claude-sonnet-5"), ("codex", "gpt-5")]
    assert suggest_models("codex", ["gpt-4o", "gpt-5", "gpt-5-mini"], used) == [
        "gpt-5-mini",
        "gpt-5",
        "gpt-4o",
    ]
    assert other_runtime("claude") == "codex" and other_runtime("codex") == "claude"
