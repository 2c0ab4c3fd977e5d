"""Spend spikes as notifications: when a run of an agent ends, its last hours are checked for a
budget-burn anomaly (store.run_queries.burn_anomalies, off the UI thread, coalesced per agent);
a new one is announced once, as a desktop notification when the system has a tray, and always in
the status bar. The same anomaly is a critical intercept on the Runs page.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from ato_desktop.core.budgets import SpikeAnnouncements
from ato_desktop.store import run_queries

COALESCE_MS = 2_000


class SpendWatch(QObject):
    """Announces an agent's spend spike once per hour it happens in (core.budgets decides which
    are new; this only shows them)."""

    sig_spike = Signal(str, str)  # agent name, what happened

    def __init__(self, ctx: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._agents: set[str] = set()
        self._spikes = SpikeAnnouncements()
        self._timer = QTimer(self, singleShot=True, interval=COALESCE_MS)
        self._timer.timeout.connect(self.check_now)
        self._tray: QSystemTrayIcon | None = None

    def on_run_ended(self, event: Any) -> None:
        agent_id = getattr(event, "agent_id", None)
        if agent_id:
            self._agents.add(str(agent_id))
            self._timer.start()

    def check_now(self) -> Any:
        agents, self._agents = self._agents, set()
        if not agents or self._ctx.workspace is None or self._ctx.closing:
            return None
        return self._ctx.spawn(self._check(sorted(agents)), what="check spend")

    async def _check(self, agents: list[str]) -> None:
        store = self._ctx.workspace.store
        for agent_id in agents:
            found = await self._ctx.read(run_queries.burn_anomalies, store, agent_id=agent_id)
            seen = [(run.agent_name, run.started_at, anomaly) for run, anomaly in found]
            for spike in self._spikes.new(agent_id, seen):
                self._announce(spike.agent_name, spike.text)

    def _announce(self, name: str, text: str) -> None:
        self.sig_spike.emit(name, text)
        self._ctx.status(f"Spend spike: {text}")
        notifications = getattr(self._ctx, "notifications", None)
        if notifications is not None:  # the app's one notification service (tray or window)
            notifications.announce("Spend spike", text, warning=True)
            return
        if QSystemTrayIcon.isSystemTrayAvailable():
            if self._tray is None:
                app = QApplication.instance()
                self._tray = QSystemTrayIcon(self)
                if isinstance(app, QApplication):
                    self._tray.setIcon(app.windowIcon())
                self._tray.show()
            self._tray.showMessage("Spend spike", text, QSystemTrayIcon.MessageIcon.Warning, 10_000)
