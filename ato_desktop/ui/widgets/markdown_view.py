"""Readable Markdown with boxed code blocks, rendered incrementally while an answer streams.

Streaming never re-renders the whole document: the text is split into complete blocks (up to a
blank line, or a closing code fence) and an open tail. Complete blocks are rendered once and
appended; only the tail is replaced, and at most every STREAM_INTERVAL_MS. So a long answer costs
about as much to show as it is long, however many chunks it came in.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QDesktopServices,
    QFont,
    QFontDatabase,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextDocumentFragment,
    QTextFormat,
    QTextFrameFormat,
    QWheelEvent,
)
from PySide6.QtWidgets import QFrame, QSizePolicy, QTextBrowser, QWidget

from ato_desktop.ui.theme import current_theme

STREAM_INTERVAL_MS = 50
WEB_SCHEMES = ("http", "https", "mailto")

_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$")
_HEADING_SCALE = {1: 1.3, 2: 1.18, 3: 1.08}
_ORDERED_ITEM = re.compile(r"^\d{1,9}[.)](\s|$)")


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of the document: Markdown text, or the body of a fenced code block."""

    kind: str  # "markdown" | "code"
    text: str
    language: str = ""


class MarkdownSplitter:
    """Cuts streamed Markdown into complete segments and an open tail (pure, no Qt).

    A blank line ends a Markdown block unless the next line continues it (indented, or the
    next item of a numbered list, so numbering and list paragraphs stay whole). A code fence is
    a segment of its own, complete at its closing fence.
    """

    def __init__(self) -> None:
        self.text = ""
        self._scan = 0  # start of the first line not yet scanned
        self._start = 0  # start of the open block
        self._boundary: int | None = None  # end of the last blank line after the open block
        self._fence: str | None = None  # the opening fence while inside a code block
        self._language = ""

    def feed(self, chunk: str) -> list[Segment]:
        """Add text; returns the segments it completed, in order."""
        self.text += chunk
        done: list[Segment] = []
        while True:
            newline = self.text.find("\n", self._scan)
            if newline < 0:
                return done
            line_start, line_end = self._scan, newline + 1
            self._scan = line_end
            self._take_line(self.text[line_start:newline], line_start, line_end, done)

    def tail(self) -> Segment | None:
        """The open block (None when there is nothing pending)."""
        rest = self.text[self._start :]
        if self._fence is not None:
            return Segment("code", rest, self._language)
        return Segment("markdown", rest) if rest.strip() else None

    def _take_line(self, line: str, start: int, end: int, done: list[Segment]) -> None:
        if self._fence is not None:
            stripped = line.strip()
            fence = self._fence
            if stripped.startswith(fence) and set(stripped) == {fence[0]}:
                done.append(Segment("code", self.text[self._start : start], self._language))
                self._fence = None
                self._start = end
            return
        opening = _FENCE_OPEN.match(line)
        if opening:
            self._emit_markdown(start, done)
            self._fence, self._language = opening.group(1), opening.group(2)
            self._start, self._boundary = end, None
            return
        if not line.strip():
            if self.text[self._start : start].strip():
                self._boundary = end
            else:
                self._start = end  # leading blank lines belong to nothing
            return
        if self._boundary is not None:
            continues = line[:1] in (" ", "\t") or _ORDERED_ITEM.match(line) is not None
            if not continues:
                self._emit_markdown(self._boundary, done)
                self._start = self._boundary
            self._boundary = None

    def _emit_markdown(self, end: int, done: list[Segment]) -> None:
        block = self.text[self._start : end]
        if block.strip():
            done.append(Segment("markdown", block))
        self._start = end


def split_markdown(text: str) -> list[Segment]:
    """Every segment of a finished text."""
    splitter = MarkdownSplitter()
    segments = splitter.feed(text)
    tail = splitter.tail()
    return [*segments, tail] if tail is not None else segments


