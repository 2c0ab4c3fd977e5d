"""Settings → Background and notifications: keep running in the tray when the window is closed,
when a run counts as stuck, and which completions notify."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QCheckBox, QGridLayout, QLabel, QSpinBox

from ato_desktop.core.live_status import STUCK_AFTER_S_DEFAULT, STUCK_AFTER_S_MIN, stuck_after_s
from ato_desktop.core.notify_rules import COMPLETION_AFTER_S_DEFAULT
from ato_desktop.ui.notifications import COMPLETION_SETTING
from ato_desktop.ui.runs.live_view import STUCK_SETTING
from ato_desktop.ui.settings.card import Card, muted_label
from ato_desktop.ui.tray import KEEP_RUNNING_SETTING, keep_running_in_tray


class BackgroundSection(Card):
    """The tray, stuck runs and notifications (ctx.settings tray/*, live/*, notifications/*)."""

    def __init__(self, ctx: Any) -> None:
        super().__init__(
            "background",
            "Background and notifications",
            "Failures always notify; completions when a run took long or you watch it. A burst "
            "of endings is shown as one summary.",
        )
        self.ctx = ctx
        settings = ctx.settings
        self.keep_running = QCheckBox("Keep running in the tray when the window is closed")
        self.keep_running.setObjectName("KeepRunningInTray")
        self.keep_running.setToolTip("Schedules keep firing; Quit from the tray menu or Ctrl+Q")
        self.keep_running.setChecked(keep_running_in_tray(settings))
        self.keep_running.toggled.connect(self.save)
        self.body.addWidget(self.keep_running)
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setColumnStretch(2, 1)
        grid.addWidget(QLabel("A run is stuck after"), 0, 0)
        self.stuck_after = QSpinBox()
        self.stuck_after.setObjectName("StuckAfter")
        self.stuck_after.setRange(STUCK_AFTER_S_MIN, 3600)
        self.stuck_after.setSuffix(" s with no event")
        self.stuck_after.setValue(
            stuck_after_s(settings.value(STUCK_SETTING, STUCK_AFTER_S_DEFAULT))
        )
        self.stuck_after.valueChanged.connect(self.save)
        grid.addWidget(self.stuck_after, 0, 1)
        grid.addWidget(QLabel("Notify completions of runs longer than"), 1, 0)
        self.completion_after = QSpinBox()
        self.completion_after.setObjectName("CompletionAfter")
        self.completion_after.setRange(0, 24 * 3600)
        self.completion_after.setSuffix(" s")
        try:
            completion = int(float(str(settings.value(COMPLETION_SETTING))))
        except (TypeError, ValueError):
            completion = COMPLETION_AFTER_S_DEFAULT
        self.completion_after.setValue(completion)
        self.completion_after.valueChanged.connect(self.save)
        grid.addWidget(self.completion_after, 1, 1)
        self.body.addLayout(grid)
        self.body.addWidget(
            muted_label("Where the desktop has no tray, notifications appear in the window.")
        )

    def save(self, *_args: object) -> None:
        settings = self.ctx.settings
        settings.setValue(KEEP_RUNNING_SETTING, self.keep_running.isChecked())
        settings.setValue(STUCK_SETTING, self.stuck_after.value())
        settings.setValue(COMPLETION_SETTING, self.completion_after.value())
        settings.sync()
        notifications = getattr(self.ctx, "notifications", None)
        if notifications is not None:
            notifications.set_completion_after_s(self.completion_after.value())
