"""The compliance rules: a run's sync state and when retention archives it."""

from __future__ import annotations

from ato_desktop.core import compliance as c


def test_sync_state_takes_the_first_that_applies() -> None:
    base = {
        "is_demo": False,
        "running": False,
        "synced": False,
        "queued": False,
        "sync_enabled": True,
        "agent_chosen": True,
    }
    assert c.sync_state(**base) == c.NOT_QUEUED
    assert c.sync_state(**{**base, "running": True}) == c.PENDING_END
    assert c.sync_state(**{**base, "agent_chosen": False}) == c.NOT_CHOSEN
    assert c.sync_state(**{**base, "sync_enabled": False}) == c.SYNC_OFF
    assert c.sync_state(**{**base, "queued": True, "sync_enabled": False}) == c.QUEUED
    assert c.sync_state(**{**base, "synced": True, "queued": True}) == c.SYNCED
    assert c.sync_state(**{**base, "is_demo": True, "synced": True}) == c.DEMO


def test_retention_dates_and_holds() -> None:
    day = c.DAY_MS
    now = 1_000 * day
    assert c.retention_fact(now - 10 * day, None, now).state == c.RETENTION_OFF
    later = c.retention_fact(now - 10 * day, 30, now)
    assert later.state == c.RETENTION_LATER and later.due_at_ms == now + 20 * day
    assert c.retention_fact(now - 31 * day, 30, now).state == c.RETENTION_DUE
    assert c.retention_fact(now - 31 * day, 30, now, queued=True).state == c.RETENTION_HELD
    assert c.retention_fact(now - 31 * day, 30, now, running=True).state == c.RETENTION_HELD
    broken = c.retention_fact(now, 30, now, error="settings.json cannot be read")
    assert broken.state == c.RETENTION_UNKNOWN and broken.error


def test_approvals_and_redaction_from_what_the_log_holds() -> None:
    assert c.approval_fact(3, "write_note", {"server": "shop"}) is None
    assert c.approval_fact(3, "write_note", "garbage") is None
    old = c.approval_fact(3, "write_note", {"server": "shop", "approval": "approved"})
    assert old == c.ApprovalFact(3, "shop/write_note", "approved")
    new = c.approval_fact(
        4,
        "write_note",
        {
            "approval": "denied",
            "approval_by": "cli",
            "approval_account": "alice",
            "approval_requested_at": "1000",  # a string from an import: coerced
            "approval_decided_at": 2500,
        },
    )
    assert new is not None and (new.by, new.account, new.requested_at, new.decided_at) == (
        "cli",
        "alice",
        1000,
        2500,
    )
    assert c.redaction_summary({}) == ("email", "phone", "card", "api_key")  # the defaults
    assert c.redaction_summary({"builtin": ["email"], "custom": ["x\\d+", "y"]}) == (
        "email",
        "2 custom patterns",
    )
    assert c.redaction_summary({"builtin": [], "custom": []}) == ()
