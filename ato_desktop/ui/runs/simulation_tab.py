"""The Simulation tab of run details: a zero-cost replay of the open run against its agent's
current configuration (`engine.simulation.simulate`), and where behaviour would diverge.

No model is called and no tool with side effects runs: answers come from the recording, so a
simulation makes no network call and costs $0. What ATO computes itself (the request it would
send now) is computed again, and read-only local tools run again, so an edited system prompt, a
new model or a denied tool shows up as a divergence. Each simulation is recorded as a run of its
own (trigger replay, tag simulation); the tab links to it.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QItemSelection,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.cost_rollup import format_cost
from ato_desktop.core.figures import DASH, rate_text
from ato_desktop.core.records import RunRecord
from ato_desktop.core.simulation import (
    ACTION_MISMATCH,
    INPUT_MISMATCH,
    MATCH,
    OUTPUT_MISMATCH,
    SimRow,
)
from ato_desktop.ui.bridge import connect_for
from ato_desktop.ui.runs.formatting import short_id
from ato_desktop.ui.theme import Theme, current_theme
from ato_desktop.ui.widgets.background import BackgroundWork
from ato_desktop.ui.widgets.record_model import RecordTableModel
from ato_desktop.ui.widgets.record_table import record_table

log = logging.getLogger(__name__)

SIMULATION_TAB = "simulation"

COL_ACTION, COL_ORIGINAL, COL_REPLAY, COL_STATUS = range(4)
_HEADERS = ("Action", "Original", "Replay", "Status")
KIND_ROLE = Qt.ItemDataRole.UserRole + 1  # "match" | one of the divergence kinds

_KIND_LABELS = {
    MATCH: "✓ Match",
    ACTION_MISMATCH: "✗ Action name mismatch",
    INPUT_MISMATCH: "✗ Input mismatch",
    OUTPUT_MISMATCH: "✗ Output mismatch",
}
_KIND_HELP = {
    MATCH: "The replay did what the recording did.",
    ACTION_MISMATCH: "A different action would be called: the flow would take another step.",
    INPUT_MISMATCH: "Same action, different inputs: what ATO would send now differs.",
    OUTPUT_MISMATCH: "Same inputs, different outputs: this step is non-deterministic.",
}

INTRO = (
    "Simulate replay walks this run again, action by action, against {config}. Model answers "
    "and tools with side effects come from the recording: no network call, $0. What ATO "
    "computes itself (the request it would send now) is computed again, and read-only local "
    "tools run again.\n\nEdit the agent's prompt, model or tools, then simulate to see where "
    "behaviour would diverge, before spending anything."
)


def row_kind(row: SimRow) -> str:
    """MATCH or the row's divergence kind (a divergence without a kind counts as output)."""
    if row.status == MATCH:
        return MATCH
    return row.divergence or OUTPUT_MISMATCH


def kind_label(kind: str) -> str:
    return _KIND_LABELS.get(kind, f"✗ {kind.capitalize()}")


def kind_colour(kind: str, theme: Theme | None = None) -> str:
    t = theme or current_theme()
    return {
        MATCH: t.completed,
        INPUT_MISMATCH: t.warning,
        ACTION_MISMATCH: t.failed,
        OUTPUT_MISMATCH: t.failed,
    }.get(kind, t.failed)


@dataclass(frozen=True, slots=True)
class SimulationFigures:
    """The result card's texts."""

    original: str
    replay: str
    savings: str
    divergences: str
    match_rate: str


def figures(result: Any, run: RunRecord | None) -> SimulationFigures:
    """Texts for a SimulationResult; an unknown original cost is never shown as $0."""
    summary = result.summary
    source = run.cost_source if run is not None else None
    # As the run header: "—" when no cost was recorded, "unknown" (never $0) when unpriced.
    original = format_cost(summary.original_cost_usd, source)
    if source is None:
        savings = "—"
    elif source == "unknown" or summary.savings_usd is None:
        savings = "unknown"
    else:
        savings = format_cost(summary.savings_usd, source)
    return SimulationFigures(
        original=original,
        replay=format_cost(summary.replay_cost_usd, "provider"),
        savings=savings,
        divergences=f"{summary.divergences:,}",
        match_rate=rate_text(summary.match_rate, fine=True),
    )


# -- the comparison table ------------------------------------------------------------------------


