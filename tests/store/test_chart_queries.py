"""The charts' aggregates (store.chart_queries) on small logs with known answers: a bucket's
counts, a day's p95, a change marker's position, a day's spend, a version's sample; the hourly
rollup (migration 14) against one aggregate over the runs after every kind of write; and the
plans (EXPLAIN QUERY PLAN) that keep them off a scan of the runs."""

from __future__ import annotations

import itertools
import random
import sqlite3
from dataclasses import replace
from typing import Any

import pytest

from ato_desktop.core.chart_buckets import bin_edges
from ato_desktop.core.models import AgentConfig, CostSource, TokenUsage
from ato_desktop.core.records import NewAction, NewRun, RunEnd, RunFilter
from ato_desktop.core.regressions import percentile
from ato_desktop.store import chart_queries
from ato_desktop.store import run_volume as volume_store
from ato_desktop.store.chart_queries import (
    HOUR_MS,
    agent_trends,
    pair_cost_distribution,
    run_volume,
    spend_by_day,
    version_sample,
)
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.insights_queries import DAY_MS, fold_run_rollups
from ato_desktop.store.paths import DataPaths
from ato_desktop.store.writer import Emit

BASE = 1_790_000_000_000 - 1_790_000_000_000 % DAY_MS  # a UTC midnight
MS = 1_000_000  # ns per ms


def _action(at: int, cost: float | None, source: CostSource | None) -> NewAction:
    return NewAction(
        name="call_llm",
        kind="llm",
        outcome="success",
        started_at=at,
        ended_at=at + 10,
        inputs={"messages": [{"role": "user", "content": "q"}]},
        outputs={"text": "a"},
        usage=TokenUsage(10, 2),
        cost_usd=cost,
        cost_source=source,
    )


def _item(
    at: int,
    status: str = "completed",
    *,
    agent: tuple[str, str] | None = None,
    duration_ms: float = 100.0,
    cost: float | None = 0.01,
    source: CostSource | None = CostSource.PROVIDER,
    trigger: str = "cli",
    runtime: str = "claude",
    model: str = "claude-sonnet-5",
    tags: dict[str, str] | None = None,
    replay_of: str | None = None,
    run_id: str | None = None,
) -> Any:
    new = NewRun(
        runtime,
        model,
        trigger,
        at,
        agent_id=agent[0] if agent else None,
        agent_version_id=agent[1] if agent else None,
        tags=tags or {},
        replay_of=replay_of,
        id=run_id,
    )
    actions = [] if cost is None and source is None else [_action(at, cost, source)]
    return new, RunEnd(status, at + int(duration_ms), int(duration_ms * MS)), actions


def _agent(store: ExecutionLog, name: str = "writer") -> tuple[str, str]:
    record = store.create_agent(name, AgentConfig("claude", "claude-sonnet-5")).result()
    return record.id, record.current_version_id


def _truth(
    store: ExecutionLog, flt: RunFilter, start: int, end: int, bucket: int
) -> dict[int, dict[str, int]]:
    """The one aggregate over the runs that run_volume must reproduce."""
    lo = max(start, flt.since_ms) if flt.since_ms is not None else start
    where, params = ["started_at >= ?", "started_at < ?"], [lo, end]
    if flt.statuses:
        where.append(f"status IN ({','.join('?' * len(flt.statuses))})")
        params += list(flt.statuses)
    if flt.agent_id:
        where.append("agent_id = ?")
        params.append(flt.agent_id)
    if flt.agent_version_id:
        where.append("agent_version_id = ?")
        params.append(flt.agent_version_id)
    if flt.min_cost_usd is not None:
        where.append("cost_usd >= ?")
        params.append(flt.min_cost_usd)
    if not flt.include_simulations:
        where.append("is_simulation = 0")
    out: dict[int, dict[str, int]] = {}
    for bucket_no, status, runs in store.reader().execute(
        f"SELECT (started_at - ?) / ?, status, count(*) FROM runs WHERE {' AND '.join(where)} "
        "GROUP BY 1, 2",
        (start, bucket, *params),
    ):
        out.setdefault(int(bucket_no), {})[status] = int(runs)
    return out


# -- known answers ---------------------------------------------------------------------------


