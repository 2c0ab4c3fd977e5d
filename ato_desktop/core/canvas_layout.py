"""A layered layout for the Automations canvas (a Sugiyama-lite): nodes sit in columns by
layer, left to right; within a column they are ordered by barycentric sweeps to cut edge
crossings, then placed near the mean height of their neighbours without ever overlapping.

Pure: sizes in, top-left positions out. Edges may join any two layers (no dummy nodes); an
edge within one layer or pointing backwards only pulls on the ordering.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

DEFAULT_SWEEPS = 8


@dataclass(frozen=True, slots=True)
class LayoutNode:
    id: str
    layer: int
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    width: float
    height: float

    @property
    def center_y(self) -> float:
        return self.y + self.height / 2

    def intersects(self, other: Rect) -> bool:
        return (
            self.x < other.x + other.width
            and other.x < self.x + self.width
            and self.y < other.y + other.height
            and other.y < self.y + self.height
        )


@dataclass(frozen=True, slots=True)
class Layout:
    """Where every node goes, the column order chosen, and the size of the whole."""

    rects: dict[str, Rect]
    order: tuple[tuple[str, ...], ...]  # node ids per layer, top to bottom
    width: float
    height: float


def layered_layout(
    nodes: Sequence[LayoutNode],
    edges: Iterable[tuple[str, str]],
    *,
    layer_gap: float = 120.0,
    node_gap: float = 24.0,
    sweeps: int = DEFAULT_SWEEPS,
) -> Layout:
    """Lay nodes out in columns by layer (empty layers collapse); edges to unknown ids are
    ignored. Deterministic: the same input gives the same layout."""
    by_id = {n.id: n for n in nodes}
    neighbours: dict[str, list[str]] = defaultdict(list)
    for src, dst in edges:
        if src in by_id and dst in by_id and src != dst:
            neighbours[src].append(dst)
            neighbours[dst].append(src)
    layer_keys = sorted({n.layer for n in nodes})
    columns: list[list[str]] = [[n.id for n in nodes if n.layer == key] for key in layer_keys]
    columns = _order(columns, neighbours, sweeps)

    rects: dict[str, Rect] = {}
    x = 0.0
    heights = [
        sum(by_id[i].height for i in column) + node_gap * max(0, len(column) - 1)
        for column in columns
    ]
    total_height = max(heights, default=0.0)
    placed_centres: dict[str, float] = {}
    for column, column_height in zip(columns, heights, strict=True):
        width = max((by_id[i].width for i in column), default=0.0)
        ys = _place(
            column, by_id, neighbours, placed_centres, node_gap, total_height, column_height
        )
        for node_id, y in zip(column, ys, strict=True):
            node = by_id[node_id]
            rects[node_id] = Rect(x + (width - node.width) / 2, y, node.width, node.height)
            placed_centres[node_id] = y + node.height / 2
        x += width + layer_gap
    width = max(0.0, x - layer_gap) if columns else 0.0
    top = min((r.y for r in rects.values()), default=0.0)
    if top:
        rects = {k: Rect(r.x, r.y - top, r.width, r.height) for k, r in rects.items()}
    bottom = max((r.y + r.height for r in rects.values()), default=0.0)
    return Layout(rects, tuple(tuple(c) for c in columns), width, bottom)


def _order(
    columns: list[list[str]], neighbours: dict[str, list[str]], sweeps: int
) -> list[list[str]]:
    """Barycentric ordering: each column sorted by the mean position of its neighbours in the
    other columns, sweeping left to right then right to left; the best order seen is kept."""
    position: dict[str, float] = {}

    def index_all() -> None:
        for column in columns:
            count = max(1, len(column) - 1)
            for i, node_id in enumerate(column):
                position[node_id] = i / count

    index_all()
    best = [list(c) for c in columns]
    best_crossings = count_crossings(best, neighbours)
    for sweep in range(sweeps):
        order = range(len(columns)) if sweep % 2 == 0 else range(len(columns) - 1, -1, -1)
        for c in order:
            column = columns[c]
            keyed = []
            for i, node_id in enumerate(column):
                near = [position[n] for n in neighbours.get(node_id, ()) if n not in column]
                bary = sum(near) / len(near) if near else position[node_id]
                keyed.append((bary, i, node_id))
            keyed.sort()
            columns[c] = [node_id for _b, _i, node_id in keyed]
            count = max(1, len(columns[c]) - 1)
            for i, node_id in enumerate(columns[c]):
                position[node_id] = i / count
        crossings = count_crossings(columns, neighbours)
        if crossings < best_crossings:
            best, best_crossings = [list(c) for c in columns], crossings
        if best_crossings == 0:
            break
    return best


def _place(
    column: list[str],
    by_id: dict[str, LayoutNode],
    neighbours: dict[str, list[str]],
    placed_centres: dict[str, float],
    gap: float,
    total_height: float,
    column_height: float,
) -> list[float]:
    """Tops for a column's nodes in order: each wants to centre on its already placed
    neighbours (else the column is centred in the tallest one); overlaps are pushed apart,
    forwards then backwards, so the order holds and no two nodes touch."""
    start = (total_height - column_height) / 2
    stacked: list[float] = []
    y = start
    for node_id in column:
        stacked.append(y)
        y += by_id[node_id].height + gap
    wanted: list[float] = []
    for node_id, fallback in zip(column, stacked, strict=True):
        near = [placed_centres[n] for n in neighbours.get(node_id, ()) if n in placed_centres]
        if near:
            wanted.append(sum(near) / len(near) - by_id[node_id].height / 2)
        else:
            wanted.append(fallback)
    # Pushed down from the wishes, and pushed up from them; their mean balances a cluster
    # around where it wants to be, and a last forward pass guarantees the gaps.
    down = list(wanted)
    for i in range(1, len(down)):
        down[i] = max(down[i], down[i - 1] + by_id[column[i - 1]].height + gap)
    up = list(wanted)
    for i in range(len(up) - 2, -1, -1):
        up[i] = min(up[i], up[i + 1] - by_id[column[i]].height - gap)
    ys = [(a + b) / 2 for a, b in zip(down, up, strict=True)]
    for i in range(1, len(ys)):
        ys[i] = max(ys[i], ys[i - 1] + by_id[column[i - 1]].height + gap)
    return ys


def count_crossings(columns: Sequence[Sequence[str]], neighbours: dict[str, list[str]]) -> int:
    """Crossings between edges joining adjacent columns (what the ordering minimises)."""
    total = 0
    for left, right in itertools.pairwise(columns):
        right_index = {node_id: i for i, node_id in enumerate(right)}
        pairs = sorted(
            (i, right_index[n])
            for i, node_id in enumerate(left)
            for n in neighbours.get(node_id, ())
            if n in right_index
        )
        total += _inversions(pairs)
    return total


def _inversions(pairs: list[tuple[int, int]]) -> int:
    """Pairs (a, b), (c, d) with a < c and b > d, counted with a Fenwick tree: O(E log E)."""
    if not pairs:
        return 0
    size = max(j for _i, j in pairs) + 2
    tree = [0] * (size + 1)

    def add(k: int) -> None:
        k += 1
        while k <= size:
            tree[k] += 1
            k += k & -k

    def prefix(k: int) -> int:  # how many added ends are <= k
        k += 1
        total = 0
        while k > 0:
            total += tree[k]
            k -= k & -k
        return total

    found, added, start = 0, 0, 0
    while start < len(pairs):
        stop = start
        while stop < len(pairs) and pairs[stop][0] == pairs[start][0]:
            stop += 1
        for _i, j in pairs[start:stop]:
            found += added - prefix(j)
        for _i, j in pairs[start:stop]:
            add(j)
        added += stop - start
        start = stop
    return found
