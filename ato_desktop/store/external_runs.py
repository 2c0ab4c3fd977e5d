"""Runs from outside the app (the OTLP receiver): bounded batches, each export all or nothing.

An export (one OTLP request) is written as an *ingest*, so that no write transaction holds the
log for long (a CLI dispatch ending in another process must never wait seconds) and yet an
export is written whole or not at all:

1. ``begin_ingest`` records the ingest (owner: this process's lease token) in ``otlp_ingests``.
2. ``write_batch`` writes a slice of its traces in one short transaction; the receiver sizes
   the slices so that each takes well under 250 ms. Rows carry the ingest's number.
3. ``finish_ingest`` deletes the ``otlp_ingests`` row: from that commit on the export is
   written for good.
4. If a batch fails, ``abort_ingest`` takes the ingest back: the runs it created are deleted
   (with their actions), the spans it added to earlier runs are deleted and those runs restored
   as they were (``otlp_ingest_runs`` holds their columns from before). An ingest whose
   process died (its lease is free) is taken back at the next start
   (``roll_back_abandoned_ingests``). Each of these steps is a bounded transaction too.

While an export is being written its finished batches are visible (runs appear as their batch
commits); a reader never sees half a trace's batch, and an export that fails leaves nothing.

Per trace: a trace the receiver has not seen becomes a run whose id is the trace id, unless a
run with that id exists already (a dispatched run, or any run of another source): then the
trace gets a run of its own with a fresh id (tag ``otel.trace_id`` names the trace), and that
other run is never touched. Spans of a trace seen before attach to its run; a span already
written (same trace and span id: an exporter's retry) is skipped. A run's actions are ordered
by start time (then span id) whatever order their exports arrived in, and each action's parent
is the action of its parent span, wherever that span was exported.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from ato_desktop.core.cost_rollup import rollup_cost, rollup_source
from ato_desktop.core.events import ActionCreated, RunsIngested, RunsRemoved
from ato_desktop.core.ids import uuid7
from ato_desktop.core.models import Outcome
from ato_desktop.core.otlp_ingest import IngestedTrace
from ato_desktop.core.simulation import is_simulation
from ato_desktop.store.execution_log import ACTION_INSERT, RUN_INSERT, ExecutionLog
from ato_desktop.store.json_codec import fast_json, from_json, to_json
from ato_desktop.store.ledger_rows import (
    LEDGER_INSERT,
    StreamKey,
    index_run_actions,
    reindex_run_actions,
    stream_id,
)
from ato_desktop.store.sync_outbox import enqueue_finished_ingest, enqueue_ingested
from ato_desktop.store.writer import Emit

# Runs taken back per transaction when an ingest is rolled back (each is a cascade delete).
ROLLBACK_BATCH = 500
# The run columns an extension may change, restored when its ingest is taken back.
_MUTABLE = (
    "started_at",
    "ended_at",
    "duration_ns",
    "status",
    "error_class",
    "error_message",
    "tags_json",
    "model",
    "runtime",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "tokens_estimated",
    "cost_usd",
    "cost_source",
    "action_count",
    "success_count",
    "last_event_at",
)


@dataclass(frozen=True, slots=True)
class IngestResult:
    runs_created: int
    runs_extended: int
    actions: int
    run_ids: tuple[str, ...]
    spans_skipped: int = 0  # already written (an exporter's retry)


@dataclass(slots=True)
class EncodedSpan:
    """A span ready to write: its action's columns, JSON already encoded (off the writer)."""

    span_id: str
    parent_span_id: str | None
    start_ns: int
    # the actions row from `name` on, without run_no, seq and parent_seq
    columns: tuple[Any, ...]
    succeeded: bool
    usage: tuple[int, int, int, int, int] | None
    cost_usd: float | None
    cost_source: str | None
    ended_at: int


