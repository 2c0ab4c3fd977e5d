"""A list model over a Python list of records (threads, agents, config versions)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, Protocol, TypeVar

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt

_ROOT = QModelIndex()  # the default parent (one instance, never changed)

Index = QModelIndex | QPersistentModelIndex


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


R = TypeVar("R", bound=_Identified)


class RecordListModel(QAbstractListModel, Generic[R]):
    """Rows are records, replaced all at once; subclasses say what each role shows of a record
    in record_data."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._records: list[R] = []

    def set_records(self, records: Iterable[R]) -> None:
        self.beginResetModel()
        self._records = list(records)
        self.endResetModel()

    def record(self, row: int) -> R:
        return self._records[row]

    def row_of(self, key: str) -> int:
        """The row of the record that key names, or -1."""
        for number, record in enumerate(self._records):
            if self.is_named(record, key):
                return number
        return -1

    def is_named(self, record: R, key: str) -> bool:
        return record.id == key

    def rowCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._records)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._records):
            return None
        return self.record_data(self._records[index.row()], role)

    def record_data(self, record: R, role: int) -> Any:
        raise NotImplementedError
