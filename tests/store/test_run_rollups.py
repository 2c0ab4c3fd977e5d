"""run_rollups (migrations 9, 10) gives exactly what the runs say, whatever wrote or removed them.

Insights -> Cost reads whole days from the rollup, and from the runs the first, partial day and
the runs not folded in yet; these tests compare that with the one aggregate over the runs
themselves after every kind of write, folded or not: ingest, dispatches (a running run that gets
actions and ends, folded while it runs or not), an agent deleted (its runs unlinked), runs
removed, corrections in place.
"""

from __future__ import annotations

import random
import sqlite3
from dataclasses import replace
from typing import Any

import pytest

from ato_desktop.core.models import AgentConfig, CostSource, TokenUsage
from ato_desktop.core.records import NewAction, NewRun, RunEnd
from ato_desktop.store import insights_queries
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.insights_queries import (
    DAY_MS,
    agent_pair_rows,
    fold_run_rollups,
    production_runs_since,
    unfolded_runs,
)
from ato_desktop.store.writer import Emit

BASE = 1_790_000_000_000 - 1_790_000_000_000 % DAY_MS  # a UTC midnight
TARGETS = [("claude", "claude-sonnet-5"), ("codex", "gpt-5-mini"), ("claude", "claude-haiku-4-5")]
TRIGGERS = ["ui", "cli", "hook", "replay", "eval", "cron"]
STATUSES = ["completed", "completed", "failed", "killed", "interrupted"]
SOURCES: list[CostSource | None] = [
    CostSource.ESTIMATED,
    CostSource.PROVIDER,
    CostSource.UNKNOWN,
    None,
]


def _action(rng: random.Random, at: int) -> NewAction:
    source = rng.choice(SOURCES)
    return NewAction(
        name="call_llm",
        kind="llm",
        outcome="success",
        started_at=at,
        ended_at=at + 50,
        inputs={"messages": [{"role": "user", "content": "q"}]},
        outputs={"text": "a"},
        usage=TokenUsage(100, 20),
        cost_usd=None if source is None else round(rng.uniform(0.0001, 0.05), 6),
        cost_source=source,
    )


def _run(rng: random.Random, agents: list[tuple[str, str]], at: int) -> Any:
    agent_id, version_id = rng.choice(agents)
    runtime, model = rng.choice(TARGETS)
    actions = [_action(rng, at + i * 60) for i in range(rng.randrange(0, 3))]
    new = NewRun(
        runtime,
        model,
        rng.choice(TRIGGERS),
        at,
        agent_id=agent_id,
        agent_version_id=version_id,
    )
    return new, RunEnd(rng.choice(STATUSES), at + 500, 500_000_000), actions


def _truth(store: ExecutionLog, agent_id: str, since: int) -> tuple[list[Any], int]:
    """The one aggregate over the runs (what the rollup must reproduce)."""
    known = "cost_usd IS NOT NULL AND coalesce(cost_source, '') != 'unknown'"
    conn = store.reader()
    rows = conn.execute(
        "SELECT runtime, model, count(*), sum(status = 'completed'), sum(status = 'failed'), "
        f"total(CASE WHEN {known} THEN cost_usd END), sum({known}), "
        "sum(cost_source = 'estimated') FROM runs WHERE agent_id = ? AND started_at >= ? "
        "AND status != 'running' AND \"trigger\" NOT IN ('replay', 'eval') "
        "GROUP BY runtime, model",
        (agent_id, since),
    ).fetchall()
    (count,) = conn.execute(
        "SELECT count(*) FROM runs WHERE agent_id = ? AND started_at >= ? "
        "AND \"trigger\" NOT IN ('replay', 'eval')",
        (agent_id, since),
    ).fetchone()
    return rows, int(count)


def _check(store: ExecutionLog, agent_ids: list[str]) -> int:
    """Compare for several windows; returns how many runs the checks covered."""
    covered = 0
    for agent_id in agent_ids:
        for since in (0, BASE, BASE + DAY_MS, BASE + DAY_MS + 12_345, BASE + 3 * DAY_MS - 1):
            rows, count = _truth(store, agent_id, since)
            own = [r for r in agent_pair_rows(store, agent_id, since) if not r.replay]
            assert [(r.runtime, r.model) for r in own] == [(rt, m) for rt, m, *_ in rows]
            for got, (_rt, _m, runs, ok, failed, cost, costed, estimated) in zip(
                own, rows, strict=True
            ):
                assert (got.runs, got.ok, got.failed) == (runs, ok or 0, failed or 0)
                assert (got.costed_runs, got.estimated_runs) == (costed or 0, estimated or 0)
                assert got.cost_total_usd == pytest.approx(cost, rel=1e-9, abs=1e-12)
            assert production_runs_since(store, agent_id, since) == count
            covered += count
    return covered


