"""The demo workspace: deterministic for a seed, realistic, clearly marked, removable."""

from __future__ import annotations

import itertools
import json
import statistics
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ato_desktop.core.models import AgentConfig
from ato_desktop.core.pricing import PriceBook
from ato_desktop.core.records import NewRun, RunEnd, RunFilter
from ato_desktop.engine.demo import (
    MIN_RUNS,
    REGRESSED_AGENT,
    DemoCancelledError,
    DemoExistsError,
    DemoGenerator,
    build_demo_workspace,
    demo_now_ms,
    remove_demo_workspace,
)
from ato_desktop.store.demo_data import count_demo_data, has_demo_data
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.paths import DataPaths

NOW = 1_795_000_000_000  # a fixed "now" (2026-11-18): the month before it is the demo
RUNS = 1_200
PRICES = PriceBook()
TABLES = {
    "agents": "id",
    "agent_versions": "id",
    "threads": "id",
    "messages": "thread_id, seq",
    "runs": "run_no",
    "actions": "run_no, seq",
}


def _open(root: Path) -> ExecutionLog:
    return ExecutionLog.open(DataPaths(root).ensure())


def _dump(store: ExecutionLog) -> dict[str, list[tuple[Any, ...]]]:
    conn = store.reader()
    return {
        table: [tuple(row) for row in conn.execute(f"SELECT * FROM {table} ORDER BY {order}")]
        for table, order in TABLES.items()
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExecutionLog]:
    """One demo log shared by the read-only realism checks (built once: it is the slow part)."""
    store = _open(tmp_path_factory.mktemp("demo"))
    build_demo_workspace(store, PRICES, runs=RUNS, seed=11, now_ms=NOW)
    yield store
    store.close()


def _rows(store: ExecutionLog, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in store.reader().execute(sql, params)]


# -- determinism --------------------------------------------------------------------------


def test_the_same_seed_gives_identical_rows_ids_included(tmp_path: Path) -> None:
    dumps = []
    for name in ("a", "b"):
        store = _open(tmp_path / name)
        summary = build_demo_workspace(store, PRICES, runs=400, seed=5, now_ms=NOW)
        assert summary.runs == 400
        dumps.append(_dump(store))
        store.close()
    first, second = dumps
    for table in TABLES:
        assert first[table], f"no {table} rows"
        assert first[table] == second[table], f"{table} differs between two builds"


def test_a_different_seed_gives_different_rows() -> None:
    one = [
        new.id for new, _end, _actions in DemoGenerator(PRICES, runs=300, seed=1, now_ms=NOW).runs()
    ]
    two = [
        new.id for new, _end, _actions in DemoGenerator(PRICES, runs=300, seed=2, now_ms=NOW).runs()
    ]
    assert len(one) == len(two) == 300
    assert not set(one) & set(two)
    again = [new.id for new, _e, _a in DemoGenerator(PRICES, runs=300, seed=1, now_ms=NOW).runs()]
    assert again == one


def test_the_month_ends_at_the_given_hour() -> None:
    generator = DemoGenerator(PRICES, runs=MIN_RUNS, seed=3, now_ms=NOW)
    assert generator.end_ms == demo_now_ms(NOW) == NOW - NOW % 3_600_000
    starts = [new.started_at for new, _e, _a in generator.runs()]
    assert starts == sorted(starts)
    assert generator.start_ms <= starts[0] and starts[-1] < generator.end_ms
    assert starts[-1] - starts[0] > 25 * 86_400_000  # spread over the month


# -- realism ------------------------------------------------------------------------------


def test_every_row_is_marked_demo(built: ExecutionLog) -> None:
    for table in ("agents", "threads", "runs"):
        assert _rows(built, f"SELECT count(*) FROM {table} WHERE is_demo = 0") == [(0,)]
    assert built.count_runs(RunFilter(include_demo=False)) == 0
    assert built.count_runs(RunFilter()) == RUNS


