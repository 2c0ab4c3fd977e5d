"""Where a replay goes: an agent, or a runtime and a model (and an optional base URL).

Model names are suggested from what the workspace already used on that runtime (agents'
histories, recent runs), then from the price table.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QWidget,
)

from ato_desktop.core.records import AgentRecord, RunFilter
from ato_desktop.core.replay_figures import other_runtime, suggest_models
from ato_desktop.engine.replay import ReplayTarget
from ato_desktop.ui.agents.model_combo import RUNTIME_LABELS, RUNTIMES, ModelCombo, ModelSuggestions
from ato_desktop.ui.widgets.background import BackgroundWork

RECENT_RUNS = 300  # how many recent runs say which models are in use


@dataclass(frozen=True, slots=True)
class TargetChoices:
    """The agents to offer, and the (runtime, model) pairs in use, most recent first."""

    agents: list[AgentRecord]
    used: list[tuple[str, str]]


def load_choices(store: Any) -> TargetChoices:
    """Read on a reader thread: the agents and the models the workspace already uses."""
    agents = sorted(store.list_agents(), key=lambda a: a.name.lower())
    used: list[tuple[str, str]] = []
    for agent in sorted(agents, key=lambda a: -a.updated_at):
        used.append((agent.config.runtime, agent.config.model))
        for version in store.agent_history(agent.id):
            used.append((version.config.runtime, version.config.model))
    used.extend((run.runtime, run.model) for run in store.list_runs(RunFilter(), limit=RECENT_RUNS))
    return TargetChoices(agents, used)


_SUGGESTIONS: weakref.WeakKeyDictionary[Any, ModelSuggestions] = weakref.WeakKeyDictionary()


def shared_suggestions(ctx: Any) -> ModelSuggestions:
    """One cache of priced model names per app context: it outlives the dialogs (a lookup
    still running when a dialog closes has somewhere to land), and the next dialog is instant."""
    suggestions = _SUGGESTIONS.get(ctx)
    if suggestions is None:
        suggestions = ModelSuggestions(ctx, ctx if isinstance(ctx, QObject) else None)
        _SUGGESTIONS[ctx] = suggestions
    return suggestions


class ReplayTargetForm(QWidget):
    """Two choices: an agent, or a runtime + model (+ base URL)."""

    sig_target_changed = Signal()

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ReplayTargetForm")
        self._ctx = ctx
        self.work = BackgroundWork(self, ctx)
        self._used: list[tuple[str, str]] = []
        self._priced: dict[str, list[str]] = {}
        self._model_touched = False  # the user chose a model: suggestions no longer replace it
        self._offering = False
        self._loaded = False
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(8)

        self.runtime_radio = QRadioButton("&Runtime and model")
        self.runtime_radio.setObjectName("TargetRuntimeRadio")
        self.runtime_radio.setToolTip("The source's own configuration, on another model")
        self.agent_radio = QRadioButton("A&gent")
        self.agent_radio.setObjectName("TargetAgentRadio")
        self.agent_radio.setToolTip(
            "That agent's system prompt, tools and parameters on the recorded conversation"
        )
        self._mode = QButtonGroup(self)
        self._mode.addButton(self.runtime_radio)
        self._mode.addButton(self.agent_radio)
        self.runtime_radio.setChecked(True)

        self.runtime_combo = QComboBox()
        self.runtime_combo.setObjectName("TargetRuntime")
        for runtime in RUNTIMES:
            self.runtime_combo.addItem(RUNTIME_LABELS[runtime], runtime)
        self.model_combo = ModelCombo()
        self.model_combo.setObjectName("TargetModel")
        self.base_url = QLineEdit()
        self.base_url.setObjectName("TargetBaseUrl")
        self.base_url.setClearButtonEnabled(True)
        self.agent_combo = QComboBox()
        self.agent_combo.setObjectName("TargetAgent")
        self.agent_combo.setMinimumContentsLength(28)
        self.agent_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )

        grid.addWidget(self.runtime_radio, 0, 0, 1, 3)
        runtime_label = QLabel("Run&time")
        runtime_label.setBuddy(self.runtime_combo)
        model_label = QLabel("&Model")
        model_label.setBuddy(self.model_combo)
        url_label = QLabel("&Base URL")
        url_label.setBuddy(self.base_url)
        self._runtime_widgets = (runtime_label, self.runtime_combo, model_label, self.model_combo)
        self._url_widgets = (url_label, self.base_url)
        grid.addWidget(runtime_label, 1, 1)
        grid.addWidget(self.runtime_combo, 1, 2)
        grid.addWidget(model_label, 2, 1)
        grid.addWidget(self.model_combo, 2, 2)
        grid.addWidget(url_label, 3, 1)
        grid.addWidget(self.base_url, 3, 2)
        grid.addWidget(self.agent_radio, 4, 0, 1, 3)
        grid.addWidget(self.agent_combo, 5, 2)
        grid.setColumnMinimumWidth(0, 14)
        grid.setColumnStretch(2, 1)

        self.suggestions = shared_suggestions(ctx)
        self.suggestions.sig_models_loaded.connect(self._on_priced_models)
        self.runtime_combo.currentIndexChanged.connect(self._on_runtime_changed)
        self.model_combo.currentTextChanged.connect(self._on_model_edited)
        self.base_url.textChanged.connect(lambda _t: self.sig_target_changed.emit())
        self.agent_combo.currentIndexChanged.connect(lambda _i: self.sig_target_changed.emit())
        self._mode.buttonToggled.connect(self._on_mode_toggled)
        self._update_enabled()
        self._update_url_hint()

    # -- setup ---------------------------------------------------------------------------------

    def preset(self, source_runtime: str) -> None:
        """Start on the other provider (the usual question); its models load off the UI thread."""
        runtime = other_runtime(source_runtime)
        index = self.runtime_combo.findData(runtime)
        self.runtime_combo.blockSignals(True)
        self.runtime_combo.setCurrentIndex(max(0, index))
        self.runtime_combo.blockSignals(False)
        self._on_runtime_changed()

    def load(self) -> None:
        """Read the agents and the models in use (off the UI thread)."""
        if self._ctx.workspace is not None:
            self._ctx.spawn(self._load(), what="list replay targets")

    async def _load(self) -> None:
        choices: TargetChoices = await self.work.fetch(load_choices, self._ctx.workspace.store)
        self.set_choices(choices)

    def set_choices(self, choices: TargetChoices) -> None:
        self._used = list(choices.used)
        self.agent_combo.blockSignals(True)
        self.agent_combo.clear()
        for agent in choices.agents:
            config = agent.config
            self.agent_combo.addItem(
                f"{agent.name}  ·  {config.runtime} · {config.model}", agent.name
            )
            self.agent_combo.setItemData(
                self.agent_combo.count() - 1,
                f"{agent.name} v{agent.current_version}: {config.runtime} · {config.model}",
                Qt.ItemDataRole.ToolTipRole,
            )
        self.agent_combo.blockSignals(False)
        if not choices.agents:
            self.agent_radio.setToolTip("No agents yet: create one on the Agents page")
        self.agent_radio.setEnabled(bool(choices.agents))
        self._loaded = True
        self._offer_models()
        self._update_enabled()
        self.sig_target_changed.emit()

    # -- the target ------------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        return self._loaded

    def runtime(self) -> str:
        return str(self.runtime_combo.currentData())

    def set_runtime(self, runtime: str) -> None:
        self.runtime_combo.setCurrentIndex(max(0, self.runtime_combo.findData(runtime)))

    def set_model(self, model: str) -> None:
        self._model_touched = True
        self.model_combo.set_model_name(model)

    def select_agent(self, name: str) -> bool:
        index = self.agent_combo.findData(name)
        if index < 0:
            return False
        self.agent_radio.setChecked(True)
        self.agent_combo.setCurrentIndex(index)
        return True

    def target(self) -> ReplayTarget | None:
        """The chosen target, or None while it is incomplete (see problem())."""
        if self.agent_radio.isChecked():
            name = self.agent_combo.currentData()
            return ReplayTarget(agent=str(name)) if name else None
        model = self.model_combo.model_name()
        if not model:
            return None
        url = self.base_url.text().strip() or None
        return ReplayTarget(runtime=self.runtime(), model=model, base_url=url)

    def problem(self) -> str:
        """Why there is no target yet ('' when there is one)."""
        if self.target() is not None:
            return ""
        if self.agent_radio.isChecked():
            return "Choose an agent."
        return "Type a model name (or choose one from the list)."

    # -- internals -------------------------------------------------------------------------------

    def _on_mode_toggled(self, _button: Any, checked: bool) -> None:
        if checked:
            self._update_enabled()
            self.sig_target_changed.emit()

    def _update_enabled(self) -> None:
        by_runtime = self.runtime_radio.isChecked()
        for widget in (*self._runtime_widgets, *self._url_widgets):
            widget.setEnabled(by_runtime)
        self.agent_combo.setEnabled(not by_runtime and self.agent_combo.count() > 0)

    def _on_runtime_changed(self, _index: int = 0) -> None:
        runtime = self.runtime()
        self.model_combo.set_runtime(runtime)
        self._model_touched = False
        self._update_url_hint()
        self._offer_models()
        self.suggestions.request(runtime)
        self.sig_target_changed.emit()

    def _on_priced_models(self, runtime: str, models: list[str]) -> None:
        self._priced[runtime] = list(models)
        if runtime == self.runtime():
            self._offer_models()

    def _offer_models(self) -> None:
        runtime = self.runtime()
        models = suggest_models(runtime, self._priced.get(runtime, []), self._used)
        self._offering = True
        try:
            self.model_combo.set_suggestions(models)
            if not self._model_touched:
                self.model_combo.set_model_name(models[0] if models else "")
        finally:
            self._offering = False
        self.sig_target_changed.emit()

    def _on_model_edited(self, _text: str) -> None:
        if self._offering:
            return
        self._model_touched = True
        self.sig_target_changed.emit()

    def _update_url_hint(self) -> None:
        runtime = self.runtime()
        if runtime == "openai-compatible":
            self.base_url.setPlaceholderText("the server's URL, e.g. http://localhost:11434/v1")
        else:
            self.base_url.setPlaceholderText(
                "optional: the source's endpoint on the same runtime, else the provider's"
            )
