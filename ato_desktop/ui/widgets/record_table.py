"""The table the Insights views list their records in."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from ato_desktop.ui.widgets.status_badge import NoFocusDelegate


def record_table(
    name: str,
    model: QAbstractItemModel,
    *,
    row_height: int = 28,
    table: QTableView | None = None,
    pixel_scroll_sideways: bool = True,
) -> QTableView:
    """`table` (a new QTableView by default) set up as a read-only list of records: whole rows,
    one at a time, no grid, no row numbers, rows of one fixed height, smooth scrolling (sideways
    too, unless pixel_scroll_sideways is False)."""
    table = table if table is not None else QTableView()
    table.setObjectName(name)
    table.setModel(model)
    table.setItemDelegate(NoFocusDelegate(table))
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setShowGrid(False)
    table.setWordWrap(False)
    rows = table.verticalHeader()
    rows.hide()
    rows.setDefaultSectionSize(row_height)
    rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    table.horizontalHeader().setHighlightSections(False)
    table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    if pixel_scroll_sideways:
        table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    return table