def test_a_buckets_counts_by_status(store: ExecutionLog) -> None:
    agent = _agent(store)
    items = [
        _item(BASE + 10 * 60_000, "completed", agent=agent),
        _item(BASE + 20 * 60_000, "completed", agent=agent),
        _item(BASE + 59 * 60_000, "failed", agent=agent),
        _item(BASE + HOUR_MS, "killed"),  # the next hour, no agent
        _item(BASE + 2 * HOUR_MS + 5, "interrupted", agent=agent),
        _item(BASE + 2 * HOUR_MS + 6, "completed", agent=agent, trigger="replay"),
    ]
    store.ingest(items).result()
    for folded in (False, True):
        if folded:
            fold_run_rollups(store)
        volume = run_volume(store, RunFilter(), BASE, BASE + 3 * HOUR_MS, HOUR_MS)
        assert volume.from_rollup
        assert volume.buckets == 3
        assert volume.counts == {
            0: {"completed": 2, "failed": 1},
            1: {"killed": 1},
            2: {"interrupted": 1, "completed": 1},
        }
        only_agent = run_volume(
            store,
            RunFilter(agent_id=agent[0], statuses=("completed",)),
            BASE,
            BASE + 3 * HOUR_MS,
            HOUR_MS,
        )
        assert only_agent.counts == {0: {"completed": 2}, 2: {"completed": 1}}
        # Two-hour buckets, and 20-minute ones (read from the runs: the rollup keeps hours).
        assert run_volume(store, RunFilter(), BASE, BASE + 4 * HOUR_MS, 2 * HOUR_MS).counts == {
            0: {"completed": 2, "failed": 1, "killed": 1},
            1: {"interrupted": 1, "completed": 1},
        }
        twenty = run_volume(store, RunFilter(), BASE, BASE + HOUR_MS, 20 * 60_000)
        assert not twenty.from_rollup
        assert twenty.counts == {0: {"completed": 1}, 1: {"completed": 1}, 2: {"failed": 1}}


def test_a_window_that_starts_and_ends_inside_hours_counts_only_its_runs(
    store: ExecutionLog,
) -> None:
    times = [BASE + m * 60_000 for m in (5, 25, 55, 65, 125, 170, 179)]
    store.ingest([_item(t) for t in times]).result()
    fold_run_rollups(store)
    since, until = BASE + 20 * 60_000, BASE + 175 * 60_000  # 00:20 .. 02:55
    volume = run_volume(
        store, RunFilter(since_ms=since, until_ms=until), BASE, BASE + 3 * HOUR_MS, HOUR_MS
    )
    assert volume.from_rollup
    assert volume.counts == {0: {"completed": 2}, 1: {"completed": 1}, 2: {"completed": 2}}


def test_filters_the_rollup_does_not_keep_count_the_runs(store: ExecutionLog) -> None:
    items = [
        _item(BASE + 1000, cost=0.50),
        _item(BASE + 2000, cost=0.01),
        _item(BASE + 3000, cost=0.75, tags={"user": "alice"}),
        _item(BASE + 4000, cost=0.3),
    ]
    store.ingest(items).result()
    fold_run_rollups(store)
    # A minimum cost is kept (migration 18): on a band edge ($0.50) a range of bands, between
    # edges ($0.40, inside [$0.20, $0.50)) its own band's runs are counted through the index.
    for least, runs in ((0.5, 2), (0.4, 2), (0.3, 3), (0.31, 2), (0.01, 4), (0.0100001, 3)):
        costly = run_volume(store, RunFilter(min_cost_usd=least), BASE, BASE + HOUR_MS, HOUR_MS)
        assert costly.from_rollup
        assert costly.counts == {0: {"completed": runs}}, least
    alice = run_volume(store, RunFilter(tags=(("user", "alice"),)), BASE, BASE + HOUR_MS, HOUR_MS)
    assert alice.counts == {0: {"completed": 1}}


