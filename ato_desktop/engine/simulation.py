"""Simulation replay: re-run a recorded run for free, to see where behaviour would diverge.

No model is called and no tool with side effects runs: their answers come from the recording.
What ATO computes itself is computed again from the agent's current configuration (the request
it would send: system prompt, model, parameters, tools offered, and the conversation so far),
and read-only tools of local (stdio) MCP servers are re-executed for real. So editing an
agent's system prompt, swapping its model or denying a tool shows up as a divergence before a
cent is spent. See core.simulation for the comparison rules.

The simulation is recorded as a run of its own (trigger replay, replay_of the source, tag
simulation): its actions are "replayed" (answered from the recording) or "success" (re-run),
and it costs nothing.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from ato_desktop.core.determinism_scan import strip_call_ids
from ato_desktop.core.ids import uuid7
from ato_desktop.core.models import AgentConfig, Outcome, RunStatus, ToolCall, Trigger
from ato_desktop.core.records import ActionRecord, NewAction, NewRun, RunEnd, RunFilter
from ato_desktop.core.simulation import (
    ACTION_MISMATCH,
    DIVERGED,
    INPUT_MISMATCH,
    MATCH,
    OUTPUT_MISMATCH,
    SimRow,
    SimulationSummary,
    canonical_hash,
    describe_inputs,
    describe_outputs,
    expected_call_inputs,
    input_differences,
    is_simulation,
    merge_output_rows,
    summarize,
    tool_still_offered,
)
from ato_desktop.engine.parts import SimulationParts
from ato_desktop.engine.replay import ReplayUnavailable, source_config
from ato_desktop.engine.tool_runner import Toolbox, ToolboxError
from ato_desktop.store.execution_log import now_ms
from ato_desktop.store.mcp_servers import list_servers

HISTORY_RUNS = 50  # other runs of the agent searched for identical inputs


@dataclass(frozen=True, slots=True)
class SimulationResult:
    source_run_id: str
    simulation_run_id: str | None
    summary: SimulationSummary
    config_label: str  # which configuration the simulation used


async def simulate(
    workspace: SimulationParts, run_id: str, *, record: bool = True, reexecute: bool = True
) -> SimulationResult:
    """Simulate a finished run against the current configuration of its agent."""
    store = workspace.store
    run = await store.read_async(store.get_run, run_id)
    if run.status == RunStatus.RUNNING.value:
        raise ReplayUnavailable("Simulation needs a finished run; this one is still running.")
    actions = await store.read_async(store.get_actions, run.id)
    if not actions:
        raise ReplayUnavailable("Simulation is not available: this run recorded no actions.")
    config, label, notes = await store.read_async(_current_config, workspace, run, actions)
    walker = _Walker(workspace, config, reexecute)
    try:
        rows = await walker.walk(actions)
    finally:
        await walker.aclose()
    notes.extend(walker.notes)
    cross = await store.read_async(_cross_run_mismatches, workspace, run.id, run.agent_id, actions)
    rows = merge_output_rows(rows, cross)
    rows.sort(key=lambda r: (r.seq, r.aspect != "input"))
    summary = summarize(rows, run.cost_usd, notes)
    simulation_id = None
    if record:
        simulation_id = await asyncio.to_thread(
            _record, workspace, run, config, actions, walker.outcomes, summary
        )
    return SimulationResult(run.id, simulation_id, summary, label)


def _current_config(
    workspace: SimulationParts, run: Any, actions: list[ActionRecord]
) -> tuple[AgentConfig, str, list[str]]:
    """The agent's current config (what a fix would run with), else what the run recorded."""
    notes: list[str] = []
    first = next((a for a in actions if a.name == "call_llm"), None)
    inputs = first.inputs if first is not None and isinstance(first.inputs, dict) else {}
    recorded = source_config(workspace, run, inputs)
    if run.agent_id:
        try:
            agent = workspace.store.get_agent(run.agent_id)
        except LookupError:
            notes.append("the run's agent no longer exists: simulated with its recorded config")
            return recorded, "the recorded configuration", notes
        if run.agent_version is not None and run.agent_version != agent.current_version:
            notes.append(
                f"{agent.name} changed since this run (v{run.agent_version} -> "
                f"v{agent.current_version}): simulated with v{agent.current_version}"
            )
        return agent.config, f"{agent.name} v{agent.current_version}", notes
    return recorded, "the recorded configuration", notes


