"""Credentials in URLs are refused where URLs are typed (agents' base URL, MCP URLs) and at the
one dispatch path, with a message that says where keys go; nothing is stored or sent."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ato_desktop.core.mcp_config import McpConfigError, McpServerConfig, validate_config
from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import RunFilter
from ato_desktop.core.redaction import url_credentials
from ato_desktop.engine.agents import AgentConfigError
from ato_desktop.engine.dispatcher import DispatchError, DispatchRequest
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.paths import DataPaths
from tests.fakes import FakeLLMServer

REPO = Path(__file__).resolve().parents[2]

# Each credential value is distinctive, so a message repeating it would be seen.
REFUSED = [
    "http://user:Hunter2x@127.0.0.1:8080/v1",
    "http://Hunter2x@127.0.0.1:8080/v1",
    "https://:Hunter2x@example.com/v1",
    "http://127.0.0.1:8080/v1?api_key=Hunter2x",
    "http://127.0.0.1:8080/v1?key=Hunter2x",
    "http://127.0.0.1:8080/v1?api-version=2024-06-01&token=Hunter2x",
    "http://127.0.0.1:8080/v1?X-API-KEY=Hunter2x",
    "http://127.0.0.1:8080/v1?access_token=Hunter2x",
    "http://127.0.0.1:8080/v1?password=",
]
ALLOWED = [
    "http://127.0.0.1:8080/v1",
    "https://example.openai.azure.com/openai/deployments/x?api-version=2024-06-01",
    "http://localhost:11434/v1?model=llama",
    "https://example.com/v1#key=fragment-is-never-sent",
]


@pytest.mark.parametrize("url", REFUSED)
def test_url_credentials_finds_user_info_and_key_parameters(url: str) -> None:
    assert url_credentials(url)


@pytest.mark.parametrize("url", ALLOWED)
def test_url_credentials_leaves_ordinary_urls(url: str) -> None:
    assert url_credentials(url) is None


@pytest.mark.parametrize("url", REFUSED)
def test_agent_base_url_with_credentials_is_refused(workspace: Workspace, url: str) -> None:
    config = AgentConfig("openai-compatible", "local-7b", base_url=url)
    with pytest.raises(AgentConfigError) as refused:
        workspace.agents.create("local", config)
    message = str(refused.value)
    assert "keys set openai-compatible" in message and "OPENAI_COMPATIBLE_API_KEY" in message
    assert "Hunter2x" not in message  # the message never repeats the credential itself
    assert workspace.store.list_agents() == []
    workspace.agents.create("local", AgentConfig("claude", "m", base_url=ALLOWED[0]))
    with pytest.raises(AgentConfigError, match="keys set anthropic"):
        workspace.agents.edit("local", {"base_url": url})
    assert workspace.store.get_agent("local").current_version == 1


def test_mcp_url_with_a_key_parameter_is_refused() -> None:
    with pytest.raises(McpConfigError, match="credential"):
        validate_config(McpServerConfig("web", "http", url="https://mcp.example/mcp?token=abc"))


def test_dispatch_refuses_a_stored_or_given_url_with_credentials_before_sending(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    bad = fake.openai_base_url.replace("http://", "http://me:hunter2@")
    # An agent saved by an older version, before base URLs were checked.
    workspace.store.create_agent(
        "legacy", AgentConfig("openai-compatible", "local-7b", base_url=bad)
    ).result()

    async def go(request: DispatchRequest) -> None:
        try:
            await workspace.dispatcher.dispatch(request)
        finally:
            await workspace.live.aclose()

    with pytest.raises(DispatchError, match="agent legacy: the base URL carries a credential"):
        asyncio.run(go(DispatchRequest(prompt="hi", agent="legacy")))
    given = DispatchRequest(
        prompt="hi",
        runtime="openai-compatible",
        model="local-7b",
        base_url=fake.openai_base_url + "?api_key=abc123",
    )
    with pytest.raises(DispatchError, match="keys set openai-compatible"):
        asyncio.run(go(given))
    assert fake.requests == []
    assert workspace.store.list_runs(RunFilter()) == []


def test_cli_refuses_credentials_in_base_url_with_exit_2(ato_home: Path) -> None:
    env = {
        "ATO_HOME": str(ato_home),
        "ATO_OFFLINE": "1",
        "PYTHONPATH": str(REPO),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "PATH": "/usr/bin:/bin",
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ato_desktop", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    url = "http://user:pass@127.0.0.1:9/v1/?api_key=abcdef123"
    done = cli("agents", "add", "c", "--runtime", "openai-compatible", "--model", "m",
               "--base-url", url)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "error: the base URL carries a credential" in done.stderr
    assert "keys set openai-compatible" in done.stderr and "Traceback" not in done.stderr
    done = cli("dispatch", "--runtime", "codex", "--model", "gpt-5", "--base-url",
               "http://127.0.0.1:9/v1?token=abcdef123", "hello")  # fmt: skip
    assert done.returncode == 2 and "keys set openai" in done.stderr, done.stderr
    listed = cli("agents", "list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == []
    assert b"abcdef123" not in (DataPaths(ato_home).database).read_bytes()
