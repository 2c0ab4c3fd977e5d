"""What the run and action tables share about their columns: header titles, alignment (numbers
to the right, with room for the sort arrow), and the monospace font of run ids."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont

# Computed once: combining two of Qt's flags makes a Python enum value (some 30 us), and item
# models ask for an alignment per cell painted.
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)


def alignment(right: bool) -> int:
    """Right (numbers) or left (text), vertically centred: a TextAlignmentRole value."""
    return _RIGHT if right else _LEFT


# After the title of a right-aligned column the list is sorted by: room for the sort arrow, which
# the style draws at the section's right edge, over right-aligned text.
SORT_ARROW_ROOM = "\u2003\u2002"


def header_data(
    columns: Sequence[str],
    right: Collection[int],
    section: int,
    orientation: Qt.Orientation,
    role: int,
    sorted_section: int | None = None,
) -> Any:
    """headerData of a table with these column titles; the columns in right are right-aligned;
    sorted_section is the column the rows are sorted by (its arrow gets room)."""
    if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(columns):
        return None
    if role == Qt.ItemDataRole.DisplayRole:
        if section == sorted_section and section in right:
            return columns[section] + SORT_ARROW_ROOM
        return columns[section]
    if role == Qt.ItemDataRole.TextAlignmentRole:
        return alignment(section in right)
    return None


def id_font() -> QFont:
    """The font run ids are shown in."""
    font = QFont("monospace")
    font.setStyleHint(QFont.StyleHint.Monospace)
    return font
