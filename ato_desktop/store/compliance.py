"""The compliance facts of one run as the log holds them (core.compliance words them): its
config version, its tool approvals, and its cloud sync (sent, queued, or why not).

Every read is bounded by the run: its row, its tool actions (a primary-key range), one row of
run_syncs, sync_outbox and sync_config. Retention's setting lives in settings.json: the caller
(which may do file I/O) passes it in.
"""

from __future__ import annotations

import json

from ato_desktop.core.compliance import (
    ApprovalFact,
    ComplianceFacts,
    RetentionFact,
    SyncFact,
    approval_fact,
    redaction_summary,
    sync_state,
)
from ato_desktop.core.records import RunRecord
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.sync_outbox import get_config


def run_compliance(log: ExecutionLog, run: RunRecord, retention: RetentionFact) -> ComplianceFacts:
    """The facts of run (as just read), with the retention fact the caller worked out."""
    conn = log.reader()
    created_at = source = None
    if run.agent_version_id:
        row = conn.execute(
            "SELECT created_at, change_source FROM agent_versions WHERE id = ?",
            (run.agent_version_id,),
        ).fetchone()
        if row is not None:
            created_at, source = int(row[0]), str(row[1])
    approvals: list[ApprovalFact] = []
    for seq, name, meta_json in conn.execute(
        "SELECT seq, name, meta_json FROM actions WHERE run_no = ? AND kind = 'tool' "
        "AND meta_json LIKE '%\"approval\"%' ORDER BY seq",
        (run.run_no,),
    ):
        try:
            meta = json.loads(meta_json) if meta_json else None
        except ValueError:
            meta = None
        fact = approval_fact(int(seq), str(name), meta)
        if fact is not None:
            approvals.append(fact)
    return ComplianceFacts(
        run_id=run.id,
        agent_name=run.agent_name,
        agent_version=run.agent_version,
        version_created_at=created_at,
        version_source=source,
        runtime=run.runtime,
        model=run.model,
        approvals=tuple(approvals),
        sync=_sync_fact(log, run),
        retention=retention,
    )


def queued_for_sync(log: ExecutionLog, run_id: str) -> bool:
    """Whether the run waits in the sync outbox (retention keeps it until it is sent)."""
    row = log.reader().execute("SELECT 1 FROM sync_outbox WHERE run_id = ?", (run_id,)).fetchone()
    return row is not None


def _sync_fact(log: ExecutionLog, run: RunRecord) -> SyncFact:
    conn = log.reader()
    sent = conn.execute(
        "SELECT endpoint, synced_at, include_content, redaction_json FROM run_syncs "
        "WHERE run_id = ?",
        (run.id,),
    ).fetchone()
    queued = conn.execute(
        "SELECT queued_at, attempts, last_error FROM sync_outbox WHERE run_id = ?", (run.id,)
    ).fetchone()
    config = get_config(log)
    state = sync_state(
        is_demo=run.is_demo,
        running=run.status == "running",
        synced=sent is not None,
        queued=queued is not None,
        sync_enabled=config.enabled and bool(config.endpoint),
        agent_chosen=not config.agent_ids or run.agent_id in config.agent_ids,
    )
    if sent is not None and state != "demo":
        try:
            redaction = json.loads(sent[3] or "{}")
        except ValueError:
            redaction = {}
        return SyncFact(
            state,
            endpoint=str(sent[0]) or None,
            at_ms=int(sent[1]),
            include_content=bool(sent[2]),
            redaction=redaction_summary(redaction),
        )
    if queued is not None and state != "demo":
        return SyncFact(
            state,
            endpoint=config.endpoint,
            at_ms=int(queued[0]),
            include_content=config.include_content,
            redaction=redaction_summary(config.redaction.as_dict()),
            attempts=int(queued[1]),
            last_error=queued[2],
        )
    return SyncFact(
        state,
        endpoint=config.endpoint,
        include_content=config.include_content,
        redaction=redaction_summary(config.redaction.as_dict()),
    )
