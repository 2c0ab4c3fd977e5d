"""The MCP server registry against a real log: migration 3, CRUD, events, nothing secret."""

from __future__ import annotations

import json
import sqlite3

import pytest

from ato_desktop.core.events import DomainEvent, McpServersChanged
from ato_desktop.core.mcp_config import McpConfigError, McpServerConfig
from ato_desktop.core.models import AgentConfig
from ato_desktop.store import database, mcp_servers
from ato_desktop.store.execution_log import ExecutionLog, NotFoundError
from ato_desktop.store.mcp_servers import McpServerExistsError
from ato_desktop.store.paths import DataPaths
from ato_desktop.store.schema import LATEST_VERSION, MIGRATIONS

FILES = McpServerConfig(
    "files",
    "stdio",
    command="npx",
    args=("-y", "@modelcontextprotocol/server-filesystem", "/tmp"),
    env={"LOG_LEVEL": "debug"},
    secret_env_names=("API_TOKEN",),
    timeout_s=12.5,
)
WEB = McpServerConfig(
    "Web", "http", url="https://mcp.example.com/mcp", secret_header_names=("Authorization",)
)


def test_add_get_list_round_trip_and_publish(
    store: ExecutionLog, events: list[DomainEvent]
) -> None:
    files = mcp_servers.add_server(store, FILES).result()
    web = mcp_servers.add_server(store, WEB).result()
    assert files.config == FILES and len(files.id) == 32
    assert files.created_at == files.updated_at
    assert web.config.secret_header_names == ("Authorization",)
    assert mcp_servers.get_server(store, "FILES") == files  # names ignore case
    assert [r.name for r in mcp_servers.list_servers(store)] == ["files", "Web"]
    assert events == [McpServersChanged("files", "added"), McpServersChanged("Web", "added")]
    assert files.as_dict()["args"] == list(FILES.args)


def test_names_are_unique_whatever_their_case(store: ExecutionLog) -> None:
    mcp_servers.add_server(store, WEB).result()
    with pytest.raises(McpServerExistsError, match="'Web' already exists"):
        mcp_servers.add_server(store, McpServerConfig("web", "stdio", command="x")).result()


def test_bad_configs_are_refused_before_the_writer(store: ExecutionLog) -> None:
    with pytest.raises(McpConfigError, match="needs a command"):
        mcp_servers.add_server(store, McpServerConfig("x", "stdio"))
    assert mcp_servers.list_servers(store) == []


def test_update_and_remove(store: ExecutionLog, events: list[DomainEvent]) -> None:
    added = mcp_servers.add_server(store, FILES).result()
    changed = McpServerConfig("FILES", "stdio", command="uvx", args=("mcp-files",), timeout_s=5)
    updated = mcp_servers.update_server(store, changed).result()
    assert updated.id == added.id and updated.name == "files"  # the registered name stays
    assert updated.config.command == "uvx" and updated.config.secret_env_names == ()
    assert updated.updated_at >= added.updated_at
    with pytest.raises(NotFoundError):
        mcp_servers.update_server(store, McpServerConfig("ghost", "stdio", command="x")).result()
    removed = mcp_servers.remove_server(store, "files").result()
    assert removed is not None and removed.id == added.id
    assert mcp_servers.remove_server(store, "files").result() is None
    with pytest.raises(NotFoundError, match="mcp list"):
        mcp_servers.get_server(store, "files")
    assert [e.change for e in events if isinstance(e, McpServersChanged)] == [
        "added",
        "updated",
        "removed",
    ]


def test_get_servers_keeps_order_and_names_every_missing_one(store: ExecutionLog) -> None:
    mcp_servers.add_server(store, FILES).result()
    mcp_servers.add_server(store, WEB).result()
    found = mcp_servers.get_servers(store, ["web", "files", "WEB"])
    assert [r.name for r in found] == ["Web", "files"]
    with pytest.raises(NotFoundError, match="'ghost', 'gone'"):
        mcp_servers.get_servers(store, ["files", "ghost", "gone"])
    config = AgentConfig("claude", "m", mcp_servers=("files",))
    assert [r.name for r in mcp_servers.get_servers(store, config.mcp_servers)] == ["files"]


def test_the_table_holds_names_of_secrets_only(store: ExecutionLog, paths: DataPaths) -> None:
    mcp_servers.add_server(store, FILES).result()
    row = sqlite3.connect(paths.database).execute("SELECT * FROM mcp_servers").fetchone()
    columns = [d[0] for d in store.reader().execute("SELECT * FROM mcp_servers").description]
    data = dict(zip(columns, row, strict=True))
    assert data["secret_env_names_json"] == '["API_TOKEN"]'
    assert json.loads(data["env_json"]) == {"LOG_LEVEL": "debug"}
    assert set(columns) == {
        "id",
        "name",
        "transport",
        "command",
        "args_json",
        "env_json",
        "secret_env_names_json",
        "url",
        "secret_header_names_json",
        "timeout_s",
        "created_at",
        "updated_at",
    }


def test_the_table_refuses_rows_that_mix_transports(store: ExecutionLog) -> None:
    def job(conn: sqlite3.Connection, emit: object) -> None:
        conn.execute(
            "INSERT INTO mcp_servers (id, name, transport, command, url, created_at, updated_at)"
            " VALUES ('i', 'n', 'http', 'cmd', NULL, 0, 0)"
        )

    with pytest.raises(sqlite3.IntegrityError):
        store.submit(job).result()


def test_a_version_2_log_migrates_with_a_backup(
    paths: DataPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(database, "MIGRATIONS", MIGRATIONS[:2])
        conn = database.open_database(paths.database)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
        conn.close()
    log = ExecutionLog.open(paths)
    try:
        assert log.reader().execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
        assert mcp_servers.list_servers(log) == []
        mcp_servers.add_server(log, WEB).result()
    finally:
        log.close()
    assert paths.database.with_name("ato.sqlite3.backup-v2").exists()