def test_agents_span_the_three_runtimes_with_current_models(built: ExecutionLog) -> None:
    models = set(_rows(built, "SELECT runtime, model FROM agent_versions"))
    assert {("claude", "claude-sonnet-5"), ("claude", "claude-haiku-4-5")} <= models
    assert {("codex", "gpt-5"), ("codex", "gpt-5-mini")} <= models
    local = [m for r, m in models if r == "openai-compatible"]
    assert local and all(m.startswith(("llama", "qwen")) for m in local)
    agents = built.list_agents()
    assert len(agents) >= 4
    compatible = [a for a in agents if a.config.runtime == "openai-compatible"]
    assert compatible[0].config.base_url == "http://localhost:11434/v1"
    # Runs without an agent too (the chat's default runtime and model).
    assert _rows(built, "SELECT count(*) > 0 FROM runs WHERE agent_id IS NULL") == [(1,)]


def test_statuses_and_failure_classes(built: ExecutionLog) -> None:
    statuses = {s for (s,) in _rows(built, "SELECT DISTINCT status FROM runs")}
    assert statuses == {"completed", "failed", "killed", "interrupted"}
    classes = {c for (c,) in _rows(built, "SELECT DISTINCT error_class FROM runs")}
    assert {
        "auth",
        "rate_limit",
        "timeout",
        "stalled",
        "stream_interrupted",
        "server_error",
        "bad_request",
        "killed",
        "interrupted",
    } <= classes
    # Every failure says what happened; partial output of cut streams is estimated.
    assert _rows(
        built, "SELECT count(*) FROM runs WHERE status != 'completed' AND error_message IS NULL"
    ) == [(0,)]
    estimated = _rows(
        built,
        "SELECT count(*) FROM actions WHERE tokens_estimated = 1 AND "
        "error_class IN ('killed', 'stalled', 'stream_interrupted', 'interrupted')",
    )
    assert estimated[0][0] > 0
    completed, total = _rows(built, "SELECT sum(status = 'completed'), count(*) FROM runs")[0]
    assert 0.8 < completed / total < 0.97


def test_costs_come_from_the_price_book_with_honest_sources(built: ExecutionLog) -> None:
    sources = dict(
        _rows(built, "SELECT cost_source, count(*) FROM actions WHERE kind = 'llm' GROUP BY 1")
    )
    assert sources.get("estimated", 0) > 0 and sources.get("unknown", 0) > 0
    assert "provider" not in sources
    # Unknown is never $0: the unpriced local model has no cost at all.
    assert _rows(
        built, "SELECT count(*) FROM actions WHERE cost_source = 'unknown' AND cost_usd IS NOT NULL"
    ) == [(0,)]
    row = _rows(
        built,
        "SELECT ac.input_tokens, ac.output_tokens, ac.cache_read_tokens, ac.cache_write_tokens, "
        "ac.reasoning_tokens, ac.cost_usd, r.runtime, r.model FROM actions ac "
        "JOIN runs r ON r.run_no = ac.run_no WHERE ac.cost_source = 'estimated' "
        "AND r.model = 'gpt-5' LIMIT 1",
    )[0]
    from ato_desktop.core.models import TokenUsage

    expected = PRICES.cost(row[6], row[7], TokenUsage(*row[:5])).usd
    assert expected is not None and row[5] == pytest.approx(expected)
    costs = [c for (c,) in _rows(built, "SELECT cost_usd FROM runs WHERE cost_usd > 0")]
    assert min(costs) < 0.002 < 0.05 < max(costs)  # varied: cheap models to long agent runs
    durations = [d for (d,) in _rows(built, "SELECT duration_ns FROM runs")]
    assert min(durations) < 2e9 and max(durations) > 60e9