class _Walker:
    """Walks the recorded actions, recomputing what ATO computes."""

    def __init__(self, workspace: SimulationParts, config: AgentConfig, reexecute: bool) -> None:
        self._workspace = workspace
        self._config = config
        self._reexecute = reexecute
        self._toolbox: Toolbox | None = None
        self._toolbox_failed = False
        self._local_servers: set[str] | None = None
        self.notes: list[str] = []
        self.outcomes: dict[int, tuple[str, Any]] = {}  # seq -> (outcome, outputs) of the replay
        # Tool calls the recording has a tool action for: a denial is shown on that action.
        self._recorded_calls: set[str] = set()

    async def walk(self, actions: list[ActionRecord]) -> list[SimRow]:
        rows: list[SimRow] = []
        conversation: list[dict[str, Any]] | None = None
        self._recorded_calls = {
            str(a.meta["tool_call_id"])
            for a in actions
            if a.kind == "tool" and isinstance(a.meta, dict) and a.meta.get("tool_call_id")
        }
        for action in actions:
            if action.name == "call_llm" and isinstance(action.inputs, dict):
                if conversation is None:
                    conversation = list(action.inputs.get("messages") or [])
                rows.extend(self._call(action, conversation))
            elif action.kind == "tool" and isinstance(action.meta, dict):
                row, content = await self._tool(action)
                rows.append(row)
                if conversation is not None:
                    conversation.append(_tool_message(action, content))
            else:
                self.outcomes[action.seq] = (Outcome.REPLAYED.value, action.outputs)
                rows.append(
                    SimRow(
                        action.seq,
                        action.name,
                        "output",
                        describe_outputs(action.outputs),
                        describe_outputs(action.outputs),
                        MATCH,
                        how="from the recording",
                    )
                )
        return rows

    def _call(self, action: ActionRecord, conversation: list[dict[str, Any]]) -> list[SimRow]:
        recorded = action.inputs if isinstance(action.inputs, dict) else {}
        expected = expected_call_inputs(recorded, self._config, list(conversation))
        differences = input_differences(recorded, expected)
        rows = [
            SimRow(
                action.seq,
                action.name,
                "input",
                describe_inputs(recorded),
                describe_inputs(expected),
                DIVERGED if differences else MATCH,
                INPUT_MISMATCH if differences else None,
                "; ".join(differences),
                "recomputed",
            )
        ]
        outputs = action.outputs if isinstance(action.outputs, dict) else {}
        rows.append(
            SimRow(
                action.seq,
                action.name,
                "output",
                describe_outputs(outputs),
                describe_outputs(outputs),
                MATCH,
                how="from the recording",
            )
        )
        self.outcomes[action.seq] = (Outcome.REPLAYED.value, outputs)
        listed = outputs.get("tool_calls")  # a list; some recorders keep only a count
        calls: list[dict[str, Any]] = (
            [c for c in listed if isinstance(c, dict)] if isinstance(listed, list) else []
        )
        for call in calls:
            if str(call.get("id") or "") in self._recorded_calls:
                continue  # the tool's own action says whether it would run now
            if not tool_still_offered(self._config, str(call.get("name", ""))):
                rows.append(
                    SimRow(
                        action.seq,
                        str(call.get("name")),
                        "input",
                        f"called {call.get('name')}",
                        "not offered now",
                        DIVERGED,
                        ACTION_MISMATCH,
                        f"{call.get('name')} is denied or its server was removed: the model "
                        "could not call it today",
                        "recomputed",
                    )
                )
        message: dict[str, Any] = {"role": "assistant", "content": str(outputs.get("text") or "")}
        if calls:
            message["tool_calls"] = calls
        conversation.append(message)
        return rows

    async def _tool(self, action: ActionRecord) -> tuple[SimRow, str]:
        meta = action.meta or {}
        outputs = action.outputs if isinstance(action.outputs, dict) else {}
        recorded = str(outputs.get("content") or "")
        server = str(meta.get("server") or "")
        model_name = str(meta.get("model_name") or (f"{server}__{action.name}" if server else ""))
        if model_name and not tool_still_offered(self._config, model_name):
            # Denied now (or its server removed): the model could not call it, so it is not
            # run again and has no output to compare; the step itself is the one mismatch.
            self.outcomes[action.seq] = (Outcome.BLOCKED.value, None)
            return (
                SimRow(
                    action.seq,
                    action.name,
                    "input",
                    f"called {model_name}",
                    "not offered now",
                    DIVERGED,
                    ACTION_MISMATCH,
                    f"{model_name} is denied or its server was removed: the model could not "
                    "call it today, so it was not run again",
                    "recomputed",
                ),
                recorded,
            )
        if (
            self._reexecute
            and meta.get("read_only") is True
            and action.outcome != Outcome.BLOCKED.value
            and await self._is_local(server)
        ):
            toolbox = await self._open_toolbox()
            if toolbox is not None:
                call = ToolCall(
                    str(meta.get("tool_call_id") or f"sim-{action.seq}"),
                    str(meta.get("model_name") or f"{server}__{action.name}"),
                    action.inputs if isinstance(action.inputs, dict) else {},
                )
                result = await toolbox.call(call)
                fresh = result.content_text
                self.outcomes[action.seq] = (
                    Outcome.ERROR.value if result.is_error else Outcome.SUCCESS.value,
                    {"content": fresh},
                )
                same = fresh == recorded
                return (
                    SimRow(
                        action.seq,
                        action.name,
                        "output",
                        _clip(recorded),
                        _clip(fresh),
                        MATCH if same else DIVERGED,
                        None if same else OUTPUT_MISMATCH,
                        "" if same else "same inputs, a different answer when re-run now",
                        "re-executed (read-only)",
                    ),
                    fresh,
                )
        why = (
            "from the recording (side effects)"
            if meta.get("read_only") is False
            else "from the recording"
        )
        self.outcomes[action.seq] = (Outcome.REPLAYED.value, outputs)
        return (
            SimRow(
                action.seq, action.name, "output", _clip(recorded), _clip(recorded), MATCH, how=why
            ),
            recorded,
        )

    async def _is_local(self, server: str) -> bool:
        """Only stdio servers run on this machine: HTTP ones are external calls."""
        if self._local_servers is None:
            store = self._workspace.store
            records = await store.read_async(list_servers, store)
            self._local_servers = {
                r.config.name.lower() for r in records if r.config.transport == "stdio"
            }
        return server.lower() in self._local_servers and server.lower() in {
            s.lower() for s in self._config.mcp_servers
        }

    async def _open_toolbox(self) -> Toolbox | None:
        if self._toolbox is None and not self._toolbox_failed:
            try:
                self._toolbox = await self._workspace.open_toolbox(self._config)
            except ToolboxError as exc:
                self._toolbox_failed = True
                self.notes.append(f"tools answered from the recording: {exc}")
        return self._toolbox

    async def aclose(self) -> None:
        if self._toolbox is not None:
            await self._toolbox.aclose()


