"""Replay one run (or one of its model calls) on another target.

The flow: the recorded request is read (or the reason it cannot be replayed is shown, and
nothing can be sent); the user picks a target; the plan shows the estimated cost first, then
what had to change; Send dispatches through the one path (Cancel kills the replay run); the
answer is shown beside the source's with the word diff and the deltas.
"""

from __future__ import annotations

import asyncio
import html
import logging
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.cost_rollup import format_cost
from ato_desktop.engine.dispatcher import DispatchError
from ato_desktop.engine.replay import (
    ReplayPlan,
    ReplayResult,
    ReplaySource,
    ReplayTarget,
    ReplayUnavailable,
    load_source,
    plan_replay,
    replay,
)
from ato_desktop.ui.engine_calls import TextRelay
from ato_desktop.ui.replay.comparison_view import ComparisonView
from ato_desktop.ui.replay.estimate_card import EstimateCard
from ato_desktop.ui.replay.replay_style import replay_stylesheet
from ato_desktop.ui.replay.target_form import ReplayTargetForm
from ato_desktop.ui.runs.formatting import short_id
from ato_desktop.ui.widgets.background import BackgroundWork

log = logging.getLogger(__name__)

LOADING, UNAVAILABLE, SETUP, SENDING, RESULT = (
    "loading",
    "unavailable",
    "setup",
    "sending",
    "result",
)
PREVIEW_CHARS = 600  # the tail of the streamed answer shown while sending

_KEY_HINT = (
    "Add the provider's API key in Settings → API keys (it is kept in the system keyring), "
    "then replay again."
)
_NETWORK_HINT = "Check the network connection (and the base URL), then replay again."


def error_hint(error_class: str | None) -> str:
    """What the user can do about a failed replay, by its error class."""
    if error_class == "auth":
        return _KEY_HINT
    if error_class in ("network", "timeout"):
        return _NETWORK_HINT
    if error_class == "rate_limit":
        return "The provider is rate limiting: wait a moment, then replay again."
    return ""


def estimate_text(plan: ReplayPlan) -> tuple[str, bool]:
    """The estimate's text and whether to show the 'est.' badge."""
    cost = plan.estimate
    if cost.usd is None:
        return "unknown", False
    text = format_cost(cost.usd, cost.source.value)
    if text.endswith(" est."):
        return text[: -len(" est.")], True
    return text, False


