"""The three adapters, through the official SDKs, against the loopback fakes."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ato_desktop.core.models import ChatMessage, ErrorClass, EventKind, RuntimeEvent, TokenUsage
from ato_desktop.runtimes.openai_compatible import PLACEHOLDER_API_KEY
from tests.fakes import FakeLLMServer, Scenario, UsageSpec
from tests.runtimes.conftest import (
    API_KEY,
    CLAUDE,
    CODEX,
    COMPATIBLE,
    Target,
    collect,
    make_request,
)


def kinds(events: list[RuntimeEvent]) -> list[EventKind]:
    return [event.kind for event in events]


def texts(events: list[RuntimeEvent]) -> list[str]:
    return [event.text for event in events if event.kind is EventKind.TEXT]


def last_error(events: list[RuntimeEvent]) -> RuntimeEvent:
    assert events, "no events"
    error = events[-1]
    assert error.kind is EventKind.ERROR, events
    assert EventKind.FINISH not in kinds(events)
    return error


def closed_port() -> int:
    """A loopback port with nothing listening: connecting to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# ------------------------------------------------------------------------------- happy path


def test_text_arrives_as_several_events_in_order(target: Target, fake: FakeLLMServer) -> None:
    fake.scenario = Scenario(chunks=("The ", "quick ", "brown ", "fox."))

    events = collect(target, make_request(target, fake))

    assert texts(events) == ["The ", "quick ", "brown ", "fox."]
    # Claude also reports message_start's input count before the text (output not counted yet).
    provisional = [EventKind.USAGE] if target.runtime == "claude" else []
    assert kinds(events) == [EventKind.ACCEPTED, *provisional] + [EventKind.TEXT] * 4 + [
        EventKind.USAGE,
        EventKind.FINISH,
    ]
    assert all(e.output_counted for e in events[-2:])
    request = fake.last_request
    assert request.path == target.path
    assert request.body["stream"] is True
    assert request.body["model"] == "model-under-test"


def test_usage_is_normalised_with_cache_tokens(target: Target, fake: FakeLLMServer) -> None:
    fake.scenario = Scenario(
        usage=UsageSpec(
            uncached_input_tokens=200,
            cache_read_tokens=1000,
            cache_write_tokens=50,
            output_tokens=40,
            reasoning_tokens=15,
        )
    )

    usage_event = [e for e in collect(target, make_request(target, fake)) if e.usage][-1]

    # Anthropic sent input_tokens=200 beside the cache counts; OpenAI sent 1250 including them:
    # both normalise to the same TokenUsage.
    assert usage_event.usage == TokenUsage(
        input_tokens=1250,
        output_tokens=40,
        cache_read_tokens=1000,
        cache_write_tokens=50,
        reasoning_tokens=15,
    )
    assert usage_event.provider_cost_usd is None


def test_provider_stated_cost_is_coerced_from_a_decimal_string(fake: FakeLLMServer) -> None:
    fake.scenario = Scenario(provider_cost_usd="0.014200")

    (usage_event,) = [e for e in collect(COMPATIBLE, make_request(COMPATIBLE, fake)) if e.usage]

    assert usage_event.provider_cost_usd == pytest.approx(0.0142)


def test_string_and_missing_usage_numbers_do_not_crash(fake: FakeLLMServer) -> None:
    fake.scenario = Scenario(
        raw_usage={
            "prompt_tokens": "120",
            "completion_tokens": None,
            "total_tokens": "n/a",
            "prompt_tokens_details": {"cached_tokens": "100.0"},
        }
    )

    events = collect(COMPATIBLE, make_request(COMPATIBLE, fake))

    (usage_event,) = [e for e in events if e.usage]
    assert usage_event.usage == TokenUsage(input_tokens=120, output_tokens=0, cache_read_tokens=100)
    assert events[-1].kind is EventKind.FINISH


def test_bare_bones_compatible_server_chunks_still_stream(fake: FakeLLMServer) -> None:
    fake.scenario = Scenario(chunks=("a", "b"), bare_chunks=True)

    events = collect(COMPATIBLE, make_request(COMPATIBLE, fake))

    assert texts(events) == ["a", "b"]
    assert events[-1].kind is EventKind.FINISH
    assert events[-1].finish_reason == "stop"
    assert events[-1].response_id is None


