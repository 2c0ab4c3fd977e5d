"""Listing and counting runs: keyset pages, in any order of core.run_sort, whose plans never
scan the runs table.

Plans were checked with EXPLAIN QUERY PLAN on a 1,000,000-run log for every combination of the
Runs page's filters and every sort:

- newest-first pages walk one of the (..., started_at, id, cost_usd, status, is_simulation)
  indexes and stop after `limit` rows; keyset positions are row values, which SQLite turns into
  an index range;
- several statuses are one walk per status, merged (an IN list would sort every match);
- a selective min-cost filter reads its few matches through the cost index and sorts them,
  instead of walking the time index hoping to meet them;
- value sorts (cost, duration, ended, actions, success) walk the key's index (value,
  started_at, run_no, ...), the agent's own one under an agent filter; when an indexed filter
  matches fewer than SMALL_SET_CAP runs, its matches are read through its index and sorted
  instead (a walk in value order could pass most of the log before meeting them);
- group sorts (status, agent) walk the groups in order, each newest first as above;
- an order is a list of segments (a value's runs, then the runs without one; or one group after
  another), walked forwards or backwards, so the list can be read from either end and from any
  position: `offset` rows past a cursor are skipped inside the index walk (every walked index
  carries status, cost and is_simulation, so the default filters skip without reading rows).
"""

from __future__ import annotations

import bisect
import dataclasses
import heapq
import itertools
import sqlite3
from collections.abc import Callable, Sequence

from ato_desktop.core.log_records import RunCursor, RunFilter, RunRecord
from ato_desktop.core.run_filter import normalize_filter
from ato_desktop.core.run_sort import (
    DEFAULT_SORT,
    STATUS_ORDER,
    RunSort,
    agent_group,
    cursor_after,
)
from ato_desktop.core.vocabulary import TokenUsage
from ato_desktop.store.json_codec import from_json

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:
    from typing import Any

# A min-cost filter matching fewer runs than this is served from the cost index (read them all,
# sort, take a page); above it, matches are dense enough that walking newest-first meets a page
# of them quickly (at worst limit x 1M / COST_INDEX_CAP index entries, checked in the index).
COST_INDEX_CAP = 4_000
# A value sort under an indexed filter (status, agent, version, user, tenant, error class, min
# cost, time window) matching fewer runs than this reads those runs through the filter's index
# and sorts them; with more, the matches are dense enough that the walk in value order meets a
# page of them within limit x runs / SMALL_SET_CAP index entries (when value and filter are
# independent; the status, cost and time checks happen inside the index).
SMALL_SET_CAP = 10_000
# ...but a term the walk checks inside its index (status, cost, time window) passes an index
# entry for a fraction of a microsecond where the small set reads a row for each match, so it
# drives a small set only when it matches fewer runs than this.
SMALL_IN_INDEX_CAP = 2_000

# The SQL of each value sort key: the same expressions as the indexes of migration 16 (an
# expression index applies only to the very same expression).
VALUE_SQL = {
    "ended": "r.ended_at",
    "duration": "r.duration_ns",
    "cost": "r.cost_usd",
    "actions": "r.action_count",
    "success": (
        "(CASE WHEN r.action_count > 0 THEN CAST(r.success_count AS REAL) / r.action_count END)"
    ),
}

RUN_COLUMNS = """
    r.run_no, r.id, r.agent_id, a.name AS agent_name, r.agent_version_id,
    v.version AS agent_version, r.thread_id, r.runtime, r.model, r."trigger", r.status,
    r.started_at, r.ended_at,
    r.duration_ns, r.ttft_ns, r.error_class, r.error_message, r.parent_run_id, r.pipeline_id,
    r.stage_index, r.stage_name, r.replay_of, r.tags_json, r.input_tokens, r.output_tokens,
    r.cache_read_tokens, r.cache_write_tokens, r.reasoning_tokens, r.tokens_estimated, r.cost_usd,
    r.cost_source, r.action_count, r.success_count, r.last_event_at, r.partial_output,
    r.kill_requested_at, r.is_demo
"""
RUN_FROM = """
    FROM runs r
    LEFT JOIN agents a ON a.id = r.agent_id
    LEFT JOIN agent_versions v ON v.id = r.agent_version_id
"""

