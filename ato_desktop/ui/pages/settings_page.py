"""Settings: API keys in the OS keyring, price overrides, the data directory, chat defaults.

Every keyring call, file read and write, and store read runs off the UI thread. Navigation
targets: activate({"section": "keys" | "mcp" | "sync" | "prices" | "data" | "defaults"})
scrolls to that section and focuses its first field.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.pricing import PriceFileError, parse_price_overrides
from ato_desktop.core.records import RunFilter
from ato_desktop.engine.credentials import PROVIDERS, CredentialError, CredentialStore
from ato_desktop.ui.agents.model_combo import ModelSuggestions, offer_models
from ato_desktop.ui.bridge import connect_for
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.pages.base import Page
from ato_desktop.ui.resources import RESOURCES
from ato_desktop.ui.settings.background_section import BackgroundSection
from ato_desktop.ui.settings.card import Card, mono_font, muted_label, say, tint
from ato_desktop.ui.settings.mcp_section import McpSection
from ato_desktop.ui.settings.retention_section import RetentionSection
from ato_desktop.ui.settings.sync_section import SyncSection
from ato_desktop.ui.theme import current_theme
from ato_desktop.ui.widgets.background import BackgroundWork

log = logging.getLogger(__name__)

SECTIONS = ("keys", "mcp", "sync", "prices", "data", "defaults")

PROVIDER_LABELS = {
    "anthropic": ("Anthropic", "for the claude runtime"),
    "openai": ("OpenAI", "for the codex runtime"),
    "openai-compatible": ("OpenAI-compatible", "your own server: Ollama, vLLM, llama.cpp…"),
}
RUNTIME_LABELS = {
    "claude": "Claude (Anthropic Messages)",
    "codex": "Codex (OpenAI Responses)",
    "openai-compatible": "OpenAI-compatible (Chat Completions)",
}
MODEL_PLACEHOLDERS = {
    "claude": "e.g. claude-sonnet-5",
    "codex": "e.g. gpt-5-mini",
    "openai-compatible": "the server's model name, e.g. llama3.1",
}
DEFAULT_RUNTIME = "claude"
DEFAULT_MODEL = "claude-sonnet-5"
PRICES_EXAMPLE = """{
  "version": 1,
  "models": {
    "my-local-llama": {
      "input_per_mtok": 0,
      "output_per_mtok": 0
    }
  },
  "runtimes": {
    "openai-compatible": {
      "default": {
        "input_per_mtok": 0,
        "output_per_mtok": 0
      }
    }
  }
}
"""
PRICING_DOC = RESOURCES.parent / "docs" / "pricing.md"


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:,.0f} {unit}" if unit == "bytes" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{value:,.1f} TB"  # unreachable


# ---------------------------------------------------------------------------------------------
# API keys


@dataclass(frozen=True)
class _KeysSnapshot:
    secure: bool
    backend: str
    statuses: list[Any]  # KeyStatus


class _KeyRow(QObject):
    """One provider: its status, a password field, Save/Replace and Remove."""

    def __init__(self, section: KeysSection, provider: str, grid: QGridLayout, row: int) -> None:
        super().__init__(section)
        self.section = section
        self.provider = provider
        self.status: Any = None
        name, what = PROVIDER_LABELS[provider]
        label_box = QVBoxLayout()
        label_box.setSpacing(0)
        title = QLabel(name)
        title.setStyleSheet("font-weight: 600;")
        label_box.addWidget(title)
        label_box.addWidget(muted_label(what, wrap=False))
        grid.addLayout(label_box, row * 2, 0)

        self.pill = QLabel("Checking…")
        self.pill.setObjectName(f"KeyStatus_{provider}")
        self.pill.setMinimumWidth(150)
        grid.addWidget(self.pill, row * 2, 1)

        self.field = QLineEdit()
        self.field.setObjectName(f"KeyInput_{provider}")
        self.field.setEchoMode(QLineEdit.EchoMode.Password)
        self.field.setClearButtonEnabled(True)
        self.field.setPlaceholderText("Paste a key")
        self.field.setMinimumWidth(200)
        self.field.textChanged.connect(self._update_buttons)
        self.field.returnPressed.connect(self.save)
        grid.addWidget(self.field, row * 2, 2)

        self.save_button = QPushButton("Save")
        self.save_button.setObjectName(f"KeySave_{provider}")
        self.save_button.setProperty("primary", True)
        self.save_button.clicked.connect(self.save)
        grid.addWidget(self.save_button, row * 2, 3)

        self.remove_button = QPushButton("Remove")
        self.remove_button.setObjectName(f"KeyRemove_{provider}")
        self.remove_button.setProperty("danger", True)
        self.remove_button.clicked.connect(self.remove)
        grid.addWidget(self.remove_button, row * 2, 4)

        below = QVBoxLayout()
        below.setSpacing(4)
        self.message = muted_label()
        self.message.setObjectName(f"KeyMessage_{provider}")
        self.message.hide()
        below.addWidget(self.message)
        # Removing asks first, inline: no dialog in front of the page.
        self.confirm = QFrame()
        self.confirm.setObjectName(f"KeyConfirm_{provider}")
        confirm_row = QHBoxLayout(self.confirm)
        confirm_row.setContentsMargins(12, 6, 6, 6)
        self.confirm.setProperty("confirm", True)
        self.confirm_text = QLabel(
            f"Delete the {name} key from the keyring? Runs that need it fail until you add one."
        )
        self.confirm_text.setWordWrap(True)
        confirm_row.addWidget(self.confirm_text, 1)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName(f"KeyCancel_{provider}")
        self.cancel_button.clicked.connect(self.cancel_remove)
        confirm_row.addWidget(self.cancel_button)
        self.confirm_button = QPushButton("Delete key")
        self.confirm_button.setObjectName(f"KeyConfirmRemove_{provider}")
        self.confirm_button.setProperty("danger", True)
        self.confirm_button.clicked.connect(self.confirm_remove)
        confirm_row.addWidget(self.confirm_button)
        self.confirm.hide()
        below.addWidget(self.confirm)
        grid.addLayout(below, row * 2 + 1, 1, 1, 4)
        self.busy = False
        self._update_buttons()

    # -- state -------------------------------------------------------------------------------

    def show_status(self, status: Any) -> None:
        self.status = status
        theme = current_theme()
        source = status.source.value if status.source is not None else None
        if source == "keyring":
            text, color = "● Saved in the keyring", theme.completed
        elif source == "process":
            text, color = "● This session only", theme.warning
        elif source == "env":
            text, color = f"● From ${status.env_var}", theme.accent
        else:
            text, color = "○ No key", theme.text_muted
        if status.problem:
            text, color = "▲ " + text.lstrip("●○ "), theme.warning
        self.pill.setText(text)
        self.pill.setStyleSheet(f"color: {color}; font-weight: 600;")
        self.pill.setToolTip(status.problem or "")
        self.pill.setProperty("source", source or "")
        stored = source in ("keyring", "process")
        self.save_button.setText("Replace" if stored else "Save")
        self.field.setPlaceholderText(
            "Paste a new key to replace it" if stored else "Paste a key to save it"
        )
        if source == "env":
            self.remove_button.setToolTip(
                f"This key comes from ${status.env_var}; unset it in your environment."
            )
        else:
            self.remove_button.setToolTip("Delete the stored key")
        self._update_buttons()

    def _update_buttons(self) -> None:
        source = self.status.source.value if self.status and self.status.source else None
        self.save_button.setEnabled(not self.busy and bool(self.field.text().strip()))
        self.remove_button.setEnabled(not self.busy and source in ("keyring", "process"))
        self.field.setEnabled(not self.busy)

    def _say(self, text: str, *, error: bool = False) -> None:
        say(self.message, text, error=error)

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self._update_buttons()

    # -- actions -----------------------------------------------------------------------------

    def save(self) -> None:
        key = self.field.text()
        if not key.strip() or self.busy:
            return
        # The key leaves the widget at once, whatever happens next (setText also drops the
        # undo history, so Ctrl+Z cannot bring it back).
        self.field.setText("")
        self.section.ctx.spawn(self._save(key), what=f"save the {self.provider} key")

    async def _save(self, key: str) -> None:
        store = self.section.credentials()
        self._set_busy(True)
        try:
            try:
                outcome = await self.section.work.call(store.set_key, self.provider, key)
            except CredentialError as exc:
                self._say(str(exc), error=True)
                return
            finally:
                del key
            if outcome.persisted:
                self._say("Saved in the OS keyring.")
            else:
                self._say(outcome.notice or "The key was not saved.", error=True)
        finally:
            self._set_busy(False)
            await self.section.refresh()

    def remove(self) -> None:
        """Ask (inline) before deleting the stored key."""
        if not self.busy:
            self.message.hide()
            self.confirm.show()
            self.cancel_button.setFocus()

    def cancel_remove(self) -> None:
        self.confirm.hide()

    def confirm_remove(self) -> None:
        self.confirm.hide()
        if not self.busy:
            self.section.ctx.spawn(self._remove(), what=f"remove the {self.provider} key")

    async def _remove(self) -> None:
        self._set_busy(True)
        try:
            store = self.section.credentials()
            try:
                removed = await self.section.work.call(store.delete_key, self.provider)
            except CredentialError as exc:
                self._say(str(exc), error=True)
                return
            self._say("Removed." if removed else "There was no stored key to remove.")
        finally:
            self._set_busy(False)
            await self.section.refresh()


class KeysSection(Card):
    """API keys per provider: status (never the key), set, replace, remove."""

    sig_refreshed = Signal()

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(
            "keys",
            "API keys",
            "Keys live in your OS keyring, never in the log, exports or settings. Environment "
            "variables (ANTHROPIC_API_KEY, OPENAI_API_KEY, OPENAI_COMPATIBLE_API_KEY) work too.",
        )
        self.ctx = ctx
        self.work = BackgroundWork(self, ctx)
        self.notice = QLabel()
        self.notice.setObjectName("InsecureKeyringNotice")
        self.notice.setWordWrap(True)
        self.notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice.hide()
        self.body.addWidget(self.notice)
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(4)
        grid.setColumnStretch(2, 1)
        self.rows = {p: _KeyRow(self, p, grid, i) for i, p in enumerate(PROVIDERS)}
        for i in range(len(PROVIDERS) - 1):
            grid.setRowMinimumHeight(i * 2 + 1, 10)
        self.body.addLayout(grid)
        self.backend = muted_label()
        self.backend.setObjectName("KeyringBackend")
        self.backend.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body.addWidget(self.backend)
        self.secure: bool | None = None

    def credentials(self) -> Any:
        workspace = self.ctx.workspace
        if workspace is not None:
            return workspace.credentials
        return CredentialStore()

    def first_field(self) -> QWidget:
        return next(iter(self.rows.values())).field

    async def refresh(self) -> None:
        store = self.credentials()
        snapshot = await self.work.call(
            lambda: _KeysSnapshot(
                store.backend_is_secure(), store.backend_description(), store.status()
            )
        )
        self.secure = snapshot.secure
        theme = current_theme()
        if snapshot.secure:
            self.notice.hide()
            self.backend.setText(f"Keyring: {snapshot.backend}")
        else:
            self.notice.setText(
                "<b>No secure keyring on this system.</b> Keys you enter here are kept for this "
                "session only and forgotten when ATO quits; nothing is written to disk. To keep "
                "them, install and unlock a Secret Service keyring (GNOME Keyring or KWallet), "
                "or set the environment variables above."
            )
            self.notice.setStyleSheet(
                f"background: {tint(theme.warning, theme, 0.14)}; color: {theme.text};"
                f"border: 1px solid {theme.warning}; border-radius: 8px; padding: 10px 12px;"
            )
            self.notice.show()
            self.backend.setText(f"Keyring backend: {snapshot.backend}")
        for status in snapshot.statuses:
            row = self.rows.get(status.provider)
            if row is not None:
                row.show_status(status)
        self.sig_refreshed.emit()


# ---------------------------------------------------------------------------------------------
# Price overrides


def _read_price_file(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


class PricesSection(Card):
    """An editor for prices.json: validated before it is saved, then prices are reloaded."""

    sig_saved = Signal(int)  # number of overrides
    sig_refused = Signal(str)  # the parser's message

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(
            "prices",
            "Price overrides",
            "Costs are estimated from the bundled price table. Price your local models or "
            "correct a price here, in USD per million tokens.",
        )
        self.ctx = ctx
        self.work = BackgroundWork(self, ctx)
        self.path = ctx.paths.prices_file
        where = QHBoxLayout()
        where.addWidget(QLabel("File"))
        self.path_label = QLabel(str(self.path))
        self.path_label.setObjectName("PricesPath")
        self.path_label.setFont(mono_font())
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        where.addWidget(self.path_label, 1)
        self.state = muted_label(wrap=False)
        self.state.setObjectName("PricesState")
        where.addWidget(self.state)
        self.body.addLayout(where)

        columns = QHBoxLayout()
        columns.setSpacing(14)
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("PricesEditor")
        self.editor.setFont(mono_font())
        self.editor.setTabChangesFocus(False)
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.editor.setMinimumHeight(230)
        self.editor.setPlaceholderText(
            "No prices.json yet. Write one here, e.g.\n\n" + PRICES_EXAMPLE
        )
        self.editor.textChanged.connect(self._on_edited)
        columns.addWidget(self.editor, 1)

        help_box = QFrame()
        help_box.setObjectName("PricesHelp")
        help_layout = QVBoxLayout(help_box)
        help_layout.setContentsMargins(12, 10, 12, 10)
        help_layout.setSpacing(6)
        help_title = QLabel("Format")
        help_title.setStyleSheet("font-weight: 600;")
        help_layout.addWidget(help_title)
        help_layout.addWidget(
            muted_label(
                'USD per million tokens. "models" apply on every runtime; '
                '"runtimes" on one, and its "default" prices everything else there (0 '
                "makes a local server free)."
            )
        )
        example = QLabel(PRICES_EXAMPLE.strip())
        example.setObjectName("PricesExample")
        example.setFont(mono_font())
        example.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        help_layout.addWidget(example)
        self.doc_link = QLabel()
        self.doc_link.setObjectName("PricesDocLink")
        self.doc_link.setOpenExternalLinks(False)
        self.doc_link.linkActivated.connect(self._open_doc)
        help_layout.addWidget(self.doc_link)
        help_layout.addStretch(1)
        self.help_box = help_box
        help_box.setMaximumWidth(340)
        columns.addWidget(help_box)
        self.body.addLayout(columns)

        actions = QHBoxLayout()
        self.validity = QLabel()
        self.validity.setObjectName("PricesValidity")
        self.validity.setWordWrap(True)
        self.validity.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.validity.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        actions.addWidget(self.validity, 1)
        self.example_button = QPushButton("Insert example")
        self.example_button.setObjectName("PricesInsertExample")
        self.example_button.clicked.connect(self._insert_example)
        actions.addWidget(self.example_button)
        self.revert_button = QPushButton("Revert")
        self.revert_button.setObjectName("PricesRevert")
        self.revert_button.clicked.connect(self.revert)
        actions.addWidget(self.revert_button)
        self.save_button = QPushButton("Save and reload prices")
        self.save_button.setObjectName("PricesSave")
        self.save_button.setProperty("primary", True)
        self.save_button.clicked.connect(self.save)
        actions.addWidget(self.save_button)
        self.body.addLayout(actions)

        self._saved_text: str | None = None  # what the file holds (None: no file)
        self._loaded = False
        self._busy = False
        self._validate_timer = QTimer(self, singleShot=True, interval=350)
        self._validate_timer.timeout.connect(self._validate)
        self.restyle()
        self._update_buttons()

    # -- loading -----------------------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        return self._loaded and self.editor.toPlainText() != (self._saved_text or "")

    async def load(self, *, force: bool = False) -> None:
        """Read prices.json into the editor (unless the user has unsaved edits)."""
        if self.dirty and not force:
            return
        try:
            text = await self.work.call(_read_price_file, self.path)
        except (OSError, UnicodeDecodeError) as exc:
            # Not loaded, so not saveable: an unreadable file is never overwritten from here.
            reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
            self.validity.setText(f"✗ Cannot read {self.path}: {reason or exc}")
            self.validity.setStyleSheet(f"color: {current_theme().failed};")
            return
        if self.dirty and not force:
            return  # the user started typing while we read
        self._saved_text = text
        self.editor.blockSignals(True)
        self.editor.setPlainText(text or "")
        self.editor.blockSignals(False)
        self._loaded = True
        self._show_state()
        self._validate()
        self._update_buttons()

    def _show_state(self) -> None:
        if self._saved_text is None:
            self.state.setText("no file yet: the bundled table prices everything")
            return
        workspace = self.ctx.workspace
        count = len(workspace.prices.overrides) if workspace is not None else 0
        self.state.setText(f"{count} override{'s' if count != 1 else ''} in effect")

    # -- editing -----------------------------------------------------------------------------

    def _on_edited(self) -> None:
        self._validate_timer.start()
        self._update_buttons()

    def _insert_example(self) -> None:
        self.editor.setPlainText(PRICES_EXAMPLE)
        self.editor.setFocus()

    def revert(self) -> None:
        self.editor.setPlainText(self._saved_text or "")
        self._validate()

    def _validate(self) -> bool:
        """Check the editor's text with the real parser; show the verdict. Pure CPU, tiny."""
        theme = current_theme()
        text = self.editor.toPlainText()
        if not text.strip() and self._saved_text is None:
            self.validity.setText("")
            return False
        try:
            overrides = parse_price_overrides(text, source="prices.json")
        except PriceFileError as exc:
            self.validity.setText(f"✗ {exc}")
            self.validity.setStyleSheet(f"color: {theme.failed};")
            return False
        count = len(overrides)
        self.validity.setText(
            f"✓ Valid: {count} price{'s' if count != 1 else ''}"
            + (" (unsaved)" if self.dirty else "")
        )
        self.validity.setStyleSheet(f"color: {theme.completed};")
        return True

    def _update_buttons(self) -> None:
        has_text = bool(self.editor.toPlainText().strip())
        self.save_button.setEnabled(not self._busy and self.dirty)
        self.revert_button.setEnabled(not self._busy and self.dirty)
        self.example_button.setVisible(not has_text)

    # -- saving ------------------------------------------------------------------------------

    def save(self) -> None:
        if not self._busy:
            self.ctx.spawn(self._save(self.editor.toPlainText()), what="save prices.json")

    async def _save(self, text: str) -> None:
        theme = current_theme()
        self._busy = True
        self._update_buttons()
        try:
            try:
                count = await self.work.call(self.ctx.opened_workspace.save_prices, text)
            except PriceFileError as exc:
                self.validity.setText(f"✗ Not saved: {exc}")
                self.validity.setStyleSheet(f"color: {theme.failed};")
                self.sig_refused.emit(str(exc))
                return
            except OSError as exc:
                self.validity.setText(f"✗ Not saved: {self.path}: {exc.strerror or exc}")
                self.validity.setStyleSheet(f"color: {theme.failed};")
                self.sig_refused.emit(str(exc))
                return
            self._saved_text = text if text.endswith("\n") else text + "\n"
            if self.editor.toPlainText() == text:
                self.editor.blockSignals(True)
                self.editor.setPlainText(self._saved_text)
                self.editor.blockSignals(False)
            self.validity.setText(
                f"✓ Saved; prices reloaded ({count} override{'s' if count != 1 else ''}). "
                "New runs are priced with them."
            )
            self.validity.setStyleSheet(f"color: {theme.completed};")
            self._show_state()
            self.ctx.status("prices.json saved and reloaded")
            self.sig_saved.emit(count)
        finally:
            self._busy = False
            self._update_buttons()

    def _open_doc(self, _link: str) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(PRICING_DOC)))

    def restyle(self) -> None:
        theme = current_theme()
        self.help_box.setStyleSheet(
            f"QFrame#PricesHelp {{ background: {theme.code_bg}; border: 1px solid "
            f"{theme.border}; border-radius: 8px; }}"
        )
        if PRICING_DOC.exists():
            self.doc_link.setText(
                f'<a href="pricing" style="color: {theme.accent}; text-decoration: none;">'
                "Format notes: docs/pricing.md ›</a>"
            )
        else:
            self.doc_link.setText("Format notes: docs/pricing.md in the ATO Desktop sources.")
        self.doc_link.setToolTip(str(PRICING_DOC))


