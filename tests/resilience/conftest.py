"""The resilience suites reuse the UI's qasync loop (the fake provider, keys and workspace are
tests/conftest.py's, as everywhere)."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ui.conftest import aloop, open_ctx, ui_ctx

__all__ = ["aloop", "mounted_tmpfs", "open_ctx", "ui_ctx"]


@contextlib.contextmanager
def mounted_tmpfs(where: Path, options: str) -> Iterator[Path]:
    """A tmpfs mounted at where with options (e.g. "size=4m", "ro"); skips the test where this
    machine cannot mount one (not root, or a container without the capability)."""
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip() or 'not permitted'}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)
