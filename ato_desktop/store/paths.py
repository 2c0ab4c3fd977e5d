"""Where ATO keeps its files: one data directory, overridable with ATO_HOME."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

from ato_desktop import APP_NAME
from ato_desktop.store.atomic_file import remove_stale_parts_in
from ato_desktop.store.database import StoreError

DB_FILENAME = "ato.sqlite3"
PRICES_FILENAME = "prices.json"
SETTINGS_FILENAME = "settings.json"


@dataclass(frozen=True, slots=True)
class DataPaths:
    """Every path ATO writes to, derived from one root."""

    root: Path

    @property
    def database(self) -> Path:
        return self.root / DB_FILENAME

    @property
    def prices_file(self) -> Path:
        return self.root / PRICES_FILENAME

    @property
    def settings_file(self) -> Path:
        """Settings shared by the app and the CLI (Insights thresholds...)."""
        return self.root / SETTINGS_FILENAME

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    @property
    def exports_in_progress_dir(self) -> Path:
        """Where each running file export notes its target (a locked file per export)."""
        return self.cache_dir / "exports"

    @property
    def tiktoken_cache(self) -> Path:
        return self.cache_dir / "tiktoken"

    @property
    def leases_dir(self) -> Path:
        return self.root / "leases"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    def ensure(self) -> DataPaths:
        """Create the directories (0700 on POSIX: the log holds prompts) and check that ATO can
        write there; DataDirError says what is wrong and what to do, before anything opens."""
        if self.root.exists() and not self.root.is_dir():
            raise DataDirError(
                f"ATO can't use {self.root} as its data folder: it is a file, not a folder. "
                f"{_CHOOSE_ANOTHER}"
            )
        try:
            for path in (self.root, self.cache_dir, self.leases_dir, self.log_dir):
                path.mkdir(parents=True, exist_ok=True)
                if os.name == "posix":
                    path.chmod(0o700)
            _probe_writable(self.root)
        except OSError as exc:
            raise DataDirError(_cannot_write(self.root, exc)) from exc
        # settings.json, prices.json: a write killed half-way left its temporary file.
        remove_stale_parts_in(self.root)
        return self


class DataDirError(StoreError):
    """The data directory cannot be created or written (read-only, permissions, a file)."""


_CHOOSE_ANOTHER = (
    "Choose another folder with ATO_HOME=/path/to/folder, or fix the folder's permissions."
)


def _cannot_write(root: Path, exc: OSError) -> str:
    reason = {
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ENOSPC: "the disk is full",
        errno.ENOTDIR: "part of the path is a file, not a folder",
        errno.EEXIST: "part of the path is a file, not a folder",
    }.get(exc.errno or 0, (exc.strerror or str(exc)).lower())
    where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(root) else ""
    return f"ATO can't write to {root}: {reason}{where}. {_CHOOSE_ANOTHER}"


def _probe_writable(root: Path) -> None:
    """Create and remove a file in root: directories that exist may still be read-only."""
    import tempfile  # only here: a reader never probes, and tempfile loads random

    fd, name = tempfile.mkstemp(prefix=".ato-write-check-", dir=root)
    os.close(fd)
    os.unlink(name)


def data_paths() -> DataPaths:
    """The data directory: $ATO_HOME if set, else the platform's user data dir."""
    override = os.environ.get("ATO_HOME")
    if override:
        return DataPaths(Path(override).expanduser().resolve())
    import platformdirs  # here: with $ATO_HOME set (scripts, CI) it is never needed

    return DataPaths(Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)))


def offline() -> bool:
    """True when nothing may be downloaded (ATO_OFFLINE=1; the test suite sets it)."""
    return os.environ.get("ATO_OFFLINE", "") not in ("", "0", "false", "no")
