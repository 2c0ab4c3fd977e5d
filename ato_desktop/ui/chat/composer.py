"""Where the prompt is written: Enter sends, Shift+Enter adds a line, Stop while answering."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout

MAX_LINES = 8
IDLE_HINT = "Enter to send  ·  Shift+Enter for a new line"
STREAMING_HINT = "Answering…  Esc or Stop ends it; what arrived so far is kept"


class PromptEdit(QPlainTextEdit):
    """A plain-text editor that submits on Enter and grows with its text up to MAX_LINES."""

    sig_submitted = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("PromptEdit")
        self.setTabChangesFocus(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setPlaceholderText("Write a message…")
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self._fit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self.insertPlainText("\n")
            else:
                self.sig_submitted.emit()
            event.accept()
            return
        super().keyPressEvent(event)

    def _fit(self, *_args: object) -> None:
        lines = max(1, min(MAX_LINES, self.document().lineCount() or 1))
        # Wrapped lines count too: the layout's height, in lines, bounded.
        layout_lines = self.document().documentLayout().documentSize().height()
        lines = max(lines, min(MAX_LINES, math.ceil(layout_lines)))
        line_height = self.fontMetrics().lineSpacing()
        margins = self.contentsMargins()
        doc_margin = self.document().documentMargin()
        self.setFixedHeight(
            int(lines * line_height + 2 * doc_margin + margins.top() + margins.bottom() + 2)
        )


class Composer(QFrame):
    """The prompt editor with its Send and Stop buttons."""

    sig_submitted = Signal(str)
    sig_stop_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("Composer")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 8)
        layout.setSpacing(6)
        self.edit = PromptEdit()
        self.edit.sig_submitted.connect(self.submit)
        layout.addWidget(self.edit)
        row = QHBoxLayout()
        row.setSpacing(8)
        self.hint = QLabel(IDLE_HINT)
        self.hint.setObjectName("ComposerHint")
        row.addWidget(self.hint, 1)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("StopButton")
        self.stop_button.setProperty("danger", True)
        self.stop_button.setToolTip("Stop the answer (Esc); the text so far is kept")
        self.stop_button.clicked.connect(self.sig_stop_requested)
        self.stop_button.setVisible(False)
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("SendButton")
        self.send_button.setProperty("primary", True)
        self.send_button.setToolTip("Send (Enter)")
        self.send_button.clicked.connect(self.submit)
        row.addWidget(self.stop_button)
        row.addWidget(self.send_button)
        layout.addLayout(row)
        self._streaming = False

    @property
    def streaming(self) -> bool:
        return self._streaming

    def text(self) -> str:
        return self.edit.toPlainText()

    def set_text(self, text: str) -> None:
        self.edit.setPlainText(text)
        cursor = self.edit.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        self.edit.setTextCursor(cursor)

    def focus(self) -> None:
        self.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def submit(self) -> None:
        text = self.text().strip()
        if text and not self._streaming:
            self.sig_submitted.emit(text)

    def set_streaming(self, streaming: bool) -> None:
        """While an answer streams only Stop works."""
        self._streaming = streaming
        self.edit.setEnabled(not streaming)
        self.send_button.setVisible(not streaming)
        self.stop_button.setVisible(streaming)
        self.hint.setText(STREAMING_HINT if streaming else IDLE_HINT)
        if streaming:
            self.stop_button.setFocus(Qt.FocusReason.OtherFocusReason)
