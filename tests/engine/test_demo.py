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
from ato_desktop.core.records import NewAction, NewRun, RunEnd, RunFilter
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
    "automations": "id",
    "automation_versions": "id",
    "schedule_state": "automation_id",
    "eval_suites": "id",
    "eval_suite_runs": "id",
    "eval_case_results": "suite_run_id, case_id",
}
# Written at build time, not from the seed: when a schedule's progress was recorded.
BUILD_TIME_COLUMNS = {"schedule_state": {"updated_at"}}


def _open(root: Path) -> ExecutionLog:
    return ExecutionLog.open(DataPaths(root).ensure())


def _dump(store: ExecutionLog) -> dict[str, list[tuple[Any, ...]]]:
    """Every demo table's rows; the data folder's path (in the skill flow's definition) is
    written as ROOT, so two folders compare."""
    conn = store.reader()
    root = str(store.paths.root)
    dump = {}
    for table, order in TABLES.items():
        rows = []
        for row in conn.execute(f"SELECT * FROM {table} ORDER BY {order}"):
            skip = BUILD_TIME_COLUMNS.get(table, set())
            rows.append(
                tuple(
                    value.replace(root, "ROOT") if isinstance(value, str) else value
                    for key, value in zip(row.keys(), row, strict=True)
                    if key not in skip
                )
            )
        dump[table] = rows
    return dump


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


# -- every headline feature (#17.14) ---------------------------------------------------------


def test_groups_schedules_hooks_and_a_skill_flow_all_marked_demo(built: ExecutionLog) -> None:
    from ato_desktop.core.automations import GroupMode, GroupSpec, SkillSpec
    from ato_desktop.engine.automations import AutomationService
    from ato_desktop.store import automations as automation_store

    records = automation_store.list_definitions(built)
    kinds = {(r.kind.value, getattr(r.spec, "mode", None)) for r in records}
    assert {("group", GroupMode.SEQUENTIAL), ("group", GroupMode.ROUTED)} <= kinds
    assert {k for k, _mode in kinds} == {"group", "schedule", "hook", "skill"}
    assert _rows(built, "SELECT count(*) FROM automations WHERE is_demo = 0") == [(0,)]
    # Schedules and hooks are loaded paused: the demo never dispatches on its own.
    assert {r.kind.value for r in records if not r.enabled} == {"schedule", "hook"}
    assert all(r.enabled for r in records if r.kind.value in ("group", "skill"))
    # The skill flow's file is there, unchanged since its definition was recorded.
    skill = next(r for r in records if isinstance(r.spec, SkillSpec))
    assert Path(skill.spec.path).is_file()
    assert AutomationService(built).sync_skill(skill.id) is None
    # Every definition passes the validation the CLI runs (agents exist, hooks do not loop).
    service = AutomationService(built)
    for record in records:
        service.validate(record.kind, record.spec, name=record.name)
    routed = next(
        r.spec for r in records if isinstance(r.spec, GroupSpec) and r.spec.mode is GroupMode.ROUTED
    )
    assert routed.rules and routed.default_member


def test_pipeline_runs_include_a_stopped_one_and_stages_that_never_ran(
    built: ExecutionLog,
) -> None:
    from ato_desktop.store import automations as automation_store

    pipelines = automation_store.list_pipeline_runs(built, limit=500)
    assert {p.kind for p in pipelines} == {"group", "skill", "hook"}
    details = [automation_store.pipeline_run(built, p.run_id) for p in pipelines]
    killed = [d for d in details if d.status == "killed" and d.kind == "group"]
    assert killed, "no stopped pipeline run"
    assert all(any(s.status == automation_store.NOT_RUN for s in d.stages) for d in killed)
    failed = [d for d in details if d.status == "failed" and d.kind == "group"]
    assert any(
        d.stages[0].status == "failed" and all(s.status == "not_run" for s in d.stages[1:])
        for d in failed
    )
    assert any(s.attempt == 2 for d in details for s in d.stages)  # a retried stage
    # Every stage is a run of its own, with its agent, cost and the pipeline's tag.
    for d in details:
        for stage in d.stages:
            if stage.status == automation_store.NOT_RUN or stage.stage_name == "source run":
                continue
            run = built.get_run(stage.run_id)
            assert run.parent_run_id == d.run_id and run.is_demo
            assert run.tags["pipeline"] == d.name and run.agent_id
    # A routed run records its decision, then runs the member it picked.
    routed = next(d for d in details if d.name == "support-desk")
    route = built.get_actions(routed.run_id)[0]
    assert route.name == "route" and route.outputs["member"] == routed.stages[0].stage_name
    # The weekly schedule's fires are pipeline runs, tagged as the scheduler tags them.
    fired = [d for d in details if d.trigger == "cron"]
    assert fired
    for d in fired:
        tags = built.get_run(d.run_id).tags
        assert tags["schedule"] == "release-train-weekly" and tags["schedule.fire_at"]


