"""Insights -> Regressions: every agent config change judged on its runs before and after it
(engine.regressions), regressions first; a change's failing examples one click from their runs.

Detection reads the log on a reader thread (ctx.read); the newest request wins and the rows on
screen stay until the next result is ready. New runs and config changes re-run it, coalesced by
a timer, and only while the view shows (else on its next show). The thresholds are settings
(settings.json, shared with the CLI); a broken file is shown, never overwritten.
"""

from __future__ import annotations

import html
import importlib.util
from typing import Any

import shiboken6
from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.regressions import Thresholds, change_side_text
from ato_desktop.engine.regressions import ChangeReport, Detection, detect
from ato_desktop.engine.settings_file import SettingsFileError, save_regression_thresholds
from ato_desktop.ui.charts.regression_evidence import RegressionEvidence
from ato_desktop.ui.chat.log_tasks import log_closed
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.insights.regressions_format import (
    check_tooltip,
    headline_text,
    metric_text,
    no_regressions_text,
    p_text,
    thresholds_text,
)
from ato_desktop.ui.insights.regressions_models import (
    COL_AGENT,
    COL_COST,
    COL_EVAL,
    COL_LATENCY,
    COL_SAMPLES,
    COL_SUCCESS,
    COL_SUMMARY,
    COL_VERDICT,
    COL_WHEN,
    EX_DURATION,
    EX_OUTCOME,
    EX_PROMPT,
    EX_RUN,
    EX_STARTED,
    EX_WHY,
    RUN_ID_ROLE,
    ChangesModel,
    ExamplesModel,
)
from ato_desktop.ui.insights.thresholds_form import ThresholdsForm, notifier
from ato_desktop.ui.runs.formatting import local_time, plural
from ato_desktop.ui.theme import current_theme, mix
from ato_desktop.ui.widgets.async_view import STATE_LOADING, StateStack
from ato_desktop.ui.widgets.background import BackgroundWork
from ato_desktop.ui.widgets.record_table import record_table
from ato_desktop.ui.widgets.status_badge import NoFocusDelegate
from ato_desktop.ui.widgets.visible_refresh import VisibleRefresh

STATE_EMPTY = "empty"  # no config change with runs on both sides
STATE_NONE = "none"  # changes, none of them a regression (and "Show all changes" is off)
STATE_CHANGES = "changes"

REFRESH_MS = 1500  # events arriving closer than this are judged once
_SETTINGS_SHOW_ALL = "insights/regressions_show_all"


def _batch_replay_available() -> bool:
    return importlib.util.find_spec("ato_desktop.ui.replay.batch_dialog") is not None


def failing_run_ids(change: ChangeReport) -> list[str]:
    """The change's example runs, failed ones first, each once."""
    examples = [e for group in change.examples.values() for e in group]
    examples.sort(key=lambda e: e.status != "failed")
    return list(dict.fromkeys(e.run_id for e in examples))


class ExamplesTable(QTableView):
    """The failing examples: a click or Enter opens the run."""

    sig_run_requested = Signal(str)  # run id

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            index = self.currentIndex()
            if index.isValid():
                self.sig_run_requested.emit(str(index.siblingAtColumn(EX_RUN).data(RUN_ID_ROLE)))
                return
        super().keyPressEvent(event)


