"""Insights -> Evals: the eval suites with their latest run, a suite's run history, and a run's
report (figures, the case table with the diff against the previous run of the same suite on the
same target, each case's run one click or Enter away). "Run a suite…" and "Run again…" open
the run dialog.

Reads run off the UI thread (ctx.read), newest request wins; EvalSuiteRunChanged events reload,
coalesced by a timer, and only while the view shows (else on its next show).
"""

from __future__ import annotations

import html
from typing import Any

import shiboken6
from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.cost_rollup import format_cost
from ato_desktop.core.figures import ms_text, rate_text
from ato_desktop.store.evals import SuiteRunRecord, get_suite_run
from ato_desktop.ui.chat.log_tasks import log_closed
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.insights import evals_reads
from ato_desktop.ui.insights.evals_models import (
    ID_ROLE,
    CasesModel,
    RunsModel,
    SuitesModel,
    score_text,
)
from ato_desktop.ui.insights.evals_reads import CaseRow, ReportView, SuiteRow, scorer_lines
from ato_desktop.ui.runs.formatting import local_time, plural
from ato_desktop.ui.theme import current_theme, mix
from ato_desktop.ui.widgets.async_view import STATE_LOADING, StateStack
from ato_desktop.ui.widgets.background import BackgroundWork
from ato_desktop.ui.widgets.record_table import record_table
from ato_desktop.ui.widgets.visible_refresh import VisibleRefresh

STATE_EMPTY = "empty"
STATE_SUITES = "suites"
REFRESH_MS = 300
_SETTINGS_CHANGES_ONLY = "insights/evals_changes_only"


class CaseTable(QTableView):
    """The case table: Enter (or a click) opens the case's run."""

    sig_run_requested = Signal(str)  # run id

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            index = self.currentIndex()
            if index.isValid() and index.data(ID_ROLE):
                self.sig_run_requested.emit(str(index.data(ID_ROLE)))
                return
        super().keyPressEvent(event)


