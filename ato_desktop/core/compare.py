"""Compare two runs, or two groups of runs, of any agent. Pure: no I/O.

Runs and actions arrive as RunRecord / ActionRecord or in the run_json dict shape (exports,
OTLP imports), where numbers may be strings ("0.014200"), null, NaN, garbage or missing. Every
number goes through core.coerce; what cannot be read is unknown (None), never zero and never a
crash, and a delta with an unknown side is unknown too.

Two runs: their actions are aligned by name and position (see align_actions), each aligned pair
gets text diffs of its inputs and outputs and deltas of cost, latency and tokens, and the runs get
totals. Two groups (before/after a config change, runtime A vs runtime B): per-group statistics
and their deltas, and per action name, how often it ran and how it did on each side.
"""

from __future__ import annotations

import difflib
import json
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from ato_desktop.core.coerce import as_int, as_money
from ato_desktop.core.cost_rollup import rollup_cost, rollup_source
from ato_desktop.core.models import CostSource, Outcome, RunStatus
from ato_desktop.core.records import ActionRecord, RunRecord
from ato_desktop.core.timefmt import rfc3339
from ato_desktop.core.word_diff import DiffPiece, word_diff

RunLike = RunRecord | Mapping[str, Any]
ActionLike = ActionRecord | Mapping[str, Any]

TOKEN_KINDS: Final = ("input", "output", "cache_read", "cache_write", "reasoning")
# The run_json names first; the *_tokens spellings are what other exporters write.
_TOKEN_KEYS: Final = {kind: (kind, f"{kind}_tokens") for kind in TOKEN_KINDS}

# Row statuses of an alignment.
SAME: Final = "same"
CHANGED: Final = "changed"
ONLY_LEFT: Final = "only_left"
ONLY_RIGHT: Final = "only_right"
ROW_STATUSES: Final = (SAME, CHANGED, ONLY_LEFT, ONLY_RIGHT)

# Payload text beyond this is cut before diffing (a line diff of two 100k-character texts takes
# tens of milliseconds; tool-loop inputs carry the whole conversation and can be megabytes).
MAX_DIFF_CHARS: Final = 100_000
# Text outputs up to this long get a word diff.
MAX_WORD_DIFF_CHARS: Final = 100_000
# A word diff is quadratic: two 4,000-word texts take seconds. So texts are first diffed line by
# line, and only a changed block of lines up to this long on each side is diffed word by word
# (a few tens of milliseconds at most); a longer block is shown as deleted and inserted whole.
MAX_WORD_BLOCK_CHARS: Final = 3_000

_KNOWN_SOURCES: Final = (
    CostSource.PROVIDER.value,
    CostSource.ESTIMATED.value,
    CostSource.LOCAL.value,
)
COST_MIX_KEYS: Final = (*_KNOWN_SOURCES, CostSource.UNKNOWN.value, "none")


# -- small values ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Delta:
    """A figure on both sides; change and pct are None when either side is unknown."""

    left: float | None
    right: float | None

    @property
    def change(self) -> float | None:
        """right - left."""
        if self.left is None or self.right is None:
            return None
        return self.right - self.left

    @property
    def pct(self) -> float | None:
        """(right - left) / |left| in percent; None when left is unknown or zero."""
        change = self.change
        if change is None or self.left == 0 or self.left is None:
            return None
        return change / abs(self.left) * 100

    def as_dict(self, digits: int = 6) -> dict[str, float | None]:
        return {
            "left": _round(self.left, digits),
            "right": _round(self.right, digits),
            "change": _round(self.change, digits),
            "pct": _round(self.pct, 2),
        }


@dataclass(frozen=True, slots=True)
class TokenCounts:
    """Token counts by kind; None is unknown (not reported, or unreadable)."""

    input: int | None = None
    output: int | None = None
    cache_read: int | None = None
    cache_write: int | None = None
    reasoning: int | None = None

    @property
    def total(self) -> int | None:
        """input + output (input includes cached tokens, output includes reasoning)."""
        if self.input is None or self.output is None:
            return None
        return self.input + self.output

    def get(self, kind: str) -> int | None:
        """The count of one kind of TOKEN_KINDS, or "total"."""
        if kind == "total":
            return self.total
        value = getattr(self, kind)
        return value if isinstance(value, int) else None

    @property
    def any_known(self) -> bool:
        return any(self.get(kind) is not None for kind in TOKEN_KINDS)

    def as_dict(self) -> dict[str, int | None]:
        return {**{kind: self.get(kind) for kind in TOKEN_KINDS}, "total": self.total}


def _token_deltas(left: TokenCounts, right: TokenCounts) -> dict[str, Delta]:
    return {kind: Delta(left.get(kind), right.get(kind)) for kind in (*TOKEN_KINDS, "total")}


