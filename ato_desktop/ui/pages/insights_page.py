"""The Insights page: sub-tabs over the execution log. Regressions (first: what needs attention)
and Compare; Cost and Evals join them as tabs of the same bar.

Navigation targets (`activate(target)`):
- {"tab": "regressions", "agent_id": id, "version": n}: that config change (the agent's newest
  regression without a version); {"tab": "regressions", "thresholds": True}: edit thresholds;
- {"tab": "compare", "run_a": id, "run_b": id}: compare two runs (ids, prefixes or suffixes);
  with run_a alone, that run against the agent's run before it, focus on the right picker;
- {"tab": "compare", "agent_id": id, "mode": "runs" | "version" | "runtime", "version": n}:
  that agent, that kind of comparison;
- {"tab": "cost", "agent_id": id}: that agent's recommendation; "why_not": True: every
  candidate's reasons; "gather": agent name ("" for none): open Gather evidence;
- {"tab": "pipelines", "run_id": id}: that pipeline run's stage flow (a stage's id works too).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QTabWidget, QVBoxLayout, QWidget

from ato_desktop.ui.context import AppContext
from ato_desktop.ui.insights.compare_view import CompareView
from ato_desktop.ui.insights.cost_view import CostView
from ato_desktop.ui.insights.evals_view import EvalsView
from ato_desktop.ui.insights.pipelines_view import PipelinesView
from ato_desktop.ui.insights.regressions_view import RegressionsView
from ato_desktop.ui.pages.base import Page
from ato_desktop.ui.theme import current_theme

COMPARE_TAB = "compare"
COST_TAB = "cost"
REGRESSIONS_TAB = "regressions"
EVALS_TAB = "evals"
PIPELINES_TAB = "pipelines"
_SETTINGS_TAB = "insights/tab"


class InsightsPage(Page):
    """Insights: a tab per kind of analysis."""

    page_id = "insights"
    title = "Insights"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 12)
        layout.setSpacing(10)
        header = QHBoxLayout()
        title = QLabel("Insights")
        title.setObjectName("PageTitle")
        header.addWidget(title)
        header.addStretch(1)
        layout.addLayout(header)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("InsightsTabs")
        self.tabs.setDocumentMode(True)
        self.compare = CompareView(ctx)
        self.regressions = RegressionsView(ctx)
        self._tab_ids: list[str] = []
        self._add_tab(
            REGRESSIONS_TAB,
            self.regressions,
            "Regressions",
            "Config changes that made an agent worse, with their failing runs",
        )
        self._add_tab(COMPARE_TAB, self.compare, "Compare", "Two runs, or two groups of runs")
        self.evals = EvalsView(ctx)
        self._add_tab(EVALS_TAB, self.evals, "Evals", "Eval suites, their runs and reports")
        self.cost = CostView(ctx)
        self._add_tab(
            COST_TAB,
            self.cost,
            "Cost",
            "Cheaper runtimes or models for an agent, recommended only from its own evidence",
        )
        self.pipelines = PipelinesView(ctx)
        self._add_tab(
            PIPELINES_TAB,
            self.pipelines,
            "Pipelines",
            "Multi-stage dispatches: groups, routed groups and skill flows, stage by stage",
        )
        self.tabs.currentChanged.connect(self._on_tab_changed)
        layout.addWidget(self.tabs, 1)
        self._apply_styles()
        if ctx.theme is not None:
            ctx.theme.sig_theme_changed.connect(lambda _t: self._apply_styles())

    def _add_tab(self, tab_id: str, widget: QWidget, title: str, tip: str) -> None:
        index = self.tabs.addTab(widget, title)
        self.tabs.setTabToolTip(index, tip)
        self._tab_ids.append(tab_id)

    def _apply_styles(self) -> None:
        t = current_theme()
        self.setStyleSheet(
            f"""
            QTabWidget#InsightsTabs::pane {{ border: none; padding-top: 10px; }}
            QFrame#CompareControls {{ background: {t.surface}; border: 1px solid {t.border};
                border-radius: 8px; }}
            QWidget#ModeSegment QPushButton {{ border-radius: 0px; padding: 5px 14px;
                min-height: 18px; color: {t.text_muted}; margin-left: -1px; }}
            QWidget#ModeSegment QPushButton[segment="first"] {{ border-top-left-radius: 7px;
                border-bottom-left-radius: 7px; margin-left: 0px; }}
            QWidget#ModeSegment QPushButton[segment="last"] {{ border-top-right-radius: 7px;
                border-bottom-right-radius: 7px; }}
            QWidget#ModeSegment QPushButton:checked {{ background: {t.surface_alt};
                color: {t.text}; border-color: {t.accent}; }}
            QLabel#EmptyTitle {{ font-size: 17px; font-weight: 600; padding-bottom: 4px; }}
            QLabel#EmptyText {{ color: {t.text_muted}; }}
            QLabel#CompareGroupsTitle {{ font-size: 15px; font-weight: 600; }}
            QLabel#CompareLeftRun, QLabel#CompareRightRun {{ padding: 6px 8px;
                background: {t.surface_alt}; border-radius: 6px; }}
            QLabel#CompareLeftRun {{ border-left: 3px solid {t.failed}; }}
            QLabel#CompareRightRun {{ border-left: 3px solid {t.completed}; }}
            QLabel#DiffCaption {{ color: {t.text_muted}; }}
            QTextBrowser {{ background: {t.code_bg}; }}
            """
        )

    # -- what its commands run (ui/pages/page_commands.py) -----------------------------------------

    def open_at(self, target: dict[str, Any], focus: bool = False) -> None:
        """Show this page at target (a command's: a tab, a mode, a dialog to open)."""
        if self.ctx.workspace is None:
            return
        self.ctx.navigate(self.page_id, target)
        if focus:
            self.compare.focus_picker()

    def open_compare(self, mode: str) -> None:
        """Compare two runs (MODE_RUNS) or a config version with the one before (MODE_VERSION),
        the run picker focused."""
        self.open_at({"tab": COMPARE_TAB, "mode": mode}, focus=True)

    # -- activation ----------------------------------------------------------------------------

    @property
    def current_tab(self) -> str:
        return self._tab_ids[self.tabs.currentIndex()]

    def show_tab(self, tab_id: str) -> None:
        if tab_id in self._tab_ids:
            self.tabs.setCurrentIndex(self._tab_ids.index(tab_id))

    def activate(self, target: dict[str, Any] | None = None) -> None:
        target = dict(target or {})
        tab = str(target.get("tab") or self.ctx.settings.value(_SETTINGS_TAB, REGRESSIONS_TAB))
        self.show_tab(tab if tab in self._tab_ids else REGRESSIONS_TAB)
        if self.current_tab == REGRESSIONS_TAB:
            self.regressions.open_target({k: v for k, v in target.items() if k != "tab"})
        if self.current_tab == COST_TAB:
            self.cost.open_target({k: v for k, v in target.items() if k != "tab"})
        if self.current_tab == EVALS_TAB:
            self.evals.open_target({k: v for k, v in target.items() if k != "tab"})
        if self.current_tab == PIPELINES_TAB:
            self.pipelines.open_target({k: v for k, v in target.items() if k != "tab"})
        if self.current_tab == COMPARE_TAB:
            wanted = {k: v for k, v in target.items() if k != "tab"}
            if wanted.keys() & {"run_a", "run_b", "agent_id"}:
                self.compare.open_target(wanted)
            else:
                if wanted.get("mode"):
                    self.compare.set_mode(
                        str(wanted["mode"]), compare=self.compare.agent_id is not None
                    )
                self.compare.ensure_loaded()

    def _on_tab_changed(self, index: int) -> None:
        # Each view loads itself on its first show (its showEvent), whatever brought it up.
        if 0 <= index < len(self._tab_ids):
            self.ctx.settings.setValue(_SETTINGS_TAB, self._tab_ids[index])
