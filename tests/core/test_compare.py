"""Compare, pure: alignment, diffs, deltas, totals and group stats, on records and dicts."""

from __future__ import annotations

import dataclasses
import json
import math
import time
from decimal import Decimal
from typing import Any

import pytest

from ato_desktop.core.compare import (
    CHANGED,
    MAX_WORD_DIFF_CHARS,
    ONLY_LEFT,
    ONLY_RIGHT,
    SAME,
    Delta,
    Summary,
    action_view,
    align_actions,
    build_group_comparison,
    build_run_comparison,
    compare_pair,
    group_stats,
    payload_text,
    run_view,
    word_pieces,
)
from ato_desktop.core.models import TokenUsage
from ato_desktop.core.records import ActionRecord, RunRecord
from ato_desktop.core.run_json import action_to_json, run_to_json

NOW = 1_790_000_000_000


def _run(run_id: str = "r1", **changes: Any) -> RunRecord:
    base = RunRecord(
        id=run_id,
        run_no=1,
        agent_id="ag",
        agent_name="writer",
        agent_version_id="v1",
        agent_version=1,
        thread_id=None,
        runtime="claude",
        model="claude-sonnet-5",
        trigger="cli",
        status="completed",
        started_at=NOW,
        ended_at=NOW + 1000,
        duration_ns=1_000_000_000,
        ttft_ns=200_000_000,
        error_class=None,
        error_message=None,
        parent_run_id=None,
        pipeline_id=None,
        stage_index=None,
        stage_name=None,
        replay_of=None,
        tags={},
        usage=TokenUsage(100, 50, 10, 0, 5),
        tokens_estimated=False,
        cost_usd=0.02,
        cost_source="provider",
        action_count=2,
        success_count=2,
        last_event_at=None,
        partial_output=None,
        kill_requested_at=None,
        is_demo=False,
    )
    return dataclasses.replace(base, **changes)


def _action(name: str, seq: int = 1, **changes: Any) -> ActionRecord:
    base = ActionRecord(
        run_id="r1",
        seq=seq,
        parent_seq=None,
        name=name,
        kind="llm",
        inputs={"prompt": "hi"},
        outputs={"text": "hello there"},
        usage=TokenUsage(10, 5),
        tokens_estimated=False,
        ttft_ns=None,
        duration_ns=100_000_000,
        cost_usd=0.01,
        cost_source="provider",
        outcome="success",
        started_at=NOW,
        ended_at=NOW + 100,
        error_class=None,
        error_message=None,
        meta=None,
    )
    return dataclasses.replace(base, **changes)


def _named(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "inputs": {"step": n}, "outputs": {"text": n}} for n in names]


def _shape(rows: list[Any]) -> list[tuple[str | None, str | None, str, bool]]:
    return [
        (r.left.name if r.left else None, r.right.name if r.right else None, r.status, r.moved)
        for r in rows
    ]


# -- alignment ------------------------------------------------------------------------------------


def test_same_steps_pair_one_to_one() -> None:
    rows = align_actions(_named("plan", "search", "answer"), _named("plan", "search", "answer"))
    assert _shape(rows) == [
        ("plan", "plan", SAME, False),
        ("search", "search", SAME, False),
        ("answer", "answer", SAME, False),
    ]
    assert [(r.left.index, r.right.index) for r in rows if r.left and r.right] == [
        (0, 0),
        (1, 1),
        (2, 2),
    ]


def test_an_inserted_step_is_only_right() -> None:
    rows = align_actions(_named("plan", "answer"), _named("plan", "search", "answer"))
    assert _shape(rows) == [
        ("plan", "plan", SAME, False),
        (None, "search", ONLY_RIGHT, False),
        ("answer", "answer", SAME, False),
    ]


def test_a_removed_step_is_only_left() -> None:
    rows = align_actions(_named("plan", "search", "answer"), _named("plan", "answer"))
    assert _shape(rows) == [
        ("plan", "plan", SAME, False),
        ("search", None, ONLY_LEFT, False),
        ("answer", "answer", SAME, False),
    ]


def test_a_renamed_step_pairs_by_position_as_changed() -> None:
    rows = align_actions(_named("plan", "search", "answer"), _named("plan", "lookup", "answer"))
    assert _shape(rows) == [
        ("plan", "plan", SAME, False),
        ("search", "lookup", CHANGED, False),
        ("answer", "answer", SAME, False),
    ]


