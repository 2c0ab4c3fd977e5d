"""Determinism analysis, the pure part: patterns, cross-run variation, scoring, bands."""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import pytest

from ato_desktop.core.determinism import (
    MIN_DEDUCTION,
    PATTERNS,
    SEVERITY_WEIGHTS,
    Finding,
    IssueType,
    RunDigest,
    Severity,
    agent_report,
    band_for,
    digest_run,
    run_report,
    score_findings,
)
from ato_desktop.core.records import NewAction
from tests.support.determinism_runs import (
    CUSTOMER,
    NOW,
    NOW_ISO,
    ORDER,
    USER,
    as_records,
    call_id,
    clean_run,
    llm,
    pattern_cases,
    tool,
    with_extra,
)

DAY = 86_400_000


def _digest(run_id: str, actions: list[NewAction], at: int = NOW) -> RunDigest:
    return digest_run(run_id, as_records(run_id, actions), at)


def _summary(findings: tuple[Finding, ...] | list[Finding]) -> list[tuple[str, str, str, str]]:
    return [(f.pattern, f.issue_type.value, f.severity.value, f.action_name) for f in findings]


def _single(actions: list[NewAction]) -> tuple[Finding, ...]:
    return _digest("run-x", actions).findings


# -- a clean run -----------------------------------------------------------------------------------


def test_a_clean_run_has_no_findings_and_scores_100() -> None:
    history = [_digest(f"old-{i}", clean_run(at=NOW - (i + 1) * DAY)) for i in range(3)]
    report = run_report(_digest("run-clean", clean_run()), history)
    assert report.findings == ()
    assert report.score == 100
    assert report.band.colour == "green" and report.band.label == "Highly deterministic"
    # Every action was compared with identical calls in the history (the provider's tool call
    # ids differ on every run and are left out of the comparison).
    assert report.comparisons == 5
    assert report.history_runs == 3
    assert {s.name: (s.compared, s.varying) for s in report.action_stats} == {
        "call_llm": (3, 0),
        "get_order": (1, 0),
        "get_customer": (1, 0),
    }


# -- each pattern, exactly once --------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(pattern_cases()))
def test_each_pattern_is_found_once_with_its_type_severity_and_action(case: str) -> None:
    extra, pattern, issue_type, severity, action, path, line = pattern_cases()[case]
    digest = _digest("run-p", with_extra(clean_run(), extra))
    assert len(digest.findings) == 1, digest.findings
    finding = digest.findings[0]
    assert (finding.pattern, finding.issue_type.value, finding.severity.value) == (
        pattern,
        issue_type,
        severity,
    )
    assert (finding.action_name, finding.action_seq, finding.run_id) == (action, 6, "run-p")
    assert (finding.path, finding.line) == (path, line)
    assert finding.title == PATTERNS[pattern].title
    assert finding.evidence and finding.description and finding.recommendation
    assert finding.before_snippet.strip() and finding.after_snippet.strip()
    assert finding.before_snippet != finding.after_snippet
    report = run_report(digest, [])
    weight = SEVERITY_WEIGHTS[Severity(severity)]
    assert report.findings[0].deduction == weight
    assert report.score == 100 - weight


def test_the_spec_example_reads_as_the_spec_says() -> None:
    extra = pattern_cases()["timestamp"][0]
    (finding,) = _digest("run-s", with_extra(clean_run(), extra)).findings
    assert finding.title == "Timestamp in output"
    assert finding.severity is Severity.HIGH
    assert finding.description == (
        f'Output contains current timestamp ("{NOW_ISO}") which will differ on replay.'
    )
    assert finding.recommendation == "Pass timestamp as input parameter instead."
    assert "datetime.now" in finding.before_snippet
    assert "generated_at: datetime" in finding.after_snippet
    assert NOW_ISO in finding.evidence


