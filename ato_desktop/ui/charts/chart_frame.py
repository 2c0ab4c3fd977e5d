"""A chart in a card: its title, the chart (or loading, or an empty state that says what to do),
a readout line with the exact values under the pointer or the keyboard's cursor, and a menu
(the ⋯ button, a right-click or the menu key) with "Save as PNG…" and "Copy data as CSV" (also
Ctrl+C while the chart has focus).

Qt Charts loads on the first set_spec with something to draw (see the package docstring)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QContextMenuEvent, QGuiApplication
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.ui.charts.chart_spec import ChartSpec
from ato_desktop.ui.theme import current_theme
from ato_desktop.ui.widgets.elided_label import ElidedLabel

LOADING, EMPTY, CHART = "loading", "empty", "chart"


class ChartFrame(QFrame):
    """Title, chart or message, readout; see the module docstring.

    Signals give back the spec's categories: a click or Enter on one (sig_activated), a drag
    or Shift+arrows then Enter across several (sig_range_selected, first and last), a click on
    a config-change marker (sig_marker_clicked, its key).
    """

    sig_activated = Signal(int)
    sig_range_selected = Signal(int, int)
    sig_marker_clicked = Signal(object)
    sig_hovered = Signal(int)  # -1: none
    sig_spec_shown = Signal(object)  # ChartSpec (drawn, or empty)

    def __init__(
        self,
        title: str,
        *,
        empty_title: str,
        empty_text: str,
        name: str = "",
        min_height: int = 180,
        hint: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName(name or "ChartFrame")
        self.setProperty("chartFrame", True)
        self.spec: ChartSpec | None = None
        self.view: Any = None  # ui.charts.chart_view.ChartView, created with the first data
        self.state = LOADING
        self._empty_action: Callable[[], object] | None = None
        self._default_empty = (empty_title, empty_text)
        self._hint_text = hint

        column = QVBoxLayout(self)
        column.setContentsMargins(12, 8, 8, 8)
        column.setSpacing(4)
        header = QHBoxLayout()
        header.setSpacing(8)
        self.title = QLabel(title)
        self.title.setObjectName("ChartTitle")
        header.addWidget(self.title)
        self.subtitle = ElidedLabel("")  # cut with an ellipsis rather than widen the chart
        self.subtitle.setObjectName("ChartSubtitle")
        self.subtitle.setProperty("muted", True)
        header.addWidget(self.subtitle, 1)
        self.controls = QHBoxLayout()  # a page's toggles go here
        self.controls.setSpacing(4)
        header.addLayout(self.controls)
        self.menu_button = QToolButton()
        self.menu_button.setObjectName("ChartMenu")
        self.menu_button.setText("⋯")
        self.menu_button.setAutoRaise(True)
        self.menu_button.setToolTip("Save as PNG…, Copy data as CSV")
        self.menu_button.setAccessibleName(f"{title}: chart actions")
        self.menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu = menu = QMenu(self.menu_button)
        self.save_action = menu.addAction("Save as PNG…", self.save_png_dialog)
        self.copy_action = menu.addAction("Copy data as CSV", self.copy_csv)
        self.menu_button.setMenu(menu)
        header.addWidget(self.menu_button)
        column.addLayout(header)

        self.stack = QStackedWidget()
        self.stack.setMinimumHeight(min_height)
        self.loading = QLabel("Reading the log…")
        self.loading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.loading.setProperty("muted", True)
        self.stack.addWidget(self.loading)
        self.empty = QWidget()
        empty_column = QVBoxLayout(self.empty)
        empty_column.addStretch(1)
        self.empty_title = QLabel(empty_title)
        self.empty_title.setObjectName("ChartEmptyTitle")
        self.empty_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_text = QLabel(empty_text)
        self.empty_text.setObjectName("ChartEmptyText")
        self.empty_text.setProperty("muted", True)
        self.empty_text.setWordWrap(True)
        self.empty_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_button = QPushButton("")
        self.empty_button.setObjectName("ChartEmptyAction")
        self.empty_button.hide()
        self.empty_button.clicked.connect(self._on_empty_action)
        empty_column.addWidget(self.empty_title)
        empty_column.addWidget(self.empty_text)
        empty_column.addWidget(self.empty_button, 0, Qt.AlignmentFlag.AlignHCenter)
        empty_column.addStretch(1)
        self.stack.addWidget(self.empty)
        self.host = QWidget()
        self.host_layout = QVBoxLayout(self.host)
        self.host_layout.setContentsMargins(0, 0, 0, 0)
        self.stack.addWidget(self.host)
        column.addWidget(self.stack, 1)
        self.readout = QLabel("")
        self.readout.setObjectName("ChartReadout")
        self.readout.setProperty("muted", True)
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readout.setWordWrap(True)
        column.addWidget(self.readout)
        self._apply_style()
        self._set_actions_enabled(False)

    # -- states ---------------------------------------------------------------------------------

    def show_loading(self) -> None:
        """Reading: only before the first spec (later reads keep the chart shown)."""
        if self.spec is None:
            self.state = LOADING
            self.stack.setCurrentWidget(self.loading)

    def show_empty(
        self,
        title: str | None = None,
        text: str | None = None,
        *,
        action: tuple[str, Callable[[], object]] | None = None,
    ) -> None:
        """The empty state: what is missing and what to do (a button when action is given)."""
        self.state = EMPTY
        self.empty_title.setText(title if title is not None else self._default_empty[0])
        self.empty_text.setText(text if text is not None else self._default_empty[1])
        self._empty_action = action[1] if action else None
        self.empty_button.setVisible(action is not None)
        if action is not None:
            self.empty_button.setText(action[0])
        self.readout.setText("")
        self.stack.setCurrentWidget(self.empty)
        self.setAccessibleDescription(f"{self.empty_title.text()}. {self.empty_text.text()}")

    def show_error(self, message: str) -> None:
        self.show_empty("Could not draw this chart", message)

    def set_spec(
        self,
        spec: ChartSpec,
        *,
        empty: tuple[str, str] | None = None,
        action: tuple[str, Callable[[], object]] | None = None,
    ) -> None:
        """Draw spec; an empty one shows the empty state (its title and text when given)."""
        self.spec = spec
        self._set_actions_enabled(not spec.is_empty)
        if spec.is_empty:
            title, text = empty or self._default_empty
            self.show_empty(title, text, action=action)
        else:
            self._ensure_view()
            self.view.set_spec(spec, current_theme())
            self.state = CHART
            self.stack.setCurrentWidget(self.host)
            self.readout.setText(self._hint())
            self.setAccessibleDescription(
                f"{self.title.text()}: {len(spec.categories)} {spec.x_title.lower()} values, "
                f"{', '.join(s.name for s in spec.series)}. Arrow keys read each value."
            )
        self.sig_spec_shown.emit(spec)

    def _hint(self) -> str:
        if self.spec is None or self.view is None:
            return ""
        return self._hint_text if self._hint_text is not None else self.view.hint()

    def _ensure_view(self) -> None:
        if self.view is not None:
            return
        from ato_desktop.ui.charts.chart_view import ChartView  # Qt Charts loads here

        self.view = ChartView(self.host)
        self.view.setAccessibleName(self.title.text())
        self.view.sig_hovered.connect(self._on_hovered)
        self.view.sig_activated.connect(self.sig_activated)
        self.view.sig_range_selected.connect(self.sig_range_selected)
        self.view.sig_marker_clicked.connect(self.sig_marker_clicked)
        self.view.sig_marker_hovered.connect(self._on_marker_hovered)
        self.view.sig_copy_requested.connect(self.copy_csv)
        self.host_layout.addWidget(self.view)

    def _on_hovered(self, index: int) -> None:
        if self.spec is not None and index >= 0:
            self.readout.setText(self.spec.describe(index))
        else:
            self.readout.setText(self._hint())
        self.sig_hovered.emit(index)

    def _on_marker_hovered(self, text: str) -> None:
        self.readout.setText(text)

    def _on_empty_action(self) -> None:
        if self._empty_action is not None:
            self._empty_action()

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        """Right-click or the menu key: the same actions as the ⋯ button."""
        self.menu.exec(event.globalPos())

    # -- export ---------------------------------------------------------------------------------

    def _set_actions_enabled(self, enabled: bool) -> None:
        self.save_action.setEnabled(enabled)
        self.copy_action.setEnabled(enabled)

    def csv_text(self) -> str:
        return self.spec.to_csv() if self.spec is not None else ""

    def copy_csv(self) -> None:
        if self.spec is not None and not self.spec.is_empty:
            QGuiApplication.clipboard().setText(self.csv_text())
            self.readout.setText("Copied the chart's data as CSV.")

    def save_png(self, path: str | Path) -> bool:
        """The chart as drawn (at the screen's pixel ratio) to a PNG file."""
        if self.view is None or self.state != CHART:
            return False
        return bool(self.view.grab().save(str(path), "PNG"))

    def save_png_dialog(self) -> None:
        if self.view is None or self.state != CHART:
            return
        name = self.title.text().lower().replace(" ", "-").replace("/", "-") or "chart"
        path, _ = QFileDialog.getSaveFileName(
            self, "Save chart as PNG", f"{name}.png", "PNG images (*.png)"
        )
        if path:
            if not path.lower().endswith(".png"):
                path += ".png"
            ok = self.save_png(path)
            self.readout.setText(f"Saved {path}" if ok else f"Could not write {path}")

    # -- theme ----------------------------------------------------------------------------------

    def _apply_style(self) -> None:
        t = current_theme()
        self.setStyleSheet(
            f"""
            QFrame[chartFrame="true"] {{ background: {t.surface}; border: 1px solid {t.border};
                border-radius: 8px; }}
            QLabel#ChartTitle {{ font-weight: 600; }}
            QLabel#ChartEmptyTitle {{ font-size: 14px; font-weight: 600; }}
            QToolButton#ChartMenu {{ font-size: 16px; padding: 0px 6px; }}
            QPushButton:checked {{ background: {t.surface_alt}; color: {t.text};
                border-color: {t.accent}; }}
            """
        )

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.ApplicationPaletteChange:
            self._apply_style()
            if self.view is not None and self.spec is not None and not self.spec.is_empty:
                self.view.set_spec(self.spec, current_theme())
