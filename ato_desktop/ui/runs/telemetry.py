"""The Telemetry tab: a run's action sequence, searchable, filterable and sortable by any column
(the most expensive or the slowest actions first), each action expanding to its inputs and
outputs; clicking one opens the operation inspector beside the list.

Action rows (texts, JSON previews, a lower-case search text) are built on a reader thread, so a
run with large payloads never costs the UI thread more than indexing a list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QGuiApplication, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.figures import DASH
from ato_desktop.core.records import ActionRecord
from ato_desktop.core.timefmt import human_duration
from ato_desktop.store.run_queries import PayloadText
from ato_desktop.ui.runs.columns import alignment, header_data
from ato_desktop.ui.runs.formatting import cost_cell, full_time, local_time, now_ms
from ato_desktop.ui.runs.inspector import OperationInspector, action_meta, files_touched
from ato_desktop.ui.theme import current_theme
from ato_desktop.ui.widgets.cell_painting import paint_cell_background
from ato_desktop.ui.widgets.json_view import (
    compact_json,
    display_value,
    full_json,
    monospace_font,
    run_in_worker,
)
from ato_desktop.ui.widgets.status_badge import (
    COST_ESTIMATED_ROLE,
    CostDelegate,
    paint_pill,
    pill_font,
    pill_width,
)

_ROOT = QModelIndex()  # the default parent (one instance, never changed)

PREVIEW_LINES = 8
PREVIEW_LINE_CHARS = 160
SEARCH_CHARS = 200_000  # of each payload, for "search by content"
OUTCOMES = ("success", "error", "blocked", "replayed")
OUTCOME_FILTERS = (
    ("All outcomes", None),
    ("Errors", "error"),
    ("Successes", "success"),
    ("Blocked", "blocked"),
    ("Replayed", "replayed"),
)

COLUMNS = ("#", "Action", "Outcome", "Duration", "Cost", "Started")
COL_SEQ, COL_NAME, COL_OUTCOME, COL_DURATION, COL_COST, COL_STARTED = range(len(COLUMNS))
_RIGHT = {COL_SEQ, COL_DURATION, COL_COST}
# A header's first click: the biggest cost or duration first; the rest in reading order.
_FIRST_CLICK_DESCENDING = {COL_DURATION, COL_COST}

ACTION_ROLE = int(Qt.ItemDataRole.UserRole) + 1  # ActionRecord (action rows and their children)
PART_ROLE = int(Qt.ItemDataRole.UserRole) + 2  # "inputs" | "outputs" | "error" on child rows
OUTCOME_ROLE = int(Qt.ItemDataRole.UserRole) + 3
TAGS_ROLE = int(Qt.ItemDataRole.UserRole) + 4  # ((text, colour name), ...) beside the name
PART_LABELS = {"inputs": "Inputs", "outputs": "Outputs", "error": "Error"}


@dataclass(frozen=True, slots=True)
class ActionRow:
    """An action with what the list shows of it, built off the UI thread."""

    action: ActionRecord
    texts: tuple[str, ...]
    cost_estimated: bool
    previews: dict[str, str]  # part -> a few lines of pretty JSON
    sizes: dict[str, int]  # part -> compact JSON length
    search_text: str  # lower case: name, inputs, outputs, error
    tags: tuple[tuple[str, str], ...] = ()  # small pills beside the name: (text, theme colour)

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.previews)


def sort_value(row: ActionRow, column: int) -> Any:
    """What an action is sorted by in a column (None: it has none; those come last)."""
    action = row.action
    if column == COL_NAME:
        return row.texts[COL_NAME].casefold()
    if column == COL_OUTCOME:
        return action.outcome
    if column == COL_DURATION:
        return action.duration_ns
    if column == COL_COST:
        return action.cost_usd
    if column == COL_STARTED:
        return action.started_at
    return action.seq


APPROVAL_TAGS = {
    "requested": ("waiting for approval", "warning"),
    "approved": ("approved", "completed"),
    "denied": ("denied", "failed"),
}


def display_name(action: ActionRecord) -> str:
    """A tool call is shown as server/tool; everything else by its own name."""
    server = action_meta(action).get("server")
    if action.kind == "tool" and isinstance(server, str) and server:
        return f"{server}/{action.name}"
    return action.name


def action_tags(action: ActionRecord) -> tuple[tuple[str, str], ...]:
    """The pills beside an action's name: read-only, the approval, files touched."""
    meta = action_meta(action)
    tags: list[tuple[str, str]] = []
    if action.kind == "tool" and meta.get("read_only") is True:
        tags.append(("read-only", "accent"))
    approval = meta.get("approval")
    if isinstance(approval, str) and approval in APPROVAL_TAGS:
        tags.append(APPROVAL_TAGS[approval])
    files = files_touched(action)
    if files:
        tags.append((f"{len(files)} file{'s' if len(files) != 1 else ''}", "neutral"))
    return tuple(tags)


