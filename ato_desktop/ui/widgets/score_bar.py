"""The determinism score as a coloured bar, and the colour of each band.

The bands and their colour names come from `core.determinism` (the spec's green, yellow, orange,
red). Green and red are the theme's semantic "completed" and "failed" colours; the theme has no
yellow or orange of its own, so those two are chosen here for each palette, readable on its
background.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from ato_desktop.core.determinism import Band, band_for
from ato_desktop.ui.theme import Theme, current_theme

_YELLOW = {"light": "#B89500", "dark": "#E3C546"}
_ORANGE = {"light": "#D4661A", "dark": "#F08A45"}


def band_colour(band: Band, theme: Theme | None = None) -> str:
    """The hex colour of a band in the theme."""
    t = theme or current_theme()
    return {
        "green": t.completed,
        "yellow": _YELLOW["dark" if t.is_dark else "light"],
        "orange": _ORANGE["dark" if t.is_dark else "light"],
        "red": t.failed,
    }.get(band.colour, t.neutral)


class ScoreBar(QWidget):
    """A 0-100 bar filled to the score in its band's colour (None: an empty track)."""

    def __init__(self, parent: QWidget | None = None, *, height: int = 10) -> None:
        super().__init__(parent)
        self.setObjectName("ScoreBar")
        self._score: float | None = None
        self._height = height
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName("Determinism score")

    @property
    def score(self) -> float | None:
        return self._score

    def set_score(self, score: float | None) -> None:
        self._score = score
        self.setAccessibleDescription("" if score is None else f"{score:.0f} out of 100")
        self.update()

    def fill_colour(self) -> QColor:
        if self._score is None:
            return QColor(current_theme().border)
        return QColor(band_colour(band_for(self._score)))

    def sizeHint(self) -> QSize:
        return QSize(240, self._height)

    def minimumSizeHint(self) -> QSize:
        return QSize(60, self._height)

    def paintEvent(self, event: QPaintEvent) -> None:
        t = current_theme()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        rect = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        radius = rect.height() / 2
        painter.setBrush(QColor(t.surface_alt if not t.is_dark else t.border))
        painter.drawRoundedRect(rect, radius, radius)
        if self._score is not None and self._score > 0:
            width = max(rect.height(), rect.width() * min(self._score, 100.0) / 100.0)
            painter.setBrush(self.fill_colour())
            painter.drawRoundedRect(
                QRectF(rect.left(), rect.top(), width, rect.height()), radius, radius
            )
        painter.end()
