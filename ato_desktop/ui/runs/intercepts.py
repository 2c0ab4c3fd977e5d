"""Critical intercepts: the runs that need attention, in a compact, collapsible strip above the
run list (failed runs, the run that took an agent over its daily budget, runs where many
actions ended in error or were blocked). Most recent first; a click opens the run.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRectF,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.cost_rollup import format_cost
from ato_desktop.core.records import RunFilter
from ato_desktop.store.run_queries import (
    BURN_RATE,
    ERROR_RATE,
    FAILED,
    HIGH_ERROR_RATE,
    OVER_BUDGET,
    Intercept,
    critical_intercepts,
)
from ato_desktop.ui.runs.columns import id_font
from ato_desktop.ui.runs.formatting import ago, short_id
from ato_desktop.ui.theme import current_theme
from ato_desktop.ui.widgets.background import BackgroundWork
from ato_desktop.ui.widgets.cell_painting import paint_cell_background
from ato_desktop.ui.widgets.status_badge import paint_pill, pill_width

_ROOT = QModelIndex()  # the default parent (one instance, never changed)

log = logging.getLogger(__name__)

INTERCEPT_ROLE = int(Qt.ItemDataRole.UserRole) + 1  # Intercept
RUN_ID_ROLE = int(Qt.ItemDataRole.UserRole) + 2
REASON_LABELS = {
    FAILED: "Failed",
    OVER_BUDGET: "Over budget",
    ERROR_RATE: "High error rate",
    BURN_RATE: "Spend spike",
}
_REASON_COLOURS = {
    FAILED: "failed",
    OVER_BUDGET: "warning",
    ERROR_RATE: "warning",
    BURN_RATE: "failed",
}
VISIBLE_ROWS = 4
ROW_HEIGHT = 28


def intercept_detail(item: Intercept) -> str:
    """What went wrong, in a few words."""
    run = item.run
    parts: list[str] = []
    if FAILED in item.reasons:
        error = run.error_class or "error"
        message = (run.error_message or "").strip().splitlines()
        parts.append(f"{error}: {message[0][:120]}" if message else error)
    if ERROR_RATE in item.reasons and item.bad_actions is not None:
        parts.append(
            f"{item.bad_actions} of {run.action_count} action"
            f"{'s' if run.action_count != 1 else ''} failed or blocked"
        )
    if OVER_BUDGET in item.reasons and item.day_spend_usd is not None:
        spend = format_cost(item.day_spend_usd, "provider")
        budget = format_cost(item.budget_usd, "provider")
        parts.append(f"agent spent {spend} that day, budget {budget}/day")
    if BURN_RATE in item.reasons and item.burn is not None:
        parts.append(f"agent {item.burn.describe()}")
    return " · ".join(parts)


class InterceptsModel(QAbstractListModel):
    """Intercepts, most recent first."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._items: list[Intercept] = []

    def set_intercepts(self, items: list[Intercept]) -> None:
        self.beginResetModel()
        self._items = list(items)
        self.endResetModel()

    def intercept_at(self, row: int) -> Intercept | None:
        return self._items[row] if 0 <= row < len(self._items) else None

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        item = self._items[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            reasons = ", ".join(REASON_LABELS.get(r, r) for r in item.reasons)
            agent = item.run.agent_name or item.run.model
            return f"{reasons}: run {short_id(item.run.id)} ({agent}) {intercept_detail(item)}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"Run {item.run.id}\n{intercept_detail(item)}\nClick to open the run."
        if role == INTERCEPT_ROLE:
            return item
        if role == RUN_ID_ROLE:
            return item.run.id
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


class InterceptDelegate(QStyledItemDelegate):
    """One line: reason pills, run id, agent, what went wrong, when."""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        item = index.data(INTERCEPT_ROLE)
        opt = paint_cell_background(self, painter, option, index)
        if not isinstance(item, Intercept):
            return
        theme = current_theme()
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        rect = QRectF(opt.rect).adjusted(10, 0, -10, 0)
        # Fixed columns (reasons, run, agent) so the rows line up like a table.
        reasons_width = (
            pill_width(REASON_LABELS[FAILED], opt.font)
            + pill_width(REASON_LABELS[ERROR_RATE], opt.font)
            + 12
        )
        x = rect.left()
        painter.save()
        painter.setClipRect(QRectF(x, rect.top(), reasons_width, rect.height()))
        for reason in item.reasons:
            colour = theme.color(_REASON_COLOURS.get(reason, "neutral"))
            label = REASON_LABELS.get(reason, reason)
            drawn = paint_pill(
                painter,
                QRectF(x, rect.top(), pill_width(label, opt.font), rect.height()),
                label,
                QColor(theme.accent_text) if selected else colour,
                opt.font,
            )
            x = drawn.right() + 6
        painter.restore()
        x = rect.left() + reasons_width
        painter.save()
        text_colour = QColor(theme.accent_text if selected else theme.text)
        muted = QColor(theme.accent_text if selected else theme.text_muted)
        align = int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft)
        mono = id_font()
        painter.setFont(mono)
        painter.setPen(muted)
        run_width = QFontMetrics(mono).horizontalAdvance("0" * 8) + 14
        painter.drawText(
            QRectF(x, rect.top(), run_width, rect.height()), align, short_id(item.run.id)
        )
        x += run_width
        bold = QFont(opt.font)
        bold.setWeight(QFont.Weight.DemiBold)
        bold_metrics = QFontMetrics(bold)
        agent = item.run.agent_name or f"{item.run.runtime} · {item.run.model}"
        agent_width = 170
        painter.setFont(bold)
        painter.setPen(text_colour)
        painter.drawText(
            QRectF(x, rect.top(), agent_width - 10, rect.height()),
            align,
            bold_metrics.elidedText(agent, Qt.TextElideMode.ElideRight, agent_width - 16),
        )
        x += agent_width
        metrics = QFontMetrics(opt.font)
        when = ago(item.run.started_at)
        when_width = metrics.horizontalAdvance("00 min ago") + 6
        painter.setFont(opt.font)
        painter.setPen(muted)
        detail_width = max(0.0, rect.right() - when_width - x - 8)
        detail = metrics.elidedText(
            intercept_detail(item), Qt.TextElideMode.ElideRight, int(detail_width)
        )
        painter.drawText(QRectF(x, rect.top(), detail_width, rect.height()), align, detail)
        painter.drawText(
            QRectF(rect.right() - when_width, rect.top(), when_width, rect.height()),
            int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight),
            when,
        )
        painter.restore()

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        return QSize(400, ROW_HEIGHT)