def _preview(value: Any) -> str:
    shown, _binary, _cut = display_value(value)
    encoder = json.JSONEncoder(indent=2, ensure_ascii=False, default=str)
    lines: list[str] = []
    buffer = ""
    for chunk in encoder.iterencode(shown):
        buffer += chunk
        while "\n" in buffer:
            line, buffer = buffer.split("\n", 1)
            lines.append(line)
        if len(lines) > PREVIEW_LINES or len(buffer) > PREVIEW_LINE_CHARS * 4:
            break
    else:
        if buffer:
            lines.append(buffer)
    more = len(lines) > PREVIEW_LINES
    lines = [
        line if len(line) <= PREVIEW_LINE_CHARS else line[:PREVIEW_LINE_CHARS] + "…"
        for line in lines[:PREVIEW_LINES]
    ]
    if more:
        lines.append("  …")
    return "\n".join(lines)


def build_action_row(action: ActionRecord, now: int, text: PayloadText | None = None) -> ActionRow:
    """Pure Python (reader threads): texts, previews, sizes and search text of an action.

    text (sizes and the first characters of the stored JSON, from SQL) spares re-encoding big
    payloads; without it they are encoded here.
    """
    cost_text, estimated = cost_cell(action.cost_usd, action.cost_source)
    texts = (
        str(action.seq),
        display_name(action),
        action.outcome,
        human_duration(action.duration_ns) if action.duration_ns is not None else DASH,
        cost_text,
        local_time(action.started_at, now),
    )
    if text is None:
        inputs, outputs = compact_json(action.inputs), compact_json(action.outputs)
        text = PayloadText(len(inputs), len(outputs), inputs[:SEARCH_CHARS], outputs[:SEARCH_CHARS])
    previews: dict[str, str] = {}
    sizes = {"inputs": text.inputs_chars, "outputs": text.outputs_chars}
    search = [
        display_name(action),
        action.kind,
        action.outcome,
        text.inputs_head,
        text.outputs_head,
        *(tag for tag, _colour in action_tags(action)),
        *(path for path, _change in files_touched(action)),
    ]
    for part, value in (("inputs", action.inputs), ("outputs", action.outputs)):
        previews[part] = _preview(value) if value is not None else "null"
    if action.error_class or action.error_message:
        error = f"{action.error_class or 'error'}: {action.error_message or ''}".strip()
        previews["error"] = error
        sizes["error"] = len(error)
        search.append(error)
    return ActionRow(
        action,
        texts,
        estimated,
        previews,
        sizes,
        "\n".join(search).lower(),
        action_tags(action),
    )


# -- the model -----------------------------------------------------------------------------------


