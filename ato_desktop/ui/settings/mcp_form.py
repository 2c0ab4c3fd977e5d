"""The form that registers an MCP server: a stdio command (arguments, environment, secret
environment) or a streamable HTTP URL (secret headers), and a timeout.

It checks what it can locally (the command line splits, names are given, the timeout is a
number, then core's validate_config) and shows each error under its field. Secret values are
typed into masked cells and leave the form only to go to the keyring.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.mcp_config import (
    DEFAULT_TIMEOUT_S,
    McpConfigError,
    McpServerConfig,
    validate_config,
)
from ato_desktop.ui.agents.key_value_table import KeyValueEditor

Index = QModelIndex | QPersistentModelIndex
STDIO, HTTP = "stdio", "http"


class McpFormError(ValueError):
    """A value the form cannot use; field names the input it belongs to ('' for the form)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class McpFormValues:
    """A validated server definition and the secret values to keep in the keyring."""

    config: McpServerConfig
    secrets: dict[str, str]  # secret env var or header name -> value


def field_of_config_error(message: str) -> str:
    """Which input a validate_config message is about."""
    lowered = message.lower()
    for needle, field in (
        ("timeout", "timeout"),
        ("secret environment", "secret_env"),
        ("--secret-env", "secret_env"),
        ("environment variable", "env"),
        ("header", "headers"),
        ("url", "url"),
        ("argument", "args"),
        ("command", "command"),
        ("name", "name"),
    ):
        if needle in lowered:
            return field
    return ""


def _sentence(message: str) -> str:
    message = message.strip()
    if message:
        message = message[0].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."


class SecretValueDelegate(QStyledItemDelegate):
    """Shows a secret value as dots and edits it in a password field."""

    def displayText(self, value: object, _locale: object) -> str:
        text = "" if value is None else str(value)
        return "•" * min(len(text), 16)

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: Index) -> QWidget:
        editor = QLineEdit(parent)
        editor.setEchoMode(QLineEdit.EchoMode.Password)
        editor.setFrame(False)
        return editor

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: Index) -> None:
        if isinstance(editor, QLineEdit):
            model.setData(index, editor.text(), Qt.ItemDataRole.EditRole)


def _secret_editor(name_header: str, add_text: str) -> KeyValueEditor:
    editor = KeyValueEditor((name_header, "Value (kept in the keyring)"), add_text)
    editor.table.setItemDelegateForColumn(1, SecretValueDelegate(editor.table))
    return editor


