"""A layout that places its items left to right and wraps onto another row when they do not
fit (Qt's flow layout example): a bar of controls that never squeezes them into unreadable
stubs at a narrow window, and takes one row when there is room."""

from __future__ import annotations

from PySide6.QtCore import QMargins, QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QLayoutItem, QSizePolicy, QWidget


class FlowLayout(QLayout):
    """Items at their size hints, in rows; a row's items are vertically centred."""

    def __init__(self, parent: QWidget | None = None, *, spacing: int = 6, row_spacing: int = 6):
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        self._row_spacing = row_spacing
        self.setContentsMargins(QMargins(0, 0, 0, 0))

    # -- QLayout -----------------------------------------------------------------------------------

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._place(QRect(0, 0, width, 0), apply=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._place(rect, apply=True)

    def sizeHint(self) -> QSize:
        """One row: every item side by side."""
        margins = self.contentsMargins()
        visible = [i for i in self._items if not i.isEmpty()]
        width = sum(i.sizeHint().width() for i in visible)
        width += self._spacing * max(0, len(visible) - 1)
        height = max((i.sizeHint().height() for i in visible), default=0)
        return QSize(
            width + margins.left() + margins.right(), height + margins.top() + margins.bottom()
        )

    def minimumSize(self) -> QSize:
        """The widest item: anything narrower cannot be laid out."""
        size = QSize()
        for item in self._items:
            if not item.isEmpty():
                size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    # -- placing ---------------------------------------------------------------------------------

    def rows(self, width: int) -> int:
        """How many rows the items take at this width."""
        rows: list[list[QLayoutItem]] = []
        self._rows(width, rows)
        return len(rows)

    def _rows(self, width: int, rows: list[list[QLayoutItem]]) -> None:
        x = 0
        row: list[QLayoutItem] = []
        for item in self._items:
            if item.isEmpty():
                continue
            w = item.sizeHint().width()
            if row and x + w > width:
                rows.append(row)
                row, x = [], 0
            row.append(item)
            x += w + self._spacing
        if row:
            rows.append(row)

    def _place(self, rect: QRect, *, apply: bool) -> int:
        margins = self.contentsMargins()
        area = rect.adjusted(margins.left(), margins.top(), -margins.right(), -margins.bottom())
        rows: list[list[QLayoutItem]] = []
        self._rows(area.width(), rows)
        y = area.y()
        for index, row in enumerate(rows):
            height = max(item.sizeHint().height() for item in row)
            x = area.x()
            for item in row:
                hint = item.sizeHint()
                widget = item.widget()
                expanding = widget is not None and bool(
                    widget.sizePolicy().horizontalPolicy().value
                    & QSizePolicy.PolicyFlag.ExpandFlag.value
                )
                w = hint.width()
                if expanding and item is row[-1]:  # a stretchy last item takes the rest
                    w = max(w, area.right() - x + 1)
                if apply:
                    top = y + (height - hint.height()) // 2
                    item.setGeometry(QRect(QPoint(x, top), QSize(w, hint.height())))
                x += w + self._spacing
            y += height + (self._row_spacing if index < len(rows) - 1 else 0)
        return y - area.y() + margins.top() + margins.bottom()
