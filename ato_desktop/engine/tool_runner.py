"""Running the tools a model asks for: the agent's rules, approvals, and an action per call.

The dispatcher's turn loop hands each ToolCall to `ToolRunner.run`, which:
- refuses tools the agent denies (or that no server offers): a blocked action, and the model
  is told why;
- waits for the user on tools marked "approve" (denied = blocked);
- calls the tool on its MCP server through the Toolbox, with the server's timeout;
- records the call as an action: the tool's name, inputs, outputs, duration, outcome
  (success, error, blocked), the server it came from and whether it is read-only;
- returns the result as a "tool" ChatMessage for the next model turn.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from ato_desktop.core.models import AgentConfig, ChatMessage, Outcome, ToolCall, ToolRule, ToolSpec
from ato_desktop.core.records import NewAction
from ato_desktop.core.tools import McpCallResult, ToolRoute, resolve_rule
from ato_desktop.engine.approvals import ApprovalBroker, approval_record
from ato_desktop.store.execution_log import ExecutionLog, now_ms

# What the model sees of a very large tool result; the action keeps all of it.
MAX_RESULT_CHARS_TO_MODEL = 100_000


class ToolboxError(Exception):
    """The agent's tool servers could not be made ready; the message says which and why."""


class Toolbox(Protocol):
    """The tools of an agent's MCP servers for one run (engine.mcp_client.McpToolbox)."""

    @property
    def specs(self) -> Sequence[ToolSpec]: ...

    def route(self, model_name: str) -> ToolRoute | None: ...

    async def call(self, call: ToolCall) -> McpCallResult: ...

    async def aclose(self) -> None: ...


ToolboxFactory = Callable[[AgentConfig], Awaitable[Toolbox]]


class ToolRunner:
    """Runs one run's tool calls; see the module docstring."""

    def __init__(
        self,
        store: ExecutionLog,
        approvals: ApprovalBroker,
        toolbox: Toolbox,
        config: AgentConfig,
        run_id: str,
        run_no: int,
    ) -> None:
        self._store = store
        self._approvals = approvals
        self._toolbox = toolbox
        self._config = config
        self._run_id = run_id
        self._run_no = run_no
        # The toolbox leaves denied tools out: the model cannot ask for what it does not see.
        self.specs: list[ToolSpec] = list(toolbox.specs)

    def _rule(self, route: ToolRoute) -> ToolRule:
        return resolve_rule(self._config.tool_rules, route.server, route.tool)

    async def run(self, call: ToolCall) -> ChatMessage:
        """Run (or refuse) one tool call; record it; return its result for the model."""
        route = self._toolbox.route(call.name)
        started_ms, t0 = now_ms(), time.perf_counter_ns()
        name = route.tool if route else call.name
        meta: dict[str, Any] = {"tool_call_id": call.id, "model_name": call.name}
        if route is not None:
            meta.update(server=route.server, read_only=route.read_only)
        outcome: McpCallResult
        status = Outcome.SUCCESS
        if route is None:
            outcome = _refusal(f"No tool named {call.name!r} is available.")
            status = Outcome.BLOCKED
        elif self._rule(route) is ToolRule.DENY:
            outcome = _refusal(f"The tool {call.name!r} is not allowed for this agent.")
            status = Outcome.BLOCKED
        else:
            approved = True
            if self._rule(route) is ToolRule.APPROVE:
                meta["approval"] = "requested"
                self._store.begin_action(
                    self._run_no,
                    name,
                    "tool",
                    {"arguments": call.arguments, "awaiting_approval": True},
                    started_ms,
                )
                decision = await self._approvals.decide(
                    self._run_id, f"{route.server}/{route.tool}", call.arguments
                )
                approved = decision.approved
                meta["approval"] = "approved" if approved else "denied"
                # Who answered and when: the run's compliance record (the inspector shows it).
                meta.update(approval_record(decision))
            if not approved:
                outcome = _refusal("The user denied this tool call.")
                status = Outcome.BLOCKED
            else:
                self._store.begin_action(self._run_no, name, "tool", call.arguments, now_ms())
                outcome = await self._toolbox.call(call)
                status = Outcome.ERROR if outcome.is_error else Outcome.SUCCESS
        if outcome.error_kind:
            meta["error_kind"] = outcome.error_kind
        outputs: dict[str, Any] = {"content": outcome.content_text}
        if outcome.structured is not None:
            outputs["structured"] = outcome.structured
        action = NewAction(
            name=name,
            kind="tool",
            outcome=status.value,
            started_at=started_ms,
            ended_at=now_ms(),
            inputs=call.arguments,
            outputs=outputs,
            duration_ns=time.perf_counter_ns() - t0,
            error_message=outcome.content_text[:2000] if status is not Outcome.SUCCESS else None,
            meta=meta,
        )
        await asyncio.wrap_future(self._store.append_action(self._run_id, self._run_no, action))
        return ChatMessage(
            "tool",
            _for_model(outcome),
            tool_call_id=call.id,
            tool_name=call.name,
            is_error=status is not Outcome.SUCCESS,
        )

    async def aclose(self) -> None:
        await self._toolbox.aclose()


def _refusal(text: str) -> McpCallResult:
    return McpCallResult(text, is_error=True, error_kind="blocked")


def _for_model(outcome: McpCallResult) -> str:
    text = outcome.content_text
    if not text and outcome.structured is not None:
        text = json.dumps(outcome.structured, ensure_ascii=False)
    if len(text) > MAX_RESULT_CHARS_TO_MODEL:
        text = text[:MAX_RESULT_CHARS_TO_MODEL] + f"\n[... {len(text):,} characters in all]"
    return text
