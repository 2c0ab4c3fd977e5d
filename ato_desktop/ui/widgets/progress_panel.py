"""The page a dialog shows while its batch runs: a progress bar and a line saying what is
happening, with room under them for what the dialog adds (a summary, the items)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar, QVBoxLayout, QWidget


class ProgressPanel(QWidget):
    """`bar` counts with `bar_format` (e.g. "%v / %m replayed"); `label` says what is happening;
    `column` is the layout the dialog adds the rest to."""

    def __init__(
        self, bar_format: str, *, label_name: str = "ReplayHint", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.column = QVBoxLayout(self)
        self.column.setContentsMargins(0, 4, 0, 0)
        self.column.setSpacing(10)
        self.bar = QProgressBar()
        self.bar.setObjectName("ReplayProgress")
        self.bar.setFormat(bar_format)
        self.column.addWidget(self.bar)
        self.label = QLabel("")
        self.label.setObjectName(label_name)
        self.label.setWordWrap(True)
        self.column.addWidget(self.label)
