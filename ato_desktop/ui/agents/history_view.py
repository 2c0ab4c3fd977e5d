"""An agent's config history: versions on the left; the selected one's changes (before -> after,
the system prompt as a line diff) and a link to the runs it made on the right.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.records import AgentVersionRecord
from ato_desktop.ui.agents.config_history import DiffColors, changes_html, version_summary
from ato_desktop.ui.chat.turns import relative_time
from ato_desktop.ui.theme import Theme, current_theme

VersionIdRole = Qt.ItemDataRole.UserRole + 1
RunCountRole = Qt.ItemDataRole.UserRole + 2
SubtitleRole = Qt.ItemDataRole.UserRole + 3
CreatedRole = Qt.ItemDataRole.UserRole + 4

Index = QModelIndex | QPersistentModelIndex


def runs_text(count: int) -> str:
    return f"{count} run{'s' if count != 1 else ''}"


class VersionListModel(QAbstractListModel):
    """Config versions, newest first."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._versions: list[AgentVersionRecord] = []

    def set_versions(self, versions: list[AgentVersionRecord]) -> None:
        self.beginResetModel()
        self._versions = list(versions)
        self.endResetModel()

    def version(self, row: int) -> AgentVersionRecord:
        return self._versions[row]

    def row_of(self, version_id: str) -> int:
        for number, version in enumerate(self._versions):
            if version.id == version_id:
                return number
        return -1

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._versions)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._versions):
            return None
        version = self._versions[index.row()]
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


class VersionDelegate(QStyledItemDelegate):
    """'Version 3            2 h ago' over 'model, Parameter temperature · 12 runs'."""

    PADDING = 9

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.now_ms: int | None = None

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return QSize(200, option.fontMetrics.height() * 2 + self.PADDING * 2 + 4)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        theme = current_theme()
        painter.save()
        rect = option.rect.adjusted(4, 2, -4, -2)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected or option.state & QStyle.StateFlag.State_MouseOver:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(theme.accent if selected else theme.surface_alt))
            painter.drawRoundedRect(rect, 8, 8)
        text = QColor(theme.accent_text if selected else theme.text)
        muted = QColor(theme.accent_text if selected else theme.text_muted)
        inner = rect.adjusted(self.PADDING, self.PADDING - 2, -self.PADDING, -self.PADDING + 2)
        metrics = option.fontMetrics
        line = metrics.height()
        now = self.now_ms if self.now_ms is not None else int(time.time() * 1000)
        when = relative_time(int(index.data(CreatedRole) or 0), now)
        when_width = metrics.horizontalAdvance(when) + 6
        bold = QFont(option.font)
        bold.setWeight(QFont.Weight.DemiBold)
        painter.setFont(bold)
        painter.setPen(text)
        painter.drawText(
            QRect(inner.left(), inner.top(), inner.width() - when_width, line),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            str(index.data() or ""),
        )
        painter.setFont(option.font)
        painter.setPen(muted)
        painter.drawText(
            QRect(inner.right() - when_width, inner.top(), when_width, line),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            when,
        )
        sub = QRect(inner.left(), inner.top() + line + 2, inner.width(), line)
        painter.drawText(
            sub,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            metrics.elidedText(
                str(index.data(SubtitleRole) or ""), Qt.TextElideMode.ElideRight, sub.width()
            ),
        )
        painter.restore()


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
