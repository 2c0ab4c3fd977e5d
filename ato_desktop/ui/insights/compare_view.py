"""Insights -> Compare: two runs of an agent, or two groups of its runs (before/after a config
change, runtime A vs runtime B), side by side.

Every read and every comparison runs on a reader thread (ctx.read); the newest request wins
and the previous result stays on screen until the next one is ready.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.compare import (
    CHANGED,
    ONLY_LEFT,
    ONLY_RIGHT,
    SAME,
    GroupComparison,
    RunComparison,
)
from ato_desktop.core.figures import cost_text, ms_text
from ato_desktop.core.records import AgentRecord, RunRecord
from ato_desktop.ui.agents.config_history import version_summary
from ato_desktop.ui.charts.compare_bars import CompareBars
from ato_desktop.ui.chat.log_tasks import Generations, log_closed
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.insights import compare_reads
from ato_desktop.ui.insights.action_diff import ActionDiffView
from ato_desktop.ui.insights.compare_models import (
    COL_ACTION,
    COL_COST,
    COL_DURATION,
    COL_INDEX,
    COL_LEFT,
    COL_RIGHT,
    COL_STATUS,
    ROW_ROLE,
    ActionRowsModel,
    GroupActionsModel,
    MetricsModel,
)
from ato_desktop.ui.insights.compare_reads import AgentChoices, Target
from ato_desktop.ui.insights.compare_rows import (
    cost_mix_text,
    group_metric_rows,
    run_label,
    run_metric_rows,
    sample_text,
)
from ato_desktop.ui.runs.formatting import local_time, plural, short_id
from ato_desktop.ui.widgets.async_view import STATE_ERROR as STATE_ERROR  # re-exported
from ato_desktop.ui.widgets.async_view import STATE_LOADING, StateStack
from ato_desktop.ui.widgets.background import BackgroundWork
from ato_desktop.ui.widgets.record_table import record_table
from ato_desktop.ui.widgets.visible_refresh import VisibleRefresh

log = logging.getLogger(__name__)

MODE_RUNS = "runs"
MODE_VERSION = "version"
MODE_RUNTIME = "runtime"
MODES = (MODE_RUNS, MODE_VERSION, MODE_RUNTIME)
MODE_TITLES = {
    MODE_RUNS: "Two runs",
    MODE_VERSION: "Before/after a config change",
    MODE_RUNTIME: "Runtime A vs B",
}

# What the body shows (besides STATE_LOADING and STATE_ERROR).
STATE_EMPTY = "empty"  # no agent has two runs
STATE_UNAVAILABLE = "unavailable"  # this mode cannot compare this agent (one version, ...)
STATE_RUNS = "runs"
STATE_GROUPS = "groups"

_SETTINGS_AGENT = "insights/compare_agent"
_SETTINGS_MODE = "insights/compare_mode"


def _table(name: str, model: Any) -> QTableView:
    return record_table(name, model, pixel_scroll_sideways=False)


def _muted(text: str = "", name: str = "") -> QLabel:
    label = QLabel(text)
    label.setProperty("muted", True)
    label.setWordWrap(True)
    if name:
        label.setObjectName(name)
    return label


class RunResultView(QWidget):
    """Two runs: who they are, their totals and deltas, the aligned actions and a row's diff."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.comparison: RunComparison | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)

        top = QHBoxLayout()
        top.setSpacing(14)
        self.metrics_model = MetricsModel(self)
        self.metrics = _table("RunMetrics", self.metrics_model)
        self.metrics.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.metrics.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.metrics.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        top.addWidget(self.metrics, 3)
        side = QVBoxLayout()
        side.setSpacing(6)
        self.left_label = QLabel()
        self.left_label.setObjectName("CompareLeftRun")
        self.left_label.setWordWrap(True)
        self.right_label = QLabel()
        self.right_label.setObjectName("CompareRightRun")
        self.right_label.setWordWrap(True)
        self.rows_label = _muted(name="CompareRowCounts")
        self.notes = _muted(name="CompareNotes")
        for widget in (self.left_label, self.right_label, self.rows_label, self.notes):
            side.addWidget(widget)
        self.bars = CompareBars()  # duration or cost per aligned action, drawn (ui/charts)
        side.addWidget(self.bars, 1)
        top.addLayout(side, 2)
        layout.addLayout(top)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setChildrenCollapsible(False)
        self.actions_model = ActionRowsModel(self)
        self.actions_table = _table("CompareActions", self.actions_model)
        header = self.actions_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL_LEFT, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COL_RIGHT, QHeaderView.ResizeMode.Stretch)
        for col, width in (
            (COL_INDEX, 44),
            (COL_ACTION, 170),
            (COL_STATUS, 120),
            (COL_DURATION, 120),
            (COL_COST, 120),
        ):
            header.resizeSection(col, width)
        self.actions_table.selectionModel().currentRowChanged.connect(self._on_row_changed)
        splitter.addWidget(self.actions_table)
        self.diff = ActionDiffView(ctx)
        splitter.addWidget(self.diff)
        splitter.setSizes([220, 260])
        layout.addWidget(splitter, 1)

    def show_comparison(self, comparison: RunComparison) -> None:
        self.comparison = comparison
        left, right = comparison.left, comparison.right
        self.metrics_model.set_header(1, f"Left · {short_id(left.id or '?')}")
        self.metrics_model.set_header(2, f"Right · {short_id(right.id or '?')}")
        self.metrics_model.set_rows(run_metric_rows(comparison))
        rows = self.metrics_model.rowCount()
        self.metrics.setFixedHeight(28 * rows + self.metrics.horizontalHeader().height() + 4)
        self.left_label.setText(f"<b>Left</b> · {run_label(left)}<br>{_started(left.started_at)}")
        self.right_label.setText(
            f"<b>Right</b> · {run_label(right)}<br>{_started(right.started_at)}"
        )
        counts = comparison.totals.rows
        total = sum(counts.values())
        parts = [
            f"{counts.get(status, 0)} {word}"
            for status, word in (
                (SAME, "same"),
                (CHANGED, "changed"),
                (ONLY_LEFT, "only left"),
                (ONLY_RIGHT, "only right"),
            )
            if counts.get(status)
        ]
        self.rows_label.setText(
            f"{plural(total, 'action')} aligned" + (f": {', '.join(parts)}" if parts else "")
        )
        self.notes.setText("\n".join(comparison.notes))
        self.notes.setVisible(bool(comparison.notes))
        self.actions_model.set_rows(comparison.actions)
        self.bars.show_runs(comparison)
        self.diff.clear()
        first = next(
            (i for i, row in enumerate(comparison.actions) if row.status != SAME),
            0 if comparison.actions else None,
        )
        if first is not None:
            self.actions_table.selectRow(first)

    def _on_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.diff.show_row(current.data(ROW_ROLE) if current.isValid() else None)