# -- runs and actions as compare reads them -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActionView:
    """One action, from an ActionRecord or a run_json action dict, numbers coerced.

    cost_usd is the figure as given; known_cost is None when the cost is unknown (no figure, or
    the source says unknown), so an unknown cost is never taken for $0.
    """

    index: int  # position in its run, from 0
    seq: int | None
    name: str
    kind: str | None
    outcome: str | None
    inputs: Any
    outputs: Any
    duration_ms: float | None
    ttft_ms: float | None
    cost_usd: float | None
    cost_source: str | None
    tokens: TokenCounts
    error_class: str | None
    error_message: str | None

    @property
    def known_cost(self) -> float | None:
        return _known_cost(self.cost_usd, self.cost_source)

    def as_dict(self) -> dict[str, Any]:
        """A summary without the payloads (the diffs carry those)."""
        return {
            "index": self.index,
            "seq": self.seq,
            "name": self.name,
            "kind": self.kind,
            "outcome": self.outcome,
            "duration_ms": _round(self.duration_ms, 3),
            "ttft_ms": _round(self.ttft_ms, 3),
            "cost_usd": _round(self.cost_usd, 8),
            "cost_source": self.cost_source,
            "tokens": self.tokens.as_dict(),
            "error_class": self.error_class,
            "error_message": self.error_message,
        }


@dataclass(frozen=True, slots=True)
class RunView:
    """One run, from a RunRecord or a run_json dict, numbers coerced.

    Figures the run does not state (a dict without cost_usd, say) are worked out from its
    actions when it has them. cost_usd is the known part of the cost; known_cost is None when
    any of it is unknown.
    """

    id: str | None
    agent: str | None
    agent_id: str | None
    agent_version: int | None
    runtime: str | None
    model: str | None
    trigger: str | None
    status: str | None
    started_at: str | None  # RFC 3339
    duration_ms: float | None
    ttft_ms: float | None
    cost_usd: float | None
    cost_source: str | None
    tokens: TokenCounts
    action_count: int | None
    success_rate: float | None
    error_class: str | None
    actions: tuple[ActionView, ...] = ()

    @property
    def known_cost(self) -> float | None:
        return _known_cost(self.cost_usd, self.cost_source)

    def as_dict(self) -> dict[str, Any]:
        """The run's header figures (its actions are in the comparison rows)."""
        return {
            "id": self.id,
            "agent": self.agent,
            "agent_id": self.agent_id,
            "agent_version": self.agent_version,
            "runtime": self.runtime,
            "model": self.model,
            "trigger": self.trigger,
            "status": self.status,
            "started_at": self.started_at,
            "duration_ms": _round(self.duration_ms, 3),
            "ttft_ms": _round(self.ttft_ms, 3),
            "cost_usd": _round(self.cost_usd, 8),
            "cost_source": self.cost_source,
            "tokens": self.tokens.as_dict(),
            "action_count": self.action_count,
            "success_rate": _round(self.success_rate, 4),
            "error_class": self.error_class,
        }


def action_view(action: ActionLike | ActionView, index: int = 0) -> ActionView:
    """An ActionRecord, a run_json action dict or anything else (all unknown) as an ActionView."""
    if isinstance(action, ActionView):
        return action
    if isinstance(action, ActionRecord):
        usage = action.usage
        return ActionView(
            index=index,
            seq=as_int(action.seq),
            name=_name(action.name),
            kind=_text(action.kind),
            outcome=_text(action.outcome),
            inputs=action.inputs,
            outputs=action.outputs,
            duration_ms=_ns_to_ms(action.duration_ns),
            ttft_ms=_ns_to_ms(action.ttft_ns),
            cost_usd=as_money(action.cost_usd),
            cost_source=_text(action.cost_source),
            tokens=_usage_counts(usage) if usage is not None else TokenCounts(),
            error_class=_text(action.error_class),
            error_message=_text(action.error_message),
        )
    data: Mapping[str, Any] = action if isinstance(action, Mapping) else {}
    return ActionView(
        index=index,
        seq=as_int(data.get("seq")),
        name=_name(data.get("name")),
        kind=_text(data.get("kind")),
        outcome=_text(data.get("outcome")),
        inputs=data.get("inputs"),
        outputs=data.get("outputs"),
        duration_ms=_ms_field(data, "duration"),
        ttft_ms=_ms_field(data, "ttft"),
        cost_usd=as_money(data.get("cost_usd")),
        cost_source=_text(data.get("cost_source")),
        tokens=_token_counts(data.get("tokens")),
        error_class=_text(data.get("error_class")),
        error_message=_text(data.get("error_message")),
    )


def action_views(actions: Iterable[ActionLike | ActionView] | None) -> tuple[ActionView, ...]:
    if actions is None:
        return ()
    return tuple(action_view(a, i) for i, a in enumerate(actions))


def run_view(run: RunLike | RunView, actions: Iterable[ActionLike] | None = None) -> RunView:
    """A RunRecord or a run_json dict as a RunView.

    actions: the run's actions; for a dict without them, its own "actions" list is used.
    """
    if isinstance(run, RunView):
        return run if actions is None else _with_actions(run, action_views(actions))
    if isinstance(run, RunRecord):
        header = RunView(
            id=_text(run.id),
            agent=_text(run.agent_name),
            agent_id=_text(run.agent_id),
            agent_version=as_int(run.agent_version),
            runtime=_text(run.runtime),
            model=_text(run.model),
            trigger=_text(run.trigger),
            status=_text(run.status),
            started_at=rfc3339(as_int(run.started_at)),
            duration_ms=_ns_to_ms(run.duration_ns),
            ttft_ms=_ns_to_ms(run.ttft_ns),
            cost_usd=as_money(run.cost_usd),
            cost_source=_text(run.cost_source),
            tokens=_usage_counts(run.usage),
            action_count=as_int(run.action_count),
            success_rate=_success_rate(run.success_count, run.action_count),
            error_class=_text(run.error_class),
        )
    else:
        data: Mapping[str, Any] = run if isinstance(run, Mapping) else {}
        if actions is None and isinstance(data.get("actions"), list | tuple):
            actions = data["actions"]
        started = data.get("started_at")
        header = RunView(
            id=_text(data.get("id")),
            agent=_text(data.get("agent")),
            agent_id=_text(data.get("agent_id")),
            agent_version=as_int(data.get("agent_version")),
            runtime=_text(data.get("runtime")),
            model=_text(data.get("model")),
            trigger=_text(data.get("trigger")),
            status=_text(data.get("status")),
            started_at=_started_text(started),
            duration_ms=_ms_field(data, "duration"),
            ttft_ms=_ms_field(data, "ttft"),
            cost_usd=as_money(data.get("cost_usd")),
            cost_source=_text(data.get("cost_source")),
            tokens=_token_counts(data.get("tokens")),
            action_count=as_int(data.get("action_count")),
            success_rate=_fraction(as_money(data.get("success_rate"))),
            error_class=_text(data.get("error_class")),
        )
    if actions is None:
        return header
    return _with_actions(header, action_views(actions))


