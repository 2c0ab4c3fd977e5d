"""Demo rows in the log: the catalogue with fixed ids, the presence check, and removal."""

from __future__ import annotations

from typing import Any

import pytest

from ato_desktop.core.events import AgentDeleted, DomainEvent, RunsIngested
from ato_desktop.core.models import AgentConfig, CostSource, TokenUsage
from ato_desktop.core.records import NewAction, NewRun, RunEnd, RunFilter
from ato_desktop.store.demo_data import (
    DemoAgent,
    DemoCatalog,
    DemoConflictError,
    DemoMessage,
    DemoThread,
    DemoVersion,
    count_demo_data,
    has_demo_data,
    remove_demo_data,
    write_catalog,
)
from ato_desktop.store.execution_log import ExecutionLog

T0 = 1_790_000_000_000
CONFIG = AgentConfig("claude", "claude-sonnet-5", "Be brief.")


def _catalog() -> DemoCatalog:
    agent = DemoAgent(
        "0190a0000000700080000000000000a1",
        "demo-agent",
        (
            DemoVersion("0190a0000000700080000000000000b1", 1, T0, CONFIG),
            DemoVersion(
                "0190a0000000700080000000000000b2",
                2,
                T0 + 1000,
                AgentConfig("claude", "claude-haiku-4-5", "Be brief."),
            ),
        ),
    )
    thread = DemoThread(
        "0190a0000000700080000000000000c1",
        "What is a WAL?",
        T0 + 2000,
        agent.id,
        "claude",
        "claude-haiku-4-5",
        (
            DemoMessage("user", "What is a WAL?", T0 + 2000, "run-demo-0"),
            DemoMessage("assistant", "A write-ahead log.", T0 + 3000, "run-demo-0"),
        ),
    )
    return DemoCatalog((agent,), (thread,))


def _run(i: int, *, demo: bool, agent: DemoAgent | None = None, thread: str | None = None):
    started = T0 + 10_000 + i * 1000
    action = NewAction(
        "call_llm",
        "llm",
        "success",
        started,
        started + 500,
        inputs={"messages": [{"role": "user", "content": f"q{i}"}]},
        outputs={"text": f"a{i}"},
        usage=TokenUsage(100, 20),
        cost_usd=0.001,
        cost_source=CostSource.ESTIMATED,
    )
    new = NewRun(
        "claude",
        "claude-haiku-4-5",
        "ui",
        started,
        agent_id=agent.id if agent else None,
        agent_version_id=agent.current.id if agent else None,
        thread_id=thread,
        is_demo=demo,
        id=f"run-{'demo' if demo else 'own'}-{i}",
    )
    return new, RunEnd("completed", started + 600, 600_000_000), [action, action]


def test_the_catalogue_is_written_with_its_own_ids_and_history(store: ExecutionLog) -> None:
    catalog = _catalog()
    write_catalog(store, catalog).result()
    agent = store.get_agent("demo-agent")
    assert agent.id == catalog.agents[0].id and agent.is_demo
    assert agent.current_version == 2 and agent.config.model == "claude-haiku-4-5"
    history = store.agent_history(agent.id)
    assert [v.id for v in history] == [
        "0190a0000000700080000000000000b2",
        "0190a0000000700080000000000000b1",
    ]
    assert history[0].diff == [
        {"path": "model", "before": "claude-sonnet-5", "after": "claude-haiku-4-5"}
    ]
    assert history[0].created_at == T0 + 1000
    thread = store.get_thread(catalog.threads[0].id)
    assert thread.is_demo and thread.updated_at == T0 + 3000
    messages = store.thread_messages(thread.id)
    assert [(m.seq, m.role, m.run_id) for m in messages] == [
        (1, "user", "run-demo-0"),
        (2, "assistant", "run-demo-0"),
    ]
    with pytest.raises(DemoConflictError):
        write_catalog(store, catalog).result()


