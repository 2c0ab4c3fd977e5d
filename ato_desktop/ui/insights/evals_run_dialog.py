"""Run an eval suite from the app: a JSONL file (or a recorded suite, "Run again"), its bad
lines by number before anything runs, a target (agent, or runtime + model: the replay target
form), concurrency and an optional minimum pass rate; then progress with Cancel, and at the end
the report opens in Insights -> Evals."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.cost_rollup import format_cost, rollup_cost, rollup_source
from ato_desktop.core.eval_scoring import CaseOutcome
from ato_desktop.core.eval_suite import EvalSuite, SuiteFormatError, parse_suite
from ato_desktop.core.figures import rate_text
from ato_desktop.engine.evals import (
    EvalError,
    EvalTarget,
    SuiteReport,
    load_suite,
    rerun_suite,
    run_suite,
)
from ato_desktop.store import evals as eval_store
from ato_desktop.store.evals import SuiteRunRecord
from ato_desktop.ui.insights.evals_models import run_cost_text
from ato_desktop.ui.replay.replay_style import replay_stylesheet
from ato_desktop.ui.replay.target_form import ReplayTargetForm
from ato_desktop.ui.runs.formatting import local_time, plural
from ato_desktop.ui.theme import current_theme
from ato_desktop.ui.widgets.background import BackgroundWork
from ato_desktop.ui.widgets.job_dialog import RUNNING, SETUP, JobDialog
from ato_desktop.ui.widgets.progress_panel import ProgressPanel

DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 16
SETTINGS_LAST_DIR = "evals/last_dir"
EXAMPLE = "examples/evals/support_bot.jsonl"


@dataclass(frozen=True, slots=True)
class PreparedSuite:
    """A suite ready to run: parsed, its text, and its recent runs (for a cost hint)."""

    suite: EvalSuite
    text: str
    recorded_name: str | None  # set when it is a recorded suite run again from its stored text
    recent: tuple[SuiteRunRecord, ...]


def prepare_file(store: Any, path: Path) -> PreparedSuite:
    """Read and parse a suite file, and its previous runs if it ran before (reader thread)."""
    suite, text = load_suite(path)
    return PreparedSuite(suite, text, None, _recent(store, suite.name))


def prepare_recorded(store: Any, name: str) -> PreparedSuite:
    """A recorded suite from its stored text (its file may be gone)."""
    record = eval_store.get_suite(store, name)
    text = eval_store.suite_source(store, record.id)
    try:
        suite = parse_suite(text, default_name=record.name, path=record.path)
    except SuiteFormatError as exc:
        raise EvalError(f"suite {record.name}: {exc}") from exc
    return PreparedSuite(suite, text, record.name, _recent(store, record.name))


def _recent(store: Any, name: str) -> tuple[SuiteRunRecord, ...]:
    try:
        record = eval_store.get_suite(store, name)
    except LookupError:
        return ()
    except Exception:  # NotFoundError: a suite that never ran
        return ()
    return tuple(eval_store.suite_runs(store, suite_id=record.id, limit=50))


def to_eval_target(replay_target: Any) -> EvalTarget | None:
    if replay_target is None:
        return None
    if replay_target.agent:
        return EvalTarget(agent=replay_target.agent)
    return EvalTarget(
        runtime=replay_target.runtime,
        model=replay_target.model,
        base_url=replay_target.base_url,
    )


class RunSuiteDialog(JobDialog):
    """Choose a suite file (or run a recorded suite again) and a target; run it with progress."""

    sig_prepared = Signal(object)  # PreparedSuite | None (unusable file)
    sig_progress = Signal(int, int)  # done, total
    sig_finished = Signal(object)  # SuiteReport

    def __init__(
        self,
        ctx: Any,
        *,
        suite_name: str | None = None,
        target: EvalTarget | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("RunSuiteDialog")
        self.ctx = ctx
        self.work = BackgroundWork(self, ctx)
        self.rerun_name = suite_name
        self.prepared: PreparedSuite | None = None
        self.report: SuiteReport | None = None
        self.error = ""
        self._preset_target = target
        self._cost: float | None = None
        self._cost_source: str | None = None
        self._passed = 0
        self._done = 0
        title = f"Run {suite_name} again" if suite_name else "Run an eval suite"
        self.setWindowTitle(title)
        self._build_job(
            name="Eval",
            title=title,
            subtitle="Each case becomes a run (trigger eval) through the usual dispatch path, "
            "scored by the suite's scorers. Format: docs/evals.md.",
            setup=self._build_setup(),
            run=self._build_run(),
            start_text="&Run suite",
            cancel_text="Cancel run",
            cancel_tip="Start no new case and stop those under way; the finished cases are "
            "reported",
            cancelling="Cancelling: no new case starts, those under way stop…",
        )
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)

        t = current_theme()
        self.setStyleSheet(
            replay_stylesheet()
            + f"QLabel#EvalError {{ color: {t.failed}; }}"
            + f"QLabel#EvalBadTitle {{ color: {t.warning}; font-weight: 600; }}"
        )
        self.target_form.sig_target_changed.connect(self._update_start)
        self.resize(720, 640)
        self._show(SETUP)
        self.target_form.load()
        if suite_name:
            self._prepare(prepare_recorded, suite_name)

    # -- pages -----------------------------------------------------------------------------------

    def _build_setup(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(10)

        caption = QLabel("SUITE")
        caption.setObjectName("SectionCaption")
        layout.addWidget(caption)
        file_row = QHBoxLayout()
        self.path_edit = QLineEdit()
        self.path_edit.setObjectName("EvalSuitePath")
        self.path_edit.setPlaceholderText("a .jsonl file: one case a line")
        self.path_edit.setClearButtonEnabled(True)
        self.path_edit.returnPressed.connect(self._path_entered)
        self.browse_button = QPushButton("&Choose file…")
        self.browse_button.setObjectName("EvalBrowse")
        self.browse_button.clicked.connect(self.choose_file)
        file_row.addWidget(self.path_edit, 1)
        file_row.addWidget(self.browse_button)
        self.file_row = QWidget()
        self.file_row.setLayout(file_row)
        file_row.setContentsMargins(0, 0, 0, 0)
        self.file_row.setVisible(self.rerun_name is None)
        layout.addWidget(self.file_row)
        self.suite_line = QLabel("Choose a suite file to see its cases.")
        self.suite_line.setObjectName("EvalSuiteLine")
        self.suite_line.setWordWrap(True)
        self.suite_line.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.suite_line)

        self.bad_box = QFrame()
        self.bad_box.setObjectName("UnavailableCard")
        bad_layout = QVBoxLayout(self.bad_box)
        bad_layout.setContentsMargins(12, 8, 12, 8)
        self.bad_title = QLabel("")
        self.bad_title.setObjectName("EvalBadTitle")
        self.bad_title.setWordWrap(True)
        bad_layout.addWidget(self.bad_title)
        self.bad_lines = QPlainTextEdit()
        self.bad_lines.setObjectName("EvalBadLines")
        self.bad_lines.setReadOnly(True)
        self.bad_lines.setMaximumHeight(96)
        self.bad_lines.setAccessibleName("Skipped lines")
        bad_layout.addWidget(self.bad_lines)
        self.bad_box.hide()
        layout.addWidget(self.bad_box)

        caption = QLabel("RUN AGAINST")
        caption.setObjectName("SectionCaption")
        layout.addWidget(caption)
        self.target_form = ReplayTargetForm(self.ctx)
        self.target_form.runtime_radio.setToolTip("A bare model: the suite's prompts as they are")
        self.target_form.agent_radio.setToolTip(
            "The agent as configured: its system prompt, parameters and tools"
        )
        layout.addWidget(self.target_form)

        options = QHBoxLayout()
        self.concurrency = QSpinBox()
        self.concurrency.setObjectName("EvalConcurrency")
        self.concurrency.setRange(1, MAX_CONCURRENCY)
        self.concurrency.setValue(DEFAULT_CONCURRENCY)
        self.concurrency.setToolTip("How many cases run at the same time")
        label = QLabel("At &most")
        label.setBuddy(self.concurrency)
        options.addWidget(label)
        options.addWidget(self.concurrency)
        options.addWidget(QLabel("cases at a time"))
        options.addSpacing(24)
        self.gate_check = QCheckBox("Require a &pass rate of at least")
        self.gate_check.setObjectName("EvalGateCheck")
        self.gate_check.setToolTip(
            "Like --min-pass-rate on the command line: says at the end whether the run reached it"
        )
        self.gate = QSpinBox()
        self.gate.setObjectName("EvalGate")
        self.gate.setRange(0, 100)
        self.gate.setValue(90)
        self.gate.setSuffix(" %")
        self.gate.setEnabled(False)
        self.gate_check.toggled.connect(self.gate.setEnabled)
        options.addWidget(self.gate_check)
        options.addWidget(self.gate)
        options.addStretch(1)
        layout.addLayout(options)

        self.cost_hint = QLabel("")
        self.cost_hint.setObjectName("ReplayHint")
        self.cost_hint.setWordWrap(True)
        layout.addWidget(self.cost_hint)
        self.error_label = QLabel("")
        self.error_label.setObjectName("EvalError")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.hide()
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        return page

    def _build_run(self) -> ProgressPanel:
        page = ProgressPanel("%v / %m cases", label_name="EvalProgressLabel")
        page.column.addStretch(1)
        return page

    # -- state -----------------------------------------------------------------------------------

    def _state_shown(self, _state: str) -> None:
        self._update_start()

    def _update_start(self) -> None:
        if self.prepared is not None and self._preset_target is not None:
            self._apply_pending_preset()
        target = self.target_form.target()
        self.start_button.setEnabled(self.prepared is not None and target is not None)
        if self.prepared is None:
            self.start_button.setToolTip("Choose a suite file first")
        elif target is None:
            self.start_button.setToolTip(self.target_form.problem())
        else:
            self.start_button.setToolTip("")
        self._show_cost_hint()

    # -- the suite -------------------------------------------------------------------------------

    def choose_file(self) -> None:
        start = str(self.ctx.settings.value(SETTINGS_LAST_DIR, "") or "")
        if not start and Path(EXAMPLE).parent.is_dir():
            start = str(Path(EXAMPLE).parent.resolve())
        path, _filter = QFileDialog.getOpenFileName(
            self, "Choose an eval suite", start, "Eval suites (*.jsonl);;All files (*)"
        )
        if path:
            self.set_path(path)

    def _path_entered(self) -> None:
        text = self.path_edit.text().strip()
        if text:
            self.set_path(text)

    def set_path(self, path: str) -> None:
        """Read the file (off the UI thread) and show its cases and bad lines."""
        self.path_edit.setText(path)
        folder = str(Path(path).expanduser().resolve().parent)
        self.ctx.settings.setValue(SETTINGS_LAST_DIR, folder)
        self._prepare(prepare_file, Path(path).expanduser())

    def _prepare(self, read: Any, arg: Any) -> None:
        self.prepared = None
        self.suite_line.setText("Reading the suite…")
        self.bad_box.hide()
        self._show_error("")
        self._update_start()
        self.ctx.spawn(self._read(read, arg), what="read the eval suite")

    async def _read(self, read: Any, arg: Any) -> None:
        # The newest suite only (self.work.read): an older one still being read is dropped.
        try:
            prepared = await self.work.read(read, self.ctx.workspace.store, arg)
        except (EvalError, LookupError, OSError) as exc:
            prepared, message = None, str(exc)
        except Exception as exc:  # NotFoundError (a recorded suite that is gone)
            prepared, message = None, str(exc) or type(exc).__name__
        else:
            message = ""
        self.prepared = prepared
        if prepared is None:
            self.suite_line.setText("This suite cannot be run.")
            self._show_error(message)
        else:
            self._show_suite(prepared)
        self._update_start()
        self.sig_prepared.emit(prepared)

    def _show_suite(self, prepared: PreparedSuite) -> None:
        suite = prepared.suite
        kinds = ", ".join(suite.scorer_kinds) or "none"
        where = "its stored text" if prepared.recorded_name else html.escape(suite.path or "")
        self.suite_line.setText(
            f"<b>{html.escape(suite.name)}</b> · {plural(len(suite.cases), 'case')} · "
            f"scorers: {html.escape(kinds)}<br><span style='font-size:11px'>{where}</span>"
        )
        bad = suite.bad_lines
        self.bad_box.setVisible(bool(bad))
        if bad:
            self.bad_title.setText(
                f"{plural(len(bad), 'line')} will be skipped; the other "
                f"{plural(len(suite.cases), 'case')} still run:"
            )
            self.bad_lines.setPlainText("\n".join(f"line {b.line_no}: {b.reason}" for b in bad))
            self.bad_lines.setFixedHeight(min(110, 20 * len(bad) + 14))
        if self._preset_target is None and prepared.recent:
            self._preset_target = _target_of(prepared.recent[0])
        self._apply_pending_preset()

    def _apply_pending_preset(self) -> None:
        """The suite's last target (or the one given), once the agents have been listed."""
        if self._preset_target is not None and self.target_form.loaded:
            target, self._preset_target = self._preset_target, None
            self._apply_preset(target)

    def _apply_preset(self, target: EvalTarget | None) -> None:
        if target is None:
            return
        if target.agent and not target.runtime:
            self.target_form.select_agent(target.agent)
        elif target.runtime and target.model:
            self.target_form.runtime_radio.setChecked(True)
            self.target_form.set_runtime(target.runtime)
            self.target_form.set_model(target.model)
            if target.base_url:
                self.target_form.base_url.setText(target.base_url)

    def _show_cost_hint(self) -> None:
        prepared = self.prepared
        if prepared is None:
            self.cost_hint.setText("")
            return
        target = to_eval_target(self.target_form.target())
        label = target.label if target is not None else None
        same = [r for r in prepared.recent if r.target == label and r.status == "completed"]
        if same:
            last = same[0]
            self.cost_hint.setText(
                f"The last run on {label} ({local_time(last.started_at)}) cost "
                f"{run_cost_text(last)} for {plural(last.ran_count, 'case')}. "
                "The cost of this run shows as it runs."
            )
        else:
            self.cost_hint.setText(
                "No earlier run on this target to estimate from: the cost shows as the cases "
                "run (each priced when its answer arrives), with the judges' cost apart."
            )

    def _show_error(self, message: str) -> None:
        self.error = message
        self.error_label.setVisible(bool(message))
        self.error_label.setText(message)

    # -- running ---------------------------------------------------------------------------------

    def start(self) -> None:
        prepared = self.prepared
        target = to_eval_target(self.target_form.target())
        if prepared is None or target is None or self._state == RUNNING:
            return
        self._done = self._passed = 0
        self._cost = None
        self._cost_source = None
        self._begin_job(
            max(1, len(prepared.suite.cases)), f"Running {prepared.suite.name} on {target.label}…"
        )
        self.ctx.spawn(self._run(prepared, target), what="run the eval suite")

    async def _run(self, prepared: PreparedSuite, target: EvalTarget) -> None:
        options: dict[str, Any] = {
            "concurrency": self.concurrency.value(),
            "progress": self.ctx.on_ui(self._on_progress),
            "cancel": self._cancel,
        }
        workspace = self.ctx.workspace
        try:  # on the engine's loop: the suite's dispatches run there
            if prepared.recorded_name is not None:
                report = await self.ctx.engine_run(
                    rerun_suite(workspace, prepared.recorded_name, target, **options)
                )
            else:
                report = await self.ctx.engine_run(
                    run_suite(
                        workspace, prepared.suite, target, source_text=prepared.text, **options
                    )
                )
        except (EvalError, ValueError, LookupError) as exc:
            if self.work.alive():
                self._show(SETUP)
                self._show_error(f"Not run: {exc}")
            return
        if not self.work.alive():
            return
        self.report = report
        self._end_job(self._summary(report))
        self.sig_finished.emit(report)
        target_info: dict[str, Any] = {"tab": "evals", "suite_run_id": report.suite_run_id}
        if self.gate_check.isChecked():
            target_info["min_pass_rate"] = self.gate.value() / 100
        self.ctx.status(f"{report.suite}: {self.progress_label.text()}")
        self.ctx.navigate("insights", target_info)
        self.accept()

    def _on_progress(self, done: int, total: int, outcome: CaseOutcome) -> None:
        if not self.work.alive():
            return
        self._done = done
        self._passed += 1 if outcome.passed else 0
        self._cost = rollup_cost(self._cost, outcome.cost_usd)
        self._cost_source = rollup_source(self._cost_source, outcome.cost_source)
        self.progress.setMaximum(total)
        self.progress.setValue(done)
        self.progress_label.setText(
            f"{done} of {total} cases · {self._passed} passed · cost so far "
            f"{format_cost(self._cost, self._cost_source)}"
        )
        self.sig_progress.emit(done, total)

    def _summary(self, report: SuiteReport) -> str:
        figs = report.figures
        text = f"Pass rate {rate_text(figs.pass_rate)} over {plural(figs.ran, 'case')}"
        if self.gate_check.isChecked():
            wanted = self.gate.value() / 100
            text += (
                f" · reaches the required {self.gate.value()}%"
                if report.passes(wanted)
                else f" · below the required {self.gate.value()}%"
            )
        return text

    def gate_passed(self) -> bool | None:
        """Whether the finished run reached the required pass rate (None: no requirement)."""
        if self.report is None or not self.gate_check.isChecked():
            return None
        return self.report.passes(self.gate.value() / 100)


def _target_of(run: SuiteRunRecord) -> EvalTarget | None:
    """The target a recorded run used, as the form can show it again."""
    try:
        if run.agent_name and not run.swapped:
            return EvalTarget(agent=run.agent_name)
        if not run.agent_name:
            return EvalTarget(runtime=run.runtime, model=run.model)
    except ValueError:
        return None
    return None
