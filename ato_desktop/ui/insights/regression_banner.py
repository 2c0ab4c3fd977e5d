"""The Agents page's banner for an agent living with a regression: its current version's config
change made it worse (engine.regressions, judged off the UI thread), with a link to Insights.

    banner = RegressionBanner(ctx)
    banner.show_agent(agent.id)   # hidden unless the agent has an active regression
"""

from __future__ import annotations

import html
import logging
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from ato_desktop.engine.regressions import ChangeReport, active_regression
from ato_desktop.ui.chat.log_tasks import log_closed
from ato_desktop.ui.insights.regressions_format import metric_text
from ato_desktop.ui.insights.thresholds_form import notifier
from ato_desktop.ui.runs.formatting import local_time
from ato_desktop.ui.theme import current_theme, mix
from ato_desktop.ui.widgets.background import BackgroundWork

log = logging.getLogger(__name__)

REFRESH_MS = 1500


def banner_text(change: ChangeReport) -> str:
    """'Regression since v3 (Nov 13 11:49): success rate 96% → 81% (−15.5 pp), …' as rich text."""
    metrics = ", ".join(f"{c.label.lower()} {metric_text(c)}" for c in change.regressed)
    return (
        f"<b>Regression since v{change.version}</b> "
        f"({html.escape(local_time(change.changed_at))}, {html.escape(change.summary)}): "
        f"{html.escape(metrics)}."
    )


class RegressionBanner(QFrame):
    """Shown while the agent's current version is a regression; 'See regression' opens it."""

    sig_change_shown = Signal(object)  # ChangeReport | None, after each check

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RegressionBanner")
        self._ctx = ctx
        self._agent_id: str | None = None
        self.work = BackgroundWork(self, ctx)  # the newest check only
        self.change: ChangeReport | None = None
        row = QHBoxLayout(self)
        row.setContentsMargins(24, 8, 16, 8)
        row.setSpacing(10)
        self.icon = QLabel("✗")
        self.icon.setObjectName("RegressionBannerIcon")
        row.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        self.text = QLabel("")
        self.text.setObjectName("RegressionBannerText")
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setWordWrap(True)
        row.addWidget(self.text, 1)
        self.link = QPushButton("See regression")
        self.link.setObjectName("RegressionBannerLink")
        self.link.setToolTip("Insights → Regressions: the metrics, their tests and failing runs")
        self.link.clicked.connect(self.open_regression)
        row.addWidget(self.link, 0, Qt.AlignmentFlag.AlignVCenter)
        self._timer = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._timer.timeout.connect(self._recheck)
        bridge = getattr(ctx, "bridge", None)
        if bridge is not None:
            bridge.sig_run_ended.connect(self._on_run_ended)
            bridge.sig_runs_bulk_changed.connect(self._schedule)
            bridge.sig_config_changed.connect(self._schedule)
        notifier().sig_thresholds_saved.connect(self._schedule)
        self.apply_theme()
        if ctx.theme is not None:
            ctx.theme.sig_theme_changed.connect(lambda _t: self.apply_theme())
        self.hide()

    def show_agent(self, agent_id: str) -> None:
        """Judge the agent's config changes (off the UI thread); shown if one is active."""
        if agent_id != self._agent_id:
            self.change = None
            self.hide()
        self._agent_id = agent_id
        self._check()

    def clear(self) -> None:
        self.work.drop_pending()  # a check under way must not show its result
        self._agent_id = None
        self.change = None
        self.hide()

    def open_regression(self) -> None:
        change = self.change
        if change is not None:
            self._ctx.navigate(
                "insights",
                {"tab": "regressions", "agent_id": change.agent_id, "version": change.version},
            )

    def _check(self) -> None:
        agent_id = self._agent_id
        if agent_id is None or self._ctx.workspace is None or log_closed(self._ctx):
            return
        self._ctx.spawn(self._load(agent_id), what="check the agent for regressions")

    async def _load(self, agent_id: str) -> None:
        try:
            change = await self.work.read(
                active_regression,
                self._ctx.workspace.store,
                self._ctx.paths,
                agent_id,
            )
        except Exception as exc:  # a deleted agent, a closing log: no banner, no dialog
            log.debug("regression check of %s failed: %s", agent_id, exc)
            change = None
        if agent_id != self._agent_id:
            return
        self.change = change
        if change is not None:
            self.text.setText(banner_text(change))
            self.setToolTip(
                "\n".join(f"{c.label}: {c.reason} ({c.test})" for c in change.regressed)
            )
        self.setVisible(change is not None)
        self.sig_change_shown.emit(change)

    def _on_run_ended(self, event: Any) -> None:
        if self._agent_id is not None and getattr(event, "agent_id", None) == self._agent_id:
            self._schedule()

    def _schedule(self, *_args: object) -> None:
        if self._agent_id is not None and not self._timer.isActive():
            self._timer.start()

    def _recheck(self) -> None:
        parent = self.parentWidget()
        if parent is None or parent.isVisible():
            self._check()

    def apply_theme(self) -> None:
        t = current_theme()
        self.setStyleSheet(
            f"""
            QFrame#RegressionBanner {{ background: {mix(t.surface, t.failed, 0.10)};
                border-bottom: 1px solid {mix(t.border, t.failed, 0.45)}; }}
            QLabel#RegressionBannerIcon {{ color: {t.failed}; font-weight: 700; }}
            QLabel#RegressionBannerText {{ color: {t.text}; }}
            """
        )