RUN_JOINS = """
    LEFT JOIN agents a ON a.id = r.agent_id
    LEFT JOIN agent_versions v ON v.id = r.agent_version_id
"""


def run_from_row(row: sqlite3.Row) -> RunRecord:
    return RunRecord(
        id=row["id"],
        run_no=row["run_no"],
        agent_id=row["agent_id"],
        agent_name=row["agent_name"],
        agent_version_id=row["agent_version_id"],
        agent_version=row["agent_version"],
        thread_id=row["thread_id"],
        runtime=row["runtime"],
        model=row["model"],
        trigger=row["trigger"],
        status=row["status"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        duration_ns=row["duration_ns"],
        ttft_ns=row["ttft_ns"],
        error_class=row["error_class"],
        error_message=row["error_message"],
        parent_run_id=row["parent_run_id"],
        pipeline_id=row["pipeline_id"],
        stage_index=row["stage_index"],
        stage_name=row["stage_name"],
        replay_of=row["replay_of"],
        tags=from_json(row["tags_json"]) or {},
        usage=TokenUsage(
            row["input_tokens"],
            row["output_tokens"],
            row["cache_read_tokens"],
            row["cache_write_tokens"],
            row["reasoning_tokens"],
        ),
        tokens_estimated=bool(row["tokens_estimated"]),
        cost_usd=row["cost_usd"],
        cost_source=row["cost_source"],
        action_count=row["action_count"],
        success_count=row["success_count"],
        last_event_at=row["last_event_at"],
        partial_output=row["partial_output"],
        kill_requested_at=row["kill_requested_at"],
        is_demo=bool(row["is_demo"]),
    )


class _Term:
    """One WHERE term of a filter, and the column it reads (to tell which indexes cover it).

    This module's own classes are plain ones: a dataclass compiles its methods when its module
    is imported, and every command that reads the log imports this one."""

    __slots__ = ("column", "params", "sql")

    def __init__(self, sql: str, params: tuple[Any, ...], column: str) -> None:
        self.sql = sql
        self.params = params
        self.column = column


def _terms(flt: RunFilter, *, cost_via_index: bool) -> list[_Term]:
    terms: list[_Term] = []
    if len(flt.statuses) == 1:
        terms.append(_Term("r.status = ?", (flt.statuses[0],), "status"))
    elif flt.statuses:
        marks = ",".join("?" * len(flt.statuses))
        terms.append(_Term(f"r.status IN ({marks})", tuple(flt.statuses), "status"))
    if flt.agent_id:
        terms.append(_Term("r.agent_id = ?", (flt.agent_id,), "agent_id"))
    if flt.agent_version_id:
        terms.append(_Term("r.agent_version_id = ?", (flt.agent_version_id,), "agent_version_id"))
    if flt.since_ms is not None:
        terms.append(_Term("r.started_at >= ?", (flt.since_ms,), "started_at"))
    if flt.until_ms is not None:
        terms.append(_Term("r.started_at < ?", (flt.until_ms,), "started_at"))
    if flt.min_cost_usd is not None:
        # The unary plus keeps the planner off the cost index (it would sort every match); the
        # term is still checked on the cost_usd column of whichever index is walked.
        sql = "r.cost_usd >= ?" if cost_via_index else "+r.cost_usd >= ?"
        terms.append(_Term(sql, (flt.min_cost_usd,), "cost_usd"))
    if flt.trigger:
        terms.append(_Term('r."trigger" = ?', (flt.trigger,), "trigger"))
    if flt.error_class:
        terms.append(_Term("r.error_class = ?", (flt.error_class,), "error_class"))
    if flt.min_duration_ms is not None:
        terms.append(
            _Term("r.duration_ns >= ?", (int(flt.min_duration_ms * 1_000_000),), "duration_ns")
        )
    for key, value in flt.tags:
        if key in _TAG_INDEXES:
            # The same expression as the indexes of migration 5 (a literal path), so they apply.
            terms.append(_Term(f"json_extract(r.tags_json, '$.{key}') = ?", (value,), f"tag:{key}"))
        else:
            terms.append(_Term("json_extract(r.tags_json, ?) = ?", (_tag_path(key), value), "tags"))
    if not flt.include_simulations:
        terms.append(_Term("r.is_simulation = 0", (), "is_simulation"))
    if not flt.include_demo:
        terms.append(_Term("r.is_demo = 0", (), "is_demo"))
    return terms


def _where(flt: RunFilter, *, cost_via_index: bool) -> tuple[list[str], list[Any]]:
    """The filter as SQL terms (ANDed) and their parameters."""
    where: list[str] = []
    params: list[Any] = []
    for term in _terms(flt, cost_via_index=cost_via_index):
        where.append(term.sql)
        params.extend(term.params)
    return where, params


def _tag_path(key: str) -> str:
    """A JSON path for any tag key, quoted ($."a.b"), bound as a parameter."""
    return '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


_TAG_INDEXES = {"user": "idx_runs_user", "tenant": "idx_runs_tenant"}

# The columns each index a filter can be read through holds (its terms are checked inside it).
_WALKED = ("started_at", "id", "cost_usd", "status", "is_simulation")
_INDEX_COLUMNS: dict[str, frozenset[str]] = {
    "idx_runs_started": frozenset(_WALKED),
    "idx_runs_status": frozenset(_WALKED),
    "idx_runs_agent": frozenset((*_WALKED, "agent_id")),
    "idx_runs_agent_status": frozenset((*_WALKED, "agent_id")),
    "idx_runs_cost": frozenset(("cost_usd", "started_at", "status", "is_simulation")),
    "idx_runs_version": frozenset(("agent_version_id", "started_at", "id", "cost_usd")),
    "idx_runs_user": frozenset(("tag:user", "started_at", "id")),
    "idx_runs_tenant": frozenset(("tag:tenant", "started_at", "id")),
    "idx_runs_error_class": frozenset(("error_class", "started_at", "id")),
}


def _metadata_index(flt: RunFilter) -> str | None:
    """The index of a metadata filter, when one names a user, tenant or error class: the walk
    is then one value's runs, newest first."""
    for key, _value in flt.tags:
        if key in _TAG_INDEXES:
            return _TAG_INDEXES[key]
    return "idx_runs_error_class" if flt.error_class else None


def _time_index(flt: RunFilter, extra: Sequence[str] = ()) -> str:
    """The index a newest-first walk of flt takes (filters on its leading columns are a range;
    the rest are checked in it or, for a few, in the row)."""
    index = _metadata_index(flt)
    if index is not None:
        return index
    if flt.agent_id or extra:
        return "idx_runs_agent_status" if len(flt.statuses) == 1 else "idx_runs_agent"
    return "idx_runs_status" if len(flt.statuses) == 1 else "idx_runs_started"


def _select_keys(
    conn: sqlite3.Connection,
    flt: RunFilter,
    after: RunCursor | None,
    limit: int,
    *,
    index: str | None = None,
    descending: bool = True,
    offset: int = 0,
    extra: Sequence[str] = (),
) -> list[tuple[int, int, str]]:
    """(run_no, started_at, id) of a page in (started_at, id) order, from one index walk."""
    where, params = _where(flt, cost_via_index=index == "idx_runs_cost")
    where.extend(extra)
    if after is not None:
        # A row value: SQLite makes it the range of the index walk (an OR of the two halves
        # would be checked row by row from the newest run down). (started_at, id) is unique,
        # so the row value orders exactly like the ORDER BY below.
        where.append(f"(r.started_at, r.id) {'<' if descending else '>'} (?, ?)")
        params.extend([after.started_at, after.id])
    source = f"runs r INDEXED BY {index}" if index else "runs r"
    sql = f"SELECT r.run_no, r.started_at, r.id FROM {source}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    direction = "DESC" if descending else "ASC"
    sql += f" ORDER BY r.started_at {direction}, r.id {direction} LIMIT ? OFFSET ?"
    params.extend([limit, offset])
    return [(int(row[0]), int(row[1]), str(row[2])) for row in conn.execute(sql, params)]


def runs_in_order(conn: sqlite3.Connection, run_nos: Sequence[int]) -> list[RunRecord]:
    """The runs of run_nos, in that order. Pages pick their keys first, in an index walk that
    reads no row (rows skipped by OFFSET or failing an indexed term cost an index entry each),
    then read only their own rows, with the agent's name and version."""
    if not run_nos:
        return []
    found: dict[int, RunRecord] = {}
    for start in range(0, len(run_nos), 500):  # within SQLite's parameter limit
        chunk = run_nos[start : start + 500]
        marks = ",".join("?" * len(chunk))
        sql = f"SELECT {RUN_COLUMNS} {RUN_FROM} WHERE r.run_no IN ({marks})"
        for row in conn.execute(sql, chunk):
            found[row["run_no"]] = run_from_row(row)
    return [found[no] for no in run_nos if no in found]


def _version_owner(conn: sqlite3.Connection, version_id: str) -> str | None:
    row = conn.execute("SELECT agent_id FROM agent_versions WHERE id = ?", (version_id,)).fetchone()
    return row[0] if row is not None else None


def _plan_version(conn: sqlite3.Connection, flt: RunFilter) -> tuple[RunFilter, str | None] | None:
    """Filters naming a config version: None when they cannot match; else the filter to run
    and the index to walk.

    A version belongs to one agent, so the agent term is implied. With one status, the
    (agent, status) index is walked and the version checked per row (sparse statuses such as
    running stay tiny); without, the version index is walked, index-only for the cost check.
    """
    assert flt.agent_version_id is not None
    owner = _version_owner(conn, flt.agent_version_id)
    if flt.agent_id and owner is not None and flt.agent_id != owner:
        return None
    if len(flt.statuses) == 1 and owner is not None:
        return dataclasses.replace(flt, agent_id=owner), "idx_runs_agent_status"
    return dataclasses.replace(flt, agent_id=None), "idx_runs_version"


def _capped_count(conn: sqlite3.Connection, index: str, terms: Sequence[_Term], cap: int) -> int:
    """How many runs the index holds that pass terms, counting no further than cap."""
    where = " AND ".join(t.sql for t in terms) or "1"
    params = [p for t in terms for p in t.params]
    row = conn.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM runs r INDEXED BY {index} WHERE {where} LIMIT ?)",
        (*params, cap),
    ).fetchone()
    return int(row[0])


