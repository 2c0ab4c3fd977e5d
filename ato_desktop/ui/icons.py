"""Line icons from resources/icons, tinted for the current theme."""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QIcon, QImage, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from ato_desktop.ui.resources import RESOURCES


@lru_cache(maxsize=128)
def _svg(name: str) -> str:
    return (RESOURCES / "icons" / f"{name}.svg").read_text(encoding="utf-8")


def tinted_icon(name: str, color: str, size: int = 36) -> QIcon:
    """The icon `name` (resources/icons/<name>.svg, drawn in currentColor) painted in color."""
    try:
        svg = _svg(name).replace("currentColor", color)
    except OSError:
        return QIcon()
    renderer = QSvgRenderer(QByteArray(svg.encode()))
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return QIcon(QPixmap.fromImage(image))


def nav_icon(name: str, color: str, selected_color: str) -> QIcon:
    """A nav icon: muted normally, selected colour when its item is selected."""
    icon = QIcon()
    for mode, tint in ((QIcon.Mode.Normal, color), (QIcon.Mode.Selected, selected_color)):
        pixmap = tinted_icon(name, tint).pixmap(36, 36)
        icon.addPixmap(pixmap, mode)
    return icon
