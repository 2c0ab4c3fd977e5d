"""Workspace search for the palette: named things, chat threads and message bodies, runs by id.

Backed by the trigram FTS5 tables of migration 7, which triggers keep in step with every write.
Terms of three or more characters go through the indexes; a query whose terms are all shorter
takes a fallback: names by prefix through an index, and a substring LIKE over a bounded window
of the newest rows (messages, names). Within a group, exact matches rank first, then prefixes,
then the most recent; copies of one message (the same text under the same chat title) fold into
one hit. Matches are marked with core.search_text's MARK_START/MARK_END.

Reads run on the caller's thread with its connection (from async code: ExecutionLog.read_async).
"""

from __future__ import annotations

import dataclasses
import sqlite3
from dataclasses import dataclass, field

from ato_desktop.core.search_text import (
    MARK_END,
    MARK_START,
    TRIGRAM,
    MatchClass,
    fts_phrase_query,
    like_pattern,
    make_snippet,
    mark_matches,
    match_class,
    query_terms,
)
from ato_desktop.store.execution_log import ExecutionLog

GROUPS: tuple[str, ...] = (
    "agents",
    "automations",
    "mcp_servers",
    "secrets",
    "runs",
    "threads",
    "messages",
)
"""Result groups, in the order the palette shows them."""

ENTITY_GROUP: dict[str, str] = {
    "agent": "agents",
    "group": "automations",
    "schedule": "automations",
    "hook": "automations",
    "skill": "automations",
    "mcp_server": "mcp_servers",
    "secret": "secrets",
    "thread": "threads",
}

DEFAULT_LIMIT = 8
# Candidates read per index before ranking: bounded, so a query matching most of a million
# rows costs the same as a rare one.
CANDIDATES = 200
# The fallback for 1-2 character queries looks at this many of the newest rows.
MESSAGE_WINDOW = 20_000
ENTITY_WINDOW = 5_000
SNIPPET_TOKENS = 40  # trigram tokens are characters: about this many characters of context
_MAX_CHAR = "\U0010ffff"


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One result. ref is the thing's id (a secret's: its MCP server's; a message's: its
    thread's). title and snippet carry match marks; detail is a plain subtitle."""

    kind: str  # agent, group, schedule, hook, skill, mcp_server, secret, thread, message, run
    ref: str
    title: str
    detail: str
    at_ms: int
    match: MatchClass = MatchClass.SUBSTRING
    snippet: str = ""
    message_id: int | None = None
    message_seq: int | None = None
    # A message: how many more messages read the same (same chat title, author and match), left
    # out of the results; the newest stands for them all.
    repeats: int = 0


@dataclass(frozen=True, slots=True)
class SearchResults:
    """Hits grouped (see GROUPS), each group ranked; empty groups are left out."""

    query: str
    groups: dict[str, list[SearchHit]] = field(default_factory=dict)

    def __len__(self) -> int:
        return sum(len(hits) for hits in self.groups.values())

    def hits(self) -> list[SearchHit]:
        return [hit for hits in self.groups.values() for hit in hits]


def search(log: ExecutionLog, text: str, *, limit: int = DEFAULT_LIMIT) -> SearchResults:
    """Search the workspace (see the module docstring) on this thread's read connection."""
    return search_connection(log.reader(), text, limit=limit)


def search_connection(
    conn: sqlite3.Connection, text: str, *, limit: int = DEFAULT_LIMIT
) -> SearchResults:
    """search() over any connection to an execution log (benchmarks, tests)."""
    query = " ".join(text.split())
    terms = query_terms(query)
    if not terms:
        return SearchResults(query)
    groups: dict[str, list[SearchHit]] = {}
    for hit in _entities(conn, query, terms, limit):
        groups.setdefault(ENTITY_GROUP[hit.kind], []).append(hit)
    runs = _runs(conn, query, limit)
    if runs:
        groups["runs"] = runs
    messages = _messages(conn, query, terms, limit)
    if messages:
        groups["messages"] = messages
    return SearchResults(query, {g: groups[g] for g in GROUPS if g in groups})


