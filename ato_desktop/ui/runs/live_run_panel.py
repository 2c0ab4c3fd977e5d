"""A run in flight, in its details: how far it is (a completion percentage where it can be known,
else its time against the agent's usual), tokens and cost so far, a Kill button, and the text of
the model turn streaming now: live from the stream for a run of this app, from its checkpoints
(about once a second) for a run of another process.

The panel only shows; RunDetailsView feeds it (core.live_progress words the progress).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.live_progress import Progress
from ato_desktop.ui.widgets.json_view import monospace_font

SOURCE_STREAM = "stream"  # a run of this app: every chunk as it arrives
SOURCE_CHECKPOINT = "checkpoint"  # another process's run: its checkpoints
SOURCE_CAPTIONS = {
    SOURCE_STREAM: "Streaming now",
    SOURCE_CHECKPOINT: "From its last checkpoint (another process; about once a second)",
}
OUTPUT_HEIGHT = 150
BAR_SCALE = 1000  # the bar's range: tenths of a percent


class LiveRunPanel(QFrame):
    """Progress, figures so far, Kill, and the streaming text of one running run."""

    sig_kill_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RunLivePanel")
        self.source = SOURCE_CHECKPOINT
        self.progress: Progress | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(6)

        top = QHBoxLayout()
        top.setSpacing(10)
        self.bar = QProgressBar()
        self.bar.setObjectName("RunProgressBar")
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(8)
        self.bar.setFixedWidth(180)
        top.addWidget(self.bar, 0, Qt.AlignmentFlag.AlignVCenter)
        self.percent_label = QLabel("")
        self.percent_label.setObjectName("RunProgressPercent")
        top.addWidget(self.percent_label)
        self.progress_label = QLabel("")
        self.progress_label.setObjectName("RunProgressText")
        self.progress_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        top.addWidget(self.progress_label, 1)
        self.so_far = QLabel("")
        self.so_far.setObjectName("RunSoFar")
        self.so_far.setProperty("muted", True)
        top.addWidget(self.so_far)
        self.kill_button = QPushButton("Kill")
        self.kill_button.setObjectName("RunKill")
        self.kill_button.setProperty("danger", True)
        self.kill_button.setToolTip("Stop this run now; what it streamed so far is kept")
        self.kill_button.clicked.connect(self.sig_kill_clicked)
        top.addWidget(self.kill_button)
        layout.addLayout(top)

        self.caption = QLabel(SOURCE_CAPTIONS[self.source])
        self.caption.setObjectName("RunOutputCaption")
        self.caption.setProperty("muted", True)
        layout.addWidget(self.caption)
        self.output = QPlainTextEdit()
        self.output.setObjectName("RunLiveOutput")
        self.output.setReadOnly(True)
        self.output.setFont(monospace_font())
        self.output.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.output.setPlaceholderText("Nothing streamed yet: the model has not answered.")
        self.output.setFixedHeight(OUTPUT_HEIGHT)
        layout.addWidget(self.output)

    # -- what it shows -------------------------------------------------------------------------

    @property
    def text(self) -> str:
        return self.output.toPlainText()

    def reset(self, source: str, text: str) -> None:
        """A (new) running run: where its text comes from, and the text so far."""
        self.source = source
        self.caption.setText(SOURCE_CAPTIONS.get(source, ""))
        self.output.setPlainText(text)
        self._to_end()
        self.kill_button.setEnabled(True)
        self.kill_button.setText("Kill")

    def set_text(self, text: str) -> None:
        """The whole text of the turn (a checkpoint); the view stays at the end if it was."""
        if text == self.output.toPlainText():
            return
        follow = self._at_end()
        self.output.setPlainText(text)
        if follow:
            self._to_end()

    def append_text(self, chunk: str) -> None:
        """Chunks as they stream (this app's runs)."""
        if not chunk:
            return
        follow = self._at_end()
        cursor = QTextCursor(self.output.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(chunk)
        if follow:
            self._to_end()

    def set_progress(self, progress: Progress) -> None:
        self.progress = progress
        self.progress_label.setText(progress.text)
        self.progress_label.setToolTip(progress.text)
        self.progress_label.setProperty("overdue", progress.overdue)
        self.progress_label.style().unpolish(self.progress_label)
        self.progress_label.style().polish(self.progress_label)
        if progress.percent is not None:
            self.bar.setRange(0, BAR_SCALE)
            self.bar.setValue(round(progress.percent * BAR_SCALE / 100))
            self.percent_label.setText(f"{progress.percent:.0f} %")
            self.percent_label.show()
        elif progress.elapsed_share is not None:
            # Time against the usual: the bar fills toward it, never claims completion.
            self.bar.setRange(0, BAR_SCALE)
            self.bar.setValue(round(min(progress.elapsed_share, 0.99) * BAR_SCALE))
            self.percent_label.hide()
        else:
            self.bar.setRange(0, 0)  # busy: nothing to measure against
            self.percent_label.hide()

    def set_so_far(self, text: str) -> None:
        self.so_far.setText(text)

    def set_kill_requested(self, text: str = "Kill requested…") -> None:
        self.kill_button.setEnabled(False)
        self.kill_button.setText(text)

    # -- internals -------------------------------------------------------------------------------

    def _at_end(self) -> bool:
        bar = self.output.verticalScrollBar()
        return bar.value() >= bar.maximum() - 4

    def _to_end(self) -> None:
        bar = self.output.verticalScrollBar()
        bar.setValue(bar.maximum())