@pytest.mark.parametrize("seed", [1, 2])
def test_the_hourly_rollup_matches_the_runs_after_every_kind_of_write(
    store: ExecutionLog, seed: int
) -> None:
    rng = random.Random(seed)
    agents = [_agent(store, f"a{i}") for i in range(3)]
    statuses = ["completed", "completed", "failed", "killed", "interrupted"]

    def random_item() -> Any:
        return _item(
            BASE + rng.randrange(0, 2 * DAY_MS),
            rng.choice(statuses),
            duration_ms=float(rng.randrange(1, 5000)),
            agent=rng.choice([*agents, None]),
            cost=round(rng.uniform(0.001, 0.1), 4),
            source=rng.choice([CostSource.PROVIDER, CostSource.ESTIMATED, CostSource.UNKNOWN]),
            trigger=rng.choice(["cli", "replay", "eval", "cron"]),
        )

    def check() -> None:
        filters = [
            RunFilter(),
            RunFilter(statuses=("failed", "killed")),
            RunFilter(agent_id=agents[0][0]),
            RunFilter(agent_version_id=agents[1][1]),
            RunFilter(since_ms=BASE + 3 * HOUR_MS + 17),
            RunFilter(min_cost_usd=0.05),  # a band edge
            RunFilter(min_cost_usd=0.033, since_ms=BASE + 5 * HOUR_MS + 1),  # between edges
            RunFilter(min_cost_usd=0.02, agent_id=agents[2][0], statuses=("completed",)),
            RunFilter(min_cost_usd=0.07, agent_id=agents[1][0], include_simulations=False),
            RunFilter(agent_version_id=agents[1][1], min_cost_usd=0.01),
            RunFilter(include_simulations=False, statuses=("completed", "failed")),
        ]
        for flt in filters:
            for bucket in (HOUR_MS, 6 * HOUR_MS, DAY_MS):
                got = run_volume(store, flt, BASE, BASE + 2 * DAY_MS, bucket).counts
                assert got == _truth(store, flt, BASE, BASE + 2 * DAY_MS, bucket), (flt, bucket)
            # The Runs page's count: the same rollup, the window unbounded above.
            truth = _truth(store, flt, BASE - DAY_MS, BASE + 4 * DAY_MS, 5 * DAY_MS)
            assert store.count_runs(flt) == sum(truth.get(0, {}).values()), flt
        # Each day's p95 (its entry counts come from the rollup's timed column) is the
        # nearest rank of the day's finished production runs' durations.
        for agent_id, _version in agents:
            trends = agent_trends(store, agent_id, BASE, BASE + 3 * DAY_MS, DAY_MS)
            for bucket in trends.buckets:
                durations = [
                    d / 1e6
                    for (d,) in store.reader().execute(
                        "SELECT duration_ns FROM runs WHERE agent_id = ? AND started_at >= ? "
                        "AND started_at < ? AND duration_ns IS NOT NULL "
                        "AND status IN ('completed', 'failed') "
                        "AND \"trigger\" NOT IN ('replay', 'eval')",
                        (
                            agent_id,
                            BASE + bucket.index * DAY_MS,
                            BASE + (bucket.index + 1) * DAY_MS,
                        ),
                    )
                ]
                expected = percentile(durations, 95) if durations else None
                assert bucket.p95_ms == (pytest.approx(expected) if durations else None)

    store.ingest([random_item() for _ in range(200)]).result()
    check()  # nothing folded yet: every run from the log
    fold_run_rollups(store, batch=70)
    check()
    for i in range(6):  # dispatches: running, folded while running (or not), then ended
        new, end, actions = random_item()
        run_id, run_no = store.create_run(new, owner="test").result()
        if i % 2:
            fold_run_rollups(store)
        check()
        for action in actions:
            store.append_action(run_id, run_no, action).result()
        store.finish_run(run_id, run_no, end).result()
    check()

    def rewrite(conn: sqlite3.Connection, _emit: Emit) -> None:
        conn.execute("DELETE FROM runs WHERE run_no % 7 = 0")
        conn.execute("UPDATE runs SET started_at = started_at + 3600000 WHERE run_no % 11 = 0")
        conn.execute("UPDATE runs SET status = 'failed' WHERE run_no % 13 = 0")
        conn.execute("UPDATE runs SET duration_ns = NULL WHERE run_no % 17 = 0")
        conn.execute("UPDATE runs SET \"trigger\" = 'eval' WHERE run_no % 19 = 0")
        conn.execute("UPDATE runs SET cost_usd = cost_usd * 3 WHERE run_no % 5 = 0")
        conn.execute("UPDATE runs SET cost_usd = NULL WHERE run_no % 29 = 0")
        conn.execute("UPDATE runs SET agent_version_id = NULL WHERE run_no % 31 = 0")
        # A later tag change makes a run a simulation replay (kept by trigger, migration 16).
        conn.execute('UPDATE runs SET tags_json = \'{"simulation": "true"}\' WHERE run_no % 23 = 0')

    store.submit(rewrite).result()
    check()
    assert store.delete_agents([agents[0][0]]).result() == 1  # its runs unlinked (SET NULL)
    check()