def test_a_timestamp_with_a_clock_word_counts_whenever_it_is() -> None:
    report_tool = tool(
        "generate_report",
        {"order_id": "4821"},
        None,
        content="Report generated at 2024-12-28T14:30:00Z",
    )
    findings = _single(with_extra(clean_run(), report_tool))
    assert _summary(findings) == [("timestamp_current", "timestamp", "high", "generate_report")]


def test_a_coding_agents_command_that_reads_the_clock() -> None:
    step = NewAction(
        name="command",
        kind="command",
        outcome="success",
        started_at=NOW,
        ended_at=NOW + 40,
        inputs={"command": "date"},
        outputs={"output": "Mon Sep 21 14:13:20 UTC 2026\n", "exit_code": 0},
        meta={"step_kind": "command"},
    )
    (finding,) = _single([step])
    assert (finding.pattern, finding.path, finding.line) == (
        "timestamp_current",
        "outputs.output",
        1,
    )


def test_the_model_is_given_prompt_advice_and_tools_code_advice() -> None:
    model = _single([llm([{"role": "user", "content": "Status?"}], f"Checked at {NOW_ISO}.")])
    code = _single([tool("status", {"q": 1}, None, content=f"Checked at {NOW_ISO}.")])
    assert model[0].pattern == code[0].pattern == "timestamp_current"
    assert "prompt" in model[0].recommendation and "messages" in model[0].after_snippet
    assert model[0].recommendation != code[0].recommendation


def test_repeats_in_one_action_are_one_finding_with_a_count() -> None:
    text = (
        "Case 5f0c8e2a-1b3d-4c7e-9f6a-2d8b4e1c7a93 and case 0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a."
    )
    (finding,) = _single([llm([{"role": "user", "content": "Open two cases."}], text)])
    assert finding.pattern == "uuid" and finding.occurrences == 2
    assert finding.evidence.startswith("Case 5f0c8e2a")
    assert "(and 1 more in this run)" in finding.description


# -- false positives -------------------------------------------------------------------------------


def test_a_date_the_user_typed_is_not_the_model_reading_a_clock() -> None:
    user = {"role": "user", "content": "Book the meeting for 2024-12-28T14:30:00Z, please."}
    answer = "Done: the meeting is on December 28, 2024 at 14:30:00 UTC (2024-12-28T14:30:00Z)."
    assert _single([llm([user], answer)]) == ()


def test_prices_and_short_decimals_are_not_float_noise() -> None:
    quote = tool(
        "quote",
        {"sku": "KB-204", "qty": 3},
        {"price": 19.99, "discount": 1.5, "total": 129.99, "tax_rate": 0.0825, "weight_kg": 0.2},
        content="3 x 19.99 USD, 1.5 off, total 129.99 (tax 8.25%)",
    )
    answer = llm([{"role": "user", "content": "Price?"}], "That is $129.99, or 43.33 each.")
    assert _single([quote, answer]) == ()


def test_ids_passed_along_are_not_random_values() -> None:
    # The clean run: get_order returns the customer's UUID, the model passes it to get_customer.
    actions = clean_run()
    assert CUSTOMER in json.dumps(as_records("r", actions)[2].outputs)
    assert _single(actions) == ()


def test_data_in_tool_outputs_is_not_the_clock_or_randomness() -> None:
    events = [
        {
            "id": "0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a",
            "timestamp": "2026-09-21T13:55:02Z",  # minutes before the call: an event, not "now"
            "created_at": 1_789_996_400,  # an hour before the call
            "sha": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
            "score": 0.8734219074249268,  # a float32 relevance score, not random()
        }
    ]
    search = tool("search_events", {"q": "deploy"}, {"events": events})
    findings = _single([search])
    # The float32 score is a precision artefact (Low), nothing else is a finding.
    assert _summary(findings) == [
        ("float_unrounded", "floating_point", "low", "search_events"),
    ]


