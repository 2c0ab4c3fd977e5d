"""Builders the suites share: agents on the loopback provider, finished runs written straight
into the log, and a coroutine run on the engine's services the way the CLI runs one.

They write through the real store (ExecutionLog.ingest, the agent service), never around it.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from ato_desktop.core.automations import AutomationKind, GroupMode, GroupSpec, Stage
from ato_desktop.core.mcp_config import McpServerConfig
from ato_desktop.core.models import AgentConfig, CostSource, TokenUsage
from ato_desktop.core.records import AgentRecord, NewAction, NewRun, RunEnd
from ato_desktop.engine.dispatcher import DispatchRequest, DispatchResult
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.mcp_servers import add_server
from tests.fakes import FakeLLMServer, FakeToolCall, Scenario
from tests.fakes.mcp_server import stdio_command
from tests.support.provider_keys import ANTHROPIC_KEY

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[2]

MINUTE_MS = 60_000


def peer_env(home: Path) -> dict[str, str]:
    """The environment of another ATO process on home's log (a CLI dispatch, a daemon): offline,
    its Anthropic key in the environment, no keyring, this tree on the path."""
    return {
        **os.environ,
        "ATO_HOME": str(home),
        "ATO_OFFLINE": "1",
        "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
        "NO_PROXY": "127.0.0.1,localhost",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "PYTHONPATH": str(REPO),
    }


def base_url(fake: FakeLLMServer, runtime: str) -> str:
    """Where the fake serves runtime's wire format."""
    return fake.anthropic_base_url if runtime.startswith("claude") else fake.openai_base_url


def fake_agent(
    ws: Workspace,
    fake: FakeLLMServer,
    name: str,
    runtime: str = "claude",
    model: str = "claude-sonnet-5",
    **config: Any,
) -> AgentRecord:
    """An agent whose runtime talks to the fake provider."""
    return ws.agents.create(
        name, AgentConfig(runtime, model, base_url=base_url(fake, runtime), **config)
    )


def support_agent(ws: Workspace, fake: FakeLLMServer, name: str = "support") -> AgentRecord:
    """The evals' support agent: Claude Haiku with a one-line system prompt, on the fake."""
    return fake_agent(
        ws, fake, name, "claude", "claude-haiku-4-5", system_prompt="You are a support agent."
    )


def article_group(ws: Workspace, fake: FakeLLMServer) -> None:
    """Three agents on the fake (researcher, writer, editor) and the sequential group "article"
    that hands the input through them."""
    for name in ("researcher", "writer", "editor"):
        fake_agent(ws, fake, name)
    spec = GroupSpec(
        GroupMode.SEQUENTIAL,
        stages=(
            Stage("research", "researcher", "Find facts about {input}"),
            Stage("draft", "writer", "Write from: {previous}"),
            Stage("edit", "editor", "Edit: {previous}"),
        ),
    )
    ws.automations.definitions.add(AutomationKind.GROUP, "article", spec)


def approval_clerk(
    ws: Workspace,
    fake: FakeLLMServer,
    notes: Path,
    note: str,
    *,
    timeout_s: float = 30,
    source: str = "test",
) -> AgentRecord:
    """The agent "clerk" on the fake, whose shop/write_note calls wait for approval: the fake
    "shop" MCP server registered (stdio, appending to notes), and the fake set to call
    write_note(note) once, then answer "Done."."""
    command, args, env = stdio_command("--notes", str(notes))
    add_server(
        ws.store,
        McpServerConfig("shop", "stdio", command=command, args=args, env=env, timeout_s=timeout_s),
    ).result()
    fake.enqueue(
        Scenario(
            chunks=("I'll note that.",),
            tool_calls=(FakeToolCall("shop__write_note", {"text": note}),),
        ),
        Scenario(chunks=("Done.",)),
    )
    config = AgentConfig(
        "claude",
        "claude-sonnet-5",
        base_url=fake.anthropic_base_url,
        mcp_servers=("shop",),
        tool_rules={"shop/write_note": "approve"},
    )
    return ws.agents.create("clerk", config, source=source)


def run_to_end(ws: Workspace, coro: Coroutine[Any, Any, T]) -> T:
    """Run coro on a loop of its own (as a CLI command does), then stop what it started on that
    loop: the online judge, automations and the live-run registry."""

    async def go() -> T:
        try:
            return await coro
        finally:
            await ws.online_judge.aclose()
            await ws.automations.aclose()
            await ws.live.aclose()

    return asyncio.run(go())


def dispatch(ws: Workspace, request: DispatchRequest) -> DispatchResult:
    """One dispatch through the one path, run to its end."""
    return run_to_end(ws, ws.dispatcher.dispatch(request))


def ticket_runs(
    store: ExecutionLog,
    agent: AgentRecord,
    start: int,
    count: int,
    *,
    tag: str,
    seed: int | str,
    failed: int = 0,
    seconds: float = 2.0,
    cost: float = 0.01,
    step: int = MINUTE_MS,
) -> list[str]:
    """count finished support-ticket runs of the agent's current version, step ms apart, the
    first `failed` of them failed (bad_request); durations and costs jitter by seed. Returns
    their ids (tag, then the index, padded)."""
    rng = random.Random(seed)
    version_id = store.get_agent(agent.id).current_version_id
    batch, ids = [], []
    for i in range(count):
        run_id = f"{tag}{i:04x}".ljust(32, "0")
        began = start + i * step
        ms = int(seconds * 1000 * rng.uniform(0.8, 1.2))
        bad = i < failed
        call = NewAction(
            "call_llm",
            "llm",
            "error" if bad else "success",
            began,
            began + ms,
            inputs={"messages": [{"role": "user", "content": f"Ticket {tag}-{i}: refund please"}]},
            outputs=None if bad else {"text": "Refunded."},
            usage=TokenUsage(100, 20),
            cost_usd=cost * rng.uniform(0.9, 1.1),
            cost_source=CostSource.ESTIMATED,
            duration_ns=ms * 1_000_000,
        )
        end = (
            RunEnd("failed", began + ms, ms * 1_000_000, None, "bad_request", "prompt too long")
            if bad
            else RunEnd("completed", began + ms, ms * 1_000_000)
        )
        new = NewRun(
            "claude",
            "claude-sonnet-5",
            "cli",
            began,
            agent_id=agent.id,
            agent_version_id=version_id,
            id=run_id,
        )
        batch.append((new, end, [call]))
        ids.append(run_id)
    store.ingest(batch).result()
    return ids


def priced_runs(
    store: ExecutionLog, agent_name: str, tag: str, count: int, cost: float, ok: int, *, start: int
) -> None:
    """count finished runs of the agent's current config (its runtime and model) a minute apart,
    each one call at cost (estimated), the first ok of them completed and the rest failed."""
    agent = store.get_agent(agent_name)
    batch = []
    for i in range(count):
        began = start + i * MINUTE_MS
        new = NewRun(
            agent.config.runtime,
            agent.config.model,
            "cli",
            began,
            agent_id=agent.id,
            agent_version_id=agent.current_version_id,
            id=f"{tag}{i:04x}".ljust(32, "0"),
        )
        call = NewAction(
            "call_llm",
            "llm",
            "success",
            began,
            began + 1000,
            usage=TokenUsage(100, 10),
            cost_usd=cost,
            cost_source=CostSource.ESTIMATED,
        )
        status = "completed" if i < ok else "failed"
        batch.append((new, RunEnd(status, began + 1000, 10**9), [call]))
    store.ingest(batch).result()
