"""Export the runs matching the page's filters, with their actions, as CSV, JSON or JSONL (or,
given another ExportSubject, the Activity Ledger's actions as CSV or JSONL).

The export runs on a worker thread (engine.export does the writing: a temporary file renamed
into place, so the target is complete or absent); progress comes back through a queued signal,
and Cancel stops it between runs and leaves no file. The dialog opens in the folder of the last
export (a setting), or Documents when that folder is gone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QStandardPaths, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.records import RunFilter
from ato_desktop.engine.export import FORMATS, ExportCancelled, export_runs
from ato_desktop.ui.widgets.background import BackgroundWork

FORMAT_LABELS = {
    "csv": ("CSV", "one row per action, run columns repeated; opens in a spreadsheet"),
    "json": ("JSON", "one document: {schema_version, exported_at, run_count, runs: [...]}"),
    "jsonl": ("JSONL", "one run with its actions per line; streams well into other tools"),
}
_PROGRESS_EVERY_S = 0.1

# export(store, fmt, path, progress, cancelled) -> how many written (on a worker thread)
ExportFunction = Callable[[Any, str, Path, Callable[[int, int], None], Callable[[], bool]], int]


@dataclass(frozen=True)
class ExportSubject:
    """What a dialog exports: its noun ("runs"), formats, and how to count and write them."""

    noun: str
    title: str
    formats: Sequence[str]
    format_labels: dict[str, tuple[str, str]]
    count: Callable[[Any], int]  # store -> how many (on a reader thread)
    export: ExportFunction
    stem: str  # file names: <stem>-<date>.<format>


def runs_subject(flt: RunFilter) -> ExportSubject:
    """The runs matching flt, with their actions."""
    return ExportSubject(
        noun="runs",
        title="Export the runs matching the current filters, with their actions",
        formats=FORMATS,
        format_labels=FORMAT_LABELS,
        count=lambda store: int(store.count_runs(flt)),
        export=lambda store, fmt, path, progress, cancelled: export_runs(
            store, flt, fmt, path, progress=progress, cancelled=cancelled
        ),
        stem="ato-runs",
    )


class ExportJob(QObject):
    """One export on a worker thread. Signals arrive on the UI thread (queued)."""

    sig_export_progressed = Signal(int, int)  # done, total
    sig_export_finished = Signal(str, int)  # path, runs written
    sig_export_cancelled = Signal()
    sig_export_failed = Signal(str)  # message

    def __init__(
        self,
        ctx: Any,
        flt: RunFilter,
        fmt: str,
        path: Path,
        subject: ExportSubject | None = None,
    ) -> None:
        super().__init__()
        self._ctx = ctx
        self.work = BackgroundWork(self, ctx)
        self.flt = flt
        self.fmt = fmt
        self.path = path
        self.subject = subject or runs_subject(flt)
        self._cancel = threading.Event()
        self._last_emit = 0.0
        self.running = False

    def start(self) -> None:
        self.running = True
        self._ctx.spawn(self._run(), what=f"export {self.subject.noun}")

    def cancel(self) -> None:
        self._cancel.set()

    def _progress(self, done: int, total: int) -> None:
        # Worker thread: throttle, then hand over to the UI thread through the queued signal.
        now = time.monotonic()
        if done == total or now - self._last_emit >= _PROGRESS_EVERY_S:
            self._last_emit = now
            self.sig_export_progressed.emit(done, total)

    async def _run(self) -> None:
        try:
            count = await self.work.call(
                self.subject.export,
                self._ctx.workspace.store,
                self.fmt,
                self.path,
                self._progress,
                self._cancel.is_set,
            )
        except ExportCancelled:
            self._finish(lambda: self.sig_export_cancelled.emit())
            return
        except Exception as exc:  # disk full, permissions: the message says which
            message = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            self._finish(lambda: self.sig_export_failed.emit(message))
            return
        self._finish(lambda: self.sig_export_finished.emit(str(self.path), count))

    def _finish(self, emit: Any) -> None:
        self.running = False
        emit()


EXPORT_DIR_SETTING = "runs/export_dir"  # the folder of the last export


def default_export_dir() -> Path:
    docs = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    path = Path(docs) if docs else Path.home()
    return path if path.is_dir() else Path.home()


def remembered_export_dir(settings: Any) -> Path:
    """The folder of the last export while it still exists, else the default one."""
    saved = str(settings.value(EXPORT_DIR_SETTING, "") or "") if settings is not None else ""
    path = Path(saved).expanduser() if saved else None
    return path if path is not None and path.is_dir() else default_export_dir()


class ExportDialog(QDialog):
    """Pick a format and a file; watch the progress; cancel at any time."""

    sig_export_finished = Signal(str, int)  # path, runs written
    sig_export_cancelled = Signal()
    sig_export_failed = Signal(str)
    sig_counted = Signal(int)

    def __init__(
        self,
        ctx: Any,
        flt: RunFilter,
        description: str,
        parent: QWidget | None = None,
        *,
        fmt: str = "csv",
        directory: Path | None = None,
        subject: ExportSubject | None = None,
    ) -> None:
        super().__init__(parent)
        self.subject = subject or runs_subject(flt)
        self._noun = self.subject.noun
        self.setObjectName("ExportDialog")
        self.setWindowTitle(f"Export {self._noun}")
        self.setMinimumSize(560, 330)  # explicit: showing the progress never resizes it
        self._ctx = ctx
        self.work = BackgroundWork(self, ctx)
        self._flt = flt
        self.job: ExportJob | None = None
        self._total: int | None = None
        stamp = datetime.now().strftime("%Y%m%d-%H%M")
        self._stem = f"{self.subject.stem}-{stamp}"

        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        title = QLabel(self.subject.title)
        title.setObjectName("SectionTitle")
        title.setWordWrap(True)
        layout.addWidget(title)
        self.summary = QLabel(f"Filters: {description}\nCounting {self._noun}…")
        self.summary.setObjectName("ExportSummary")
        self.summary.setProperty("muted", True)
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)

        self._formats = QButtonGroup(self)
        for key in self.subject.formats:
            label, hint = self.subject.format_labels[key]
            radio = QRadioButton(f"{label}  —  {hint}")
            radio.setObjectName(f"ExportFormat_{key}")
            radio.setProperty("format", key)
            self._formats.addButton(radio)
            layout.addWidget(radio)
            if key == fmt:
                radio.setChecked(True)
        self._formats.buttonToggled.connect(self._on_format_changed)

        row = QHBoxLayout()
        settings = getattr(ctx, "settings", None)
        folder = directory or remembered_export_dir(settings)
        self.path_edit = QLineEdit(str(folder / self._file_name()))
        self.path_edit.setObjectName("ExportPath")
        row.addWidget(self.path_edit, 1)
        browse = QPushButton("Browse…")
        browse.setObjectName("ExportBrowse")
        browse.clicked.connect(self._browse)
        row.addWidget(browse)
        layout.addLayout(row)

        self.progress = QProgressBar()
        self.progress.setObjectName("ExportProgress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)
        self.progress.hide()
        layout.addWidget(self.progress)
        self.status = QLabel("")
        self.status.setObjectName("ExportStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)

        buttons = QHBoxLayout()
        self.reveal_button = QPushButton("Show in folder")
        self.reveal_button.setObjectName("ExportReveal")
        self.reveal_button.hide()
        self.reveal_button.clicked.connect(self._reveal)
        buttons.addWidget(self.reveal_button)
        buttons.addStretch(1)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("ExportCancel")
        self.cancel_button.clicked.connect(self._on_cancel)
        buttons.addWidget(self.cancel_button)
        self.export_button = QPushButton("Export")
        self.export_button.setObjectName("ExportStart")
        self.export_button.setProperty("primary", True)
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start)
        buttons.addWidget(self.export_button)
        layout.addLayout(buttons)
        self._count()

    # -- public --------------------------------------------------------------------------------

    @property
    def fmt(self) -> str:
        checked = self._formats.checkedButton()
        return str(checked.property("format")) if checked is not None else "csv"

    def set_format(self, fmt: str) -> None:
        for button in self._formats.buttons():
            if button.property("format") == fmt:
                button.setChecked(True)

    @property
    def path(self) -> Path:
        return Path(self.path_edit.text()).expanduser()

    def start(self) -> None:
        if self.job is not None and self.job.running:
            return
        path = self.path
        if not path.name:
            self.status.setText("Choose a file to export to.")
            return
        self.job = ExportJob(self._ctx, self._flt, self.fmt, path, self.subject)
        self.job.sig_export_progressed.connect(self._on_progress)
        self.job.sig_export_finished.connect(self._on_finished)
        self.job.sig_export_cancelled.connect(self._on_cancelled)
        self.job.sig_export_failed.connect(self._on_failed)
        self.export_button.setEnabled(False)
        self.path_edit.setEnabled(False)
        for button in self._formats.buttons():
            button.setEnabled(False)
        self.reveal_button.hide()
        self.progress.setRange(0, 0)
        self.progress.show()
        self.status.setText("Exporting…")
        self.job.start()

    def cancel(self) -> None:
        if self.job is not None and self.job.running:
            self.job.cancel()
            self.status.setText("Cancelling…")

    # -- internals -----------------------------------------------------------------------------

    def _file_name(self) -> str:
        return f"{self._stem}.{self.fmt}"

    def _on_format_changed(self, _button: Any, checked: bool) -> None:
        if not checked:
            return
        path = self.path
        if path.suffix.lstrip(".") in self.subject.formats:
            self.path_edit.setText(str(path.with_suffix("." + self.fmt)))

    def _browse(self) -> None:
        chosen, _ = QFileDialog.getSaveFileName(
            self, f"Export {self._noun}", str(self.path), f"{self.fmt.upper()} (*.{self.fmt})"
        )
        if chosen:
            self.path_edit.setText(chosen)

    def _count(self) -> None:
        if self._ctx.workspace is None:
            return
        self._ctx.spawn(self._read_count(), what=f"count {self._noun} to export")

    async def _read_count(self) -> None:
        store = self._ctx.workspace.store
        total = await self.work.fetch(self.subject.count, store)
        self._total = total
        text = self.summary.text().split("\n")[0]
        noun = self._noun if total != 1 else self._noun.rstrip("s")
        if total:
            self.summary.setText(f"{text}\n{total:,} {noun} to export.")
        else:
            single = self._noun.rstrip("s")
            self.summary.setText(
                f"{text}\nNo {single} matches these filters: the file will be empty."
            )
        self.sig_counted.emit(total)

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.status.setText(f"Exported {done:,} of {total:,} {self._noun}…")

    def _done(self) -> None:
        self.export_button.setEnabled(True)
        self.path_edit.setEnabled(True)
        for button in self._formats.buttons():
            button.setEnabled(True)
        self.cancel_button.setText("Close")

    def _on_finished(self, path: str, count: int) -> None:
        self._done()
        settings = getattr(self._ctx, "settings", None)
        if settings is not None:  # the next export starts here
            settings.setValue(EXPORT_DIR_SETTING, str(Path(path).parent))
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        noun = self._noun if count != 1 else self._noun.rstrip("s")
        self.status.setText(f"Exported {count:,} {noun} to {path}.")
        self.reveal_button.show()
        self.sig_export_finished.emit(path, count)

    def _on_cancelled(self) -> None:
        self._done()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status.setText("Export cancelled; no file was written.")
        self.sig_export_cancelled.emit()

    def _on_failed(self, message: str) -> None:
        self._done()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status.setText(f"The export failed: {message}. No file was written.")
        self.sig_export_failed.emit(message)

    def _on_cancel(self) -> None:
        if self.job is not None and self.job.running:
            self.cancel()
        else:
            self.reject()

    def _reveal(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.path.parent)))

    def reject(self) -> None:
        self.cancel()  # closing the dialog stops the export (and leaves no file)
        super().reject()

    def keyPressEvent(self, event: Any) -> None:
        if event.key() == Qt.Key.Key_Escape and self.job is not None and self.job.running:
            self.cancel()
            return
        super().keyPressEvent(event)
