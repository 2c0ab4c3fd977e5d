"""packaging/: the desktop entry, AppStream metainfo and hicolor icons agree with the app.

The validators (desktop-file-utils, appstream) run when installed; `make package` installs them
and validates again before it builds.
"""

from __future__ import annotations

import configparser
import importlib.util
import re
import shutil
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from ato_desktop import APP_ID, APP_NAME, __version__

REPO = Path(__file__).resolve().parents[1]
LINUX = REPO / "packaging" / "linux"
DESKTOP_FILE = LINUX / f"{APP_ID}.desktop"
METAINFO = LINUX / f"{APP_ID}.metainfo.xml"


def load_render_icons() -> ModuleType:
    spec = importlib.util.spec_from_file_location("render_icons", LINUX / "render_icons.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DESKTOP_FILE, encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_entry_names_the_app_its_icon_and_its_command() -> None:
    entry = desktop_entry()
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert entry["Name"] == APP_NAME
    assert entry["Icon"] == APP_ID  # the hicolor icons are named after the app id
    assert entry["Exec"].split()[0] in scripts  # the command installed in bin/
    assert entry["Type"] == "Application" and entry["Terminal"] == "false"
    # On X11 Qt names the window's class after the application (ui.app sets it to APP_NAME).
    assert entry["StartupWMClass"] == APP_NAME


def test_metainfo_has_the_app_id_launchable_and_current_version() -> None:
    root = ET.parse(METAINFO).getroot()
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("name") == APP_NAME
    assert root.findtext("launchable") == DESKTOP_FILE.name
    assert root.find("provides/binary") is not None
    assert desktop_entry()["Exec"].split()[0] == root.findtext("provides/binary")
    versions = [release.get("version") for release in root.iter("release")]
    assert versions and versions[0] == __version__  # the newest release comes first


@pytest.mark.skipif(not shutil.which("desktop-file-validate"), reason="desktop-file-utils")
def test_desktop_file_validates() -> None:
    done = subprocess.run(
        ["desktop-file-validate", str(DESKTOP_FILE)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


@pytest.mark.skipif(not shutil.which("appstreamcli"), reason="appstream")
def test_metainfo_validates() -> None:
    done = subprocess.run(
        ["appstreamcli", "validate", "--no-net", str(METAINFO)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert not re.search(r"^[EW]:", done.stdout, re.MULTILINE), done.stdout


def test_hicolor_icons_are_the_svg_rendered_at_every_size(qapp: QApplication) -> None:
    icons = load_render_icons()
    assert icons.APP_ID == APP_ID
    for size in icons.SIZES:
        image = QImage(str(icons.png_path(size)))
        assert (image.width(), image.height()) == (size, size), size
        assert image.hasAlphaChannel()
    assert icons.svg_path().read_bytes() == icons.SOURCE_SVG.read_bytes()
    # Re-rendered now, the SVG gives the committed pixels (stale icons fail here).
    assert icons.problems() == []


def test_a_changed_svg_makes_the_icons_stale(qapp: QApplication, tmp_path: Path) -> None:
    icons = load_render_icons()
    svg = icons.SOURCE_SVG.read_text().replace("#2F6FEB", "#EB2F2F")
    changed = tmp_path / "changed.svg"
    changed.write_text(svg)
    size = icons.SIZES[0]
    stored = QImage(str(icons.png_path(size)))
    assert icons.largest_difference(stored, icons.render(size)) <= icons.MAX_CHANNEL_DIFFERENCE
    assert icons.largest_difference(stored, icons.render(size, changed)) > (
        icons.MAX_CHANNEL_DIFFERENCE
    )


def test_spec_bundles_the_resources_the_app_loads() -> None:
    from ato_desktop.ui.resources import RESOURCES

    spec = (REPO / "packaging" / "ato-desktop.spec").read_text()
    # ui.resources looks two levels above ato_desktop/ui/: the bundle's root, where the spec
    # puts resources/.
    assert RESOURCES == REPO / "resources"
    assert '"resources/icons"' in spec
    assert 'collect_submodules("ato_desktop")' in spec
