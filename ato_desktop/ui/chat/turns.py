"""What a conversation shows, as plain data: turns built from a thread view, and their labels.

No Qt here: the conversation widget renders these, the tests read them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ato_desktop.core.cost_rollup import format_cost
from ato_desktop.core.models import CostSource
from ato_desktop.core.records import MessageRecord, RunRecord
from ato_desktop.core.timefmt import human_duration
from ato_desktop.engine.dispatcher import DispatchResult
from ato_desktop.store.thread_ops import ThreadView


@dataclass(frozen=True, slots=True)
class TurnStats:
    """How one answer went: its run, timing, tokens and cost."""

    run_id: str
    status: str
    duration_ns: int | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    tokens_estimated: bool = False
    cost_usd: float | None = None
    cost_source: str | None = None
    model: str | None = None
    agent_id: str | None = None
    agent_name: str | None = None
    error_class: str | None = None
    error_message: str | None = None

    @staticmethod
    def from_run(run: RunRecord) -> TurnStats:
        return TurnStats(
            run_id=run.id,
            status=run.status,
            duration_ns=run.duration_ns,
            input_tokens=run.usage.input_tokens,
            output_tokens=run.usage.output_tokens,
            tokens_estimated=run.tokens_estimated,
            cost_usd=run.cost_usd,
            cost_source=run.cost_source,
            model=run.model,
            agent_id=run.agent_id,
            agent_name=run.agent_name,
            error_class=run.error_class,
            error_message=run.error_message,
        )

    @staticmethod
    def from_result(
        result: DispatchResult,
        *,
        model: str | None = None,
        agent_id: str | None = None,
        agent_name: str | None = None,
    ) -> TurnStats:
        """Stats of a dispatch that just ended, before the log is read again."""
        usage = result.usage
        return TurnStats(
            run_id=result.run_id,
            status=result.status.value,
            duration_ns=result.duration_ns,
            input_tokens=usage.input_tokens if usage else 0,
            output_tokens=usage.output_tokens if usage else 0,
            tokens_estimated=result.tokens_estimated,
            cost_usd=result.cost.usd if result.cost else None,
            cost_source=result.cost.source.value if result.cost else None,
            model=model,
            agent_id=agent_id,
            agent_name=agent_name,
            error_class=result.error_class.value if result.error_class else None,
            error_message=result.error_message,
        )

    @property
    def cost_is_estimated(self) -> bool:
        return self.cost_source == CostSource.ESTIMATED.value

    def cost_text(self) -> str:
        """The cost without its badge ('$0.0012'); 'unknown' for an unpriced model."""
        if self.cost_is_estimated:
            return format_cost(self.cost_usd, CostSource.PROVIDER.value)
        return format_cost(self.cost_usd, self.cost_source)

    def duration_text(self) -> str:
        return human_duration(self.duration_ns)

    def tokens_text(self) -> str:
        """'150 in · 7 out', with '~' when counted by us rather than the provider."""
        if not self.input_tokens and not self.output_tokens:
            return "no tokens"
        mark = "~" if self.tokens_estimated else ""
        return f"{mark}{self.input_tokens:,} in · {mark}{self.output_tokens:,} out"


@dataclass(frozen=True, slots=True)
class TurnItem:
    """One bubble of the conversation. key is stable across reloads (role + run id)."""

    key: str
    role: str  # "user" | "assistant" | "error"
    text: str
    stats: TurnStats | None = None
    prompt: str = ""  # error turns: the prompt to send again


def message_turn_key(message: MessageRecord) -> str:
    """The key of the turn that shows this message (a prompt's or an answer's bubble)."""
    ident = message.run_id or f"m{message.id}"
    return f"{'user' if message.role == 'user' else 'assistant'}:{ident}"


def build_turns(view: ThreadView) -> list[TurnItem]:
    """The turns of a thread: each prompt, then its answer, or what went wrong."""
    answered = {m.run_id for m in view.messages if m.role == "assistant" and m.run_id}
    turns: list[TurnItem] = []
    for message in view.messages:
        run = view.runs.get(message.run_id) if message.run_id else None
        stats = TurnStats.from_run(run) if run is not None else None
        key = message_turn_key(message)
        if message.role == "user":
            turns.append(TurnItem(key, "user", message.content))
            if run is not None and run.id not in answered and run.status != "running":
                partial = view.partial_outputs.get(run.id, "")
                turns.append(
                    TurnItem(f"error:{run.id}", "error", partial, stats, prompt=message.content)
                )
        else:
            turns.append(TurnItem(key, "assistant", message.content, stats))
    return turns


ERROR_TITLES = {
    "auth": "The API key is missing or was not accepted",
    "rate_limit": "Rate limited by the provider",
    "timeout": "The request timed out",
    "network": "Could not reach the server",
    "stalled": "The answer stalled",
    "stream_interrupted": "The answer was cut off",
    "bad_request": "The provider rejected the request",
    "server_error": "The provider had an error",
    "killed": "Stopped before any answer",
    "interrupted": "Interrupted: the app closed while answering",
    "config": "The agent's settings cannot be used",
    "ceiling": "A guardrail stopped the run",
    "tool": "A tool server could not be used",
    "recording": "The answer could not be saved to the log",
}

RETRYABLE = frozenset(
    {"rate_limit", "timeout", "network", "stalled", "stream_interrupted", "server_error"}
)
AGENT_FIXABLE = frozenset({"config", "bad_request", "network", "timeout"})


def error_title(error_class: str | None) -> str:
    return ERROR_TITLES.get(error_class or "", "The run failed")


def relative_time(then_ms: int, now_ms: int) -> str:
    """'just now', '5 min ago', '3 h ago', 'yesterday', '4 d ago', then weeks."""
    seconds = max(0, (now_ms - then_ms) // 1000)
    if seconds < 60:
        return "just now"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min ago"
    hours = minutes // 60
    if hours < 24:
        return f"{hours} h ago"
    days = hours // 24
    if days == 1:
        return "yesterday"
    if days < 14:
        return f"{days} d ago"
    return f"{days // 7} wk ago"