# ---------------------------------------------------------------------------------------------
# Data directory


@dataclass(frozen=True)
class _DataStats:
    database_bytes: int
    runs: int
    demo_runs: int
    agents: int


def _data_stats(store: Any) -> _DataStats:
    """Runs on a reader thread: file sizes and counts (a count of 1M runs takes ~50 ms)."""
    db: Path = store.paths.database
    size = 0
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(OSError):
            size += (db.parent / (db.name + suffix)).stat().st_size
    runs = store.count_runs(RunFilter())
    own = store.count_runs(RunFilter(include_demo=False))
    agents = len(store.list_agents())
    return _DataStats(size, runs, runs - own, agents)


class DataSection(Card):
    """Where the data lives, how big the log is, how many runs it holds."""

    sig_refreshed = Signal()

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(
            "data",
            "Data",
            "Everything ATO records stays in this folder on your machine. Set ATO_HOME to "
            "use another one.",
        )
        self.ctx = ctx
        self.work = BackgroundWork(self, ctx)
        where = QHBoxLayout()
        self.path_label = QLabel(str(ctx.paths.root))
        self.path_label.setObjectName("DataDir")
        self.path_label.setFont(mono_font())
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.path_label.setWordWrap(True)
        where.addWidget(self.path_label, 1)
        self.open_button = QPushButton("Open folder")
        self.open_button.setObjectName("DataOpenFolder")
        self.open_button.clicked.connect(self.open_folder)
        where.addWidget(self.open_button)
        self.body.addLayout(where)

        stats = QHBoxLayout()
        stats.setSpacing(12)
        self.size_value = self._stat(stats, "Execution log", "DataSize")
        self.runs_value = self._stat(stats, "Runs", "DataRuns")
        self.agents_value = self._stat(stats, "Agents", "DataAgents")
        self.body.addLayout(stats)
        self.stats: _DataStats | None = None
        self._refresh_timer = QTimer(self, singleShot=True, interval=600)
        self._refresh_timer.timeout.connect(lambda: ctx.spawn(self.refresh(), what="data stats"))

    def _stat(self, row: QHBoxLayout, caption: str, name: str) -> QLabel:
        box = QFrame()
        box.setObjectName("StatBox")
        layout = QVBoxLayout(box)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(2)
        layout.addWidget(muted_label(caption, wrap=False))
        value = QLabel("…")
        value.setObjectName(name)
        value.setStyleSheet("font-size: 18px; font-weight: 600;")
        layout.addWidget(value)
        row.addWidget(box, 1)
        return value

    def restyle(self) -> None:
        theme = current_theme()
        for box in self.findChildren(QFrame, "StatBox"):
            box.setStyleSheet(
                f"QFrame#StatBox {{ background: {theme.surface_alt}; border-radius: 8px; }}"
            )

    def open_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.ctx.paths.root)))

    def schedule_refresh(self) -> None:
        self._refresh_timer.start()

    async def refresh(self) -> None:
        workspace = self.ctx.workspace
        if workspace is None:
            return
        stats = await self.ctx.read(_data_stats, workspace.store)
        self.stats = stats
        self.size_value.setText(_human_size(stats.database_bytes))
        runs = f"{stats.runs:,}"
        if stats.demo_runs:
            runs += f"  ({stats.demo_runs:,} demo)"
        self.runs_value.setText(runs)
        self.agents_value.setText(f"{stats.agents:,}")
        self.sig_refreshed.emit()