def test_a_days_p95_success_rate_cost_per_call_and_a_change_markers_position(
    store: ExecutionLog,
) -> None:
    agent = _agent(store)
    # Day 0: durations 1..100 ms (p95: 95 ms), 90 completed and 10 failed, $0.02 a call.
    day0 = [
        _item(
            BASE + i * 1000,
            "completed" if i > 10 else "failed",
            agent=agent,
            duration_ms=float(i),
            cost=0.02,
        )
        for i in range(1, 101)
    ]
    # Day 1: 20 runs of 1 s, one of them a replay (left out), one killed (no p95 sample).
    day1 = [_item(BASE + DAY_MS + i * 1000, agent=agent, duration_ms=1000.0) for i in range(18)]
    day1.append(_item(BASE + DAY_MS + 30_000, agent=agent, duration_ms=9000.0, trigger="replay"))
    day1.append(_item(BASE + DAY_MS + 40_000, "killed", agent=agent, duration_ms=9000.0))
    store.ingest(day0 + day1).result()
    changed_at = BASE + DAY_MS + DAY_MS // 2  # version 2 at noon of day 1
    store.update_agent(
        agent[0], AgentConfig("claude", "claude-haiku-4-5"), at_ms=changed_at
    ).result()
    for folded in (False, True):
        if folded:
            fold_run_rollups(store)
        trends = agent_trends(store, agent[0], BASE, BASE + 3 * DAY_MS, DAY_MS)
        first, second, third = trends.buckets
        assert (first.runs, first.completed, first.failed) == (100, 90, 10)
        assert first.success_rate == pytest.approx(0.9)
        assert first.cost_per_call == pytest.approx(0.02)
        assert first.p95_ms == pytest.approx(95.0)
        assert (second.runs, second.p95_ms) == (19, pytest.approx(1000.0))
        assert (third.runs, third.p95_ms) == (0, None)
        (marker,) = trends.markers
        assert (marker.version, marker.position) == (2, pytest.approx(1.5))
        assert marker.diff and marker.diff[0]["path"]
    # Two-day buckets merge the days' tops; hour buckets rank in SQL.
    two = agent_trends(store, agent[0], BASE, BASE + 2 * DAY_MS, 2 * DAY_MS).buckets[0]
    durations = [float(i) for i in range(1, 101)] + [1000.0] * 18
    assert two.p95_ms == pytest.approx(percentile(durations, 95))
    hourly = agent_trends(store, agent[0], BASE, BASE + DAY_MS, HOUR_MS)
    assert hourly.buckets[0].p95_ms == pytest.approx(95.0)
    assert sum(b.runs for b in hourly.buckets) == 100


def test_spend_per_day_by_agent_model_and_runtime_counts_every_run(store: ExecutionLog) -> None:
    writer, reviewer = _agent(store, "writer"), _agent(store, "reviewer")
    store.ingest(
        [
            _item(BASE + 1000, agent=writer, cost=0.10),
            _item(
                BASE + 2000,
                agent=writer,
                cost=0.05,
                trigger="replay",
                model="gpt-5",
                runtime="codex",
            ),
            _item(BASE + 3000, agent=reviewer, cost=0.20, source=CostSource.ESTIMATED),
            _item(BASE + 4000, cost=None, source=CostSource.UNKNOWN),  # unknown: never $0
            _item(BASE + DAY_MS + 5, agent=reviewer, cost=0.40),
        ]
    ).result()
    fold_run_rollups(store)
    store.ingest([_item(BASE + DAY_MS + 9, agent=writer, cost=0.01)]).result()  # not folded
    by_agent = {(r.day, r.key): r for r in spend_by_day(store, BASE, BASE + 2 * DAY_MS, "agent")}
    day = BASE // DAY_MS
    assert by_agent[(day, writer[0])].cost_usd == pytest.approx(0.15)
    assert by_agent[(day, reviewer[0])].estimated == 1
    assert by_agent[(day, "")].costed == 0 and by_agent[(day, "")].runs == 1
    assert by_agent[(day + 1, writer[0])].cost_usd == pytest.approx(0.01)
    by_model = {
        (r.day, r.key): r.cost_usd for r in spend_by_day(store, BASE, BASE + DAY_MS, "model")
    }
    assert by_model == {
        (day, "claude-sonnet-5"): pytest.approx(0.30),
        (day, "gpt-5"): pytest.approx(0.05),
    }
    with pytest.raises(ValueError, match="agent, model or runtime"):
        spend_by_day(store, BASE, BASE + DAY_MS, "colour")


