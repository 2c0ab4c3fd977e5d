"""Evals in the log: suite runs and scores read through index ranges, never whole tables."""

from __future__ import annotations

import sqlite3

from ato_desktop.core.eval_scoring import CaseOutcome, figures
from ato_desktop.core.eval_suite import parse_suite
from ato_desktop.core.events import DomainEvent, EvalSuiteRunChanged
from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import NewRun
from ato_desktop.store import evals as eval_store
from ato_desktop.store.execution_log import ExecutionLog, now_ms


def _plan(log: ExecutionLog, sql: str, args: tuple[object, ...]) -> str:
    rows = log.reader().execute(f"EXPLAIN QUERY PLAN {sql}", args).fetchall()
    return " | ".join(str(r[3]) for r in rows)


def test_suite_runs_cases_and_scores_round_trip_with_indexed_reads(
    store: ExecutionLog, events: list[DomainEvent]
) -> None:
    agent = store.create_agent("a", AgentConfig("claude", "m")).result()
    suite = parse_suite('{"id": "x", "input": "q", "expected": "y"}\n', default_name="s1")
    record = eval_store.save_suite(store, suite, "text").result()
    again = eval_store.save_suite(store, suite, "text v2").result()
    assert again.id == record.id and eval_store.suite_source(store, record.id) == "text v2"
    new = eval_store.NewSuiteRun(
        record.id,
        suite.content_hash,
        "claude",
        "m",
        "@a",
        1,
        0,
        agent.id,
        agent.current_version_id,
    )
    suite_run_id = eval_store.start_suite_run(store, new).result()
    run_id, _ = store.create_run(
        NewRun("claude", "m", "eval", now_ms(), agent_id=agent.id), owner=None
    ).result()
    outcome = CaseOutcome("x", 1, run_id, "completed", 1.0, True, output="y" * 10_000)
    eval_store.record_case(store, suite_run_id, outcome).result()
    eval_store.finish_suite_run(
        store, suite_run_id, "completed", figures([outcome], 1), {}
    ).result()
    assert [e.status for e in events if isinstance(e, EvalSuiteRunChanged)] == [
        "running",
        "completed",
    ]
    (stored,) = eval_store.case_results(store, suite_run_id)
    assert len(stored.output) == eval_store.MAX_OUTPUT_CHARS
    assert eval_store.version_case_scores(store, agent.current_version_id) == [(run_id, 1.0)]
    eval_store.set_run_score(store, run_id, "manual", 1.0, True, "good").result()
    assert eval_store.scores_for_runs(store, [run_id, "nope"])[run_id][0].note == "good"

    # Every read walks an index range (a million runs, thousands of suite runs).
    plans = [
        _plan(
            store,
            "SELECT id FROM eval_suite_runs WHERE agent_id = ? AND status = 'completed'"
            " ORDER BY started_at DESC, id DESC LIMIT 500",
            (agent.id,),
        ),
        _plan(
            store,
            "SELECT id FROM eval_suite_runs WHERE agent_version_id = ? AND status ="
            " 'completed' AND swapped = 0 ORDER BY started_at DESC, id DESC LIMIT 50",
            ("v",),
        ),
        _plan(
            store,
            "SELECT id FROM eval_suite_runs WHERE suite_id = ? AND target = ? AND"
            " started_at <= ? ORDER BY started_at DESC, id DESC LIMIT 1",
            ("s", "t", 1),
        ),
        _plan(
            store,
            "SELECT * FROM run_scores WHERE agent_id = ? AND source = ? AND"
            " created_at >= ? ORDER BY created_at DESC LIMIT 10",
            ("a", "judge", 0),
        ),
        _plan(store, "SELECT * FROM eval_case_results WHERE suite_run_id = ?", ("x",)),
        _plan(store, "SELECT * FROM run_scores WHERE run_id = ?", ("x",)),
    ]
    for plan in plans:
        assert "USING" in plan and "SCAN" not in plan.replace("SCAN CONSTANT", ""), plan
        assert "TEMP B-TREE" not in plan, plan


def test_removing_a_run_removes_its_scores_and_unlinks_its_case(store: ExecutionLog) -> None:
    run_id, run_no = store.create_run(NewRun("claude", "m", "cli", now_ms()), owner=None).result()
    eval_store.set_run_score(store, run_id, "judge", 0.5, False, "meh", "j").result()

    def delete(conn: sqlite3.Connection, emit: object) -> None:
        conn.execute("DELETE FROM runs WHERE run_no = ?", (run_no,))

    store.submit(delete).result()
    assert eval_store.run_scores(store, run_id) == []
