"""Demo rows in the execution log: writing the demo catalogue with fixed ids, finding, removing.

Every demo row is marked (`is_demo = 1` on agents, threads, runs, automations and eval suites;
versions, messages, actions, schedule progress and suite runs belong to a marked row). The
generator (`engine/demo_generator.py`) decides what the rows say; this module only knows how
they are stored, and who is building them: a build claims the `demo_build` row first, naming its
process's lease, so a build killed half-way is told apart from a loaded demo and from a build
still under way in another process.

Ids are given, not minted: the same seed must give the same rows, ids included, and
`ExecutionLog.create_agent` / `create_thread` mint random ones.
"""

from __future__ import annotations

import enum
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from ato_desktop.core.config_diff import diff_configs
from ato_desktop.core.events import (
    AgentDeleted,
    AutomationChanged,
    ConfigChanged,
    EvalSuiteRunChanged,
    RunsRemoved,
    ThreadChanged,
)
from ato_desktop.core.models import AgentConfig
from ato_desktop.store.execution_log import ExecutionLog, now_ms
from ato_desktop.store.json_codec import to_json
from ato_desktop.store.process_lease import owner_is_alive
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
    automations: int = 0
    eval_suites: int = 0

    @property
    def empty(self) -> bool:
        return not (
            self.runs or self.agents or self.threads or self.automations or self.eval_suites
        )


@dataclass(slots=True)
class _RemovalState:
    last_run_no: int = 0
    runs: int = 0
    simulations: int = 0


class DemoConflictError(Exception):
    """The demo catalogue cannot be written (its ids are already in the log)."""


class DemoExistsError(Exception):
    """The log already holds a demo workspace."""


class DemoBusyError(DemoExistsError):
    """Another process is building the demo workspace right now."""


class BuildClaim(enum.Enum):
    """What claiming the demo build found."""

    FRESH = "fresh"  # nothing there: build
    RECLAIMED = "reclaimed"  # a build killed half-way: remove what it wrote, then build


# -- the build under way ---------------------------------------------------------------------


def claim_build(log: ExecutionLog, owner: str, *, seed: int, runs: int) -> Future[BuildClaim]:
    """Claim the demo build for the process holding the lease `owner`, in one write.

    Raises DemoExistsError when a finished demo is in the log, DemoBusyError while another live
    process builds one. A build whose process died (kill -9, power loss) is taken over:
    RECLAIMED says to remove its rows (remove_demo_data(..., owner=owner)) before building.
    """
    leases = log.paths.leases_dir

    def job(conn: sqlite3.Connection, emit: Emit) -> BuildClaim:
        row = conn.execute("SELECT owner, finished_at FROM demo_build WHERE id = 1").fetchone()
        claim = BuildClaim.FRESH
        if row is not None and row["finished_at"] is None:
            if row["owner"] != owner and owner_is_alive(leases, row["owner"]):
                raise DemoBusyError(
                    "The demo workspace is being loaded by another process right now; wait for "
                    "it to finish (or stop it), then try again."
                )
            claim = BuildClaim.RECLAIMED
        elif _has_demo_rows(conn):
            raise DemoExistsError(
                "The demo workspace is already loaded. Remove it first "
                "(`ato-desktop demo --remove`, or Remove demo data in the app)."
            )
        conn.execute(
            "INSERT OR REPLACE INTO demo_build (id, owner, seed, runs, started_at, finished_at) "
            "VALUES (1, ?, ?, ?, ?, NULL)",
            (owner, seed, runs, now_ms()),
        )
        return claim

    return log.submit(job)


def finish_build(log: ExecutionLog, owner: str) -> Future[None]:
    """Mark the demo build of `owner` finished: from now on it is a loaded demo."""

    def job(conn: sqlite3.Connection, emit: Emit) -> None:
        conn.execute(
            "UPDATE demo_build SET finished_at = ? WHERE id = 1 AND owner = ?", (now_ms(), owner)
        )

    return log.submit(job)


def _check_not_building(log: ExecutionLog, owner: str | None) -> None:
    row = log.reader().execute("SELECT owner, finished_at FROM demo_build WHERE id = 1").fetchone()
    if row is None or row["finished_at"] is not None or row["owner"] == owner:
        return
    if owner_is_alive(log.paths.leases_dir, row["owner"]):
        raise DemoBusyError(
            "The demo workspace is being loaded by another process right now; remove it once "
            "that has finished (or stop it first)."
        )


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
    if _has_demo_rows(conn):
        return True
    # A build under way (or killed) that has not written its first rows yet.
    row = conn.execute("SELECT finished_at FROM demo_build WHERE id = 1").fetchone()
    return row is not None and row[0] is None


def _has_demo_rows(conn: sqlite3.Connection) -> bool:
    for table in ("agents", "threads", "automations", "eval_suites", "runs"):
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
    automations = conn.execute("SELECT count(*) FROM automations WHERE is_demo = 1").fetchone()[0]
    suites = conn.execute("SELECT count(*) FROM eval_suites WHERE is_demo = 1").fetchone()[0]
    return DemoCounts(int(runs), int(agents), int(threads), int(automations), int(suites))


