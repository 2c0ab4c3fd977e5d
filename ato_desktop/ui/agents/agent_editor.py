"""The agent form: create or edit runtime, model, system prompt, role-models, parameters, base
URL, budget, working directory (coding agents), and tools: the MCP servers the agent uses, a rule
and a read-only mark per tool, and the per-run ceilings. It validates what it can locally
(numbers, JSON values), shows every error next to its field, and turns the form into an
AgentConfig or the changes AgentService.edit expects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
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

from ato_desktop.core.models import AgentConfig, RuntimeName
from ato_desktop.core.records import AgentRecord
from ato_desktop.engine.agents import AgentConfigError, parse_assignments
from ato_desktop.ui.agents.key_value_table import KeyValueEditor
from ato_desktop.ui.agents.model_combo import AGENT_RUNTIMES, RUNTIME_LABELS, ModelCombo
from ato_desktop.ui.agents.tool_rules import ToolsEditor

DEFAULT_BASE_URLS = {
    "claude": "https://api.anthropic.com (or ANTHROPIC_BASE_URL)",
    "codex": "https://api.openai.com/v1 (or OPENAI_BASE_URL)",
    "openai-compatible": "http://localhost:11434/v1 (Ollama; or OPENAI_BASE_URL)",
}


MAX_FORM_WIDTH = 920
# Model suggestions for the coding agents come from their provider's price list.
SUGGESTIONS_RUNTIME = {"claude-code": "claude", "codex-cli": "codex"}


def suggestions_runtime(runtime: str) -> str:
    """The runtime whose priced models are suggested for this one."""
    return SUGGESTIONS_RUNTIME.get(runtime, runtime)


def is_coding_agent(runtime: str) -> bool:
    try:
        return RuntimeName(runtime).is_subprocess
    except ValueError:
        return False


class FormError(ValueError):
    """A value in the form that cannot be used; field names the input it belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def field_of_error(message: str) -> str:
    """Which input a service error is about, from its wording ('' for the form as a whole)."""
    lowered = message.lower()
    for needle, field in (
        ("working directory", "working_dir"),
        ("mcp server", "mcp_servers"),
        ("tool rule", "tools"),
        ("max_tool_calls", "max_tool_calls"),
        ("max_cost_usd", "max_cost"),
        ("already exists", "name"),
        ("parameter", "params"),
        ("runtime", "runtime"),
        ("base url", "base_url"),
        ("hard ceiling", "budget_ceiling"),
        ("per month", "budget_month"),
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
    rules: dict[str, str] = dict(after.tool_rules)
    rules.update({key: "" for key in before.tool_rules if key not in after.tool_rules})
    return {
        "runtime": after.runtime,
        "model": after.model,
        "system_prompt": after.system_prompt,
        "base_url": after.base_url,
        "budget_per_day_usd": after.budget_per_day_usd,
        "budget_per_month_usd": after.budget_per_month_usd,
        "budget_hard_ceiling": after.budget_hard_ceiling,
        "params": params,
        "role_models": roles,
        "working_dir": after.working_dir,
        "mcp_servers": tuple(after.mcp_servers),
        "tool_rules": rules,
        "read_only_tools": tuple(after.read_only_tools),
        "max_tool_calls": after.max_tool_calls,
        "max_cost_usd": after.max_cost_usd,
    }


def _param_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class AgentEditor(QWidget):
    """The form. create mode asks for a name; edit mode shows the agent's current version."""

    sig_save_requested = Signal()
    sig_cancel_requested = Signal()
    sig_runtime_changed = Signal(str)  # ask for this runtime's model suggestions
    sig_load_tools_requested = Signal(list)  # connect to these MCP servers, list their tools
    sig_mcp_settings_requested = Signal()  # open Settings -> MCP servers

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.creating = False
        self._loaded: AgentConfig | None = None
        self._errors: dict[str, QLabel] = {}
        self._rows: dict[str, tuple[QWidget, ...]] = {}
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
        for runtime in AGENT_RUNTIMES:
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
        self.budget_month_edit = QLineEdit()
        self.budget_month_edit.setObjectName("BudgetMonthEdit")
        self.budget_month_edit.setPlaceholderText("No limit")
        self.budget_ceiling_check = QCheckBox(
            "Hard &ceiling: refuse dispatches once a budget is spent"
        )
        self.budget_ceiling_check.setObjectName("BudgetCeilingCheck")
        self.working_dir_edit = QLineEdit()
        self.working_dir_edit.setObjectName("WorkingDirEdit")
        self.working_dir_edit.setPlaceholderText("The folder the coding agent may read and change")
        self.working_dir_button = QPushButton("Choose…")
        self.working_dir_button.setObjectName("WorkingDirButton")
        self.working_dir_button.clicked.connect(self.choose_working_dir)
        working_dir = QWidget()
        working_dir_row = QHBoxLayout(working_dir)
        working_dir_row.setContentsMargins(0, 0, 0, 0)
        working_dir_row.setSpacing(6)
        working_dir_row.addWidget(self.working_dir_edit, 1)
        working_dir_row.addWidget(self.working_dir_button)
        self.tools = ToolsEditor(self)
        self.tools.setObjectName("ToolsEditor")
        self.tools.sig_load_requested.connect(self.sig_load_tools_requested)
        self.tools.sig_settings_requested.connect(self.sig_mcp_settings_requested)
        self.max_tool_calls_edit = QLineEdit()
        self.max_tool_calls_edit.setObjectName("MaxToolCallsEdit")
        self.max_tool_calls_edit.setPlaceholderText("No limit")
        self.max_cost_edit = QLineEdit()
        self.max_cost_edit.setObjectName("MaxCostEdit")
        self.max_cost_edit.setPlaceholderText("No limit")
        for edit in (
            self.budget_edit,
            self.budget_month_edit,
            self.max_tool_calls_edit,
            self.max_cost_edit,
        ):
            edit.setMaximumWidth(220)
        self._file_dialog: QFileDialog | None = None

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
        self._add_row(
            "Working directory",
            "working_dir",
            working_dir,
            "Claude Code and Codex CLI run in this folder, with its files.",
        )
        self._add_row("Base URL", "base_url", self.base_url_edit)
        self._add_row(
            "Budget per day", "budget", self.budget_edit, "US dollars per UTC day; empty: no limit."
        )
        self._add_row(
            "Budget per month",
            "budget_month",
            self.budget_month_edit,
            "US dollars per UTC calendar month; empty: no limit.",
        )
        self._add_row(
            "",
            "budget_ceiling",
            self.budget_ceiling_check,
            "Off: a spent budget raises a critical intercept and the runs go on. On: the "
            "agent's dispatches are refused, with a clear message, until the period ends.",
        )
        self._add_heading(
            "tools_heading",
            "Tools",
            "MCP servers whose tools the agent may call while it answers, a rule for each tool, "
            "and limits per run. Approve makes each call wait for you, in Chat or in Runs.",
        )
        self._add_row("MCP servers", "mcp_servers", self.tools.servers_box())
        self._add_row("Tool rules", "tools", self.tools.rules_box())
        self._add_row(
            "Tool calls per run",
            "max_tool_calls",
            self.max_tool_calls_edit,
            "At most this many tool calls in one run; empty: no limit.",
        )
        self._add_row(
            "Cost per run",
            "max_cost",
            self.max_cost_edit,
            "US dollars; a run stops when it has spent this much. Empty: no limit.",
        )
        self.coding_tools_note = QLabel(
            "Coding agents use their own tools (files, shell) in the working directory; MCP "
            "servers and tool rules apply to the API runtimes."
        )
        self.coding_tools_note.setObjectName("FieldHint")
        self.coding_tools_note.setWordWrap(True)
        self._form.addRow(self.coding_tools_note)
        scroll.setWidget(body)
        self.scroll_area = scroll
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
        self._rows[field] = (title, holder)
        if field == "name":
            self._name_row = (title, holder)

    def _add_heading(self, key: str, title: str, blurb: str) -> None:
        holder = QWidget()
        column = QVBoxLayout(holder)
        column.setContentsMargins(0, 14, 0, 4)
        column.setSpacing(2)
        heading = QLabel(title)
        heading.setObjectName("FormHeading")
        column.addWidget(heading)
        note = QLabel(blurb)
        note.setObjectName("FieldHint")
        note.setWordWrap(True)
        column.addWidget(note)
        self._form.addRow(holder)
        self._rows[key] = (holder,)
        self.tools_heading = holder

    def _set_row_visible(self, field: str, visible: bool) -> None:
        for widget in self._rows[field]:
            widget.setVisible(visible)

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
        month = config.budget_per_month_usd
        self.budget_month_edit.setText("" if month is None else f"{month:g}")
        self.budget_ceiling_check.setChecked(config.budget_hard_ceiling)
        self.working_dir_edit.setText(config.working_dir or "")
        self.tools.load(config.mcp_servers, config.tool_rules, config.read_only_tools)
        calls = config.max_tool_calls
        self.max_tool_calls_edit.setText("" if calls is None else str(calls))
        cost = config.max_cost_usd
        self.max_cost_edit.setText("" if cost is None else f"{cost:g}")

    # -- reading ---------------------------------------------------------------------------------

    def values(self) -> FormValues:
        """The form as an agent name and config; raises FormError for the first bad field."""
        name = self.name_edit.text().strip()
        if self.creating and not name:
            raise FormError("name", "Give the agent a name.")
        model = self.model_combo.model_name()
        if not model:
            raise FormError("model", "Pick or type a model.")
        budget = _dollars(self.budget_edit, "budget", "The budget per day")
        budget_month = _dollars(self.budget_month_edit, "budget_month", "The budget per month")
        ceiling = self.budget_ceiling_check.isChecked()
        if ceiling and budget is None and budget_month is None:
            raise FormError(
                "budget_ceiling",
                "A hard ceiling needs a budget per day or per month to enforce.",
            )
        runtime = str(self.runtime_combo.currentData())
        working_dir: str | None
        if is_coding_agent(runtime):
            working_dir = self.working_dir_edit.text().strip() or None
            if working_dir is None:
                raise FormError(
                    "working_dir",
                    f"A {runtime} agent needs a working directory: the folder it may read and "
                    "change.",
                )
        else:  # not used by the API runtimes: kept as it was
            working_dir = self._loaded.working_dir if self._loaded is not None else None
        calls_text = self.max_tool_calls_edit.text().strip()
        max_tool_calls: int | None = None
        if calls_text:
            try:
                max_tool_calls = int(calls_text)
            except ValueError:
                raise FormError(
                    "max_tool_calls", f"{calls_text!r} is not a whole number of tool calls."
                ) from None
            if max_tool_calls < 0:
                raise FormError("max_tool_calls", "The tool-call limit cannot be negative.")
        max_cost = _dollars(self.max_cost_edit, "max_cost", "The cost per run")
        dropped = self.tools.dropped_servers()
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
            runtime=runtime,
            model=model,
            system_prompt=prompt if prompt.strip() else None,
            role_models=roles,
            params=params,
            base_url=self.base_url_edit.text().strip() or None,
            budget_per_day_usd=budget,
            budget_per_month_usd=budget_month,
            budget_hard_ceiling=ceiling,
            mcp_servers=self.tools.checked_servers(),
            tool_rules=self.tools.model.tool_rules(dropped),
            read_only_tools=self.tools.model.read_only_tools(dropped),
            max_tool_calls=max_tool_calls,
            max_cost_usd=max_cost,
            working_dir=working_dir,
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
            "budget_month": self.budget_month_edit,
            "budget_ceiling": self.budget_ceiling_check,
            "working_dir": self.working_dir_edit,
            "mcp_servers": self.tools.servers,
            "tools": self.tools.table,
            "max_tool_calls": self.max_tool_calls_edit,
            "max_cost": self.max_cost_edit,
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
        coding = is_coding_agent(runtime)
        self._set_row_visible("working_dir", coding)
        self._set_row_visible("base_url", not coding)
        for field in ("mcp_servers", "tools", "max_tool_calls", "max_cost"):
            self._set_row_visible(field, not coding)
        self.coding_tools_note.setVisible(coding)
        self.sig_runtime_changed.emit(suggestions_runtime(runtime))

    # -- tools and folders -----------------------------------------------------------------------

    def set_registered_servers(self, names: list[str]) -> None:
        """The MCP servers registered in Settings, offered as checkboxes."""
        self.tools.set_registered(names)

    def show_tool_results(self, results: list[Any]) -> None:
        """What Load tools found (mcp_probe.ProbeResult per server)."""
        self.tools.show_results(results)

    def choose_working_dir(self) -> QFileDialog:
        """A folder picker (not modal to the app: the loop keeps running)."""
        dialog = QFileDialog(self, "Working directory", self.working_dir_edit.text().strip())
        dialog.setObjectName("WorkingDirDialog")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self.working_dir_edit.setText)
        self._file_dialog = dialog
        dialog.open()
        return dialog


def _dollars(edit: QLineEdit, field: str, what: str) -> float | None:
    text = edit.text().strip().lstrip("$").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise FormError(field, f"{text!r} is not a number of dollars.") from None
    if value < 0:
        raise FormError(field, f"{what} cannot be negative.")
    return value
