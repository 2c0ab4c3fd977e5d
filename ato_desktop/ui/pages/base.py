"""The page contract: what the main window needs from each page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QWidget

from ato_desktop.ui.commands import Command
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.widgets.background import BackgroundWork


class Page(QWidget):
    """A top-level view. Built once the workspace is open (ctx.workspace is set)."""

    page_id: str = ""
    title: str = ""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.work = BackgroundWork(self, ctx)
        self.setObjectName(f"Page_{self.page_id}")

    def commands(self) -> list[Command]:
        """Commands this page offers (registered once, after construction)."""
        return []

    def page_command(
        self,
        cid: str,
        title: str,
        callback: Callable[[], object],
        shortcut: str | None = None,
        description: str = "",
        *,
        keywords: tuple[str, ...] = (),
    ) -> Command:
        """A command in this page's section whose shortcut works only while the page shows."""
        return Command(
            cid,
            title,
            callback,
            section=self.title,
            shortcut=shortcut,
            description=description,
            scope="page",
            page_id=self.page_id,
            keywords=keywords,
        )

    def activate(self, target: dict[str, Any] | None = None) -> None:
        """Called whenever the page is shown; target says what to show (e.g. a run id)."""