def _cost_is_selective(conn: sqlite3.Connection, min_cost: float) -> bool:
    """Fewer than COST_INDEX_CAP runs cost at least min_cost (counted in the index, capped)."""
    term = _Term("r.cost_usd >= ?", (min_cost,), "cost_usd")
    return _capped_count(conn, "idx_runs_cost", [term], COST_INDEX_CAP) < COST_INDEX_CAP


def _time_page(
    conn: sqlite3.Connection,
    flt: RunFilter,
    after: RunCursor | None,
    limit: int,
    *,
    descending: bool = True,
    offset: int = 0,
    extra: Sequence[str] = (),
    cost_selective: bool | None = None,
) -> list[RunRecord]:
    """A page in (started_at, id) order, newest first unless not descending."""
    keys = _time_keys(
        conn,
        flt,
        after,
        limit,
        descending=descending,
        offset=offset,
        extra=extra,
        cost_selective=cost_selective,
    )
    return runs_in_order(conn, [key[0] for key in keys])


def _time_keys(
    conn: sqlite3.Connection,
    flt: RunFilter,
    after: RunCursor | None,
    limit: int,
    *,
    descending: bool = True,
    offset: int = 0,
    extra: Sequence[str] = (),
    cost_selective: bool | None = None,
) -> list[tuple[int, int, str]]:
    options: dict[str, Any] = {"descending": descending, "offset": offset, "extra": extra}
    if flt.min_cost_usd is not None:
        if cost_selective is None:
            cost_selective = _cost_is_selective(conn, flt.min_cost_usd)
        if cost_selective:
            return _select_keys(conn, flt, after, limit, index="idx_runs_cost", **options)
    if len(flt.statuses) > 1 and not offset and _metadata_index(flt) is None:
        walks = [
            _time_keys(
                conn,
                dataclasses.replace(flt, statuses=(status,)),
                after,
                limit,
                descending=descending,
                extra=extra,
                cost_selective=cost_selective,
            )
            for status in flt.statuses
        ]
        merged = heapq.merge(*walks, key=lambda key: key[1:], reverse=descending)
        return list(itertools.islice(merged, limit))
    index: str | None = _time_index(flt, extra)
    if flt.agent_version_id and _metadata_index(flt) is None:
        planned = _plan_version(conn, flt)
        if planned is None:
            return []
        flt, index = planned
    return _select_keys(conn, flt, after, limit, index=index, **options)