def test_ordinary_prose_is_not_a_finding() -> None:
    text = (
        "Now, let me check. Call us at 2125551234 or visit 192.168.1.10; version 1.2.3 "
        "fixed it. In Java: char[] c = {'a', 'b'}; pi is 3.14159."
    )
    assert _single([llm([{"role": "user", "content": "Help"}], text)]) == ()


def test_relative_time_in_the_question_allows_it_in_the_answer() -> None:
    user = {"role": "user", "content": "What is on my calendar today?"}
    assert _single([llm([user], "Today you have two meetings.")]) == ()


def test_the_tool_call_ids_the_provider_mints_are_not_random_values() -> None:
    calls = [{"id": "toolu_01A09q90qw90lq917835lq9X", "name": "lookup", "arguments": {"q": 1}}]
    assert _single([llm([{"role": "user", "content": "Look"}], "", tool_calls=calls)]) == ()


@pytest.mark.parametrize(
    "arguments",
    [
        {"to": "a@b.c", "idempotency_key": "mail:4821"},
        {"to": "a@b.c", "requestId": "4821-confirmation"},
        {"to": "a@b.c", "headers": {"Idempotency-Key": "mail:4821"}},
        {"to": "a@b.c", "options": {"client_token": "4821"}},
    ],
)
def test_a_side_effect_with_an_idempotency_key_is_fine(arguments: dict[str, Any]) -> None:
    send = tool("send_email", arguments, {"sent": True}, read_only=False)
    assert _single([send]) == ()


def test_only_side_effects_that_ran_count() -> None:
    read_only = tool("get_order", {"order_id": "1"}, {"id": "1"}, read_only=True)
    unknown = tool("mystery", {"x": 1}, {"ok": True}, read_only=None)
    denied = tool("send_email", {"to": "a@b.c"}, None, read_only=False, outcome="blocked")
    assert _single([read_only, unknown, denied]) == ()


# -- measured non-determinism ----------------------------------------------------------------------


def test_identical_inputs_with_different_outputs_across_runs_are_found() -> None:
    before = _digest("run-before", clean_run(at=NOW - DAY), NOW - DAY)
    delivered = {**ORDER, "status": "delivered"}
    report = run_report(_digest("run-now", clean_run(order=delivered)), [before])
    assert _summary(report.findings) == [
        ("output_varies", "nondeterministic_output", "high", "get_order")
    ]
    (finding,) = report.findings
    assert finding.action_seq == 2 and finding.related_run_id == "run-before"
    assert "delivered" in finding.evidence and "shipped" in finding.evidence
    # The tool's JSON text is compared as JSON: the path names the field that differs.
    assert finding.path == "outputs.content.status" and finding.line == 1
    assert "2 different outputs across 2 recorded runs" in finding.description
    assert report.score == 100 - SEVERITY_WEIGHTS[Severity.HIGH]
    stats = {s.name: s for s in report.action_stats}
    assert (stats["get_order"].compared, stats["get_order"].varying) == (1, 1)
    assert stats["get_order"].consistency == 0


def test_a_different_tool_choice_for_identical_input_is_critical() -> None:
    before = _digest("run-before", clean_run(at=NOW - DAY), NOW - DAY)
    other_call = {"id": call_id(), "name": "shop__get_customer", "arguments": {"email": "a@b.c"}}
    report = run_report(_digest("run-now", clean_run(first_call=other_call)), [before])
    assert _summary(report.findings) == [
        ("tool_calls_vary", "nondeterministic_output", "critical", "call_llm")
    ]
    (finding,) = report.findings
    assert (finding.action_seq, finding.path) == (1, "outputs.tool_calls")
    assert "this run called get_customer" not in finding.description  # names as the model saw
    assert "this run called shop__get_customer(email=a@b.c)" in finding.description
    assert "shop__get_order(order_id=4821)" in finding.evidence
    assert report.score == 100 - SEVERITY_WEIGHTS[Severity.CRITICAL]
    assert report.band.colour == "orange"


