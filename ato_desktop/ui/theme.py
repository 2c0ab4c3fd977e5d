"""Light and dark palettes that follow the system, and the few semantic colours views share.

Fusion style with our own palettes looks the same on every platform; the colour scheme comes
from the system (Qt's style hints) and updates live when the user switches. ATO_THEME=light|dark
forces one (screenshots, tests).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication


@dataclass(frozen=True)
class Theme:
    name: str  # "light" | "dark"
    window: str
    surface: str  # cards, panels
    surface_alt: str  # alternate rows, hovered items
    sidebar: str
    border: str
    text: str
    text_muted: str
    accent: str
    accent_text: str
    running: str
    completed: str
    failed: str
    neutral: str  # killed, interrupted
    warning: str
    code_bg: str
    # JSON highlighting
    json_key: str
    json_string: str
    json_number: str
    json_literal: str

    @property
    def is_dark(self) -> bool:
        return self.name == "dark"

    def color(self, name: str) -> QColor:
        return QColor(getattr(self, name))

    def status_color(self, status: str) -> QColor:
        return QColor(
            {
                "running": self.running,
                "completed": self.completed,
                "failed": self.failed,
            }.get(status, self.neutral)
        )


LIGHT = Theme(
    name="light",
    window="#F6F7F9",
    surface="#FFFFFF",
    surface_alt="#F0F2F5",
    sidebar="#EEF0F4",
    border="#D9DDE3",
    text="#1B1F24",
    text_muted="#5F6B7A",
    accent="#2F6FEB",
    accent_text="#FFFFFF",
    running="#2F6FEB",
    completed="#1F8A4C",
    failed="#D1342F",
    neutral="#7A8491",
    warning="#B7791F",
    code_bg="#F3F5F8",
    json_key="#6F42C1",
    json_string="#0A7A46",
    json_number="#B45309",
    json_literal="#2F6FEB",
)

DARK = Theme(
    name="dark",
    window="#16181D",
    surface="#1E2127",
    surface_alt="#262A31",
    sidebar="#121419",
    border="#343A44",
    text="#E6E9EE",
    text_muted="#98A2B3",
    accent="#5B8DEF",
    accent_text="#FFFFFF",
    running="#5B8DEF",
    completed="#3FB872",
    failed="#F0605A",
    neutral="#8A94A3",
    warning="#E0A43B",
    code_bg="#181B20",
    json_key="#C4A2FF",
    json_string="#7EDC9E",
    json_number="#F2B36B",
    json_literal="#7FB0FF",
)


def system_prefers_dark() -> bool:
    forced = os.environ.get("ATO_THEME", "").lower()
    if forced in ("light", "dark"):
        return forced == "dark"
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


def build_palette(theme: Theme) -> QPalette:
    p = QPalette()
    c = QColor
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    p.setColor(role.Window, c(theme.window))
    p.setColor(role.WindowText, c(theme.text))
    p.setColor(role.Base, c(theme.surface))
    p.setColor(role.AlternateBase, c(theme.surface_alt))
    p.setColor(role.ToolTipBase, c(theme.surface))
    p.setColor(role.ToolTipText, c(theme.text))
    p.setColor(role.PlaceholderText, c(theme.text_muted))
    p.setColor(role.Text, c(theme.text))
    p.setColor(role.Button, c(theme.surface))
    p.setColor(role.ButtonText, c(theme.text))
    p.setColor(role.BrightText, c(theme.failed))
    p.setColor(role.Highlight, c(theme.accent))
    p.setColor(role.HighlightedText, c(theme.accent_text))
    p.setColor(role.Link, c(theme.accent))
    p.setColor(role.LinkVisited, c(theme.accent))
    p.setColor(role.Mid, c(theme.border))
    p.setColor(role.Midlight, c(theme.surface_alt))
    p.setColor(role.Dark, c(theme.border))
    p.setColor(role.Light, c(theme.surface))
    for r in (role.Text, role.WindowText, role.ButtonText):
        p.setColor(group.Disabled, r, c(theme.text_muted))
    return p


def _tinted_svg_file(name: str, color: str) -> str:
    """A copy of resources/icons/<name>.svg in color, for style sheets (they take file paths)."""
    from ato_desktop.ui.resources import RESOURCES

    target = (
        Path(tempfile.gettempdir()) / f"ato-desktop-{os.getuid() if hasattr(os, 'getuid') else 0}"
    )
    target.mkdir(mode=0o700, exist_ok=True)
    path = target / f"{name}-{color.lstrip('#')}.svg"
    if not path.exists():
        try:
            svg = (RESOURCES / "icons" / f"{name}.svg").read_text(encoding="utf-8")
        except OSError:
            return ""
        path.write_text(svg.replace("currentColor", color), encoding="utf-8")
    return path.as_posix()


def mix(a: str, b: str, share_of_b: float) -> str:
    """a blended with b (share_of_b of b), as #rrggbb."""
    ca, cb = QColor(a), QColor(b)
    channels = [
        round(x * (1 - share_of_b) + y * share_of_b)
        for x, y in zip(
            (ca.red(), ca.green(), ca.blue()), (cb.red(), cb.green(), cb.blue()), strict=True
        )
    ]
    return "#{:02x}{:02x}{:02x}".format(*channels)