# -- orders as segments --------------------------------------------------------------------------


class _Segment:
    """A run of the order: "time" rows (started_at, id) of a narrowed filter (a whole sort by
    start, or one group of a group sort); or a value sort's runs with the value ("value") or
    without it ("null"). descending is the direction of its walk."""

    __slots__ = ("descending", "empty", "extra", "flt", "group", "kind")

    def __init__(
        self,
        kind: str,
        descending: bool,
        flt: RunFilter,
        group: Any = None,
        extra: tuple[str, ...] = (),
        empty: bool = False,
    ) -> None:
        self.kind = kind
        self.descending = descending
        self.flt = flt
        self.group = group
        self.extra = extra
        self.empty = empty

    def reversed(self) -> _Segment:
        """The same segment, walked the other way."""
        return _Segment(
            self.kind, not self.descending, self.flt, self.group, self.extra, self.empty
        )


_NO_AGENT = ("r.agent_id IS NULL",)


def _segments(conn: sqlite3.Connection, flt: RunFilter, sort: RunSort) -> list[_Segment]:
    """The order's segments, in the forward direction."""
    if sort.key == "started":
        return [_Segment("time", sort.descending, flt)]
    if sort.key == "status":
        order = list(STATUS_ORDER) + [s for s in flt.statuses if s not in STATUS_ORDER]
        if sort.descending:
            order.reverse()
        return [
            _Segment(
                "time",
                True,
                dataclasses.replace(flt, statuses=(status,)),
                group=status,
                empty=bool(flt.statuses) and status not in flt.statuses,
            )
            for status in order
        ]
    if sort.key == "agent":
        return _agent_segments(conn, flt, sort)
    segments = [_Segment("value", sort.descending, flt)]
    if sort.key not in _NEVER_NULL:
        segments.append(_Segment("null", sort.descending, flt))
    return segments


