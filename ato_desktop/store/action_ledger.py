"""The Activity Ledger's reads: every action across runs, filtered and sorted (core.ledger), in
keyset pages whose plans never scan the actions table (10,000,000 rows on a benchmark log).

Each order has an index led by (kind, name, outcome) then the sort value and the tie-breaks,
with the other filtered values riding at the end (migration 14):

- a page merges one walk per (kind, name, outcome) triple present in the log (found by seeking
  from one triple to the next: a handful of index probes), so filters on those three are exact
  ranges and the others (time, cost, duration) are checked inside the index; each walk reads
  only keys, and only the page's rows are read from the table;
- an agent or model filter (a property of the run) joins each walked key to its run; when the
  agent or model has few runs (fewer than RUN_SET_CAP), their actions are read through the runs
  instead and sorted;
- one run's actions ("View in Activity Ledger") are read through the run's primary key range.
"""

from __future__ import annotations

import heapq
import itertools
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
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

# An agent or model with fewer runs than this has its actions read through its runs (then
# sorted); with more, a walk in ledger order meets a page of them quickly.
RUN_SET_CAP = 2_000
# Counting stops here: the ledger says "100,000+" rather than walk ten million keys.
COUNT_CAP = 100_000

_INDEX = {
    "time": "idx_actions_ledger_time",
    "cost": "idx_actions_ledger_cost",
    "duration": "idx_actions_ledger_duration",
}
_VALUE = {"time": "a.started_at", "cost": "a.cost_usd", "duration": "a.duration_ns"}

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


@dataclass(frozen=True, slots=True)
class _Terms:
    """A filter's SQL: the terms on the action (checked in any ledger index) and on its run."""

    action: tuple[str, ...]
    action_params: tuple[Any, ...]
    run: tuple[str, ...]
    run_params: tuple[Any, ...]


def _terms(flt: LedgerFilter) -> _Terms:
    action: list[str] = []
    action_params: list[Any] = []
    for column, value in (("kind", flt.kind), ("name", flt.name), ("outcome", flt.outcome)):
        if value is not None:
            action.append(f"a.{column} = ?")
            action_params.append(value)
    if flt.since_ms is not None:
        action.append("a.started_at >= ?")
        action_params.append(flt.since_ms)
    if flt.min_cost_usd is not None:
        action.append("a.cost_usd >= ?")
        action_params.append(flt.min_cost_usd)
    if flt.min_duration_ms is not None:
        action.append("a.duration_ns >= ?")
        action_params.append(int(flt.min_duration_ms * 1_000_000))
    run: list[str] = []
    run_params: list[Any] = []
    if flt.agent_id is not None:
        run.append("r.agent_id = ?")
        run_params.append(flt.agent_id)
    if flt.model is not None:
        run.append("r.model = ?")
        run_params.append(flt.model)
    return _Terms(tuple(action), tuple(action_params), tuple(run), tuple(run_params))


def streams(conn: sqlite3.Connection, flt: LedgerFilter | None = None) -> list[tuple[str, ...]]:
    """The (kind, name, outcome) triples present in the log that flt allows: each a seek from
    the previous one in the time index (a loose index scan)."""
    flt = flt or LedgerFilter()
    fixed: list[str] = []
    params: list[Any] = []
    for column, value in (("kind", flt.kind), ("name", flt.name), ("outcome", flt.outcome)):
        if value is not None:
            fixed.append(f"{column} = ?")
            params.append(value)
    found: list[tuple[str, ...]] = []
    last: tuple[str, ...] | None = None
    while True:
        where = list(fixed)
        args = list(params)
        if last is not None:
            where.append("(kind, name, outcome) > (?, ?, ?)")
            args.extend(last)
        sql = (
            "SELECT kind, name, outcome FROM actions INDEXED BY idx_actions_ledger_time"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY kind, name, outcome LIMIT 1"
        )
        row = conn.execute(sql, args).fetchone()
        if row is None:
            return found
        last = (str(row[0]), str(row[1]), str(row[2]))
        found.append(last)


def _run_no(conn: sqlite3.Connection, run_id: str) -> int | None:
    row = conn.execute("SELECT run_no FROM runs WHERE id = ?", (run_id,)).fetchone()
    return int(row[0]) if row is not None else None


def _small_run_set(conn: sqlite3.Connection, flt: LedgerFilter) -> tuple[str, str, Any] | None:
    """(index, term, value) of the agent or model filter with fewer than RUN_SET_CAP runs."""
    best: tuple[int, tuple[str, str, Any]] | None = None
    for index, term, value in (
        ("idx_runs_agent", "r.agent_id = ?", flt.agent_id),
        ("idx_runs_model", "r.model = ?", flt.model),
    ):
        if value is None:
            continue
        row = conn.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM runs r INDEXED BY {index} WHERE {term} LIMIT ?)",
            (value, RUN_SET_CAP),
        ).fetchone()
        count = int(row[0])
        if count < RUN_SET_CAP and (best is None or count < best[0]):
            best = (count, (index, term, value))
    return best[1] if best is not None else None