class SimRowsModel(RecordTableModel):
    """Action | Original | Replay | Status, one line per compared input or output."""

    HEADERS = _HEADERS

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._all: list[SimRow] = []
        self._only_divergences = False

    def set_rows(self, rows: Any) -> None:
        self.beginResetModel()
        self._all = list(rows)
        self._apply_filter()
        self.endResetModel()

    def set_only_divergences(self, only: bool) -> None:
        self.beginResetModel()
        self._only_divergences = only
        self._apply_filter()
        self.endResetModel()

    def _apply_filter(self) -> None:
        if self._only_divergences:
            self._records = [r for r in self._all if r.status != MATCH]
        else:
            self._records = list(self._all)

    def row(self, index: int) -> SimRow | None:
        found: SimRow | None = self.record(index)
        return found

    def rows(self) -> list[SimRow]:
        return self.records()

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid():
            return None
        row = self.row(index.row())
        if row is None:
            return None
        column = index.column()
        kind = row_kind(row)
        if role == Qt.ItemDataRole.DisplayRole:
            if column == COL_ACTION:
                return f"#{row.seq}  {row.action}"
            if column == COL_ORIGINAL:
                return f"{row.aspect}: {row.original}"
            if column == COL_REPLAY:
                return f"{row.aspect}: {row.replay}"
            if column == COL_STATUS:
                return kind_label(kind)
        elif role == KIND_ROLE:
            return kind
        elif role == Qt.ItemDataRole.ForegroundRole and column == COL_STATUS:
            return QColor(kind_colour(kind))
        elif role == Qt.ItemDataRole.ToolTipRole:
            if column == COL_STATUS:
                return row.detail or _KIND_HELP.get(kind, "")
            if column in (COL_ORIGINAL, COL_REPLAY):
                return row.original if column == COL_ORIGINAL else row.replay
        return None


# -- the tab -------------------------------------------------------------------------------------


class _Figure(QWidget):
    def __init__(self, caption: str, key: str) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.caption = QLabel(caption)
        self.caption.setObjectName("StatCaption")
        self.value = QLabel(DASH)
        self.value.setObjectName(f"SimFigure_{key}")
        self.value.setProperty("stat", True)
        self.value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.caption)
        layout.addWidget(self.value)