class ActionsModel(QAbstractItemModel):
    """A run's actions (top level) with their inputs / outputs / error as child rows.

    Search and the outcome filter select which actions are shown; child rows point to their
    action by internal id (the visible row + 1; top-level rows have internal id 0).
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[ActionRow] = []
        self._visible: list[int] = []
        self._query = ""
        self._outcome: str | None = None
        self._sort_column = COL_SEQ
        self._sort_descending = False

    # -- content -------------------------------------------------------------------------------

    def set_rows(self, rows: list[ActionRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._visible = self._ordered(i for i, row in enumerate(self._rows) if self._passes(row))
        self.endResetModel()

    def append_rows(self, rows: list[ActionRow]) -> None:
        """New actions of a live run (seq after the last known one)."""
        known = {row.action.seq for row in self._rows}
        fresh = [row for row in rows if row.action.seq not in known]
        if not fresh:
            return
        if self._sort_column != COL_SEQ or self._sort_descending:
            # Sorted by something else, they land anywhere: place them with a fresh layout.
            self._rows.extend(fresh)
            self._refilter()
            return
        start = len(self._rows)
        self._rows.extend(fresh)
        shown = [start + i for i, row in enumerate(fresh) if self._passes(row)]
        if shown:
            first = len(self._visible)
            self.beginInsertRows(QModelIndex(), first, first + len(shown) - 1)
            self._visible.extend(shown)
            self.endInsertRows()

    def set_query(self, text: str) -> None:
        self._query = text.strip().lower()
        self._refilter()

    def set_outcome(self, outcome: str | None) -> None:
        self._outcome = outcome
        self._refilter()

    def _passes(self, row: ActionRow) -> bool:
        if self._outcome and row.action.outcome != self._outcome:
            return False
        return not self._query or self._query in row.search_text

    def _refilter(self) -> None:
        self.beginResetModel()
        self._visible = self._ordered(i for i, row in enumerate(self._rows) if self._passes(row))
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Order the actions by a column (ties in sequence order); missing values last."""
        if not 0 <= column < len(COLUMNS):
            return
        self._sort_column = column
        self._sort_descending = order == Qt.SortOrder.DescendingOrder
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(COLUMNS) - 1)
        self._refilter()

    @property
    def sort_column(self) -> int:
        return self._sort_column

    @property
    def sort_descending(self) -> bool:
        return self._sort_descending

    def _ordered(self, indexes: Any) -> list[int]:
        ordered = list(indexes)
        if self._sort_column == COL_SEQ and not self._sort_descending:
            return ordered
        column, descending = self._sort_column, self._sort_descending
        present = [i for i in ordered if sort_value(self._rows[i], column) is not None]
        missing = [i for i in ordered if sort_value(self._rows[i], column) is None]
        present.sort(
            key=lambda i: (sort_value(self._rows[i], column), self._rows[i].action.seq),
            reverse=descending,
        )
        return present + missing

    @property
    def total(self) -> int:
        return len(self._rows)

    @property
    def shown(self) -> int:
        return len(self._visible)

    def last_seq(self) -> int:
        return max((row.action.seq for row in self._rows), default=0)

    def count_outcome(self, outcome: str) -> int:
        return sum(1 for row in self._rows if row.action.outcome == outcome)

    def row_at(self, index: QModelIndex | QPersistentModelIndex) -> ActionRow | None:
        if not index.isValid():
            return None
        parent_row = index.internalId() - 1 if index.internalId() else index.row()
        if not 0 <= parent_row < len(self._visible):
            return None
        return self._rows[self._visible[parent_row]]

    def part_at(self, index: QModelIndex | QPersistentModelIndex) -> str | None:
        if not index.isValid() or not index.internalId():
            return None
        row = self.row_at(index)
        if row is None or not 0 <= index.row() < len(row.parts):
            return None
        return row.parts[index.row()]

    def index_of_seq(self, seq: int) -> QModelIndex:
        for visible_row, i in enumerate(self._visible):
            if self._rows[i].action.seq == seq:
                return self.index(visible_row, 0)
        return QModelIndex()

    # -- QAbstractItemModel --------------------------------------------------------------------

    def index(
        self,
        row: int,
        column: int,
        parent: QModelIndex | QPersistentModelIndex = _ROOT,
    ) -> QModelIndex:
        if not 0 <= column < len(COLUMNS) or row < 0:
            return QModelIndex()
        if not parent.isValid():
            if row >= len(self._visible):
                return QModelIndex()
            return self.createIndex(row, column, 0)
        if parent.internalId() != 0 or not 0 <= parent.row() < len(self._visible):
            return QModelIndex()
        action_row = self._rows[self._visible[parent.row()]]
        if row >= len(action_row.parts):
            return QModelIndex()
        return self.createIndex(row, column, parent.row() + 1)

    def parent(self, index: QModelIndex | QPersistentModelIndex = _ROOT) -> Any:
        if not index.isValid() or index.internalId() == 0:
            return QModelIndex()
        return self.createIndex(index.internalId() - 1, 0, 0)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        if not parent.isValid():
            return len(self._visible)
        if parent.internalId() != 0 or parent.column() != 0:
            return 0
        if not 0 <= parent.row() < len(self._visible):
            return 0
        return len(self._rows[self._visible[parent.row()]].parts)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return len(COLUMNS)

    def hasChildren(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> bool:
        return self.rowCount(parent) > 0

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            if role == Qt.ItemDataRole.InitialSortOrderRole:
                first_descending = section in _FIRST_CLICK_DESCENDING
                return (
                    Qt.SortOrder.DescendingOrder
                    if first_descending
                    else Qt.SortOrder.AscendingOrder
                )
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"Sort by {COLUMNS[section].lower()} (click again: the other way)"
        return header_data(COLUMNS, _RIGHT, section, orientation, role, self._sort_column)

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        row = self.row_at(index)
        if row is None:
            return None
        col = index.column()
        if index.internalId():  # a child: inputs / outputs / error
            part = self.part_at(index)
            if part is None:
                return None
            if role == PART_ROLE:
                return part
            if role == ACTION_ROLE:
                return row.action
            if col != 0:
                return None
            if role == Qt.ItemDataRole.DisplayRole:
                return row.previews[part]
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"{PART_LABELS[part]}: {row.sizes.get(part, 0):,} characters of JSON"
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return row.texts[col]
        if role == ACTION_ROLE:
            return row.action
        if role == OUTCOME_ROLE:
            return row.action.outcome
        if role == TAGS_ROLE:
            return row.tags if col == COL_NAME and row.tags else None
        if role == COST_ESTIMATED_ROLE:
            return row.cost_estimated if col == COL_COST else None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return alignment(col in _RIGHT)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_STARTED:
                return full_time(row.action.started_at)
            if row.action.error_message:
                return f"{row.action.error_class or 'error'}: {row.action.error_message}"
            if col == COL_NAME and row.tags:
                return f"{row.texts[COL_NAME]} · " + " · ".join(tag for tag, _c in row.tags)
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            theme = current_theme()
            if col == COL_SEQ or row.texts[col] == DASH:
                return QColor(theme.text_muted)
            return None
        return None


# -- painting --------------------------------------------------------------------------------------


def paint_outlined_pill(
    painter: QPainter, rect: QRectF, text: str, colour: QColor, font: QFont
) -> QRectF:
    """A pill drawn as an outline (no fill): the blocked outcome's own look."""
    width = pill_width(text, font)
    metrics = QFontMetrics(pill_font(font))
    height = metrics.height() + 2
    pill = QRectF(rect.left(), rect.center().y() - height / 2, width, height)
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(colour, 1.2))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRoundedRect(pill.adjusted(0.5, 0.5, -0.5, -0.5), height / 2, height / 2)
    painter.setFont(pill_font(font))
    painter.drawText(pill, int(Qt.AlignmentFlag.AlignCenter), text)
    painter.restore()
    return pill


