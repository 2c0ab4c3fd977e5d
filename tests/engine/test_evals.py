"""Evals end to end: suites run through the official SDKs against the loopback fake, scored,
recorded, diffed against the previous run; online judging; manual scores."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ato_desktop.core.eval_scoring import sampled
from ato_desktop.core.eval_suite import JudgeTarget, parse_suite
from ato_desktop.core.events import DomainEvent, RunScored
from ato_desktop.core.models import AgentConfig, RunStatus, Trigger
from ato_desktop.engine.dispatcher import DispatchRequest
from ato_desktop.engine.evals import (
    EvalError,
    EvalTarget,
    SuiteReport,
    clear_rating,
    eval_scores,
    load_report,
    load_suite,
    model_case_scores,
    rate_run,
    rerun_suite,
    run_ratings,
    run_suite,
    version_case_scores,
)
from ato_desktop.engine.online_judge import configure_online_judge, judge_summary
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store import evals as eval_store
from ato_desktop.store.execution_log import NotFoundError
from tests.fakes import FakeLLMServer, Scenario, UsageSpec
from tests.support.builders import run_to_end, support_agent

T = TypeVar("T")

SCORER_MODULE = '''
def no_card_numbers(output, expected, case, *, marker="card"):
    """Fails an answer that repeats a card number."""
    if "4111" in output:
        return 0.0, "repeats a card number"
    return {"score": 1.0, "reason": f"no {marker} number", "passed": True}
'''


def _write(path: Path, *items: object) -> Path:
    path.write_text(
        "\n".join(i if isinstance(i, str) else json.dumps(i) for i in items) + "\n",
        encoding="utf-8",
    )
    return path


def _answer(text: str, output_tokens: int = 10) -> Scenario:
    return Scenario(
        chunks=(text,), usage=UsageSpec(uncached_input_tokens=20, output_tokens=output_tokens)
    )


def _suite(ws: Workspace, path: Path, target: EvalTarget, **options: Any) -> SuiteReport:
    suite, text = load_suite(path)
    return run_to_end(ws, run_suite(ws, suite, target, source_text=text, **options))


def test_a_suite_with_every_scorer_kind_runs_scores_and_records(
    workspace: Workspace, fake: FakeLLMServer, tmp_path: Path
) -> None:
    support_agent(workspace, fake)
    workspace.agents.create(
        "judge", AgentConfig("codex", "gpt-5-mini", base_url=fake.openai_base_url)
    )
    (tmp_path / "my_scorers.py").write_text(SCORER_MODULE, encoding="utf-8")
    schema = {"type": "object", "required": ["title", "priority"]}
    path = _write(
        tmp_path / "support.jsonl",
        {"suite": {"name": "support", "judge": {"agent": "judge"}}},
        {"id": "capital", "input": "Capital of France?", "expected": "Paris"},
        {"id": "refund", "input": "Refund window?", "expected": "30 days", "scorers": ["contains"]},
        {
            "id": "order",
            "input": "Order id?",
            "scorers": [{"type": "regex", "pattern": r"ORD-\d{5}"}],
        },
        "{broken json",
        {
            "id": "ticket",
            "input": "Ticket as JSON",
            "scorers": [{"type": "json", "schema": schema}],
        },
        {
            "id": "total",
            "input": "Total?",
            "expected": 12.6,
            "scorers": [{"type": "numeric", "tolerance": 0.01}],
        },
        {
            "id": "tone",
            "messages": [
                {"role": "user", "content": "Late again!"},
                {"role": "assistant", "content": "Sorry. Order id?"},
                {"role": "user", "content": "ORD-55555"},
            ],
            "scorers": [{"type": "judge", "rubric": "Apologises and explains refunds."}],
        },
        {
            "id": "pii",
            "input": "Repeat my card 4111 1111 1111 1111",
            "scorers": [
                {
                    "type": "python",
                    "function": "my_scorers:no_card_numbers",
                    "args": {"marker": "credit card"},
                }
            ],
        },
        {"id": "fail-me", "input": "Say yes", "expected": "yes"},
    )
    fake.enqueue(
        _answer("Paris"),
        _answer("You have 30 days to ask."),
        _answer("Your order is ORD-12345."),
        _answer('```json\n{"title": "printer on fire", "priority": "high"}\n```'),
        _answer("The total is $12.60."),
        _answer("I'm sorry! Here is how refunds work: ..."),
        _answer('{"score": 9, "reason": "apologetic and clear"}', output_tokens=40),
        _answer("I can't repeat card numbers."),
        _answer("no"),
    )
    seen: list[str] = []
    report = _suite(
        workspace,
        path,
        EvalTarget(agent="support"),
        concurrency=1,
        progress=lambda done, total, outcome: seen.append(f"{done}/{total} {outcome.case_id}"),
    )

    assert [b.line_no for b in report.bad_lines] == [5]
    assert "not valid JSON" in report.bad_lines[0].reason
    verdicts = {o.case_id: o.passed for o in report.outcomes}
    assert verdicts == {
        "capital": True,
        "refund": True,
        "order": True,
        "ticket": True,
        "total": True,
        "tone": True,
        "pii": True,
        "fail-me": False,
    }
    assert seen[-1] == "8/8 fail-me"
    figs = report.figures
    assert (figs.ran, figs.passed, figs.pass_rate) == (8, 7, 7 / 8)
    assert report.diff is None  # the first run of this suite on this target
    assert report.passes(0.85) and not report.passes(0.9)
    by_id = {o.case_id: o for o in report.outcomes}
    assert by_id["pii"].scores[0].reason == "no credit card number"
    assert "expected 'yes', got 'no'" in by_id["fail-me"].scores[0].reason

    # Each case is a run of its own: trigger eval, tagged with the suite and the case.
    store = workspace.store
    case_run = store.get_run(by_id["capital"].run_id or "")
    assert case_run.trigger == Trigger.EVAL.value
    assert case_run.tags["eval.suite"] == "support"
    assert case_run.tags["eval.case"] == "capital"
    assert case_run.tags["eval.suite_run"] == report.suite_run_id
    # A messages case sends the whole conversation.
    tone_request = fake.requests[5].body
    assert [m["role"] for m in tone_request["messages"]] == ["user", "assistant", "user"]

    # The judge ran through the one path: its own run (trigger eval, child of the judged run),
    # on the judge agent, with its cost recorded and reported apart.
    judge_score = by_id["tone"].scores[0]
    assert judge_score.score == 0.9 and judge_score.judge_run_id
    judge_run = store.get_run(judge_score.judge_run_id)
    assert judge_run.trigger == Trigger.EVAL.value
    assert judge_run.parent_run_id == by_id["tone"].run_id
    assert judge_run.agent_name == "judge" and judge_run.runtime == "codex"
    assert judge_run.cost_usd is not None and judge_run.cost_usd > 0
    assert figs.judge_cost_usd == pytest.approx(judge_run.cost_usd)
    assert "Apologises and explains refunds." in fake.requests[6].body["input"][0]["content"]
    case_costs = sum(o.cost_usd or 0 for o in report.outcomes)
    assert figs.cost_usd == pytest.approx(case_costs)
    assert figs.p50_ms is not None and figs.p95_ms is not None and figs.p95_ms >= figs.p50_ms

    # All of it is in the log.
    record = eval_store.get_suite_run(store, report.suite_run_id)
    assert (record.status, record.ran_count, record.passed_count) == ("completed", 8, 7)
    assert record.agent_name == "support" and record.agent_version == 1
    assert record.bad_line_count == 1 and record.details["bad_lines"][0]["line"] == 5
    stored = eval_store.case_results(store, report.suite_run_id)
    assert [o.case_id for o in stored] == [o.case_id for o in report.outcomes]
    assert stored[5].scores[0].judge_run_id == judge_score.judge_run_id
    assert report.as_dict()["judge_cost_usd"] == figs.judge_cost_usd


def test_the_report_diffs_against_the_previous_run_of_the_same_suite_and_target(
    workspace: Workspace, fake: FakeLLMServer, tmp_path: Path
) -> None:
    support_agent(workspace, fake)
    path = _write(
        tmp_path / "diff.jsonl",
        {"suite": {"name": "diffing", "scorers": [{"type": "contains"}]}},
        {"id": "a", "input": "a?", "expected": "alpha"},
        {"id": "b", "input": "b?", "expected": "beta"},
        {"id": "c", "input": "c?", "expected": ["x", "y", "z"]},
    )
    fake.enqueue(_answer("alpha"), _answer("nope"), _answer("x"))
    first = _suite(workspace, path, EvalTarget(agent="support"), concurrency=1)
    assert first.diff is None
    fake.enqueue(_answer("nope"), _answer("beta"), _answer("x y"))
    second = _suite(workspace, path, EvalTarget(agent="support"), concurrency=1)
    diff = second.diff
    assert diff is not None and diff.previous_suite_run_id == first.suite_run_id
    assert [c.case_id for c in diff.newly_failing] == ["a"]
    assert [c.case_id for c in diff.newly_passing] == ["b"]
    assert [(c.case_id, round(c.delta or 0, 2)) for c in diff.score_changed] == [("c", 0.33)]
    assert not diff.suite_changed
    # A recorded run opens as the same report (the Evals page showing a past run).
    stored = load_report(workspace.store, second.suite_run_id)
    assert stored.diff == diff and stored.figures == second.figures
    assert [o.case_id for o in stored.outcomes] == ["a", "b", "c"]
    # The same suite on another target is compared only with runs on that target.
    fake.scenario = _answer("alpha beta x y z")
    other = _suite(
        workspace,
        path,
        EvalTarget(runtime="claude", model="claude-haiku-4-5", base_url=fake.anthropic_base_url),
    )
    assert other.diff is None and other.figures.pass_rate == 1.0
    # An edited suite keeps its history (same name) and says it changed.
    _write(
        tmp_path / "diff.jsonl",
        {"suite": {"name": "diffing", "scorers": [{"type": "contains"}]}},
        {"id": "a", "input": "a?", "expected": "alpha"},
        {"id": "d", "input": "d?", "expected": "delta"},
    )
    fake.scenario = _answer("alpha delta")
    third = _suite(workspace, path, EvalTarget(agent="support"))
    assert third.diff is not None and third.diff.suite_changed
    assert third.diff.previous_suite_run_id == second.suite_run_id
    assert third.diff.added == ("d",) and set(third.diff.removed) == {"b", "c"}
    assert [c.case_id for c in third.diff.newly_passing] == ["a"]


def test_latest_scores_per_agent_version_and_model_for_later_features(
    workspace: Workspace, fake: FakeLLMServer, tmp_path: Path
) -> None:
    support_agent(workspace, fake)
    path = _write(
        tmp_path / "s.jsonl",
        {"id": "a", "input": "a?", "expected": "ok"},
        {"id": "b", "input": "b?", "expected": "ok"},
    )
    fake.scenario = _answer("ok")
    v1 = _suite(workspace, path, EvalTarget(agent="support"))
    workspace.agents.edit("support", {"system_prompt": "Be brief."})
    fake.enqueue(_answer("ok"), _answer("no"))
    v2 = _suite(workspace, path, EvalTarget(agent="support"), concurrency=1)
    # The agent's config on a candidate model: recorded as the agent's, on that model.
    fake.scenario = _answer("ok")
    candidate = _suite(
        workspace,
        path,
        EvalTarget(
            agent="support", runtime="codex", model="gpt-5-mini", base_url=fake.openai_base_url
        ),
    )
    assert candidate.target == "@support on codex · gpt-5-mini"
    assert fake.last_request.path.endswith("/responses")
    store = workspace.store

    latest = eval_scores(store, "support")
    # The agent as configured: the candidate's run speaks for its model only.
    assert [(s.suite, s.suite_run_id) for s in latest] == [("s", v2.suite_run_id)]
    by_version = {
        (s.agent_version, s.runtime): s.pass_rate
        for s in eval_scores(store, "support", by="version")
    }
    assert by_version == {(2, "claude"): 0.5, (1, "claude"): 1.0}
    by_model = {
        (s.runtime, s.model): s.pass_rate for s in eval_scores(store, "support", by="model")
    }
    assert by_model == {("codex", "gpt-5-mini"): 1.0, ("claude", "claude-haiku-4-5"): 0.5}

    agent = store.get_agent("support")
    history = store.agent_history(agent.id)
    v1_id = next(v.id for v in history if v.version == 1)
    v1_scores = version_case_scores(store, v1_id)
    assert sorted(score for _, score in v1_scores) == [1.0, 1.0]
    assert {run_id for run_id, _ in v1_scores} == {o.run_id for o in v1.outcomes}
    assert sorted(model_case_scores(store, agent.id, "claude", "claude-haiku-4-5")) == [0.0, 1.0]
    assert model_case_scores(store, agent.id, "codex", "gpt-5-mini") == [1.0, 1.0]
    assert v2.figures.pass_rate == 0.5

    # Gather evidence: the suite again from its stored text, on another model.
    (tmp_path / "s.jsonl").unlink()
    again = run_to_end(
        workspace,
        rerun_suite(
            workspace,
            "s",
            EvalTarget(
                agent="support", runtime="codex", model="gpt-5-mini", base_url=fake.openai_base_url
            ),
        ),
    )
    assert again.diff is not None and again.diff.previous_suite_run_id == candidate.suite_run_id


def test_cancel_stops_new_cases_and_reports_what_finished(
    workspace: Workspace, fake: FakeLLMServer, tmp_path: Path
) -> None:
    support_agent(workspace, fake)
    path = _write(
        tmp_path / "c.jsonl", *({"input": f"q{i}", "expected": "Hello"} for i in range(6))
    )
    fake.scenario = Scenario(chunks=("Hel", "lo"), delay_s=0.05)

    async def go() -> SuiteReport:
        cancel = asyncio.Event()
        suite, text = load_suite(path)
        return await run_suite(
            workspace,
            suite,
            EvalTarget(agent="support"),
            source_text=text,
            concurrency=2,
            cancel=cancel,
            progress=lambda done, total, outcome: cancel.set(),
        )

    report = run_to_end(workspace, go())
    assert report.status == "cancelled"
    assert 1 <= report.figures.ran < 6
    assert all(o.status == RunStatus.COMPLETED.value for o in report.outcomes)
    assert eval_store.get_suite_run(workspace.store, report.suite_run_id).status == "cancelled"
    assert not report.passes(0.0)


def test_unusable_targets_and_scorers_fail_before_anything_is_dispatched(
    workspace: Workspace, fake: FakeLLMServer, tmp_path: Path
) -> None:
    support_agent(workspace, fake)
    missing_scorer = _write(
        tmp_path / "m.jsonl",
        {"input": "x", "scorers": [{"type": "python", "function": "no_such_mod:fn"}]},
    )
    with pytest.raises(EvalError, match="cannot import 'no_such_mod'"):
        _suite(workspace, missing_scorer, EvalTarget(agent="support"))
    judged = _write(
        tmp_path / "j.jsonl",
        {"suite": {"judge": {"agent": "nobody"}}},
        {"input": "x", "scorers": [{"type": "judge", "rubric": "r"}]},
    )
    with pytest.raises(EvalError, match="judge agent"):
        _suite(workspace, judged, EvalTarget(agent="support"))
    plain = _write(tmp_path / "p.jsonl", {"input": "x", "expected": "y"})
    with pytest.raises(EvalError, match="nobody"):
        _suite(workspace, plain, EvalTarget(agent="nobody"))
    with pytest.raises(ValueError, match="unknown runtime"):
        EvalTarget(runtime="gemini", model="m")
    assert fake.requests == []
    assert eval_store.list_suites(workspace.store) == []


def test_a_judge_named_on_the_command_line_and_a_failing_case_run(
    workspace: Workspace, fake: FakeLLMServer, tmp_path: Path
) -> None:
    support_agent(workspace, fake)
    path = _write(
        tmp_path / "j.jsonl",
        {"id": "ok", "input": "hi", "scorers": [{"type": "judge", "rubric": "Friendly."}]},
        {"id": "broken", "input": "hi", "expected": "x"},
        {"id": "mute", "input": "hi", "scorers": [{"type": "judge", "rubric": "Friendly."}]},
    )
    fake.enqueue(
        _answer("Hello friend"),
        _answer("score: 4 of sorts", output_tokens=5),  # "score: 4" read as 4/10
        Scenario(status=400, error_message="bad request"),
        _answer("Hi"),
        _answer("I cannot grade this."),
    )
    report = _suite(
        workspace,
        path,
        EvalTarget(agent="support"),
        concurrency=1,
        judge=JudgeTarget(
            runtime="claude", model="claude-haiku-4-5", base_url=fake.anthropic_base_url
        ),
    )
    by_id = {o.case_id: o for o in report.outcomes}
    assert by_id["ok"].score == pytest.approx(0.4) and not by_id["ok"].passed
    judge_run = workspace.store.get_run(by_id["ok"].scores[0].judge_run_id or "")
    assert judge_run.model == "claude-haiku-4-5" and judge_run.agent_id is None
    assert by_id["broken"].status == "failed" and by_id["broken"].scores == ()
    assert by_id["broken"].error and "bad request" in by_id["broken"].error
    assert by_id["mute"].scores[0].failed and "no score" in by_id["mute"].scores[0].reason
    assert report.figures.errors == 1
    assert report.notes == ()


# -- manual scores -----------------------------------------------------------------------------


def test_manual_thumbs_with_a_note_are_recorded_replaced_and_cleared(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    support_agent(workspace, fake)
    events: list[DomainEvent] = []
    workspace.bus.subscribe(events.append)
    result = run_to_end(
        workspace, workspace.dispatcher.dispatch(DispatchRequest("hi", agent="support"))
    )
    store = workspace.store

    async def rate() -> None:
        up = await rate_run(store, result.run_id, thumbs_up=True, note="  spot on  ")
        assert (up.score, up.passed, up.note) == (1.0, True, "spot on")
        down = await rate_run(store, result.run_id, thumbs_up=False, note="too long")
        assert down.thumbs_up is False
        with pytest.raises(NotFoundError):
            await rate_run(store, "f" * 32, thumbs_up=True)

    run_to_end(workspace, rate())
    scores = run_ratings(store, result.run_id)
    assert [(s.source, s.score, s.note) for s in scores] == [("manual", 0.0, "too long")]
    assert [e for e in events if isinstance(e, RunScored)][-1].run_id == result.run_id
    assert run_to_end(workspace, clear_rating(store, result.run_id)) is True
    assert run_ratings(store, result.run_id) == []


# -- online judging ----------------------------------------------------------------------------


def test_online_judging_scores_a_seeded_sample_of_production_runs_after_they_complete(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    support_agent(workspace, fake, "prod")
    store = workspace.store
    configure_online_judge(
        store,
        "prod",
        rubric="Helpful and correct.",
        sample_percent=50,
        judge_runtime="claude",
        judge_model="claude-haiku-4-5",
        judge_base_url=fake.anthropic_base_url,
        seed="fixed-seed",
    )
    agent_config_version = store.get_agent("prod").current_version
    fake.scenario = _answer('{"score": 8, "reason": "helpful"}')

    async def go() -> tuple[list[str], list[bool], str]:
        workspace.online_judge.start()
        run_ids: list[str] = []
        judged_at_return: list[bool] = []
        for i in range(10):
            fake.enqueue(_answer(f"answer {i}"))  # the run's own answer; its judge's is slow
            fake.enqueue(Scenario(chunks=('{"score": 8, "reason": "ok"}',), delay_s=0.2))
            result = await workspace.dispatcher.dispatch(DispatchRequest(f"q{i}", agent="prod"))
            run_ids.append(result.run_id)
            scored = await store.read_async(eval_store.run_scores, store, result.run_id)
            judged_at_return.append(bool(scored))
            if sampled(result.run_id, "fixed-seed", 50):
                await workspace.online_judge.drain(10)
            else:
                fake.reset()  # the slow judge answer was not used: drop it
        evaluation = await workspace.dispatcher.dispatch(
            DispatchRequest("eval q", agent="prod", trigger=Trigger.EVAL)
        )
        await workspace.online_judge.drain(10)
        return run_ids, judged_at_return, evaluation.run_id

    run_ids, judged_at_return, eval_run_id = run_to_end(workspace, go())
    assert not any(judged_at_return)  # the dispatch result never waits for its judge
    expected = {r for r in run_ids if sampled(r, "fixed-seed", 50)}
    assert 0 < len(expected) < 10  # the seed gives a real sample of these ids
    judged = {r for r in run_ids if eval_store.run_scores(store, r)}
    assert judged == expected
    for run_id in judged:
        (score,) = eval_store.run_scores(store, run_id)
        assert (score.source, score.score, score.passed) == ("judge", 0.8, True)
        judge_run = store.get_run(score.judge_run_id or "")
        assert judge_run.trigger == Trigger.EVAL.value and judge_run.parent_run_id == run_id
        assert eval_store.run_scores(store, judge_run.id) == []  # judges are never judged
    if sampled(eval_run_id, "fixed-seed", 50):
        assert eval_store.run_scores(store, eval_run_id) == []  # eval runs are not production
    summary = judge_summary(store, "prod")
    assert (summary.count, summary.pass_rate) == (len(expected), 1.0)
    assert summary.mean_score == pytest.approx(0.8)
    # Judge settings are not part of the versioned config: no new version.
    assert store.get_agent("prod").current_version == agent_config_version


def test_online_judge_settings_are_validated(workspace: Workspace, fake: FakeLLMServer) -> None:
    support_agent(workspace, fake, "prod")
    with pytest.raises(ValueError, match="between 0 and 100"):
        configure_online_judge(
            workspace.store, "prod", rubric="r", sample_percent=150, judge_agent="prod"
        )
    with pytest.raises(ValueError, match="an agent, or a runtime and a model"):
        configure_online_judge(workspace.store, "prod", rubric="r")
    with pytest.raises(NotFoundError):
        configure_online_judge(workspace.store, "prod", rubric="r", judge_agent="ghost")
    assert (
        eval_store.get_online_judge(workspace.store, workspace.store.get_agent("prod").id) is None
    )


def test_the_example_suite_in_the_docs_parses() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "evals" / "support_bot.jsonl"
    suite = parse_suite(example.read_text(encoding="utf-8"), default_name="x")
    assert len(suite.cases) == 7 and suite.bad_lines == ()