def test_a_versions_sample_is_the_one_the_regression_check_judges(store: ExecutionLog) -> None:
    agent = _agent(store)
    items = [
        _item(
            BASE + i * 1000,
            "failed" if i % 5 == 0 else "completed",
            agent=agent,
            duration_ms=float(10 * i),
            cost=0.001 * i,
        )
        for i in range(1, 41)
    ]
    items.append(_item(BASE + 50_000, agent=agent, duration_ms=99999.0, trigger="eval"))
    items.append(_item(BASE + 60_000, "killed", agent=agent, duration_ms=99999.0))
    store.ingest(items).result()
    # The newest 30 production runs that completed or failed (core.regressions): the eval and
    # the killed run, though newer, are not part of a side.
    per_side = 30
    edges = bin_edges(100.0, 420.0, 4)
    sample = version_sample(store, agent[1], per_side, edges, bin_edges(0.001, 0.05, 5))
    kept = list(range(11, 41))  # runs 40..11
    assert (sample.ok, sample.failed) == (
        sum(1 for i in kept if i % 5),
        sum(1 for i in kept if i % 5 == 0),
    )
    durations = [10.0 * i for i in kept]
    assert sample.durations_ms.n == len(kept)
    assert sample.durations_ms.p95 == pytest.approx(percentile(durations, 95))
    assert sample.durations_ms.p50 == pytest.approx(percentile(durations, 50))
    assert sample.durations_ms.mean == pytest.approx(sum(durations) / len(durations))
    assert sample.durations_ms.bins == tuple(
        sum(1 for d in durations if lo <= d < hi or (hi == edges[-1] and d == hi))
        for lo, hi in itertools.pairwise(edges)
    )
    assert sample.costs_usd.high == pytest.approx(0.04)


def test_a_pairs_cost_per_call_counts_its_runs_and_replays_of_them(store: ExecutionLog) -> None:
    agent = _agent(store)
    source_id = "0" * 31 + "1"
    store.ingest(
        [
            _item(BASE + 1000, agent=agent, cost=0.01, run_id=source_id),
            _item(BASE + 2000, agent=agent, cost=0.03),
            _item(BASE + 3000, agent=agent, cost=0.05, model="other"),
            _item(
                BASE + 4000,
                cost=0.002,
                model="gpt-5-mini",
                runtime="codex",
                trigger="replay",
                replay_of=source_id,
            ),
            _item(
                BASE + 5000,
                cost=0.0,
                model="gpt-5-mini",
                runtime="codex",
                trigger="replay",
                replay_of=source_id,
                tags={"simulation": "1"},
            ),
        ]
    ).result()
    now = pair_cost_distribution(
        store, agent[0], "claude", "claude-sonnet-5", BASE, 100, bin_edges(0.0, 0.04, 4)
    )
    assert (now.n, now.mean, now.bins) == (2, pytest.approx(0.02), (0, 1, 0, 1))
    candidate = pair_cost_distribution(
        store, agent[0], "codex", "gpt-5-mini", BASE, 100, bin_edges(0.0, 0.04, 4)
    )
    assert (candidate.n, candidate.p95) == (1, pytest.approx(0.002))


# -- plans --------------------------------------------------------------------------------------


def _plan(store: ExecutionLog, sql: str, params: tuple[Any, ...]) -> str:
    rows = store.reader().execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
    return " | ".join(str(row[3]) for row in rows)