def test_schedules_know_their_last_fire(built: ExecutionLog) -> None:
    from ato_desktop.core.automations import AutomationKind
    from ato_desktop.store import automations as automation_store

    schedules = automation_store.list_definitions(built, AutomationKind.SCHEDULE)
    assert len(schedules) == 2
    for schedule in schedules:
        state = automation_store.get_schedule_state(built, schedule.id)
        assert state is not None and state.last_run_id
        run = built.get_run(state.last_run_id)
        assert run.trigger == "cron" and run.tags["schedule"] == schedule.name
        later = _rows(
            built,
            "SELECT count(*) FROM runs WHERE json_extract(tags_json, '$.schedule') = ? "
            "AND started_at > ? AND stage_index IS NULL",
            schedule.name,
            run.started_at,
        )
        assert later == [(0,)]  # it is the newest fire


def test_every_run_a_hook_fired_on_has_its_chain(built: ExecutionLog) -> None:
    """Hook chains as engine.hooks records them, after every run that fired them: a completed
    release-notes run (announce-release) or a failed support-triage run (the digest), from the
    hooks' creation on, a failed announcement's digest inside its chain."""
    from ato_desktop.core.automations import AutomationKind
    from ato_desktop.store import automations as automation_store

    hooks = {h.name: h for h in automation_store.list_definitions(built, AutomationKind.HOOK)}
    assert set(hooks) == {"announce-release", "triage-failure-digest"}
    since = max(h.created_at for h in hooks.values())
    sources = {
        run_id: name
        for run_id, name in _rows(
            built,
            "SELECT r.id, CASE a.name WHEN 'release-notes' THEN 'announce-release' "
            "ELSE 'triage-failure-digest' END FROM runs r JOIN agents a ON a.id = r.agent_id "
            "WHERE r.ended_at >= ? AND r.ended_at < ? "
            "AND json_extract(r.tags_json, '$.\"hook.chain\"') IS NULL "
            "AND ((a.name = 'release-notes' AND r.status = 'completed') OR "
            "(a.name = 'support-triage' AND r.status = 'failed'))",
            since,
            # A chain that would still be running at the demo's "now" is not in it.
            demo_now_ms(NOW) - 15 * 60_000,
        )
    }
    chains = {
        source: (name, run_id)
        for run_id, name, source in _rows(
            built,
            "SELECT id, model, parent_run_id FROM runs WHERE runtime = 'pipeline' "
            "AND json_extract(tags_json, '$.\"pipeline.kind\"') = 'hook'",
        )
    }
    assert sources and {s: n for s, (n, _id) in chains.items() if s in sources} == sources
    nested = 0
    for name, chain_id in chains.values():
        detail = automation_store.pipeline_run(built, chain_id)
        assert detail.stages[0].stage_name == "source run"
        for stage in detail.stages[1:]:
            run = built.get_run(stage.run_id)
            assert run.trigger == "hook" and run.parent_run_id == chain_id
            assert run.tags["hook.chain"] == chain_id and run.tags["pipeline"] == name
        nested += len(detail.stages) > 2
    assert nested or all(
        automation_store.pipeline_run(built, c).stages[1].status == "completed"
        for n, c in chains.values()
        if n == "announce-release"
    )


def test_eval_suites_with_two_reports_and_a_diff(built: ExecutionLog) -> None:
    from ato_desktop.core.eval_scoring import figures
    from ato_desktop.engine.evals import load_report
    from ato_desktop.store import evals as eval_store

    suites = {s.name: s for s in eval_store.list_suites(built)}
    assert set(suites) == {"triage-golden", "analyst-golden"}
    assert _rows(built, "SELECT count(*) FROM eval_suites WHERE is_demo = 0") == [(0,)]
    triage = eval_store.suite_runs(built, suite_id=suites["triage-golden"].id)
    on_agent = [r for r in triage if r.target == f"@{REGRESSED_AGENT}"]
    assert len(on_agent) == 2
    newer, older = on_agent
    assert (older.agent_version, newer.agent_version) == (2, 3)
    report = load_report(built, newer.id)
    assert report.diff is not None and report.diff.previous_suite_run_id == older.id
    assert report.diff.newly_failing  # the regression, case by case
    assert newer.pass_rate is not None and older.pass_rate is not None
    assert newer.pass_rate < older.pass_rate
    for run in triage:
        cases = eval_store.case_results(built, run.id)
        assert len(cases) == run.case_count
        again = figures(cases, run.case_count)
        assert (again.passed, again.pass_rate) == (run.passed_count, run.pass_rate)
        for case in cases:
            dispatched = built.get_run(case.run_id or "")
            assert dispatched.trigger == "eval" and dispatched.is_demo
            assert dispatched.tags["eval.suite_run"] == run.id
            assert dispatched.model == run.model


