"""Online judging of an agent, from its page: a button that says whether a judge watches the
agent (and how it scores), and a dialog to turn it on, off or change it: sample %, rubric, the
judge (an agent, or a runtime + model: the replay target form), with the judge's summary so far.

The settings live beside the agent, not in its versioned config (saving them creates no
config version; see core.eval_scoring.OnlineJudgeSettings)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.eval_scoring import OnlineJudgeSettings
from ato_desktop.core.figures import rate_text
from ato_desktop.engine.online_judge import JudgeSummary, configure_online_judge, judge_summary
from ato_desktop.store import evals as eval_store
from ato_desktop.ui.replay.replay_style import replay_stylesheet
from ato_desktop.ui.replay.target_form import ReplayTargetForm
from ato_desktop.ui.runs.formatting import plural
from ato_desktop.ui.theme import current_theme
from ato_desktop.ui.widgets.background import BackgroundWork

DEFAULT_RUBRIC = (
    "Does the answer address the user's request correctly, completely and politely? "
    "10 = fully, 0 = not at all."
)


@dataclass(frozen=True, slots=True)
class JudgeState:
    agent_id: str
    agent_name: str
    settings: OnlineJudgeSettings | None
    summary: JudgeSummary


def load_judge_state(store: Any, agent_id: str) -> JudgeState:
    """The agent's judge settings and its scores so far (reader thread)."""
    agent = store.get_agent(agent_id)
    return JudgeState(
        agent.id,
        agent.name,
        eval_store.get_online_judge(store, agent.id),
        judge_summary(store, agent.name),
    )


def summary_text(summary: JudgeSummary) -> str:
    if not summary.count:
        return "No run judged yet."
    mean = f"{summary.mean_score:.2f}" if summary.mean_score is not None else "—"
    return (
        f"{plural(summary.count, 'run')} judged · mean score {mean} · "
        f"{rate_text(summary.pass_rate)} pass"
    )


def button_text(state: JudgeState | None) -> str:
    settings = state.settings if state else None
    if settings is None or not settings.enabled:
        return "Online judging: off"
    return f"Online judging: {settings.sample_percent:g}%"


class OnlineJudgeButton(QPushButton):
    """'Online judging: 10%' on the agent page; opens the settings dialog."""

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__("Online judging…", parent)
        self.setObjectName("OnlineJudgeButton")
        self.ctx = ctx
        self.work = BackgroundWork(self, ctx)
        self.agent_id: str | None = None
        self.state: JudgeState | None = None
        self.dialog: OnlineJudgeDialog | None = None
        self.clicked.connect(self.open_dialog)
        bridge = getattr(ctx, "bridge", None)
        if bridge is not None:
            bridge.sig_run_scored.connect(self._on_scored)

    def show_agent(self, agent_id: str | None) -> None:
        self.agent_id = agent_id
        self.setVisible(agent_id is not None)
        self.reload()

    def reload(self) -> None:
        if self.agent_id is None or self.ctx.workspace is None:
            return
        self.ctx.spawn(self._read(self.agent_id), what="read the online judge")

    async def _read(self, agent_id: str) -> None:
        # The newest agent's state only (self.work.read): an older read is dropped.
        state = await self.work.read(load_judge_state, self.ctx.workspace.store, agent_id)
        self.state = state
        self.setText(button_text(state))
        self.setToolTip(
            "Score a sampled share of this agent's production runs with an LLM judge. "
            + summary_text(state.summary)
        )

    def _on_scored(self, event: Any) -> None:
        if event.source == "judge" and event.agent_id == self.agent_id:
            self.reload()

    def open_dialog(self) -> OnlineJudgeDialog | None:
        if self.agent_id is None:
            return None
        dialog = OnlineJudgeDialog(self.ctx, self.agent_id, parent=self.window())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.sig_saved.connect(lambda _s: self.reload())
        dialog.show()
        self.dialog = dialog
        return dialog


