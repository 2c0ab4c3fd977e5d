"""Evals in the log: suites, runs of suites with their figures, case results, scores on runs
(manual thumbs and the online judge's) and online judge settings.

Functions over an ExecutionLog, like store.mcp_servers: writes go through its writer and
publish EvalSuiteRunChanged / RunScored; reads run on the caller's thread (use `read_async`
from async code). Every read is bounded: suite runs come newest first through an index on
(suite, target, time), (agent, time), (version, time) or (runtime, model, time) with a LIMIT;
case rows are read for one suite run at a time by primary key.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from ato_desktop.core.eval_scoring import (
    CaseOutcome,
    OnlineJudgeSettings,
    RunScore,
    ScoreResult,
    SuiteFigures,
)
from ato_desktop.core.eval_suite import EvalSuite
from ato_desktop.core.events import EvalSuiteRunChanged, RunScored
from ato_desktop.core.ids import uuid7
from ato_desktop.store.eval_scores import DEFAULT_LIMIT, SCORES_WINDOW

# Moved to store.eval_scores (Regressions reads them without this module); still named here.
from ato_desktop.store.eval_scores import model_case_scores as model_case_scores
from ato_desktop.store.eval_scores import version_case_scores as version_case_scores
from ato_desktop.store.execution_log import ExecutionLog, NotFoundError, now_ms
from ato_desktop.store.json_codec import to_json
from ato_desktop.store.writer import Emit

MAX_OUTPUT_CHARS = 4_000  # a case's output as kept in its row (the run has all of it)


@dataclass(frozen=True, slots=True)
class SuiteRecord:
    id: str
    name: str
    path: str | None
    content_hash: str
    case_count: int
    created_at: int
    updated_at: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "path": self.path,
            "content_hash": self.content_hash,
            "case_count": self.case_count,
        }


@dataclass(frozen=True, slots=True)
class NewSuiteRun:
    suite_id: str
    content_hash: str
    runtime: str
    model: str
    target: str  # "@agent" or "runtime · model": the previous-run diff compares like with like
    case_count: int
    bad_line_count: int
    agent_id: str | None = None
    agent_version_id: str | None = None
    swapped: bool = False  # an agent's config on another runtime/model
    # Given by bulk writers (the demo: the same rows for the same seed); now / minted otherwise.
    started_at: int | None = None
    id: str | None = None


@dataclass(frozen=True, slots=True)
class SuiteRunRecord:
    """A run of a suite with its figures (None while it runs). agent_version is the config
    version number of agent_version_id, when the run was against an agent."""

    id: str
    suite_id: str
    suite_name: str
    content_hash: str
    agent_id: str | None
    agent_name: str | None
    agent_version_id: str | None
    agent_version: int | None
    runtime: str
    model: str
    target: str
    status: str
    started_at: int
    ended_at: int | None
    case_count: int
    ran_count: int
    passed_count: int
    error_count: int
    bad_line_count: int
    pass_rate: float | None
    mean_score: float | None
    cost_usd: float | None
    cost_source: str | None
    judge_cost_usd: float | None
    judge_cost_source: str | None
    p50_ms: float | None
    p95_ms: float | None
    details: dict[str, Any]
    swapped: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "suite": self.suite_name,
            "suite_id": self.suite_id,
            "content_hash": self.content_hash,
            "agent_id": self.agent_id,
            "agent": self.agent_name,
            "agent_version_id": self.agent_version_id,
            "agent_version": self.agent_version,
            "runtime": self.runtime,
            "model": self.model,
            "target": self.target,
            "swapped": self.swapped,
            "status": self.status,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "cases": self.case_count,
            "ran": self.ran_count,
            "passed": self.passed_count,
            "errors": self.error_count,
            "bad_lines": self.bad_line_count,
            "pass_rate": self.pass_rate,
            "mean_score": self.mean_score,
            "cost_usd": self.cost_usd,
            "cost_source": self.cost_source,
            "judge_cost_usd": self.judge_cost_usd,
            "judge_cost_source": self.judge_cost_source,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
        }


_RUN_SELECT = """
    SELECT r.*, s.name AS suite_name, a.name AS agent_name, v.version AS agent_version
    FROM eval_suite_runs r
    JOIN eval_suites s ON s.id = r.suite_id
    LEFT JOIN agents a ON a.id = r.agent_id
    LEFT JOIN agent_versions v ON v.id = r.agent_version_id