def test_the_plans_read_the_rollup_and_indexes_never_a_scan_of_the_runs(
    store: ExecutionLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = _agent(store)
    store.ingest([_item(BASE + i * 60_000, agent=agent) for i in range(50)]).result()
    fold_run_rollups(store)
    seen: list[tuple[str, tuple[Any, ...]]] = []
    real = store.reader

    class Recording:
        def __init__(self, conn: sqlite3.Connection) -> None:
            self._conn = conn

        def execute(self, sql: str, params: Any = ()) -> Any:
            seen.append((sql, tuple(params)))
            return self._conn.execute(sql, params)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._conn, name)

    monkeypatch.setattr(store, "reader", lambda: Recording(real()))
    run_volume(store, RunFilter(), BASE + 17, BASE + DAY_MS, HOUR_MS)
    run_volume(
        store, RunFilter(agent_id=agent[0], statuses=("failed",)), BASE, BASE + DAY_MS, HOUR_MS
    )
    agent_trends(store, agent[0], BASE, BASE + 2 * DAY_MS, DAY_MS)
    agent_trends(store, agent[0], BASE, BASE + DAY_MS, HOUR_MS)
    spend_by_day(store, BASE, BASE + DAY_MS, "agent")
    monkeypatch.setattr(store, "reader", real)
    assert seen
    for sql, params in seen:
        plan = _plan(store, sql, params)
        if "FROM runs" in sql and "NOT INDEXED" not in sql and "run_no > ?" not in sql:
            assert "SCAN r" not in plan or "USING" in plan, (sql, plan)
        if "run_hour_rollups" in sql:
            assert "run_hour_rollups" in plan and "SCAN run_hour_rollups" not in plan.replace(
                "SCAN run_hour_rollups USING", ""
            ), (sql, plan)
        if "idx_runs_agent_day_duration" in sql:
            assert "USING COVERING INDEX idx_runs_agent_day_duration" in plan, plan
    # The runs not folded in yet are a rowid range, not a scan.
    fresh = next(sql for sql, _p in seen if "run_no > ?" in sql)
    fresh_params = next(p for sql, p in seen if sql == fresh)
    assert "INTEGER PRIMARY KEY (rowid>?)" in _plan(store, fresh, fresh_params)


