"""The building blocks of the Settings page: a titled card per section, muted text, and colours
blended for notices."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QFontDatabase
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout

from ato_desktop.ui.theme import Theme, current_theme


def mono_font() -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setPointSizeF(max(9.0, font.pointSizeF()))
    return font


def muted_label(text: str = "", *, wrap: bool = True) -> QLabel:
    label = QLabel(text)
    label.setProperty("muted", True)  # a property, so the label can still have a name
    label.setWordWrap(wrap)
    return label


def say(label: QLabel, text: str, *, error: bool = False) -> None:
    """A card's message line: muted, or in the failure colour; hidden when empty."""
    theme = current_theme()
    label.setText(text)
    label.setStyleSheet(f"color: {theme.failed if error else theme.text_muted};")
    label.setVisible(bool(text))


def tint(color: str, theme: Theme, alpha: float) -> str:
    """color blended over the theme's surface at alpha (a soft background for a notice)."""
    top, base = QColor(color), QColor(theme.surface)
    r = round(top.red() * alpha + base.red() * (1 - alpha))
    g = round(top.green() * alpha + base.green() * (1 - alpha))
    b = round(top.blue() * alpha + base.blue() * (1 - alpha))
    return f"#{r:02x}{g:02x}{b:02x}"


class Card(QFrame):
    """A titled section of the page."""

    def __init__(self, section: str, title: str, blurb: str) -> None:
        super().__init__()
        self.setObjectName("Card")
        self.setProperty("section", section)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(22, 18, 22, 20)
        outer.setSpacing(10)
        heading = QLabel(title)
        heading.setObjectName("SectionTitle")
        heading.setStyleSheet("font-size: 15px;")
        outer.addWidget(heading)
        if blurb:
            outer.addWidget(muted_label(blurb))
        self.body = QVBoxLayout()
        self.body.setSpacing(10)
        outer.addLayout(self.body)
