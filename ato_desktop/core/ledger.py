"""The Activity Ledger: every action of every run in one list, filtered and sorted.

Pure rules shared by the store (store.action_ledger applies the same filter and order in SQL; a
test checks they agree), the CLI (`actions list`) and the Runs page's Ledger view.

Orders: `time` (when the action started), `cost` and `duration`, newest / highest first unless
ascending; ties by (started_at, run_no, seq) in the same direction; an action without a cost or
a duration (a tool call is not priced) comes after every action that has one, either way.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

LEDGER_SORT_KEYS: tuple[str, ...] = ("time", "cost", "duration")
LEDGER_SORT_HELP = "time (default), cost or duration; newest / highest first unless --asc"


class LedgerSortError(ValueError):
    """A ledger sort key that is not one of LEDGER_SORT_KEYS."""


@dataclass(frozen=True, slots=True)
class LedgerFilter:
    """What the ledger shows; every term given must hold (AND)."""

    name: str | None = None  # the action's name (call_llm, search_docs, ...), exactly
    kind: str | None = None  # llm, tool, ...
    outcome: str | None = None  # success, error, blocked, replayed
    agent_id: str | None = None  # of the action's run
    model: str | None = None  # of the action's run
    min_cost_usd: float | None = None
    min_duration_ms: float | None = None
    since_ms: int | None = None  # started at or after
    run_id: str | None = None  # one run's actions ("View in Activity Ledger")

    @property
    def is_narrowed(self) -> bool:
        return any(
            value is not None
            for value in (
                self.name,
                self.kind,
                self.outcome,
                self.agent_id,
                self.model,
                self.min_cost_usd,
                self.min_duration_ms,
                self.since_ms,
                self.run_id,
            )
        )


@dataclass(frozen=True, slots=True)
class LedgerSort:
    """An order of the ledger: a key of LEDGER_SORT_KEYS and a direction."""

    key: str = "time"
    descending: bool = True

    def __post_init__(self) -> None:
        if self.key not in LEDGER_SORT_KEYS:
            raise LedgerSortError(
                f"cannot sort actions by {self.key!r}: use one of {', '.join(LEDGER_SORT_KEYS)}"
            )


DEFAULT_LEDGER_SORT = LedgerSort()


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One action with what the ledger shows of its run. Payloads are read for exports only."""

    run_id: str
    run_no: int
    seq: int
    name: str
    kind: str
    outcome: str
    started_at: int
    ended_at: int | None
    duration_ns: int | None
    cost_usd: float | None
    cost_source: str | None
    input_tokens: int | None
    output_tokens: int | None
    tokens_estimated: bool
    error_class: str | None
    error_message: str | None
    agent_id: str | None
    agent_name: str | None
    runtime: str
    model: str
    inputs: Any = None
    outputs: Any = None


@dataclass(frozen=True, slots=True)
class LedgerCursor:
    """Keyset position: the sort value (None: the actions without one), then the tie-breaks."""

    value: Any
    started_at: int
    run_no: int
    seq: int


def sort_value(entry: LedgerEntry, key: str) -> Any:
    if key == "cost":
        return entry.cost_usd
    if key == "duration":
        return entry.duration_ns
    return entry.started_at


def ledger_cursor(entry: LedgerEntry, sort: LedgerSort = DEFAULT_LEDGER_SORT) -> LedgerCursor:
    """The keyset position just past entry, under sort."""
    return LedgerCursor(sort_value(entry, sort.key), entry.started_at, entry.run_no, entry.seq)


def entry_matches(flt: LedgerFilter, entry: LedgerEntry) -> bool:
    """Whether entry passes flt (the same rules as the SQL)."""
    if flt.name is not None and entry.name != flt.name:
        return False
    if flt.kind is not None and entry.kind != flt.kind:
        return False
    if flt.outcome is not None and entry.outcome != flt.outcome:
        return False
    if flt.agent_id is not None and entry.agent_id != flt.agent_id:
        return False
    if flt.model is not None and entry.model != flt.model:
        return False
    if flt.run_id is not None and entry.run_id != flt.run_id:
        return False
    if flt.since_ms is not None and entry.started_at < flt.since_ms:
        return False
    if flt.min_cost_usd is not None and (
        entry.cost_usd is None or entry.cost_usd < flt.min_cost_usd
    ):
        return False
    return flt.min_duration_ms is None or (
        entry.duration_ns is not None and entry.duration_ns >= flt.min_duration_ms * 1_000_000
    )


@functools.total_ordering
class _Reversed:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and self.value == other.value

    def __lt__(self, other: _Reversed) -> bool:
        return bool(other.value < self.value)

    def __hash__(self) -> int:
        return hash(self.value)


def ledger_order_key(entry: LedgerEntry, sort: LedgerSort = DEFAULT_LEDGER_SORT) -> tuple[Any, ...]:
    """A key whose ascending order is the ledger's order under sort."""
    value = sort_value(entry, sort.key)
    parts: tuple[Any, ...] = (
        (entry.started_at, entry.run_no, entry.seq)
        if value is None
        else (value, entry.started_at, entry.run_no, entry.seq)
    )
    if sort.descending:
        parts = tuple(_Reversed(p) for p in parts)
    return (value is None, *parts)


def entry_to_json(entry: LedgerEntry, *, payloads: bool = True) -> dict[str, Any]:
    """One ledger row as JSON (`actions list --json`, the ledger's JSONL export)."""
    from ato_desktop.core.run_json import span_id
    from ato_desktop.core.timefmt import ns_to_ms, rfc3339

    data: dict[str, Any] = {
        "run_id": entry.run_id,
        "seq": entry.seq,
        "span_id": span_id(entry.run_id, entry.seq),
        "name": entry.name,
        "kind": entry.kind,
        "outcome": entry.outcome,
        "started_at": rfc3339(entry.started_at),
        "ended_at": rfc3339(entry.ended_at),
        "duration_ms": ns_to_ms(entry.duration_ns),
        "cost_usd": entry.cost_usd,
        "cost_source": entry.cost_source,
        "input_tokens": entry.input_tokens,
        "output_tokens": entry.output_tokens,
        "tokens_estimated": entry.tokens_estimated,
        "error_class": entry.error_class,
        "error_message": entry.error_message,
        "agent_id": entry.agent_id,
        "agent": entry.agent_name,
        "runtime": entry.runtime,
        "model": entry.model,
    }
    if payloads:
        data["inputs"] = entry.inputs
        data["outputs"] = entry.outputs
    return data
