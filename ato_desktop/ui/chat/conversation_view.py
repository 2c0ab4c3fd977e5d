"""The conversation: a scrolling column of turns (prompt bubbles, answers with their stats, and
error cards that say how to fix what went wrong).

Turns are keyed (role + run id), so reloading a thread after an answer only adds, updates or
removes what changed: the answer that just streamed stays where it is, text and all.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
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

from ato_desktop.ui.chat.turns import (
    AGENT_FIXABLE,
    RETRYABLE,
    TurnItem,
    TurnStats,
    error_title,
)
from ato_desktop.ui.widgets.markdown_view import MarkdownView

MAX_CONTENT_WIDTH = 880
STICK_TO_BOTTOM_PX = 48

# Actions a turn can ask the page for (sig_action_requested(action, value)).
OPEN_RUN = "open_run"  # value: run id
SET_KEYS = "set_keys"  # value: ""
EDIT_AGENT = "edit_agent"  # value: agent id
RETRY = "retry"  # value: the prompt


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
        self.stats = StatsBar()
        self.stats.sig_action_requested.connect(self.sig_action_requested)
        layout.addWidget(self.stats)
        if item.text:
            self.body.set_markdown(item.text)
        self._show_stats(item.stats)

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
        self.status.setVisible(True)
        self.text.setVisible(False)
        self.badge.setVisible(False)
        self.run_link.setVisible(bool(self._run_id))

    def set_run_id(self, run_id: str) -> None:
        self._run_id = run_id
        self.run_link.setVisible(bool(run_id))
        self.run_link.setToolTip(f"Open run {run_id} in Runs")

    def set_stats(self, stats: TurnStats | None) -> None:
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
        self._stick = True
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

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
        self._order = [k for k in self._order if k != key]
        self._layout.removeWidget(widget)
        widget.hide()
        widget.deleteLater()

    def _on_range_changed(self, _low: int, high: int) -> None:
        if self._stick:
            self.verticalScrollBar().setValue(high)

    def _on_scrolled(self, value: int) -> None:
        self._stick = value >= self.verticalScrollBar().maximum() - STICK_TO_BOTTOM_PX


def _kind(widget: TurnWidget) -> str:
    if isinstance(widget, UserTurn):
        return "user"
    if isinstance(widget, ErrorTurn):
        return "error"
    return "assistant"
