"""The execution log's write and read API against a real SQLite file."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from ato_desktop.core.events import (
    ActionCreated,
    ConfigChanged,
    DomainEvent,
    RunCompleted,
    RunCreated,
    RunFailed,
    RunsIngested,
)
from ato_desktop.core.models import AgentConfig, CostSource, TokenUsage
from ato_desktop.core.records import NewAction, NewRun, RunCursor, RunEnd, RunFilter
from ato_desktop.store.database import StoreError
from ato_desktop.store.execution_log import AgentExistsError, ExecutionLog, NotFoundError
from ato_desktop.store.paths import DataPaths
from ato_desktop.store.process_lease import ProcessLease, owner_is_alive

NOW = 1_790_000_000_000


def _action(
    cost: float | None, source: CostSource | None, outcome: str = "success", tokens: int = 10
) -> NewAction:
    return NewAction(
        name="call_llm",
        kind="llm",
        outcome=outcome,
        started_at=NOW,
        ended_at=NOW + 5,
        inputs={"messages": [{"role": "user", "content": "hi"}]},
        outputs={"text": "hello"},
        usage=TokenUsage(tokens, tokens // 2, cache_read_tokens=2),
        cost_usd=cost,
        cost_source=source,
        ttft_ns=1_000_000,
        duration_ns=5_000_000,
    )


def test_agent_versions_record_every_change_with_a_diff(
    store: ExecutionLog, events: list[DomainEvent]
) -> None:
    agent = store.create_agent("writer", AgentConfig("claude", "claude-sonnet-5")).result()
    assert agent.current_version == 1
    same, changed = store.update_agent(agent.id, agent.config).result()
    assert not changed and same.current_version == 1
    new_config = AgentConfig(
        "claude", "claude-sonnet-5", system_prompt="Be brief.", params={"temperature": 0.2}
    )
    updated, changed = store.update_agent(agent.id, new_config).result()
    assert changed and updated.current_version == 2
    history = store.agent_history(agent.id)
    assert [v.version for v in history] == [2, 1]
    assert {c["path"] for c in history[0].diff} == {"system_prompt", "params.temperature"}
    assert store.get_agent("WRITER").config == new_config  # names are case-insensitive
    assert [e for e in events if isinstance(e, ConfigChanged)] == [
        ConfigChanged(agent.id, 1, agent.current_version_id),
        ConfigChanged(agent.id, 2, updated.current_version_id),
    ]
    with pytest.raises(AgentExistsError):
        store.create_agent("Writer", AgentConfig("codex", "gpt-5")).result()
    with pytest.raises(NotFoundError, match="Known agents: writer"):
        store.get_agent("nobody")


def test_run_aggregates_are_kept_on_write(store: ExecutionLog, events: list[DomainEvent]) -> None:
    run_id, run_no = store.create_run(NewRun("claude", "m", "cli", NOW), owner="me").result()
    store.append_action(run_id, run_no, _action(0.01, CostSource.PROVIDER)).result()
    store.append_action(run_id, run_no, _action(0.02, CostSource.ESTIMATED, "error")).result()
    run = store.get_run(run_id)
    assert run.action_count == 2 and run.success_count == 1 and run.success_rate == 0.5
    assert run.usage == TokenUsage(20, 10, cache_read_tokens=4)
    assert run.cost_usd == pytest.approx(0.03)
    assert run.cost_source == "estimated"
    assert run.ttft_ns == 1_000_000
    # An unpriced action makes the whole run's cost "unknown" while keeping the known part.
    store.append_action(run_id, run_no, _action(None, CostSource.UNKNOWN)).result()
    run = store.get_run(run_id)
    assert run.cost_source == "unknown" and run.cost_usd == pytest.approx(0.03)
    end = RunEnd("failed", NOW + 10, 10_000_000, error_class="auth", error_message="bad key")
    assert store.complete_run(run_id, run_no, None, end).result() is True
    # A run ends once: a late second ending (another process, a recovery) changes nothing.
    assert store.complete_run(run_id, run_no, None, RunEnd("completed", NOW, 1)).result() is False
    assert store.get_run(run_id).status == "failed"
    assert [type(e) for e in events] == [
        RunCreated,
        ActionCreated,
        ActionCreated,
        ActionCreated,
        RunFailed,
    ]
    actions = store.get_actions(run_id)
    assert [a.seq for a in actions] == [1, 2, 3]
    assert actions[0].inputs == {"messages": [{"role": "user", "content": "hi"}]}


def test_complete_run_publishes_completed(store: ExecutionLog, events: list[DomainEvent]) -> None:
    run_id, run_no = store.create_run(NewRun("codex", "gpt-5", "ui", NOW), owner="me").result()
    store.complete_run(
        run_id, run_no, _action(0.5, CostSource.ESTIMATED), RunEnd("completed", NOW + 1, 7)
    ).result()
    assert isinstance(events[-1], RunCompleted) and events[-1].duration_ns == 7
    assert isinstance(events[-2], ActionCreated)


def test_binary_payloads_are_stored_safely(store: ExecutionLog) -> None:
    run_id, run_no = store.create_run(NewRun("claude", "m", "cli", NOW), owner=None).result()
    action = NewAction("read_file", "tool", "success", NOW, outputs={"data": b"\x00\xffPNG"})
    store.append_action(run_id, run_no, action).result()
    stored = store.get_actions(run_id)[0].outputs["data"]
    assert stored == {"$binary": "AP9QTkc=", "size": 5}


def _seed(store: ExecutionLog) -> dict[str, str]:
    a = store.create_agent("alpha", AgentConfig("claude", "m")).result()
    b = store.create_agent("beta", AgentConfig("codex", "gpt-5")).result()
    items = []
    day = 86_400_000
    for i in range(60):
        agent = a if i % 2 == 0 else b
        status = ["completed", "failed", "killed"][i % 3]
        items.append(
            (
                NewRun(
                    agent.config.runtime,
                    agent.config.model,
                    "cli",
                    NOW - i * day // 4,
                    agent_id=agent.id,
                    agent_version_id=agent.current_version_id,
                ),
                RunEnd(status, NOW - i * day // 4 + 1000, 1_000_000_000),
                [_action(0.001 * i, CostSource.ESTIMATED)],
            )
        )
    assert store.ingest(items).result() == 60
    return {"alpha": a.id, "beta": b.id}


def test_filters_combine(store: ExecutionLog) -> None:
    agents = _seed(store)
    all_runs = store.list_runs(RunFilter(), limit=1000)
    assert len(all_runs) == 60
    assert [r.started_at for r in all_runs] == sorted(
        (r.started_at for r in all_runs), reverse=True
    )
    flt = RunFilter(
        statuses=("completed",),
        agent_id=agents["alpha"],
        since_ms=NOW - 7 * 86_400_000,
        min_cost_usd=0.005,
    )
    rows = store.list_runs(flt, limit=1000)
    expected = [
        r
        for r in all_runs
        if r.status == "completed"
        and r.agent_id == agents["alpha"]
        and r.started_at >= NOW - 7 * 86_400_000
        and (r.cost_usd or 0) >= 0.005
    ]
    assert rows and [r.id for r in rows] == [r.id for r in expected]
    assert store.count_runs(flt) == len(expected)
    assert all(r.agent_name == "alpha" for r in rows)


def test_keyset_pagination_visits_every_run_once(store: ExecutionLog) -> None:
    _seed(store)
    seen: list[str] = []
    cursor = None
    while True:
        page = store.list_runs(RunFilter(), after=cursor, limit=7)
        seen.extend(r.id for r in page)
        if len(page) < 7:
            break
        cursor = RunCursor(page[-1].started_at, page[-1].id)
    assert len(seen) == len(set(seen)) == 60


def test_ingest_matches_the_live_path(store: ExecutionLog, events: list[DomainEvent]) -> None:
    actions = [_action(0.01, CostSource.PROVIDER), _action(None, CostSource.UNKNOWN, "error")]
    store.ingest(
        [(NewRun("claude", "m", "cli", NOW, id="a" * 32), RunEnd("failed", NOW, 5), actions)]
    ).result()
    live_id, live_no = store.create_run(NewRun("claude", "m", "cli", NOW), owner=None).result()
    for action in actions:
        store.append_action(live_id, live_no, action).result()
    bulk, live = store.get_run("a" * 32), store.get_run(live_id)
    for field in ("usage", "cost_usd", "cost_source", "action_count", "success_count"):
        assert getattr(bulk, field) == getattr(live, field), field
    assert isinstance(events[0], RunsIngested)


def test_run_ids_resolve_from_prefix_or_suffix(store: ExecutionLog) -> None:
    run_id, _ = store.create_run(NewRun("claude", "m", "cli", NOW), owner=None).result()
    assert store.resolve_run_id(run_id) == run_id
    assert store.resolve_run_id(run_id[-8:]) == run_id
    assert store.resolve_run_id(run_id[:20]) == run_id
    with pytest.raises(NotFoundError):
        store.resolve_run_id("zz")


def test_a_failing_write_does_not_sink_its_batch(store: ExecutionLog) -> None:
    def bad(conn: sqlite3.Connection, emit: object) -> None:
        conn.execute("INSERT INTO agents (id) VALUES (NULL)")

    futures = [store.submit(bad)] + [
        store.create_agent(f"a{i}", AgentConfig("claude", "m")) for i in range(5)
    ]
    with pytest.raises(sqlite3.IntegrityError):
        futures[0].result()
    assert all(f.result().name for f in futures[1:])
    assert len(store.list_agents()) == 5


def test_threads_keep_messages_in_order(store: ExecutionLog) -> None:
    thread = store.create_thread("  What is\n WAL? ").result()
    assert thread.title == "What is WAL?"
    store.add_message(thread.id, "user", "What is WAL?").result()
    store.add_message(thread.id, "assistant", "Write-ahead logging.").result()
    assert [m.role for m in store.thread_messages(thread.id)] == ["user", "assistant"]
    assert store.list_threads()[0].id == thread.id


def test_lease_tells_live_owners_from_dead_ones(paths: DataPaths) -> None:
    lease = ProcessLease(paths.leases_dir)
    assert owner_is_alive(paths.leases_dir, lease.token)
    code = (
        "import sys; from pathlib import Path; "
        "from ato_desktop.store.process_lease import ProcessLease; "
        f"print(ProcessLease(Path({str(paths.leases_dir)!r})).token)"
    )
    token = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert not owner_is_alive(paths.leases_dir, token)  # that process has exited
    assert not owner_is_alive(paths.leases_dir, None)
    lease.release()
    assert not owner_is_alive(paths.leases_dir, lease.token)


def test_reads_do_not_wait_for_a_long_write(store: ExecutionLog) -> None:
    """WAL: a reader sees the last commit while the writer holds its transaction open."""
    store.create_agent("seen", AgentConfig("claude", "m")).result()
    import threading

    inside, release = threading.Event(), threading.Event()

    def slow(conn: sqlite3.Connection, emit: object) -> None:
        conn.execute(
            "INSERT INTO agents (id, name, created_at, updated_at, current_version) "
            "VALUES ('x', 'pending', 0, 0, 1)"
        )
        inside.set()
        release.wait(5)

    future = store.submit(slow)
    assert inside.wait(5)
    started = time.perf_counter()
    names = [a.name for a in store.list_agents()]
    assert time.perf_counter() - started < 0.5
    assert names == ["seen"]
    release.set()
    future.result()


def test_a_log_opened_to_read_starts_no_writer_and_refuses_writes(paths: DataPaths) -> None:
    """A reading process (a CLI command) starts no writer thread; a write still reaches the
    read-only connection and is refused with the store's message, and none after close()."""
    log = ExecutionLog.open(paths)
    log.create_agent("writer", AgentConfig("claude", "m")).result()
    log.close()

    def writers() -> list[str]:
        return [t.name for t in threading.enumerate() if t.name == "ato-store-writer"]

    before = writers()
    reader = ExecutionLog.open_for_reading(paths)
    try:
        assert writers() == before
        assert [a.name for a in reader.list_agents()] == ["writer"]
        with pytest.raises(StoreError, match="read-only"):
            reader.create_agent("other", AgentConfig("claude", "m")).result()
    finally:
        reader.close()
    with pytest.raises(StoreError, match="closed"):
        reader.create_agent("late", AgentConfig("claude", "m")).result()
    unused = ExecutionLog.open_for_reading(paths)
    unused.close()  # its connection is closed though no writer ever took it
    with pytest.raises(StoreError, match="closed"):
        unused.create_agent("late", AgentConfig("claude", "m")).result()
    assert writers() == before
