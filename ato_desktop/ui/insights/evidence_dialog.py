"""Gather evidence: replay a sample of an agent's newest runs on a candidate runtime and model
(engine.cost_recs), so a cost recommendation is earned instead of guessed.

The estimated cost comes first (estimate_evidence on a reader thread), with how many sampled runs
cannot be replayed; Send replays the rest a few at a time with a progress bar and Cancel; the
summary says what the candidate did, and Insights -> Cost reads the replays as evidence.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.cost_recs import AgentEvidence
from ato_desktop.core.figures import usd_cents
from ato_desktop.core.records import AgentRecord
from ato_desktop.engine.cost_recs import DEFAULT_SAMPLE, EvidencePlan, gather_evidence
from ato_desktop.engine.replay import BatchSummary, ReplayTarget
from ato_desktop.ui.insights import cost_reads
from ato_desktop.ui.insights.cost_reads import errors_of, plan_text, summary_lines
from ato_desktop.ui.replay.batch_dialog import BatchJobDialog
from ato_desktop.ui.replay.estimate_card import EstimateCard
from ato_desktop.ui.replay.replay_dialog import error_hint
from ato_desktop.ui.replay.target_form import ReplayTargetForm
from ato_desktop.ui.runs.formatting import plural
from ato_desktop.ui.widgets.background import BackgroundWork
from ato_desktop.ui.widgets.job_dialog import DONE, SETUP
from ato_desktop.ui.widgets.job_dialog import RUNNING as RUNNING  # re-exported
from ato_desktop.ui.widgets.progress_panel import ProgressPanel

DEFAULT_CONCURRENCY = 4
MAX_SAMPLE = 200


class EvidenceDialog(BatchJobDialog):
    """Per agent: a candidate runtime + model and a sample size; the estimate, then Send."""

    sig_evidence_gathered = Signal(object)  # BatchSummary

    def __init__(
        self,
        ctx: Any,
        *,
        agent: str | None = None,
        runtime: str | None = None,
        model: str | None = None,
        evidence: Mapping[str, AgentEvidence] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("EvidenceDialog")
        self.setWindowTitle("Gather evidence")
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.ctx = ctx
        self.work = BackgroundWork(self, ctx)
        self._evidence = dict(evidence or {})
        self._wanted = (agent, runtime, model)
        self._agents: list[AgentRecord] = []
        self.plan: EvidencePlan | None = None
        self.estimate_error = ""

        buttons = self._build_job(
            name="Evidence",
            title="Gather evidence",
            subtitle="Replays a sample of the agent's newest runs on a candidate runtime and "
            "model. Each replay is a run: Insights → Cost judges the candidate on them.",
            setup=self._build_setup(),
            run=self._build_run(),
            start_text="&Send",
            start_name="Send",
            cancel_tip="Start no new replay; those under way finish",
            cancelling="Cancelling: no new replay starts; the ones under way finish first…",
            again_text="Gather &again…",
        )
        self.send_button = self.start_button
        self.send_button.clicked.connect(self.send)
        self.keys_button = QPushButton("API &keys…")
        self.keys_button.setObjectName("EvidenceKeys")
        self.keys_button.setToolTip("Settings → API keys")
        self.keys_button.clicked.connect(self._open_keys)
        self.keys_button.hide()
        buttons.insertWidget(0, self.keys_button)

        self._plan_timer = QTimer(self, singleShot=True, interval=250)
        self._plan_timer.timeout.connect(self._replan)
        self.target_form.sig_target_changed.connect(self._plan_timer.start)
        self.sample.valueChanged.connect(lambda _v: self._plan_timer.start())
        self.agent_combo.currentIndexChanged.connect(self._on_agent_changed)
        self._follow_theme()
        self.resize(820, 600)
        self._show(SETUP)
        self.target_form.load()
        ctx.spawn(self._load_agents(), what="read the agents")

    # -- pages -----------------------------------------------------------------------------------

    def _build_setup(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(12)
        grid = QGridLayout()
        grid.setHorizontalSpacing(10)
        self.agent_combo = QComboBox()
        self.agent_combo.setObjectName("EvidenceAgent")
        self.agent_combo.setMinimumContentsLength(28)
        agent_label = QLabel("A&gent")
        agent_label.setBuddy(self.agent_combo)
        self.sample = QSpinBox()
        self.sample.setObjectName("EvidenceSample")
        self.sample.setRange(1, MAX_SAMPLE)
        self.sample.setValue(DEFAULT_SAMPLE)
        self.sample.setSuffix(" runs")
        self.sample.setToolTip(
            "How many of the agent's newest finished runs to replay (completed and failed "
            "alike); a recommendation needs at least 10 with a known cost"
        )
        sample_label = QLabel("Sample &size")
        sample_label.setBuddy(self.sample)
        self.concurrency = QSpinBox()
        self.concurrency.setObjectName("EvidenceConcurrency")
        self.concurrency.setRange(1, 16)
        self.concurrency.setValue(DEFAULT_CONCURRENCY)
        self.concurrency.setSuffix(" at a time")
        concurrency_label = QLabel("At &most")
        concurrency_label.setBuddy(self.concurrency)
        grid.addWidget(agent_label, 0, 0)
        grid.addWidget(self.agent_combo, 0, 1)
        grid.addWidget(sample_label, 1, 0)
        grid.addWidget(self.sample, 1, 1, Qt.AlignmentFlag.AlignLeft)
        grid.addWidget(concurrency_label, 2, 0)
        grid.addWidget(self.concurrency, 2, 1, Qt.AlignmentFlag.AlignLeft)
        grid.setColumnStretch(1, 1)
        layout.addLayout(grid)

        caption = QLabel("CANDIDATE")
        caption.setObjectName("SectionCaption")
        layout.addWidget(caption)
        self.target_form = ReplayTargetForm(self.ctx)
        # Evidence is the agent's own work on another runtime/model: never another agent.
        for widget in (
            self.target_form.runtime_radio,
            self.target_form.agent_radio,
            self.target_form.agent_combo,
        ):
            widget.hide()
        layout.addWidget(self.target_form)

        card = EstimateCard("ESTIMATED COST", "Estimated: the runs' token counts × the price table")
        self.estimate_value, self.estimate_badge = card.value, card.badge
        self.estimate_detail = card.detail
        layout.addWidget(card)
        self.current_line = QLabel("")
        self.current_line.setObjectName("ReplayHint")
        self.current_line.setWordWrap(True)
        layout.addWidget(self.current_line)
        layout.addStretch(1)
        return page

    def _build_run(self) -> ProgressPanel:
        page, inner = self._build_batch_page(
            "EvidenceItems", "Click a replay (or press Enter) to open its run"
        )
        self.headline.setWordWrap(True)
        self.detail = QLabel("")
        self.detail.setObjectName("EvidenceDetail")
        self.detail.setWordWrap(True)
        inner.addWidget(self.detail)
        self.problem = QLabel("")
        self.problem.setObjectName("EvidenceProblem")
        self.problem.setWordWrap(True)
        self.problem.setTextFormat(Qt.TextFormat.RichText)
        self.problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        inner.addWidget(self.problem)
        self.next_line = QLabel("")
        self.next_line.setObjectName("ReplayHint")
        self.next_line.setWordWrap(True)
        inner.addWidget(self.next_line)
        return page

    # -- state -----------------------------------------------------------------------------------

    def _state_shown(self, state: str) -> None:
        if state != DONE:
            self.keys_button.hide()
        if state == SETUP:
            self._update_send()
            self._plan_timer.start()

    # -- the agent and the candidate -------------------------------------------------------------

    async def _load_agents(self) -> None:
        agents = await self.work.fetch(self.ctx.workspace.store.list_agents)
        self._agents = sorted(agents, key=lambda a: a.name.lower())
        self.agent_combo.blockSignals(True)
        self.agent_combo.clear()
        for record in self._agents:
            config = record.config
            self.agent_combo.addItem(
                f"{record.name}  ·  now {config.runtime} · {config.model}", record.name
            )
        self.agent_combo.blockSignals(False)
        if not self._agents:
            self.subtitle.setText("No agents yet: create one on the Agents page, then come back.")
            self._show_estimate_problem("No agent to gather evidence for.")
            return
        self.choose(*self._wanted)

    def choose(self, agent: str | None, runtime: str | None, model: str | None) -> None:
        """Select the agent and preset the candidate (the other provider unless given)."""
        self._wanted = (agent, runtime, model)
        if not self._agents:
            return
        index = max(0, self.agent_combo.findData(agent)) if agent else 0
        self.agent_combo.blockSignals(True)
        self.agent_combo.setCurrentIndex(index)
        self.agent_combo.blockSignals(False)
        self._preset_target(runtime, model)

    def _on_agent_changed(self, _index: int = 0) -> None:
        self._preset_target(None, None)

    def _preset_target(self, runtime: str | None, model: str | None) -> None:
        record = self.agent_record()
        if record is None:
            return
        self.title.setText(f"Gather evidence for @{record.name}")
        config = record.config
        self.current_line.setText(
            f"@{record.name} runs on {config.runtime} · {config.model} now. The candidate is "
            "judged against it on cost per call, ok-rate and eval score."
        )
        if runtime:
            self.target_form.set_runtime(runtime)
            if model:
                self.target_form.set_model(model)
        else:
            self.target_form.preset(config.runtime)
        self._plan_timer.start()

    def agent_record(self) -> AgentRecord | None:
        name = self.agent_combo.currentData()
        return next((a for a in self._agents if a.name == name), None)

    # -- the estimate ----------------------------------------------------------------------------

    def _replan(self) -> None:
        if self._state != SETUP:
            return
        self.plan = None
        self._update_send()
        record = self.agent_record()
        target = self.target_form.target()
        if record is None:
            return
        if target is None:
            self._show_estimate_problem(self.target_form.problem())
            return
        if (target.runtime, target.model) == (record.config.runtime, record.config.model) and not (
            target.base_url
        ):
            self._show_estimate_problem(
                f"That is what @{record.name} runs on now: choose another runtime or model."
            )
            return
        self.estimate_value.setText("…")
        self.estimate_badge.hide()
        self.estimate_detail.setText(f"Estimating {plural(self.sample.value(), 'replay')}…")
        self.ctx.spawn(
            self._estimate(record.name, target, self.sample.value()),
            what="estimate the evidence",
        )

    async def _estimate(self, agent: str, target: ReplayTarget, size: int) -> None:
        # The newest estimate only (self.work.read); an older one still under way is dropped.
        try:
            plan = await self.work.read(
                cost_reads.estimate, self.ctx.workspace, agent, target, size
            )
        except Exception as exc:  # an agent removed meanwhile, a bad target: say so
            self._show_estimate_problem(str(exc) or type(exc).__name__)
            return
        self.estimate_error = ""
        if not plan.run_ids:
            self._show_estimate_problem(
                f"Nothing to replay: @{agent} has no finished runs with a recorded prompt"
                + (f" ({plan.skipped} without one)." if plan.skipped else ".")
                + " Run the agent first (Chat, CLI or a schedule)."
            )
            return
        self.plan = plan
        usd = plan.estimate.usd or 0.0
        self.estimate_value.setText(usd_cents(usd))
        self.estimate_badge.show()
        self.estimate_detail.setText(plan_text(plan))
        self._update_send()
        self.sig_plan_ready.emit(plan)

    def _show_estimate_problem(self, text: str) -> None:
        self.estimate_error = text
        self.plan = None
        self.estimate_value.setText("—")
        self.estimate_badge.hide()
        self.estimate_detail.setText(text)
        self._update_send()

    def _update_send(self) -> None:
        plan = self.plan
        ready = plan is not None and bool(plan.run_ids) and self._state == SETUP
        self.send_button.setEnabled(ready)
        self.send_button.setDefault(ready)
        count = len(plan.run_ids) if plan is not None else 0
        self.send_button.setText(f"&Send {plural(count, 'replay')}" if count else "&Send")

    # -- sending ---------------------------------------------------------------------------------

    def send(self) -> None:
        plan = self.plan
        if plan is None or not plan.run_ids or self._state != SETUP:
            return
        cancel = self._begin_batch(
            len(plan.run_ids),
            f"Replaying {plural(len(plan.run_ids), 'run')} of @{plan.agent} on "
            f"{plan.target.label}, {self.concurrency.value()} at a time…",
        )
        self.ctx.spawn(self._gather(plan, self.concurrency.value(), cancel), what="gather evidence")

    async def _gather(self, plan: EvidencePlan, concurrency: int, cancel: asyncio.Event) -> None:
        summary = await self.ctx.engine_run(
            gather_evidence(
                self.ctx.workspace,
                plan,
                concurrency=concurrency,
                progress=self.ctx.on_ui(self._on_progress),
                cancel=cancel,
            )
        )
        if self.work.alive():
            self._finished(plan, summary)

    def _finished(self, plan: EvidencePlan, summary: BatchSummary) -> None:
        head, detail = summary_lines(summary, plan.target)
        self.headline.setText(head)
        self.detail.setText(detail)
        errors = errors_of(summary)
        auth = any(
            item.result is not None
            and item.result.dispatch.error_class is not None
            and item.result.dispatch.error_class.value == "auth"
            for item in summary.items
        ) or any("api key" in e.lower() for e in errors)
        if errors:
            first = errors[0]
            more = f" (and {plural(len(errors) - 1, 'other error')})" if len(errors) > 1 else ""
            hint = error_hint("auth") if auth else ""
            self.problem.setText(
                f"<b>Some replays failed:</b> {html.escape(first)}{html.escape(more)}"
                + (f"<br>{html.escape(hint)}" if hint else "")
            )
        self.problem.setVisible(bool(errors))
        self.keys_button.setVisible(auth)
        self.next_line.setText(
            "Insights → Cost now counts these replays as evidence for "
            f"@{plan.agent} on {plan.target.label}."
            if summary.replayed
            else "Nothing was replayed: no evidence was added."
        )
        self._end_batch(summary)
        self.sig_evidence_gathered.emit(summary)

    # -- items -----------------------------------------------------------------------------------

    def _open_keys(self) -> None:
        self.ctx.navigate("settings", {"section": "keys"})
