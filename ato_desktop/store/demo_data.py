"""Demo rows in the execution log: writing the demo catalogue with fixed ids, finding, removing.

Every demo row is marked (`is_demo = 1` on agents, threads and runs; versions, messages and
actions belong to a marked row). The generator (`engine/demo.py`) decides what the rows say;
this module only knows how they are stored.

Ids are given, not minted: the same seed must give the same rows, ids included, and
`ExecutionLog.create_agent` / `create_thread` mint random ones.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from ato_desktop.core.config_diff import diff_configs
from ato_desktop.core.events import AgentDeleted, ConfigChanged, RunsRemoved, ThreadChanged
from ato_desktop.core.models import AgentConfig
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.json_codec import to_json
from ato_desktop.store.writer import Emit

REMOVE_BATCH_RUNS = 20_000
"""Runs deleted per write job: small enough that other writes interleave (a dispatch never
waits more than a fraction of a second), large enough that 1M runs go in under a minute."""


@dataclass(frozen=True, slots=True)
class DemoVersion:
    """One config version of a demo agent, created at a past time."""

    id: str
    version: int
    created_at: int
    config: AgentConfig
    change_source: str = "ui"


@dataclass(frozen=True, slots=True)
class DemoAgent:
    """A demo agent with its whole version history (versions in order, 1 first)."""

    id: str
    name: str
    versions: tuple[DemoVersion, ...]

    @property
    def created_at(self) -> int:
        return self.versions[0].created_at

    @property
    def current(self) -> DemoVersion:
        return self.versions[-1]


@dataclass(frozen=True, slots=True)
class DemoMessage:
    role: str
    content: str
    created_at: int
    run_id: str | None = None


@dataclass(frozen=True, slots=True)
class DemoThread:
    id: str
    title: str
    created_at: int
    agent_id: str | None = None
    runtime: str | None = None
    model: str | None = None
    messages: tuple[DemoMessage, ...] = ()

    @property
    def updated_at(self) -> int:
        return self.messages[-1].created_at if self.messages else self.created_at


@dataclass(frozen=True, slots=True)
class DemoCatalog:
    """Everything of the demo workspace except its runs (which stream through ingest)."""

    agents: tuple[DemoAgent, ...] = ()
    threads: tuple[DemoThread, ...] = ()


@dataclass(frozen=True, slots=True)
class DemoCounts:
    """How many demo rows the log holds (or a removal took away)."""

    runs: int = 0
    agents: int = 0
    threads: int = 0

    @property
    def empty(self) -> bool:
        return not (self.runs or self.agents or self.threads)


@dataclass(slots=True)
class _RemovalState:
    last_run_no: int = 0
    runs: int = 0


class DemoConflictError(Exception):
    """The demo catalogue cannot be written (its ids are already in the log)."""


# -- writing -------------------------------------------------------------------------------


def write_catalog(log: ExecutionLog, catalog: DemoCatalog) -> Future[None]:
    """Insert the demo agents (every version), threads and messages in one transaction.

    Runs reference agents, versions and threads, so this goes first; messages reference runs by
    id without a foreign key, so they can name runs that the ingest writes afterwards.
    """

    def job(conn: sqlite3.Connection, emit: Emit) -> None:
        ids = [a.id for a in catalog.agents]
        if ids:
            marks = ",".join("?" * len(ids))
            taken = conn.execute(f"SELECT id FROM agents WHERE id IN ({marks})", ids).fetchone()
            if taken is not None:
                raise DemoConflictError("this demo workspace is already in the log")
        for agent in catalog.agents:
            _insert_agent(conn, agent)
            for version in agent.versions:
                emit(ConfigChanged(agent.id, version.version, version.id))
        for thread in catalog.threads:
            conn.execute(
                "INSERT INTO threads (id, title, agent_id, runtime, model, created_at, "
                "updated_at, is_demo) VALUES (?, ?, ?, ?, ?, ?, ?, 1)",
                (
                    thread.id,
                    thread.title,
                    thread.agent_id,
                    thread.runtime,
                    thread.model,
                    thread.created_at,
                    thread.updated_at,
                ),
            )
            conn.executemany(
                "INSERT INTO messages (thread_id, seq, role, content, run_id, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (thread.id, seq, m.role, m.content, m.run_id, m.created_at)
                    for seq, m in enumerate(thread.messages, 1)
                ],
            )
            emit(ThreadChanged(thread.id))

    return log.submit(job)


def _insert_agent(conn: sqlite3.Connection, agent: DemoAgent) -> None:
    current = agent.current
    conn.execute(
        "INSERT INTO agents (id, name, created_at, updated_at, current_version, is_demo) "
        "VALUES (?, ?, ?, ?, ?, 1)",
        (agent.id, agent.name, agent.created_at, current.created_at, current.version),
    )
    before = None
    for version in agent.versions:
        after = version.config.as_dict()
        diff = [c.as_dict() for c in diff_configs(before, after)]
        conn.execute(
            "INSERT INTO agent_versions (id, agent_id, version, created_at, runtime, model, "
            "config_json, diff_json, change_source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                version.id,
                agent.id,
                version.version,
                version.created_at,
                version.config.runtime,
                version.config.model,
                to_json(after),
                to_json(diff),
                version.change_source,
            ),
        )
        before = after


# -- reading -------------------------------------------------------------------------------


def has_demo_data(log: ExecutionLog) -> bool:
    """True when any demo row is in the log. Reads on the calling thread (run it off the UI's).

    Agents and threads are small tables and every demo build has demo agents, so the usual
    answer costs two lookups; runs are scanned only when neither has a demo row (demo runs left
    behind after their agents were deleted).
    """
    conn = log.reader()
    for table in ("agents", "threads", "runs"):
        if conn.execute(f"SELECT 1 FROM {table} WHERE is_demo = 1 LIMIT 1").fetchone():
            return True
    return False


def agent_names(log: ExecutionLog) -> set[str]:
    """Every agent name, lower-cased (names are unique ignoring case)."""
    return {str(row[0]).lower() for row in log.reader().execute("SELECT name FROM agents")}


def count_demo_data(log: ExecutionLog) -> DemoCounts:
    """How many demo runs, agents and threads the log holds (a scan of runs: off the UI thread)."""
    conn = log.reader()
    runs = conn.execute("SELECT count(*) FROM runs WHERE is_demo = 1").fetchone()[0]
    agents = conn.execute("SELECT count(*) FROM agents WHERE is_demo = 1").fetchone()[0]
    threads = conn.execute("SELECT count(*) FROM threads WHERE is_demo = 1").fetchone()[0]
    return DemoCounts(int(runs), int(agents), int(threads))


# -- removing ------------------------------------------------------------------------------


def remove_demo_data(
    log: ExecutionLog,
    *,
    batch_runs: int = REMOVE_BATCH_RUNS,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> DemoCounts:
    """Delete every demo row; returns what was removed. Blocks: call it from a worker thread.

    Runs (and their actions) go in batches of `batch_runs`, each its own write job, so the
    writer stays responsive; then threads (with their messages) and agents (with their versions)
    in one last job. Rows that are not demo stay: a run the user made with a demo agent stays,
    unlinked, as `ExecutionLog.delete_agents` leaves runs. progress(done, total) follows the
    runs. With cancel set, it stops between batches (what was removed stays removed).
    """
    total = count_demo_data(log).runs
    state = _RemovalState()
    if progress is not None:
        progress(0, total)
    while True:
        if cancel is not None and cancel.is_set():
            return DemoCounts(runs=state.runs)
        deleted = log.submit(_delete_run_batch(state, batch_runs)).result()
        if progress is not None:
            progress(min(state.runs, total), max(total, state.runs))
        if deleted < batch_runs:
            break
    agents, threads = log.submit(_delete_catalog(state)).result()
    return DemoCounts(runs=state.runs, agents=agents, threads=threads)


def _delete_run_batch(
    state: _RemovalState, batch_runs: int
) -> Callable[[sqlite3.Connection, Emit], int]:
    def job(conn: sqlite3.Connection, emit: Emit) -> int:
        # Keyset over the primary key: each batch resumes where the last stopped, so real runs
        # between demo runs are read once, not once per batch.
        run_nos = [
            (row[0],)
            for row in conn.execute(
                "SELECT run_no FROM runs WHERE run_no > ? AND is_demo = 1 ORDER BY run_no LIMIT ?",
                (state.last_run_no, batch_runs),
            )
        ]
        if not run_nos:
            return 0
        # One statement per table, not one per run: each statement inside the writer's job
        # savepoint journals every page it touches again, so a batch of 20,000 single-run
        # deletes cost minutes; two range deletes cost a second.
        span = (run_nos[0][0], run_nos[-1][0])
        conn.execute(
            "DELETE FROM actions WHERE run_no IN (SELECT run_no FROM runs "
            "WHERE run_no BETWEEN ? AND ? AND is_demo = 1)",
            span,
        )
        conn.execute("DELETE FROM runs WHERE run_no BETWEEN ? AND ? AND is_demo = 1", span)
        state.last_run_no = run_nos[-1][0]
        state.runs += len(run_nos)
        emit(RunsRemoved(len(run_nos)))
        return len(run_nos)

    return job


def _delete_catalog(state: _RemovalState) -> Callable[[sqlite3.Connection, Emit], tuple[int, int]]:
    def job(conn: sqlite3.Connection, emit: Emit) -> tuple[int, int]:
        thread_ids = [row[0] for row in conn.execute("SELECT id FROM threads WHERE is_demo = 1")]
        agent_ids = [row[0] for row in conn.execute("SELECT id FROM agents WHERE is_demo = 1")]
        # Messages and versions go with their thread or agent (ON DELETE CASCADE); runs that are
        # not demo but point at them are unlinked (ON DELETE SET NULL).
        conn.execute("DELETE FROM threads WHERE is_demo = 1")
        conn.execute("DELETE FROM agents WHERE is_demo = 1")
        for thread_id in thread_ids:
            emit(ThreadChanged(thread_id))
        for agent_id in agent_ids:
            emit(AgentDeleted(agent_id))
        if state.runs or thread_ids or agent_ids:
            emit(RunsRemoved(0))  # the last step: views reload once more
        return len(agent_ids), len(thread_ids)

    return job