class GroupResultView(QWidget):
    """Two groups: sample sizes, statistics and deltas, and how each action name did."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.comparison: GroupComparison | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        self.title = QLabel()
        self.title.setObjectName("CompareGroupsTitle")
        layout.addWidget(self.title)
        top = QHBoxLayout()
        top.setSpacing(14)
        self.metrics_model = MetricsModel(self)
        self.metrics = _table("GroupMetrics", self.metrics_model)
        self.metrics.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.metrics.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.metrics.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        top.addWidget(self.metrics, 3)
        side = QVBoxLayout()
        self.mix = _muted(name="CompareCostMix")
        self.notes = _muted(name="CompareGroupNotes")
        side.addWidget(self.mix)
        side.addWidget(self.notes)
        self.bars = CompareBars()  # mean duration or cost per action name, drawn (ui/charts)
        side.addWidget(self.bars, 1)
        top.addLayout(side, 2)
        layout.addLayout(top)
        caption = QLabel("By action")
        caption.setObjectName("SectionTitle")
        layout.addWidget(caption)
        self.actions_model = GroupActionsModel(self)
        self.actions_table = _table("GroupActions", self.actions_model)
        header = self.actions_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(0, 180)
        layout.addWidget(self.actions_table, 1)

    def show_comparison(self, comparison: GroupComparison) -> None:
        self.comparison = comparison
        left, right = comparison.left, comparison.right
        self.title.setText(f"{sample_text(left)}   →   {sample_text(right)}")
        self.metrics_model.set_header(1, f"Left · {left.label} (n={left.runs})")
        self.metrics_model.set_header(2, f"Right · {right.label} (n={right.runs})")
        self.metrics_model.set_rows(group_metric_rows(comparison))
        rows = self.metrics_model.rowCount()
        self.metrics.setFixedHeight(28 * rows + self.metrics.horizontalHeader().height() + 4)
        mixes = [
            f"{stats.label}: {mix}" for stats in (left, right) if (mix := cost_mix_text(stats))
        ]
        self.mix.setText("Costs by source — " + "; ".join(mixes) if mixes else "")
        self.mix.setVisible(bool(mixes))
        self.notes.setText("\n".join(comparison.notes))
        self.notes.setVisible(bool(comparison.notes))
        self.actions_model.set_rows(comparison.actions)
        self.bars.show_groups(comparison)


def _started(started_at: str | None) -> str:
    if not started_at:
        return ""
    from datetime import datetime

    try:
        moment = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
    except ValueError:
        return started_at
    return f"started {local_time(int(moment.timestamp() * 1000))}"


def _run_item_text(run: RunRecord) -> str:
    """'1a2b3c4d · completed · Today 14:03:12 · claude / sonnet · $0.0142 est.'."""
    parts = [
        short_id(run.id),
        run.status,
        local_time(run.started_at),
        f"{run.runtime} / {run.model}",
        ms_text((run.duration_ns or 0) / 1e6) if run.duration_ns is not None else "",
        cost_text(run.cost_usd, run.cost_source),
    ]
    return " · ".join(p for p in parts if p and p != "—")


class CompareView(QWidget):
    """Pick an agent and what to compare; see the comparison."""

    sig_state_changed = Signal(str)  # one of the STATE_* values
    sig_compared = Signal(object)  # RunComparison | GroupComparison

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._mode = str(ctx.settings.value(_SETTINGS_MODE, MODE_RUNS))
        if self._mode not in MODES:
            self._mode = MODE_RUNS
        self._agents: list[AgentRecord] = []
        self._agents_loaded = False
        self._loading = False  # a reload (agents, choices, comparison) is under way
        self._opening = 0  # open_target calls under way: a list refresh must not overtake them
        self._choices: AgentChoices | None = None
        self._compare_reads = BackgroundWork(
            self, ctx, on_busy=self._show_busy, log_level=logging.INFO
        )
        self._choice_reads = BackgroundWork(self, ctx)
        self._target_generation = Generations()
        self.last_error = ""

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        layout.addWidget(self._build_controls())
        self._body = StateStack("Loading…", name="Compare")
        self.empty = self.unavailable = self._body.message  # empty, unavailable and error
        self.runs_result = RunResultView(ctx)
        self.groups_result = GroupResultView()
        self._body.add_page(self.runs_result, STATE_RUNS)
        self._body.add_page(self.groups_result, STATE_GROUPS)
        self._body.sig_state_changed.connect(
            lambda state: self.controls.setVisible(state != STATE_EMPTY)
        )
        self._body.sig_state_changed.connect(self.sig_state_changed)
        layout.addWidget(self._body, 1)
        self._body.show_state(STATE_LOADING)

        self._refresh = VisibleRefresh(
            self,
            ctx,
            500,
            lambda: self.ctx.spawn(self._refresh_lists(), what="refresh Compare"),
            debounce=True,
        )
        bridge = ctx.bridge
        if bridge is not None:
            bridge.sig_run_ended.connect(self._refresh.schedule)
            bridge.sig_runs_bulk_changed.connect(self._refresh.schedule)
            bridge.sig_config_changed.connect(self._refresh.schedule)

    # -- controls ------------------------------------------------------------------------------

    def _build_controls(self) -> QWidget:
        box = self.controls = QFrame()
        box.setObjectName("CompareControls")
        rows = QVBoxLayout(box)
        rows.setContentsMargins(12, 10, 12, 10)
        rows.setSpacing(8)

        first = QHBoxLayout()
        first.setSpacing(8)
        agent_label = QLabel("A&gent")
        self.agent_combo = QComboBox()
        self.agent_combo.setObjectName("CompareAgent")
        self.agent_combo.setMinimumWidth(200)
        self.agent_combo.setPlaceholderText("No agent")
        self.agent_combo.setToolTip("Agents with at least two runs")
        agent_label.setBuddy(self.agent_combo)
        self.agent_combo.activated.connect(self._on_agent_activated)
        first.addWidget(agent_label)
        first.addWidget(self.agent_combo)
        first.addSpacing(12)
        segment = QWidget()
        segment.setObjectName("ModeSegment")
        seg_row = QHBoxLayout(segment)
        seg_row.setContentsMargins(0, 0, 0, 0)
        seg_row.setSpacing(0)
        self._mode_group = QButtonGroup(self)
        self.mode_buttons: dict[str, QPushButton] = {}
        for i, mode in enumerate(MODES):
            button = QPushButton(MODE_TITLES[mode])
            button.setObjectName(f"Mode_{mode}")
            button.setCheckable(True)
            button.setProperty(
                "segment", "first" if i == 0 else ("last" if i == len(MODES) - 1 else "middle")
            )
            button.clicked.connect(lambda _c=False, m=mode: self.set_mode(m, compare=True))
            self._mode_group.addButton(button)
            self.mode_buttons[mode] = button
            seg_row.addWidget(button)
        self.mode_buttons[MODE_RUNS].setToolTip("Any two runs of the agent, action by action")
        self.mode_buttons[MODE_VERSION].setToolTip(
            "The runs of a config version against the runs of the version before it"
        )
        self.mode_buttons[MODE_RUNTIME].setToolTip(
            "The agent's runs on one runtime / model against another"
        )
        first.addWidget(segment)
        first.addStretch(1)
        self.busy_label = _muted(name="CompareBusy")
        first.addWidget(self.busy_label)
        rows.addLayout(first)

        second = QHBoxLayout()
        second.setSpacing(8)
        self._pickers = QStackedWidget()
        self._pickers.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._pickers.addWidget(self._build_runs_picker())
        self._pickers.addWidget(self._build_version_picker())
        self._pickers.addWidget(self._build_runtime_picker())
        second.addWidget(self._pickers, 1)
        self.compare_button = QPushButton("Compare")
        self.compare_button.setObjectName("CompareButton")
        self.compare_button.setProperty("primary", True)
        self.compare_button.setToolTip("Compare (Enter)")
        self.compare_button.clicked.connect(self.compare)
        second.addWidget(self.compare_button)
        rows.addLayout(second)
        self._show_mode_buttons()
        return box

    def _build_runs_picker(self) -> QWidget:
        widget = QWidget()
        row = QHBoxLayout(widget)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(8)
        self.left_combo = self._run_combo("CompareLeft")
        self.right_combo = self._run_combo("CompareRight")
        left_label = QLabel("&Left")
        left_label.setBuddy(self.left_combo)
        right_label = QLabel("&Right")
        right_label.setBuddy(self.right_combo)
        self.swap_button = QToolButton()
        self.swap_button.setObjectName("CompareSwap")
        self.swap_button.setText("⇄")
        self.swap_button.setToolTip("Swap left and right")
        self.swap_button.clicked.connect(self.swap)
        row.addWidget(left_label)
        row.addWidget(self.left_combo, 1)
        row.addWidget(self.swap_button)
        row.addWidget(right_label)
        row.addWidget(self.right_combo, 1)
        return widget

    def _run_combo(self, name: str) -> QComboBox:
        combo = QComboBox()
        combo.setObjectName(name)
        combo.setEditable(True)
        combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        combo.setMaxVisibleItems(20)
        combo.setMinimumContentsLength(24)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        line = combo.lineEdit()
        assert line is not None
        line.setPlaceholderText("Pick a run, or paste a run id")
        line.returnPressed.connect(self.compare)
        combo.activated.connect(partial(self._on_picked, combo))
        return combo

    def _build_version_picker(self) -> QWidget:
        widget = QWidget()
        row = QHBoxLayout(widget)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(8)
        self.version_combo = QComboBox()
        self.version_combo.setObjectName("CompareVersion")
        self.version_combo.setToolTip(
            "The runs of this version (right) against the runs of the version before it (left)"
        )
        self.version_combo.activated.connect(lambda _i: self.compare())
        label = QLabel("&Config change")
        label.setBuddy(self.version_combo)
        row.addWidget(label)
        row.addWidget(self.version_combo, 1)
        return widget

    def _build_runtime_picker(self) -> QWidget:
        widget = QWidget()
        row = QHBoxLayout(widget)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(8)
        self.target_a = QComboBox()
        self.target_a.setObjectName("CompareTargetA")
        self.target_b = QComboBox()
        self.target_b.setObjectName("CompareTargetB")
        for combo in (self.target_a, self.target_b):
            combo.activated.connect(lambda _i: self.compare())
        label_a = QLabel("Runtime &A")
        label_a.setBuddy(self.target_a)
        label_b = QLabel("Runtime &B")
        label_b.setBuddy(self.target_b)
        row.addWidget(label_a)
        row.addWidget(self.target_a, 1)
        row.addWidget(label_b)
        row.addWidget(self.target_b, 1)
        return widget

    # -- state ---------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        return self._body.state

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def agent_id(self) -> str | None:
        data = self.agent_combo.currentData()
        return str(data) if data else None

    @property
    def busy(self) -> bool:
        return self._compare_reads.pending > 0

    def set_mode(self, mode: str, *, compare: bool = False) -> None:
        if mode not in MODES:
            return
        self._mode = mode
        self.ctx.settings.setValue(_SETTINGS_MODE, mode)
        self._show_mode_buttons()
        if compare:
            self.compare()

    def _show_mode_buttons(self) -> None:
        self.mode_buttons[self._mode].setChecked(True)
        self._pickers.setCurrentIndex(MODES.index(self._mode))

    # -- loading -------------------------------------------------------------------------------

    def reload(self) -> None:
        """Reload the agents (and the selected agent's choices), then compare again."""
        self._loading = True  # from now: a second first show must not start another load
        self.ctx.spawn(self._reload(), what="load Compare")

    async def _reload(self) -> None:
        generation = self._target_generation.next()
        self._loading = True
        try:
            if not await self._load_agents():
                return
            if not self._target_generation.is_latest(generation):
                return
            agent_id = self.agent_id
            if agent_id is None and self._agents:
                saved = str(self.ctx.settings.value(_SETTINGS_AGENT, ""))
                known = any(a.id == saved for a in self._agents)
                agent_id = saved if known else self._agents[0].id
            if agent_id is not None and await self._load_choices(agent_id, keep_selection=True):
                await self._compare()
        finally:
            self._loading = False

    async def _refresh_lists(self) -> None:
        """After new runs or config changes: fresh pickers; the comparison shown stays (and the
        first one is made, when nothing was compared yet)."""
        if self._opening:  # that open reads everything afresh, and its choices must win
            return
        if self.state == STATE_LOADING:
            await self._reload()
            return
        if not await self._load_agents():
            return
        if self.agent_id is not None and not self._opening:
            await self._load_choices(self.agent_id, keep_selection=True)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        # Whatever way the tab came up (a click, the palette, a link): it loads on first show.
        if not self._refresh.on_show():
            self.ensure_loaded()

    async def _load_agents(self) -> bool:
        """Fill the agent picker; shows the empty state (and returns False) when none."""
        store = self.ctx.opened_workspace.store
        agents = await self._choice_reads.fetch(compare_reads.load_agents, store)
        self._agents = agents
        self._agents_loaded = True
        current = self.agent_id
        self.agent_combo.blockSignals(True)
        self.agent_combo.clear()
        for agent in agents:
            self.agent_combo.addItem(agent.name, agent.id)
        index = self.agent_combo.findData(current) if current else -1
        self.agent_combo.setCurrentIndex(index)
        self.agent_combo.blockSignals(False)
        if not agents:
            self._show_empty()
            return False
        return True

    def _show_empty(self) -> None:
        self._set_controls_enabled(False)
        self._body.show_message(
            STATE_EMPTY,
            "Nothing to compare yet",
            "Compare needs an agent with at least two runs. Send a prompt to one of your agents "
            "twice (Chat, Ctrl+1), or create an agent first (Agents, Ctrl+2); runs from the CLI, "
            "schedules and replays count too.",
            primary=("Open Chat", lambda: self.ctx.navigate("chat")),
            secondary=("Open Agents", lambda: self.ctx.navigate("agents")),
        )

    def _set_controls_enabled(self, enabled: bool) -> None:
        for widget in (
            self.agent_combo,
            self._pickers,
            self.compare_button,
            *self.mode_buttons.values(),
        ):
            widget.setEnabled(enabled)

    def _on_agent_activated(self, _index: int) -> None:
        agent_id = self.agent_id
        if agent_id is None:
            return
        self.ctx.settings.setValue(_SETTINGS_AGENT, agent_id)
        self.ctx.spawn(self._agent_chosen(agent_id), what="load the agent's runs")

    async def _agent_chosen(self, agent_id: str) -> None:
        if await self._load_choices(agent_id, keep_selection=False):
            await self._compare()

    async def _load_choices(self, agent_id: str, *, keep_selection: bool) -> bool:
        return await self._choice_reads.show(
            compare_reads.load_choices,
            self.ctx.opened_workspace.store,
            agent_id,
            apply=lambda choices: self._show_choices(choices, keep_selection),
            fail=lambda error: self._show_error("Could not read the agent", error),  # deleted
        )

    def _show_choices(self, choices: AgentChoices, keep_selection: bool) -> None:
        self._choices = choices
        self._set_controls_enabled(True)
        index = self.agent_combo.findData(choices.agent.id)
        if index < 0:  # an agent with fewer than two runs, opened by a link: show it anyway
            self.agent_combo.addItem(choices.agent.name, choices.agent.id)
            index = self.agent_combo.count() - 1
        self.agent_combo.setCurrentIndex(index)
        self._fill_runs(choices.runs, keep_selection)
        self._fill_versions(choices, keep_selection)
        self._fill_targets(choices.targets, keep_selection)

    def _fill_runs(self, runs: list[RunRecord], keep: bool) -> None:
        for combo, default in ((self.left_combo, 1), (self.right_combo, 0)):
            previous = self._run_text(combo) if keep else None
            combo.blockSignals(True)
            combo.clear()
            for run in runs:
                combo.addItem(_run_item_text(run), run.id)
                combo.setItemData(
                    combo.count() - 1,
                    f"{run.id}\n{run.agent_name or ''} v{run.agent_version or '?'}",
                    Qt.ItemDataRole.ToolTipRole,
                )
            if previous:
                self._select_run(combo, previous)
            else:
                # Left: the run before the newest; right: the newest.
                combo.setCurrentIndex(min(default, combo.count() - 1))
            _show_start(combo)
            combo.blockSignals(False)

    @staticmethod
    def _select_run(combo: QComboBox, run_id: str) -> None:
        index = combo.findData(run_id)
        if index < 0:
            combo.addItem(run_id, run_id)
            index = combo.count() - 1
        combo.setCurrentIndex(index)
        _show_start(combo)

    @staticmethod
    def _run_text(combo: QComboBox) -> str:
        """The picked run's id, or what was typed (an id, a prefix or a suffix)."""
        index = combo.currentIndex()
        text = combo.currentText().strip()
        if index >= 0 and combo.itemText(index) == text:
            return str(combo.itemData(index))
        return text

    def _fill_versions(self, choices: AgentChoices, keep: bool) -> None:
        previous = self.version_combo.currentData() if keep else None
        combo = self.version_combo
        combo.blockSignals(True)
        combo.clear()
        versions = choices.versions  # newest first
        for i, version in enumerate(versions[:-1]):
            before = versions[i + 1]
            text = (
                f"v{before.version} → v{version.version} · {version_summary(version)} · "
                f"{local_time(version.created_at)} · {before.run_count} → "
                f"{plural(version.run_count, 'run')}"
            )
            combo.addItem(text, version.version)
        index = combo.findData(previous) if previous is not None else -1
        if index < 0:
            index = combo.findData(choices.agent.current_version)
        combo.setCurrentIndex(max(index, 0) if combo.count() else -1)
        combo.blockSignals(False)

    def _fill_targets(self, targets: list[Target], keep: bool) -> None:
        previous = [c.currentIndex() for c in (self.target_a, self.target_b)] if keep else []
        for combo in (self.target_a, self.target_b):
            combo.blockSignals(True)
            combo.clear()
            for target in targets:
                combo.addItem(f"{target.label} · {plural(target.runs, 'run')}", target)
        a, b = _default_targets(targets)
        if previous and all(0 <= i < len(targets) for i in previous) and previous[0] != previous[1]:
            a, b = previous
        self.target_a.setCurrentIndex(a)
        self.target_b.setCurrentIndex(b)
        for combo in (self.target_a, self.target_b):
            combo.blockSignals(False)

    # -- comparing -----------------------------------------------------------------------------

    def swap(self) -> None:
        left, right = self._run_text(self.left_combo), self._run_text(self.right_combo)
        for combo, run_id in ((self.left_combo, right), (self.right_combo, left)):
            combo.blockSignals(True)
            self._select_run(combo, run_id)
            combo.blockSignals(False)
        self.compare()

    def _on_picked(self, combo: QComboBox, _index: int) -> None:
        _show_start(combo)
        self.compare()

    def compare(self) -> None:
        """Compare what is picked (off the UI thread; the newest request wins)."""
        if self.ctx.workspace is None:
            return
        self.ctx.spawn(self._compare(), what="compare")

    async def _compare(self) -> None:
        choices = self._choices
        store = self.ctx.opened_workspace.store
        agent_id = self.agent_id
        if self._mode == MODE_RUNS:
            a, b = self._run_text(self.left_combo), self._run_text(self.right_combo)
            if not a or not b:
                self._show_unavailable(
                    "Pick two runs",
                    "Choose a run on each side, or paste run ids (a unique prefix or the last 8 "
                    "characters are enough), then press Enter.",
                )
                return
            if a == b:
                self._show_unavailable(
                    "The same run on both sides", "Pick a different run on one side."
                )
                return
            await self._run(compare_reads.two_runs, store, a, b)
        elif agent_id is None or choices is None:
            self._show_unavailable("Pick an agent", "Choose the agent whose runs to compare.")
        elif self._mode == MODE_VERSION:
            version = self.version_combo.currentData()
            if version is None:
                self._show_unavailable(
                    f"{choices.agent.name} has one config version",
                    "Before/after compares the runs of a config version with the runs of the "
                    "version before it. Change the agent's configuration (Agents → edit), "
                    "run it a few times, then come back.",
                    action=("Open Agents", "agents"),
                )
                return
            await self._run(compare_reads.around_change, store, agent_id, int(version))
        else:
            a_target, b_target = self.target_a.currentData(), self.target_b.currentData()
            if len(choices.targets) < 2 or a_target is None or b_target is None:
                used = choices.targets[0].label if choices.targets else "one runtime"
                self._show_unavailable(
                    "Only one runtime so far",
                    f"{choices.agent.name}'s recent runs all used {used}. Replay some of its "
                    "runs on another runtime, or change its runtime or model, to compare them.",
                    action=("Open Agents", "agents"),
                )
                return
            if a_target == b_target:
                self._show_unavailable("The same runtime on both sides", "Pick two different ones.")
                return
            await self._run(compare_reads.runtime_vs_runtime, store, agent_id, a_target, b_target)

    async def _run(self, fn: Any, *args: Any) -> None:
        # Errors: not found, an ambiguous prefix, CompareUnavailable, a read error.
        await self._compare_reads.show(
            fn,
            *args,
            apply=self._show_result,
            fail=lambda error: self._show_error("Could not compare", error),
            what="compare",
        )

    def _show_result(self, result: RunComparison | GroupComparison) -> None:
        self.last_error = ""
        if isinstance(result, RunComparison):
            self.runs_result.show_comparison(result)
            self._body.show_state(STATE_RUNS)
        else:
            self.groups_result.show_comparison(result)
            self._body.show_state(STATE_GROUPS)
        self.sig_compared.emit(result)

    def _show_busy(self) -> None:
        comparing = self._compare_reads.pending
        self.busy_label.setText("Comparing…" if comparing else "")
        # Before the first result the body says what it waits for (a big group takes seconds).
        self._body.loading.setText("Comparing…" if comparing else "Loading…")
        self.compare_button.setEnabled(not comparing and self.state != STATE_EMPTY)

    def _show_unavailable(
        self, title: str, text: str, *, action: tuple[str, str] | None = None
    ) -> None:
        self._compare_reads.drop_pending()  # a comparison still running must not replace this
        self._body.show_message(
            STATE_UNAVAILABLE,
            title,
            text,
            secondary=(action[0], lambda: self._open(action[1])) if action is not None else None,
        )

    def _show_error(self, title: str, message: str) -> None:
        self.last_error = message
        self._body.show_error(title, message, retry=None)

    def _open(self, target: str) -> None:
        if target == "agents" and self.agent_id:
            self.ctx.navigate("agents", {"agent_id": self.agent_id})
        elif target:
            self.ctx.navigate(str(target))

    # -- navigation ----------------------------------------------------------------------------

    def open_target(self, target: dict[str, Any]) -> None:
        """{"run_a", "run_b"} (ids, prefixes or suffixes), or {"agent_id", "mode", "version"}."""
        self.ctx.spawn(self._open_target_counted(dict(target)), what="open Compare")

    async def _open_target_counted(self, target: dict[str, Any]) -> None:
        self._opening += 1
        try:
            await self._open_target(target)
        finally:
            self._opening -= 1

    async def _open_target(self, target: dict[str, Any]) -> None:
        generation = self._target_generation.next()
        store = self.ctx.opened_workspace.store
        run_a, run_b = target.get("run_a"), target.get("run_b")
        agent_id = target.get("agent_id")
        ids: list[str] = []
        try:
            for text in (run_a, run_b):
                if text:
                    run_id, run_agent = await self._choice_reads.fetch(
                        compare_reads.run_agent, store, str(text)
                    )
                    ids.append(run_id)
                    agent_id = agent_id or run_agent
        except Exception as exc:
            self._show_error("Could not open the run", str(exc) or type(exc).__name__)
            return
        if not await self._load_agents() and agent_id is None:
            return
        if not self._target_generation.is_latest(generation):
            return
        if agent_id is not None:
            if not await self._load_choices(str(agent_id), keep_selection=False):
                return
        elif ids:  # runs without an agent: only the runs themselves can be picked
            self._set_controls_enabled(True)
            self.agent_combo.setCurrentIndex(-1)
            self._choices = None
        if not self._target_generation.is_latest(generation):
            return
        mode = str(target.get("mode") or (MODE_RUNS if ids else self._mode))
        self.set_mode(mode if mode in MODES else MODE_RUNS)
        if ids:
            self.set_mode(MODE_RUNS)
            self.left_combo.blockSignals(True)
            self._select_run(self.left_combo, ids[0])
            self.left_combo.blockSignals(False)
            if len(ids) > 1:
                self.right_combo.blockSignals(True)
                self._select_run(self.right_combo, ids[1])
                self.right_combo.blockSignals(False)
            else:
                self._pick_other(ids[0])
        version = target.get("version")
        if version is not None:
            index = self.version_combo.findData(int(version))
            if index >= 0:
                self.version_combo.setCurrentIndex(index)
        await self._compare()  # drops its result quietly once the view is gone
        if len(ids) == 1 and self._compare_reads.alive():
            self.right_combo.setFocus()

    def _pick_other(self, run_id: str) -> None:
        """The right side for "compare this run with…": the agent's run just before it (or
        after it, for its first run)."""
        combo = self.right_combo
        index = self.left_combo.findData(run_id)
        for candidate in (index + 1, index - 1, 0, 1):
            if 0 <= candidate < combo.count() and combo.itemData(candidate) != run_id:
                combo.blockSignals(True)
                combo.setCurrentIndex(candidate)
                combo.blockSignals(False)
                # The newer run goes right.
                if candidate > index >= 0:
                    self.left_combo.blockSignals(True)
                    self.left_combo.setCurrentIndex(candidate)
                    self.left_combo.blockSignals(False)
                    combo.blockSignals(True)
                    combo.setCurrentIndex(index)
                    combo.blockSignals(False)
                return

    def ensure_loaded(self) -> None:
        """Load on first show (unless a load, or the opening of a target, is under way)."""
        if self.ctx.workspace is None or log_closed(self.ctx):
            return
        if not self._agents_loaded and not self._loading and not self._opening:
            self.reload()

    def focus_picker(self) -> None:
        widget = {
            MODE_RUNS: self.left_combo,
            MODE_VERSION: self.version_combo,
            MODE_RUNTIME: self.target_a,
        }[self._mode]
        widget.setFocus()


def _show_start(combo: QComboBox) -> None:
    """An editable combo shows the end of a long text; its start (the run id) matters more."""
    line = combo.lineEdit()
    if line is not None:
        line.setCursorPosition(0)


def _default_targets(targets: list[Target]) -> tuple[int, int]:
    """Two different runtimes when there are; else the two most used pairs."""
    if not targets:
        return -1, -1
    runtimes = [i for i, t in enumerate(targets) if t.model is None]
    if len(runtimes) >= 2:
        return runtimes[0], runtimes[1]
    first = targets[0]
    for i, t in enumerate(targets[1:], 1):
        if t.runtime != first.runtime and (t.model is None) == (first.model is None):
            return 0, i
    return 0, min(1, len(targets) - 1)