def test_finish_carries_reason_id_and_model(target: Target, fake: FakeLLMServer) -> None:
    fake.scenario = Scenario(response_model="served-model-2026-01-01")

    finish = collect(target, make_request(target, fake))[-1]

    assert finish.kind is EventKind.FINISH
    assert finish.finish_reason == target.finish_reason
    assert finish.response_id is not None
    assert finish.response_id.startswith(target.id_prefix)
    assert finish.response_model == "served-model-2026-01-01"


@pytest.mark.parametrize(
    ("target", "wire_reason", "expected"),
    [
        (CLAUDE, "max_tokens", "max_tokens"),
        (CODEX, "max_output_tokens", "max_output_tokens"),
        (COMPATIBLE, "length", "length"),
    ],
    ids=["claude", "codex", "openai-compatible"],
)
def test_truncated_answer_reports_its_finish_reason(
    target: Target, wire_reason: str, expected: str, fake: FakeLLMServer
) -> None:
    fake.scenario = Scenario(stop_reason=wire_reason)

    events = collect(target, make_request(target, fake))

    assert events[-1].kind is EventKind.FINISH
    assert events[-1].finish_reason == expected


def test_the_key_travels_in_the_auth_header(target: Target, fake: FakeLLMServer) -> None:
    collect(target, make_request(target, fake))

    headers = fake.last_request.headers
    assert fake.last_request.api_key == API_KEY
    carried = {headers.get("x-api-key"), headers.get("authorization")}
    assert carried & {API_KEY, f"Bearer {API_KEY}"}
    if target is CLAUDE:
        assert "anthropic-version" in headers


# ------------------------------------------------------------------------------ HTTP errors


def test_401_is_auth_with_key_instructions_and_no_key(target: Target) -> None:
    wrong_key = "sk-wrong-key-9876543210zyxwvu"
    with FakeLLMServer(api_key=API_KEY, scenario=Scenario(echo_key_in_error=True)) as fake:
        events = collect(target, make_request(target, fake, api_key=wrong_key, max_retries=2))
        assert len(fake.requests) == 1  # a rejected key is not retried

    error = last_error(events)
    assert error.error_class is ErrorClass.AUTH
    assert error.status_code == 401
    assert f"ato-desktop keys set {target.key_name}" in error.message
    assert target.adapter().env_key_var in error.message
    assert wrong_key not in error.message
    assert "(401)" in error.message


def test_403_is_auth(target: Target, fake: FakeLLMServer) -> None:
    fake.scenario = Scenario(status=403)

    error = last_error(collect(target, make_request(target, fake)))

    assert error.error_class is ErrorClass.AUTH
    assert error.status_code == 403


@pytest.mark.parametrize(("max_retries", "attempts"), [(0, 1), (2, 3)])
def test_429_is_rate_limit_after_bounded_retries(
    target: Target, fake: FakeLLMServer, max_retries: int, attempts: int
) -> None:
    fake.scenario = Scenario(status=429, retry_after="0.01")

    events = collect(target, make_request(target, fake, max_retries=max_retries))

    error = last_error(events)
    assert error.error_class is ErrorClass.RATE_LIMIT
    assert error.status_code == 429
    assert "The server asked to retry in 0.01 s." in error.message
    assert len(fake.requests) == attempts
    assert [r.headers.get("x-stainless-retry-count") for r in fake.requests] == [
        str(n) for n in range(attempts)
    ]


def test_a_retry_that_succeeds_streams_normally(target: Target, fake: FakeLLMServer) -> None:
    fake.enqueue(Scenario(status=429, retry_after="0.01"))

    events = collect(target, make_request(target, fake, max_retries=1))

    assert events[-1].kind is EventKind.FINISH
    assert len(fake.requests) == 2


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_is_server_error(target: Target, fake: FakeLLMServer, status: int) -> None:
    fake.scenario = Scenario(status=status)

    error = last_error(collect(target, make_request(target, fake)))

    assert error.error_class is ErrorClass.SERVER_ERROR
    assert error.status_code == status


