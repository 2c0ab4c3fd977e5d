"""The page contract: what the main window needs from each page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QWidget

from ato_desktop.ui.commands import Command
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.pages.page_commands import commands_of_page

if TYPE_CHECKING:  # imported when a page is built: it loads asyncio, after the first paint
    from ato_desktop.ui.widgets.background import BackgroundWork


class Page(QWidget):
    """A top-level view. Built once the workspace is open (ctx.workspace is set)."""

    page_id: str = ""
    title: str = ""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        from ato_desktop.ui.widgets.background import BackgroundWork

        self.work: BackgroundWork = BackgroundWork(self, ctx)
        self.setObjectName(f"Page_{self.page_id}")

    def commands(self) -> list[Command]:
        """This page's commands (ui/pages/page_commands.py), bound to this page."""
        return [command.bound(self) for command in commands_of_page(self.page_id)]

    def activate(self, target: dict[str, Any] | None = None) -> None:
        """Called whenever the page is shown; target says what to show (e.g. a run id)."""