class SimulationTab(QWidget):
    """Simulate the open run and show what would diverge."""

    sig_simulation_started = Signal(str)  # source run id
    sig_simulation_finished = Signal(str, object)  # source run id, SimulationResult
    sig_simulation_failed = Signal(str, str)  # source run id, message

    PAGE_INTRO, PAGE_BUSY, PAGE_RESULT, PAGE_MESSAGE = range(4)

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SimulationTab")
        self._ctx = ctx
        self.work = BackgroundWork(self, ctx)
        self._run: RunRecord | None = None
        self._busy: set[str] = set()
        self._results: dict[str, Any] = {}  # source run id -> its latest SimulationResult
        self._errors: dict[str, str] = {}
        self._shown_result: Any = None
        self._pending: str | None = None  # simulate this run once it has loaded
        self._outdated: set[str] = set()  # results simulated before an agent was edited

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(10)

        top = QHBoxLayout()
        top.setSpacing(12)
        titles = QVBoxLayout()
        titles.setSpacing(2)
        title = QLabel("Zero-cost simulation")
        title.setObjectName("SectionTitle")
        titles.addWidget(title)
        self.subtitle = QLabel("Replays the recording: no network call, $0.")
        self.subtitle.setObjectName("Muted")
        self.subtitle.setWordWrap(True)
        titles.addWidget(self.subtitle)
        top.addLayout(titles, 1)
        self.simulate_button = QPushButton("Simulate replay")
        self.simulate_button.setObjectName("SimulateButton")
        self.simulate_button.setProperty("primary", True)
        self.simulate_button.setToolTip("Replay this run for free against the current config (R)")
        self.simulate_button.clicked.connect(self.simulate)
        top.addWidget(self.simulate_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(top)

        self.source_note = QLabel("")
        self.source_note.setObjectName("SimSourceNote")
        self.source_note.setWordWrap(True)
        self.source_note.setTextFormat(Qt.TextFormat.RichText)
        self.source_note.linkActivated.connect(self._open_link)
        self.source_note.hide()
        layout.addWidget(self.source_note)

        self.pages = QStackedWidget()
        self.pages.addWidget(self._build_intro())
        self.pages.addWidget(self._build_busy())
        self.pages.addWidget(self._build_result())
        self.pages.addWidget(self._build_message())
        layout.addWidget(self.pages, 1)
        self._show_page(self.PAGE_INTRO)
        self.setFocusProxy(self.simulate_button)
        self.apply_theme(current_theme())
        if getattr(ctx, "theme", None) is not None:
            ctx.theme.sig_theme_changed.connect(self.apply_theme)

    def apply_theme(self, theme: Theme) -> None:
        self.setStyleSheet(simulation_stylesheet(theme))
        if self._shown_result is not None:
            self._colour_divergences(self._shown_result.summary.divergences)
        self.table.viewport().update()

    def _colour_divergences(self, count: int) -> None:
        t = current_theme()
        colour = t.completed if count == 0 else t.failed
        self.figures["divergences"].value.setStyleSheet(f"color: {colour};")

    # -- building --------------------------------------------------------------------------------

    def _build_intro(self) -> QWidget:
        page = QFrame()
        page.setObjectName("SimIntro")
        column = QVBoxLayout(page)
        column.setContentsMargins(4, 8, 4, 4)
        self.intro_text = QLabel(INTRO.format(config="the agent's current configuration"))
        self.intro_text.setObjectName("SimIntroText")
        self.intro_text.setWordWrap(True)
        self.intro_text.setProperty("muted", True)
        column.addWidget(self.intro_text)
        column.addStretch(1)
        return page

    def _build_busy(self) -> QWidget:
        page = QWidget()
        column = QVBoxLayout(page)
        column.setContentsMargins(4, 8, 4, 4)
        self.busy_text = QLabel("Simulating…")
        self.busy_text.setObjectName("SimBusyText")
        column.addWidget(self.busy_text)
        self.progress = QProgressBar()
        self.progress.setObjectName("SimProgress")
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(6)
        column.addWidget(self.progress)
        column.addStretch(1)
        return page

    def _build_message(self) -> QWidget:
        page = QWidget()
        column = QVBoxLayout(page)
        column.setContentsMargins(4, 8, 4, 4)
        self.message_frame = QFrame()
        self.message_frame.setObjectName("SimMessage")
        inner = QVBoxLayout(self.message_frame)
        inner.setContentsMargins(12, 10, 12, 10)
        self.message_title = QLabel("")
        self.message_title.setObjectName("SimMessageTitle")
        inner.addWidget(self.message_title)
        self.message_text = QLabel("")
        self.message_text.setObjectName("SimMessageText")
        self.message_text.setWordWrap(True)
        self.message_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        inner.addWidget(self.message_text)
        column.addWidget(self.message_frame)
        column.addStretch(1)
        return page

    def _build_result(self) -> QWidget:
        page = QWidget()
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(8)

        card = QFrame()
        card.setObjectName("RunStats")
        grid = QGridLayout(card)
        grid.setContentsMargins(14, 8, 14, 8)
        grid.setHorizontalSpacing(26)
        self.figures: dict[str, _Figure] = {}
        for col, (caption, key) in enumerate(
            (
                ("Original cost", "original"),
                ("Replay cost", "replay"),
                ("Savings", "savings"),
                ("Divergences", "divergences"),
                ("Match rate", "match_rate"),
            )
        ):
            figure = _Figure(caption, key)
            grid.addWidget(figure, 0, col)
            self.figures[key] = figure
        grid.setColumnStretch(len(self.figures), 1)
        column.addWidget(card)

        info = QHBoxLayout()
        info.setSpacing(10)
        self.result_note = QLabel("")
        self.result_note.setObjectName("SimResultNote")
        self.result_note.setWordWrap(True)
        self.result_note.setTextFormat(Qt.TextFormat.RichText)
        self.result_note.linkActivated.connect(self._open_link)
        info.addWidget(self.result_note, 1)
        self.only_divergences = QCheckBox("Only divergences")
        self.only_divergences.setObjectName("SimOnlyDivergences")
        self.only_divergences.toggled.connect(self._on_filter_toggled)
        info.addWidget(self.only_divergences)
        column.addLayout(info)

        self.model = SimRowsModel(self)
        self.table = record_table("SimTable", self.model)
        self.table.setAlternatingRowColors(True)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(COL_ACTION, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL_ORIGINAL, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COL_REPLAY, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COL_STATUS, QHeaderView.ResizeMode.ResizeToContents)
        header.resizeSection(COL_ACTION, 170)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)

        self.detail = QFrame()
        self.detail.setObjectName("SimDetail")
        detail = QVBoxLayout(self.detail)
        detail.setContentsMargins(12, 10, 12, 10)
        detail.setSpacing(6)
        self.detail_title = QLabel("")
        self.detail_title.setObjectName("SimDetailTitle")
        self.detail_title.setTextFormat(Qt.TextFormat.RichText)
        detail.addWidget(self.detail_title)
        self.detail_change = QLabel("")
        self.detail_change.setObjectName("SimDetailChange")
        self.detail_change.setWordWrap(True)
        self.detail_change.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        detail.addWidget(self.detail_change)
        self.detail_text = QLabel("")
        self.detail_text.setObjectName("SimDetailText")
        self.detail_text.setWordWrap(True)
        self.detail_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        detail.addWidget(self.detail_text)
        sides = QHBoxLayout()
        sides.setSpacing(8)
        self.detail_original = self._side("Original (recorded)", sides)
        self.detail_replay = self._side("Replay (now)", sides)
        detail.addLayout(sides)
        detail.addStretch(1)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        column.addWidget(splitter, 1)
        return page

    def _side(self, caption: str, row: QHBoxLayout) -> QPlainTextEdit:
        box = QVBoxLayout()
        box.setSpacing(2)
        label = QLabel(caption)
        label.setObjectName("StatCaption")
        box.addWidget(label)
        text = QPlainTextEdit()
        text.setReadOnly(True)
        text.setObjectName("SimDetailSide")
        text.setMinimumHeight(44)
        text.setMaximumHeight(110)
        box.addWidget(text, 1)
        row.addLayout(box, 1)
        return text

    # -- following the open run ------------------------------------------------------------------

    @classmethod
    def attach(cls, ctx: Any, details: Any, title: str = "Simulation") -> SimulationTab:
        """A tab in run details (RunDetailsView) that follows its open run."""
        tab = cls(ctx)
        details.add_tab(SIMULATION_TAB, tab, title)
        details.sig_run_loaded.connect(lambda bundle: tab.set_run(bundle.run))
        details.sig_run_updated.connect(tab.set_run)
        details.sig_run_ended.connect(lambda run, _notice: tab.set_run(run))
        bridge = getattr(ctx, "bridge", None)
        if bridge is not None:
            connect_for(tab, bridge.sig_config_changed, lambda _event: tab.on_config_changed())
        return tab

    def on_config_changed(self) -> None:
        """An agent was edited: the results so far describe the configuration before it."""
        self._outdated.update(self._results)
        run = self._run
        if run is not None and run.id in self._results:
            self._refresh()  # the note says so; the table and its selection stay

    @property
    def run(self) -> RunRecord | None:
        return self._run

    def result(self, run_id: str | None = None) -> Any:
        """The latest simulation of a run (default: the open one) in this session, or None."""
        key = run_id or (self._run.id if self._run is not None else None)
        return self._results.get(key) if key else None

    def set_run(self, run: RunRecord) -> None:
        changed = self._run is None or self._run.id != run.id
        previous_status = self._run.status if self._run is not None else None
        self._run = run
        if changed or previous_status != run.status:
            self._refresh()
        if self._pending == run.id:
            self._pending = None
            self.simulate()

    def simulate_run(self, run_id: str) -> None:
        """Simulate run_id now if it is the open run, else as soon as it has loaded."""
        if self._run is not None and self._run.id == run_id:
            self._pending = None
            self.simulate()
        else:
            self._pending = run_id

    def _refresh(self) -> None:
        run = self._run
        if run is None:
            return
        config = (
            f"the current configuration of {html.escape(run.agent_name or 'its agent')}"
            if run.agent_id
            else "the configuration the run recorded"
        )
        self.subtitle.setText(
            f"Replays run {short_id(run.id)} against {config}: no network call, $0."
        )
        self.intro_text.setText(INTRO.format(config=config))
        self._show_source_note(run)
        running = run.status == "running"
        busy = run.id in self._busy
        self.simulate_button.setEnabled(not running and not busy)
        self.simulate_button.setText(
            "Simulate again" if run.id in self._results else "Simulate replay"
        )
        if busy:
            self._show_page(self.PAGE_BUSY)
        elif running:
            self._show_message(
                "This run is still running",
                "It can be simulated when it has finished: a simulation replays a complete "
                "recording. This tab enables Simulate replay as soon as the run ends.",
                "neutral",
            )
        elif run.id in self._results:
            self._show_result(self._results[run.id])
        elif run.id in self._errors:
            self._show_message("Simulation not available", self._errors[run.id], "failed")
        elif run.action_count == 0:
            self._show_message(
                "Nothing to simulate",
                "This run recorded no actions, so there is nothing to replay.",
                "neutral",
            )
            self.simulate_button.setEnabled(False)
        else:
            self._show_page(self.PAGE_INTRO)

    def _show_source_note(self, run: RunRecord) -> None:
        if str(run.tags.get("simulation", "")).lower() == "true" and run.replay_of:
            self.source_note.setText(
                f"This run is itself a simulation of run "
                f"<a href='run:{html.escape(run.replay_of)}'>{short_id(run.replay_of)}</a>."
            )
            self.source_note.show()
        else:
            self.source_note.hide()

    # -- simulating ------------------------------------------------------------------------------

    def simulate(self) -> bool:
        """Start a simulation of the open run; False (and says why) when it cannot start."""
        run = self._run
        if run is None or self._ctx.workspace is None:
            return False
        if run.status == "running":
            self._ctx.status("This run is still running: it can be simulated when it finishes.")
            return False
        if run.id in self._busy:
            return False
        self._busy.add(run.id)
        self._errors.pop(run.id, None)
        self.busy_text.setText(
            f"Simulating {run.action_count:,} action{'s' if run.action_count != 1 else ''} "
            "from the recording…"
        )
        self._refresh()
        self.sig_simulation_started.emit(run.id)
        self._ctx.spawn(self._simulate(run.id), what="simulate the run")
        return True

    async def _simulate(self, run_id: str) -> None:
        from ato_desktop.engine.replay import ReplayUnavailable
        from ato_desktop.engine.simulation import simulate

        try:
            # On the engine's loop: read-only tools re-run there, through its MCP sessions.
            result = await self._ctx.engine_run(simulate(self._ctx.workspace, run_id))
        except ReplayUnavailable as exc:
            self._failed(run_id, str(exc))
            return
        except Exception as exc:
            log.exception("simulation of %s failed", run_id)
            self._failed(run_id, f"The simulation stopped: {exc or type(exc).__name__}")
            return
        if not self.work.alive():
            return
        self._busy.discard(run_id)
        self._results[run_id] = result
        self._outdated.discard(run_id)
        summary = result.summary
        self._ctx.status(
            f"Simulated run {short_id(run_id)}: {summary.divergences} divergence"
            f"{'s' if summary.divergences != 1 else ''}, "
            f"{rate_text(summary.match_rate, fine=True)} match, $0."
        )
        if self._run is not None and self._run.id == run_id:
            self._refresh()
            if self.isVisible():
                self.focus_content()
        self.sig_simulation_finished.emit(run_id, result)

    def _failed(self, run_id: str, message: str) -> None:
        if not self.work.alive():
            return
        self._busy.discard(run_id)
        self._errors[run_id] = message
        if self._run is not None and self._run.id == run_id:
            self._refresh()
        self.sig_simulation_failed.emit(run_id, message)

    # -- showing ---------------------------------------------------------------------------------

    def _show_page(self, page: int) -> None:
        self.pages.setCurrentIndex(page)

    def current_page(self) -> int:
        return self.pages.currentIndex()

    def _show_message(self, title: str, text: str, kind: str) -> None:
        self.message_title.setText(title)
        self.message_text.setText(text)
        self.message_frame.setProperty("kind", kind)
        self.message_frame.style().unpolish(self.message_frame)
        self.message_frame.style().polish(self.message_frame)
        self._show_page(self.PAGE_MESSAGE)

    def _show_result(self, result: Any) -> None:
        texts = figures(result, self._run)
        self.figures["original"].value.setText(texts.original)
        self.figures["replay"].value.setText(texts.replay)
        self.figures["savings"].value.setText(texts.savings)
        self.figures["divergences"].value.setText(texts.divergences)
        self.figures["match_rate"].value.setText(texts.match_rate)
        summary = result.summary
        # Spec 002: "% of actions that matched"; an action matched when every row of it did.
        self.figures["match_rate"].setToolTip(
            f"{summary.matched_actions:,} of {summary.actions:,} action"
            f"{'s' if summary.actions != 1 else ''} matched the recording"
        )
        self._colour_divergences(summary.divergences)
        parts: list[str] = []
        if not any("simulated with" in n for n in summary.notes):
            parts.append(f"Simulated with {html.escape(result.config_label)}.")
        # Notes start with an agent's name, as typed: a period, not a capital.
        parts.extend(html.escape(n if n.endswith(".") else n + ".") for n in summary.notes)
        if summary.divergences == 0:
            parts.append("Every step matched the recording.")
        if result.source_run_id in self._outdated:
            parts.append("<b>An agent was edited since: Simulate again to test the change.</b>")
        if result.simulation_run_id:
            parts.append(
                f"<a href='run:{html.escape(result.simulation_run_id)}'>Open the simulation "
                f"run {short_id(result.simulation_run_id)} →</a>"
            )
        self.result_note.setText(" ".join(parts))
        self._show_page(self.PAGE_RESULT)
        if result is self._shown_result:
            return  # the same table: keep the user's selection
        self._shown_result = result
        self.model.set_rows(summary.rows)
        if self.model.rowCount():
            first = next((i for i, r in enumerate(self.model.rows()) if r.status != MATCH), 0)
            self.table.selectRow(first)
        else:
            self._show_detail(None)

    def _on_filter_toggled(self, only: bool) -> None:
        self.model.set_only_divergences(only)
        if self.model.rowCount():
            self.table.selectRow(0)
        else:
            self._show_detail(None)

    def _on_selection(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = self.table.selectionModel().selectedRows()
        self._show_detail(self.model.row(rows[0].row()) if rows else None)

    def _show_detail(self, row: SimRow | None) -> None:
        if row is None:
            empty = (
                "No divergences: every step matched."
                if self.only_divergences.isChecked()
                else "Select a row to see how the replay compares with the recording."
            )
            self.detail_title.setText("")
            self.detail_change.hide()
            self.detail_text.setText(empty)
            self.detail_original.setPlainText("")
            self.detail_replay.setPlainText("")
            return
        kind = row_kind(row)
        colour = kind_colour(kind)
        self.detail_title.setText(
            f"<b>#{row.seq} {html.escape(row.action)}</b> · {html.escape(row.aspect)} · "
            f"<span style='color:{colour}; font-weight:600'>{html.escape(kind_label(kind))}"
            "</span>"
        )
        self.detail_change.setText(_sentence(row.detail) if row.detail else "")
        self.detail_change.setVisible(bool(row.detail))
        lines = [_KIND_HELP.get(kind, "")]
        if row.how:
            lines.append(f"Replay: {row.how}.")
        self.detail_text.setText("  ".join(line for line in lines if line))
        self.detail_original.setPlainText(row.original)
        self.detail_replay.setPlainText(row.replay)

    def _open_link(self, link: str) -> None:
        if link.startswith("run:"):
            self._ctx.navigate("runs", {"run_id": link[4:]})

    def focus_content(self) -> None:
        """Keyboard focus where the user goes next: the results, else Simulate replay."""
        if self.current_page() == self.PAGE_RESULT and self.model.rowCount():
            self.table.setFocus()
        elif self.simulate_button.isEnabled():
            self.simulate_button.setFocus()

    def open_simulation_run(self) -> bool:
        """Open the run the latest simulation of the open run was recorded as."""
        result = self.result()
        if result is None or not result.simulation_run_id:
            return False
        self._ctx.navigate("runs", {"run_id": result.simulation_run_id})
        return True


def simulation_stylesheet(theme: Theme | None = None) -> str:
    """Styles of the tab (added to the Runs page's sheet)."""
    t = theme or current_theme()
    return f"""
    QFrame#SimMessage {{ border-radius: 8px; border: 1px solid {t.border};
        background: {t.surface_alt}; }}
    QFrame#SimMessage[kind="failed"] {{ border-left: 3px solid {t.failed}; }}
    QFrame#SimMessage[kind="neutral"] {{ border-left: 3px solid {t.neutral}; }}
    QLabel#SimMessageTitle {{ font-weight: 600; }}
    QLabel#SimIntroText, QLabel#SimDetailText {{ color: {t.text_muted}; }}
    QLabel#SimDetailChange {{ font-weight: 600; }}
    QFrame#SimDetail {{ background: {t.surface}; border: 1px solid {t.border};
        border-radius: 8px; }}
    QProgressBar#SimProgress {{ border: none; background: {t.surface_alt}; border-radius: 3px; }}
    QProgressBar#SimProgress::chunk {{ background: {t.accent}; border-radius: 3px; }}
    QPlainTextEdit#SimDetailSide {{ background: {t.code_bg}; }}
    """


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
