"""How a run list can be ordered (History's column headers, `runs list --sort`): the sort keys,
and the Python order that matches the SQL one in store.run_listing (a test checks they agree),
so live rows land where a fresh read would put them.

- `started` (the default, newest first) orders by (started_at, id).
- Value keys (ended, duration, cost, actions, success) order by (value, started_at, run_no); a
  run without the value (a running run has no end, an unpriced model no cost, a run without
  actions no success rate) comes after every run that has one, in both directions.
- Group keys (status, agent) order the groups (statuses in their lifecycle order, agents by
  name; runs without an agent last) and, within a group, newest first in both directions.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ato_desktop.core.log_records import RunCursor, RunRecord
from ato_desktop.core.vocabulary import RunStatus

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:
    from typing import Any

SORT_KEYS: tuple[str, ...] = (
    "started",
    "ended",
    "duration",
    "cost",
    "actions",
    "success",
    "agent",
    "status",
)
VALUE_KEYS: tuple[str, ...] = ("ended", "duration", "cost", "actions", "success")
GROUP_KEYS: tuple[str, ...] = ("agent", "status")
STATUS_ORDER: tuple[str, ...] = tuple(status.value for status in RunStatus)

SORT_HELP = (
    "started (default), ended, duration, cost, actions, success (rate), agent (by name) "
    "or status; newest, longest, most expensive... first unless --asc"
)


class SortKeyError(ValueError):
    """A sort key that is not one of SORT_KEYS; the message lists them."""


@dataclass(frozen=True, slots=True)
class RunSort:
    """An order of the run list: a key of SORT_KEYS and a direction."""

    key: str = "started"
    descending: bool = True

    def __post_init__(self) -> None:
        if self.key not in SORT_KEYS:
            raise SortKeyError(
                f"cannot sort runs by {self.key!r}: use one of {', '.join(SORT_KEYS)}"
            )

    def describe(self) -> str:
        """'cost, highest first' (a status line / tooltip)."""
        words = _DIRECTION_WORDS[self.key]
        return f"{self.key}, {words[0] if self.descending else words[1]}"


DEFAULT_SORT = RunSort()

_DIRECTION_WORDS = {
    "started": ("newest first", "oldest first"),
    "ended": ("latest end first", "earliest end first"),
    "duration": ("longest first", "shortest first"),
    "cost": ("most expensive first", "cheapest first"),
    "actions": ("most actions first", "fewest actions first"),
    "success": ("highest success rate first", "lowest success rate first"),
    "agent": ("agents Z to A", "agents A to Z"),
    "status": ("statuses in reverse order", "running, completed, failed, killed, interrupted"),
}


def sort_value(run: RunRecord, key: str) -> Any:
    """The value a run is ordered by under key (None: the run has none). For agent it is the
    group's identity, (folded name, agent id); started needs none beyond (started_at, id)."""
    if key == "ended":
        return run.ended_at
    if key == "duration":
        return run.duration_ns
    if key == "cost":
        return run.cost_usd
    if key == "actions":
        return run.action_count
    if key == "success":
        return run.success_rate
    if key == "status":
        return run.status
    if key == "agent":
        return agent_group(run.agent_id, run.agent_name)
    return None


def agent_group(agent_id: str | None, name: str | None) -> tuple[str, str] | None:
    """An agent's place in the agent order: by name (case folded), then id; None: no agent."""
    if agent_id is None:
        return None
    return ((name or "").casefold(), agent_id)


def cursor_after(run: RunRecord, sort: RunSort = DEFAULT_SORT) -> RunCursor:
    """The keyset position just past run, under sort."""
    return RunCursor(run.started_at, run.id, sort_value(run, sort.key), run.run_no)


def status_rank(status: str) -> int:
    """A status's place in the lifecycle order; unknown statuses come last."""
    try:
        return STATUS_ORDER.index(status)
    except ValueError:
        return len(STATUS_ORDER)


@functools.total_ordering
class _Reversed:
    """Wraps a value so that it sorts in the reverse order (for mixed-direction keys)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and self.value == other.value

    def __lt__(self, other: _Reversed) -> bool:
        return bool(other.value < self.value)

    def __hash__(self) -> int:
        return hash(self.value)


def order_key(run: RunRecord, sort: RunSort = DEFAULT_SORT) -> tuple[Any, ...]:
    """A key whose ascending order is the list's order under sort (the SQL order)."""

    def directed(*parts: Any) -> tuple[Any, ...]:
        return tuple(_Reversed(p) for p in parts) if sort.descending else parts

    newest_first = (_Reversed(run.started_at), _Reversed(run.id))
    if sort.key == "started":
        return directed(run.started_at, run.id)
    if sort.key == "status":
        rank = status_rank(run.status)
        return (-rank if sort.descending else rank, *newest_first)
    if sort.key == "agent":
        group = agent_group(run.agent_id, run.agent_name)
        if group is None:
            return (1, "", "", *newest_first)
        return (0, *directed(*group), *newest_first)
    value = sort_value(run, sort.key)
    if value is None:
        return (1, *directed(0, run.started_at, run.run_no))
    return (0, *directed(value, run.started_at, run.run_no))
