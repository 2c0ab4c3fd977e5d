"""Desktop notifications: run endings (core.notify_rules decides which, and folds bursts into one
summary) and announcements (spend spikes), shown through the system tray, or, where the desktop
has none, in the window (a small toast and the status bar; the app says so once).

A click opens what the notification is about: the run, or for a summary the Runs page filtered
to failures.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QLabel, QSystemTrayIcon, QVBoxLayout, QWidget

from ato_desktop.core.models import RunStatus
from ato_desktop.core.notify_rules import (
    COMPLETION_AFTER_S_DEFAULT,
    Notification,
    NotifyBatcher,
    NotifyPolicy,
    RunEnding,
    notify_kind,
)
from ato_desktop.ui.widgets.background import BackgroundWork

log = logging.getLogger(__name__)

COMPLETION_SETTING = "notifications/completion_after_s"
NO_TRAY_SAID_SETTING = "notifications/no_tray_said"
NO_TRAY_TEXT = (
    "This desktop has no system tray: notifications about runs appear in the window instead."
)
TRAY_MESSAGE_MS = 8_000
TOAST_MS = 7_000
FAILED_TARGET = {"tab": "history", "statuses": ["failed", "interrupted"]}
READ_BATCH_MS = 30  # endings arriving this close together are read in one go


def _now_ms() -> int:
    return int(time.time() * 1000)


class NotificationService(QObject):
    """Turns run endings into notifications and shows them (tray, else in the window)."""

    sig_notification_shown = Signal(object)  # Notification (whatever showed it)
    sig_notification_opened = Signal(object)  # Notification the user clicked
    sig_watch_changed = Signal(str, bool)  # run id, watched

    def __init__(
        self,
        ctx: Any,
        parent: QObject | None = None,
        *,
        tray_available: bool | None = None,
        policy: NotifyPolicy | None = None,
    ) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.work = BackgroundWork(self, ctx)
        if policy is None:
            completion = _float(ctx.settings.value(COMPLETION_SETTING), COMPLETION_AFTER_S_DEFAULT)
            policy = NotifyPolicy(completion_after_s=completion)
        self.batcher = NotifyBatcher(policy)
        self.tray_available = (
            QSystemTrayIcon.isSystemTrayAvailable() if tray_available is None else tray_available
        )
        self.tray_icon: QSystemTrayIcon | None = None
        self.window: QWidget | None = None  # where toasts go when there is no tray
        self.toast: Toast | None = None
        self.last: Notification | None = None
        self.shown: list[Notification] = []  # this session's, newest last (bounded)
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self.flush)
        self._pending_reads: list[str] = []
        self._read_timer = QTimer(self, singleShot=True, interval=READ_BATCH_MS)
        self._read_timer.timeout.connect(self._read_pending)

    # -- wiring ----------------------------------------------------------------------------------

    def set_tray_icon(self, icon: QSystemTrayIcon | None) -> None:
        """The tray's icon shows the messages; its message click opens the last one."""
        self.tray_icon = icon
        if icon is not None:
            icon.messageClicked.connect(self.open_last)

    def set_window(self, window: QWidget) -> None:
        self.window = window

    def set_completion_after_s(self, seconds: float) -> None:
        """Completions of runs at least this long notify (Settings)."""
        self.batcher.policy = replace(self.batcher.policy, completion_after_s=seconds)

    # -- watched runs ------------------------------------------------------------------------------

    def watch(self, run_id: str, watched: bool = True) -> None:
        """Notify when this run completes, however short it is."""
        if watched:
            self.batcher.watch(run_id)
        else:
            self.batcher.unwatch(run_id)
        self.sig_watch_changed.emit(run_id, watched)

    def is_watched(self, run_id: str) -> bool:
        return run_id in self.batcher.watched

    # -- run endings -------------------------------------------------------------------------------

    def on_run_ended(self, event: Any) -> None:
        """A bridge RunCompleted / RunFailed (of any process): when the rules could want it,
        read the run (its agent, error) and offer it. Endings that arrive together are read
        together: a burst from another process costs one read, not one per run."""
        if self._ctx.workspace is None or self._ctx.closing:
            return
        status = getattr(event, "status", RunStatus.COMPLETED.value)
        duration_ns = getattr(event, "duration_ns", None)
        duration_ms = duration_ns // 1_000_000 if duration_ns is not None else None
        ending = RunEnding(event.run_id, status, duration_ms)
        watched = self.is_watched(event.run_id)
        if notify_kind(ending, self.batcher.policy, watched=watched) is None:
            return  # a kill, a short completion: nothing to read
        self._pending_reads.append(event.run_id)
        if not self._read_timer.isActive():
            self._read_timer.start()

    def _read_pending(self) -> None:
        ids, self._pending_reads = self._pending_reads, []
        if ids and self._ctx.workspace is not None and not self._ctx.closing:
            self._ctx.spawn(self._offer_runs(ids), what="notify about runs")

    async def _offer_runs(self, run_ids: list[str]) -> None:
        store = self._ctx.workspace.store
        runs = await self.work.fetch(_existing_runs, store, run_ids)
        now = _now_ms()
        for run in runs:
            duration_ms = run.duration_ns // 1_000_000 if run.duration_ns is not None else None
            error = run.error_message or run.error_class
            self.offer(
                RunEnding(run.id, run.status, duration_ms, run.agent_name, error), now_ms=now
            )

    def offer(self, ending: RunEnding, *, now_ms: int | None = None) -> None:
        """Take one ending; a notification follows after the coalescing window (if any)."""
        now = _now_ms() if now_ms is None else now_ms
        due = self.batcher.offer(ending, now)
        if due is not None and not self._timer.isActive():
            self._timer.start(max(0, due - now))

    def flush(self, now_ms: int | None = None) -> Notification | None:
        """Show what is due (the timer calls this; tests may call it with a moved clock)."""
        now = _now_ms() if now_ms is None else now_ms
        note = self.batcher.flush(now)
        if note is not None:
            self.show(note)
        due = self.batcher.due_at
        if due is not None and not self._timer.isActive():
            self._timer.start(max(0, due - now))
        return note

    # -- showing -----------------------------------------------------------------------------------

    def announce(self, title: str, body: str, *, warning: bool = False) -> None:
        """A notification that is about no particular run (spend spikes)."""
        self.show(Notification(title, body, "warning" if warning else "info"))

    def show(self, note: Notification) -> None:
        self.last = note
        self.shown = [*self.shown[-99:], note]
        icon = self.tray_icon
        if self.tray_available and icon is not None and icon.isVisible():
            kind = (
                QSystemTrayIcon.MessageIcon.Warning
                if note.failures or note.kind == "warning"
                else QSystemTrayIcon.MessageIcon.Information
            )
            icon.showMessage(note.title, note.body, kind, TRAY_MESSAGE_MS)
        else:
            self._show_in_window(note)
        self.sig_notification_shown.emit(note)

    def _show_in_window(self, note: Notification) -> None:
        if not self.tray_available and not _truthy(self._ctx.settings.value(NO_TRAY_SAID_SETTING)):
            self._ctx.settings.setValue(NO_TRAY_SAID_SETTING, True)
            self._ctx.status(NO_TRAY_TEXT)
            self._toast(Notification("No system tray", NO_TRAY_TEXT, "info"))
            return self._later(note)
        self._ctx.status(f"{note.title} — {note.body}")
        self._toast(note)
        return None

    def _later(self, note: Notification) -> None:
        # The "no tray" note shows first; the notification itself a moment later.
        QTimer.singleShot(2_500, self, lambda: self._toast(note))

    def _toast(self, note: Notification) -> None:
        window = self.window
        if window is None or not shiboken6.isValid(window):
            return
        if self.toast is None or not shiboken6.isValid(self.toast):
            self.toast = Toast(window)
            self.toast.sig_clicked.connect(self.open)
        self.toast.show_note(note)

    # -- clicks ------------------------------------------------------------------------------------

    def open_last(self) -> None:
        if self.last is not None:
            self.open(self.last)

    def open(self, note: Notification) -> None:
        """Open what a notification is about, and bring the window up."""
        self.sig_notification_opened.emit(note)
        window = self.window
        if window is not None and shiboken6.isValid(window):
            bring = getattr(window, "bring_to_front", None)
            if callable(bring):
                bring()
        if note.run_id is not None:
            self._ctx.navigate("runs", {"run_id": note.run_id})
        elif note.kind == "summary":
            target = dict(FAILED_TARGET) if note.failures else {"tab": "history"}
            self._ctx.navigate("runs", target)


