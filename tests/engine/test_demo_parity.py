"""The demo's automations and evals are what the app itself writes (#17.14): a pipeline run, a
routed run, a hook chain and an eval report made by the real engines (through the official SDK
against the loopback fakes) have the very shape of the demo's: the same columns filled, the same
tags, the same actions with the same inputs and outputs, the same report details."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ato_desktop.core.automations import (
    AutomationKind,
    GroupMode,
    GroupSpec,
    HookEvent,
    HookSpec,
    OnFailure,
    RouteRule,
    Stage,
    TargetKind,
)
from ato_desktop.core.eval_suite import parse_suite
from ato_desktop.core.models import AgentConfig
from ato_desktop.core.pricing import PriceBook
from ato_desktop.core.records import RunRecord
from ato_desktop.engine.demo import build_demo_workspace
from ato_desktop.engine.dispatcher import DispatchRequest
from ato_desktop.engine.evals import EvalTarget, run_suite
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store import automations as automation_store
from ato_desktop.store import evals as eval_store
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.paths import DataPaths
from tests.fakes import FakeLLMServer, Scenario
from tests.support.builders import run_to_end

T = TypeVar("T")
NOW = 1_795_000_000_000


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExecutionLog]:
    store = ExecutionLog.open(DataPaths(tmp_path_factory.mktemp("demo")).ensure())
    build_demo_workspace(store, PriceBook(), runs=900, seed=4, now_ms=NOW)
    yield store
    store.close()


def _run_shape(store: ExecutionLog, run: RunRecord) -> dict[str, Any]:
    """What a run looks like, without its values: which columns are set, its tag keys, and
    its actions' names, kinds and the keys of their inputs, outputs and meta."""
    actions = store.get_actions(run.id)
    return {
        "runtime": run.runtime == "pipeline",
        "set": sorted(
            name
            for name in ("agent_id", "parent_run_id", "pipeline_id", "stage_index", "stage_name")
            if getattr(run, name) is not None
        ),
        "tags": sorted(k for k in run.tags if not k.startswith("schedule")),
        "actions": [
            (
                a.name,
                a.kind,
                sorted(a.inputs) if isinstance(a.inputs, dict) else None,
                sorted(a.outputs) if isinstance(a.outputs, dict) else None,
                sorted(a.meta or {}),
            )
            for a in actions
            if a.name != "call_llm"  # a model call's shape is the dispatcher's (test_demo)
        ],
        "stages": sorted(
            {k for s in (actions[-1].outputs or {}).get("stages", []) for k in s}
            if actions and isinstance(actions[-1].outputs, dict)
            else set()
        ),
    }


def _parent(store: ExecutionLog, kind: str, **where: Any) -> RunRecord:
    for summary in automation_store.list_pipeline_runs(store, limit=500):
        run = store.get_run(summary.run_id)
        if summary.kind != kind or run.status != where.get("status", run.status):
            continue
        if "name" in where and summary.name != where["name"]:
            continue
        if run.trigger in ("ui", "cli", "hook"):
            return run
    raise AssertionError(f"no {kind} run like {where}")


def _stages(store: ExecutionLog, parent: RunRecord) -> list[RunRecord]:
    return [
        store.get_run(s.run_id)
        for s in automation_store.pipeline_run(store, parent.id).stages
        if s.run_id and s.stage_name != automation_store.SOURCE_STAGE
    ]


def _agents(ws: Workspace, fake: FakeLLMServer, *names: str) -> None:
    for name in names:
        ws.agents.create(
            name,
            AgentConfig("claude", "claude-sonnet-5", "Be brief.", base_url=fake.anthropic_base_url),
        )