def _with_actions(header: RunView, views: tuple[ActionView, ...]) -> RunView:
    """The header with its actions; figures the header lacks are worked out from them."""
    cost, source = header.cost_usd, header.cost_source
    if cost is None and source is None:
        for view in views:
            cost = rollup_cost(cost, view.cost_usd)
            source = rollup_source(source, view.cost_source)
    tokens = header.tokens
    if not tokens.any_known:
        tokens = _sum_tokens(v.tokens for v in views)
    success_rate = header.success_rate
    outcomes = [v.outcome for v in views if v.outcome is not None]
    if success_rate is None and outcomes:
        success_rate = outcomes.count(Outcome.SUCCESS.value) / len(outcomes)
    fields = {f: getattr(header, f) for f in _RUN_VIEW_FIELDS}
    fields.update(
        cost_usd=cost,
        cost_source=source,
        tokens=tokens,
        action_count=header.action_count if header.action_count is not None else len(views),
        success_rate=success_rate,
        actions=views,
    )
    return RunView(**fields)


_RUN_VIEW_FIELDS: Final = tuple(RunView.__dataclass_fields__)


# -- alignment ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlignedPair:
    """One row of an alignment: an action of each run, or of one of them.

    moved: the action ran in both runs (its name is unique in each) but in a different order;
    the row sits where the right run ran it.
    """

    left: ActionView | None
    right: ActionView | None
    status: str  # same | changed | only_left | only_right
    moved: bool = False


