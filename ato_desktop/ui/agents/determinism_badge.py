"""An agent's determinism over its recent runs, for the Agents page header: a score pill in its
band's colour and the top findings (`engine.determinism.analyse_agent`, off the UI thread)."""

from __future__ import annotations

import html
import logging
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QWidget

from ato_desktop.core.determinism import DeterminismReport
from ato_desktop.ui.theme import current_theme
from ato_desktop.ui.widgets.background import BackgroundWork
from ato_desktop.ui.widgets.score_bar import band_colour

log = logging.getLogger(__name__)

AGENT_RUNS = 100  # recent runs analysed
TOP_FINDINGS = 3


def top_findings(report: DeterminismReport, limit: int = TOP_FINDINGS) -> list[str]:
    """'Timestamp in output · generate_report (−16)', the findings that deducted most."""
    ranked = sorted(report.findings, key=lambda f: -f.deduction)[:limit]
    return [f"{f.title} · {f.action_name} (−{f.deduction:.1f})".replace(".0)", ")") for f in ranked]


def top_titles(report: DeterminismReport, limit: int = 2) -> str:
    """'UUID in output, Timestamp in output +1': the kinds of finding that cost most."""
    titles: list[str] = []
    for finding in sorted(report.findings, key=lambda f: -f.deduction):
        if finding.title not in titles:
            titles.append(finding.title)
    shown = ", ".join(titles[:limit])
    return shown + (f" +{len(titles) - limit}" if len(titles) > limit else "")


class AgentDeterminismBadge(QWidget):
    """'Determinism 87/100 · Moderately deterministic · top findings'."""

    sig_report_shown = Signal(object)  # DeterminismReport

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("AgentDeterminism")
        self._ctx = ctx
        self.work = BackgroundWork(self, ctx)  # the newest analysis only
        self._agent_id: str | None = None
        self.report: DeterminismReport | None = None
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 2, 0, 0)
        row.setSpacing(8)
        self.pill = QLabel("")
        self.pill.setObjectName("AgentDeterminismScore")
        row.addWidget(self.pill)
        self.summary = QLabel("")
        self.summary.setObjectName("AgentDeterminismSummary")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        # Long agent histories must not widen the header: the text is cut, the tooltip has it all.
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        row.addWidget(self.summary, 1)
        self.hide()

    def show_agent(self, agent_id: str) -> None:
        """Analyse the agent's recent runs (again) off the UI thread."""
        if self._ctx.workspace is None:
            return
        if agent_id != self._agent_id:
            self.report = None
            self._agent_id = agent_id
            self._set("Determinism …", "", "analysing the agent's runs…")
        self._ctx.spawn(self._analyse(agent_id), what="score the agent")

    def clear(self) -> None:
        self.work.drop_pending()  # an analysis still under way must not show again
        self._agent_id = None
        self.report = None
        self.hide()

    async def _analyse(self, agent_id: str) -> None:
        from ato_desktop.engine.determinism import analyse_agent

        store = self._ctx.workspace.store
        try:
            report = await self.work.read(analyse_agent, store, agent_id, runs=AGENT_RUNS)
        except Exception as exc:
            log.warning("could not score agent %s: %s", agent_id, exc)
            self._set("Determinism ?", "", f"could not analyse: {exc}")
            return
        self.report = report
        if report.runs_analysed == 0:
            self._set("Determinism —", "", "scored from the agent's runs: none yet")
        elif report.nothing_to_judge:
            self._set("Determinism —", "", html.escape(report.unjudged_reason))
            self.setToolTip(report.unjudged_reason)
        else:
            band = report.band
            colour = band_colour(band)
            judged = report.runs_judged if report.runs_judged is not None else report.runs_analysed
            runs = f"{judged} run{'s' if judged != 1 else ''}"
            detail = top_titles(report) or "no findings"
            self._set(
                f"Determinism {report.score:.0f}",
                colour,
                f"<span style='color:{colour}'>{html.escape(band.label)}</span> · "
                f"{runs} · {html.escape(detail)}",
            )
            top = "\n".join(f"• {line}" for line in top_findings(report))
            self.setToolTip(
                f"The mean score of the last {runs}: each run loses points for its findings."
                + (f"\n\nTop findings:\n{top}" if top else "\n\nNo findings: nothing deducted.")
                + "\n\nRuns → a run → Determinism (D) shows the details and how to fix them."
            )
        self.sig_report_shown.emit(report)

    def _set(self, pill: str, colour: str, summary: str) -> None:
        t = current_theme()
        colour = colour or t.neutral
        self.pill.setText(pill)
        self.pill.setStyleSheet(
            f"color: {colour}; border: 1px solid {colour}; border-radius: 8px; "
            "padding: 0px 7px; font-weight: 600;"
        )
        self.summary.setText(f"<span style='color:{t.text_muted}'>{summary}</span>")
        self.show()