"""


def _suite_from_row(row: sqlite3.Row) -> SuiteRecord:
    return SuiteRecord(
        row["id"],
        row["name"],
        row["path"],
        row["content_hash"],
        row["case_count"],
        row["created_at"],
        row["updated_at"],
    )


def _run_from_row(row: sqlite3.Row) -> SuiteRunRecord:
    try:
        details = json.loads(row["details_json"] or "{}")
    except ValueError:
        details = {}
    return SuiteRunRecord(
        id=row["id"],
        suite_id=row["suite_id"],
        suite_name=row["suite_name"],
        content_hash=row["content_hash"],
        agent_id=row["agent_id"],
        agent_name=row["agent_name"],
        agent_version_id=row["agent_version_id"],
        agent_version=row["agent_version"],
        runtime=row["runtime"],
        model=row["model"],
        target=row["target"],
        status=row["status"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        case_count=row["case_count"],
        ran_count=row["ran_count"],
        passed_count=row["passed_count"],
        error_count=row["error_count"],
        bad_line_count=row["bad_line_count"],
        pass_rate=row["pass_rate"],
        mean_score=row["mean_score"],
        cost_usd=row["cost_usd"],
        cost_source=row["cost_source"],
        judge_cost_usd=row["judge_cost_usd"],
        judge_cost_source=row["judge_cost_source"],
        p50_ms=row["p50_ms"],
        p95_ms=row["p95_ms"],
        details=details if isinstance(details, dict) else {},
        swapped=bool(row["swapped"]),
    )


# -- suites ------------------------------------------------------------------------------------


def save_suite(
    log: ExecutionLog,
    suite: EvalSuite,
    source_text: str,
    *,
    at_ms: int | None = None,
    is_demo: bool = False,
    suite_id: str | None = None,
) -> Future[SuiteRecord]:
    """Record the suite under its name (any case), keeping its latest text, path and hash.
    at_ms and suite_id are given by bulk writers (the demo); now and a minted id otherwise."""

    def job(conn: sqlite3.Connection, emit: Emit) -> SuiteRecord:
        ts = at_ms if at_ms is not None else now_ms()
        row = conn.execute("SELECT id FROM eval_suites WHERE name = ?", (suite.name,)).fetchone()
        if row is None:
            new_id = suite_id or uuid7(ts)
            conn.execute(
                "INSERT INTO eval_suites (id, name, path, content_hash, source_text, case_count,"
                " created_at, updated_at, is_demo) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new_id,
                    suite.name,
                    suite.path,
                    suite.content_hash,
                    source_text,
                    len(suite.cases),
                    ts,
                    ts,
                    int(is_demo),
                ),
            )
        else:
            new_id = row["id"]
            conn.execute(
                "UPDATE eval_suites SET path = coalesce(?, path), content_hash = ?,"
                " source_text = ?, case_count = ?, updated_at = ? WHERE id = ?",
                (suite.path, suite.content_hash, source_text, len(suite.cases), ts, new_id),
            )
        found = conn.execute("SELECT * FROM eval_suites WHERE id = ?", (new_id,)).fetchone()
        return _suite_from_row(found)

    return log.submit(job)


def get_suite(log: ExecutionLog, name_or_id: str) -> SuiteRecord:
    row = (
        log.reader()
        .execute("SELECT * FROM eval_suites WHERE name = ? OR id = ?", (name_or_id, name_or_id))
        .fetchone()
    )
    if row is None:
        raise NotFoundError(f"No eval suite named {name_or_id!r}. Run one with `ato-desktop eval`.")
    return _suite_from_row(row)


def suite_source(log: ExecutionLog, suite_id: str) -> str:
    """The suite's text as last run (to run it again without its file)."""
    row = (
        log.reader()
        .execute("SELECT source_text FROM eval_suites WHERE id = ?", (suite_id,))
        .fetchone()
    )
    if row is None:
        raise NotFoundError(f"No eval suite with id {suite_id!r}.")
    return str(row[0])


def list_suites(log: ExecutionLog, limit: int = 200) -> list[SuiteRecord]:
    rows = log.reader().execute(
        "SELECT * FROM eval_suites ORDER BY updated_at DESC, id LIMIT ?", (limit,)
    )
    return [_suite_from_row(r) for r in rows]


# -- suite runs --------------------------------------------------------------------------------