def test_runs_are_agent_loops_with_tools_and_json(built: ExecutionLog) -> None:
    names = dict(_rows(built, "SELECT name, count(*) FROM actions GROUP BY name"))
    assert {"call_llm", "search_docs", "read_file", "run_sql", "lookup_ticket"} <= set(names)
    assert _rows(built, "SELECT max(action_count) >= 5 FROM runs") == [(1,)]
    run_no, inputs, outputs = _rows(
        built,
        "SELECT run_no, inputs_json, outputs_json FROM actions WHERE name = 'search_docs' LIMIT 1",
    )[0]
    assert "query" in json.loads(inputs) and "hits" in json.loads(json.loads(outputs)["content"])
    first_llm = _rows(
        built,
        "SELECT inputs_json, outputs_json FROM actions WHERE run_no = ? AND seq = 1",
        run_no,
    )[0]
    call = json.loads(first_llm[0])
    assert call["system"] and call["messages"][0]["role"] == "user"
    assert len(call["messages"][0]["content"]) > 40
    triggers = {t for (t,) in _rows(built, 'SELECT DISTINCT "trigger" FROM runs')}
    assert {"ui", "cli", "cron", "hook", "eval", "replay"} <= triggers
    assert _rows(
        built,
        "SELECT count(*) FROM runs r WHERE r.replay_of IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM runs o WHERE o.id = r.replay_of)",
    ) == [(0,)]


def test_threads_have_messages_linked_to_their_runs(built: ExecutionLog) -> None:
    threads = built.list_threads()
    assert len(threads) >= 10
    for thread in threads:
        messages = built.thread_messages(thread.id)
        assert len(messages) >= 3
        assert messages[0].role == "user"
        for message in messages:
            run = built.get_run(message.run_id or "")
            assert run.thread_id == thread.id
        assert thread.updated_at == messages[-1].created_at
    # Some conversation went wrong on the way: killed (partial answer kept) or failed.
    statuses = {
        s for (s,) in _rows(built, "SELECT DISTINCT status FROM runs WHERE thread_id IS NOT NULL")
    }
    assert {"completed", "killed"} <= statuses


def _version_stats(store: ExecutionLog, agent: str) -> list[tuple[int, int, float, float]]:
    """(version, runs, failure rate, median duration s) per config version of agent."""
    out = []
    record = store.get_agent(agent)
    for version in sorted(store.agent_history(record.id), key=lambda v: v.version):
        rows = _rows(
            store,
            "SELECT status, duration_ns FROM runs WHERE agent_version_id = ?",
            version.id,
        )
        failed = sum(1 for s, _ in rows if s == "failed")
        median = statistics.median(d for _, d in rows) / 1e9
        out.append((version.version, len(rows), failed / len(rows), median))
    return out


def test_one_config_change_made_an_agent_clearly_worse(built: ExecutionLog) -> None:
    degraded = []
    for agent in built.list_agents():
        history = built.agent_history(agent.id)
        assert all(v.created_at < NOW for v in history)
        stats = _version_stats(built, agent.name)
        for before, after in itertools.pairwise(stats):
            if after[2] > 2 * before[2] + 0.05 and after[3] > 1.5 * before[3]:
                degraded.append((agent.name, after[0]))
    assert degraded == [(REGRESSED_AGENT, 3)]
    stats = _version_stats(built, REGRESSED_AGENT)
    (_, before_runs, before_fail, before_p50), (_, after_runs, after_fail, after_p50) = (
        stats[1],
        stats[2],
    )
    assert before_runs > 40 and after_runs > 40
    assert after_fail > 0.15 > 0.08 > before_fail
    assert after_p50 > 2 * before_p50
    # The change is a prompt rewrite with a larger max_tokens, and the diff says so.
    record = built.get_agent(REGRESSED_AGENT)
    change = built.agent_history(record.id)[0]
    assert {c["path"] for c in change.diff} == {"system_prompt", "params.max_tokens"}
    # The other agents changed too, harmlessly (a model swap, a prompt tweak...).
    changed = [a.name for a in built.list_agents() if a.current_version > 1]
    assert len(changed) >= 3


# -- building and removing ---------------------------------------------------------------