class OnlineJudgeDialog(QDialog):
    """Enabled, sample %, rubric, judge, pass score; the judge's summary so far."""

    sig_loaded = Signal(object)  # JudgeState
    sig_saved = Signal(object)  # OnlineJudgeSettings

    def __init__(self, ctx: Any, agent_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("OnlineJudgeDialog")
        self.ctx = ctx
        self.work = BackgroundWork(self, ctx)
        self.agent_id = agent_id
        self.state: JudgeState | None = None
        self.setWindowTitle("Online judging")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 16, 18, 14)
        layout.setSpacing(10)
        self.title = QLabel("Online judging")
        self.title.setObjectName("ReplayTitle")
        layout.addWidget(self.title)
        hint = QLabel(
            "A judge scores a sampled share of this agent's production runs (chat, CLI, "
            "schedules, hooks; not evals or replays) after they complete, without delaying "
            "them. Its calls are runs too, with their cost. Saving creates no config version."
        )
        hint.setObjectName("ReplaySubtitle")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        self.summary = QLabel("Reading…")
        self.summary.setObjectName("JudgeSummary")
        layout.addWidget(self.summary)

        grid = QGridLayout()
        grid.setHorizontalSpacing(10)
        self.enabled = QCheckBox("&Judge this agent's runs")
        self.enabled.setObjectName("JudgeEnabled")
        self.enabled.setChecked(True)
        grid.addWidget(self.enabled, 0, 0, 1, 2)
        self.sample = QDoubleSpinBox()
        self.sample.setObjectName("JudgeSample")
        self.sample.setRange(0, 100)
        self.sample.setDecimals(1)
        self.sample.setValue(10)
        self.sample.setSuffix(" %")
        self.sample.setToolTip("The share of runs judged: the same runs every time (a hash)")
        sample_label = QLabel("&Sample")
        sample_label.setBuddy(self.sample)
        grid.addWidget(sample_label, 1, 0)
        grid.addWidget(self.sample, 1, 1, Qt.AlignmentFlag.AlignLeft)
        self.pass_score = QSpinBox()
        self.pass_score.setObjectName("JudgePassScore")
        self.pass_score.setRange(0, 100)
        self.pass_score.setValue(70)
        self.pass_score.setSuffix(" %")
        self.pass_score.setToolTip("A run passes when the judge's normalised score reaches this")
        pass_label = QLabel("&Passes at")
        pass_label.setBuddy(self.pass_score)
        grid.addWidget(pass_label, 2, 0)
        grid.addWidget(self.pass_score, 2, 1, Qt.AlignmentFlag.AlignLeft)
        self.rubric = QPlainTextEdit()
        self.rubric.setObjectName("JudgeRubric")
        self.rubric.setPlaceholderText(DEFAULT_RUBRIC)
        self.rubric.setTabChangesFocus(True)
        self.rubric.setFixedHeight(90)
        rubric_label = QLabel("&Rubric")
        rubric_label.setBuddy(self.rubric)
        grid.addWidget(rubric_label, 3, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.rubric, 3, 1)
        grid.setColumnStretch(1, 1)
        layout.addLayout(grid)

        caption = QLabel("JUDGE")
        caption.setObjectName("SectionCaption")
        layout.addWidget(caption)
        self.target_form = ReplayTargetForm(ctx)
        self.target_form.agent_radio.setToolTip("Another agent judges (its prompt and model)")
        self.target_form.runtime_radio.setToolTip("A model judges with the rubric alone")
        layout.addWidget(self.target_form)

        self.error_label = QLabel("")
        self.error_label.setObjectName("JudgeError")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        layout.addWidget(self.error_label)
        layout.addStretch(1)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.reject)
        self.save_button = QPushButton("&Save")
        self.save_button.setObjectName("JudgeSave")
        self.save_button.setProperty("primary", True)
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.save_button)
        layout.addLayout(buttons)
        t = current_theme()
        self.setStyleSheet(replay_stylesheet() + f"QLabel#JudgeError {{ color: {t.failed}; }}")
        self.resize(620, 600)
        self.target_form.load()
        ctx.spawn(self._load(), what="read the online judge")

    async def _load(self) -> None:
        state = await self.work.fetch(load_judge_state, self.ctx.workspace.store, self.agent_id)
        self.state = state
        self.title.setText(f"Online judging of @{state.agent_name}")
        self.summary.setText(summary_text(state.summary))
        settings = state.settings
        if settings is not None:
            self.enabled.setChecked(settings.enabled)
            self.sample.setValue(settings.sample_percent)
            self.pass_score.setValue(round(settings.pass_score * 100))
            self.rubric.setPlainText(settings.rubric)
            self._wait_for_targets(settings)
        self.sig_loaded.emit(state)

    def _wait_for_targets(self, settings: OnlineJudgeSettings) -> None:
        form = self.target_form
        if not form.loaded:
            form.sig_target_changed.connect(lambda: self._preset(settings))
            return
        self._preset(settings)

    def _preset(self, settings: OnlineJudgeSettings) -> None:
        form = self.target_form
        if not form.loaded or getattr(self, "_preset_done", False):
            return
        self._preset_done = True
        if settings.judge_agent:
            form.select_agent(settings.judge_agent)
        elif settings.judge_runtime and settings.judge_model:
            form.runtime_radio.setChecked(True)
            form.set_runtime(settings.judge_runtime)
            form.set_model(settings.judge_model)
            if settings.judge_base_url:
                form.base_url.setText(settings.judge_base_url)

    def save(self) -> None:
        target = self.target_form.target()
        if target is None:
            self._show_error(f"Choose the judge: {self.target_form.problem()}")
            return
        rubric = self.rubric.toPlainText().strip() or DEFAULT_RUBRIC
        name = self.state.agent_name if self.state else self.agent_id
        options: dict[str, Any] = {
            "rubric": rubric,
            "sample_percent": self.sample.value(),
            "pass_score": self.pass_score.value() / 100,
            "enabled": self.enabled.isChecked(),
        }
        if self.state is not None and self.state.settings is not None:
            options["seed"] = self.state.settings.seed
        if target.agent:
            options["judge_agent"] = target.agent
        else:
            options.update(
                judge_runtime=target.runtime,
                judge_model=target.model,
                judge_base_url=target.base_url,
            )
        self.save_button.setEnabled(False)
        self.ctx.spawn(self._save(name, options), what="save the online judge")

    async def _save(self, name: str, options: dict[str, Any]) -> None:
        store = self.ctx.workspace.store
        try:
            settings = await self.work.call(configure_online_judge, store, name, **options)
        except (ValueError, LookupError) as exc:
            message: str | None = str(exc)
        except Exception as exc:  # NotFoundError: the judge agent is gone
            message = str(exc) or type(exc).__name__
        else:
            message = None
        self.save_button.setEnabled(True)
        if message is not None:
            self._show_error(f"Not saved: {message}")
            return
        state = "on" if settings.enabled else "off"
        self.ctx.status(f"Online judging of @{name} is {state} ({settings.sample_percent:g}%)")
        self.sig_saved.emit(settings)
        self.accept()

    def _show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))