def test_a_different_answer_to_the_same_conversation_is_found_at_its_line() -> None:
    # The evidence compares with the most recent run whose output differs (run-b).
    oldest = _digest("run-a", clean_run(at=NOW - 2 * DAY), NOW - 2 * DAY)
    answer = "Your order 4821 shipped.\nIt is with UPS.\nIt arrives on Friday."
    report = run_report(
        _digest("run-now", clean_run(answer="Your order 4821 shipped.\nIt is with DHL.")),
        [_digest("run-b", clean_run(answer=answer, at=NOW - DAY), NOW - DAY), oldest],
    )
    (finding,) = report.findings
    assert (finding.pattern, finding.action_seq, finding.path, finding.line) == (
        "output_varies",
        5,
        "outputs.text",
        2,
    )
    assert "3 different outputs across 3 recorded runs" in finding.description
    assert finding.related_run_id == "run-b" and "DHL" in finding.evidence
    assert "temperature=0" in finding.after_snippet


def test_the_same_items_in_another_order_is_an_ordering_finding() -> None:
    before = _digest("run-before", clean_run(at=NOW - DAY), NOW - DAY)
    shuffled = copy.deepcopy(ORDER)
    shuffled["items"].reverse()
    report = run_report(_digest("run-now", clean_run(order=shuffled)), [before])
    assert _summary(report.findings) == [
        ("order_varies", "unordered_collection", "medium", "get_order")
    ]
    assert report.findings[0].path == "outputs.content.items"
    assert "KB-204" in report.findings[0].evidence


def test_the_same_keys_in_another_order_is_an_ordering_finding() -> None:
    before = _digest("run-before", clean_run(at=NOW - DAY), NOW - DAY)
    reordered = dict(reversed(list(ORDER.items())))
    report = run_report(_digest("run-now", clean_run(order=reordered)), [before])
    assert _summary(report.findings) == [
        ("order_varies", "unordered_collection", "medium", "get_order")
    ]


def test_failed_and_unrelated_calls_are_not_compared() -> None:
    failed = [
        NewAction(
            name="get_order",
            kind="tool",
            outcome="error",
            started_at=NOW,
            inputs={"order_id": "4821"},
            outputs={"content": "timeout"},
            meta={"tool_call_id": "x", "server": "shop", "read_only": True},
        )
    ]
    other = [tool("get_order", {"order_id": "9999"}, {"id": "9999", "status": "lost"})]
    target = _digest("run-now", clean_run())
    report = run_report(target, [_digest("run-a", failed), _digest("run-b", other)])
    assert report.findings == () and report.comparisons == 0


# -- scoring ---------------------------------------------------------------------------------------


def _finding(pattern: str, seq: int, run_id: str = "r") -> Finding:
    spec = PATTERNS[pattern]
    return Finding(
        action_name=f"action{seq}",
        action_seq=seq,
        run_id=run_id,
        issue_type=spec.issue_type,
        severity=spec.severity,
        pattern=pattern,
        title=spec.title,
        description="",
        evidence="",
        path=None,
        line=None,
        recommendation=spec.recommendation,
        before_snippet=spec.before,
        after_snippet=spec.after,
    )


def test_no_finding_no_deduction() -> None:
    assert score_findings([]) == (100, ())


def test_repeats_of_an_issue_type_deduct_less_and_less() -> None:
    findings = [_finding("side_effect", seq) for seq in (1, 2, 3)] + [_finding("uuid", 4)]
    score, scored = score_findings(findings)
    by_seq = {f.action_seq: f.deduction for f in scored}
    assert by_seq == {1: 16, 2: 8, 3: 4, 4: 16}
    assert score == 100 - 44


def test_the_most_severe_finding_of_a_type_takes_the_full_weight() -> None:
    score, scored = score_findings([_finding("relative_date", 1), _finding("timestamp_current", 2)])
    assert [(f.pattern, f.deduction) for f in scored] == [
        ("timestamp_current", 16),
        ("relative_date", 2),
    ]
    assert score == 82