def align_actions(
    left: Sequence[ActionLike | ActionView], right: Sequence[ActionLike | ActionView]
) -> list[AlignedPair]:
    """Align two action sequences by name and position.

    1. The common prefix and suffix of names pair up one to one (runs of one agent mostly share
       their skeleton, and this keeps the quadratic step small).
    2. The middle is a sequence alignment on names (difflib's longest matching blocks, no junk
       heuristic): equal blocks pair up in order; a replaced block pairs up by position (a
       renamed step becomes one "changed" row) and its surplus is only_left / only_right;
       deleted and inserted blocks are only_left / only_right. Steps whose name occurs once
       in each run are left out of positional pairing: their partner is elsewhere.
    3. Such a step, unpaired on both sides (a reordered step), becomes one row, marked moved,
       at the right run's position.

    A pair is "same" when name, outcome, inputs and outputs are equal, else "changed"; cost and
    timing never make a pair "changed" (they are the deltas).
    """
    a, b = action_views(left), action_views(right)
    names_a, names_b = [v.name for v in a], [v.name for v in b]
    prefix = 0
    while prefix < min(len(a), len(b)) and names_a[prefix] == names_b[prefix]:
        prefix += 1
    suffix = 0
    while (
        suffix < min(len(a), len(b)) - prefix
        and names_a[len(a) - 1 - suffix] == names_b[len(b) - 1 - suffix]
    ):
        suffix += 1
    indexes: list[tuple[int | None, int | None]] = [(i, i) for i in range(prefix)]
    mid_a, mid_b = names_a[prefix : len(a) - suffix], names_b[prefix : len(b) - suffix]
    # Names that occur once in each run: when such a step is not matched in order, its partner
    # is elsewhere (a reorder), so it must not be paired with a stranger by position.
    unique = _names_once(names_a) & _names_once(names_b)
    matcher = difflib.SequenceMatcher(a=mid_a, b=mid_b, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        a0, a1, b0, b1 = a0 + prefix, a1 + prefix, b0 + prefix, b1 + prefix
        if op == "equal":
            indexes.extend((a0 + k, b0 + k) for k in range(a1 - a0))
            continue
        lefts = [i for i in range(a0, a1) if op == "delete" or names_a[i] not in unique]
        rights = [j for j in range(b0, b1) if op == "insert" or names_b[j] not in unique]
        paired = min(len(lefts), len(rights)) if op == "replace" else 0
        indexes.extend(zip(lefts[:paired], rights[:paired], strict=True))
        paired_left, paired_right = set(lefts[:paired]), set(rights[:paired])
        indexes.extend((i, None) for i in range(a0, a1) if i not in paired_left)
        indexes.extend((None, j) for j in range(b0, b1) if j not in paired_right)
    indexes.extend((len(a) - suffix + k, len(b) - suffix + k) for k in range(suffix))
    rows, moved = _pair_moved(indexes, names_a, names_b, unique)
    return [
        _aligned(a[i] if i is not None else None, b[j] if j is not None else None, k in moved)
        for k, (i, j) in enumerate(rows)
    ]


def _pair_moved(
    rows: list[tuple[int | None, int | None]],
    names_a: list[str],
    names_b: list[str],
    candidates: set[str],
) -> tuple[list[tuple[int | None, int | None]], set[int]]:
    """Join a lone left row and a lone right row of a name unique in both runs; the joined row
    takes the right row's place. Returns the rows and the positions of the joined ones."""
    lone_left = {names_a[i]: i for i, j in rows if j is None and i is not None}
    lone_right = {names_b[j]: j for i, j in rows if i is None and j is not None}
    joined = {name: lone_left[name] for name in candidates & set(lone_left) & set(lone_right)}
    if not joined:
        return rows, set()
    moved_left = set(joined.values())
    result: list[tuple[int | None, int | None]] = []
    moved: set[int] = set()
    for i, j in rows:
        if j is None and i in moved_left:
            continue  # shown on the right run's row
        if i is None and j is not None and names_b[j] in joined:
            moved.add(len(result))
            result.append((joined[names_b[j]], j))
        else:
            result.append((i, j))
    return result, moved


def _names_once(names: list[str]) -> set[str]:
    seen: dict[str, int] = {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
    return {name for name, count in seen.items() if count == 1}


def _aligned(left: ActionView | None, right: ActionView | None, moved: bool) -> AlignedPair:
    if left is None:
        return AlignedPair(None, right, ONLY_RIGHT)
    if right is None:
        return AlignedPair(left, None, ONLY_LEFT)
    return AlignedPair(left, right, SAME if _same_content(left, right) else CHANGED, moved)


def _same_content(left: ActionView, right: ActionView) -> bool:
    return (
        left.name == right.name
        and left.outcome == right.outcome
        and _same_payload(left.inputs, right.inputs)
        and _same_payload(left.outputs, right.outputs)
    )


def _same_payload(left: Any, right: Any) -> bool:
    try:
        if left == right:
            return True
    except Exception:  # an exotic object whose __eq__ raises: compare the text instead
        pass
    # NaN != NaN, and a tuple from one source is a list from another: the text decides.
    return payload_text(left, limit=None)[0] == payload_text(right, limit=None)[0]


# -- diffs ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextDiff:
    """Two payloads as pretty JSON (text stays text), and a unified line diff of them."""

    left: str
    right: str
    unified: tuple[str, ...]
    truncated: bool  # a side was longer than MAX_DIFF_CHARS and was cut before diffing

    @property
    def changed(self) -> bool:
        return self.left != self.right

    def as_dict(self) -> dict[str, Any]:
        return {
            "changed": self.changed,
            "left": self.left,
            "right": self.right,
            "unified": list(self.unified),
            "truncated": self.truncated,
        }


def payload_text(value: Any, limit: int | None = MAX_DIFF_CHARS) -> tuple[str, bool]:
    """A payload as text for diffing: text as is, anything else as indented JSON with sorted
    keys; (text, whether it was cut at limit characters)."""
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = value
    else:
        text = _json_text(value)
    if limit is not None and len(text) > limit:
        return text[:limit], True
    return text, False


def _json_text(value: Any) -> str:
    for sort_keys in (True, False):  # keys of mixed types cannot be sorted
        try:
            return json.dumps(value, indent=2, sort_keys=sort_keys, ensure_ascii=False, default=str)
        except (TypeError, ValueError, RecursionError):
            continue
    try:
        return repr(value)
    except Exception:
        return f"<{type(value).__name__}>"


def text_diff(left: Any, right: Any) -> TextDiff:
    """The line diff of two payloads (each cut at MAX_DIFF_CHARS)."""
    left_text, left_cut = payload_text(left)
    right_text, right_cut = payload_text(right)
    unified: tuple[str, ...] = ()
    if left_text != right_text:
        unified = tuple(
            difflib.unified_diff(
                left_text.splitlines(),
                right_text.splitlines(),
                fromfile="left",
                tofile="right",
                lineterm="",
            )
        )
    return TextDiff(left_text, right_text, unified, left_cut or right_cut)


def output_text(outputs: Any) -> str | None:
    """The text of an output, for a word diff: a string, or the "text" (model calls) or
    "content" (tool calls) string of a dict; None for anything else."""
    if isinstance(outputs, str):
        return outputs
    if isinstance(outputs, Mapping):
        for key in ("text", "content"):
            value = outputs.get(key)
            if isinstance(value, str):
                return value
    return None


def word_pieces(before: str, after: str) -> tuple[DiffPiece, ...]:
    """A word diff in bounded time: lines first, then words inside each changed block of lines
    (as `git diff --word-diff` does); blocks beyond MAX_WORD_BLOCK_CHARS stay whole."""
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    pieces: list[DiffPiece] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        old, new = "".join(a[a0:a1]), "".join(b[b0:b1])
        if op == "equal":
            pieces.append(DiffPiece("equal", old))
        elif op == "replace" and max(len(old), len(new)) <= MAX_WORD_BLOCK_CHARS:
            pieces.extend(word_diff(old, new))
        else:
            pieces.extend(
                DiffPiece(kind, text) for kind, text in (("delete", old), ("insert", new))
            )
    merged: list[DiffPiece] = []
    for piece in pieces:
        if not piece.text:
            continue
        if merged and merged[-1].op == piece.op:
            merged[-1] = DiffPiece(piece.op, merged[-1].text + piece.text)
        else:
            merged.append(piece)
    return tuple(merged)


def _similarity(pieces: Sequence[DiffPiece], before: str, after: str) -> float:
    """0..1: twice the words the texts share, in order, over the words of both (the measure of
    word_diff.similarity, read off the pieces instead of a second quadratic match)."""
    total = len(before.split()) + len(after.split())
    if total == 0:
        return 1.0
    common = sum(len(p.text.split()) for p in pieces if p.op == "equal")
    return min(1.0, 2 * common / total)


# -- comparing two runs ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActionComparison:
    """An aligned row with its diffs and deltas (right minus left).

    The diffs are there for pairs only; the deltas of a one-sided row have an unknown side, so
    their change is None.
    """

    left: ActionView | None
    right: ActionView | None
    status: str
    moved: bool
    inputs: TextDiff | None
    outputs: TextDiff | None
    output_words: tuple[DiffPiece, ...] | None  # word diff of text outputs, when short enough
    output_similarity: float | None
    cost_usd: Delta
    duration_ms: Delta
    ttft_ms: Delta
    tokens: Mapping[str, Delta]
    outcome_changed: bool

    @property
    def name(self) -> str:
        side = self.right or self.left
        return side.name if side is not None else ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "moved": self.moved,
            "left": self.left.as_dict() if self.left else None,
            "right": self.right.as_dict() if self.right else None,
            "outcome_changed": self.outcome_changed,
            "inputs": self.inputs.as_dict() if self.inputs else None,
            "outputs": self.outputs.as_dict() if self.outputs else None,
            "output_words": (
                [{"op": p.op, "text": p.text} for p in self.output_words]
                if self.output_words is not None
                else None
            ),
            "output_similarity": _round(self.output_similarity, 4),
            "cost_usd": self.cost_usd.as_dict(8),
            "duration_ms": self.duration_ms.as_dict(3),
            "ttft_ms": self.ttft_ms.as_dict(3),
            "tokens": {kind: d.as_dict(0) for kind, d in self.tokens.items()},
        }


def compare_pair(pair: AlignedPair) -> ActionComparison:
    """Diffs and deltas of one aligned row."""
    left, right = pair.left, pair.right
    inputs = outputs = None
    words: tuple[DiffPiece, ...] | None = None
    ratio: float | None = None
    if left is not None and right is not None:
        inputs = text_diff(left.inputs, right.inputs)
        outputs = text_diff(left.outputs, right.outputs)
        left_text, right_text = output_text(left.outputs), output_text(right.outputs)
        if (
            left_text is not None
            and right_text is not None
            and max(len(left_text), len(right_text)) <= MAX_WORD_DIFF_CHARS
        ):
            words = word_pieces(left_text, right_text)
            ratio = _similarity(words, left_text, right_text)
    empty = TokenCounts()
    return ActionComparison(
        left=left,
        right=right,
        status=pair.status,
        moved=pair.moved,
        inputs=inputs,
        outputs=outputs,
        output_words=words,
        output_similarity=ratio,
        cost_usd=Delta(_known(left, "cost"), _known(right, "cost")),
        duration_ms=Delta(_known(left, "duration"), _known(right, "duration")),
        ttft_ms=Delta(_known(left, "ttft"), _known(right, "ttft")),
        tokens=_token_deltas(left.tokens if left else empty, right.tokens if right else empty),
        outcome_changed=(left is not None and right is not None and left.outcome != right.outcome),
    )


def _known(view: ActionView | None, figure: str) -> float | None:
    if view is None:
        return None
    if figure == "cost":
        return view.known_cost
    return view.duration_ms if figure == "duration" else view.ttft_ms


@dataclass(frozen=True, slots=True)
class RunTotals:
    """Run-level figures side by side. A cost that is unknown, or partly unknown, on a side
    makes that side's cost None: the delta of a guess is not shown as a fact."""

    cost_usd: Delta
    duration_ms: Delta
    ttft_ms: Delta
    tokens: Mapping[str, Delta]
    action_count: Delta
    success_rate: Delta
    rows: Mapping[str, int]  # alignment status -> how many rows

    def as_dict(self) -> dict[str, Any]:
        return {
            "cost_usd": self.cost_usd.as_dict(8),
            "duration_ms": self.duration_ms.as_dict(3),
            "ttft_ms": self.ttft_ms.as_dict(3),
            "tokens": {kind: d.as_dict(0) for kind, d in self.tokens.items()},
            "action_count": self.action_count.as_dict(0),
            "success_rate": self.success_rate.as_dict(4),
            "rows": dict(self.rows),
        }


@dataclass(frozen=True, slots=True)
class RunComparison:
    """Two runs side by side: headers, aligned actions with diffs and deltas, and totals."""

    left: RunView
    right: RunView
    actions: tuple[ActionComparison, ...]
    totals: RunTotals
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape for the CLI (--json)."""
        return {
            "left": self.left.as_dict(),
            "right": self.right.as_dict(),
            "totals": self.totals.as_dict(),
            "actions": [row.as_dict() for row in self.actions],
            "notes": list(self.notes),
        }


def build_run_comparison(
    left: RunLike | RunView,
    right: RunLike | RunView,
    *,
    left_actions: Iterable[ActionLike] | None = None,
    right_actions: Iterable[ActionLike] | None = None,
    notes: Sequence[str] = (),
) -> RunComparison:
    """Compare two runs (records or run_json dicts); actions default to a dict's own list."""
    lv, rv = run_view(left, left_actions), run_view(right, right_actions)
    rows = tuple(compare_pair(p) for p in align_actions(lv.actions, rv.actions))
    counts = dict.fromkeys(ROW_STATUSES, 0)
    for row in rows:
        counts[row.status] += 1
    totals = RunTotals(
        cost_usd=Delta(lv.known_cost, rv.known_cost),
        duration_ms=Delta(lv.duration_ms, rv.duration_ms),
        ttft_ms=Delta(lv.ttft_ms, rv.ttft_ms),
        tokens=_token_deltas(lv.tokens, rv.tokens),
        action_count=Delta(lv.action_count, rv.action_count),
        success_rate=Delta(lv.success_rate, rv.success_rate),
        rows=counts,
    )
    all_notes = [*notes]
    for side, view in (("left", lv), ("right", rv)):
        if view.known_cost is None:
            all_notes.append(_cost_note(side, view))
    return RunComparison(lv, rv, rows, totals, tuple(all_notes))


def _cost_note(side: str, view: RunView) -> str:
    if view.cost_usd is not None:
        return f"The {side} run's cost is partly unknown (at least ${view.cost_usd:.6f})."
    return f"The {side} run's cost is unknown."


# -- comparing two groups of runs -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Summary:
    """Mean, median and p95 (nearest rank) of the known values; n counts them."""

    n: int
    mean: float | None
    median: float | None
    p95: float | None

    @staticmethod
    def of(values: Iterable[float | None]) -> Summary:
        known = sorted(v for v in values if v is not None and math.isfinite(v))
        if not known:
            return Summary(0, None, None, None)
        rank = math.ceil(0.95 * len(known))  # nearest rank: the smallest value >= 95% of them
        return Summary(
            len(known), statistics.fmean(known), statistics.median(known), known[rank - 1]
        )

    def as_dict(self, digits: int = 6) -> dict[str, Any]:
        return {
            "n": self.n,
            "mean": _round(self.mean, digits),
            "median": _round(self.median, digits),
            "p95": _round(self.p95, digits),
        }


@dataclass(frozen=True, slots=True)
class ActionNameStats:
    """How one action name did in a group: counts, and means over its known figures."""

    name: str
    count: int
    runs: int  # runs in which it ran at least once
    per_run: float | None  # count / the runs whose actions were read
    mean_duration_ms: float | None
    mean_cost_usd: float | None
    errors: int
    error_rate: float | None  # share of its actions whose outcome is "error"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "count": self.count,
            "runs": self.runs,
            "per_run": _round(self.per_run, 4),
            "mean_duration_ms": _round(self.mean_duration_ms, 3),
            "mean_cost_usd": _round(self.mean_cost_usd, 8),
            "errors": self.errors,
            "error_rate": _round(self.error_rate, 4),
        }


