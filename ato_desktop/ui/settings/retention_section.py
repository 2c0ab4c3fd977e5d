"""Settings → Retention: how many days runs stay in the log, how many are due, Archive now (with
progress and Cancel) and the archives with Re-import. The work runs in worker threads
(engine.retention); the setting lives in settings.json, shared with the CLI."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
)

from ato_desktop.core.retention import DEFAULT_DAYS, MAX_DAYS, ArchiveFormatError
from ato_desktop.engine import retention
from ato_desktop.engine.settings_file import SettingsFileError
from ato_desktop.ui.settings.card import Card, muted_label, say
from ato_desktop.ui.widgets.background import BackgroundWork

log = logging.getLogger(__name__)

STAGES = {
    "archive": "Writing the archive",
    "verify": "Reading it back",
    "remove": "Removing archived runs",
    "reclaim": "Reclaiming space",
    "import": "Importing",
}


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


class RetentionSection(Card):
    """The retention card. Call refresh() (the page does on show) to read the state."""

    sig_loaded = Signal(object)  # RetentionStatus | None (settings.json broken)
    sig_saved = Signal(object)  # days | None
    sig_progress = Signal(str, int, int)  # stage, done, total (emitted from the worker)
    sig_finished = Signal(str)  # the result line shown to the user
    sig_failed = Signal(str)

    def __init__(self, ctx: Any) -> None:
        super().__init__(
            "retention",
            "Retention",
            "Runs older than this are archived to compressed files in the data directory, then "
            "removed from the log to keep it fast; an archive can be imported again. Runs that "
            "are still running or waiting for cloud sync are kept.",
        )
        self.ctx = ctx
        self.work = BackgroundWork(self, ctx)
        self._cancel: threading.Event | None = None
        self._loading = False
        row = QHBoxLayout()
        row.addWidget(QLabel("Keep runs for"))
        self.days = QSpinBox()
        self.days.setObjectName("RetentionDays")
        self.days.setRange(1, MAX_DAYS)
        self.days.setSuffix(" days")
        self.days.setValue(DEFAULT_DAYS)
        row.addWidget(self.days)
        self.off = QCheckBox("Off (keep every run)")
        self.off.setObjectName("RetentionOff")
        row.addWidget(self.off)
        row.addStretch(1)
        self.body.addLayout(row)
        self.due = muted_label()
        self.due.setObjectName("RetentionDue")
        self.body.addWidget(self.due)

        actions = QHBoxLayout()
        self.archive_button = QPushButton("Archive now")
        self.archive_button.setObjectName("RetentionArchiveNow")
        self.archive_button.clicked.connect(self.archive_now)
        actions.addWidget(self.archive_button)
        self.progress = QProgressBar()
        self.progress.setObjectName("RetentionProgress")
        self.progress.setTextVisible(True)
        self.progress.hide()
        actions.addWidget(self.progress, 1)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("RetentionCancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.hide()
        actions.addWidget(self.cancel_button)
        actions.addStretch(0)
        self.body.addLayout(actions)
        self.result = muted_label()
        self.result.setObjectName("RetentionResult")
        self.body.addWidget(self.result)
        self.error = QLabel()
        self.error.setObjectName("RetentionError")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.hide()
        self.body.addWidget(self.error)

        self.body.addWidget(QLabel("Archives"))
        self.archives = QListWidget()
        self.archives.setObjectName("RetentionArchives")
        self.archives.setMaximumHeight(140)
        self.archives.currentRowChanged.connect(lambda _r: self._update_buttons())
        self.body.addWidget(self.archives)
        self.import_button = QPushButton("Re-import…")
        self.import_button.setObjectName("RetentionReimport")
        self.import_button.clicked.connect(self.ask_import)
        self.body.addWidget(self.import_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.confirm = QFrame()
        self.confirm.setProperty("confirm", True)
        confirm_row = QHBoxLayout(self.confirm)
        confirm_row.setContentsMargins(12, 6, 6, 6)
        self.confirm_text = QLabel()
        self.confirm_text.setWordWrap(True)
        confirm_row.addWidget(self.confirm_text, 1)
        self.confirm_cancel = QPushButton("Cancel")
        self.confirm_cancel.clicked.connect(self.confirm.hide)
        confirm_row.addWidget(self.confirm_cancel)
        self.confirm_button = QPushButton("Import")
        self.confirm_button.setObjectName("RetentionConfirmImport")
        self.confirm_button.clicked.connect(self.import_selected)
        confirm_row.addWidget(self.confirm_button)
        self.confirm.hide()
        self.body.addWidget(self.confirm)

        # Saved a moment after the last change: a spin box sends one value per arrow press.
        self._save_timer = QTimer(self, singleShot=True, interval=400)
        self._save_timer.timeout.connect(self._save_now)
        self.days.valueChanged.connect(self._changed)
        self.off.toggled.connect(self._changed)
        self.sig_progress.connect(self._show_progress)
        self._update_buttons()

    # -- state ---------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._cancel is not None

    def chosen_days(self) -> int | None:
        return None if self.off.isChecked() else self.days.value()

    def _update_buttons(self) -> None:
        self.days.setEnabled(not self.off.isChecked())
        self.archive_button.setEnabled(not self.busy and not self.off.isChecked())
        self.import_button.setEnabled(not self.busy and self.archives.currentRow() >= 0)

    def _show_error(self, text: str) -> None:
        say(self.error, text, error=True)  # the theme's failure colour, hidden when empty

    async def refresh(self, *, controls: bool = True) -> None:
        """Read the setting, the due count and the archives (off the UI thread).

        controls=False (after a save) leaves the spin box and Off alone: the user may have
        changed them again meanwhile.
        """
        workspace = self.ctx.workspace
        if workspace is None:
            return
        try:
            days = await self.work.call(retention.retention_days, workspace.paths)
        except SettingsFileError as exc:
            self._show_error(f"{exc} Retention is paused until the file is fixed.")
            self.sig_loaded.emit(None)
            return
        status = await self.ctx.read(
            retention.retention_status, workspace.store, workspace.paths, days=days
        )
        if controls and not self._save_timer.isActive():
            self._loading = True
            try:
                self.off.setChecked(days is None)
                if days is not None:
                    self.days.setValue(days)
            finally:
                self._loading = False
        if status.days is None:
            self.due.setText("Retention is off: every run stays in the log.")
        else:
            held = status.held_running + status.held_queued
            extra = f" ({held} older runs held back)" if held else ""
            self.due.setText(f"{status.due:,} runs are older than {status.days} days{extra}.")
        current = self.archives.currentItem()
        selected = current.data(Qt.ItemDataRole.UserRole) if current else None
        self.archives.clear()
        for archive in status.archives:
            item = QListWidgetItem(f"{archive.name}    {_size(archive.size)}")
            item.setData(Qt.ItemDataRole.UserRole, str(archive.path))
            self.archives.addItem(item)
            if str(archive.path) == selected:
                self.archives.setCurrentItem(item)
        if self.archives.count() == 0:
            self.archives.addItem("No archives yet")
            self.archives.item(0).setFlags(Qt.ItemFlag.NoItemFlags)
        self._update_buttons()
        self.sig_loaded.emit(status)

    # -- the setting ---------------------------------------------------------------------

    def _changed(self, *_args: object) -> None:
        self._update_buttons()
        if not self._loading:
            self._save_timer.start()

    def _save_now(self) -> None:
        self.ctx.spawn(self.save(), what="save the retention setting")

    async def save(self) -> None:
        days = self.chosen_days()
        try:
            await self.work.call(retention.save_retention_days, self.ctx.paths, days)
        except (SettingsFileError, OSError) as exc:
            self._show_error(f"Not saved: {exc}")
            return
        self._show_error("")
        self.sig_saved.emit(days)
        await self.refresh(controls=False)

    # -- archive now ---------------------------------------------------------------------

    def archive_now(self) -> None:
        days = self.chosen_days()
        if days is None or self.busy:
            return
        self._start()
        self.ctx.spawn(self._archive(days), what="archive old runs")

    def _start(self) -> None:
        self._cancel = threading.Event()
        self._show_error("")
        self.result.setText("")
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()
        self.confirm.hide()
        self._update_buttons()

    def _stop(self) -> None:
        self._cancel = None
        self.progress.hide()
        self.cancel_button.hide()
        self._update_buttons()

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self.progress.setFormat("Stopping after this batch…")

    def _emit_progress(self, stage: str, done: int, total: int) -> None:
        self.sig_progress.emit(stage, done, total)  # from the worker: queued to the UI thread

    def _show_progress(self, stage: str, done: int, total: int) -> None:
        if self._cancel is not None and self._cancel.is_set():
            return
        label = STAGES.get(stage, stage)
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
            self.progress.setFormat(f"{label}: %v / %m")
        else:
            self.progress.setRange(0, 0)
            self.progress.setFormat(label)

    async def _archive(self, days: int) -> None:
        workspace = self.ctx.workspace
        cancel = self._cancel
        try:
            result = await self.work.call(
                retention.run_retention,
                workspace.store,
                workspace.paths,
                days=days,
                progress=self._emit_progress,
                cancel=cancel,
            )
        except Exception as exc:  # RetentionError, StoreError, OSError: all say what went wrong
            log.warning("archiving failed: %s", exc)
            self._stop()
            self._show_error(f"Archiving failed: {exc} No run was removed that is not archived.")
            self.sig_failed.emit(str(exc))
            return
        self._stop()
        if result.cancelled and result.archive is None:
            text = "Cancelled: nothing was archived or removed."
        elif result.archive is None:
            text = f"Nothing to archive: no run older than {days} days is due."
        else:
            text = (
                f"Archived {result.runs:,} runs ({result.actions:,} actions) to "
                f"{result.archive.name} ({_size(result.archive_bytes)}); removed "
                f"{result.removed:,} from the log"
                + (
                    " before you cancelled; the rest stay live."
                    if result.cancelled
                    else f" and reclaimed {_size(result.reclaimed)}."
                )
            )
        self.result.setText(text)
        await self.refresh()
        self.sig_finished.emit(text)

    # -- re-import -----------------------------------------------------------------------

    def selected_archive(self) -> Path | None:
        item = self.archives.currentItem()
        value = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return Path(value) if value else None

    def ask_import(self) -> None:
        path = self.selected_archive()
        if path is None or self.busy:
            return
        self.confirm_text.setText(
            f"Import the runs in {path.name} back into the log? Runs already there are "
            "skipped. If they are still older than the retention setting, the next daily "
            "archive moves them out again: turn retention off first to keep them."
        )
        self.confirm.show()

    def import_selected(self) -> None:
        path = self.selected_archive()
        self.confirm.hide()
        if path is None or self.busy:
            return
        self._start()
        self.ctx.spawn(self._import(path), what="import an archive")

    async def _import(self, path: Path) -> None:
        workspace = self.ctx.workspace
        try:
            result = await self.work.call(
                retention.import_archive,
                workspace.store,
                path,
                progress=self._emit_progress,
                cancel=self._cancel,
            )
        except (ArchiveFormatError, retention.RetentionError, OSError) as exc:
            self._stop()
            self._show_error(str(exc))
            self.sig_failed.emit(str(exc))
            return
        except Exception as exc:  # StoreError (disk full...)
            self._stop()
            self._show_error(f"Import failed: {exc}")
            self.sig_failed.emit(str(exc))
            return
        self._stop()
        text = f"Imported {result.runs:,} runs ({result.actions:,} actions) from {path.name}" + (
            f"; {result.skipped:,} were already in the log." if result.skipped else "."
        )
        if result.cancelled:
            text += " Cancelled: import the archive again to bring back the rest."
        self.result.setText(text)
        await self.refresh()
        self.sig_finished.emit(text)
