"""Where the app's resource files (icons) are: the repository's top-level resources/."""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[2] / "resources"


def icon_path() -> Path:
    return RESOURCES / "icons" / "ato-desktop.svg"
