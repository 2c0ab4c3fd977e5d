"""The palette's window commands: open it (Ctrl+K, Cmd+K on macOS) and jump to each Insights
sub-tab. Kept light: the palette itself is imported when first opened."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from ato_desktop.ui.commands import Command
from ato_desktop.ui.context import AppContext

if TYPE_CHECKING:
    from ato_desktop.ui.palette.palette_dialog import CommandPalette

OPEN_COMMAND = "palette.open"

# The Insights sub-tabs (ids as insights_page's *_TAB constants; a test opens each one).
INSIGHTS_TABS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("regressions", "Regressions", ("regression", "worse", "alert")),
    ("compare", "Compare", ("diff", "runs", "version")),
    ("evals", "Evals", ("eval", "suite", "score", "judge")),
    ("cost", "Cost", ("cost", "cheaper", "savings", "budget")),
    ("pipelines", "Pipelines", ("pipeline", "stages", "group")),
)


# Listed first when the palette opens, before anything is typed: a way into every Insights tab.
OPENING_ACTIONS: tuple[str, ...] = tuple(f"go.insights.{tab}" for tab, _t, _k in INSIGHTS_TABS)


class PaletteHost:
    """Owns the window's palette, built on first use and reused."""

    def __init__(self, ctx: AppContext, window: QWidget) -> None:
        self.ctx = ctx
        self.window = window
        self.palette: CommandPalette | None = None

    def open(self) -> CommandPalette:
        if self.palette is None:
            from ato_desktop.ui.palette.palette_dialog import CommandPalette

            self.palette = CommandPalette(self.ctx, self.window)
        self.palette.open_palette()
        return self.palette


def register_palette_commands(
    ctx: AppContext, window: QWidget
) -> tuple[PaletteHost, list[QAction]]:
    """Register the palette's commands; returns its host and the actions for the window."""
    host = PaletteHost(ctx, window)
    actions = [
        ctx.commands.register(
            Command(
                OPEN_COMMAND,
                "Search everything…",
                host.open,
                section="Navigate",
                shortcut="Ctrl+K",
                description="Commands, agents, automations, MCP servers, secrets, runs, chats",
                keywords=("palette", "find", "search", "command"),
            )
        )
    ]
    for tab_id, title, keywords in INSIGHTS_TABS:
        actions.append(
            ctx.commands.register(
                Command(
                    f"go.insights.{tab_id}",
                    f"Go to Insights → {title}",
                    partial(ctx.navigate, "insights", {"tab": tab_id}),
                    section="Navigate",
                    description=f"Open the {title} tab of Insights",
                    keywords=("insights", *keywords),
                )
            )
        )
    return host, actions