def start_suite_run(log: ExecutionLog, new: NewSuiteRun) -> Future[str]:
    def job(conn: sqlite3.Connection, emit: Emit) -> str:
        ts = new.started_at if new.started_at is not None else now_ms()
        run_id = new.id or uuid7(ts)
        conn.execute(
            "INSERT INTO eval_suite_runs (id, suite_id, content_hash, agent_id, agent_version_id,"
            " runtime, model, target, swapped, status, started_at, case_count, bad_line_count)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)",
            (
                run_id,
                new.suite_id,
                new.content_hash,
                new.agent_id,
                new.agent_version_id,
                new.runtime,
                new.model,
                new.target,
                1 if new.swapped else 0,
                ts,
                new.case_count,
                new.bad_line_count,
            ),
        )
        name = conn.execute("SELECT name FROM eval_suites WHERE id = ?", (new.suite_id,))
        emit(EvalSuiteRunChanged(run_id, name.fetchone()[0], new.agent_id, "running"))
        return run_id

    return log.submit(job)


def record_case(log: ExecutionLog, suite_run_id: str, outcome: CaseOutcome) -> Future[None]:
    def job(conn: sqlite3.Connection, emit: Emit) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO eval_case_results (suite_run_id, case_id, line_no, run_id,"
            " status, score, passed, scores_json, output, error, cost_usd, cost_source,"
            " judge_cost_usd, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                suite_run_id,
                outcome.case_id,
                outcome.line_no,
                outcome.run_id,
                outcome.status,
                outcome.score,
                1 if outcome.passed else 0,
                to_json([s.as_dict() for s in outcome.scores]),
                outcome.output[:MAX_OUTPUT_CHARS],
                outcome.error,
                outcome.cost_usd,
                outcome.cost_source,
                outcome.judge_cost_usd,
                outcome.duration_ms,
            ),
        )

    return log.submit(job)


def finish_suite_run(
    log: ExecutionLog,
    suite_run_id: str,
    status: str,
    figures: SuiteFigures,
    details: dict[str, Any],
    *,
    ended_at: int | None = None,
) -> Future[None]:
    def job(conn: sqlite3.Connection, emit: Emit) -> None:
        conn.execute(
            "UPDATE eval_suite_runs SET status = ?, ended_at = ?, ran_count = ?, passed_count = ?,"
            " error_count = ?, pass_rate = ?, mean_score = ?, cost_usd = ?, cost_source = ?,"
            " judge_cost_usd = ?, judge_cost_source = ?, p50_ms = ?, p95_ms = ?,"
            " details_json = ? WHERE id = ?",
            (
                status,
                ended_at if ended_at is not None else now_ms(),
                figures.ran,
                figures.passed,
                figures.errors,
                figures.pass_rate,
                figures.mean_score,
                figures.cost_usd,
                figures.cost_source,
                figures.judge_cost_usd,
                figures.judge_cost_source,
                figures.p50_ms,
                figures.p95_ms,
                to_json(details) or "{}",
                suite_run_id,
            ),
        )
        row = conn.execute(
            "SELECT s.name, r.agent_id FROM eval_suite_runs r JOIN eval_suites s"
            " ON s.id = r.suite_id WHERE r.id = ?",
            (suite_run_id,),
        ).fetchone()
        if row is not None:
            emit(EvalSuiteRunChanged(suite_run_id, row[0], row[1], status))

    return log.submit(job)


