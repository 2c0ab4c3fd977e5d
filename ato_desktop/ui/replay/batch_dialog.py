"""Batch replay: many runs (a selection, or an agent's failures since a config change) on one
target, a few at a time, with the estimated total first, a progress bar with Cancel, and a
summary of what recovered (failed before, completed now) and what it cost."""

from __future__ import annotations

import asyncio
import html
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.config_diff import ConfigChange, summarize_changes
from ato_desktop.core.cost_rollup import format_cost, rollup_source
from ato_desktop.core.figures import DASH, duration_ms
from ato_desktop.core.models import Cost
from ato_desktop.core.records import AgentRecord, AgentVersionRecord
from ato_desktop.core.replay_figures import (
    RECOVERED,
    REGRESSED,
    CostTotal,
    batch_outcome,
    delta_text,
    delta_tone,
    total_cost,
)
from ato_desktop.engine.replay import (
    BatchItem,
    BatchSummary,
    ReplayTarget,
    ReplayUnavailable,
    failures_of,
    load_source,
    plan_replay,
    replay_batch,
)
from ato_desktop.ui.replay.estimate_card import EstimateCard
from ato_desktop.ui.replay.replay_style import replay_stylesheet, tone_colour
from ato_desktop.ui.replay.target_form import ReplayTargetForm
from ato_desktop.ui.runs.formatting import local_time, plural, short_id
from ato_desktop.ui.widgets.background import BackgroundWork
from ato_desktop.ui.widgets.job_dialog import SETUP, JobDialog, batch_done_text
from ato_desktop.ui.widgets.progress_panel import ProgressPanel
from ato_desktop.ui.widgets.record_model import RecordTableModel
from ato_desktop.ui.widgets.status_badge import STATUS_ROLE, NoFocusDelegate, StatusBadgeDelegate

DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 16
NOT_REACHED = "never reached a model"  # a replay that failed before any answer (no key)

RUN_ID_ROLE = int(Qt.ItemDataRole.UserRole) + 1  # the replay run's id ("" when skipped)
OUTCOME_ROLE = int(Qt.ItemDataRole.UserRole) + 2
COLUMNS = ("Source run", "Before", "After", "Outcome", "Cost Δ", "Latency Δ")
COL_SOURCE, COL_BEFORE, COL_AFTER, COL_OUTCOME, COL_COST, COL_LATENCY = range(len(COLUMNS))


# -- reads (reader threads) --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BatchPlan:
    """What a batch will cost and what it cannot replay."""

    run_ids: tuple[str, ...]
    total: CostTotal
    replayable: int
    unavailable: tuple[tuple[str, str], ...]  # (run id, reason)
    notes: tuple[str, ...]  # each distinct note once


def plan_batch(workspace: Any, run_ids: tuple[str, ...], target: ReplayTarget) -> BatchPlan:
    """Plan every run (reads only): the estimated total, and the runs that cannot be replayed."""
    costs: list[Cost] = []
    unavailable: list[tuple[str, str]] = []
    notes: dict[str, None] = {}
    for run_id in run_ids:
        try:
            plan = plan_replay(workspace, load_source(workspace, run_id), target)
        except (ReplayUnavailable, LookupError) as exc:
            unavailable.append((run_id, str(exc)))
            continue
        costs.append(plan.estimate)
        notes.update(dict.fromkeys(plan.notes))
    return BatchPlan(run_ids, total_cost(costs), len(costs), tuple(unavailable), tuple(notes))


@dataclass(frozen=True, slots=True)
class AgentChanges:
    agents: list[AgentRecord]
    versions: dict[str, list[AgentVersionRecord]]  # agent name -> versions, newest first


def load_agent_changes(store: Any) -> AgentChanges:
    agents = sorted(store.list_agents(), key=lambda a: a.name.lower())
    versions = {a.name: sorted(store.agent_history(a.id), key=lambda v: -v.version) for a in agents}
    return AgentChanges(agents, versions)


