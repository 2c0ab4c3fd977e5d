"""What a running run's progress bar needs from the log (core.live_progress decides): the planned
stages of a pipeline or skill flow run and how many ended, a stage run's place in its pipeline,
the tool calls made against the agent's ceiling, and the agent's typical duration (the median of
its recent completed runs).

Every read is bounded: the run's children (idx_runs_parent), its tool actions (a primary-key
range), one definition version, and TYPICAL_SAMPLE rows of idx_runs_agent_status.
"""

from __future__ import annotations

import json
from typing import Any

from ato_desktop.core.automations import GroupMode, GroupSpec, SkillSpec
from ato_desktop.core.coerce import as_int
from ato_desktop.core.live_progress import TYPICAL_SAMPLE, ProgressFacts, typical_ms
from ato_desktop.core.records import RunRecord
from ato_desktop.store.automations import _version_spec
from ato_desktop.store.execution_log import ExecutionLog, NotFoundError

_ENDED = ("completed", "failed", "killed", "interrupted")


def typical_duration_ms(log: ExecutionLog, agent_id: str) -> tuple[int | None, int]:
    """(median duration in ms, how many runs) of the agent's newest TYPICAL_SAMPLE completed
    runs: one range of idx_runs_agent_status, newest first."""
    rows = (
        log.reader()
        .execute(
            "SELECT r.duration_ns FROM runs r INDEXED BY idx_runs_agent_status "
            "WHERE r.agent_id = ? AND r.status = 'completed' "
            "ORDER BY r.started_at DESC, r.id DESC LIMIT ?",
            (agent_id, TYPICAL_SAMPLE),
        )
        .fetchall()
    )
    durations = [int(row[0]) // 1_000_000 for row in rows if row[0] is not None]
    return typical_ms(durations), len(durations)


def _planned(log: ExecutionLog, run: RunRecord) -> tuple[int | None, bool]:
    """(planned stage count, whether they are a skill flow's steps) of a pipeline parent run,
    from the definition version it runs; None when not known (routed or parallel groups)."""
    version = as_int(run.tags.get("pipeline.version"))
    if run.pipeline_id is None or version is None:
        return None, False
    spec = _version_spec(log.reader(), run.pipeline_id, version)
    if isinstance(spec, GroupSpec) and spec.mode is GroupMode.SEQUENTIAL:
        return len(spec.stages), False
    if isinstance(spec, SkillSpec):
        return len(spec.steps), True
    return None, False


def _tool_ceiling(log: ExecutionLog, version_id: str | None) -> int | None:
    if version_id is None:
        return None
    row = (
        log.reader()
        .execute("SELECT config_json FROM agent_versions WHERE id = ?", (version_id,))
        .fetchone()
    )
    try:
        config: Any = json.loads(row[0]) if row is not None else None
    except ValueError:
        return None
    ceiling = as_int(config.get("max_tool_calls")) if isinstance(config, dict) else None
    return ceiling if ceiling is not None and ceiling > 0 else None


def progress_facts(log: ExecutionLog, run: RunRecord) -> ProgressFacts:
    """The progress facts of a running run (as just read)."""
    conn = log.reader()
    stages_total: int | None = None
    steps = False
    stages_done = 0
    stage_name: str | None = None
    of_pipeline: tuple[int, int | None, str] | None = None
    if run.pipeline_id is not None and run.stage_index is None:  # a pipeline's parent run
        stages_total, steps = _planned(log, run)
        if stages_total:
            marks = ",".join("?" * len(_ENDED))
            stages_done = int(
                conn.execute(
                    "SELECT count(DISTINCT stage_index) FROM runs WHERE parent_run_id = ? "
                    f"AND stage_index IS NOT NULL AND status IN ({marks})",
                    (run.id, *_ENDED),
                ).fetchone()[0]
            )
            row = conn.execute(
                "SELECT stage_name FROM runs WHERE parent_run_id = ? AND status = 'running' "
                "AND stage_index IS NOT NULL ORDER BY started_at DESC LIMIT 1",
                (run.id,),
            ).fetchone()
            stage_name = row[0] if row is not None else None
    elif run.stage_index is not None and run.parent_run_id:  # a stage of a pipeline
        try:
            parent = log.get_run(run.parent_run_id)
        except NotFoundError:  # archived or deleted meanwhile: the stage still runs
            parent = None
        if parent is not None:
            total, _steps = _planned(log, parent)
            of_pipeline = (run.stage_index, total, parent.model)  # a parent's model: its name
    tool_calls = int(
        conn.execute(
            "SELECT count(*) FROM actions WHERE run_no = ? AND kind = 'tool'", (run.run_no,)
        ).fetchone()[0]
    )
    typical: int | None = None
    sample = 0
    if run.agent_id is not None and stages_total is None:
        typical, sample = typical_duration_ms(log, run.agent_id)
    return ProgressFacts(
        stages_total=stages_total,
        stages_done=stages_done,
        stage_name=stage_name,
        steps=steps,
        of_pipeline=of_pipeline,
        tool_calls=tool_calls,
        tool_ceiling=_tool_ceiling(log, run.agent_version_id),
        typical_ms=typical,
        typical_runs=sample,
    )
