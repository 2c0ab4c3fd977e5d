"""The inspector's compliance section in words: one line per thing that applied to the run
(config version, tool approvals, redaction, cloud sync, retention), from core.compliance facts."""

from __future__ import annotations

from datetime import datetime

from ato_desktop.core import compliance as c
from ato_desktop.core.timefmt import human_duration
from ato_desktop.ui.runs.formatting import local_time, plural

# How a config version came to be (agent_versions.change_source).
SOURCE_TEXT = {
    "ui": "edited in the app",
    "cli": "set from the command line",
    "file": "its prompt file changed",
}
SECRETS_TEXT = "API keys are scrubbed from error text, logs and exports (always on)"


def approval_text(fact: c.ApprovalFact) -> str:
    """'approved by you, in the app (alice) at Today 12:03:11, 8 s after it was asked'."""
    verdict = {"approved": "approved", "denied": "denied", "requested": "never answered"}.get(
        fact.decision, fact.decision
    )
    if fact.decision == "requested":
        return f"{verdict} (the run ended while it waited)"
    if fact.by is None and fact.decided_at is None:
        return f"{verdict} (who and when were not recorded for this run)"
    text = verdict
    if fact.by is not None:
        text += f" by {c.APPROVAL_BY_TEXT.get(fact.by, fact.by)}"
        if fact.account:
            text += f" ({fact.account})"
    if fact.decided_at is not None:
        text += f" at {local_time(fact.decided_at)}"
        if fact.requested_at is not None and fact.decided_at >= fact.requested_at:
            wait = human_duration((fact.decided_at - fact.requested_at) * 1_000_000)
            text += f", {wait} after it was asked"
    return text


def config_line(facts: c.ComplianceFacts) -> str:
    if facts.agent_name is None and facts.agent_version is None:
        return f"No agent: {facts.runtime} · {facts.model} given directly"
    name = facts.agent_name or "a deleted agent"
    text = f"{name} v{facts.agent_version}" if facts.agent_version is not None else name
    if facts.version_created_at is not None:
        text += f", the version of {local_time(facts.version_created_at)}"
    if facts.version_source:
        text += f" ({SOURCE_TEXT.get(facts.version_source, facts.version_source)})"
    return text


def approvals_line(facts: c.ComplianceFacts) -> str:
    if not facts.approvals:
        return "No tool call needed approval"
    return "; ".join(f"#{a.seq} {a.tool}: {approval_text(a)}" for a in facts.approvals)


def redaction_line(facts: c.ComplianceFacts) -> str:
    sync = facts.sync
    if sync.state in (c.SYNCED, c.QUEUED):
        if not sync.include_content:
            sent = "only timings, tokens and cost are sent (no prompts or outputs)"
        elif sync.redaction:
            sent = f"prompts and outputs are sent with PII redaction: {', '.join(sync.redaction)}"
        else:
            sent = "prompts and outputs are sent without PII redaction"
        return f"{SECRETS_TEXT}; to the sync endpoint {sent}"
    return SECRETS_TEXT


def sync_line(facts: c.ComplianceFacts) -> str:
    sync = facts.sync
    where = sync.endpoint or "the endpoint"
    if sync.state == c.SYNCED:
        return f"Sent to {where} at {local_time(sync.at_ms)}"
    if sync.state == c.QUEUED:
        text = f"Queued for {where} since {local_time(sync.at_ms)}"
        if sync.attempts:
            text += f"; {plural(sync.attempts, 'attempt')} so far"
        if sync.last_error:
            text += f" (last error: {sync.last_error[:120]})"
        return text
    return {
        c.DEMO: "Not sent: demo runs never leave this machine",
        c.SYNC_OFF: "Not sent: cloud sync is off; nothing of this run left this machine",
        c.NOT_CHOSEN: "Not sent: cloud sync covers other agents only",
        c.NOT_QUEUED: "Not sent: it ended before cloud sync was turned on (only runs that "
        "end while it is on are sent)",
        c.PENDING_END: f"Goes to {where} when it ends",
    }.get(sync.state, "Not sent")


def _date(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000).strftime("%Y-%m-%d")


def retention_line(facts: c.ComplianceFacts) -> str:
    r = facts.retention
    if r.state == c.RETENTION_OFF:
        return "Kept: retention is off (Settings → Retention)"
    if r.state == c.RETENTION_UNKNOWN:
        return f"Unknown: {r.error}"
    assert r.days is not None and r.due_at_ms is not None
    if r.state == c.RETENTION_LATER:
        return (
            f"Archived after {_date(r.due_at_ms)} ({r.days}-day retention), at the first daily "
            "pass from then"
        )
    if r.state == c.RETENTION_HELD:
        return f"Past its {r.days} days, kept while it runs or waits for sync"
    return f"Past its {r.days} days: the next daily pass archives it"


def compliance_rows(facts: c.ComplianceFacts) -> list[tuple[str, str]]:
    """(caption, text) for each line of the section, in order."""
    return [
        ("Config", config_line(facts)),
        ("Approvals", approvals_line(facts)),
        ("Redaction", redaction_line(facts)),
        ("Sync", sync_line(facts)),
        ("Retention", retention_line(facts)),
    ]


def compliance_summary(facts: c.ComplianceFacts) -> str:
    """One short line for the collapsed section."""
    parts = []
    if facts.agent_version is not None:
        parts.append(f"v{facts.agent_version}")
    if facts.approvals:
        parts.append(plural(len(facts.approvals), "approval"))
    parts.append(
        {
            c.SYNCED: "synced",
            c.QUEUED: "queued for sync",
            c.PENDING_END: "syncs when done",
        }.get(facts.sync.state, "not synced")
    )
    r = facts.retention
    if r.state == c.RETENTION_LATER and r.due_at_ms is not None:
        parts.append(f"archived after {_date(r.due_at_ms)}")
    elif r.state in (c.RETENTION_DUE, c.RETENTION_HELD):
        parts.append("due for archiving")
    elif r.state == c.RETENTION_OFF:
        parts.append("kept (retention off)")
    return " · ".join(parts)
