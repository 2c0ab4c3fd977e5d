"""Insights -> Cost: swaps of an agent's runtime/model that its own evidence says are cheaper
without being worse (engine.cost_recs), largest monthly saving first; each recommendation's
evidence (current vs candidate); "Why not?" for every candidate that did not qualify; and
"Gather evidence…" to earn a recommendation by replaying a sample of an agent's runs.

The report is read on a reader thread (ctx.read); the newest request wins. New runs and config
changes read it again, coalesced by a timer, and only while the view shows (else on next show).
"""

from __future__ import annotations

import html
import time
from typing import Any

import shiboken6
from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTableView,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.cost_recs import AgentEvidence, Recommendation
from ato_desktop.core.figures import rate_text, usd_cents
from ato_desktop.engine.cost_recs import CostReport
from ato_desktop.ui.charts.chart_frame import ChartFrame
from ato_desktop.ui.charts.spend_charts import SpendCharts, option_costs_spec, read_option_costs
from ato_desktop.ui.chat.log_tasks import log_closed
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.insights import cost_reads
from ato_desktop.ui.insights.cost_models import COL_HEADLINE, COL_SAVING, RecommendationsModel
from ato_desktop.ui.insights.cost_reads import (
    current_stats,
    evidence_rows,
    headline_text,
    per_call,
    runs_text,
)
from ato_desktop.ui.theme import current_theme, mix
from ato_desktop.ui.widgets.async_view import STATE_LOADING, StateStack
from ato_desktop.ui.widgets.background import BackgroundWork
from ato_desktop.ui.widgets.status_badge import NoFocusDelegate
from ato_desktop.ui.widgets.visible_refresh import VisibleRefresh

STATE_NONE = "none"  # nothing qualifies: the one-line explanation
STATE_RECS = "recommendations"

REFRESH_MS = 1500  # events arriving closer than this are read once
_SETTINGS_WHY_NOT = "insights/cost_why_not"

# Why-not tree columns
WHY_COLUMNS = ("Agent · candidate", "Runs", "Cost per call", "Ok-rate", "Verdict")
W_LABEL, W_RUNS, W_COST, W_OK, W_VERDICT = range(len(WHY_COLUMNS))
AGENT_ROLE = int(Qt.ItemDataRole.UserRole) + 1  # agent name
PAIR_ROLE = int(Qt.ItemDataRole.UserRole) + 2  # (runtime, model) of a candidate row