def test_every_listed_finding_deducts_at_least_the_minimum() -> None:
    score, scored = score_findings([_finding("relative_date", seq) for seq in range(1, 8)])
    assert [f.deduction for f in scored] == [4, 2, 1, 0.5, 0.5, 0.5, 0.5]
    assert MIN_DEDUCTION == 0.5 and score == 100 - 9


def test_a_score_below_zero_is_clamped_and_its_deductions_scaled_to_100() -> None:
    patterns = ["tool_calls_vary", "side_effect", "uuid", "timestamp_current", "set_repr"]
    findings = [_finding(p, seq) for seq, p in enumerate(patterns * 3, 1)]
    score, scored = score_findings(findings)
    assert score == 0
    assert sum(f.deduction for f in scored) == pytest.approx(100)
    assert all(f.deduction > 0 for f in scored)


def test_the_score_is_100_minus_the_listed_deductions() -> None:
    extras = [pattern_cases()[name][0] for name in ("timestamp", "uuid", "side_effect", "epoch")]
    report = run_report(_digest("run-m", with_extra(clean_run(), *extras)), [])
    assert len(report.findings) == 4
    assert report.score == 100 - sum(f.deduction for f in report.findings)
    # Two timestamps (16, then 8), a UUID (16), a side effect (16).
    assert sorted(f.deduction for f in report.findings) == [8, 16, 16, 16]
    assert report.score == 44 and report.band.label == "Highly non-deterministic"


@pytest.mark.parametrize(
    ("score", "colour", "label"),
    [
        (100, "green", "Highly deterministic"),
        (90, "green", "Highly deterministic"),
        (89.5, "yellow", "Moderately deterministic"),
        (70, "yellow", "Moderately deterministic"),
        (69, "orange", "Low determinism"),
        (50, "orange", "Low determinism"),
        (49.5, "red", "Highly non-deterministic"),
        (0, "red", "Highly non-deterministic"),
    ],
)
def test_bands(score: float, colour: str, label: str) -> None:
    band = band_for(score)
    assert (band.colour, band.label) == (colour, label)


# -- reports ---------------------------------------------------------------------------------------


def test_the_report_is_json() -> None:
    extra = pattern_cases()["timestamp"][0]
    report = run_report(_digest("run-j", with_extra(clean_run(), extra)), [])
    data = json.loads(json.dumps(report.as_dict()))
    assert data["score"] == 84 and data["band"]["colour"] == "yellow"
    assert data["findings_by_severity"] == {"critical": 0, "high": 1, "medium": 0, "low": 0}
    (finding,) = data["findings"]
    assert finding["issue"] == "Timestamp in output" and finding["action"] == "generate_report"
    assert finding["severity"] == "high" and finding["line"] == 3
    assert finding["deduction"] == 16 and finding["before"] and finding["after"]
    assert data["scoring"]["weights"] == {"critical": 32, "high": 16, "medium": 8, "low": 4}


def test_an_agent_score_is_the_mean_of_its_runs_explained_by_its_findings() -> None:
    side_effect = pattern_cases()["side_effect"][0]
    digests = [
        _digest("run-3", with_extra(clean_run(at=NOW), side_effect), NOW),
        _digest("run-2", with_extra(clean_run(at=NOW - DAY), side_effect), NOW - DAY),
        _digest("run-1", clean_run(at=NOW - 2 * DAY), NOW - 2 * DAY),
        _digest("run-0", clean_run(at=NOW - 3 * DAY), NOW - 3 * DAY),
    ]
    report = agent_report("support", digests, agent_id="agent-1")
    assert [r.score for r in report.runs] == [84, 84, 100, 100]
    assert report.score == 92 and report.band.colour == "green"
    (finding,) = report.findings
    assert finding.pattern == "side_effect" and finding.issue_type is IssueType.EXTERNAL_STATE
    assert (finding.runs_affected, finding.occurrences) == (2, 2)
    assert finding.deduction == pytest.approx(8)
    assert report.score == pytest.approx(100 - report.deductions_total)
    stats = {s.name: s for s in report.action_stats}
    assert stats["send_email"].runs == 2 and stats["send_email"].deduction == pytest.approx(8)
    assert stats["get_order"].compared == 4 and stats["get_order"].varying == 0
    assert report.runs_analysed == 4 and report.actions_analysed == 22


