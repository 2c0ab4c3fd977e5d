"""Which process owns a running run: a lock file held for the life of the process.

The kernel releases the lock when a process dies, even by kill -9, so "can I take this lock?"
answers "is the owner dead?" without pids (which get reused) or clocks. Several processes (the app,
a CLI dispatch, a second CLI) can dispatch against one log; start-up recovery only interrupts the
runs of owners that are gone.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from ato_desktop.core.ids import uuid7

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:
    from typing import IO

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(handle: IO[bytes]) -> bool:
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

else:
    import fcntl

    def _try_lock(handle: IO[bytes]) -> bool:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False


def try_lock(handle: IO[bytes] | IO[str]) -> bool:
    """Take an exclusive OS lock on the open file without waiting; False when another process
    holds it. The lock lasts until the handle closes or the process dies (kill -9 included)."""
    return _try_lock(handle)  # type: ignore[arg-type]


class ProcessLease:
    """This process's lease: a token written on the runs it owns."""

    def __init__(self, leases_dir: Path) -> None:
        leases_dir.mkdir(parents=True, exist_ok=True)
        self.token = uuid7()
        self._dir = leases_dir
        self._path = leases_dir / f"{self.token}.lock"
        self._handle: IO[bytes] | None = open(self._path, "wb")  # noqa: SIM115 - held for life
        if not _try_lock(self._handle):  # pragma: no cover - a fresh uuid cannot be held
            raise RuntimeError(f"could not lock {self._path}")
        # The pid is for people reading the directory; the lock is what counts, so a full disk
        # must not stop the process from starting. Unbuffered: closing has nothing to flush.
        with contextlib.suppress(OSError):
            os.write(self._handle.fileno(), f"{os.getpid()}\n".encode())

    @property
    def leases_dir(self) -> Path:
        """The directory of every process's lease (to ask whether another owner lives)."""
        return self._dir

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
            with contextlib.suppress(OSError):
                self._path.unlink()


def owner_is_alive(leases_dir: Path, token: str | None) -> bool:
    """True while the process holding token's lease lives. No token or no file: dead."""
    if not token:
        return False
    path = leases_dir / f"{token}.lock"
    try:
        handle = open(path, "rb+")  # noqa: SIM115
    except FileNotFoundError:
        return False
    with handle:
        if _try_lock(handle):
            # We got it, so the owner is gone; tidy the stale file.
            with contextlib.suppress(OSError):
                path.unlink()
            return False
        return True