def get_suite_run(log: ExecutionLog, suite_run_id: str) -> SuiteRunRecord:
    row = log.reader().execute(f"{_RUN_SELECT} WHERE r.id = ?", (suite_run_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"No eval run with id {suite_run_id!r}.")
    return _run_from_row(row)


def suite_runs(
    log: ExecutionLog,
    *,
    suite_id: str | None = None,
    agent_id: str | None = None,
    limit: int = DEFAULT_LIMIT,
    before_ms: int | None = None,
) -> list[SuiteRunRecord]:
    """Runs of suites, newest first: of one suite, of one agent, or all; page with before_ms."""
    where: list[str] = ["1 = 1"]
    args: list[Any] = []
    if suite_id is not None:
        where.append("r.suite_id = ?")
        args.append(suite_id)
    if agent_id is not None:
        where.append("r.agent_id = ?")
        args.append(agent_id)
    if before_ms is not None:
        where.append("r.started_at < ?")
        args.append(before_ms)
    rows = log.reader().execute(
        f"{_RUN_SELECT} WHERE {' AND '.join(where)} ORDER BY r.started_at DESC, r.id DESC LIMIT ?",
        (*args, limit),
    )
    return [_run_from_row(r) for r in rows]


def previous_suite_run(
    log: ExecutionLog, suite_id: str, target: str, before_ms: int, exclude_id: str
) -> SuiteRunRecord | None:
    """The newest finished run of the suite against the same target, started before before_ms."""
    row = (
        log.reader()
        .execute(
            f"{_RUN_SELECT} WHERE r.suite_id = ? AND r.target = ? AND r.started_at <= ?"
            " AND r.id != ? AND r.status IN ('completed', 'cancelled')"
            " ORDER BY r.started_at DESC, r.id DESC LIMIT 1",
            (suite_id, target, before_ms, exclude_id),
        )
        .fetchone()
    )
    return None if row is None else _run_from_row(row)


def case_results(log: ExecutionLog, suite_run_id: str) -> list[CaseOutcome]:
    """A suite run's case results, in the suite's line order."""
    rows = log.reader().execute(
        "SELECT * FROM eval_case_results WHERE suite_run_id = ?", (suite_run_id,)
    )
    out = [_case_from_row(r) for r in rows]
    out.sort(key=lambda o: (o.line_no, o.case_id))
    return out


def _case_from_row(row: sqlite3.Row) -> CaseOutcome:
    try:
        scores = json.loads(row["scores_json"] or "[]")
    except ValueError:
        scores = []
    return CaseOutcome(
        case_id=row["case_id"],
        line_no=row["line_no"],
        run_id=row["run_id"],
        status=row["status"],
        score=float(row["score"]),
        passed=bool(row["passed"]),
        scores=tuple(ScoreResult.from_dict(s) for s in scores if isinstance(s, dict)),
        output=row["output"] or "",
        error=row["error"],
        cost_usd=row["cost_usd"],
        cost_source=row["cost_source"],
        duration_ms=row["duration_ms"],
    )


def latest_agent_suite_runs(
    log: ExecutionLog, agent_id: str, *, by: str = "suite", window: int = SCORES_WINDOW
) -> list[SuiteRunRecord]:
    """An agent's newest completed run per suite (by="suite"), per suite and config version
    (by="version"), or per suite, runtime and model (by="model"); from its newest `window`
    suite runs (one index range). Runs of the agent's config on another runtime/model
    (candidates) count only by model: they do not speak for the agent as configured."""
    if by not in ("suite", "version", "model"):
        raise ValueError("by is suite, version or model")

    def key(r: SuiteRunRecord) -> tuple[Any, ...]:
        if by == "version":
            return (r.suite_id, r.agent_version_id)
        if by == "model":
            return (r.suite_id, r.runtime, r.model)
        return (r.suite_id,)

    rows = log.reader().execute(
        f"{_RUN_SELECT} WHERE r.agent_id = ? AND r.status = 'completed'"
        " ORDER BY r.started_at DESC, r.id DESC LIMIT ?",
        (agent_id, window),
    )
    seen: set[tuple[Any, ...]] = set()
    out: list[SuiteRunRecord] = []
    for row in rows:
        record = _run_from_row(row)
        if record.swapped and by != "model":
            continue
        k = key(record)
        if k not in seen:
            seen.add(k)
            out.append(record)
    return out


def latest_model_suite_runs(
    log: ExecutionLog, runtime: str, model: str, *, window: int = SCORES_WINDOW
) -> list[SuiteRunRecord]:
    """The newest completed run per suite and target on a runtime + model (any agent or none)."""
    rows = log.reader().execute(
        f"{_RUN_SELECT} WHERE r.runtime = ? AND r.model = ? AND r.status = 'completed'"
        " ORDER BY r.started_at DESC, r.id DESC LIMIT ?",
        (runtime, model, window),
    )
    seen: set[tuple[str, str]] = set()
    out: list[SuiteRunRecord] = []
    for row in rows:
        record = _run_from_row(row)
        if (record.suite_id, record.target) not in seen:
            seen.add((record.suite_id, record.target))
            out.append(record)
    return out


# -- scores on runs (manual, online judge) ------------------------------------------------------


def set_run_score(
    log: ExecutionLog,
    run_id: str,
    source: str,
    score: float,
    passed: bool,
    note: str = "",
    judge_run_id: str | None = None,
) -> Future[RunScore]:
    """Record (or replace) the run's score from this source; NotFoundError for no such run."""
    if source not in ("manual", "judge"):
        raise ValueError("source is manual or judge")
    if not 0 <= score <= 1:
        raise ValueError("a score is between 0 and 1")

    def job(conn: sqlite3.Connection, emit: Emit) -> RunScore:
        run = conn.execute(
            "SELECT agent_id, agent_version_id FROM runs WHERE id = ?", (run_id,)
        ).fetchone()
        if run is None:
            raise NotFoundError(f"No run with id {run_id!r}.")
        ts = now_ms()
        conn.execute(
            "INSERT OR REPLACE INTO run_scores (run_id, source, score, passed, note, judge_run_id,"
            " agent_id, agent_version_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, source, score, 1 if passed else 0, note, judge_run_id, run[0], run[1], ts),
        )
        emit(RunScored(run_id, source, run[0]))
        return RunScore(run_id, source, score, passed, note, judge_run_id, ts)

    return log.submit(job)


def clear_run_score(log: ExecutionLog, run_id: str, source: str = "manual") -> Future[bool]:
    def job(conn: sqlite3.Connection, emit: Emit) -> bool:
        row = conn.execute("SELECT agent_id FROM runs WHERE id = ?", (run_id,)).fetchone()
        gone = conn.execute(
            "DELETE FROM run_scores WHERE run_id = ? AND source = ?", (run_id, source)
        ).rowcount
        if gone:
            emit(RunScored(run_id, source, row[0] if row else None))
        return bool(gone)

    return log.submit(job)


def _score_from_row(row: sqlite3.Row) -> RunScore:
    return RunScore(
        row["run_id"],
        row["source"],
        float(row["score"]),
        bool(row["passed"]),
        row["note"] or "",
        row["judge_run_id"],
        row["created_at"],
    )


def run_scores(log: ExecutionLog, run_id: str) -> list[RunScore]:
    """The run's scores: manual first, then the judge's."""
    rows = log.reader().execute(
        "SELECT * FROM run_scores WHERE run_id = ? ORDER BY source DESC", (run_id,)
    )
    return [_score_from_row(r) for r in rows]


def agent_run_scores(
    log: ExecutionLog,
    agent_id: str,
    source: str,
    *,
    since_ms: int | None = None,
    limit: int = 1_000,
) -> list[RunScore]:
    """An agent's newest scores from one source (one index range, bounded)."""
    rows = log.reader().execute(
        "SELECT * FROM run_scores WHERE agent_id = ? AND source = ? AND created_at >= ?"
        " ORDER BY created_at DESC LIMIT ?",
        (agent_id, source, since_ms or 0, limit),
    )
    return [_score_from_row(r) for r in rows]


def scores_for_runs(log: ExecutionLog, run_ids: Sequence[str]) -> dict[str, list[RunScore]]:
    """Scores of many runs at once (a page of the Runs list), by run id."""
    out: dict[str, list[RunScore]] = {}
    conn = log.reader()
    ids = list(run_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        for row in conn.execute(f"SELECT * FROM run_scores WHERE run_id IN ({marks})", chunk):
            out.setdefault(row["run_id"], []).append(_score_from_row(row))
    return out


# -- online judges -----------------------------------------------------------------------------


def _judge_from_row(row: sqlite3.Row) -> OnlineJudgeSettings:
    return OnlineJudgeSettings(
        agent_id=row["agent_id"],
        rubric=row["rubric"],
        sample_percent=float(row["sample_percent"]),
        judge_agent=row["judge_agent"],
        judge_runtime=row["judge_runtime"],
        judge_model=row["judge_model"],
        judge_base_url=row["judge_base_url"],
        max_score=int(row["max_score"]),
        pass_score=float(row["pass_score"]),
        seed=row["seed"],
        enabled=bool(row["enabled"]),
        updated_at=row["updated_at"],
    )


def set_online_judge(log: ExecutionLog, settings: OnlineJudgeSettings) -> Future[None]:
    problems = settings.problems()
    if problems:
        raise ValueError("; ".join(problems))

    def job(conn: sqlite3.Connection, emit: Emit) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO online_judges (agent_id, enabled, sample_percent, rubric,"
            " judge_agent, judge_runtime, judge_model, judge_base_url, max_score, pass_score,"
            " seed, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                settings.agent_id,
                1 if settings.enabled else 0,
                settings.sample_percent,
                settings.rubric,
                settings.judge_agent,
                settings.judge_runtime,
                settings.judge_model,
                settings.judge_base_url,
                settings.max_score,
                settings.pass_score,
                settings.seed,
                now_ms(),
            ),
        )

    return log.submit(job)


def remove_online_judge(log: ExecutionLog, agent_id: str) -> Future[bool]:
    def job(conn: sqlite3.Connection, emit: Emit) -> bool:
        return bool(
            conn.execute("DELETE FROM online_judges WHERE agent_id = ?", (agent_id,)).rowcount
        )

    return log.submit(job)


def get_online_judge(log: ExecutionLog, agent_id: str) -> OnlineJudgeSettings | None:
    row = (
        log.reader()
        .execute("SELECT * FROM online_judges WHERE agent_id = ?", (agent_id,))
        .fetchone()
    )
    return None if row is None else _judge_from_row(row)


def list_online_judges(log: ExecutionLog) -> list[OnlineJudgeSettings]:
    rows = log.reader().execute("SELECT * FROM online_judges ORDER BY agent_id")
    return [_judge_from_row(r) for r in rows]
