"""Listing and counting runs: keyset pages whose plans never scan the runs table.

Plans were checked with EXPLAIN QUERY PLAN on a 1,000,000-run log for every combination of the
Runs page's filters:

- newest-first pages walk one of the (..., started_at, id, cost_usd) indexes and stop after
  `limit` rows; keyset positions are row values, which SQLite turns into an index range;
- several statuses are one walk per status, merged (an IN list would sort every match);
- a selective min-cost filter reads its few matches through the cost index and sorts them,
  instead of walking the time index hoping to meet them.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import sqlite3
from typing import Any

from ato_desktop.core.models import TokenUsage
from ato_desktop.core.records import RunCursor, RunFilter, RunRecord
from ato_desktop.core.run_filter import normalize_filter
from ato_desktop.store.json_codec import from_json

# A min-cost filter matching fewer runs than this is served from the cost index (read them all,
# sort, take a page); above it, matches are dense enough that walking newest-first meets a page
# of them quickly (at worst limit x 1M / COST_INDEX_CAP index entries, checked in the index).
COST_INDEX_CAP = 4_000

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


def _where(flt: RunFilter, *, cost_via_index: bool) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if len(flt.statuses) == 1:
        where.append("r.status = ?")
        params.append(flt.statuses[0])
    elif flt.statuses:
        where.append(f"r.status IN ({','.join('?' * len(flt.statuses))})")
        params.extend(flt.statuses)
    if flt.agent_id:
        where.append("r.agent_id = ?")
        params.append(flt.agent_id)
    if flt.agent_version_id:
        where.append("r.agent_version_id = ?")
        params.append(flt.agent_version_id)
    if flt.since_ms is not None:
        where.append("r.started_at >= ?")
        params.append(flt.since_ms)
    if flt.min_cost_usd is not None:
        # The unary plus keeps the planner off the cost index (it would sort every match); the
        # term is still checked on the cost_usd column of whichever index is walked.
        where.append("r.cost_usd >= ?" if cost_via_index else "+r.cost_usd >= ?")
        params.append(flt.min_cost_usd)
    if flt.trigger:
        where.append('r."trigger" = ?')
        params.append(flt.trigger)
    if flt.error_class:
        where.append("r.error_class = ?")
        params.append(flt.error_class)
    if flt.min_duration_ms is not None:
        where.append("r.duration_ns >= ?")
        params.append(int(flt.min_duration_ms * 1_000_000))
    for key, value in flt.tags:
        if key in _TAG_INDEXES:
            # The same expression as the indexes of migration 5 (a literal path), so they apply.
            where.append(f"json_extract(r.tags_json, '$.{key}') = ?")
        else:
            where.append("json_extract(r.tags_json, ?) = ?")
            params.append(_tag_path(key))
        params.append(value)
    if not flt.include_demo:
        where.append("r.is_demo = 0")
    return where, params


def _tag_path(key: str) -> str:
    """A JSON path for any tag key, quoted ($."a.b"), bound as a parameter."""
    return '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


_TAG_INDEXES = {"user": "idx_runs_user", "tenant": "idx_runs_tenant"}


def _metadata_index(flt: RunFilter) -> str | None:
    """The index of a metadata filter, when one names a user, tenant or error class: the walk
    is then one value's runs, newest first."""
    for key, _value in flt.tags:
        if key in _TAG_INDEXES:
            return _TAG_INDEXES[key]
    return "idx_runs_error_class" if flt.error_class else None


def _select_page(
    conn: sqlite3.Connection,
    flt: RunFilter,
    after: RunCursor | None,
    limit: int,
    *,
    index: str | None = None,
) -> list[RunRecord]:
    where, params = _where(flt, cost_via_index=index == "idx_runs_cost")
    if after is not None:
        # A row value: SQLite makes it the range of the index walk (an OR of the two halves
        # would be checked row by row from the newest run down). (started_at, id) is unique,
        # so the row value orders exactly like the ORDER BY below.
        where.append("(r.started_at, r.id) < (?, ?)")
        params.extend([after.started_at, after.id])
    source = f"runs r INDEXED BY {index}" if index else "runs r"
    sql = f"SELECT {RUN_COLUMNS} FROM {source} {RUN_JOINS}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY r.started_at DESC, r.id DESC LIMIT ?"
    params.append(limit)
    return [run_from_row(row) for row in conn.execute(sql, params)]


def _plan_version(conn: sqlite3.Connection, flt: RunFilter) -> tuple[RunFilter, str | None] | None:
    """Filters naming a config version: None when they cannot match; else the filter to run
    and the index to walk.

    A version belongs to one agent, so the agent term is implied. With one status, the
    (agent, status) index is walked and the version checked per row (sparse statuses such as
    running stay tiny); without, the version index is walked, index-only for the cost check.
    """
    row = conn.execute(
        "SELECT agent_id FROM agent_versions WHERE id = ?", (flt.agent_version_id,)
    ).fetchone()
    owner = row[0] if row is not None else None
    if flt.agent_id and owner is not None and flt.agent_id != owner:
        return None
    if len(flt.statuses) == 1 and owner is not None:
        return dataclasses.replace(flt, agent_id=owner), "idx_runs_agent_status"
    return dataclasses.replace(flt, agent_id=None), "idx_runs_version"


def _cost_is_selective(conn: sqlite3.Connection, min_cost: float) -> bool:
    """Fewer than COST_INDEX_CAP runs cost at least min_cost (counted in the index, capped)."""
    row = conn.execute(
        "SELECT count(*) FROM (SELECT 1 FROM runs INDEXED BY idx_runs_cost "
        "WHERE cost_usd >= ? LIMIT ?)",
        (min_cost, COST_INDEX_CAP),
    ).fetchone()
    return int(row[0]) < COST_INDEX_CAP


def _sort_key(run: RunRecord) -> tuple[int, str]:
    return (run.started_at, run.id)


def page(
    conn: sqlite3.Connection, flt: RunFilter, after: RunCursor | None = None, limit: int = 100
) -> list[RunRecord]:
    """One page of runs matching flt, newest first, after the cursor (keyset pagination)."""
    return _page(conn, normalize_filter(flt), after, limit)


def _page(
    conn: sqlite3.Connection, flt: RunFilter, after: RunCursor | None, limit: int
) -> list[RunRecord]:
    if flt.min_cost_usd is not None and _cost_is_selective(conn, flt.min_cost_usd):
        return _select_page(conn, flt, after, limit, index="idx_runs_cost")
    if len(flt.statuses) > 1:
        pages = [
            _page(conn, dataclasses.replace(flt, statuses=(status,)), after, limit)
            for status in flt.statuses
        ]
        merged = heapq.merge(*pages, key=_sort_key, reverse=True)
        return list(itertools.islice(merged, limit))
    index = _metadata_index(flt)
    if flt.agent_version_id and index is None:
        planned = _plan_version(conn, flt)
        if planned is None:
            return []
        flt, index = planned
    return _select_page(conn, flt, after, limit, index=index)


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
        flt, _ = planned  # the planner picks well once the implied agent term is settled
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
