"""The agent form: create or edit runtime, model, system prompt, role-models, parameters, base
URL and budget. It validates what it can locally (numbers, JSON values), shows every error next
to its field, and turns the form into an AgentConfig or the changes AgentService.edit expects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import AgentRecord
from ato_desktop.engine.agents import AgentConfigError, parse_assignments
from ato_desktop.ui.agents.key_value_table import KeyValueEditor
from ato_desktop.ui.agents.model_combo import RUNTIME_LABELS, RUNTIMES, ModelCombo

DEFAULT_BASE_URLS = {
    "claude": "https://api.anthropic.com (or ANTHROPIC_BASE_URL)",
    "codex": "https://api.openai.com/v1 (or OPENAI_BASE_URL)",
    "openai-compatible": "http://localhost:11434/v1 (Ollama; or OPENAI_BASE_URL)",
}


MAX_FORM_WIDTH = 860


class FormError(ValueError):
    """A value in the form that cannot be used; field names the input it belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def field_of_error(message: str) -> str:
    """Which input a service error is about, from its wording ('' for the form as a whole)."""
    lowered = message.lower()
    for needle, field in (
        ("already exists", "name"),
        ("parameter", "params"),
        ("runtime", "runtime"),
        ("base url", "base_url"),
        ("budget", "budget"),
        ("model", "model"),
        ("name", "name"),
    ):
        if needle in lowered:
            return field
    return ""


@dataclass(frozen=True, slots=True)
class FormValues:
    name: str
    config: AgentConfig


def edit_changes(before: AgentConfig, after: AgentConfig) -> dict[str, Any]:
    """What AgentService.edit needs to turn before into after (it merges params and roles, so
    removed keys are sent as None / "")."""
    params: dict[str, Any] = dict(after.params)
    params.update({key: None for key in before.params if key not in after.params})
    roles: dict[str, str] = dict(after.role_models)
    roles.update({key: "" for key in before.role_models if key not in after.role_models})
    return {
        "runtime": after.runtime,
        "model": after.model,
        "system_prompt": after.system_prompt,
        "base_url": after.base_url,
        "budget_per_day_usd": after.budget_per_day_usd,
        "params": params,
        "role_models": roles,
    }


