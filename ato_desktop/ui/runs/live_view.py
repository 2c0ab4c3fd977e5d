"""The Live view: every run in flight, from any process, with its elapsed time, tokens so far,
last event and how long since it, partial output size and a Kill button (with a confirmation).
Runs with no event for the stuck threshold (Settings) are highlighted; many can be selected
("Select all stuck", Ctrl/Shift-click, Ctrl+A) and killed in one action (Kill selected or
Delete, after a confirmation that says how many). A run of this process that waits for the user
to approve a tool call says so in its last event.

Data comes from the store's events: the list is read again when a run starts or ends, and a
run's checkpoints (RunProgressed) update its output size in place, shown at the clock's next
tick. The clock writes a tenth of the rows' times every 100 ms (each row's once a second). The
cells live in Qt (LiveRunsModel): painting the table never calls into Python.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QColor,
    QFont,
    QFontMetrics,
    QIcon,
    QKeySequence,
    QPainter,
    QPixmap,
    QStandardItem,
    QStandardItemModel,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStackedWidget,
    QStyledItemDelegate,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.cost_rollup import format_cost
from ato_desktop.core.figures import DASH
from ato_desktop.core.live_status import (
    STUCK_AFTER_S_DEFAULT,
    is_stuck,
    stuck_after_s,
    tokens_so_far,
)
from ato_desktop.core.records import RunRecord
from ato_desktop.store.run_queries import LiveRunSummary, live_run_summaries
from ato_desktop.ui.runs.columns import alignment, id_font
from ato_desktop.ui.runs.formatting import ago, elapsed, now_ms, plural, short_id, size_text
from ato_desktop.ui.theme import current_theme
from ato_desktop.ui.widgets.background import BackgroundWork
from ato_desktop.ui.widgets.status_badge import STATUS_ROLE, picture, status_badge_pixmap

log = logging.getLogger(__name__)

COLUMNS = (
    "Run",
    "Agent",
    "Model",
    "Status",
    "Elapsed",
    "Tokens",
    "Last event",
    "Since event",
    "Output",
    "Cost",
    "",
)
(
    COL_RUN,
    COL_AGENT,
    COL_MODEL,
    COL_STATUS,
    COL_ELAPSED,
    COL_TOKENS,
    COL_LAST,
    COL_SINCE,
    COL_OUTPUT,
    COL_COST,
    COL_KILL,
) = range(len(COLUMNS))
_RIGHT = {COL_ELAPSED, COL_TOKENS, COL_SINCE, COL_OUTPUT, COL_COST}
RUN_ID_ROLE = int(Qt.ItemDataRole.UserRole) + 2
KILL_ROLE = int(Qt.ItemDataRole.UserRole) + 5  # "kill" | "requested"
STUCK_SETTING = "live/stuck_after_s"  # seconds with no event before a run counts as stuck
RELOAD_MS = 60  # a run started or ended: the list read again after this (bursts coalesce)
HIDDEN_RELOAD_MS = 500  # the same while Live is not shown (its count still shows)
TICK_PARTS = 10  # the rows' times are repainted a tenth at a time, each row once a second


@dataclass(frozen=True, slots=True)
class LiveRow:
    run: RunRecord
    output_chars: int
    last_event: str  # what happened last: "streaming", an action name, "started"
    last_event_at: int
    kill_requested: bool = False
    waiting: bool = False  # for the user to approve a tool call
    recorded_tokens: int = 0  # output tokens of the run's finished turns


def _row(summary: LiveRunSummary) -> LiveRow:
    run = summary.run
    if summary.live_action:
        last = f"running {summary.live_action}"
    elif summary.output_chars:
        last = "streaming"
    else:
        last = "started"
    return LiveRow(
        run,
        summary.output_chars,
        last,
        run.last_event_at or run.started_at,
        run.kill_requested_at is not None,
        recorded_tokens=run.usage.output_tokens,
    )


def _waiting_changes(request: Any) -> dict[str, Any]:
    return {
        "last_event": f"Waiting for approval: {request.tool}",
        "last_event_at": request.requested_at_ms,
        "waiting": True,
    }


class LiveRunsModel(QStandardItemModel):
    """Runs in flight, newest first.

    The cells live in Qt (a QStandardItemModel) and Python writes them: when a row changes, and
    for a tenth of the rows each clock tick (their times), only the cells whose content changed.
    Painting the table then reads them without a call into Python. Each such call takes the GIL,
    which the engine thread holds much of the time while it streams fifty answers: a table whose
    every cell asked Python for its data was what kept the window from painting on time.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self._rows: list[LiveRow] = []
        self._written: list[list[dict[int, Any]]] = []  # per row, per column: the roles written
        self._stale: set[str] = set()  # run ids whose change waits for the clock's tick
        self.stuck_after_s: float = STUCK_AFTER_S_DEFAULT
        self._stuck_ids: set[str] = set()  # as of the last tick
        # The status badge is a picture in its cell, drawn for the view's font and pixel ratio
        # (the view sets them, then rewrites the rows).
        self.cell_font = QFont()
        self.pixel_ratio = 1.0
        for col, title in enumerate(COLUMNS):
            self.setHeaderData(col, Qt.Orientation.Horizontal, title)
            self.setHeaderData(
                col,
                Qt.Orientation.Horizontal,
                alignment(col in _RIGHT),
                Qt.ItemDataRole.TextAlignmentRole,
            )

    def is_stuck(self, item: LiveRow, now: int | None = None) -> bool:
        """No event for the threshold (a run waiting for an approval is waiting, not stuck)."""
        if item.waiting or item.kill_requested:
            return False
        return is_stuck(item.last_event_at, now_ms() if now is None else now, self.stuck_after_s)

    def stuck_run_ids(self) -> list[str]:
        now = now_ms()
        return [row.run.id for row in self._rows if self.is_stuck(row, now)]

    def set_rows(self, rows: list[LiveRow]) -> None:
        # A kill asked for here cannot be taken back: a reload read before the request reached
        # the log keeps it (else the row flips back to "Kill" until the next reload).
        requested = {row.run.id for row in self._rows if row.kill_requested}
        rows = [
            replace(row, kill_requested=True)
            if row.run.id in requested and not row.kill_requested
            else row
            for row in rows
        ]
        self._place([r.run.id for r in rows])
        self._rows = rows
        self._stale.clear()
        now = now_ms()
        for i in range(len(rows)):
            self._write(i, now)

    def _place(self, ids: list[str]) -> None:
        """Make the rows those of `ids`, in order: the runs that ended leave, the new ones come
        in where they belong, and the rows of the runs still in flight stay as they are (their
        cells, and the user's selection of them); a new order rebuilds the table."""
        old = self.run_ids()
        if ids == old:
            return
        kept = set(ids) & set(old)
        if [i for i in old if i in kept] == [i for i in ids if i in kept]:
            for row in reversed(range(len(old))):
                if old[row] not in kept:
                    self.removeRow(row)
                    del self._written[row]
            for row, run_id in enumerate(ids):
                if run_id not in kept:
                    self.insertRow(row, _new_items())
                    self._written.insert(row, [{} for _ in COLUMNS])
            return
        self.removeRows(0, self.rowCount())
        self._written = []
        for row in range(len(ids)):
            self.insertRow(row, _new_items())
            self._written.append([{} for _ in COLUMNS])

    def run_ids(self) -> list[str]:
        return [row.run.id for row in self._rows]

    def row_of(self, run_id: str) -> int | None:
        for i, row in enumerate(self._rows):
            if row.run.id == run_id:
                return i
        return None

    def row_at(self, row: int) -> LiveRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def update_row(self, run_id: str, *, repaint: bool = True, **changes: Any) -> None:
        """Change a row; repaint=False leaves it to the clock's next tick (within a second), for
        progress that arrives for every run every second."""
        row = self.row_of(run_id)
        if row is None:
            return
        self._rows[row] = replace(self._rows[row], **changes)
        if repaint:
            self._stale.discard(run_id)
            self._write(row, now_ms())
        else:
            self._stale.add(run_id)

    def remove(self, run_id: str) -> None:
        row = self.row_of(run_id)
        if row is not None:
            del self._rows[row]
            del self._written[row]
            self._stale.discard(run_id)
            self.removeRow(row)

    def tick(self, part: int = 0, parts: int = 1) -> None:
        """A clock tick: the cells of one part of the rows (the part-th of `parts` runs of
        consecutive rows: their times, and the progress held for the tick), and of every row
        whose run turned stuck or stopped being stuck (its background). The view ticks a tenth
        of its rows every 100 ms, so each row's times move once a second."""
        if not self._rows:
            self._stuck_ids = set()
            return
        now = now_ms()
        stuck = {row.run.id for row in self._rows if self.is_stuck(row, now)}
        turned, self._stuck_ids = stuck ^ self._stuck_ids, stuck
        count = len(self._rows)
        first, last = part * count // parts, (part + 1) * count // parts - 1
        for i, row in enumerate(self._rows):
            if first <= i <= last or row.run.id in turned or row.run.id in self._stale:
                self._stale.discard(row.run.id)
                self._write(i, now)

    def rewrite(self) -> None:
        """Write every row again (the theme changed: the colours are in the cells)."""
        now = now_ms()
        for i in range(len(self._rows)):
            self._write(i, now)

    def _write(self, row: int, now: int) -> None:
        """Write the row's cells whose content changed since they were last written."""
        item = self._rows[row]
        written = self._written[row]
        for col, roles in enumerate(self._cells(item, now)):
            if roles != written[col]:
                self.setItemData(self.index(row, col), roles)
                written[col] = roles

    def _cells(self, item: LiveRow, now: int) -> list[dict[int, Any]]:
        """Every column's roles (None: not set) for a row."""
        run = item.run
        stuck = self.is_stuck(item, now)
        theme = current_theme()
        tint = None
        if stuck:
            tint = QColor(theme.warning)
            tint.setAlphaF(0.14)
        texts = (
            short_id(run.id),
            run.agent_name or DASH,
            f"{run.runtime} · {run.model}",
            "Running",
            elapsed(run.started_at, now),
            tokens_so_far(item.recorded_tokens, item.output_chars).text(),
            item.last_event,
            elapsed(item.last_event_at, now),
            size_text(item.output_chars, "chars") if item.output_chars else DASH,
            format_cost(run.cost_usd, run.cost_source),
            "Kill requested…" if item.kill_requested else "Kill",
        )
        if stuck:
            tip = (
                f"Run {run.id}\nStuck: no event for {ago(item.last_event_at)} (the threshold is "
                f"{int(self.stuck_after_s)} s, in Settings)"
            )
        else:
            tip = f"Run {run.id}\nClick to open its telemetry"
        muted = QColor(theme.text_muted)
        warning = QColor(theme.warning)
        kill = "requested" if item.kill_requested else "kill"
        badge = _icon(status_badge_pixmap("running", self.cell_font, self.pixel_ratio))
        button = _icon(kill_button_pixmap(item.kill_requested, self.cell_font, self.pixel_ratio))
        cells: list[dict[int, Any]] = []
        for col, text in enumerate(texts):
            foreground: QColor | None = None
            font: QFont | None = None
            background = tint
            align = alignment(right=True) if col in _RIGHT else None
            if (col == COL_SINCE and stuck) or (col == COL_LAST and item.waiting):
                foreground, font = warning, _demibold()
            elif col in (COL_RUN, COL_LAST, COL_MODEL):
                foreground = muted
            if col == COL_RUN:
                font = id_font()
            cells.append(
                {
                    # The status and the Kill button are pictures (Qt paints them without a
                    # call into Python); their words are for screen readers and tooltips.
                    _DISPLAY: None if col in _PICTURED else text,
                    _DECORATION: badge
                    if col == COL_STATUS
                    else button
                    if col == COL_KILL
                    else None,
                    _ACCESSIBLE: text if col in _PICTURED else None,
                    RUN_ID_ROLE: run.id,
                    _BACKGROUND: background,
                    _TOOLTIP: _TIPS.get(col, tip),
                    _ALIGNMENT: align,
                    _FOREGROUND: foreground,
                    _FONT: font,
                    STATUS_ROLE: "running" if col == COL_STATUS else None,
                    KILL_ROLE: kill if col == COL_KILL else None,
                }
            )
        return cells