class ChangeDetail(QFrame):
    """The selected change: what changed, each metric's verdict, and its failing examples."""

    sig_run_requested = Signal(str)  # run id
    sig_compare_requested = Signal(object)  # ChangeReport
    sig_replay_requested = Signal(object)  # ChangeReport
    sig_agent_requested = Signal(str)  # agent id

    def __init__(self, parent: QWidget | None = None, ctx: AppContext | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RegressionDetail")
        self.change: ChangeReport | None = None
        self._thresholds = Thresholds()
        column = QVBoxLayout(self)
        column.setContentsMargins(14, 12, 14, 12)
        column.setSpacing(8)
        top = QHBoxLayout()
        top.setSpacing(8)
        titles = QVBoxLayout()
        titles.setSpacing(2)
        self.title = QLabel("")
        self.title.setObjectName("RegressionDetailTitle")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.summary = QLabel("")
        self.summary.setObjectName("RegressionDetailSummary")
        self.summary.setWordWrap(True)
        self.summary.setProperty("muted", True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        titles.addWidget(self.title)
        titles.addWidget(self.summary)
        top.addLayout(titles, 1)
        self.agent_button = QPushButton("Open agent")
        self.agent_button.setObjectName("RegressionOpenAgent")
        self.agent_button.setToolTip("The agent's settings and config history")
        self.agent_button.clicked.connect(self._agent_clicked)
        self.compare_button = QPushButton("&Compare before/after")
        self.compare_button.setObjectName("RegressionCompare")
        self.compare_button.setToolTip(
            "Insights → Compare: this version's runs against the version before it"
        )
        self.compare_button.clicked.connect(self._compare_clicked)
        self._top = top
        top.addWidget(self.agent_button, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.compare_button, 0, Qt.AlignmentFlag.AlignTop)
        column.addLayout(top)

        self.checks_box = QWidget()
        self.checks_box.setObjectName("RegressionChecks")
        self.checks_grid = QGridLayout(self.checks_box)
        self.checks_grid.setContentsMargins(0, 0, 0, 0)
        self.checks_grid.setHorizontalSpacing(8)
        self.checks_grid.setVerticalSpacing(6)
        self.checks_grid.setColumnStretch(2, 1)
        column.addWidget(self.checks_box)
        self.check_labels: list[QLabel] = []
        # The tripped metrics' before/after distributions with the threshold (ui/charts).
        self.evidence = RegressionEvidence(ctx) if ctx is not None else None
        if self.evidence is not None:
            self.evidence.setFixedHeight(250)
            column.addWidget(self.evidence)

        self.examples_caption = QLabel("")
        self.examples_caption.setObjectName("SectionTitle")
        column.addWidget(self.examples_caption)
        self.examples_model = ExamplesModel(self)
        self.examples = ExamplesTable()
        self.examples.setObjectName("RegressionExamples")
        self.examples.setModel(self.examples_model)
        self.examples.setItemDelegate(NoFocusDelegate(self.examples))
        self.examples.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.examples.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.examples.setShowGrid(False)
        self.examples.setWordWrap(False)
        self.examples.verticalHeader().hide()
        self.examples.verticalHeader().setDefaultSectionSize(28)
        self.examples.horizontalHeader().setHighlightSections(False)
        self.examples.setMouseTracking(True)
        self.examples.viewport().setCursor(Qt.CursorShape.PointingHandCursor)
        header = self.examples.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(EX_PROMPT, QHeaderView.ResizeMode.Stretch)
        for col, width in (
            (EX_WHY, 190),
            (EX_RUN, 90),
            (EX_STARTED, 130),
            (EX_OUTCOME, 260),
            (EX_DURATION, 80),
        ):
            header.resizeSection(col, width)
        self.examples.clicked.connect(self._on_example_clicked)
        self.examples.sig_run_requested.connect(self.sig_run_requested)
        column.addWidget(self.examples, 1)
        self.no_examples = QLabel("")
        self.no_examples.setObjectName("RegressionNoExamples")
        self.no_examples.setProperty("muted", True)
        self.no_examples.setWordWrap(True)
        self.no_examples.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        column.addWidget(self.no_examples, 1)

        self.replay_button: QPushButton | None = None

    def set_replay_action(self, button: QPushButton) -> None:
        """'Replay failures on…', offered when batch replay is available."""
        self.replay_button = button
        button.clicked.connect(self._replay_clicked)
        self._top.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)

    def _agent_clicked(self) -> None:
        if self.change is not None:
            self.sig_agent_requested.emit(self.change.agent_id)

    def _compare_clicked(self) -> None:
        if self.change is not None:
            self.sig_compare_requested.emit(self.change)

    def _replay_clicked(self) -> None:
        if self.change is not None:
            self.sig_replay_requested.emit(self.change)

    def show_change(self, change: ChangeReport | None, thresholds: Thresholds) -> None:
        self.change = change
        self._thresholds = thresholds
        self.examples_model.set_change(change)
        if self.evidence is not None:
            self.evidence.show_change(change, thresholds)
        for label in self.check_labels:
            self.checks_grid.removeWidget(label)
            label.deleteLater()
        self.check_labels = []
        if change is None:
            self.title.setText("")
            self.summary.setText("")
            self.examples_caption.hide()
            self.examples.hide()
            self.no_examples.hide()
            return
        name = html.escape(change.agent_name)
        if change.regression:
            verdict = f"<span style='color:{current_theme().failed}'>Regression</span> · "
        elif change.verdict == "not_enough_data":
            verdict = (
                f"<span style='color:{current_theme().text_muted}'>"
                f"{html.escape(change.not_enough_text.capitalize())}</span> · "
            )
        else:
            verdict = ""
        current = " · current version" if change.is_current else ""
        self.title.setText(
            f"{verdict}<b>@{name}</b> v{change.previous_version} → v{change.version}"
            f" · {html.escape(local_time(change.changed_at))}{current}"
        )
        capped = " Judged on the newest 500 runs a side." if change.capped else ""
        self.summary.setText(f"What changed: {change.summary or 'no recorded diff'}.{capped}")
        self.summary.setToolTip(
            f"Runs of each side: {change_side_text()}; success rate is completed / (completed "
            "+ failed). Compare's “before vs after” counts the same runs."
        )
        for check in change.checks:
            label = QLabel(
                ("✗ " if check.regression else "") + f"{check.label}  {metric_text(check)}"
            )
            label.setObjectName("RegressionCheck")
            label.setProperty("regressed", check.regression)
            label.setToolTip(check_tooltip(check, thresholds))
            label.setAccessibleDescription(f"{check.reason}; {check.test}; {p_text(check.p_value)}")
            label.setText(label.text() + f"  ·  n {check.n_before:,} / {check.n_after:,}")
            count = len(self.check_labels)
            self.checks_grid.addWidget(label, count // 2, count % 2)
            self.check_labels.append(label)
        rows = self.examples_model.rowCount()
        self.examples_caption.setVisible(True)
        if rows:
            self.examples_caption.setText(
                f"Failing examples after the change · {plural(rows, 'run')} "
                "(click or Enter opens the run)"
            )
            self.examples.show()
            self.no_examples.hide()
            self.examples.selectRow(0)
        else:
            self.examples_caption.setText("Examples")
            self.examples.hide()
            self.no_examples.show()
            reasons = "; ".join(f"{c.label}: {c.reason}" for c in change.checks)
            if change.verdict == "not_enough_data":
                head = (
                    f"No verdict: {change.not_enough_text}. Every metric needs "
                    f"{change.min_runs} runs on each side before it can flag a change. "
                )
            else:
                head = "No failing examples: this change did not make the agent worse. "
            self.no_examples.setText(head + (f"({reasons})" if reasons else ""))
        for button in (self.compare_button, self.agent_button):
            button.setEnabled(True)
        if self.replay_button is not None:
            self.replay_button.setVisible(change.regression)
            self.replay_button.setToolTip(
                f"Replay the failed runs of @{change.agent_name} since this change (v"
                f"{change.version}) on another runtime, model or agent: how many recover?"
                if change.is_current
                else f"Replay this change's {plural(len(failing_run_ids(change)), 'failing run')} "
                "on another runtime, model or agent"
            )

    def _on_example_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.sig_run_requested.emit(str(index.siblingAtColumn(EX_RUN).data(RUN_ID_ROLE)))


class RegressionsView(QWidget):
    """Config changes judged before/after, regressions first; thresholds; failing examples."""

    sig_state_changed = Signal(str)  # one of the STATE_* values
    sig_detected = Signal(object)  # Detection

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RegressionsView")
        self.ctx = ctx
        self.work = BackgroundWork(self, ctx)
        self.detection: Detection | None = None
        self._reads = BackgroundWork(self, ctx, on_busy=self._show_busy)
        self._loaded = False
        self._saving = False
        self._pending_select: tuple[str, int | None] | None = None
        self.last_error = ""

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        layout.addWidget(self._build_controls())
        self._body = StateStack("Checking config changes…", name="Regressions")
        self.empty = self._body.message
        self._body.add_page(self._build_content(), STATE_CHANGES)
        self._body.sig_state_changed.connect(self._on_state_changed)
        self._body.sig_state_changed.connect(self.sig_state_changed)
        layout.addWidget(self._body, 1)
        self._body.show_state(STATE_LOADING)
        self._apply_styles()
        if ctx.theme is not None:
            ctx.theme.sig_theme_changed.connect(lambda _t: self._apply_styles())

        self._refresh = VisibleRefresh(self, ctx, REFRESH_MS, self.refresh)
        bridge = ctx.bridge
        if bridge is not None:
            bridge.sig_run_ended.connect(self._refresh.schedule)
            bridge.sig_runs_bulk_changed.connect(self._refresh.schedule)
            bridge.sig_config_changed.connect(self._refresh.schedule)
            # `insights thresholds` from another process: judge again with the new values.
            bridge.sig_settings_changed.connect(self._on_settings_changed)
        notifier().sig_thresholds_saved.connect(self._on_thresholds_saved_elsewhere)

    # -- layout --------------------------------------------------------------------------------

    def _build_controls(self) -> QWidget:
        box = self.controls = QFrame()
        box.setObjectName("RegressionsControls")
        rows = QVBoxLayout(box)
        rows.setContentsMargins(12, 10, 12, 10)
        rows.setSpacing(6)
        first = QHBoxLayout()
        first.setSpacing(10)
        self.headline = QLabel("")
        self.headline.setObjectName("RegressionsHeadline")
        first.addWidget(self.headline)
        first.addStretch(1)
        self.busy_label = QLabel("")
        self.busy_label.setObjectName("RegressionsBusy")
        self.busy_label.setProperty("muted", True)
        first.addWidget(self.busy_label)
        self.show_all = QCheckBox("Show &all changes")
        self.show_all.setObjectName("RegressionsShowAll")
        self.show_all.setToolTip("Also list the config changes that did not regress")
        self.show_all.setChecked(
            str(self.ctx.settings.value(_SETTINGS_SHOW_ALL, "false")).lower() == "true"
        )
        self.show_all.toggled.connect(self._on_show_all)
        first.addWidget(self.show_all)
        self.thresholds_button = QPushButton("&Thresholds…")
        self.thresholds_button.setObjectName("RegressionsThresholdsButton")
        self.thresholds_button.setCheckable(True)
        self.thresholds_button.setToolTip("What counts as a regression (settings.json)")
        self.thresholds_button.toggled.connect(self._toggle_form)
        first.addWidget(self.thresholds_button)
        rows.addLayout(first)
        self.thresholds_line = QLabel("")
        self.thresholds_line.setObjectName("RegressionsThresholds")
        self.thresholds_line.setProperty("muted", True)
        self.thresholds_line.setWordWrap(True)
        self.thresholds_line.setToolTip(
            "Tests (one-sided): Fisher's exact test on completed vs failed runs (success rate); "
            "Mann-Whitney U on durations, costs and eval scores"
        )
        rows.addWidget(self.thresholds_line)

        self.settings_error = QFrame()
        self.settings_error.setObjectName("SettingsFileError")
        error_row = QHBoxLayout(self.settings_error)
        error_row.setContentsMargins(10, 6, 10, 6)
        self.settings_error_text = QLabel("")
        self.settings_error_text.setObjectName("SettingsFileErrorText")
        self.settings_error_text.setWordWrap(True)
        self.settings_error_text.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        error_row.addWidget(self.settings_error_text, 1)
        self.reload_button = QPushButton("Read again")
        self.reload_button.setObjectName("SettingsFileReload")
        self.reload_button.setToolTip("Read settings.json again after fixing it")
        self.reload_button.clicked.connect(self.refresh)
        error_row.addWidget(self.reload_button, 0, Qt.AlignmentFlag.AlignTop)
        self.settings_error.hide()
        rows.addWidget(self.settings_error)

        self.form = ThresholdsForm()
        self.form.sig_save_requested.connect(self.save_thresholds)
        self.form.sig_cancelled.connect(lambda: self.thresholds_button.setChecked(False))
        self.form.hide()
        rows.addWidget(self.form)
        return box

    def _build_content(self) -> QWidget:
        self.content = QSplitter(Qt.Orientation.Vertical)
        self.content.setObjectName("RegressionsContent")
        self.content.setChildrenCollapsible(False)
        self.changes_model = ChangesModel(self)
        self.changes = record_table("RegressionChanges", self.changes_model, row_height=30)
        header = self.changes.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL_SUMMARY, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(70)
        self.changes.verticalHeader().setDefaultSectionSize(46)
        self.changes.setWordWrap(True)
        for col, width in (
            (COL_VERDICT, 140),
            (COL_AGENT, 150),
            (COL_WHEN, 90),
            (COL_SUCCESS, 130),
            (COL_LATENCY, 150),
            (COL_COST, 140),
            (COL_EVAL, 130),
            (COL_SAMPLES, 130),
        ):
            header.resizeSection(col, width)
        self.changes.selectionModel().currentRowChanged.connect(self._on_row_changed)
        self.content.addWidget(self.changes)
        self.detail = ChangeDetail(ctx=self.ctx)
        self.detail.sig_run_requested.connect(self.open_run)
        self.detail.sig_compare_requested.connect(self.compare_change)
        self.detail.sig_agent_requested.connect(
            lambda agent_id: self.ctx.navigate("agents", {"agent_id": agent_id})
        )
        if _batch_replay_available():
            button = QPushButton("&Replay failures on…")
            button.setObjectName("RegressionReplay")
            self.detail.set_replay_action(button)
            self.detail.sig_replay_requested.connect(self.replay_failures)
        self.replay_dialog: Any = None
        self.content.addWidget(self.detail)
        self.content.setStretchFactor(0, 2)
        self.content.setStretchFactor(1, 3)
        return self.content

    def _apply_styles(self) -> None:
        t = current_theme()
        bad_bg = mix(t.surface, t.failed, 0.10)
        self.setStyleSheet(
            f"""
            QFrame#RegressionsControls, QFrame#RegressionDetail {{ background: {t.surface};
                border: 1px solid {t.border}; border-radius: 8px; }}
            QLabel#RegressionsHeadline {{ font-size: 15px; font-weight: 600; }}
            QLabel#RegressionsHeadline[bad="true"] {{ color: {t.failed}; }}
            QLabel#RegressionDetailTitle {{ font-size: 15px; }}
            QLabel#RegressionCheck {{ padding: 3px 8px; border-radius: 6px;
                background: {t.surface_alt}; color: {t.text_muted}; }}
            QLabel#RegressionCheck[regressed="true"] {{ background: {bad_bg}; color: {t.failed};
                font-weight: 600; }}
            QFrame#SettingsFileError {{ background: {bad_bg}; border: 1px solid {t.failed};
                border-radius: 6px; }}
            QLabel#ThresholdsError {{ color: {t.failed}; }}
            QFrame#ThresholdsForm {{ background: {t.surface_alt}; border-radius: 6px; }}
            QLabel#EmptyTitle {{ font-size: 17px; font-weight: 600; padding-bottom: 4px; }}
            QLabel#EmptyText {{ color: {t.text_muted}; }}
            """
        )
        self.changes_model.layoutChanged.emit()  # colours come from the theme

    # -- state ---------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        return self._body.state

    @property
    def busy(self) -> bool:
        return self._reads.pending > 0 or self._saving

    def _on_state_changed(self, state: str) -> None:
        self.show_all.setVisible(state in (STATE_NONE, STATE_CHANGES))

    # -- detection -----------------------------------------------------------------------------

    def ensure_loaded(self) -> None:
        if not self._loaded and self._reads.pending == 0:
            self.refresh()

    def refresh(self) -> None:
        """Judge every config change again (off the UI thread; the newest request wins)."""
        if self.ctx.workspace is None or log_closed(self.ctx):
            return
        self.ctx.spawn(self._detect(), what="check for regressions")

    async def _detect(self) -> None:
        await self._reads.show(
            detect,
            self.ctx.opened_workspace.store,
            self.ctx.paths,
            apply=self._detected,
            fail=self._show_error,
            what="regression detection",
        )

    def _detected(self, detection: Detection) -> None:
        self._loaded = True
        self.last_error = ""
        self.show_detection(detection)

    def show_detection(self, detection: Detection) -> None:
        self.detection = detection
        report = detection.report
        thresholds = detection.settings.thresholds
        self._show_settings(detection.settings.error, thresholds)
        regressions = len(report.regressions)
        changes = len(report.changes)
        self.headline.setProperty("bad", regressions > 0)
        self.headline.style().unpolish(self.headline)
        self.headline.style().polish(self.headline)
        active = sum(1 for c in report.regressions if c.is_current)
        unjudged = len(report.without_enough_data)
        self.headline.setText(headline_text(changes, regressions, active, unjudged))
        self._fill_rows()
        self.sig_detected.emit(detection)

    def _fill_rows(self) -> None:
        detection = self.detection
        if detection is None:
            return
        report = detection.report
        thresholds = detection.settings.thresholds
        if self._pending_select is not None and not self.show_all.isChecked():
            # A link to a change that is not flagged (config history's "compare before/after")
            # lands on it whenever the detection arrives: all changes are listed.
            linked = self._find(*self._pending_select)
            if linked is not None and not linked.regression:
                self.show_all.setChecked(True)  # fills the rows, selecting it
                return
        if not report.changes:
            self._show_empty(thresholds)
            return
        regressions = list(report.regressions)
        if not regressions and not self.show_all.isChecked():
            self._show_none(len(report.changes), thresholds)
            return
        rows = regressions
        if self.show_all.isChecked():
            rows = regressions + [c for c in report.changes if not c.regression]
        selected = self._selected_key()
        self.changes_model.set_changes(rows, thresholds)
        self.changes.setColumnHidden(COL_EVAL, not self.changes_model.has_eval)
        self._body.show_state(STATE_CHANGES)
        wanted = self._pending_select or selected
        row = self.changes_model.row_of(*wanted) if wanted else -1
        if row < 0 and self._pending_select is not None:
            agent_id = self._pending_select[0]
            row = self.changes_model.row_of(agent_id)
        self._pending_select = None
        self.changes.selectRow(max(row, 0))
        self._on_row_changed(self.changes.currentIndex(), QModelIndex())

    def _selected_key(self) -> tuple[str, int | None] | None:
        change = self.selected_change
        return (change.agent_id, change.version) if change is not None else None

    @property
    def selected_change(self) -> ChangeReport | None:
        index = self.changes.currentIndex()
        return self.changes_model.change(index.row()) if index.isValid() else None

    def _on_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        thresholds = self.changes_model.thresholds
        change = self.changes_model.change(current.row()) if current.isValid() else None
        self.detail.show_change(change, thresholds)

    def _show_settings(self, error: str, thresholds: Thresholds) -> None:
        self.thresholds_line.setText(
            f"Regression when, after a change: {thresholds_text(thresholds)}"
        )
        self.settings_error.setVisible(bool(error))
        if error:
            self.settings_error_text.setText(
                f"<b>settings.json could not be read.</b> {html.escape(error)}<br>It is left as it "
                "is: fix or remove the file, then Read again. Until then the default thresholds "
                "apply, and new thresholds cannot be saved."
            )
        self.form.save_button.setEnabled(not error and not self._saving)
        if not self.form.isVisible():
            self.form.set_thresholds(thresholds)

    def _show_empty(self, thresholds: Thresholds) -> None:
        self._body.show_message(
            STATE_EMPTY,
            "No config changes to judge yet",
            "Regressions compares an agent's runs before and after each change to its "
            "configuration. Edit an agent (Agents, Ctrl+2: a new system prompt, model or "
            f"parameter), then run it on the new version — with at least {thresholds.min_runs} "
            "finished runs on each side a change gets a verdict.",
            primary=("Open Agents", lambda: self.ctx.navigate("agents")),
        )

    def _show_none(self, count: int, thresholds: Thresholds) -> None:
        report = self.detection.report if self.detection is not None else None
        unjudged = len(report.without_enough_data) if report is not None else 0
        self._body.show_message(
            STATE_NONE,
            "Not enough data yet" if unjudged == count else "No regressions",
            html.escape(no_regressions_text(count, thresholds, unjudged)),
            primary=("Show all changes", lambda: self.show_all.setChecked(True)),
            secondary=("Edit thresholds", self.edit_thresholds),
        )

    def _show_error(self, message: str) -> None:
        self.last_error = message
        self._body.show_error("Could not check for regressions", message, retry=self.refresh)

    def _show_busy(self) -> None:
        if self._saving:
            text = "Saving thresholds…"
        elif self._reads.pending:
            text = "Checking…"
        else:
            text = ""
        self.busy_label.setText(text)

    def _on_show_all(self, checked: bool) -> None:
        self.ctx.settings.setValue(_SETTINGS_SHOW_ALL, "true" if checked else "false")
        self._fill_rows()

    # -- refresh on events ---------------------------------------------------------------------

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        # Whatever way the tab came up (a click, the palette, a link): it loads on first show.
        if not self._refresh.on_show():
            self.ensure_loaded()

    # -- thresholds ----------------------------------------------------------------------------

    def edit_thresholds(self) -> None:
        self.thresholds_button.setChecked(True)
        self.form.focus_first()

    def _toggle_form(self, checked: bool) -> None:
        if checked and self.detection is not None:
            self.form.set_thresholds(self.detection.settings.thresholds)
        self.form.show_error("")
        self.form.setVisible(checked)
        if checked:
            self.form.focus_first()

    def save_thresholds(self, thresholds: Thresholds) -> None:
        """Write settings.json off the UI thread, then judge every change again."""
        self.ctx.spawn(self._save(thresholds), what="save the regression thresholds")

    async def _save(self, thresholds: Thresholds) -> None:
        self._saving = True
        self.form.set_saving(True)
        self._show_busy()
        try:
            await self.work.call(save_regression_thresholds, self.ctx.paths, thresholds)
        except (SettingsFileError, OSError) as exc:
            self.form.show_error(f"Not saved: {exc}")
            self.settings_error_text.setText(
                f"<b>settings.json could not be read.</b> {html.escape(str(exc))}<br>It is "
                "left as it is: fix or remove the file, then Read again."
            )
            self.settings_error.show()
            return
        finally:
            self._saving = False
            if self.work.alive():  # also when the view is gone (Dropped)
                self.form.set_saving(False)
                self._show_busy()
        self.thresholds_button.setChecked(False)
        self.ctx.status("Regression thresholds saved; checking every config change again")
        notifier().sig_thresholds_saved.emit(thresholds)
        self.refresh()

    def _on_settings_changed(self, event: Any) -> None:
        if event.section == "regressions":
            self._refresh.schedule()

    def _on_thresholds_saved_elsewhere(self, _thresholds: Thresholds) -> None:
        if self._loaded and not self._saving:
            self._refresh.schedule()

    # -- navigation ----------------------------------------------------------------------------

    def open_target(self, target: dict[str, Any]) -> None:
        """{"agent_id": id, "version": n}: select that change (its newest regression without
        a version); {"thresholds": True}: open the thresholds form."""
        agent_id = target.get("agent_id")
        if agent_id:
            version = target.get("version")
            self._pending_select = (str(agent_id), int(version) if version is not None else None)
            change = self._find(str(agent_id), self._pending_select[1])
            if change is not None and not change.regression and not self.show_all.isChecked():
                self.show_all.setChecked(True)  # fills the rows, selecting it
            elif self.detection is not None:
                self._fill_rows()
        if target.get("thresholds"):
            self.edit_thresholds()
        if not self._loaded:
            self.ensure_loaded()
        if self.state == STATE_CHANGES:
            self.changes.setFocus()

    def _find(self, agent_id: str, version: int | None) -> ChangeReport | None:
        if self.detection is None:
            return None
        for change in self.detection.report.changes:
            if change.agent_id == agent_id and (
                change.version == version if version is not None else change.regression
            ):
                return change
        return None

    def open_run(self, run_id: str) -> None:
        if run_id:
            self.ctx.navigate("runs", {"run_id": run_id})

    def replay_failures(self, change: ChangeReport) -> Any:
        """Batch replay of the change's failures on another target: for the agent's current
        version every failed run since the change, else the change's failing examples."""
        from ato_desktop.ui.replay.batch_dialog import BatchReplayDialog

        current = self.replay_dialog
        if current is not None and shiboken6.isValid(current) and current.isVisible():
            if current.state == "running":
                current.raise_()
                current.activateWindow()
                return current
            current.close()
        window = self.window()
        if change.is_current:
            dialog = BatchReplayDialog(self.ctx, None, agent=change.agent_name, parent=window)
        else:
            dialog = BatchReplayDialog(self.ctx, failing_run_ids(change), parent=window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        self.replay_dialog = dialog
        return dialog

    def compare_change(self, change: ChangeReport) -> None:
        self.ctx.navigate(
            "insights",
            {
                "tab": "compare",
                "agent_id": change.agent_id,
                "mode": "version",
                "version": change.version,
            },
        )
