"""One aligned action's inputs and outputs, left and right, with word-level highlighting.

Word pieces of a long payload take up to tens of milliseconds (core.compare.word_pieces is
bounded), so they are worked out on a worker thread; the newest selection wins.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.compare import (
    ActionComparison,
    ActionView,
    payload_text,
    word_pieces,
)
from ato_desktop.core.word_diff import DiffPiece
from ato_desktop.ui.agents.history_view import diff_colors
from ato_desktop.ui.chat.log_tasks import Generations
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.theme import current_theme
from ato_desktop.ui.widgets.background import BackgroundWork

# Text shown per side, at most: a QTextDocument of a few hundred thousand highlighted characters
# takes a noticeable time to lay out. The core already cuts payloads at 100,000 characters.
MAX_SHOWN_CHARS = 60_000

INPUTS = "inputs"
OUTPUTS = "outputs"


class SideBySide(QWidget):
    """Two read-only text panes, left and right, that scroll together."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.setSpacing(8)
        self.left = self._pane(f"{name}Left")
        self.right = self._pane(f"{name}Right")
        layout.addWidget(self.left, 1)
        layout.addWidget(self.right, 1)
        self._syncing = False
        left_bar, right_bar = self.left.verticalScrollBar(), self.right.verticalScrollBar()
        left_bar.valueChanged.connect(lambda v: self._sync(left_bar, right_bar))
        right_bar.valueChanged.connect(lambda v: self._sync(right_bar, left_bar))

    @staticmethod
    def _pane(name: str) -> QTextBrowser:
        pane = QTextBrowser()
        pane.setObjectName(name)
        pane.setOpenLinks(False)
        pane.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        return pane

    def _sync(self, source: object, target: object) -> None:
        from PySide6.QtWidgets import QScrollBar

        assert isinstance(source, QScrollBar) and isinstance(target, QScrollBar)
        if self._syncing or source.maximum() <= 0:
            return
        self._syncing = True
        try:
            target.setValue(round(source.value() / source.maximum() * target.maximum()))
        finally:
            self._syncing = False

    def set_html(self, left: str, right: str) -> None:
        self.left.setHtml(left)
        self.right.setHtml(right)