def test_a_second_build_is_refused_and_removal_keeps_the_users_rows(tmp_path: Path) -> None:
    store = _open(tmp_path)
    mine = store.create_agent(REGRESSED_AGENT, AgentConfig("claude", "claude-sonnet-5")).result()
    store.ingest(
        [
            (
                NewRun("claude", "claude-sonnet-5", "cli", NOW - 1000, agent_id=mine.id),
                RunEnd("completed", NOW, 1_000_000_000),
                [],
            )
        ]
    ).result()
    thread = store.create_thread("my own chat").result()
    progress: list[tuple[int, int]] = []
    summary = build_demo_workspace(
        store,
        PRICES,
        runs=300,
        seed=2,
        now_ms=NOW,
        batch_runs=70,
        progress=lambda d, t: progress.append((d, t)),
    )
    assert summary.runs == 300 and summary.agents == 5 and summary.threads >= 4
    assert progress[0] == (0, 300) and progress[-1] == (300, 300)
    assert len(progress) >= 5  # streamed in batches
    # The user's agent keeps its name; the demo's twin gets a suffix.
    assert store.get_agent(REGRESSED_AGENT).id == mine.id
    assert store.get_agent(f"{REGRESSED_AGENT}-demo").is_demo
    with pytest.raises(DemoExistsError):
        build_demo_workspace(store, PRICES, runs=300, seed=2, now_ms=NOW)

    removed = remove_demo_workspace(store)
    assert (removed.runs, removed.agents) == (300, 5)
    assert not has_demo_data(store)
    assert store.count_runs(RunFilter()) == 1
    assert [a.name for a in store.list_agents()] == [REGRESSED_AGENT]
    assert [t.id for t in store.list_threads()] == [thread.id]
    assert _rows(store, "SELECT count(*) FROM actions") == [(0,)]
    store.close()


def test_a_cancelled_build_leaves_nothing_behind(tmp_path: Path) -> None:
    store = _open(tmp_path)
    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        if done >= 100:
            cancel.set()

    with pytest.raises(DemoCancelledError):
        build_demo_workspace(
            store,
            PRICES,
            runs=600,
            seed=1,
            now_ms=NOW,
            batch_runs=50,
            progress=progress,
            cancel=cancel,
        )
    assert count_demo_data(store).empty
    assert _rows(store, "SELECT count(*) FROM runs") == [(0,)]
    store.close()


@pytest.mark.parametrize("runs", [0, MIN_RUNS - 1, 10_000_001])
def test_sizes_out_of_range_are_refused(tmp_path: Path, runs: int) -> None:
    store = _open(tmp_path)
    with pytest.raises(ValueError, match="runs"):
        build_demo_workspace(store, PRICES, runs=runs)
    assert not has_demo_data(store)
    store.close()


# -- layout ------------------------------------------------------------------------------


def test_the_corpus_is_data_and_the_generator_holds_no_text_tables() -> None:
    """engine/demo.py was 1,937 lines, 825 of them tables and text (#19.6): the corpus module is
    data only (no functions), and neither the generator nor the build API carries text tables."""
    import inspect
    import types

    from ato_desktop.engine import demo, demo_corpus, demo_generator

    functions = [
        name
        for name, value in vars(demo_corpus).items()
        if isinstance(value, types.FunctionType) and value.__module__ == demo_corpus.__name__
    ]
    assert functions == []
    assert len(demo_corpus.TICKETS) >= 10 and len(demo_corpus.CONVERSATIONS) >= 5

    def text_tables(module: types.ModuleType) -> list[str]:
        found = []
        for name, value in vars(module).items():
            if name.startswith("__") or inspect.ismodule(value):
                continue
            if isinstance(value, tuple | dict) and str(value).count(" ") > 40:
                found.append(name)
        return found

    assert text_tables(demo_generator) == []
    assert text_tables(demo) == []


# -- the simulator agrees with the demo ----------------------------------------------------