def test_pipelines_routed_groups_and_hook_chains_match_the_engines(
    workspace: Workspace, fake: FakeLLMServer, demo: ExecutionLog
) -> None:
    _agents(workspace, fake, "reviewer", "writer", "summarizer", "triage", "analyst")
    definitions = workspace.automations.definitions
    definitions.add(
        AutomationKind.GROUP,
        "train",
        GroupSpec(
            GroupMode.SEQUENTIAL,
            stages=(
                Stage("review", "reviewer", "Review {input}"),
                Stage("notes", "writer", "Notes from {previous}", on_failure=OnFailure.RETRY,
                      retries=1),
                Stage("summary", "summarizer", "Sum up {previous}", on_failure=OnFailure.SKIP),
            ),
        ),
    )  # fmt: skip
    definitions.add(
        AutomationKind.GROUP,
        "desk",
        GroupSpec(
            GroupMode.ROUTED,
            members=("triage", "analyst"),
            rules=(RouteRule("analyst", r"(?i)how many", "regex"),),
            default_member="triage",
        ),
    )
    definitions.add(
        AutomationKind.HOOK,
        "follow",
        HookSpec(HookEvent.COMPLETED, "writer", TargetKind.AGENT, "triage", "Tell: {run.output}"),
    )
    fake.scenario = Scenario(chunks=("fine",))

    async def go() -> None:
        pipelines = workspace.automations.pipelines
        await pipelines.run_group("train", "release 2.3.0")
        await pipelines.run_group("desk", "How many trials converted?")
        workspace.automations.start()
        await workspace.dispatcher.dispatch(DispatchRequest("notes please", agent="writer"))
        await workspace.automations.drain(30)

    run_to_end(workspace, go())
    real = workspace.store

    for kind, where in (("group", {"name": "train"}), ("group", {"name": "desk"})):
        app_parent = _parent(real, kind, **where)
        demo_parent = _parent(
            demo, kind, name="release-train" if where["name"] == "train" else "support-desk"
        )
        assert _run_shape(demo, demo_parent) == _run_shape(real, app_parent)
        app_stage, demo_stage = _stages(real, app_parent)[0], _stages(demo, demo_parent)[0]
        assert _run_shape(demo, demo_stage) == _run_shape(real, app_stage)
        assert (demo_stage.trigger, app_stage.trigger) == ("pipeline", "pipeline")

    app_chain, demo_chain = _parent(real, "hook"), _parent(demo, "hook", status="completed")
    assert _run_shape(demo, demo_chain) == _run_shape(real, app_chain)
    assert _run_shape(demo, _stages(demo, demo_chain)[0]) == _run_shape(
        real, _stages(real, app_chain)[0]
    )
    # The hook chain's parent follows the run that fired it, in both.
    for store, chain in ((real, app_chain), (demo, demo_chain)):
        source = store.get_run(chain.parent_run_id or "")
        assert chain.tags["hook.source_run"] == source.id and source.agent_id


def test_eval_reports_match_the_engines(
    workspace: Workspace, fake: FakeLLMServer, demo: ExecutionLog, tmp_path: Path
) -> None:
    _agents(workspace, fake, "triage")
    [demo_suite] = [s for s in eval_store.list_suites(demo) if s.name == "triage-golden"]
    text = eval_store.suite_source(demo, demo_suite.id)
    suite = parse_suite(text, default_name="triage-golden")
    fake.scenario = Scenario(chunks=("Category: billing · Priority: P2",))
    for _ in range(2):  # twice: the second report has a diff against the first
        run_to_end(
            workspace, run_suite(workspace, suite, EvalTarget(agent="triage"), source_text=text)
        )
    real = workspace.store
    app_runs = eval_store.suite_runs(real)
    demo_runs = [r for r in eval_store.suite_runs(demo, suite_id=demo_suite.id) if not r.swapped]

    def shape(store: ExecutionLog, record: Any) -> dict[str, Any]:
        cases = eval_store.case_results(store, record.id)
        case_run = store.get_run(cases[0].run_id or "")
        return {
            "set": sorted(k for k, v in record.as_dict().items() if v is not None),
            "details": sorted(record.details),
            "case": sorted(k for k, v in cases[0].as_dict().items() if v not in (None, [])),
            "run": (case_run.trigger, sorted(case_run.tags), case_run.agent_id is not None),
        }

    assert shape(demo, demo_runs[0]) == shape(real, app_runs[0])
    # The second run of each points at the first, as its diff's base.
    assert app_runs[0].details["previous_suite_run_id"] == app_runs[1].id
    assert demo_runs[0].details["previous_suite_run_id"] == demo_runs[1].id
