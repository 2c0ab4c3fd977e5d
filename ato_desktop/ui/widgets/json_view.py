"""A read-only JSON viewer: pretty, syntax-highlighted (QSyntaxHighlighter, theme colours), and
safe with payloads of any size.

What is shown is prepared off the UI thread: binary objects from the store ({"$binary": ...})
become a short marker, very long strings are cut, and the pretty text stops at DISPLAY_MAX_CHARS
(the encoder is run incrementally, so a 50 MB payload costs no more than a 250 KB one). Colours
are applied only up to HIGHLIGHT_MAX_CHARS, because the highlighter runs on the UI thread.
Copy and "Save to file…" always use the whole payload, formatted on a worker thread.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QGuiApplication,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.ui.theme import Theme, current_theme

log = logging.getLogger(__name__)

DISPLAY_MAX_CHARS = 256_000  # pretty text shown; beyond this the view is truncated
HIGHLIGHT_MAX_CHARS = 120_000  # colours off above this (the highlighter runs on the UI thread)
LONG_STRING_CHARS = 10_000  # strings longer than this are cut in the view
PRETTY_COPY_MAX_CHARS = 1_000_000  # copies/saves above this are compact JSON
SYNC_FORMAT_MAX_CHARS = 32_000  # payloads known to be smaller are formatted inline

_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ato-json")
    return _POOL


# -- preparing text (plain Python: runs on worker threads) ---------------------------------------


@dataclass(frozen=True, slots=True)
class JsonText:
    """What a JsonView shows for one value."""

    text: str
    total_chars: int  # size of the whole value as compact JSON
    truncated: bool  # the view stops before the end, or some long strings were cut
    binary_parts: int  # {"$binary": ...} objects shown as markers
    highlight: bool


def is_binary(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("$binary"), str)


def _binary_marker(value: dict[str, Any]) -> str:
    size = value.get("size")
    if not isinstance(size, int):
        size = len(value["$binary"]) * 3 // 4
    return f"‹binary data, {size:,} bytes: use Save to file›"


def display_value(value: Any) -> tuple[Any, int, int]:
    """value with binary objects replaced by markers and long strings cut;
    returns (value, binary objects replaced, strings cut)."""
    counts = [0, 0]

    def walk(node: Any, depth: int) -> Any:
        if isinstance(node, str):
            if len(node) > LONG_STRING_CHARS:
                counts[1] += 1
                rest = len(node) - LONG_STRING_CHARS
                return node[:LONG_STRING_CHARS] + f"… ‹{rest:,} more characters›"
            return node
        if depth > 200:
            return "‹nested too deep to show›"
        if isinstance(node, dict):
            if is_binary(node):
                counts[0] += 1
                return {"$binary": _binary_marker(node), "size": node.get("size")}
            return {str(k): walk(v, depth + 1) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, depth + 1) for v in node]
        return node

    shown = walk(value, 0)
    return shown, counts[0], counts[1]


def compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def prepare_json(
    value: Any, max_chars: int = DISPLAY_MAX_CHARS, *, total_chars: int | None = None
) -> JsonText:
    """Pretty text for the view, never more than about max_chars (safe on any payload).

    total_chars (the compact size, when the caller knows it) spares encoding the whole value.
    """
    total = total_chars if total_chars is not None else len(compact_json(value))
    shown, binaries, cut = display_value(value)
    encoder = json.JSONEncoder(indent=2, ensure_ascii=False, default=str)
    parts: list[str] = []
    length = 0
    truncated = False
    for chunk in encoder.iterencode(shown):
        parts.append(chunk)
        length += len(chunk)
        if length > max_chars:
            truncated = True
            break
    text = "".join(parts)
    if truncated:
        text = text[:max_chars]
        text = text[: text.rfind("\n")] if "\n" in text else text
        text += (
            f"\n… ‹truncated: showing {len(text):,} of about {total:,} characters;"
            " Copy or Save to file for all of it›"
        )
    return JsonText(
        text=text,
        total_chars=total,
        truncated=truncated or cut > 0,
        binary_parts=binaries,
        highlight=len(text) <= HIGHLIGHT_MAX_CHARS,
    )


def _safe_prepare(value: Any, total_chars: int | None = None) -> JsonText:
    try:
        return prepare_json(value, total_chars=total_chars)
    except Exception as exc:  # a value json cannot walk (it came from our own store: unlikely)
        return JsonText(f"‹could not format this payload: {exc}›", 0, False, 0, False)


def full_json(value: Any) -> str:
    """The whole value as JSON: pretty when it is small enough to read, compact otherwise."""
    compact = compact_json(value)
    if len(compact) > PRETTY_COPY_MAX_CHARS:
        return compact
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def binary_bytes(value: Any) -> bytes | None:
    """The raw bytes of a lone binary payload, or None."""
    if not is_binary(value):
        return None
    try:
        return base64.b64decode(value["$binary"], validate=False)
    except (binascii.Error, ValueError):
        return None


def write_payload(value: Any, path: Path) -> int:
    """Write the whole payload to path (raw bytes for a binary payload); returns bytes written."""
    raw = binary_bytes(value)
    data = raw if raw is not None else full_json(value).encode("utf-8")
    path.write_bytes(data)
    return len(data)


def run_in_worker(job: Callable[[], Any], deliver: Callable[[Any], None]) -> None:
    """Run job on the JSON worker threads, then deliver(result) ON THAT THREAD: deliver should
    emit a signal, which Qt queues to the receiver's (UI) thread. Failures are logged."""

    def task() -> None:
        try:
            result = job()
        except Exception:
            log.exception("JSON worker job failed")
            return
        with contextlib.suppress(RuntimeError):  # the receiver was deleted meanwhile
            deliver(result)

    _pool().submit(task)


