"""The pages of the main window, in navigation order. Add a page here and it gets a nav entry,
a "Go to" command with its shortcut, and a place in the palette.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from ato_desktop.ui.pages.base import Page


@dataclass(frozen=True)
class PageSpec:
    id: str
    title: str
    factory: str  # "module:Class", imported when the page is first built
    shortcut: str | None = None
    icon: str = ""  # resources/icons/<icon>.svg
    in_nav: bool = True


PAGES: tuple[PageSpec, ...] = (
    PageSpec("chat", "Chat", "ato_desktop.ui.pages.chat_page:ChatPage", "Ctrl+1", "nav-chat"),
    PageSpec(
        "agents", "Agents", "ato_desktop.ui.pages.agents_page:AgentsPage", "Ctrl+2", "nav-agents"
    ),
    PageSpec("runs", "Runs", "ato_desktop.ui.pages.runs_page:RunsPage", "Ctrl+3", "nav-runs"),
    PageSpec(
        "insights",
        "Insights",
        "ato_desktop.ui.pages.insights_page:InsightsPage",
        "Ctrl+4",
        "nav-insights",
    ),
    PageSpec(
        "automations",
        "Automations",
        "ato_desktop.ui.pages.automations_page:AutomationsPage",
        "Ctrl+5",
        "nav-automations",
    ),
    PageSpec(
        "settings",
        "Settings",
        "ato_desktop.ui.pages.settings_page:SettingsPage",
        "Ctrl+,",
        "nav-settings",
    ),
    PageSpec(
        "welcome",
        "Welcome",
        "ato_desktop.ui.pages.welcome_page:WelcomePage",
        None,
        "",
        in_nav=False,
    ),
)


def page_class(spec: PageSpec) -> type[Page]:
    module_name, _, class_name = spec.factory.partition(":")
    cls: type[Page] = getattr(importlib.import_module(module_name), class_name)
    return cls