@dataclass(slots=True)
class EncodedTrace:
    trace_id: str
    run: Any  # NewRun
    end: Any  # RunEnd
    spans: list[EncodedSpan]
    tags_json: str = field(default="{}")


def encode_trace(trace: IngestedTrace) -> EncodedTrace:
    """Encode a trace's rows (JSON included): done on the receiver's thread, so the writer's
    transaction only inserts."""
    encode = fast_json
    spans: list[EncodedSpan] = []
    for a in trace.spans:
        usage = a.usage
        columns = (
            a.name,
            a.kind,
            None if a.inputs is None else encode(a.inputs),
            None if a.outputs is None else encode(a.outputs),
            *(usage if usage is not None else (None, None, None, None, None)),
            0,
            None,
            a.duration_ns,
            a.cost_usd,
            a.cost_source,
            a.outcome,
            a.started_at,
            a.ended_at,
            a.error_class,
            a.error_message,
            encode(a.meta),
        )
        spans.append(
            EncodedSpan(
                a.span_id,
                a.parent_span_id,
                a.start_ns,
                columns,
                a.outcome == _SUCCESS,
                usage,
                a.cost_usd,
                a.cost_source,
                a.ended_at or a.started_at,
            )
        )
    return EncodedTrace(
        trace.trace_id, trace.run, trace.end, spans, fast_json(trace.run.tags or {})
    )


_SUCCESS = Outcome.SUCCESS.value


# -- the ingest's life ----------------------------------------------------------------------------


def begin_ingest(log: ExecutionLog, owner: str) -> Future[int]:
    """Record a new ingest; its number tags everything it writes."""

    def job(conn: sqlite3.Connection, emit: Emit) -> int:
        cursor = conn.execute(
            "INSERT INTO otlp_ingests (owner, started_at) VALUES (?, ?)",
            (owner, int(time.time() * 1000)),
        )
        return int(cursor.lastrowid or 0)

    return log.submit(job)


@dataclass(frozen=True, slots=True)
class BatchResult:
    created: tuple[str, ...]
    extended: tuple[str, ...]
    actions: int
    skipped: int
    seconds: float  # inside the transaction (the receiver sizes its next batch from it)
    cpu_seconds: float = 0.0  # the writer thread's CPU time in it (what a loaded machine's
    # scheduling adds to `seconds` is not in it)


def write_batch(
    log: ExecutionLog,
    ingest_no: int,
    traces: Sequence[EncodedTrace],
    on_inserted: Callable[[BatchResult | None], None] | None = None,
) -> Future[BatchResult]:
    """Write these traces (whole, or a trace's slice) in one transaction. on_inserted is
    called on the writer's thread once the rows are in, the commit still to come, with what
    the future will hold (None when the job failed)."""
    batch = list(traces)

    def job(conn: sqlite3.Connection, emit: Emit) -> BatchResult:
        t0, cpu0 = time.perf_counter(), time.thread_time()
        result: BatchResult | None = None
        try:
            created, extended, actions, skipped = _write_traces(conn, emit, ingest_no, batch)
            result = BatchResult(
                tuple(created),
                tuple(extended),
                actions,
                skipped,
                time.perf_counter() - t0,
                time.thread_time() - cpu0,
            )
        finally:
            if on_inserted is not None:
                on_inserted(result)
        return result

    return log.submit(job)


