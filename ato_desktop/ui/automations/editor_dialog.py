"""Edit a definition from the canvas: enabled, and its text fields (a schedule's cron, time zone
and prompt; a hook's template and depth; a group's description and stage prompts; a skill flow
is edited in its file and re-read). Saved through the engine's AutomationService, which checks
it and records a new version; its message is shown when it refuses."""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.automations import GroupMode, GroupSpec, HookSpec, ScheduleSpec, SkillSpec
from ato_desktop.store.automations import AutomationRecord
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.widgets.background import BackgroundWork


class DefinitionEditor(QDialog):
    """One definition's editable fields; Save records a new version (and enables/disables)."""

    sig_saved = Signal(str)  # what was done, for the status bar

    def __init__(
        self, ctx: AppContext, record: AutomationRecord, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.work = BackgroundWork(self, ctx)
        self.record = record
        self.setObjectName("DefinitionEditor")
        self.setWindowTitle(f"Edit {record.kind.value} {record.name}")
        self.setMinimumWidth(520)
        column = QVBoxLayout(self)
        title = QLabel(f"<b>{record.name}</b> · {record.kind.value} · version {record.version}")
        column.addWidget(title)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.enabled = QCheckBox("&Enabled")
        self.enabled.setChecked(record.enabled)
        self.enabled.setToolTip("A disabled definition never fires or runs until enabled again")
        form.addRow("", self.enabled)
        self.fields: dict[str, QLineEdit | QPlainTextEdit | QSpinBox] = {}
        spec = record.spec
        if isinstance(spec, ScheduleSpec):
            self._line(form, "cron", "&Cron", spec.cron, "e.g. 0 9 * * 1-5")
            self._line(form, "timezone", "&Time zone", spec.timezone, "e.g. Europe/Paris")
            self._text(form, "prompt", "&Prompt", spec.prompt)
        elif isinstance(spec, HookSpec):
            self._text(form, "template", "&Template", spec.template)
            depth = QSpinBox()
            depth.setRange(1, 10)
            depth.setValue(spec.max_depth)
            depth.setToolTip("A chain of hooks stops after this many hooked runs")
            form.addRow("Max &depth", depth)
            self.fields["max_depth"] = depth
        elif isinstance(spec, GroupSpec):
            self._line(form, "description", "&Description", spec.description, "")
            if spec.mode is GroupMode.SEQUENTIAL:
                for i, stage in enumerate(spec.stages):
                    self._line(
                        form,
                        f"stage:{i}",
                        f"{i + 1} · {stage.name} (@{stage.agent})",
                        stage.template,
                        "{input}, {previous}",
                    )
        elif isinstance(spec, SkillSpec):
            path = QLabel(spec.path)
            path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            path.setWordWrap(True)
            form.addRow("File", path)
            note = QLabel("Its steps are edited in the file; it is re-read when it changes.")
            note.setProperty("muted", True)
            form.addRow("", note)
            self.reread = QPushButton("&Re-read the file now")
            self.reread.clicked.connect(self._reread)
            form.addRow("", self.reread)
        column.addLayout(form)
        self.error = QLabel("")
        self.error.setObjectName("EditorError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d14343;")
        self.error.hide()
        column.addWidget(self.error)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        column.addWidget(self.buttons)

    def _line(self, form: QFormLayout, key: str, label: str, value: str, hint: str) -> None:
        edit = QLineEdit(value)
        edit.setPlaceholderText(hint)
        form.addRow(label, edit)
        self.fields[key] = edit

    def _text(self, form: QFormLayout, key: str, label: str, value: str) -> None:
        edit = QPlainTextEdit(value)
        edit.setTabChangesFocus(True)
        edit.setFixedHeight(90)
        form.addRow(label, edit)
        self.fields[key] = edit

    def _value(self, key: str) -> Any:
        widget = self.fields[key]
        if isinstance(widget, QLineEdit):
            return widget.text().strip()
        if isinstance(widget, QPlainTextEdit):
            return widget.toPlainText()
        return widget.value()

    def edited_spec(self) -> Any:
        """The spec with the fields' values."""
        spec = self.record.spec
        if isinstance(spec, ScheduleSpec):
            return dataclasses.replace(
                spec,
                cron=self._value("cron"),
                timezone=self._value("timezone"),
                prompt=self._value("prompt"),
            )
        if isinstance(spec, HookSpec):
            return dataclasses.replace(
                spec, template=self._value("template"), max_depth=int(self._value("max_depth"))
            )
        if isinstance(spec, GroupSpec):
            stages = tuple(
                dataclasses.replace(stage, template=self._value(f"stage:{i}") or "{previous}")
                for i, stage in enumerate(spec.stages)
            )
            return dataclasses.replace(spec, description=self._value("description"), stages=stages)
        return spec

    def save(self) -> None:
        self.buttons.setEnabled(False)
        self.ctx.spawn(self._save(), what=f"save {self.record.kind.value} {self.record.name}")

    async def _save(self) -> None:
        service = self.ctx.opened_workspace.automations.definitions
        record = self.record
        done: list[str] = []
        try:
            spec = self.edited_spec()
            if spec != record.spec:
                _saved, changed = await self.work.call(
                    service.save, record.kind, record.name, spec, source="ui"
                )
                if changed:
                    done.append("saved a new version")
            if self.enabled.isChecked() != record.enabled:
                await self.work.call(
                    service.set_enabled, record.kind, record.name, self.enabled.isChecked()
                )
                done.append("enabled" if self.enabled.isChecked() else "disabled")
        except Exception as exc:  # DefinitionError, NotFoundError, CronError: user messages
            self.error.setText(str(exc) or type(exc).__name__)
            self.error.show()
            self.buttons.setEnabled(True)
            return
        self.buttons.setEnabled(True)
        message = f"{record.kind.value} {record.name}: " + (" and ".join(done) or "no change")
        self.sig_saved.emit(message)
        self.ctx.status(message)
        self.accept()

    def _reread(self) -> None:
        async def go() -> None:
            service = self.ctx.opened_workspace.automations.definitions
            try:
                updated = await self.work.call(service.sync_skill, self.record.id)
            except Exception as exc:  # SkillParseError: the file's problem, said plainly
                self.error.setText(str(exc))
                self.error.show()
                return
            self.error.hide()
            self.ctx.status(
                f"skill {self.record.name}: "
                + (f"recorded version {updated.version}" if updated else "the file is unchanged")
            )

        self.ctx.spawn(go(), what="re-read a skill file")
