"""A data directory ATO cannot write to: a clear error at start, from the CLI and the app.

CI runs as root, and chmod does not stop root: the read-only cases use a path under a regular
file (works everywhere), a tmpfs mounted read-only (where this machine can mount one) and chmod
0500 (skipped as root).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication, QLabel

from ato_desktop import cli
from ato_desktop.store.paths import DataDirError, DataPaths
from ato_desktop.ui.commands import CommandRegistry
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.main_window import MainWindow
from ato_desktop.ui.theme import ThemeManager
from tests.resilience.conftest import mounted_tmpfs
from tests.test_cli import run_cli


def cli_error(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    """Run `runs list` in process against home; returns stderr after checking the exit code."""
    monkeypatch.setenv("ATO_HOME", str(home))
    assert cli.main(["runs", "list"]) == cli.EXIT_STORE
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("error: ATO can't ")
    assert "ATO_HOME=" in err
    return err


def test_a_data_dir_under_a_regular_file_is_a_clear_cli_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("keep me")
    err = cli_error(blocker / "ato", monkeypatch, capsys)
    assert f"ATO can't write to {blocker / 'ato'}: part of the path is a file" in err
    assert blocker.read_text() == "keep me"


def test_a_data_dir_that_is_a_file_is_a_clear_cli_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "ato"
    home.write_text("keep me")
    err = cli_error(home, monkeypatch, capsys)
    assert f"ATO can't use {home} as its data folder: it is a file" in err
    assert home.read_text() == "keep me"


def test_a_log_on_a_file_system_remounted_read_only_is_a_clear_error(tmp_path: Path) -> None:
    with mounted_tmpfs(tmp_path / "disk", "size=8m") as disk:
        home = disk / "ato"
        created = run_cli(home, "agents", "add", "w", "--runtime", "claude", "--model", "m")
        assert created.returncode == 0, created.stderr
        before = (home / "ato.sqlite3").read_bytes()
        remount = subprocess.run(
            ["mount", "-o", "remount,ro", str(disk)], capture_output=True, text=True, check=False
        )
        if remount.returncode != 0:
            pytest.skip(f"cannot remount read-only: {remount.stderr.strip()}")
        listed = run_cli(home, "agents", "list")
        assert listed.returncode == 3, listed.stderr
        assert listed.stderr.startswith(f"error: ATO can't write to {home}: the file system is")
        assert "read-only" in listed.stderr and "Traceback" not in listed.stderr
        assert (home / "ato.sqlite3").read_bytes() == before


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="root writes through chmod 0500; the other variants cover read-only data dirs",
)
def test_a_data_dir_without_write_permission_is_a_clear_error(tmp_path: Path) -> None:
    parent = tmp_path / "locked"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        with pytest.raises(DataDirError, match="permission denied"):
            DataPaths(parent / "ato").ensure()
    finally:
        parent.chmod(0o700)


def test_the_app_shows_the_error_in_its_failure_view(
    qapp: QApplication, aloop: Any, qtbot: Any, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("keep me")
    home = blocker / "ato"
    ctx = AppContext(CommandRegistry(), ThemeManager(qapp), DataPaths(home))
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(ctx.sig_workspace_failed, timeout=10_000):
        ctx.spawn(ctx.open_workspace())
    message = window.findChild(QLabel, "FailureMessage")
    assert message is not None and message.isVisible()
    assert f"ATO can't write to {home}" in message.text()
    assert "ATO_HOME=" in message.text()