def test_a_reordered_step_is_one_moved_row_at_the_right_position() -> None:
    rows = align_actions(_named("plan", "search", "answer"), _named("plan", "answer", "search"))
    assert _shape(rows) == [
        ("plan", "plan", SAME, False),
        ("answer", "answer", SAME, True),
        ("search", "search", SAME, False),
    ]
    swapped = align_actions(_named("a", "b", "c", "d"), _named("d", "b", "c", "a"))
    assert _shape(swapped) == [
        ("d", "d", SAME, True),
        ("b", "b", SAME, False),
        ("c", "c", SAME, False),
        ("a", "a", SAME, True),
    ]


def test_repeated_names_align_in_order_and_the_surplus_is_one_sided() -> None:
    left = _named("call_llm", "Bash", "call_llm", "Bash", "call_llm")
    right = _named("call_llm", "Bash", "call_llm")
    rows = align_actions(left, right)
    paired = [(r.left.index, r.right.index) for r in rows if r.left and r.right]
    assert paired == [(0, 0), (1, 1), (2, 2)]
    assert sorted(r.status for r in rows) == [ONLY_LEFT, ONLY_LEFT, SAME, SAME, SAME]


def test_changed_content_makes_a_pair_changed_but_cost_and_time_do_not() -> None:
    left = [_action("call_llm"), _action("read", seq=2)]
    right = [
        _action("call_llm", cost_usd=0.5, duration_ns=9_000_000_000),
        _action("read", seq=2, outputs={"text": "other"}),
    ]
    rows = align_actions(left, right)
    assert [r.status for r in rows] == [SAME, CHANGED]
    failed = align_actions([_action("x")], [_action("x", outcome="error")])
    assert failed[0].status == CHANGED


def test_empty_sides() -> None:
    assert align_actions([], []) == []
    assert _shape(align_actions(_named("a"), [])) == [("a", None, ONLY_LEFT, False)]
    assert _shape(align_actions([], _named("a"))) == [(None, "a", ONLY_RIGHT, False)]


# -- diffs and deltas of a pair -------------------------------------------------------------------


def test_pair_diffs_inputs_line_by_line_and_text_outputs_word_by_word() -> None:
    left = _action("call_llm", inputs={"prompt": "hi", "temperature": 0.2})
    right = _action(
        "call_llm",
        inputs={"prompt": "hi", "temperature": 0.7},
        outputs={"text": "hello over there"},
    )
    row = compare_pair(align_actions([left], [right])[0])
    assert row.inputs is not None and row.inputs.changed
    assert '-  "temperature": 0.2' in row.inputs.unified
    assert '+  "temperature": 0.7' in row.inputs.unified
    assert row.inputs.unified[:2] == ("--- left", "+++ right")
    assert row.outputs is not None and row.outputs.changed
    assert row.output_words is not None
    assert [(p.op, p.text) for p in row.output_words] == [
        ("equal", "hello "),
        ("insert", "over "),
        ("equal", "there"),
    ]
    assert row.output_similarity == pytest.approx(0.8)  # 2 * 2 common words / (2 + 3)


def test_identical_payloads_have_no_diff_lines() -> None:
    row = compare_pair(align_actions([_action("x")], [_action("x")])[0])
    assert row.inputs is not None and not row.inputs.changed and row.inputs.unified == ()
    assert row.output_similarity == 1.0


def test_pair_deltas_are_right_minus_left() -> None:
    left = _action("call_llm", cost_usd=0.0142, duration_ns=120_500_000, usage=TokenUsage(100, 40))
    right = _action(
        "call_llm",
        cost_usd=0.0213,
        duration_ns=241_000_000,
        usage=TokenUsage(150, 20, cache_read_tokens=30),
        outcome="error",
    )
    row = compare_pair(align_actions([left], [right])[0])
    assert row.cost_usd.change == pytest.approx(0.0071)
    assert row.cost_usd.pct == pytest.approx(50.0)
    assert row.duration_ms.left == pytest.approx(120.5)
    assert row.duration_ms.change == pytest.approx(120.5)
    assert row.duration_ms.pct == pytest.approx(100.0)
    assert row.tokens["input"].change == 50 and row.tokens["input"].pct == pytest.approx(50.0)
    assert row.tokens["output"].change == -20 and row.tokens["output"].pct == pytest.approx(-50)
    assert row.tokens["cache_read"].change == 30 and row.tokens["cache_read"].pct is None
    assert row.tokens["total"].left == 140 and row.tokens["total"].right == 170
    assert row.outcome_changed


