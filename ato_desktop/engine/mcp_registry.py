"""Registering, listing and removing MCP servers: the one use case under `ato-desktop mcp` and
Settings → MCP servers.

A server's definition goes to the log and its secret values to the OS keyring; the two are
kept together: a registration is refused before anything is written (or any value asked for)
when there is nowhere safe for its secrets or its name is taken, and the secrets saved for a
registration that then fails are taken back. The calls block on the keyring and the log: async
callers run them in a worker thread.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ato_desktop.core.mcp_config import McpServerConfig, validate_config
from ato_desktop.engine.credentials import CredentialError
from ato_desktop.engine.mcp_secrets import McpSecrets, NoSecureKeyringError, secret_names
from ato_desktop.store import mcp_servers
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.mcp_servers import McpServerExistsError, McpServerRecord


@dataclass(frozen=True, slots=True)
class SecretState:
    """One secret a server needs, and whether the keyring holds it (never its value)."""

    kind: str  # "env" | "header"
    name: str
    present: bool | None  # None: the keyring could not be read

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "present": self.present}


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """A registered server and the state of its secrets."""

    record: McpServerRecord
    secrets: tuple[SecretState, ...]

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def missing(self) -> list[str]:
        """The secrets the keyring lacks (a server that cannot start until they are set)."""
        return [s.name for s in self.secrets if s.present is False]


@dataclass(frozen=True, slots=True)
class RemovedServer:
    """A server taken out of the log, and how many of its secrets left the keyring."""

    record: McpServerRecord
    secrets_deleted: int


def list_servers(store: ExecutionLog, secrets: McpSecrets) -> list[ServerInfo]:
    """Every registered server with its secrets' presence in the keyring."""
    infos = []
    for record in mcp_servers.list_servers(store):
        states = []
        for kind, name in secret_names(record.config):
            try:
                present: bool | None = secrets.get(record.name, kind, name) is not None
            except CredentialError:
                present = None
            states.append(SecretState(kind, name, present))
        infos.append(ServerInfo(record, tuple(states)))
    return infos


def refuse_unregistrable(store: ExecutionLog, config: McpServerConfig, secrets: McpSecrets) -> None:
    """Raise before anything is written or any secret value asked for: NoSecureKeyringError
    when the server has secrets and no secure keyring can keep them, McpServerExistsError when
    its name (in any case) is taken, McpConfigError for a bad definition."""
    config = validate_config(config)
    if secret_names(config) and not secrets.is_secure():
        raise NoSecureKeyringError(
            f"No secure keyring is available ({secrets.backend_description()}), so the secret "
            "values have nowhere safe to go and nothing was saved. ATO never writes them in "
            "plain text. Install and unlock a Secret Service keyring such as GNOME Keyring or "
            "KWallet, then try again."
        )
    taken = {r.name.lower(): r.name for r in mcp_servers.list_servers(store)}
    if config.name.lower() in taken:
        name = taken[config.name.lower()]
        raise McpServerExistsError(
            f"An MCP server named {name!r} already exists; remove it first (in Settings, or "
            f"`ato-desktop mcp remove {name}`) or choose another name."
        )


def register_server(
    store: ExecutionLog,
    config: McpServerConfig,
    secret_values: Mapping[str, str],
    secrets: McpSecrets,
) -> McpServerRecord:
    """Save the server's secrets (by name, from secret_values) to the keyring, then the server
    to the log; returns its record. Refuses as refuse_unregistrable does, and takes the saved
    secrets back when anything after them fails (a keyring error, the log refusing)."""
    refuse_unregistrable(store, config, secrets)
    saved: list[tuple[str, str]] = []
    try:
        for kind, name in secret_names(config):
            secrets.set(config.name, kind, name, secret_values[name])
            saved.append((kind, name))
        return mcp_servers.add_server(store, config).result()
    except BaseException:
        with contextlib.suppress(Exception):
            secrets.delete(config.name, saved)
        raise


def unregister_server(store: ExecutionLog, name: str, secrets: McpSecrets) -> RemovedServer | None:
    """Remove the server from the log, then its secrets from the keyring; None when no server
    has that name. CredentialError when the keyring refused: the server is gone already."""
    record = mcp_servers.remove_server(store, name).result()
    if record is None:
        return None
    return RemovedServer(record, secrets.delete(record.name, secret_names(record.config)))
