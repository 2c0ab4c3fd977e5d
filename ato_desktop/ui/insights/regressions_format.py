"""Display text for Insights -> Regressions. Plain Python (no Qt)."""

from __future__ import annotations

from ato_desktop.core.figures import DASH, MINUS, ms_text, usd
from ato_desktop.core.regressions import COST, EVAL, LATENCY, SUCCESS, MetricCheck, Thresholds
from ato_desktop.engine.regressions import ChangeReport, Example
from ato_desktop.ui.runs.formatting import local_time, plural

WHY_TITLES = {
    SUCCESS: "Failed after the change",
    LATENCY: "Slowest after the change",
    COST: "Most expensive after the change",
    EVAL: "Lowest eval scores after the change",
}


def figure_text(metric: str, value: float | None) -> str:
    """A metric's figure: '96%', '16.2 s', '$0.0231'."""
    if value is None:
        return DASH
    if metric in (SUCCESS, EVAL):
        return f"{value * 100:.0f}%"
    if metric == LATENCY:
        return ms_text(value)
    return usd(value)


def change_text(check: MetricCheck) -> str:
    """'−15.5 pp', '+96%', '±0%'; '—' without a baseline."""
    change = check.change
    if change is None:
        return DASH
    if check.unit == "pp":
        if abs(change) < 0.05:
            return "±0 pp"
        return f"{'+' if change > 0 else MINUS}{abs(change):.1f} pp"
    if abs(change) < 0.5:
        return "±0%"
    return f"{'+' if change > 0 else MINUS}{abs(change):,.0f}%"


def metric_text(check: MetricCheck, *, two_lines: bool = False) -> str:
    """'96% → 81% (−15.5 pp)'; on two lines, the change below the figures."""
    figures = (
        f"{figure_text(check.metric, check.before)} → {figure_text(check.metric, check.after)}"
    )
    return f"{figures}\n{change_text(check)}" if two_lines else f"{figures} ({change_text(check)})"


def p_text(p: float | None) -> str:
    if p is None:
        return "p not computed"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def threshold_text(check: MetricCheck) -> str:
    """'alarm when it drops by 10 pp or more' / 'rises by 50 % or more'."""
    direction = "drops" if check.metric in (SUCCESS, EVAL) else "rises"
    unit = " pp" if check.unit == "pp" else "%"
    return f"alarm when it {direction} by {check.threshold:g}{unit} or more"


def check_tooltip(check: MetricCheck, thresholds: Thresholds) -> str:
    """The test, its p-value and the threshold, and the verdict's reason (plain text)."""
    verdict = "Regression" if check.regression else "Not a regression"
    return "\n".join(
        (
            f"{check.label}: {metric_text(check)}",
            f"{verdict}: {check.reason}.",
            f"Test: {check.test}; {p_text(check.p_value)} "
            f"(significant below {thresholds.alpha:g}).",
            f"Threshold: {threshold_text(check)}, with at least {thresholds.min_runs} "
            "runs on each side.",
            f"Samples: {check.n_before:,} before, {check.n_after:,} after.",
        )
    )


def sample_text(change: ChangeReport) -> str:
    """'220 / 157': the runs judged on each side (the success-rate sample, else the largest)."""
    if not change.checks:
        return DASH
    before, after = change.samples
    return f"{before:,} / {after:,}"


def verdict_text(change: ChangeReport) -> str:
    """'Regression' over 'current version' / 'replaced since'; 'Not enough data yet' over
    'needs 20 runs a side'; 'No regression'."""
    if change.regression:
        return "Regression\n" + ("current version" if change.is_current else "replaced since")
    if change.verdict == "not_enough_data":
        # The runs each side has are in the n column; the tooltip and details say it whole.
        return f"Not enough data yet\nneeds {change.min_runs:,} runs a side"
    return "No regression"


def headline_text(changes: int, regressions: int, active: int, unjudged: int) -> str:
    """The view's headline: regressions first; changes without enough runs are not "no
    regression", so they are counted apart."""
    if not changes:
        return "No config changes to judge yet"
    if regressions:
        return (
            f"{plural(regressions, 'regression')} in {plural(changes, 'config change')}"
            + (f" · {active} active" if active else "")
            + (f" · {unjudged} without enough data yet" if unjudged else "")
        )
    if unjudged == changes:
        return f"Not enough data yet to judge {plural(changes, 'config change')}"
    judged = changes - unjudged
    return f"No regressions in {plural(judged, 'config change')} checked" + (
        f" · {unjudged} without enough data yet" if unjudged else ""
    )


def thresholds_text(t: Thresholds) -> str:
    """One line: what counts as a regression."""
    return (
        f"success rate {MINUS}{t.success_drop_pp:g} pp · p95 latency +{t.p95_latency_rise_pct:g}% "
        f"· cost per call +{t.cost_rise_pct:g}% · eval score {MINUS}{t.eval_drop_pp:g} pp · "
        f"≥ {t.min_runs} runs a side · p < {t.alpha:g}"
    )


def no_regressions_text(count: int, t: Thresholds, unjudged: int = 0) -> str:
    judged = count - unjudged
    waiting = (
        f" {plural(unjudged, 'change')} {'has' if unjudged == 1 else 'have'} too few runs on "
        f"a side to judge yet ({t.min_runs} needed on each side)."
        if unjudged
        else ""
    )
    if judged == 0:
        return (
            f"Not enough data yet: {plural(count, 'config change')}, none with {t.min_runs} "
            "finished runs on both sides. Run the agent more on each version, then check again."
        )
    return (
        f"{plural(judged, 'config change')} checked; none made an agent worse by the thresholds "
        f"in force: {thresholds_text(t)}.{waiting}"
    )


def when_text(epoch_ms: int) -> str:
    """'Nov 13' over '11:49:00'."""
    day, _sep, time = local_time(epoch_ms).rpartition(" ")
    return f"{day}\n{time}" if day else time


def example_error(example: Example) -> str:
    """'timeout: Request timed out after 160 s', or the status when there is no error."""
    if example.error_class or example.error_message:
        head = example.error_class or "error"
        return f"{head}: {example.error_message}" if example.error_message else head
    return example.status


def one_line(text: str | None, limit: int = 200) -> str:
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