# -- named things -------------------------------------------------------------------------------

_ENTITY_COLUMNS = "id, kind, ref, name, detail, updated_at"


def _entities(
    conn: sqlite3.Connection, query: str, terms: list[str], limit: int
) -> list[SearchHit]:
    rows: dict[int, tuple[str, str, str, str, int]] = {}
    # Exact and prefix matches of the whole query, through the NOCASE name index.
    for row in conn.execute(
        f"SELECT {_ENTITY_COLUMNS} FROM search_entities "
        "WHERE name >= ? AND name < ? ORDER BY name LIMIT ?",
        (query, query + _MAX_CHAR, CANDIDATES),
    ):
        rows[row[0]] = tuple(row[1:])
    long_terms = [t for t in terms if len(t) >= TRIGRAM]
    short_terms = [t for t in terms if len(t) < TRIGRAM]
    likes = "".join(" AND e.name LIKE ? ESCAPE '\\'" for _ in short_terms)
    patterns = [like_pattern(t) for t in short_terms]
    if long_terms:
        sql = (
            f"SELECT e.id, e.kind, e.ref, e.name, e.detail, e.updated_at "
            "FROM (SELECT rowid FROM search_entities_fts WHERE search_entities_fts MATCH ? "
            "ORDER BY rowid DESC LIMIT ?) f JOIN search_entities e ON e.id = f.rowid "
            f"WHERE 1{likes}"
        )
        params: tuple[object, ...] = (fts_phrase_query(long_terms), CANDIDATES, *patterns)
    else:
        sql = (
            f"SELECT {_ENTITY_COLUMNS} FROM (SELECT {_ENTITY_COLUMNS} FROM search_entities "
            f"ORDER BY updated_at DESC LIMIT ?) e WHERE 1{likes} LIMIT ?"
        )
        params = (ENTITY_WINDOW, *patterns, CANDIDATES)
    for row in conn.execute(sql, params):
        rows[row[0]] = tuple(row[1:])
    hits = [
        SearchHit(
            kind=kind,
            ref=ref,
            title=mark_matches(name, terms),
            detail=_entity_detail(kind, detail),
            at_ms=int(updated_at),
            match=match_class(name, query),
        )
        for kind, ref, name, detail, updated_at in rows.values()
    ]
    hits.sort(key=lambda h: (h.match, -h.at_ms))
    per_group: dict[str, int] = {}
    kept: list[SearchHit] = []
    for hit in hits:
        group = ENTITY_GROUP.get(hit.kind)
        if group is None or per_group.get(group, 0) >= limit:
            continue
        per_group[group] = per_group.get(group, 0) + 1
        kept.append(hit)
    return kept


def _entity_detail(kind: str, detail: str) -> str:
    if kind == "secret":
        where, _, server = detail.partition(":")
        what = "HTTP header" if where == "header" else "environment variable"
        return f"{what} of MCP server {server} (value in the OS keyring)"
    if kind == "mcp_server":
        return f"MCP server ({detail})"
    return {"agent": "Agent", "thread": "Chat thread"}.get(kind, kind.capitalize())


# -- runs by id ---------------------------------------------------------------------------------

_HEX = frozenset("0123456789abcdef")


def _runs(conn: sqlite3.Connection, query: str, limit: int) -> list[SearchHit]:
    key = query.strip().lower().replace("-", "")
    if len(key) < 2 or not set(key) <= _HEX:
        return []
    rows = conn.execute(
        "SELECT r.id, r.status, r.started_at, r.model, a.name FROM runs r "
        "LEFT JOIN agents a ON a.id = r.agent_id "
        "WHERE r.id >= ? AND r.id < ? ORDER BY r.id DESC LIMIT ?",
        (key, key + "g", limit),
    ).fetchall()
    hits = [
        SearchHit(
            kind="run",
            ref=run_id,
            title=MARK_START + run_id[: len(key)] + MARK_END + run_id[len(key) :],
            detail=" · ".join(p for p in (f"@{agent}" if agent else "", model, status) if p),
            at_ms=int(started_at),
            match=MatchClass.EXACT if run_id == key else MatchClass.PREFIX,
        )
        for run_id, status, started_at, model, agent in rows
    ]
    hits.sort(key=lambda h: h.match)
    return hits