# ---------------------------------------------------------------------------------------------
# Defaults for the chat without an agent


class DefaultsSection(Card):
    """The runtime and model a chat uses when no agent is chosen (ctx.settings defaults/*)."""

    sig_saved = Signal()

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(
            "defaults",
            "Chat defaults",
            "Used when you chat without choosing an agent. Model suggestions are the priced "
            "models of the runtime; any name the runtime accepts works.",
        )
        self.ctx = ctx
        self.work = BackgroundWork(self, ctx)
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(8)
        grid.setColumnStretch(1, 1)
        grid.addWidget(QLabel("Runtime"), 0, 0)
        self.runtime = QComboBox()
        self.runtime.setObjectName("DefaultRuntime")
        for runtime, label in RUNTIME_LABELS.items():
            self.runtime.addItem(label, runtime)
        grid.addWidget(self.runtime, 0, 1)
        grid.addWidget(QLabel("Model"), 1, 0)
        self.model = QComboBox()
        self.model.setObjectName("DefaultModel")
        self.model.setEditable(True)
        self.model.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.model.setMaxVisibleItems(14)
        completer = self.model.completer()
        if completer is not None:  # an editable combo box always has one
            completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            completer.setFilterMode(Qt.MatchFlag.MatchContains)
        grid.addWidget(self.model, 1, 1)
        self.base_url_label = QLabel("Base URL")
        grid.addWidget(self.base_url_label, 2, 0)
        self.base_url = QLineEdit()
        self.base_url.setObjectName("DefaultBaseUrl")
        self.base_url.setPlaceholderText("http://localhost:11434/v1")
        grid.addWidget(self.base_url, 2, 1)
        self.body.addLayout(grid)
        self.saved = muted_label()
        self.saved.setObjectName("DefaultsSaved")
        self.saved.hide()
        self.body.addWidget(self.saved)

        self._suggestions = ModelSuggestions(ctx, self)
        self._suggestions.sig_models_loaded.connect(self._on_models_loaded)
        settings = ctx.settings
        runtime = str(settings.value("defaults/runtime", DEFAULT_RUNTIME) or DEFAULT_RUNTIME)
        model = str(settings.value("defaults/model", DEFAULT_MODEL) or "")
        index = self.runtime.findData(runtime)
        self.runtime.setCurrentIndex(index if index >= 0 else 0)
        self.model.setEditText(model)
        self.base_url.setText(str(settings.value("defaults/base_url", "") or ""))
        self._show_runtime()
        self.runtime.currentIndexChanged.connect(self._on_runtime_changed)
        line = self.model.lineEdit()
        if line is not None:  # editable: always there
            line.editingFinished.connect(self.save)
        self.model.activated.connect(lambda _i: self.save())
        self.base_url.editingFinished.connect(self.save)

    def current_runtime(self) -> str:
        return str(self.runtime.currentData())

    def _show_runtime(self) -> None:
        runtime = self.current_runtime()
        line = self.model.lineEdit()
        if line is not None:
            line.setPlaceholderText(MODEL_PLACEHOLDERS.get(runtime, "model name"))
        local = runtime == "openai-compatible"
        self.base_url_label.setVisible(local)
        self.base_url.setVisible(local)

    def _on_runtime_changed(self) -> None:
        self._show_runtime()
        runtime = self.current_runtime()
        models = self._suggestions.cached(runtime) or []
        current = self.model.currentText().strip()
        if current and models and current not in models:
            self.model.setEditText(models[0] if runtime != "openai-compatible" else "")
        elif not models:
            self.model.setEditText("" if runtime == "openai-compatible" else current)
        self.load_suggestions()
        self.save()

    def load_suggestions(self) -> None:
        """Offer the runtime's priced model names (looked up off the UI thread, then cached)."""
        self._suggestions.request(self.current_runtime())

    def _on_models_loaded(self, runtime: str, models: list[str]) -> None:
        if runtime == self.current_runtime():
            offer_models(self.model, models)

    def save(self) -> None:
        settings = self.ctx.settings
        runtime = self.current_runtime()
        model = self.model.currentText().strip()
        settings.setValue("defaults/runtime", runtime)
        settings.setValue("defaults/model", model)
        settings.setValue("defaults/base_url", self.base_url.text().strip())
        settings.sync()
        self.saved.setText(
            f"Saved: new chats use {runtime} · {model}"
            if model
            else "Choose a model: the chat needs one when no agent is selected."
        )
        self.saved.show()
        self.sig_saved.emit()


