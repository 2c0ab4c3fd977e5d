"""The Determinism tab of run details: how reproducible the open run is, 0-100, and the findings
that explain every point deducted (`engine.determinism.analyse_run`).

The analysis reads the run and other runs of its agent, so it is computed off the UI thread, and
only when the tab is first shown for a run (not for every run opened). A running run is
analysed as far as it got and again when it ends.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QItemSelection,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QUrl,
    Signal,
)
from PySide6.QtGui import QColor, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.determinism import DeterminismReport, Finding, Severity
from ato_desktop.core.determinism_catalogue import DOCS_DIR as DOCS_RELATIVE
from ato_desktop.core.records import RunRecord
from ato_desktop.ui.resources import RESOURCES
from ato_desktop.ui.runs.formatting import short_id
from ato_desktop.ui.theme import Theme, current_theme
from ato_desktop.ui.widgets.background import BackgroundWork
from ato_desktop.ui.widgets.code_view import CodeView
from ato_desktop.ui.widgets.json_view import monospace_font
from ato_desktop.ui.widgets.markdown_view import MarkdownView
from ato_desktop.ui.widgets.record_model import RecordTableModel
from ato_desktop.ui.widgets.record_table import record_table
from ato_desktop.ui.widgets.score_bar import ScoreBar, band_colour

log = logging.getLogger(__name__)

DETERMINISM_TAB = "determinism"
NO_FINDINGS_TEXT = (
    "Nothing in this run's outputs will differ on replay as far as the scan can tell: no "
    "timestamps, random values, float noise, unordered collections or side effects without an "
    "idempotency key, and no identical inputs that got other outputs."
)
# The project's root, where docs/ sits beside resources/ (the packaged app bundles both).
DOCS_ROOT = RESOURCES.parent

COL_SEVERITY, COL_ISSUE, COL_ACTION, COL_DESCRIPTION, COL_POINTS = range(5)
_HEADERS = ("Severity", "Issue", "Action", "Description", "Points")


def severity_colour(severity: Severity, theme: Theme | None = None) -> str:
    t = theme or current_theme()
    orange = "#F08A45" if t.is_dark else "#D4661A"
    return {
        Severity.CRITICAL: t.failed,
        Severity.HIGH: orange,
        Severity.MEDIUM: t.warning,
        Severity.LOW: t.neutral,
    }[severity]


def points(deduction: float) -> str:
    """'−16', '−2.5': what a finding took off the score."""
    text = f"{deduction:.1f}".rstrip("0").rstrip(".")
    return f"−{text}"


def explain(report: DeterminismReport) -> str:
    """One sentence on what the score is made of (no finding: nothing deducted)."""
    count = len(report.findings)
    if count == 0:
        head = "No findings: nothing to deduct."
    else:
        total = f"{report.deductions_total:.1f}".rstrip("0").rstrip(".")
        head = (
            f"{count} finding{'s' if count != 1 else ''} deduct{'s' if count == 1 else ''} "
            f"{total} point{'s' if total != '1' else ''} from 100."
        )
    scope = f"{report.actions_analysed:,} action{'s' if report.actions_analysed != 1 else ''}"
    if report.scope == "run":
        if report.history_runs:
            others = (
                f"compared with {report.history_runs:,} other run"
                f"{'s' if report.history_runs != 1 else ''} with identical inputs"
            )
        else:
            others = "no other run had identical inputs to compare with"
        tail = f"{scope} scanned; {others}."
    else:
        tail = f"{scope} of {report.runs_analysed:,} runs scanned."
    text = f"{head} {tail[0].upper()}{tail[1:]}"
    if report.truncated:
        text += " The analysis stopped at its bound: older history was not read."
    return text


def where(finding: Finding) -> str:
    """'#3 generate_report · outputs.content, line 3 · line 2 of the output (Telemetry)':
    the line within the text, and the line of the action's output as the inspector shows it."""
    text = f"#{finding.action_seq} {finding.action_name}"
    if finding.path:
        text += f" · {finding.path}"
    if finding.line:
        text += f", line {finding.line}"
    if finding.json_line:
        side = "inputs" if (finding.path or "").startswith("inputs") else "output"
        text += f" · line {finding.json_line} of the {side} (Telemetry)"
    if finding.occurrences > 1:
        text += f" · {finding.occurrences} times"
    return text


