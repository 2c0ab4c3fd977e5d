"""What applied to a run, for the inspector's compliance section: the agent config version it
ran with, who approved its tool calls and when, the redaction of what left the machine, whether,
where and when cloud sync sent it, and when retention will archive it.

Pure: the facts are read by store.compliance (and the retention setting by the engine); the
rules here decide the states the UI words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ato_desktop.core.coerce import as_int
from ato_desktop.core.pii import PiiRules

DAY_MS = 86_400_000

# Where an approval came from (engine.approvals.ApprovalDecision.by).
APPROVAL_BY_TEXT = {
    "user": "you, in the app",
    "cli": "the command line (a flag or its prompt)",
    "policy": "a policy",
}

# Sync states of one run.
SYNCED = "synced"  # the endpoint took it (run_syncs)
QUEUED = "queued"  # in the outbox, waiting or retrying
SYNC_OFF = "off"  # cloud sync is off
NOT_CHOSEN = "not_chosen"  # sync is on for other agents only
NOT_QUEUED = "not_queued"  # sync is on, but this run ended before (no backfill took it)
PENDING_END = "pending_end"  # running: queued when it ends (sync is on for it)
DEMO = "demo"  # demo runs never leave the machine

# Retention states of one run.
RETENTION_OFF = "off"
RETENTION_LATER = "later"  # archived at the first daily pass after due_at
RETENTION_DUE = "due"  # the next daily pass archives it
RETENTION_HELD = "held"  # due, but kept while it waits for sync or runs
RETENTION_UNKNOWN = "unknown"  # settings.json cannot be read


@dataclass(frozen=True, slots=True)
class ApprovalFact:
    """One tool call that needed the user's yes or no."""

    seq: int
    tool: str  # "<server>/<tool>" (or the tool's name)
    decision: str  # approved | denied | requested (never answered: the run ended first)
    by: str | None = None  # user | cli | policy; None in runs recorded before this was kept
    account: str | None = None  # the OS account of the process that recorded it
    requested_at: int | None = None
    decided_at: int | None = None


@dataclass(frozen=True, slots=True)
class SyncFact:
    """Whether cloud sync sent the run, and how."""

    state: str
    endpoint: str | None = None
    at_ms: int | None = None  # sent (synced) or queued (queued)
    include_content: bool = False
    redaction: tuple[str, ...] = ()  # rule names, then "N custom patterns"
    attempts: int = 0
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class RetentionFact:
    state: str
    days: int | None = None
    due_at_ms: int | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ComplianceFacts:
    """Everything the compliance section shows about one run."""

    run_id: str
    agent_name: str | None
    agent_version: int | None
    version_created_at: int | None
    version_source: str | None
    runtime: str
    model: str
    approvals: tuple[ApprovalFact, ...]
    sync: SyncFact
    retention: RetentionFact


def approval_fact(seq: int, name: str, meta: Any) -> ApprovalFact | None:
    """The approval a tool action's meta records, or None when it needed none."""
    if not isinstance(meta, dict) or not meta.get("approval"):
        return None
    server = meta.get("server")
    tool = f"{server}/{name}" if isinstance(server, str) and server else name
    by = meta.get("approval_by")
    account = meta.get("approval_account")
    return ApprovalFact(
        seq=seq,
        tool=tool,
        decision=str(meta["approval"]),
        by=str(by) if by else None,
        account=str(account) if account else None,
        requested_at=as_int(meta.get("approval_requested_at")),
        decided_at=as_int(meta.get("approval_decided_at")),
    )


def redaction_summary(redaction: Any) -> tuple[str, ...]:
    """The PII rules a sync applied, from the settings as stored (core.pii.PiiRules.as_dict):
    the built-in rule names, then "N custom patterns"."""
    rules = PiiRules.from_dict(redaction)
    names = list(rules.builtin)
    if rules.custom:
        count = len(rules.custom)
        names.append(f"{count} custom pattern{'s' if count != 1 else ''}")
    return tuple(names)


def sync_state(
    *,
    is_demo: bool,
    running: bool,
    synced: bool,
    queued: bool,
    sync_enabled: bool,
    agent_chosen: bool,
) -> str:
    """Which sync state a run is in (the first that applies)."""
    if is_demo:
        return DEMO
    if synced:
        return SYNCED
    if queued:
        return QUEUED
    if not sync_enabled:
        return SYNC_OFF
    if not agent_chosen:
        return NOT_CHOSEN
    return PENDING_END if running else NOT_QUEUED


def retention_fact(
    started_at: int,
    days: int | None,
    now_ms: int,
    *,
    running: bool = False,
    queued: bool = False,
    error: str | None = None,
) -> RetentionFact:
    """When the retention setting archives a run that started at started_at (runs older than
    `days` go at the daily pass; running runs and runs waiting for sync are held back)."""
    if error is not None:
        return RetentionFact(RETENTION_UNKNOWN, error=error)
    if days is None:
        return RetentionFact(RETENTION_OFF)
    due = started_at + days * DAY_MS
    if due > now_ms:
        return RetentionFact(RETENTION_LATER, days, due)
    if running or queued:
        return RetentionFact(RETENTION_HELD, days, due)
    return RetentionFact(RETENTION_DUE, days, due)