def test_an_agent_whose_tool_answers_vary_between_runs() -> None:
    statuses = ["shipped", "delivered", "shipped"]
    digests = [
        _digest(f"run-{i}", clean_run(order={**ORDER, "status": s}, at=NOW - i * DAY))
        for i, s in enumerate(statuses)
    ]
    report = agent_report("support", digests)
    (finding,) = report.findings
    assert (finding.pattern, finding.action_name, finding.runs_affected) == (
        "output_varies",
        "get_order",
        3,
    )
    assert report.score == 84  # every run differs from another one
    stats = {s.name: s for s in report.action_stats}
    assert (stats["get_order"].compared, stats["get_order"].varying) == (3, 3)


def test_an_agent_with_no_runs_scores_100() -> None:
    report = agent_report("idle", [])
    assert report.score == 100 and report.findings == () and report.runs_analysed == 0


def test_every_pattern_has_advice() -> None:
    for key, spec in PATTERNS.items():
        assert spec.title and spec.recommendation, key
        assert spec.before.strip() and spec.after.strip() and spec.before != spec.after, key


def test_the_user_prompt_constant_is_what_the_runs_send() -> None:
    # Guards the fixtures: the clean run's first call carries the user's prompt unchanged.
    first = as_records("r", clean_run())[0]
    assert first.inputs["messages"] == [{"role": "user", "content": USER}]


# -- issue 16.13 / 17.10: forms of the clock, nothing to judge, advice that fits, where ---------


def _command(stdout: str, *, at: int = NOW) -> NewAction:
    """A coding agent's shell step: what it printed is its output."""
    return NewAction(
        name="Bash",
        kind="command",
        outcome="success",
        started_at=at,
        ended_at=at + 800,
        inputs={"command": "./report.sh"},
        outputs={"stdout": stdout, "exit_code": 0},
    )


def test_a_log_lines_timestamp_followed_by_a_colon_is_the_clock() -> None:
    line = f"{NOW_ISO}: job started\nall rows loaded"
    (finding,) = _single([_command(line)])
    assert (finding.pattern, finding.path, finding.line) == (
        "timestamp_current",
        "outputs.stdout",
        1,
    )
    assert NOW_ISO in finding.description
    # The colon rule does not turn a time with more digits into a match of its first part.
    assert _single([_command("2026-09-21T14:13:20:99 build id")]) == ()


def test_a_date_in_a_tools_prose_is_the_day_it_ran_but_a_records_date_is_data() -> None:
    (finding,) = _single([_command("Report for 2026-09-21\n3 jobs done")])
    assert (finding.pattern, finding.line) == ("current_date", 1)
    (finding,) = _single(
        [tool("make_report", {"kind": "daily"}, None, content="Report for 2026-09-21")]
    )
    assert finding.pattern == "current_date"
    # A record's field (and a list of records) holding that date is data, not the clock.
    record = tool("get_invoice", {"id": "7"}, {"id": "7", "due": "2026-09-21"})
    listing = tool("list_events", {"day": "x"}, [{"day": "2026-09-21", "n": 3}])
    assert _single([record, listing]) == ()
    # Another day in prose is a fact the tool reports, not its clock.
    assert _single([_command("Report for 2026-09-14")]) == ()


