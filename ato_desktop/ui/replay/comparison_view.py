"""Source and replay side by side: each output with the word diff highlighted (what the replay
dropped on the source's side, what it added on its own), and the figures with their deltas."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.cost_rollup import format_cost
from ato_desktop.core.figures import DASH, duration_ms
from ato_desktop.core.replay_figures import delta_text, delta_tone
from ato_desktop.core.word_diff import DiffPiece
from ato_desktop.engine.replay import ReplayComparison, Side
from ato_desktop.ui.replay.replay_style import diff_colours, tone_colour
from ato_desktop.ui.runs.formatting import short_id
from ato_desktop.ui.widgets.status_badge import StatusBadge

SOURCE, REPLAY = "source", "replay"
# A side shows the pieces it has: the source keeps what the replay deleted, the replay what
# it inserted.
_SHOWN = {SOURCE: ("equal", "delete"), REPLAY: ("equal", "insert")}


def diff_html(pieces: tuple[DiffPiece, ...] | list[DiffPiece], side: str) -> str:
    """One side of the word diff as rich text, highlighted with the theme's diff colours."""
    colours = diff_colours()
    out: list[str] = []
    for piece in pieces:
        if piece.op not in _SHOWN[side]:
            continue
        text = html.escape(piece.text).replace("\n", "<br/>")
        if piece.op == "equal":
            out.append(text)
        else:
            background, colour = colours[piece.op]
            decoration = "line-through" if piece.op == "delete" else "none"
            out.append(
                f'<span style="background-color:{background}; color:{colour}; '
                f'text-decoration:{decoration}">{text}</span>'
            )
    body = "".join(out)
    return f'<div style="white-space: pre-wrap">{body}</div>'


class SidePanel(QFrame):
    """One side: title, status, output with the diff, figures (and deltas on the replay)."""

    sig_open_run = Signal(str)

    def __init__(self, side: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.side = side
        self.setObjectName("SideCard")
        self._run_id = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(8)
        top = QHBoxLayout()
        top.setSpacing(8)
        self.title = QLabel("Source" if side == SOURCE else "Replay")
        self.title.setObjectName("SideTitle")
        top.addWidget(self.title)
        self.badge = StatusBadge()
        top.addWidget(self.badge)
        self.target_label = QLabel("")
        self.target_label.setObjectName("ReplaySubtitle")
        top.addWidget(self.target_label, 1)
        self.open_button = QPushButton("Open run")
        self.open_button.setObjectName(f"Open{side.title()}Run")
        self.open_button.setProperty("link", True)
        self.open_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.open_button.clicked.connect(lambda: self.sig_open_run.emit(self._run_id))
        top.addWidget(self.open_button)
        layout.addLayout(top)

        self.output = QTextBrowser()
        self.output.setObjectName("SideOutput")
        self.output.setOpenLinks(False)
        self.output.setMinimumHeight(140)
        layout.addWidget(self.output, 1)

        grid = QGridLayout()
        grid.setHorizontalSpacing(22)
        grid.setVerticalSpacing(0)
        self.values: dict[str, QLabel] = {}
        self.deltas: dict[str, QLabel] = {}
        for col, (caption, key) in enumerate(
            (("Duration", "duration"), ("Tokens in / out", "tokens"), ("Cost", "cost"))
        ):
            label = QLabel(caption)
            label.setObjectName("StatCaption")
            value = QLabel(DASH)
            value.setObjectName(f"{side.title()}_{key}")
            value.setProperty("stat", True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            delta = QLabel("")
            delta.setObjectName(f"Delta_{key}")
            delta.setProperty("delta", True)
            delta.setVisible(side == REPLAY)
            grid.addWidget(label, 0, col)
            row = QHBoxLayout()
            row.setSpacing(6)
            row.addWidget(value)
            row.addWidget(delta)
            row.addStretch(1)
            grid.addLayout(row, 1, col)
            self.values[key] = value
            self.deltas[key] = delta
        grid.setColumnStretch(3, 1)
        layout.addLayout(grid)

    def set_side(self, side: Side, label: str, pieces: tuple[DiffPiece, ...]) -> None:
        self._run_id = side.run_id
        self.badge.set_status(side.status)
        self.target_label.setText(label)
        self.open_button.setToolTip(f"Open run {short_id(side.run_id)} in Runs")
        if side.output:
            self.output.setHtml(diff_html(pieces, self.side))
        else:
            reason = f" ({side.error_class})" if side.error_class else ""
            self.output.setHtml(
                f"<i>No answer{html.escape(reason)}.</i>"
                if side.status != "completed"
                else "<i>An empty answer.</i>"
            )
        self.values["duration"].setText(duration_ms(side.duration_ms))
        self.values["tokens"].setText(f"{side.input_tokens:,} / {side.output_tokens:,}")
        self.values["cost"].setText(format_cost(side.cost_usd, side.cost_source))

    def set_delta(self, key: str, pct: float | None) -> None:
        label = self.deltas[key]
        tone = delta_tone(pct)
        label.setText(delta_text(pct))
        label.setProperty("tone", tone)
        label.setStyleSheet(f"color: {tone_colour(tone)};")
        label.setToolTip(
            "Change against the source: lower is better"
            if pct is not None
            else "No figure on one side"
        )

    def plain_output(self) -> str:
        return self.output.toPlainText()


class ComparisonView(QWidget):
    """The similarity line and the two sides."""

    sig_open_run = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ReplayComparison")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        self.summary = QLabel("")
        self.summary.setObjectName("ReplaySubtitle")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        row = QHBoxLayout()
        row.setSpacing(10)
        self.source = SidePanel(SOURCE)
        self.replay = SidePanel(REPLAY)
        for panel in (self.source, self.replay):
            panel.sig_open_run.connect(self.sig_open_run)
            row.addWidget(panel, 1)
        layout.addLayout(row, 1)
        self._comparison: ReplayComparison | None = None

    def set_comparison(
        self, comparison: ReplayComparison, source_label: str, replay_label: str
    ) -> None:
        self._comparison = comparison
        self.source.set_side(comparison.source, source_label, comparison.diff)
        self.replay.set_side(comparison.replay, replay_label, comparison.diff)
        self.replay.set_delta("duration", comparison.duration_delta_pct)
        self.replay.set_delta("tokens", comparison.tokens_delta_pct)
        self.replay.set_delta("cost", comparison.cost_delta_pct)
        if not comparison.replay_reached_model:
            # No answer came back (no API key, say): no diff, and no deltas to read as savings.
            replay = comparison.replay
            cause = ": ".join(p for p in (replay.error_class, replay.error_message) if p)
            self.summary.setText(
                "The replay failed before reaching a model"
                + (f" ({cause})" if cause else "")
                + ": there is no answer to compare, and its figures are no evidence."
            )
            return
        changed = sum(1 for p in comparison.diff if p.op != "equal")
        self.summary.setText(
            f"Similarity {comparison.similarity * 100:.0f}% · "
            + (
                "the answers are word for word the same"
                if not changed
                else "removed words are struck through on the source side, added words are "
                "highlighted on the replay side"
            )
        )

    def refresh_theme(self) -> None:
        """Re-render the diff in the new theme's colours."""
        comparison = self._comparison
        if comparison is not None:
            self.source.set_side(
                comparison.source, self.source.target_label.text(), comparison.diff
            )
            self.replay.set_side(
                comparison.replay, self.replay.target_label.text(), comparison.diff
            )
            self.replay.set_delta("duration", comparison.duration_delta_pct)
            self.replay.set_delta("tokens", comparison.tokens_delta_pct)
            self.replay.set_delta("cost", comparison.cost_delta_pct)