def stylesheet(theme: Theme) -> str:
    """The small amount of styling palettes cannot express."""
    t = theme
    arrow = _tinted_svg_file("chevron-down", t.text_muted)
    handle = mix(t.border, t.text_muted, 0.35)
    handle_hover = mix(t.border, t.text_muted, 0.7)
    return f"""
    QWidget#Sidebar {{ background: {t.sidebar}; border-right: 1px solid {t.border}; }}
    QListWidget#NavList {{ background: transparent; border: none; outline: none; }}
    QListWidget#NavList::item {{ padding: 9px 12px; margin: 2px 8px; border-radius: 8px;
        color: {t.text}; }}
    QListWidget#NavList::item:selected {{ background: {t.accent}; color: {t.accent_text}; }}
    QListWidget#NavList::item:hover:!selected {{ background: {t.surface_alt}; }}
    QLabel#AppTitle {{ font-size: 15px; font-weight: 600; padding: 14px 16px 8px 16px; }}
    QLabel#PageTitle {{ font-size: 20px; font-weight: 600; }}
    QLabel#SectionTitle {{ font-size: 13px; font-weight: 600; color: {t.text}; }}
    QLabel#Muted, QLabel[muted="true"] {{ color: {t.text_muted}; }}
    QFrame#Card {{ background: {t.surface}; border: 1px solid {t.border}; border-radius: 10px; }}
    QFrame#Banner {{ background: {t.surface_alt}; border: 1px solid {t.border};
        border-radius: 8px; }}
    QPushButton {{ padding: 5px 12px; border-radius: 6px; border: 1px solid {t.border};
        background: {t.surface}; }}
    QPushButton:hover {{ border-color: {t.accent}; }}
    QPushButton:disabled {{ color: {t.text_muted}; }}
    QPushButton[primary="true"] {{ background: {t.accent}; color: {t.accent_text};
        border-color: {t.accent}; }}
    QPushButton[danger="true"] {{ color: {t.failed}; }}
    QPushButton[primary="true"]:disabled {{ background: {t.surface_alt}; color: {t.text_muted};
        border-color: {t.border}; }}
    QPushButton[danger="true"]:disabled {{ color: {t.text_muted}; }}
    QLineEdit, QComboBox, QDoubleSpinBox, QSpinBox, QPlainTextEdit, QTextEdit {{
        border: 1px solid {t.border}; border-radius: 6px; padding: 4px 6px;
        background: {t.surface}; }}
    QComboBox {{ padding-right: 24px; }}
    QComboBox::drop-down {{ subcontrol-origin: padding; subcontrol-position: center right;
        width: 22px; border: none; }}
    QComboBox::down-arrow {{ image: url("{arrow}"); width: 10px; height: 10px; }}
    QComboBox QAbstractItemView {{ background: {t.surface}; color: {t.text};
        border: 1px solid {t.border}; border-radius: 6px; outline: none; padding: 2px;
        selection-background-color: {t.accent}; selection-color: {t.accent_text}; }}
    QComboBox::item {{ color: {t.text}; }}
    QComboBox::item:selected {{ background: {t.accent}; color: {t.accent_text}; }}
    QLineEdit:focus, QComboBox:focus, QPlainTextEdit:focus, QTextEdit:focus,
    QDoubleSpinBox:focus, QSpinBox:focus {{ border-color: {t.accent}; }}
    QTableView, QTreeView, QListView {{ border: 1px solid {t.border}; border-radius: 8px;
        background: {t.surface}; gridline-color: {t.border}; }}
    QTableView#LiveTable, QTableView#RunsTable {{ outline: none; }}
    QHeaderView::section {{ background: {t.surface_alt}; color: {t.text_muted}; border: none;
        border-bottom: 1px solid {t.border}; padding: 5px 8px; font-weight: 600; }}
    QTabWidget::pane {{ border: 1px solid {t.border}; border-radius: 8px; top: -1px; }}
    QTabBar::tab {{ padding: 6px 14px; border: none; color: {t.text_muted}; }}
    QTabBar::tab:selected {{ color: {t.text}; border-bottom: 2px solid {t.accent}; }}
    QStatusBar {{ border-top: 1px solid {t.border}; }}
    QToolTip {{ border: 1px solid {t.border}; padding: 4px; }}
    QScrollBar:vertical {{ background: transparent; width: 12px; margin: 0; border: none; }}
    QScrollBar:horizontal {{ background: transparent; height: 12px; margin: 0; border: none; }}
    QScrollBar::handle:vertical {{ background: {handle}; min-height: 32px; border-radius: 3px;
        margin: 2px 3px; }}
    QScrollBar::handle:horizontal {{ background: {handle}; min-width: 32px; border-radius: 3px;
        margin: 3px 2px; }}
    QScrollBar::handle:hover, QScrollBar::handle:pressed {{ background: {handle_hover}; }}
    QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; border: none;
        background: none; }}
    QScrollBar::add-page, QScrollBar::sub-page {{ background: none; }}
    """


_current: Theme = LIGHT


def current_theme() -> Theme:
    """The theme in effect (views read colours from it when they paint)."""
    return _current


def set_current_theme(theme: Theme) -> None:
    global _current
    _current = theme


class ThemeManager(QObject):
    """Applies the theme and re-applies it when the system scheme changes."""

    sig_theme_changed = Signal(object)  # Theme

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self._app = app
        self.theme = DARK if system_prefers_dark() else LIGHT
        from ato_desktop.ui.app_style import AppStyle

        app.setStyle(AppStyle())  # Fusion, attaching per-widget behaviour as widgets appear
        self._apply()
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_scheme_changed)

    def _on_scheme_changed(self, _scheme: Qt.ColorScheme) -> None:
        theme = DARK if system_prefers_dark() else LIGHT
        if theme is not self.theme:
            self.theme = theme
            self._apply()
            self.sig_theme_changed.emit(theme)

    def _apply(self) -> None:
        set_current_theme(self.theme)
        self._app.setPalette(build_palette(self.theme))
        self._app.setStyleSheet(stylesheet(self.theme))
