"""The system tray: an icon with the live-run count (tooltip and a badge on the icon) and a menu
of the running dispatches (each opens its run), then the registry's commands Open window, Kill
all stuck, Pause/Resume schedules and Quit (ui/app_commands.py). With the window closed the app
keeps running here, so schedules fire.

The menu is built whether or not the desktop has a tray (offscreen tests trigger its actions);
the icon itself only where a tray exists. Live runs are read from the log (any process) when a
run starts or ends, coalesced; no polling.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QFont, QIcon, QPainter
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon, QWidget

from ato_desktop import APP_NAME
from ato_desktop.core.live_status import STUCK_AFTER_S_DEFAULT, stuck_after_s
from ato_desktop.ui.app_commands import TRAY, TRAY_COMMANDS, TRAY_MENU, WINDOW, WINDOW_COMMANDS
from ato_desktop.ui.commands import CommandRegistry
from ato_desktop.ui.runs.formatting import elapsed, now_ms, plural, short_id
from ato_desktop.ui.widgets.background import BackgroundWork
from ato_desktop.ui.widgets.coalesce import poke

log = logging.getLogger(__name__)

KEEP_RUNNING_SETTING = "tray/keep_running"  # hide to the tray on close (default on)
HIDDEN_SAID_SETTING = "tray/hidden_said"  # "still running in the tray" was said once
STUCK_SETTING = "live/stuck_after_s"
MENU_RUNS_MAX = 10
REFRESH_MS = 200


def keep_running_in_tray(settings: Any) -> bool:
    value = settings.value(KEEP_RUNNING_SETTING, True)
    return str(value).lower() not in ("0", "false", "no")


def badge_icon(base: QIcon, count: int) -> QIcon:
    """The app icon with the live-run count in a small disc (the icon itself at 0)."""
    if count <= 0 or base.isNull():
        return base
    size = 64
    pixmap = base.pixmap(size, size)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    disc = QRect(size - 34, 0, 34, 34)
    painter.setBrush(QColor("#d9480f"))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(disc)
    font = QFont()
    font.setBold(True)
    font.setPixelSize(20 if count < 10 else 15)
    painter.setFont(font)
    painter.setPen(QColor("white"))
    painter.drawText(disc, int(Qt.AlignmentFlag.AlignCenter), str(count) if count < 100 else "99+")
    painter.end()
    return QIcon(pixmap)


class Tray(QObject):
    """The tray icon (where available) and its menu."""

    sig_menu_rebuilt = Signal()

    def __init__(
        self,
        ctx: Any,
        window: QWidget,
        *,
        available: bool | None = None,
        icon: QIcon | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.work = BackgroundWork(self, ctx)
        self._window = window
        self.available = QSystemTrayIcon.isSystemTrayAvailable() if available is None else available
        self._base_icon = icon if icon is not None else QIcon()
        self.live_runs: list[Any] = []  # RunRecord, newest first
        self.menu = QMenu()
        self.menu.setObjectName("TrayMenu")
        self.menu.aboutToShow.connect(self.rebuild_menu)
        # The menu's commands are the registry's (ui/app_commands.py): the same actions as the
        # window's menus and the palette's, run on this tray and its window.
        self._commands: CommandRegistry = ctx.commands
        self._commands.declare((*WINDOW_COMMANDS, *TRAY_COMMANDS))
        self._commands.provide(TRAY, self)
        self._commands.provide(WINDOW, window)
        self.open_action = self._commands.action("app.open_window")
        self.kill_stuck_action = self._commands.action("runs.kill_stuck")
        self.pause_action = self._commands.action("schedules.toggle")
        self.quit_action = self._commands.action("app.quit")
        self.run_actions: list[QAction] = []
        self.icon: QSystemTrayIcon | None = None
        if self.available:
            self.icon = QSystemTrayIcon(self._base_icon, self)
            self.icon.setContextMenu(self.menu)
            self.icon.activated.connect(self._on_activated)
            self.icon.show()
            # The window may be hidden while the app works on: only Quit ends it.
            app = QApplication.instance()
            if isinstance(app, QApplication):
                app.setQuitOnLastWindowClosed(False)
        self._refresh = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._refresh.timeout.connect(self.refresh)
        bridge = getattr(ctx, "bridge", None)
        if bridge is not None:
            bridge.sig_run_created.connect(lambda _e: poke(self._refresh))
            bridge.sig_run_ended.connect(lambda _e: poke(self._refresh))
            bridge.sig_runs_bulk_changed.connect(lambda _e: poke(self._refresh))
        self.rebuild_menu()

    # -- live runs -------------------------------------------------------------------------------

    def refresh(self) -> Any:
        """Read the runs in flight (any process) again, then update the tooltip and menu."""
        if self._ctx.workspace is None or self._ctx.closing:
            return None
        return self._ctx.spawn(self._load(), what="list runs for the tray")

    async def _load(self) -> None:
        store = self._ctx.workspace.store
        runs = await self.work.fetch(store.live_runs)
        self.live_runs = list(runs)
        self._show_count()
        self.rebuild_menu()

    @property
    def count(self) -> int:
        return len(self.live_runs)

    def tooltip(self) -> str:
        count = self.count
        live = f"{plural(count, 'run')} in flight" if count else "No runs in flight"
        paused = " · schedules paused" if self._scheduler_paused() else ""
        return f"{APP_NAME} — {live}{paused}"

    def _show_count(self) -> None:
        if self.icon is not None:
            self.icon.setToolTip(self.tooltip())
            self.icon.setIcon(badge_icon(self._base_icon, self.count))

    # -- the menu --------------------------------------------------------------------------------

    def rebuild_menu(self) -> None:
        menu = self.menu
        menu.clear()
        self.run_actions = []
        header = menu.addAction(self.tooltip().split(" — ", 1)[-1])
        header.setEnabled(False)
        now = now_ms()
        for run in self.live_runs[:MENU_RUNS_MAX]:
            who = f"@{run.agent_name}" if run.agent_name else short_id(run.id)
            action = menu.addAction(f"{who} · {run.model} · {elapsed(run.started_at, now)}")
            action.setData(run.id)
            action.triggered.connect(lambda _c=False, rid=run.id: self.open_run(rid))
            self.run_actions.append(action)
        if self.count > MENU_RUNS_MAX:
            more = menu.addAction(f"{self.count - MENU_RUNS_MAX} more… (Runs → Live)")
            more.triggered.connect(lambda: self._open("runs", {"tab": "live"}))
        self.kill_stuck_action.setEnabled(self._ctx.workspace is not None)
        self.pause_action.setEnabled(self._scheduler() is not None)
        self._commands.retitle(
            "schedules.toggle",
            "Resume schedules" if self._scheduler_paused() else "Pause schedules",
        )
        menu.addSeparator()
        for command_id in TRAY_MENU:
            if command_id is None:
                menu.addSeparator()
            else:
                menu.addAction(self._commands.action(command_id))
        self.sig_menu_rebuilt.emit()

    # -- actions ---------------------------------------------------------------------------------

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.open_window()

    def open_window(self) -> None:
        bring = getattr(self._window, "bring_to_front", None)
        if callable(bring):
            bring()
        else:
            self._window.show()

    def _open(self, page: str, target: dict[str, Any]) -> None:
        self.open_window()
        self._ctx.navigate(page, target)

    def open_run(self, run_id: str) -> None:
        self._open("runs", {"run_id": run_id})

    def kill_all_stuck(self) -> Any:
        """Kill every run (any process) with no event for the stuck threshold."""
        if self._ctx.workspace is None:
            return None
        return self._ctx.spawn(self._kill_stuck(), what="kill stuck runs")

    async def _kill_stuck(self) -> None:
        live = self._ctx.workspace.live
        threshold = stuck_after_s(self._ctx.settings.value(STUCK_SETTING, STUCK_AFTER_S_DEFAULT))
        ids = await live.stuck_anywhere(threshold)
        if not ids:
            self._ctx.status(f"No run is stuck (no event for {threshold} s).")
            return
        outcome = await self._ctx.engine_run(live.kill_anywhere(ids))
        self._ctx.status(f"Killing {plural(outcome.count, 'stuck run')}…")
        if self.work.alive():
            self._refresh.start()

    def _scheduler(self) -> Any:
        workspace = self._ctx.workspace
        automations = getattr(workspace, "automations", None) if workspace is not None else None
        return getattr(automations, "scheduler", None)

    def _scheduler_paused(self) -> bool:
        scheduler = self._scheduler()
        return bool(scheduler is not None and scheduler.paused)

    def toggle_schedules(self) -> None:
        scheduler = self._scheduler()
        if scheduler is None:
            return
        if scheduler.paused:
            scheduler.resume()
            self._ctx.status("Schedules resumed: due fires follow each schedule's missed policy.")
        else:
            scheduler.pause()
            self._ctx.status("Schedules paused: nothing fires until you resume them.")
        self._show_count()
        self.rebuild_menu()

    def close(self) -> None:
        if self.icon is not None:
            self.icon.hide()
