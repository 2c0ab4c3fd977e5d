"""An agent's config history: versions on the left; the selected one's changes (before -> after,
the system prompt as a line diff) and a link to the runs it made on the right.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.records import AgentVersionRecord
from ato_desktop.ui.agents.config_history import DiffColors, changes_html, version_summary
from ato_desktop.ui.chat.turns import relative_time
from ato_desktop.ui.theme import Theme, current_theme
from ato_desktop.ui.widgets.record_list_model import RecordListModel
from ato_desktop.ui.widgets.two_line_delegate import TwoLineDelegate, TwoLineRow

VersionIdRole = Qt.ItemDataRole.UserRole + 1
RunCountRole = Qt.ItemDataRole.UserRole + 2
SubtitleRole = Qt.ItemDataRole.UserRole + 3
CreatedRole = Qt.ItemDataRole.UserRole + 4

Index = QModelIndex | QPersistentModelIndex


def runs_text(count: int) -> str:
    return f"{count} run{'s' if count != 1 else ''}"


class VersionListModel(RecordListModel[AgentVersionRecord]):
    """Config versions, newest first."""

    def set_versions(self, versions: list[AgentVersionRecord]) -> None:
        self.set_records(versions)

    def version(self, row: int) -> AgentVersionRecord:
        return self.record(row)

    def record_data(self, version: AgentVersionRecord, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return f"Version {version.version}"
        if role in (SubtitleRole, Qt.ItemDataRole.ToolTipRole):
            return f"{version_summary(version)} · {runs_text(version.run_count)}"
        if role == VersionIdRole:
            return version.id
        if role == RunCountRole:
            return version.run_count
        if role == CreatedRole:
            return version.created_at
        return None


class VersionDelegate(TwoLineDelegate):
    """'Version 3            2 h ago' over 'model, Parameter temperature · 12 runs'."""

    PADDING = 9
    MARGIN = 4

    def paint_lines(self, row: TwoLineRow, index: Index) -> None:
        when = relative_time(int(index.data(CreatedRole) or 0), self.now())
        when_width = row.text_width(when) + 6
        title_line = row.first_line(when_width)
        row.title(title_line, str(index.data() or ""))
        row.detail(row.right_of(title_line, when_width), when, right=True)
        row.detail(row.second_line(), str(index.data(SubtitleRole) or ""))


def diff_colors(theme: Theme) -> DiffColors:
    if theme.is_dark:
        return DiffColors(
            theme.text, theme.text_muted, "#1F3B2A", "#45211F", "#9BE3B4", "#FFB4AE",
            theme.border, theme.code_bg,
        )  # fmt: skip
    return DiffColors(
        theme.text, theme.text_muted, "#DDF4E4", "#FBE1DF", "#14532D", "#8A1C17",
        theme.border, theme.code_bg,
    )  # fmt: skip


class HistoryView(QWidget):
    """Versions and the selected version's diff; asks to open the runs of a version."""

    sig_runs_requested = Signal(str)  # version id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        self.model = VersionListModel(self)
        self.list = QListView()
        self.list.setObjectName("VersionList")
        self.list.setModel(self.model)
        self.delegate = VersionDelegate(self.list)
        self.list.setItemDelegate(self.delegate)
        self.list.setMouseTracking(True)
        self.list.setMinimumWidth(220)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.selectionModel().currentChanged.connect(self._on_selected)
        splitter.addWidget(self.list)

        detail = QFrame()
        detail.setObjectName("VersionDetail")
        column = QVBoxLayout(detail)
        column.setContentsMargins(18, 12, 18, 12)
        column.setSpacing(8)
        head = QHBoxLayout()
        self.title = QLabel()
        self.title.setObjectName("VersionTitle")
        self.meta = QLabel()
        self.meta.setObjectName("VersionMeta")
        head.addWidget(self.title)
        head.addWidget(self.meta)
        head.addStretch(1)
        self.runs_button = QPushButton()
        self.runs_button.setObjectName("VersionRunsButton")
        self.runs_button.clicked.connect(self._open_runs)
        head.addWidget(self.runs_button)
        column.addLayout(head)
        self.browser = QTextBrowser()
        self.browser.setObjectName("VersionDiff")
        self.browser.setOpenLinks(False)
        self.browser.setFrameShape(QFrame.Shape.NoFrame)
        column.addWidget(self.browser, 1)
        splitter.addWidget(detail)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([260, 700])
        layout.addWidget(splitter)
        self._version: AgentVersionRecord | None = None
        self._show(None)

    def set_versions(self, versions: list[AgentVersionRecord]) -> None:
        """Show these versions. A user reading the newest version follows to a newer one; one
        reading an older version stays on it."""
        was_newest = self._version is None or self.model.row_of(self._version.id) == 0
        keep = None if was_newest or self._version is None else self._version.id
        self.model.set_versions(versions)
        row = self.model.row_of(keep) if keep else -1
        self.select_row(row if row >= 0 else 0)

    def select_row(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            self.list.setCurrentIndex(self.model.index(row))
            self._show(self.model.version(row))
        else:
            self._show(None)

    @property
    def current_version(self) -> AgentVersionRecord | None:
        return self._version

    def refresh_theme(self) -> None:
        self._show(self._version)

    def _on_selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self._show(self.model.version(current.row()))

    def _show(self, version: AgentVersionRecord | None) -> None:
        self._version = version
        if version is None:
            self.title.setText("No versions")
            self.meta.clear()
            self.runs_button.setVisible(False)
            self.browser.clear()
            return
        self.title.setText(f"Version {version.version}")
        self.meta.setText(f"saved from {version.change_source} · {version.config.model}")
        count = version.run_count
        self.runs_button.setVisible(True)
        self.runs_button.setEnabled(count > 0)
        self.runs_button.setText(
            f"View {runs_text(count)} →" if count else "No runs with this version yet"
        )
        self.browser.setHtml(changes_html(version, diff_colors(current_theme())))

    def _open_runs(self) -> None:
        if self._version is not None:
            self.sig_runs_requested.emit(self._version.id)