def version_label(version: AgentVersionRecord) -> str:
    """'v3 · Nov 21 14:03:12 · model: a -> b' (what changed)."""
    text = f"v{version.version} · {local_time(version.created_at)}"
    if version.version == 1:
        return text + " · created"
    changes = [
        ConfigChange(str(d.get("path", "")), d.get("before"), d.get("after"))
        for d in version.diff
        if isinstance(d, dict)
    ]
    return f"{text} · {summarize_changes(changes, limit=2)}" if changes else text


# -- the items -----------------------------------------------------------------------------------


class BatchItemsModel(RecordTableModel):
    """The replayed runs, in the order they finished."""

    HEADERS = COLUMNS

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        item = self.item_at(index.row()) if index.isValid() else None
        if item is None:
            return None
        result = item.result
        col = index.column()
        before = result.comparison.source.status if result else None
        after = result.comparison.replay.status if result else None
        if role == RUN_ID_ROLE:
            return result.dispatch.run_id if result else ""
        if role == OUTCOME_ROLE:
            return batch_outcome(before, after)
        if role == STATUS_ROLE:
            return {COL_BEFORE: before, COL_AFTER: after}.get(col)
        if role == Qt.ItemDataRole.ToolTipRole:
            if result is None:
                return item.skipped or item.error or None
            if col == COL_SOURCE:
                return f"Open the replay run {short_id(result.dispatch.run_id)}"
            return None
        if role == Qt.ItemDataRole.ForegroundRole and result is not None:
            from PySide6.QtGui import QColor

            if col == COL_COST:
                return QColor(tone_colour(delta_tone(result.comparison.cost_delta_pct)))
            if col == COL_LATENCY:
                return QColor(tone_colour(delta_tone(result.comparison.duration_delta_pct)))
            if col == COL_OUTCOME:
                outcome = batch_outcome(before, after)
                if not result.comparison.replay_reached_model:
                    outcome = NOT_REACHED
                tone = {RECOVERED: "better", REGRESSED: "worse"}.get(outcome, "same")
                return QColor(tone_colour(tone))
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (COL_COST, COL_LATENCY):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if col == COL_SOURCE:
            return short_id(item.source_run_id)
        if col in (COL_BEFORE, COL_AFTER):
            return None  # painted as a badge
        if col == COL_OUTCOME:
            if result is None:
                return "skipped" if item.skipped else "could not start"
            if not result.comparison.replay_reached_model:
                return NOT_REACHED  # no key, say: proves nothing about the target
            return batch_outcome(before, after)
        if result is None:
            return DASH
        if col == COL_COST:
            return delta_text(result.comparison.cost_delta_pct)
        return delta_text(result.comparison.duration_delta_pct)

    def append(self, item: BatchItem) -> None:
        row = len(self._records)
        self.beginInsertRows(QModelIndex(), row, row)
        self._records.append(item)
        self.endInsertRows()

    def clear(self) -> None:
        self.set_records([])

    def item_at(self, row: int) -> BatchItem | None:
        item: BatchItem | None = self.record(row)
        return item


# -- the dialog ----------------------------------------------------------------------------------


def batch_items_table(name: str, model: BatchItemsModel, ctx: Any) -> QTableView:
    """The table of a batch's replays: one row each, the outcomes before and after as badges;
    a click (or Enter) on a row opens its replay run, or says why it has none."""
    table = QTableView()
    table.setObjectName(name)
    table.setModel(model)
    table.setItemDelegate(NoFocusDelegate(table))
    badge = StatusBadgeDelegate(table)
    table.setItemDelegateForColumn(COL_BEFORE, badge)
    table.setItemDelegateForColumn(COL_AFTER, badge)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setShowGrid(False)
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(30)
    header = table.horizontalHeader()
    header.setHighlightSections(False)
    header.setSectionResizeMode(COL_OUTCOME, QHeaderView.ResizeMode.Stretch)
    for col, width in (
        (COL_SOURCE, 100),
        (COL_BEFORE, 124),
        (COL_AFTER, 124),
        (COL_COST, 90),
        (COL_LATENCY, 90),
    ):
        header.resizeSection(col, width)
    table.setCursor(Qt.CursorShape.PointingHandCursor)

    def open_item(index: QModelIndex) -> None:
        run_id = index.data(RUN_ID_ROLE)
        if run_id:
            ctx.navigate("runs", {"run_id": str(run_id)})
            return
        item = model.item_at(index.row())
        if item is not None:
            ctx.status(item.skipped or item.error or "This run was not replayed.")

    table.clicked.connect(open_item)
    table.activated.connect(open_item)
    return table