def test_one_sided_rows_have_unknown_deltas_and_no_diffs() -> None:
    rows = [compare_pair(p) for p in align_actions([_action("a")], [])]
    assert rows[0].inputs is None and rows[0].output_words is None
    assert rows[0].cost_usd == Delta(0.01, None) and rows[0].cost_usd.change is None
    assert not rows[0].outcome_changed


def test_an_unknown_cost_is_never_taken_for_zero() -> None:
    left = _action("call_llm", cost_usd=None, cost_source="unknown")
    right = _action("call_llm", cost_usd=0.03, cost_source="estimated")
    row = compare_pair(align_actions([left], [right])[0])
    assert row.cost_usd.left is None and row.cost_usd.change is None
    # A figure whose source says unknown is not a known cost either.
    view = action_view({"name": "x", "cost_usd": "0.5", "cost_source": "unknown"})
    assert view.cost_usd == 0.5 and view.known_cost is None


def test_delta_percent_needs_a_known_nonzero_left() -> None:
    assert Delta(0.0, 1.0).pct is None and Delta(0.0, 1.0).change == 1.0
    assert Delta(None, 1.0).change is None
    assert Delta(-2.0, -1.0).pct == pytest.approx(50.0)
    assert Delta(4, 3).as_dict(0) == {"left": 4, "right": 3, "change": -1, "pct": -25.0}


# -- totals ---------------------------------------------------------------------------------------


def test_totals_of_two_records() -> None:
    left = _run("a", cost_usd=0.02, duration_ns=1_500_000_000, action_count=4, success_count=3)
    right = _run(
        "b",
        cost_usd=0.03,
        cost_source="estimated",
        duration_ns=1_200_000_000,
        usage=TokenUsage(120, 45, 0, 8, 5),
        action_count=5,
        success_count=5,
    )
    comparison = build_run_comparison(
        left,
        right,
        left_actions=[_action("plan"), _action("search", 2), _action("answer", 3)],
        right_actions=[_action("plan"), _action("answer", 2, outputs={"text": "new"})],
    )
    totals = comparison.totals
    assert totals.cost_usd.change == pytest.approx(0.01)
    assert totals.cost_usd.pct == pytest.approx(50.0)
    assert totals.duration_ms.change == pytest.approx(-300.0)
    assert totals.duration_ms.pct == pytest.approx(-20.0)
    assert {k: d.change for k, d in totals.tokens.items()} == {
        "input": 20,
        "output": -5,
        "cache_read": -10,
        "cache_write": 8,
        "reasoning": 0,
        "total": 15,
    }
    assert totals.action_count.change == 1
    assert totals.success_rate.left == 0.75 and totals.success_rate.change == pytest.approx(0.25)
    assert dict(totals.rows) == {SAME: 1, CHANGED: 1, ONLY_LEFT: 1, ONLY_RIGHT: 0}
    assert [r.status for r in comparison.actions] == [SAME, ONLY_LEFT, CHANGED]
    assert comparison.notes == ()


def test_a_partly_unknown_run_cost_gives_no_cost_delta_and_says_so() -> None:
    comparison = build_run_comparison(_run("a", cost_source="unknown"), _run("b"))
    assert comparison.left.cost_usd == 0.02 and comparison.totals.cost_usd.change is None
    assert comparison.notes == ("The left run's cost is partly unknown (at least $0.020000).",)


def test_records_and_their_run_json_give_the_same_comparison() -> None:
    left, right = _run("a"), _run("b", cost_usd=0.05, duration_ns=2_000_000_000)
    left_actions = [_action("plan"), _action("answer", 2)]
    right_actions = [_action("plan", cost_usd=0.04), _action("answer", 2)]
    from_records = build_run_comparison(
        left, right, left_actions=left_actions, right_actions=right_actions
    ).as_dict()
    from_json = build_run_comparison(
        run_to_json(left, left_actions), run_to_json(right, right_actions)
    ).as_dict()
    assert from_json == from_records


# -- numbers that crossed a boundary --------------------------------------------------------------