def test_every_call_records_what_a_dispatch_records(built: ExecutionLog) -> None:
    """The system prompt and parameters on every call (not only the first), the model's tool
    calls, and the tools' answers in the conversation, as the dispatcher and tool runner write
    them (core.conversation.message_json)."""
    run_no = _rows(
        built,
        "SELECT r.run_no FROM runs r JOIN agents a ON a.id = r.agent_id "
        "WHERE a.name = 'data-analyst' AND r.status = 'completed' AND r.action_count >= 3 LIMIT 1",
    )[0][0]
    actions = [
        (name, json.loads(inputs), json.loads(outputs), json.loads(meta) if meta else None)
        for name, inputs, outputs, meta in _rows(
            built,
            "SELECT name, inputs_json, outputs_json, meta_json FROM actions WHERE run_no = ? "
            "ORDER BY seq",
            run_no,
        )
    ]
    calls = [a for a in actions if a[0] == "call_llm"]
    assert len(calls) >= 2
    for _name, inputs, _outputs, _meta in calls:
        assert inputs["system"] and inputs["params"] == {"reasoning_effort": "high"}
    first, tool, second = actions[0], actions[1], actions[2]
    (asked,) = first[2]["tool_calls"]
    assert asked["name"] == tool[0] and asked["arguments"] == tool[1]
    assert tool[3] == {"tool_call_id": asked["id"], "model_name": tool[0]}
    assert second[1]["messages"][-2:] == [
        {"role": "assistant", "content": first[2]["text"], "tool_calls": [asked]},
        {
            "role": "tool",
            "content": tool[2]["content"],
            "tool_call_id": asked["id"],
            "tool_name": tool[0],
        },
    ]


def test_runs_on_an_agents_current_config_simulate_at_100_percent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#16.12: the demo and the simulator agree. No call of a run on its agent's current config
    diverges in its inputs (the system prompt and parameters are on every call); the agent that
    never changed its config replays at 100 % run after run; a run from before a real change
    shows that change and nothing else. (Where the same request got two different answers in
    two runs, a daily schedule's fixed prompt say, the simulator says so: that is in the data.)"""
    import asyncio

    from ato_desktop.core.simulation import INPUT_MISMATCH
    from ato_desktop.engine.simulation import simulate
    from ato_desktop.engine.workspace import Workspace

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    ws = Workspace.open(DataPaths(tmp_path))
    try:
        build_demo_workspace(ws.store, PRICES, runs=700, seed=13, now_ms=NOW)

        async def simulate_all() -> tuple[dict[str, list[Any]], list[str]]:
            summaries: dict[str, list[Any]] = {}
            changed: list[str] = []
            for agent in ws.store.list_agents():
                runs = ws.store.list_runs(RunFilter(agent_id=agent.id), limit=5_000)
                for run in runs:
                    if run.trigger in ("replay", "eval"):  # evals on candidates: other models
                        continue
                    current = run.agent_version == agent.current_version
                    if not current and agent.name != REGRESSED_AGENT:
                        continue
                    if current and len(summaries.get(agent.name, ())) >= 25:
                        continue
                    if not current and len(changed) >= 5:
                        continue
                    result = await simulate(ws, run.id, record=False, reexecute=False)
                    if current:
                        summaries.setdefault(agent.name, []).append(result.summary)
                    else:
                        changed.extend(
                            row.detail for row in result.summary.rows if row.status != "match"
                        )
            await ws.live.aclose()
            return summaries, changed

        summaries, changed = asyncio.run(simulate_all())
    finally:
        ws.close()
    assert len(summaries) == 5  # every agent
    for name, results in summaries.items():
        inputs = [r for s in results for r in s.rows if r.divergence == INPUT_MISMATCH]
        assert inputs == [], name
    unchanged = summaries["data-analyst"]  # the agent that never changed its config
    assert len(unchanged) == 25
    assert all(s.match_rate == 1.0 and s.divergences == 0 for s in unchanged)
    # support-triage v2 -> v3 rewrote the prompt and raised max_tokens: exactly that shows.
    assert changed and all(
        "system prompt changed" in detail and "max_tokens" in detail for detail in changed
    )