_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_BACKGROUND = int(Qt.ItemDataRole.BackgroundRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_FONT = int(Qt.ItemDataRole.FontRole)
_DECORATION = int(Qt.ItemDataRole.DecorationRole)
_ACCESSIBLE = int(Qt.ItemDataRole.AccessibleTextRole)
_PICTURED = (COL_STATUS, COL_KILL)
_KILL_PAD_X, _KILL_HEIGHT = 10, 22
_kill_buttons: dict[tuple[object, ...], QPixmap] = {}
_icons: dict[int, QIcon] = {}


def _icon(pixmap: QPixmap) -> QIcon:
    """The picture as a cell's icon, the same when its row is selected (Qt would tint it with
    the selection colour), and the same QIcon object for the same picture."""
    icon = _icons.get(pixmap.cacheKey())
    if icon is None:
        icon = QIcon()
        icon.addPixmap(pixmap, QIcon.Mode.Normal)
        icon.addPixmap(pixmap, QIcon.Mode.Selected)
        if len(_icons) > 128:
            _icons.clear()
        _icons[pixmap.cacheKey()] = icon
    return icon


def kill_button_width(font: QFont) -> int:
    """The Kill button's width: one for both its labels, so the column's buttons line up."""
    metrics = QFontMetrics(_demibold(font))
    return max(metrics.horizontalAdvance(label) for label in ("Kill", "Killing…")) + 2 * _KILL_PAD_X


def kill_button_pixmap(requested: bool, font: QFont, ratio: float) -> QPixmap:
    """The Kill column's small danger button ("Killing…" once asked), drawn once per state,
    font, theme and pixel ratio; the same QPixmap object each time."""
    theme = current_theme()
    key = (requested, font.key(), theme.name, theme.is_dark, ratio)
    pixmap = _kill_buttons.get(key)
    if pixmap is None:
        colour = QColor(theme.neutral if requested else theme.failed)
        fill = QColor(colour)
        fill.setAlphaF(0.10)
        width = kill_button_width(font)
        rect = QRectF(0.5, 0.5, width - 1, _KILL_HEIGHT - 1)

        def draw(painter: QPainter) -> None:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(colour)
            painter.setBrush(fill)
            painter.drawRoundedRect(rect, 5, 5)
            painter.setFont(_demibold(font))
            label = "Killing…" if requested else "Kill"
            painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), label)

        pixmap = picture(QSize(width, _KILL_HEIGHT), ratio, draw)
        if len(_kill_buttons) > 64:
            _kill_buttons.clear()
        _kill_buttons[key] = pixmap
    return pixmap


