"""The words every layer and the log share: runtimes, triggers, run statuses, outcomes, error
classes, cost sources and token usage (an agent's versioned config is core.agent_records').

core.models names these too (with the runtime calls' types); they live here so that reading the
log (the CLI's reading commands) creates no more classes than it uses.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:
    pass

_SURROGATE = re.compile("[\ud800-\udfff]")


def storable_text(text: str) -> str:
    """Text UTF-8 can hold: a lone surrogate (JSON's "\\ud800" decodes to one) becomes U+FFFD.
    Free for ASCII text (isascii() reads a flag)."""
    if text.isascii() or _SURROGATE.search(text) is None:
        return text
    return _SURROGATE.sub("\ufffd", text)


class RuntimeName(enum.StrEnum):
    """The runtimes a dispatch can target: three HTTP APIs and two coding agents run as
    subprocesses (Claude Code, Codex CLI)."""

    CLAUDE = "claude"
    CODEX = "codex"
    OPENAI_COMPATIBLE = "openai-compatible"
    CLAUDE_CODE = "claude-code"
    CODEX_CLI = "codex-cli"

    @property
    def is_subprocess(self) -> bool:
        return self in (RuntimeName.CLAUDE_CODE, RuntimeName.CODEX_CLI)


class Trigger(enum.StrEnum):
    """What caused a dispatch."""

    UI = "ui"
    CLI = "cli"
    CRON = "cron"
    HOOK = "hook"
    PIPELINE = "pipeline"
    REPLAY = "replay"
    EVAL = "eval"
    EXTERNAL = "external"


class RunStatus(enum.StrEnum):
    """Lifecycle of a run; everything but RUNNING is final."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    KILLED = "killed"
    INTERRUPTED = "interrupted"

    @property
    def is_final(self) -> bool:
        return self is not RunStatus.RUNNING


class Outcome(enum.StrEnum):
    """Outcome of one action."""

    SUCCESS = "success"
    ERROR = "error"
    BLOCKED = "blocked"
    REPLAYED = "replayed"


class ErrorClass(enum.StrEnum):
    """Why a dispatch failed. Stable strings: they appear in JSON output and filters."""

    AUTH = "auth"
    RATE_LIMIT = "rate_limit"
    TIMEOUT = "timeout"
    NETWORK = "network"
    STALLED = "stalled"
    STREAM_INTERRUPTED = "stream_interrupted"
    BAD_REQUEST = "bad_request"
    SERVER_ERROR = "server_error"
    KILLED = "killed"
    INTERRUPTED = "interrupted"
    CONFIG = "config"
    CEILING = "ceiling"  # a guardrail stopped the run: too many tool calls, or too much spent
    TOOL = "tool"  # a tool server could not be reached or failed to start
    RECORDING = "recording"  # the log refused the run's last step (a bug of ours, not the run's)


class CostSource(enum.StrEnum):
    """Where a cost figure came from.

    provider: the provider's response stated the cost.
    estimated: token counts x the price table (the "est." badge).
    unknown: the model is not priced; never shown as $0.
    local: a model served from this machine or a private network ($0, shown as "local"; the
    user's prices.json can price it instead).
    """

    PROVIDER = "provider"
    ESTIMATED = "estimated"
    UNKNOWN = "unknown"
    LOCAL = "local"


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Token counts in one normalised form, whatever the provider reported.

    input_tokens counts every prompt token, cached ones included (OpenAI's and OpenTelemetry's
    semantics); cache_read_tokens and cache_write_tokens are the parts of it served from or written
    to the prompt cache. output_tokens includes reasoning_tokens. cache_write_1h_tokens is the part
    of cache_write_tokens written with the 1-hour lifetime (Anthropic's ephemeral_1h), which is
    priced higher than the 5-minute one.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cache_write_1h_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
            self.cache_write_1h_tokens + other.cache_write_1h_tokens,
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "input": self.input_tokens,
            "output": self.output_tokens,
            "cache_read": self.cache_read_tokens,
            "cache_write": self.cache_write_tokens,
            "reasoning": self.reasoning_tokens,
        }