# ---------------------------------------------------------------------------------------------
# The page


class SettingsPage(Page):
    """Keys, prices, data and chat defaults, one card each, in one scrolling column."""

    page_id = "settings"
    title = "Settings"

    sig_section_shown = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.scroll_area = QScrollArea()
        self.scroll_area.setObjectName("SettingsScroll")
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer.addWidget(self.scroll_area)

        body = QWidget()
        body.setObjectName("SettingsBody")
        row = QHBoxLayout(body)
        row.setContentsMargins(32, 24, 32, 32)
        column_widget = QWidget()
        column_widget.setMaximumWidth(960)
        column = QVBoxLayout(column_widget)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(16)
        row.addStretch(1)
        row.addWidget(column_widget, 20)
        row.addStretch(1)

        title = QLabel("Settings")
        title.setObjectName("PageTitle")
        column.addWidget(title)
        column.addWidget(
            muted_label(
                "Keys, tool servers, prices and defaults for this machine. Nothing leaves it "
                "unless you turn on cloud sync."
            )
        )
        self.keys = KeysSection(ctx)
        self.mcp = McpSection(ctx)
        self.sync = SyncSection(ctx)
        self.prices = PricesSection(ctx)
        self.data = DataSection(ctx)
        self.defaults = DefaultsSection(ctx)
        self.background = BackgroundSection(ctx)
        self.retention = RetentionSection(ctx)
        self.sections: dict[str, Card] = {
            "keys": self.keys,
            "mcp": self.mcp,
            "sync": self.sync,
            "prices": self.prices,
            "data": self.data,
            "defaults": self.defaults,
            "background": self.background,
            "retention": self.retention,
        }
        for card in self.sections.values():
            column.addWidget(card)
        column.addStretch(1)
        self.scroll_area.setWidget(body)
        self.current_section: str | None = None
        # Timers owned by the page: they die with it, so no call outlives its widgets.
        self._pending_section = ""
        self._section_timer = QTimer(self, singleShot=True, interval=0)
        self._section_timer.timeout.connect(lambda: self.show_section(self._pending_section))
        self._unhighlight = QTimer(self, singleShot=True, interval=1500)
        self._unhighlight.timeout.connect(self._clear_highlight)
        self._restyle()
        if ctx.theme is not None:
            ctx.theme.sig_theme_changed.connect(self._restyle)
        if ctx.bridge is not None:
            ctx.bridge.sig_runs_bulk_changed.connect(self._on_data_changed)
            ctx.bridge.sig_run_ended.connect(self._on_data_changed)
            ctx.bridge.sig_config_changed.connect(self._on_data_changed)
            connect_for(self, ctx.bridge.sig_mcp_changed, lambda _e: self.mcp.schedule_refresh())
            # Changes other processes make (`sync configure`, `retention set`) show here too.
            ctx.bridge.sig_sync_changed.connect(self._on_sync_changed)
            ctx.bridge.sig_settings_changed.connect(self._on_settings_changed)
            ctx.bridge.sig_changes_missed.connect(self._on_changes_missed)

    # -- navigation --------------------------------------------------------------------------

    def activate(self, target: dict[str, Any] | None = None) -> None:
        self.ctx.spawn(self.keys.refresh(), what="read the key status")
        self.ctx.spawn(self.mcp.refresh(), what="list the MCP servers")
        self.ctx.spawn(self.sync.load(), what="read the cloud sync settings")
        self.ctx.spawn(self.prices.load(), what="read prices.json")
        self.ctx.spawn(self.data.refresh(), what="read the data statistics")
        self.ctx.spawn(self.retention.refresh(), what="read the retention state")
        self.defaults.load_suggestions()
        section = (target or {}).get("section")
        if section in self.sections:
            # After layout: a page shown for the first time has no geometry yet.
            self._pending_section = str(section)
            self._section_timer.start()

    def show_section(self, section: str) -> None:
        """Scroll so the section is at the top, focus its first field, and mark it briefly."""
        card = self.sections[section]
        self.current_section = section
        bar = self.scroll_area.verticalScrollBar()
        # The first section keeps the page title in view; the others come to the top.
        top = 0 if section == SECTIONS[0] else card.y() - 12
        bar.setValue(min(bar.maximum(), max(0, top)))
        focus: dict[str, QWidget] = {
            "keys": self.keys.first_field(),
            "mcp": self.mcp.first_field(),
            "sync": self.sync.first_field(),
            "prices": self.prices.editor,
            "data": self.data.open_button,
            "defaults": self.defaults.runtime,
        }
        focus[section].setFocus(Qt.FocusReason.OtherFocusReason)
        self._highlight(section)
        self.sig_section_shown.emit(section)

    def _highlight(self, section: str) -> None:
        # A property, not a style sheet of the card's own: sections style their insides.
        for name, card in self.sections.items():
            self._mark(card, name == section)
        self._unhighlight.start()

    def _clear_highlight(self) -> None:
        for card in self.sections.values():
            self._mark(card, False)

    @staticmethod
    def _mark(card: QWidget, highlighted: bool) -> None:
        if bool(card.property("highlighted")) != highlighted:
            card.setProperty("highlighted", highlighted)
            card.style().unpolish(card)
            card.style().polish(card)

    # -- events ------------------------------------------------------------------------------

    def _on_data_changed(self, _event: object) -> None:
        if self.isVisible():
            self.data.schedule_refresh()

    def _on_sync_changed(self, event: Any) -> None:
        if event.change == "configured":
            self.ctx.spawn(self.sync.load(), what="read the cloud sync settings")
        else:
            self.sync.schedule_status()

    def _on_settings_changed(self, event: Any) -> None:
        if event.section == "retention":
            self.ctx.spawn(self.retention.refresh(), what="read the retention state")

    def _on_changes_missed(self, _event: object) -> None:
        self.mcp.schedule_refresh()
        self.ctx.spawn(self.sync.load(), what="read the cloud sync settings")
        self.ctx.spawn(self.retention.refresh(), what="read the retention state")

    def _restyle(self, _theme: object = None) -> None:
        theme = current_theme()
        self.setStyleSheet(
            f"QScrollArea#SettingsScroll, QWidget#SettingsBody {{ background: {theme.window}; }}"
            f'QFrame[confirm="true"] {{ background: {tint(theme.failed, theme, 0.07)};'
            f" border: 1px solid {tint(theme.failed, theme, 0.35)}; border-radius: 8px; }}"
            f'QFrame#Card[highlighted="true"] {{ border: 1px solid {theme.accent}; }}'
        )
        self.prices.restyle()
        self.data.restyle()
        self.mcp.restyle()
        self.sync.restyle()
        for row in self.keys.rows.values():
            if row.status is not None:
                row.show_status(row.status)
