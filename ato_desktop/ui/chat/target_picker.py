"""Who answers: an agent, or (no agent) a runtime and a model."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from ato_desktop.core.records import AgentRecord
from ato_desktop.ui.agents.model_combo import RUNTIME_LABELS, RUNTIMES, ModelCombo

NO_AGENT = "No agent (runtime + model)"
TOOLTIP = Qt.ItemDataRole.ToolTipRole


@dataclass(frozen=True, slots=True)
class Target:
    """What a send dispatches to: agent_id, or runtime + model."""

    agent_id: str | None
    agent_name: str | None
    runtime: str
    model: str

    @property
    def label(self) -> str:
        return self.agent_name or self.model


class TargetPicker(QWidget):
    """An agent combo; with no agent, a runtime combo and a model combo with suggestions."""

    sig_target_changed = Signal()
    sig_runtime_changed = Signal(str)  # ask for this runtime's model suggestions

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(8)
        self.agent_combo = QComboBox()
        self.agent_combo.setObjectName("AgentPicker")
        self.agent_combo.setToolTip("The agent that answers: its model, system prompt, parameters")
        self.agent_combo.setMinimumContentsLength(24)
        self.agent_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.agent_combo.addItem(NO_AGENT, None)
        self.runtime_combo = QComboBox()
        self.runtime_combo.setObjectName("RuntimePicker")
        for runtime in RUNTIMES:
            self.runtime_combo.addItem(runtime, runtime)
            self.runtime_combo.setItemData(
                self.runtime_combo.count() - 1, RUNTIME_LABELS[runtime], TOOLTIP
            )
        self.model_combo = ModelCombo()
        self.model_combo.setObjectName("ModelPicker")
        self.agent_info = QLabel()
        self.agent_info.setObjectName("AgentInfo")
        row.addWidget(self.agent_combo)
        row.addWidget(self.runtime_combo)
        row.addWidget(self.model_combo)
        row.addWidget(self.agent_info)
        self._agents: dict[str, AgentRecord] = {}
        self.agent_combo.currentIndexChanged.connect(self._on_agent_changed)
        self.runtime_combo.currentIndexChanged.connect(self._on_runtime_changed)
        self.model_combo.currentTextChanged.connect(lambda _t: self.sig_target_changed.emit())
        self._on_agent_changed()

    # -- state -----------------------------------------------------------------------------------

    def set_agents(self, agents: list[AgentRecord]) -> None:
        """The agents to offer; the selection stays on the same agent when it still exists."""
        current = self.agent_id()
        self._agents = {agent.id: agent for agent in agents}
        self.agent_combo.blockSignals(True)
        try:
            while self.agent_combo.count() > 1:
                self.agent_combo.removeItem(1)
            for agent in agents:
                text = f"{agent.name}  (demo)" if agent.is_demo else agent.name
                self.agent_combo.addItem(text, agent.id)
                self.agent_combo.setItemData(
                    self.agent_combo.count() - 1,
                    f"{agent.config.runtime} · {agent.config.model} · version "
                    f"{agent.current_version}",
                    TOOLTIP,
                )
            index = self.agent_combo.findData(current) if current else 0
            self.agent_combo.setCurrentIndex(max(0, index))
        finally:
            self.agent_combo.blockSignals(False)
        self._on_agent_changed()

    def agent_id(self) -> str | None:
        data = self.agent_combo.currentData()
        return str(data) if data else None

    def select_agent(self, agent_id: str | None) -> bool:
        """Select an agent (None: no agent); False when it is not in the list (yet)."""
        index = self.agent_combo.findData(agent_id) if agent_id else 0
        if index < 0:
            return False
        self.agent_combo.setCurrentIndex(index)
        return True

    def set_direct(self, runtime: str, model: str) -> None:
        """Runtime and model for the no-agent path."""
        index = self.runtime_combo.findData(runtime)
        if index >= 0:
            self.runtime_combo.setCurrentIndex(index)
        self.model_combo.set_model_name(model)

    def runtime(self) -> str:
        return str(self.runtime_combo.currentData() or RUNTIMES[0])

    def target(self) -> Target:
        agent = self._agents.get(self.agent_id() or "")
        if agent is not None:
            return Target(agent.id, agent.name, agent.config.runtime, agent.config.model)
        return Target(None, None, self.runtime(), self.model_combo.model_name())

    def set_model_suggestions(self, runtime: str, models: list[str]) -> None:
        if runtime == self.runtime():
            self.model_combo.set_suggestions(models)

    # -- reactions -------------------------------------------------------------------------------

    def _on_agent_changed(self, *_args: object) -> None:
        agent = self._agents.get(self.agent_id() or "")
        direct = agent is None
        self.runtime_combo.setVisible(direct)
        self.model_combo.setVisible(direct)
        self.agent_info.setVisible(not direct)
        if agent is not None:
            self.agent_info.setText(f"{agent.config.runtime} · {agent.config.model}")
        self.sig_target_changed.emit()

    def _on_runtime_changed(self, *_args: object) -> None:
        runtime = self.runtime()
        self.model_combo.set_runtime(runtime)
        self.sig_runtime_changed.emit(runtime)
        self.sig_target_changed.emit()
