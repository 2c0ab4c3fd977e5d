"""A dialog that sets a long job up, runs it with a progress bar and Cancel, and says how it went
(batch replay, gather evidence, run an eval suite): its three states, its pages and its buttons."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.ui.widgets.progress_panel import ProgressPanel

SETUP, RUNNING, DONE = "setup", "running", "done"


class JobDialog(QDialog):
    """SETUP shows the setup page with Cancel (closes) and Start; RUNNING the progress page with
    Cancel (stops the job: Esc and closing do the same); DONE the progress page with Close (and
    "again…", back to SETUP, when the dialog offers it).

    A subclass builds its pages, then calls _build_job; _state_shown(state) is its hook on
    every change of state (before sig_state_changed)."""

    sig_state_changed = Signal(str)

    _state = SETUP
    _cancel: asyncio.Event | None = None
    again_button: QPushButton | None = None

    def _build_job(
        self,
        *,
        name: str,
        title: str,
        subtitle: str,
        setup: QWidget,
        run: ProgressPanel,
        start_text: str,
        start_name: str = "Start",
        cancel_text: str = "Cancel",
        cancel_tip: str,
        cancelling: str,
        again_text: str | None = None,
    ) -> QHBoxLayout:
        """The title, subtitle, pages and button row (returned, for a dialog's own buttons)."""
        self._cancelling = cancelling
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 16, 18, 14)
        layout.setSpacing(10)
        self.title = QLabel(title)
        self.title.setObjectName("ReplayTitle")
        layout.addWidget(self.title)
        self.subtitle = QLabel(subtitle)
        self.subtitle.setObjectName("ReplaySubtitle")
        self.subtitle.setWordWrap(True)
        layout.addWidget(self.subtitle)

        self._setup_page, self._run_page = setup, run
        self.progress, self.progress_label = run.bar, run.label
        self._stack = QStackedWidget()
        self._stack.addWidget(setup)
        self._stack.addWidget(run)
        layout.addWidget(self._stack, 1)

        buttons = QHBoxLayout()
        if again_text is not None:
            self.again_button = QPushButton(again_text)
            self.again_button.setObjectName(f"{name}Again")
            self.again_button.clicked.connect(lambda: self._show(SETUP))
            buttons.addWidget(self.again_button)
        buttons.addStretch(1)
        self.close_button = QPushButton("Cancel")
        self.close_button.setObjectName(f"{name}Close")
        self.close_button.clicked.connect(self.reject)
        self.cancel_button = QPushButton(cancel_text)
        self.cancel_button.setObjectName(f"{name}Cancel")
        self.cancel_button.setProperty("danger", True)
        self.cancel_button.setToolTip(cancel_tip)
        self.cancel_button.clicked.connect(self.cancel_job)
        self.start_button = QPushButton(start_text)
        self.start_button.setObjectName(f"{name}{start_name}")
        self.start_button.setProperty("primary", True)
        for button in (self.close_button, self.cancel_button, self.start_button):
            button.setAutoDefault(False)  # Enter starts (the default button), not what has focus
            buttons.addWidget(button)
        layout.addLayout(buttons)
        return buttons

    @property
    def state(self) -> str:
        return self._state

    @property
    def busy(self) -> bool:
        return self._state == RUNNING

    def _show(self, state: str) -> None:
        self._state = state
        self._stack.setCurrentWidget(self._setup_page if state == SETUP else self._run_page)
        self.start_button.setVisible(state == SETUP)
        self.cancel_button.setVisible(state == RUNNING)
        self.close_button.setVisible(state != RUNNING)
        self.close_button.setText("Cancel" if state == SETUP else "Close")
        if self.again_button is not None:
            self.again_button.setVisible(state == DONE)
        self._state_shown(state)
        self.sig_state_changed.emit(state)

    def _state_shown(self, state: str) -> None:
        """A subclass's hook: the dialog has just changed to state."""

    def _begin_job(self, total: int, text: str) -> asyncio.Event:
        """Show the progress page at 0 of total, saying text; the event is set on Cancel."""
        self.progress.setRange(0, total)
        self.progress.setValue(0)
        self.progress_label.setText(text)
        self._cancel = asyncio.Event()
        self._show(RUNNING)
        self.cancel_button.setEnabled(True)
        self.cancel_button.setFocus()
        return self._cancel

    def _end_job(self, text: str) -> None:
        """The job is over: text says how it went; Close is what Enter presses now."""
        self.progress_label.setText(text)
        self._show(DONE)
        self.close_button.setDefault(True)

    def cancel_job(self) -> None:
        """Ask the running job to stop (it reports what it finished)."""
        if self._state != RUNNING or self._cancel is None:
            return
        # The job runs on the engine's loop and waits on the event there: set it there.
        engine = getattr(getattr(self, "ctx", None), "engine", None)
        if engine is not None:
            engine.call(self._cancel.set)
        else:
            self._cancel.set()
        self.cancel_button.setEnabled(False)
        self.progress_label.setText(self._cancelling)

    def reject(self) -> None:
        if self._state == RUNNING:
            self.cancel_job()  # Esc or Close while running cancels; the dialog stays
            return
        super().reject()


def batch_done_text(replayed: int, total: int, cancelled: bool) -> str:
    """How a batch of replays ended, for the progress line."""
    if cancelled:
        return f"Cancelled after {replayed} of {total}: the rest were not replayed."
    return f"Done: {replayed} of {total} replayed."
