"""Issue 15.3: no phase of a call can hang it, and a long Retry-After fails the call at once.

Driven through the official SDKs against the loopback fakes: the SDKs' own retry logic is what
would wait (it honours Retry-After for days), so these tests check it is bounded at its cause.
"""

from __future__ import annotations

import email.utils
import time

import pytest

from ato_desktop.core.models import ErrorClass, EventKind, RuntimeEvent
from ato_desktop.runtimes.errors import retry_after_seconds, wait_phrase
from ato_desktop.runtimes.sdk_clients import http_timeout, prepare_sdk
from tests.fakes import FakeLLMServer, Scenario
from tests.runtimes.conftest import Target, collect, make_request


def last_error(events: list[RuntimeEvent]) -> RuntimeEvent:
    assert events and events[-1].kind is EventKind.ERROR, events
    return events[-1]


@pytest.mark.parametrize(
    ("headers", "said"),
    [
        ({"retry_after": "3600"}, "asked to retry in 1 h"),
        ({"retry_after_ms": "5400000"}, "asked to retry in 1 h 30 min"),
        ({"retry_after": "86400"}, "asked to retry in 24 h"),
    ],
)
def test_a_retry_after_longer_than_the_setting_fails_at_once_with_the_wait(
    target: Target, fake: FakeLLMServer, headers: dict[str, str], said: str
) -> None:
    fake.scenario = Scenario(status=429, **headers)  # type: ignore[arg-type]
    prepare_sdk(target.adapter().sdk_module)  # the first import is slow; time the call alone

    started = time.monotonic()
    events = collect(target, make_request(target, fake, max_retries=2), timeout=20)

    error = last_error(events)
    assert error.error_class is ErrorClass.RATE_LIMIT
    assert error.status_code == 429
    assert said in error.message
    assert "longer than ATO waits (60 s" in error.message
    assert len(fake.requests) == 1  # not retried: the SDK did not sleep for the hour
    assert time.monotonic() - started < 10
    assert EventKind.ACCEPTED not in [event.kind for event in events]


def test_a_retry_after_as_an_http_date_is_read_as_the_wait(
    target: Target, fake: FakeLLMServer
) -> None:
    in_two_hours = email.utils.formatdate(time.time() + 2 * 3600 + 30, usegmt=True)
    fake.scenario = Scenario(status=429, retry_after=in_two_hours)

    error = last_error(collect(target, make_request(target, fake, max_retries=2), timeout=20))

    assert error.error_class is ErrorClass.RATE_LIMIT
    assert "asked to retry in 2 h" in error.message
    assert len(fake.requests) == 1


def test_the_setting_sets_the_longest_wait(target: Target, fake: FakeLLMServer) -> None:
    fake.scenario = Scenario(status=429, retry_after="5")

    request = make_request(target, fake, max_retries=2, max_retry_wait_s=2.0)
    error = last_error(collect(target, request, timeout=20))

    assert "asked to retry in 5 s, longer than ATO waits (2 s" in error.message
    assert len(fake.requests) == 1


def test_a_short_retry_after_is_waited_and_the_call_retried(
    target: Target, fake: FakeLLMServer
) -> None:
    fake.enqueue(Scenario(status=429, retry_after="0.2"))
    fake.scenario = Scenario(chunks=("after ", "the wait"))

    events = collect(target, make_request(target, fake, max_retries=2), timeout=20)

    assert events[-1].kind is EventKind.FINISH
    assert "".join(e.text for e in events if e.kind is EventKind.TEXT) == "after the wait"
    assert len(fake.requests) == 2


def test_a_server_that_never_sends_headers_fails_within_the_stall_timeout_once(
    target: Target, fake: FakeLLMServer
) -> None:
    fake.scenario = Scenario(headers_delay_s=30)
    prepare_sdk(target.adapter().sdk_module)  # the first import is slow; time the call alone

    started = time.monotonic()
    request = make_request(target, fake, stall_timeout_s=0.5, max_retries=2)
    error = last_error(collect(target, request, timeout=20))
    elapsed = time.monotonic() - started

    assert error.error_class is ErrorClass.TIMEOUT
    assert "within 0.5 s" in error.message
    assert len(fake.requests) == 1  # a server silent for the whole allowance is not retried
    assert elapsed < 0.5 + 2.0


def test_connect_and_reads_are_bounded_by_the_stall_timeout(target: Target) -> None:
    timeout = http_timeout(
        make_request(target, None, stall_timeout_s=7, connect_timeout_s=10, request_timeout_s=600)
    )

    assert (timeout.connect, timeout.read) == (7, 7)
    short_connect = http_timeout(make_request(target, None, stall_timeout_s=60))
    assert short_connect.connect == 2.0  # the request's own connect timeout when shorter


def test_retry_after_is_read_like_the_sdks_read_it() -> None:
    assert retry_after_seconds({"retry-after": "20"}) == 20
    assert retry_after_seconds({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None
    assert retry_after_seconds(None) is None
    date = email.utils.formatdate(time.time() + 600, usegmt=True)
    wait = retry_after_seconds({"retry-after": date})
    assert wait is not None and 590 < wait <= 600


@pytest.mark.parametrize(
    ("seconds", "phrase"),
    [(0.01, "0.01 s"), (20, "20 s"), (300, "5 min"), (3600, "1 h"), (5400, "1 h 30 min")],
)
def test_waits_are_said_as_people_say_them(seconds: float, phrase: str) -> None:
    assert wait_phrase(seconds) == phrase


def test_an_overloaded_server_asking_for_a_long_wait_fails_at_once_and_says_so(
    target: Target, fake: FakeLLMServer
) -> None:
    fake.scenario = Scenario(status=503, retry_after="7200")

    error = last_error(collect(target, make_request(target, fake, max_retries=2), timeout=20))

    assert error.error_class is ErrorClass.SERVER_ERROR
    assert "asked to retry in 2 h, longer than ATO waits (60 s)" in error.message
    assert len(fake.requests) == 1
