"""Domain vocabulary shared by every layer: enums, token usage, runtime events, requests.

The words the log itself uses (statuses, runtimes, token usage, an agent's config, ...) are
defined in core.vocabulary and named here as well."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

# The shared words, named here too (most of the app imports them from this module).
from ato_desktop.core.agent_records import AgentConfig as AgentConfig
from ato_desktop.core.vocabulary import CostSource as CostSource
from ato_desktop.core.vocabulary import ErrorClass as ErrorClass
from ato_desktop.core.vocabulary import Outcome as Outcome
from ato_desktop.core.vocabulary import RunStatus as RunStatus
from ato_desktop.core.vocabulary import RuntimeName as RuntimeName
from ato_desktop.core.vocabulary import TokenUsage as TokenUsage
from ato_desktop.core.vocabulary import Trigger as Trigger
from ato_desktop.core.vocabulary import storable_text as storable_text


@dataclass(frozen=True, slots=True)
class Cost:
    """A cost in USD with its source; usd is None exactly when the source is unknown."""

    usd: float | None
    source: CostSource

    @staticmethod
    def unknown() -> Cost:
        return Cost(None, CostSource.UNKNOWN)


class EventKind(enum.StrEnum):
    TEXT = "text"
    USAGE = "usage"
    FINISH = "finish"
    ERROR = "error"
    TOOL_CALL = "tool_call"  # the model asks for a tool (API runtimes; complete, not deltas)
    STEP = "step"  # a coding agent finished a step of its own (message, tool, command, file)
    # The provider accepted the request: its response began (API runtimes). A call that ends
    # without it never reached the model, and costs nothing.
    ACCEPTED = "accepted"


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as offered to a model: the name it sees, what it does, its JSON Schema input."""

    name: str
    description: str
    input_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object"})


@dataclass(frozen=True, slots=True)
class ToolCall:
    """The model's request to run a tool. arguments is the parsed JSON object; arguments the
    model sent that are not a JSON object arrive as {"$raw": "<text>"} so nothing is lost."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class FileTouch:
    """A file a coding agent created, edited or deleted."""

    path: str
    change: str  # "created" | "edited" | "deleted"


@dataclass(frozen=True, slots=True)
class AgentStep:
    """One completed step of a coding agent (Claude Code, Codex CLI), recorded as an action.

    kind: "message" (text the agent wrote), "tool" (a tool it used), "command" (a shell
    command it ran), "file" (a file change), "reasoning", "wait" (the agent waits to retry its
    API, e.g. Claude Code's api_retry). name is what the Runs page shows (e.g. "Bash", "Edit",
    "command", "file_change", "api_retry").
    """

    name: str
    kind: str
    inputs: Any = None
    outputs: Any = None
    outcome: str = "success"
    duration_ns: int | None = None
    files_touched: tuple[FileTouch, ...] = ()
    usage: TokenUsage | None = None
    provider_cost_usd: float | None = None


@dataclass(frozen=True, slots=True)
class RuntimeEvent:
    """The one small event type every runtime adapter yields.

    text: a chunk of the answer (kind TEXT).
    usage: normalised token usage (kind USAGE); provider_cost_usd when the provider stated a cost.
    output_counted: False when the usage's output count is not the provider's final one (a
    stream that ended before it): input and cache counts are exact, output is to be estimated.
    finish_reason / response_id / response_model: how the answer ended (kind FINISH).
    error_class / message / status_code: a failure (kind ERROR); always the last event.
    """

    kind: EventKind
    text: str = ""
    usage: TokenUsage | None = None
    provider_cost_usd: float | None = None
    finish_reason: str | None = None
    response_id: str | None = None
    response_model: str | None = None
    error_class: ErrorClass | None = None
    message: str = ""
    status_code: int | None = None
    tool_call: ToolCall | None = None
    step: AgentStep | None = None
    output_counted: bool = True

    @staticmethod
    def text_delta(text: str) -> RuntimeEvent:
        return RuntimeEvent(EventKind.TEXT, text=storable_text(text))

    @staticmethod
    def accepted() -> RuntimeEvent:
        return RuntimeEvent(EventKind.ACCEPTED)

    @staticmethod
    def usage_report(
        usage: TokenUsage, provider_cost_usd: float | None = None, *, output_counted: bool = True
    ) -> RuntimeEvent:
        return RuntimeEvent(
            EventKind.USAGE,
            usage=usage,
            provider_cost_usd=provider_cost_usd,
            output_counted=output_counted,
        )

    @staticmethod
    def finish(
        reason: str | None, response_id: str | None = None, response_model: str | None = None
    ) -> RuntimeEvent:
        return RuntimeEvent(
            EventKind.FINISH,
            finish_reason=reason,
            response_id=response_id,
            response_model=response_model,
        )

    @staticmethod
    def tool(call: ToolCall) -> RuntimeEvent:
        return RuntimeEvent(EventKind.TOOL_CALL, tool_call=call)

    @staticmethod
    def agent_step(step: AgentStep) -> RuntimeEvent:
        return RuntimeEvent(EventKind.STEP, step=step)

    @staticmethod
    def error(
        error_class: ErrorClass, message: str, status_code: int | None = None
    ) -> RuntimeEvent:
        return RuntimeEvent(
            EventKind.ERROR, error_class=error_class, message=message, status_code=status_code
        )


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One turn of a conversation (the system prompt lives apart).

    role "user" or "assistant": content is text; an assistant turn that asked for tools
    carries them in tool_calls (content may be empty). role "tool": the result of the call
    tool_call_id, content its text, is_error when the tool failed or was blocked. Each adapter
    maps this onto its API (Anthropic tool_use / tool_result blocks, Responses function_call /
    function_call_output items, Chat Completions tool_calls / tool messages).
    """

    role: str
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    tool_name: str | None = None
    is_error: bool = False


@dataclass(frozen=True, slots=True)
class RuntimeRequest:
    """Everything an adapter needs to make one streaming call. Built by the dispatcher.

    params holds generation parameters in ATO's neutral names (temperature, top_p, max_tokens,
    stop, seed, ...); each adapter maps them onto its API and ignores what it cannot send.
    tools are offered in each API's own format; the model answers with TOOL_CALL events.
    cwd is the working directory of a coding-agent runtime (subprocess); API runtimes ignore it.
    api_key is never logged or stored; repr hides it.
    """

    model: str
    messages: tuple[ChatMessage, ...]
    system: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    tools: tuple[ToolSpec, ...] = ()
    cwd: str | None = None
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    connect_timeout_s: float = 10.0
    request_timeout_s: float = 600.0
    stall_timeout_s: float = 60.0
    max_retries: int = 2
    # A rate limit that asks for a longer wait than this fails the call at once (rate_limit,
    # the wait in its message) instead of the SDK sleeping for as long as the server says.
    max_retry_wait_s: float = 60.0


class ToolRule(enum.StrEnum):
    """What an agent may do with one tool."""

    ALLOW = "allow"  # the default
    DENY = "deny"  # never offered to the model
    APPROVE = "approve"  # offered; each call waits for the user's approval (denied = blocked)