_NEVER_NULL = frozenset({"actions"})  # NOT NULL columns: no segment of runs without the value


def _agent_segments(conn: sqlite3.Connection, flt: RunFilter, sort: RunSort) -> list[_Segment]:
    """One segment per agent, by name (then id), runs without an agent last."""
    agent_id = flt.agent_id
    if flt.agent_version_id:
        owner = _version_owner(conn, flt.agent_version_id)
        if agent_id and owner is not None and owner != agent_id:
            return []
        agent_id = agent_id or owner
    if agent_id:
        row = conn.execute("SELECT name FROM agents WHERE id = ?", (agent_id,)).fetchone()
        agents = [(agent_id, row[0] if row is not None else None)]
    else:
        agents = [(str(r[0]), str(r[1])) for r in conn.execute("SELECT id, name FROM agents")]
    groups = sorted(
        ((agent_group(a_id, name), a_id) for a_id, name in agents),
        key=lambda item: item[0] or ("", ""),
        reverse=sort.descending,
    )
    segments = [
        _Segment("time", True, dataclasses.replace(flt, agent_id=a_id), group=group)
        for group, a_id in groups
    ]
    if not agent_id:
        segments.append(_Segment("time", True, flt, group=None, extra=_NO_AGENT))
    return segments


def _cursor_segment(segments: list[_Segment], sort: RunSort, after: RunCursor) -> int:
    """Which segment (in walking order) a cursor's row belongs to."""
    if sort.key == "started":
        return 0
    if sort.key in VALUE_SQL:
        kind = "value" if after.value is not None else "null"
        return next(i for i, segment in enumerate(segments) if segment.kind == kind)
    groups = [segment.group for segment in segments]
    if after.value in groups:
        return groups.index(after.value)
    if sort.key == "agent":
        # The cursor's agent was deleted meanwhile (its runs have none now): place it by name.
        if after.value is None:
            return len(segments) - 1
        named = [g for g in groups if g is not None]
        descending = len(named) > 1 and named[0] > named[-1]
        keys = [_flip(g, descending) for g in named]
        return bisect.bisect_right(keys, _flip(after.value, descending))
    return len(segments)


