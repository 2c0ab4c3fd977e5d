"""The app's own commands, declared as data and bound late like the pages' (ui/commands.py): the
main window's ("window": navigation, help, quit) and the tray's ("tray": what acts on every
process's runs and on the scheduler). The tray's menu is built from the same registry, so each
of its commands is also in the palette and the menus, and Quit is one command everywhere.
"""

from __future__ import annotations

from ato_desktop.ui.commands import Command
from ato_desktop.ui.pages.registry import PAGES

WINDOW = "window"  # the main window (ui/main_window.py)
TRAY = "tray"  # the tray (ui/tray.py), there once the workspace is open

GO_COMMANDS: tuple[Command, ...] = tuple(
    Command(
        f"go.{spec.id}",
        f"Go to {spec.title}",
        section="Navigate",
        shortcut=spec.shortcut,
        target=WINDOW,
        method="navigate",
        args=(spec.id,),
    )
    for spec in PAGES
    if spec.in_nav
)

WINDOW_COMMANDS: tuple[Command, ...] = (
    Command(
        "help.shortcuts",
        "Keyboard shortcuts",
        section="Help",
        shortcut="?",
        description="List every shortcut",
        target=WINDOW,
        method="show_shortcuts",
    ),
    Command("app.quit", "Quit", section="App", shortcut="Ctrl+Q", target=WINDOW, method="quit_app"),
    Command(
        "app.open_data_dir",
        "Open data folder",
        section="App",
        description="The folder of the log, settings and archives",
        target=WINDOW,
        method="open_data_dir",
    ),
)

TRAY_COMMANDS: tuple[Command, ...] = (
    # From the tray only: the window is where the menus and the palette are.
    Command(
        "app.open_window",
        "Open window",
        section="App",
        target=WINDOW,
        method="bring_to_front",
        in_menus=False,
        in_palette=False,
    ),
    Command(
        "runs.kill_stuck",
        "Kill all stuck",
        section="Runs",
        description="Kill every run, of any process, with no event for the stuck threshold",
        target=TRAY,
        method="kill_all_stuck",
        keywords=("stuck", "hung", "kill", "live"),
    ),
    Command(
        "schedules.toggle",
        "Pause schedules",  # "Resume schedules" while they are paused (the tray retitles it)
        section="Automations",
        description="Pause every schedule until resumed; or resume them",
        target=TRAY,
        method="toggle_schedules",
        keywords=("pause", "resume", "schedules", "cron"),
    ),
)

# The tray menu's fixed part, under the runs in flight (None: a separator).
TRAY_MENU: tuple[str | None, ...] = (
    "app.open_window",
    "runs.kill_stuck",
    "schedules.toggle",
    None,
    "app.quit",
)
