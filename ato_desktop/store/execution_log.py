"""The execution log: one SQLite file, one writer thread, a read connection per reader thread.

Writes return concurrent Futures (await them with `await_write`, or `.result()` from sync code);
reads are plain functions that run on the caller's thread with that thread's connection. Async
code runs reads off its loop with `ExecutionLog.read_async`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence

from ato_desktop.core.cost_rollup import rollup_cost, rollup_source
from ato_desktop.core.event_bus import EventBus
from ato_desktop.core.ids import uuid7
from ato_desktop.core.log_records import RunCursor, RunFilter, RunRecord
from ato_desktop.core.run_filter import is_simulation
from ato_desktop.core.run_sort import DEFAULT_SORT, RunSort, cursor_after
from ato_desktop.core.terminal_text import strip_controls
from ato_desktop.core.vocabulary import Outcome, RunStatus, TokenUsage
from ato_desktop.store import damage, run_listing, run_volume
from ato_desktop.store.database import (
    DatabaseCorruptError,
    StoreError,
    connect,
    damaged,
    open_database,
    open_for_reading,
)
from ato_desktop.store.json_codec import ENCODER, from_json, to_json
from ato_desktop.store.ledger_rows import LEDGER_INSERT, StreamKey, ledger_rows
from ato_desktop.store.paths import DataPaths
from ato_desktop.store.run_listing import RUN_COLUMNS, RUN_FROM, run_from_row

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:
    # Loaded by the first write (or follow_changes), not at import: a process that only reads
    # the log (a CLI command) never builds the writer, its events or the change feed (nor loads
    # concurrent.futures, whose Futures only writes and threaded reads return).
    from concurrent.futures import Future, ThreadPoolExecutor
    from typing import Any, ParamSpec, TypeVar

    from ato_desktop.core.action_records import ActionRecord
    from ato_desktop.core.agent_records import AgentConfig, AgentRecord, AgentVersionRecord
    from ato_desktop.core.events import DomainEvent, RunCompleted, RunFailed
    from ato_desktop.core.records import MessageRecord, NewAction, NewRun, RunEnd, ThreadRecord
    from ato_desktop.store.change_feed import ChangeFeed
    from ato_desktop.store.writer import Emit, WriterThread

    P = ParamSpec("P")
    T = TypeVar("T")


# Each reader thread has its own connection and page cache; the writer's is larger (it walks
# indexes on every write). Measured on a 1M-run log: the Runs page's reads stay within their
# targets with 8 MB, while 32 MB each put the app over its memory budget.
READER_CACHE_KIB = 8_000


class NotFoundError(StoreError):
    """A name or id that matches nothing (or, for id prefixes, more than one thing)."""


class AgentExistsError(StoreError):
    pass


def now_ms() -> int:
    return int(time.time() * 1000)


def _action_from_row(run_id: str, row: sqlite3.Row) -> ActionRecord:
    has_usage = row["input_tokens"] is not None or row["output_tokens"] is not None
    meta = from_json(row["meta_json"])
    # The 1-hour part of the cache writes rides in meta (see USAGE_META_1H), not in a column.
    written_1h = meta.get(USAGE_META_1H) if isinstance(meta, dict) else None
    # The class loads with the first action read (a run's actions), not in every reader of runs.
    from ato_desktop.core.action_records import ActionRecord

    return ActionRecord(
        run_id=run_id,
        seq=row["seq"],
        parent_seq=row["parent_seq"],
        name=row["name"],
        kind=row["kind"],
        inputs=from_json(row["inputs_json"]),
        outputs=from_json(row["outputs_json"]),
        usage=TokenUsage(
            row["input_tokens"] or 0,
            row["output_tokens"] or 0,
            row["cache_read_tokens"] or 0,
            row["cache_write_tokens"] or 0,
            row["reasoning_tokens"] or 0,
            written_1h if type(written_1h) is int and written_1h > 0 else 0,
        )
        if has_usage
        else None,
        tokens_estimated=bool(row["tokens_estimated"]),
        ttft_ns=row["ttft_ns"],
        duration_ns=row["duration_ns"],
        cost_usd=row["cost_usd"],
        cost_source=row["cost_source"],
        outcome=row["outcome"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        error_class=row["error_class"],
        error_message=row["error_message"],
        meta=meta,
    )


# The meta key that keeps how many of an action's cache writes were 1-hour ones (a raw fact for
# re-pricing: they cost more than 5-minute writes). Kept in meta rather than a column of its own:
# only Anthropic reports it, and a column would cost every one of 10M actions.
USAGE_META_1H = "cache_write_1h_tokens"


def thread_from_row(row: sqlite3.Row) -> ThreadRecord:
    from ato_desktop.core.records import ThreadRecord  # the chat's rows: not a reader's

    return ThreadRecord(
        id=row["id"],
        title=row["title"],
        agent_id=row["agent_id"],
        runtime=row["runtime"],
        model=row["model"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        is_demo=bool(row["is_demo"]),
    )


def _agent_from_row(row: sqlite3.Row) -> AgentRecord:
    # Agents' classes load with the first agent read (core.agent_records): a command that reads
    # runs alone never creates them.
    from ato_desktop.core.agent_records import AgentConfig, AgentRecord

    return AgentRecord(
        id=row["id"],
        name=row["name"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        current_version=row["current_version"],
        config=AgentConfig.from_dict(json.loads(row["config_json"])),
        current_version_id=row["version_id"],
        is_demo=bool(row["is_demo"]),
    )


_AGENT_SELECT = """
    SELECT a.*, v.config_json, v.id AS version_id FROM agents a
    JOIN agent_versions v ON v.agent_id = a.id AND v.version = a.current_version
