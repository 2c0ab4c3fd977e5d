"""The main window: navigation, the page stack, menus built from the command registry, and a
status bar with the live-run count. It is shown (and painted) before the log is opened.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QDesktopServices,
    QFont,
    QIcon,
    QKeyEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ato_desktop import APP_NAME
from ato_desktop.ui.app_commands import GO_COMMANDS, TRAY_COMMANDS, WINDOW, WINDOW_COMMANDS
from ato_desktop.ui.app_style import add_field_filter
from ato_desktop.ui.commands import Command, CommandRegistry
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.icons import nav_icon
from ato_desktop.ui.pages.base import Page
from ato_desktop.ui.pages.page_commands import PAGE_COMMANDS, commands_of_page
from ato_desktop.ui.pages.registry import PAGES, page_class
from ato_desktop.ui.palette.palette_commands import register_palette_commands
from ato_desktop.ui.theme import current_theme
from ato_desktop.ui.widgets.coalesce import poke
from ato_desktop.ui.widgets.demo_banner import DemoBanner

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """Navigation on the left, the current page on the right."""

    sig_page_changed = Signal(str)
    sig_heap_grew = Signal()  # emitted on the thread that imported a heavy package

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.setWindowTitle(APP_NAME)
        self.resize(QSize(1280, 820))
        self.setMinimumSize(QSize(900, 600))
        self._pages: dict[str, Page] = {}
        self._specs = {spec.id: spec for spec in PAGES}
        from ato_desktop.core.heavy_imports import after_heavy_import

        self.sig_heap_grew.connect(self._settle_heap)  # queued onto this thread
        after_heavy_import(self._on_heavy_import)
        self._current: str | None = None
        self._quitting = False
        self.notifications: Any = None  # ui.notifications.NotificationService, once open
        self.tray: Any = None  # ui.tray.Tray, once open

        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self._build_sidebar())
        content = QVBoxLayout()
        content.setContentsMargins(0, 0, 0, 0)
        content.setSpacing(0)
        self._demo_banner = DemoBanner(ctx)
        self._demo_banner.sig_demo_removed.connect(self._on_demo_removed)
        content.addWidget(self._demo_banner)
        # The log refused a write (a full disk): said until a run ends, i.e. writes work again.
        self._store_banner = QLabel("")
        self._store_banner.setObjectName("StoreFullBanner")
        self._store_banner.setWordWrap(True)
        self._store_banner.setContentsMargins(12, 8, 12, 8)
        self._store_banner.hide()
        content.addWidget(self._store_banner)
        self._stack = QStackedWidget()
        content.addWidget(self._stack, 1)
        layout.addLayout(content, 1)
        self.setCentralWidget(central)

        self._loading = _LoadingView(str(ctx.paths.database))
        self._stack.addWidget(self._loading)
        self._stack.setCurrentWidget(self._loading)

        # A run waiting for the user to approve a tool call: said until it is answered.
        self._waiting_button = QPushButton("")
        self._waiting_button.setObjectName("WaitingApproval")
        self._waiting_button.setFlat(True)
        self._waiting_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self._waiting_button.clicked.connect(self.open_waiting_run)
        self._waiting_button.hide()
        self.statusBar().addPermanentWidget(self._waiting_button)
        self._live_label = QLabel("")
        self._live_label.setObjectName("Muted")
        self.statusBar().addPermanentWidget(self._live_label)
        self._live_refresh = QTimer(self, singleShot=True, interval=150)
        self._live_refresh.timeout.connect(self._refresh_live_count)

        self._register_window_commands()
        # On this window's text fields only (ui/app_style.py: not a filter of every event).
        self._keys_first = WindowShortcutsFirst(self, ctx.commands)
        add_field_filter(self._keys_first)
        ctx.sig_workspace_ready.connect(self._on_workspace_ready)
        ctx.sig_workspace_failed.connect(self._on_workspace_failed)
        ctx.sig_navigate.connect(self.navigate)
        ctx.sig_status_message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        ctx.sig_error.connect(self._show_error)
        ctx.sig_store_full.connect(self._show_store_full)
        if ctx.theme is not None:
            ctx.theme.sig_theme_changed.connect(self._paint_nav_icons)

    # -- layout ----------------------------------------------------------------------------------

    def _build_sidebar(self) -> QWidget:
        sidebar = QWidget()
        sidebar.setObjectName("Sidebar")
        sidebar.setFixedWidth(200)
        layout = QVBoxLayout(sidebar)
        layout.setContentsMargins(0, 0, 0, 8)
        title = QLabel(APP_NAME)
        title.setObjectName("AppTitle")
        layout.addWidget(title)
        self._nav = QListWidget()
        self._nav.setObjectName("NavList")
        self._nav.setIconSize(QSize(18, 18))
        self._nav.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        for spec in PAGES:
            if not spec.in_nav:
                continue
            item = QListWidgetItem(spec.title)
            item.setData(Qt.ItemDataRole.UserRole, spec.id)
            # Style-sheet padding is not part of the item's size hint: give rows their height.
            item.setSizeHint(QSize(0, 40))
            item.setToolTip(f"{spec.title} ({spec.shortcut})" if spec.shortcut else spec.title)
            self._nav.addItem(item)
        self._paint_nav_icons()
        self._nav.setEnabled(False)  # until the log is open
        self._nav.currentItemChanged.connect(self._on_nav_changed)
        layout.addWidget(self._nav, 1)
        self._data_dir = QLabel()
        self._data_dir.setObjectName("Muted")
        self._data_dir.setWordWrap(True)
        self._data_dir.setContentsMargins(16, 0, 12, 0)
        layout.addWidget(self._data_dir)
        return sidebar

    def _paint_nav_icons(self, *_args: object) -> None:
        theme = current_theme()
        for row in range(self._nav.count()):
            item = self._nav.item(row)
            spec = self._specs[str(item.data(Qt.ItemDataRole.UserRole))]
            if spec.icon:
                item.setIcon(nav_icon(spec.icon, theme.text_muted, theme.accent_text))

    def _register_window_commands(self) -> None:
        """Every command of the app from start-up, bound late: the window's own, the palette's,
        every page's (ui/pages/page_commands.py) and the tray's. A page's commands find their
        page (building it) when they run; its single keys work once the page is built and
        shows (its actions are on the page widget)."""
        commands = self.ctx.commands
        commands.provide(WINDOW, self)
        for spec in PAGES:
            commands.provide_with(spec.id, self._page_for_command)
        commands.declare(GO_COMMANDS)
        for command in WINDOW_COMMANDS:
            if command.id == "app.open_data_dir":
                command = replace(command, description=str(self.ctx.paths.root))
            commands.declare((command,))
        # Ctrl+K (Cmd+K on macOS): the palette over every command and the whole workspace.
        self.palette_host, _palette_actions = register_palette_commands(self.ctx, self)
        commands.declare(PAGE_COMMANDS)
        commands.declare(TRAY_COMMANDS)
        for command in commands:
            if command.scope == "window":
                self.addAction(commands.action(command.id))
        self._build_menus()

    def _page_for_command(self, command: Command) -> Page | None:
        """The page that runs command, built if need be; a page command's page is shown first
        (its keys act on what it shows). None before the log is open."""
        page_id = command.target
        if self.ctx.workspace is None or page_id not in self._specs:
            return None
        if command.scope == "page" and self._current != page_id:
            self.navigate(page_id)
        return self.page(page_id)

    def _build_menus(self) -> None:
        menubar = self.menuBar()
        menubar.clear()
        app_menu = menubar.addMenu("&File")
        view_menu = menubar.addMenu("&View")
        help_menu = menubar.addMenu("&Help")
        for command in self.ctx.commands:
            if not command.in_menus:
                continue
            action = self.ctx.commands.action(command.id)
            if command.section == "Navigate":
                view_menu.addAction(action)
            elif command.section == "Help":
                help_menu.addAction(action)
            elif command.scope == "window":
                app_menu.addAction(action)

    # -- workspace lifecycle ---------------------------------------------------------------------

    def _on_workspace_ready(self, workspace: Any) -> None:
        self._data_dir.setText(f"Log: {self.ctx.paths.root}")
        self._data_dir.setToolTip(str(self.ctx.paths.database))
        self._nav.setEnabled(True)
        bridge = self.ctx.opened_bridge
        bridge.sig_run_created.connect(lambda _e: poke(self._live_refresh))
        bridge.sig_run_ended.connect(lambda _e: poke(self._live_refresh))
        bridge.sig_run_ended.connect(self._store_banner.hide)
        bridge.sig_runs_bulk_changed.connect(lambda _e: poke(self._live_refresh))
        # An agent burning money far faster than usual is announced (and is an intercept).
        from ato_desktop.ui.spend_watch import SpendWatch

        self.spend_watch = SpendWatch(self.ctx, self)
        bridge.sig_run_ended.connect(self.spend_watch.on_run_ended)
        self._install_tray()
        if self.ctx.approvals is not None:
            self.ctx.approvals.sig_pending_changed.connect(self._show_waiting)
        self._refresh_live_count()
        if workspace.recovered_run_ids:
            count = len(workspace.recovered_run_ids)
            self.ctx.status(
                f"{count} run(s) left running by a crash were marked interrupted; their partial "
                "output was kept."
            )
        self.ctx.spawn(self._open_landing_page(), what="open the first page")

    def _install_tray(self) -> None:
        """Notifications about run endings, and the tray (where the desktop has one)."""
        from ato_desktop.ui.notifications import NotificationService
        from ato_desktop.ui.tray import Tray

        self.notifications = NotificationService(self.ctx, self)
        self.notifications.set_window(self)
        self.ctx.notifications = self.notifications
        self.ctx.opened_bridge.sig_run_ended.connect(self.notifications.on_run_ended)
        self.tray = Tray(self.ctx, self, icon=app_icon(), parent=self)
        self.notifications.set_tray_icon(self.tray.icon)
        self.tray.refresh()

    def _on_demo_removed(self, _counts: object) -> None:
        self.ctx.status("The demo workspace was removed.")
        self.ctx.spawn(self._open_landing_page(), what="open the first page")

    async def _open_landing_page(self) -> None:
        store = self.ctx.opened_workspace.store
        # Imported here, after the first paint: the store's queries are not needed to draw it.
        from ato_desktop.store.run_queries import log_is_empty

        empty = await self.ctx.read(log_is_empty, store)
        last = str(self.ctx.settings.value("window/page", "runs"))
        if empty:
            self.navigate("welcome")
        else:
            self.navigate(last if last in self._specs and self._specs[last].in_nav else "runs")
        # The window, its log and first page are built: what they made lives on, and full
        # collections need not walk it again (nor, later, what each heavy import builds).
        self._settle_heap()

    def _on_heavy_import(self) -> None:
        self.sig_heap_grew.emit()

    def _settle_heap(self) -> None:
        """See heavy_imports.settle_heap: on this thread, which owns the window's objects."""
        from ato_desktop.core.heavy_imports import settle_heap

        settle_heap()

    def _on_workspace_failed(self, message: str) -> None:
        view = _FailureView(message, self.open_data_dir, self.close)
        self._stack.addWidget(view)
        self._stack.setCurrentWidget(view)

    def _refresh_live_count(self) -> None:
        if self.ctx.workspace is None or self.ctx.closing:
            return
        self.ctx.spawn(self._update_live_count(), what="count live runs")

    async def _update_live_count(self) -> None:
        from ato_desktop.core.records import RunFilter

        store = self.ctx.opened_workspace.store
        count = await self.ctx.read(store.count_runs, RunFilter(statuses=("running",)))
        self._live_label.setText(f"● {count} running" if count else "No runs in flight")
        self._live_label.setProperty("live_count", count)

    def _show_waiting(self) -> None:
        approvals = self.ctx.approvals
        pending = approvals.pending() if approvals is not None else []
        if approvals is None or not pending:
            self._waiting_button.hide()
            return
        runs = approvals.waiting_runs()
        if len(runs) == 1:
            text = f"⚠  A run waits for your approval: {pending[0].tool}"
        else:
            text = f"⚠  {len(runs)} runs wait for your approval"
        self._waiting_button.setText(text)
        self._waiting_button.setToolTip("Open the run to approve or deny")
        theme = current_theme()
        self._waiting_button.setStyleSheet(
            f"QPushButton#WaitingApproval {{ color: {theme.warning}; font-weight: 600;"
            " border: none; background: transparent; padding: 0px 8px; }"
            "QPushButton#WaitingApproval:hover { text-decoration: underline; }"
        )
        self._waiting_button.show()

    @property
    def waiting_text(self) -> str:
        """What the status bar says about runs waiting for approval ('' when none)."""
        return self._waiting_button.text() if not self._waiting_button.isHidden() else ""

    def open_waiting_run(self) -> None:
        """Open the run that has waited longest for an approval."""
        approvals = self.ctx.approvals
        runs = approvals.waiting_runs() if approvals is not None else []
        if runs:
            self.navigate("runs", {"run_id": runs[0]})

    # -- navigation ------------------------------------------------------------------------------

    def page(self, page_id: str) -> Page:
        """The page with this id, built on first use."""
        page = self._pages.get(page_id)
        if page is None:
            spec = self._specs[page_id]
            page = page_class(spec)(self.ctx)
            self._pages[page_id] = page
            self._stack.addWidget(page)
            for command in commands_of_page(page_id):
                if command.scope == "page":
                    page.addAction(self.ctx.commands.action(command.id))
        return page

    def navigate(self, page_id: str, target: dict[str, Any] | None = None) -> None:
        if self.ctx.workspace is None or page_id not in self._specs:
            return
        page = self.page(page_id)
        self._stack.setCurrentWidget(page)
        self._current = page_id
        if self._specs[page_id].in_nav:
            self.ctx.settings.setValue("window/page", page_id)
        self._select_nav(page_id)
        page.activate(target)
        self.sig_page_changed.emit(page_id)

    @property
    def current_page_id(self) -> str | None:
        return self._current

    def _select_nav(self, page_id: str) -> None:
        self._nav.blockSignals(True)
        try:
            for row in range(self._nav.count()):
                item = self._nav.item(row)
                if item.data(Qt.ItemDataRole.UserRole) == page_id:
                    self._nav.setCurrentRow(row)
                    break
            else:
                self._nav.clearSelection()
        finally:
            self._nav.blockSignals(False)

    def _on_nav_changed(self, current: QListWidgetItem | None, _prev: object) -> None:
        if current is not None:
            self.navigate(str(current.data(Qt.ItemDataRole.UserRole)))

    # -- small window-level actions --------------------------------------------------------------

    def show_shortcuts(self) -> None:
        dialog = ShortcutsDialog(self.ctx, self)
        dialog.open()

    def open_data_dir(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.ctx.paths.root)))

    def _show_store_full(self, message: str) -> None:
        self._store_banner.setText(message)
        self._store_banner.show()
        self.statusBar().showMessage(message, 10_000)

    def _show_error(self, title: str, message: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, parent=self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def bring_to_front(self) -> None:
        """A second launch asked us to show ourselves."""
        self.setWindowState(
            (self.windowState() & ~Qt.WindowState.WindowMinimized) | Qt.WindowState.WindowActive
        )
        self.show()
        self.raise_()
        self.activateWindow()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._quitting or self.ctx.closing:
            event.accept()
            return
        event.ignore()
        if self._hides_to_tray():
            self.hide_to_tray()
            return
        self.quit_app()

    def _hides_to_tray(self) -> bool:
        from ato_desktop.ui.tray import keep_running_in_tray

        tray = self.tray
        return bool(tray is not None and tray.available and keep_running_in_tray(self.ctx.settings))

    def hide_to_tray(self) -> None:
        """Close the window, not the app: schedules keep firing (said the first time)."""
        from ato_desktop.ui.tray import HIDDEN_SAID_SETTING

        self.hide()
        settings = self.ctx.settings
        if str(settings.value(HIDDEN_SAID_SETTING, "")).lower() not in ("1", "true"):
            settings.setValue(HIDDEN_SAID_SETTING, True)
            if self.notifications is not None:
                self.notifications.announce(
                    f"{APP_NAME} is still running",
                    "It stays in the tray so schedules fire. Quit from the tray menu or with "
                    "Ctrl+Q; Settings turns this off.",
                )

    def quit_app(self) -> None:
        """Really quit (Quit in the menu or the tray, Ctrl+Q), asking if runs are in flight."""
        if self._quitting or self.ctx.closing:
            return
        workspace = self.ctx.workspace
        in_flight = len(workspace.live) if workspace is not None else 0
        if in_flight:
            answer = QMessageBox.question(
                self,
                "Runs in flight",
                f"{in_flight} dispatch{'es are' if in_flight != 1 else ' is'} still running. "
                "Quit and kill them? Their partial output is kept in the log.",
                QMessageBox.StandardButton.Cancel | QMessageBox.StandardButton.Yes,
                QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        self._quitting = True
        self.ctx.spawn(self._shutdown(), what="quit")

    async def _shutdown(self) -> None:
        if self.tray is not None:
            self.tray.close()
        try:
            await self.ctx.shutdown()
        finally:
            self.close()
            QApplication.quit()


class _LoadingView(QWidget):
    def __init__(self, path: str) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        label = QLabel("Opening the execution log…")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setObjectName("SectionTitle")
        layout.addWidget(label)
        bar = QProgressBar()
        bar.setRange(0, 0)
        bar.setMaximumWidth(280)
        bar.setTextVisible(False)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(bar)
        row.addStretch(1)
        layout.addLayout(row)
        where = QLabel(path)
        where.setObjectName("Muted")
        where.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(where)
        layout.addStretch(2)


class _FailureView(QWidget):
    """The log could not be opened: say why and what to do; never touch the file."""

    def __init__(self, message: str, open_folder: Any, quit_app: Any) -> None:
        super().__init__()
        self.setObjectName("FailureView")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(48, 48, 48, 48)
        layout.addStretch(1)
        title = QLabel("ATO could not open its execution log")
        title.setObjectName("PageTitle")
        layout.addWidget(title)
        text = QLabel(message)
        text.setWordWrap(True)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        text.setObjectName("FailureMessage")
        layout.addWidget(text)
        buttons = QHBoxLayout()
        folder = QPushButton("Open data folder")
        folder.clicked.connect(open_folder)
        close = QPushButton("Quit")
        close.clicked.connect(quit_app)
        buttons.addWidget(folder)
        buttons.addWidget(close)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        layout.addStretch(2)


# Keys a text field keeps even if a command took them: copying, pasting and undoing text.
_FIELD_KEYS = (
    QKeySequence.StandardKey.Copy,
    QKeySequence.StandardKey.Cut,
    QKeySequence.StandardKey.Paste,
    QKeySequence.StandardKey.Undo,
    QKeySequence.StandardKey.Redo,
    QKeySequence.StandardKey.SelectAll,
)
_COMMAND_MODIFIERS = (
    Qt.KeyboardModifier.ControlModifier
    | Qt.KeyboardModifier.AltModifier
    | Qt.KeyboardModifier.MetaModifier
)


class WindowShortcutsFirst(QObject):
    """Lets the window's command shortcuts with a modifier beat a text field's own key bindings.

    On X11 (and with emacs-style bindings elsewhere) a line edit claims Ctrl+E (end of line) and
    Ctrl+K (delete to the end of the line) before any shortcut sees them, so Ctrl+E (export) and
    Ctrl+K (the palette) did nothing while a filter field had the focus. Installed on every text
    field (ui/app_style.py), it answers ShortcutOverride for fields of its window: a key sequence
    that a command uses is not the field's, unless it is one of the editing keys (copy, paste...).
    Plain keys (typing, "/", "?") stay the field's.
    """

    def __init__(self, window: QWidget, commands: CommandRegistry) -> None:
        super().__init__(window)
        self._window = window
        self._commands = commands
        self._sequences: list[QKeySequence] | None = None
        commands.sig_commands_changed.connect(self._forget)

    def _forget(self) -> None:
        self._sequences = None

    def _command_sequences(self) -> list[QKeySequence]:
        if self._sequences is None:
            self._sequences = [
                QKeySequence(c.shortcut) for c in self._commands.with_shortcuts() if c.shortcut
            ]
        return self._sequences

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.ShortcutOverride or not isinstance(event, QKeyEvent):
            return False
        if not event.modifiers() & _COMMAND_MODIFIERS or not isinstance(watched, QWidget):
            return False
        if watched.window() is not self._window or any(event.matches(k) for k in _FIELD_KEYS):
            return False
        pressed = QKeySequence(event.keyCombination())
        for sequence in self._command_sequences():
            if sequence.matches(pressed) == QKeySequence.SequenceMatch.ExactMatch:
                event.ignore()  # not the field's: the shortcut map gets it
                return True
        return False


# "Anywhere" shortcuts by what they are for: going places first, the app's own keys last.
_SECTION_ORDER = ("Navigate", "Runs", "Insights", "Help", "App")


def shortcut_groups(commands: list[Command]) -> list[tuple[str, list[Command]]]:
    """The `?` overlay's groups in order: "Anywhere" (by section: Go to… in the sidebar's
    order, then search, then the rest, Help and Quit last), then each page's own keys in the
    sidebar's page order, each in the order the page declares them."""
    anywhere = [c for c in commands if c.scope == "window"]
    rank = {section: i for i, section in enumerate(_SECTION_ORDER)}
    # sorted() is stable: within a section, the registry's order (go.chat, go.agents, ...).
    anywhere.sort(key=lambda c: rank.get(c.section, len(_SECTION_ORDER) - 2))
    groups: list[tuple[str, list[Command]]] = [("Anywhere", anywhere)] if anywhere else []
    page_order = [spec.id for spec in PAGES]
    by_page: dict[str, list[Command]] = {}
    for command in commands:
        if command.scope != "window":
            by_page.setdefault(command.page_id or "", []).append(command)
    titles = {spec.id: spec.title for spec in PAGES}
    for page_id in sorted(
        by_page, key=lambda p: page_order.index(p) if p in page_order else len(page_order)
    ):
        title = titles.get(page_id, page_id.capitalize())
        groups.append((f"{title} page", by_page[page_id]))
    return groups


class ShortcutsDialog(QDialog):
    """Every command with a shortcut, from the registry, grouped by where it works."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(520, 560)
        layout = QVBoxLayout(self)
        title = QLabel("Keyboard shortcuts")
        title.setObjectName("PageTitle")
        layout.addWidget(title)
        tree = QTreeWidget()
        tree.setObjectName("ShortcutTree")
        tree.setColumnCount(2)
        tree.setHeaderLabels(["Shortcut", "Command"])
        tree.setRootIsDecorated(False)
        tree.setSelectionMode(QTreeWidget.SelectionMode.NoSelection)
        tree.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        bold = QFont()
        bold.setBold(True)
        for where, commands in shortcut_groups(ctx.commands.with_shortcuts()):
            header = QTreeWidgetItem([where, ""])
            header.setFirstColumnSpanned(True)
            header.setFont(0, bold)
            tree.addTopLevelItem(header)
            for command in commands:
                keys = QKeySequence(command.shortcut or "").toString(
                    QKeySequence.SequenceFormat.NativeText
                )
                header.addChild(QTreeWidgetItem([keys, command.title]))
            header.setExpanded(True)
        tree.setItemsExpandable(False)
        tree.resizeColumnToContents(0)
        tree.setColumnWidth(0, max(tree.columnWidth(0) + 24, 120))
        layout.addWidget(tree)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


def app_icon() -> QIcon:
    from ato_desktop.ui.resources import icon_path

    return QIcon(str(icon_path()))
