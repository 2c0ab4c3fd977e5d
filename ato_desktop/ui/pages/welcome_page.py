"""First run: three ways to start. Add a key, create an agent, or load the demo workspace.

The main window shows this page when the log is empty. Loading the demo runs in a worker
thread with a progress bar; when it is done the Runs page opens.
"""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.ui.context import AppContext
from ato_desktop.ui.pages.base import Page
from ato_desktop.ui.resources import icon_path
from ato_desktop.ui.theme import current_theme


class StepBadge(QWidget):
    """A numbered circle in the accent colour (a tick once the step is done)."""

    def __init__(self, number: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.number = number
        self.done = False
        self.setFixedSize(QSize(30, 30))

    def set_done(self, done: bool) -> None:
        self.done = done
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        theme = current_theme()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        color = QColor(theme.completed if self.done else theme.accent)
        fill = QColor(color)
        fill.setAlphaF(0.14)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(fill)
        painter.drawEllipse(QRectF(0.5, 0.5, 29, 29))
        painter.setPen(color)
        font = QFont(self.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.05)
        painter.setFont(font)
        painter.drawText(
            QRectF(0, 0, 30, 30),
            Qt.AlignmentFlag.AlignCenter,
            "✓" if self.done else str(self.number),
        )
        painter.end()


class _StartCard(QFrame):
    def __init__(self, number: int, title: str, text: str, button: str, name: str) -> None:
        super().__init__()
        self.setObjectName("Card")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 20, 20, 18)
        layout.setSpacing(10)
        self.badge = StepBadge(number)
        layout.addWidget(self.badge)
        heading = QLabel(title)
        heading.setObjectName("SectionTitle")
        heading.setStyleSheet("font-size: 15px;")
        heading.setWordWrap(True)
        layout.addWidget(heading)
        body = QLabel(text)
        body.setObjectName("Muted")
        body.setWordWrap(True)
        body.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(body)
        self.extra = QVBoxLayout()
        self.extra.setSpacing(6)
        layout.addLayout(self.extra)
        layout.addStretch(1)
        self.note = QLabel("")
        self.note.setObjectName("Muted")
        self.note.setWordWrap(True)
        self.note.hide()
        layout.addWidget(self.note)
        self.button = QPushButton(button)
        self.button.setObjectName(name)
        self.button.setCursor(Qt.CursorShape.PointingHandCursor)
        layout.addWidget(self.button)


