"""The regression thresholds as a small form (Insights -> Regressions -> Thresholds…), and the
app-wide notice that they were saved (the Agents page's banner listens to it)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QApplication,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.regressions import ThresholdError, Thresholds


class ThresholdsNotifier(QObject):
    """Emits once thresholds were saved, so every view that judges regressions judges again."""

    sig_thresholds_saved = Signal(object)  # Thresholds


_notifier: ThresholdsNotifier | None = None


def notifier() -> ThresholdsNotifier:
    global _notifier
    if _notifier is None:
        _notifier = ThresholdsNotifier(QApplication.instance())
    return _notifier


def _spin(
    name: str, suffix: str, maximum: float, decimals: int = 1, step: float = 1.0
) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setObjectName(name)
    spin.setDecimals(decimals)
    spin.setRange(10 ** (-decimals), maximum)
    spin.setSingleStep(step)
    spin.setSuffix(suffix)
    spin.setMinimumWidth(110)
    spin.setAlignment(Qt.AlignmentFlag.AlignRight)
    return spin


class ThresholdsForm(QFrame):
    """Edit the thresholds; Save asks the owner to write them (sig_save_requested)."""

    sig_save_requested = Signal(object)  # Thresholds
    sig_cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ThresholdsForm")
        column = QVBoxLayout(self)
        column.setContentsMargins(14, 10, 14, 10)
        column.setSpacing(8)
        intro = QLabel(
            "A config change is a regression when a metric gets worse by at least its threshold, "
            "the change is significant (p below the level), and both sides have enough runs. "
            "Saved in settings.json, shared with the CLI."
        )
        intro.setWordWrap(True)
        intro.setProperty("muted", True)
        column.addWidget(intro)
        grid = QHBoxLayout()
        grid.setSpacing(24)
        left, right = QFormLayout(), QFormLayout()
        for form in (left, right):
            form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
            form.setHorizontalSpacing(10)
            form.setVerticalSpacing(6)
        self.success = _spin("ThresholdSuccess", " pp", 100)
        self.latency = _spin("ThresholdLatency", " %", 1000, step=5)
        self.cost = _spin("ThresholdCost", " %", 1000, step=5)
        self.eval = _spin("ThresholdEval", " pp", 100)
        self.min_runs = QSpinBox()
        self.min_runs.setObjectName("ThresholdMinRuns")
        self.min_runs.setRange(2, 100_000)
        self.min_runs.setSuffix(" runs")
        self.min_runs.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.alpha = _spin("ThresholdAlpha", "", 0.499, decimals=3, step=0.01)
        left.addRow("Success rate &drops by", self.success)
        left.addRow("p95 &latency rises by", self.latency)
        left.addRow("C&ost per call rises by", self.cost)
        right.addRow("&Eval score drops by", self.eval)
        right.addRow("&Minimum a side", self.min_runs)
        right.addRow("Significance (&p below)", self.alpha)
        self.min_runs.setToolTip("Finished runs needed on each side of a change for a verdict")
        self.alpha.setToolTip(
            "The significance level of every test (Fisher's exact test for the success rate, "
            "Mann-Whitney U for latency, cost and eval score; one-sided)"
        )
        grid.addLayout(left)
        grid.addLayout(right)
        grid.addStretch(1)
        column.addLayout(grid)
        self.error = QLabel("")
        self.error.setObjectName("ThresholdsError")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.hide()
        column.addWidget(self.error)
        buttons = QHBoxLayout()
        self.defaults_button = QPushButton("Restore defaults")
        self.defaults_button.setObjectName("ThresholdsDefaults")
        self.defaults_button.clicked.connect(lambda: self.set_thresholds(Thresholds()))
        buttons.addWidget(self.defaults_button)
        buttons.addStretch(1)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("ThresholdsCancel")
        self.cancel_button.clicked.connect(self.sig_cancelled)
        self.save_button = QPushButton("Save and check again")
        self.save_button.setObjectName("ThresholdsSave")
        self.save_button.setProperty("primary", True)
        self.save_button.setToolTip("Write settings.json and judge every change again (Enter)")
        self.save_button.clicked.connect(self.save)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.save_button)
        column.addLayout(buttons)
        for spin in (self.success, self.latency, self.cost, self.eval, self.min_runs, self.alpha):
            line = spin.lineEdit()
            if line is not None:
                line.returnPressed.connect(self.save)

    def set_thresholds(self, t: Thresholds) -> None:
        self.success.setValue(t.success_drop_pp)
        self.latency.setValue(t.p95_latency_rise_pct)
        self.cost.setValue(t.cost_rise_pct)
        self.eval.setValue(t.eval_drop_pp)
        self.min_runs.setValue(t.min_runs)
        self.alpha.setValue(t.alpha)

    def thresholds(self) -> Thresholds:
        """What the form holds; raises ThresholdError for a value out of range."""
        return Thresholds(
            success_drop_pp=self.success.value(),
            p95_latency_rise_pct=self.latency.value(),
            cost_rise_pct=self.cost.value(),
            eval_drop_pp=self.eval.value(),
            min_runs=self.min_runs.value(),
            alpha=self.alpha.value(),
        )

    def save(self) -> None:
        try:
            thresholds = self.thresholds()
        except ThresholdError as exc:
            self.show_error(str(exc))
            return
        self.show_error("")
        self.sig_save_requested.emit(thresholds)

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))

    def set_saving(self, saving: bool) -> None:
        self.save_button.setEnabled(not saving)
        self.save_button.setText("Saving…" if saving else "Save and check again")

    def keyPressEvent(self, event: Any) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.sig_cancelled.emit()
            return
        super().keyPressEvent(event)

    def focus_first(self) -> None:
        self.success.setFocus()
        self.success.selectAll()
