"""What Compare's tables show, as plain rows (no Qt): the figures of two runs or two groups side
by side with their deltas and verdicts, and the text of each aligned action row."""

from __future__ import annotations

from dataclasses import dataclass

from ato_desktop.core.compare import (
    CHANGED,
    ONLY_LEFT,
    ONLY_RIGHT,
    SAME,
    ActionComparison,
    ActionView,
    Delta,
    GroupComparison,
    GroupStats,
    RunComparison,
    RunView,
)
from ato_desktop.core.compare_verdict import verdict
from ato_desktop.core.figures import DASH, cost_text, count_text, ms_text
from ato_desktop.core.models import CostSource
from ato_desktop.ui.insights.compare_format import delta_text, figure_text

STATUS_TEXT = {
    SAME: "same",
    CHANGED: "changed",
    ONLY_LEFT: "only left",
    ONLY_RIGHT: "only right",
}


@dataclass(frozen=True, slots=True)
class MetricRow:
    """One figure on both sides: texts, the delta's text and its verdict (better / worse / ...)."""

    label: str
    left: str
    right: str
    delta: str
    verdict: str
    tooltip: str = ""


def _row(label: str, figure: str, delta: Delta, tooltip: str = "", **texts: str) -> MetricRow:
    return MetricRow(
        label,
        texts.get("left", figure_text(figure, delta.left)),
        texts.get("right", figure_text(figure, delta.right)),
        delta_text(figure, delta),
        verdict(figure, delta),
        tooltip,
    )


def run_metric_rows(comparison: RunComparison) -> list[MetricRow]:
    """Totals of two runs: cost (with its source), duration, time to first token, tokens,
    actions and their success rate."""
    t, left, right = comparison.totals, comparison.left, comparison.right
    rows = [
        _row(
            "Cost",
            "cost",
            t.cost_usd,
            "Right minus left. 'est.' marks a cost estimated from token counts and prices, not "
            "reported by the provider.",
            left=cost_text(left.cost_usd, left.cost_source),
            right=cost_text(right.cost_usd, right.cost_source),
        ),
        _row("Duration", "duration", t.duration_ms),
        _row("Time to first token", "ttft", t.ttft_ms),
    ]
    for kind, label in (("input", "Input tokens"), ("output", "Output tokens")):
        rows.append(_row(label, "tokens", t.tokens[kind]))
    if any(t.tokens[k].left or t.tokens[k].right for k in ("cache_read", "reasoning")):
        rows.append(_row("Cache-read tokens", "tokens", t.tokens["cache_read"]))
        rows.append(_row("Reasoning tokens", "tokens", t.tokens["reasoning"]))
    rows.append(_row("Actions", "count", t.action_count))
    rows.append(
        _row("Action success rate", "success_rate", t.success_rate, "Successful actions / actions")
    )
    return rows


def group_metric_rows(comparison: GroupComparison) -> list[MetricRow]:
    """Two groups: runs, success rate, duration mean / median / p95, cost per run, tokens and
    actions per run; each with the sample it was measured on."""
    c, left, right = comparison, comparison.left, comparison.right
    dur_n = f"Measured on {left.duration_ms.n} and {right.duration_ms.n} runs with a duration."
    cost_n = (
        f"Over the runs with a known cost: {left.cost_usd.n} of {left.runs} (left), "
        f"{right.cost_usd.n} of {right.runs} (right)."
    )
    rows = [
        _row("Runs", "runs", c.runs, "How many runs each group has (the sample size)."),
        _row(
            "Success rate",
            "success_rate",
            c.success_rate,
            "Completed runs / runs in the group.",
        ),
        _row("Duration · mean", "duration", c.duration_mean_ms, dur_n),
        _row("Duration · median", "duration", c.duration_median_ms, dur_n),
        _row("Duration · p95", "duration", c.duration_p95_ms, dur_n + " Nearest-rank p95."),
        _row(
            "Cost per run · mean",
            "cost",
            c.cost_mean_usd,
            cost_n,
            left=_group_cost(left, left.cost_usd.mean),
            right=_group_cost(right, right.cost_usd.mean),
        ),
        _row(
            "Cost per run · median",
            "cost",
            c.cost_median_usd,
            cost_n,
            left=_group_cost(left, left.cost_usd.median),
            right=_group_cost(right, right.cost_usd.median),
        ),
        _row("Input tokens per run", "tokens", c.tokens_per_run["input"]),
        _row("Output tokens per run", "tokens", c.tokens_per_run["output"]),
        _row("Actions per run", "actions_per_run", c.actions_per_run),
    ]
    rows.append(
        MetricRow(
            "Total cost",
            _group_cost(left, left.cost_total_usd),
            _group_cost(right, right.cost_total_usd),
            "",
            "neutral",
            cost_n + " Groups of different sizes: compare the per-run figures.",
        )
    )
    return rows


def _group_cost(stats: GroupStats, value: float | None) -> str:
    if value is None:
        return "unknown" if stats.runs else DASH
    text = figure_text("cost", value)
    return f"{text} est." if stats.cost_sources.get(CostSource.ESTIMATED.value) else text


def sample_text(stats: GroupStats) -> str:
    """'v3 · 38 runs'."""
    return f"{stats.label} · {count_text(stats.runs)} run{'s' if stats.runs != 1 else ''}"


def cost_mix_text(stats: GroupStats) -> str:
    """'12 provider, 3 est., 1 unknown' (the runs by cost source), '' when every cost is the
    provider's."""
    mix = stats.cost_sources
    parts = []
    for key, label in (
        (CostSource.PROVIDER.value, "provider"),
        (CostSource.ESTIMATED.value, "est."),
        (CostSource.UNKNOWN.value, "unknown"),
        (CostSource.LOCAL.value, "local"),
        ("none", "no cost"),
    ):
        if mix.get(key):
            parts.append(f"{mix[key]} {label}")
    if len(parts) == 1 and parts[0].endswith("provider"):
        return ""
    return ", ".join(parts)


def action_side_text(view: ActionView | None) -> str:
    """'success · 1.20 s · $0.0021 est.', or '—' for a side the action is not on."""
    if view is None:
        return DASH
    parts = [view.outcome or "?", ms_text(view.duration_ms)]
    cost = cost_text(view.cost_usd, view.cost_source)
    if cost != DASH:
        parts.append(cost)
    return " · ".join(parts)


def action_status_text(row: ActionComparison) -> str:
    text = STATUS_TEXT.get(row.status, row.status)
    if row.moved:
        text += " · moved"
    if row.outcome_changed:
        text += " · outcome"
    return text


def run_label(view: RunView) -> str:
    """'run 1a2b3c4d · completed · claude / sonnet · v2'."""
    parts = [f"run {view.id[-8:]}" if view.id else "run ?"]
    parts.extend(p for p in (view.status, _runtime_model(view)) if p)
    if view.agent_version is not None:
        parts.append(f"v{view.agent_version}")
    return " · ".join(parts)


def _runtime_model(view: RunView) -> str:
    return " / ".join(p for p in (view.runtime, view.model) if p)
