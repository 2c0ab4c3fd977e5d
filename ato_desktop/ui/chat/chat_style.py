"""The Chat page's looks: a stylesheet built from the theme's colours."""

from __future__ import annotations

from ato_desktop.ui.theme import Theme, mix


def chat_stylesheet(t: Theme) -> str:
    """The chat page's own looks, from the theme's colours."""
    bubble = mix(t.surface, t.accent, 0.14 if t.is_dark else 0.09)
    error_bg = mix(t.surface, t.failed, 0.10 if t.is_dark else 0.06)
    ask_bg = mix(t.surface, t.warning, 0.10 if t.is_dark else 0.07)
    return f"""
    QFrame#ThreadsPanel {{ background: {t.window}; border-right: 1px solid {t.border}; }}
    QListView#ThreadList {{ background: transparent; border: none; outline: none; }}
    QLabel#ThreadsEmpty {{ color: {t.text_muted}; padding: 24px 8px; }}
    QFrame#ChatHeader {{ background: {t.surface}; border-bottom: 1px solid {t.border}; }}
    QLabel#ChatTitle {{ font-size: 16px; font-weight: 600; }}
    QLabel#ChatSubtitle, QLabel#AgentInfo {{ color: {t.text_muted}; }}
    QScrollArea#Conversation, QWidget#ConversationCanvas {{ background: {t.window}; border: none; }}
    QWidget#ComposerArea {{ background: {t.window}; }}
    QFrame[highlighted="true"] {{ background: {mix(t.window, t.accent, 0.18)};
        border-radius: 14px; }}
    QFrame#UserBubble {{ background: {bubble}; border: 1px solid {mix(bubble, t.accent, 0.25)};
        border-radius: 12px; }}
    QFrame#AnswerCard {{ background: {t.surface}; border: 1px solid {t.border};
        border-radius: 12px; }}
    QFrame#ErrorCard {{ background: {error_bg}; border: 1px solid {mix(t.border, t.failed, 0.5)};
        border-left: 4px solid {t.failed}; border-radius: 10px; }}
    QFrame#ErrorCard[errorClass="killed"] {{ background: {t.surface};
        border: 1px solid {t.border}; border-left: 4px solid {t.neutral}; }}
    QLabel#ErrorTitle {{ font-weight: 600; color: {t.failed}; }}
    QFrame#ErrorCard[errorClass="killed"] QLabel#ErrorTitle {{ color: {t.text_muted}; }}
    QFrame#ApprovalCard[state="pending"] {{ background: {ask_bg};
        border: 1px solid {mix(t.border, t.warning, 0.55)}; border-left: 4px solid {t.warning};
        border-radius: 10px; }}
    QFrame#ApprovalCard {{ background: transparent; border: none; }}
    QLabel#ApprovalArguments {{ background: {t.code_bg}; border: 1px solid {t.border};
        border-radius: 6px; padding: 6px 8px; }}
    QLabel#ApprovalHint {{ color: {t.text_muted}; font-size: 11px; }}
    QLabel#ApprovalRecord {{ font-size: 12px; font-weight: 600; color: {t.text_muted}; }}
    QFrame#ApprovalCard[state="approved"] QLabel#ApprovalRecord {{ color: {t.completed}; }}
    QFrame#ApprovalCard[state="denied"] QLabel#ApprovalRecord {{ color: {t.failed}; }}
    QLabel#TurnLabel {{ color: {t.text_muted}; font-size: 11px; font-weight: 600; }}
    QLabel#StatsText {{ color: {t.text_muted}; font-size: 11px; }}
    QLabel#TurnStatus {{ color: {t.warning}; font-size: 11px; font-weight: 600; }}
    QLabel#EstBadge {{ color: {t.warning}; border: 1px solid {t.warning}; border-radius: 6px;
        padding: 0px 5px; font-size: 10px; font-weight: 600; }}
    QPushButton#RunLink {{ border: none; background: transparent; color: {t.accent};
        padding: 2px 4px; font-size: 11px; }}
    QPushButton#RunLink:hover {{ text-decoration: underline; }}
    QLabel#EmptyTitle {{ font-size: 18px; font-weight: 600; }}
    QLabel#EmptyText {{ color: {t.text_muted}; }}
    QLabel#ChatNotice {{ color: {t.failed}; }}
    QFrame#Composer {{ background: {t.surface}; border: 1px solid {t.border};
        border-radius: 12px; }}
    QPlainTextEdit#PromptEdit {{ border: none; background: transparent; padding: 0px; }}
    QLabel#ComposerHint {{ color: {t.text_muted}; font-size: 11px; }}
    """
