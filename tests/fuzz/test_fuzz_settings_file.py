"""settings.json: any bytes load as an object or give SettingsFileError naming the file; saving
over a broken file refuses and leaves it byte for byte as the user wrote it."""

from __future__ import annotations

from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from ato_desktop.core.regressions import Thresholds
from ato_desktop.engine.settings_file import (
    SettingsFileError,
    load_settings,
    regression_thresholds,
    save_regression_thresholds,
)
from ato_desktop.store.paths import DataPaths
from tests.fuzz.strategies import BINARY, EDGE_NUMBERS, JSON_VALUES, deep_json, dumps_loose

THRESHOLD_KEYS = [
    "success_drop_pp",
    "p95_latency_rise_pct",
    "cost_rise_pct",
    "eval_drop_pp",
    "min_runs",
    "alpha",
    "x",
]
SECTIONS = st.dictionaries(st.sampled_from(THRESHOLD_KEYS), st.one_of(EDGE_NUMBERS, JSON_VALUES))
DOCUMENTS = st.one_of(
    st.fixed_dictionaries({"regressions": st.one_of(SECTIONS, JSON_VALUES)}).map(dumps_loose),
    JSON_VALUES.map(dumps_loose),
)
CONTENT = st.one_of(DOCUMENTS.map(str.encode), BINARY, st.just(deep_json(50_000).encode()))


@given(CONTENT)
@example(deep_json(50_000).encode())
@example(deep_json(50_000, "{").encode())
@example(b'{"regressions": {"min_runs": 1e999}}')
@example(b'{"regressions": {"alpha": NaN}}')
@example(b'{"regressions": {"min_runs": true}}')
def test_any_file_loads_or_says_why_and_is_never_overwritten(
    tmp_path_factory: object, content: bytes
) -> None:
    paths = DataPaths(Path(str(tmp_path_factory.mktemp("settings"))))  # type: ignore[attr-defined]
    paths.settings_file.write_bytes(content)
    try:
        data = load_settings(paths)
    except SettingsFileError as exc:
        assert str(paths.settings_file) in str(exc)
        try:
            save_regression_thresholds(paths, Thresholds())
        except SettingsFileError:
            assert paths.settings_file.read_bytes() == content
        else:
            raise AssertionError("a broken settings.json was overwritten") from None
        return
    assert isinstance(data, dict)
    try:
        thresholds = regression_thresholds(paths)
    except SettingsFileError as exc:
        assert str(paths.settings_file) in str(exc)
        return
    assert isinstance(thresholds, Thresholds)
    # A readable file keeps everything else when the section is saved.
    save_regression_thresholds(paths, thresholds)
    after = load_settings(paths)
    assert {k: v for k, v in after.items() if k != "regressions"} == {
        k: v for k, v in data.items() if k != "regressions"
    } or any(v != v for v in data.values())  # NaN never equals itself