def outcome_colour(outcome: str) -> QColor:
    theme = current_theme()
    name = {"success": "completed", "error": "failed", "blocked": "warning"}.get(outcome, "neutral")
    return theme.color(name)


class OutcomeDelegate(QStyledItemDelegate):
    """The outcome as a small coloured pill; the preview rows as monospace JSON."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._mono = monospace_font()

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        part = index.data(PART_ROLE)
        if part is not None:
            self._paint_preview(painter, option, index, str(part))
            return
        tags = index.data(TAGS_ROLE)
        if tags and index.column() == COL_NAME:
            self._paint_name_with_tags(painter, option, index, tags)
            return
        outcome = index.data(OUTCOME_ROLE)
        if outcome is None or index.column() != COL_OUTCOME:
            super().paint(painter, option, index)
            return
        opt = paint_cell_background(self, painter, option, index)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        colour = QColor(current_theme().accent_text) if selected else outcome_colour(outcome)
        text = str(outcome)
        rect = QRectF(opt.rect).adjusted(4, 0, 0, 0)
        if outcome == "blocked":
            # Its own look: an outlined pill with a stop mark, never mistaken for an error.
            paint_outlined_pill(painter, rect, f"⊘ {text}", colour, opt.font)
            return
        paint_pill(
            painter,
            QRectF(rect.left(), rect.top(), pill_width(text, opt.font), rect.height()),
            text,
            colour,
            opt.font,
        )

    def _paint_name_with_tags(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
        tags: tuple[tuple[str, str], ...],
    ) -> None:
        """The name, then its pills (read-only, approval, files); the name is elided first."""
        opt = paint_cell_background(self, painter, option, index)
        theme = current_theme()
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        widths = [pill_width(text, opt.font) for text, _colour in tags]
        pills = sum(widths) + 6 * len(tags)
        rect = QRectF(opt.rect).adjusted(4, 0, -4, 0)
        metrics = QFontMetrics(opt.font)
        room = max(40.0, rect.width() - pills - 8)
        name = metrics.elidedText(opt.text, Qt.TextElideMode.ElideRight, int(room))
        painter.save()
        painter.setFont(opt.font)
        painter.setPen(QColor(theme.accent_text if selected else theme.text))
        painter.drawText(
            rect, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), name
        )
        painter.restore()
        x = rect.left() + metrics.horizontalAdvance(name) + 8
        for (text, colour), width in zip(tags, widths, strict=True):
            if x + width > rect.right():
                break
            pen = QColor(theme.accent_text) if selected else theme.color(colour)
            paint_pill(painter, QRectF(x, rect.top(), width, rect.height()), text, pen, opt.font)
            x += width + 6

    def _paint_preview(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
        part: str,
    ) -> None:
        opt = paint_cell_background(self, painter, option, index)
        theme = current_theme()
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        painter.save()
        label_font = QFont(opt.font)
        label_font.setWeight(QFont.Weight.DemiBold)
        painter.setFont(label_font)
        label_colour = theme.failed if part == "error" else theme.text_muted
        painter.setPen(QColor(theme.accent_text if selected else label_colour))
        rect = opt.rect.adjusted(4, 4, -6, -4)
        label_width = 70
        painter.drawText(
            rect.adjusted(0, 0, -(rect.width() - label_width), 0),
            int(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft),
            PART_LABELS.get(part, part),
        )
        code = rect.adjusted(label_width, 0, 0, 0)
        if not selected:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(theme.code_bg))
            painter.drawRoundedRect(QRectF(code).adjusted(-4, -2, 0, 2), 4, 4)
        painter.setFont(self._mono)
        painter.setPen(QColor(theme.accent_text if selected else theme.text))
        painter.drawText(
            code, int(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft), opt.text
        )
        painter.restore()

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        part = index.data(PART_ROLE)
        if part is None:
            size = super().sizeHint(option, index)
            return QSize(size.width(), max(size.height(), 26))
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        lines = text.count("\n") + 1
        height = QFontMetrics(self._mono).lineSpacing() * lines + 10
        return QSize(200, height)


# -- the view -----------------------------------------------------------------------------------


class TelemetryView(QWidget):
    """Toolbar (search, outcome filter, expand all), the action tree, and the inspector."""

    sig_action_selected = Signal(object)  # ActionRecord | None
    sig_copied = Signal(str, int)  # part, characters
    sig_replay_requested = Signal(str, int)  # run id, seq: "Replay this call…" on a model call
    _sig_copy_ready = Signal(str, str)  # part, text (from a worker thread)

    model: ActionsModel  # made with the tree, after the toolbar that filters it

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TelemetryView")
        self._sig_copy_ready.connect(self._on_copy_ready)
        self._run: Any = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.setSpacing(6)

        bar = QHBoxLayout()
        bar.setSpacing(6)
        self.search = QLineEdit()
        self.search.setObjectName("ActionSearch")
        self.search.setPlaceholderText("Search actions by name or content   /")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(220)
        self._search_timer = QTimer(self, singleShot=True, interval=150)
        self._search_timer.timeout.connect(lambda: self.model.set_query(self.search.text()))
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        bar.addWidget(self.search, 2)
        self.outcome = QComboBox()
        self.outcome.setObjectName("OutcomeFilter")
        for label, value in OUTCOME_FILTERS:
            self.outcome.addItem(label, value)
        self.outcome.currentIndexChanged.connect(
            lambda _i: self.model.set_outcome(self.outcome.currentData())
        )
        bar.addWidget(self.outcome)
        self.expand_button = QPushButton("Expand all")
        self.expand_button.setObjectName("ExpandAll")
        self.expand_button.setCheckable(True)
        self.expand_button.setToolTip("Show every action's inputs and outputs")
        self.expand_button.toggled.connect(self._on_expand_toggled)
        bar.addWidget(self.expand_button)
        self.summary = QLabel("")
        self.summary.setObjectName("Muted")
        bar.addWidget(self.summary, 1)
        layout.addLayout(bar)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self._list_stack = QStackedWidget()
        self.tree = QTreeView()
        self.tree.setObjectName("ActionsTree")
        self.model = ActionsModel(self)
        self.tree.setModel(self.model)
        self.tree.setUniformRowHeights(False)
        self.tree.setAlternatingRowColors(False)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.tree.setExpandsOnDoubleClick(True)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        delegate = OutcomeDelegate(self.tree)
        self.tree.setItemDelegate(delegate)
        self.tree.setItemDelegateForColumn(COL_COST, _CostOrPreviewDelegate(delegate, self.tree))
        header = self.tree.header()
        header.setStretchLastSection(False)
        # A click on a header sorts the actions by it: cost and duration highest first.
        self.tree.setSortingEnabled(True)
        header.setSortIndicator(COL_SEQ, Qt.SortOrder.AscendingOrder)
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Stretch)
        for col, width in (
            (COL_SEQ, 58),
            (COL_OUTCOME, 96),
            (COL_DURATION, 84),
            (COL_COST, 112),
            (COL_STARTED, 128),
        ):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(col, width)
        self.tree.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self.model.modelReset.connect(self._span_children)
        self.model.rowsInserted.connect(self._on_rows_inserted)
        self._list_stack.addWidget(self.tree)
        self.empty = QLabel("")
        self.empty.setObjectName("ActionsEmpty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self._list_stack.addWidget(self.empty)
        self.splitter.addWidget(self._list_stack)

        self.inspector = OperationInspector()
        self.inspector.sig_closed.connect(self._on_inspector_closed)
        self.splitter.addWidget(self.inspector)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.inspector.hide()
        layout.addWidget(self.splitter, 1)
        self.model.modelReset.connect(self._update_summary)
        self.model.rowsInserted.connect(lambda *_a: self._update_summary())

    # -- public --------------------------------------------------------------------------------

    def show_actions(self, run: Any, rows: list[ActionRow]) -> None:
        """A newly opened run: its actions, search and filters cleared."""
        self._run = run
        self.inspector.close_inspector(emit=False)
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self.model._query = ""
        self.outcome.blockSignals(True)
        self.outcome.setCurrentIndex(0)
        self.outcome.blockSignals(False)
        self.model._outcome = None
        self.model.set_rows(rows)
        if self.expand_button.isChecked():
            self.tree.expandAll()

    def show_loading(self) -> None:
        """Another run is being read: drop this one's actions and inspector meanwhile."""
        self._run = None
        self.inspector.close_inspector(emit=False)
        self.inspector.set_compliance(None)
        self.model.set_rows([])
        self.empty.setText("Loading the run…")
        self._list_stack.setCurrentWidget(self.empty)

    def append_actions(self, run: Any, rows: list[ActionRow]) -> None:
        self._run = run
        self.inspector.set_run(run)
        self.model.append_rows(rows)

    def set_run(self, run: Any) -> None:
        self._run = run
        self.inspector.set_run(run)

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def inspect_seq(self, seq: int) -> bool:
        index = self.model.index_of_seq(seq)
        if not index.isValid():
            return False
        self.tree.setCurrentIndex(index)
        self.tree.scrollTo(index)
        return True

    def close_inspector(self) -> bool:
        """Close the inspector; False when it was not open."""
        if not self.inspector.isVisible():
            return False
        self.inspector.close_inspector()
        return True

    def copy_part(self, action: ActionRecord, part: str) -> None:
        """Copy an action's inputs or outputs as JSON to the clipboard (formatted off the UI
        thread: a payload can be megabytes)."""
        value = action.inputs if part == "inputs" else action.outputs
        run_in_worker(lambda: full_json(value), lambda t: self._sig_copy_ready.emit(part, t))

    def _on_copy_ready(self, part: str, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        self.sig_copied.emit(part, len(text))

    # -- internals -----------------------------------------------------------------------------

    def _span_children(self) -> None:
        root = QModelIndex()
        for row in range(self.model.rowCount(root)):
            parent = self.model.index(row, 0, root)
            for child in range(self.model.rowCount(parent)):
                self.tree.setFirstColumnSpanned(child, parent, True)
        if self.expand_button.isChecked():
            self.tree.expandAll()
        self._update_empty()

    def _on_rows_inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        if parent.isValid():
            return
        for row in range(first, last + 1):
            index = self.model.index(row, 0)
            for child in range(self.model.rowCount(index)):
                self.tree.setFirstColumnSpanned(child, index, True)
            if self.expand_button.isChecked():
                self.tree.expand(index)
        self._update_empty()

    def _update_empty(self) -> None:
        if self.model.shown:
            self._list_stack.setCurrentWidget(self.tree)
            return
        if self.model.total == 0:
            running = self._run is not None and getattr(self._run, "status", "") == "running"
            self.empty.setText(
                "No action has completed yet: they appear here as they finish."
                if running
                else "This run recorded no actions."
            )
        else:
            self.empty.setText(
                "No action matches the search or the outcome filter. "
                "Clear the search or choose All outcomes."
            )
        self._list_stack.setCurrentWidget(self.empty)

    def _update_summary(self) -> None:
        total = self.model.total
        errors = self.model.count_outcome("error")
        text = f"{total:,} action{'s' if total != 1 else ''}"
        if errors:
            text += f" · {errors} error{'s' if errors != 1 else ''}"
        if self.model.shown != total:
            text += f" · {self.model.shown:,} shown"
        self.summary.setText(text)

    def _on_expand_toggled(self, expanded: bool) -> None:
        self.expand_button.setText("Collapse all" if expanded else "Expand all")
        if expanded:
            self.tree.expandAll()
        else:
            self.tree.collapseAll()

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        row = self.model.row_at(current)
        if row is None:
            return
        part = self.model.part_at(current)
        self.inspector.show_action(self._run, row, part or "inputs")
        self.sig_action_selected.emit(row.action)

    def _on_inspector_closed(self) -> None:
        self.tree.selectionModel().clearCurrentIndex()
        self.tree.clearSelection()
        self.tree.setFocus()
        self.sig_action_selected.emit(None)

    def _context_menu(self, pos: QPoint) -> None:
        index = self.tree.indexAt(pos)
        row = self.model.row_at(index)
        if row is None:
            return
        menu = QMenu(self)
        menu.addAction("Copy inputs JSON", lambda: self.copy_part(row.action, "inputs"))
        menu.addAction("Copy outputs JSON", lambda: self.copy_part(row.action, "outputs"))
        menu.addSeparator()
        menu.addAction("Open in inspector", lambda: self.tree.setCurrentIndex(index))
        run = self._run
        if run is not None and row.action.name in ("call_llm", "call_agent"):
            seq = row.action.seq
            menu.addSeparator()
            menu.addAction("Replay this call…", lambda: self.sig_replay_requested.emit(run.id, seq))
        menu.popup(self.tree.viewport().mapToGlobal(pos))


class _CostOrPreviewDelegate(QStyledItemDelegate):
    """The cost column: costs with an 'est.' pill on action rows; previews span from column 0,
    so child rows defer to the main delegate."""

    def __init__(self, main: OutcomeDelegate, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._main = main
        self._cost = CostDelegate(self)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        if index.data(PART_ROLE) is not None:
            self._main.paint(painter, option, index)
        else:
            self._cost.paint(painter, option, index)

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        if index.data(PART_ROLE) is not None:
            return self._main.sizeHint(option, index)
        return self._cost.sizeHint(option, index)


def build_action_rows(
    actions: list[ActionRecord], texts: dict[int, PayloadText] | None = None
) -> list[ActionRow]:
    now = now_ms()
    texts = texts or {}
    return [build_action_row(action, now, texts.get(action.seq)) for action in actions]
