"""The MCP server registry: one row per server, nothing secret (the keyring has the values).

Functions over an ExecutionLog: writes go through its writer and publish McpServersChanged;
reads run on the caller's thread with that thread's connection (use `read_async` from async
code).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from ato_desktop.core.events import McpServersChanged
from ato_desktop.core.ids import uuid7
from ato_desktop.core.mcp_config import McpServerConfig, validate_config
from ato_desktop.store.database import StoreError
from ato_desktop.store.execution_log import ExecutionLog, NotFoundError, now_ms
from ato_desktop.store.writer import Emit


class McpServerExistsError(StoreError):
    """A server of that name (in any case) is already registered."""


@dataclass(frozen=True, slots=True)
class McpServerRecord:
    """A registered server: its config plus id and timestamps (epoch ms)."""

    id: str
    config: McpServerConfig
    created_at: int
    updated_at: int

    @property
    def name(self) -> str:
        return self.config.name

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, **self.config.as_dict()}


def _str_list(text: str | None) -> tuple[str, ...]:
    value = json.loads(text) if text else []
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def server_from_row(row: sqlite3.Row) -> McpServerRecord:
    env = json.loads(row["env_json"] or "{}")
    config = McpServerConfig(
        name=row["name"],
        transport=row["transport"],
        command=row["command"],
        args=_str_list(row["args_json"]),
        env={str(k): str(v) for k, v in env.items()} if isinstance(env, dict) else {},
        secret_env_names=_str_list(row["secret_env_names_json"]),
        url=row["url"],
        secret_header_names=_str_list(row["secret_header_names_json"]),
        timeout_s=float(row["timeout_s"]),
    )
    return McpServerRecord(row["id"], config, row["created_at"], row["updated_at"])


def _columns(config: McpServerConfig) -> dict[str, Any]:
    return {
        "transport": config.transport,
        "command": config.command,
        "args_json": json.dumps(list(config.args), ensure_ascii=False),
        "env_json": json.dumps(dict(config.env), ensure_ascii=False, sort_keys=True),
        "secret_env_names_json": json.dumps(list(config.secret_env_names)),
        "url": config.url,
        "secret_header_names_json": json.dumps(list(config.secret_header_names)),
        "timeout_s": config.timeout_s,
    }


def _select(conn: sqlite3.Connection, name: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM mcp_servers WHERE name = ?", (name.strip(),)
    ).fetchone()
    return row


def add_server(log: ExecutionLog, config: McpServerConfig) -> Future[McpServerRecord]:
    """Register a server; McpConfigError for a bad config (raised at once),
    McpServerExistsError (from the future) when the name is taken."""
    clean = validate_config(config)

    def job(conn: sqlite3.Connection, emit: Emit) -> McpServerRecord:
        existing = _select(conn, clean.name)
        if existing is not None:
            raise McpServerExistsError(
                f"An MCP server named {existing['name']!r} already exists; remove it first "
                f"(ato-desktop mcp remove {existing['name']})."
            )
        ts = now_ms()
        columns = {"id": uuid7(ts), "name": clean.name, **_columns(clean)}
        columns.update(created_at=ts, updated_at=ts)
        names = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        conn.execute(f"INSERT INTO mcp_servers ({names}) VALUES ({marks})", tuple(columns.values()))
        emit(McpServersChanged(clean.name, "added"))
        row = _select(conn, clean.name)
        assert row is not None
        return server_from_row(row)

    return log.submit(job)


def update_server(log: ExecutionLog, config: McpServerConfig) -> Future[McpServerRecord]:
    """Replace the definition of the server config.name names (names cannot change: the
    keyring entries and agents' rules refer to them). NotFoundError if there is none."""
    clean = validate_config(config)

    def job(conn: sqlite3.Connection, emit: Emit) -> McpServerRecord:
        existing = _select(conn, clean.name)
        if existing is None:
            raise NotFoundError(f"No MCP server named {clean.name!r}.")
        columns = {**_columns(clean), "updated_at": now_ms()}
        assignments = ", ".join(f"{c} = ?" for c in columns)
        conn.execute(
            f"UPDATE mcp_servers SET {assignments} WHERE id = ?",
            (*columns.values(), existing["id"]),
        )
        emit(McpServersChanged(existing["name"], "updated"))
        row = _select(conn, clean.name)
        assert row is not None
        return server_from_row(row)

    return log.submit(job)


def remove_server(log: ExecutionLog, name: str) -> Future[McpServerRecord | None]:
    """Remove a server; the future gives the removed record (to delete its secrets with), or
    None when no server has that name."""

    def job(conn: sqlite3.Connection, emit: Emit) -> McpServerRecord | None:
        row = _select(conn, name)
        if row is None:
            return None
        conn.execute("DELETE FROM mcp_servers WHERE id = ?", (row["id"],))
        emit(McpServersChanged(row["name"], "removed"))
        return server_from_row(row)

    return log.submit(job)


def get_server(log: ExecutionLog, name: str) -> McpServerRecord:
    """The server of that name (any case); NotFoundError if there is none."""
    row = _select(log.reader(), name)
    if row is None:
        raise NotFoundError(
            f"No MCP server named {name.strip()!r}. See `ato-desktop mcp list`, or add one with "
            "`ato-desktop mcp add`."
        )
    return server_from_row(row)


def list_servers(log: ExecutionLog) -> list[McpServerRecord]:
    """Every registered server, by name."""
    rows = log.reader().execute("SELECT * FROM mcp_servers ORDER BY name COLLATE NOCASE, id")
    return [server_from_row(row) for row in rows]


def get_servers(log: ExecutionLog, names: Sequence[str]) -> list[McpServerRecord]:
    """The named servers, in the order given (duplicates once); NotFoundError naming every
    server that is not registered."""
    found: list[McpServerRecord] = []
    missing: list[str] = []
    seen: set[str] = set()
    conn = log.reader()
    for name in names:
        if name.strip().lower() in seen:
            continue
        seen.add(name.strip().lower())
        row = _select(conn, name)
        if row is None:
            missing.append(name)
        else:
            found.append(server_from_row(row))
    if missing:
        listed = ", ".join(repr(m) for m in missing)
        raise NotFoundError(f"MCP server(s) not registered: {listed}. See `ato-desktop mcp list`.")
    return found
