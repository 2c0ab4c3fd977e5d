"""Reads behind Compare's groups: a group's runs, and their actions without payloads.

Both are bounded on a log of any size. A group is one agent's (or one config version's) newest
runs, walked in that agent's (version's) time-ordered index; runtime and model, which no index
covers, are checked per row inside a walk of at most `scan_cap` index entries.

A group of 500 runs can hold tens of thousands of actions, and a tool loop's model calls carry
the whole conversation in their inputs: reading and decoding those payloads would cost far more
than the figures wanted, so action_facts leaves inputs, outputs, meta and error messages out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from ato_desktop.core.log_records import RunRecord
from ato_desktop.core.regressions import CHANGE_SIDE_LEFT_OUT_TRIGGERS, CHANGE_SIDE_STATUSES
from ato_desktop.core.vocabulary import RunStatus
from ato_desktop.store.execution_log import ExecutionLog, _action_from_row
from ato_desktop.store.run_listing import RUN_COLUMNS, RUN_JOINS, run_from_row

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:
    from typing import Any

    from ato_desktop.core.action_records import ActionRecord

# Run numbers per query: well under SQLite's limit on bound parameters.
_CHUNK = 500

_FACT_COLUMNS = """
    run_no, seq, parent_seq, name, kind, outcome, input_tokens, output_tokens,
    cache_read_tokens, cache_write_tokens, reasoning_tokens, tokens_estimated, ttft_ns,
    duration_ns, cost_usd, cost_source, started_at, ended_at, error_class,
    NULL AS inputs_json, NULL AS outputs_json, NULL AS meta_json, NULL AS error_message
"""


def action_facts(
    log: ExecutionLog, runs: Sequence[RunRecord], *, max_actions: int = 100_000
) -> dict[str, list[ActionRecord]]:
    """run id -> its actions in order, payloads left out (inputs, outputs, meta and
    error_message are None).

    Runs are taken in the order given while their recorded action counts add up to at most
    max_actions (the run aggregates say how many there are, so the bound holds before
    reading); runs beyond that are missing from the result. Reads go through the actions
    primary key (run_no, seq).
    """
    chosen: list[RunRecord] = []
    budget = max_actions
    for run in runs:
        if run.action_count > budget:
            break
        budget -= run.action_count
        chosen.append(run)
    ids = {run.run_no: run.id for run in chosen}
    result: dict[str, list[ActionRecord]] = {run.id: [] for run in chosen}
    numbers = [run.run_no for run in chosen if run.action_count > 0]
    conn = log.reader()
    for start in range(0, len(numbers), _CHUNK):
        chunk = numbers[start : start + _CHUNK]
        rows = conn.execute(
            f"SELECT {_FACT_COLUMNS} FROM actions "
            f"WHERE run_no IN ({','.join('?' * len(chunk))}) ORDER BY run_no, seq",
            chunk,
        )
        for row in rows:
            run_id = ids[row["run_no"]]
            result[run_id].append(_action_from_row(run_id, row))
    return result


@dataclass(frozen=True, slots=True)
class GroupRuns:
    """A group's runs, newest first, and whether the walk stopped early."""

    runs: tuple[RunRecord, ...]
    limited: bool  # there were more matching runs than the limit
    capped: bool  # fewer than limit found in the scan_cap runs walked, and older runs exist


