"""The Activity Ledger's reads: every action across runs, filtered and sorted (core.ledger), in
keyset pages whose plans never scan a table (10,000,000 actions on the benchmark log).

The ledger's rows (migration 16, written by store.ledger_rows) are narrow: run_no, seq, a
stream number, started_at, cost and duration. A stream stands for one (agent, model, kind,
name, outcome) of the log, so those five filters choose streams in a table of a few hundred
rows. Each order (time, cost, duration) has an index led by the stream:

- a page merges one exact index range per chosen stream, reading keys only; time, cost and
  duration are checked inside the index (a stream with no match of them is dropped, one with
  few is read through that filter's own range and sorted); then only the page's actions are
  read;
- one run's actions ("View in Activity Ledger") are read through the run's key range.
"""

from __future__ import annotations

import heapq
import itertools
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from ato_desktop.core.ledger import (
    DEFAULT_LEDGER_SORT,
    LedgerCursor,
    LedgerEntry,
    LedgerFilter,
    LedgerSort,
    ledger_cursor,
)
from ato_desktop.store.json_codec import from_json

# Counting stops here: the ledger says "100,000+" rather than walk ten million keys.
COUNT_CAP = 100_000
# A stream whose matches of a time, cost or duration filter are fewer than this (counted in
# that filter's own index range) has them read and sorted instead of walked in the order.
STREAM_SMALL_CAP = 5_000

_INDEX = {"time": "idx_ledger_time", "cost": "idx_ledger_cost", "duration": "idx_ledger_duration"}
_VALUE = {"time": "l.started_at", "cost": "l.cost_usd", "duration": "l.duration_ns"}

ENTRY_COLUMNS = """
    a.run_no, a.seq, a.name, a.kind, a.outcome, a.started_at, a.ended_at, a.duration_ns,
    a.cost_usd, a.cost_source, a.input_tokens, a.output_tokens, a.tokens_estimated,
    a.error_class, a.error_message, r.id AS run_id, r.agent_id, g.name AS agent_name, r.runtime,
    r.model
"""