"""


def _action_row(run_no: int, seq: int, action: NewAction) -> tuple[Any, ...]:
    # Hot path of bulk ingest: plain attribute reads, enums bound as the str they are.
    usage = action.usage
    inputs, outputs, meta = action.inputs, action.outputs, action.meta
    if usage is not None and usage.cache_write_1h_tokens > 0:
        meta = {**(meta or {}), USAGE_META_1H: usage.cache_write_1h_tokens}
    encode = ENCODER.encode
    return (
        run_no,
        seq,
        action.parent_seq,
        action.name,
        action.kind,
        None if inputs is None else encode(inputs),
        None if outputs is None else encode(outputs),
        None if usage is None else usage.input_tokens,
        None if usage is None else usage.output_tokens,
        None if usage is None else usage.cache_read_tokens,
        None if usage is None else usage.cache_write_tokens,
        None if usage is None else usage.reasoning_tokens,
        1 if action.tokens_estimated else 0,
        action.ttft_ns,
        action.duration_ns,
        action.cost_usd,
        action.cost_source,
        action.outcome,
        action.started_at,
        action.ended_at,
        action.error_class,
        action.error_message,
        None if meta is None else encode(meta),
    )


ACTION_INSERT = """
    INSERT INTO actions (run_no, seq, parent_seq, name, kind, inputs_json, outputs_json,
        input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
        tokens_estimated, ttft_ns, duration_ns, cost_usd, cost_source, outcome, started_at,
        ended_at, error_class, error_message, meta_json)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

RUN_INSERT = """
    INSERT INTO runs (run_no, id, agent_id, agent_version_id, thread_id, runtime, model, "trigger",
        status, started_at, ended_at, duration_ns, ttft_ns, error_class, error_message,
        parent_run_id, pipeline_id, stage_index, stage_name, replay_of, tags_json, input_tokens,
        output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, tokens_estimated,
        cost_usd, cost_source, action_count, success_count, owner, last_event_at, is_demo,
        is_simulation)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
        ?, ?, ?, ?, ?, ?)
"""