@dataclass(frozen=True, slots=True)
class GroupStats:
    """One group of runs summed up.

    success_rate: completed runs / runs. Cost figures cover the runs whose cost is known
    (provider or estimated); cost_sources counts every run by source, "none" for runs that
    recorded no cost at all. Action figures cover the action_runs runs whose actions were read.
    """

    label: str
    runs: int
    statuses: Mapping[str, int]
    success_rate: float | None
    duration_ms: Summary
    cost_usd: Summary
    cost_total_usd: float | None
    cost_sources: Mapping[str, int]
    tokens_per_run: Mapping[str, float | None]
    actions_per_run: float | None
    action_runs: int
    actions: tuple[ActionNameStats, ...]  # most frequent first

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "runs": self.runs,
            "statuses": dict(self.statuses),
            "success_rate": _round(self.success_rate, 4),
            "duration_ms": self.duration_ms.as_dict(3),
            "cost_usd": self.cost_usd.as_dict(8),
            "cost_total_usd": _round(self.cost_total_usd, 8),
            "cost_sources": dict(self.cost_sources),
            "tokens_per_run": {k: _round(v, 2) for k, v in self.tokens_per_run.items()},
            "actions_per_run": _round(self.actions_per_run, 4),
            "action_runs": self.action_runs,
            "actions": [a.as_dict() for a in self.actions],
        }


