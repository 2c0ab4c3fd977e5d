"""The left column of a list page (Agents, Chat): a title with a New button, a filter field, and
the list it filters; and the page's layout around it."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, QSortFilterProxyModel, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QSplitter,
    QStackedLayout,
    QVBoxLayout,
    QWidget,
)


class ListPanel(QFrame):
    """A titled list of the model's rows with a filter field (the filter is case-insensitive).

    The object names follow `names` for stylesheets: e.g. "Agent" gives AgentsPanel,
    NewAgentButton, AgentFilter and AgentList. With an empty_state label, the list and the label
    share the space and `show_empty` switches between them.
    """

    def __init__(
        self,
        model: QAbstractItemModel,
        *,
        names: str,
        title: str,
        new_label: str,
        new_tooltip: str,
        filter_placeholder: str,
        empty_state: QLabel | None = None,
    ) -> None:
        super().__init__()
        self.setObjectName(f"{names}sPanel")
        self.setMinimumWidth(220)
        self.setMaximumWidth(420)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 14, 8, 12)
        layout.setSpacing(8)
        header = QHBoxLayout()
        title_label = QLabel(title)
        title_label.setObjectName("SectionTitle")
        header.addWidget(title_label)
        header.addStretch(1)
        self.new_button = QPushButton(new_label)
        self.new_button.setObjectName(f"New{names}Button")
        self.new_button.setToolTip(new_tooltip)
        header.addWidget(self.new_button)
        layout.addLayout(header)
        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName(f"{names}Filter")
        self.filter_edit.setPlaceholderText(filter_placeholder)
        self.filter_edit.setClearButtonEnabled(True)
        layout.addWidget(self.filter_edit)

        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)
        self.list = QListView()
        self.list.setObjectName(f"{names}List")
        self.list.setModel(self.proxy)
        self.list.setMouseTracking(True)
        self.list.setUniformItemSizes(True)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)

        self._stack: QStackedLayout | None = None
        if empty_state is None:
            layout.addWidget(self.list, 1)
        else:
            holder = QWidget()
            self._stack = QStackedLayout(holder)
            self._stack.addWidget(self.list)
            self._stack.addWidget(empty_state)
            layout.addWidget(holder, 1)

    def show_empty(self, empty: bool) -> None:
        """Show the empty state (when there is one) instead of the list."""
        if self._stack is not None:
            self._stack.setCurrentIndex(1 if empty else 0)


def lay_out_list_page(page: QWidget, panel: ListPanel, content: QWidget) -> QSplitter:
    """Fill page with the list panel at the left (280 px to begin with) and content beside it,
    taking the rest; returns the splitter between them."""
    splitter = QSplitter(Qt.Orientation.Horizontal)
    splitter.setChildrenCollapsible(False)
    splitter.addWidget(panel)
    splitter.addWidget(content)
    splitter.setStretchFactor(0, 0)
    splitter.setStretchFactor(1, 1)
    splitter.setSizes([280, 900])
    layout = QVBoxLayout(page)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(splitter)
    return splitter
