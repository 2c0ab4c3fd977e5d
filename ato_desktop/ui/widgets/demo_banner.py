"""A slim banner above the pages while the log holds demo data, with "Remove demo data".

Usage (the main window):

    banner = DemoBanner(ctx)
    layout.addWidget(banner)          # above the page stack; it hides itself when not needed
    banner.sig_demo_removed.connect(...)  # e.g. go to the welcome page if the log is now empty

It checks for demo rows when the workspace opens and after bulk writes, config and thread
changes (events from the bridge, debounced; no polling). Removing asks first, in the banner
itself (no dialog), shows progress there, and runs in a worker thread.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QWidget,
)

from ato_desktop.ui.context import AppContext
from ato_desktop.ui.theme import current_theme, mix
from ato_desktop.ui.widgets.coalesce import poke

if TYPE_CHECKING:  # built on first use: it loads asyncio, which the first paint does without
    from ato_desktop.ui.widgets.background import BackgroundWork


class DemoBanner(QFrame):
    """The demo workspace notice with its Remove button, shown while demo rows exist.

    API: refresh() re-checks (off the UI thread). request_removal() asks in the banner;
    confirm_removal() / cancel_removal() answer (the banner's buttons call them). remove() is
    the coroutine that removes without asking. demo_present says what the last check found.
    """

    _IDLE_TEXT = "You are looking at the demo workspace"
    _IDLE_DETAIL = "· every demo row is marked and removed together"

    sig_presence_changed = Signal(bool)  # demo data appeared (True) or went away (False)
    sig_demo_removed = Signal(object)  # DemoCounts: what the removal took out
    sig_removal_progress = Signal(int, int)  # done, total runs (emitted from the worker thread)

    _work: BackgroundWork | None = None

    @property
    def work(self) -> BackgroundWork:
        """This banner's background work, made when first needed (after the first paint)."""
        if self._work is None:
            from ato_desktop.ui.widgets import background

            self._work = background.BackgroundWork(self, self.ctx)
        return self._work

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("DemoBanner")
        self.demo_present = False
        self.removing = False
        self.confirming = False
        self._cancel = threading.Event()
        self._checking = False
        self._check_again = False

        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 6, 10, 6)
        layout.setSpacing(10)
        self.chip = QLabel("DEMO")
        self.chip.setObjectName("DemoChip")
        layout.addWidget(self.chip)
        self.text = QLabel(self._IDLE_TEXT)
        self.text.setObjectName("DemoBannerText")
        layout.addWidget(self.text)
        self.detail = QLabel(self._IDLE_DETAIL)
        self.detail.setObjectName("DemoBannerDetail")
        layout.addWidget(self.detail, 1)
        self.progress = QProgressBar()
        self.progress.setObjectName("DemoBannerProgress")
        self.progress.setTextVisible(False)
        self.progress.setFixedSize(160, 6)
        self.progress.hide()
        layout.addWidget(self.progress)
        self.cancel_button = QPushButton("Keep it")
        self.cancel_button.setObjectName("DemoBannerCancel")
        self.cancel_button.clicked.connect(self.cancel_removal)
        self.cancel_button.hide()
        layout.addWidget(self.cancel_button)
        self.remove_button = QPushButton("Remove demo data")
        self.remove_button.setObjectName("DemoBannerRemove")
        self.remove_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.remove_button.clicked.connect(self._on_remove_clicked)
        layout.addWidget(self.remove_button)

        self._debounce = QTimer(self, singleShot=True, interval=300)
        self._debounce.timeout.connect(self.refresh)
        self.sig_removal_progress.connect(self._show_progress)
        cancel = self._cancel  # not self: the wrapper may be gone when this runs
        self.destroyed.connect(lambda *_: cancel.set())
        self.hide()
        self._restyle()
        if ctx.theme is not None:
            ctx.theme.sig_theme_changed.connect(self._restyle)
        if ctx.workspace is not None:
            self._attach()
        else:
            ctx.sig_workspace_ready.connect(self._attach)

    # -- presence ----------------------------------------------------------------------------

    def _attach(self, _workspace: object = None) -> None:
        bridge = self.ctx.bridge
        if bridge is not None:
            for signal in (
                bridge.sig_runs_bulk_changed,
                bridge.sig_config_changed,
                bridge.sig_thread_changed,
            ):
                signal.connect(self._schedule_check)
        self.refresh()

    def _schedule_check(self, _event: object = None) -> None:
        if not self.removing:
            poke(self._debounce)

    def refresh(self) -> None:
        """Check for demo rows off the UI thread; show or hide accordingly."""
        if self.ctx.workspace is None:
            return
        if self._checking:
            self._check_again = True
            return
        self._checking = True
        self.ctx.spawn(self._check(), what="look for demo data")

    async def _check(self) -> None:
        from ato_desktop.store.demo_data import has_demo_data

        try:
            while True:
                self._check_again = False
                present = await self.ctx.read(has_demo_data, self.ctx.opened_workspace.store)
                if not self._check_again:
                    break
        finally:
            self._checking = False
        if not self.removing:
            self._set_present(present)

    def _set_present(self, present: bool) -> None:
        changed = present != self.demo_present
        self.demo_present = present
        self.setVisible(present)
        if changed:
            self.sig_presence_changed.emit(present)

    # -- removal -----------------------------------------------------------------------------

    def _on_remove_clicked(self) -> None:
        if self.confirming:
            self.confirm_removal()
        else:
            self.request_removal()

    def request_removal(self) -> None:
        """Ask, in the banner: "Remove every demo run, agent, chat...?" [Keep it] [Remove]."""
        if self.removing:
            return
        self.confirming = True
        self.text.setText("Remove every demo run, agent, chat, automation and eval?")
        self.detail.setText("· your own data stays")
        self.remove_button.setText("Remove demo data")
        self.remove_button.setProperty("confirming", True)
        self._repolish(self.remove_button)
        self.cancel_button.show()
        self.cancel_button.setFocus()

    def cancel_removal(self) -> None:
        self.confirming = False
        self._show_idle()

    def confirm_removal(self) -> None:
        """The user said yes: remove now (in a worker thread)."""
        if self.confirming and not self.removing:
            self.confirming = False
            self.ctx.spawn(self.remove(), what="remove the demo data")

    def _show_idle(self) -> None:
        self.text.setText(self._IDLE_TEXT)
        self.detail.setText(self._IDLE_DETAIL)
        self.cancel_button.hide()
        self.remove_button.setProperty("confirming", False)
        self._repolish(self.remove_button)

    @staticmethod
    def _repolish(widget: QWidget) -> None:
        widget.style().unpolish(widget)
        widget.style().polish(widget)

    async def remove(self) -> Any:
        """Remove the demo data now, with progress in the banner; returns the DemoCounts."""

        from ato_desktop.engine.demo import DemoBusyError, remove_demo_workspace

        if self.removing or self.ctx.workspace is None:
            return None
        store = self.ctx.workspace.store
        self.removing = True
        self._cancel.clear()
        self._show_idle()
        self.remove_button.hide()
        self.text.setText("Removing the demo workspace…")
        self.detail.setText("")
        self.progress.setRange(0, 0)
        self.progress.show()
        try:
            removed = await self.work.call(
                remove_demo_workspace,
                store,
                progress=self.sig_removal_progress.emit,
                cancel=self._cancel,
            )
        except DemoBusyError as exc:
            # Another process is loading it right now: say so where the user asked.
            self.ctx.status(str(exc))
            return None
        finally:
            self.removing = False
            self.progress.hide()
            self.remove_button.show()
            self._show_idle()
        self._set_present(False)
        self.ctx.status(
            f"Removed the demo workspace: {removed.runs:,} runs, {removed.agents} agents, "
            f"{removed.threads} chat threads, {removed.automations} automations, "
            f"{removed.eval_suites} eval suites."
        )
        self.sig_demo_removed.emit(removed)
        self.refresh()  # anything demo written meanwhile brings the banner back
        return removed

    def _show_progress(self, done: int, total: int) -> None:
        if self.removing and total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            self.detail.setText(f"· {done:,} of {total:,} runs")

    # -- looks -------------------------------------------------------------------------------

    def _restyle(self, _theme: object = None) -> None:
        t = current_theme()
        background = mix(t.window, t.warning, 0.16 if t.is_dark else 0.12)
        self.setStyleSheet(
            f"QFrame#DemoBanner {{ background: {background}; border: none;"
            f" border-bottom: 1px solid {mix(t.window, t.warning, 0.45)}; }}"
            f"QLabel#DemoChip {{ background: {t.warning}; color: {t.window}; font-weight: 700;"
            f" font-size: 10px; border-radius: 4px; padding: 1px 6px; }}"
            f"QLabel#DemoBannerText {{ color: {t.text}; font-weight: 600; }}"
            f"QLabel#DemoBannerDetail {{ color: {t.text_muted}; }}"
            f"QPushButton#DemoBannerRemove {{ background: transparent; border: 1px solid "
            f"{mix(t.window, t.warning, 0.6)}; color: {t.text}; padding: 3px 10px; }}"
            f"QPushButton#DemoBannerRemove:hover {{ border-color: {t.failed}; color: {t.failed}; }}"
            f'QPushButton#DemoBannerRemove[confirming="true"] {{ background: {t.failed};'
            f" border-color: {t.failed}; color: #FFFFFF; }}"
            f"QPushButton#DemoBannerCancel {{ background: transparent; border: none;"
            f" color: {t.text}; padding: 3px 8px; }}"
            f"QPushButton#DemoBannerCancel:hover {{ color: {t.accent}; }}"
            f"QProgressBar {{ background: {t.surface_alt}; border: none; border-radius: 3px; }}"
            f"QProgressBar::chunk {{ background: {t.warning}; border-radius: 3px; }}"
        )
