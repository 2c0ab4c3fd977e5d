"""Chat threads beyond what the dispatcher writes: rename, delete, and one read of everything a
conversation view shows (messages, the runs that answered them, partial answers of failed runs).

Functions over an ExecutionLog: writes go through its writer (and publish ThreadChanged), reads
run on the caller's thread with that thread's connection (use `read_async` from async code).
"""

from __future__ import annotations

import json
import sqlite3
from concurrent.futures import Future
from dataclasses import dataclass, field

from ato_desktop.core.events import ThreadChanged
from ato_desktop.core.records import MessageRecord, RunRecord, ThreadRecord
from ato_desktop.core.terminal_text import name_problem, strip_controls
from ato_desktop.store.execution_log import ExecutionLog, NotFoundError, now_ms, thread_from_row
from ato_desktop.store.writer import Emit

TITLE_MAX_CHARS = 120


def clean_title(title: str) -> str:
    """One line, trimmed, at most TITLE_MAX_CHARS characters, without control characters (as
    create_thread stores it)."""
    return " ".join(strip_controls(title).split())[:TITLE_MAX_CHARS]


def rename_thread(log: ExecutionLog, thread_id: str, title: str) -> Future[ThreadRecord]:
    """Give a thread a new title; raises ValueError for an empty title or one holding control
    characters or bidi controls."""
    problem = name_problem(" ".join(title.split()), "thread")
    if problem is not None:
        raise ValueError(problem.replace("needs a name", "needs a title"))
    clean = clean_title(title)

    def job(conn: sqlite3.Connection, emit: Emit) -> ThreadRecord:
        ts = now_ms()
        cursor = conn.execute(
            "UPDATE threads SET title = ?, updated_at = ? WHERE id = ?", (clean, ts, thread_id)
        )
        if not cursor.rowcount:
            raise NotFoundError(f"No thread {thread_id!r}.")
        row = conn.execute("SELECT * FROM threads WHERE id = ?", (thread_id,)).fetchone()
        emit(ThreadChanged(thread_id))
        return thread_from_row(row)

    return log.submit(job)


def delete_thread(log: ExecutionLog, thread_id: str) -> Future[bool]:
    """Delete a thread and its messages; its runs stay in the log, unlinked. False if unknown."""

    def job(conn: sqlite3.Connection, emit: Emit) -> bool:
        # Explicit, not only ON DELETE CASCADE: a log opened without foreign keys stays clean.
        conn.execute("DELETE FROM messages WHERE thread_id = ?", (thread_id,))
        conn.execute("UPDATE runs SET thread_id = NULL WHERE thread_id = ?", (thread_id,))
        deleted = conn.execute("DELETE FROM threads WHERE id = ?", (thread_id,)).rowcount > 0
        if deleted:
            emit(ThreadChanged(thread_id))
        return deleted

    return log.submit(job)


@dataclass(frozen=True, slots=True)
class ThreadView:
    """A thread as a conversation view shows it."""

    thread: ThreadRecord
    messages: list[MessageRecord]
    runs: dict[str, RunRecord] = field(default_factory=dict)  # run id -> run, for stats
    # Runs that left no assistant message (failed, interrupted): the text they streamed.
    partial_outputs: dict[str, str] = field(default_factory=dict)


def load_thread_view(log: ExecutionLog, thread_id: str) -> ThreadView:
    """The thread, its messages, the runs they name and partial answers; NotFoundError if gone."""
    thread = log.get_thread(thread_id)
    messages = log.thread_messages(thread_id)
    conn = log.reader()
    run_ids = {m.run_id for m in messages if m.run_id}
    run_ids.update(
        row[0] for row in conn.execute("SELECT id FROM runs WHERE thread_id = ?", (thread_id,))
    )
    runs: dict[str, RunRecord] = {}
    for run_id in sorted(run_ids):
        try:
            runs[run_id] = log.get_run(run_id)
        except NotFoundError:  # a message naming a run that was never recorded (an import)
            continue
    answered = {m.run_id for m in messages if m.role == "assistant" and m.run_id}
    partial: dict[str, str] = {}
    for run in runs.values():
        if run.id in answered or run.status == "running":
            continue
        text = _last_output_text(conn, run.run_no)
        if text:
            partial[run.id] = text
    return ThreadView(thread, messages, runs, partial)


def _last_output_text(conn: sqlite3.Connection, run_no: int) -> str:
    row = conn.execute(
        "SELECT outputs_json FROM actions WHERE run_no = ? ORDER BY seq DESC LIMIT 1", (run_no,)
    ).fetchone()
    if row is None or row[0] is None:
        return ""
    try:
        outputs = json.loads(row[0])
    except ValueError:
        return ""
    text = outputs.get("text") if isinstance(outputs, dict) else None
    return text if isinstance(text, str) else ""
