"""The replay dialogs' style sheet and the colours they paint diffs and deltas with."""

from __future__ import annotations

from ato_desktop.core.replay_figures import BETTER, WORSE
from ato_desktop.ui.theme import Theme, current_theme, mix


def diff_colours(theme: Theme | None = None) -> dict[str, tuple[str, str]]:
    """op -> (background, text) for the word diff: inserts green, deletes red, from the theme."""
    t = theme or current_theme()
    amount = 0.28 if t.is_dark else 0.2
    return {
        "insert": (mix(t.surface, t.completed, amount), t.text),
        "delete": (mix(t.surface, t.failed, amount), t.text),
    }


def tone_colour(tone: str, theme: Theme | None = None) -> str:
    t = theme or current_theme()
    return {BETTER: t.completed, WORSE: t.failed}.get(tone, t.text_muted)


def replay_stylesheet(theme: Theme | None = None) -> str:
    t = theme or current_theme()
    return f"""
    QLabel#ReplayTitle {{ font-size: 17px; font-weight: 600; }}
    QLabel#ReplaySubtitle, QLabel#ReplayHint {{ color: {t.text_muted}; }}
    QLabel#SectionCaption {{ color: {t.text_muted}; font-size: 11px; font-weight: 600; }}
    QFrame#EstimateCard, QFrame#SideCard, QFrame#BatchSummaryCard {{ background: {t.surface};
        border: 1px solid {t.border}; border-radius: 8px; }}
    QLabel#EstimateValue {{ font-size: 22px; font-weight: 600; }}
    QLabel#EstBadge {{ color: {t.warning}; border: 1px solid {t.warning}; border-radius: 6px;
        padding: 0px 5px; font-size: 10px; font-weight: 600; }}
    QLabel#PlanNotes {{ color: {t.text}; }}
    QFrame#UnavailableCard {{ background: {t.surface}; border: 1px solid {t.border};
        border-left: 3px solid {t.warning}; border-radius: 8px; }}
    QLabel#UnavailableTitle {{ font-size: 15px; font-weight: 600; }}
    QFrame#ReplayError {{ background: {t.surface_alt}; border: 1px solid {t.border};
        border-left: 3px solid {t.failed}; border-radius: 6px; }}
    QLabel#ReplayErrorTitle {{ color: {t.failed}; font-weight: 600; }}
    QLabel#SideTitle {{ font-size: 13px; font-weight: 600; }}
    QLabel#StatCaption {{ color: {t.text_muted}; font-size: 11px; }}
    QLabel[stat="true"] {{ font-size: 13px; font-weight: 600; }}
    QLabel[delta="true"] {{ font-size: 11px; font-weight: 600; }}
    QTextBrowser#SideOutput {{ background: {t.surface}; border: 1px solid {t.border};
        border-radius: 6px; }}
    QPushButton[link="true"] {{ border: none; background: transparent; color: {t.accent};
        padding: 2px 4px; font-weight: 600; }}
    QPushButton[link="true"]:hover {{ text-decoration: underline; }}
    QLabel#BatchHeadline {{ font-size: 18px; font-weight: 600; }}
    QLabel[count="recovered"] {{ color: {t.completed}; font-weight: 600; }}
    QLabel[count="failing"] {{ color: {t.failed}; font-weight: 600; }}
    QLabel[count="regressed"] {{ color: {t.warning}; font-weight: 600; }}
    QProgressBar#ReplayProgress {{ border: 1px solid {t.border}; border-radius: 4px;
        background: {t.surface_alt}; text-align: center; }}
    QProgressBar#ReplayProgress::chunk {{ background: {t.running}; border-radius: 3px; }}
    """
