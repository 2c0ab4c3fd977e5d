"""`ato-desktop self-test` (the packaged build's smoke test) on the unbundled app.

It runs in a process of its own, as `make package` runs it on the bundle: it owns the
QApplication and the event loop from start to exit.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ato_desktop import self_test
from ato_desktop.store.schema import LATEST_VERSION

REPO = Path(__file__).resolve().parents[1]
CHECKS = (
    "qt",
    "window",
    "execution log",
    "prices",
    "tokens",
    "pages",
    "tiktoken",
    "sdks",
    "keyring",
    "tls",
    "resources",
)


def run_self_test(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        # Never the developer's real keyring (the self-test only asks which backend is in use).
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        PYTHONPATH=str(REPO),
    )
    return subprocess.run(
        [sys.executable, "-m", "ato_desktop", "self-test", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=REPO,
        start_new_session=True,
    )


def test_self_test_opens_the_log_paints_the_window_and_exits_0(tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = run_self_test("--data-dir", str(home))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    for check in CHECKS:
        assert any(line.startswith("ok") and line[6:].startswith(check) for line in lines), check
    assert "self-test passed" in lines[-1]
    assert "welcome" in done.stdout  # an empty log lands on the welcome page
    # The log it opened is a real one, created and migrated to the latest schema.
    with sqlite3.connect(home / "ato.sqlite3") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION


def test_a_damaged_log_fails_the_self_test_clearly_and_is_left_alone(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    damaged = b"not a database" * 100
    (home / "ato.sqlite3").write_bytes(damaged)
    done = run_self_test("--data-dir", str(home))
    assert done.returncode == 1
    assert "FAIL  execution log: could not open it" in done.stderr
    assert "self-test FAILED" in done.stderr
    assert (home / "ato.sqlite3").read_bytes() == damaged


def test_a_bad_command_line_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        self_test.main(["--timeout", "0"])
    assert exited.value.code == 2
    assert "--timeout must be positive" in capsys.readouterr().err
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    assert self_test.main(["--data-dir", str(not_a_dir)]) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert not_a_dir.read_text() == "x"