def _param_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class AgentEditor(QWidget):
    """The form. create mode asks for a name; edit mode shows the agent's current version."""

    sig_save_requested = Signal()
    sig_cancel_requested = Signal()
    sig_runtime_changed = Signal(str)  # ask for this runtime's model suggestions

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.creating = False
        self._loaded: AgentConfig | None = None
        self._errors: dict[str, QLabel] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        scroll = QScrollArea()
        scroll.setObjectName("EditorScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget()
        body.setObjectName("EditorBody")
        body_row = QHBoxLayout(body)
        body_row.setContentsMargins(0, 0, 0, 0)
        form_holder = QWidget()
        form_holder.setMaximumWidth(MAX_FORM_WIDTH)
        body_row.addWidget(form_holder, 1)
        body_row.addStretch(0)
        self._form = QFormLayout(form_holder)
        self._form.setContentsMargins(24, 18, 24, 18)
        self._form.setHorizontalSpacing(18)
        self._form.setVerticalSpacing(6)
        self._form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("NameEdit")
        self.name_edit.setPlaceholderText("e.g. writer")
        self.runtime_combo = QComboBox()
        self.runtime_combo.setObjectName("RuntimeCombo")
        for runtime in RUNTIMES:
            self.runtime_combo.addItem(f"{runtime}  —  {RUNTIME_LABELS[runtime]}", runtime)
        self.model_combo = ModelCombo()
        self.model_combo.setObjectName("ModelCombo")
        self.system_prompt_edit = QPlainTextEdit()
        self.system_prompt_edit.setObjectName("SystemPromptEdit")
        self.system_prompt_edit.setPlaceholderText("Optional: how the agent should behave")
        self.system_prompt_edit.setMinimumHeight(130)
        self.role_models = KeyValueEditor(("Role", "Model"), "Add role")
        self.role_models.setObjectName("RoleModels")
        self.params = KeyValueEditor(("Parameter", "Value (JSON or text)"), "Add parameter")
        self.params.setObjectName("Params")
        self.base_url_edit = QLineEdit()
        self.base_url_edit.setObjectName("BaseUrlEdit")
        self.budget_edit = QLineEdit()
        self.budget_edit.setObjectName("BudgetEdit")
        self.budget_edit.setPlaceholderText("No limit")

        self._add_row("Name", "name", self.name_edit)
        self._add_row("Runtime", "runtime", self.runtime_combo)
        self._add_row("Model", "model", self.model_combo, "Suggestions come from the price table.")
        self._add_row("System prompt", "system_prompt", self.system_prompt_edit)
        self._add_row(
            "Role models",
            "role_models",
            self.role_models,
            "A model per role (e.g. planner, reviewer) for pipelines and tools.",
        )
        self._add_row(
            "Parameters",
            "params",
            self.params,
            'Values are read as JSON when they parse (0.2, true, ["\\n"]), else kept as text.',
        )
        self._add_row("Base URL", "base_url", self.base_url_edit)
        self._add_row("Budget per day", "budget", self.budget_edit, "US dollars; empty: no limit.")
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)

        footer = QFrame()
        footer.setObjectName("EditorFooter")
        row = QHBoxLayout(footer)
        row.setContentsMargins(24, 10, 24, 12)
        row.setSpacing(8)
        self.form_error = QLabel()
        self.form_error.setObjectName("FormError")
        self.form_error.setWordWrap(True)
        self.form_error.setVisible(False)
        self.status_label = QLabel()
        self.status_label.setObjectName("SaveStatus")
        self.status_label.setWordWrap(True)
        row.addWidget(self.form_error, 1)
        row.addWidget(self.status_label, 1)
        self.cancel_button = QPushButton("Revert")
        self.cancel_button.setObjectName("RevertButton")
        self.cancel_button.clicked.connect(self.sig_cancel_requested)
        self.save_button = QPushButton("Save")
        self.save_button.setObjectName("SaveButton")
        self.save_button.setProperty("primary", True)
        self.save_button.setToolTip("Save (Ctrl+S): records a new config version")
        self.save_button.clicked.connect(self.sig_save_requested)
        row.addWidget(self.cancel_button)
        row.addWidget(self.save_button)
        outer.addWidget(footer)

        self.runtime_combo.currentIndexChanged.connect(self._on_runtime_changed)
        self._on_runtime_changed()

    def _add_row(self, label: str, field: str, widget: QWidget, hint: str = "") -> None:
        holder = QWidget()
        column = QVBoxLayout(holder)
        column.setContentsMargins(0, 0, 0, 6)
        column.setSpacing(3)
        column.addWidget(widget)
        error = QLabel()
        error.setObjectName(f"Error_{field}")
        error.setProperty("fieldError", True)
        error.setWordWrap(True)
        error.setVisible(False)
        column.addWidget(error)
        if hint:
            note = QLabel(hint)
            note.setObjectName("FieldHint")
            note.setWordWrap(True)
            column.addWidget(note)
        self._errors[field] = error
        title = QLabel(label)
        title.setObjectName("FieldLabel")
        title.setContentsMargins(0, 5, 0, 0)
        self._form.addRow(title, holder)
        if field == "name":
            self._name_row = (title, holder)

    # -- loading ---------------------------------------------------------------------------------

    def set_create_mode(self, defaults: AgentConfig | None = None) -> None:
        """An empty form for a new agent."""
        self.creating = True
        self._loaded = None
        self.name_edit.clear()
        self._show_name(True)
        self._fill(defaults or AgentConfig("claude", ""))
        self.save_button.setText("Create agent")
        self.cancel_button.setText("Cancel")
        self.status_label.clear()
        self.name_edit.setFocus()

    def load_agent(self, agent: AgentRecord) -> None:
        """Show the agent's current version."""
        self.creating = False
        self._loaded = agent.config
        self.name_edit.setText(agent.name)
        self._show_name(False)
        self._fill(agent.config)
        self.save_button.setText("Save")
        self.cancel_button.setText("Revert")

    def _show_name(self, visible: bool) -> None:
        for widget in self._name_row:
            widget.setVisible(visible)

    def _fill(self, config: AgentConfig) -> None:
        self.clear_errors()
        index = self.runtime_combo.findData(config.runtime)
        self.runtime_combo.blockSignals(True)
        self.runtime_combo.setCurrentIndex(max(0, index))
        self.runtime_combo.blockSignals(False)
        self._on_runtime_changed()  # suggestions for this runtime, even if it did not change
        self.model_combo.set_model_name(config.model)
        self.system_prompt_edit.setPlainText(config.system_prompt or "")
        self.role_models.model.set_pairs(sorted(config.role_models.items()))
        self.params.model.set_pairs(
            [(key, _param_text(value)) for key, value in sorted(config.params.items())]
        )
        self.base_url_edit.setText(config.base_url or "")
        budget = config.budget_per_day_usd
        self.budget_edit.setText("" if budget is None else f"{budget:g}")

    # -- reading ---------------------------------------------------------------------------------

    def values(self) -> FormValues:
        """The form as an agent name and config; raises FormError for the first bad field."""
        name = self.name_edit.text().strip()
        if self.creating and not name:
            raise FormError("name", "Give the agent a name.")
        model = self.model_combo.model_name()
        if not model:
            raise FormError("model", "Pick or type a model.")
        budget_text = self.budget_edit.text().strip().lstrip("$")
        budget: float | None = None
        if budget_text:
            try:
                budget = float(budget_text)
            except ValueError:
                raise FormError("budget", f"{budget_text!r} is not a number of dollars.") from None
            if budget < 0:
                raise FormError("budget", "The budget per day cannot be negative.")
        roles: dict[str, str] = {}
        for role, role_model in self.role_models.model.pairs():
            if not role or not role_model:
                raise FormError("role_models", "Each role needs a name and a model.")
            roles[role] = role_model
        params: dict[str, Any] = {}
        for key, raw in self.params.model.pairs():
            if not key:
                raise FormError("params", f"The value {raw!r} has no parameter name.")
            try:
                params.update(parse_assignments([f"{key}={raw}"], "parameter"))
            except AgentConfigError as exc:
                raise FormError("params", str(exc)) from None
        prompt = self.system_prompt_edit.toPlainText()
        config = AgentConfig(
            runtime=str(self.runtime_combo.currentData()),
            model=model,
            system_prompt=prompt if prompt.strip() else None,
            role_models=roles,
            params=params,
            base_url=self.base_url_edit.text().strip() or None,
            budget_per_day_usd=budget,
        )
        return FormValues(name, config)

    @property
    def loaded_config(self) -> AgentConfig | None:
        return self._loaded

    def is_dirty(self) -> bool:
        """True when the form differs from what was loaded (or has unreadable values)."""
        if self.creating:
            return bool(self.name_edit.text().strip())
        try:
            return self.values().config != self._loaded
        except FormError:
            return True

    # -- errors and status -----------------------------------------------------------------------

    def clear_errors(self) -> None:
        for label in self._errors.values():
            label.clear()
            label.setVisible(False)
        self.form_error.clear()
        self.form_error.setVisible(False)

    def show_error(self, field: str, message: str) -> None:
        """Show a message next to its input (or under the form when field is '')."""
        self.clear_errors()
        self.status_label.clear()
        label = self._errors.get(field)
        if label is None:
            self.form_error.setText(message)
            self.form_error.setVisible(True)
            return
        label.setText(message)
        label.setVisible(True)
        target = {
            "name": self.name_edit,
            "runtime": self.runtime_combo,
            "model": self.model_combo,
            "system_prompt": self.system_prompt_edit,
            "role_models": self.role_models.table,
            "params": self.params.table,
            "base_url": self.base_url_edit,
            "budget": self.budget_edit,
        }.get(field)
        if target is not None:
            target.setFocus()

    def error_text(self, field: str) -> str:
        label = self._errors.get(field)
        return label.text() if label is not None and label.isVisible() else ""

    def set_status(self, text: str) -> None:
        self.clear_errors()
        self.status_label.setText(text)

    # -- reactions -------------------------------------------------------------------------------

    def _on_runtime_changed(self, *_args: object) -> None:
        runtime = str(self.runtime_combo.currentData())
        self.model_combo.set_runtime(runtime)
        self.base_url_edit.setPlaceholderText(f"Default: {DEFAULT_BASE_URLS.get(runtime, '')}")
        self.sig_runtime_changed.emit(runtime)
