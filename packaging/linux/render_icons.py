"""Render the app icon (resources/icons/ato-desktop.svg) into the hicolor theme sizes.

    .venv/bin/python packaging/linux/render_icons.py          # (re)write the PNGs
    .venv/bin/python packaging/linux/render_icons.py --check  # exit 1 if any is missing or stale

Writes packaging/linux/icons/hicolor/<N>x<N>/apps/<APP_ID>.png for every size in SIZES and a
copy of the SVG as scalable/apps/<APP_ID>.svg. The PNGs are committed (a package build needs
no renderer); tests/test_packaging.py checks they still match the SVG. Rendering uses Qt's own
SVG renderer (PySide6.QtSvg), the one the app draws its icons with.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ROOT = Path(__file__).resolve().parents[2]
APP_ID = "dev.ato.Desktop"  # ato_desktop.APP_ID: the .desktop file, metainfo and icon name
SOURCE_SVG = ROOT / "resources" / "icons" / "ato-desktop.svg"
HICOLOR = Path(__file__).resolve().parent / "icons" / "hicolor"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
# Rendering the same SVG twice gives the same pixels; a later Qt may anti-alias an edge a
# step differently, which is not a stale icon.
MAX_CHANNEL_DIFFERENCE = 8


def png_path(size: int) -> Path:
    return HICOLOR / f"{size}x{size}" / "apps" / f"{APP_ID}.png"


def svg_path() -> Path:
    return HICOLOR / "scalable" / "apps" / f"{APP_ID}.svg"


def render(size: int, source: Path = SOURCE_SVG) -> QImage:
    """The SVG drawn into a size x size transparent ARGB image."""
    renderer = QSvgRenderer(str(source))
    if not renderer.isValid():
        raise ValueError(f"{source} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return image


def largest_difference(a: QImage, b: QImage) -> int:
    """The largest difference of one colour channel between two images of the same size."""
    a = a.convertToFormat(QImage.Format.Format_ARGB32)
    b = b.convertToFormat(QImage.Format.Format_ARGB32)
    if a.size() != b.size():
        return 255
    if bytes(a.constBits()) == bytes(b.constBits()):
        return 0
    worst = 0
    for y in range(a.height()):
        for x in range(a.width()):
            pa, pb = a.pixel(x, y), b.pixel(x, y)
            for shift in (0, 8, 16, 24):
                worst = max(worst, abs(((pa >> shift) & 0xFF) - ((pb >> shift) & 0xFF)))
    return worst


def problems() -> list[str]:
    """What is missing or stale, one line each (empty when everything matches)."""
    found = []
    if not svg_path().is_file() or svg_path().read_bytes() != SOURCE_SVG.read_bytes():
        found.append(f"{svg_path().relative_to(ROOT)}: missing or not a copy of {SOURCE_SVG.name}")
    for size in SIZES:
        path = png_path(size)
        image = QImage(str(path))
        if image.isNull():
            found.append(f"{path.relative_to(ROOT)}: missing or not an image")
        elif image.width() != size or image.height() != size:
            found.append(f"{path.relative_to(ROOT)}: {image.width()}x{image.height()}")
        elif largest_difference(image, render(size)) > MAX_CHANNEL_DIFFERENCE:
            found.append(f"{path.relative_to(ROOT)}: does not match {SOURCE_SVG.name}")
    return found


def write() -> None:
    svg_path().parent.mkdir(parents=True, exist_ok=True)
    svg_path().write_bytes(SOURCE_SVG.read_bytes())
    for size in SIZES:
        path = png_path(size)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not render(size).save(str(path), "PNG"):
            raise OSError(f"could not write {path}")
        print(f"wrote {path.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if stale")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    if args.check:
        found = problems()
        for line in found:
            print(line, file=sys.stderr)
        if found:
            print("icons are stale: run packaging/linux/render_icons.py", file=sys.stderr)
        return 1 if found else 0
    write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