def _flip(group: Any, descending: bool) -> Any:
    return tuple(_Desc(part) for part in group) if descending else group


class _Desc:
    """A value that sorts in the reverse order."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and self.value == other.value

    def __hash__(self) -> int:
        return hash((self.value,))

    def __lt__(self, other: _Desc) -> bool:
        return bool(other.value < self.value)


def _value_page(
    conn: sqlite3.Connection,
    flt: RunFilter,
    key: str,
    segment: _Segment,
    after: RunCursor | None,
    limit: int,
    offset: int,
    small_set: str | None,
    agent_id: str | None,
) -> list[RunRecord]:
    """A page of a value sort's segment: runs with the value (in value order) or without it."""
    expr = VALUE_SQL[key]
    direction = "DESC" if segment.descending else "ASC"
    compare = "<" if segment.descending else ">"
    where, params = _where(flt, cost_via_index=True)
    if segment.kind == "value":
        where.append(f"{expr} IS NOT NULL")
        if key == "ended" and flt.since_ms is not None and not small_set:
            # A run ends after it starts: the window is a range of this walk too.
            where.append("r.ended_at >= ?")
            params.append(flt.since_ms)
        order = f"{expr} {direction}, r.started_at {direction}, r.run_no {direction}"
        if after is not None:
            where.append(f"({expr}, r.started_at, r.run_no) {compare} (?, ?, ?)")
            params.extend([after.value, after.started_at, after.run_no])
    else:
        where.append(f"{expr} IS NULL")
        order = f"r.started_at {direction}, r.run_no {direction}"
        if after is not None:
            where.append(f"(r.started_at, r.run_no) {compare} (?, ?)")
            params.extend([after.started_at, after.run_no])
    if small_set:
        index = small_set
    elif agent_id:
        index = f"idx_runs_agent_{key}"
        if not flt.agent_id:
            where.append("r.agent_id = ?")  # implied by the version filter: the index's range
            params.append(agent_id)
    else:
        index = f"idx_runs_{key}"
    sql = (
        f"SELECT r.run_no FROM runs r INDEXED BY {index} "
        f"WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ? OFFSET ?"
    )
    params.extend([limit, offset])
    return runs_in_order(conn, [row[0] for row in conn.execute(sql, params)])


def _small_set_index(conn: sqlite3.Connection, flt: RunFilter, agent_id: str | None) -> str | None:
    """The index of the filter term with the fewest matches, when fewer than SMALL_SET_CAP
    (counted inside each candidate index, capped); None when every indexed term is dense."""
    terms = _terms(flt, cost_via_index=True)
    # (index, cap): terms the walk checks row by row may drive up to SMALL_SET_CAP matches;
    # those it checks in its index (or, with an agent, walks exactly) far fewer.
    candidates: list[tuple[str, int]] = []
    meta = _metadata_index(flt)
    if meta is not None:
        candidates.append((meta, SMALL_SET_CAP))
    if flt.agent_version_id:
        candidates.append(("idx_runs_version", SMALL_SET_CAP))
    if flt.statuses:
        index = (
            "idx_runs_agent_status" if agent_id and len(flt.statuses) == 1 else "idx_runs_status"
        )
        candidates.append((index, SMALL_IN_INDEX_CAP))
    if flt.min_cost_usd is not None:
        candidates.append(("idx_runs_cost", SMALL_IN_INDEX_CAP))
    if flt.since_ms is not None or flt.until_ms is not None:
        candidates.append(
            ("idx_runs_agent" if agent_id else "idx_runs_started", SMALL_IN_INDEX_CAP)
        )
    best: tuple[int, str] | None = None
    for index, cap in candidates:
        cap = min(cap, SMALL_SET_CAP)
        covered = [t for t in terms if t.column in _INDEX_COLUMNS[index]]
        if index.startswith("idx_runs_agent") and not flt.agent_id and agent_id:
            covered.append(_Term("r.agent_id = ?", (agent_id,), "agent_id"))
        count = _capped_count(conn, index, covered, cap)
        if count < cap and (best is None or count < best[0]):
            best = (count, index)
    return best[1] if best is not None else None


