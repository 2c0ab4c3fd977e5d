"""Settings → Cloud sync: send ended runs as OTLP traces, and an optional local OTLP receiver.

Every engine call (config, keyring, status, sending) runs off the UI thread. Secrets go to the
keyring through `set_credentials` and are never shown back: the form says "saved" or "not set".
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.pii import BUILTIN_RULES, PiiRuleError, PiiRules
from ato_desktop.engine.credentials import CredentialError
from ato_desktop.engine.otlp_receiver import OtlpReceiver
from ato_desktop.engine.otlp_sync import SIGN_IN_LABEL, SyncConfigError, validate_endpoint
from ato_desktop.ui.settings.card import Card, muted_label, say, tint
from ato_desktop.ui.theme import current_theme
from ato_desktop.ui.widgets.background import BackgroundWork

log = logging.getLogger(__name__)

AUTH_LABELS = {
    "none": "No auth",
    "bearer": "Bearer token",
    "basic": "Basic (user and password)",
    "headers": "Custom headers (e.g. Langfuse, Honeycomb)",
}
RULE_LABELS = {
    "email": "E-mail addresses",
    "phone": "Phone numbers",
    "card": "Card numbers",
    "api_key": "API-key shapes",
}
STATUS_EVERY_MS = 3000
RECEIVER_PORT_SETTING = "sync/receiver_port"
DEFAULT_RECEIVER_PORT = 4318


@dataclass(frozen=True)
class _Loaded:
    config: Any  # SyncConfig
    agents: list[tuple[str, str]]  # (id, name)
    saved: dict[str, bool]  # "bearer", "basic", "header:<name>" -> stored in the keyring


def _read_saved(sync: Any, config: Any) -> dict[str, bool]:
    # Only whether each secret exists leaves this function, never its value.
    saved = {
        "bearer": sync.secrets.get("bearer") is not None,
        "basic": sync.secrets.get("basic") is not None,
    }
    for name in config.header_names:
        saved["header:" + name.lower()] = sync.secrets.get("header", name) is not None
    return saved


def _secret_field(name: str, placeholder: str) -> QLineEdit:
    field = QLineEdit()
    field.setObjectName(name)
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setClearButtonEnabled(True)
    field.setPlaceholderText(placeholder)
    return field


class SyncSection(Card):
    """Endpoint, auth, what to send, content and redaction, on/off; status, Send now, Pause."""

    sig_loaded = Signal()
    sig_saved = Signal()
    sig_refused = Signal(str)  # the user-facing message
    sig_status_shown = Signal(object)  # SyncStatus
    sig_receiver_changed = Signal(bool)  # listening

    def __init__(self, ctx: Any) -> None:
        super().__init__(
            "sync",
            "Cloud sync",
            "Send each ended run as an OpenTelemetry trace to any OTLP/HTTP endpoint (Langfuse, "
            "Honeycomb, Grafana, your own collector). Credentials stay in the OS keyring.",
        )
        self.ctx = ctx
        self.work = BackgroundWork(self, ctx)
        self.receiver: OtlpReceiver | None = None
        self.status: Any = None
        self._saved: dict[str, bool] = {}
        self._busy = False
        self._polling = False

        # -- sign in (shown when the endpoint rejected the credentials) ----------------------------
        self.sign_in = QFrame()
        self.sign_in.setObjectName("SyncSignIn")
        banner = QHBoxLayout(self.sign_in)
        banner.setContentsMargins(12, 8, 8, 8)
        self.sign_in_text = QLabel(
            f"<b>{SIGN_IN_LABEL}</b> — the endpoint rejected the credentials. Sending is paused "
            "and the queue is kept; save a new credential to resume."
        )
        self.sign_in_text.setWordWrap(True)
        banner.addWidget(self.sign_in_text, 1)
        self.sign_in_button = QPushButton(SIGN_IN_LABEL)
        self.sign_in_button.setObjectName("SyncSignInButton")
        self.sign_in_button.setProperty("primary", True)
        self.sign_in_button.clicked.connect(self.focus_credentials)
        banner.addWidget(self.sign_in_button)
        self.sign_in.hide()
        self.body.addWidget(self.sign_in)

        # -- status --------------------------------------------------------------------------------
        status_row = QHBoxLayout()
        self.status_line = QLabel("Reading the sync status…")
        self.status_line.setObjectName("SyncStatusLine")
        self.status_line.setWordWrap(True)
        self.status_line.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        status_row.addWidget(self.status_line, 1)
        self.send_now_button = QPushButton("Send now")
        self.send_now_button.setObjectName("SyncSendNow")
        self.send_now_button.clicked.connect(self.send_now)
        status_row.addWidget(self.send_now_button)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setObjectName("SyncPause")
        self.pause_button.clicked.connect(self.toggle_pause)
        status_row.addWidget(self.pause_button)
        self.body.addLayout(status_row)

        # -- endpoint and auth ---------------------------------------------------------------------
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(6)
        grid.setColumnStretch(1, 1)
        grid.addWidget(QLabel("Endpoint"), 0, 0)
        self.endpoint = QLineEdit()
        self.endpoint.setObjectName("SyncEndpoint")
        self.endpoint.setPlaceholderText("https://otlp.example.com/v1/traces")
        self.endpoint.textChanged.connect(self._check_endpoint)
        grid.addWidget(self.endpoint, 0, 1, 1, 2)
        self.endpoint_message = muted_label()
        self.endpoint_message.setObjectName("SyncEndpointMessage")
        self.endpoint_message.hide()
        grid.addWidget(self.endpoint_message, 1, 1, 1, 2)

        grid.addWidget(QLabel("Auth"), 2, 0)
        self.auth = QComboBox()
        self.auth.setObjectName("SyncAuthKind")
        for kind, label in AUTH_LABELS.items():
            self.auth.addItem(label, kind)
        self.auth.currentIndexChanged.connect(self._show_auth)
        grid.addWidget(self.auth, 2, 1, 1, 2)

        self.token_label = QLabel("Token")
        grid.addWidget(self.token_label, 3, 0)
        self.token = _secret_field("SyncToken", "Paste a token")
        grid.addWidget(self.token, 3, 1)
        self.token_state = QLabel()
        self.token_state.setObjectName("SyncTokenState")
        grid.addWidget(self.token_state, 3, 2)

        self.user_label = QLabel("User")
        grid.addWidget(self.user_label, 4, 0)
        self.basic_user = QLineEdit()
        self.basic_user.setObjectName("SyncBasicUser")
        self.basic_user.setPlaceholderText("user name or public key")
        grid.addWidget(self.basic_user, 4, 1, 1, 2)
        self.password_label = QLabel("Password")
        grid.addWidget(self.password_label, 5, 0)
        self.password = _secret_field("SyncPassword", "Paste a password or secret key")
        grid.addWidget(self.password, 5, 1)
        self.password_state = QLabel()
        self.password_state.setObjectName("SyncPasswordState")
        grid.addWidget(self.password_state, 5, 2)

        self.headers_label = QLabel("Header names")
        grid.addWidget(self.headers_label, 6, 0)
        self.header_names = QLineEdit()
        self.header_names.setObjectName("SyncHeaderNames")
        self.header_names.setPlaceholderText("comma-separated, e.g. x-api-key, x-team")
        self.header_names.textChanged.connect(self._offer_headers)
        grid.addWidget(self.header_names, 6, 1, 1, 2)
        self.header_value_label = QLabel("Value of")
        grid.addWidget(self.header_value_label, 7, 0)
        header_value_row = QHBoxLayout()
        self.header_pick = QComboBox()
        self.header_pick.setObjectName("SyncHeaderPick")
        self.header_pick.setMinimumWidth(140)
        self.header_pick.currentIndexChanged.connect(self._show_saved)
        header_value_row.addWidget(self.header_pick)
        self.header_value = _secret_field("SyncHeaderValue", "Paste the header's value")
        header_value_row.addWidget(self.header_value, 1)
        grid.addLayout(header_value_row, 7, 1)
        self.header_state = QLabel()
        self.header_state.setObjectName("SyncHeaderState")
        grid.addWidget(self.header_state, 7, 2)
        self.body.addLayout(grid)
        for field in (self.token, self.password, self.header_value):
            field.returnPressed.connect(self.save)

        # -- what to send --------------------------------------------------------------------------
        self.body.addWidget(self._subheading("What to send"))
        scope = QHBoxLayout()
        self.all_agents = QRadioButton("All runs")
        self.all_agents.setObjectName("SyncAllAgents")
        self.all_agents.setChecked(True)
        self.chosen_agents = QRadioButton("Only runs of these agents:")
        self.chosen_agents.setObjectName("SyncChosenAgents")
        group = QButtonGroup(self)
        group.addButton(self.all_agents)
        group.addButton(self.chosen_agents)
        scope.addWidget(self.all_agents)
        scope.addWidget(self.chosen_agents)
        scope.addStretch(1)
        self.body.addLayout(scope)
        self.agents = QListWidget()
        self.agents.setObjectName("SyncAgents")
        self.agents.setMaximumHeight(110)
        self.agents.hide()  # only when sending chosen agents' runs
        self.chosen_agents.toggled.connect(self.agents.setVisible)
        self.body.addWidget(self.agents)

        self.include_ingested = QCheckBox(
            "Also send runs received from other tools (the local OTLP receiver)"
        )
        self.include_ingested.setObjectName("SyncIncludeIngested")
        self.include_ingested.setToolTip(
            "Runs the receiver writes are kept here only, unless this is on: then they are "
            "queued as they arrive, like the runs ATO makes."
        )
        self.body.addWidget(self.include_ingested)
        project_row = QHBoxLayout()
        project_row.addWidget(QLabel("Project"))
        self.project_name = QLineEdit()
        self.project_name.setObjectName("SyncProjectName")
        self.project_name.setPlaceholderText("ato-desktop")
        self.project_name.setToolTip(
            "Where the traces land: the project in Phoenix (openinference.project.name) and "
            "the service name (service.name) elsewhere."
        )
        project_row.addWidget(self.project_name, 1)
        self.body.addLayout(project_row)

        self.include_content = QCheckBox("Include prompts and responses (content)")
        self.include_content.setObjectName("SyncIncludeContent")
        self.body.addWidget(self.include_content)
        self.redaction = QWidget()
        redaction = QVBoxLayout(self.redaction)
        redaction.setContentsMargins(24, 0, 0, 0)
        redaction.addWidget(muted_label("Redact before anything leaves this machine:"))
        rules_row = QHBoxLayout()
        self.rules: dict[str, QCheckBox] = {}
        for rule in BUILTIN_RULES:
            box = QCheckBox(RULE_LABELS.get(rule, rule))
            box.setObjectName(f"SyncRedact_{rule}")
            box.setChecked(True)
            self.rules[rule] = box
            rules_row.addWidget(box)
        rules_row.addStretch(1)
        redaction.addLayout(rules_row)
        self.custom_patterns = QLineEdit()
        self.custom_patterns.setObjectName("SyncCustomPatterns")
        self.custom_patterns.setPlaceholderText(
            "Your own patterns (regular expressions), separated by two spaces"
        )
        redaction.addWidget(self.custom_patterns)
        self.body.addWidget(self.redaction)
        self.include_content.toggled.connect(self.redaction.setEnabled)
        self.redaction.setEnabled(False)

        # -- on/off and save -----------------------------------------------------------------------
        save_row = QHBoxLayout()
        self.enabled = QCheckBox("Sync enabled")
        self.enabled.setObjectName("SyncEnabled")
        save_row.addWidget(self.enabled)
        save_row.addStretch(1)
        self.save_button = QPushButton("Save")
        self.save_button.setObjectName("SyncSave")
        self.save_button.setProperty("primary", True)
        self.save_button.clicked.connect(self.save)
        save_row.addWidget(self.save_button)
        self.body.addLayout(save_row)
        self.message = muted_label()
        self.message.setObjectName("SyncMessage")
        self.message.hide()
        self.body.addWidget(self.message)

        # -- local receiver ------------------------------------------------------------------------
        self.body.addWidget(self._subheading("Local OTLP receiver"))
        receiver_row = QHBoxLayout()
        self.receiver_toggle = QCheckBox("Accept OTLP traces from agents on this machine, port")
        self.receiver_toggle.setObjectName("ReceiverToggle")
        self.receiver_toggle.toggled.connect(self._toggle_receiver)
        receiver_row.addWidget(self.receiver_toggle)
        self.receiver_port = QSpinBox()
        self.receiver_port.setObjectName("ReceiverPort")
        self.receiver_port.setRange(1024, 65535)
        try:
            port = int(str(ctx.settings.value(RECEIVER_PORT_SETTING, DEFAULT_RECEIVER_PORT)))
        except (TypeError, ValueError):
            port = DEFAULT_RECEIVER_PORT
        self.receiver_port.setValue(port if 1024 <= port <= 65535 else DEFAULT_RECEIVER_PORT)
        receiver_row.addWidget(self.receiver_port)
        receiver_row.addStretch(1)
        self.body.addLayout(receiver_row)
        self.receiver_message = muted_label(
            "Listens on 127.0.0.1 while the app runs; spans from the OpenTelemetry SDK, "
            "OpenLLMetry or OpenInference appear as runs (trigger: external)."
        )
        self.receiver_message.setObjectName("ReceiverMessage")
        self.body.addWidget(self.receiver_message)

        self._timer = QTimer(self, interval=STATUS_EVERY_MS)
        self._timer.timeout.connect(self.schedule_status)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.close_receiver)
        self._show_auth()
        self._update_buttons()

    @staticmethod
    def _subheading(text: str) -> QLabel:
        label = QLabel(text)
        label.setStyleSheet("font-weight: 600; margin-top: 6px;")
        return label

    # -- helpers -----------------------------------------------------------------------------------

    def _sync(self) -> Any:
        workspace = self.ctx.workspace
        return None if workspace is None else workspace.sync

    def auth_kind(self) -> str:
        return str(self.auth.currentData())

    def credential_field(self) -> QLineEdit:
        """The secret field of the chosen auth (where "Sign in to sync" takes the user)."""
        kind = self.auth_kind()
        if kind == "basic":
            return self.password
        if kind == "headers":
            return self.header_value
        return self.token

    def first_field(self) -> QWidget:
        if self.status is not None and self.status.needs_sign_in:
            return self.credential_field()
        return self.endpoint

    def focus_credentials(self) -> None:
        if self.auth_kind() == "none":
            self.auth.setCurrentIndex(self.auth.findData("bearer"))
        field = self.credential_field()
        field.setFocus(Qt.FocusReason.OtherFocusReason)
        field.selectAll()

    def _say(self, text: str, *, error: bool = False) -> None:
        say(self.message, text, error=error)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._update_buttons()

    def _update_buttons(self) -> None:
        ready = self.ctx.workspace is not None and not self._busy
        self.save_button.setEnabled(ready)
        state = getattr(self.status, "state", None)
        value = "disabled" if state is None else str(state.value)
        on = value != "disabled"
        self.send_now_button.setEnabled(ready and on and value not in ("paused", "sign_in"))
        self.pause_button.setEnabled(ready and on and value != "sign_in")
        self.pause_button.setText("Resume" if value == "paused" else "Pause")

    # -- the form ----------------------------------------------------------------------------------

    def _check_endpoint(self) -> bool:
        text = self.endpoint.text().strip()
        theme = current_theme()
        if not text:
            self.endpoint_message.hide()
            return True
        try:
            url = validate_endpoint(text)
        except SyncConfigError as exc:
            self.endpoint_message.setText(str(exc))
            self.endpoint_message.setStyleSheet(f"color: {theme.failed};")
            self.endpoint_message.show()
            return False
        self.endpoint_message.setText(f"Traces go to {url}")
        self.endpoint_message.setStyleSheet(f"color: {theme.text_muted};")
        self.endpoint_message.show()
        return True

    def _show_auth(self) -> None:
        kind = self.auth_kind()
        for widget, shown in (
            (self.token_label, kind == "bearer"),
            (self.token, kind == "bearer"),
            (self.token_state, kind == "bearer"),
            (self.user_label, kind == "basic"),
            (self.basic_user, kind == "basic"),
            (self.password_label, kind == "basic"),
            (self.password, kind == "basic"),
            (self.password_state, kind == "basic"),
            (self.headers_label, kind == "headers"),
            (self.header_names, kind == "headers"),
            (self.header_value_label, kind == "headers"),
            (self.header_pick, kind == "headers"),
            (self.header_value, kind == "headers"),
            (self.header_state, kind == "headers"),
        ):
            widget.setVisible(shown)

    def _names(self) -> list[str]:
        return [n.strip() for n in self.header_names.text().split(",") if n.strip()]

    def _offer_headers(self) -> None:
        current = self.header_pick.currentText()
        self.header_pick.blockSignals(True)
        self.header_pick.clear()
        self.header_pick.addItems(self._names())
        index = self.header_pick.findText(current)
        self.header_pick.setCurrentIndex(max(0, index))
        self.header_pick.blockSignals(False)
        self._show_saved()

    def _show_saved(self) -> None:
        theme = current_theme()

        def show(label: QLabel, field: QLineEdit, saved: bool) -> None:
            label.setText("● saved" if saved else "○ not set")
            label.setStyleSheet(f"color: {theme.completed if saved else theme.text_muted};")
            field.setPlaceholderText(
                "Saved in the keyring; paste a new one to replace it"
                if saved
                else "Paste it to save it in the keyring"
            )

        show(self.token_state, self.token, self._saved.get("bearer", False))
        show(self.password_state, self.password, self._saved.get("basic", False))
        name = self.header_pick.currentText().lower()
        show(self.header_state, self.header_value, self._saved.get("header:" + name, False))

    async def load(self) -> None:
        """Fill the form from the stored settings (and which secrets the keyring holds)."""
        sync = self._sync()
        if sync is None:
            return

        def read() -> _Loaded:
            config = sync.config()
            agents = [(a.id, a.name) for a in sync.store.list_agents()]
            return _Loaded(config, agents, _read_saved(sync, config))

        try:
            loaded = await self.work.call(read)
        except CredentialError as exc:
            self._say(str(exc), error=True)
            return
        config = loaded.config
        self._saved = loaded.saved
        self.endpoint.setText(config.endpoint or "")
        index = self.auth.findData(config.auth_kind)
        self.auth.setCurrentIndex(max(0, index))
        self.basic_user.setText(config.basic_user or "")
        self.header_names.setText(", ".join(config.header_names))
        self.agents.clear()
        chosen = set(config.agent_ids)
        for agent_id, name in loaded.agents:
            item = QListWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, agent_id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(
                Qt.CheckState.Checked if agent_id in chosen else Qt.CheckState.Unchecked
            )
            self.agents.addItem(item)
        (self.chosen_agents if chosen else self.all_agents).setChecked(True)
        self.include_content.setChecked(config.include_content)
        self.include_ingested.setChecked(config.include_ingested)
        self.project_name.setText(config.project_name or "")
        for rule, box in self.rules.items():
            box.setChecked(rule in config.redaction.builtin)
        self.custom_patterns.setText("  ".join(config.redaction.custom))
        self.enabled.setChecked(config.enabled)
        self._show_auth()
        self._show_saved()
        self._update_buttons()
        self.sig_loaded.emit()
        await self.refresh_status()

    def save(self) -> None:
        """Validate, store the settings, then the typed secrets (which leave the widgets now)."""
        if self._busy or self._sync() is None:
            return
        if not self._check_endpoint():
            self._say(self.endpoint_message.text(), error=True)
            self.sig_refused.emit(self.endpoint_message.text())
            return
        kind = self.auth_kind()
        names = self._names()
        try:
            redaction = PiiRules(
                builtin=tuple(r for r, box in self.rules.items() if box.isChecked()),
                custom=tuple(p for p in self.custom_patterns.text().split("  ") if p.strip()),
            )
        except PiiRuleError as exc:
            self._say(f"Redaction: {exc}.", error=True)
            self.sig_refused.emit(str(exc))
            return
        agents: list[str] = []
        if self.chosen_agents.isChecked():
            for i in range(self.agents.count()):
                item = self.agents.item(i)
                if item.checkState() == Qt.CheckState.Checked:
                    agents.append(str(item.data(Qt.ItemDataRole.UserRole)))
            if not agents:
                message = "Choose at least one agent, or send all runs."
                self._say(message, error=True)
                self.sig_refused.emit(message)
                return
        settings: dict[str, Any] = {
            "endpoint": self.endpoint.text().strip(),
            "enabled": self.enabled.isChecked(),
            "auth_kind": kind,
            "basic_user": self.basic_user.text(),
            "header_names": names,
            "agents": agents,
            "include_content": self.include_content.isChecked(),
            "redaction": redaction,
            "include_ingested": self.include_ingested.isChecked(),
            "project_name": self.project_name.text(),
        }
        secrets: dict[str, Any] = {}
        if kind == "bearer" and self.token.text().strip():
            secrets["token"] = self.token.text()
        elif kind == "basic" and self.password.text().strip():
            secrets["password"] = self.password.text()
        elif kind == "headers" and self.header_value.text().strip():
            name = self.header_pick.currentText()
            if name:
                secrets["headers"] = {name: self.header_value.text()}
        # The secrets leave the widgets at once, whatever happens next (setText also drops the
        # undo history).
        for field in (self.token, self.password, self.header_value):
            field.setText("")
        self.ctx.spawn(self._save(settings, secrets), what="save the cloud sync settings")

    async def _save(self, settings: dict[str, Any], secrets: dict[str, Any]) -> None:
        sync = self._sync()
        if sync is None:
            return
        self._set_busy(True)
        try:
            # Every call below writes (SQLite, the keyring over D-Bus): all in a worker thread;
            # the engine hands its wake-up to the loop.
            def store_secrets() -> None:
                for kind, value in secrets.items():
                    if kind == "headers":
                        for name, header in value.items():
                            sync.secrets.set("header", header, name)
                    else:
                        sync.secrets.set("bearer" if kind == "token" else "basic", value)

            try:
                config = await self.work.call(lambda: sync.configure(**settings))
                if secrets:
                    await self.work.call(store_secrets)
                    await self.work.call(sync.set_credentials)  # resumes after sign-in
                self._saved = await self.work.call(_read_saved, sync, config)
            except (SyncConfigError, CredentialError) as exc:
                self._say(str(exc), error=True)
                self.sig_refused.emit(str(exc))
                return
            finally:
                secrets.clear()
            self._show_saved()
            self._say(
                "Saved. Runs are sent as they end."
                if settings["enabled"]
                else "Saved. Sync is off: nothing is sent."
            )
            self.sig_saved.emit()
        finally:
            self._set_busy(False)
        await self.refresh_status()

    # -- status and actions ------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._timer.start()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self._timer.stop()

    def schedule_status(self) -> None:
        if not self._polling and self._sync() is not None:
            self.ctx.spawn(self.refresh_status(), what="read the sync status")

    async def refresh_status(self) -> None:
        sync = self._sync()
        if sync is None:
            return
        self._polling = True
        try:
            status = await self.work.call(sync.status)
        finally:
            self._polling = False
        self.show_status(status)

    def show_status(self, status: Any) -> None:
        self.status = status
        theme = current_theme()
        state = status.state.value
        color = {
            "sign_in": theme.warning,
            "paused": theme.warning,
            "disabled": theme.text_muted,
            "sending": theme.accent,
        }.get(state, theme.failed if status.last_error and status.queued else theme.text)
        self.status_line.setText(status.line)
        self.status_line.setStyleSheet(f"color: {color};")
        self.status_line.setProperty("state", state)
        tip = []
        if status.endpoint:
            tip.append(f"Endpoint: {status.endpoint}")
        if status.skipped_count and status.last_skipped_reason:
            tip.append(f"Last skipped run: {status.last_skipped_reason}")
        self.status_line.setToolTip("\n".join(tip))
        self.sign_in.setVisible(status.needs_sign_in)
        self.sign_in.setStyleSheet(
            f"QFrame#SyncSignIn {{ background: {tint(theme.warning, theme, 0.16)};"
            f" border: 1px solid {theme.warning}; border-radius: 8px; }}"
        )
        self._update_buttons()
        self.sig_status_shown.emit(status)

    def restyle(self) -> None:
        self._show_saved()
        self._check_endpoint()
        if self.status is not None:
            self.show_status(self.status)

    def send_now(self) -> None:
        if not self._busy and self._sync() is not None:
            self.ctx.spawn(self._send_now(), what="send the sync queue")

    async def _send_now(self) -> None:
        sync = self._sync()
        self._set_busy(True)
        self.status_line.setText("Sending…")
        try:
            results = await self.ctx.engine_run(sync.sync_now())
        except Exception as exc:  # the network's failures are shown, never raised at the user
            log.warning("sync now failed: %s", exc)
            self._say(f"Could not send: {exc}", error=True)
        else:
            sent = sum(r.sent for r in results)
            self._say(f"Sent {sent} run{'s' if sent != 1 else ''}." if sent else "")
        finally:
            self._set_busy(False)
        await self.refresh_status()

    def toggle_pause(self) -> None:
        sync = self._sync()
        if sync is None or self._busy:
            return
        paused = self.status is not None and self.status.state.value == "paused"
        self.ctx.spawn(self._pause(sync, not paused), what="pause sync" if not paused else "resume")

    async def _pause(self, sync: Any, pause: bool) -> None:
        self._set_busy(True)
        try:
            if pause:
                await self.work.call(sync.pause)
            else:
                await self.work.call(sync.resume)
        finally:
            self._set_busy(False)
        await self.refresh_status()

    # -- the local receiver ------------------------------------------------------------------------

    def _toggle_receiver(self, on: bool) -> None:
        self.ctx.settings.setValue(RECEIVER_PORT_SETTING, self.receiver_port.value())
        self.ctx.spawn(self._switch_receiver(on), what="switch the OTLP receiver")

    async def _switch_receiver(self, on: bool) -> None:
        workspace = self.ctx.workspace
        theme = current_theme()
        self.receiver_port.setEnabled(False)
        try:
            if on and self.receiver is None and workspace is not None:
                receiver = OtlpReceiver(workspace, port=self.receiver_port.value())
                try:
                    await self.work.call(receiver.start)
                except OSError as exc:
                    self.receiver_message.setText(
                        f"Could not listen on port {self.receiver_port.value()}: "
                        f"{exc.strerror or exc}."
                    )
                    self.receiver_message.setStyleSheet(f"color: {theme.failed};")
                    self.receiver_toggle.blockSignals(True)
                    self.receiver_toggle.setChecked(False)
                    self.receiver_toggle.blockSignals(False)
                    return
                self.receiver = receiver
                self.receiver_message.setText(
                    f"Listening: point your exporter at {receiver.url}/v1/traces"
                )
                self.receiver_message.setStyleSheet(f"color: {theme.completed};")
            elif not on and self.receiver is not None:
                receiver, self.receiver = self.receiver, None
                await self.work.call(receiver.close)
                self.receiver_message.setText("The receiver is off.")
                self.receiver_message.setStyleSheet(f"color: {theme.text_muted};")
        finally:
            self.receiver_port.setEnabled(self.receiver is None)
        self.sig_receiver_changed.emit(self.receiver is not None)

    def close_receiver(self) -> None:
        """Stop listening (at app shutdown)."""
        receiver, self.receiver = self.receiver, None
        if receiver is not None:
            with contextlib.suppress(Exception):
                receiver.close()
