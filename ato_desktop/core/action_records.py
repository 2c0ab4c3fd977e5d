"""An action as the log records it (ActionRecord).

Apart from core.log_records (runs) so that a command that lists runs or agents creates no action
class; core.records names it too.
"""

from __future__ import annotations

from dataclasses import dataclass

from ato_desktop.core.vocabulary import TokenUsage

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:
    from typing import Any


@dataclass(frozen=True, slots=True)
class ActionRecord:
    run_id: str
    seq: int
    parent_seq: int | None
    name: str
    kind: str
    inputs: Any
    outputs: Any
    usage: TokenUsage | None
    tokens_estimated: bool
    ttft_ns: int | None
    duration_ns: int | None
    cost_usd: float | None
    cost_source: str | None
    outcome: str
    started_at: int
    ended_at: int | None
    error_class: str | None
    error_message: str | None
    meta: dict[str, Any] | None