class EvidencePanel(QFrame):
    """The selected recommendation: current vs candidate, notes, and what to do next."""

    sig_gather_requested = Signal(str, str, str)  # agent name, runtime, model
    sig_agent_requested = Signal(str)  # agent id
    sig_compare_requested = Signal(str)  # agent id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CostEvidence")
        self.rec: Recommendation | None = None
        column = QVBoxLayout(self)
        column.setContentsMargins(14, 12, 14, 12)
        column.setSpacing(8)
        self.title = QLabel("")
        self.title.setObjectName("CostEvidenceTitle")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setWordWrap(True)
        column.addWidget(self.title)
        grid_box = QWidget()
        self.grid = QGridLayout(grid_box)
        self.grid.setContentsMargins(0, 4, 0, 4)
        self.grid.setHorizontalSpacing(24)
        self.grid.setVerticalSpacing(6)
        for col, text in ((1, "NOW"), (2, "CANDIDATE")):
            caption = QLabel(text)
            caption.setObjectName("SectionCaption")
            self.grid.addWidget(caption, 0, col)
        self.grid.setColumnStretch(3, 1)
        self.cells: dict[tuple[int, int], QLabel] = {}
        for row in range(1, 6):
            for col in range(3):
                label = QLabel("")
                label.setObjectName("CostEvidenceLabel" if col == 0 else "CostEvidenceValue")
                label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                if col == 0:
                    label.setProperty("muted", True)
                self.grid.addWidget(label, row, col)
                self.cells[(row, col)] = label
        # The grid of figures, and beside it the two options' cost per call (ui/charts).
        figures = QHBoxLayout()
        figures.setSpacing(12)
        figures.addWidget(grid_box, 2)
        self.options_chart = ChartFrame(
            "Cost per call: now vs candidate",
            empty_title="No costs to compare",
            empty_text="Neither option has runs with a known cost in the last 30 days.",
            name="CostOptionsChart",
            min_height=150,
            hint="Point at a bin or use ←/→ for how many calls cost that much",
        )
        figures.addWidget(self.options_chart, 3)
        column.addLayout(figures)
        self.notes = QLabel("")
        self.notes.setObjectName("CostEvidenceNotes")
        self.notes.setProperty("muted", True)
        self.notes.setWordWrap(True)
        column.addWidget(self.notes)
        buttons = QHBoxLayout()
        buttons.setSpacing(8)
        self.gather_button = QPushButton("Gather &more evidence…")
        self.gather_button.setObjectName("CostGatherMore")
        self.gather_button.setToolTip(
            "Replay more of the agent's recent runs on the candidate: more runs, firmer figures"
        )
        self.gather_button.clicked.connect(self._gather_clicked)
        self.compare_button = QPushButton("Compare &runtimes")
        self.compare_button.setObjectName("CostCompare")
        self.compare_button.setToolTip("Insights → Compare: the agent's runs on each runtime")
        self.compare_button.clicked.connect(self._compare_clicked)
        self.agent_button = QPushButton("Open &agent")
        self.agent_button.setObjectName("CostOpenAgent")
        self.agent_button.setToolTip("The agent's settings: switch its runtime and model there")
        self.agent_button.clicked.connect(self._agent_clicked)
        for button in (self.gather_button, self.compare_button, self.agent_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        column.addLayout(buttons)
        column.addStretch(1)

    def show_recommendation(self, rec: Recommendation | None) -> None:
        self.rec = rec
        if rec is None:
            self.title.setText("")
            for label in self.cells.values():
                label.setText("")
            self.notes.setText("")
            return
        candidate = rec.candidate
        self.title.setText(
            f"<b>@{html.escape(rec.agent_name)}</b> · {html.escape(rec.current.label)} → "
            f"{html.escape(candidate.stats.label)}<br>"
            f"<span>{candidate.saving_pct or 0:.0f}% cheaper per call · projected "
            f"-{usd_cents(rec.monthly_saving_usd)}/mo at {rec.monthly_runs:,} runs/mo "
            "(the last 30 days' volume)</span>"
        )
        for row, ev in enumerate(evidence_rows(rec.current, candidate.stats), start=1):
            self.cells[(row, 0)].setText(ev.label)
            self.cells[(row, 1)].setText(ev.current)
            self.cells[(row, 2)].setText(ev.candidate)
        notes = [f"Note: {note}." for note in candidate.notes]
        if candidate.stats.replays:
            notes.append(
                f"{candidate.stats.replays:,} of the candidate's runs are replays of this "
                "agent's runs (gathered evidence)."
            )
        self.notes.setText(" ".join(notes))
        self.notes.setVisible(bool(notes))

    def _gather_clicked(self) -> None:
        rec = self.rec
        if rec is not None:
            stats = rec.candidate.stats
            self.sig_gather_requested.emit(rec.agent_name, stats.runtime, stats.model)

    def _agent_clicked(self) -> None:
        if self.rec is not None:
            self.sig_agent_requested.emit(self.rec.agent_id)

    def _compare_clicked(self) -> None:
        if self.rec is not None:
            self.sig_compare_requested.emit(self.rec.agent_id)


class CostView(QWidget):
    """Recommendations with their evidence; the explanation when none; Why not?; Gather evidence."""

    sig_state_changed = Signal(str)  # one of the STATE_* values
    sig_report_shown = Signal(object)  # CostReport

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CostView")
        self.ctx = ctx
        self.report: CostReport | None = None
        self._reads = BackgroundWork(self, ctx, on_busy=self._show_busy)
        self._option_reads = BackgroundWork(self, ctx)
        self._loaded = False
        self._pending_agent: str | None = None
        self.last_error = ""
        self.dialog: Any = None  # the open EvidenceDialog

        # The page scrolls when the window is too short for it (1280x820 with a recommendation
        # open): each part keeps its height instead of being squeezed out of shape.
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = self.scroll_area = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        body.setObjectName("CostBody")
        scroll.setWidget(body)
        outer.addWidget(scroll)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 4, 0)
        layout.setSpacing(10)
        layout.addWidget(self._build_controls())
        self.spend = SpendCharts(ctx)  # spend per day, this month, budgets (ui/charts)
        self.spend.setFixedHeight(250)
        layout.addWidget(self.spend)
        self._body = StateStack("Reading the agents' runs…", name="Cost")
        self._body.sig_state_changed.connect(self.sig_state_changed)
        self.explanation = QLabel("")
        self.explanation.setObjectName("CostExplanation")
        self.explanation.setWordWrap(True)
        self.explanation.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.explanation.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        # Nothing qualifies: the one line is as tall as its text, outside the body (a stack is
        # as tall as its tallest page), and "Why not?" below it gets the room.
        self.explanation.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.explanation.hide()
        self._body.add_page(self._build_recommendations(), STATE_RECS)
        self._body.add_page(QWidget(), STATE_NONE)
        self._body.sig_state_changed.connect(self._fit_to_state)
        self._layout = layout
        layout.addWidget(self.explanation)
        layout.addWidget(self._body, 3)
        layout.addWidget(self._build_why_not(), 2)
        layout.addStretch(0)  # takes the slack when only the explanation shows
        self._body.show_state(STATE_LOADING)
        self._apply_styles()
        if ctx.theme is not None:
            ctx.theme.sig_theme_changed.connect(lambda _t: self._apply_styles())

        self._refresh = VisibleRefresh(self, ctx, REFRESH_MS, self.refresh)
        bridge = ctx.bridge
        if bridge is not None:
            bridge.sig_run_ended.connect(self._refresh.schedule)
            bridge.sig_runs_bulk_changed.connect(self._refresh.schedule)
            bridge.sig_config_changed.connect(self._refresh.schedule)

    # -- layout --------------------------------------------------------------------------------

    def _build_controls(self) -> QWidget:
        box = QFrame()
        box.setObjectName("CostControls")
        row = QHBoxLayout(box)
        row.setContentsMargins(12, 10, 12, 10)
        row.setSpacing(10)
        titles = QVBoxLayout()
        titles.setSpacing(2)
        self.headline = QLabel("")
        self.headline.setObjectName("CostHeadline")
        titles.addWidget(self.headline)
        self.rules = QLabel(
            "A swap is recommended only from evidence: the agent's own runs on the candidate "
            "(or replays of them), ≥ 30% cheaper per call, ok-rate within 10 pp, eval score "
            "within 5 pp, on ≥ 10 runs."
        )
        self.rules.setObjectName("CostRules")
        self.rules.setProperty("muted", True)
        self.rules.setWordWrap(True)
        titles.addWidget(self.rules)
        row.addLayout(titles, 1)
        self.busy_label = QLabel("")
        self.busy_label.setObjectName("CostBusy")
        self.busy_label.setProperty("muted", True)
        row.addWidget(self.busy_label)
        self.why_not_button = QPushButton("&Why not?")
        self.why_not_button.setObjectName("CostWhyNot")
        self.why_not_button.setCheckable(True)
        self.why_not_button.setToolTip(
            "Every candidate of every agent, and why it does not qualify"
        )
        self.why_not_button.setChecked(
            str(self.ctx.settings.value(_SETTINGS_WHY_NOT, "false")).lower() == "true"
        )
        self.why_not_button.toggled.connect(self._on_why_not)
        row.addWidget(self.why_not_button, 0, Qt.AlignmentFlag.AlignTop)
        self.gather_button = QPushButton("&Gather evidence…")
        self.gather_button.setObjectName("CostGather")
        self.gather_button.setToolTip(
            "Replay a sample of an agent's recent runs on a candidate runtime and model, with "
            "the estimated cost shown first: the replays become evidence"
        )
        self.gather_button.clicked.connect(lambda: self.gather_evidence())
        row.addWidget(self.gather_button, 0, Qt.AlignmentFlag.AlignTop)
        return box

    def _build_recommendations(self) -> QWidget:
        page = QWidget()
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(10)
        self.recs_model = RecommendationsModel(self)
        table = self.recs = QTableView()
        table.setObjectName("CostRecommendations")
        table.setModel(self.recs_model)
        table.setItemDelegate(NoFocusDelegate(table))
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setShowGrid(False)
        table.setWordWrap(False)
        table.verticalHeader().hide()
        table.verticalHeader().setDefaultSectionSize(32)
        table.horizontalHeader().setHighlightSections(False)
        header = table.horizontalHeader()
        header.setSectionResizeMode(COL_HEADLINE, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COL_SAVING, QHeaderView.ResizeMode.ResizeToContents)
        table.selectionModel().currentRowChanged.connect(self._on_row_changed)
        column.addWidget(table)
        self.evidence = EvidencePanel()
        self.evidence.sig_gather_requested.connect(self.gather_evidence)
        self.evidence.sig_agent_requested.connect(
            lambda agent_id: self.ctx.navigate("agents", {"agent_id": agent_id})
        )
        self.evidence.sig_compare_requested.connect(
            lambda agent_id: self.ctx.navigate(
                "insights", {"tab": "compare", "agent_id": agent_id, "mode": "runtime"}
            )
        )
        # Its figures and chart at their full height: below that the page scrolls.
        self.evidence.setMinimumHeight(self.evidence.sizeHint().height())
        column.addWidget(self.evidence, 1)
        return page

    def _build_why_not(self) -> QWidget:
        box = self.why_not_box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(4)
        caption = QLabel("EVERY CANDIDATE · double-click or Enter gathers more evidence on it")
        caption.setObjectName("SectionCaption")
        column.addWidget(caption)
        tree = self.why_not = QTreeWidget()
        tree.setObjectName("CostWhyNotTree")
        tree.setColumnCount(len(WHY_COLUMNS))
        tree.setHeaderLabels(list(WHY_COLUMNS))
        tree.setRootIsDecorated(True)
        tree.setUniformRowHeights(True)
        tree.setAlternatingRowColors(False)
        tree.setWordWrap(False)
        tree.setItemDelegate(NoFocusDelegate(tree))
        header = tree.header()
        header.setStretchLastSection(True)
        for col, width in ((W_LABEL, 300), (W_RUNS, 110), (W_COST, 100), (W_OK, 70)):
            header.resizeSection(col, width)
        tree.itemActivated.connect(self._on_why_not_activated)
        column.addWidget(tree, 1)
        box.setVisible(self.why_not_button.isChecked())
        return box

    def _apply_styles(self) -> None:
        t = current_theme()
        self.setStyleSheet(
            f"""
            QFrame#CostControls, QFrame#CostEvidence {{ background: {t.surface};
                border: 1px solid {t.border}; border-radius: 8px; }}
            QLabel#CostHeadline {{ font-size: 15px; font-weight: 600; }}
            QLabel#CostHeadline[good="true"] {{ color: {t.completed}; }}
            QLabel#CostEvidenceTitle {{ font-size: 14px; }}
            QLabel#CostEvidenceValue {{ font-weight: 600; }}
            QLabel#CostExplanation {{ font-size: 14px; padding: 14px 16px;
                background: {mix(t.surface, t.accent, 0.06)}; border: 1px solid {t.border};
                border-radius: 8px; }}
            QPushButton#CostWhyNot:checked {{ background: {t.surface_alt};
                border-color: {t.accent}; color: {t.text}; }}
            QLabel#SectionCaption {{ color: {t.text_muted}; font-size: 11px;
                font-weight: 600; letter-spacing: 0.5px; }}
            """
        )

    # -- state ---------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        return self._body.state

    # -- reading -------------------------------------------------------------------------------

    def ensure_loaded(self) -> None:
        if not self._loaded and self._reads.pending == 0:
            self.refresh()

    def refresh(self) -> None:
        """Read the report again (off the UI thread; the newest request wins)."""
        if self.ctx.workspace is None or log_closed(self.ctx):
            return
        self.ctx.spawn(self._read(), what="read cost recommendations")
        self.spend.refresh()

    async def _read(self) -> None:
        await self._reads.show(
            cost_reads.load_report,
            self.ctx.opened_workspace.store,
            apply=self._report_read,
            fail=self._show_error,
            what="cost recommendations",
        )

    def _show_error(self, message: str) -> None:
        self.last_error = message
        self._body.show_error("Could not read cost recommendations", message, retry=self.refresh)

    def _report_read(self, report: CostReport) -> None:
        self._loaded = True
        self.last_error = ""
        self.show_report(report)

    def show_report(self, report: CostReport) -> None:
        self.report = report
        t = report.thresholds
        self.rules.setText(
            "A swap is recommended only from evidence: the agent's own runs on the candidate "
            f"(or replays of them), ≥ {t.min_saving_pct:g}% cheaper per call, ok-rate within "
            f"{t.ok_rate_within_pp:g} pp, eval score within {t.eval_within_pp:g} pp, on ≥ "
            f"{t.min_evidence_runs} runs."
        )
        recs = list(report.recommendations)
        self.headline.setText(headline_text(report))
        self.headline.setProperty("good", bool(recs))
        self.headline.style().unpolish(self.headline)
        self.headline.style().polish(self.headline)
        self._fill_why_not(report.agents)
        if not recs:
            self.recs_model.set_recommendations([])
            self.evidence.show_recommendation(None)
            self.explanation.setText(report.explanation or "Nothing qualifies.")
            self._body.show_state(STATE_NONE)
        else:
            selected = self.selected_recommendation
            wanted = self._pending_agent or (selected.agent_id if selected else None)
            self._pending_agent = None
            self.recs_model.set_recommendations(recs)
            self._fit_table()
            row = self.recs_model.row_of(wanted) if wanted else -1
            self._body.show_state(STATE_RECS)
            self.recs.selectRow(max(row, 0))
            self._on_row_changed(self.recs.currentIndex(), QModelIndex())
        self.sig_report_shown.emit(report)

    def _fit_table(self) -> None:
        """As tall as its rows (up to six), so the evidence gets the room."""
        rows = min(max(self.recs_model.rowCount(), 1), 6)
        header = self.recs.horizontalHeader().sizeHint().height()
        self.recs.setFixedHeight(
            header + rows * self.recs.verticalHeader().defaultSectionSize() + 4
        )

    def _fill_why_not(self, agents: tuple[AgentEvidence, ...]) -> None:
        tree = self.why_not
        items = (tree.topLevelItem(i) for i in range(tree.topLevelItemCount()))
        collapsed = {
            str(item.data(W_LABEL, AGENT_ROLE))
            for item in items
            if item is not None and not item.isExpanded()
        }
        tree.clear()
        t = current_theme()
        for agent in agents:
            current = current_stats(agent)
            top = QTreeWidgetItem(
                [
                    f"@{agent.agent_name} · now {current.label}",
                    runs_text(current),
                    per_call(current.cost_per_call, current.cost_estimated),
                    rate_text(current.ok_rate),
                    f"{agent.monthly_runs:,} runs in the last 30 days",
                ]
            )
            top.setData(W_LABEL, AGENT_ROLE, agent.agent_name)
            tree.addTopLevelItem(top)
            if not agent.candidates:
                child = QTreeWidgetItem(
                    ["No runs on another runtime or model yet", "", "", "", "Gather evidence…"]
                )
                child.setData(W_LABEL, AGENT_ROLE, agent.agent_name)
                child.setToolTip(W_VERDICT, "Double-click or Enter: gather evidence")
                top.addChild(child)
            for candidate in agent.candidates:
                verdict = "qualifies" if candidate.qualifies else "; ".join(candidate.reasons)
                child = QTreeWidgetItem(
                    [
                        candidate.stats.label,
                        runs_text(candidate.stats),
                        per_call(candidate.stats.cost_per_call, candidate.stats.cost_estimated),
                        rate_text(candidate.stats.ok_rate),
                        ("✓ " if candidate.qualifies else "✗ ") + verdict,
                    ]
                )
                child.setData(W_LABEL, AGENT_ROLE, agent.agent_name)
                child.setData(W_LABEL, PAIR_ROLE, (candidate.stats.runtime, candidate.stats.model))
                child.setToolTip(W_VERDICT, verdict)
                child.setForeground(
                    W_VERDICT, QColor(t.completed if candidate.qualifies else t.text_muted)
                )
                top.addChild(child)
            top.setExpanded(agent.agent_name not in collapsed)

    def _on_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        rec = self.recs_model.recommendation(current.row()) if current.isValid() else None
        self.evidence.show_recommendation(rec)
        if rec is not None and self.ctx.workspace is not None:
            self.ctx.spawn(self._read_options(rec), what="read the options' costs")

    async def _read_options(self, rec: Recommendation) -> None:
        chart = self.evidence.options_chart
        chart.show_loading()
        await self._option_reads.show(
            read_option_costs,
            self.ctx.opened_workspace.store,
            rec.agent_id,
            (rec.current.runtime, rec.current.model),
            (rec.candidate.stats.runtime, rec.candidate.stats.model),
            int(time.time() * 1000),
            apply=lambda costs: chart.set_spec(option_costs_spec(costs)),
            fail=chart.show_error,
            what="option costs",
        )

    @property
    def selected_recommendation(self) -> Recommendation | None:
        index = self.recs.currentIndex()
        return self.recs_model.recommendation(index.row()) if index.isValid() else None

    def _show_busy(self) -> None:
        self.busy_label.setText("Reading…" if self._reads.pending else "")

    def _fit_to_state(self, *_args: object) -> None:
        """Nothing qualifies: the explanation alone, as tall as its text; the rest of the height
        for "Why not?" (or left empty below it)."""
        none = self._body.state == STATE_NONE
        self.explanation.setVisible(none)
        self._body.setVisible(not none)
        last = self._layout.count() - 1  # the trailing stretch
        self._layout.setStretch(last, 1 if none and not self.why_not_box.isVisible() else 0)

    def _on_why_not(self, checked: bool) -> None:
        self.ctx.settings.setValue(_SETTINGS_WHY_NOT, "true" if checked else "false")
        self.why_not_box.setVisible(checked)
        self._fit_to_state()
        if checked:
            self.why_not.setFocus()

    def _on_why_not_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        agent = item.data(W_LABEL, AGENT_ROLE)
        pair = item.data(W_LABEL, PAIR_ROLE)
        if agent is None or item.parent() is None:
            return
        if pair:
            self.gather_evidence(str(agent), str(pair[0]), str(pair[1]))
        else:
            self.gather_evidence(str(agent))

    # -- navigation ----------------------------------------------------------------------------

    def open_target(self, target: dict[str, Any]) -> None:
        """{"agent_id": id}: select that agent's recommendation; {"why_not": True}; {"gather":
        agent name}: open Gather evidence for it."""
        if target.get("why_not"):
            self.why_not_button.setChecked(True)
        if target.get("agent_id"):
            agent = str(target["agent_id"])
            row = self.recs_model.row_of(agent)
            if row >= 0:
                self.recs.selectRow(row)
            else:
                self._pending_agent = agent
        if target.get("gather") is not None:
            self.gather_evidence(str(target["gather"]) or None)
        self.ensure_loaded()

    def focus_list(self) -> None:
        if self.state == STATE_RECS:
            self.recs.setFocus()
        else:
            self.gather_button.setFocus()

    # -- gather evidence -----------------------------------------------------------------------

    def gather_evidence(
        self, agent: str | None = None, runtime: str | None = None, model: str | None = None
    ) -> Any:
        """Open Gather evidence (for agent, on runtime + model when given)."""
        if self.ctx.workspace is None:
            return None
        from ato_desktop.ui.insights.evidence_dialog import EvidenceDialog

        if agent is None:
            selected = self.selected_recommendation
            agent = selected.agent_name if selected is not None else None
        current = self.dialog
        if current is not None and shiboken6.isValid(current) and current.isVisible():
            if not current.busy:
                current.choose(agent, runtime, model)
            current.raise_()
            current.activateWindow()
            return current
        evidence = {a.agent_name: a for a in (self.report.agents if self.report else ())}
        dialog = EvidenceDialog(
            self.ctx, agent=agent, runtime=runtime, model=model, evidence=evidence, parent=self
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.sig_evidence_gathered.connect(lambda _s: self.refresh())
        self.dialog = dialog
        dialog.show()
        return dialog

    # -- refresh on events ---------------------------------------------------------------------

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if not self._refresh.on_show():
            self.ensure_loaded()