def _segment_page(
    conn: sqlite3.Connection,
    sort: RunSort,
    segment: _Segment,
    after: RunCursor | None,
    limit: int,
    offset: int,
    plan: dict[str, Any],
) -> list[RunRecord]:
    if segment.empty:
        return []
    if segment.kind == "time":
        return _time_page(
            conn,
            segment.flt,
            after,
            limit,
            descending=segment.descending,
            offset=offset,
            extra=segment.extra,
            cost_selective=plan.get("cost_selective"),
        )
    return _value_page(
        conn,
        segment.flt,
        sort.key,
        segment,
        after,
        limit,
        offset,
        plan.get("small_set"),
        plan.get("agent_id"),
    )


def _segment_count(
    conn: sqlite3.Connection,
    sort: RunSort,
    segment: _Segment,
    after: RunCursor | None,
    cap: int,
    plan: dict[str, Any],
) -> int:
    """How many rows the segment holds past after (at most cap): what an offset skips."""
    if segment.empty:
        return 0
    if segment.kind == "time":
        flt = segment.flt
        if flt.agent_version_id:
            planned = _plan_version(conn, flt)
            if planned is None:
                return 0
            flt = planned[0]
        where, params = _where(flt, cost_via_index=True)
        where.extend(segment.extra)
        if after is not None:
            where.append(f"(r.started_at, r.id) {'<' if segment.descending else '>'} (?, ?)")
            params.extend([after.started_at, after.id])
        index = _time_index(flt, segment.extra)
    else:
        expr = VALUE_SQL[sort.key]
        compare = "<" if segment.descending else ">"
        where, params = _where(segment.flt, cost_via_index=True)
        if segment.kind == "value":
            where.append(f"{expr} IS NOT NULL")
            if after is not None:
                where.append(f"({expr}, r.started_at, r.run_no) {compare} (?, ?, ?)")
                params.extend([after.value, after.started_at, after.run_no])
        else:
            where.append(f"{expr} IS NULL")
            if after is not None:
                where.append(f"(r.started_at, r.run_no) {compare} (?, ?)")
                params.extend([after.started_at, after.run_no])
        agent_id = plan.get("agent_id")
        index = plan.get("small_set") or (
            f"idx_runs_agent_{sort.key}" if agent_id else f"idx_runs_{sort.key}"
        )
        if agent_id and not segment.flt.agent_id and index.startswith("idx_runs_agent"):
            where.append("r.agent_id = ?")
            params.append(agent_id)
    sql = (
        f"SELECT count(*) FROM (SELECT 1 FROM runs r INDEXED BY {index} "
        f"WHERE {' AND '.join(where) or '1'} LIMIT ?)"
    )
    return int(conn.execute(sql, (*params, cap)).fetchone()[0])


def page(
    conn: sqlite3.Connection,
    flt: RunFilter,
    after: RunCursor | None = None,
    limit: int = 100,
    *,
    sort: RunSort = DEFAULT_SORT,
    offset: int = 0,
    backwards: bool = False,
) -> list[RunRecord]:
    """One page of runs matching flt in sort's order, after the cursor (keyset pagination),
    skipping offset rows first. backwards walks the order the other way: the rows before the
    cursor (or the last rows, without one), nearest first."""
    if limit <= 0:
        return []
    walk = _Walk.prepare(conn, flt, sort, backwards)
    return walk.page(after, limit, offset) if walk is not None else []


def anchors(
    conn: sqlite3.Connection,
    flt: RunFilter,
    sort: RunSort = DEFAULT_SORT,
    every: int = 2_000,
    *,
    cancelled: Callable[[], bool] | None = None,
) -> list[tuple[int, RunCursor]]:
    """Every `every`-th run of the order with its position (0-based): places to read a page by
    position from, so that reaching any row skips at most every / 2 index entries. One walk of
    the order (as long as a count), in steps that read one row each."""
    walk = _Walk.prepare(conn, flt, sort, False)
    found: list[tuple[int, RunCursor]] = []
    if walk is None:
        return found
    position = -1
    cursor: RunCursor | None = None
    while cancelled is None or not cancelled():
        rows = walk.page(cursor, 1, every - 1)
        if not rows:
            break
        position += every
        cursor = cursor_after(rows[0], sort)
        found.append((position, cursor))
    return found


