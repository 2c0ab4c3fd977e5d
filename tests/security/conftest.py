"""The Qt fixtures of tests/ui (a qasync loop pytest-qt drives, an app context over a real log)."""

from tests.ui.conftest import aloop, ui_ctx

__all__ = ["aloop", "ui_ctx"]