# -- removing ------------------------------------------------------------------------------


def remove_demo_data(
    log: ExecutionLog,
    *,
    batch_runs: int = REMOVE_BATCH_RUNS,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    owner: str | None = None,
    keep_build: bool = False,
) -> DemoCounts:
    """Delete every demo row; returns what was removed. Blocks: call it from a worker thread.

    Runs (and their actions) go in batches of `batch_runs`, each its own write job, so the
    writer stays responsive; with them go the simulations of those runs (free re-runs, trigger
    replay, tag simulation: derived from demo data, so demo data too). Then threads (with their
    messages), agents (with their versions), automations (with their versions and schedule
    progress) and eval suites (with their runs and case results) in one last job, and the build
    row unless keep_build. Rows that are not demo stay: a run the user made with a demo agent
    stays, unlinked, as `ExecutionLog.delete_agents` leaves runs. progress(done, total) follows
    the runs. With cancel set, it stops between batches (what was removed stays removed).
    Raises DemoBusyError while another live process builds the demo (owner: the caller's own
    build, which it may remove).
    """
    _check_not_building(log, owner)
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
    agents, threads, automations, suites = log.submit(_delete_catalog(state, keep_build)).result()
    return DemoCounts(state.runs, agents, threads, automations, suites)


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
        # Simulations of these runs (through idx_runs_replay_of), whoever recorded them.
        simulations = [
            row[0]
            for row in conn.execute(
                "SELECT s.run_no FROM runs s WHERE s.replay_of IN (SELECT id FROM runs "
                "WHERE run_no BETWEEN ? AND ? AND is_demo = 1) AND s.is_demo = 0 "
                "AND json_extract(s.tags_json, '$.simulation') = 'true'",
                span,
            )
        ]
        if simulations:
            marks = ",".join("?" * len(simulations))
            conn.execute(f"DELETE FROM actions WHERE run_no IN ({marks})", simulations)
            conn.execute(f"DELETE FROM runs WHERE run_no IN ({marks})", simulations)
        conn.execute(
            "DELETE FROM actions WHERE run_no IN (SELECT run_no FROM runs "
            "WHERE run_no BETWEEN ? AND ? AND is_demo = 1)",
            span,
        )
        conn.execute("DELETE FROM runs WHERE run_no BETWEEN ? AND ? AND is_demo = 1", span)
        state.last_run_no = run_nos[-1][0]
        state.runs += len(run_nos)
        state.simulations += len(simulations)
        emit(RunsRemoved(len(run_nos) + len(simulations)))
        return len(run_nos)

    return job


def _delete_catalog(
    state: _RemovalState, keep_build: bool
) -> Callable[[sqlite3.Connection, Emit], tuple[int, int, int, int]]:
    def job(conn: sqlite3.Connection, emit: Emit) -> tuple[int, int, int, int]:
        thread_ids = [row[0] for row in conn.execute("SELECT id FROM threads WHERE is_demo = 1")]
        agent_ids = [row[0] for row in conn.execute("SELECT id FROM agents WHERE is_demo = 1")]
        automations = conn.execute(
            "SELECT id, kind, name FROM automations WHERE is_demo = 1"
        ).fetchall()
        suite_runs = conn.execute(
            "SELECT r.id, s.name, r.agent_id FROM eval_suite_runs r JOIN eval_suites s "
            "ON s.id = r.suite_id WHERE s.is_demo = 1"
        ).fetchall()
        suites = conn.execute("SELECT count(*) FROM eval_suites WHERE is_demo = 1").fetchone()[0]
        # Messages and versions go with their thread or agent, versions and schedule progress
        # with their automation, suite runs and case results with their suite (ON DELETE
        # CASCADE); runs that are not demo but point at them are unlinked (ON DELETE SET NULL).
        conn.execute("DELETE FROM threads WHERE is_demo = 1")
        conn.execute("DELETE FROM eval_suites WHERE is_demo = 1")
        conn.execute("DELETE FROM automations WHERE is_demo = 1")
        conn.execute("DELETE FROM agents WHERE is_demo = 1")
        if not keep_build:
            conn.execute("DELETE FROM demo_build")
        for thread_id in thread_ids:
            emit(ThreadChanged(thread_id))
        for agent_id in agent_ids:
            emit(AgentDeleted(agent_id))
        for automation_id, kind, name in automations:
            emit(AutomationChanged(automation_id, kind, name, "removed"))
        for suite_run_id, suite_name, agent_id in suite_runs:
            emit(EvalSuiteRunChanged(suite_run_id, suite_name, agent_id, "removed"))
        if state.runs or thread_ids or agent_ids or automations or suites:
            emit(RunsRemoved(0))  # the last step: views reload once more
        return len(agent_ids), len(thread_ids), len(automations), int(suites)

    return job