def test_presence_counts_and_removal_keep_the_users_rows(
    store: ExecutionLog, events: list[DomainEvent]
) -> None:
    assert not has_demo_data(store)
    assert count_demo_data(store).empty
    catalog = _catalog()
    agent = catalog.agents[0]
    write_catalog(store, catalog).result()
    assert has_demo_data(store)
    own_agent = store.create_agent("mine", CONFIG).result()
    store.ingest(
        [_run(i, demo=True, agent=agent, thread=catalog.threads[0].id) for i in range(7)]
    ).result()
    # The user's own runs: one plain, one made with the demo agent (it stays, unlinked).
    store.ingest(
        [
            _run(100, demo=False),
            _run(101, demo=False, agent=agent),
        ]
    ).result()
    counts = count_demo_data(store)
    assert (counts.runs, counts.agents, counts.threads) == (7, 1, 1)

    seen: list[tuple[int, int]] = []
    removed = remove_demo_data(store, batch_runs=3, progress=lambda d, t: seen.append((d, t)))
    assert (removed.runs, removed.agents, removed.threads) == (7, 1, 1)
    assert seen[0] == (0, 7) and seen[-1] == (7, 7)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert not has_demo_data(store)
    assert count_demo_data(store).empty

    runs = {r.id: r for r in store.list_runs(RunFilter(), limit=100)}
    assert set(runs) == {"run-own-100", "run-own-101"}
    assert runs["run-own-101"].agent_id is None  # unlinked, like delete_agents leaves runs
    assert all(len(store.get_actions(run_id)) == 2 for run_id in runs)
    conn = store.reader()
    assert conn.execute("SELECT count(*) FROM actions").fetchone()[0] == 4
    assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM agent_versions").fetchone()[0] == 1
    assert [a.id for a in store.list_agents()] == [own_agent.id]
    assert any(isinstance(e, AgentDeleted) and e.agent_id == agent.id for e in events)
    assert any(isinstance(e, RunsIngested) for e in events)


def test_removal_can_stop_between_batches(store: ExecutionLog) -> None:
    import threading

    catalog = _catalog()
    write_catalog(store, catalog).result()
    store.ingest([_run(i, demo=True) for i in range(10)]).result()
    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        if done >= 4:
            cancel.set()

    removed = remove_demo_data(store, batch_runs=4, progress=progress, cancel=cancel)
    assert removed.runs == 4 and removed.agents == 0
    assert count_demo_data(store).runs == 6  # the rest stays until the next removal
    assert remove_demo_data(store).runs == 6


def test_nothing_to_remove_is_not_an_error(store: ExecutionLog) -> None:
    store.ingest([_run(1, demo=False)]).result()
    removed = remove_demo_data(store)
    assert removed.empty
    assert store.count_runs(RunFilter()) == 1


def test_simulations_of_demo_runs_go_with_them_and_replays_stay(store: ExecutionLog) -> None:
    """#17.7: a simulation (trigger replay, tag simulation) of a demo run is derived from demo
    data and goes with it, batch by batch; a real replay of a demo run (a dispatch the user paid
    for) stays, like the user's own simulations."""
    store.ingest([_run(i, demo=True) for i in range(6)]).result()
    store.ingest([_run(9, demo=False)]).result()

    def derived(i: int, source: str, *, simulation: bool) -> tuple[NewRun, RunEnd, list[Any]]:
        new, end, actions = _run(100 + i, demo=False)
        tags = {"simulation": "true", "match_rate": "1.000"} if simulation else {}
        return (
            NewRun(
                new.runtime, new.model, "replay", new.started_at, replay_of=source, tags=tags,
                id=f"derived-{i}",
            ),
            end,
            actions,
        )  # fmt: skip

    store.ingest(
        [
            derived(0, "run-demo-0", simulation=True),
            derived(1, "run-demo-5", simulation=True),
            derived(2, "run-demo-3", simulation=False),
            derived(3, "run-own-9", simulation=True),
        ]
    ).result()
    removed = remove_demo_data(store, batch_runs=2)
    assert removed.runs == 6
    left = {r.id for r in store.list_runs(RunFilter(), limit=50)}
    assert left == {"run-own-9", "derived-2", "derived-3"}
    assert store.reader().execute("SELECT count(*) FROM actions").fetchone()[0] == 6
