"""A logging filter that scrubs API keys out of every record before a handler writes it."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable

from ato_desktop.core.redaction import redact_secrets
from ato_desktop.engine.credentials import known_secrets

# Attributes every LogRecord has; anything else on a record came from `extra=` and is redacted
# too when it is a string.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}


class SecretRedactingFilter(logging.Filter):
    """Redacts known secrets and key-shaped strings from a record's message, arguments,
    traceback, stack and string `extra` fields.

    Attach it to handlers (install_secret_redaction does this), not to loggers: a logger's filters
    do not see records propagated from its children, a handler's see everything it writes. It
    rewrites the record in place, so every handler after it sees the redacted text. It never
    drops a record.
    """

    def __init__(
        self, secrets: Callable[[], Iterable[str]] = known_secrets, name: str = ""
    ) -> None:
        super().__init__(name)
        self._secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place; always keep it."""
        secrets = tuple(self._secrets())
        try:
            message = record.getMessage()
        except Exception:  # bad %-args: keep what there is rather than let logging print it raw
            message = f"{record.msg!s} {record.args!r}"
        record.msg = redact_secrets(message, secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            # Format the traceback now so it can be redacted; Formatter uses exc_text as is.
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = redact_secrets(record.exc_text, secrets)
            # The exception object itself may carry the key in its args; handlers that format
            # exc_info themselves would show it, so only the redacted text is kept.
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact_secrets(record.stack_info, secrets)
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and isinstance(value, str):
                setattr(record, key, redact_secrets(value, secrets))
        return True


def install_secret_redaction(
    *handlers: logging.Handler, secrets: Callable[[], Iterable[str]] = known_secrets
) -> SecretRedactingFilter:
    """Add one SecretRedactingFilter to the given handlers (default: the root logger's current
    handlers) and return it. Call it after configuring handlers; it skips handlers that already
    have one."""
    redacting = SecretRedactingFilter(secrets)
    for handler in handlers or tuple(logging.getLogger().handlers):
        if not any(isinstance(f, SecretRedactingFilter) for f in handler.filters):
            handler.addFilter(redacting)
    return redacting