class WelcomePage(Page):
    """What a new user sees first: add a key, create an agent, or explore the demo workspace."""

    page_id = "welcome"
    title = "Welcome"

    demo_runs: int | None = None  # None: the generator's default (tests use a small build)

    sig_demo_progress = Signal(int, int)  # done, total (emitted from the worker thread)
    sig_demo_loaded = Signal(object)  # DemoSummary
    sig_demo_failed = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(40, 32, 40, 32)
        outer.addStretch(2)
        row = QHBoxLayout()
        row.addStretch(1)
        column_widget = QWidget()
        column_widget.setMaximumWidth(980)
        column = QVBoxLayout(column_widget)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(10)
        row.addWidget(column_widget, 30)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(3)

        heading = QHBoxLayout()
        heading.setSpacing(14)
        logo = QLabel()
        logo.setObjectName("WelcomeLogo")
        logo.setPixmap(QIcon(str(icon_path())).pixmap(QSize(44, 44)))
        heading.addWidget(logo)
        title = QLabel("Welcome to ATO Desktop")
        title.setObjectName("WelcomeTitle")
        heading.addWidget(title, 1)
        column.addLayout(heading)
        column.addSpacing(2)
        intro = QLabel(
            "Every prompt your agents send, from the chat, the command line, cron or a git hook, "
            "lands in one log on this machine with its tokens, timing and cost. Start in one of "
            "three ways:"
        )
        intro.setObjectName("Muted")
        intro.setWordWrap(True)
        intro.setStyleSheet("font-size: 14px;")
        column.addWidget(intro)
        column.addSpacing(14)

        cards = QHBoxLayout()
        cards.setSpacing(16)
        self.key_card = _StartCard(
            1,
            "Add an API key",
            "Anthropic for Claude, OpenAI for Codex, or a key for your own OpenAI-compatible "
            "server. Keys stay in your OS keyring.",
            "Add a key",
            "WelcomeAddKey",
        )
        self.key_card.button.setProperty("primary", True)
        self.key_card.button.clicked.connect(self.add_key)
        self.agent_card = _StartCard(
            2,
            "Create an agent",
            "Pick a runtime and a model, write a system prompt. Every change becomes a new "
            "version, so you can see what each one did to cost and failures.",
            "Create an agent",
            "WelcomeCreateAgent",
        )
        self.agent_card.button.clicked.connect(self.create_agent)
        self.demo_card = _StartCard(
            3,
            "Explore the demo workspace",
            "A month of realistic runs from five agents on Claude, Codex and a local model: "
            "failures, costs, config changes, chats, pipelines, hooks and evals. Clearly marked, "
            "removed in one click.",
            "Load demo workspace",
            "WelcomeLoadDemo",
        )
        self.demo_card.button.clicked.connect(self.load_demo)
        self.progress = QProgressBar()
        self.progress.setObjectName("WelcomeDemoProgress")
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(6)
        self.progress.hide()
        self.demo_card.extra.addWidget(self.progress)
        self.progress_label = QLabel("")
        self.progress_label.setObjectName("Muted")
        self.progress_label.hide()
        self.demo_card.extra.addWidget(self.progress_label)
        for card in (self.key_card, self.agent_card, self.demo_card):
            cards.addWidget(card, 1)
        column.addLayout(cards)
        column.addSpacing(12)

        self.footer = QLabel(f"Your data stays on this machine, in {ctx.paths.root}.")
        self.footer.setObjectName("Muted")
        self.footer.setWordWrap(True)
        self.footer.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        column.addWidget(self.footer)

        self._loading = False
        self._cancel = threading.Event()
        cancel = self._cancel  # not self: the wrapper may be gone when this runs
        self.destroyed.connect(lambda *_: cancel.set())
        self.sig_demo_progress.connect(self._show_progress)
        self._restyle()
        if ctx.theme is not None:
            ctx.theme.sig_theme_changed.connect(self._restyle)

    # -- the three ways in -------------------------------------------------------------------

    def add_key(self) -> None:
        self.ctx.navigate("settings", {"section": "keys"})

    def create_agent(self) -> None:
        self.ctx.navigate("agents", {"new": True})

    def load_demo(self) -> None:
        from ato_desktop.engine.demo import DEFAULT_RUNS

        if self._loading or self.ctx.workspace is None:
            return
        total = self.demo_runs or DEFAULT_RUNS
        self._set_loading(True, total)  # at once: the click is answered before any work
        self.ctx.spawn(self._load_demo(total), what="load the demo workspace")

    async def _load_demo(self, total: int) -> None:
        from ato_desktop.engine.demo import DemoExistsError, build_demo_workspace

        workspace = self.ctx.opened_workspace
        try:
            summary = await self.work.call(
                build_demo_workspace,
                workspace.store,
                workspace.prices,
                runs=total,
                progress=self.sig_demo_progress.emit,
                cancel=self._cancel,
            )
        except DemoExistsError:
            # Loaded already (from the CLI, say): just show it.
            self._set_loading(False, total)
            self.ctx.navigate("runs")
            return
        except Exception as exc:
            self._set_loading(False, total)
            self.demo_card.note.setText(f"Could not load the demo workspace: {exc}")
            self.demo_card.note.setStyleSheet(f"color: {current_theme().failed};")
            self.demo_card.note.show()
            self.sig_demo_failed.emit(str(exc))
            return
        self._set_loading(False, total)
        self.demo_card.badge.set_done(True)
        self.ctx.status(
            f"Demo workspace loaded: {summary.runs:,} runs from {summary.agents} agents. "
            "Remove it from the banner at the top whenever you like."
        )
        self.sig_demo_loaded.emit(summary)
        self.ctx.navigate("runs")

    def _set_loading(self, loading: bool, total: int) -> None:
        self._loading = loading
        self.demo_card.button.setEnabled(not loading)
        self.demo_card.button.setText("Loading…" if loading else "Load demo workspace")
        self.progress.setVisible(loading)
        self.progress_label.setVisible(loading)
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(0)
        self.progress_label.setText(f"Preparing {total:,} runs…" if loading else "")
        if loading:
            self.demo_card.note.hide()

    def _show_progress(self, done: int, total: int) -> None:
        if not self._loading:
            return
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.progress_label.setText(f"Writing runs: {done:,} of {total:,}")

    # -- state -------------------------------------------------------------------------------

    def activate(self, target: dict[str, Any] | None = None) -> None:
        self.ctx.spawn(self._check_keys(), what="read the key status")

    async def _check_keys(self) -> None:
        workspace = self.ctx.workspace
        if workspace is None:
            return
        statuses = await self.work.call(workspace.credentials.status)
        present = [s for s in statuses if s.present]
        card = self.key_card
        if present:
            names = ", ".join(_PROVIDER_NAMES.get(s.provider, s.provider) for s in present)
            card.note.setText(f"✓ Key found: {names}.")
            card.note.setStyleSheet(f"color: {current_theme().completed};")
            card.note.show()
            card.badge.set_done(True)
            card.button.setText("Manage keys")
        else:
            card.note.hide()
            card.badge.set_done(False)
            card.button.setText("Add a key")
        # One primary button: the next step to take.
        self._set_primary(card.button, not present)
        self._set_primary(self.agent_card.button, bool(present))

    @staticmethod
    def _set_primary(button: QPushButton, primary: bool) -> None:
        button.setProperty("primary", primary)
        button.style().unpolish(button)
        button.style().polish(button)

    def _restyle(self, _theme: object = None) -> None:
        theme = current_theme()
        title = self.findChild(QLabel, "WelcomeTitle")
        if title is not None:
            title.setStyleSheet(f"font-size: 26px; font-weight: 650; color: {theme.text};")
        self.progress.setStyleSheet(
            f"QProgressBar {{ background: {theme.surface_alt}; border: none; border-radius: 3px; }}"
            f"QProgressBar::chunk {{ background: {theme.accent}; border-radius: 3px; }}"
        )
        for card in (self.key_card, self.agent_card, self.demo_card):
            card.badge.update()


_PROVIDER_NAMES = {
    "anthropic": "Anthropic",
    "openai": "OpenAI",
    "openai-compatible": "OpenAI-compatible",
}
