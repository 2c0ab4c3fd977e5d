"""The command palette: one field, results grouped by kind, arrows and Enter to go, Esc to close.

Quick Actions come from the command registry, filtered in memory. Everything else comes from
store.search on a reader thread; while one search runs, further keystrokes only replace the
pending text, so the newest query always wins and typing never waits on the disk.
"""

from __future__ import annotations

import html
import logging
from functools import partial
from typing import Any

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QHideEvent,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPalette,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QLineEdit,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.search_text import mark_matches, match_class, query_terms
from ato_desktop.ui.commands import Command
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.palette.palette_commands import OPEN_COMMAND, OPENING_ACTIONS
from ato_desktop.ui.palette.palette_model import (
    IsHeaderRole,
    ItemRole,
    PaletteItem,
    PaletteModel,
    marked_html,
)
from ato_desktop.ui.theme import current_theme

log = logging.getLogger(__name__)

RECENT_KEY = "palette/recent"
RECENT_MAX = 8
ACTIONS_LIMIT = 8
SEARCH_LIMIT = 6
Index = QModelIndex | QPersistentModelIndex
_OWN_KEYS = frozenset(
    {Qt.Key.Key_Escape, Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Up, Qt.Key.Key_Down}
)


class CommandPalette(QDialog):
    """Cmd/Ctrl+K: search the workspace and run commands."""

    sig_results_shown = Signal(str)  # the query whose results the model now holds
    sig_item_activated = Signal(object)  # PaletteItem

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("CommandPalette")
        self.setWindowTitle("Search")
        self.setWindowFlag(Qt.WindowType.FramelessWindowHint, True)
        self.resize(640, 460)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        self.field = QLineEdit()
        self.field.setObjectName("PaletteField")
        self.field.setPlaceholderText(
            "Search agents, automations, MCP servers, secrets, runs, chats — or run a command"
        )
        self.field.setClearButtonEnabled(True)
        layout.addWidget(self.field)
        # A search that found nothing says so (an empty list reads as "still searching").
        self.no_match = QLabel("")
        self.no_match.setObjectName("PaletteNoMatch")
        self.no_match.setWordWrap(True)
        self.no_match.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.no_match.setContentsMargins(12, 24, 12, 24)
        self.no_match.hide()
        layout.addWidget(self.no_match)
        self.model = PaletteModel()
        self.view = QListView()
        self.view.setObjectName("PaletteResults")
        self.view.setModel(self.model)
        self.view.setItemDelegate(_PaletteDelegate(self.view))
        self.view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.view.setUniformItemSizes(False)
        self.view.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.view.clicked.connect(self._on_clicked)
        layout.addWidget(self.view, 1)
        self.hint = QLabel("↑↓ to move · Enter to open · Esc to close")
        self.hint.setObjectName("Muted")
        layout.addWidget(self.hint)
        self.field.textChanged.connect(self._on_text_changed)
        self.field.installEventFilter(self)
        self._shown_query: str | None = None
        self._in_flight = False
        self._pending: str | None = None
        self._previous_groups: list[tuple[str, list[PaletteItem]]] = []
        self._restyle()

    # -- opening and closing -------------------------------------------------------------------

    def open_palette(self) -> None:
        """Show (or re-focus) the palette over its window, the field selected."""
        parent = self.parentWidget()
        if parent is not None:
            geo = parent.geometry()
            width = min(720, max(480, geo.width() // 2))
            self.resize(width, min(520, max(320, geo.height() * 2 // 3)))
            self.move(geo.x() + (geo.width() - width) // 2, geo.y() + geo.height() // 8)
        self._restyle()
        self.field.selectAll()
        self.show()
        self.activateWindow()
        self.field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self._request(self.field.text())

    def hideEvent(self, event: QHideEvent) -> None:
        # Give the window back its focus, so its shortcuts (Ctrl+K again) work at once.
        parent = self.parentWidget()
        if parent is not None:
            parent.activateWindow()
        super().hideEvent(event)

    @property
    def query(self) -> str:
        return self.field.text()

    # -- recent queries ------------------------------------------------------------------------

    def recent_queries(self) -> list[str]:
        value = self.ctx.settings.value(RECENT_KEY, [])
        if isinstance(value, str):
            value = [value] if value else []
        if not isinstance(value, list):
            return []
        return [str(v) for v in value if str(v).strip()]

    def remember(self, text: str) -> None:
        clean = " ".join(text.split())
        if not clean:
            return
        recent = [q for q in self.recent_queries() if q.casefold() != clean.casefold()]
        self.ctx.settings.setValue(RECENT_KEY, [clean, *recent][:RECENT_MAX])

    # -- searching -----------------------------------------------------------------------------

    def _on_text_changed(self, text: str) -> None:
        self._request(text)

    def _request(self, text: str) -> None:
        # Quick Actions are in memory: show them at once; the store's results follow.
        self._show(text, None)
        if not " ".join(text.split()) or self.ctx.workspace is None:
            return
        if self._in_flight:
            self._pending = text  # newest wins: only the last text typed meanwhile is run
            return
        self._start(text)

    def _start(self, text: str) -> None:
        self._in_flight = True
        self._pending = None
        task = self.ctx.spawn(self._search(text), what="search the workspace")
        if task is None:
            self._in_flight = False

    async def _search(self, text: str) -> None:
        from ato_desktop.store.search import search

        try:
            results = await self.ctx.read(
                search, self.ctx.opened_workspace.store, text, limit=SEARCH_LIMIT
            )
        finally:
            self._in_flight = False
        pending = self._pending
        if pending is not None:
            self._pending = None
            if pending != self.field.text():
                pending = self.field.text()
            self._start(pending)
            return  # a newer query is on its way; these results are stale
        if text == self.field.text():
            self._show(text, results)

    def _show(self, text: str, results: Any) -> None:
        groups: list[tuple[str, list[PaletteItem]]] = []
        if not text.strip():
            groups.append(("recent", [self._recent_item(q) for q in self.recent_queries()]))
        groups.append(("actions", self._actions(text)))
        if results is not None:
            for group, hits in results.groups.items():
                groups.append((group, [self._hit_item(group, hit) for hit in hits]))
        elif self._shown_query is not None and text.strip():
            # Keep the previous store groups while the new ones load (no flicker to empty).
            kept = [g for g in self._previous_groups if g[0] not in ("actions", "recent")]
            groups.extend(kept)
        self._previous_groups = groups
        current = self._current_key()
        self.model.set_groups(groups)
        self._select_key(current)
        self._show_no_match(text if results is not None and not self.model.items() else None)
        if results is not None or not text.strip():
            self._shown_query = text
            self.sig_results_shown.emit(text)

    def _show_no_match(self, text: str | None) -> None:
        """Say that text matched nothing (None: it did, or its results are still coming)."""
        if text is None:
            self.no_match.hide()
            self.view.show()
            return
        shown = " ".join(text.split())
        if len(shown) > 60:
            shown = shown[:59] + "…"
        self.no_match.setText(
            f"<b>No match for “{html.escape(shown)}”</b><br>Nothing among commands, agents, "
            "automations, MCP servers, secrets, run ids, chat titles or messages. Try fewer "
            "letters or another word."
        )
        self.view.hide()
        self.no_match.show()

    @property
    def says_no_match(self) -> bool:
        """Whether the palette shows its "no match" message."""
        return not self.no_match.isHidden()

    # -- building items ------------------------------------------------------------------------

    def _actions(self, text: str) -> list[PaletteItem]:
        terms = [t.casefold() for t in query_terms(text)]
        if not terms:
            return self._opening_actions()
        scored: list[tuple[int, int, Command]] = []
        for order, command in enumerate(self.ctx.commands):
            if command.id == OPEN_COMMAND or not command.in_palette:
                continue
            title = command.title.casefold()
            haystack = " ".join(
                (title, command.section, command.description, *command.keywords, command.id)
            ).casefold()
            if not all(t in haystack for t in terms):
                continue
            rank = int(match_class(command.title, text)) if terms else 3
            if terms and not all(t in title for t in terms):
                rank = 3
            scored.append((rank, order, command))
        scored.sort(key=lambda s: (s[0], s[1]))
        return [self._command_item(c, terms) for _, _, c in scored[:ACTIONS_LIMIT]]

    def _opening_actions(self) -> list[PaletteItem]:
        """Before typing: every Insights tab, then the first other commands."""
        commands = [c for c in self.ctx.commands if c.id != OPEN_COMMAND and c.in_palette]
        pinned = [c for c in commands if c.id in OPENING_ACTIONS]
        pinned.sort(key=lambda c: OPENING_ACTIONS.index(c.id))
        rest = [c for c in commands if c.id not in OPENING_ACTIONS][:ACTIONS_LIMIT]
        return [self._command_item(c, []) for c in (*pinned, *rest)]

    def _command_item(self, command: Command, terms: list[str]) -> PaletteItem:
        keys = QKeySequence(command.shortcut or "").toString(QKeySequence.SequenceFormat.NativeText)
        return PaletteItem(
            group="actions",
            kind="command",
            title=mark_matches(command.title, terms),
            detail=command.description or command.section,
            activate=partial(self.ctx.commands.run, command.id),
            shortcut=keys,
            key=command.id,
        )

    def _recent_item(self, text: str) -> PaletteItem:
        return PaletteItem(
            group="recent",
            kind="recent",
            title=text,
            detail="Search again",
            activate=lambda: self.field.setText(text),
            key=text,
        )

    def _hit_item(self, group: str, hit: Any) -> PaletteItem:
        ctx = self.ctx
        kind = hit.kind
        name = PaletteItem(group, kind, hit.title).plain_title
        target: tuple[str, dict[str, Any]]
        if kind == "agent":
            target = ("agents", {"agent_id": hit.ref})
        elif kind in ("group", "schedule", "hook", "skill"):
            target = ("automations", {"node": name})
        elif kind in ("mcp_server", "secret"):
            target = ("settings", {"section": "mcp"})
        elif kind == "run":
            target = ("runs", {"run_id": hit.ref})
        elif kind == "message":
            target = (
                "chat",
                {"thread_id": hit.ref, "message_id": hit.message_id, "seq": hit.message_seq},
            )
        else:  # thread
            target = ("chat", {"thread_id": hit.ref})
        page, where = target
        detail = hit.detail
        if kind == "message":
            detail = f"{hit.detail} in “{hit.title}”"
            if hit.repeats:  # the same message in other chats: one row, the newest opens
                detail += f" · and {hit.repeats} more like it"
        return PaletteItem(
            group=group,
            kind=kind,
            title=hit.title if kind != "message" else hit.snippet,
            detail=detail,
            snippet="",
            activate=lambda: ctx.navigate(page, where),
            key=hit.ref if kind != "message" else f"{hit.ref}#{hit.message_id}",
        )

    # -- selection and activation --------------------------------------------------------------

    def _current_key(self) -> tuple[str, str] | None:
        item = self.current_item()
        return (item.group, item.key) if item is not None else None

    def _select_key(self, key: tuple[str, str] | None) -> None:
        row = -1
        if key is not None:
            for r in range(self.model.rowCount()):
                item = self.model.item(r)
                if item is not None and (item.group, item.key) == key:
                    row = r
                    break
        if row < 0:
            row = self.model.first_item_row()
        self._select_row(row)

    def _select_row(self, row: int) -> None:
        if row < 0:
            self.view.clearSelection()
            self.view.setCurrentIndex(QModelIndex())
            return
        index = self.model.index(row, 0)
        self.view.setCurrentIndex(index)
        self.view.scrollTo(index)

    def current_item(self) -> PaletteItem | None:
        index = self.view.currentIndex()
        return self.model.item(index.row()) if index.isValid() else None

    def move_selection(self, step: int) -> None:
        index = self.view.currentIndex()
        start = index.row() + step if index.isValid() else 0
        row = self.model.first_item_row(start, step)
        if row >= 0:
            self._select_row(row)

    def activate_current(self) -> None:
        item = self.current_item()
        if item is None or item.activate is None:
            return
        if item.kind == "recent":
            item.activate()
            return
        self.remember(self.field.text())
        self.sig_item_activated.emit(item)
        self.hide()
        item.activate()

    def _on_clicked(self, index: QModelIndex) -> None:
        if self.model.item(index.row()) is not None:
            self._select_row(index.row())
            self.activate_current()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.field and event.type() == QEvent.Type.ShortcutOverride:
            assert isinstance(event, QKeyEvent)
            if event.key() in _OWN_KEYS and not event.modifiers():
                event.accept()  # ours, not a page shortcut's (Esc, Enter, arrows)
                return True
        if watched is self.field and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key = event.key()
            if key == Qt.Key.Key_Down:
                self.move_selection(1)
                return True
            if key == Qt.Key.Key_Up:
                self.move_selection(-1)
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.activate_current()
                return True
            if key == Qt.Key.Key_Escape:
                self.reject()
                return True
        return super().eventFilter(watched, event)

    def _restyle(self) -> None:
        t = current_theme()
        self.setStyleSheet(
            f"QDialog#CommandPalette {{ background: {t.surface}; border: 1px solid {t.border};"
            " border-radius: 10px; }"
            f"QLineEdit#PaletteField {{ font-size: 16px; padding: 8px 10px; }}"
            f"QListView#PaletteResults {{ border: none; background: {t.surface}; }}"
            f"QLabel#PaletteNoMatch {{ color: {t.text_muted}; }}"
        )


class _PaletteDelegate(QStyledItemDelegate):
    """Group headers in small muted capitals; items as a bold title (matches highlighted), a
    muted detail and the shortcut at the right."""

    def _html(self, item: PaletteItem, selected: bool) -> str:
        t = current_theme()
        highlight = (
            "font-weight: 700; text-decoration: underline;"
            if selected
            else f"color: {t.accent}; font-weight: 700;"
        )
        muted = t.accent_text if selected else t.text_muted
        title = marked_html(item.title, highlight)
        weight = "400" if item.kind == "message" else "600"
        parts = [f'<span style="font-weight: {weight};">{title}</span>']
        if item.detail:
            parts.append(
                f'&nbsp;&nbsp;<span style="color: {muted};">{html.escape(item.detail)}</span>'
            )
        return "".join(parts)

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        height = option.fontMetrics.height()
        if index.data(IsHeaderRole):
            return QSize(0, height + 12)
        return QSize(0, height + 14)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        t = current_theme()
        painter.save()
        rect = option.rect
        if index.data(IsHeaderRole):
            font = option.font
            font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
            font.setBold(True)
            painter.setFont(font)
            painter.setPen(option.palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(
                rect.adjusted(8, 4, -8, 0),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                str(index.data(Qt.ItemDataRole.DisplayRole)).upper(),
            )
            painter.restore()
            return
        item = index.data(ItemRole)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(option.palette.color(QPalette.ColorRole.Highlight))
            painter.drawRoundedRect(rect.adjusted(2, 1, -2, -1), 6, 6)
        right = 0
        if item.shortcut:
            painter.setPen(
                option.palette.color(QPalette.ColorRole.HighlightedText)
                if selected
                else option.palette.color(QPalette.ColorRole.PlaceholderText)
            )
            right = option.fontMetrics.horizontalAdvance(item.shortcut) + 16
            painter.drawText(
                QRect(rect.right() - right, rect.top(), right - 8, rect.height()),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                item.shortcut,
            )
        doc = QTextDocument()
        doc.setDefaultFont(option.font)
        doc.setDocumentMargin(0)
        doc.setDefaultStyleSheet(f"body {{ color: {t.accent_text if selected else t.text}; }}")
        doc.setHtml(f"<body>{self._html(item, selected)}</body>")
        doc.setTextWidth(-1)
        area = rect.adjusted(10, 0, -(right + 10), 0)
        painter.setClipRect(area)
        top = area.top() + (area.height() - option.fontMetrics.height()) // 2 - 1
        painter.translate(area.left(), top)
        context = QAbstractTextDocumentLayout.PaintContext()
        context.palette.setColor(
            QPalette.ColorRole.Text, option.palette.color(QPalette.ColorRole.Text)
        )
        doc.documentLayout().draw(painter, context)
        painter.restore()
