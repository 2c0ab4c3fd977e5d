"""Palette search over a real log: FTS5 kept in sync by triggers, the short-query fallback,
ranking, non-English text and emoji, secrets by name only, and the query plans."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ato_desktop.core.automations import AutomationKind, ScheduleSpec, TargetKind
from ato_desktop.core.mcp_config import McpServerConfig
from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import NewRun
from ato_desktop.core.search_text import MARK_END, MARK_START, MatchClass, strip_marks
from ato_desktop.store import automations, mcp_servers, search, thread_ops
from ato_desktop.store.database import _split_sql
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.paths import DataPaths
from ato_desktop.store.schema import APPLICATION_ID, MIGRATIONS

NOW = 1_760_000_000_000


def _thread(store: ExecutionLog, title: str, *bodies: str) -> str:
    thread = store.create_thread(title).result()
    for i, body in enumerate(bodies):
        store.add_message(thread.id, "user" if i % 2 == 0 else "assistant", body).result()
    return thread.id


def _bodies(results: search.SearchResults) -> list[str]:
    return [strip_marks(h.snippet) for h in results.groups.get("messages", [])]


def test_messages_are_indexed_on_insert_update_and_delete(store: ExecutionLog) -> None:
    thread_id = _thread(store, "Deploy notes", "the canary deployment failed at 3am")
    hits = search.search(store, "canary").groups["messages"]
    assert [h.ref for h in hits] == [thread_id]
    assert f"{MARK_START}canary{MARK_END}" in hits[0].snippet
    message_id = hits[0].message_id

    def edit(conn: sqlite3.Connection, _emit: object) -> None:
        conn.execute("UPDATE messages SET content = 'rollback done' WHERE id = ?", (message_id,))

    store.submit(edit).result()
    assert "messages" not in search.search(store, "canary").groups
    assert search.search(store, "rollback").groups["messages"][0].message_id == message_id

    thread_ops.delete_thread(store, thread_id).result()
    results = search.search(store, "rollback")
    assert "messages" not in results.groups and "threads" not in results.groups


def test_thread_titles_follow_renames_and_cascading_deletes(store: ExecutionLog) -> None:
    thread_id = _thread(store, "Quarterly planning", "hello")
    assert search.search(store, "planning").groups["threads"][0].ref == thread_id
    thread_ops.rename_thread(store, thread_id, "Budget review").result()
    assert "threads" not in search.search(store, "planning").groups
    assert search.search(store, "budget").groups["threads"][0].ref == thread_id

    def drop(conn: sqlite3.Connection, _emit: object) -> None:
        conn.execute("DELETE FROM threads WHERE id = ?", (thread_id,))  # messages cascade

    store.submit(drop).result()
    assert len(search.search(store, "hello")) == 0
    assert len(search.search(store, "budget")) == 0


def test_named_things_are_indexed_and_follow_changes(store: ExecutionLog) -> None:
    agent = store.create_agent("release-writer", AgentConfig("claude", "claude-x")).result()
    spec = ScheduleSpec("0 9 * * *", "UTC", TargetKind.AGENT, "release-writer", "Write notes")
    schedule = automations.create_definition(
        store, AutomationKind.SCHEDULE, "nightly-release", spec
    ).result()
    mcp_servers.add_server(
        store, McpServerConfig("github-tools", "stdio", command="gh-mcp")
    ).result()

    results = search.search(store, "release")
    assert [h.ref for h in results.groups["agents"]] == [agent.id]
    assert [(h.kind, h.ref) for h in results.groups["automations"]] == [("schedule", schedule.id)]
    assert search.search(store, "github").groups["mcp_servers"][0].kind == "mcp_server"

    store.delete_agents([agent.id]).result()
    automations.delete_definition(store, schedule.id).result()
    mcp_servers.remove_server(store, "github-tools").result()
    assert len(search.search(store, "release")) == 0
    assert len(search.search(store, "github")) == 0


def test_secrets_are_indexed_by_name_never_by_value(store: ExecutionLog) -> None:
    config = McpServerConfig(
        "linear",
        "http",
        url="https://mcp.example/linear",
        secret_header_names=("Authorization",),
    )
    mcp_servers.add_server(store, config).result()
    stdio = McpServerConfig(
        "pg",
        "stdio",
        command="pg-mcp",
        env={"PGHOST": "db.internal-value"},
        secret_env_names=("PG_PASSWORD",),
    )
    mcp_servers.add_server(store, stdio).result()

    secrets = search.search(store, "password").groups["secrets"]
    assert [strip_marks(h.title) for h in secrets] == ["PG_PASSWORD"]
    assert "pg" in secrets[0].detail and "keyring" in secrets[0].detail
    assert strip_marks(search.search(store, "authoriz").groups["secrets"][0].title) == (
        "Authorization"
    )
    # Non-secret env values are not indexed either, and nothing else names a value.
    assert len(search.search(store, "internal-value")) == 0
    names = {r[0] for r in store.reader().execute("SELECT name FROM search_entities")}
    assert names == {"linear", "pg", "Authorization", "PG_PASSWORD"}

    mcp_servers.update_server(store, McpServerConfig("pg", "stdio", command="pg-mcp")).result()
    assert "secrets" not in search.search(store, "password").groups


def test_two_characters_find_messages_and_names_through_the_fallback(store: ExecutionLog) -> None:
    _thread(store, "Misc", "unrelated", "please check the qz flag")
    store.create_agent("qzbot", AgentConfig("claude", "m")).result()
    results = search.search(store, "qz")
    assert _bodies(results) == ["please check the qz flag"]
    assert f"{MARK_START}qz{MARK_END}" in results.groups["messages"][0].snippet
    assert strip_marks(results.groups["agents"][0].title) == "qzbot"
    # One character too.
    assert "agents" in search.search(store, "q").groups


def test_non_english_and_emoji(store: ExecutionLog) -> None:
    _thread(
        store,
        "Многоязычный",
        "Привет, мир! Сборка упала на шаге деплоя",
        "日本語のテキストを検索する",
        "ship it 🚀🔥 today",
        "Grüße aus Köln, straße",
    )
    assert _bodies(search.search(store, "СБОРКА"))[0].startswith("Привет")  # case folded
    assert _bodies(search.search(store, "テキスト")) == ["日本語のテキストを検索する"]
    assert _bodies(search.search(store, "日本")) == ["日本語のテキストを検索する"]  # 2 chars
    assert _bodies(search.search(store, "🚀🔥")) == ["ship it 🚀🔥 today"]
    assert _bodies(search.search(store, "🚀")) == ["ship it 🚀🔥 today"]
    assert _bodies(search.search(store, "köln")) == ["Grüße aus Köln, straße"]
    snippet = search.search(store, "köln").groups["messages"][0].snippet
    assert f"{MARK_START}Köln{MARK_END}" in snippet
    assert search.search(store, "многоязыч").groups["threads"][0].kind == "thread"


def test_words_in_any_order_and_substrings_inside_words(store: ExecutionLog) -> None:
    _thread(store, "t", "failed to deploy the payments service")
    assert len(_bodies(search.search(store, "deploy failed"))) == 1
    assert len(_bodies(search.search(store, "ayment"))) == 1  # inside a word
    assert len(_bodies(search.search(store, "deploy zz"))) == 0  # a short term must match too
    assert len(_bodies(search.search(store, "deploy to"))) == 1


def test_ranking_exact_then_prefix_then_recent(store: ExecutionLog) -> None:
    for name, at in (("my-deploy", 1), ("deployer", 2), ("deploy", 3), ("old-deploy-x", 4)):
        store.create_agent(name, AgentConfig("claude", "m"), at_ms=NOW + at).result()
    names = [strip_marks(h.title) for h in search.search(store, "deploy").groups["agents"]]
    assert names == ["deploy", "deployer", "old-deploy-x", "my-deploy"]
    hits = search.search(store, "deploy").groups["agents"]
    assert [h.match for h in hits[:2]] == [MatchClass.EXACT, MatchClass.PREFIX]

    thread_id = _thread(store, "t", "deploy", "an older deploy note", "a newer deploy note")
    messages = search.search(store, "deploy").groups["messages"]
    assert [strip_marks(h.snippet) for h in messages] == [
        "deploy",
        "a newer deploy note",
        "an older deploy note",
    ]
    assert all(h.ref == thread_id for h in messages)


def test_limit_per_group(store: ExecutionLog) -> None:
    thread = store.create_thread("bulk").result()
    for i in range(30):
        store.add_message(thread.id, "user", f"alpha message {i}").result()
    results = search.search(store, "alpha", limit=5)
    assert len(results.groups["messages"]) == 5
    assert strip_marks(results.groups["messages"][0].snippet) == "alpha message 29"


def test_runs_by_id_prefix(store: ExecutionLog) -> None:
    agent = store.create_agent("runner", AgentConfig("claude", "m")).result()
    run_id, _ = store.create_run(
        NewRun("claude", "m", "cli", NOW, agent_id=agent.id), owner=None
    ).result()
    hits = search.search(store, run_id[:8]).groups["runs"]
    assert [h.ref for h in hits] == [run_id]
    assert hits[0].title.startswith(MARK_START + run_id[:8] + MARK_END)
    assert "@runner" in hits[0].detail
    assert search.search(store, run_id).groups["runs"][0].match == MatchClass.EXACT
    assert "runs" not in search.search(store, "zz-not-hex").groups


def test_query_text_is_never_fts_syntax(store: ExecutionLog) -> None:
    _thread(store, "t", 'he said "NEAR(a b)" OR * -x AND %_\\')
    for text in ('"near', "NEAR(a", "OR *", "-x AND", "%_", "\\", '"', "*", "AND"):
        search.search(store, text)  # no sqlite3.OperationalError
    assert len(_bodies(search.search(store, '"NEAR(a'))) == 1
    assert len(_bodies(search.search(store, "%_"))) == 1
    assert len(search.search(store, "   ")) == 0


def test_migration_backfills_a_v6_log(paths: DataPaths) -> None:
    path = Path(paths.database)
    conn = sqlite3.connect(path, isolation_level=None)
    for migration in MIGRATIONS:
        if migration.version > 6:
            break
        for statement in _split_sql(migration.sql):
            conn.execute(statement)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 6")
    conn.execute(
        "INSERT INTO threads (id, title, created_at, updated_at) VALUES ('t1', 'Legacy', 1, 1)"
    )
    conn.execute(
        "INSERT INTO messages (thread_id, seq, role, content, created_at) "
        "VALUES ('t1', 1, 'user', 'an old message about kubernetes', 1)"
    )
    conn.execute(
        "INSERT INTO agents (id, name, created_at, updated_at, current_version) "
        "VALUES ('a1', 'legacy-agent', 1, 1, 1)"
    )
    conn.execute(
        "INSERT INTO mcp_servers (id, name, transport, command, secret_env_names_json, "
        "created_at, updated_at) VALUES ('m1', 'old-mcp', 'stdio', 'x', '[\"OLD_TOKEN\"]', 1, 1)"
    )
    conn.execute(
        "INSERT INTO automations (id, kind, name, current_version, created_at, updated_at) "
        "VALUES ('g1', 'group', 'legacy-pipeline', 1, 1, 1)"
    )
    conn.close()

    with ExecutionLog.open(paths) as store:
        assert _bodies(search.search(store, "kubernetes")) == ["an old message about kubernetes"]
        results = search.search(store, "legacy")
        assert {g: [h.ref for h in hits] for g, hits in results.groups.items()} == {
            "agents": ["a1"],
            "automations": ["g1"],
            "threads": ["t1"],
        }
        assert search.search(store, "old_tok").groups["secrets"][0].ref == "m1"
        assert search.search(store, "old-mcp").groups["mcp_servers"][0].ref == "m1"


def test_query_plans_use_the_indexes(store: ExecutionLog) -> None:
    _thread(store, "t", "hello world")
    conn = store.reader()
    traced: list[str] = []
    conn.set_trace_callback(traced.append)
    try:
        search.search(store, "hello")
        search.search(store, "he")
        search.search(store, "0190ab")
    finally:
        conn.set_trace_callback(None)
    plans = []
    for sql in traced:
        if sql.lstrip().upper().startswith("SELECT") and "max(id)" not in sql:
            plans.append(conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall())
    text = [" | ".join(str(row[3]) for row in plan) for plan in plans]
    joined = "\n".join(text)
    assert "VIRTUAL TABLE INDEX" in joined  # FTS5 MATCH
    assert "idx_search_entities_name" in joined  # prefix range
    assert "idx_search_entities_recent" in joined  # short-query window
    assert "INTEGER PRIMARY KEY (rowid>?)" in joined  # messages window, newest first
    assert "sqlite_autoindex_runs" in joined  # runs by id
    for plan in text:
        assert "SCAN m " not in plan + " " and "SCAN messages" not in plan
        assert "SCAN r " not in plan + " " and "SCAN runs" not in plan
