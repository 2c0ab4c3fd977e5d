"""The long-job dialogs' shared part (widgets.job_dialog): SETUP -> RUNNING -> DONE with the
right buttons, Enter and Esc, Cancel that stops the job instead of closing, and "again…"."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from ato_desktop.ui.widgets.job_dialog import (
    DONE,
    RUNNING,
    SETUP,
    JobDialog,
    batch_done_text,
)
from ato_desktop.ui.widgets.progress_panel import ProgressPanel


class CountingDialog(JobDialog):
    """A job that counts to three, stepped by the test."""

    def __init__(self) -> None:
        super().__init__()
        self.shown: list[str] = []
        self._build_job(
            name="Probe",
            title="Count",
            subtitle="Counts to three",
            setup=QLabel("how far?"),
            run=ProgressPanel("%v / %m counted"),
            start_text="&Count",
            cancel_tip="Stop counting",
            cancelling="Stopping…",
            again_text="Count &again…",
        )
        self.start_button.clicked.connect(self.start)
        self._show(SETUP)

    def _state_shown(self, state: str) -> None:
        self.shown.append(state)
        self.start_button.setDefault(state == SETUP)

    def start(self) -> None:
        self.cancel = self._begin_job(3, "Counting…")


def visible(dialog: JobDialog) -> set[str]:
    buttons = (dialog.start_button, dialog.cancel_button, dialog.close_button, dialog.again_button)
    return {b.objectName() for b in buttons if b is not None and b.isVisibleTo(dialog)}


def test_states_buttons_keys_and_cancel(qapp: Any, qtbot: Any) -> None:
    dialog = CountingDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.state == SETUP and not dialog.busy and dialog.shown == [SETUP]
    assert visible(dialog) == {"ProbeStart", "ProbeClose"}
    assert dialog.close_button.text() == "Cancel" and dialog.title.text() == "Count"

    # Enter presses the start button (the default), whatever button has focus.
    dialog.close_button.setFocus()
    with qtbot.waitSignal(dialog.sig_state_changed) as changed:
        qtbot.keyClick(dialog, Qt.Key.Key_Return)
    assert changed.args == [RUNNING] and dialog.busy
    assert visible(dialog) == {"ProbeCancel"}
    assert (dialog.progress.value(), dialog.progress.maximum()) == (0, 3)
    assert dialog.progress_label.text() == "Counting…" and dialog.cancel_button.isEnabled()

    # Esc while running cancels the job; the dialog stays open until the job reports.
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert dialog.cancel.is_set() and dialog.isVisible() and dialog.state == RUNNING
    assert not dialog.cancel_button.isEnabled() and dialog.progress_label.text() == "Stopping…"

    dialog._end_job(batch_done_text(1, 3, cancelled=True))
    assert dialog.state == DONE and visible(dialog) == {"ProbeClose", "ProbeAgain"}
    assert dialog.close_button.text() == "Close" and dialog.close_button.isDefault()
    assert dialog.progress_label.text() == "Cancelled after 1 of 3: the rest were not replayed."

    # Again: back to the setup page; a new run gets a fresh Cancel.
    assert dialog.again_button is not None
    dialog.again_button.click()
    assert dialog.state == SETUP and visible(dialog) == {"ProbeStart", "ProbeClose"}
    dialog.start_button.click()
    assert dialog.cancel_button.isEnabled() and not dialog.cancel.is_set()
    dialog._end_job(batch_done_text(3, 3, cancelled=False))
    assert dialog.progress_label.text() == "Done: 3 of 3 replayed."
    assert dialog.shown == [SETUP, RUNNING, DONE, SETUP, RUNNING, DONE]

    # Done: Esc closes.
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
