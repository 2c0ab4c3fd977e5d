"""Item models of Insights -> Evals: the suites, one suite's runs, and a run's cases (with the
diff against the run before it and a "changes only" filter)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from ato_desktop.core.cost_rollup import format_cost
from ato_desktop.core.figures import DASH, ms_text, rate_text
from ato_desktop.store.evals import SuiteRunRecord
from ato_desktop.ui.insights.evals_reads import (
    FAIL_TO_PASS,
    PASS_TO_FAIL,
    SCORE_DOWN,
    SCORE_UP,
    CaseRow,
    SuiteRow,
    scorer_lines,
)
from ato_desktop.ui.runs.formatting import local_time
from ato_desktop.ui.theme import current_theme
from ato_desktop.ui.widgets.record_model import RecordTableModel

Index = QModelIndex | QPersistentModelIndex
ID_ROLE = Qt.ItemDataRole.UserRole + 1  # suite id, suite run id, or a case's run id
EXCERPT_CHARS = 120


def one_line(text: str, limit: int = EXCERPT_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def score_text(score: float | None) -> str:
    return DASH if score is None else f"{score:.2f}"


def run_cost_text(run: SuiteRunRecord) -> str:
    """The cases' cost, with the judges' apart: '$0.012 est. + judge $0.004'."""
    text = format_cost(run.cost_usd, run.cost_source)
    if run.judge_cost_source is not None:
        text += f" + judge {format_cost(run.judge_cost_usd, run.judge_cost_source)}"
    return text


def status_suffix(run: SuiteRunRecord) -> str:
    if run.status == "running":
        return " (running)"
    if run.status == "cancelled":
        return " (cancelled)"
    return ""


class SuitesModel(RecordTableModel):
    """One row per suite: its newest run's target and figures."""

    HEADERS = ("Suite", "Last target", "Pass rate", "Mean score", "Cost", "When")
    COL_NAME, COL_TARGET, COL_PASS, COL_SCORE, COL_COST, COL_WHEN = range(6)

    def set_rows(self, rows: Sequence[SuiteRow]) -> None:
        self.set_records(rows)

    def suite_row(self, row: int) -> SuiteRow | None:
        found: SuiteRow | None = self.record(row)
        return found

    def row_of(self, suite_id: str) -> int:
        for row, item in enumerate(self._records):
            if item.suite.id == suite_id or item.suite.name == suite_id:
                return row
        return -1

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._records):
            return None
        item = self._records[index.row()]
        col = index.column()
        last = item.last
        if role == ID_ROLE:
            return item.suite.id
        if role == Qt.ItemDataRole.DisplayRole:
            if col == self.COL_NAME:
                return item.suite.name
            if last is None:
                return "not run yet" if col == self.COL_TARGET else DASH
            return {
                self.COL_TARGET: last.target + status_suffix(last),
                self.COL_PASS: rate_text(last.pass_rate),
                self.COL_SCORE: score_text(last.mean_score),
                self.COL_COST: run_cost_text(last),
                self.COL_WHEN: local_time(last.started_at),
            }.get(col)
        if role == Qt.ItemDataRole.ToolTipRole:
            path = item.suite.path or "(no file recorded)"
            return f"{item.suite.name}: {item.suite.case_count} cases · {path}"
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (self.COL_PASS, self.COL_SCORE):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class RunsModel(RecordTableModel):
    """A suite's runs, newest first."""

    HEADERS = ("When", "Target", "Pass rate", "Mean score", "Cases", "Cost", "p50 / p95")
    COL_WHEN, COL_TARGET, COL_PASS, COL_SCORE, COL_CASES, COL_COST, COL_LATENCY = range(7)

    def set_runs(self, runs: Sequence[SuiteRunRecord]) -> None:
        self.set_records(runs)

    def run(self, row: int) -> SuiteRunRecord | None:
        return self._records[row] if 0 <= row < len(self._records) else None

    def row_of(self, suite_run_id: str) -> int:
        for row, run in enumerate(self._records):
            if run.id == suite_run_id:
                return row
        return -1

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._records):
            return None
        run = self._records[index.row()]
        col = index.column()
        if role == ID_ROLE:
            return run.id
        if role == Qt.ItemDataRole.DisplayRole:
            return {
                self.COL_WHEN: local_time(run.started_at) + status_suffix(run),
                self.COL_TARGET: run.target,
                self.COL_PASS: rate_text(run.pass_rate),
                self.COL_SCORE: score_text(run.mean_score),
                self.COL_CASES: f"{run.passed_count}/{run.ran_count}",
                self.COL_COST: run_cost_text(run),
                self.COL_LATENCY: f"{ms_text(run.p50_ms)} / {ms_text(run.p95_ms)}",
            }.get(col)
        if role == Qt.ItemDataRole.ToolTipRole and col == self.COL_TARGET and run.agent_version:
            return f"{run.target}: config version {run.agent_version} ({run.runtime} · {run.model})"
        return None