class _Walk:
    """An order's segments and what its pages share, planned once for any number of reads."""

    __slots__ = ("conn", "plan", "segments", "sort")

    def __init__(
        self,
        conn: sqlite3.Connection,
        sort: RunSort,
        segments: list[_Segment],
        plan: dict[str, Any],
    ) -> None:
        self.conn = conn
        self.sort = sort
        self.segments = segments
        self.plan = plan

    @staticmethod
    def prepare(
        conn: sqlite3.Connection, flt: RunFilter, sort: RunSort, backwards: bool
    ) -> _Walk | None:
        flt = normalize_filter(flt)
        segments = _segments(conn, flt, sort)
        if backwards:
            segments = [s.reversed() for s in reversed(segments)]
        plan = _plan(conn, flt, sort)
        return _Walk(conn, sort, segments, plan) if plan is not None else None

    def page(self, after: RunCursor | None, limit: int, offset: int) -> list[RunRecord]:
        first = _cursor_segment(self.segments, self.sort, after) if after is not None else 0
        rows: list[RunRecord] = []
        for i in range(first, len(self.segments)):
            segment = self.segments[i]
            cursor = after if i == first else None
            if cursor is not None and segment.group is not None and cursor.value != segment.group:
                cursor = None  # the cursor's own group is gone: this one starts afresh
            want = limit - len(rows)
            got = _segment_page(self.conn, self.sort, segment, cursor, want, offset, self.plan)
            if offset and not got:
                offset -= _segment_count(self.conn, self.sort, segment, cursor, offset, self.plan)
                continue
            offset = 0
            rows.extend(got)
            if len(rows) >= limit:
                break
        return rows


def _plan(conn: sqlite3.Connection, flt: RunFilter, sort: RunSort) -> dict[str, Any] | None:
    """What every segment of one page shares: the agent a version implies, whether a min cost
    is selective, the small-set index of a value sort. None when the filter cannot match."""
    plan: dict[str, Any] = {}
    agent_id = flt.agent_id
    if flt.agent_version_id:
        owner = _version_owner(conn, flt.agent_version_id)
        if agent_id and owner is not None and owner != agent_id:
            return None
        agent_id = agent_id or owner
    plan["agent_id"] = agent_id
    if flt.min_cost_usd is not None:
        plan["cost_selective"] = _cost_is_selective(conn, flt.min_cost_usd)
    if sort.key in VALUE_SQL:
        plan["small_set"] = _small_set_index(conn, flt, agent_id)
    return plan


def count(conn: sqlite3.Connection, flt: RunFilter) -> int:
    """How many runs match flt (through an index on every filter combination of the page)."""
    flt = normalize_filter(flt)
    index = _metadata_index(flt)
    if index is not None:
        pass
    elif flt.min_cost_usd is not None and _cost_is_selective(conn, flt.min_cost_usd):
        index = "idx_runs_cost"
    elif flt.agent_version_id:
        planned = _plan_version(conn, flt)
        if planned is None:
            return 0
        flt, index = planned
    elif flt.agent_id or flt.statuses:
        index = _time_index(flt)
    # Without a leading filter, SQLite counts through the narrowest index covering the terms.
    where, params = _where(flt, cost_via_index=True)
    sql = (
        f"SELECT count(*) FROM runs r INDEXED BY {index}"
        if index
        else "SELECT count(*) FROM runs r"
    )
    if where:
        sql += " WHERE " + " AND ".join(where)
    return int(conn.execute(sql, params).fetchone()[0])


def filter_sql(flt: RunFilter) -> tuple[list[str], list[Any]]:
    """The WHERE terms (over alias r) and their parameters that apply flt, for other reads of
    the runs table (the intercepts) that must follow the Runs page's filters exactly."""
    return _where(flt, cost_via_index=False)