class InterceptsPanel(QFrame):
    """A collapsible card: a header with the count, then a short list or an empty state."""

    sig_run_clicked = Signal(str)  # run id
    sig_collapsed_changed = Signal(bool)
    sig_loaded = Signal(int)  # how many intercepts are shown

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.work = BackgroundWork(self, ctx)
        self.setObjectName("InterceptsPanel")
        self._collapsed = False

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(4)
        header = QHBoxLayout()
        header.setSpacing(8)
        self.toggle = QToolButton()
        self.toggle.setObjectName("InterceptsToggle")
        self.toggle.setAutoRaise(True)
        self.toggle.setCheckable(True)
        self.toggle.setChecked(True)
        self.toggle.setArrowType(Qt.ArrowType.DownArrow)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setText("Critical intercepts")
        self.toggle.setToolTip("Show or hide the runs that need attention")
        self.toggle.toggled.connect(lambda expanded: self.set_collapsed(not expanded))
        header.addWidget(self.toggle)
        self.count_label = QLabel("")
        self.count_label.setObjectName("InterceptsCount")
        header.addWidget(self.count_label)
        self.hint = QLabel(
            f"failed · over daily budget · spend spikes · ≥ {HIGH_ERROR_RATE:.0%} of actions "
            "failed or blocked · most recent first"
        )
        self.hint.setObjectName("Muted")
        header.addWidget(self.hint, 1)
        layout.addLayout(header)

        self._body = QStackedWidget()
        self.list = QListView()
        self.list.setObjectName("InterceptsList")
        self.model = InterceptsModel(self)
        self.list.setModel(self.model)
        self.list.setItemDelegate(InterceptDelegate(self.list))
        self.list.setUniformItemSizes(True)
        self.list.setMouseTracking(True)
        self.list.setCursor(Qt.CursorShape.PointingHandCursor)
        self.list.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.list.setFrameShape(QFrame.Shape.NoFrame)
        self.list.clicked.connect(self._on_clicked)
        self.list.activated.connect(self._on_clicked)
        self.empty = QLabel("")
        self.empty.setObjectName("InterceptsEmpty")
        self.empty.setWordWrap(True)
        self.empty.setContentsMargins(4, 2, 4, 4)
        self._body.addWidget(self.list)
        self._body.addWidget(self.empty)
        layout.addWidget(self._body)
        self._show_empty("Looking for runs that need attention…")

    @property
    def collapsed(self) -> bool:
        return self._collapsed

    def set_collapsed(self, collapsed: bool) -> None:
        self._collapsed = collapsed
        self._body.setVisible(not collapsed)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow if collapsed else Qt.ArrowType.DownArrow)
        if self.toggle.isChecked() == collapsed:
            self.toggle.blockSignals(True)
            self.toggle.setChecked(not collapsed)
            self.toggle.blockSignals(False)
        self.hint.setVisible(not collapsed)
        self.sig_collapsed_changed.emit(collapsed)

    def refresh(self, flt: RunFilter) -> None:
        """Re-read the intercepts among the runs that pass flt, every filter of the Runs page
        (off the UI thread)."""
        if self._ctx.workspace is None:
            return
        self._ctx.spawn(self._load(flt), what="find intercepts")

    async def _load(self, flt: RunFilter) -> None:
        # The newest filter's intercepts only (self.work.read): an older read is dropped.
        store = self._ctx.workspace.store
        try:
            items = await self.work.read(critical_intercepts, store, flt)
        except Exception as exc:
            log.exception("could not read intercepts")
            self._show_empty(f"Could not look for intercepts: {exc}")
            return
        self.model.set_intercepts(items)
        if items:
            self._body.setCurrentWidget(self.list)
            rows = min(len(items), VISIBLE_ROWS)
            self.list.setFixedHeight(rows * ROW_HEIGHT + 2 * self.list.frameWidth() + 2)
            self._body.setFixedHeight(self.list.height())
            more = "+" if len(items) >= 50 else ""
            self.count_label.setText(f"{len(items)}{more}")
            self.count_label.setProperty("state", "alert")
        else:
            self._show_empty(
                "✓ Nothing needs attention here: no failed runs, no agent over its daily "
                "budget, no run where most actions failed or were blocked."
            )
            self.count_label.setText("0")
            self.count_label.setProperty("state", "ok")
        self.count_label.style().unpolish(self.count_label)
        self.count_label.style().polish(self.count_label)
        self.sig_loaded.emit(len(items))

    def _show_empty(self, text: str) -> None:
        self.empty.setText(text)
        self._body.setCurrentWidget(self.empty)
        self._body.setFixedHeight(self.empty.sizeHint().height() + 2)

    def _on_clicked(self, index: QModelIndex) -> None:
        run_id = index.data(RUN_ID_ROLE)
        if run_id:
            self.sig_run_clicked.emit(str(run_id))


def intercepts_stylesheet() -> str:
    t = current_theme()
    alert = QColor(t.failed)
    return f"""
    QFrame#InterceptsPanel {{ background: {t.surface}; border: 1px solid {t.border};
        border-left: 3px solid {t.failed}; border-radius: 8px; }}
    QToolButton#InterceptsToggle {{ font-weight: 600; border: none; padding: 2px; }}
    QLabel#InterceptsCount {{ border-radius: 8px; padding: 0px 7px; font-weight: 600; }}
    QLabel#InterceptsCount[state="alert"] {{ background: rgba({alert.red()}, {alert.green()},
        {alert.blue()}, 40); color: {t.failed}; }}
    QLabel#InterceptsCount[state="ok"] {{ background: {t.surface_alt}; color: {t.completed}; }}
    QLabel#InterceptsEmpty {{ color: {t.text_muted}; }}
    QListView#InterceptsList {{ border: none; border-radius: 0px; }}
    """