class EvalsView(QWidget):
    """Suites, their runs, and a run's report."""

    sig_state_changed = Signal(str)
    sig_suites_loaded = Signal(object)  # list[SuiteRow]
    sig_report_shown = Signal(object)  # ReportView

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("EvalsView")
        self.ctx = ctx
        self._loaded = False
        self._suites_reads = BackgroundWork(self, ctx)
        self._runs_reads = BackgroundWork(self, ctx)  # the selected suite's runs: the newest
        self._report_reads = BackgroundWork(self, ctx)  # the selected run's report: the newest
        self._pending_run: str | None = None
        self._pending_suite: str | None = None
        self._report_run_id: str | None = None  # the run whose report shows (or is read)
        self._selecting = False
        self._min_pass_rate: float | None = None
        self.report_view: ReportView | None = None
        self.dialog: Any = None
        self.last_error = ""

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        layout.addWidget(self._build_controls())
        self._body = StateStack("Reading eval suites…", name="Evals")
        self.empty = self._body.message
        self._body.add_page(self._build_content(), STATE_SUITES)
        self._body.sig_state_changed.connect(self._on_state_changed)
        self._body.sig_state_changed.connect(self.sig_state_changed)
        layout.addWidget(self._body, 1)
        self._apply_styles()
        if ctx.theme is not None:
            ctx.theme.sig_theme_changed.connect(lambda _t: self._apply_styles())
        self._refresh = VisibleRefresh(self, ctx, REFRESH_MS, self.refresh)
        bridge = ctx.bridge
        if bridge is not None:
            bridge.sig_eval_run_changed.connect(self._refresh.schedule)
            bridge.sig_runs_bulk_changed.connect(self._refresh.schedule)
        self._body.show_state(STATE_LOADING)

    # -- layout --------------------------------------------------------------------------------

    def _build_controls(self) -> QWidget:
        box = QFrame()
        box.setObjectName("EvalsControls")
        row = QHBoxLayout(box)
        row.setContentsMargins(12, 8, 12, 8)
        row.setSpacing(10)
        self.headline = QLabel("Eval suites")
        self.headline.setObjectName("EvalsHeadline")
        row.addWidget(self.headline)
        row.addStretch(1)
        self.again_button = QPushButton("Run &again…")
        self.again_button.setObjectName("EvalsRunAgain")
        self.again_button.setToolTip(
            "Run the selected suite again from its stored text (its file may be gone), on the "
            "same target or another"
        )
        self.again_button.clicked.connect(self.run_again)
        self.again_button.setEnabled(False)
        row.addWidget(self.again_button)
        self.run_button = QPushButton("Run a &suite…")
        self.run_button.setObjectName("EvalsRunSuite")
        self.run_button.setProperty("primary", True)
        self.run_button.setToolTip("Run a JSONL eval suite against an agent or a model")
        self.run_button.clicked.connect(lambda: self.open_run_dialog())
        row.addWidget(self.run_button)
        return box

    def _build_content(self) -> QWidget:
        # Suites and their runs side by side above; the report, at full width, below.
        self.content = QSplitter(Qt.Orientation.Vertical)
        self.content.setObjectName("EvalsContent")
        self.content.setChildrenCollapsible(False)

        left = QSplitter(Qt.Orientation.Horizontal)
        left.setChildrenCollapsible(False)
        self.suites_model = SuitesModel(self)
        self.suites = record_table("EvalSuites", self.suites_model)
        header = self.suites.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(SuitesModel.COL_TARGET, QHeaderView.ResizeMode.Stretch)
        for col, width in ((0, 120), (2, 84), (3, 100), (4, 110), (5, 120)):
            header.resizeSection(col, width)
        self.suites.selectionModel().currentRowChanged.connect(self._on_suite_changed)
        left.addWidget(self._titled("Suites", self.suites))

        self.runs_model = RunsModel(self)
        self.runs = record_table("EvalRuns", self.runs_model)
        header = self.runs.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(RunsModel.COL_TARGET, QHeaderView.ResizeMode.Stretch)
        for col, width in ((0, 130), (2, 84), (3, 100), (4, 64), (5, 130), (6, 120)):
            header.resizeSection(col, width)
        self.runs.selectionModel().currentRowChanged.connect(self._on_run_changed)
        self.runs_title = QLabel("Runs")
        left.addWidget(self._titled(self.runs_title, self.runs))
        left.setSizes([600, 600])
        self.content.addWidget(left)
        self.content.addWidget(self._build_report())
        self.content.setStretchFactor(0, 1)
        self.content.setStretchFactor(1, 3)
        self.content.setSizes([200, 600])
        return self.content

    def _titled(self, title: str | QLabel, widget: QWidget) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(4)
        label = title if isinstance(title, QLabel) else QLabel(title)
        label.setObjectName("SectionTitle")
        label.setBuddy(widget)
        column.addWidget(label)
        column.addWidget(widget, 1)
        return box

    def _build_report(self) -> QWidget:
        panel = QFrame()
        panel.setObjectName("EvalReport")
        column = QVBoxLayout(panel)
        column.setContentsMargins(14, 12, 14, 12)
        column.setSpacing(8)
        self.report_title = QLabel("")
        self.report_title.setObjectName("EvalReportTitle")
        self.report_title.setTextFormat(Qt.TextFormat.RichText)
        self.report_title.setWordWrap(True)
        self.report_title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        column.addWidget(self.report_title)

        figures = QHBoxLayout()
        figures.setSpacing(22)
        self.figures: dict[str, QLabel] = {}
        for key, caption in (
            ("pass_rate", "Pass rate"),
            ("mean_score", "Mean score"),
            ("cost", "Cost"),
            ("judge_cost", "Judges' cost"),
            ("latency", "p50 / p95"),
        ):
            cell = QVBoxLayout()
            cell.setSpacing(0)
            cap = QLabel(caption)
            cap.setObjectName("StatCaption")
            value = QLabel("")
            value.setObjectName(f"EvalFigure_{key}")
            value.setProperty("stat", True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            cell.addWidget(cap)
            cell.addWidget(value)
            figures.addLayout(cell)
            self.figures[key] = value
        figures.addStretch(1)
        column.addLayout(figures)

        self.diff_line = QLabel("")
        self.diff_line.setObjectName("EvalDiffLine")
        self.diff_line.setTextFormat(Qt.TextFormat.RichText)
        self.diff_line.setWordWrap(True)
        column.addWidget(self.diff_line)
        self.notes_line = QLabel("")
        self.notes_line.setObjectName("EvalNotes")
        self.notes_line.setWordWrap(True)
        self.notes_line.setProperty("muted", True)
        self.notes_line.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        column.addWidget(self.notes_line)

        row = QHBoxLayout()
        self.cases_caption = QLabel("Cases")
        self.cases_caption.setObjectName("SectionTitle")
        row.addWidget(self.cases_caption)
        row.addStretch(1)
        self.changes_only = QCheckBox("C&hanges only")
        self.changes_only.setObjectName("EvalChangesOnly")
        self.changes_only.setToolTip(
            "Only the cases that went pass→fail, fail→pass, changed score or are new"
        )
        self.changes_only.setChecked(
            str(self.ctx.settings.value(_SETTINGS_CHANGES_ONLY, "false")).lower() == "true"
        )
        self.changes_only.toggled.connect(self._on_changes_only)
        row.addWidget(self.changes_only)
        column.addLayout(row)

        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        self.cases_model = CasesModel(self)
        self.cases_model.changes_only = self.changes_only.isChecked()
        self.cases = record_table("EvalCases", self.cases_model, table=CaseTable())
        assert isinstance(self.cases, CaseTable)
        header = self.cases.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(CasesModel.COL_OUTPUT, QHeaderView.ResizeMode.Stretch)
        for col, width in ((0, 28), (1, 130), (2, 200), (3, 110), (5, 50), (6, 150), (7, 260)):
            header.resizeSection(col, width)
        self.cases.setMouseTracking(True)
        self.cases.viewport().setCursor(Qt.CursorShape.PointingHandCursor)
        self.cases.setToolTip("")
        self.cases.clicked.connect(self._on_case_clicked)
        self.cases.sig_run_requested.connect(self.open_run)
        self.cases.selectionModel().currentRowChanged.connect(self._on_case_changed)
        split.addWidget(self.cases)
        self.case_detail = QTextBrowser()
        self.case_detail.setObjectName("EvalCaseDetail")
        self.case_detail.setOpenLinks(False)
        self.case_detail.anchorClicked.connect(lambda url: self.open_run(url.path()))
        split.addWidget(self.case_detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        column.addWidget(split, 1)
        self.no_cases = QLabel("")
        self.no_cases.setObjectName("EvalNoCases")
        self.no_cases.setProperty("muted", True)
        self.no_cases.hide()
        column.addWidget(self.no_cases)
        return panel

    def _apply_styles(self) -> None:
        t = current_theme()
        self.setStyleSheet(
            f"""
            QFrame#EvalsControls, QFrame#EvalReport {{ background: {t.surface};
                border: 1px solid {t.border}; border-radius: 8px; }}
            QLabel#EvalsHeadline {{ font-size: 15px; font-weight: 600; }}
            QLabel#EvalReportTitle {{ font-size: 15px; }}
            QLabel#StatCaption {{ color: {t.text_muted}; font-size: 11px; }}
            QLabel[stat="true"] {{ font-size: 14px; font-weight: 600; }}
            QLabel#SectionTitle {{ font-weight: 600; }}
            QTextBrowser#EvalCaseDetail {{ background: {mix(t.surface, t.surface_alt, 0.5)};
                border: 1px solid {t.border}; border-radius: 6px; }}
            QLabel#EmptyTitle {{ font-size: 17px; font-weight: 600; padding-bottom: 4px; }}
            QLabel#EmptyText {{ color: {t.text_muted}; }}
            """
        )
        self.cases_model.layoutChanged.emit()

    # -- state ---------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        return self._body.state

    def _on_state_changed(self, state: str) -> None:
        self.again_button.setVisible(state == STATE_SUITES)

    def _show_empty(self) -> None:
        self._body.show_message(
            STATE_EMPTY,
            "No eval suites yet",
            "An eval suite is a JSONL file, one test case a line, scored by exact, contains, "
            "regex, JSON Schema, numeric, an LLM judge or your own Python. Run one against an "
            "agent or a model and every case becomes a run you can open.<br><br>"
            "Start from <b>examples/evals/support_bot.jsonl</b> (every scorer kind); the "
            "format is in <b>docs/evals.md</b>. From a terminal: "
            "<code>ato-desktop eval SUITE.jsonl --agent NAME</code>.",
            primary=("Run a suite…", lambda: self.open_run_dialog()),
        )

    def _show_error(self, message: str) -> None:
        self.last_error = message
        self._body.show_error("Could not read the eval suites", message, retry=self.refresh)

    # -- loading -------------------------------------------------------------------------------

    def ensure_loaded(self) -> None:
        """Read the suites on first show (unless a read is under way)."""
        if not self._loaded and self._suites_reads.pending == 0:
            self.refresh()

    def refresh(self) -> None:
        if self.ctx.workspace is None or log_closed(self.ctx):
            return
        self.ctx.spawn(self._load_suites(), what="read the eval suites")

    async def _load_suites(self) -> None:
        await self._suites_reads.show(
            evals_reads.load_suites,
            self.ctx.opened_workspace.store,
            apply=self._suites_read,
            fail=self._show_error,
            what="reading eval suites",
        )

    def _suites_read(self, rows: list[SuiteRow]) -> None:
        self._loaded = True
        self.show_suites(rows)

    def show_suites(self, rows: list[SuiteRow]) -> None:
        if not rows:
            self.suites_model.set_rows([])
            self._show_empty()
            self.sig_suites_loaded.emit(rows)
            return
        selected = self.selected_suite
        self.suites_model.set_rows(rows)
        self.headline.setText(f"Eval suites · {len(rows)}")
        self._body.show_state(STATE_SUITES)
        wanted = self._pending_suite_id() or (selected.suite.id if selected else None)
        row = self.suites_model.row_of(wanted) if wanted else -1
        self._pending_suite = None
        self.suites.selectRow(max(row, 0))
        self._load_runs()
        self.sig_suites_loaded.emit(rows)

    def _pending_suite_id(self) -> str | None:
        pending = self._pending_run
        if pending is None:
            return None
        for row in range(self.suites_model.rowCount()):
            item = self.suites_model.suite_row(row)
            if item is not None and item.last is not None and item.last.id == pending:
                return item.suite.id
        return self._pending_suite

    @property
    def selected_suite(self) -> SuiteRow | None:
        index = self.suites.currentIndex()
        return self.suites_model.suite_row(index.row()) if index.isValid() else None

    @property
    def selected_run(self) -> SuiteRunRecord | None:
        index = self.runs.currentIndex()
        return self.runs_model.run(index.row()) if index.isValid() else None

    def _on_suite_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        self.again_button.setEnabled(current.isValid())
        if current.isValid() and (not previous.isValid() or current.row() != previous.row()):
            self._load_runs()

    def _load_runs(self) -> None:
        suite = self.selected_suite
        if suite is None:
            return
        self.runs_title.setText(f"Runs of {suite.suite.name}")
        if self.ctx.workspace is not None and not log_closed(self.ctx):
            self.ctx.spawn(self._read_runs(suite.suite.id), what="read the suite's runs")

    async def _read_runs(self, suite_id: str) -> None:
        store = self.ctx.opened_workspace.store
        self._show_runs(await self._runs_reads.read(evals_reads.load_history, store, suite_id))

    def _show_runs(self, runs: list[SuiteRunRecord]) -> None:
        wanted = self._pending_run or self._report_run_id
        self._selecting = True  # the report is loaded below, once, whatever the selection did
        try:
            self.runs_model.set_runs(runs)
            row = self.runs_model.row_of(wanted) if wanted else -1
            if row >= 0:
                self._pending_run = None
            row = max(row, 0)
            if runs:
                self.runs.selectRow(row)
                self.runs.setCurrentIndex(self.runs_model.index(row, 0))
        finally:
            self._selecting = False
        run = self.runs_model.run(row)
        if run is None:
            self._report_run_id = None
            self._show_report(None)
        else:
            self._load_report(run.id)

    def _on_run_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        run = self.runs_model.run(current.row()) if current.isValid() else None
        if run is None or self._selecting:
            return
        self._load_report(run.id)

    def _load_report(self, suite_run_id: str) -> None:
        """Read the run's report (again: a running run's figures move) and show it."""
        self._report_run_id = suite_run_id
        if self.ctx.workspace is not None and not log_closed(self.ctx):
            self.ctx.spawn(self._read_report(suite_run_id), what="read the eval report")

    async def _read_report(self, suite_run_id: str) -> None:
        store = self.ctx.opened_workspace.store
        read = evals_reads.load_report_view
        self._show_report(await self._report_reads.read(read, store, suite_run_id))

    # -- the report ----------------------------------------------------------------------------

    def _show_report(self, view: ReportView | None) -> None:
        self.report_view = view
        if view is None:
            self.report_title.setText("This suite has no run yet.")
            for label in self.figures.values():
                label.setText("")
            self.diff_line.setText("")
            self.notes_line.setText("")
            self.cases_model.set_cases([])
            self.case_detail.clear()
            return
        report = view.report
        figs = report.figures
        record = report.record
        when = local_time(record.started_at) if record is not None else ""
        status = {"cancelled": " · cancelled", "running": " · running"}.get(report.status, "")
        version = (
            f" (v{record.agent_version})" if record is not None and record.agent_version else ""
        )
        gate = ""
        if self._min_pass_rate is not None:
            reached = report.passes(self._min_pass_rate)
            colour = current_theme().completed if reached else current_theme().failed
            gate = (
                f" · <span style='color:{colour}'>"
                f"{'reaches' if reached else 'below'} the required "
                f"{self._min_pass_rate * 100:.0f}%</span>"
            )
        self.report_title.setText(
            f"<b>{html.escape(report.suite)}</b> on {html.escape(report.target)}{version}"
            f" · {html.escape(when)}{status} · {figs.passed}/{figs.ran} passed"
            + (f" of {figs.cases}" if figs.cases != figs.ran else "")
            + gate
        )
        self.figures["pass_rate"].setText(rate_text(figs.pass_rate))
        self.figures["mean_score"].setText(score_text(figs.mean_score))
        self.figures["cost"].setText(format_cost(figs.cost_usd, figs.cost_source))
        self.figures["judge_cost"].setText(
            format_cost(figs.judge_cost_usd, figs.judge_cost_source)
            if figs.judge_cost_source
            else "no judge"
        )
        self.figures["latency"].setText(f"{ms_text(figs.p50_ms)} / {ms_text(figs.p95_ms)}")
        self.diff_line.setText(self._diff_text(view))
        notes = list(report.notes)
        if report.bad_lines:
            notes.append(
                f"{plural(len(report.bad_lines), 'line')} skipped: "
                + "; ".join(f"line {b.line_no}: {b.reason}" for b in report.bad_lines[:5])
                + ("…" if len(report.bad_lines) > 5 else "")
            )
        self.notes_line.setText("\n".join(notes))
        self.notes_line.setVisible(bool(notes))
        self.cases_model.set_cases(view.rows)
        self._update_cases_caption()
        if self.cases_model.rowCount():
            self.cases.selectRow(0)
        else:
            self.case_detail.clear()
        self.sig_report_shown.emit(view)

    def _diff_text(self, view: ReportView) -> str:
        diff = view.report.diff
        t = current_theme()
        if diff is None:
            return "First run of this suite on this target: nothing to compare with yet."
        parts = []
        if diff.newly_failing:
            parts.append(
                f"<span style='color:{t.failed}'><b>{len(diff.newly_failing)} pass→fail</b></span>"
            )
        if diff.newly_passing:
            parts.append(
                f"<span style='color:{t.completed}'><b>{len(diff.newly_passing)} "
                "fail→pass</b></span>"
            )
        if diff.score_changed:
            parts.append(f"{plural(len(diff.score_changed), 'score change')}")
        if diff.added:
            parts.append(f"{plural(len(diff.added), 'new case')}")
        if diff.removed:
            parts.append(f"{plural(len(diff.removed), 'case')} gone")
        summary = ", ".join(parts) if parts else "no case changed"
        changed = " The suite's text changed since." if diff.suite_changed else ""
        return (
            f"Against the previous run on this target: {summary}; "
            f"{diff.unchanged} unchanged.{changed}"
        )

    def _update_cases_caption(self) -> None:
        shown = self.cases_model.rowCount()
        total = self.cases_model.total
        if self.cases_model.changes_only:
            self.cases_caption.setText(f"Cases · {shown} of {total} changed (Enter opens the run)")
        else:
            self.cases_caption.setText(f"Cases · {total} (click or Enter opens the run)")

    def _on_changes_only(self, checked: bool) -> None:
        self.ctx.settings.setValue(_SETTINGS_CHANGES_ONLY, "true" if checked else "false")
        self.cases_model.set_changes_only(checked)
        self._update_cases_caption()
        if self.cases_model.rowCount():
            self.cases.selectRow(0)
        else:
            self.case_detail.setPlainText("No case changed against the previous run.")

    def _on_case_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        row = self.cases_model.case(current.row()) if current.isValid() else None
        self.case_detail.setHtml(case_html(row) if row is not None else "")

    def _on_case_clicked(self, index: QModelIndex) -> None:
        if index.isValid() and index.data(ID_ROLE):
            self.open_run(str(index.data(ID_ROLE)))

    def open_run(self, run_id: str) -> None:
        if run_id:
            self.ctx.navigate("runs", {"run_id": run_id})

    # -- actions -------------------------------------------------------------------------------

    def open_run_dialog(self, suite_name: str | None = None) -> Any:
        from ato_desktop.ui.insights.evals_run_dialog import RunSuiteDialog, _target_of

        if self.ctx.workspace is None:
            return None
        current = self.dialog
        if current is not None and shiboken6.isValid(current) and current.isVisible():
            current.raise_()
            current.activateWindow()
            return current
        target = None
        if suite_name is not None:
            run = self.selected_run
            target = _target_of(run) if run is not None else None
        dialog = RunSuiteDialog(
            self.ctx, suite_name=suite_name, target=target, parent=self.window()
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        self.dialog = dialog
        return dialog

    def run_again(self) -> Any:
        suite = self.selected_suite
        if suite is None:
            return None
        return self.open_run_dialog(suite.suite.name)

    # -- navigation ----------------------------------------------------------------------------

    def open_target(self, target: dict[str, Any]) -> None:
        """{"suite_run_id": id[, "min_pass_rate": x]}: that run's report; {"suite": name}: that
        suite; {"run_suite": True}: the run dialog."""
        run_id = target.get("suite_run_id")
        if "min_pass_rate" in target or run_id:
            rate = target.get("min_pass_rate")
            self._min_pass_rate = float(rate) if rate is not None else None
        if target.get("suite"):
            self._pending_suite = str(target["suite"])
        if run_id:
            self._pending_run = str(run_id)
            self.ctx.spawn(self._find_suite_of(str(run_id)), what="open the eval report")
        elif target.get("suite") or not self._loaded:
            self.refresh()
        if target.get("run_suite"):
            self.open_run_dialog()

    async def _find_suite_of(self, suite_run_id: str) -> None:
        try:
            record = await self._suites_reads.fetch(
                get_suite_run, self.ctx.opened_workspace.store, suite_run_id
            )
        except Exception:  # gone meanwhile: show the suites as they are
            record = None
        if record is not None:
            self._pending_suite = record.suite_id
        self.refresh()

    # -- refresh on events ---------------------------------------------------------------------

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        # Whatever way the tab came up (a click, the palette, a link): it loads on first show.
        if not self._refresh.on_show():
            self.ensure_loaded()


def case_html(row: CaseRow) -> str:
    """One case in full: verdict, input, expected, output, each scorer's verdict, its run."""
    t = current_theme()
    o = row.outcome
    verdict = (
        f"<span style='color:{t.completed}'><b>✓ passed</b></span>"
        if o.passed
        else f"<span style='color:{t.failed}'><b>✗ failed</b></span>"
    )
    change = f" · {html.escape(row.change)}" if row.change else ""
    if row.before_score is not None:
        change += f" ({row.before_score:.2f} → {o.score:.2f})"
    run = f" · <a href='run:{html.escape(o.run_id)}'>open run</a>" if o.run_id else " · no run"
    parts = [
        f"<p><b>{html.escape(o.case_id)}</b> (line {o.line_no}) · {verdict} · score "
        f"{o.score:.2f}{change}{run}</p>"
    ]

    def block(title: str, text: str) -> None:
        if text:
            parts.append(
                f"<p><b>{title}</b><br>{html.escape(text[:4000]).replace(chr(10), '<br>')}</p>"
            )

    block("Input", row.input_text)
    block("Expected", row.expected_text)
    block("Output", o.output)
    if o.error:
        block("Error", o.error)
    lines = scorer_lines(o.scores)
    if lines:
        parts.append(
            "<p><b>Scorers</b><br>" + "<br>".join(html.escape(line) for line in lines) + "</p>"
        )
    return "".join(parts)