def test_a_run_that_never_reached_a_model_has_nothing_to_judge() -> None:
    failed = NewAction(
        name="call_llm",
        kind="llm",
        outcome="error",
        started_at=NOW,
        ended_at=NOW + 5,
        inputs={"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": USER}]},
        outputs=None,
        error_class="auth",
        error_message="No API key for anthropic.",
    )
    report = run_report(_digest("run-nokey", [failed]), [])
    assert report.nothing_to_judge and report.runs_judged == 0
    assert "Nothing to judge" in report.unjudged_reason
    data = report.as_dict()
    assert data["score"] is None and data["band"] is None and data["nothing_to_judge"] is True
    # An agent's score is the mean of the runs that produced something: the failure is left out.
    clean = _digest("run-ok", clean_run())
    noisy = _digest("run-noisy", with_extra(clean_run(), _command(f"Generated at {NOW_ISO}.")))
    agent = agent_report("support", [_digest("run-nokey", [failed]), clean, noisy])
    assert agent.runs_judged == 2 and not agent.nothing_to_judge
    judged = [r.score for r in agent.runs if r.judged]
    assert agent.score == pytest.approx(sum(judged) / 2)
    assert [r.judged for r in agent.runs] == [False, True, True]
    nothing = agent_report("support", [_digest("run-nokey", [failed])])
    assert nothing.nothing_to_judge and "the one run analysed" in nothing.unjudged_reason


def _timed_query(elapsed_ms: float, at: int) -> list[NewAction]:
    rows = {"rows": [{"id": 1, "total": 12}, {"id": 2, "total": 7}], "elapsed_ms": elapsed_ms}
    return [tool("run_query", {"sql": "SELECT id, total FROM orders"}, rows, at=at)]


def test_advice_fits_what_differed_and_the_line_is_where_it_sits() -> None:
    from ato_desktop.core.determinism import with_json_lines
    from ato_desktop.core.determinism_catalogue import VARIATION_ADVICE
    from tests.support.determinism_runs import as_records as records

    before = _digest("run-before", _timed_query(12.4, NOW - DAY), NOW - DAY)
    now_actions = records("run-now", _timed_query(9.8, NOW))
    report = run_report(digest_run("run-now", now_actions, NOW), [before])
    (finding,) = report.findings
    assert finding.pattern == "output_varies"
    assert finding.path == "outputs.content.elapsed_ms"
    # A measured duration: not the SQL "ORDER BY" snippet meant for a query's rows.
    assert finding.recommendation == VARIATION_ADVICE["measurement"].recommendation
    assert "ORDER BY" not in finding.after_snippet
    # Where it sits in the output as the inspector shows it: the "content" line (the tool's
    # JSON text is one string there).
    (located,) = with_json_lines(report.findings, now_actions)
    shown = json.dumps(now_actions[0].outputs, indent=2).splitlines()
    assert located.json_line is not None
    assert shown[located.json_line - 1].lstrip().startswith('"content"')
    assert located.doc == "docs/determinism/output_varies.md"

    # Rows that differ for the same query do get the query advice.
    changed = tool("run_query", {"sql": "SELECT id, total FROM orders"}, {"rows": [{"id": 3}]})
    same = tool("run_query", {"sql": "SELECT id, total FROM orders"}, {"rows": [{"id": 4}]})
    (rows_finding,) = run_report(_digest("a", [changed]), [_digest("b", [same])]).findings
    assert rows_finding.recommendation == VARIATION_ADVICE["query"].recommendation


def test_a_structured_findings_line_is_the_line_of_its_value() -> None:
    from ato_desktop.core.determinism import with_json_lines

    epoch = NOW // 1000
    action = dataclasses.replace(
        tool("record_event", {"event": "paid"}, None),
        outputs={"event": "paid", "ts": epoch, "ok": True},
    )
    actions = as_records("run-x", [action])
    (finding,) = with_json_lines(digest_run("run-x", actions, NOW).findings, actions)
    assert finding.pattern == "epoch_current" and finding.line is None
    shown = json.dumps(actions[0].outputs, indent=2).splitlines()
    assert finding.json_line is not None and shown[finding.json_line - 1].strip().startswith('"ts"')
