"""A run's manual score in the run details header: thumbs up / down with an optional note (a
new rating replaces the old one), Clear, and the online judge's score when it judged the run.
Follows RunScored events, so a judge's verdict or a rating made elsewhere shows at once."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget

from ato_desktop.core.eval_scoring import RunScore
from ato_desktop.engine.evals import MAX_NOTE_CHARS, clear_rating, rate_run, run_ratings
from ato_desktop.ui.runs.formatting import local_time
from ato_desktop.ui.theme import current_theme
from ato_desktop.ui.widgets.background import BackgroundWork

log = logging.getLogger(__name__)

UP, DOWN = "✓ Good", "✗ Bad"  # plain glyphs: emoji fonts are not everywhere


class RatingWidget(QWidget):
    """Thumbs up (Good) / down (Bad), a note, Clear; and the judge's score (read-only)."""

    sig_scores_shown = Signal(object)  # list[RunScore]

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RunRating")
        self._ctx = ctx
        self.work = BackgroundWork(self, ctx)  # the newest rating read only
        self._run_id: str | None = None
        self.manual: RunScore | None = None
        self.judge: RunScore | None = None
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        self.judge_label = QLabel("")
        self.judge_label.setObjectName("RunJudgeScore")
        self.judge_label.hide()
        row.addWidget(self.judge_label)
        caption = QLabel("Rate")
        caption.setObjectName("StatCaption")
        row.addWidget(caption)
        self.up = QToolButton()
        self.up.setObjectName("RateUp")
        self.down = QToolButton()
        self.down.setObjectName("RateDown")
        for button, text, name in ((self.up, UP, "Thumbs up"), (self.down, DOWN, "Thumbs down")):
            button.setText(text)
            button.setCheckable(True)
            button.setAccessibleName(name)
            button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            button.setAutoRaise(True)
            row.addWidget(button)
        self.up.setToolTip("A good answer (score 1); replaces any earlier rating")
        self.down.setToolTip("A bad answer (score 0); replaces any earlier rating")
        self.up.clicked.connect(lambda: self.rate(True))
        self.down.clicked.connect(lambda: self.rate(False))
        self.note = QLineEdit()
        self.note.setObjectName("RateNote")
        self.note.setPlaceholderText("Note (optional)")
        self.note.setAccessibleName("Rating note")
        self.note.setToolTip("Why: saved with the thumbs (Enter saves a changed note)")
        self.note.setMaxLength(MAX_NOTE_CHARS)
        self.note.setFixedWidth(170)
        self.note.setClearButtonEnabled(True)
        self.note.returnPressed.connect(self._save_note)
        row.addWidget(self.note)
        self.clear_button = QToolButton()
        self.clear_button.setObjectName("RateClear")
        self.clear_button.setText("Clear")
        self.clear_button.setAutoRaise(True)
        self.clear_button.setToolTip("Remove your rating of this run")
        self.clear_button.clicked.connect(self.clear)
        self.clear_button.hide()
        row.addWidget(self.clear_button)
        bridge = getattr(ctx, "bridge", None)
        if bridge is not None:
            bridge.sig_run_scored.connect(self._on_scored)
        self.setEnabled(False)

    # -- the run -------------------------------------------------------------------------------

    @property
    def run_id(self) -> str | None:
        return self._run_id

    def show_run(self, run_id: str) -> None:
        if run_id != self._run_id:
            self.note.clear()
            self._show(None, None)
        self._run_id = run_id
        self.setEnabled(True)
        self._reload()

    def _reload(self) -> None:
        if self._run_id is None or self._ctx.workspace is None:
            return
        self._ctx.spawn(self._read(self._run_id), what="read the run's rating")

    async def _read(self, run_id: str) -> None:
        scores = await self.work.read(run_ratings, self._ctx.workspace.store, run_id)
        manual = next((s for s in scores if s.source == "manual"), None)
        judge = next((s for s in scores if s.source == "judge"), None)
        self._show(manual, judge)
        self.sig_scores_shown.emit(scores)

    def _show(self, manual: RunScore | None, judge: RunScore | None) -> None:
        self.manual, self.judge = manual, judge
        self.up.setChecked(manual is not None and manual.thumbs_up)
        self.down.setChecked(manual is not None and not manual.thumbs_up)
        self.clear_button.setVisible(manual is not None)
        if manual is not None:
            if not self.note.hasFocus():
                self.note.setText(manual.note)
            verdict = "Thumbs up" if manual.thumbs_up else "Thumbs down"
            note = f": {manual.note}" if manual.note else ""
            self.setToolTip(f"Your rating: {verdict} ({local_time(manual.created_at)}){note}")
        else:
            self.setToolTip("Rate this run: thumbs up or down, with a note")
        if judge is not None:
            t = current_theme()
            colour = t.completed if judge.passed else t.failed
            mark = "✓" if judge.passed else "✗"
            self.judge_label.setText(
                f"<span style='color:{colour}'>Judge {judge.score:.2f} {mark}</span>"
            )
            self.judge_label.setToolTip(
                f"The online judge's score{': ' + judge.note if judge.note else ''}"
            )
            self.judge_label.setAccessibleName(
                f"Online judge score {judge.score:.2f}, {'passed' if judge.passed else 'failed'}"
            )
        self.judge_label.setVisible(judge is not None)

    def _on_scored(self, event: Any) -> None:
        if event.run_id == self._run_id:
            self._reload()

    # -- rating --------------------------------------------------------------------------------

    def rate(self, thumbs_up: bool) -> None:
        """Record thumbs up or down with the note as typed (replacing an earlier rating)."""
        if self._run_id is None:
            return
        self.up.setChecked(thumbs_up)
        self.down.setChecked(not thumbs_up)
        self._ctx.spawn(
            rate_run(
                self._ctx.workspace.store, self._run_id, thumbs_up=thumbs_up, note=self.note.text()
            ),
            what="rate the run",
        )

    def _save_note(self) -> None:
        if self.manual is not None:
            self.rate(self.manual.thumbs_up)
        elif self.note.text().strip():
            self._ctx.status("Choose Good or Bad to save the rating with its note")

    def clear(self) -> None:
        if self._run_id is None:
            return
        self.note.clear()
        self._ctx.spawn(
            clear_rating(self._ctx.workspace.store, self._run_id), what="clear the run's rating"
        )