# -- highlighting -----------------------------------------------------------------------------

_TOKENS = re.compile(
    r'(?P<key>"(?:[^"\\]|\\.)*"(?=\s*:))'
    r'|(?P<string>"(?:[^"\\]|\\.)*")'
    r"|(?P<number>-?\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b)"
    r"|(?P<literal>\b(?:true|false|null)\b)"
    r"|(?P<marker>‹[^›]*›)"
)


class JsonHighlighter(QSyntaxHighlighter):
    """Keys, strings, numbers, literals and our ‹markers›, one line at a time (JSON strings
    never span lines, so no state is carried between blocks)."""

    def __init__(self, document: QTextDocument, theme: Theme | None = None) -> None:
        super().__init__(document)
        self._formats: dict[str, QTextCharFormat] = {}
        self.set_theme(theme or current_theme())

    def set_theme(self, theme: Theme) -> None:
        def fmt(color: str, *, italic: bool = False) -> QTextCharFormat:
            f = QTextCharFormat()
            f.setForeground(QColor(color))
            f.setFontItalic(italic)
            return f

        self._formats = {
            "key": fmt(theme.json_key),
            "string": fmt(theme.json_string),
            "number": fmt(theme.json_number),
            "literal": fmt(theme.json_literal),
            "marker": fmt(theme.text_muted, italic=True),
        }
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        formats = self._formats
        for match in _TOKENS.finditer(text):
            kind = match.lastgroup
            if kind is not None:
                self.setFormat(match.start(), match.end() - match.start(), formats[kind])


# -- the widget -------------------------------------------------------------------------------


def monospace_font() -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setPointSizeF(max(8.5, font.pointSizeF() * 0.95))
    return font


