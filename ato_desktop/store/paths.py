"""Where ATO keeps its files: one data directory, overridable with ATO_HOME."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from ato_desktop import APP_NAME

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
    def tiktoken_cache(self) -> Path:
        return self.cache_dir / "tiktoken"

    @property
    def leases_dir(self) -> Path:
        return self.root / "leases"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    def ensure(self) -> DataPaths:
        """Create the directories (0700 on POSIX: the log holds prompts)."""
        for path in (self.root, self.cache_dir, self.leases_dir, self.log_dir):
            path.mkdir(parents=True, exist_ok=True)
            if os.name == "posix":
                path.chmod(0o700)
        return self


def data_paths() -> DataPaths:
    """The data directory: $ATO_HOME if set, else the platform's user data dir."""
    override = os.environ.get("ATO_HOME")
    if override:
        return DataPaths(Path(override).expanduser().resolve())
    return DataPaths(Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)))


def offline() -> bool:
    """True when nothing may be downloaded (ATO_OFFLINE=1; the test suite sets it)."""
    return os.environ.get("ATO_OFFLINE", "") not in ("", "0", "false", "no")
