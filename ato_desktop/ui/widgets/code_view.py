"""A read-only code snippet: monospace, Python syntax colours from the theme (no dependency:
a small QSyntaxHighlighter), sized to its text. Used for the before/after snippets of
determinism findings."""

from __future__ import annotations

import keyword
import re

from PySide6.QtCore import Qt
from PySide6.QtGui import (
    QColor,
    QResizeEvent,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextDocument,
)
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from ato_desktop.ui.theme import Theme, current_theme
from ato_desktop.ui.widgets.json_view import monospace_font

_TOKENS = re.compile(
    r"(?P<comment>#[^\n]*)"
    r"|(?P<string>[rbfRBF]{0,2}(?:\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'))"
    r"|(?P<decorator>@\w+)"
    r"|(?P<number>\b\d[\d_]*(?:\.\d+)?(?:[eE][+-]?\d+)?\b)"
    r"|(?P<keyword>\b(?:" + "|".join(keyword.kwlist) + r")\b)"
    r"|(?P<call>\b[A-Za-z_]\w*(?=\())"
)


class PythonHighlighter(QSyntaxHighlighter):
    """Comments, strings, numbers, keywords and called names, one line at a time (snippets are
    short and have no multi-line strings, so no state is carried between blocks)."""

    def __init__(self, document: QTextDocument, theme: Theme | None = None) -> None:
        super().__init__(document)
        self._formats: dict[str, QTextCharFormat] = {}
        self.set_theme(theme or current_theme())

    def set_theme(self, theme: Theme) -> None:
        def fmt(color: str, *, italic: bool = False, bold: bool = False) -> QTextCharFormat:
            f = QTextCharFormat()
            f.setForeground(QColor(color))
            f.setFontItalic(italic)
            if bold:
                f.setFontWeight(600)
            return f

        self._formats = {
            "comment": fmt(theme.text_muted, italic=True),
            "string": fmt(theme.json_string),
            "decorator": fmt(theme.json_literal),
            "number": fmt(theme.json_number),
            "keyword": fmt(theme.json_key, bold=True),
            "call": fmt(theme.json_literal),
        }
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        for match in _TOKENS.finditer(text):
            kind = match.lastgroup
            if kind is not None:
                self.setFormat(match.start(), match.end() - match.start(), self._formats[kind])


class CodeView(QPlainTextEdit):
    """A short, read-only, highlighted Python snippet; as tall as its text (up to max_lines)."""

    def __init__(self, parent: QWidget | None = None, *, max_lines: int = 14) -> None:
        super().__init__(parent)
        self.setObjectName("CodeView")
        self.setReadOnly(True)
        self.setUndoRedoEnabled(False)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFont(monospace_font())
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self._max_lines = max_lines
        self._highlighter = PythonHighlighter(self.document())

    def set_code(self, code: str) -> None:
        self.setPlainText(code.rstrip("\n"))
        self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        """As tall as the text, plus the horizontal scroll bar when a line is wider than the
        view (so the last line is never hidden behind it)."""
        text = self.toPlainText()
        lines = text.split("\n") if text else [""]
        metrics = self.fontMetrics()
        widest = max(metrics.horizontalAdvance(line) for line in lines)
        margin = int(self.document().documentMargin() * 2)
        height = (
            min(len(lines), self._max_lines) * metrics.lineSpacing()
            + margin
            + self.frameWidth() * 2
            + 4
        )
        if widest + margin > self.contentsRect().width():
            height += self.horizontalScrollBar().sizeHint().height()
        if height != self.height():
            self.setFixedHeight(height)

    def set_theme(self, theme: Theme) -> None:
        self._highlighter.set_theme(theme)
