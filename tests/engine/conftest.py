"""Fixtures of the engine's suites (fake, keys and workspace are tests/conftest.py's)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ato_desktop.core.mcp_config import McpServerConfig
from ato_desktop.engine.otlp_receiver import OtlpReceiver
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.mcp_servers import add_server
from tests.fakes.mcp_server import stdio_command


@pytest.fixture
def shop(workspace: Workspace, tmp_path: Path) -> Iterator[Path]:
    """The fake "shop" MCP server registered (stdio); yields the notes file its write tool
    appends to."""
    notes = tmp_path / "notes.txt"
    command, args, env = stdio_command("--notes", str(notes))
    add_server(
        workspace.store,
        McpServerConfig("shop", "stdio", command=command, args=args, env=env, timeout_s=30),
    ).result()
    yield notes


@pytest.fixture
def receiver(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[OtlpReceiver]:
    """An OTLP receiver on a free loopback port, writing into the workspace's log."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    rx = OtlpReceiver(workspace, port=0)
    rx.start()
    yield rx
    rx.close()