class ReplayDialog(QDialog):
    """Replay a run (seq: one call_llm action) and compare."""

    sig_state_changed = Signal(str)
    sig_plan_ready = Signal(object)  # ReplayPlan
    sig_replay_finished = Signal(object)  # ReplayResult

    def __init__(
        self, ctx: Any, run_id: str, seq: int | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("ReplayDialog")
        self.setWindowTitle(f"Replay run {short_id(run_id)}")
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.ctx = ctx
        self.work = BackgroundWork(self, ctx)
        self.run_id = run_id
        self.seq = seq
        self.source: ReplaySource | None = None
        self.plan: ReplayPlan | None = None
        self.replay_result: ReplayResult | None = None
        self._state = LOADING
        self._task: asyncio.Task[Any] | None = None
        self._replay_run_id: str | None = None
        self._cancelled = False
        self._streamed: list[str] = []

        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 16, 18, 14)
        layout.setSpacing(10)
        self.title = QLabel(self._title_text())
        self.title.setObjectName("ReplayTitle")
        layout.addWidget(self.title)
        self.subtitle = QLabel("Reading the recorded request…")
        self.subtitle.setObjectName("ReplaySubtitle")
        self.subtitle.setWordWrap(True)
        layout.addWidget(self.subtitle)

        self._stack = QStackedWidget()
        self._pages: dict[str, QWidget] = {}
        self._pages[LOADING] = self._build_loading()
        self._pages[UNAVAILABLE] = self._build_unavailable()
        self._pages[SETUP] = self._build_setup()
        self._pages[SENDING] = self._build_sending()
        self._pages[RESULT] = self._build_result()
        for page in self._pages.values():
            self._stack.addWidget(page)
        layout.addWidget(self._stack, 1)

        buttons = QHBoxLayout()
        buttons.setSpacing(8)
        self.open_replay_button = QPushButton("Open replay run")
        self.open_replay_button.setObjectName("OpenReplayRun")
        self.open_replay_button.setToolTip(
            "Show the replay in Runs (it is a run with trigger replay)"
        )
        self.open_replay_button.clicked.connect(lambda: self._open_run(self._replay_run_id))
        self.again_button = QPushButton("Replay &again…")
        self.again_button.setObjectName("ReplayAgain")
        self.again_button.setToolTip("Pick another target for the same request")
        self.again_button.clicked.connect(lambda: self._show(SETUP))
        buttons.addWidget(self.open_replay_button)
        buttons.addWidget(self.again_button)
        buttons.addStretch(1)
        self.close_button = QPushButton("Close")
        self.close_button.setObjectName("ReplayClose")
        self.close_button.clicked.connect(self.reject)
        self.cancel_button = QPushButton("Cancel replay")
        self.cancel_button.setObjectName("CancelReplay")
        self.cancel_button.setProperty("danger", True)
        self.cancel_button.setToolTip("Stop the replay (the run is recorded as killed)")
        self.cancel_button.clicked.connect(self.cancel_replay)
        self.send_button = QPushButton("&Send replay")
        self.send_button.setObjectName("SendReplay")
        self.send_button.setProperty("primary", True)
        self.send_button.clicked.connect(self.send)
        for button in (self.close_button, self.cancel_button, self.send_button):
            button.setAutoDefault(False)
            buttons.addWidget(button)
        layout.addLayout(buttons)

        self._plan_timer = QTimer(self, singleShot=True, interval=200)
        self._plan_timer.timeout.connect(self._replan)
        self.target_form.sig_target_changed.connect(self._plan_timer.start)
        self._apply_styles()
        if getattr(ctx, "theme", None) is not None:
            ctx.theme.sig_theme_changed.connect(self._on_theme_changed)
        self.resize(920, 620)
        self._show(LOADING)
        ctx.spawn(self._load_source(), what="read the run to replay")

    # -- pages -----------------------------------------------------------------------------------

    def _build_loading(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        label = QLabel("Reading the recorded request from the local log…")
        label.setObjectName("ReplayHint")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(label)
        return page

    def _build_unavailable(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 8, 0, 0)
        card = QFrame()
        card.setObjectName("UnavailableCard")
        inner = QVBoxLayout(card)
        inner.setContentsMargins(14, 12, 14, 12)
        title = QLabel("Replay is not available for this run")
        title.setObjectName("UnavailableTitle")
        inner.addWidget(title)
        self.unavailable_reason = QLabel("")
        self.unavailable_reason.setObjectName("UnavailableReason")
        self.unavailable_reason.setWordWrap(True)
        self.unavailable_reason.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        inner.addWidget(self.unavailable_reason)
        hint = QLabel(
            "Replay reads the prompt from this machine's execution log: it works for runs "
            "dispatched here (Chat, the CLI, schedules, hooks, pipelines) whose model calls "
            "were recorded with their content."
        )
        hint.setObjectName("ReplayHint")
        hint.setWordWrap(True)
        inner.addWidget(hint)
        layout.addWidget(card)
        layout.addStretch(1)
        return page

    def _build_setup(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(12)
        caption = QLabel("REPLAY ON")
        caption.setObjectName("SectionCaption")
        layout.addWidget(caption)
        self.target_form = ReplayTargetForm(self.ctx)
        layout.addWidget(self.target_form)

        card = EstimateCard(
            "ESTIMATED COST OF THE REPLAY",
            "Estimated: token counts × the price table",
            row_spacing=8,
        )
        self.estimate_value, self.estimate_badge = card.value, card.badge
        self.estimate_detail = card.detail
        layout.addWidget(card)

        caption = QLabel("WHAT CHANGES")
        caption.setObjectName("SectionCaption")
        layout.addWidget(caption)
        self.notes = QLabel("")
        self.notes.setObjectName("PlanNotes")
        self.notes.setWordWrap(True)
        self.notes.setTextFormat(Qt.TextFormat.RichText)
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.notes)
        self.plan_error = QLabel("")
        self.plan_error.setObjectName("PlanError")
        self.plan_error.setWordWrap(True)
        self.plan_error.hide()
        layout.addWidget(self.plan_error)
        layout.addStretch(1)
        return page

    def _build_sending(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 12, 0, 0)
        layout.setSpacing(10)
        self.sending_label = QLabel("")
        self.sending_label.setObjectName("SendingLabel")
        self.sending_label.setWordWrap(True)
        layout.addWidget(self.sending_label)
        bar = QProgressBar()
        bar.setObjectName("ReplayProgress")
        bar.setRange(0, 0)
        bar.setTextVisible(False)
        bar.setFixedHeight(6)
        layout.addWidget(bar)
        self.stream_preview = QLabel("")
        self.stream_preview.setObjectName("StreamPreview")
        self.stream_preview.setWordWrap(True)
        self.stream_preview.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.stream_preview.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.stream_preview, 1)
        return page

    def _build_result(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        self.error_frame = QFrame()
        self.error_frame.setObjectName("ReplayError")
        inner = QVBoxLayout(self.error_frame)
        inner.setContentsMargins(12, 8, 12, 8)
        self.error_title = QLabel("")
        self.error_title.setObjectName("ReplayErrorTitle")
        self.error_text = QLabel("")
        self.error_text.setObjectName("ReplayErrorText")
        self.error_text.setWordWrap(True)
        self.error_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        inner.addWidget(self.error_title)
        inner.addWidget(self.error_text)
        self.error_frame.hide()
        layout.addWidget(self.error_frame)
        self.comparison = ComparisonView()
        self.comparison.sig_open_run.connect(self._open_run)
        layout.addWidget(self.comparison, 1)
        return page

    # -- state -----------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        return self._state

    def _show(self, state: str) -> None:
        self._state = state
        self._stack.setCurrentWidget(self._pages[state])
        self.send_button.setVisible(state == SETUP)
        self.cancel_button.setVisible(state == SENDING)
        self.close_button.setVisible(state != SENDING)
        self.close_button.setText("Cancel" if state == SETUP else "Close")
        self.open_replay_button.setVisible(state == RESULT and bool(self._replay_run_id))
        self.again_button.setVisible(state == RESULT)
        if state == SETUP:
            self._update_send()
            self.target_form.model_combo.setFocus()
        elif state == RESULT:
            self.close_button.setDefault(True)
        self.sig_state_changed.emit(state)

    def _title_text(self) -> str:
        call = f" · call #{self.seq}" if self.seq is not None else ""
        return f"Replay run {short_id(self.run_id)}{call}"

    # -- the source ------------------------------------------------------------------------------

    async def _load_source(self) -> None:
        workspace = self.ctx.workspace
        try:
            source = await self.work.fetch(load_source, workspace, self.run_id, self.seq)
        except ReplayUnavailable as exc:
            self._unavailable(str(exc))
            return
        except LookupError as exc:  # the run was deleted meanwhile
            self._unavailable(str(exc) or "The run no longer exists.")
            return
        self.source = source
        run = source.run
        who = f"@{run.agent_name} · " if run.agent_name else ""
        what = (
            "its first model call (a tool loop replays from there)"
            if source.whole_run
            else f"model call #{source.action.seq}"
        )
        turns = len(source.messages)
        self.subtitle.setText(
            f"Source: {who}{run.runtime} · {run.model} · {run.status}. Replays {what}: "
            f"{turns} message{'s' if turns != 1 else ''}"
            + (f", {len(source.tools)} tool definition(s)" if source.tools else "")
            + "."
        )
        self.target_form.preset(source.config.runtime)
        self.target_form.load()
        self._show(SETUP)

    def _unavailable(self, reason: str) -> None:
        self.unavailable_reason.setText(reason)
        self.subtitle.setText("Nothing can be sent for this run.")
        self._show(UNAVAILABLE)

    # -- the plan --------------------------------------------------------------------------------

    def _replan(self) -> None:
        if self.source is None or self._state != SETUP:
            return
        target = self.target_form.target()
        self.plan = None
        self._update_send()
        if target is None:
            self._show_plan_problem(self.target_form.problem())
            return
        self.estimate_value.setText("…")
        self.estimate_badge.hide()
        self.ctx.spawn(self._plan(self.source, target), what="estimate the replay")

    async def _plan(self, source: ReplaySource, target: ReplayTarget) -> None:
        # The newest estimate only: an older one still under way is dropped.
        try:
            plan = await self.work.read(plan_replay, self.ctx.workspace, source, target)
        except (LookupError, ValueError) as exc:  # a deleted agent, a bad runtime
            self._show_plan_problem(str(exc) or type(exc).__name__)
            return
        self.plan = plan
        text, estimated = estimate_text(plan)
        self.estimate_value.setText(text)
        self.estimate_badge.setVisible(estimated)
        self.estimate_detail.setText(
            f"≈ {plan.estimated_input_tokens:,} input + {plan.estimated_output_tokens:,} output "
            f"tokens on {plan.target.label}"
            + (
                " (no price for this model: the cost will be unknown)"
                if plan.estimate.usd is None
                else ""
            )
        )
        if plan.notes:
            items = "".join(f"<li>{html.escape(note)}</li>" for note in plan.notes)
            self.notes.setText(f"<ul style='margin-left:-20px'>{items}</ul>")
        else:
            self.notes.setText("Nothing: every parameter carries over as recorded.")
        self.plan_error.hide()
        self._update_send()
        self.sig_plan_ready.emit(plan)

    def _show_plan_problem(self, text: str) -> None:
        self.estimate_value.setText("—")
        self.estimate_badge.hide()
        self.estimate_detail.setText(text)
        self.notes.setText("")
        self._update_send()

    def _update_send(self) -> None:
        ready = self.plan is not None and self._state == SETUP
        self.send_button.setEnabled(ready)
        self.send_button.setDefault(ready)
        self.send_button.setToolTip(
            "Send the recorded request to the target" if ready else self.target_form.problem()
        )

    # -- sending ---------------------------------------------------------------------------------

    def send(self) -> None:
        plan = self.plan
        if plan is None or self._state != SETUP:
            return
        self._replay_run_id = None
        self._cancelled = False
        self._streamed = []
        self.stream_preview.setText("")
        self.sending_label.setText(f"Replaying on {plan.target.label}…")
        self._show(SENDING)
        self.cancel_button.setFocus()
        self.ctx.prefetch_sdks()
        self._task = self.ctx.spawn(self._send(plan), what="replay the run")

    async def _send(self, plan: ReplayPlan) -> None:
        # On the engine's loop; the text comes back a frame at a time.
        relay = TextRelay(self._on_text, self)
        try:
            result = await self.ctx.engine_run(
                replay(
                    self.ctx.workspace,
                    self.run_id,
                    plan.target,
                    seq=self.seq,
                    plan=plan,
                    on_text=relay.push,
                    on_started=self.ctx.on_ui(self._on_started),
                )
            )
            relay.flush()
        except asyncio.CancelledError:
            if self.work.alive() and not self.ctx.closing:
                self._failed("Replay cancelled", "Nothing was sent.")
            raise
        except (ReplayUnavailable, DispatchError, LookupError, ValueError) as exc:
            if self.work.alive():
                self._failed("The replay could not start", str(exc) or type(exc).__name__)
            return
        if self.work.alive():
            self._finished(result)

    def _on_started(self, run_id: str) -> None:
        self._replay_run_id = run_id
        if self.work.alive():
            self.sending_label.setText(
                f"Replaying on {self.plan.target.label if self.plan else ''} · "
                f"run {short_id(run_id)}…"
            )

    def _on_text(self, text: str) -> None:
        if not self.work.alive():
            return
        self._streamed.append(text)
        tail = "".join(self._streamed)[-PREVIEW_CHARS:]
        self.stream_preview.setText(tail)

    def cancel_replay(self) -> None:
        """Stop the replay: kill its run (recorded as killed), or drop it before it started."""
        if self._state != SENDING:
            return
        self._cancelled = True
        self.cancel_button.setEnabled(False)
        self.sending_label.setText("Cancelling…")
        if self._replay_run_id is not None:
            live = self.ctx.workspace.live
            self.ctx.spawn(self.ctx.engine_call(live.kill, [self._replay_run_id]), what="cancel")
        elif self._task is not None:
            self._task.cancel()

    def _finished(self, result: ReplayResult) -> None:
        self.replay_result = result
        self.cancel_button.setEnabled(True)
        dispatch = result.dispatch
        self._replay_run_id = dispatch.run_id
        run = self.source.run if self.source else None
        source_label = f"{run.runtime} · {run.model}" if run else ""
        self.comparison.set_comparison(result.comparison, source_label, result.plan.target.label)
        self.comparison.show()
        status = dispatch.status.value
        if status == "completed":
            self.error_frame.hide()
        else:
            if status == "killed" or self._cancelled:
                title = "Replay cancelled"
                text = "The replay was stopped; its run is recorded as killed."
            else:
                error_class = dispatch.error_class.value if dispatch.error_class else None
                title = "The replay failed" + (f" ({error_class})" if error_class else "")
                text = (dispatch.error_message or "").strip()
                hint = error_hint(error_class)
                text = f"{text}\n\n{hint}" if hint and text else (text or hint)
            self.error_title.setText(title)
            self.error_text.setText(text)
            self.error_frame.show()
        self.subtitle.setText(
            f"Replayed on {result.plan.target.label} as run {short_id(dispatch.run_id)} "
            f"(trigger replay, replay of {short_id(self.run_id)})."
        )
        self._show(RESULT)
        self.sig_replay_finished.emit(result)

    def _failed(self, title: str, text: str) -> None:
        self.cancel_button.setEnabled(True)
        self.error_title.setText(title)
        self.error_text.setText(text)
        self.error_frame.show()
        self.comparison.hide()
        self._show(RESULT)
        self.again_button.setFocus()

    # -- navigation ------------------------------------------------------------------------------

    def _open_run(self, run_id: str | None) -> None:
        if run_id:
            self.ctx.navigate("runs", {"run_id": run_id})

    def reject(self) -> None:
        if self._state == SENDING:
            self.cancel_replay()
            return
        super().reject()

    def _apply_styles(self) -> None:
        self.setStyleSheet(replay_stylesheet())

    def _on_theme_changed(self, _theme: Any) -> None:
        if self.work.alive():
            self._apply_styles()
            self.comparison.refresh_theme()
