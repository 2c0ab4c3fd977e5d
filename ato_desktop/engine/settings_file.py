"""settings.json in the data directory: settings the desktop app and the CLI share.

Sections by feature ({"regressions": {...}}); unknown sections and keys are kept on save, so an
older app never drops what a newer one wrote. A file that is not valid JSON, or a section with a
bad value, is reported with a clear error and never overwritten: saving refuses until the user
fixes or removes it. Writes are atomic (a temporary file renamed into place).
"""

from __future__ import annotations

import json

from ato_desktop.core.regressions import ThresholdError, Thresholds
from ato_desktop.store.atomic_file import atomic_text_file
from ato_desktop.store.paths import DataPaths

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:
    from typing import Any, Final

MAX_BYTES: Final = 1_000_000
REGRESSIONS: Final = "regressions"


class SettingsFileError(Exception):
    """settings.json cannot be read or a value in it is invalid; says which and where."""


def load_settings(paths: DataPaths) -> dict[str, Any]:
    """The whole file ({} when there is none)."""
    target = paths.settings_file
    try:
        if target.stat().st_size > MAX_BYTES:
            raise SettingsFileError(f"{target} is over 1 MB: not a settings file.")
        raw = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except UnicodeDecodeError as exc:
        raise SettingsFileError(f"{target} is not UTF-8 text.") from exc
    except OSError as exc:
        raise SettingsFileError(f"Cannot read {target}: {exc.strerror or exc}.") from exc
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SettingsFileError(
            f"{target} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})."
        ) from exc
    except (ValueError, RecursionError) as exc:  # a 5,000-digit number; [[[[... too deep
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise SettingsFileError(f"{target} is not valid JSON ({reason}).") from None
    if not isinstance(data, dict):
        raise SettingsFileError(f"{target} must hold a JSON object.")
    return data


def regression_thresholds(paths: DataPaths) -> Thresholds:
    section = load_settings(paths).get(REGRESSIONS) or {}
    if not isinstance(section, dict):
        raise SettingsFileError(f'"{REGRESSIONS}" in {paths.settings_file} must be an object.')
    try:
        return Thresholds.from_dict(section)
    except (ThresholdError, TypeError) as exc:
        raise SettingsFileError(f"{paths.settings_file}: {REGRESSIONS}: {exc}") from exc


def save_regression_thresholds(paths: DataPaths, thresholds: Thresholds) -> None:
    """Write the section, keeping everything else in the file."""
    data = load_settings(paths)  # raises on a broken file: it is not overwritten
    data[REGRESSIONS] = thresholds.as_dict()
    with atomic_text_file(paths.settings_file) as handle:
        handle.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
    _announce(paths, REGRESSIONS)  # an open app shows the new values


def save_section(paths: DataPaths, name: str, section: dict[str, Any]) -> None:
    """Write one section (e.g. "retention"), keeping everything else in the file."""
    data = load_settings(paths)  # raises on a broken file: it is not overwritten
    data[name] = section
    with atomic_text_file(paths.settings_file) as handle:
        handle.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
    _announce(paths, name)  # an open app shows the new values


def _announce(paths: DataPaths, section: str) -> None:
    # The change feed and the events' classes load with a save, not with every reader of the
    # settings (`insights regressions` reads its thresholds here on each run).
    from ato_desktop.core.events import SettingsChanged
    from ato_desktop.store.change_feed import announce

    announce(paths.database, SettingsChanged(section))


DISPATCH: Final = "dispatch"
DEFAULT_MAX_RETRY_WAIT_S: Final = 60.0


def max_retry_wait_s(paths: DataPaths) -> float:
    """The longest Retry-After a dispatch waits out (settings.json "dispatch".max_retry_wait_s,
    seconds, default 60); a rate limit asking for longer fails the run at once as rate_limit.
    Raises SettingsFileError for a bad value."""
    section = load_settings(paths).get(DISPATCH) or {}
    if not isinstance(section, dict):
        raise SettingsFileError(f'"{DISPATCH}" in {paths.settings_file} must be an object.')
    value = section.get("max_retry_wait_s", DEFAULT_MAX_RETRY_WAIT_S)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 10**7:
        raise SettingsFileError(
            f"{paths.settings_file}: {DISPATCH}.max_retry_wait_s must be a number of seconds "
            f"(0 or more), not {json.dumps(value)}."
        )
    return float(value)
