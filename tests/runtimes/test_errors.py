"""runtimes.errors: classification and redaction, on the exception types the SDKs really raise."""

from __future__ import annotations

import anthropic
import httpx2
import openai
import pytest

from ato_desktop.core.models import ErrorClass
from ato_desktop.runtimes.errors import (
    REDACTED,
    Phase,
    Provider,
    class_for_status,
    display_url,
    exception_error,
    redact,
    status_error,
)

KEY = "sk-ant-api03-secret-secret-secret"
PROVIDER = Provider("Anthropic", "anthropic", "ANTHROPIC_API_KEY", "https://api.anthropic.com")
REQUEST = httpx2.Request("POST", "https://api.anthropic.com/v1/messages")


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, ErrorClass.AUTH),
        (403, ErrorClass.AUTH),
        (429, ErrorClass.RATE_LIMIT),
        (400, ErrorClass.BAD_REQUEST),
        (404, ErrorClass.BAD_REQUEST),
        (413, ErrorClass.BAD_REQUEST),
        (422, ErrorClass.BAD_REQUEST),
        (408, ErrorClass.TIMEOUT),
        (500, ErrorClass.SERVER_ERROR),
        (502, ErrorClass.SERVER_ERROR),
        (503, ErrorClass.SERVER_ERROR),
        (529, ErrorClass.SERVER_ERROR),
    ],
)
def test_class_for_status(status: int, expected: ErrorClass) -> None:
    assert class_for_status(status) is expected


def test_redact_removes_the_key_and_secret_shapes() -> None:
    text = (
        f"bad key {KEY}; also sk-proj-abcdefghijklmnop and Authorization: Bearer abcdefghijklmnopq"
    )

    cleaned = redact(text, KEY)

    assert KEY not in cleaned
    assert "sk-proj-abcdefghijklmnop" not in cleaned
    assert "abcdefghijklmnopq" not in cleaned
    assert cleaned.count(REDACTED) == 3


def test_redact_with_a_short_unusual_key() -> None:
    assert redact("key=xyz123 rejected", "xyz123") == f"key={REDACTED} rejected"


def test_display_url_drops_credentials() -> None:
    assert display_url("https://user:pw@example.com:8443/v1?x=1") == "https://example.com:8443/v1"


def test_status_error_message_never_contains_the_key() -> None:
    body = {"type": "error", "error": {"type": "authentication_error", "message": f"bad {KEY}"}}

    event = status_error(PROVIDER, 401, body, api_key=KEY)

    assert event.error_class is ErrorClass.AUTH
    assert KEY not in event.message
    assert "`ato-desktop keys set anthropic`" in event.message


def test_sdk_status_exception_is_classified_by_status() -> None:
    response = httpx2.Response(
        429,
        request=REQUEST,
        headers={"retry-after": "20"},
        json={"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}},
    )
    exc = anthropic.RateLimitError("Error code: 429", response=response, body=response.json())

    event = exception_error(exc, PROVIDER, Phase.REQUEST, api_key=KEY)

    assert event.error_class is ErrorClass.RATE_LIMIT
    assert event.status_code == 429
    assert "slow down" in event.message
    assert "The server asked to retry in 20 s." in event.message


def test_anthropic_in_stream_error_arrives_with_status_200() -> None:
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    exc = anthropic.APIStatusError(
        str(body), response=httpx2.Response(200, request=REQUEST), body=body
    )

    event = exception_error(exc, PROVIDER, Phase.STREAM, api_key=KEY)

    assert event.error_class is ErrorClass.SERVER_ERROR
    assert event.status_code is None
    assert "mid-stream" in event.message


def test_openai_in_stream_error_object() -> None:
    exc = openai.APIError(
        "boom", REQUEST, body={"message": "quota", "type": "x", "code": "insufficient_quota"}
    )

    event = exception_error(exc, PROVIDER, Phase.STREAM, api_key=KEY)

    assert event.error_class is ErrorClass.RATE_LIMIT


@pytest.mark.parametrize(
    ("exc", "phase", "expected"),
    [
        (anthropic.APITimeoutError(REQUEST), Phase.REQUEST, ErrorClass.TIMEOUT),
        (openai.APITimeoutError(REQUEST), Phase.REQUEST, ErrorClass.TIMEOUT),
        (httpx2.ReadTimeout("slow"), Phase.STREAM, ErrorClass.STALLED),
        (openai.APITimeoutError(REQUEST), Phase.STREAM, ErrorClass.STALLED),
        (anthropic.APIConnectionError(request=REQUEST), Phase.REQUEST, ErrorClass.NETWORK),
        (httpx2.RemoteProtocolError("peer closed"), Phase.STREAM, ErrorClass.STREAM_INTERRUPTED),
        (httpx2.ReadError("reset"), Phase.STREAM, ErrorClass.STREAM_INTERRUPTED),
        (openai.APIConnectionError(request=REQUEST), Phase.STREAM, ErrorClass.STREAM_INTERRUPTED),
        (httpx2.UnsupportedProtocol("ftp"), Phase.REQUEST, ErrorClass.CONFIG),
        (ValueError("not json"), Phase.STREAM, ErrorClass.SERVER_ERROR),
    ],
)
def test_exceptions_without_status(exc: Exception, phase: Phase, expected: ErrorClass) -> None:
    assert exception_error(exc, PROVIDER, phase, api_key=KEY).error_class is expected


def test_wrapped_cause_is_followed_and_redacted() -> None:
    try:
        try:
            raise httpx2.ConnectError(f"refused while sending {KEY}")
        except httpx2.ConnectError as inner:
            raise anthropic.APIConnectionError(request=REQUEST) from inner
    except anthropic.APIConnectionError as exc:
        event = exception_error(exc, PROVIDER, Phase.REQUEST, api_key=KEY)

    assert event.error_class is ErrorClass.NETWORK
    assert KEY not in event.message
    assert "refused while sending" in event.message