class Toast(QWidget):
    """A small in-window notification at the bottom right; click opens it, it fades by itself."""

    sig_clicked = Signal(object)  # Notification

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("Toast")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        self.title = QLabel("")
        self.title.setObjectName("ToastTitle")
        self.body = QLabel("")
        self.body.setWordWrap(True)
        layout.addWidget(self.title)
        layout.addWidget(self.body)
        self.note: Notification | None = None
        self._timer = QTimer(self, singleShot=True, interval=TOAST_MS)
        self._timer.timeout.connect(self.hide)
        self.setStyleSheet(
            "QWidget#Toast { background: palette(window); border: 1px solid palette(mid);"
            " border-radius: 8px; } QLabel#ToastTitle { font-weight: 600; }"
        )
        self.hide()

    def show_note(self, note: Notification) -> None:
        self.note = note
        self.title.setText(note.title)
        self.body.setText(note.body)
        self.setFixedWidth(340)
        self.adjustSize()
        parent = self.parentWidget()
        if parent is not None:
            self.move(parent.width() - self.width() - 18, parent.height() - self.height() - 40)
        self.raise_()
        self.show()
        self._timer.start()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self.note is not None and event.button() == Qt.MouseButton.LeftButton:
            self.sig_clicked.emit(self.note)
            self.hide()
        super().mouseReleaseEvent(event)


def _truthy(value: object) -> bool:
    return str(value).lower() in ("1", "true", "yes")


def _float(value: object, default: float) -> float:
    try:
        return max(0.0, float(str(value)))
    except (TypeError, ValueError):
        return default


def _existing_runs(store: Any, run_ids: list[str]) -> list[Any]:
    """These runs, in order, skipping any removed meanwhile."""
    runs = []
    for run_id in run_ids:
        try:
            runs.append(store.get_run(run_id))
        except Exception:
            continue
    return runs