class ExecutionLog:
    """The store's public face. Thread-safe; create one per process with `ExecutionLog.open`."""

    def __init__(
        self,
        paths: DataPaths,
        bus: EventBus,
        write_conn: sqlite3.Connection,
        *,
        start_writer: bool = True,
    ) -> None:
        """start_writer=False (a log opened to read) builds the writer thread on the first
        write, if one ever comes: a process that only reads never starts it."""
        self.paths = paths
        self.bus = bus
        # Who wrote a change, in the change feed: this ExecutionLog (one per process).
        self.origin = uuid7()
        write_conn.row_factory = sqlite3.Row
        self._write_conn = write_conn
        self._writer_lock = threading.Lock()
        self._writer: WriterThread | None = None
        if start_writer:
            self._start_writer()
        self._feed: ChangeFeed | None = None
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        if not start_writer:
            # Opened to read (writes refused by SQLite): the opening thread reads through the
            # read-only connection the checks opened, rather than opening another one and
            # parsing the schema again (a reading command's start).
            self._local.conn = write_conn
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False
        # Damage seen by this process, or written down by another one (checked once a second
        # at most): from then on nothing is written to the log.
        self._damage: DatabaseCorruptError | None = None
        self._damage_checked_at = 0.0

    @classmethod
    def open(cls, paths: DataPaths, bus: EventBus | None = None) -> ExecutionLog:
        """Open (creating or migrating) the log under paths; raises StoreError subclasses."""
        paths.ensure()
        conn = open_database(paths.database)
        return cls(paths, bus or EventBus(), conn)

    @classmethod
    def open_for_reading(cls, paths: DataPaths, bus: EventBus | None = None) -> ExecutionLog:
        """Open the log under paths to read it (a process that writes nothing): no migration and
        no write connection, so every write is refused. A log that does not exist yet or needs
        migrating is opened by `open` instead (created or migrated first, as any process would)."""
        conn = open_for_reading(paths.database)
        if conn is None:
            return cls.open(paths, bus)
        return cls(paths, bus or EventBus(), conn, start_writer=False)

    def _start_writer(self) -> WriterThread:
        from ato_desktop.store.writer import WriterThread

        with self._writer_lock:
            if self._writer is None:
                self._writer = WriterThread(
                    self._write_conn, self.paths.database, self.bus, self.origin
                )
            return self._writer

    @property
    def closed(self) -> bool:
        """True once close() was called: late readers (UI reloads at quit) can stop quietly."""
        return self._closed

    def follow_changes(self) -> ChangeFeed:
        """Hear other processes' writes as this bus's events from now on (long-lived processes:
        the app, `schedules daemon`, the receiver). Idempotent; stopped by close()."""
        if self._feed is None:
            from ato_desktop.store.change_feed import ChangeFeed

            self._feed = ChangeFeed(self.paths.database, self.bus, self.origin)
            self._feed.start()
        return self._feed

    @property
    def feed(self) -> ChangeFeed | None:
        return self._feed

    def note_change(self, event: DomainEvent) -> Future[None]:
        """Publish a change made outside the log (settings.json) to this process and the others:
        a write of nothing but its change record."""

        def job(conn: sqlite3.Connection, emit: Emit) -> None:
            emit(event)

        return self.submit(job)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._feed is not None:
            self._feed.close()
        if self._writer is not None:
            self._writer.close()
        else:  # never written through: the writer never took its connection
            self._write_conn.close()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()

    def __enter__(self) -> ExecutionLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -----------------------------------------------------------------------------

    def reader(self) -> sqlite3.Connection:
        """This thread's read connection."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise StoreError("the execution log is closed")
            conn = connect(self.paths.database, cache_kib=READER_CACHE_KIB)
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def submit(self, job: Callable[[sqlite3.Connection, Emit], T]) -> Future[T]:
        """Queue a write job on the writer thread; refused at once (DatabaseCorruptError) once
        the log is known to be damaged, by this process or another."""
        refused: StoreError | None = self._refusal()
        if refused is None and self._closed and self._writer is None:
            refused = StoreError("the execution log is closed")  # as the writer says once closed
        if refused is not None:
            from concurrent.futures import Future

            future: Future[T] = Future()
            future.set_exception(refused)
            return future
        path = self.paths.database

        def guarded(conn: sqlite3.Connection, emit: Emit) -> T:
            try:
                return job(conn, emit)
            except sqlite3.DatabaseError as exc:
                if damage.is_damage(exc):
                    raise damaged(path, str(exc)) from exc
                raise

        submitted = (self._writer or self._start_writer()).submit(guarded)
        submitted.add_done_callback(self._note_damage)
        return submitted

    @property
    def damage(self) -> DatabaseCorruptError | None:
        """The damage this log is known to have (it refuses writes), or None."""
        return self._refusal()

    def _refusal(self) -> DatabaseCorruptError | None:
        if self._damage is None and time.monotonic() - self._damage_checked_at > 1.0:
            self._damage_checked_at = time.monotonic()
            detail = damage.recorded_damage(self.paths.database)
            if detail is not None:
                self._damage = damaged(
                    self.paths.database, f"{detail}; found by another check", record=False
                )
        return self._damage

    def _note_damage(self, future: Future[Any]) -> None:
        if not future.cancelled() and isinstance(future.exception(), DatabaseCorruptError):
            self._damage = future.exception()  # type: ignore[assignment]

    def read_damage(self, exc: BaseException) -> BaseException:
        """exc, or the damage message when exc is SQLite meeting a damaged page in a read
        (which is then written down, and refuses every later write)."""
        if damage.is_damage(exc):
            self._damage = damaged(self.paths.database, str(exc))
            return self._damage
        return exc

    async def read_async(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a read method on a reader thread so the event loop never waits on disk."""
        import asyncio  # here: a process that only reads the log (the CLI) never loads it

        return await asyncio.wrap_future(self.submit_read(fn, *args, **kwargs))

    def submit_read(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Start a read on a reader thread now (a coroutine awaiting read_async starts it only
        when the loop next runs it, after whatever the loop does first, e.g. a paint)."""
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ato-store-read")

        def call() -> T:
            try:
                return fn(*args, **kwargs)
            except sqlite3.DatabaseError as exc:
                translated = self.read_damage(exc)
                if translated is exc:
                    raise
                raise translated from exc

        return self._pool.submit(call)

    # -- agents -------------------------------------------------------------------------------

    def create_agent(
        self,
        name: str,
        config: AgentConfig,
        *,
        source: str = "cli",
        is_demo: bool = False,
        at_ms: int | None = None,
    ) -> Future[AgentRecord]:
        name = name.strip()
        if not name:
            raise StoreError("an agent needs a name")

        def job(conn: sqlite3.Connection, emit: Emit) -> AgentRecord:
            from ato_desktop.core.config_diff import diff_configs
            from ato_desktop.core.events import ConfigChanged

            if conn.execute("SELECT 1 FROM agents WHERE name = ?", (name,)).fetchone():
                raise AgentExistsError(
                    f"an agent named {name!r} already exists; use `agents edit {name}` to change it"
                )
            ts = at_ms if at_ms is not None else now_ms()
            agent_id, version_id = uuid7(at_ms), uuid7(at_ms)
            conn.execute(
                "INSERT INTO agents (id, name, created_at, updated_at, current_version, is_demo) "
                "VALUES (?, ?, ?, ?, 1, ?)",
                (agent_id, name, ts, ts, int(is_demo)),
            )
            data = config.as_dict()
            diff = [c.as_dict() for c in diff_configs(None, data)]
            conn.execute(
                "INSERT INTO agent_versions (id, agent_id, version, created_at, runtime, model, "
                "config_json, diff_json, change_source) VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?)",
                (
                    version_id,
                    agent_id,
                    ts,
                    config.runtime,
                    config.model,
                    to_json(data),
                    to_json(diff),
                    source,
                ),
            )
            emit(ConfigChanged(agent_id, 1, version_id))
            from ato_desktop.core.agent_records import AgentRecord

            return AgentRecord(agent_id, name, ts, ts, 1, config, version_id, is_demo)

        return self.submit(job)

    def update_agent(
        self, agent_id: str, config: AgentConfig, *, source: str = "cli", at_ms: int | None = None
    ) -> Future[tuple[AgentRecord, bool]]:
        """Record config as the agent's new version if anything changed; (agent, changed)."""

        def job(conn: sqlite3.Connection, emit: Emit) -> tuple[AgentRecord, bool]:
            from ato_desktop.core.config_diff import diff_configs
            from ato_desktop.core.events import ConfigChanged

            row = conn.execute(_AGENT_SELECT + " WHERE a.id = ?", (agent_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no agent with id {agent_id}")
            current = _agent_from_row(row)
            before, after = current.config.as_dict(), config.as_dict()
            changes = diff_configs(before, after)
            if not changes:
                return current, False
            version, version_id = current.current_version + 1, uuid7()
            ts = at_ms if at_ms is not None else now_ms()
            conn.execute(
                "INSERT INTO agent_versions (id, agent_id, version, created_at, runtime, model, "
                "config_json, diff_json, change_source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    version_id,
                    agent_id,
                    version,
                    ts,
                    config.runtime,
                    config.model,
                    to_json(after),
                    to_json([c.as_dict() for c in changes]),
                    source,
                ),
            )
            conn.execute(
                "UPDATE agents SET current_version = ?, updated_at = ? WHERE id = ?",
                (version, ts, agent_id),
            )
            emit(ConfigChanged(agent_id, version, version_id))
            from ato_desktop.core.agent_records import AgentRecord

            updated = AgentRecord(
                agent_id,
                current.name,
                current.created_at,
                ts,
                version,
                config,
                version_id,
                current.is_demo,
            )
            return updated, True

        return self.submit(job)

    def delete_agents(self, agent_ids: Sequence[str]) -> Future[int]:
        """Remove agents and their versions; their runs stay, unlinked."""

        def job(conn: sqlite3.Connection, emit: Emit) -> int:
            from ato_desktop.core.events import AgentDeleted

            count = 0
            for agent_id in agent_ids:
                count += conn.execute("DELETE FROM agents WHERE id = ?", (agent_id,)).rowcount
                emit(AgentDeleted(agent_id))
            return count

        return self.submit(job)

    def get_agent(self, name_or_id: str) -> AgentRecord:
        conn = self.reader()
        row = conn.execute(
            _AGENT_SELECT + " WHERE a.name = ? OR a.id = ?", (name_or_id, name_or_id)
        ).fetchone()
        if row is None:
            known = [r[0] for r in conn.execute("SELECT name FROM agents ORDER BY name LIMIT 20")]
            hint = f" Known agents: {', '.join(known)}." if known else " There are no agents yet."
            raise NotFoundError(f"No agent named {name_or_id!r}.{hint}")
        return _agent_from_row(row)

    def list_agents(self) -> list[AgentRecord]:
        rows = self.reader().execute(_AGENT_SELECT + " ORDER BY a.name COLLATE NOCASE")
        return [_agent_from_row(row) for row in rows]

    def search_agents(self, text: str, limit: int = 20) -> list[AgentRecord]:
        """Agents whose name contains text (case-insensitive), prefix matches first."""
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self.reader().execute(
            _AGENT_SELECT + " WHERE a.name LIKE ? ESCAPE '\\' "
            "ORDER BY (a.name LIKE ? ESCAPE '\\') DESC, a.name COLLATE NOCASE LIMIT ?",
            (pattern, pattern[1:], limit),
        )
        return [_agent_from_row(row) for row in rows]

    def agent_history(self, agent_id: str) -> list[AgentVersionRecord]:
        """Every config version, newest first, with how many runs each made."""
        from ato_desktop.core.agent_records import AgentConfig, AgentVersionRecord

        rows = self.reader().execute(
            """
            SELECT v.*, (SELECT count(*) FROM runs r WHERE r.agent_version_id = v.id) AS run_count
            FROM agent_versions v WHERE v.agent_id = ? ORDER BY v.version DESC
            """,
            (agent_id,),
        )
        return [
            AgentVersionRecord(
                id=row["id"],
                agent_id=row["agent_id"],
                version=row["version"],
                created_at=row["created_at"],
                config=AgentConfig.from_dict(json.loads(row["config_json"])),
                diff=from_json(row["diff_json"]) or [],
                change_source=row["change_source"],
                run_count=row["run_count"],
            )
            for row in rows
        ]

    # -- threads and messages -----------------------------------------------------------------

    def create_thread(
        self,
        title: str,
        *,
        agent_id: str | None = None,
        runtime: str | None = None,
        model: str | None = None,
        is_demo: bool = False,
        at_ms: int | None = None,
    ) -> Future[ThreadRecord]:
        def job(conn: sqlite3.Connection, emit: Emit) -> ThreadRecord:
            from ato_desktop.core.events import ThreadChanged
            from ato_desktop.core.records import ThreadRecord  # the chat's rows: not a reader's

            thread_id, ts = uuid7(at_ms), at_ms if at_ms is not None else now_ms()
            clean = " ".join(strip_controls(title).split())[:120] or "New thread"
            conn.execute(
                "INSERT INTO threads (id, title, agent_id, runtime, model, created_at, updated_at,"
                " is_demo) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (thread_id, clean, agent_id, runtime, model, ts, ts, int(is_demo)),
            )
            emit(ThreadChanged(thread_id))
            return ThreadRecord(thread_id, clean, agent_id, runtime, model, ts, ts, is_demo)

        return self.submit(job)

    def add_message(
        self,
        thread_id: str,
        role: str,
        content: str,
        *,
        run_id: str | None = None,
        at_ms: int | None = None,
    ) -> Future[MessageRecord]:
        def job(conn: sqlite3.Connection, emit: Emit) -> MessageRecord:
            from ato_desktop.core.events import ThreadChanged
            from ato_desktop.core.records import MessageRecord  # the chat's rows: not a reader's

            ts = at_ms if at_ms is not None else now_ms()
            seq = conn.execute(
                "SELECT coalesce(max(seq), 0) + 1 FROM messages WHERE thread_id = ?", (thread_id,)
            ).fetchone()[0]
            cursor = conn.execute(
                "INSERT INTO messages (thread_id, seq, role, content, run_id, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (thread_id, seq, role, content, run_id, ts),
            )
            conn.execute("UPDATE threads SET updated_at = ? WHERE id = ?", (ts, thread_id))
            emit(ThreadChanged(thread_id))
            return MessageRecord(cursor.lastrowid or 0, thread_id, seq, role, content, run_id, ts)

        return self.submit(job)

    def get_thread(self, thread_id: str) -> ThreadRecord:
        row = self.reader().execute("SELECT * FROM threads WHERE id = ?", (thread_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"No thread {thread_id!r}.")
        return thread_from_row(row)

    def list_threads(self, limit: int = 200) -> list[ThreadRecord]:
        rows = self.reader().execute(
            "SELECT * FROM threads ORDER BY updated_at DESC LIMIT ?", (limit,)
        )
        return [thread_from_row(row) for row in rows]

    def thread_messages(self, thread_id: str) -> list[MessageRecord]:
        from ato_desktop.core.records import MessageRecord  # the chat's rows: not a reader's

        rows = self.reader().execute(
            "SELECT * FROM messages WHERE thread_id = ? ORDER BY seq", (thread_id,)
        )
        return [
            MessageRecord(
                r["id"],
                r["thread_id"],
                r["seq"],
                r["role"],
                r["content"],
                r["run_id"],
                r["created_at"],
            )
            for r in rows
        ]

    # -- runs: the live path --------------------------------------------------------------------

    def create_run(self, new: NewRun, *, owner: str | None) -> Future[tuple[str, int]]:
        """Start a run (status running); returns (run id, run_no)."""

        def job(conn: sqlite3.Connection, emit: Emit) -> tuple[str, int]:
            from ato_desktop.core.events import RunCreated

            run_id = new.id or uuid7()
            cursor = conn.execute(
                RUN_INSERT,
                (
                    None,
                    run_id,
                    new.agent_id,
                    new.agent_version_id,
                    new.thread_id,
                    new.runtime,
                    new.model,
                    new.trigger,
                    RunStatus.RUNNING.value,
                    new.started_at,
                    None,
                    None,
                    None,
                    None,
                    None,
                    new.parent_run_id,
                    new.pipeline_id,
                    new.stage_index,
                    new.stage_name,
                    new.replay_of,
                    to_json(new.tags or {}),
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    None,
                    None,
                    0,
                    0,
                    owner,
                    new.started_at,
                    int(new.is_demo),
                    int(is_simulation(new.tags)),
                ),
            )
            emit(RunCreated(run_id, new.agent_id, new.trigger, new.started_at))
            return run_id, int(cursor.lastrowid or 0)

        return self.submit(job)

    def begin_action(self, run_no: int, name: str, kind: str, inputs: Any, started_at: int) -> None:
        """Note the action in flight (fire and forget): recovery and Live views read it."""
        payload = to_json({"name": name, "kind": kind, "inputs": inputs, "started_at": started_at})

        def job(conn: sqlite3.Connection, emit: Emit) -> None:
            from ato_desktop.core.events import ActionStarted

            row = conn.execute(
                "UPDATE runs SET live_action_json = ?, last_event_at = ? WHERE run_no = ? "
                "RETURNING id",
                (payload, started_at, run_no),
            ).fetchone()
            if row is not None:
                emit(ActionStarted(row[0], name, started_at))

        self.submit(job)

    def note_action_accepted(self, run_no: int) -> None:
        """Note that the provider accepted the call in flight (its response began), so crash
        recovery knows the call reached the model (fire and forget)."""

        def job(conn: sqlite3.Connection, emit: Emit) -> None:
            conn.execute(
                "UPDATE runs SET live_action_json = json_set(live_action_json, '$.accepted', 1) "
                "WHERE run_no = ? AND live_action_json IS NOT NULL",
                (run_no,),
            )

        self.submit(job)

    def checkpoint_run(self, run_id: str, run_no: int, partial_output: str, at_ms: int) -> None:
        """Save the output streamed so far, so a crash keeps it (fire and forget; throttled)."""

        def job(conn: sqlite3.Connection, emit: Emit) -> None:
            from ato_desktop.core.events import RunProgressed

            conn.execute(
                "UPDATE runs SET partial_output = ?, last_event_at = ? "
                "WHERE run_no = ? AND status = 'running'",
                (partial_output, at_ms, run_no),
            )
            emit(RunProgressed(run_id, len(partial_output), at_ms))

        self.submit(job)

    def append_action(self, run_id: str, run_no: int, action: NewAction) -> Future[int]:
        """Record a completed action and fold it into the run's aggregates; returns its seq."""

        def job(conn: sqlite3.Connection, emit: Emit) -> int:
            from ato_desktop.core.events import ActionCreated

            seq = _insert_action(conn, run_no, action)
            emit(ActionCreated(run_id, seq, action.name, action.outcome))
            return seq

        return self.submit(job)

    def finish_run(self, run_id: str, run_no: int, end: RunEnd) -> Future[bool]:
        """End a running run; False if it had already ended (another process got there first)."""

        def job(conn: sqlite3.Connection, emit: Emit) -> bool:
            changed = _finish(conn, run_no, end)
            if changed:
                agent_id = conn.execute(
                    "SELECT agent_id FROM runs WHERE run_no = ?", (run_no,)
                ).fetchone()[0]
                emit(_end_event(run_id, agent_id, end))
            return changed

        return self.submit(job)

    def complete_run(
        self, run_id: str, run_no: int, action: NewAction | None, end: RunEnd
    ) -> Future[bool]:
        """Append the run's last action and end it, atomically; False if it had already ended.

        Used by the dispatcher for the final step and by crash recovery for orphaned runs.
        """

        def job(conn: sqlite3.Connection, emit: Emit) -> bool:
            from ato_desktop.core.events import ActionCreated

            row = conn.execute(
                "SELECT status, agent_id FROM runs WHERE run_no = ?", (run_no,)
            ).fetchone()
            if row is None or row["status"] != RunStatus.RUNNING.value:
                return False
            if action is not None:
                seq = _insert_action(conn, run_no, action)
                emit(ActionCreated(run_id, seq, action.name, action.outcome))
            _finish(conn, run_no, end)
            emit(_end_event(run_id, row["agent_id"], end))
            return True

        return self.submit(job)

    def request_kill(self, run_ids: Sequence[str]) -> Future[list[str]]:
        """Flag running runs for their owning process to kill; returns the ids still running."""

        def job(conn: sqlite3.Connection, emit: Emit) -> list[str]:
            from ato_desktop.core.events import KillRequested

            flagged: list[str] = []
            ts = now_ms()
            for run_id in run_ids:
                cursor = conn.execute(
                    "UPDATE runs SET kill_requested_at = coalesce(kill_requested_at, ?) "
                    "WHERE id = ? AND status = 'running'",
                    (ts, run_id),
                )
                if cursor.rowcount:
                    flagged.append(run_id)
            if flagged:
                emit(KillRequested(tuple(flagged)))
            return flagged

        return self.submit(job)

    def kill_requests_for(self, owner: str) -> list[str]:
        """Ids of this owner's running runs that someone asked to kill."""
        rows = self.reader().execute(
            "SELECT id FROM runs WHERE status = 'running' AND owner = ? "
            "AND kill_requested_at IS NOT NULL",
            (owner,),
        )
        return [row[0] for row in rows]

    def running_owners(self) -> dict[str, list[tuple[str, int]]]:
        """Owner token -> [(run id, run_no)] for every running run."""
        result: dict[str, list[tuple[str, int]]] = {}
        for row in self.reader().execute(
            "SELECT owner, id, run_no FROM runs WHERE status = 'running'"
        ):
            result.setdefault(row[0] or "", []).append((row[1], row[2]))
        return result

    def ingest_owners(self) -> list[str]:
        """The lease tokens of the processes with an OTLP ingest not finished."""
        return [str(row[0]) for row in self.reader().execute("SELECT owner FROM otlp_ingests")]

    def live_action(self, run_no: int) -> dict[str, Any] | None:
        row = (
            self.reader()
            .execute("SELECT live_action_json FROM runs WHERE run_no = ?", (run_no,))
            .fetchone()
        )
        value = from_json(row[0]) if row else None
        return value if isinstance(value, dict) else None

    # -- runs: bulk ------------------------------------------------------------------------------

    def ingest(
        self, items: Iterable[tuple[NewRun, RunEnd | None, Sequence[NewAction]]]
    ) -> Future[int]:
        """Write many finished runs with their actions in one transaction (imports, demo data).

        Aggregates are computed here, in Python, so the rows go in with executemany. Rows are
        encoded on the writer thread: encoding on the caller's thread while the writer inserts
        measured slower, as the two threads fight over the GIL at every row.
        """
        batch = list(items)

        def job(conn: sqlite3.Connection, emit: Emit) -> int:
            from ato_desktop.core.events import RunsIngested

            base = conn.execute("SELECT coalesce(max(run_no), 0) FROM runs").fetchone()[0]
            run_rows: list[tuple[Any, ...]] = []
            action_rows: list[tuple[Any, ...]] = []
            ledger: list[tuple[Any, ...]] = []
            streams: dict[StreamKey, int] = {}
            for run_no, (new, end, actions) in enumerate(batch, base + 1):
                run_rows.append(_bulk_run_row(run_no, new, end, actions))
                action_rows.extend(
                    _action_row(run_no, seq, action) for seq, action in enumerate(actions, 1)
                )
                ledger.extend(
                    ledger_rows(
                        conn, run_no, new.agent_id, new.model, enumerate(actions, 1), streams
                    )
                )
            conn.executemany(RUN_INSERT, run_rows)
            conn.executemany(ACTION_INSERT, action_rows)
            conn.executemany(LEDGER_INSERT, ledger)
            if batch:
                emit(RunsIngested(len(batch)))
            return len(batch)

        return self.submit(job)

    # -- runs: reads ---------------------------------------------------------------------------

    def list_runs(
        self,
        flt: RunFilter,
        *,
        after: RunCursor | None = None,
        limit: int = 50,
        sort: RunSort = DEFAULT_SORT,
        offset: int = 0,
        backwards: bool = False,
    ) -> list[RunRecord]:
        """One page of runs matching every filter, in sort's order (newest first by default),
        after the cursor (keyset pagination) and offset rows further; backwards reads the order
        from its other end (see store.run_listing)."""
        return run_listing.page(
            self.reader(), flt, after, limit, sort=sort, offset=offset, backwards=backwards
        )

    def count_runs(self, flt: RunFilter) -> int:
        """How many runs match flt: from the hourly rollup for the Runs page's filters (a few
        thousand rows at any size of log), else through the filter's index."""
        conn = self.reader()
        counted = run_volume.count(conn, flt)
        return counted if counted is not None else run_listing.count(conn, flt)

    def resolve_run_id(self, text: str) -> str:
        """A full run id, from the full id, a unique prefix or a unique suffix (>= 6 chars)."""
        if not isinstance(text, str) or not text.strip():
            raise NotFoundError("Give a run id (the full id, or at least 6 hex digits).")
        key = text.strip().lower().replace("-", "")
        conn = self.reader()
        if conn.execute("SELECT 1 FROM runs WHERE id = ?", (key,)).fetchone():
            return key
        if len(key) < 6 or any(c not in "0123456789abcdef" for c in key):
            raise NotFoundError(f"No run {text!r}. Give the full id, or at least 6 hex digits.")
        rows = conn.execute(
            "SELECT id FROM runs WHERE id >= ? AND id < ? LIMIT 2", (key, key + "g")
        ).fetchall()
        if not rows:
            rows = conn.execute(
                "SELECT id FROM runs WHERE id LIKE ? LIMIT 2", ("%" + key,)
            ).fetchall()
        if not rows:
            raise NotFoundError(f"No run {text!r}.")
        if len(rows) > 1:
            raise NotFoundError(f"{text!r} matches several runs; give more digits.")
        return str(rows[0][0])

    def get_run(self, run_id: str) -> RunRecord:
        row = (
            self.reader()
            .execute(f"SELECT {RUN_COLUMNS} {RUN_FROM} WHERE r.id = ?", (run_id,))
            .fetchone()
        )
        if row is None:
            raise NotFoundError(f"No run {run_id!r}.")
        return run_from_row(row)

    def get_actions(self, run_id: str) -> list[ActionRecord]:
        rows = self.reader().execute(
            "SELECT ac.* FROM actions ac JOIN runs r ON r.run_no = ac.run_no "
            "WHERE r.id = ? ORDER BY ac.seq",
            (run_id,),
        )
        return [_action_from_row(run_id, row) for row in rows]

    def iter_runs(
        self, flt: RunFilter, batch: int = 500, *, sort: RunSort = DEFAULT_SORT
    ) -> Iterable[RunRecord]:
        """Every matching run, in sort's order (newest first by default), fetched in pages."""
        cursor: RunCursor | None = None
        while True:
            page = self.list_runs(flt, after=cursor, limit=batch, sort=sort)
            yield from page
            if len(page) < batch:
                return
            cursor = cursor_after(page[-1], sort)

    def live_runs(self) -> list[RunRecord]:
        rows = self.reader().execute(
            f"SELECT {RUN_COLUMNS} {RUN_FROM} WHERE r.status = 'running' ORDER BY r.started_at DESC"
        )
        return [run_from_row(row) for row in rows]


def _insert_action(conn: sqlite3.Connection, run_no: int, action: NewAction) -> int:
    row = conn.execute(
        "SELECT action_count, cost_usd, cost_source, agent_id, model FROM runs WHERE run_no = ?",
        (run_no,),
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no run #{run_no}")
    count, cost, source, agent_id, model = row
    seq = int(count) + 1
    conn.execute(ACTION_INSERT, _action_row(run_no, seq, action))
    conn.executemany(LEDGER_INSERT, ledger_rows(conn, run_no, agent_id, model, [(seq, action)], {}))
    usage = action.usage or TokenUsage()
    cost_source = action.cost_source.value if action.cost_source else None
    conn.execute(
        """
        UPDATE runs SET action_count = ?, success_count = success_count + ?,
            input_tokens = input_tokens + ?, output_tokens = output_tokens + ?,
            cache_read_tokens = cache_read_tokens + ?, cache_write_tokens = cache_write_tokens + ?,
            reasoning_tokens = reasoning_tokens + ?, tokens_estimated = max(tokens_estimated, ?),
            cost_usd = ?, cost_source = ?, live_action_json = NULL, partial_output = NULL,
            last_event_at = ?,
            ttft_ns = coalesce(ttft_ns, ?)
        WHERE run_no = ?
        """,
        (
            seq,
            int(action.outcome == Outcome.SUCCESS.value),
            usage.input_tokens,
            usage.output_tokens,
            usage.cache_read_tokens,
            usage.cache_write_tokens,
            usage.reasoning_tokens,
            int(action.tokens_estimated),
            rollup_cost(cost, action.cost_usd),
            rollup_source(source, cost_source),
            action.ended_at or action.started_at,
            action.ttft_ns,
            run_no,
        ),
    )
    return seq


def _finish(conn: sqlite3.Connection, run_no: int, end: RunEnd) -> bool:
    cursor = conn.execute(
        """
        UPDATE runs SET status = ?, ended_at = ?, duration_ns = ?, ttft_ns = coalesce(ttft_ns, ?),
            error_class = ?, error_message = ?, owner = NULL, live_action_json = NULL,
            partial_output = CASE WHEN ? = 'completed' THEN NULL ELSE partial_output END,
            model = coalesce(?, model)
        WHERE run_no = ? AND status = 'running'
        """,
        (
            end.status,
            end.ended_at,
            end.duration_ns,
            end.ttft_ns,
            end.error_class,
            end.error_message,
            end.status,
            end.model,
            run_no,
        ),
    )
    return cursor.rowcount > 0


def _end_event(run_id: str, agent_id: str | None, end: RunEnd) -> RunCompleted | RunFailed:
    from ato_desktop.core.events import RunCompleted, RunFailed

    if end.status == RunStatus.COMPLETED.value:
        return RunCompleted(run_id, agent_id, end.duration_ns)
    return RunFailed(run_id, agent_id, end.status, end.error_class)


def _bulk_run_row(
    run_no: int, new: NewRun, end: RunEnd | None, actions: Sequence[NewAction]
) -> tuple[Any, ...]:
    usage = TokenUsage()
    cost: float | None = None
    source: str | None = None
    estimated = False
    successes = 0
    ttft: int | None = None
    for action in actions:
        if action.usage is not None:
            usage = usage + action.usage
        cost = rollup_cost(cost, action.cost_usd)
        source = rollup_source(source, action.cost_source.value if action.cost_source else None)
        estimated = estimated or action.tokens_estimated
        successes += action.outcome == Outcome.SUCCESS.value
        if ttft is None and action.ttft_ns is not None:
            ttft = action.ttft_ns
    status = end.status if end else RunStatus.RUNNING.value
    return (
        run_no,
        new.id or uuid7(new.started_at),
        new.agent_id,
        new.agent_version_id,
        new.thread_id,
        new.runtime,
        new.model,
        new.trigger,
        status,
        new.started_at,
        end.ended_at if end else None,
        end.duration_ns if end else None,
        (end.ttft_ns if end and end.ttft_ns is not None else ttft),
        end.error_class if end else None,
        end.error_message if end else None,
        new.parent_run_id,
        new.pipeline_id,
        new.stage_index,
        new.stage_name,
        new.replay_of,
        to_json(new.tags or {}),
        usage.input_tokens,
        usage.output_tokens,
        usage.cache_read_tokens,
        usage.cache_write_tokens,
        usage.reasoning_tokens,
        int(estimated),
        cost,
        source,
        len(actions),
        successes,
        None,
        end.ended_at if end else new.started_at,
        int(new.is_demo),
        int(is_simulation(new.tags)),
    )