def _tool_message(action: ActionRecord, content: str) -> dict[str, Any]:
    meta = action.meta or {}
    message: dict[str, Any] = {
        "role": "tool",
        "content": content,
        "tool_call_id": meta.get("tool_call_id"),
        "tool_name": meta.get("model_name"),
    }
    if action.outcome != Outcome.SUCCESS.value:
        message["is_error"] = True
    return message


def _cross_run_mismatches(
    workspace: SimulationParts, run_id: str, agent_id: str | None, actions: list[ActionRecord]
) -> list[SimRow]:
    """Actions whose identical inputs got other outputs in the agent's other recent runs."""
    if not agent_id:
        return []
    store = workspace.store

    def digest(value: Any) -> str:
        # Tool call ids are minted per call: equal answers differ in them, so they are left out.
        return canonical_hash(strip_call_ids(value))

    mine = {
        (a.name, digest(a.inputs)): (a, digest(a.outputs))
        for a in actions
        if a.kind in ("llm", "tool") and a.inputs
    }
    rows: list[SimRow] = []
    seen: set[tuple[str, str]] = set()
    for other in store.list_runs(RunFilter(agent_id=agent_id), limit=HISTORY_RUNS + 1):
        if other.id == run_id or is_simulation(other.tags):
            continue
        for theirs in store.get_actions(other.id):
            key = (theirs.name, digest(theirs.inputs))
            if key not in mine or key in seen:
                continue
            action, output_hash = mine[key]
            if digest(theirs.outputs) != output_hash:
                seen.add(key)
                rows.append(
                    SimRow(
                        action.seq,
                        action.name,
                        "output",
                        describe_outputs(action.outputs),
                        describe_outputs(theirs.outputs),
                        DIVERGED,
                        OUTPUT_MISMATCH,
                        f"identical inputs got a different output in run {other.id[-8:]}",
                        "other recorded runs",
                    )
                )
    return rows


def _record(
    workspace: SimulationParts,
    run: Any,
    config: AgentConfig,
    actions: list[ActionRecord],
    outcomes: dict[int, tuple[str, Any]],
    summary: SimulationSummary,
) -> str:
    """The simulation as a run: replayed actions, no cost."""
    started = now_ms()
    t0 = time.perf_counter_ns()
    replayed = [
        NewAction(
            name=a.name,
            kind=a.kind,
            outcome=outcomes.get(a.seq, (Outcome.REPLAYED.value, a.outputs))[0],
            started_at=started,
            ended_at=started,
            inputs=a.inputs,
            outputs=outcomes.get(a.seq, (Outcome.REPLAYED.value, a.outputs))[1],
            meta={**(a.meta or {}), "simulated_from": a.seq},
        )
        for a in actions
    ]
    agent_version_id = None
    if run.agent_id:
        try:
            agent_version_id = workspace.store.get_agent(run.agent_id).current_version_id
        except LookupError:
            agent_version_id = None
    simulation_id = uuid7()
    workspace.store.ingest(
        [
            (
                NewRun(
                    runtime=config.runtime,
                    model=config.model,
                    trigger=Trigger.REPLAY.value,
                    started_at=started,
                    agent_id=run.agent_id if agent_version_id else None,
                    agent_version_id=agent_version_id,
                    replay_of=run.id,
                    tags={
                        "simulation": "true",
                        "divergences": str(summary.divergences),
                        "match_rate": f"{summary.match_rate:.3f}",
                    },
                    id=simulation_id,
                ),
                RunEnd(RunStatus.COMPLETED.value, now_ms(), time.perf_counter_ns() - t0),
                replayed,
            )
        ]
    ).result()
    return simulation_id


def _clip(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
