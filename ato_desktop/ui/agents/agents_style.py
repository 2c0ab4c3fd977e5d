"""The Agents page's looks: a stylesheet built from the theme's colours."""

from __future__ import annotations

from ato_desktop.ui.theme import Theme


def agents_stylesheet(t: Theme) -> str:
    return f"""
    QFrame#AgentsPanel {{ background: {t.window}; border-right: 1px solid {t.border}; }}
    QListView#AgentList, QListView#VersionList {{ background: transparent; border: none;
        outline: none; }}
    QFrame#AgentHeader {{ background: {t.surface}; border-bottom: 1px solid {t.border}; }}
    QLabel#AgentName {{ font-size: 18px; font-weight: 600; }}
    QLabel#AgentSubtitle, QLabel#VersionMeta, QLabel#FieldHint {{ color: {t.text_muted}; }}
    QLabel#FieldHint {{ font-size: 11px; }}
    QLabel#DemoBadge {{ color: {t.warning}; border: 1px solid {t.warning}; border-radius: 8px;
        padding: 0px 7px; font-size: 10px; font-weight: 600; }}
    QLabel#FieldLabel {{ color: {t.text}; font-weight: 600; }}
    QLabel#FormHeading {{ color: {t.text}; font-size: 15px; font-weight: 600; }}
    QLabel[fieldError="true"], QLabel#FormError {{ color: {t.failed}; }}
    QLabel#SaveStatus {{ color: {t.completed}; }}
    QFrame#EditorFooter {{ background: {t.surface}; border-top: 1px solid {t.border}; }}
    QWidget#EditorBody, QScrollArea#EditorScroll {{ background: {t.window}; }}
    QFrame#VersionDetail {{ background: {t.surface}; border-left: 1px solid {t.border}; }}
    QLabel#VersionTitle {{ font-size: 15px; font-weight: 600; }}
    QTextBrowser#VersionDiff {{ background: {t.surface}; border: none; }}
    QLabel#EmptyTitle {{ font-size: 18px; font-weight: 600; }}
    QLabel#EmptyText {{ color: {t.text_muted}; }}
    QTabWidget#AgentTabs::pane {{ border: none; }}
    """