class BatchJobDialog(JobDialog):
    """A job that replays a batch of runs (Replay selected runs / failures, Gather evidence):
    the replays' table under the progress bar, a summary card above it once done, the replay
    style following the theme."""

    sig_plan_ready = Signal(object)  # the dialog's plan of the batch
    sig_item_done = Signal(int, int)  # done, total

    ctx: Any
    work: BackgroundWork
    summary: BatchSummary | None = None
    _done = 0

    def _build_batch_page(self, table: str, tooltip: str) -> tuple[ProgressPanel, QVBoxLayout]:
        """The progress page: the bar, a hidden summary card (its `headline`; the card's layout
        is returned for the rest of it) and the replays' table."""
        page = ProgressPanel("%v / %m replayed")
        self.summary_card = QFrame()
        self.summary_card.setObjectName("BatchSummaryCard")
        card = QVBoxLayout(self.summary_card)
        card.setContentsMargins(14, 10, 14, 12)
        card.setSpacing(6)
        self.headline = QLabel("")
        self.headline.setObjectName("BatchHeadline")
        card.addWidget(self.headline)
        self.summary_card.hide()
        page.column.addWidget(self.summary_card)
        self.items = BatchItemsModel(self)
        self.table = batch_items_table(table, self.items, self.ctx)
        self.table.setToolTip(tooltip)
        page.column.addWidget(self.table, 1)
        return page, card

    def _follow_theme(self) -> None:
        self.setStyleSheet(replay_stylesheet())
        if getattr(self.ctx, "theme", None) is not None:
            self.ctx.theme.sig_theme_changed.connect(self._on_theme_changed)

    def _begin_batch(self, total: int, text: str) -> asyncio.Event:
        """A new batch of total replays: the table emptied, the progress page, saying text."""
        self.summary = None
        self._done = 0
        self.items.clear()
        self.summary_card.hide()
        cancel = self._begin_job(total, text)
        self.ctx.prefetch_sdks()
        return cancel

    def _on_progress(self, done: int, total: int, item: BatchItem) -> None:
        if not self.work.alive():
            return
        self._done = done
        self.progress.setValue(done)
        self.items.append(item)
        self.sig_item_done.emit(done, total)

    def _end_batch(self, summary: BatchSummary) -> None:
        """The batch is over (its summary card filled): show the card, then DONE."""
        self.summary = summary
        self.progress.setValue(self._done)
        self.summary_card.show()
        self._end_job(batch_done_text(summary.replayed, summary.total, summary.cancelled))

    def _on_theme_changed(self, _theme: Any) -> None:
        if self.work.alive():
            self.setStyleSheet(replay_stylesheet())


