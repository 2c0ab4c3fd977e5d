"""Thread rename, delete and the conversation read, against a real log."""

from __future__ import annotations

import pytest

from ato_desktop.core.events import DomainEvent, ThreadChanged
from ato_desktop.core.models import TokenUsage
from ato_desktop.core.records import NewAction, NewRun, RunEnd
from ato_desktop.store import thread_ops
from ato_desktop.store.execution_log import ExecutionLog, NotFoundError

NOW = 1_790_000_000_000


def _thread_with_turn(
    store: ExecutionLog, status: str = "completed", answer: str | None = "Hello!"
) -> tuple[str, str]:
    thread = store.create_thread("Say hello", runtime="claude", model="m").result()
    run_id, run_no = store.create_run(
        NewRun("claude", "m", "ui", NOW, thread_id=thread.id), owner="test"
    ).result()
    store.add_message(thread.id, "user", "Say hello", run_id=run_id).result()
    action = NewAction(
        name="call_llm",
        kind="llm",
        outcome="success" if status == "completed" else "error",
        started_at=NOW,
        ended_at=NOW + 5,
        outputs={"text": "Hel"} if status != "completed" else {"text": answer},
        usage=TokenUsage(10, 3),
    )
    end = RunEnd(status, NOW + 5, 5_000_000, error_class=None if status == "completed" else "x")
    store.complete_run(run_id, run_no, action, end).result()
    if answer is not None and status == "completed":
        store.add_message(thread.id, "assistant", answer, run_id=run_id).result()
    return thread.id, run_id


def test_rename_thread_cleans_the_title_and_publishes(
    store: ExecutionLog, events: list[DomainEvent]
) -> None:
    thread_id, _ = _thread_with_turn(store)
    events.clear()
    renamed = thread_ops.rename_thread(store, thread_id, "  Greetings \n  and more ").result()
    assert renamed.title == "Greetings and more"
    assert store.get_thread(thread_id).title == "Greetings and more"
    assert ThreadChanged(thread_id) in events


def test_rename_refuses_an_empty_title_and_an_unknown_thread(store: ExecutionLog) -> None:
    thread_id, _ = _thread_with_turn(store)
    with pytest.raises(ValueError):
        thread_ops.rename_thread(store, thread_id, "   ")
    with pytest.raises(NotFoundError):
        thread_ops.rename_thread(store, "nope", "Title").result()


def test_delete_thread_removes_messages_and_keeps_runs_unlinked(
    store: ExecutionLog, events: list[DomainEvent]
) -> None:
    thread_id, run_id = _thread_with_turn(store)
    events.clear()
    assert thread_ops.delete_thread(store, thread_id).result() is True
    with pytest.raises(NotFoundError):
        store.get_thread(thread_id)
    assert store.thread_messages(thread_id) == []
    run = store.get_run(run_id)
    assert run.thread_id is None and run.status == "completed"
    assert ThreadChanged(thread_id) in events
    assert thread_ops.delete_thread(store, thread_id).result() is False


def test_thread_view_has_messages_runs_and_partial_answers(store: ExecutionLog) -> None:
    thread_id, run_id = _thread_with_turn(store)
    view = thread_ops.load_thread_view(store, thread_id)
    assert [(m.role, m.content) for m in view.messages] == [
        ("user", "Say hello"),
        ("assistant", "Hello!"),
    ]
    assert view.runs[run_id].usage.output_tokens == 3
    assert view.partial_outputs == {}

    failed_thread, failed_run = _thread_with_turn(store, status="failed", answer=None)
    view = thread_ops.load_thread_view(store, failed_thread)
    assert [m.role for m in view.messages] == ["user"]
    assert view.runs[failed_run].status == "failed"
    assert view.partial_outputs == {failed_run: "Hel"}


def test_thread_view_of_a_missing_thread_is_not_found(store: ExecutionLog) -> None:
    with pytest.raises(NotFoundError):
        thread_ops.load_thread_view(store, "missing")
