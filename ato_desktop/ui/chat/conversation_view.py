"""The conversation: a scrolling column of turns (prompt bubbles, answers with their stats, and
error cards that say how to fix what went wrong).

Turns are keyed (role + run id), so reloading a thread after an answer only adds, updates or
removes what changed: the answer that just streamed stays where it is, text and all.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.ui.approvals import arguments_text
from ato_desktop.ui.chat.turns import (
    AGENT_FIXABLE,
    RETRYABLE,
    TurnItem,
    TurnStats,
    error_title,
)
from ato_desktop.ui.widgets.json_view import monospace_font
from ato_desktop.ui.widgets.markdown_view import MarkdownView

MAX_CONTENT_WIDTH = 880
STICK_TO_BOTTOM_PX = 48
HIGHLIGHT_MS = 2000  # how long a turn opened from the palette stays highlighted
REVEAL_MARGIN_PX = 24

# Actions a turn can ask the page for (sig_action_requested(action, value)).
OPEN_RUN = "open_run"  # value: run id
SET_KEYS = "set_keys"  # value: ""
EDIT_AGENT = "edit_agent"  # value: agent id
RETRY = "retry"  # value: the prompt
APPROVE = "approve"  # value: the approval request id
DENY = "deny"  # value: the approval request id

MAX_ARGUMENT_LINES = 24

# What became of a tool call that asked for approval.
PENDING, APPROVED, DENIED, UNANSWERED = "pending", "approved", "denied", "unanswered"


@dataclass(frozen=True, slots=True)
class ApprovalEntry:
    """A tool call of an answer that asked the user first, and what became of it."""

    request_id: int
    tool: str  # "server/tool"
    arguments: Any
    state: str = PENDING


class TurnWidget(QFrame):
    """Base of the three kinds of turn."""

    sig_action_requested = Signal(str, str)

    def __init__(self, item: TurnItem) -> None:
        super().__init__()
        self.item = item

    def update_item(self, item: TurnItem) -> None:
        self.item = item


class UserTurn(TurnWidget):
    """The prompt, as typed, in a bubble on the right."""

    def __init__(self, item: TurnItem) -> None:
        super().__init__(item)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addStretch(1)
        self.bubble = QFrame()
        self.bubble.setObjectName("UserBubble")
        self.bubble.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        inner = QVBoxLayout(self.bubble)
        inner.setContentsMargins(12, 8, 12, 8)
        self.body = MarkdownView(fit_height=True)
        self.body.setObjectName("UserText")
        self.body.set_plain_text(item.text)
        inner.addWidget(self.body)
        row.addWidget(self.bubble, 4)
        self._fit_width()

    def update_item(self, item: TurnItem) -> None:
        if item.text != self.item.text:
            self.body.set_plain_text(item.text)
        super().update_item(item)

    def _fit_width(self) -> None:
        # Short prompts get a short bubble; long ones wrap at about three quarters of the width.
        metrics = self.body.fontMetrics()
        longest = max(
            (metrics.horizontalAdvance(line) for line in self.item.text.splitlines()), default=0
        )
        self.bubble.setMaximumWidth(max(120, longest + 64))


class AnswerTurn(TurnWidget):
    """The answer, rendered as Markdown, with duration, tokens, cost and a link to its run."""

    def __init__(self, item: TurnItem, label: str = "") -> None:
        super().__init__(item)
        self.setObjectName("AnswerCard")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(6)
        self.label = QLabel(label)
        self.label.setObjectName("TurnLabel")
        self.label.setVisible(bool(label))
        layout.addWidget(self.label)
        self.body = MarkdownView(fit_height=True)
        self.body.setObjectName("AnswerText")
        layout.addWidget(self.body)
        self._approvals = QVBoxLayout()
        self._approvals.setSpacing(6)
        layout.addLayout(self._approvals)
        self.approval_cards: dict[int, ApprovalCard] = {}
        self.stats = StatsBar()
        self.stats.sig_action_requested.connect(self.sig_action_requested)
        layout.addWidget(self.stats)
        if item.text:
            self.body.set_markdown(item.text)
        self._show_stats(item.stats)

    def show_approvals(self, entries: list[ApprovalEntry], agent: str) -> ApprovalCard | None:
        """The answer's tool calls that asked first: a card for a waiting one, a one-line record
        for each answered one. Returns a card that was just added, if any."""
        added = None
        for entry in entries:
            card = self.approval_cards.get(entry.request_id)
            if card is None:
                card = ApprovalCard(entry, agent)
                card.sig_action_requested.connect(self.sig_action_requested)
                self.approval_cards[entry.request_id] = card
                self._approvals.addWidget(card)
                if entry.state == PENDING:
                    added = card
            card.set_state(entry.state)
        waiting = [e for e in entries if e.state == PENDING]
        if waiting and self.body.is_streaming:
            self.stats.set_waiting(waiting[0].tool)
        elif self.body.is_streaming:
            self.stats.set_streaming()
        return added

    def begin_stream(self, initial: str = "") -> None:
        self.body.begin_stream(initial)
        self.stats.set_streaming()

    def append(self, chunk: str) -> None:
        self.body.append_stream(chunk)

    def end_stream(self) -> None:
        self.body.end_stream()

    def update_item(self, item: TurnItem) -> None:
        if self.body.is_streaming:
            self.body.end_stream()
        if item.text != self.body.markdown_source():
            self.body.set_markdown(item.text)
        self._show_stats(item.stats)
        super().update_item(item)

    def set_label(self, label: str) -> None:
        self.label.setText(label)
        self.label.setVisible(bool(label))

    def _show_stats(self, stats: TurnStats | None) -> None:
        self.stats.set_stats(stats)
        if stats is not None:
            self.set_label(stats.agent_name or stats.model or "")


class StatsBar(QWidget):
    """'1.2 s · 150 in · 7 out · $0.0012 [est.]   View run'."""

    sig_action_requested = Signal(str, str)

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("StatsBar")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 2, 0, 0)
        row.setSpacing(6)
        self.status = QLabel()
        self.status.setObjectName("TurnStatus")
        self.text = QLabel()
        self.text.setObjectName("StatsText")
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.badge = QLabel("est.")
        self.badge.setObjectName("EstBadge")
        self.badge.setToolTip("Estimated: token counts × the price table")
        self.run_link = QPushButton("View run")
        self.run_link.setObjectName("RunLink")
        self.run_link.setFlat(True)
        self.run_link.setCursor(Qt.CursorShape.PointingHandCursor)
        self.run_link.clicked.connect(self._open_run)
        row.addWidget(self.status)
        row.addWidget(self.text)
        row.addWidget(self.badge)
        row.addStretch(1)
        row.addWidget(self.run_link)
        self._run_id = ""
        self.set_stats(None)

    def set_streaming(self) -> None:
        self.status.setText("Answering…")
        self.status.setProperty("waiting", False)
        self._repolish(self.status)
        self.status.setVisible(True)
        self.text.setVisible(False)
        self.badge.setVisible(False)
        self.run_link.setVisible(bool(self._run_id))

    def set_waiting(self, tool: str) -> None:
        self.status.setText(f"Waiting for your approval to run {tool}…")
        self.status.setProperty("waiting", True)
        self._repolish(self.status)
        self.status.setVisible(True)
        self.text.setVisible(False)
        self.badge.setVisible(False)
        self.run_link.setVisible(bool(self._run_id))

    def set_run_id(self, run_id: str) -> None:
        self._run_id = run_id
        self.run_link.setVisible(bool(run_id))
        self.run_link.setToolTip(f"Open run {run_id} in Runs")

    def set_stats(self, stats: TurnStats | None) -> None:
        if self.status.property("waiting"):
            self.status.setProperty("waiting", False)
            self._repolish(self.status)
        if stats is None:
            self.status.setVisible(False)
            self.text.setVisible(False)
            self.badge.setVisible(False)
            self.run_link.setVisible(bool(self._run_id))
            return
        self.set_run_id(stats.run_id)
        stopped = stats.status == "killed"
        self.status.setText("Stopped" if stopped else "")
        self.status.setVisible(stopped)
        parts = [stats.duration_text(), stats.tokens_text(), stats.cost_text()]
        self.text.setText("  ·  ".join(parts))
        self.text.setToolTip(
            f"{stats.model or ''}\nCost source: {stats.cost_source or 'nothing was spent'}".strip()
        )
        self.text.setVisible(True)
        self.badge.setVisible(stats.cost_is_estimated)

    def _open_run(self) -> None:
        if self._run_id:
            self.sig_action_requested.emit(OPEN_RUN, self._run_id)

    @staticmethod
    def _repolish(widget: QWidget) -> None:
        widget.style().unpolish(widget)
        widget.style().polish(widget)


class ApprovalCard(QFrame):
    """'<agent> wants to run shop/write_note', the arguments as JSON, Approve and Deny; once
    answered, one line saying what was decided."""

    sig_action_requested = Signal(str, str)  # APPROVE | DENY, the request id

    def __init__(self, entry: ApprovalEntry, agent: str) -> None:
        super().__init__()
        self.entry = entry
        self.setObjectName("ApprovalCard")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(8)
        who = html.escape(agent or "The agent")
        self.title = QLabel(f"<b>{who}</b> wants to run <b>{html.escape(entry.tool)}</b>")
        self.title.setObjectName("ApprovalTitle")
        self.title.setWordWrap(True)
        layout.addWidget(self.title)
        text = arguments_text(entry.arguments)
        lines = text.splitlines()
        if len(lines) > MAX_ARGUMENT_LINES:
            more = len(lines) - MAX_ARGUMENT_LINES
            text = "\n".join(lines[:MAX_ARGUMENT_LINES]) + f"\n… {more} more lines (see the run)"
        self.arguments = QLabel(text)
        self.arguments.setObjectName("ApprovalArguments")
        self.arguments.setFont(monospace_font())
        self.arguments.setWordWrap(True)
        self.arguments.setTextFormat(Qt.TextFormat.PlainText)
        self.arguments.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.arguments.setAccessibleName("Arguments of the tool call")
        layout.addWidget(self.arguments)
        buttons = QHBoxLayout()
        buttons.setSpacing(8)
        self.hint = QLabel("Alt+A approves, Alt+D denies")
        self.hint.setObjectName("ApprovalHint")
        buttons.addWidget(self.hint)
        buttons.addStretch(1)
        self.deny_button = QPushButton("&Deny")
        self.deny_button.setObjectName("DenyButton")
        self.deny_button.setProperty("danger", True)
        self.deny_button.setToolTip("The tool is not run; the model is told you said no")
        self.deny_button.setAutoDefault(True)
        self.deny_button.clicked.connect(lambda: self._answer(DENY))
        self.approve_button = QPushButton("&Approve")
        self.approve_button.setObjectName("ApproveButton")
        self.approve_button.setProperty("primary", True)
        self.approve_button.setToolTip("Run the tool with these arguments")
        self.approve_button.setAutoDefault(True)
        self.approve_button.clicked.connect(lambda: self._answer(APPROVE))
        buttons.addWidget(self.deny_button)
        buttons.addWidget(self.approve_button)
        layout.addLayout(buttons)
        self.record = QLabel()
        self.record.setObjectName("ApprovalRecord")
        self.record.hide()
        layout.addWidget(self.record)
        self.state = ""
        self.set_state(entry.state)

    def _answer(self, action: str) -> None:
        self.approve_button.setEnabled(False)
        self.deny_button.setEnabled(False)
        self.sig_action_requested.emit(action, str(self.entry.request_id))

    def set_state(self, state: str) -> None:
        if state == self.state:
            return
        self.state = state
        pending = state == PENDING
        margins = (12, 10, 12, 10) if pending else (0, 0, 0, 0)
        layout = self.layout()
        if layout is not None:
            layout.setContentsMargins(*margins)
        for widget in (self.title, self.arguments, self.hint, self.approve_button):
            widget.setVisible(pending)
        self.deny_button.setVisible(pending)
        self.approve_button.setEnabled(pending)
        self.deny_button.setEnabled(pending)
        self.record.setVisible(not pending)
        tool = self.entry.tool
        self.record.setText(
            {
                APPROVED: f"✓  Approved: {tool}",
                DENIED: f"✕  Denied: {tool} was not run",
                UNANSWERED: f"–  Not answered: the run ended before {tool} was approved",
            }.get(state, "")
        )
        self.record.setToolTip(arguments_text(self.entry.arguments) if not pending else "")
        self.setProperty("state", state)
        self.style().unpolish(self)
        self.style().polish(self)
        for child in (self.record, self.title):
            child.style().unpolish(child)
            child.style().polish(child)

    def focus(self) -> None:
        self.approve_button.setFocus(Qt.FocusReason.OtherFocusReason)


class ErrorTurn(TurnWidget):
    """What went wrong, in the provider's words, with the way to fix it."""

    def __init__(self, item: TurnItem) -> None:
        super().__init__(item)
        self.setObjectName("ErrorCard")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(6)
        self.partial = MarkdownView(fit_height=True)
        self.partial.setObjectName("PartialText")
        layout.addWidget(self.partial)
        self.title = QLabel()
        self.title.setObjectName("ErrorTitle")
        layout.addWidget(self.title)
        self.message = QLabel()
        self.message.setObjectName("ErrorMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)
        self.buttons = QHBoxLayout()
        self.buttons.setSpacing(8)
        layout.addLayout(self.buttons)
        self._fill(item)

    def update_item(self, item: TurnItem) -> None:
        if item != self.item:
            self._fill(item)
        super().update_item(item)

    def _fill(self, item: TurnItem) -> None:
        stats = item.stats
        error_class = stats.error_class if stats else None
        self.setProperty("errorClass", error_class or "")
        self.partial.setVisible(bool(item.text))
        if item.text:
            self.partial.set_markdown(item.text)
        self.title.setText(error_title(error_class))
        self.message.setText((stats.error_message if stats else None) or item.text or "")
        self.message.setVisible(bool(self.message.text()))
        while self.buttons.count():
            taken = self.buttons.takeAt(0)
            widget = taken.widget() if taken is not None else None
            if widget is not None:
                widget.deleteLater()
        if error_class == "auth":
            self._button("Set API key…", SET_KEYS, "", "FixKeysButton", primary=True)
        if stats and stats.agent_id and error_class in AGENT_FIXABLE:
            self._button("Edit agent", EDIT_AGENT, stats.agent_id, "EditAgentButton")
        if item.prompt and error_class in RETRYABLE:
            self._button("Try again", RETRY, item.prompt, "RetryButton")
        self.buttons.addStretch(1)
        if stats:
            self._button("View run", OPEN_RUN, stats.run_id, "RunLink", flat=True)

    def _button(
        self,
        text: str,
        action: str,
        value: str,
        name: str,
        *,
        primary: bool = False,
        flat: bool = False,
    ) -> None:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setFlat(flat)
        if primary:
            button.setProperty("primary", True)
        button.clicked.connect(lambda: self.sig_action_requested.emit(action, value))
        self.buttons.addWidget(button)


class ConversationView(QScrollArea):
    """The turns of one thread, newest at the bottom; follows the answer while you are there."""

    sig_action_requested = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Conversation")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        canvas = QWidget()
        canvas.setObjectName("ConversationCanvas")
        outer = QHBoxLayout(canvas)
        outer.setContentsMargins(24, 16, 24, 16)
        outer.addStretch(1)
        self._column = QWidget()
        self._column.setMaximumWidth(MAX_CONTENT_WIDTH)
        self._column.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._layout = QVBoxLayout(self._column)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(14)
        self._empty = QWidget()
        self._empty.setObjectName("ConversationEmpty")
        empty_layout = QVBoxLayout(self._empty)
        empty_layout.setContentsMargins(0, 48, 0, 0)
        self.empty_title = QLabel()
        self.empty_title.setObjectName("EmptyTitle")
        self.empty_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_text = QLabel()
        self.empty_text.setObjectName("EmptyText")
        self.empty_text.setWordWrap(True)
        self.empty_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_action = QPushButton()
        self.empty_action.setObjectName("EmptyAction")
        self.empty_action.setVisible(False)
        empty_layout.addWidget(self.empty_title)
        empty_layout.addWidget(self.empty_text)
        action_row = QHBoxLayout()
        action_row.addStretch(1)
        action_row.addWidget(self.empty_action)
        action_row.addStretch(1)
        empty_layout.addLayout(action_row)
        self._layout.addWidget(self._empty)
        self._layout.addStretch(1)
        outer.addWidget(self._column, 100)
        outer.addStretch(1)
        self.setWidget(canvas)
        self._turns: dict[str, TurnWidget] = {}
        self._order: list[str] = []
        self._stick = True
        self._revealed: str | None = None  # the highlighted turn, kept in view while it settles
        self._highlight_timer = QTimer(self, singleShot=True, interval=HIGHLIGHT_MS)
        self._highlight_timer.timeout.connect(self._end_highlight)
        bar = self.verticalScrollBar()
        bar.rangeChanged.connect(self._on_range_changed)
        bar.valueChanged.connect(self._on_scrolled)

    # -- turns -----------------------------------------------------------------------------------

    @property
    def keys(self) -> list[str]:
        return list(self._order)

    def turn(self, key: str) -> TurnWidget | None:
        return self._turns.get(key)

    def clear(self) -> None:
        self.set_turns([])

    def set_turns(
        self, items: list[TurnItem], *, keep: tuple[str, ...] = (), answer_label: str = ""
    ) -> None:
        """Show these turns; widgets with the same key are updated in place, `keep` stays last."""
        wanted = [item.key for item in items]
        for key in list(self._order):
            if key not in wanted and key not in keep:
                self._remove(key)
        for item in items:
            widget = self._turns.get(item.key)
            if widget is None or _kind(widget) != item.role:
                if widget is not None:
                    self._remove(item.key)
                self._turns[item.key] = self._make(item, answer_label)
            else:
                widget.update_item(item)
        kept = [key for key in keep if key in self._turns and key not in wanted]
        self._order = wanted + kept
        for index, key in enumerate(self._order):
            widget = self._turns[key]
            if self._layout.indexOf(widget) != index + 1:
                self._layout.insertWidget(index + 1, widget)  # after the empty state
        self._empty.setVisible(not self._order)

    def add_turn(self, item: TurnItem, answer_label: str = "") -> TurnWidget:
        """Append one turn (a prompt just sent, an answer about to stream)."""
        if item.key in self._turns:
            self._remove(item.key)
        widget = self._make(item, answer_label)
        self._turns[item.key] = widget
        self._order.append(item.key)
        self._layout.insertWidget(len(self._order), widget)
        self._empty.setVisible(False)
        self._stick = True
        return widget

    def remove_turn(self, key: str) -> None:
        if key in self._turns:
            self._remove(key)
            self._empty.setVisible(not self._order)

    def rekey(self, old: str, new: str) -> None:
        """A pending turn learned its run id."""
        widget = self._turns.pop(old, None)
        if widget is None:
            return
        self._turns[new] = widget
        self._order = [new if key == old else key for key in self._order]

    def set_empty_state(self, title: str, text: str, action: str = "") -> None:
        self.empty_title.setText(title)
        self.empty_text.setText(text)
        self.empty_action.setText(action)
        self.empty_action.setVisible(bool(action))

    def scroll_to_bottom(self) -> None:
        self._end_highlight()
        self._stick = True
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    @property
    def highlighted_key(self) -> str | None:
        """The turn briefly highlighted by reveal(), while it is."""
        return self._revealed

    def reveal(self, key: str) -> bool:
        """Scroll this turn into view and highlight it briefly; False if there is no such turn."""
        widget = self._turns.get(key)
        if widget is None:
            return False
        self._end_highlight()
        self._stick = False
        self._revealed = key
        widget.setProperty("highlighted", True)
        _repolish(widget)
        self._scroll_to_revealed()
        self._highlight_timer.start()
        return True

    def _scroll_to_revealed(self) -> None:
        widget = self._turns.get(self._revealed or "")
        if widget is None:
            return
        content = self.widget()
        if content is None:
            return
        # The layout may not have placed a turn that was just added: place it now.
        for layout in (self._layout, content.layout()):
            if layout is not None:
                layout.activate()
        top = widget.mapTo(content, widget.rect().topLeft()).y()
        self.verticalScrollBar().setValue(max(0, top - REVEAL_MARGIN_PX))

    def _end_highlight(self) -> None:
        self._highlight_timer.stop()
        widget = self._turns.get(self._revealed or "")
        self._revealed = None
        if widget is not None:
            widget.setProperty("highlighted", False)
            _repolish(widget)

    # -- internals -------------------------------------------------------------------------------

    def _make(self, item: TurnItem, answer_label: str) -> TurnWidget:
        widget: TurnWidget
        if item.role == "user":
            widget = UserTurn(item)
        elif item.role == "error":
            widget = ErrorTurn(item)
        else:
            widget = AnswerTurn(item, answer_label)
        widget.sig_action_requested.connect(self.sig_action_requested)
        return widget

    def _remove(self, key: str) -> None:
        widget = self._turns.pop(key)
        if key == self._revealed:
            self._end_highlight()
        self._order = [k for k in self._order if k != key]
        self._layout.removeWidget(widget)
        widget.hide()
        widget.deleteLater()

    def _on_range_changed(self, _low: int, high: int) -> None:
        if self._revealed is not None:
            self._scroll_to_revealed()  # answers above it are still growing to their height
        elif self._stick:
            self.verticalScrollBar().setValue(high)

    def _on_scrolled(self, value: int) -> None:
        self._stick = value >= self.verticalScrollBar().maximum() - STICK_TO_BOTTOM_PX


def _repolish(widget: QWidget) -> None:
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)
    widget.update()


def _kind(widget: TurnWidget) -> str:
    if isinstance(widget, UserTurn):
        return "user"
    if isinstance(widget, ErrorTurn):
        return "error"
    return "assistant"