def _write_traces(
    conn: sqlite3.Connection, emit: Emit, ingest_no: int, batch: Sequence[EncodedTrace]
) -> tuple[list[str], list[str], int, int]:
    """Write traces in order: (run ids created, run ids extended, actions written, spans
    skipped). The traces that make new runs (nearly all of them) go in with one statement per
    table for all of them; a trace already in the log (or earlier in the batch) extends its
    run, after what came before it is written."""
    created: list[str] = []
    extended: list[str] = []
    actions = skipped = 0
    known = _runs_of_traces(conn, [t.trace_id for t in batch])
    fresh: list[EncodedTrace] = []
    taken: set[str] = set()
    next_run_no: int | None = None
    for trace in batch:
        row = known.get(trace.trace_id)
        if row is None and trace.trace_id not in taken:
            taken.add(trace.trace_id)
            fresh.append(trace)
            continue
        if fresh:
            if next_run_no is None:
                next_run_no = _next_run_no(conn)
            made = _create_all(conn, ingest_no, next_run_no, fresh)
            next_run_no += len(made)
            for tr, (run_no, run_id) in zip(fresh, made, strict=True):
                known[tr.trace_id] = (run_no, run_id)
                created.append(run_id)
                actions += len(tr.spans)
            fresh = []
        if row is None:
            row = known[trace.trace_id]
        added = _extend(conn, ingest_no, row[0], trace)
        skipped += len(trace.spans) - added
        if added:
            actions += added
            extended.append(row[1])
            emit(_last_action(conn, row[0], row[1]))
    if fresh:
        if next_run_no is None:
            next_run_no = _next_run_no(conn)
        made = _create_all(conn, ingest_no, next_run_no, fresh)
        for tr, (_run_no, run_id) in zip(fresh, made, strict=True):
            created.append(run_id)
            actions += len(tr.spans)
    if created:
        emit(RunsIngested(len(created)))
    return created, extended, actions, skipped


