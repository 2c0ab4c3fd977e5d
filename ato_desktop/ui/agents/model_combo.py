"""Model names as an editable combo box, with suggestions from the price table per runtime."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QComboBox, QCompleter, QWidget

from ato_desktop.ui.context import AppContext
from ato_desktop.ui.widgets.background import BackgroundWork

# The HTTP runtimes: what a chat without an agent can use.
RUNTIMES = ("claude", "codex", "openai-compatible")
# An agent can also be a coding agent run as a subprocess in a working directory.
CODING_AGENT_RUNTIMES = ("claude-code", "codex-cli")
AGENT_RUNTIMES = RUNTIMES + CODING_AGENT_RUNTIMES
RUNTIME_LABELS = {
    "claude": "Claude (Anthropic)",
    "codex": "Codex (OpenAI Responses)",
    "openai-compatible": "OpenAI-compatible",
    "claude-code": "Claude Code (coding agent)",
    "codex-cli": "Codex CLI (coding agent)",
}
MODEL_PLACEHOLDERS = {
    "claude": "e.g. claude-sonnet-5",
    "codex": "e.g. gpt-5",
    "openai-compatible": "e.g. llama3.1 (the server's model name)",
    # The coding agents' own defaults as of Claude Code 2.1.197 and Codex CLI 0.171.0 (the
    # versions the parsers' fixtures come from); "default" lets the CLI choose, and the run
    # records the model that answered.
    "claude-code": "default, or e.g. claude-opus-4-8",
    "codex-cli": "default, or e.g. gpt-6.2-sol",
}


class ModelSuggestions(QObject):
    """Priced model names per runtime, looked up off the UI thread once and cached.

    The first lookup imports the price table (slow), so it runs in a worker thread.
    """

    sig_models_loaded = Signal(str, list)  # runtime, model names

    def __init__(self, ctx: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.work = BackgroundWork(self, ctx)
        self._cache: dict[str, list[str]] = {}
        self._book: Any = None
        self._loading: set[str] = set()

    def cached(self, runtime: str) -> list[str] | None:
        self._drop_stale()
        return self._cache.get(runtime)

    def request(self, runtime: str) -> None:
        """Emit sig_models_loaded for runtime: at once when cached, else after a lookup."""
        models = self.cached(runtime)
        if models is not None:
            self.sig_models_loaded.emit(runtime, list(models))
        elif runtime not in self._loading and self._ctx.workspace is not None:
            self._loading.add(runtime)
            self._ctx.spawn(self._load(runtime), what="look up model names")

    async def _load(self, runtime: str) -> None:
        book = self._ctx.opened_workspace.prices
        try:
            models = await self.work.call(book.known_models, runtime)
        finally:
            self._loading.discard(runtime)
        if book is self._ctx.opened_workspace.prices:
            self._book = book
            self._cache[runtime] = list(models)
        self.sig_models_loaded.emit(runtime, list(models))

    def _drop_stale(self) -> None:
        # prices.json was reloaded: suggestions come from the new book.
        workspace = self._ctx.workspace
        if workspace is not None and self._book is not None and workspace.prices is not self._book:
            self._cache.clear()
            self._book = None


def offer_models(combo: QComboBox, models: list[str]) -> None:
    """Make models the editable combo's list; what the user typed stays (and no signal fires)."""
    text = combo.currentText()
    combo.blockSignals(True)
    try:
        combo.clear()
        combo.addItems(models)
        combo.setEditText(text)
    finally:
        combo.blockSignals(False)


class ModelCombo(QComboBox):
    """An editable model name; the list and the completer offer the runtime's priced models."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.setMaxVisibleItems(14)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(18)
        completer = self.completer()
        if completer is not None:  # an editable combo box always has one
            completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            completer.setFilterMode(Qt.MatchFlag.MatchContains)
            completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.runtime = ""

    def model_name(self) -> str:
        return self.currentText().strip()

    def set_model_name(self, name: str) -> None:
        self.setEditText(name)

    def set_runtime(self, runtime: str) -> None:
        self.runtime = runtime
        line = self.lineEdit()
        if line is not None:  # editable: always there
            line.setPlaceholderText(MODEL_PLACEHOLDERS.get(runtime, "model name"))

    def set_suggestions(self, models: list[str]) -> None:
        """Offer these names; what the user typed stays."""
        offer_models(self, models)

    def suggestions(self) -> list[str]:
        return [self.itemText(i) for i in range(self.count())]