def _stringly_run(run_id: str, cost: object, duration: object, tokens: object) -> dict[str, Any]:
    return {
        "id": run_id,
        "status": "completed",
        "cost_usd": cost,
        "cost_source": "provider",
        "duration_ms": duration,
        "tokens": tokens,
        "action_count": "2",
        "success_rate": "0.5",
        "actions": [
            {
                "seq": "1",
                "name": "call_llm",
                "outcome": "success",
                "cost_usd": "0.014200",
                "cost_source": "provider",
                "duration_ms": "250.5",
                "tokens": {"input": "120", "output": "30.0", "cache_read": None},
                "inputs": {"prompt": "hi"},
                "outputs": {"text": "hello"},
            },
            {"seq": 2, "name": "search", "outcome": "error"},
        ],
    }


def test_compare_survives_string_typed_numbers() -> None:
    left = _stringly_run("a", "0.014200", "1200.5", {"input": "120", "output": "30"})
    right = _stringly_run("b", Decimal("0.021300"), 1500, {"input": 150, "output": "$12"})
    right["actions"][0]["cost_usd"] = "0.021300"
    right["actions"][0]["duration_ms"] = 500
    comparison = build_run_comparison(left, right)
    totals = comparison.totals
    assert totals.cost_usd.left == pytest.approx(0.0142)
    assert totals.cost_usd.change == pytest.approx(0.0071)
    assert totals.cost_usd.pct == pytest.approx(50.0)
    assert totals.duration_ms.change == pytest.approx(299.5)
    assert totals.tokens["input"].change == 30
    assert totals.tokens["output"].left == 30 and totals.tokens["output"].right == 12
    assert totals.action_count.change == 0 and totals.success_rate.change == 0
    call = comparison.actions[0]
    assert call.left is not None and call.left.seq == 1 and call.left.tokens.total == 150
    assert call.cost_usd.change == pytest.approx(0.0071)
    assert call.duration_ms.change == pytest.approx(249.5)
    assert call.tokens["cache_read"].left is None
    json.dumps(comparison.as_dict(), allow_nan=False)


@pytest.mark.parametrize(
    "garbage",
    [None, "", "n/a", "0,5", float("nan"), float("inf"), "NaN", [], {}, True, object()],
)
def test_unreadable_numbers_are_unknown_not_zero(garbage: object) -> None:
    run = {
        "id": "x",
        "cost_usd": garbage,
        "cost_source": garbage,
        "duration_ms": garbage,
        "ttft_ms": garbage,
        "tokens": {"input": garbage, "output": garbage},
        "action_count": garbage,
        "success_rate": garbage,
        "status": garbage,
        "actions": [
            {
                "name": garbage,
                "seq": garbage,
                "cost_usd": garbage,
                "duration_ms": garbage,
                "tokens": garbage,
                "inputs": garbage,
                "outputs": garbage,
            }
        ],
    }
    comparison = build_run_comparison(run, _stringly_run("b", "0.02", "10", {"input": "1"}))
    view = comparison.left
    assert view.duration_ms is None and view.ttft_ms is None
    assert view.tokens.input is None and view.tokens.total is None
    assert comparison.totals.cost_usd.change is None
    assert comparison.totals.duration_ms.change is None
    assert comparison.actions[0].cost_usd.left is None
    json.dumps(comparison.as_dict(), allow_nan=False)
    stats = group_stats([run, run], label="garbage")
    assert stats.runs == 2 and stats.duration_ms.n == 0 and stats.cost_usd.mean is None
    json.dumps(stats.as_dict(), allow_nan=False)


def test_missing_fields_and_non_dict_items_never_crash() -> None:
    comparison = build_run_comparison({}, {"actions": [None, 7, "text", {"name": "a"}]})
    assert [r.status for r in comparison.actions] == [ONLY_RIGHT] * 4
    assert [r.name for r in comparison.actions] == ["(unnamed)"] * 3 + ["a"]
    assert comparison.left.action_count is None and comparison.right.action_count == 4
    assert comparison.right.success_rate is None  # no action says how it went
    assert build_run_comparison({"actions": "nope"}, 42).actions == ()  # type: ignore[arg-type]


def test_a_dict_without_run_figures_takes_them_from_its_actions() -> None:
    view = run_view(
        {
            "actions": [
                {"name": "a", "outcome": "success", "cost_usd": "0.01", "cost_source": "provider"},
                {"name": "b", "outcome": "error", "cost_usd": 0.02, "cost_source": "estimated"},
                {"name": "c", "outcome": "success", "tokens": {"input": "5", "output": 1}},
            ]
        }
    )
    assert view.cost_usd == pytest.approx(0.03) and view.cost_source == "estimated"
    assert view.action_count == 3 and view.success_rate == pytest.approx(2 / 3)
    assert view.tokens.input == 5 and view.tokens.output == 1 and view.tokens.reasoning is None


