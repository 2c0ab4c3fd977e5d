"""SecretRedactingFilter: nothing a handler writes contains a key."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from ato_desktop.core.redaction import REDACTED
from ato_desktop.engine.credentials import CredentialStore
from ato_desktop.engine.log_redaction import SecretRedactingFilter, install_secret_redaction

KEY = (
    "sk-ant-api03-" + "L0gL0gL0g0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-ab"
)
LOCAL_KEY = "my-local-server-password-42"


@pytest.fixture
def output() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger tree whose only handler writes to a string, with the filter on that handler."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s %(detail)s"))
    parent = logging.getLogger("ato-test-redaction")
    parent.setLevel(logging.DEBUG)
    parent.propagate = False
    parent.addHandler(handler)
    install_secret_redaction(handler, secrets=lambda: [KEY, LOCAL_KEY])
    try:
        yield parent, stream
    finally:
        parent.removeHandler(handler)


def test_message_arguments_extra_traceback_and_stack_are_redacted(
    output: tuple[logging.Logger, io.StringIO],
) -> None:
    parent, stream = output
    child = parent.getChild("dispatcher")  # records propagate to the parent's handler
    child.info("calling with %s and %r", KEY, {"api_key": LOCAL_KEY}, extra={"detail": KEY})
    try:
        raise RuntimeError(f"401 Unauthorized for key {KEY}")
    except RuntimeError:
        child.exception("dispatch failed", extra={"detail": "-"}, stack_info=True)
    child.warning("untouched text", extra={"detail": "fine"})

    text = stream.getvalue()
    assert KEY[:20] not in text and KEY[-20:] not in text
    assert LOCAL_KEY not in text
    assert f"calling with {REDACTED} and" in text
    assert "RuntimeError: 401 Unauthorized for key [REDACTED]" in text
    assert "Stack (most recent call last)" in text
    assert "WARNING ato-test-redaction.dispatcher untouched text fine" in text


def test_bad_format_arguments_do_not_raise_or_leak(
    output: tuple[logging.Logger, io.StringIO],
) -> None:
    parent, stream = output
    parent.error("two placeholders %s %s, one argument", KEY, extra={"detail": "-"})
    text = stream.getvalue()
    assert "two placeholders" in text and KEY not in text


def test_default_secrets_come_from_the_credential_store(
    output: tuple[logging.Logger, io.StringIO],
) -> None:
    secret = "sk-" + "Kn0wnT0TheSt0re" * 3  # also matches the sk- shape; the store registers it
    CredentialStore().set_key("openai", secret)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("ato-test-redaction-default")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        install_secret_redaction(handler)
        logger.warning("key=%s; tail=%s", secret, secret[-15:])
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue() == f"key={REDACTED}; tail={REDACTED}\n"


def test_install_defaults_to_root_handlers_and_is_not_repeated() -> None:
    root = logging.getLogger()
    handler = logging.NullHandler()
    root.addHandler(handler)
    try:
        first = install_secret_redaction()
        install_secret_redaction()
        assert isinstance(first, SecretRedactingFilter)
        assert sum(isinstance(f, SecretRedactingFilter) for f in handler.filters) == 1
    finally:
        root.removeHandler(handler)