class ActionDiffView(QWidget):
    """The selected row's Output and Input, side by side."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.work = BackgroundWork(self, ctx)
        self._row: ActionComparison | None = None
        self._generation = Generations()
        self._pieces: dict[str, tuple[DiffPiece, ...] | None] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.caption = QLabel("Select an action to see its output and input, left and right.")
        self.caption.setObjectName("DiffCaption")
        self.caption.setWordWrap(True)
        layout.addWidget(self.caption)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("DiffTabs")
        self.tabs.setDocumentMode(True)
        self.outputs = SideBySide("Output")
        self.inputs = SideBySide("Input")
        self.tabs.addTab(self.outputs, "Output")
        self.tabs.addTab(self.inputs, "Input")
        layout.addWidget(self.tabs, 1)

    # -- state -----------------------------------------------------------------------------------

    @property
    def row(self) -> ActionComparison | None:
        return self._row

    def pieces(self, which: str) -> tuple[DiffPiece, ...] | None:
        """The word pieces shown for OUTPUTS or INPUTS (None: no diff, one side only)."""
        return self._pieces.get(which)

    @property
    def busy(self) -> bool:
        return self._row is not None and len(self._pieces) < 2

    def clear(self) -> None:
        self._generation.next()
        self._row = None
        self._pieces = {}
        self.caption.setText("Select an action to see its output and input, left and right.")
        self.outputs.set_html("", "")
        self.inputs.set_html("", "")

    def show_row(self, row: ActionComparison | None) -> None:
        if row is None:
            self.clear()
            return
        generation = self._generation.next()
        self._row = row
        self._pieces = {}
        self.caption.setText(_caption(row))
        if row.left is None or row.right is None:
            for which, pane in ((OUTPUTS, self.outputs), (INPUTS, self.inputs)):
                self._pieces[which] = None
                pane.set_html(*_one_sided_html(row.left, row.right, which))
            return
        for pane in (self.outputs, self.inputs):
            pane.set_html(_note_html("Working out the differences…"), "")
        self.ctx.spawn(self._diff(generation, row), what="diff the action")

    async def _diff(self, generation: int, row: ActionComparison) -> None:
        jobs: list[tuple[str, SideBySide, str, str, Sequence[DiffPiece] | None]] = []
        for which, pane, diff in (
            (OUTPUTS, self.outputs, row.outputs),
            (INPUTS, self.inputs, row.inputs),
        ):
            left, right = (diff.left, diff.right) if diff is not None else ("", "")
            given = row.output_words if which == OUTPUTS else None
            if which == OUTPUTS and given is not None:
                # The core's word diff covers the output's text; show the same text beside it.
                left, right = _joined(given, "delete"), _joined(given, "insert")
            jobs.append((which, pane, left, right, given))
        results: list[tuple[str, SideBySide, tuple[DiffPiece, ...]]] = []
        for which, pane, left, right, known in jobs:
            found = known if known is not None else await self.work.call(word_pieces, left, right)
            results.append((which, pane, tuple(found)))
        if not self._generation.is_latest(generation):
            return
        truncated = any(d is not None and d.truncated for d in (row.inputs, row.outputs))
        for which, pane, pieces in results:
            self._pieces[which] = pieces
            pane.set_html(*_pieces_html(pieces, truncated))


def _joined(pieces: Sequence[DiffPiece], skip: str) -> str:
    return "".join(p.text for p in pieces if p.op != skip)


def _caption(row: ActionComparison) -> str:
    status = {
        "same": "The same on both sides.",
        "changed": "Changed: deletions are marked on the left, insertions on the right.",
        "only_left": "Only the left run has this action.",
        "only_right": "Only the right run has this action.",
    }.get(row.status, "")
    similarity = (
        f" Output similarity {row.output_similarity * 100:.0f}%."
        if row.output_similarity is not None and row.status == "changed"
        else ""
    )
    return f"{row.name} — {status}{similarity}"


def _pre(body: str) -> str:
    t = current_theme()
    return (
        f'<pre style="white-space: pre-wrap; font-family: monospace; color: {t.text}; '
        f'margin: 0;">{body}</pre>'
    )


def _note_html(text: str) -> str:
    return f'<p style="color: {current_theme().text_muted};">{html.escape(text)}</p>'


def _span(text: str, background: str, color: str) -> str:
    return f'<span style="background-color: {background}; color: {color};">{text}</span>'


def _pieces_html(pieces: Sequence[DiffPiece], truncated: bool) -> tuple[str, str]:
    colors = diff_colors(current_theme())
    left: list[str] = []
    right: list[str] = []
    shown_left = shown_right = 0
    for piece in pieces:
        text = piece.text
        if piece.op in ("equal", "delete") and shown_left < MAX_SHOWN_CHARS:
            part = html.escape(text[: MAX_SHOWN_CHARS - shown_left])
            shown_left += len(text)
            left.append(
                part if piece.op == "equal" else _span(part, colors.removed_bg, colors.removed_text)
            )
        if piece.op in ("equal", "insert") and shown_right < MAX_SHOWN_CHARS:
            part = html.escape(text[: MAX_SHOWN_CHARS - shown_right])
            shown_right += len(text)
            right.append(
                part if piece.op == "equal" else _span(part, colors.added_bg, colors.added_text)
            )
    notes = []
    if truncated:
        notes.append("Payloads over 100,000 characters are compared on their first 100,000.")
    if max(shown_left, shown_right) > MAX_SHOWN_CHARS:
        notes.append(f"Showing the first {MAX_SHOWN_CHARS:,} characters.")
    tail = _note_html(" ".join(notes)) if notes else ""
    empty = _note_html("(empty)")
    return (
        (_pre("".join(left)) if shown_left else empty) + tail,
        (_pre("".join(right)) if shown_right else empty) + tail,
    )


def _one_sided_html(
    left: ActionView | None, right: ActionView | None, which: str
) -> tuple[str, str]:
    def side(view: ActionView | None, run: str) -> str:
        if view is None:
            return _note_html(f"Not in the {run} run.")
        text, cut = payload_text(view.outputs if which == OUTPUTS else view.inputs)
        if not text:
            return _note_html("(empty)")
        note = _note_html("Cut at 100,000 characters.") if cut else ""
        return _pre(html.escape(text[:MAX_SHOWN_CHARS])) + note

    return side(left, "left"), side(right, "right")