def test_payload_text_never_raises() -> None:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    assert payload_text(None) == ("", False)
    assert payload_text("plain text") == ("plain text", False)
    assert payload_text({1: "a", "b": 2})[0].startswith("{")  # keys that cannot be sorted
    assert payload_text({"nan": float("nan")})[0] == '{\n  "nan": NaN\n}'
    assert payload_text(loop)[0]  # circular: falls back to repr
    assert payload_text({"b": b"\x00"})[0] == '{\n  "b": "b\'\\\\x00\'"\n}'
    text, cut = payload_text("x" * 20, limit=5)
    assert text == "xxxxx" and cut


def test_nan_payloads_on_both_sides_are_the_same() -> None:
    left = [{"name": "a", "outputs": {"score": float("nan")}}]
    right = [{"name": "a", "outputs": {"score": float("nan")}}]
    assert align_actions(left, right)[0].status == SAME


def test_outputs_beyond_the_word_diff_limit_get_a_line_diff_only() -> None:
    long_text = "word " * (MAX_WORD_DIFF_CHARS // 5 + 1)
    row = compare_pair(
        align_actions([{"name": "a", "outputs": long_text}], [{"name": "a", "outputs": "x"}])[0]
    )
    assert row.outputs is not None and row.outputs.changed and row.output_words is None


def test_long_outputs_get_a_word_diff_in_bounded_time() -> None:
    lines = [f"line {i} says the same thing as before" for i in range(2_000)]
    changed = list(lines)
    changed[700] = "line 700 says something different now"
    changed[1500:1510] = ["a whole new paragraph " * 20] * 10  # a big block: kept whole
    started = time.perf_counter()
    pieces = word_pieces("\n".join(lines), "\n".join(changed))
    assert time.perf_counter() - started < 2.0
    assert "".join(p.text for p in pieces if p.op != "insert") == "\n".join(lines)
    assert "".join(p.text for p in pieces if p.op != "delete") == "\n".join(changed)
    inserted = {p.text.strip() for p in pieces if p.op == "insert"}
    assert {"something", "different", "now"} <= inserted  # word by word inside the changed line


# -- groups ---------------------------------------------------------------------------------------


def test_summary_mean_median_and_nearest_rank_p95() -> None:
    values = [float(v) for v in range(1, 21)]  # 1..20
    summary = Summary.of([*values, None, math.nan])
    assert summary == Summary(20, 10.5, 10.5, 19.0)  # ceil(0.95 * 20) = 19th smallest
    assert Summary.of([5.0]) == Summary(1, 5.0, 5.0, 5.0)
    assert Summary.of([]) == Summary(0, None, None, None)


def _group_run(
    run_id: str,
    status: str,
    duration_ms: float | None,
    cost: float | None,
    source: str | None,
    tokens: tuple[int, int],
    actions: list[tuple[str, str, float, float | None]],
) -> dict[str, Any]:
    return {
        "id": run_id,
        "status": status,
        "duration_ms": None if duration_ms is None else str(duration_ms),
        "cost_usd": None if cost is None else f"{cost:.6f}",
        "cost_source": source,
        "tokens": {"input": str(tokens[0]), "output": tokens[1]},
        "action_count": len(actions),
        "actions": [
            {
                "name": name,
                "outcome": outcome,
                "duration_ms": duration,
                "cost_usd": action_cost,
                "cost_source": "provider" if action_cost is not None else "unknown",
            }
            for name, outcome, duration, action_cost in actions
        ],
    }


def test_group_stats_and_deltas_against_hand_computed_numbers() -> None:
    before = [
        _group_run(
            "b1",
            "completed",
            1000,
            0.01,
            "provider",
            (100, 20),
            [("call_llm", "success", 900, 0.01)],
        ),
        _group_run(
            "b2", "failed", 3000, 0.03, "estimated", (300, 0), [("call_llm", "error", 2900, 0.03)]
        ),
        _group_run(
            "b3",
            "completed",
            2000,
            None,
            "unknown",
            (200, 40),
            [("call_llm", "success", 1900, None)],
        ),
    ]
    after = [
        _group_run(
            "a1",
            "completed",
            500,
            0.002,
            "estimated",
            (50, 10),
            [("call_llm", "success", 300, 0.002), ("search", "success", 100, None)],
        ),
        _group_run(
            "a2",
            "completed",
            700,
            0.004,
            "estimated",
            (70, 30),
            [("call_llm", "success", 500, 0.004), ("search", "error", 150, None)],
        ),
    ]
    left = group_stats(before, label="v1")
    right = group_stats(after, label="v2")
    assert left.runs == 3 and dict(left.statuses) == {"completed": 2, "failed": 1}
    assert left.success_rate == pytest.approx(2 / 3)
    assert left.duration_ms == Summary(3, 2000.0, 2000.0, 3000.0)
    assert left.cost_usd.n == 2 and left.cost_usd.mean == pytest.approx(0.02)
    assert left.cost_usd.median == pytest.approx(0.02)
    assert left.cost_total_usd == pytest.approx(0.04)
    assert dict(left.cost_sources) == {
        "provider": 1,
        "estimated": 1,
        "local": 0,
        "unknown": 1,
        "none": 0,
    }
    assert left.tokens_per_run["input"] == pytest.approx(200.0)
    assert left.tokens_per_run["total"] == pytest.approx(220.0)
    assert left.actions_per_run == 1.0 and left.action_runs == 3
    (call,) = left.actions
    assert (call.name, call.count, call.runs, call.errors) == ("call_llm", 3, 3, 1)
    assert call.error_rate == pytest.approx(1 / 3)
    assert call.mean_duration_ms == pytest.approx(1900.0)
    assert call.mean_cost_usd == pytest.approx(0.02)

    comparison = build_group_comparison(left, right)
    assert comparison.runs.change == -1
    assert comparison.success_rate.change == pytest.approx(1 / 3)
    assert comparison.duration_mean_ms.right == pytest.approx(600.0)
    assert comparison.duration_mean_ms.pct == pytest.approx(-70.0)
    assert comparison.duration_p95_ms.change == pytest.approx(-2300.0)
    assert comparison.cost_mean_usd.right == pytest.approx(0.003)
    assert comparison.cost_mean_usd.pct == pytest.approx(-85.0)
    assert comparison.tokens_per_run["input"].change == pytest.approx(-140.0)
    assert comparison.actions_per_run.change == pytest.approx(1.0)
    by_name = {a.name: a for a in comparison.actions}
    assert [a.name for a in comparison.actions] == ["call_llm", "search"]
    assert by_name["call_llm"].count.change == -1
    assert by_name["call_llm"].mean_duration_ms.change == pytest.approx(-1500.0)
    assert by_name["call_llm"].error_rate.change == pytest.approx(-1 / 3)
    search = by_name["search"]
    assert search.left is None and search.count == Delta(0, 2)
    assert search.per_run.change == pytest.approx(1.0)
    assert search.error_rate.left is None and search.right is not None
    assert search.right.error_rate == 0.5 and search.mean_cost_usd.right is None
    assert comparison.notes == (
        "v1: cost unknown or not recorded for 1 of 3 runs; cost figures cover the rest.",
    )
    json.dumps(comparison.as_dict(), allow_nan=False)


def test_group_actions_come_from_a_mapping_for_records() -> None:
    runs = [_run("r1", action_count=2), _run("r2", action_count=1), _run("r3", action_count=1)]
    actions = {"r1": [_action("plan"), _action("answer", 2)], "r2": [_action("plan")]}
    stats = group_stats(runs, label="records", actions_by_run=actions)
    assert stats.action_runs == 2  # r3's actions were not read
    assert [(a.name, a.count, a.per_run) for a in stats.actions] == [
        ("plan", 2, 1.0),
        ("answer", 1, 0.5),
    ]
    comparison = build_group_comparison(stats, group_stats([], label="empty"))
    assert "records: action figures cover 2 of 3 runs." in comparison.notes
    assert "empty: no runs." in comparison.notes
    assert comparison.success_rate.right is None and comparison.runs.change == -3


def test_action_to_json_round_trips_through_the_view() -> None:
    record = _action("call_llm", ttft_ns=50_000_000, usage=TokenUsage(10, 5, 2, 1, 3))
    from_record, from_json = action_view(record), action_view(action_to_json(record))
    assert from_json == from_record
    assert from_record.ttft_ms == 50.0 and from_record.tokens.as_dict() == {
        "input": 10,
        "output": 5,
        "cache_read": 2,
        "cache_write": 1,
        "reasoning": 3,
        "total": 15,
    }