def _next_run_no(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT coalesce(max(run_no), 0) + 1 FROM runs").fetchone()[0])


def _runs_of_traces(
    conn: sqlite3.Connection, trace_ids: Sequence[str]
) -> dict[str, tuple[int, str]]:
    """trace id -> (run_no, run id) of the traces among these that the log has already."""
    found: dict[str, tuple[int, str]] = {}
    unique = list(dict.fromkeys(trace_ids))
    for i in range(0, len(unique), 500):
        chunk = unique[i : i + 500]
        for trace_id, run_no, run_id in conn.execute(
            "SELECT t.trace_id, t.run_no, r.id FROM otlp_traces t"
            " JOIN runs r ON r.run_no = t.run_no"
            f" WHERE t.trace_id IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            found[trace_id] = (int(run_no), str(run_id))
    return found


def finish_ingest(log: ExecutionLog, ingest_no: int) -> Future[None]:
    """The commit point: the ingest's rows are written for good."""

    def job(conn: sqlite3.Connection, emit: Emit) -> None:
        # Sent on to the cloud sync endpoint only when the user chose to (store.sync_outbox).
        enqueue_finished_ingest(conn, emit, ingest_no)
        conn.execute("DELETE FROM otlp_ingests WHERE ingest_no = ?", (ingest_no,))
        # Snapshots of extended runs are no longer needed; few rows (runs extended), but
        # bounded all the same: what is left goes with the next start's clean-up.
        conn.execute(
            "DELETE FROM otlp_ingest_runs WHERE ingest_no = ? AND run_no IN"
            " (SELECT run_no FROM otlp_ingest_runs WHERE ingest_no = ? LIMIT ?)",
            (ingest_no, ingest_no, ROLLBACK_BATCH * 10),
        )

    return log.submit(job)


def abort_ingest(log: ExecutionLog, ingest_no: int) -> int:
    """Take an unfinished ingest back, in bounded transactions; returns the runs removed.
    Blocks (call it off any event loop)."""
    removed = 0
    while True:
        step = log.submit(lambda conn, emit: _rollback_step(conn, emit, ingest_no)).result()
        removed += step
        if step == 0:
            return removed


def roll_back_abandoned_ingests(log: ExecutionLog, is_alive: Any) -> int:
    """Take back every ingest whose owner died (is_alive(token) is False); returns the runs
    removed. Called at start-up; a read and nothing else when there is nothing to do."""
    rows = log.reader().execute("SELECT ingest_no, owner FROM otlp_ingests").fetchall()
    removed = 0
    for ingest_no, owner in rows:
        if not is_alive(owner):
            removed += abort_ingest(log, int(ingest_no))
    leftovers = (
        log.reader()
        .execute(
            "SELECT 1 FROM otlp_ingest_runs WHERE ingest_no NOT IN"
            " (SELECT ingest_no FROM otlp_ingests) LIMIT 1"
        )
        .fetchone()
    )
    if leftovers:

        def tidy(conn: sqlite3.Connection, emit: Emit) -> None:
            conn.execute(
                "DELETE FROM otlp_ingest_runs WHERE ingest_no NOT IN"
                " (SELECT ingest_no FROM otlp_ingests)"
            )

        log.submit(tidy).result()
    return removed


def pending_ingests(log: ExecutionLog) -> int:
    """How many ingests are not finished (for tests and status)."""
    return int(log.reader().execute("SELECT count(*) FROM otlp_ingests").fetchone()[0])


# -- writing a trace -------------------------------------------------------------------------------


def _create_all(
    conn: sqlite3.Connection, ingest_no: int, first_run_no: int, traces: Sequence[EncodedTrace]
) -> list[tuple[int, str]]:
    """New runs for traces the log has not seen (distinct trace ids), numbered from
    first_run_no: one statement per table for all of them, the Activity Ledger's rows built
    here (reading the actions back in SQL cost as much as inserting them: their text sits
    between the columns the ledger needs). Returns each trace's (run_no, run id)."""
    taken: set[str] = set()
    ids = [t.trace_id for t in traces]
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        taken.update(
            row[0]
            for row in conn.execute(
                f"SELECT id FROM runs WHERE id IN ({','.join('?' * len(chunk))})", chunk
            )
        )
    run_rows: list[tuple[Any, ...]] = []
    action_rows: list[tuple[Any, ...]] = []
    ledger: list[tuple[Any, ...]] = []
    span_rows: list[tuple[Any, ...]] = []
    trace_rows: list[tuple[Any, ...]] = []
    made: list[tuple[int, str]] = []
    streams: dict[StreamKey, int] = {}
    for run_no, trace in enumerate(traces, first_run_no):
        run, end = trace.run, trace.end
        run_id = trace.trace_id
        tags_json = trace.tags_json
        if run_id in taken:
            # Another run (dispatched here, or from another source) has this id: never touch
            # it.
            run_id = uuid7(run.started_at)
            tags = dict(run.tags or {})
            tags["otel.trace_id"] = trace.trace_id
            tags_json = to_json(tags) or "{}"
        spans = trace.spans
        seq_of = {s.span_id: i for i, s in enumerate(spans, 1)}
        totals = _totals(spans)
        run_rows.append(
            (
                run_no,
                run_id,
                None,
                None,
                None,
                run.runtime,
                run.model,
                run.trigger,
                end.status,
                run.started_at,
                end.ended_at,
                end.duration_ns,
                end.ttft_ns,
                end.error_class,
                end.error_message,
                None,
                None,
                None,
                None,
                None,
                tags_json,
                *totals[:5],
                0,
                totals[5],
                totals[6],
                len(spans),
                totals[7],
                None,
                end.ended_at,
                0,
                int(is_simulation(run.tags)),
            )
        )
        model = run.model
        for i, s in enumerate(spans, 1):
            parent = s.parent_span_id
            columns = s.columns
            action_rows.append((run_no, i, seq_of.get(parent or ""), *columns))
            # name, kind, outcome: columns 0, 1 and 14 (see encode_trace)
            key = ("", model, columns[1], columns[0], columns[14])
            stream = streams.get(key)
            if stream is None:
                stream = stream_id(conn, key, streams)
            ledger.append((run_no, i, stream, columns[15], columns[12], columns[11]))
            span_rows.append(
                (
                    run_no,
                    s.span_id,
                    i,
                    parent,
                    s.start_ns,
                    ingest_no,
                    int(parent is not None and parent not in seq_of),
                )
            )
        last = spans[-1]
        trace_rows.append((trace.trace_id, run_no, ingest_no, last.start_ns, last.span_id))
        made.append((run_no, run_id))
    conn.executemany(RUN_INSERT, run_rows)
    conn.executemany(ACTION_INSERT, action_rows)
    conn.executemany(LEDGER_INSERT, ledger)
    conn.executemany(_SPAN_INSERT, span_rows)
    conn.executemany(
        "INSERT INTO otlp_traces (trace_id, run_no, ingest_no, last_start_ns, last_span_id)"
        " VALUES (?, ?, ?, ?, ?)",
        trace_rows,
    )
    return made


_SPAN_INSERT = (
    "INSERT INTO otlp_spans (run_no, span_id, seq, parent_span_id, start_ns, ingest_no, orphan)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def _in_chunks(
    conn: sqlite3.Connection, sql: str, run_no: int, values: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Rows of `sql` (with one IN (...) placeholder list) for values, 500 at a time."""
    rows: list[tuple[Any, ...]] = []
    for i in range(0, len(values), 500):
        chunk = values[i : i + 500]
        rows.extend(
            conn.execute(
                sql.replace("(?)", "(" + ",".join("?" * len(chunk)) + ")"), (run_no, *chunk)
            )
        )
    return rows


def _totals(spans: Sequence[EncodedSpan]) -> tuple[Any, ...]:
    """(input, output, cache read, cache write, reasoning tokens, cost, cost source, successes)."""
    sums = [0, 0, 0, 0, 0]
    cost: float | None = None
    source: str | None = None
    successes = 0
    for s in spans:
        if s.usage is not None:
            for i, value in enumerate(s.usage):
                sums[i] += value
        cost = rollup_cost(cost, s.cost_usd)
        source = rollup_source(source, s.cost_source)
        successes += s.succeeded
    return (*sums, cost, source, successes)


def _extend(conn: sqlite3.Connection, ingest_no: int, run_no: int, trace: EncodedTrace) -> int:
    """Add the trace's new spans to its run; returns how many were new.

    Spans that all start after the run's last action (the usual case, and every later slice of
    a big trace) are appended; others put the run's actions in start order again."""
    ids = [s.span_id for s in trace.spans]
    seen = {
        row[0]
        for row in _in_chunks(
            conn, "SELECT span_id FROM otlp_spans WHERE run_no = ? AND span_id IN (?)", run_no, ids
        )
    }
    new = [s for s in trace.spans if s.span_id not in seen]
    if not new:
        return 0
    owner, last_start, last_span = conn.execute(
        "SELECT ingest_no, last_start_ns, last_span_id FROM otlp_traces WHERE run_no = ?",
        (run_no,),
    ).fetchone()
    if ingest_no and owner != ingest_no:
        # Taking this ingest back must put the run back as it was (ingest 0 is one
        # transaction: nothing to take back).
        _snapshot(conn, ingest_no, run_no)
    count, cost_so_far, source_so_far, started_at, ended_at = conn.execute(
        "SELECT action_count, cost_usd, cost_source, started_at, ended_at FROM runs"
        " WHERE run_no = ?",
        (run_no,),
    ).fetchone()
    if (new[0].start_ns, new[0].span_id) > (last_start, last_span):
        seq_of = {s.span_id: i for i, s in enumerate(new, count + 1)}
        parents = [
            s.parent_span_id for s in new if s.parent_span_id and s.parent_span_id not in seq_of
        ]
        known = dict(
            _in_chunks(
                conn,
                "SELECT span_id, seq FROM otlp_spans WHERE run_no = ? AND span_id IN (?)",
                run_no,
                sorted(set(parents)),
            )
        )
        conn.executemany(
            ACTION_INSERT,
            [
                (
                    run_no,
                    seq_of[s.span_id],
                    seq_of.get(s.parent_span_id or "") or known.get(s.parent_span_id or ""),
                    *s.columns,
                )
                for s in new
            ],
        )
        index_run_actions(conn, run_no, after_seq=count)  # the Activity Ledger's rows
        conn.executemany(
            _SPAN_INSERT,
            [
                (
                    run_no,
                    s.span_id,
                    seq_of[s.span_id],
                    s.parent_span_id,
                    s.start_ns,
                    ingest_no,
                    int(
                        bool(s.parent_span_id)
                        and s.parent_span_id not in seq_of
                        and s.parent_span_id not in known
                    ),
                )
                for s in new
            ],
        )
        # Children written before these spans, waiting for them as their parent.
        adopted = _in_chunks(
            conn,
            "SELECT seq, parent_span_id FROM otlp_spans INDEXED BY idx_otlp_spans_orphans"
            " WHERE run_no = ? AND orphan = 1 AND parent_span_id IN (?)",
            run_no,
            list(seq_of),
        )
        if adopted:
            conn.executemany(
                "UPDATE actions SET parent_seq = ? WHERE run_no = ? AND seq = ?",
                [(seq_of[parent], run_no, seq) for seq, parent in adopted],
            )
            conn.executemany(
                "UPDATE otlp_spans SET orphan = 0 WHERE run_no = ? AND seq = ? AND orphan = 1",
                [(run_no, seq) for seq, _parent in adopted],
            )
        total = count + len(new)
    else:
        total = _insert_in_order(conn, ingest_no, run_no, new)
    last = max((new[-1].start_ns, new[-1].span_id), (last_start, last_span))
    conn.execute(
        "UPDATE otlp_traces SET last_start_ns = ?, last_span_id = ? WHERE run_no = ?",
        (*last, run_no),
    )
    totals = _totals(new)
    started = min(started_at, trace.run.started_at)
    ended = max(ended_at or 0, trace.end.ended_at)
    conn.execute(
        "UPDATE runs SET started_at = ?, ended_at = ?, duration_ns = ?,"
        " status = CASE WHEN ? = 'failed' THEN 'failed' ELSE status END,"
        " error_class = coalesce(error_class, ?), error_message = coalesce(error_message, ?),"
        " tags_json = json_patch(tags_json, ?),"
        " model = CASE WHEN model = 'unknown' THEN ? ELSE model END,"
        " runtime = CASE WHEN model = 'unknown' THEN ? ELSE runtime END,"
        " input_tokens = input_tokens + ?, output_tokens = output_tokens + ?,"
        " cache_read_tokens = cache_read_tokens + ?, cache_write_tokens = cache_write_tokens + ?,"
        " reasoning_tokens = reasoning_tokens + ?, cost_usd = ?, cost_source = ?,"
        " action_count = ?, success_count = success_count + ?, last_event_at = ?"
        " WHERE run_no = ?",
        (
            started,
            ended,
            (ended - started) * 1_000_000,
            trace.end.status,
            trace.end.error_class,
            trace.end.error_message,
            trace.tags_json,
            trace.run.model,
            trace.run.runtime,
            *totals[:5],
            rollup_cost(cost_so_far, totals[5]),
            rollup_source(source_so_far, totals[6]),
            total,
            totals[7],
            ended,
            run_no,
        ),
    )
    return len(new)


def _insert_in_order(
    conn: sqlite3.Connection, ingest_no: int, run_no: int, new: Sequence[EncodedSpan]
) -> int:
    """Insert spans that start before some of the run's actions: every action of the run gets
    its seq in start order again (old ones moved out of the way first, so no two actions ever
    share a seq), and every parent link is set again. Returns the run's action count."""
    existing = conn.execute(
        "SELECT span_id, seq, start_ns FROM otlp_spans WHERE run_no = ?", (run_no,)
    ).fetchall()
    order = sorted(
        [(start, span_id) for span_id, _seq, start in existing]
        + [(s.start_ns, s.span_id) for s in new]
    )
    seq_of = {span_id: i for i, (_start, span_id) in enumerate(order, 1)}
    moved = [(seq_of[span_id], seq) for span_id, seq, _start in existing if seq_of[span_id] != seq]
    if moved:
        conn.executemany(
            "UPDATE actions SET seq = ? WHERE run_no = ? AND seq = ?",
            [(-new_seq, run_no, old_seq) for new_seq, old_seq in moved],
        )
    conn.executemany(ACTION_INSERT, [(run_no, seq_of[s.span_id], None, *s.columns) for s in new])
    conn.executemany(
        _SPAN_INSERT,
        [
            (run_no, s.span_id, seq_of[s.span_id], s.parent_span_id, s.start_ns, ingest_no, 0)
            for s in new
        ],
    )
    if moved:
        conn.execute("UPDATE actions SET seq = -seq WHERE run_no = ? AND seq < 0", (run_no,))
        conn.executemany(
            "UPDATE otlp_spans SET seq = ? WHERE run_no = ? AND span_id = ?",
            [
                (new_seq, run_no, span_id)
                for span_id, seq, _s in existing
                if (new_seq := seq_of[span_id]) != seq
            ],
        )
    _relink_parents(conn, run_no, seq_of)
    reindex_run_actions(conn, run_no)  # seqs moved: the Activity Ledger's rows again
    return len(order)


def _last_action(conn: sqlite3.Connection, run_no: int, run_id: str) -> ActionCreated:
    """The event for an extended run: its last action (views reload the run from it)."""
    seq, name, outcome = conn.execute(
        "SELECT seq, name, outcome FROM actions WHERE run_no = ? ORDER BY seq DESC LIMIT 1",
        (run_no,),
    ).fetchone()
    return ActionCreated(run_id, int(seq), str(name), str(outcome))


def _relink_parents(conn: sqlite3.Connection, run_no: int, seq_of: dict[str, int]) -> None:
    """Set every action's parent_seq from its span's parent, where that span is in the run
    (and which spans still wait for their parent)."""
    wanted = []
    orphans = []
    for parent, seq, orphan in conn.execute(
        "SELECT parent_span_id, seq, orphan FROM otlp_spans WHERE run_no = ?", (run_no,)
    ):
        parent_seq = seq_of.get(parent) if parent else None
        wanted.append((parent_seq, run_no, seq))
        is_orphan = int(bool(parent) and parent_seq is None)
        if is_orphan != orphan:
            orphans.append((is_orphan, run_no, seq))
    current = {
        row[0]: row[1]
        for row in conn.execute("SELECT seq, parent_seq FROM actions WHERE run_no = ?", (run_no,))
    }
    changes = [w for w in wanted if current.get(w[2], -1) != w[0]]
    if changes:
        conn.executemany("UPDATE actions SET parent_seq = ? WHERE run_no = ? AND seq = ?", changes)
    if orphans:
        conn.executemany("UPDATE otlp_spans SET orphan = ? WHERE run_no = ? AND seq = ?", orphans)


def _snapshot(conn: sqlite3.Connection, ingest_no: int, run_no: int) -> None:
    """Keep the run's columns as they were before this ingest first changed it."""
    row = conn.execute(
        f"SELECT {', '.join(_MUTABLE)} FROM runs WHERE run_no = ?", (run_no,)
    ).fetchone()
    prior = dict(zip(_MUTABLE, row, strict=True))
    conn.execute(
        "INSERT OR IGNORE INTO otlp_ingest_runs (ingest_no, run_no, prior_json) VALUES (?, ?, ?)",
        (ingest_no, run_no, to_json(prior)),
    )


# -- taking an ingest back ----------------------------------------------------------------------


def _rollback_step(conn: sqlite3.Connection, emit: Emit, ingest_no: int) -> int:
    """One bounded step of taking an ingest back; 0 when there is nothing left to do."""
    created = [
        row[0]
        for row in conn.execute(
            "SELECT run_no FROM otlp_traces WHERE ingest_no = ? LIMIT ?",
            (ingest_no, ROLLBACK_BATCH),
        )
    ]
    if created:
        conn.executemany("DELETE FROM runs WHERE run_no = ?", [(n,) for n in created])
        emit(RunsRemoved(len(created)))
        return len(created)
    extended = conn.execute(
        "SELECT run_no, prior_json FROM otlp_ingest_runs WHERE ingest_no = ? LIMIT ?",
        (ingest_no, ROLLBACK_BATCH // 10),
    ).fetchall()
    if extended:
        for run_no, prior_json in extended:
            _restore(conn, ingest_no, run_no, from_json(prior_json) or {})
        conn.executemany(
            "DELETE FROM otlp_ingest_runs WHERE ingest_no = ? AND run_no = ?",
            [(ingest_no, row[0]) for row in extended],
        )
        return len(extended)
    conn.execute("DELETE FROM otlp_ingests WHERE ingest_no = ?", (ingest_no,))
    return 0


def _restore(conn: sqlite3.Connection, ingest_no: int, run_no: int, prior: dict[str, Any]) -> None:
    """Remove the spans the ingest added to a run and put the run back as it was."""
    conn.execute(
        "DELETE FROM actions WHERE run_no = ? AND seq IN"
        " (SELECT seq FROM otlp_spans WHERE run_no = ? AND ingest_no = ?)",
        (run_no, run_no, ingest_no),
    )
    conn.execute("DELETE FROM otlp_spans WHERE run_no = ? AND ingest_no = ?", (run_no, ingest_no))
    columns = [c for c in _MUTABLE if c in prior]
    if columns:
        conn.execute(
            f"UPDATE runs SET {', '.join(c + ' = ?' for c in columns)} WHERE run_no = ?",
            (*(prior[c] for c in columns), run_no),
        )
    # The remaining actions back in their order, seqs 1..n again.
    rows = conn.execute(
        "SELECT span_id, seq, start_ns FROM otlp_spans WHERE run_no = ?", (run_no,)
    ).fetchall()
    order = sorted((start, span_id, seq) for span_id, seq, start in rows)
    seq_of = {span_id: i for i, (_start, span_id, _seq) in enumerate(order, 1)}
    moved = [(i, seq) for i, (_start, _span, seq) in enumerate(order, 1) if i != seq]
    if moved:
        conn.executemany(
            "UPDATE actions SET seq = ? WHERE run_no = ? AND seq = ?",
            [(-new, run_no, old) for new, old in moved],
        )
        conn.execute("UPDATE actions SET seq = -seq WHERE run_no = ? AND seq < 0", (run_no,))
        conn.executemany(
            "UPDATE otlp_spans SET seq = ? WHERE run_no = ? AND span_id = ?",
            [(seq_of[span_id], run_no, span_id) for span_id in seq_of],
        )
    _relink_parents(conn, run_no, seq_of)
    reindex_run_actions(conn, run_no)  # actions gone, seqs moved: the ledger's rows again
    if order:
        conn.execute(
            "UPDATE otlp_traces SET last_start_ns = ?, last_span_id = ? WHERE run_no = ?",
            (order[-1][0], order[-1][1], run_no),
        )


def ingest_traces(log: ExecutionLog, traces: Sequence[IngestedTrace]) -> Future[IngestResult]:
    """Write the traces as one ingest in a single transaction (small writes and tests; the
    receiver writes big exports in batches through begin/write_batch/finish)."""
    encoded = [encode_trace(t) for t in traces]

    def job(conn: sqlite3.Connection, emit: Emit) -> IngestResult:
        created, extended, actions, skipped = _write_traces(conn, emit, 0, encoded)
        # Sent on to the cloud sync endpoint only when the user chose to (store.sync_outbox).
        enqueue_ingested(conn, emit, [*created, *extended])
        return IngestResult(len(created), len(extended), actions, (*created, *extended), skipped)

    return log.submit(job)
