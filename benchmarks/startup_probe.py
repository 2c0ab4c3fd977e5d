"""Child process for the start-up benchmark: prints "painted" at the first paint and exits.

    python -m benchmarks.startup_probe bare   # a bare PySide6 main window (the baseline)
    python -m benchmarks.startup_probe ato    # ATO Desktop's main window, via ato_desktop.main

The parent measures from spawning this process to reading the line, so interpreter start-up,
imports and the first paint all count, on both sides alike.
"""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QMainWindow


class _FirstPaint(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and isinstance(watched, QMainWindow):
            sys.stdout.write("painted\n")
            sys.stdout.flush()
            os._exit(0)  # measure exactly to the first paint; nothing after it matters here
        return False


def main() -> None:
    mode = sys.argv[1]
    app = QApplication([sys.argv[0]])
    probe = _FirstPaint()
    app.installEventFilter(probe)
    if mode == "bare":
        window = QMainWindow()
        window.setWindowTitle("bare")
        window.resize(1280, 820)
        window.show()
        app.exec()
    else:
        from ato_desktop.ui.app import main as run_app

        run_app([sys.argv[0]])


if __name__ == "__main__":
    main()