def group_stats(
    runs: Iterable[RunLike | RunView],
    *,
    label: str,
    actions_by_run: Mapping[str, Sequence[ActionLike]] | None = None,
) -> GroupStats:
    """Stats of a group of runs. Actions come from actions_by_run (run id -> actions) or, for
    run_json dicts, from their own "actions" lists; runs with neither count as not read."""
    views: list[RunView] = []
    for run in runs:
        run_id = _run_id(run)
        given = actions_by_run.get(run_id) if actions_by_run and run_id is not None else None
        views.append(run_view(run, given))
    statuses: dict[str, int] = {}
    sources = dict.fromkeys(COST_MIX_KEYS, 0)
    for view in views:
        status = view.status or "unknown"
        statuses[status] = statuses.get(status, 0) + 1
        sources[_cost_mix_key(view)] += 1
    known_costs = [v.known_cost for v in views if v.known_cost is not None]
    read = [v for v in views if v.actions or v.action_count == 0]
    return GroupStats(
        label=label,
        runs=len(views),
        statuses=statuses,
        success_rate=(statuses.get(RunStatus.COMPLETED.value, 0) / len(views) if views else None),
        duration_ms=Summary.of(v.duration_ms for v in views),
        cost_usd=Summary.of(known_costs),
        cost_total_usd=math.fsum(known_costs) if known_costs else None,
        cost_sources=sources,
        tokens_per_run={
            kind: _mean(v.tokens.get(kind) for v in views) for kind in (*TOKEN_KINDS, "total")
        },
        actions_per_run=_mean(v.action_count for v in views),
        action_runs=len(read),
        actions=_action_name_stats(read),
    )