class McpServerForm(QFrame):
    """Add an MCP server. sig_submitted carries McpFormValues; the section saves them."""

    sig_submitted = Signal(object)  # McpFormValues
    sig_cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("McpForm")
        self._errors: dict[str, QLabel] = {}
        self._rows: dict[str, tuple[QLabel, QWidget]] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(16, 14, 16, 14)
        outer.setSpacing(8)
        title = QLabel("Add an MCP server")
        title.setObjectName("McpFormTitle")
        outer.addWidget(title)
        self._form = QFormLayout()
        self._form.setHorizontalSpacing(14)
        self._form.setVerticalSpacing(6)
        self._form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        outer.addLayout(self._form)

        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("McpName")
        self.name_edit.setPlaceholderText("e.g. files, github, shop")
        self._add_row(
            "Name",
            "name",
            self.name_edit,
            "How agents and tool rules refer to it (shop/write_note). Letters, digits, . _ -",
        )

        transport = QWidget()
        transport_row = QHBoxLayout(transport)
        transport_row.setContentsMargins(0, 0, 0, 0)
        transport_row.setSpacing(16)
        self.stdio_radio = QRadioButton("Command (stdio)")
        self.stdio_radio.setObjectName("McpTransportStdio")
        self.http_radio = QRadioButton("URL (streamable HTTP)")
        self.http_radio.setObjectName("McpTransportHttp")
        self._transport = QButtonGroup(self)
        for button in (self.stdio_radio, self.http_radio):
            self._transport.addButton(button)
            transport_row.addWidget(button)
        transport_row.addStretch(1)
        self.stdio_radio.setChecked(True)
        self._add_row("Runs as", "transport", transport)

        self.command_edit = QLineEdit()
        self.command_edit.setObjectName("McpCommand")
        self.command_edit.setPlaceholderText("e.g. npx, uvx or /usr/local/bin/my-server")
        self._add_row("Command", "command", self.command_edit)
        self.args_edit = QLineEdit()
        self.args_edit.setObjectName("McpArgs")
        self.args_edit.setPlaceholderText("e.g. -y @modelcontextprotocol/server-filesystem ~/notes")
        self._add_row(
            "Arguments",
            "args",
            self.args_edit,
            "Split like a shell command line: quote an argument that contains spaces.",
        )
        self.env = KeyValueEditor(("Variable", "Value"), "Add variable")
        self.env.setObjectName("McpEnv")
        self._add_row(
            "Environment",
            "env",
            self.env,
            "Stored in plain text. Put tokens and keys under Secret environment.",
        )
        self.secret_env = _secret_editor("Variable", "Add secret")
        self.secret_env.setObjectName("McpSecretEnv")
        self._add_row("Secret environment", "secret_env", self.secret_env)

        self.url_edit = QLineEdit()
        self.url_edit.setObjectName("McpUrl")
        self.url_edit.setPlaceholderText("https://example.com/mcp")
        self._add_row("URL", "url", self.url_edit)
        self.headers = _secret_editor("Header", "Add header")
        self.headers.setObjectName("McpHeaders")
        self._add_row(
            "Secret headers",
            "headers",
            self.headers,
            "e.g. Authorization with the value Bearer <token>.",
        )

        timeout = QWidget()
        timeout_row = QHBoxLayout(timeout)
        timeout_row.setContentsMargins(0, 0, 0, 0)
        timeout_row.setSpacing(6)
        self.timeout_edit = QLineEdit(f"{DEFAULT_TIMEOUT_S:g}")
        self.timeout_edit.setObjectName("McpTimeout")
        self.timeout_edit.setMaximumWidth(90)
        timeout_row.addWidget(self.timeout_edit)
        timeout_row.addWidget(QLabel("seconds"))
        timeout_row.addStretch(1)
        self._add_row("Timeout", "timeout", timeout, "Bounds the start-up and each tool call.")

        footer = QHBoxLayout()
        footer.setSpacing(8)
        self.form_error = QLabel()
        self.form_error.setObjectName("McpFormError")
        self.form_error.setProperty("fieldError", True)
        self.form_error.setWordWrap(True)
        self.form_error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.form_error.hide()
        footer.addWidget(self.form_error, 1)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("McpCancel")
        self.cancel_button.clicked.connect(self.sig_cancelled)
        self.add_button = QPushButton("Add server")
        self.add_button.setObjectName("McpSubmit")
        self.add_button.setProperty("primary", True)
        self.add_button.clicked.connect(self.submit)
        footer.addWidget(self.cancel_button)
        footer.addWidget(self.add_button)
        outer.addLayout(footer)

        self._transport.buttonToggled.connect(lambda *_a: self._show_transport())
        for edit in (self.name_edit, self.command_edit, self.args_edit, self.url_edit):
            edit.returnPressed.connect(self.submit)
        self._show_transport()

    def _add_row(self, label: str, field: str, widget: QWidget, hint: str = "") -> None:
        holder = QWidget()
        column = QVBoxLayout(holder)
        column.setContentsMargins(0, 0, 0, 4)
        column.setSpacing(3)
        column.addWidget(widget)
        error = QLabel()
        error.setObjectName(f"McpError_{field}")
        error.setProperty("fieldError", True)
        error.setWordWrap(True)
        error.hide()
        column.addWidget(error)
        if hint:
            note = QLabel(hint)
            note.setProperty("muted", True)
            note.setObjectName("McpHint")
            note.setWordWrap(True)
            column.addWidget(note)
        title = QLabel(label)
        title.setObjectName("McpFieldLabel")
        title.setContentsMargins(0, 5, 0, 0)
        self._form.addRow(title, holder)
        self._errors[field] = error
        self._rows[field] = (title, holder)

    # -- state ---------------------------------------------------------------------------------

    @property
    def transport(self) -> str:
        return HTTP if self.http_radio.isChecked() else STDIO

    def set_transport(self, transport: str) -> None:
        (self.http_radio if transport == HTTP else self.stdio_radio).setChecked(True)

    def _show_transport(self) -> None:
        http = self.transport == HTTP
        for field in ("command", "args", "env", "secret_env"):
            for widget in self._rows[field]:
                widget.setVisible(not http)
        for field in ("url", "headers"):
            for widget in self._rows[field]:
                widget.setVisible(http)
        self.clear_errors()

    def reset(self) -> None:
        """An empty form (after adding, or when opened again)."""
        for edit in (self.name_edit, self.command_edit, self.args_edit, self.url_edit):
            edit.clear()
        for table in (self.env, self.secret_env, self.headers):
            table.model.set_pairs([])
        self.timeout_edit.setText(f"{DEFAULT_TIMEOUT_S:g}")
        self.stdio_radio.setChecked(True)
        self.clear_errors()
        self.set_busy(False)

    def forget_secrets(self) -> None:
        """Drop the typed secret values (they are in the keyring now, or were refused)."""
        for table in (self.secret_env, self.headers):
            pairs = table.model.pairs()
            table.model.set_pairs([(name, "") for name, _value in pairs])

    def set_busy(self, busy: bool) -> None:
        self.add_button.setEnabled(not busy)
        self.add_button.setText("Adding…" if busy else "Add server")

    # -- errors --------------------------------------------------------------------------------

    def clear_errors(self) -> None:
        for label in self._errors.values():
            label.clear()
            label.hide()
        self.form_error.clear()
        self.form_error.hide()

    def show_error(self, field: str, message: str) -> None:
        """A message under its field (under the form when the field is '' or hidden)."""
        self.clear_errors()
        text = _sentence(message)
        label = self._errors.get(field)
        if label is None or not self._rows[field][1].isVisibleTo(self):
            self.form_error.setText(text)
            self.form_error.show()
            return
        label.setText(text)
        label.show()
        focus: dict[str, QWidget] = {
            "name": self.name_edit,
            "command": self.command_edit,
            "args": self.args_edit,
            "env": self.env.table,
            "secret_env": self.secret_env.table,
            "url": self.url_edit,
            "headers": self.headers.table,
            "timeout": self.timeout_edit,
        }
        if field in focus:
            focus[field].setFocus()

    def error_text(self, field: str) -> str:
        label = self._errors.get(field) if field else self.form_error
        return label.text() if label is not None and not label.isHidden() else ""

    # -- reading -------------------------------------------------------------------------------

    def values(self) -> McpFormValues:
        """The form as a validated config and its secrets; McpFormError for the first problem."""
        name = self.name_edit.text().strip()
        if not name:
            raise McpFormError("name", "Give the server a name.")
        timeout_text = self.timeout_edit.text().strip().removesuffix("s").strip()
        try:
            timeout = float(timeout_text) if timeout_text else DEFAULT_TIMEOUT_S
        except ValueError:
            raise McpFormError("timeout", f"{timeout_text!r} is not a number of seconds.") from None
        secrets: dict[str, str] = {}
        if self.transport == STDIO:
            command = self.command_edit.text().strip()
            if not command:
                raise McpFormError("command", "Give the command that starts the server.")
            try:
                args = tuple(shlex.split(self.args_edit.text()))
            except ValueError as exc:
                raise McpFormError("args", f"The arguments do not split: {exc}.") from None
            env: dict[str, str] = {}
            for key, value in self.env.model.pairs():
                if not key:
                    raise McpFormError("env", "Each environment variable needs a name.")
                env[key] = value
            for key, value in self.secret_env.model.pairs():
                if not key or not value:
                    raise McpFormError("secret_env", "Each secret needs a name and a value.")
                if key in env:
                    raise McpFormError(
                        "secret_env", f"{key} is both a plain and a secret environment variable."
                    )
                secrets[key] = value
            config = McpServerConfig(
                name,
                STDIO,
                command=command,
                args=args,
                env=env,
                secret_env_names=tuple(secrets),
                timeout_s=timeout,
            )
        else:
            url = self.url_edit.text().strip()
            if not url:
                raise McpFormError("url", "Give the server's URL, e.g. https://example.com/mcp.")
            for key, value in self.headers.model.pairs():
                if not key or not value:
                    raise McpFormError("headers", "Each header needs a name and a value.")
                secrets[key] = value
            config = McpServerConfig(
                name, HTTP, url=url, secret_header_names=tuple(secrets), timeout_s=timeout
            )
        try:
            clean = validate_config(config)
        except McpConfigError as exc:
            raise McpFormError(field_of_config_error(str(exc)), str(exc)) from None
        return McpFormValues(clean, secrets)

    def submit(self) -> None:
        try:
            values = self.values()
        except McpFormError as exc:
            self.show_error(exc.field, str(exc))
            return
        self.clear_errors()
        self.sig_submitted.emit(values)
