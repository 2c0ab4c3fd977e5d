"""Fixtures for driving the runtime adapters, through the official SDKs, against the fakes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ato_desktop.core.models import ChatMessage, RuntimeEvent, RuntimeRequest
from ato_desktop.runtimes.base import RuntimeAdapter
from ato_desktop.runtimes.registry import get_adapter
from tests.fakes import FakeLLMServer
from tests.runtimes.subprocess_fakes import FakeCli

API_KEY = "sk-test-key-0123456789abcdef"


@dataclass(frozen=True)
class Target:
    """One runtime under test and how it looks on the wire."""

    runtime: str
    base_url_env: str
    key_name: str
    path: str
    finish_reason: str
    id_prefix: str

    def base_url(self, fake: FakeLLMServer) -> str:
        return fake.anthropic_base_url if self.runtime == "claude" else fake.openai_base_url

    def adapter(self) -> RuntimeAdapter:
        return get_adapter(self.runtime)


CLAUDE = Target("claude", "ANTHROPIC_BASE_URL", "anthropic", "/v1/messages", "end_turn", "msg_")
CODEX = Target("codex", "OPENAI_BASE_URL", "openai", "/v1/responses", "completed", "resp_")
COMPATIBLE = Target(
    "openai-compatible",
    "OPENAI_BASE_URL",
    "openai-compatible",
    "/v1/chat/completions",
    "stop",
    "chatcmpl-",
)
TARGETS = [CLAUDE, CODEX, COMPATIBLE]


@pytest.fixture(params=TARGETS, ids=[t.runtime for t in TARGETS])
def target(request: pytest.FixtureRequest) -> Target:
    result: Target = request.param
    return result


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeCli:
    """The fake `claude` and `codex` on PATH, a working directory, what they received."""
    return FakeCli.install(monkeypatch, tmp_path)


def make_request(target: Target, fake: FakeLLMServer | None, **overrides: Any) -> RuntimeRequest:
    """A short request to ``fake``, failing fast: stall 2 s (also the wait for the response
    headers, so not shorter: the machine may be loaded), no retries unless asked."""
    values: dict[str, Any] = {
        "model": "model-under-test",
        "messages": (ChatMessage("user", "Say hello."),),
        "base_url": target.base_url(fake) if fake is not None else None,
        "api_key": API_KEY,
        "connect_timeout_s": 2.0,
        "request_timeout_s": 5.0,
        "stall_timeout_s": 2.0,
        "max_retries": 0,
    }
    values.update(overrides)
    return RuntimeRequest(**values)


async def collect_async(adapter: RuntimeAdapter, request: RuntimeRequest) -> list[RuntimeEvent]:
    return [event async for event in adapter.stream(request)]


def collect(target: Target, request: RuntimeRequest, timeout: float = 10.0) -> list[RuntimeEvent]:
    """Every event of one stream; a hung adapter fails the test instead of hanging it."""
    return asyncio.run(asyncio.wait_for(collect_async(target.adapter(), request), timeout))
