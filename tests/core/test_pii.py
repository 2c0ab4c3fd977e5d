"""PII redaction of content before sync."""

from __future__ import annotations

import pytest

from ato_desktop.core.pii import PiiRuleError, PiiRules


def test_builtin_rules() -> None:
    rules = PiiRules()
    text = (
        "Mail ann.lee+x@example.co.uk or call +1 (555) 123-4567 / 020 7946 0958; "
        "card 4111 1111 1111 1111, order 1234567812345678, "
        "key sk-proj-abcdefghijklmnop1234 slack xoxb-1234567890-abcdefghij "
        "on 2025-01-15"
    )
    out = rules.redact(text)
    assert "[EMAIL]" in out and "example.co.uk" not in out
    assert out.count("[PHONE]") == 2
    assert "[CARD]" in out and "4111" not in out
    assert "1234567812345678" in out  # fails the Luhn check: not a card
    assert "[API_KEY]" in out and "sk-proj" not in out and "xoxb" not in out
    assert "2025-01-15" in out


def test_configurable_and_nested() -> None:
    rules = PiiRules(builtin=("email",), custom=(r"ACME-\d+",))
    value = {"messages": [{"content": "x@y.io ACME-42 555-123-4567"}], "n": 3}
    assert rules.redact_value(value) == {
        "messages": [{"content": "[EMAIL] [REDACTED] 555-123-4567"}],
        "n": 3,
    }
    assert PiiRules.from_dict(rules.as_dict()) == rules
    assert PiiRules.none().redact("x@y.io") == "x@y.io"
    with pytest.raises(PiiRuleError):
        PiiRules(custom=("(",))
    with pytest.raises(PiiRuleError):
        PiiRules(builtin=("ssn",))