def _keyset(
    key: str, segment: str, descending: bool, after: LedgerCursor | None
) -> tuple[list[str], list[Any], str]:
    """A segment's terms, the keyset terms past after, and its ORDER BY."""
    direction = "DESC" if descending else "ASC"
    compare = "<" if descending else ">"
    where: list[str] = []
    params: list[Any] = []
    columns = ["a.started_at", "a.run_no", "a.seq"]
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
    triple: tuple[str, ...],
    terms: _Terms,
    where: Sequence[str],
    params: Sequence[Any],
    order: str,
    limit: int,
) -> sqlite3.Cursor:
    """One triple's keys (value, started_at, run_no, seq) in order: a cursor read lazily (the
    caller closes it)."""
    value = _VALUE[key]
    clauses = ["a.kind = ?", "a.name = ?", "a.outcome = ?", *terms.action, *where]
    args: list[Any] = [*triple, *terms.action_params, *params]
    source = f"actions a INDEXED BY {_INDEX[key]}"
    if terms.run:
        # The run's agent / model per walked key: the action index stays the outer loop.
        source += " CROSS JOIN runs r"
        clauses.append("r.run_no = a.run_no")
        clauses.extend(terms.run)
        args.extend(terms.run_params)
    sql = (
        f"SELECT {value}, a.started_at, a.run_no, a.seq FROM {source} "
        f"WHERE {' AND '.join(clauses)} ORDER BY {order} LIMIT ?"
    )
    cursor = conn.cursor()
    cursor.row_factory = None  # plain tuples: the merge compares them
    return cursor.execute(sql, (*args, limit))


def _tie_breaks(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(key[1:])


def _merged_keys(
    conn: sqlite3.Connection,
    flt: LedgerFilter,
    sort: LedgerSort,
    after: LedgerCursor | None,
    limit: int,
) -> list[tuple[int, int]]:
    """The page's (run_no, seq), merged from one walk per (kind, name, outcome)."""
    terms = _terms(flt)
    triples = streams(conn, flt)
    keys: list[tuple[int, int]] = []
    for segment, cursor in _segments(sort.key, after):
        where, params, order = _keyset(sort.key, segment, sort.descending, cursor)
        walks = [
            _stream_keys(conn, sort.key, triple, terms, where, params, order, limit - len(keys))
            for triple in triples
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


def _through_runs(
    conn: sqlite3.Connection,
    flt: LedgerFilter,
    sort: LedgerSort,
    after: LedgerCursor | None,
    limit: int,
    source: str,
    run_terms: Sequence[str],
    run_params: Sequence[Any],
    payloads: bool,
) -> list[LedgerEntry]:
    """A page of a small set of runs' actions, read through those runs and sorted."""
    terms = _terms(flt)
    entries: list[LedgerEntry] = []
    for segment, cursor in _segments(sort.key, after):
        where, params, order = _keyset(sort.key, segment, sort.descending, cursor)
        clauses = [*run_terms, "a.run_no = r.run_no", *terms.action, *terms.run, *where]
        args = [*run_params, *terms.action_params, *terms.run_params, *params]
        columns = ENTRY_COLUMNS + (", a.inputs_json, a.outputs_json" if payloads else "")
        sql = (
            f"SELECT {columns} FROM {source} CROSS JOIN actions a "
            f"LEFT JOIN agents g ON g.id = r.agent_id "
            f"WHERE {' AND '.join(clauses)} ORDER BY {order} LIMIT ?"
        )
        rows = conn.execute(sql, (*args, limit - len(entries))).fetchall()
        entries.extend(entry_from_row(row, payloads=payloads) for row in rows)
        if len(entries) >= limit:
            break
    return entries


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
        return _through_runs(
            conn, flt, sort, after, limit, "runs r", ["r.run_no = ?"], [run_no], payloads
        )
    small = _small_run_set(conn, flt)
    if small is not None:
        index, term, value = small
        return _through_runs(
            conn, flt, sort, after, limit, f"runs r INDEXED BY {index}", [term], [value], payloads
        )
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
    terms = _terms(flt)
    clauses = list(terms.action)
    params: list[Any] = list(terms.action_params)
    if flt.run_id is not None:
        run_no = _run_no(conn, flt.run_id)
        if run_no is None:
            return 0
        sql = (
            "SELECT count(*) FROM (SELECT 1 FROM runs r CROSS JOIN actions a "
            f"WHERE r.run_no = ? AND a.run_no = r.run_no "
            f"{''.join(' AND ' + c for c in (*clauses, *terms.run))} LIMIT ?)"
        )
        return int(conn.execute(sql, (run_no, *params, *terms.run_params, cap)).fetchone()[0])
    small = _small_run_set(conn, flt)
    if small is not None:
        index, term, value = small
        sql = (
            f"SELECT count(*) FROM (SELECT 1 FROM runs r INDEXED BY {index} CROSS JOIN actions a "
            f"WHERE {term} AND a.run_no = r.run_no "
            f"{''.join(' AND ' + c for c in (*clauses, *terms.run))} LIMIT ?)"
        )
        return int(conn.execute(sql, (value, *params, *terms.run_params, cap)).fetchone()[0])
    total = 0
    for triple in streams(conn, flt):
        source = "actions a INDEXED BY idx_actions_ledger_time"
        where = ["a.kind = ?", "a.name = ?", "a.outcome = ?", *clauses]
        args: list[Any] = [*triple, *params]
        if terms.run:
            source += " CROSS JOIN runs r"
            where.append("r.run_no = a.run_no")
            where.extend(terms.run)
            args.extend(terms.run_params)
        sql = f"SELECT count(*) FROM (SELECT 1 FROM {source} WHERE {' AND '.join(where)} LIMIT ?)"
        total += int(conn.execute(sql, (*args, cap - total)).fetchone()[0])
        if total >= cap:
            return cap
    return total


def models(conn: sqlite3.Connection) -> list[str]:
    """The models runs used (a seek per model through idx_runs_model)."""
    found: list[str] = []
    last: str | None = None
    while True:
        if last is None:
            row = conn.execute(
                "SELECT model FROM runs INDEXED BY idx_runs_model ORDER BY model LIMIT 1"
            ).fetchone()
        else:
            row = conn.execute(
                "SELECT model FROM runs INDEXED BY idx_runs_model WHERE model > ? "
                "ORDER BY model LIMIT 1",
                (last,),
            ).fetchone()
        if row is None:
            return found
        last = str(row[0])
        found.append(last)