def entry_from_row(row: sqlite3.Row, *, payloads: bool = False) -> LedgerEntry:
    return LedgerEntry(
        run_id=row["run_id"],
        run_no=row["run_no"],
        seq=row["seq"],
        name=row["name"],
        kind=row["kind"],
        outcome=row["outcome"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        duration_ns=row["duration_ns"],
        cost_usd=row["cost_usd"],
        cost_source=row["cost_source"],
        input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"],
        tokens_estimated=bool(row["tokens_estimated"]),
        error_class=row["error_class"],
        error_message=row["error_message"],
        agent_id=row["agent_id"],
        agent_name=row["agent_name"],
        runtime=row["runtime"],
        model=row["model"],
        inputs=from_json(row["inputs_json"]) if payloads else None,
        outputs=from_json(row["outputs_json"]) if payloads else None,
    )


def stream_ids(conn: sqlite3.Connection, flt: LedgerFilter) -> list[int]:
    """The streams flt allows (its agent, model, kind, name and outcome terms)."""
    where: list[str] = []
    args: list[Any] = []
    for column, value in (
        ("agent_id", flt.agent_id),
        ("model", flt.model),
        ("kind", flt.kind),
        ("name", flt.name),
        ("outcome", flt.outcome),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    sql = "SELECT id FROM ledger_streams" + (" WHERE " + " AND ".join(where) if where else "")
    return [int(row[0]) for row in conn.execute(sql + " ORDER BY id", args)]


def streams(conn: sqlite3.Connection, flt: LedgerFilter | None = None) -> list[tuple[str, ...]]:
    """The (kind, name, outcome) triples the ledger has (that flt allows), sorted."""
    ids = set(stream_ids(conn, flt or LedgerFilter()))
    rows = conn.execute("SELECT id, kind, name, outcome FROM ledger_streams").fetchall()
    return sorted({(str(r[1]), str(r[2]), str(r[3])) for r in rows if int(r[0]) in ids})


def models(conn: sqlite3.Connection) -> list[str]:
    """The models the ledger's actions ran on (their runs')."""
    rows = conn.execute("SELECT DISTINCT model FROM ledger_streams ORDER BY model")
    return [str(row[0]) for row in rows]


def _value_terms(flt: LedgerFilter) -> tuple[list[str], list[Any]]:
    """The terms on time, cost and duration: checked in any ledger index."""
    where: list[str] = []
    args: list[Any] = []
    if flt.since_ms is not None:
        where.append("l.started_at >= ?")
        args.append(flt.since_ms)
    if flt.min_cost_usd is not None:
        where.append("l.cost_usd >= ?")
        args.append(flt.min_cost_usd)
    if flt.min_duration_ms is not None:
        where.append("l.duration_ns >= ?")
        args.append(int(flt.min_duration_ms * 1_000_000))
    return where, args


def _run_no(conn: sqlite3.Connection, run_id: str) -> int | None:
    row = conn.execute("SELECT run_no FROM runs WHERE id = ?", (run_id,)).fetchone()
    return int(row[0]) if row is not None else None


def _keyset(
    key: str, segment: str, descending: bool, after: LedgerCursor | None
) -> tuple[list[str], list[Any], str]:
    """A segment's terms, the keyset terms past after, and its ORDER BY."""
    direction = "DESC" if descending else "ASC"
    compare = "<" if descending else ">"
    where: list[str] = []
    params: list[Any] = []
    columns = ["l.started_at", "l.run_no", "l.seq"]
    if key != "time":
        value = _VALUE[key]
        if segment == "value":
            where.append(f"{value} IS NOT NULL")
            columns.insert(0, value)
        else:
            where.append(f"{value} IS NULL")
    if after is not None:
        marks = ", ".join("?" * len(columns))
        where.append(f"({', '.join(columns)}) {compare} ({marks})")
        if len(columns) == 4:
            params.append(after.value)
        params.extend([after.started_at, after.run_no, after.seq])
    return where, params, ", ".join(f"{column} {direction}" for column in columns)


def _segments(key: str, after: LedgerCursor | None) -> list[tuple[str, LedgerCursor | None]]:
    """The order's segments from the cursor's on (the actions with the value, then those
    without), each with the cursor it starts after."""
    if key == "time":
        return [("value", after)]
    if after is None:
        return [("value", None), ("null", None)]
    if after.value is None:
        return [("null", after)]
    return [("value", after), ("null", None)]


def _stream_keys(
    conn: sqlite3.Connection,
    key: str,
    stream: int,
    where: Sequence[str],
    params: Sequence[Any],
    order: str,
    limit: int,
    index: str | None = None,
) -> sqlite3.Cursor:
    """One stream's keys (value, started_at, run_no, seq) in order: a cursor read lazily (the
    caller closes it). index: another ledger index to read a small range of and sort."""
    sql = (
        f"SELECT {_VALUE[key]}, l.started_at, l.run_no, l.seq "
        f"FROM ledger_actions l INDEXED BY {index or _INDEX[key]} "
        f"WHERE {' AND '.join(['l.stream = ?', *where])} ORDER BY {order} LIMIT ?"
    )
    cursor = conn.cursor()
    cursor.row_factory = None  # plain tuples: the merge compares them
    return cursor.execute(sql, (stream, *params, limit))


def _ranges(flt: LedgerFilter) -> list[tuple[str, str, Any]]:
    """The value filters as ranges of an index: (sort key of that index, term, bound)."""
    ranges: list[tuple[str, str, Any]] = []
    if flt.since_ms is not None:
        ranges.append(("time", "l.started_at >= ?", flt.since_ms))
    if flt.min_cost_usd is not None:
        ranges.append(("cost", "l.cost_usd >= ?", flt.min_cost_usd))
    if flt.min_duration_ms is not None:
        ranges.append(("duration", "l.duration_ns >= ?", int(flt.min_duration_ms * 1_000_000)))
    return ranges


def _stream_plan(
    conn: sqlite3.Connection, flt: LedgerFilter, key: str, stream: int
) -> tuple[bool, str | None]:
    """(any match, index to read a small range of) for one stream under the value filters.

    A walk in the order's index checks the filters in the index, but a rare match makes it
    pass most of the stream (a tool's calls have no cost at all). So each filter's own range
    is counted (index only, capped): an empty one drops the stream, a small one is read whole
    and sorted; the order's own range is walked as it is."""
    ranges = _ranges(flt)
    if not ranges:
        return True, None
    where = [term for _k, term, _v in ranges]
    args = [value for _k, _t, value in ranges]
    best: tuple[int, str] | None = None
    for range_key, term, value in ranges:
        sql = (
            f"SELECT count(*) FROM (SELECT 1 FROM ledger_actions l INDEXED BY {_INDEX[range_key]} "
            f"WHERE {' AND '.join(['l.stream = ?', term, *where])} LIMIT ?)"
        )
        found = int(conn.execute(sql, (stream, value, *args, STREAM_SMALL_CAP)).fetchone()[0])
        if found == 0:
            return False, None
        if range_key == key:
            return True, None  # the order's own range: an exact walk
        if found < STREAM_SMALL_CAP and (best is None or found < best[0]):
            best = (found, _INDEX[range_key])
    return True, best[1] if best is not None else None


def _tie_breaks(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(key[1:])


def _merged_keys(
    conn: sqlite3.Connection,
    flt: LedgerFilter,
    sort: LedgerSort,
    after: LedgerCursor | None,
    limit: int,
) -> list[tuple[int, int]]:
    """The page's (run_no, seq), merged from one index range per stream."""
    chosen = []
    for stream in stream_ids(conn, flt):
        matches, index = _stream_plan(conn, flt, sort.key, stream)
        if matches:
            chosen.append((stream, index))
    value_where, value_args = _value_terms(flt)
    keys: list[tuple[int, int]] = []
    for segment, cursor in _segments(sort.key, after):
        where, params, order = _keyset(sort.key, segment, sort.descending, cursor)
        walks = [
            _stream_keys(
                conn,
                sort.key,
                stream,
                [*value_where, *where],
                [*value_args, *params],
                order,
                limit - len(keys),
                index,
            )
            for stream, index in chosen
        ]
        try:
            # Keys compare as (value, started_at, run_no, seq); without a value, from started_at.
            merged = heapq.merge(
                *walks, key=None if segment == "value" else _tie_breaks, reverse=sort.descending
            )
            for row in itertools.islice(merged, limit - len(keys)):
                keys.append((int(row[2]), int(row[3])))
        finally:
            for walk in walks:
                walk.close()
        if len(keys) >= limit:
            break
    return keys


def _run_keys(
    conn: sqlite3.Connection,
    flt: LedgerFilter,
    sort: LedgerSort,
    after: LedgerCursor | None,
    limit: int,
    run_no: int,
) -> list[tuple[int, int]]:
    """The page's keys among one run's actions (read through the run's key range, sorted)."""
    chosen = stream_ids(conn, flt)
    if not chosen:
        return []
    value_where, value_args = _value_terms(flt)
    keys: list[tuple[int, int]] = []
    for segment, cursor in _segments(sort.key, after):
        where, params, order = _keyset(sort.key, segment, sort.descending, cursor)
        marks = ",".join("?" * len(chosen))
        clauses = ["l.run_no = ?", f"l.stream IN ({marks})", *value_where, *where]
        sql = (
            f"SELECT l.run_no, l.seq FROM ledger_actions l WHERE {' AND '.join(clauses)} "
            f"ORDER BY {order} LIMIT ?"
        )
        args = (run_no, *chosen, *value_args, *params, limit - len(keys))
        keys.extend((int(r[0]), int(r[1])) for r in conn.execute(sql, args))
        if len(keys) >= limit:
            break
    return keys


def _entries(
    conn: sqlite3.Connection, keys: Sequence[tuple[int, int]], payloads: bool
) -> list[LedgerEntry]:
    """The entries of keys, in the order of keys."""
    if not keys:
        return []
    columns = ENTRY_COLUMNS + (", a.inputs_json, a.outputs_json" if payloads else "")
    found: dict[tuple[int, int], LedgerEntry] = {}
    for start in range(0, len(keys), 400):  # within SQLite's parameter limit
        chunk = keys[start : start + 400]
        values = ", ".join("(?, ?)" for _ in chunk)
        # The keys drive: one primary-key lookup per action and per run.
        sql = (
            f"SELECT {columns} FROM (VALUES {values}) k "
            f"CROSS JOIN actions a ON a.run_no = k.column1 AND a.seq = k.column2 "
            f"CROSS JOIN runs r ON r.run_no = a.run_no "
            f"LEFT JOIN agents g ON g.id = r.agent_id"
        )
        for row in conn.execute(sql, [p for key in chunk for p in key]):
            found[(row["run_no"], row["seq"])] = entry_from_row(row, payloads=payloads)
    return [found[key] for key in keys if key in found]


def page(
    conn: sqlite3.Connection,
    flt: LedgerFilter,
    after: LedgerCursor | None = None,
    limit: int = 100,
    *,
    sort: LedgerSort = DEFAULT_LEDGER_SORT,
    payloads: bool = False,
) -> list[LedgerEntry]:
    """One page of the ledger: actions matching flt in sort's order, after the cursor."""
    if limit <= 0:
        return []
    if flt.run_id is not None:
        run_no = _run_no(conn, flt.run_id)
        if run_no is None:
            return []
        return _entries(conn, _run_keys(conn, flt, sort, after, limit, run_no), payloads)
    return _entries(conn, _merged_keys(conn, flt, sort, after, limit), payloads)


def iter_entries(
    conn: sqlite3.Connection,
    flt: LedgerFilter,
    *,
    sort: LedgerSort = DEFAULT_LEDGER_SORT,
    batch: int = 500,
    payloads: bool = False,
) -> Iterator[LedgerEntry]:
    """Every matching action in sort's order, a page at a time (exports)."""
    after: LedgerCursor | None = None
    while True:
        rows = page(conn, flt, after, batch, sort=sort, payloads=payloads)
        yield from rows
        if len(rows) < batch:
            return
        after = ledger_cursor(rows[-1], sort)


def count(conn: sqlite3.Connection, flt: LedgerFilter, cap: int = COUNT_CAP) -> int:
    """How many actions match flt, counting no further than cap (the caller says "cap+")."""
    chosen = stream_ids(conn, flt)
    value_where, value_args = _value_terms(flt)
    if flt.run_id is not None:
        run_no = _run_no(conn, flt.run_id)
        if run_no is None or not chosen:
            return 0
        marks = ",".join("?" * len(chosen))
        clauses = ["l.run_no = ?", f"l.stream IN ({marks})", *value_where]
        sql = (
            "SELECT count(*) FROM (SELECT 1 FROM ledger_actions l "
            f"WHERE {' AND '.join(clauses)} LIMIT ?)"
        )
        return int(conn.execute(sql, (run_no, *chosen, *value_args, cap)).fetchone()[0])
    total = 0
    ranges = _ranges(flt)
    for stream in chosen:
        # Through the index of a value filter (its range is exact there), else the time one.
        index = _INDEX[ranges[-1][0]] if ranges else _INDEX["time"]
        if ranges:
            matches, small = _stream_plan(conn, flt, "", stream)
            if not matches:
                continue
            index = small or index
        clauses = ["l.stream = ?", *value_where]
        sql = (
            f"SELECT count(*) FROM (SELECT 1 FROM ledger_actions l INDEXED BY {index} "
            f"WHERE {' AND '.join(clauses)} LIMIT ?)"
        )
        total += int(conn.execute(sql, (stream, *value_args, cap - total)).fetchone()[0])
        if total >= cap:
            return cap
    return total
