"""One module formats money, rates and durations for every front end (issue 19.2)."""

from __future__ import annotations

import ast
from pathlib import Path

from ato_desktop.core import figures
from ato_desktop.core.cost_rollup import format_cost
from ato_desktop.core.figures import (
    DASH,
    cost_text,
    count_text,
    duration_ms,
    ms_text,
    rate_text,
    seconds_text,
    usd,
    usd_cents,
)

PACKAGE = Path(figures.__file__).resolve().parents[1]


def test_money_reads_the_same_whoever_formats_it() -> None:
    assert [usd(v) for v in (0, 0.000012, 0.0042, 0.142, 12.4, "0.014200", None)] == [
        "$0.00",
        "$0.000012",
        "$0.0042",
        "$0.142",
        "$12.40",
        "$0.014",
        DASH,
    ]
    assert [usd_cents(v) for v in (0, 0.0042, 1250, None, "garbage")] == [
        "$0.00",
        "$0.0042",
        "$1,250.00",
        DASH,
        DASH,
    ]
    assert cost_text("0.0042", "estimated") == "$0.0042 est."
    assert cost_text(0.5, "unknown") == "≥ $0.500 (part unknown)"
    # The Runs page's costs are the same text, with "no source" as no cost at all.
    assert format_cost(0.0042, "estimated") == cost_text(0.0042, "estimated")
    assert format_cost(None, "provider") == "$0.00" and format_cost(0.1, None) == DASH


def test_rates_and_durations() -> None:
    assert [rate_text(v) for v in (0.42, 1, 0, None, "0.5")] == ["42%", "100%", "0%", DASH, "50%"]
    assert rate_text(0.004, fine=True) == "0.4%" and rate_text(0.004) == "0%"
    assert [duration_ms(v) for v in (850, 12_300, 245_000, None)] == [
        "850 ms",
        "12.3 s",
        "4 m 05 s",
        DASH,
    ]
    assert [ms_text(v) for v in (0.5, 850, 1240, 125_000, "3720000")] == [
        "0.50 ms",
        "850 ms",
        "1.24 s",
        "2 m 05 s",
        "1 h 02 m",
    ]
    assert count_text(1234) == "1,234" and count_text(2.5, 2) == "2.50"
    assert [seconds_text(s) for s in (8, 245, 7800, -3)] == ["8 s", "4 m 05 s", "2 h 10 m", "0 s"]


def test_no_front_end_keeps_a_formatter_of_its_own() -> None:
    # The copies that were folded into core.figures stay folded.
    folded = {
        "cli*.py": {"_ms", "_ms_text", "_rate"},
        "cli/**/*.py": {"_ms", "_ms_text", "_rate"},  # the CLI as a package
        "core/cost_rollup.py": {"_usd"},
        "ui/insights/compare_format.py": {"usd_text", "ms_text", "cost_text", "rate_text"},
        "ui/insights/cost_reads.py": {"money", "rate"},
        "ui/agents/budget_line.py": {"_usd"},
        "ui/replay/comparison_view.py": {"duration_text"},
        "ui/runs/formatting.py": {"percent"},
        "ui/runs/simulation_tab.py": {"percent_text"},
    }
    for pattern, names in folded.items():
        for path in PACKAGE.glob(pattern):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
            assert defined & names == set(), path