class BatchReplayDialog(BatchJobDialog):
    """Replay run_ids, or (run_ids None) the failures of an agent since a config version."""

    sig_batch_finished = Signal(object)  # BatchSummary

    def __init__(
        self,
        ctx: Any,
        run_ids: list[str] | None = None,
        *,
        agent: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("BatchReplayDialog")
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.ctx = ctx
        self.work = BackgroundWork(self, ctx)  # the estimates: the newest only
        self._failure_reads = BackgroundWork(self, ctx)  # the newest agent/since choice only
        self.failures_mode = run_ids is None
        self._run_ids: tuple[str, ...] = tuple(run_ids or ())
        self._preferred_agent = agent
        self._changes: AgentChanges | None = None
        self.plan: BatchPlan | None = None
        self.setWindowTitle(
            "Replay failures of an agent" if self.failures_mode else "Replay selected runs"
        )
        self._build_job(
            name="Batch",
            title=self.windowTitle(),
            subtitle="",
            setup=self._build_setup(),
            run=self._build_run(),
            start_text="&Replay",
            cancel_tip="Start no new replay and stop those under way (kept as killed runs)",
            cancelling="Cancelling: no new replay starts; the ones under way are stopped…",
            again_text="Replay &again…",
        )
        self.start_button.clicked.connect(self.start)

        self._plan_timer = QTimer(self, singleShot=True, interval=250)
        self._plan_timer.timeout.connect(self._replan)
        self.target_form.sig_target_changed.connect(self._plan_timer.start)
        self._follow_theme()
        self.resize(860, 640)
        self._show(SETUP)
        self.target_form.load()
        if self.failures_mode:
            self.subtitle.setText("Reading the agents and their changes…")
            ctx.spawn(self._load_agents(), what="read the agents")
        else:
            self._runs_known()

    # -- pages -----------------------------------------------------------------------------------

    def _build_setup(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(12)

        self.failures_box = QWidget()
        grid = QGridLayout(self.failures_box)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(10)
        self.agent_combo = QComboBox()
        self.agent_combo.setObjectName("FailuresAgent")
        self.agent_combo.setMinimumContentsLength(22)
        self.since_combo = QComboBox()
        self.since_combo.setObjectName("FailuresSince")
        self.since_combo.setMinimumContentsLength(34)
        self.since_combo.setToolTip("Failures since this configuration change of the agent")
        agent_label = QLabel("A&gent")
        agent_label.setBuddy(self.agent_combo)
        since_label = QLabel("Failed &since")
        since_label.setBuddy(self.since_combo)
        grid.addWidget(agent_label, 0, 0)
        grid.addWidget(self.agent_combo, 0, 1)
        grid.addWidget(since_label, 1, 0)
        grid.addWidget(self.since_combo, 1, 1)
        grid.setColumnStretch(1, 1)
        self.agent_combo.currentIndexChanged.connect(self._on_agent_changed)
        self.since_combo.currentIndexChanged.connect(lambda _i: self._find_failures())
        self.failures_box.setVisible(self.failures_mode)
        layout.addWidget(self.failures_box)

        caption = QLabel("REPLAY ON")
        caption.setObjectName("SectionCaption")
        layout.addWidget(caption)
        self.target_form = ReplayTargetForm(self.ctx)
        layout.addWidget(self.target_form)

        card = EstimateCard(
            "ESTIMATED TOTAL COST", "Estimated: token counts × the price table", rich_detail=True
        )
        self.estimate_value, self.estimate_badge = card.value, card.badge
        self.estimate_detail = card.detail
        layout.addWidget(card)

        concurrency = QHBoxLayout()
        self.concurrency = QSpinBox()
        self.concurrency.setObjectName("BatchConcurrency")
        self.concurrency.setRange(1, MAX_CONCURRENCY)
        self.concurrency.setValue(DEFAULT_CONCURRENCY)
        self.concurrency.setToolTip("How many replays run at the same time")
        label = QLabel("At &most")
        label.setBuddy(self.concurrency)
        concurrency.addWidget(label)
        concurrency.addWidget(self.concurrency)
        concurrency.addWidget(QLabel("at a time"))
        concurrency.addStretch(1)
        layout.addLayout(concurrency)
        layout.addStretch(1)
        return page

    def _build_run(self) -> ProgressPanel:
        page, inner = self._build_batch_page(
            "BatchItems", "Click a replayed run (or press Enter) to open it"
        )
        counts = QHBoxLayout()
        counts.setSpacing(18)
        self.count_labels: dict[str, QLabel] = {}
        for key, kind in (
            ("recovered", "recovered"),
            ("still_failing", "failing"),
            ("regressed", "regressed"),
            ("skipped", ""),
        ):
            label = QLabel("")
            label.setObjectName(f"Count_{key}")
            if kind:
                label.setProperty("count", kind)
            counts.addWidget(label)
            self.count_labels[key] = label
        counts.addStretch(1)
        inner.addLayout(counts)
        self.cost_line = QLabel("")
        self.cost_line.setObjectName("BatchCost")
        self.cost_line.setTextFormat(Qt.TextFormat.RichText)
        self.latency_line = QLabel("")
        self.latency_line.setObjectName("BatchLatency")
        self.latency_line.setTextFormat(Qt.TextFormat.RichText)
        inner.addWidget(self.cost_line)
        inner.addWidget(self.latency_line)
        return page

    # -- state -----------------------------------------------------------------------------------

    def _state_shown(self, state: str) -> None:
        if state == SETUP:
            self._update_start()
            self._plan_timer.start()

    # -- which runs ------------------------------------------------------------------------------

    def _runs_known(self) -> None:
        count = len(self._run_ids)
        if self.failures_mode:
            agent = self.agent_combo.currentData()
            since = self.since_combo.currentText()
            self.subtitle.setText(
                f"{plural(count, 'failed run')} of {agent} since {since}."
                if count
                else f"No failed run of {agent} since {since}: nothing to replay. "
                "Choose an earlier change (or All time)."
            )
        else:
            self.subtitle.setText(
                f"{plural(count, 'run')} selected in the run list, replayed on one target."
            )
        self._plan_timer.start()

    async def _load_agents(self) -> None:
        changes = await self.work.fetch(load_agent_changes, self.ctx.workspace.store)
        self._changes = changes
        self.agent_combo.blockSignals(True)
        for agent in changes.agents:
            self.agent_combo.addItem(agent.name, agent.name)
        self.agent_combo.blockSignals(False)
        if not changes.agents:
            self.subtitle.setText("No agents yet: create one on the Agents page, then come back.")
            self._update_start()
            return
        index = self.agent_combo.findData(self._preferred_agent) if self._preferred_agent else 0
        self.agent_combo.setCurrentIndex(max(0, index))
        self._on_agent_changed()

    def _on_agent_changed(self, _index: int = 0) -> None:
        name = self.agent_combo.currentData()
        if self._changes is None or not name:
            return
        self.since_combo.blockSignals(True)
        self.since_combo.clear()
        for version in self._changes.versions.get(name, []):
            self.since_combo.addItem(version_label(version), version.created_at)
        self.since_combo.addItem("All time", None)
        self.since_combo.blockSignals(False)
        self.since_combo.setCurrentIndex(0)  # since the latest change: the usual question
        self._find_failures()

    def _find_failures(self) -> None:
        name = self.agent_combo.currentData()
        if not name or self.since_combo.count() == 0:
            return
        since = self.since_combo.currentData()
        self.plan = None
        self._update_start()
        self.ctx.spawn(self._read_failures(name, since), what="find failures")

    async def _read_failures(self, agent: str, since: int | None) -> None:
        run_ids = await self._failure_reads.read(failures_of, self.ctx.workspace, agent, since)
        self._run_ids = tuple(run_ids)
        self._runs_known()

    @property
    def run_ids(self) -> tuple[str, ...]:
        return self._run_ids

    # -- the estimate ----------------------------------------------------------------------------

    def _replan(self) -> None:
        if self._state != SETUP:
            return
        self.plan = None
        self._update_start()
        target = self.target_form.target()
        if not self._run_ids:
            self._show_estimate_problem("No runs to replay.")
            return
        if target is None:
            self._show_estimate_problem(self.target_form.problem())
            return
        self.estimate_value.setText("…")
        self.estimate_badge.hide()
        self.estimate_detail.setText(f"Estimating {plural(len(self._run_ids), 'replay')}…")
        self.ctx.spawn(self._plan(self._run_ids, target), what="estimate the batch")

    async def _plan(self, run_ids: tuple[str, ...], target: ReplayTarget) -> None:
        try:
            plan = await self.work.read(plan_batch, self.ctx.workspace, run_ids, target)
        except (LookupError, ValueError) as exc:
            self._show_estimate_problem(str(exc) or type(exc).__name__)
            return
        if run_ids != self._run_ids:
            return
        self.plan = plan
        total = plan.total
        if total.parts and total.unknown_parts == total.parts:
            self.estimate_value.setText("unknown")
            self.estimate_badge.hide()
        else:
            text = format_cost(total.usd, total.source)
            self.estimate_badge.setVisible(text.endswith(" est."))
            self.estimate_value.setText(text.removesuffix(" est."))
        lines = [f"for {plural(plan.replayable, 'replay')} on {target.label}"]
        if total.partly_unknown:
            lines[0] += f" ({plural(total.unknown_parts, 'model')} without a price: more)"
        if plan.unavailable:
            reasons = "; ".join(
                f"{short_id(rid)}: {reason}" for rid, reason in plan.unavailable[:3]
            )
            lines.append(
                f"{plural(len(plan.unavailable), 'run')} cannot be replayed and will be "
                f"skipped ({html.escape(reasons)}"
                + ("; …" if len(plan.unavailable) > 3 else "")
                + ")"
            )
        lines.extend(html.escape(note) for note in plan.notes[:4])
        self.estimate_detail.setText("<br/>".join(lines))
        self._update_start()
        self.sig_plan_ready.emit(plan)

    def _show_estimate_problem(self, text: str) -> None:
        self.estimate_value.setText("—")
        self.estimate_badge.hide()
        self.estimate_detail.setText(html.escape(text))

    def _update_start(self) -> None:
        plan = self.plan
        ready = plan is not None and plan.replayable > 0 and self._state == SETUP
        self.start_button.setEnabled(ready)
        self.start_button.setDefault(ready)
        count = plan.replayable if plan is not None else len(self._run_ids)
        self.start_button.setText(f"&Replay {plural(count, 'run')}" if count else "&Replay")

    # -- running ---------------------------------------------------------------------------------

    def start(self) -> None:
        plan = self.plan
        target = self.target_form.target()
        if plan is None or target is None or self._state != SETUP:
            return
        cancel = self._begin_batch(
            len(plan.run_ids),
            f"Replaying {plural(len(plan.run_ids), 'run')} on {target.label}, "
            f"{self.concurrency.value()} at a time…",
        )
        self.ctx.spawn(
            self._run(plan.run_ids, target, self.concurrency.value(), cancel),
            what="replay the runs",
        )

    async def _run(
        self, run_ids: tuple[str, ...], target: ReplayTarget, concurrency: int, cancel: Any
    ) -> None:
        summary = await self.ctx.engine_run(
            replay_batch(
                self.ctx.workspace,
                list(run_ids),
                target,
                concurrency=concurrency,
                progress=self.ctx.on_ui(self._on_progress),
                cancel=cancel,
            )
        )
        if self.work.alive():
            self._finished(summary)

    def _finished(self, summary: BatchSummary) -> None:
        failed_before = summary.recovered + summary.still_failing
        if failed_before:
            self.headline.setText(f"{summary.recovered} of {failed_before} failures recovered")
        else:
            self.headline.setText(f"{plural(summary.replayed, 'run')} replayed")
        self.count_labels["recovered"].setText(f"{summary.recovered} recovered")
        self.count_labels["still_failing"].setText(f"{summary.still_failing} still failing")
        self.count_labels["regressed"].setText(f"{summary.regressed} regressed")
        self.count_labels["regressed"].setVisible(summary.regressed > 0)
        self.count_labels["skipped"].setText(
            f"{summary.skipped} skipped"
            + (f" · {summary.unreached} never reached a model" if summary.unreached else "")
        )
        self.count_labels["skipped"].setVisible(summary.skipped > 0 or summary.unreached > 0)
        source_kind, replay_kind = _cost_sources(summary)
        self.cost_line.setText(
            "Cost: "
            + format_cost(summary.source_cost_usd, source_kind)
            + " → "
            + format_cost(summary.replay_cost_usd, replay_kind)
            + _delta_html(summary.cost_delta_pct)
        )
        self.latency_line.setText(
            "Median latency: "
            + duration_ms(summary.source_median_ms)
            + " → "
            + duration_ms(summary.replay_median_ms)
            + _delta_html(summary.latency_delta_pct)
        )
        self._end_batch(summary)
        self.sig_batch_finished.emit(summary)


def _cost_sources(summary: BatchSummary) -> tuple[str, str]:
    """How certain each side's total is (an estimated part makes the sum estimated)."""
    source: str | None = None
    replayed: str | None = None
    for item in summary.items:
        if item.result is not None:
            comparison = item.result.comparison
            source = rollup_source(source, comparison.source.cost_source)
            replayed = rollup_source(replayed, comparison.replay.cost_source)
    return source or "provider", replayed or "provider"


def _delta_html(pct: float | None) -> str:
    if pct is None:
        return ""
    colour = tone_colour(delta_tone(pct))
    return f' <span style="color:{colour}; font-weight:600">({delta_text(pct)})</span>'