_TIPS = {
    COL_KILL: "Stop this run; its partial output is kept in the log",
    COL_TOKENS: "Output tokens so far (~: partly estimated from the text streamed)",
}


def _demibold(base: QFont | None = None) -> QFont:
    font = QFont(base) if base is not None else QFont()
    font.setWeight(QFont.Weight.DemiBold)
    return font


# Computed once (a Python enum value each time it is combined: some 30 us).
_CELL_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


def _new_items() -> list[QStandardItem]:
    """A row's cells: selectable, not editable."""
    items = []
    for _ in COLUMNS:
        item = QStandardItem()
        item.setFlags(_CELL_FLAGS)
        items.append(item)
    return items


class ConfirmKillDialog(QDialog):
    """ "Kill this run?" with Cancel as the default (Esc or Enter cancel)."""

    def __init__(
        self,
        text: str,
        parent: QWidget | None = None,
        *,
        title: str = "Kill this run?",
        button: str = "Kill run",
    ) -> None:
        super().__init__(parent)
        self.setObjectName("KillConfirmation")
        self.setWindowTitle(title)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setMinimumSize(440, 150)
        layout = QVBoxLayout(self)
        heading = QLabel(title)
        heading.setObjectName("SectionTitle")
        layout.addWidget(heading)
        message = QLabel(text)
        message.setWordWrap(True)
        layout.addWidget(message, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("CancelKill")
        self.cancel_button.setDefault(True)
        self.cancel_button.clicked.connect(self.reject)
        self.kill_button = QPushButton(button)
        self.kill_button.setObjectName("ConfirmKill")
        self.kill_button.setProperty("danger", True)
        self.kill_button.clicked.connect(self.accept)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.kill_button)
        layout.addLayout(buttons)