def test_anthropic_529_overloaded_is_server_error(fake: FakeLLMServer) -> None:
    fake.scenario = Scenario(status=529)

    error = last_error(collect(CLAUDE, make_request(CLAUDE, fake)))

    assert error.error_class is ErrorClass.SERVER_ERROR
    assert error.status_code == 529
    assert "Overloaded" in error.message


@pytest.mark.parametrize("status", [400, 404, 413, 422])
def test_4xx_is_bad_request(target: Target, fake: FakeLLMServer, status: int) -> None:
    fake.scenario = Scenario(status=status, error_message="model: no such model")

    error = last_error(collect(target, make_request(target, fake)))

    assert error.error_class is ErrorClass.BAD_REQUEST
    assert error.status_code == status
    assert "no such model" in error.message


# ---------------------------------------------------------------------------- stream failures


def test_cut_stream_is_stream_interrupted_after_partial_text(
    target: Target, fake: FakeLLMServer
) -> None:
    fake.scenario = Scenario(chunks=("one ", "two ", "three ", "four"), cut_after=2)

    events = collect(target, make_request(target, fake))

    assert texts(events) == ["one ", "two "]
    assert last_error(events).error_class is ErrorClass.STREAM_INTERRUPTED


def test_clean_end_without_terminal_event_is_stream_interrupted(
    target: Target, fake: FakeLLMServer
) -> None:
    fake.scenario = Scenario(chunks=("one ", "two "), clean_end_after=1)

    events = collect(target, make_request(target, fake))

    assert texts(events) == ["one "]
    assert last_error(events).error_class is ErrorClass.STREAM_INTERRUPTED


def test_stall_ends_in_stalled_within_the_stall_timeout(
    target: Target, fake: FakeLLMServer
) -> None:
    fake.scenario = Scenario(chunks=("one ", "two "), stall_after=1)
    stamps: list[float] = []

    async def run() -> list[RuntimeEvent]:
        events = []
        request = make_request(target, fake, stall_timeout_s=0.5)
        async for event in target.adapter().stream(request):
            stamps.append(time.monotonic())
            events.append(event)
        return events

    events = asyncio.run(asyncio.wait_for(run(), 10))

    assert texts(events) == ["one "]
    error = last_error(events)
    assert error.error_class is ErrorClass.STALLED
    assert "nothing arrived for 0.5 s" in error.message
    assert 0.4 <= stamps[-1] - stamps[0] < 0.5 + 0.75
    # The stalled HTTP stream was closed, not left hanging.
    assert fake.last_request.disconnected.wait(2)


@pytest.mark.parametrize(
    ("target", "scenario", "expected"),
    [
        (CLAUDE, Scenario(stream_error_after=1), ErrorClass.SERVER_ERROR),
        (
            CLAUDE,
            Scenario(stream_error_after=1, stream_error_type="rate_limit_error"),
            ErrorClass.RATE_LIMIT,
        ),
        (CODEX, Scenario(stream_error_after=1), ErrorClass.SERVER_ERROR),
        (
            CODEX,
            Scenario(stream_error_after=1, stream_error_type="rate_limit_exceeded"),
            ErrorClass.RATE_LIMIT,
        ),
        (
            CODEX,
            Scenario(stream_error_after=1, responses_error_event="error"),
            ErrorClass.SERVER_ERROR,
        ),
        (COMPATIBLE, Scenario(stream_error_after=1), ErrorClass.SERVER_ERROR),
    ],
    ids=[
        "claude-overloaded",
        "claude-rate-limit",
        "codex-failed",
        "codex-failed-rate-limit",
        "codex-error-event",
        "compatible-error-chunk",
    ],
)
def test_in_stream_error_events_are_classified(
    target: Target, scenario: Scenario, expected: ErrorClass, fake: FakeLLMServer
) -> None:
    fake.scenario = scenario

    events = collect(target, make_request(target, fake))

    assert texts(events) == ["Hello"]
    error = last_error(events)
    assert error.error_class is expected
    assert "mid-stream" in error.message or error.error_class is ErrorClass.RATE_LIMIT


