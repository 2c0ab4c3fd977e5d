"""Run details: a header with the run's status and figures, and a tab host (Telemetry now;
Simulation and Determinism plug in with `add_tab`).

A running run stays live: new actions are appended as the store reports them, its figures
refresh (tokens and cost so far), a panel shows how far it is (the stages of a pipeline or skill
flow, tool calls against the agent's ceiling, or its time against the agent's usual duration),
the text of the model turn streaming now (from the stream for this app's runs, from the
checkpoints of another process's) and a Kill button; when it ends a banner (and the status bar)
says how. While it waits for the user to approve a tool call, a banner above the tabs says
which, with Approve and Deny.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.compliance import ComplianceFacts, retention_fact
from ato_desktop.core.cost_rollup import format_cost
from ato_desktop.core.figures import DASH, rate_text
from ato_desktop.core.live_progress import ProgressFacts, progress
from ato_desktop.core.live_status import tokens_so_far
from ato_desktop.core.models import TokenUsage
from ato_desktop.core.records import RunRecord
from ato_desktop.core.timefmt import human_duration
from ato_desktop.engine.retention import retention_days
from ato_desktop.engine.settings_file import SettingsFileError
from ato_desktop.store import run_queries
from ato_desktop.store.compliance import queued_for_sync, run_compliance
from ato_desktop.store.execution_log import NotFoundError
from ato_desktop.store.live_progress import progress_facts
from ato_desktop.ui.approvals import arguments_summary, arguments_text
from ato_desktop.ui.runs.formatting import (
    elapsed,
    full_time,
    local_time,
    now_ms,
    short_id,
    size_text,
)
from ato_desktop.ui.runs.live_run_panel import SOURCE_CHECKPOINT, SOURCE_STREAM, LiveRunPanel
from ato_desktop.ui.runs.rating_widget import RatingWidget
from ato_desktop.ui.runs.telemetry import ActionRow, TelemetryView, build_action_rows
from ato_desktop.ui.theme import current_theme
from ato_desktop.ui.widgets.background import BackgroundWork
from ato_desktop.ui.widgets.flow_layout import FlowLayout
from ato_desktop.ui.widgets.status_badge import StatusBadge, status_label

log = logging.getLogger(__name__)

TELEMETRY_TAB = "telemetry"
MODEL_WIDTH = 300  # px of "runtime · model · trigger" in the header before it elides


@dataclass(frozen=True, slots=True)
class RunBundle:
    """A run and its action rows, read and formatted off the UI thread."""

    run: RunRecord
    actions: list[ActionRow]


def load_bundle(store: Any, run_id: str) -> RunBundle:
    """A run and its formatted actions (runs on a reader thread)."""
    run = store.get_run(run_id)
    texts = run_queries.payload_texts(store, run_id)
    return RunBundle(run, build_action_rows(store.get_actions(run_id), texts))


def load_new_actions(store: Any, run_id: str, after_seq: int) -> RunBundle:
    """The run as it is now and its actions after after_seq (a live run's progress)."""
    actions = run_queries.actions_after(store, run_id, after_seq)
    texts = run_queries.payload_texts(store, run_id, after_seq=after_seq)
    return RunBundle(store.get_run(run_id), build_action_rows(actions, texts))


def load_compliance(store: Any, paths: Any, run: RunRecord) -> ComplianceFacts:
    """What applied to the run (a reader-thread read; the retention setting is a file)."""
    error: str | None = None
    try:
        days = retention_days(paths)
    except SettingsFileError as exc:
        days, error = None, f"settings.json cannot be read ({exc})"
    retention = retention_fact(
        run.started_at,
        days,
        now_ms(),
        running=run.status == "running",
        queued=queued_for_sync(store, run.id),
        error=error,
    )
    return run_compliance(store, run, retention)


@dataclass(frozen=True, slots=True)
class LiveFacts:
    """What a running run's panel needs besides the run: its progress facts and the price of
    one output token (to estimate the cost of the text still streaming; None: unpriced)."""

    progress: ProgressFacts
    usd_per_output_token: float | None


def load_live_facts(store: Any, prices: Any, run: RunRecord) -> LiveFacts:
    """A reader-thread read (the price table may be imported on first use)."""
    per_token: float | None = None
    if prices is not None:
        cost = prices.cost(run.runtime, run.model, TokenUsage(0, 1_000_000))
        per_token = cost.usd / 1_000_000 if cost.usd is not None else None
    return LiveFacts(progress_facts(store, run), per_token)


def partial_output(store: Any, run_id: str) -> str:
    """The text a running run checkpointed last (another process's run)."""
    return store.get_run(run_id).partial_output or ""


def run_exists(store: Any, run_id: str) -> bool:
    """Whether the log still holds this run (a reader-thread read)."""
    try:
        store.get_run(run_id)
    except NotFoundError:
        return False
    return True


def end_notice(run: RunRecord) -> str:
    """What the user is told when a run they watch ends."""
    label = f"Run {short_id(run.id)}"
    duration = human_duration(run.duration_ns) if run.duration_ns is not None else ""
    if run.status == "completed":
        return f"{label} completed in {duration}." if duration else f"{label} completed."
    text = f"{label} {status_label(run.status).lower()}"
    if run.error_class and run.error_class != run.status:
        text += f" ({run.error_class})"
    message = (run.error_message or "").strip().splitlines()
    if message:
        text += f": {message[0][:200]}"
    return text if text.endswith(".") else text + "."


def ended_notice(runs: list[RunRecord]) -> str:
    """What the user is told when several runs they watched on Live ended at once."""
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.status] = counts.get(run.status, 0) + 1
    parts = ", ".join(
        f"{n} {status_label(status).lower()}"
        for status, n in sorted(counts.items(), key=lambda item: -item[1])
    )
    return f"{len(runs)} runs ended: {parts}."


