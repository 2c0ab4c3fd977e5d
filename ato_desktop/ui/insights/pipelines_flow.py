"""The per-stage flow of one pipeline run: stages as cards left to right with hand-off arrows
between them; each card shows the stage's agent, outcome, timing, cost, error and the files it
touched, and opens the stage's run with one click (or Enter when focused)."""

from __future__ import annotations

import html

from PySide6.QtCore import QPointF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.store.automations import SOURCE_STAGE, PipelineSummary, StageSummary
from ato_desktop.ui.insights.pipelines_models import (
    KIND_LABELS,
    duration_text,
    pipeline_cost_text,
    stage_cost_text,
    stage_title,
)
from ato_desktop.ui.runs.formatting import full_time, local_time
from ato_desktop.ui.theme import current_theme
from ato_desktop.ui.widgets.status_badge import StatusBadge, status_label

MAX_FILES_SHOWN = 6
CARD_WIDTH = 230
HINT = "Select a pipeline run above to see its stages."


class HandOffArrow(QWidget):
    """The arrow from one stage to the next (dashed when the stage before did not complete)."""

    def __init__(self, solid: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.solid = solid
        self.setFixedWidth(40)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("hands off to")

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        color = QColor(current_theme().text_muted)
        pen = QPen(color, 1.6)
        if not self.solid:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        y = 34.0  # level with the cards' titles
        painter.drawLine(QPointF(4, y), QPointF(self.width() - 8, y))
        head = QPainterPath()
        tip = QPointF(self.width() - 4, y)
        head.moveTo(tip)
        head.lineTo(tip.x() - 8, y - 5)
        head.lineTo(tip.x() - 8, y + 5)
        head.closeSubpath()
        painter.fillPath(head, color)


class StageCard(QFrame):
    """One stage attempt; a click or Enter opens its run."""

    sig_open_run = Signal(str)

    def __init__(self, stage: StageSummary, position: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.stage = stage
        self.setObjectName("StageCard")
        self.setProperty("status", stage.status)
        self.setFixedWidth(CARD_WIDTH)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        if stage.run_id:
            self.setCursor(Qt.CursorShape.PointingHandCursor)
            self.setToolTip(
                "Open the run that fired this hook chain (click or Enter)"
                if stage.stage_name == SOURCE_STAGE
                else "Open this stage's run (click or Enter)"
            )
        else:
            self.setToolTip("This stage never ran: an earlier stage stopped the pipeline.")
        self.setAccessibleName(
            f"Stage {stage_title(stage, position)}, {status_label(stage.status)}"
        )
        column = QVBoxLayout(self)
        column.setContentsMargins(12, 10, 12, 10)
        column.setSpacing(5)
        top = QHBoxLayout()
        top.setSpacing(6)
        self.title = QLabel(stage_title(stage, position))
        self.title.setObjectName("StageTitle")
        top.addWidget(self.title, 1)
        self.badge = StatusBadge()
        self.badge.set_status(stage.status)
        top.addWidget(self.badge)
        column.addLayout(top)
        self.agent = QLabel(f"@{stage.agent_name}" if stage.agent_name else "no agent")
        self.agent.setProperty("muted", True)
        column.addWidget(self.agent)
        self.timing = QLabel(
            f"{duration_text(stage.duration_ns, stage.status)} · {stage_cost_text(stage)}"
            if stage.run_id
            else "never ran"
        )
        self.timing.setObjectName("StageTiming")
        self.timing.setToolTip(
            f"Started {full_time(stage.started_at)}\nEnded {full_time(stage.ended_at)}"
        )
        column.addWidget(self.timing)
        self.started = QLabel(f"started {local_time(stage.started_at)}")
        self.started.setProperty("muted", True)
        self.started.setVisible(bool(stage.run_id))
        column.addWidget(self.started)
        self.error = QLabel("")
        self.error.setObjectName("StageError")
        self.error.setWordWrap(True)
        if stage.error_message or stage.error_class:
            kind = f"{stage.error_class}: " if stage.error_class else ""
            self.error.setText(f"{kind}{stage.error_message or ''}".strip().rstrip(":"))
        self.error.setVisible(bool(self.error.text()))
        column.addWidget(self.error)
        files = stage.files_touched
        self.files = QLabel("")
        self.files.setObjectName("StageFiles")
        self.files.setWordWrap(True)
        self.files.setTextFormat(Qt.TextFormat.RichText)
        if files:
            lines = [
                f"{html.escape(f.change)} <code>{html.escape(f.path)}</code>"
                for f in files[:MAX_FILES_SHOWN]
            ]
            if len(files) > MAX_FILES_SHOWN:
                lines.append(f"+{len(files) - MAX_FILES_SHOWN} more")
            noun = "file" if len(files) == 1 else "files"
            self.files.setText(f"<b>{len(files)} {noun} touched</b><br>" + "<br>".join(lines))
        self.files.setVisible(bool(files))
        column.addWidget(self.files)
        column.addStretch(1)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(
            event.position().toPoint()
        ):
            if self.stage.run_id:
                self.sig_open_run.emit(self.stage.run_id)
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            if self.stage.run_id:
                self.sig_open_run.emit(self.stage.run_id)
            return
        super().keyPressEvent(event)


class StageFlow(QFrame):
    """The selected pipeline run: a header with its figures, then its stages' flow."""

    sig_open_run = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("StageFlow")
        self.summary: PipelineSummary | None = None
        self.cards: list[StageCard] = []
        column = QVBoxLayout(self)
        column.setContentsMargins(14, 12, 14, 12)
        column.setSpacing(8)
        header = QHBoxLayout()
        self.title = QLabel("")
        self.title.setObjectName("StageFlowTitle")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setWordWrap(True)
        header.addWidget(self.title, 1)
        self.open_parent = QPushButton("Open &pipeline run")
        self.open_parent.setObjectName("OpenPipelineRun")
        self.open_parent.setToolTip("The parent run in Runs: the route decision and its stages")
        self.open_parent.clicked.connect(self._open_parent)
        header.addWidget(self.open_parent, 0, Qt.AlignmentFlag.AlignTop)
        column.addLayout(header)
        self.error = QLabel("")
        self.error.setObjectName("StageError")
        self.error.setWordWrap(True)
        self.error.hide()
        column.addWidget(self.error)
        self.scroll_area = QScrollArea()
        self.scroll_area.setObjectName("StageFlowScroll")
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.strip = QWidget()
        self.strip.setObjectName("StageStrip")
        self.strip_layout = QHBoxLayout(self.strip)
        self.strip_layout.setContentsMargins(0, 4, 0, 4)
        self.strip_layout.setSpacing(0)
        self.scroll_area.setWidget(self.strip)
        column.addWidget(self.scroll_area, 1)
        self.hint = QLabel(HINT)
        self.hint.setProperty("muted", True)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        column.addWidget(self.hint, 1)
        self.show_summary(None)

    def sizeHint(self) -> QSize:
        return QSize(900, 300)

    def show_summary(self, summary: PipelineSummary | None) -> None:
        self.summary = summary
        for card in self.cards:
            card.deleteLater()
        self.cards = []
        while self.strip_layout.count():
            item = self.strip_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        shown = summary is not None
        self.scroll_area.setVisible(shown)
        self.open_parent.setVisible(shown)
        self.title.setVisible(shown)
        self.hint.setVisible(not shown)
        self.error.hide()
        if summary is None:
            self.hint.setText(HINT)
            return
        kind = KIND_LABELS.get(summary.kind, summary.kind)
        self.title.setText(
            f"<b>{html.escape(summary.name)}</b> &nbsp;<span>{html.escape(kind)} · "
            f"{html.escape(summary.status)} · {summary.stage_count} stages · "
            f"{duration_text(summary.duration_ns, summary.status)} · "
            f"{html.escape(pipeline_cost_text(summary))} · started by "
            f"{html.escape(summary.trigger)} {html.escape(local_time(summary.started_at))}</span>"
        )
        if summary.error_message:
            self.error.setText(summary.error_message)
            self.error.show()
        previous: StageSummary | None = None
        for position, stage in enumerate(summary.stages, 1):
            if previous is not None:
                self.strip_layout.addWidget(HandOffArrow(previous.status == "completed"))
            card = StageCard(stage, position)
            card.sig_open_run.connect(self.sig_open_run)
            self.cards.append(card)
            self.strip_layout.addWidget(card, 0, Qt.AlignmentFlag.AlignTop)
            previous = stage
        if not summary.stages:
            empty = QLabel("No stage has started yet.")
            empty.setProperty("muted", True)
            self.strip_layout.addWidget(empty)
        self.strip_layout.addStretch(1)

    def show_error(self, message: str) -> None:
        self.show_summary(None)
        self.hint.setText(f"Could not read this pipeline run: {message}")

    def _open_parent(self) -> None:
        if self.summary is not None:
            self.sig_open_run.emit(self.summary.run_id)