def _cost_mix_key(view: RunView) -> str:
    if view.cost_source is None:
        return "none" if view.cost_usd is None else CostSource.ESTIMATED.value
    if view.cost_source in _KNOWN_SOURCES and view.cost_usd is not None:
        return view.cost_source
    return CostSource.UNKNOWN.value


def _action_name_stats(runs: Sequence[RunView]) -> tuple[ActionNameStats, ...]:
    @dataclass(slots=True)
    class _Tally:
        count: int = 0
        runs: int = 0
        errors: int = 0
        durations: list[float] = field(default_factory=list)
        costs: list[float] = field(default_factory=list)

    tallies: dict[str, _Tally] = {}
    for run in runs:
        seen: set[str] = set()
        for action in run.actions:
            tally = tallies.setdefault(action.name, _Tally())
            tally.count += 1
            tally.errors += action.outcome == Outcome.ERROR.value
            if action.duration_ms is not None:
                tally.durations.append(action.duration_ms)
            if action.known_cost is not None:
                tally.costs.append(action.known_cost)
            if action.name not in seen:
                seen.add(action.name)
                tally.runs += 1
    stats = [
        ActionNameStats(
            name=name,
            count=t.count,
            runs=t.runs,
            per_run=t.count / len(runs) if runs else None,
            mean_duration_ms=statistics.fmean(t.durations) if t.durations else None,
            mean_cost_usd=statistics.fmean(t.costs) if t.costs else None,
            errors=t.errors,
            error_rate=t.errors / t.count,
        )
        for name, t in tallies.items()
    ]
    stats.sort(key=lambda s: (-s.count, s.name))
    return tuple(stats)


@dataclass(frozen=True, slots=True)
class ActionNameComparison:
    """One action name in both groups (None on a side where it never ran)."""

    name: str
    left: ActionNameStats | None
    right: ActionNameStats | None
    count: Delta
    per_run: Delta
    mean_duration_ms: Delta
    mean_cost_usd: Delta
    error_rate: Delta

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "left": self.left.as_dict() if self.left else None,
            "right": self.right.as_dict() if self.right else None,
            "count": self.count.as_dict(0),
            "per_run": self.per_run.as_dict(4),
            "mean_duration_ms": self.mean_duration_ms.as_dict(3),
            "mean_cost_usd": self.mean_cost_usd.as_dict(8),
            "error_rate": self.error_rate.as_dict(4),
        }


@dataclass(frozen=True, slots=True)
class GroupComparison:
    """Two groups of runs: each one's stats, and right-minus-left deltas."""

    left: GroupStats
    right: GroupStats
    runs: Delta
    success_rate: Delta
    duration_mean_ms: Delta
    duration_median_ms: Delta
    duration_p95_ms: Delta
    cost_mean_usd: Delta
    cost_median_usd: Delta
    tokens_per_run: Mapping[str, Delta]
    actions_per_run: Delta
    actions: tuple[ActionNameComparison, ...]  # most frequent (both sides) first
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape for the CLI (--json)."""
        return {
            "left": self.left.as_dict(),
            "right": self.right.as_dict(),
            "deltas": {
                "runs": self.runs.as_dict(0),
                "success_rate": self.success_rate.as_dict(4),
                "duration_mean_ms": self.duration_mean_ms.as_dict(3),
                "duration_median_ms": self.duration_median_ms.as_dict(3),
                "duration_p95_ms": self.duration_p95_ms.as_dict(3),
                "cost_mean_usd": self.cost_mean_usd.as_dict(8),
                "cost_median_usd": self.cost_median_usd.as_dict(8),
                "tokens_per_run": {k: d.as_dict(2) for k, d in self.tokens_per_run.items()},
                "actions_per_run": self.actions_per_run.as_dict(4),
            },
            "actions": [a.as_dict() for a in self.actions],
            "notes": list(self.notes),
        }


def build_group_comparison(
    left: GroupStats, right: GroupStats, *, notes: Sequence[str] = ()
) -> GroupComparison:
    """Deltas between two groups' stats, with notes on what the figures do not cover."""
    by_name_left = {a.name: a for a in left.actions}
    by_name_right = {a.name: a for a in right.actions}
    names = sorted(
        set(by_name_left) | set(by_name_right),
        key=lambda n: (-(_count(by_name_left.get(n)) + _count(by_name_right.get(n))), n),
    )
    actions = tuple(
        _compare_action_name(name, by_name_left.get(name), by_name_right.get(name))
        for name in names
    )
    all_notes = [*notes]
    for stats in (left, right):
        all_notes.extend(_group_notes(stats))
    return GroupComparison(
        left=left,
        right=right,
        runs=Delta(left.runs, right.runs),
        success_rate=Delta(left.success_rate, right.success_rate),
        duration_mean_ms=Delta(left.duration_ms.mean, right.duration_ms.mean),
        duration_median_ms=Delta(left.duration_ms.median, right.duration_ms.median),
        duration_p95_ms=Delta(left.duration_ms.p95, right.duration_ms.p95),
        cost_mean_usd=Delta(left.cost_usd.mean, right.cost_usd.mean),
        cost_median_usd=Delta(left.cost_usd.median, right.cost_usd.median),
        tokens_per_run={
            k: Delta(left.tokens_per_run.get(k), right.tokens_per_run.get(k))
            for k in (*TOKEN_KINDS, "total")
        },
        actions_per_run=Delta(left.actions_per_run, right.actions_per_run),
        actions=actions,
        notes=tuple(all_notes),
    )