def _agents(store: ExecutionLog, count: int) -> list[tuple[str, str]]:
    made = []
    for i in range(count):
        record = store.create_agent(f"rollup-{i}", AgentConfig("claude", "claude-sonnet-5"))
        agent = record.result()
        made.append((agent.id, agent.current_version_id))
    return made


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_rollup_matches_the_runs_after_every_kind_of_write(
    store: ExecutionLog, seed: int
) -> None:
    rng = random.Random(seed)
    agents = _agents(store, 3)
    ids = [a for a, _v in agents]
    # Ingest: finished runs over four days, some on day boundaries.
    items = [_run(rng, agents, BASE + rng.randrange(0, 4 * DAY_MS)) for _ in range(300)]
    items.append(_run(rng, agents, BASE + DAY_MS))  # exactly midnight
    assert store.ingest(items).result() == len(items)
    assert unfolded_runs(store) == len(items)
    assert _check(store, ids) > 0  # nothing rolled up yet: all read from the runs
    assert fold_run_rollups(store, batch=70) == len(items)  # in several write jobs
    assert unfolded_runs(store) == 0
    assert _check(store, ids) > 0  # all from the rollup (and the partial first day)
    # Dispatches: a running run (counted as running), its actions, then its end; every other
    # one is folded in while it runs, so its ending moves it between rollup rows.
    for i in range(10):
        new, end, actions = _run(rng, agents, BASE + rng.randrange(0, 3 * DAY_MS))
        run_id, run_no = store.create_run(new, owner="test").result()
        if i % 2:
            fold_run_rollups(store)
        _check(store, ids)
        for action in actions:
            store.append_action(run_id, run_no, action).result()
        assert store.finish_run(run_id, run_no, end).result()
    _check(store, ids)
    more = [_run(rng, agents, BASE + rng.randrange(0, 4 * DAY_MS)) for _ in range(50)]
    store.ingest(more).result()  # not folded: the removals below meet both kinds

    # Runs removed (as retention and demo removal do), and one agent deleted: unlinked runs.
    def remove(conn: sqlite3.Connection, emit: Emit) -> None:
        conn.execute("DELETE FROM runs WHERE run_no % 7 = 0")

    store.submit(remove).result()
    _check(store, ids)
    assert store.delete_agents([ids[0]]).result() == 1
    (left,) = (
        store.reader()
        .execute("SELECT count(*) FROM run_rollups WHERE agent_id = ?", (ids[0],))
        .fetchone()
    )
    assert left == 0
    assert _check(store, ids[1:]) > 0


def test_costs_and_status_corrected_in_place_move_between_rollup_rows(
    store: ExecutionLog,
) -> None:
    rng = random.Random(9)
    agents = _agents(store, 1)
    items = [_run(rng, agents, BASE + rng.randrange(0, 2 * DAY_MS)) for _ in range(60)]
    store.ingest(items).result()
    fold_run_rollups(store)
    store.ingest(items[:5]).result()  # and a few not folded yet

    def correct(conn: sqlite3.Connection, emit: Emit) -> None:
        # A re-priced run, a run re-labelled as an eval, one moved a day on, one failed.
        conn.execute("UPDATE runs SET cost_usd = 0.5, cost_source = 'provider' WHERE run_no = 3")
        conn.execute("UPDATE runs SET \"trigger\" = 'eval' WHERE run_no = 4")
        conn.execute("UPDATE runs SET started_at = started_at + 86400000 WHERE run_no = 5")
        conn.execute("UPDATE runs SET status = 'failed' WHERE run_no = 6")
        conn.execute("UPDATE runs SET cost_usd = 0.25 WHERE run_no = 62")  # above the mark

    store.submit(correct).result()
    assert _check(store, [agents[0][0]]) > 0


@pytest.mark.parametrize(
    ("cap", "replayed", "fold"),
    [(5, 60, False), (40, 30, False), (40, 30, True), (10_000, 8, True), (10_000, 150, False)],
)
def test_replays_are_counted_alike_from_their_sources_and_from_the_replays(
    store: ExecutionLog, monkeypatch: pytest.MonkeyPatch, cap: int, replayed: int, fold: bool
) -> None:
    """Both plans (walk the sources, or walk the replays) give the sources' query's answer,
    the newest `cap` sources only."""
    monkeypatch.setattr(insights_queries, "REPLAY_SOURCE_CAP", cap)
    rng = random.Random(cap)
    agents = _agents(store, 2)
    items = [_run(rng, agents, BASE + rng.randrange(0, 3 * DAY_MS)) for _ in range(200)]
    store.ingest(items).result()
    sources = [row[0] for row in store.reader().execute("SELECT id FROM runs")]
    replays = []
    for source in rng.choices(sources, k=replayed):
        new, end, actions = _run(rng, agents, BASE + 3 * DAY_MS + rng.randrange(0, DAY_MS))
        tags = {"simulation": "1"} if rng.random() < 0.2 else {}
        replays.append((replace(new, trigger="replay", replay_of=source, tags=tags), end, actions))
    store.ingest(replays).result()
    if fold:
        fold_run_rollups(store)
    conn = store.reader()
    known = "r.cost_usd IS NOT NULL AND coalesce(r.cost_source, '') != 'unknown'"
    for agent_id, _version in agents:
        for since in (BASE + DAY_MS // 2, BASE + DAY_MS):
            truth = conn.execute(
                "SELECT r.runtime, r.model, count(*), total(CASE WHEN "
                + known
                + " THEN r.cost_usd END) "
                "FROM runs r WHERE r.replay_of IN (SELECT s.id FROM runs s WHERE s.agent_id = ? "
                "AND s.started_at >= ? AND s.\"trigger\" NOT IN ('replay', 'eval') "
                "ORDER BY s.started_at DESC, s.id DESC LIMIT ?) AND r.status != 'running' "
                "AND json_extract(r.tags_json, '$.simulation') IS NULL "
                # A replay that never reached a model (no key: no tokens, no answer) is no
                # evidence (core.replay_figures.reached_model).
                "AND (r.status = 'completed' OR r.output_tokens > 0 OR (r.input_tokens > 0 "
                "AND coalesce(r.error_class, '') NOT IN ('auth', 'config', 'network'))) "
                "GROUP BY r.runtime, r.model",
                (agent_id, since, cap),
            ).fetchall()
            got = [r for r in agent_pair_rows(store, agent_id, since) if r.replay]
            assert [(r.runtime, r.model, r.runs) for r in got] == [
                (rt, m, n) for rt, m, n, _c in truth
            ]