def doc_file(finding: Finding) -> Path:
    """The page that explains a finding's pattern (docs/determinism/<pattern>.md)."""
    return DOCS_ROOT / finding.doc


def doc_title(text: str, fallback: str) -> str:
    """A Markdown page's first heading."""
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return fallback


class FindingDocDialog(QDialog):
    """A finding's documentation page, read off the UI thread and shown as Markdown."""

    sig_shown = Signal(str)  # the page's path

    def __init__(self, ctx: Any, finding: Finding, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("DetDocDialog")
        self.setWindowTitle(f"{finding.title} — determinism")
        self.resize(720, 640)
        self.path = doc_file(finding)
        layout = QVBoxLayout(self)
        self._ctx = ctx
        self.work = BackgroundWork(self, ctx)
        self.view = MarkdownView()
        self.view.setObjectName("DetDocView")
        self.view.set_plain_text("Reading the page…")
        # Links between the pages (the index, scoring) open here too.
        self.view.sig_link_activated.connect(self._follow)
        layout.addWidget(self.view, 1)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignRight)
        ctx.spawn(self._load(), what="read the determinism documentation")

    def _follow(self, url: QUrl) -> None:
        name = Path(url.path()).name
        if name.endswith(".md") and "/" not in url.path().strip("/"):
            self.path = self.path.with_name(name)
            self._ctx.spawn(self._load(), what="read the determinism documentation")

    async def _load(self) -> None:
        try:
            text = await self.work.call(self.path.read_text, encoding="utf-8")
        except OSError as exc:
            text = (
                f"The page {self.path.name} could not be read ({exc.strerror or exc}). It is "
                f"{DOCS_RELATIVE}/{self.path.name} in the ATO Desktop sources."
            )
            self.view.set_plain_text(text)
            self.sig_shown.emit(str(self.path))
            return
        self.setWindowTitle(doc_title(text, self.windowTitle()))
        self.view.set_markdown(text)
        self.sig_shown.emit(str(self.path))


# -- the findings table ----------------------------------------------------------------------------


class FindingsModel(RecordTableModel):
    """Severity | Issue | Action | Description | Points, most severe first."""

    HEADERS = _HEADERS

    def set_findings(self, findings: Any) -> None:
        self.set_records(findings)

    def finding(self, row: int) -> Finding | None:
        found: Finding | None = self.record(row)
        return found

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid():
            return None
        finding = self.finding(index.row())
        if finding is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == COL_SEVERITY:
                return finding.severity.label
            if column == COL_ISSUE:
                return finding.title
            if column == COL_ACTION:
                return f"#{finding.action_seq} {finding.action_name}"
            if column == COL_DESCRIPTION:
                return finding.description
            if column == COL_POINTS:
                return points(finding.deduction)
        elif role == Qt.ItemDataRole.ForegroundRole and column == COL_SEVERITY:
            return QColor(severity_colour(finding.severity))
        elif role == Qt.ItemDataRole.ToolTipRole:
            if column == COL_ISSUE:
                return finding.issue_type.label
            if column == COL_DESCRIPTION:
                return finding.description
        elif role == Qt.ItemDataRole.TextAlignmentRole and column == COL_POINTS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


# -- the tab ---------------------------------------------------------------------------------------


