"""The estimated-cost card of the replay dialogs (one replay, a batch, gathering evidence)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget


class EstimateCard(QFrame):
    """A caption, the estimated cost with its "est." badge (hidden until the figure is an
    estimate), and a line of detail under it."""

    def __init__(
        self,
        caption: str,
        badge_tip: str,
        *,
        rich_detail: bool = False,
        row_spacing: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("EstimateCard")
        inner = QVBoxLayout(self)
        inner.setContentsMargins(14, 10, 14, 12)
        inner.setSpacing(4)
        title = QLabel(caption)
        title.setObjectName("SectionCaption")
        inner.addWidget(title)
        row = QHBoxLayout()
        if row_spacing is not None:
            row.setSpacing(row_spacing)
        self.value = QLabel("…")
        self.value.setObjectName("EstimateValue")
        self.badge = QLabel("est.")
        self.badge.setObjectName("EstBadge")
        self.badge.setToolTip(badge_tip)
        self.badge.hide()
        row.addWidget(self.value)
        row.addWidget(self.badge, 0, Qt.AlignmentFlag.AlignVCenter)
        row.addStretch(1)
        inner.addLayout(row)
        self.detail = QLabel("")
        self.detail.setObjectName("ReplayHint")
        self.detail.setWordWrap(True)
        if rich_detail:
            self.detail.setTextFormat(Qt.TextFormat.RichText)
        inner.addWidget(self.detail)
