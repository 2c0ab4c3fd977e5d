"""What Insights -> Regressions reads, as plain functions run off the UI thread (no Qt).

The thresholds come from settings.json (engine.settings_file). A broken file is reported, never
overwritten; detection then runs with the default thresholds so the page still says something,
and the page says which thresholds it used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ato_desktop.core.regressions import Thresholds
from ato_desktop.engine.evals import version_case_scores
from ato_desktop.engine.regressions import (
    ChangeReport,
    EvalScores,
    RegressionReport,
    detect_regressions,
)
from ato_desktop.engine.settings_file import (
    SettingsFileError,
    regression_thresholds,
    save_regression_thresholds,
)
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.paths import DataPaths


@dataclass(frozen=True, slots=True)
class LoadedThresholds:
    thresholds: Thresholds  # the defaults when the file is broken
    error: str = ""  # why settings.json could not be read ("" when it could)


@dataclass(frozen=True, slots=True)
class Detection:
    """A detection run: its report and the thresholds it used."""

    report: RegressionReport
    settings: LoadedThresholds


def load_thresholds(paths: DataPaths) -> LoadedThresholds:
    try:
        return LoadedThresholds(regression_thresholds(paths))
    except SettingsFileError as exc:
        return LoadedThresholds(Thresholds(), str(exc))


def detect(store: ExecutionLog, paths: DataPaths) -> Detection:
    """Every config change of every agent, judged with the saved thresholds."""
    settings = load_thresholds(paths)
    return Detection(
        detect_regressions(store, settings.thresholds, eval_scores=_eval_scores(store)), settings
    )


def active_regression(store: ExecutionLog, paths: DataPaths, agent_id: str) -> ChangeReport | None:
    """The regression the agent lives with (its current version's change regressed), or None."""
    settings = load_thresholds(paths)
    report = detect_regressions(
        store, settings.thresholds, agent=agent_id, eval_scores=_eval_scores(store)
    )
    return report.active(agent_id)


def _eval_scores(store: ExecutionLog) -> EvalScores:
    """Version id -> its eval case scores (the newest run of each suite on that version)."""

    def scores(version_id: str) -> Sequence[tuple[str, float]]:
        return version_case_scores(store, version_id)

    return scores


def save_thresholds(paths: DataPaths, thresholds: Thresholds) -> None:
    """Raises SettingsFileError for a broken file, which is left as it is."""
    save_regression_thresholds(paths, thresholds)