# -- message bodies -----------------------------------------------------------------------------

_PREVIEW_CHARS = 400


def _messages(
    conn: sqlite3.Connection, query: str, terms: list[str], limit: int
) -> list[SearchHit]:
    long_terms = [t for t in terms if len(t) >= TRIGRAM]
    short_terms = [t for t in terms if len(t) < TRIGRAM]
    likes = "".join(" AND m.content LIKE ? ESCAPE '\\'" for _ in short_terms)
    patterns = [like_pattern(t) for t in short_terms]
    # More than shown, so exact and prefix matches can rise and copies of one message (the same
    # prompt sent in several chats) can fold into one hit and still leave a full page.
    wanted = limit * 8
    if long_terms:
        rows = conn.execute(
            "SELECT m.id, m.thread_id, m.seq, m.role, m.created_at, t.title, f.snip, "
            f"substr(m.content, 1, {_PREVIEW_CHARS}) "
            "FROM (SELECT rowid, snippet(search_messages, 0, ?, ?, '…', ?) AS snip "
            "      FROM search_messages WHERE search_messages MATCH ? "
            "      ORDER BY rowid DESC LIMIT ?) f "
            "JOIN messages m ON m.id = f.rowid JOIN threads t ON t.id = m.thread_id "
            f"WHERE 1{likes} ORDER BY m.id DESC",
            (
                MARK_START,
                MARK_END,
                SNIPPET_TOKENS,
                fts_phrase_query(long_terms),
                # short terms filter after the index: read more candidates to fill the page
                wanted if not short_terms else CANDIDATES,
                *patterns,
            ),
        ).fetchall()
        rows = rows[:wanted]
    else:
        top = conn.execute("SELECT max(id) FROM messages").fetchone()[0]
        if top is None:
            return []
        rows = conn.execute(
            "SELECT m.id, m.thread_id, m.seq, m.role, m.created_at, t.title, NULL, m.content "
            "FROM messages m JOIN threads t ON t.id = m.thread_id "
            f"WHERE m.id > ?{likes} ORDER BY m.id DESC LIMIT ?",
            (top - MESSAGE_WINDOW, *patterns, wanted),
        ).fetchall()
    hits: list[SearchHit] = []
    for msg_id, thread_id, seq, role, created_at, title, snip, preview in rows:
        snippet = snip or make_snippet(preview, terms, width=SNIPPET_TOKENS * 2)
        hits.append(
            SearchHit(
                kind="message",
                ref=thread_id,
                title=title,
                detail="You" if role == "user" else role.capitalize(),
                at_ms=int(created_at),
                match=match_class(preview, query),
                snippet=" ".join(snippet.split()),
                message_id=int(msg_id),
                message_seq=int(seq),
            )
        )
    hits.sort(key=lambda h: (h.match, -(h.message_id or 0)))
    return _fold_repeats(hits)[:limit]


def _fold_repeats(hits: list[SearchHit]) -> list[SearchHit]:
    """One hit per message as the user reads it (chat title, author, matched text): the first
    (best ranked, newest) stands for its copies, which it counts in `repeats`."""
    first: dict[tuple[str, str, str], int] = {}
    folded: list[SearchHit] = []
    for hit in hits:
        key = (hit.title, hit.detail, hit.snippet)
        at = first.get(key)
        if at is None:
            first[key] = len(folded)
            folded.append(hit)
        else:
            folded[at] = dataclasses.replace(folded[at], repeats=folded[at].repeats + 1)
    return folded