def test_cancelling_the_consumer_closes_the_stream(target: Target, fake: FakeLLMServer) -> None:
    fake.scenario = Scenario(chunks=tuple(f"chunk{n} " for n in range(50)), delay_s=0.05)

    async def consume(first_text: asyncio.Event) -> None:
        async for event in target.adapter().stream(make_request(target, fake, stall_timeout_s=5)):
            if event.kind is EventKind.TEXT:
                first_text.set()

    async def run() -> None:
        first_text = asyncio.Event()
        task = asyncio.create_task(consume(first_text))
        await asyncio.wait_for(first_text.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(asyncio.wait_for(run(), 10))

    record = fake.last_request
    assert record.disconnected.wait(2), "the fake never saw the client go away"
    assert record.done.wait(2)


# ------------------------------------------------------------------- connection, config, keys


def test_unreachable_server_is_network(target: Target) -> None:
    request = make_request(target, None, base_url=f"http://127.0.0.1:{closed_port()}/v1")

    error = last_error(collect(target, request))

    assert error.error_class is ErrorClass.NETWORK
    assert "127.0.0.1" in error.message


def test_no_response_in_time_is_timeout(target: Target, fake: FakeLLMServer) -> None:
    fake.scenario = Scenario(headers_delay_s=3)

    started = time.monotonic()
    error = last_error(collect(target, make_request(target, fake, stall_timeout_s=0.3)))

    assert error.error_class is ErrorClass.TIMEOUT
    assert time.monotonic() - started < 2.5


def test_non_http_base_url_is_config(target: Target) -> None:
    error = last_error(collect(target, make_request(target, None, base_url="ftp://example.com")))

    assert error.error_class is ErrorClass.CONFIG


def test_unusable_param_is_config_and_sends_nothing(target: Target, fake: FakeLLMServer) -> None:
    error = last_error(collect(target, make_request(target, fake, params={"temperature": "hot"})))

    assert error.error_class is ErrorClass.CONFIG
    assert "temperature" in error.message
    assert fake.requests == []


@pytest.mark.parametrize("target", [CLAUDE, CODEX], ids=["claude", "codex"])
def test_missing_key_is_auth_and_sends_nothing(target: Target, fake: FakeLLMServer) -> None:
    error = last_error(collect(target, make_request(target, fake, api_key=None)))

    assert error.error_class is ErrorClass.AUTH
    assert f"ato-desktop keys set {target.key_name}" in error.message
    assert fake.requests == []


@pytest.mark.parametrize("target", [CLAUDE, CODEX], ids=["claude", "codex"])
def test_key_from_environment_when_request_has_none(
    target: Target, fake: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(target.adapter().env_key_var, "sk-from-env-0123456789")

    collect(target, make_request(target, fake, api_key=None))

    assert fake.last_request.api_key == "sk-from-env-0123456789"


def test_compatible_without_key_sends_placeholder_not_the_openai_key(
    fake: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real-openai-key-0123456789")

    events = collect(COMPATIBLE, make_request(COMPATIBLE, fake, api_key=None))

    assert events[-1].kind is EventKind.FINISH
    assert fake.last_request.api_key == PLACEHOLDER_API_KEY


def test_base_url_from_environment_when_request_has_none(
    target: Target, fake: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(target.base_url_env, target.base_url(fake))

    events = collect(target, make_request(target, None, base_url=None))

    assert events[-1].kind is EventKind.FINISH
    assert len(fake.requests) == 1


def test_request_base_url_wins_over_environment(
    target: Target, fake: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(target.base_url_env, f"http://127.0.0.1:{closed_port()}/v1")

    events = collect(target, make_request(target, fake))

    assert events[-1].kind is EventKind.FINISH
    assert len(fake.requests) == 1


def test_claude_ignores_anthropic_profiles_and_env_credentials(
    fake: FakeLLMServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A profile directory the SDK would read if it resolved credentials itself: an unreadable
    # profile makes any such read fail loudly.
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "evil.json").write_text("{not json")
    (tmp_path / "active_config").write_text("evil")
    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("ANTHROPIC_PROFILE", "evil")
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "env-auth-token-should-not-travel")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-env-key-should-not-travel")

    events = collect(CLAUDE, make_request(CLAUDE, fake))

    assert events[-1].kind is EventKind.FINISH
    assert fake.last_request.api_key == API_KEY
    assert "should-not-travel" not in str(fake.last_request.headers)


def test_openai_explicit_key_beats_environment(
    target: Target, fake: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-key-should-not-travel")

    collect(target, make_request(target, fake))

    assert fake.last_request.api_key == API_KEY


# ---------------------------------------------------------------------------- param mapping

PARAMS = {
    "temperature": 0.25,
    "top_p": 0.9,
    "top_k": 7,
    "max_tokens": 123,
    "stop": ["END", "STOP"],
    "seed": 42,
    "reasoning_effort": "low",
    "unknown_param": "ignored",
}


def _conversation() -> tuple[ChatMessage, ...]:
    return (
        ChatMessage("user", "Hi"),
        ChatMessage("assistant", "Hello!"),
        ChatMessage("user", "Again"),
    )


def test_claude_params_mapping(fake: FakeLLMServer) -> None:
    request = make_request(
        CLAUDE,
        fake,
        params={k: v for k, v in PARAMS.items() if k != "reasoning_effort"},
        system="Be brief.",
        messages=_conversation(),
    )

    collect(CLAUDE, request)

    body = fake.last_request.body
    assert body["max_tokens"] == 123
    assert body["temperature"] == 0.25
    assert body["top_p"] == 0.9
    assert body["top_k"] == 7
    assert body["stop_sequences"] == ["END", "STOP"]
    assert body["system"] == "Be brief."
    assert body["messages"] == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Again"},
    ]
    assert "seed" not in body and "unknown_param" not in body and "stop" not in body


def test_claude_max_tokens_defaults_to_4096_and_sends_no_unset_sampling(
    fake: FakeLLMServer,
) -> None:
    collect(CLAUDE, make_request(CLAUDE, fake))

    body = fake.last_request.body
    assert body["max_tokens"] == 4096
    assert not {"temperature", "top_p", "top_k", "system", "stop_sequences"} & set(body)


def test_codex_params_mapping(fake: FakeLLMServer) -> None:
    request = make_request(CODEX, fake, params=PARAMS, system="Be brief.", messages=_conversation())

    collect(CODEX, request)

    body = fake.last_request.body
    assert body["temperature"] == 0.25
    assert body["top_p"] == 0.9
    assert body["max_output_tokens"] == 123
    assert body["reasoning"] == {"effort": "low"}
    assert body["instructions"] == "Be brief."
    assert [(item["role"], item["content"]) for item in body["input"]] == [
        ("user", "Hi"),
        ("assistant", "Hello!"),
        ("user", "Again"),
    ]
    assert not {"seed", "stop", "top_k", "max_tokens", "unknown_param"} & set(body)


def test_compatible_params_mapping(fake: FakeLLMServer) -> None:
    params = {k: v for k, v in PARAMS.items() if k != "reasoning_effort"}
    request = make_request(
        COMPATIBLE, fake, params=params, system="Be brief.", messages=_conversation()
    )

    collect(COMPATIBLE, request)

    body = fake.last_request.body
    assert body["temperature"] == 0.25
    assert body["top_p"] == 0.9
    assert body["max_tokens"] == 123
    assert body["stop"] == ["END", "STOP"]
    assert body["seed"] == 42
    assert body["stream_options"] == {"include_usage": True}
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert len(body["messages"]) == 4
    assert not {"top_k", "unknown_param"} & set(body)
    assert "openai-organization" not in fake.last_request.headers


# ------------------------------------------------------------------------------- lazy imports


def test_registry_does_not_import_the_sdks() -> None:
    code = (
        "import sys\n"
        "from ato_desktop.runtimes.registry import get_adapter, RUNTIME_NAMES\n"
        "adapters = [get_adapter(name) for name in RUNTIME_NAMES]\n"
        "assert {a.name for a in adapters} >= {'claude-code', 'codex-cli'}\n"
        "heavy = [m for m in ('anthropic', 'openai', 'httpx2') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    assert result.stdout.strip() == ""