def test_the_charts_migration_backfills_the_rollup_up_to_the_mark(store: ExecutionLog) -> None:
    """A log migrated to 15 holds its folded runs in run_hour_rollups (the backfill), and the
    rollup's own columns stay what the runs say."""
    store.ingest([_item(BASE + i * HOUR_MS // 3) for i in range(30)]).result()
    fold_run_rollups(store)
    conn = store.reader()
    assert conn.execute("SELECT total(runs) FROM run_hour_rollups").fetchone()[0] == 30
    rebuilt = conn.execute(
        "SELECT started_at / 3600000, count(*) FROM runs GROUP BY 1 ORDER BY 1"
    ).fetchall()
    rolled = conn.execute(
        "SELECT hour, sum(runs) FROM run_hour_rollups GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert [tuple(r) for r in rolled] == [tuple(r) for r in rebuilt]
    assert replace(RunFilter(), until_ms=1).until_ms == 1
    assert volume_store.rollup_serves(RunFilter(statuses=("failed",), agent_id="x"))
    # Since migration 18 the timeline's rollup keeps cost bands and simulations too.
    assert volume_store.rollup_serves(RunFilter(min_cost_usd=1.0, include_simulations=False))
    assert not volume_store.rollup_serves(RunFilter(error_class="timeout"))
    assert not volume_store.rollup_serves(RunFilter(tags=(("user", "alice"),)))


def test_the_volume_migration_backfills_its_rollup_up_to_the_mark(paths: DataPaths) -> None:
    """A log migrated from 17 to 18 holds the runs up to the mark in run_volume_rollups, one
    row per hour, status, agent, version, simulation and cost band; the runs above it are
    left to the fold, and every count stays the runs' own."""
    store = ExecutionLog.open(paths)
    agent = _agent(store)
    costs = [None, 0.00005, 0.0001, 0.019, 0.02, 0.5, 3.0, 2000.0]
    store.ingest(
        [_item(BASE + i * HOUR_MS // 3, agent=agent, cost=c) for i, c in enumerate(costs)]
    ).result()
    fold_run_rollups(store)
    store.ingest([_item(BASE + HOUR_MS // 2, cost=0.02)]).result()  # above the mark

    def downgrade(conn: sqlite3.Connection, _emit: Emit) -> None:
        conn.execute("DROP TABLE run_volume_rollups")
        conn.execute("DROP TRIGGER run_volume_rollups_update")
        conn.execute("DROP TRIGGER run_volume_rollups_delete")
        conn.execute("DELETE FROM schema_migrations WHERE version = 18")

    store.submit(downgrade).result()
    store.reader().execute("SELECT 1").fetchall()
    store.close()
    with sqlite3.connect(str(paths.database)) as conn:
        conn.execute("PRAGMA user_version = 17")
    conn.close()
    store = ExecutionLog.open(paths)
    try:
        rolled = (
            store.reader()
            .execute("SELECT band, sum(runs) FROM run_volume_rollups GROUP BY 1 ORDER BY 1")
            .fetchall()
        )
        # Bands: no cost -1; under $0.0001 0; the edges' own bands; beyond the last edge 22.
        assert [tuple(r) for r in rolled] == [
            (-1, 1), (0, 1), (1, 1), (7, 1), (8, 1), (12, 1), (14, 1), (22, 1)
        ]  # fmt: skip
        for least in (*[c for c in costs if c], 0.00001, 0.0199, 0.021, 1.0, 5000.0):
            flt = RunFilter(min_cost_usd=least)
            truth = _truth(store, flt, BASE - DAY_MS, BASE + DAY_MS, 2 * DAY_MS)
            assert store.count_runs(flt) == sum(truth.get(0, {}).values()), least
            got = run_volume(store, flt, BASE, BASE + 3 * HOUR_MS, HOUR_MS).counts
            assert got == _truth(store, flt, BASE, BASE + 3 * HOUR_MS, HOUR_MS), least
    finally:
        store.close()


def test_the_cost_band_edges_are_the_same_numbers_in_sql_and_python(store: ExecutionLog) -> None:
    """A minimum cost on an edge reads whole bands: SQLite must parse the migration's literals
    to the very doubles Python compares with."""
    from ato_desktop.store.schema import COST_BAND_EDGES, COST_BAND_SQL

    conn = store.reader()
    for i, edge in enumerate(COST_BAND_EDGES):
        (band,) = conn.execute(f"SELECT {COST_BAND_SQL.format(cost='?')}", (edge,) * 22).fetchone()
        assert band == i + 1, edge
        below = conn.execute(
            f"SELECT {COST_BAND_SQL.format(cost='?')}", (edge * (1 - 1e-15),) * 22
        ).fetchone()[0]
        assert below == i, edge


def test_a_chart_read_folds_the_runs_waiting_above_the_mark_when_many_wait(
    store: ExecutionLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As cost recommendations do: the rowid range read above the mark stays short."""
    from ato_desktop.store.insights_queries import unfolded_runs

    store.ingest([_item(BASE + i * 1000) for i in range(30)]).result()
    monkeypatch.setattr(chart_queries, "FOLD_AT", 50)
    before = run_volume(store, RunFilter(), BASE, BASE + HOUR_MS, HOUR_MS)
    assert unfolded_runs(store) == 30  # under the threshold: left for later
    monkeypatch.setattr(chart_queries, "FOLD_AT", 10)
    after = run_volume(store, RunFilter(), BASE, BASE + HOUR_MS, HOUR_MS)
    assert unfolded_runs(store) == 0
    assert before.counts == after.counts == {0: {"completed": 30}}


def test_the_burn_check_reads_each_agents_hourly_spend_from_the_rollup(
    store: ExecutionLog,
) -> None:
    """The budget-burn intercept sums an agent's spend per hour from run_volume_rollups and the
    runs above its mark: the same spike folded or not, and a folded run's later cost (kept by
    trigger) changes it."""
    from ato_desktop.store.run_queries import burn_anomalies

    agent = _agent(store)
    now = BASE + 10 * DAY_MS
    week = [_item(now - h * HOUR_MS, agent=agent, cost=0.3) for h in range(2, 7 * 24, 6)]
    spike = [_item(now + i * 1000, agent=agent, cost=0.5) for i in range(6)]
    store.ingest([*week, *spike]).result()
    store.ingest([_item(now + 9000, cost=5.0)]).result()  # no agent: never an agent's spike

    def seen() -> list[tuple[str, float]]:
        return [
            (run.id, anomaly.hour_spend_usd)
            for run, anomaly in burn_anomalies(store, now=now + 10_000)
        ]

    unfolded = seen()
    assert len(unfolded) == 1 and unfolded[0][1] == pytest.approx(3.0)
    fold_run_rollups(store)
    folded = seen()
    assert [r for r, _ in folded] == [r for r, _ in unfolded]
    assert folded[0][1] == pytest.approx(3.0)
    assert [r for r, _ in burn_anomalies(store, agent_id=agent[0], now=now + 10_000)]

    def cheaper(conn: sqlite3.Connection, _emit: Emit) -> None:
        conn.execute("UPDATE runs SET cost_usd = 0.01 WHERE started_at >= ?", (now,))

    store.submit(cheaper).result()
    assert seen() == []