def test_cost_recommendations_one_earned_and_one_refused(built: ExecutionLog) -> None:
    """Evidence gathered as the app gathers it (replays of the agent's newest runs on the
    candidate, then its suites there): gpt-5-mini qualifies for data-analyst; haiku does not
    for support-triage, whose eval score on it is too low."""
    from ato_desktop.engine.cost_recs import cost_recommendations

    report = cost_recommendations(built, now=NOW)
    assert [(r.agent_name, r.candidate.stats.model) for r in report.recommendations] == [
        ("data-analyst", "gpt-5-mini")
    ]
    rec = report.recommendations[0]
    assert rec.candidate.stats.replays >= 10 and rec.candidate.stats.eval_score is not None
    triage = next(a for a in report.agents if a.agent_name == REGRESSED_AGENT)
    haiku = next(c for c in triage.candidates if c.stats.model == "claude-haiku-4-5")
    assert not haiku.qualifies and (haiku.saving_pct or 0) >= 30
    assert any(reason.startswith("eval score") for reason in haiku.reasons)
    # The evidence is real: replays of the agents' own production runs.
    for (source_agent,) in _rows(
        built,
        "SELECT s.agent_id FROM runs r JOIN runs s ON s.id = r.replay_of "
        "WHERE json_extract(r.tags_json, '$.\"replay.target\"') LIKE '% · %'",
    ):
        assert source_agent is not None


def test_removal_takes_the_automations_evals_and_simulations_of_the_demo_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#17.7 and #17.14: demo definitions (with their versions and schedule progress), suites
    (with their reports), the skill flow's file, and the simulations someone ran of demo runs
    all go with the demo; the user's own group, suite, runs and their simulations stay."""
    import asyncio

    from ato_desktop.core.automations import AutomationKind, GroupMode, GroupSpec, Stage
    from ato_desktop.core.eval_suite import parse_suite
    from ato_desktop.engine.demo import demo_folder
    from ato_desktop.engine.simulation import simulate
    from ato_desktop.engine.workspace import Workspace
    from ato_desktop.store import automations as automation_store
    from ato_desktop.store import evals as eval_store

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    ws = Workspace.open(DataPaths(tmp_path))
    try:
        store = ws.store
        mine = store.create_agent("mine", AgentConfig("claude", "claude-sonnet-5")).result()
        my_run = NewRun("claude", "claude-sonnet-5", "cli", NOW - 5_000, agent_id=mine.id)
        call = NewAction(
            "call_llm",
            "llm",
            "success",
            NOW - 5_000,
            NOW - 4_000,
            inputs={"runtime": "claude", "model": "claude-sonnet-5", "messages": [
                {"role": "user", "content": "hi"}
            ]},
            outputs={"text": "hello"},
        )  # fmt: skip
        store.ingest([(my_run, RunEnd("completed", NOW - 4_000, 10**9), [call])]).result()
        [my_run_id] = [r.id for r in store.list_runs(RunFilter(agent_id=mine.id))]
        automation_store.create_definition(
            store,
            AutomationKind.GROUP,
            "my-group",
            GroupSpec(GroupMode.SEQUENTIAL, stages=(Stage("one", "mine"),)),
        ).result()
        text = '{"id": "a", "input": "hi", "expected": "hi"}\n'
        eval_store.save_suite(store, parse_suite(text, default_name="my-suite"), text).result()
        # The user's suite shares a name with none of the demo's; a definition named like the
        # demo's makes the demo's get a "-demo" twin.
        automation_store.create_definition(
            store,
            AutomationKind.GROUP,
            "release-train",
            GroupSpec(GroupMode.SEQUENTIAL, stages=(Stage("one", "mine"),)),
        ).result()
        build_demo_workspace(store, PRICES, runs=300, seed=9, now_ms=NOW)
        names = {r.name for r in automation_store.list_definitions(store)}
        assert {"release-train", "release-train-demo", "my-group"} <= names
        assert demo_folder(store.paths).is_dir()
        analyst = store.get_agent("data-analyst")
        demo_run = store.list_runs(RunFilter(agent_id=analyst.id, statuses=("completed",)))[0]
        assert demo_run.is_demo

        async def simulations() -> list[str | None]:
            made = []
            for run_id in (demo_run.id, my_run_id):
                made.append((await simulate(ws, run_id, reexecute=False)).simulation_run_id)
            await ws.live.aclose()
            return made

        demo_simulation, my_simulation = asyncio.run(simulations())
        assert demo_simulation and my_simulation

        removed = remove_demo_workspace(store)
        assert removed.automations == 7 and removed.eval_suites == 2
        assert {r.name for r in automation_store.list_definitions(store)} == {
            "my-group",
            "release-train",
        }
        assert [s.name for s in eval_store.list_suites(store)] == ["my-suite"]
        assert _rows(store, "SELECT count(*) FROM eval_suite_runs") == [(0,)]
        assert _rows(store, "SELECT count(*) FROM automation_versions") == [(2,)]
        assert _rows(store, "SELECT count(*) FROM schedule_state") == [(0,)]
        left = {r.id for r in store.list_runs(RunFilter(), limit=100)}
        assert left == {my_run_id, my_simulation}
        assert not demo_folder(store.paths).exists()
        assert not has_demo_data(store)
    finally:
        ws.close()