class DeterminismTab(QWidget):
    """The open run's determinism score and findings, computed when first shown."""

    sig_report_shown = Signal(object)  # DeterminismReport
    sig_analysis_failed = Signal(str)  # message

    PAGE_LOADING, PAGE_REPORT, PAGE_MESSAGE = range(3)

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("DeterminismTab")
        self._ctx = ctx
        self.work = BackgroundWork(self, ctx)
        self._run: RunRecord | None = None
        self._report: DeterminismReport | None = None
        self._stale = True
        self._loading_for: str | None = None
        self.doc_dialog: FindingDocDialog | None = None  # the page a finding opened last

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(10)
        self.pages = QStackedWidget()
        self.pages.addWidget(self._build_loading())
        self.pages.addWidget(self._build_report())
        self.pages.addWidget(self._build_message())
        layout.addWidget(self.pages, 1)
        self.apply_theme(current_theme())
        if getattr(ctx, "theme", None) is not None:
            ctx.theme.sig_theme_changed.connect(self.apply_theme)

    # -- building --------------------------------------------------------------------------------

    def _build_loading(self) -> QWidget:
        page = QWidget()
        column = QVBoxLayout(page)
        column.setContentsMargins(4, 8, 4, 4)
        self.loading_text = QLabel("Analysing the run…")
        self.loading_text.setObjectName("DetLoadingText")
        column.addWidget(self.loading_text)
        bar = QProgressBar()
        bar.setObjectName("DetProgress")
        bar.setRange(0, 0)
        bar.setTextVisible(False)
        bar.setFixedHeight(6)
        column.addWidget(bar)
        column.addStretch(1)
        return page

    def _build_message(self) -> QWidget:
        page = QWidget()
        column = QVBoxLayout(page)
        column.setContentsMargins(4, 8, 4, 4)
        frame = QFrame()
        frame.setObjectName("DetMessage")
        inner = QVBoxLayout(frame)
        inner.setContentsMargins(12, 10, 12, 10)
        self.message_title = QLabel("Could not analyse this run")
        self.message_title.setObjectName("DetMessageTitle")
        inner.addWidget(self.message_title)
        self.message_text = QLabel("")
        self.message_text.setObjectName("DetMessageText")
        self.message_text.setWordWrap(True)
        self.message_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        inner.addWidget(self.message_text)
        retry = QPushButton("Try again")
        retry.setObjectName("DetRetry")
        retry.clicked.connect(self.refresh)
        inner.addWidget(retry, 0, Qt.AlignmentFlag.AlignLeft)
        column.addWidget(frame)
        column.addStretch(1)
        return page

    def _build_report(self) -> QWidget:
        page = QWidget()
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(8)

        card = QFrame()
        card.setObjectName("DetScoreCard")
        inner = QVBoxLayout(card)
        inner.setContentsMargins(14, 10, 14, 12)
        inner.setSpacing(6)
        head = QHBoxLayout()
        head.setSpacing(10)
        self.score_label = QLabel("")
        self.score_label.setObjectName("DetScore")
        self.score_label.setAccessibleName("Determinism score")
        head.addWidget(self.score_label, 0, Qt.AlignmentFlag.AlignBottom)
        self.band_label = QLabel("")
        self.band_label.setObjectName("DetBand")
        head.addWidget(self.band_label, 0, Qt.AlignmentFlag.AlignBottom)
        head.addStretch(1)
        self.refresh_button = QPushButton("Analyse again")
        self.refresh_button.setObjectName("DetRefresh")
        self.refresh_button.setToolTip("Read the log again (new runs of the agent may compare)")
        self.refresh_button.clicked.connect(self.refresh)
        head.addWidget(self.refresh_button, 0, Qt.AlignmentFlag.AlignBottom)
        inner.addLayout(head)
        self.score_bar = ScoreBar()
        inner.addWidget(self.score_bar)
        self.explanation = QLabel("")
        self.explanation.setObjectName("DetExplanation")
        self.explanation.setWordWrap(True)
        inner.addWidget(self.explanation)
        column.addWidget(card)

        self.model = FindingsModel(self)
        self.table = record_table("DetFindings", self.model)
        self.table.setAlternatingRowColors(True)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        for col, mode in (
            (COL_SEVERITY, QHeaderView.ResizeMode.ResizeToContents),
            (COL_ISSUE, QHeaderView.ResizeMode.Interactive),
            (COL_ACTION, QHeaderView.ResizeMode.Interactive),
            (COL_DESCRIPTION, QHeaderView.ResizeMode.Stretch),
            (COL_POINTS, QHeaderView.ResizeMode.ResizeToContents),
        ):
            header.setSectionResizeMode(col, mode)
        header.resizeSection(COL_ISSUE, 190)
        header.resizeSection(COL_ACTION, 160)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)

        self.no_findings = QLabel(NO_FINDINGS_TEXT)
        self.no_findings.setObjectName("DetNoFindings")
        self.no_findings.setWordWrap(True)
        self.no_findings.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)

        self.findings_stack = QStackedWidget()
        self.findings_stack.addWidget(self._build_findings_split())
        self.findings_stack.addWidget(self.no_findings)
        column.addWidget(self.findings_stack, 1)
        return page

    def _build_findings_split(self) -> QWidget:
        self.detail = QFrame()
        self.detail.setObjectName("DetDetail")
        detail = QVBoxLayout(self.detail)
        detail.setContentsMargins(12, 10, 12, 10)
        detail.setSpacing(6)
        self.detail_title = QLabel("")
        self.detail_title.setObjectName("DetDetailTitle")
        self.detail_title.setTextFormat(Qt.TextFormat.RichText)
        self.detail_title.setWordWrap(True)
        detail.addWidget(self.detail_title)
        self.detail_where = QLabel("")
        self.detail_where.setObjectName("DetDetailWhere")
        self.detail_where.setProperty("muted", True)
        self.detail_where.setWordWrap(True)
        detail.addWidget(self.detail_where)
        self.detail_description = QLabel("")
        self.detail_description.setObjectName("DetDetailDescription")
        self.detail_description.setWordWrap(True)
        self.detail_description.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        detail.addWidget(self.detail_description)
        self.detail_evidence = QLabel("")
        self.detail_evidence.setObjectName("DetDetailEvidence")
        self.detail_evidence.setWordWrap(True)
        self.detail_evidence.setFont(monospace_font())
        self.detail_evidence.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        detail.addWidget(self.detail_evidence)
        self.detail_related = QLabel("")
        self.detail_related.setObjectName("DetDetailRelated")
        self.detail_related.setTextFormat(Qt.TextFormat.RichText)
        self.detail_related.linkActivated.connect(self._open_link)
        detail.addWidget(self.detail_related)
        caption = QLabel("Recommendation")
        caption.setObjectName("SectionTitle")
        detail.addWidget(caption)
        self.recommendation = QLabel("")
        self.recommendation.setObjectName("DetRecommendation")
        self.recommendation.setWordWrap(True)
        self.recommendation.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        detail.addWidget(self.recommendation)
        self.doc_link = QLabel("")
        self.doc_link.setObjectName("DetDocLink")
        self.doc_link.setTextFormat(Qt.TextFormat.RichText)
        self.doc_link.linkActivated.connect(self._open_link)
        detail.addWidget(self.doc_link)
        snippets = QVBoxLayout()
        snippets.setSpacing(6)
        self.before = CodeView()
        self.before.setObjectName("DetBefore")
        self.after = CodeView()
        self.after.setObjectName("DetAfter")
        for label, view in (("Before", self.before), ("After", self.after)):
            box = QVBoxLayout()
            box.setSpacing(2)
            title = QLabel(label)
            title.setObjectName("StatCaption")
            box.addWidget(title)
            box.addWidget(view)
            snippets.addLayout(box)
        detail.addLayout(snippets)
        detail.addStretch(1)
        scroll = QScrollArea()
        scroll.setObjectName("DetDetailScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.detail)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.table)
        splitter.addWidget(scroll)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        return splitter

    # -- following the open run ------------------------------------------------------------------

    @classmethod
    def attach(cls, ctx: Any, details: Any, title: str = "Determinism") -> DeterminismTab:
        """A tab in run details (RunDetailsView) that follows its open run."""
        tab = cls(ctx)
        details.add_tab(DETERMINISM_TAB, tab, title)
        details.sig_run_loaded.connect(lambda bundle: tab.set_run(bundle.run, reloaded=True))
        details.sig_run_ended.connect(lambda run, _notice: tab.set_run(run))
        return tab

    @property
    def report(self) -> DeterminismReport | None:
        return self._report

    @property
    def loading(self) -> bool:
        return self._loading_for is not None

    def set_run(self, run: RunRecord, *, reloaded: bool = False) -> None:
        """Follow the open run; the analysis waits until the tab is shown."""
        changed = self._run is None or self._run.id != run.id
        ended = self._run is not None and self._run.status == "running" and run.status != "running"
        self._run = run
        if changed:
            self._report = None
        if changed or ended or reloaded:
            self._stale = True
            if changed:
                self._show_loading()
            if self.isVisible():
                self._ensure()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._ensure()

    def refresh(self) -> None:
        """Analyse the open run again."""
        self._stale = True
        self._ensure()

    def _ensure(self) -> None:
        run = self._run
        if run is None or self._ctx.workspace is None or not self._stale:
            return
        if self._loading_for == run.id:
            return
        self._stale = False
        self._loading_for = run.id
        if self._report is None or self._report.subject != run.id:
            self._show_loading()
        self.refresh_button.setEnabled(False)
        self._ctx.spawn(self._analyse(run.id), what="analyse determinism")

    def _show_loading(self) -> None:
        run = self._run
        agent = f" and other runs of {run.agent_name}" if run and run.agent_name else ""
        self.loading_text.setText(f"Analysing this run{agent} for non-determinism…")
        self.pages.setCurrentIndex(self.PAGE_LOADING)

    async def _analyse(self, run_id: str) -> None:
        from ato_desktop.engine.determinism import analyse_run

        # The newest analysis only (self.work.read): an older one still under way is dropped.
        store = self._ctx.workspace.store
        try:
            report = await self.work.read(analyse_run, store, run_id)
        except Exception as exc:
            log.exception("determinism analysis of %s failed", run_id)
            self._loading_for = None
            self.refresh_button.setEnabled(True)
            self.message_text.setText(str(exc) or type(exc).__name__)
            self.pages.setCurrentIndex(self.PAGE_MESSAGE)
            self.sig_analysis_failed.emit(str(exc) or type(exc).__name__)
            return
        self._loading_for = None
        self.refresh_button.setEnabled(True)
        if self._stale and self.isVisible():
            self._ensure()  # the run ended or was reloaded meanwhile
        if self._run is None or self._run.id != run_id:
            return
        self._show_report(report)

    # -- showing ---------------------------------------------------------------------------------

    def _show_report(self, report: DeterminismReport) -> None:
        previous = self.table.currentIndex().row() if self._report is report else -1
        self._report = report
        if report.nothing_to_judge:
            self._show_nothing_to_judge(report)
            return
        band = report.band
        colour = band_colour(band)
        self.score_label.setText(
            f"<span style='font-size:30px; font-weight:700; color:{colour}'>"
            f"{report.score:.0f}</span>"
            f"<span style='color:{current_theme().text_muted}'> / 100</span>"
        )
        self.band_label.setText(band.label)
        self.band_label.setStyleSheet(f"color: {colour}; font-weight: 600; padding-bottom: 6px;")
        self.score_bar.set_score(report.score)
        text = explain(report)
        if self._run is not None and self._run.status == "running":
            text += " The run is still going: this covers the actions so far."
        self.explanation.setText(text)
        self.model.set_findings(report.findings)
        self.no_findings.setText(NO_FINDINGS_TEXT)
        self.findings_stack.setCurrentIndex(0 if report.findings else 1)
        self.pages.setCurrentIndex(self.PAGE_REPORT)
        if report.findings:
            self.table.selectRow(max(0, min(previous, self.model.rowCount() - 1)))
        self.sig_report_shown.emit(report)

    def _show_nothing_to_judge(self, report: DeterminismReport) -> None:
        """No score (it would be 100 for want of evidence): say why there is nothing to judge."""
        muted = current_theme().text_muted
        self.score_label.setText(
            f"<span style='font-size:30px; font-weight:700; color:{muted}'>—</span>"
        )
        self.band_label.setText("Nothing to judge")
        self.band_label.setStyleSheet(f"color: {muted}; font-weight: 600; padding-bottom: 6px;")
        self.score_bar.set_score(None)
        text = report.unjudged_reason
        run = self._run
        if run is not None and run.status != "completed" and (run.error_class or run.error_message):
            cause = ": ".join(p for p in (run.error_class, run.error_message) if p)
            text += f" It {run.status}: {cause}"
        self.explanation.setText(text)
        self.model.set_findings(())
        self.no_findings.setText(
            "A score needs output to scan. Run it again once the cause is fixed (Replay, R)."
        )
        self.findings_stack.setCurrentIndex(1)
        self.pages.setCurrentIndex(self.PAGE_REPORT)
        self.sig_report_shown.emit(report)

    def _on_selection(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = self.table.selectionModel().selectedRows()
        self.show_finding(self.model.finding(rows[0].row()) if rows else None)

    def focus_content(self) -> None:
        """Keyboard focus on the findings (arrow keys walk them, the advice follows)."""
        self.table.setFocus()

    def show_finding(self, finding: Finding | None) -> None:
        if finding is None:
            for label in (self.detail_title, self.detail_where, self.detail_description):
                label.setText("")
            self.detail_evidence.setText("")
            self.detail_related.setText("")
            self.recommendation.setText("Select a finding to see how to fix it.")
            self.before.set_code("")
            self.after.set_code("")
            return
        colour = severity_colour(finding.severity)
        self.detail_title.setText(
            f"<b>{html.escape(finding.title)}</b> &nbsp;"
            f"<span style='color:{colour}; font-weight:600'>{finding.severity.label}</span>"
            f" &nbsp;<span style='color:{current_theme().text_muted}'>"
            f"{html.escape(finding.issue_type.label)} · {points(finding.deduction)} points</span>"
        )
        self.detail_where.setText(where(finding))
        self.detail_description.setText(finding.description)
        self.detail_evidence.setText(finding.evidence)
        self.detail_evidence.setVisible(bool(finding.evidence))
        related = finding.related_run_id
        if related:
            self.detail_related.setText(
                f"<a href='run:{html.escape(related)}'>Open run {short_id(related)}</a>, "
                "where the same inputs gave another result"
            )
        self.detail_related.setVisible(bool(related))
        self.recommendation.setText(finding.recommendation)
        self.doc_link.setText(
            f"<a href='doc:{html.escape(finding.pattern)}' style='color:{current_theme().accent}'>"
            f"Read more: {html.escape(finding.title)} and how to fix it ›</a>"
        )
        self.doc_link.setToolTip(finding.doc)
        self.before.set_code(finding.before_snippet)
        self.after.set_code(finding.after_snippet)

    def _open_link(self, link: str) -> None:
        if link.startswith("run:"):
            self._ctx.navigate("runs", {"run_id": link[4:]})
        elif link.startswith("doc:"):
            self.open_doc()

    def open_doc(self) -> FindingDocDialog | None:
        """Open the selected finding's documentation page."""
        rows = self.table.selectionModel().selectedRows()
        finding = self.model.finding(rows[0].row()) if rows else None
        if finding is None:
            return None
        dialog = FindingDocDialog(self._ctx, finding, self)
        self.doc_dialog = dialog
        dialog.show()
        return dialog

    def apply_theme(self, theme: Theme) -> None:
        self.setStyleSheet(determinism_stylesheet(theme))
        self.before.set_theme(theme)
        self.after.set_theme(theme)
        self.score_bar.update()
        if self._report is not None and self.pages.currentIndex() == self.PAGE_REPORT:
            self._show_report(self._report)


def determinism_stylesheet(theme: Theme | None = None) -> str:
    t = theme or current_theme()
    return f"""
    QFrame#DetScoreCard {{ background: {t.surface}; border: 1px solid {t.border};
        border-radius: 8px; }}
    QLabel#DetExplanation, QLabel#DetLoadingText, QLabel#DetNoFindings,
    QLabel#DetDetailWhere {{ color: {t.text_muted}; }}
    QLabel#DetNoFindings {{ padding: 8px 4px; }}
    QFrame#DetDetail {{ background: {t.surface}; }}
    QScrollArea#DetDetailScroll {{ border: 1px solid {t.border}; border-radius: 8px;
        background: {t.surface}; }}
    QLabel#DetDetailEvidence {{ background: {t.code_bg}; border-radius: 4px; padding: 4px 6px; }}
    QPlainTextEdit#DetBefore, QPlainTextEdit#DetAfter {{ background: {t.code_bg}; }}
    QPlainTextEdit#DetBefore {{ border-left: 3px solid {t.failed}; }}
    QPlainTextEdit#DetAfter {{ border-left: 3px solid {t.completed}; }}
    QFrame#DetMessage {{ border-radius: 8px; border: 1px solid {t.border};
        border-left: 3px solid {t.failed}; background: {t.surface_alt}; }}
    QLabel#DetMessageTitle {{ font-weight: 600; }}
    QProgressBar#DetProgress {{ border: none; background: {t.surface_alt}; border-radius: 3px; }}
    QProgressBar#DetProgress::chunk {{ background: {t.accent}; border-radius: 3px; }}
    """