class LiveView(QWidget):
    """The in-flight runs table, or an empty state."""

    sig_run_clicked = Signal(str)  # run id
    sig_count_changed = Signal(int)
    sig_kill_requested = Signal(str)  # run id, after the user confirmed
    sig_kill_done = Signal(object)  # engine.live_runs.KillOutcome of a bulk kill
    sig_loaded = Signal(int)

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LiveView")
        self._ctx = ctx
        self.work = BackgroundWork(self, ctx)
        # The newest reload (its sweep of dead runs, then its read): an older one is not shown.
        self._generation = 0
        self._confirm: ConfirmKillDialog | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self._stack = QStackedWidget()
        self.table = QTableView()
        self.table.setObjectName("LiveTable")
        self.model = LiveRunsModel(self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        # Qt's own delegate (no call into Python per cell); the current cell's focus frame is
        # turned off by the style sheet (`outline: none`), as NoFocusDelegate does elsewhere.
        self.table.setItemDelegate(QStyledItemDelegate(self.table))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(34)
        self.table.setMouseTracking(True)
        # Every cell, the status badge and the Kill button too, is painted by Qt from what the
        # model holds: a Python delegate is a call into Python per cell painted, each waiting
        # for the GIL while the engine thread streams (fifty rows starting or ending together
        # repainted the table with a hundred such calls: a 100 ms frame). Every row here is
        # running: the badge does not pulse (History's running rows do).
        self._fit_pictures()
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        # The last event (what it is doing, how long ago) is what a Live view is read for.
        header.setSectionResizeMode(COL_LAST, QHeaderView.ResizeMode.Stretch)
        for col, width in (
            # Fixed columns leave the last event (it says what a run waits for) room to read.
            # (At the default 1280 px they leave it about 130 px.)
            (COL_RUN, 88),
            (COL_AGENT, 120),
            (COL_MODEL, 140),
            (COL_STATUS, 100),
            (COL_ELAPSED, 72),
            (COL_TOKENS, 68),
            (COL_SINCE, 100),
            (COL_OUTPUT, 80),
            (COL_COST, 64),
            (COL_KILL, kill_button_width(self.table.font()) + 12),
        ):
            header.resizeSection(col, width)
        # Cells' icons (the badge, the Kill button) are drawn at their own size, not cut down
        # to Qt's default 16 px.
        self.table.setIconSize(QSize(160, _KILL_HEIGHT + 4))
        self.table.clicked.connect(self._on_clicked)
        self._stack.addWidget(self._build_bulk_bar())
        self.empty = QLabel(
            "<p style='font-size:15px; font-weight:600'>Nothing in flight</p>"
            "<p>Runs appear here the moment they start, from any process: the app, the CLI, "
            "cron or hooks. Dispatch a prompt from Chat or with <code>ato-desktop dispatch</code>."
            "</p>"
        )
        self.empty.setObjectName("LiveEmpty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self._stack.addWidget(self.empty)
        layout.addWidget(self._stack)
        self._stack.setCurrentWidget(self.empty)
        # A tenth of the rows' times every 100 ms (each row's once a second); dead owners once a
        # second.
        self._ticker = QTimer(self)
        self._ticker.setInterval(1000 // TICK_PARTS)
        self._ticker.timeout.connect(self._tick)
        self._ticks = 0
        self._loading = False  # a read of the live runs is under way
        self._reload_timer = QTimer(self, singleShot=True, interval=RELOAD_MS)
        self._reload_timer.timeout.connect(self.reload)
        theme = getattr(ctx, "theme", None)
        if theme is not None:
            theme.sig_theme_changed.connect(self._on_theme_changed)
        approvals = getattr(ctx, "approvals", None)
        if approvals is not None:
            approvals.sig_approval_requested.connect(self._on_approval_requested)
            approvals.sig_approval_decided.connect(self._on_approval_decided)
            approvals.sig_request_dropped.connect(self._on_approval_dropped)
        self._read_stuck_setting()

    def _on_theme_changed(self, _theme: object) -> None:
        self._fit_pictures()
        self.model.rewrite()  # the cells hold their colours and the badge's picture

    def _fit_pictures(self) -> None:
        """The badge's and the Kill button's pictures are drawn for the table's font and pixel
        ratio."""
        self.model.cell_font = self.table.font()
        self.model.pixel_ratio = self.table.devicePixelRatioF()

    def _read_stuck_setting(self) -> None:
        settings = getattr(self._ctx, "settings", None)
        if settings is not None:
            self.model.stuck_after_s = stuck_after_s(
                settings.value(STUCK_SETTING, STUCK_AFTER_S_DEFAULT)
            )

    def _build_bulk_bar(self) -> QWidget:
        """The table under a bar: "Select all stuck", "Kill selected" (Delete) and a count."""
        page = QWidget()
        page.setObjectName("LiveTablePage")
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        self.selection_label = QLabel("")
        self.selection_label.setObjectName("Muted")
        bar.addWidget(self.selection_label, 1)
        self.select_stuck_button = QPushButton("Select all stuck")
        self.select_stuck_button.setObjectName("SelectStuck")
        self.select_stuck_button.setToolTip("Select every run with no event for the threshold")
        self.select_stuck_button.clicked.connect(self.select_all_stuck)
        bar.addWidget(self.select_stuck_button)
        self.kill_selected_button = QPushButton("Kill selected")
        self.kill_selected_button.setObjectName("KillSelected")
        self.kill_selected_button.setProperty("danger", True)
        self.kill_selected_button.setToolTip("Kill the selected runs (Delete), after confirming")
        self.kill_selected_button.clicked.connect(self.confirm_kill_selected)
        bar.addWidget(self.kill_selected_button)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        self.kill_selected_action = QAction("Kill selected runs", self.table)
        self.kill_selected_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        self.kill_selected_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.kill_selected_action.triggered.connect(self.confirm_kill_selected)
        self.table.addAction(self.kill_selected_action)
        self.table.selectionModel().selectionChanged.connect(self._update_bulk_bar)
        self._table_page = page
        self._update_bulk_bar()
        return page

    def _tick(self) -> None:
        self._ticks += 1
        self.model.tick(self._ticks % TICK_PARTS, TICK_PARTS)
        if self._ticks % TICK_PARTS == 0:
            self._sweep_dead_owners()

    def set_stuck_after_s(self, seconds: float) -> None:
        """The stuck threshold changed (Settings)."""
        self.model.stuck_after_s = seconds
        self.model.tick()
        self._update_bulk_bar()

    def _update_bulk_bar(self, *_args: object) -> None:
        selected = len(self.selected_run_ids())
        stuck = len(self.model.stuck_run_ids())
        parts = [f"{plural(stuck, 'stuck run')}" if stuck else "none stuck"]
        if selected:
            parts.insert(0, f"{selected} selected")
        self.selection_label.setText(" · ".join(parts))
        self.kill_selected_button.setEnabled(selected > 0)
        self.select_stuck_button.setEnabled(stuck > 0)

    # -- bulk kill -------------------------------------------------------------------------------

    def selected_run_ids(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        items = [self.model.row_at(r) for r in rows]
        return [i.run.id for i in items if i is not None and not i.kill_requested]

    def select_all_stuck(self) -> list[str]:
        """Select every stuck run (and only those); returns their ids."""
        ids = self.model.stuck_run_ids()
        selection = self.table.selectionModel()
        selection.clearSelection()
        flags = selection.SelectionFlag.Select | selection.SelectionFlag.Rows
        for run_id in ids:
            row = self.model.row_of(run_id)
            if row is not None:
                selection.select(self.model.index(row, 0), flags)
        self._update_bulk_bar()
        if not ids:
            self._ctx.status("No run is stuck.")
        return ids

    def confirm_kill_selected(self) -> ConfirmKillDialog | None:
        """Ask once for the whole selection ("Kill 10 runs?"); one run asks as a row's Kill."""
        ids = self.selected_run_ids()
        if not ids:
            return None
        if len(ids) == 1:
            return self.confirm_kill(ids[0])
        stuck = set(self.model.stuck_run_ids())
        stuck_note = f" ({len(stuck & set(ids))} of them stuck)" if stuck & set(ids) else ""
        box = ConfirmKillDialog(
            f"Kill {len(ids)} runs{stuck_note}? Each stops within a second and ends as killed; "
            "the output streamed so far is kept in the log.",
            self,
            title=f"Kill {len(ids)} runs?",
            button=f"Kill {len(ids)} runs",
        )
        box.accepted.connect(lambda: self.kill_many(ids))
        self._confirm = box
        box.open()
        return box

    def kill_many(self, run_ids: list[str]) -> None:
        """Kill these runs in one action: this process's at once, others' through the log."""
        workspace = self._ctx.workspace
        if workspace is None or not run_ids:
            return
        for run_id in run_ids:
            self.model.update_row(run_id, kill_requested=True)
        self.table.clearSelection()
        self._ctx.spawn(self._kill_many(list(run_ids)), what="kill the runs")

    async def _kill_many(self, run_ids: list[str]) -> None:
        live = self._ctx.workspace.live
        outcome = await self._ctx.engine_run(live.kill_anywhere(run_ids))
        for run_id in run_ids:
            self.sig_kill_requested.emit(run_id)
        text = f"Killing {plural(outcome.count, 'run')}…"
        if outcome.ended:
            text += f" ({len(outcome.ended)} had already ended)"
        self._ctx.status(text)
        self.sig_kill_done.emit(outcome)
        if outcome.ended and self.work.alive():
            self.schedule_reload()

    # -- data ----------------------------------------------------------------------------------

    def schedule_reload(self) -> None:
        """A run started or ended somewhere: read the list again (bursts coalesce; while the
        list is hidden, for the counts, at most twice a second)."""
        if not self._reload_timer.isActive():
            self._reload_timer.start(RELOAD_MS if self.isVisible() else HIDDEN_RELOAD_MS)

    def reload(self) -> None:
        if self._ctx.workspace is None:
            return
        self._loading = True
        self._generation += 1
        self._ctx.spawn(self._load(self._generation), what="list live runs")

    async def _load(self, generation: int) -> None:
        workspace = self._ctx.workspace
        store = workspace.store
        # Runs of processes that died since (kill -9, a crash) end `interrupted` first.
        await self._ctx.engine_run(workspace.live.sweep_dead_owners())
        summaries = await self.work.fetch(live_run_summaries, store)
        if generation != self._generation:
            return
        self._loading = False
        rows = [_row(s) for s in summaries]
        approvals = getattr(self._ctx, "approvals", None)
        if approvals is not None:
            waiting = {r.run_id: r for r in reversed(approvals.pending())}
            rows = [
                replace(row, **_waiting_changes(waiting[row.run.id]))
                if row.run.id in waiting
                else row
                for row in rows
            ]
        self.model.set_rows(rows)
        self._after_change()
        self.sig_loaded.emit(len(summaries))

    def on_run_progressed(self, run_id: str, output_chars: int, at_ms: int) -> None:
        # Every run in flight checkpoints once a second: shown at the clock's next tick (all
        # rows at once), not a repaint of the row per checkpoint.
        self.model.update_row(
            run_id,
            repaint=not self._ticker.isActive(),
            output_chars=output_chars,
            last_event="streaming",
            last_event_at=at_ms,
        )

    def _sweep_dead_owners(self) -> None:
        """While runs show, a process that died (kill -9) has its runs ended `interrupted`
        (their RunFailed events then take the rows away); the registry limits how often."""
        workspace = self._ctx.workspace
        if workspace is not None and not self._ctx.closing:
            self._ctx.spawn(
                self._ctx.engine_run(workspace.live.sweep_dead_owners()),
                what="check for dead runs",
            )

    def on_action_started(self, run_id: str, name: str, at_ms: int) -> None:
        row = self.model.row_of(run_id)
        item = self.model.row_at(row) if row is not None else None
        if item is not None and item.waiting:
            return
        self.model.update_row(run_id, last_event=f"running {name}", last_event_at=at_ms)

    def on_kill_requested(self, run_ids: tuple[str, ...]) -> None:
        """Someone (this window, the CLI, another window) asked to kill these runs."""
        for run_id in run_ids:
            self.model.update_row(run_id, kill_requested=True)

    def on_action_created(self, run_id: str, name: str) -> None:
        row = self.model.row_of(run_id)
        item = self.model.row_at(row) if row is not None else None
        if item is not None and item.waiting:
            return  # the wait is what matters (an action of it was just recorded)
        self.model.update_row(run_id, last_event=f"{name} done", last_event_at=now_ms())

    # -- approvals -------------------------------------------------------------------------------

    def _on_approval_requested(self, request: Any) -> None:
        self.model.update_row(request.run_id, **_waiting_changes(request))

    def _on_approval_decided(self, decision: Any) -> None:
        verb = "approved" if decision.approved else "denied"
        self.model.update_row(
            decision.request.run_id,
            last_event=f"{verb} {decision.request.tool}",
            last_event_at=now_ms(),
            waiting=False,
        )

    def _on_approval_dropped(self, request: Any) -> None:
        self.model.update_row(request.run_id, waiting=False)

    def on_run_ended(self, run_id: str) -> None:
        if self.model.row_of(run_id) is None:
            # Never shown here. A read under way may still list it as running: read again.
            if self._loading:
                self.schedule_reload()
            return
        self.model.remove(run_id)
        self._after_change()
        self.schedule_reload()

    def _after_change(self) -> None:
        count = self.model.rowCount()
        self._stack.setCurrentWidget(self._table_page if count else self.empty)
        self._update_bulk_bar()
        self._update_clocks()
        self.sig_count_changed.emit(count)

    # -- clocks (display only) -------------------------------------------------------------------

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self._read_stuck_setting()  # it may have changed in Settings meanwhile
        if self._reload_timer.isActive():  # waiting at the hidden pace: read it now
            self._reload_timer.start(0)
        self._update_clocks()

    def hideEvent(self, event: Any) -> None:
        super().hideEvent(event)
        self._update_clocks()

    def _update_clocks(self) -> None:
        active = self.isVisible() and self.model.rowCount() > 0
        if active and not self._ticker.isActive():
            self._ticker.start()
        elif not active:
            self._ticker.stop()

    # -- kill ----------------------------------------------------------------------------------

    def _on_clicked(self, index: QModelIndex) -> None:
        run_id = index.data(RUN_ID_ROLE)
        if not run_id:
            return
        if index.column() == COL_KILL:
            if index.data(KILL_ROLE) == "kill":
                self.confirm_kill(str(run_id))
            return
        selecting = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
        if QApplication.keyboardModifiers() & selecting:
            return  # extending the selection (for a bulk kill), not opening the run
        self.sig_run_clicked.emit(str(run_id))

    def confirm_kill(self, run_id: str) -> ConfirmKillDialog:
        """Ask before killing (a non-blocking dialog); "Kill run" kills."""
        row = self.model.row_of(run_id)
        item = self.model.row_at(row) if row is not None else None
        who = f" of {item.run.agent_name}" if item is not None and item.run.agent_name else ""
        box = ConfirmKillDialog(
            f"Kill run {short_id(run_id)}{who}? It stops at once and ends as killed; the output "
            "streamed so far is kept in the log.",
            self,
        )
        box.accepted.connect(lambda: self.kill(run_id))
        self._confirm = box
        box.open()
        return box

    def kill(self, run_id: str) -> None:
        """Kill a run: this process's dispatches at once, others through the log's flag."""
        workspace = self._ctx.workspace
        if workspace is None:
            return
        self.model.update_row(run_id, kill_requested=True)
        self._ctx.spawn(self._kill(run_id), what="kill the run")
        self.sig_kill_requested.emit(run_id)

    async def _kill(self, run_id: str) -> None:
        workspace = self._ctx.workspace
        # This window's own dispatches run on the engine's loop: cancelled there, at once.
        if await self._ctx.engine_call(workspace.live.kill, [run_id]):
            self._ctx.status(f"Killing run {short_id(run_id)}…")
            return
        flagged = await self._ctx.engine_run(workspace.live.kill_anywhere([run_id]))
        if not self.work.alive():
            return
        if flagged.requested:
            self._ctx.status(
                f"Asked the process running {short_id(run_id)} to kill it; it stops within a "
                "second."
            )
        else:
            self._ctx.status(f"Run {short_id(run_id)} had already ended.")
            self.schedule_reload()