def group_runs(
    log: ExecutionLog,
    *,
    agent_id: str,
    version_id: str | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
    runtime: str | None = None,
    model: str | None = None,
    limit: int = 500,
    scan_cap: int = 50_000,
    change_side: bool = False,
) -> GroupRuns:
    """The newest finished runs of an agent (or one of its config versions) that started in
    [since_ms, until_ms) on runtime / model, at most limit of them.

    Without runtime or model, the walk is an index range that stops after limit + 1 rows. With
    them, it covers the agent's scan_cap newest runs in the time range (its floor, the next
    older run, is found index-only), and runtime and model are checked per row: 50,000 rows
    take about 70 ms on a 1M-run log.

    change_side: only the runs one side of a config change counts (core.regressions: production
    runs that completed or failed), checked per row on the same index walk, so the newest
    `limit` of those are read, as Regressions and Compare both count them.
    """
    if limit <= 0:
        return GroupRuns((), False, False)
    params: list[Any]
    if version_id is not None:
        index, where, params = "idx_runs_version", ["r.agent_version_id = ?"], [version_id]
    else:
        index, where, params = "idx_runs_agent", ["r.agent_id = ?"], [agent_id]
    if since_ms is not None:
        where.append("r.started_at >= ?")
        params.append(since_ms)
    if until_ms is not None:
        where.append("r.started_at < ?")
        params.append(until_ms)
    conn = log.reader()
    floor = None
    if runtime is not None or model is not None:
        floor = conn.execute(
            f"SELECT r.started_at, r.id FROM runs r INDEXED BY {index} "
            f"WHERE {' AND '.join(where)} ORDER BY r.started_at DESC, r.id DESC "
            "LIMIT 1 OFFSET ?",
            [*params, scan_cap],
        ).fetchone()
    checks: list[str] = [f"r.status <> '{RunStatus.RUNNING.value}'"]
    check_params: list[Any] = []
    if change_side:
        side_check, side_params = _change_side_check()
        checks = [side_check]
        check_params.extend(side_params)
    if floor is not None:
        checks.append("(r.started_at, r.id) > (?, ?)")
        check_params.extend(floor)
    if runtime is not None:
        checks.append("r.runtime = ?")
        check_params.append(runtime)
    if model is not None:
        checks.append("r.model = ?")
        check_params.append(model)
    rows = conn.execute(
        f"SELECT {RUN_COLUMNS} FROM runs r INDEXED BY {index} {RUN_JOINS} "
        f"WHERE {' AND '.join(where + checks)} ORDER BY r.started_at DESC, r.id DESC LIMIT ?",
        [*params, *check_params, limit + 1],
    ).fetchall()
    runs = tuple(run_from_row(row) for row in rows[:limit])
    limited = len(rows) > limit
    return GroupRuns(runs, limited, capped=floor is not None and not limited)


def first_call_messages(log: ExecutionLog, run_id: str) -> list[Any] | None:
    """The messages sent in the run's first model call (call_llm or call_agent), or None when
    it made none or they cannot be read."""
    row = (
        log.reader()
        .execute(
            "SELECT json_extract(ac.inputs_json, '$.messages') FROM actions ac "
            "JOIN runs r ON r.run_no = ac.run_no WHERE r.id = ? "
            "AND ac.name IN ('call_llm', 'call_agent') ORDER BY ac.seq LIMIT 1",
            (run_id,),
        )
        .fetchone()
    )
    if row is None or not row[0]:
        return None
    try:
        messages = json.loads(row[0])
    except (TypeError, ValueError):
        return None
    return messages if isinstance(messages, list) else None


# (id, status, duration_ns, cost_usd, cost_source) of one run: what judging a change reads of
# it (and, for a regression's examples, which runs to read whole).
RunFacts = tuple[str, str, int | None, float | None, str | None]


def change_side_facts(
    log: ExecutionLog, version_id: str, limit: int
) -> tuple[list[RunFacts], bool]:
    """The runs group_runs(version_id=..., change_side=True, limit=limit) reads, newest first, as
    RunFacts alone (no RunRecord built, no agent joined: Regressions judges every change of
    every agent from these), and whether the version had more such runs than limit."""
    if limit <= 0:
        return [], False
    side_check, side_params = _change_side_check()
    cursor = log.reader().cursor()
    cursor.row_factory = None  # plain tuples: the RunFacts themselves, no Row made per run
    rows: list[RunFacts] = cursor.execute(
        "SELECT r.id, r.status, r.duration_ns, r.cost_usd, r.cost_source "
        "FROM runs r INDEXED BY idx_runs_version "
        f"WHERE r.agent_version_id = ? AND {side_check} "
        "ORDER BY r.started_at DESC, r.id DESC LIMIT ?",
        [version_id, *side_params, limit + 1],
    ).fetchall()
    return rows[:limit], len(rows) > limit


def _change_side_check() -> tuple[str, list[Any]]:
    """The WHERE term of a change side's runs (core.regressions: production runs that completed
    or failed), and its parameters. One term in place of the running check (it implies it):
    every extra WHERE term makes SQLite's planner expect fewer rows, and on a small log's
    statistics it then chose to sort instead of walking the index in order."""
    statuses = ", ".join("?" for _ in CHANGE_SIDE_STATUSES)
    triggers = ", ".join("?" for _ in CHANGE_SIDE_LEFT_OUT_TRIGGERS)
    term = (
        f'(CASE WHEN r.status IN ({statuses}) AND r."trigger" NOT IN ({triggers}) '
        "THEN 1 ELSE 0 END) = 1"
    )
    return term, [*CHANGE_SIDE_STATUSES, *CHANGE_SIDE_LEFT_OUT_TRIGGERS]