class _DocumentWriter:
    """Appends segments to a QTextDocument, and replaces the open tail in place."""

    def __init__(self, document: QTextDocument) -> None:
        self.document = document
        self._stable_end = 0  # position after the last complete segment
        # The last complete block's formats: removing the tail after it must not change them.
        self._stable_block = QTextBlockFormat()
        self._stable_chars = QTextCharFormat()
        self.rendered_chars = 0  # Markdown text laid out so far (tests watch this stay linear)

    def clear(self) -> None:
        self.document.clear()
        self._stable_end = 0
        self._stable_block = QTextBlockFormat()
        self._stable_chars = QTextCharFormat()

    def append(self, segments: list[Segment], tail: Segment | None) -> None:
        cursor = QTextCursor(self.document)
        cursor.beginEditBlock()
        self._remove_tail(cursor)
        for segment in segments:
            self._insert(cursor, segment)
        if segments:
            self._stable_end = self._end()
            last = self.document.lastBlock()
            self._stable_block, self._stable_chars = last.blockFormat(), last.charFormat()
        if tail is not None:
            self._insert(cursor, tail)
        cursor.endEditBlock()

    def _end(self) -> int:
        return max(0, self.document.characterCount() - 1)

    def _remove_tail(self, cursor: QTextCursor) -> None:
        if self._end() > self._stable_end:
            cursor.setPosition(self._stable_end)
            cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
            cursor.removeSelectedText()
            # The block the tail was merged into keeps the tail's formats otherwise.
            cursor.setBlockFormat(self._stable_block)
            cursor.setBlockCharFormat(self._stable_chars)

    def _insert(self, cursor: QTextCursor, segment: Segment) -> None:
        cursor.movePosition(QTextCursor.MoveOperation.End)
        start = cursor.position()
        self.rendered_chars += len(segment.text)
        if segment.kind == "code":
            self._insert_code(cursor, segment)
        else:
            self._insert_markdown(cursor, segment.text)
        self._style(start)

    def _insert_markdown(self, cursor: QTextCursor, text: str) -> None:
        scratch = QTextDocument()
        if self.document.isEmpty():
            scratch.setMarkdown(text)
            cursor.insertFragment(QTextDocumentFragment(scratch))
            return
        # A fragment's first block takes the format of the block it lands in. Starting the
        # copy at a paragraph separator (after a throwaway first block) gives every block its own.
        scratch.setMarkdown("x\n\n" + text)
        source = QTextCursor(scratch)
        source.setPosition(scratch.begin().length() - 1)
        source.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        cursor.insertFragment(QTextDocumentFragment(source))

    def _insert_code(self, cursor: QTextCursor, segment: Segment) -> None:
        theme = current_theme()
        frame = QTextFrameFormat()
        frame.setBackground(QColor(theme.code_bg))
        frame.setBorder(1)
        frame.setBorderBrush(QBrush(QColor(theme.border)))
        frame.setBorderStyle(QTextFrameFormat.BorderStyle.BorderStyle_Solid)
        frame.setPadding(8)
        frame.setTopMargin(4)
        frame.setBottomMargin(6)
        cursor.insertFrame(frame)
        block = QTextBlockFormat()
        block.setNonBreakableLines(False)
        cursor.setBlockFormat(block)
        chars = QTextCharFormat()
        chars.setFont(code_font(self.document))
        chars.setForeground(QColor(theme.text))
        cursor.insertText(segment.text.rstrip("\n"), chars)
        cursor.movePosition(QTextCursor.MoveOperation.End)

    def _style(self, start: int) -> None:
        """Theme what Qt's Markdown reader produced: code, headings, quotes and tables."""
        theme = current_theme()
        background = QColor(theme.code_bg)
        font = code_font(self.document)
        base_size = self.document.defaultFont().pointSizeF()
        block = self.document.findBlock(start)
        cursor = QTextCursor(self.document)
        tables: set[int] = set()
        while block.isValid():
            fmt = block.blockFormat()
            cursor.setPosition(block.position())
            if fmt.hasProperty(QTextFormat.Property.BlockCodeLanguage):
                code_block = QTextBlockFormat()
                code_block.setBackground(background)
                cursor.mergeBlockFormat(code_block)
            level = fmt.headingLevel()
            if level and base_size > 0:
                # Chat answers use headings as section labels, not page titles: keep them modest.
                for span in block.textFormats():
                    heading = QTextCharFormat(span.format)
                    heading.clearProperty(QTextFormat.Property.FontSizeAdjustment)
                    heading.setFontPointSize(base_size * _HEADING_SCALE.get(level, 1.0))
                    heading.setFontWeight(QFont.Weight.DemiBold)
                    _select(cursor, block.position() + span.start, span.length)
                    cursor.setCharFormat(heading)
                cursor.setPosition(block.position())
            if fmt.hasProperty(QTextFormat.Property.BlockQuoteLevel):
                quote = QTextCharFormat()
                quote.setForeground(QColor(theme.text_muted))
                cursor.movePosition(
                    QTextCursor.MoveOperation.EndOfBlock, QTextCursor.MoveMode.KeepAnchor
                )
                cursor.mergeCharFormat(quote)
                cursor.setPosition(block.position())
            table = cursor.currentTable()
            if table is not None and id(table) not in tables:
                tables.add(id(table))
                table_format = table.format()
                table_format.setBorderBrush(QBrush(QColor(theme.border)))
                table_format.setBorderCollapse(True)
                table_format.setCellPadding(4)
                table.setFormat(table_format)
            for span in block.textFormats():
                if span.format.fontFixedPitch():
                    inline = QTextCharFormat()
                    inline.setBackground(background)
                    inline.setFont(font)
                    _select(cursor, block.position() + span.start, span.length)
                    cursor.mergeCharFormat(inline)
            block = block.next()


def _select(cursor: QTextCursor, start: int, length: int) -> None:
    cursor.setPosition(start)
    cursor.setPosition(start + length, QTextCursor.MoveMode.KeepAnchor)


