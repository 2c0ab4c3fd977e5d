"""Determinism analysis over a real execution log: crafted runs written with ingest."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import pytest

from ato_desktop.core.determinism import SEVERITY_WEIGHTS, Severity
from ato_desktop.core.ids import uuid7
from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import ActionRecord, NewAction, NewRun, RunEnd
from ato_desktop.engine.determinism import SCAN_FACTOR, analyse_agent, analyse_run
from ato_desktop.store.execution_log import ExecutionLog, NotFoundError
from ato_desktop.store.paths import DataPaths
from tests.support.determinism_runs import (
    NOW,
    ORDER,
    clean_run,
    pattern_cases,
    tool,
    with_extra,
)

DAY = 86_400_000


@pytest.fixture
def store(ato_home: Path) -> Iterator[ExecutionLog]:
    log = ExecutionLog.open(DataPaths(ato_home).ensure())
    yield log
    log.close()


@pytest.fixture
def agent_id(store: ExecutionLog) -> str:
    config = AgentConfig("claude", "claude-sonnet-4-5", system_prompt="Support.")
    return store.create_agent("support", config).result().id


def _ingest(
    store: ExecutionLog,
    runs: Sequence[tuple[int, list[NewAction]]],
    agent_id: str | None,
) -> list[str]:
    """Write finished runs (started_at, actions); their ids in the order given."""
    ids = [uuid7(started) for started, _ in runs]
    items = [
        (
            NewRun("claude", "claude-sonnet-4-5", "cli", started, agent_id=agent_id, id=run_id),
            RunEnd("completed", started + 10_000, 10_000_000_000),
            actions,
        )
        for run_id, (started, actions) in zip(ids, runs, strict=True)
    ]
    store.ingest(items).result()
    return ids


class CountingLog:
    """The log, counting the runs whose actions were read (a hand-written fake)."""

    def __init__(self, log: ExecutionLog) -> None:
        self._log = log
        self.actions_read: list[str] = []

    def get_actions(self, run_id: str) -> list[ActionRecord]:
        self.actions_read.append(run_id)
        return self._log.get_actions(run_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._log, name)


@pytest.mark.parametrize("case", sorted(pattern_cases()))
def test_crafted_runs_each_pattern_is_found(store: ExecutionLog, agent_id: str, case: str) -> None:
    extra, pattern, issue_type, severity, action, path, line = pattern_cases()[case]
    history = [(NOW - (i + 1) * DAY, clean_run(at=NOW - (i + 1) * DAY)) for i in range(2)]
    _ingest(store, history, agent_id)
    (run_id,) = _ingest(store, [(NOW, with_extra(clean_run(), extra))], agent_id)
    report = analyse_run(store, run_id)
    assert [
        (f.pattern, f.issue_type.value, f.severity.value, f.action_name) for f in report.findings
    ] == [(pattern, issue_type, severity, action)]
    (finding,) = report.findings
    assert (finding.run_id, finding.action_seq, finding.path, finding.line) == (
        run_id,
        6,
        path,
        line,
    )
    assert report.score == 100 - SEVERITY_WEIGHTS[Severity(severity)]
    assert report.history_runs == 2 and report.comparisons == 5


def test_a_clean_run_scores_90_or_more_with_no_findings(store: ExecutionLog, agent_id: str) -> None:
    runs = [(NOW - i * DAY, clean_run(at=NOW - i * DAY)) for i in range(5)]
    newest, *_ = _ingest(store, runs, agent_id)
    report = analyse_run(store, newest)
    assert report.score >= 90
    assert report.score == 100 and report.findings == ()
    assert report.band.colour == "green"
    assert report.history_runs == 4 and report.comparisons == 5
    assert report.agent_id == agent_id
    assert json.loads(json.dumps(report.as_dict()))["band"]["label"] == "Highly deterministic"


def test_identical_inputs_with_different_outputs_are_found_both_ways(
    store: ExecutionLog, agent_id: str
) -> None:
    old, new = _ingest(
        store,
        [
            (NOW - DAY, clean_run(at=NOW - DAY)),
            (NOW, clean_run(order={**ORDER, "status": "delivered"})),
        ],
        agent_id,
    )
    for run_id, other in ((new, old), (old, new)):
        report = analyse_run(store, run_id)
        (finding,) = report.findings
        assert (finding.pattern, finding.action_name, finding.severity) == (
            "output_varies",
            "get_order",
            Severity.HIGH,
        )
        assert finding.run_id == run_id and finding.related_run_id == other
        assert report.score == 84


def test_runs_of_other_agents_are_not_compared(store: ExecutionLog, agent_id: str) -> None:
    other_agent = store.create_agent("sales", AgentConfig("claude", "m")).result().id
    _ingest(store, [(NOW - DAY, clean_run(order={**ORDER, "status": "lost"}))], other_agent)
    (run_id,) = _ingest(store, [(NOW, clean_run())], agent_id)
    report = analyse_run(store, run_id)
    assert report.findings == () and report.history_runs == 0


def test_a_run_without_an_agent_is_compared_with_recent_runs(store: ExecutionLog) -> None:
    _ingest(store, [(NOW - DAY, clean_run(order={**ORDER, "status": "lost"}))], None)
    (run_id,) = _ingest(store, [(NOW, clean_run())], None)
    report = analyse_run(store, run_id)
    assert [f.pattern for f in report.findings] == ["output_varies"]


def test_history_is_bounded(store: ExecutionLog, agent_id: str) -> None:
    runs = [(NOW - i * DAY, clean_run(at=NOW - i * DAY)) for i in range(12)]
    newest, *_ = _ingest(store, runs, agent_id)
    counting = CountingLog(store)
    report = analyse_run(cast(ExecutionLog, counting), newest, history_runs=3)
    assert report.history_runs == 3 and report.findings == ()
    assert len(counting.actions_read) == 1 + 3  # the run itself, then three that share inputs


def test_runs_that_share_nothing_are_read_only_up_to_the_budget(
    store: ExecutionLog, agent_id: str
) -> None:
    unrelated = [
        (NOW - i * DAY, [tool("ping", {"n": i}, {"pong": i}, at=NOW - i * DAY)])
        for i in range(1, 40)
    ]
    _ingest(store, unrelated, agent_id)
    (run_id,) = _ingest(store, [(NOW, clean_run())], agent_id)
    counting = CountingLog(store)
    report = analyse_run(cast(ExecutionLog, counting), run_id, history_runs=5)
    assert report.history_runs == 0 and report.truncated
    assert len(counting.actions_read) == 1 + 5 * SCAN_FACTOR


def test_a_run_id_can_be_given_by_its_prefix(store: ExecutionLog, agent_id: str) -> None:
    (run_id,) = _ingest(store, [(NOW, clean_run())], agent_id)
    assert analyse_run(store, run_id[:12]).subject == run_id
    with pytest.raises(NotFoundError):
        analyse_run(store, "ffffffffffff")


def test_an_agent_over_its_history(store: ExecutionLog, agent_id: str) -> None:
    side_effect = pattern_cases()["side_effect"][0]
    runs = [
        (NOW, with_extra(clean_run(at=NOW), side_effect)),
        (NOW - DAY, clean_run(at=NOW - DAY, order={**ORDER, "status": "delivered"})),
        (NOW - 2 * DAY, clean_run(at=NOW - 2 * DAY)),
        (NOW - 3 * DAY, clean_run(at=NOW - 3 * DAY)),
    ]
    ids = _ingest(store, runs, agent_id)
    report = analyse_agent(store, "support")
    assert report.scope == "agent" and report.subject == "support"
    assert report.agent_id == agent_id and report.runs_analysed == 4 and not report.truncated
    assert [r.run_id for r in report.runs] == ids  # newest first
    # Run 0: a side effect (16). get_order varied in every run: "delivered" in run 1 differs
    # from "shipped" in the others (16 each).
    assert [r.score for r in report.runs] == [68, 84, 84, 84]
    assert report.score == 80 and report.band.colour == "yellow"
    by_pattern = {f.pattern: f for f in report.findings}
    assert set(by_pattern) == {"output_varies", "side_effect"}
    assert by_pattern["output_varies"].runs_affected == 4
    assert by_pattern["output_varies"].deduction == pytest.approx(16)
    assert by_pattern["side_effect"].deduction == pytest.approx(4)
    assert report.score == pytest.approx(100 - report.deductions_total)
    stats = {s.name: s for s in report.action_stats}
    assert (stats["get_order"].compared, stats["get_order"].varying) == (4, 4)
    assert stats["get_customer"].consistency == 1
    assert stats["call_llm"].occurrences == 12 and stats["call_llm"].runs == 4
    data = json.loads(json.dumps(report.as_dict()))
    assert data["score"] == 80 and len(data["runs"]) == 4


def test_an_agents_analysis_reads_only_its_recent_runs(store: ExecutionLog, agent_id: str) -> None:
    runs = [(NOW - i * DAY, clean_run(at=NOW - i * DAY)) for i in range(8)]
    ids = _ingest(store, runs, agent_id)
    counting = CountingLog(store)
    report = analyse_agent(cast(ExecutionLog, counting), agent_id, runs=5)
    assert report.runs_analysed == 5 and report.truncated
    assert counting.actions_read == ids[:5]
    assert report.score == 100


def test_an_unknown_agent_is_an_error(store: ExecutionLog) -> None:
    with pytest.raises(NotFoundError):
        analyse_agent(store, "nobody")


def test_simulation_runs_are_not_the_agents_history(store: ExecutionLog, agent_id: str) -> None:
    """A simulation answers a recording again: counting it would double the run it copies."""
    ids = _ingest(store, [(NOW, clean_run(at=NOW)), (NOW - DAY, clean_run(at=NOW - DAY))], agent_id)
    copy = uuid7(NOW + 1000)
    store.ingest(
        [
            (
                NewRun(
                    "claude",
                    "claude-sonnet-4-5",
                    "replay",
                    NOW + 1000,
                    agent_id=agent_id,
                    replay_of=ids[0],
                    tags={"simulation": "true"},
                    id=copy,
                ),
                RunEnd("completed", NOW + 2000, 1_000_000_000),
                with_extra(clean_run(at=NOW), pattern_cases()["side_effect"][0]),
            )
        ]
    ).result()
    report = analyse_agent(store, "support")
    assert report.runs_analysed == 2 and copy not in [r.run_id for r in report.runs]
    assert all(f.pattern != "side_effect" for f in report.findings)
    assert copy not in {r.run_id for r in analyse_run(store, ids[1]).runs}