def _count(stats: ActionNameStats | None) -> int:
    return stats.count if stats is not None else 0


def _compare_action_name(
    name: str, left: ActionNameStats | None, right: ActionNameStats | None
) -> ActionNameComparison:
    def pick(stats: ActionNameStats | None, attr: str) -> float | None:
        value = getattr(stats, attr) if stats is not None else None
        return value if isinstance(value, int | float) else None

    return ActionNameComparison(
        name=name,
        left=left,
        right=right,
        # A name that never ran on a side ran zero times there: a count, not an unknown.
        count=Delta(_count(left), _count(right)),
        per_run=Delta(pick(left, "per_run") or 0.0, pick(right, "per_run") or 0.0),
        mean_duration_ms=Delta(pick(left, "mean_duration_ms"), pick(right, "mean_duration_ms")),
        mean_cost_usd=Delta(pick(left, "mean_cost_usd"), pick(right, "mean_cost_usd")),
        error_rate=Delta(pick(left, "error_rate"), pick(right, "error_rate")),
    )


def _group_notes(stats: GroupStats) -> list[str]:
    if stats.runs == 0:
        return [f"{stats.label}: no runs."]
    notes = []
    unknown = stats.runs - stats.cost_usd.n
    if unknown:
        notes.append(
            f"{stats.label}: cost unknown or not recorded for {unknown} of {stats.runs} runs; "
            "cost figures cover the rest."
        )
    if stats.action_runs < stats.runs:
        notes.append(
            f"{stats.label}: action figures cover {stats.action_runs} of {stats.runs} runs."
        )
    return notes


# -- helpers --------------------------------------------------------------------------------------


def _known_cost(cost: float | None, source: str | None) -> float | None:
    return None if source == CostSource.UNKNOWN.value else cost


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _name(value: object) -> str:
    return _text(value) or "(unnamed)"


def _ns_to_ms(value: object) -> float | None:
    ns = as_int(value)
    return ns / 1_000_000 if ns is not None else None


def _ms_field(data: Mapping[str, Any], stem: str) -> float | None:
    """<stem>_ms, or <stem>_ns (other exporters) converted."""
    ms = as_money(data.get(f"{stem}_ms"))
    if ms is not None:
        return ms
    ns = as_money(data.get(f"{stem}_ns"))
    return ns / 1_000_000 if ns is not None else None


def _usage_counts(usage: object) -> TokenCounts:
    return TokenCounts(
        input=as_int(getattr(usage, "input_tokens", None)),
        output=as_int(getattr(usage, "output_tokens", None)),
        cache_read=as_int(getattr(usage, "cache_read_tokens", None)),
        cache_write=as_int(getattr(usage, "cache_write_tokens", None)),
        reasoning=as_int(getattr(usage, "reasoning_tokens", None)),
    )


def _token_counts(value: object) -> TokenCounts:
    if not isinstance(value, Mapping):
        return TokenCounts()
    counts: dict[str, int | None] = {}
    for kind, keys in _TOKEN_KEYS.items():
        counts[kind] = next(
            (n for n in (as_int(value.get(k)) for k in keys) if n is not None), None
        )
    return TokenCounts(**counts)


def _sum_tokens(counts: Iterable[TokenCounts]) -> TokenCounts:
    """Sum by kind of the known counts; a kind no action reported stays unknown."""
    sums: dict[str, int | None] = dict.fromkeys(TOKEN_KINDS)
    for item in counts:
        for kind in TOKEN_KINDS:
            value = item.get(kind)
            if value is not None:
                sums[kind] = (sums[kind] or 0) + value
    return TokenCounts(**sums)


def _success_rate(successes: object, count: object) -> float | None:
    ok, total = as_int(successes), as_int(count)
    if ok is None or not total:
        return None
    return _fraction(ok / total)


def _fraction(value: float | None) -> float | None:
    return value if value is not None and 0.0 <= value <= 1.0 else None


def _mean(values: Iterable[float | int | None]) -> float | None:
    known = [float(v) for v in values if v is not None and math.isfinite(v)]
    return statistics.fmean(known) if known else None


def _started_text(value: object) -> str | None:
    """A run_json started_at as RFC 3339: epoch ms are formatted (None when out of datetime's
    range, e.g. 2**70), text is kept as written."""
    epoch_ms = as_int(value)
    if epoch_ms is None:
        return _text(value)
    try:
        return rfc3339(epoch_ms)
    except (OverflowError, OSError, ValueError):
        return None


def _run_id(run: object) -> str | None:
    if isinstance(run, RunRecord | RunView):
        return _text(run.id)
    if isinstance(run, Mapping):
        return _text(run.get("id"))
    return None


def _round(value: float | None, digits: int) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, digits)
