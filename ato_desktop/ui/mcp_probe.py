"""Connect to registered MCP servers and list their tools, off the UI thread (Settings' Test,
the agent editor's Load tools).

Everything runs in a worker thread with an event loop of its own: the MCP SDK's import (about a
second), the keyring reads for the servers' secrets, starting the server processes and the
protocol handshake. The UI thread only awaits the result.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ato_desktop.core.heavy_imports import import_heavy
from ato_desktop.core.mcp_config import McpServerConfig
from ato_desktop.core.tools import McpTool


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What connecting to one server gave: its tools, or why it failed (never a secret)."""

    server: str
    ok: bool
    tools: tuple[McpTool, ...] = ()
    error: str = ""
    duration_ms: float | None = None
    server_info: str = ""  # "ato-test-tools 1.0.0"


async def probe_servers(credentials: Any, configs: Sequence[McpServerConfig]) -> list[ProbeResult]:
    """Connect to each server (concurrently), list its tools, disconnect; one result each, in
    the order given. Runs in a worker thread; safe to await from the UI thread."""
    return await asyncio.to_thread(_probe_all, list(configs), credentials)


def _probe_all(configs: list[McpServerConfig], credentials: Any) -> list[ProbeResult]:
    mcp_client = import_heavy("ato_desktop.engine.mcp_client")
    from ato_desktop.engine.credentials import CredentialError
    from ato_desktop.engine.mcp_secrets import McpSecrets

    secrets = McpSecrets(credentials)
    specs: list[Any] = []
    for config in configs:
        try:
            specs.append(mcp_client.McpServerSpec.from_config(config, secrets))
        except CredentialError as exc:  # a secret missing from the keyring, or no keyring
            specs.append(ProbeResult(config.name, False, error=str(exc)))
    return asyncio.run(_probe_specs(mcp_client, specs))


async def _probe_specs(mcp_client: Any, specs: list[Any]) -> list[ProbeResult]:
    async def one(spec: Any) -> ProbeResult:
        if isinstance(spec, ProbeResult):
            return spec
        started = time.perf_counter_ns()
        try:
            async with mcp_client.McpConnection(spec) as conn:
                elapsed_ms = (time.perf_counter_ns() - started) / 1e6
                info = f"{conn.server_name or ''} {conn.server_version or ''}".strip()
                return ProbeResult(spec.name, True, tuple(conn.tools), "", elapsed_ms, info)
        except mcp_client.McpConnectError as exc:
            return ProbeResult(spec.name, False, error=str(exc))
        except Exception as exc:  # the SDK's own surprises: say so, never with a secret
            text = str(exc) or type(exc).__name__
            return ProbeResult(spec.name, False, error=spec.redact(text))

    return list(await asyncio.gather(*(one(spec) for spec in specs)))
