"""Chat: threads on the left, the conversation on the right, answers streamed as they arrive.

Every send goes through the one dispatch path (trigger "ui"), so it lands in Runs like any other
dispatch. Threads and turns are reloaded when the log says they changed (bridge signals), never
on a timer.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QModelIndex, QPoint, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.models import Trigger
from ato_desktop.core.records import AgentRecord, ThreadRecord
from ato_desktop.engine.dispatcher import DispatchError, DispatchRequest, DispatchResult
from ato_desktop.store import thread_ops
from ato_desktop.store.execution_log import NotFoundError
from ato_desktop.ui.agents.model_combo import ModelSuggestions
from ato_desktop.ui.chat.chat_style import chat_stylesheet
from ato_desktop.ui.chat.composer import Composer
from ato_desktop.ui.chat.conversation_view import (
    APPROVE,
    APPROVED,
    DENIED,
    DENY,
    EDIT_AGENT,
    OPEN_RUN,
    PENDING,
    RETRY,
    SET_KEYS,
    UNANSWERED,
    AnswerTurn,
    ApprovalEntry,
    ConversationView,
)
from ato_desktop.ui.chat.elided_label import ElidedLabel
from ato_desktop.ui.chat.log_tasks import Generations, spawn_log_task
from ato_desktop.ui.chat.target_picker import Target, TargetPicker
from ato_desktop.ui.chat.thread_list import (
    ThreadDelegate,
    ThreadIdRole,
    ThreadListModel,
    thread_rows,
)
from ato_desktop.ui.chat.turns import TurnItem, TurnStats, build_turns, message_turn_key
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.engine_calls import TextRelay
from ato_desktop.ui.pages.base import Page
from ato_desktop.ui.theme import Theme, current_theme
from ato_desktop.ui.widgets.coalesce import poke
from ato_desktop.ui.widgets.list_panel import ListPanel, lay_out_list_page

DEFAULT_MODELS = {"claude": "claude-sonnet-5", "codex": "gpt-5", "openai-compatible": ""}
PENDING_USER, PENDING_ANSWER = "user:pending", "assistant:pending"


@dataclass
class _Session:
    """The one dispatch in flight from this page."""

    prompt: str
    target: Target
    thread_id: str | None
    run_id: str | None = None
    chunks: list[str] = field(default_factory=list)
    stop_requested: bool = False

    @property
    def answer_key(self) -> str:
        return f"assistant:{self.run_id}" if self.run_id else PENDING_ANSWER

    @property
    def text(self) -> str:
        return "".join(self.chunks)


class ChatPage(Page):
    """Threads, a conversation, and a composer; see the module docstring."""

    page_id = "chat"
    title = "Chat"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self._thread_id: str | None = None  # None: a new conversation not sent yet
        self._session: _Session | None = None
        self._agents: list[AgentRecord] = []
        self._view_run_ids: set[str] = set()
        self._turns_loads = Generations()  # a new thread or another one drops older loads
        self._threads_loads = Generations()
        self._renaming: dict[str, str] = {}  # thread id -> its new title, until written
        self._agents_loads = Generations()
        self._selecting = False
        self._pending_agent: str | None = None  # asked for before the agents were loaded
        self._message_count: int | None = None  # of the open thread, once loaded
        self._reveal_message: int | None = None  # id of a message to scroll to once loaded
        # Tool calls that asked for approval, per run (this session: the log keeps the rest).
        self._approvals: dict[str, list[ApprovalEntry]] = {}
        self._approval_agents: dict[str, str] = {}  # run id -> who asked
        self._suggestions = ModelSuggestions(ctx, self)
        self._build()
        self._connect()
        self.apply_theme(current_theme())
        self._apply_defaults()
        self.new_thread()
        self._reload_threads()
        self._reload_agents()

    # -- layout ----------------------------------------------------------------------------------

    def _build(self) -> None:
        panel = self._build_threads_panel()
        splitter = lay_out_list_page(self, panel, self._build_conversation_panel())
        splitter.setObjectName("ChatSplitter")

    def _build_threads_panel(self) -> ListPanel:
        self.thread_model = ThreadListModel(self)
        self.threads_empty = QLabel(
            "No conversations yet.\nWrite a message on the right to start one."
        )
        self.threads_empty.setObjectName("ThreadsEmpty")
        self.threads_empty.setWordWrap(True)
        self.threads_empty.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.threads_panel = ListPanel(
            self.thread_model,
            names="Thread",
            title="Threads",
            new_label="New thread",
            new_tooltip="Start a new conversation (Ctrl+N)",
            filter_placeholder="Filter threads",
            empty_state=self.threads_empty,
        )
        self.new_button = self.threads_panel.new_button
        self.new_button.clicked.connect(lambda: self.new_thread())
        self.filter_edit = self.threads_panel.filter_edit
        self.thread_proxy = self.threads_panel.proxy
        self.thread_list = self.threads_panel.list
        self.thread_delegate = ThreadDelegate(self.thread_list)
        self.thread_list.setItemDelegate(self.thread_delegate)
        self.thread_list.setEditTriggers(
            QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.DoubleClicked
        )
        self.thread_list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.thread_list.customContextMenuRequested.connect(self._thread_menu)
        delete = QAction("Delete thread", self.thread_list)
        delete.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        delete.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        delete.triggered.connect(lambda: self.delete_thread())
        self.thread_list.addAction(delete)
        return self.threads_panel

    def _build_conversation_panel(self) -> QWidget:
        panel = QWidget()
        panel.setObjectName("ConversationPanel")
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)

        header = QFrame()
        header.setObjectName("ChatHeader")
        head = QHBoxLayout(header)
        head.setContentsMargins(24, 12, 16, 12)
        head.setSpacing(12)
        titles = QVBoxLayout()
        titles.setSpacing(2)
        self.title_label = ElidedLabel()
        self.title_label.setObjectName("ChatTitle")
        self.subtitle_label = QLabel()
        self.subtitle_label.setObjectName("ChatSubtitle")
        titles.addWidget(self.title_label)
        titles.addWidget(self.subtitle_label)
        head.addLayout(titles, 1)
        self.picker = TargetPicker()
        self.picker.setObjectName("TargetPicker")
        head.addWidget(self.picker)
        layout.addWidget(header)

        self.conversation = ConversationView()
        layout.addWidget(self.conversation, 1)

        bottom = QWidget()
        bottom.setObjectName("ComposerArea")
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(24, 4, 24, 16)
        bottom_layout.setSpacing(6)
        self.notice = QLabel()
        self.notice.setObjectName("ChatNotice")
        self.notice.setWordWrap(True)
        self.notice.setVisible(False)
        self._notice_target: Target | None = None  # the target the notice is about
        bottom_layout.addWidget(self.notice)
        self.composer = Composer()
        bottom_layout.addWidget(self.composer)
        layout.addWidget(bottom)
        return panel

    def _connect(self) -> None:
        self.composer.sig_submitted.connect(self.send)
        self.composer.sig_stop_requested.connect(self.stop)
        self.conversation.sig_action_requested.connect(self._on_turn_action)
        self.conversation.empty_action.clicked.connect(
            lambda: self.ctx.navigate("agents", {"new": True})
        )
        self.thread_list.selectionModel().currentChanged.connect(self._on_thread_selected)
        self.thread_model.sig_title_edited.connect(self.rename_thread)
        self.picker.sig_runtime_changed.connect(self._suggestions.request)
        self.picker.sig_target_changed.connect(self._on_target_changed)
        self._suggestions.sig_models_loaded.connect(self.picker.set_model_suggestions)
        # Bursts of events (a message, then its answer) reload once.
        self._threads_timer = QTimer(self, singleShot=True, interval=30)
        self._threads_timer.timeout.connect(self._reload_threads)
        self._agents_timer = QTimer(self, singleShot=True, interval=30)
        self._agents_timer.timeout.connect(self._reload_agents)
        self._turns_timer = QTimer(self, singleShot=True, interval=30)
        self._turns_timer.timeout.connect(self._reload_turns)
        bridge = self.ctx.bridge
        if bridge is not None:
            bridge.sig_thread_changed.connect(self._on_thread_changed)
            bridge.sig_config_changed.connect(lambda _e: poke(self._agents_timer))
            bridge.sig_run_ended.connect(self._on_run_ended)
            bridge.sig_runs_bulk_changed.connect(lambda _e: poke(self._threads_timer))
            bridge.sig_changes_missed.connect(lambda _e: poke(self._agents_timer))
        approvals = self.ctx.approvals
        if approvals is not None:
            approvals.sig_approval_requested.connect(self._on_approval_requested)
            approvals.sig_approval_decided.connect(self._on_approval_decided)
            approvals.sig_request_dropped.connect(self._on_approval_dropped)
        if self.ctx.theme is not None:
            self.ctx.theme.sig_theme_changed.connect(self.apply_theme)

    def _apply_defaults(self) -> None:
        settings = self.ctx.settings
        runtime = str(settings.value("defaults/runtime", "claude") or "claude")
        model = str(settings.value("defaults/model", "") or "") or DEFAULT_MODELS.get(runtime, "")
        self.picker.set_direct(runtime, model)
        self.picker.model_combo.set_runtime(self.picker.runtime())
        self._suggestions.request(self.picker.runtime())

    # -- the page contract -----------------------------------------------------------------------

    def activate(self, target: dict[str, Any] | None = None) -> None:
        self.ctx.prefetch_sdks()  # the user may send soon: load the SDKs in the background
        target = target or {}
        if target.get("thread_id"):
            # A message found by the palette: scrolled to (and highlighted) once it has loaded.
            message_id = target.get("message_id")
            self._reveal_message = int(message_id) if message_id is not None else None
            self.open_thread(str(target["thread_id"]))
        elif target.get("agent_id"):
            self.new_thread(agent_id=str(target["agent_id"]))
        self.composer.focus()

    # -- threads ---------------------------------------------------------------------------------

    @property
    def thread_id(self) -> str | None:
        return self._thread_id

    @property
    def streaming(self) -> bool:
        return self._session is not None

    def new_thread(self, agent_id: str | None = None) -> None:
        """An empty conversation; the first send creates the thread."""
        self._thread_id = None
        self._turns_loads.next()
        self._view_run_ids = set()
        self._select_in_list(None)
        self._pending_agent = None
        if agent_id is not None and not self.picker.select_agent(agent_id):
            self._pending_agent = agent_id  # not loaded yet: selected when the agents arrive
            self._agents_timer.start()
        self.conversation.clear()
        self._show_draft_state()
        self.title_label.setText("New conversation")
        self._message_count = None
        self._update_subtitle()
        self.composer.focus()

    def open_thread(self, thread_id: str) -> None:
        if thread_id != self._thread_id:
            self._message_count = None
        self._thread_id = thread_id
        self._select_in_list(thread_id)
        self.conversation.clear()
        self.conversation.set_empty_state("Loading…", "")
        self._load_turns(thread_id, opening=True)

    def start_rename(self) -> None:
        index = self.thread_list.currentIndex()
        if index.isValid():
            self.thread_list.edit(index)

    def rename_thread(self, thread_id: str, title: str) -> None:
        # The list already shows the new title. Until the rename is written, a load of the list
        # (read before it commits) keeps showing it too, instead of putting the old title back.
        self._renaming[thread_id] = thread_ops.clean_title(title)
        self.ctx.spawn(self._rename(thread_id, title), what="rename the thread")

    async def _rename(self, thread_id: str, title: str) -> None:
        try:
            await asyncio.wrap_future(
                thread_ops.rename_thread(self.ctx.opened_workspace.store, thread_id, title)
            )
        finally:
            self._renaming.pop(thread_id, None)
            self._reload_threads()  # newer than every load read before the rename committed
        if thread_id == self._thread_id:
            self.title_label.setText(thread_ops.clean_title(title))

    def delete_thread(self, thread_id: str | None = None) -> QMessageBox | None:
        """Ask, then delete the thread (default: the current one) and its messages."""
        thread_id = thread_id or self._thread_id
        if thread_id is None:
            return None
        row = self.thread_model.row_of(thread_id)
        title = self.thread_model.thread_at(row).title if row >= 0 else "this thread"
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Delete thread",
            f"Delete “{title}” and its messages? Its runs stay in Runs.",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setObjectName("DeleteThreadDialog")
        delete = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
        delete.setObjectName("ConfirmDelete")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def done() -> None:
            if box.clickedButton() is delete:
                self.ctx.spawn(self._delete(thread_id), what="delete the thread")

        box.finished.connect(done)
        box.open()
        return box

    async def _delete(self, thread_id: str) -> None:
        await asyncio.wrap_future(
            thread_ops.delete_thread(self.ctx.opened_workspace.store, thread_id)
        )
        if thread_id == self._thread_id:
            self.new_thread()
        self.ctx.status("Thread deleted; its runs are still in Runs.")

    def _reload_threads(self) -> None:
        self._threads_loads.spawn_read(
            self.ctx, lambda store: store.list_threads(), self._show_threads, what="load threads"
        )

    def _show_threads(self, threads: list[ThreadRecord]) -> None:
        names = {agent.id: agent.name for agent in self._agents}
        if self._renaming:
            threads = [
                dataclasses.replace(thread, title=self._renaming[thread.id])
                if thread.id in self._renaming
                else thread
                for thread in threads
            ]
        self._selecting = True
        try:
            self.thread_model.set_rows(thread_rows(threads, names))
        finally:
            self._selecting = False
        self.threads_panel.show_empty(not threads)
        self._select_in_list(self._thread_id)
        if self._thread_id is not None:
            row = self.thread_model.row_of(self._thread_id)
            if row >= 0:
                self.title_label.setText(self.thread_model.thread_at(row).title)

    def _select_in_list(self, thread_id: str | None) -> None:
        self._selecting = True
        try:
            selection = self.thread_list.selectionModel()
            row = self.thread_model.row_of(thread_id) if thread_id else -1
            if row < 0:
                selection.clear()
                return
            index = self.thread_proxy.mapFromSource(self.thread_model.index(row))
            self.thread_list.setCurrentIndex(index)
            self.thread_list.scrollTo(index)
        finally:
            self._selecting = False

    def _on_thread_selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._selecting or not current.isValid():
            return
        thread_id = str(current.data(ThreadIdRole))
        if thread_id != self._thread_id:
            self.open_thread(thread_id)

    def _thread_menu(self, pos: QPoint) -> None:
        index = self.thread_list.indexAt(pos)
        if not index.isValid():
            return
        thread_id = str(index.data(ThreadIdRole))
        menu = QMenu(self)
        menu.addAction("Rename", lambda: self.thread_list.edit(index))
        menu.addAction("Delete…", lambda: self.delete_thread(thread_id))
        menu.popup(self.thread_list.viewport().mapToGlobal(pos))

    # -- the conversation ------------------------------------------------------------------------

    def _load_turns(self, thread_id: str, *, opening: bool = False) -> None:
        generation = self._turns_loads.next()
        spawn_log_task(
            self.ctx,
            lambda: self._show_turns(thread_id, generation, opening),
            what="load the conversation",
        )

    def _reload_turns(self) -> None:
        if self._thread_id is not None and not self._streaming_here():
            self._load_turns(self._thread_id)

    async def _show_turns(self, thread_id: str, generation: int, opening: bool) -> None:
        store = self.ctx.opened_workspace.store
        try:
            view = await self.ctx.read(thread_ops.load_thread_view, store, thread_id)
        except NotFoundError:
            if self._turns_loads.is_latest(generation):
                self.new_thread()
            return
        if not self._turns_loads.is_latest(generation) or thread_id != self._thread_id:
            return  # the user moved on
        turns = build_turns(view)
        self._view_run_ids = set(view.runs)
        session = self._session
        keep: tuple[str, ...] = ()
        if session is not None and session.thread_id == thread_id:
            keep = (session.answer_key,)
        self.conversation.set_turns(turns, keep=keep)
        if session is not None and keep and self.conversation.turn(session.answer_key) is None:
            # Back on the thread that is streaming: show the answer so far and carry on.
            widget = self.conversation.add_turn(
                TurnItem(session.answer_key, "assistant", ""), session.target.label
            )
            assert isinstance(widget, AnswerTurn)
            widget.stats.set_run_id(session.run_id or "")
            widget.begin_stream(session.text)
        self._show_approvals()
        self.conversation.set_empty_state(
            "This thread is empty", "Write a message below to continue it."
        )
        self.title_label.setText(view.thread.title)
        if opening and self._session is None:
            self._target_from_thread(view)
        self._message_count = len(view.messages)
        self._update_subtitle()
        if opening and not self._reveal(view):
            self.conversation.scroll_to_bottom()

    def _reveal(self, view: thread_ops.ThreadView) -> bool:
        """Scroll to the message asked for when the thread was opened; False if none."""
        message_id, self._reveal_message = self._reveal_message, None
        message = next((m for m in view.messages if m.id == message_id), None)
        return message is not None and self.conversation.reveal(message_turn_key(message))

    def _target_from_thread(self, view: thread_ops.ThreadView) -> None:
        """Opening a thread picks who answered it last (else who it was started with)."""
        thread = view.thread
        agent_id, runtime, model = thread.agent_id, thread.runtime, thread.model
        if view.runs:
            last = max(view.runs.values(), key=lambda run: (run.started_at, run.id))
            agent_id, runtime, model = last.agent_id, last.runtime, last.model
        if agent_id and self.picker.select_agent(agent_id):
            return
        # Not in the picker (yet: the agents may still be loading): picked when they arrive.
        self._pending_agent = agent_id
        self.picker.select_agent(None)
        if runtime and model:
            self.picker.set_direct(runtime, model)

    def _show_draft_state(self) -> None:
        if self._agents:
            self.conversation.set_empty_state(
                "Start a conversation",
                "Pick an agent at the top right, or no agent and a runtime and model, then write "
                "below. Enter sends; Shift+Enter adds a line.",
            )
        else:
            self.conversation.set_empty_state(
                "Start a conversation",
                "Pick a runtime and a model at the top right and write below, or create an agent "
                "to keep a model, a system prompt and parameters together.",
                "Create an agent",
            )

    def _update_subtitle(self) -> None:
        """'<target>  ·  N messages': the count stays when the target changes (an agent edit
        reloads the picker after the thread's messages were counted)."""
        target = self.picker.target()
        parts = [f"{target.runtime} · {target.model}" if not target.agent_id else target.label]
        message_count = self._message_count if self._thread_id is not None else None
        if message_count:
            parts.append(f"{message_count} message{'s' if message_count != 1 else ''}")
        self.subtitle_label.setText("  ·  ".join(p for p in parts if p))

    def _on_target_changed(self) -> None:
        # A reload of the picker (an agent list refresh) re-emits the same target: a notice
        # about that target (a refused dispatch) stays until the user picks another.
        if self.picker.target() != self._notice_target:
            self.notice.setVisible(False)
        self._update_subtitle()

    # -- sending ---------------------------------------------------------------------------------

    def send(self, prompt: str) -> None:
        """Send a prompt to the picked target in the current thread (or a new one)."""
        prompt = prompt.strip()
        if not prompt or self._session is not None or self.ctx.workspace is None:
            return
        target = self.picker.target()
        if not target.agent_id and not target.model:
            self._notice(f"Pick a model for {target.runtime}, or choose an agent, then send.")
            self.picker.model_combo.setFocus()
            return
        self.notice.setVisible(False)
        session = _Session(prompt, target, self._thread_id)
        self._session = session
        self.composer.set_text("")
        self.composer.set_streaming(True)
        self.picker.setEnabled(False)
        self.conversation.add_turn(TurnItem(PENDING_USER, "user", prompt))
        answer = self.conversation.add_turn(TurnItem(PENDING_ANSWER, "assistant", ""), target.label)
        assert isinstance(answer, AnswerTurn)
        answer.begin_stream()
        self.conversation.scroll_to_bottom()
        self.ctx.spawn(self._dispatch(session), what="send the message")

    async def _dispatch(self, session: _Session) -> None:
        target = session.target
        request = DispatchRequest(
            session.prompt,
            agent=target.agent_id,
            runtime=None if target.agent_id else target.runtime,
            model=None if target.agent_id else target.model,
            thread_id=session.thread_id,
            new_thread=session.thread_id is None,
            trigger=Trigger.UI,
        )
        # The dispatch runs on the engine's loop; its text comes back coalesced to one update
        # a frame, its start through a posted call.
        relay = TextRelay(lambda text: self._on_chunk(session, text), self)
        try:
            result = await self.ctx.engine_run(
                self.ctx.opened_workspace.dispatcher.dispatch(
                    request,
                    on_text=relay.push,
                    on_started=self.ctx.on_ui(lambda run_id: self._on_started(session, run_id)),
                )
            )
        except DispatchError as exc:
            relay.close()
            relay.deleteLater()
            self._session = None
            self._end_streaming()
            self._dispatch_failed(session, str(exc))
            return
        except BaseException:
            relay.flush()
            relay.deleteLater()
            self._session = None
            self._end_streaming()
            raise
        relay.flush()  # what streamed in the last frame, before the answer is finished
        relay.deleteLater()
        session.thread_id = result.thread_id
        self._session = None
        self._end_streaming()
        self._answer_finished(session, result)

    def _on_started(self, session: _Session, run_id: str) -> None:
        session.run_id = run_id
        self.conversation.rekey(PENDING_USER, f"user:{run_id}")
        self.conversation.rekey(PENDING_ANSWER, session.answer_key)
        widget = self.conversation.turn(session.answer_key)
        if isinstance(widget, AnswerTurn):
            widget.stats.set_run_id(run_id)
        if session.stop_requested:
            self._kill(run_id)
        if session.thread_id is None:
            spawn_log_task(
                self.ctx, lambda: self._learn_thread(session, run_id), what="find the thread"
            )

    async def _learn_thread(self, session: _Session, run_id: str) -> None:
        store = self.ctx.opened_workspace.store
        run = await self.ctx.read(store.get_run, run_id)
        if session.thread_id is None and run.thread_id:
            session.thread_id = run.thread_id
            if self._thread_id is None and self.conversation.turn(session.answer_key) is not None:
                self._thread_id = run.thread_id  # the draft became this thread
                self.title_label.setText(thread_ops.clean_title(session.prompt))
                self._select_in_list(run.thread_id)

    def _on_chunk(self, session: _Session, chunk: str) -> None:
        session.chunks.append(chunk)
        widget = self.conversation.turn(session.answer_key)
        if isinstance(widget, AnswerTurn):
            widget.append(chunk)

    def _answer_finished(self, session: _Session, result: DispatchResult) -> None:
        if self._thread_id is None and self.conversation.turn(session.answer_key) is not None:
            self._thread_id = result.thread_id
            self._select_in_list(result.thread_id)
        widget = self.conversation.turn(session.answer_key)
        if isinstance(widget, AnswerTurn):
            widget.end_stream()
            target = session.target
            stats = TurnStats.from_result(
                result, model=target.model, agent_id=target.agent_id, agent_name=target.agent_name
            )
            widget.stats.set_stats(stats)
        if result.thread_id is not None and result.thread_id == self._thread_id:
            self._load_turns(result.thread_id)
        if result.status.value == "killed":
            self.ctx.status("Stopped; the answer so far was kept.")
        self.composer.focus()

    def _dispatch_failed(self, session: _Session, message: str) -> None:
        """No run could be made (an agent that is gone, a thread deleted meanwhile)."""
        self.conversation.remove_turn(session.answer_key)
        self.conversation.remove_turn(PENDING_USER)
        self.composer.set_text(session.prompt)
        # A budget's hard ceiling words its own refusal ("Refused: @x has spent …").
        self._notice(message if message.startswith("Refused:") else f"Not sent: {message}")
        self._agents_timer.start()

    def _end_streaming(self) -> None:
        self.composer.set_streaming(False)
        self.picker.setEnabled(True)

    def stop(self) -> None:
        """Kill the answer that is streaming; its text so far is kept."""
        session = self._session
        if session is None:
            return
        session.stop_requested = True
        if session.run_id is not None:
            self._kill(session.run_id)

    def _kill(self, run_id: str) -> None:
        """Kill a run of this window (on the engine's loop, where its task runs)."""
        workspace = self.ctx.workspace
        if workspace is not None:
            self.ctx.spawn(self.ctx.engine_call(workspace.live.kill, [run_id]), what="stop")

    def _streaming_here(self) -> bool:
        session = self._session
        return session is not None and session.thread_id == self._thread_id

    def _notice(self, text: str) -> None:
        self._notice_target = self.picker.target()
        self.notice.setText(text)
        self.notice.setVisible(True)

    def _on_turn_action(self, action: str, value: str) -> None:
        if action == OPEN_RUN:
            self.ctx.navigate("runs", {"run_id": value})
        elif action == SET_KEYS:
            self.ctx.navigate("settings", {"section": "keys"})
        elif action == EDIT_AGENT:
            self.ctx.navigate("agents", {"agent_id": value})
        elif action == RETRY:
            self.send(value)
        elif action in (APPROVE, DENY) and self.ctx.approvals is not None:
            self.ctx.approvals.answer(int(value), action == APPROVE)

    # -- approvals -------------------------------------------------------------------------------

    def _on_approval_requested(self, request: Any) -> None:
        session = self._session
        if session is None or request.run_id != session.run_id:
            return  # another page's run (the status bar tells)
        entry = ApprovalEntry(request.id, request.tool, request.arguments, PENDING)
        self._approvals.setdefault(request.run_id, []).append(entry)
        self._approval_agents[request.run_id] = session.target.label
        card = self._show_approvals()
        if card is not None and self.isVisible() and not self.composer.text().strip():
            self.conversation.scroll_to_bottom()
            card.focus()

    def _on_approval_decided(self, decision: Any) -> None:
        state = APPROVED if decision.approved else DENIED
        if self._set_approval_state(decision.request.run_id, decision.request.id, state):
            self.composer.focus()

    def _on_approval_dropped(self, request: Any) -> None:
        self._set_approval_state(request.run_id, request.id, UNANSWERED)

    def _set_approval_state(self, run_id: str, request_id: int, state: str) -> bool:
        entries = self._approvals.get(run_id)
        if not entries:
            return False
        for i, entry in enumerate(entries):
            if entry.request_id == request_id and entry.state == PENDING:
                entries[i] = dataclasses.replace(entry, state=state)
        self._show_approvals()
        return True

    def _show_approvals(self) -> Any:
        """Put the approval cards and records into the answers they belong to; returns a card
        that was just added (to focus it)."""
        added = None
        for run_id, entries in self._approvals.items():
            widget = self.conversation.turn(f"assistant:{run_id}")
            if isinstance(widget, AnswerTurn):
                card = widget.show_approvals(entries, self._approval_agents.get(run_id, ""))
                added = added or card
        return added

    def pending_approval_cards(self) -> list[Any]:
        """The cards of this conversation that wait for an answer (tests, keyboard)."""
        cards = []
        for key in self.conversation.keys:
            widget = self.conversation.turn(key)
            if isinstance(widget, AnswerTurn):
                cards += [c for c in widget.approval_cards.values() if c.state == PENDING]
        return cards

    # -- agents ----------------------------------------------------------------------------------

    def _reload_agents(self) -> None:
        self._agents_loads.spawn_read(
            self.ctx, lambda store: store.list_agents(), self._show_agents, what="load agents"
        )

    def _show_agents(self, agents: list[AgentRecord]) -> None:
        self._agents = agents
        self.picker.set_agents(self._agents)
        pending = self._pending_agent
        if pending is not None and self.picker.select_agent(pending):
            self._pending_agent = None
        if self._thread_id is None and not self.conversation.keys:
            self._show_draft_state()
        self._threads_timer.start()  # subtitles name agents

    # -- events ----------------------------------------------------------------------------------

    def _on_thread_changed(self, event: Any) -> None:
        poke(self._threads_timer)
        if event.thread_id == self._thread_id and not self._streaming_here():
            poke(self._turns_timer)

    def _on_run_ended(self, event: Any) -> None:
        if event.run_id in self._view_run_ids and not self._streaming_here():
            poke(self._turns_timer)

    # -- looks -----------------------------------------------------------------------------------

    def apply_theme(self, theme: Theme) -> None:
        self.setStyleSheet(chat_stylesheet(theme))