class CasesModel(RecordTableModel):
    """A run's cases with the change against the previous run; `changes_only` hides the rest."""

    HEADERS = ("", "Case", "Input", "Expected", "Output", "Score", "Change", "Scorers")
    (
        COL_VERDICT,
        COL_CASE,
        COL_INPUT,
        COL_EXPECTED,
        COL_OUTPUT,
        COL_SCORE,
        COL_CHANGE,
        COL_SCORERS,
    ) = range(8)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._all: list[CaseRow] = []
        self.changes_only = False

    def set_cases(self, rows: Sequence[CaseRow]) -> None:
        self.beginResetModel()
        self._all = list(rows)
        self._filter()
        self.endResetModel()

    def set_changes_only(self, on: bool) -> None:
        self.beginResetModel()
        self.changes_only = on
        self._filter()
        self.endResetModel()

    def _filter(self) -> None:
        rows = self._all
        self._records = [r for r in rows if r.changed] if self.changes_only else list(rows)

    @property
    def total(self) -> int:
        return len(self._all)

    def case(self, row: int) -> CaseRow | None:
        return self._records[row] if 0 <= row < len(self._records) else None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._records):
            return None
        row = self._records[index.row()]
        outcome = row.outcome
        col = index.column()
        if role == ID_ROLE:
            return outcome.run_id or ""
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, col)
        if role == Qt.ItemDataRole.ForegroundRole:
            t = current_theme()
            if col == self.COL_VERDICT:
                return QColor(t.completed if outcome.passed else t.failed)
            if col == self.COL_CHANGE and row.change in (PASS_TO_FAIL, SCORE_DOWN):
                return QColor(t.failed)
            if col == self.COL_CHANGE and row.change in (FAIL_TO_PASS, SCORE_UP):
                return QColor(t.completed)
        if role == Qt.ItemDataRole.BackgroundRole and row.change in (PASS_TO_FAIL, FAIL_TO_PASS):
            t = current_theme()
            colour = QColor(t.failed if row.change == PASS_TO_FAIL else t.completed)
            colour.setAlpha(38)
            return colour
        if role == Qt.ItemDataRole.FontRole and col in (self.COL_VERDICT, self.COL_CHANGE):
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.AccessibleTextRole and col == self.COL_VERDICT:
            return "passed" if outcome.passed else "failed"
        if role == Qt.ItemDataRole.TextAlignmentRole and col == self.COL_SCORE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, row: CaseRow, col: int) -> str | None:
        outcome = row.outcome
        if col == self.COL_VERDICT:
            return "✓" if outcome.passed else "✗"
        if col == self.COL_CASE:
            return f"{outcome.case_id}  ·  line {outcome.line_no}"
        if col == self.COL_INPUT:
            return one_line(row.input_text) or DASH
        if col == self.COL_EXPECTED:
            return one_line(row.expected_text, 60) or DASH
        if col == self.COL_OUTPUT:
            if outcome.error and not outcome.output:
                return f"{outcome.status}: {one_line(outcome.error)}"
            return one_line(outcome.output) or DASH
        if col == self.COL_SCORE:
            return score_text(outcome.score)
        if col == self.COL_CHANGE:
            if row.before_score is not None and row.change:
                return f"{row.change}  {row.before_score:.2f} → {outcome.score:.2f}"
            return row.change
        if col == self.COL_SCORERS:
            return "  ·  ".join(scorer_lines(outcome.scores)) or (outcome.error or DASH)
        return None

    def _tooltip(self, row: CaseRow, col: int) -> str | None:
        outcome = row.outcome
        if col == self.COL_INPUT:
            return row.input_text[:2000] or None
        if col == self.COL_EXPECTED:
            return row.expected_text[:2000] or None
        if col == self.COL_OUTPUT:
            return (outcome.output or outcome.error or "")[:2000] or None
        if col == self.COL_SCORERS:
            return "\n".join(scorer_lines(outcome.scores)) or outcome.error
        return "Click or press Enter to open this case's run" if outcome.run_id else None