class _Stat(QWidget):
    """A caption over a value (the run header's figures)."""

    def __init__(self, caption: str, key: str) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.caption = QLabel(caption)
        self.caption.setObjectName("StatCaption")
        self.value = QLabel(DASH)
        self.value.setObjectName(f"Stat_{key}")
        self.value.setProperty("stat", True)
        self.value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.caption)
        layout.addWidget(self.value)


class RunDetailsView(QWidget):
    """The header and tabs of one run."""

    sig_back_requested = Signal()
    sig_agent_requested = Signal(str)  # agent id
    sig_run_loaded = Signal(object)  # RunBundle: tabs added later follow the open run here
    sig_run_updated = Signal(object)  # RunRecord (live progress)
    sig_run_ended = Signal(object, str)  # RunRecord, notice text
    sig_load_failed = Signal(str, str)  # run id, message
    sig_replay_requested = Signal(str)  # run id: the header's Replay… button
    sig_run_deleted = Signal(str)  # run id: the open run left the log (retention, demo removal)
    sig_kill_requested = Signal(str)  # run id: the live panel's Kill, after the user confirmed
    _sig_live_chunk = Signal(object)  # str, or None for a new turn (from the dispatch's thread)

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RunDetails")
        self._ctx = ctx
        self.work = BackgroundWork(self, ctx)
        self._run: RunRecord | None = None
        self._generation = 0  # the run shown: a read for a run no longer shown is not applied
        self._live_reading = False
        self._live_again = False
        self._output_chars = 0
        self._pending_seq: int | None = None
        # The running run's live panel: its source, facts, and the reads that feed it.
        self._following: str | None = None  # the running run the panel follows
        self._unlisten: Any = None  # stops the stream listener of a run of this app
        self._live_facts: LiveFacts | None = None
        self._facts_reading = False
        self._facts_again = False
        self._checkpoint_reading = False
        self._checkpoint_again = False
        self._chunks: list[str] = []
        self._chunk_timer = QTimer(self, singleShot=True, interval=50)  # a frame or so
        self._chunk_timer.timeout.connect(self._flush_chunks)
        self._sig_live_chunk.connect(self._on_live_chunk)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)

        # Who and what (left), the run's buttons (right); at a narrow window (the default
        # 1280 px with a running run's Watch button) the buttons wrap onto a row of their own
        # instead of squeezing the title and the agent's name.
        header = QWidget()
        header.setObjectName("RunHeader")
        flow = FlowLayout(header, spacing=10, row_spacing=6)
        who = QWidget()
        top = QHBoxLayout(who)
        top.setContentsMargins(0, 0, 0, 0)
        top.setSpacing(10)
        who.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        actions = QWidget()
        buttons = QHBoxLayout(actions)
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.setSpacing(10)
        buttons.addStretch(1)  # right-aligned on whichever row they land
        actions.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.back_button = QToolButton()
        self.back_button.setObjectName("BackToRuns")
        self.back_button.setText("←  Runs")
        self.back_button.setAutoRaise(True)
        self.back_button.setToolTip("Back to the run list (Esc)")
        self.back_button.clicked.connect(self.sig_back_requested)
        top.addWidget(self.back_button)
        self.title = QLabel("")
        self.title.setObjectName("RunTitle")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top.addWidget(self.title)
        self.badge = StatusBadge()
        top.addWidget(self.badge)
        self.agent_link = QPushButton("")
        self.agent_link.setObjectName("RunAgentLink")
        self.agent_link.setFlat(True)
        self.agent_link.setCursor(Qt.CursorShape.PointingHandCursor)
        self.agent_link.clicked.connect(self._open_agent)
        top.addWidget(self.agent_link)
        self.model_label = QLabel("")  # runtime · model · trigger (elided past MODEL_WIDTH)
        self.model_label.setObjectName("Muted")
        top.addWidget(self.model_label)
        self.rating = RatingWidget(ctx)  # thumbs up/down with a note, and the judge's score
        buttons.addWidget(self.rating)
        self.sig_run_loaded.connect(lambda bundle: self.rating.show_run(bundle.run.id))
        self.replay_button = QPushButton("Replay…")
        self.replay_button.setObjectName("ReplayRun")
        self.replay_button.setToolTip(
            "Send this run's request again on another runtime or agent, and compare (Shift+R)"
        )
        self.replay_button.clicked.connect(self._request_replay)
        buttons.addWidget(self.replay_button)
        # Watch: a notification when this run completes, however short (ui.notifications).
        self.watch_button = QPushButton("Watch this run")
        self.watch_button.setObjectName("WatchRun")
        self.watch_button.setCheckable(True)
        self.watch_button.setToolTip("Notify me when this run completes or fails")
        self.watch_button.toggled.connect(self._toggle_watch)
        self.watch_button.hide()
        buttons.addWidget(self.watch_button)
        self.copy_id = QPushButton("Copy run ID")
        self.copy_id.setObjectName("CopyRunId")
        self.copy_id.clicked.connect(self._copy_id)
        buttons.addWidget(self.copy_id)
        flow.addWidget(who)
        flow.addWidget(actions)
        self.header_flow = flow
        layout.addWidget(header)

        self.live_bar = QProgressBar()
        self.live_bar.setObjectName("LiveProgress")
        self.live_bar.setRange(0, 0)
        self.live_bar.setTextVisible(False)
        self.live_bar.setFixedHeight(3)
        self.live_bar.hide()
        layout.addWidget(self.live_bar)

        stats = QFrame()
        stats.setObjectName("RunStats")
        grid = QGridLayout(stats)
        grid.setContentsMargins(14, 8, 14, 8)
        grid.setHorizontalSpacing(26)
        self._stats: dict[str, _Stat] = {}
        for col, (caption, key) in enumerate(
            (
                ("Duration", "duration"),
                ("Actions", "actions"),
                ("Cost", "cost"),
                ("Success", "success"),
                ("Tokens in / out", "tokens"),
                ("Started", "started"),
                ("Ended", "ended"),
            )
        ):
            stat = _Stat(caption, key)
            grid.addWidget(stat, 0, col)
            self._stats[key] = stat
        grid.setColumnStretch(len(self._stats), 1)
        layout.addWidget(stats)

        self.live_panel = LiveRunPanel()
        self.live_panel.sig_kill_clicked.connect(self.confirm_kill)
        self.live_panel.hide()
        layout.addWidget(self.live_panel)
        self._style_live_panel()
        theme = getattr(ctx, "theme", None)
        if theme is not None:
            theme.sig_theme_changed.connect(lambda _t: self._style_live_panel())

        self.banner = QFrame()
        self.banner.setObjectName("RunBanner")
        banner_layout = QHBoxLayout(self.banner)
        banner_layout.setContentsMargins(12, 6, 8, 6)
        self.banner_text = QLabel("")
        self.banner_text.setObjectName("RunBannerText")
        self.banner_text.setWordWrap(True)
        self.banner_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        banner_layout.addWidget(self.banner_text, 1)
        dismiss = QToolButton()
        dismiss.setText("✕")
        dismiss.setAutoRaise(True)
        dismiss.setToolTip("Dismiss")
        dismiss.clicked.connect(self.banner.hide)
        banner_layout.addWidget(dismiss)
        self.banner.hide()
        layout.addWidget(self.banner)

        self.approval_banner = QFrame()
        self.approval_banner.setObjectName("ApprovalBanner")
        approval_layout = QHBoxLayout(self.approval_banner)
        approval_layout.setContentsMargins(12, 8, 8, 8)
        approval_layout.setSpacing(8)
        self.approval_text = QLabel("")
        self.approval_text.setObjectName("ApprovalBannerText")
        self.approval_text.setWordWrap(True)
        self.approval_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        approval_layout.addWidget(self.approval_text, 1)
        self.deny_button = QPushButton("&Deny")
        self.deny_button.setObjectName("BannerDenyButton")
        self.deny_button.setProperty("danger", True)
        self.deny_button.setToolTip("The tool is not run; the model is told you said no")
        self.deny_button.clicked.connect(lambda: self._answer(False))
        approval_layout.addWidget(self.deny_button)
        self.approve_button = QPushButton("&Approve")
        self.approve_button.setObjectName("BannerApproveButton")
        self.approve_button.setProperty("primary", True)
        self.approve_button.setToolTip("Run the tool with these arguments")
        self.approve_button.clicked.connect(lambda: self._answer(True))
        approval_layout.addWidget(self.approve_button)
        self.approval_banner.hide()
        layout.addWidget(self.approval_banner)
        self._approval_request: Any = None
        self._approval_run_id: str | None = None
        approvals = getattr(ctx, "approvals", None)
        if approvals is not None:
            approvals.sig_pending_changed.connect(self._show_approval)

        # Runs removed in bulk (retention, the demo's removal): the open run may be one of them.
        bridge = getattr(ctx, "bridge", None)
        if bridge is not None:
            bridge.sig_runs_bulk_changed.connect(self._check_still_there)
            # A pipeline's stages start and end as runs of their own: its progress moves.
            bridge.sig_run_created.connect(self._on_other_run_changed)
            bridge.sig_run_ended.connect(self._on_other_run_changed)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("RunTabs")
        self.tabs.setDocumentMode(True)
        # Beside the tabs (the header row is full): the run's actions among every run's.
        self.ledger_button = QPushButton("View in Activity Ledger →")
        self.ledger_button.setObjectName("ViewInLedger")
        self.ledger_button.setFlat(True)
        self.ledger_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.ledger_button.setToolTip("This run's actions in the Activity Ledger's table (L)")
        self.ledger_button.clicked.connect(self._view_in_ledger)
        self.tabs.setCornerWidget(self.ledger_button, Qt.Corner.TopRightCorner)
        self._tab_keys: list[str] = []
        self.telemetry = TelemetryView()
        self.add_tab(TELEMETRY_TAB, self.telemetry, "Telemetry")
        layout.addWidget(self.tabs, 1)

    # -- tabs host -----------------------------------------------------------------------------

    def add_tab(self, key: str, widget: QWidget, title: str) -> None:
        """Host another view of the open run (Simulation, Determinism...). The widget can follow
        the open run through sig_run_loaded / sig_run_updated / sig_run_ended."""
        self._tab_keys.append(key)
        self.tabs.addTab(widget, title)

    def show_tab(self, key: str) -> bool:
        if key not in self._tab_keys:
            return False
        self.tabs.setCurrentIndex(self._tab_keys.index(key))
        return True

    def current_tab(self) -> str:
        index = self.tabs.currentIndex()
        return self._tab_keys[index] if 0 <= index < len(self._tab_keys) else ""

    # -- the open run ----------------------------------------------------------------------------

    @property
    def run(self) -> RunRecord | None:
        return self._run

    @property
    def run_id(self) -> str | None:
        return self._run.id if self._run is not None else None

    def open_run(self, run_id: str, *, seq: int | None = None) -> None:
        """Load a run (off the UI thread) and show it; seq opens that action in the inspector."""
        self._generation += 1
        self._pending_seq = seq
        self.banner.hide()
        self._approval_run_id = run_id
        self._show_approval()
        if self._run is None or self._run.id != run_id:
            self._run = None
            self._stop_following()
            self.title.setText(f"Run {short_id(run_id)}")
            self.title.setToolTip(run_id)
            self.telemetry.show_loading()
        self._ctx.spawn(self._load(self._generation, run_id), what="open the run")

    async def _load(self, generation: int, run_id: str) -> None:
        store = self._ctx.workspace.store
        try:
            bundle = await self.work.fetch(load_bundle, store, run_id)
        except Exception as exc:
            if generation == self._generation:
                self.sig_load_failed.emit(run_id, str(exc) or type(exc).__name__)
            return
        if generation != self._generation:
            return
        self._run = bundle.run
        self._output_chars = len(bundle.run.partial_output or "")
        self._show_header(bundle.run)
        run = bundle.run
        if run.status in ("failed", "killed", "interrupted"):
            message = (run.error_message or "").strip()
            self._show_banner(
                f"{status_label(run.status)}: {run.error_class or run.status}"
                + (f" — {message.splitlines()[0][:300]}" if message else ""),
                "failed" if run.status == "failed" else "neutral",
            )
        self.telemetry.show_actions(bundle.run, bundle.actions)
        self._follow(bundle.run)
        self._read_compliance()
        if self._pending_seq is not None:
            self.telemetry.inspect_seq(self._pending_seq)
            self._pending_seq = None
        self.sig_run_loaded.emit(bundle)

    def _show_header(self, run: RunRecord) -> None:
        self.title.setText(f"Run {short_id(run.id)}")
        self.title.setToolTip(run.id)
        self.badge.set_status(run.status)
        if run.agent_id:
            version = f"  v{run.agent_version}" if run.agent_version is not None else ""
            self.agent_link.setText(f"{run.agent_name or run.agent_id[-8:]}{version}")
            self.agent_link.setToolTip("Open this agent")
            self.agent_link.show()
        else:
            self.agent_link.hide()
        model = f"{run.runtime} · {run.model} · {run.trigger}"
        metrics = self.model_label.fontMetrics()
        self.model_label.setText(
            metrics.elidedText(model, Qt.TextElideMode.ElideMiddle, MODEL_WIDTH)
        )
        self.model_label.setToolTip(model)
        running = run.status == "running"
        self.live_bar.setVisible(running and self._following != run.id)
        self.live_panel.setVisible(running and self._following == run.id)
        notifications = getattr(self._ctx, "notifications", None)
        self.watch_button.setVisible(running and notifications is not None)
        self.watch_button.blockSignals(True)
        watched = notifications is not None and notifications.is_watched(run.id)
        self.watch_button.setChecked(watched)
        self.watch_button.blockSignals(False)
        s = self._stats
        if running:
            live = f"{elapsed(run.started_at)} so far"
            if self._output_chars:
                live += f" · {size_text(self._output_chars, 'chars')} streamed"
            s["duration"].value.setText(live)
        else:
            s["duration"].value.setText(
                human_duration(run.duration_ns) if run.duration_ns is not None else DASH
            )
        s["actions"].value.setText(f"{run.action_count:,}")
        s["cost"].value.setText(format_cost(run.cost_usd, run.cost_source))
        s["success"].value.setText(rate_text(run.success_rate))
        usage = run.usage
        tokens = f"{usage.input_tokens:,} / {usage.output_tokens:,}"
        s["tokens"].value.setText(tokens + (" est." if run.tokens_estimated else ""))
        if running and self._following == run.id:
            self._show_so_far(run)
        s["started"].value.setText(local_time(run.started_at))
        s["started"].value.setToolTip(full_time(run.started_at))
        s["ended"].value.setText(local_time(run.ended_at) if run.ended_at else DASH)
        s["ended"].value.setToolTip(full_time(run.ended_at) if run.ended_at else "Still running")
        self.telemetry.set_run(run)

    def _toggle_watch(self, watched: bool) -> None:
        notifications = getattr(self._ctx, "notifications", None)
        run = self.run
        if notifications is None or run is None:
            return
        notifications.watch(run.id, watched)
        self._ctx.status(
            f"You will be notified when run {short_id(run.id)} ends."
            if watched
            else f"No longer watching run {short_id(run.id)}."
        )

    def _show_banner(self, text: str, kind: str) -> None:
        self.banner_text.setText(text)
        self.banner.setProperty("kind", kind)
        self.banner.style().unpolish(self.banner)
        self.banner.style().polish(self.banner)
        self.banner.show()

    # -- a run in flight -------------------------------------------------------------------------

    def _follow(self, run: RunRecord) -> None:
        """Show the live panel of a running run and feed it: from the stream for a run of this
        app, from its checkpoints for another process's."""
        if run.status != "running":
            self._stop_following()
            return
        if self._following == run.id:
            return
        self._stop_following()
        self._following = run.id
        self._live_facts = None
        workspace = self._ctx.workspace
        entry = workspace.live.get(run.id) if workspace is not None else None
        if entry is not None:
            self.live_panel.reset(SOURCE_STREAM, entry.turn_text)
            # Called on the dispatch's thread: hand over through a queued signal.
            self._unlisten = entry.listen(self._sig_live_chunk.emit)
        else:
            self.live_panel.reset(SOURCE_CHECKPOINT, run.partial_output or "")
        if run.kill_requested_at is not None:
            self.live_panel.set_kill_requested()
        self._read_live_facts()
        self._show_header(run)

    def _stop_following(self) -> None:
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        self._following = None
        self._chunks.clear()
        self._chunk_timer.stop()
        self.live_panel.hide()

    def _on_live_chunk(self, chunk: str | None) -> None:
        if chunk is None:  # a new model turn: its text starts afresh
            self._chunks.clear()
            self.live_panel.set_text("")
            return
        self._chunks.append(chunk)
        if not self._chunk_timer.isActive():
            self._chunk_timer.start()  # many chunks, one repaint per frame

    def _flush_chunks(self) -> None:
        if self._chunks:
            text, self._chunks = "".join(self._chunks), []
            self.live_panel.append_text(text)
            if self._run is not None and self._run.status == "running":
                self._show_so_far(self._run)

    def _read_checkpoint(self) -> None:
        # One read in flight; a checkpoint arriving meanwhile is read right after it.
        if self._checkpoint_reading:
            self._checkpoint_again = True
            return
        run_id = self._following
        if run_id is None or self._ctx.workspace is None:
            return
        self._checkpoint_reading = True
        self._ctx.spawn(self._load_checkpoint(run_id), what="read the run's output so far")

    async def _load_checkpoint(self, run_id: str) -> None:
        try:
            text: str | None = await self.work.fetch(
                partial_output, self._ctx.workspace.store, run_id
            )
        except Exception:  # gone meanwhile: the run's end or deletion says so
            text = None
        self._checkpoint_reading = False
        if text is not None and self._following == run_id:
            self.live_panel.set_text(text)
            if self._run is not None and self._run.status == "running":
                self._show_so_far(self._run)
        if self._checkpoint_again:
            self._checkpoint_again = False
            self._read_checkpoint()

    def _on_other_run_changed(self, event: Any) -> None:
        run = self._run
        if run is not None and self._following == run.id and run.pipeline_id is not None:
            self._read_live_facts()

    def _read_live_facts(self) -> None:
        if self._facts_reading:
            self._facts_again = True
            return
        run = self._run
        if run is None or self._following != run.id or self._ctx.workspace is None:
            return
        self._facts_reading = True
        self._ctx.spawn(self._load_live_facts(run), what="read the run's progress")

    async def _load_live_facts(self, run: RunRecord) -> None:
        workspace = self._ctx.workspace
        try:
            facts: LiveFacts | None = await self.work.fetch(
                load_live_facts, workspace.store, getattr(workspace, "prices", None), run
            )
        except Exception:  # the panel keeps its last facts; the run goes on
            log.exception("could not read the progress of run %s", run.id)
            facts = None
        self._facts_reading = False
        if facts is not None and self._following == run.id:
            self._live_facts = facts
            if self._run is not None and self._run.status == "running":
                self._show_header(self._run)
        if self._facts_again:
            self._facts_again = False
            self._read_live_facts()

    def _show_so_far(self, run: RunRecord) -> None:
        """Progress, tokens and cost so far of the running run the panel follows."""
        facts = self._live_facts
        started = run.started_at
        if facts is not None:
            self.live_panel.set_progress(progress(facts.progress, max(0, now_ms() - started)))
        elif self.live_panel.progress is None:
            self.live_panel.set_progress(progress(ProgressFacts(), max(0, now_ms() - started)))
        streaming = len(self.live_panel.text)
        tokens = tokens_so_far(run.usage.output_tokens, streaming)
        cost = run.cost_usd
        estimated = run.cost_source == "estimated" or (streaming > 0 and cost is not None)
        if facts is not None and facts.usd_per_output_token is not None and streaming:
            streaming_tokens = tokens.count - run.usage.output_tokens
            cost = (cost or 0.0) + streaming_tokens * facts.usd_per_output_token
            estimated = True
        unpriced = facts is not None and facts.usd_per_output_token is None and streaming > 0
        if cost is None:
            cost_text = (
                "cost unknown so far" if run.cost_source == "unknown" or unpriced else "no cost yet"
            )
        else:
            cost_text = f"{'~' if estimated else ''}${cost:,.4f} so far"
        self.live_panel.set_so_far(f"{tokens.text()} tokens out · {cost_text}")
        usage = run.usage
        self._stats["tokens"].value.setText(f"{usage.input_tokens:,} / {tokens.text()}")
        self._stats["cost"].value.setText(cost_text)

    def confirm_kill(self) -> Any:
        """Ask before killing the running run (Cancel is the default); Kill kills."""
        from ato_desktop.ui.runs.live_view import ConfirmKillDialog

        run = self._run
        if run is None or run.status != "running":
            return None
        who = f" ({run.agent_name})" if run.agent_name else ""
        box = ConfirmKillDialog(
            f"Kill run {short_id(run.id)}{who}? It stops at once and ends as killed; the output "
            "streamed so far is kept in the log.",
            self,
        )
        box.accepted.connect(lambda: self.kill(run.id))
        box.open()
        self.kill_dialog = box
        return box

    def kill(self, run_id: str) -> None:
        """Kill the run: here when this app runs it, else flagged for the process that does."""
        workspace = self._ctx.workspace
        if workspace is None:
            return
        self.live_panel.set_kill_requested()
        self._ctx.spawn(self._kill(run_id), what="kill the run")

    async def _kill(self, run_id: str) -> None:
        outcome = await self._ctx.workspace.live.kill_anywhere([run_id])
        if not self.work.alive():
            return
        if outcome.requested:
            self._ctx.status(
                f"Asked the process running {short_id(run_id)} to kill it; it stops within a "
                "second."
            )
        elif outcome.local:
            self._ctx.status(f"Killing run {short_id(run_id)}…")
        self.sig_kill_requested.emit(run_id)

    def _style_live_panel(self) -> None:
        t = current_theme()
        self.live_panel.setStyleSheet(
            f"""
            QFrame#RunLivePanel {{ background: {t.surface}; border: 1px solid {t.border};
                border-left: 3px solid {t.running}; border-radius: 8px; }}
            QProgressBar#RunProgressBar {{ border: none; border-radius: 4px;
                background: {t.surface_alt}; }}
            QProgressBar#RunProgressBar::chunk {{ background: {t.running}; border-radius: 4px; }}
            QLabel#RunProgressPercent {{ font-weight: 600; }}
            QLabel#RunProgressText[overdue="true"] {{ color: {t.warning}; }}
            QPlainTextEdit#RunLiveOutput {{ background: {t.code_bg}; border: none;
                border-radius: 6px; }}
            """
        )

    # -- compliance ----------------------------------------------------------------------------

    def _read_compliance(self) -> None:
        run = self._run
        if run is not None and self._ctx.workspace is not None:
            self._ctx.spawn(
                self._load_compliance(self._generation, run), what="read the run's compliance"
            )

    async def _load_compliance(self, generation: int, run: RunRecord) -> None:
        workspace = self._ctx.workspace
        try:
            facts = await self.work.fetch(load_compliance, workspace.store, self._ctx.paths, run)
        except Exception:  # the section stays empty; the rest of the run is shown
            log.exception("could not read the compliance facts of run %s", run.id)
            return
        if generation == self._generation:
            self.telemetry.inspector.set_compliance(facts)

    # -- deletion ------------------------------------------------------------------------------

    def _check_still_there(self, *_args: object) -> None:
        run_id = self.run_id
        if run_id is not None and self._ctx.workspace is not None:
            self._ctx.spawn(
                self._confirm_exists(self._generation, run_id), what="check the open run"
            )

    async def _confirm_exists(self, generation: int, run_id: str) -> None:
        exists = await self.work.fetch(run_exists, self._ctx.workspace.store, run_id)
        if exists or generation != self._generation:
            return
        self._generation += 1  # a read still under way must not bring it back
        self._run = None
        self._stop_following()
        self.live_bar.hide()
        self.watch_button.hide()
        self.telemetry.show_loading()
        self.telemetry.empty.setText("This run was deleted from the log.")
        self._show_banner(f"Run {short_id(run_id)} was deleted from the log.", "neutral")
        self.sig_run_deleted.emit(run_id)

    # -- live ----------------------------------------------------------------------------------

    def on_action_created(self, run_id: str) -> None:
        if self._run is not None and run_id == self._run.id:
            self._refresh_live()
            self._read_live_facts()  # a tool call counts against the ceiling

    def on_run_progressed(self, run_id: str, output_chars: int) -> None:
        if self._run is None or run_id != self._run.id:
            return
        self._output_chars = output_chars
        if self._following == run_id and self.live_panel.source == SOURCE_CHECKPOINT:
            self._read_checkpoint()  # another process's run: its text as checkpointed
        if self._run.status == "running":
            self._show_header(self._run)

    def on_run_ended(self, run_id: str) -> None:
        if self._run is not None and run_id == self._run.id:
            self._refresh_live()

    def tick(self) -> None:
        """A clock tick while the page is visible: a running run's elapsed time."""
        if self._run is not None and self._run.status == "running" and self.isVisible():
            self._show_header(self._run)

    def _refresh_live(self) -> None:
        # Coalesce bursts: one read in flight, at most one more queued behind it.
        if self._live_reading:
            self._live_again = True
            return
        self._live_reading = True
        self._ctx.spawn(self._read_live(self._generation), what="refresh the run")

    async def _read_live(self, generation: int) -> None:
        run = self._run
        if run is None:
            self._live_reading = False
            return
        store = self._ctx.workspace.store
        after = self.telemetry.model.last_seq()
        try:
            bundle: RunBundle | None = await self.work.fetch(load_new_actions, store, run.id, after)
        except Exception:
            log.exception("could not refresh run %s", run.id)
            bundle = None
        self._live_reading = False
        if bundle is not None and generation == self._generation:
            previous = self._run
            self._run = bundle.run
            self._show_header(bundle.run)
            if bundle.actions:
                self.telemetry.append_actions(bundle.run, bundle.actions)
            self.sig_run_updated.emit(bundle.run)
            was_running = previous is not None and previous.status == "running"
            if bundle.run.status != "running":
                self._stop_following()
                self._show_header(bundle.run)
            if was_running and bundle.run.status != "running":
                notice = end_notice(bundle.run)
                kind = {"completed": "completed", "failed": "failed"}.get(
                    bundle.run.status, "neutral"
                )
                self._show_banner(notice, kind)
                self._read_compliance()  # queued for sync, retention no longer held
                self.sig_run_ended.emit(bundle.run, notice)
        if self._live_again:
            self._live_again = False
            self._refresh_live()

    # -- approvals -----------------------------------------------------------------------------

    @property
    def approval_request(self) -> Any:
        """The request the banner asks about (None when the run waits for nothing)."""
        return self._approval_request

    def _show_approval(self) -> None:
        approvals = getattr(self._ctx, "approvals", None)
        run_id = self._approval_run_id
        pending = approvals.pending(run_id) if approvals is not None and run_id else []
        if not pending:
            self._approval_request = None
            self.approval_banner.hide()
            return
        request = pending[0]
        self._approval_request = request
        more = f"  (+{len(pending) - 1} more waiting)" if len(pending) > 1 else ""
        summary = html.escape(arguments_summary(request.arguments, 120))
        self.approval_text.setText(
            f"<b>Waiting for approval:</b> {html.escape(request.tool)} "
            f"<span style='font-family: monospace'>{summary}</span>{more}"
        )
        self.approval_text.setToolTip(arguments_text(request.arguments))
        self.approve_button.setEnabled(True)
        self.deny_button.setEnabled(True)
        self.approval_banner.show()

    def _answer(self, approved: bool) -> None:
        request = self._approval_request
        approvals = getattr(self._ctx, "approvals", None)
        if request is None or approvals is None:
            return
        self.approve_button.setEnabled(False)
        self.deny_button.setEnabled(False)
        if approvals.answer(request.id, approved):
            verb = "Approved" if approved else "Denied"
            self._ctx.status(f"{verb} {request.tool} for run {short_id(request.run_id)}")
        self._show_approval()

    # -- actions -------------------------------------------------------------------------------

    def _open_agent(self) -> None:
        if self._run is not None and self._run.agent_id:
            self.sig_agent_requested.emit(self._run.agent_id)

    def _request_replay(self) -> None:
        if self._run is not None:
            self.sig_replay_requested.emit(self._run.id)

    def _view_in_ledger(self) -> None:
        if self._run is not None:
            self._ctx.navigate("runs", {"tab": "ledger", "ledger_run_id": self._run.id})

    def _copy_id(self) -> None:
        from PySide6.QtGui import QGuiApplication

        if self._run is not None:
            QGuiApplication.clipboard().setText(self._run.id)
            self._ctx.status(f"Copied run id {self._run.id}")