def code_font(document: QTextDocument) -> QFont:
    """The system's fixed-width font, a little smaller than the text around it."""
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    base = document.defaultFont().pointSizeF()
    if base > 0:
        font.setPointSizeF(max(7.0, base * 0.92))
    return font


class MarkdownView(QTextBrowser):
    """Read-only Markdown. Web links open in the browser; other links are reported.

    fit_height: grow to show the whole document (no scroll bar), for use inside a list of
    messages that scrolls as a whole.
    """

    sig_link_activated = Signal(QUrl)  # a non-web link (e.g. an app link) was clicked

    def __init__(self, parent: QWidget | None = None, *, fit_height: bool = False) -> None:
        super().__init__(parent)
        self._source = ""
        self._plain = False
        self._fit = fit_height
        self._splitter: MarkdownSplitter | None = None
        self._pending: list[Segment] = []  # completed while streaming, not yet shown
        self._writer = _DocumentWriter(self.document())
        self.document().setUndoRedoEnabled(False)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.anchorClicked.connect(self._on_anchor)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextBrowserInteraction
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self._stream_timer = QTimer(self, singleShot=True, interval=STREAM_INTERVAL_MS)
        self._stream_timer.timeout.connect(self.flush_stream)
        if fit_height:
            self.setFrameShape(QFrame.Shape.NoFrame)
            self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            self.document().setDocumentMargin(2)
            self.viewport().setAutoFillBackground(False)
            self.setStyleSheet("QTextBrowser { background: transparent; border: none; }")
            self.document().documentLayout().documentSizeChanged.connect(self._fit_to_document)
            self._fit_to_document()

    # -- content ---------------------------------------------------------------------------------

    def markdown_source(self) -> str:
        """The text shown (Markdown, or plain text after set_plain_text)."""
        return self._splitter.text if self._splitter is not None else self._source

    @property
    def is_streaming(self) -> bool:
        return self._splitter is not None

    @property
    def rendered_chars(self) -> int:
        """How much Markdown text has been laid out in all (linear in the text when streaming)."""
        return self._writer.rendered_chars

    def set_markdown(self, text: str) -> None:
        """Show a finished text (ends any stream)."""
        self._stream_timer.stop()
        self._splitter = None
        self._source, self._plain = text, False
        self._writer.clear()
        segments = split_markdown(text)
        self._writer.append(segments, None)

    def set_plain_text(self, text: str) -> None:
        """Show text as it is (what the user typed)."""
        self._stream_timer.stop()
        self._splitter = None
        self._source, self._plain = text, True
        self._writer.clear()
        self.setPlainText(text)

    # -- streaming -------------------------------------------------------------------------------

    def begin_stream(self, initial: str = "") -> None:
        """Start showing a text that arrives in chunks."""
        self._stream_timer.stop()
        self._writer.clear()
        self._source, self._plain = "", False
        self._splitter = MarkdownSplitter()
        self._pending = []
        if initial:
            self.append_stream(initial)
            self.flush_stream()

    def append_stream(self, chunk: str) -> None:
        """Add a chunk; it is shown within STREAM_INTERVAL_MS (chunks in between are batched)."""
        if self._splitter is None:
            self.begin_stream()
        assert self._splitter is not None
        self._pending.extend(self._splitter.feed(chunk))
        if not self._stream_timer.isActive():
            self._stream_timer.start()

    def flush_stream(self) -> None:
        """Show everything received so far now."""
        self._stream_timer.stop()
        if self._splitter is None:
            return
        segments, self._pending = self._pending, []
        self._writer.append(segments, self._splitter.tail())

    def end_stream(self) -> None:
        """The text is complete: show the rest and keep it as the view's source."""
        if self._splitter is None:
            return
        self.flush_stream()
        self._source = self._splitter.text
        self._splitter = None

    # -- behaviour -------------------------------------------------------------------------------

    def _on_anchor(self, url: QUrl) -> None:
        if url.scheme() in WEB_SCHEMES:
            QDesktopServices.openUrl(url)
        else:
            self.sig_link_activated.emit(url)

    def _fit_to_document(self, *_args: object) -> None:
        height = self.document().documentLayout().documentSize().height()
        margins = self.contentsMargins()
        self.setFixedHeight(math.ceil(height) + margins.top() + margins.bottom() + 1)

    def sizeHint(self) -> QSize:
        if not self._fit:
            return super().sizeHint()
        return QSize(super().sizeHint().width(), self.height())

    def wheelEvent(self, event: QWheelEvent) -> None:
        if self._fit:
            event.ignore()  # let the list of messages around us scroll
            return
        super().wheelEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        # Colours of code blocks are part of the document: render again in the new theme.
        if event.type() == QEvent.Type.PaletteChange and not self.is_streaming:
            if self._plain:
                return
            if self._source:
                self.set_markdown(self._source)
