"""Turn SDK exceptions, HTTP statuses and in-stream error events into ERROR RuntimeEvents.

Classification is by duck typing (``status_code``, ``body``, class names along the MRO and the
``__cause__`` chain) rather than ``isinstance`` on SDK classes, so one function serves both SDKs
and both httpx generations (httpx2 and the legacy httpx the OpenAI SDK still accepts) without
importing any of them when the app starts.
"""

from __future__ import annotations

import email.utils
import enum
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

from ato_desktop.core.models import ErrorClass, RuntimeEvent

REDACTED = "[redacted]"

# Shapes of well-known secret formats; redacted even when they are not the request's own key.
_SECRET_PATTERNS = (
    re.compile(r"sk-[A-Za-z0-9][A-Za-z0-9_\-]{10,}"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{12,}"),
)

_MAX_API_MESSAGE = 500


class Phase(enum.Enum):
    """Where a failure happened: before the response began, or while its body streamed."""

    REQUEST = "request"
    STREAM = "stream"


@dataclass(frozen=True, slots=True)
class Provider:
    """How error messages name a provider and tell the user where its key goes."""

    display_name: str
    key_name: str
    env_key_var: str
    base_url: str

    @staticmethod
    def for_server(
        display_name: str, key_name: str, env_key_var: str, base_url: str, default_base_url: str
    ) -> Provider:
        """The provider as messages name it: its own name at its own address, else the server
        that really answered ("the server at http://127.0.0.1:4000"), so an error from a proxy
        or gateway (ANTHROPIC_BASE_URL, OPENAI_BASE_URL, --base-url) is not blamed on Anthropic
        or OpenAI."""
        if base_url.rstrip("/") != default_base_url.rstrip("/"):
            display_name = f"the server at {display_url(base_url)}"
        return Provider(display_name, key_name, env_key_var, base_url)

    @property
    def key_hint(self) -> str:
        return f"Set it with `ato-desktop keys set {self.key_name}` or {self.env_key_var}."

    @property
    def located(self) -> str:
        """The display name with the base URL, unless the name already carries it."""
        where = display_url(self.base_url)
        return (
            self.display_name if where in self.display_name else f"{self.display_name} at {where}"
        )


def redact(text: str, api_key: str | None) -> str:
    """``text`` with the API key (and anything shaped like a secret) replaced by [redacted]."""
    if api_key:
        text = text.replace(api_key, REDACTED)
    for pattern in _SECRET_PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


def display_url(url: str) -> str:
    """``url`` without any user:password part, safe to show in a message."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"  # IPv6 literal
        if parts.port is not None:
            host = f"{host}:{parts.port}"
    except ValueError:
        return "<invalid URL>"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _mro_names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


_TIMEOUT_NAMES = {"TimeoutException", "APITimeoutError", "TimeoutError"}
_CONFIG_NAMES = {"UnsupportedProtocol", "InvalidURL", "LocalProtocolError"}
_NETWORK_NAMES = {
    "APIConnectionError",
    "TransportError",
    "NetworkError",
    "ProtocolError",
    "ConnectionError",
    "EndOfStream",
    "BrokenResourceError",
    "ClosedResourceError",
    "SSLError",
    "OSError",
}


def _error_details(body: object) -> tuple[str | None, str | None, str | None]:
    """(message, type, code) from an error body of either provider, tolerant of any shape.

    Anthropic: {"type": "error", "error": {"type": ..., "message": ...}}; OpenAI:
    {"error": {"message": ..., "type": ..., "code": ...}} (the OpenAI SDK hands over the inner
    object); Responses stream: {"type": "error", "code": ..., "message": ...}.
    """
    if not isinstance(body, Mapping):
        return (body.strip() or None, None, None) if isinstance(body, str) else (None, None, None)
    inner = body.get("error")
    source: Mapping[object, object] = inner if isinstance(inner, Mapping) else body
    message = source.get("message")
    kind = source.get("type")
    code = source.get("code")
    if kind == "error":
        kind = None
    return (
        message if isinstance(message, str) else None,
        kind if isinstance(kind, str) else None,
        str(code) if isinstance(code, str | int) and not isinstance(code, bool) else None,
    )


# In-stream errors arrive without a meaningful HTTP status; their type/code says what happened.
_TYPE_CLASSES: dict[str, ErrorClass] = {
    "authentication_error": ErrorClass.AUTH,
    "permission_error": ErrorClass.AUTH,
    "invalid_api_key": ErrorClass.AUTH,
    "rate_limit_error": ErrorClass.RATE_LIMIT,
    "rate_limit_exceeded": ErrorClass.RATE_LIMIT,
    "insufficient_quota": ErrorClass.RATE_LIMIT,
    "invalid_request_error": ErrorClass.BAD_REQUEST,
    "not_found_error": ErrorClass.BAD_REQUEST,
    "request_too_large": ErrorClass.BAD_REQUEST,
    "invalid_prompt": ErrorClass.BAD_REQUEST,
    "context_length_exceeded": ErrorClass.BAD_REQUEST,
    "timeout_error": ErrorClass.TIMEOUT,
    "overloaded_error": ErrorClass.SERVER_ERROR,
    "api_error": ErrorClass.SERVER_ERROR,
    "server_error": ErrorClass.SERVER_ERROR,
}


def _sentence(text: str) -> str:
    """``text`` with a capital first letter ("the server at ..." opens many messages), ending in
    one full stop (API messages come with or without their own)."""
    text = text.rstrip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def class_for_status(status: int) -> ErrorClass:
    """The ErrorClass an HTTP error status stands for."""
    if status in (401, 403):
        return ErrorClass.AUTH
    if status == 429:
        return ErrorClass.RATE_LIMIT
    if status == 408:
        return ErrorClass.TIMEOUT
    if status >= 500:
        # 529 is Anthropic's "overloaded".
        return ErrorClass.SERVER_ERROR
    return ErrorClass.BAD_REQUEST


def retry_after_seconds(headers: object) -> float | None:
    """How long a response asked the client to wait before retrying, in seconds, as the SDKs
    read it: ``retry-after-ms``, else ``retry-after`` as seconds or as an HTTP date. None when
    it does not say (or says something unreadable)."""
    getter = getattr(headers, "get", None)
    if getter is None:
        return None
    try:
        milliseconds = getter("retry-after-ms")
        seconds = getter("retry-after")
    except Exception:  # an odd headers object must not turn an error report into a crash
        return None
    for raw, scale in ((milliseconds, 0.001), (seconds, 1.0)):
        if not isinstance(raw, str) or not raw.strip():
            continue
        try:
            value = float(raw.strip()) * scale
        except ValueError:
            continue
        return value if math.isfinite(value) and value >= 0 else None
    if isinstance(seconds, str) and seconds.strip():
        try:
            when = email.utils.parsedate_to_datetime(seconds.strip())
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max((when - datetime.now(tz=UTC)).total_seconds(), 0.0)
    return None


def wait_phrase(seconds: float) -> str:
    """A wait as people say it: "20 s", "5 min", "1 h", "1 h 30 min", "3 days"."""
    if seconds < 90:
        return f"{seconds:.3g} s" if seconds < 10 else f"{round(seconds)} s"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h" if minutes == 0 else f"{hours} h {minutes} min"
    return f"{math.ceil(hours / 24)} days"


def status_error(
    provider: Provider,
    status: int | None,
    body: object,
    *,
    api_key: str | None,
    retry_after_s: float | None = None,
    max_retry_wait_s: float | None = None,
) -> RuntimeEvent:
    """The ERROR event for an error response (``status``) or an in-stream error event (None).

    ``retry_after_s``: the wait the response asked for; a rate limit's message says it ("asked
    to retry in 1 h"), and that it is longer than ``max_retry_wait_s`` when it is.
    """
    api_message, kind, code = _error_details(body)
    error_class: ErrorClass | None = None
    if status is None or 200 <= status < 300:
        error_class = _TYPE_CLASSES.get(kind or "") or _TYPE_CLASSES.get(code or "")
        status = None
    if error_class is None:
        error_class = class_for_status(status) if status else ErrorClass.SERVER_ERROR
    said = f": {api_message[:_MAX_API_MESSAGE].strip()}" if api_message else ""
    label = f" ({status})" if status else ""
    name = provider.display_name
    if error_class is ErrorClass.AUTH:
        if status == 403 or kind == "permission_error":
            text = _sentence(f"{name} refused the API key{label}{said}")
            text += f" Check the key's permissions. {provider.key_hint}"
        else:
            text = _sentence(f"{name} rejected the API key{label}{said}") + f" {provider.key_hint}"
    elif error_class is ErrorClass.RATE_LIMIT:
        text = _sentence(f"Rate limit hit at {name}{label}{said}")
        if retry_after_s is not None:
            text += f" The server asked to retry in {wait_phrase(retry_after_s)}"
            if max_retry_wait_s is not None and retry_after_s > max_retry_wait_s:
                text += (
                    f", longer than ATO waits ({wait_phrase(max_retry_wait_s)}, the "
                    "max_retry_wait_s setting), so the call was not retried"
                )
            text += "."
    elif error_class is ErrorClass.BAD_REQUEST:
        text = _sentence(f"{name} rejected the request{label}{said}")
    elif error_class is ErrorClass.TIMEOUT:
        text = _sentence(f"{name} timed out{label}{said}")
    elif status is None:
        text = _sentence(f"{name} reported an error mid-stream{said}")
    else:
        text = _sentence(f"Server error at {name}{label}{said}")
        # An overloaded server asking for a long wait (not retried either).
        if retry_after_s is not None and max_retry_wait_s is not None:
            waited_too_long = retry_after_s > max_retry_wait_s
            if waited_too_long:
                text += (
                    f" The server asked to retry in {wait_phrase(retry_after_s)}, longer than "
                    f"ATO waits ({wait_phrase(max_retry_wait_s)}), so the call was not retried."
                )
    return RuntimeEvent.error(error_class, redact(text, api_key), status)


def is_timeout(exc: BaseException) -> bool:
    """True when ``exc`` (or what it wraps) is a timeout of either SDK or either httpx."""
    return any(_mro_names(link) & _TIMEOUT_NAMES for link in _causes(exc))


def exception_error(
    exc: BaseException,
    provider: Provider,
    phase: Phase,
    *,
    api_key: str | None,
    timeout_s: float | None = None,
    max_retry_wait_s: float | None = None,
) -> RuntimeEvent:
    """The ERROR event for an exception raised by an SDK call or its stream.

    Timeouts before the response began are ``timeout``; once the body is streaming a read that
    times out is a stall. A dropped connection is ``network`` before the response began and
    ``stream_interrupted`` after.
    """
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and not isinstance(status, bool) and hasattr(exc, "body"):
        response = getattr(exc, "response", None)
        return status_error(
            provider,
            status,
            getattr(exc, "body", None),
            api_key=api_key,
            retry_after_s=retry_after_seconds(getattr(response, "headers", None)),
            max_retry_wait_s=max_retry_wait_s,
        )
    if "APIError" in _mro_names(exc) and getattr(exc, "body", None) is not None:
        # An error object inside a 200 stream (OpenAI legacy SSE: data: {"error": {...}}).
        return status_error(provider, None, {"error": getattr(exc, "body", None)}, api_key=api_key)

    chain = _causes(exc)
    names: set[str] = set()
    for link in chain:
        names |= _mro_names(link)
    detail = redact(_describe(chain), api_key)

    if names & _TIMEOUT_NAMES:
        # The detail of a timeout is noise (an anyio cancel scope); the class says it all.
        if phase is Phase.STREAM:
            if timeout_s:
                return stalled(provider, timeout_s)  # the read timeout is the stall allowance
            return RuntimeEvent.error(
                ErrorClass.STALLED,
                f"The stream from {provider.display_name} stalled: the read timed out.",
            )
        after = f" within {timeout_s:g} s" if timeout_s else ""
        return RuntimeEvent.error(
            ErrorClass.TIMEOUT, _sentence(f"No response from {provider.located}{after}")
        )
    if names & _CONFIG_NAMES and phase is Phase.REQUEST:
        return RuntimeEvent.error(
            ErrorClass.CONFIG,
            redact(
                f"Cannot send a request to {provider.located}{detail}. "
                "Check the base URL and the API key.",
                api_key,
            ),
        )
    if names & _NETWORK_NAMES:
        if phase is Phase.STREAM:
            return RuntimeEvent.error(
                ErrorClass.STREAM_INTERRUPTED,
                redact(
                    f"The stream from {provider.display_name} dropped mid-way{detail}.",
                    api_key,
                ),
            )
        return RuntimeEvent.error(
            ErrorClass.NETWORK,
            redact(f"Could not reach {provider.located}{detail}.", api_key),
        )
    # Anything else (a malformed body, an SDK validation error) means the server sent something
    # we cannot use; the adapter contract forbids raising it.
    return RuntimeEvent.error(
        ErrorClass.SERVER_ERROR,
        redact(f"Unexpected response from {provider.display_name}{detail}.", api_key),
    )


def _describe(chain: list[BaseException]) -> str:
    """': ReadError: peer closed connection' for the innermost exception that says something."""
    for link in reversed(chain):
        text = str(link).strip()
        if text:
            return f": {type(link).__name__}: {text[:_MAX_API_MESSAGE]}"
    return f": {type(chain[-1]).__name__}" if chain else ""


def stream_ended_early(provider: Provider, what: str) -> RuntimeEvent:
    """The ERROR event for a stream that closed cleanly but before its terminal event."""
    return RuntimeEvent.error(
        ErrorClass.STREAM_INTERRUPTED,
        f"The stream from {provider.display_name} ended before {what}.",
    )


def stalled(provider: Provider, stall_timeout_s: float) -> RuntimeEvent:
    """The ERROR event for a stream that sent nothing for stall_timeout_s."""
    return RuntimeEvent.error(
        ErrorClass.STALLED,
        f"The stream from {provider.display_name} stalled: nothing arrived for "
        f"{stall_timeout_s:g} s.",
    )


def missing_key(provider: Provider) -> RuntimeEvent:
    """The ERROR event for a dispatch that has no API key at all."""
    return RuntimeEvent.error(
        ErrorClass.AUTH, f"No API key for {provider.display_name}. {provider.key_hint}"
    )


def config_error(message: str, api_key: str | None = None) -> RuntimeEvent:
    """The ERROR event for a request we refuse to send (bad base URL, bad parameter)."""
    return RuntimeEvent.error(ErrorClass.CONFIG, redact(message, api_key))