class JsonView(QWidget):
    """Shows one JSON value; Copy and Save to file act on the whole value."""

    sig_content_shown = Signal(object)  # JsonText, once the text is in the view
    sig_copied = Signal(int)  # characters put on the clipboard
    sig_saved = Signal(str)  # path written

    _sig_prepared = Signal(int, object)  # generation, JsonText (from a worker thread)
    _sig_copy_ready = Signal(int, str)  # generation, text (from a worker thread)
    _sig_save_done = Signal(str, str)  # path, error ("" when fine)

    def __init__(self, parent: QWidget | None = None, *, toolbar: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName("JsonView")
        self._value: Any = None
        self._has_value = False
        self._generation = 0
        self._shown: JsonText | None = None
        self._suggested_name = "payload"

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self._bar = QWidget()
        bar = QHBoxLayout(self._bar)
        bar.setContentsMargins(0, 0, 0, 0)
        bar.setSpacing(6)
        self._notice = QLabel("")
        self._notice.setObjectName("JsonNotice")
        self._notice.setProperty("muted", True)
        self._notice.setWordWrap(True)
        bar.addWidget(self._notice, 1)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setObjectName("JsonCopy")
        self.copy_button.setToolTip("Copy the whole JSON to the clipboard")
        self.copy_button.clicked.connect(self.copy_to_clipboard)
        self.save_button = QPushButton("Save to file…")
        self.save_button.setObjectName("JsonSave")
        self.save_button.setToolTip("Save the whole payload to a file")
        self.save_button.clicked.connect(lambda: self.save_to_file())
        bar.addWidget(self.copy_button)
        bar.addWidget(self.save_button)
        layout.addWidget(self._bar)
        self._bar.setVisible(toolbar)

        self.editor = QPlainTextEdit()
        self.editor.setObjectName("JsonText")
        self.editor.setReadOnly(True)
        self.editor.setUndoRedoEnabled(False)
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.editor.setFont(monospace_font())
        self.editor.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        layout.addWidget(self.editor, 1)
        self._highlighter = JsonHighlighter(self.editor.document())
        self._apply_theme_colours()

        self._sig_prepared.connect(self._on_prepared)
        self._sig_copy_ready.connect(self._on_copy_ready)
        self._sig_save_done.connect(self._on_save_done)
        self._set_buttons_enabled(False)

    # -- public --------------------------------------------------------------------------------

    @property
    def value(self) -> Any:
        return self._value

    @property
    def shown(self) -> JsonText | None:
        """What the view shows now (None while empty or formatting)."""
        return self._shown

    def text(self) -> str:
        return self.editor.toPlainText()

    def clear(self, message: str = "") -> None:
        self._generation += 1
        self._value = None
        self._has_value = False
        self._shown = None
        self._highlighter.setDocument(None)
        self.editor.setPlainText("")
        self.editor.setPlaceholderText(message)
        self._notice.setText("")
        self._set_buttons_enabled(False)

    def set_value(self, value: Any, *, size_hint: int | None = None, name: str = "payload") -> None:
        """Show value. size_hint (compact JSON length, when the caller knows it) lets small
        values be formatted at once; anything else is formatted on a worker thread."""
        self._generation += 1
        generation = self._generation
        self._value = value
        self._has_value = True
        self._suggested_name = name
        self._shown = None
        self._set_buttons_enabled(True)
        if value is None or isinstance(value, bool | int | float):
            self._on_prepared(generation, prepare_json(value))
            return
        if size_hint is not None and size_hint <= SYNC_FORMAT_MAX_CHARS:
            self._on_prepared(generation, prepare_json(value, total_chars=size_hint))
            return
        self._highlighter.setDocument(None)
        self.editor.setPlainText("")
        self.editor.setPlaceholderText("Formatting…")
        self._notice.setText("Formatting…")
        self._run(
            lambda: _safe_prepare(value, size_hint),
            lambda r: self._sig_prepared.emit(generation, r),
        )

    def copy_to_clipboard(self) -> None:
        """Put the whole value on the clipboard (formatted off the UI thread)."""
        if not self._has_value:
            return
        value, generation = self._value, self._generation
        self._run(lambda: full_json(value), lambda t: self._sig_copy_ready.emit(generation, t))

    def save_to_file(self, path: str | Path | None = None) -> None:
        """Write the whole payload (asks where when path is None); binary payloads as bytes."""
        if not self._has_value:
            return
        value = self._value
        if path is None:
            suffix = ".bin" if is_binary(value) else ".json"
            chosen, _ = QFileDialog.getSaveFileName(
                self, "Save payload", str(Path.home() / f"{self._suggested_name}{suffix}")
            )
            if not chosen:
                return
            path = chosen
        target = Path(path)

        def done(error: str) -> None:
            self._sig_save_done.emit(str(target), error)

        def job() -> str:
            try:
                write_payload(value, target)
            except OSError as exc:
                return exc.strerror or str(exc)
            return ""

        self._run(job, done)

    def set_theme(self, theme: Theme) -> None:
        self._highlighter.set_theme(theme)
        self._apply_theme_colours()

    # -- internals -----------------------------------------------------------------------------

    def _run(self, job: Callable[[], Any], deliver: Callable[[Any], None]) -> None:
        run_in_worker(job, deliver)

    def _on_prepared(self, generation: int, prepared: JsonText) -> None:
        if generation != self._generation:
            return  # a newer value replaced this one while it was being formatted
        self._highlighter.setDocument(self.editor.document() if prepared.highlight else None)
        self.editor.setPlaceholderText("")
        self.editor.setPlainText(prepared.text)
        self._shown = prepared
        self._notice.setText(self._notice_text(prepared))
        self.sig_content_shown.emit(prepared)

    def _notice_text(self, prepared: JsonText) -> str:
        notes: list[str] = []
        if prepared.total_chars >= 1024:
            notes.append(_size(prepared.total_chars))
        if prepared.binary_parts:
            notes.append(
                f"{prepared.binary_parts} binary part{'s' if prepared.binary_parts > 1 else ''}"
                " not shown"
            )
        if prepared.truncated:
            notes.append("truncated view")
        if not prepared.highlight:
            notes.append("colours off for large payloads")
        return " · ".join(notes)

    def _on_copy_ready(self, generation: int, text: str) -> None:
        if generation != self._generation:
            return
        QGuiApplication.clipboard().setText(text)
        self.sig_copied.emit(len(text))

    def _on_save_done(self, path: str, error: str) -> None:
        if error:
            self._notice.setText(f"Could not save {path}: {error}")
            return
        self._notice.setText(f"Saved to {path}")
        self.sig_saved.emit(path)

    def _set_buttons_enabled(self, enabled: bool) -> None:
        self.copy_button.setEnabled(enabled)
        self.save_button.setEnabled(enabled)

    def _apply_theme_colours(self) -> None:
        theme = current_theme()
        self.editor.setStyleSheet(
            f"QPlainTextEdit#JsonText {{ background: {theme.code_bg}; color: {theme.text}; }}"
        )


def _size(chars: int) -> str:
    if chars < 1024 * 1024:
        return f"{chars / 1024:.1f} KB"
    return f"{chars / (1024 * 1024):.1f} MB"
