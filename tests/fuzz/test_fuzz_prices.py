"""prices.json: random JSON, wrong types, huge numbers, NaN, negatives -> PriceFileError with the
file's name; a bad file is never rewritten and the previous table stays in use."""

from __future__ import annotations

import math
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from ato_desktop.core.pricing import PriceFileError, parse_price_overrides
from ato_desktop.engine.prices import load_price_book, save_price_file
from ato_desktop.store.paths import DataPaths
from tests.fuzz.strategies import (
    BINARY,
    EDGE_NUMBERS,
    HOSTILE_TEXT,
    JSON_VALUES,
    deep_json,
    dumps_loose,
)

FIELDS = ["input_per_mtok", "output_per_mtok", "cache_read_per_mtok", "cache_write_per_mtok"]
PRICE = st.dictionaries(st.sampled_from([*FIELDS, "x"]), st.one_of(EDGE_NUMBERS, JSON_VALUES))
MODELS = st.dictionaries(HOSTILE_TEXT, st.one_of(PRICE, JSON_VALUES), max_size=3)
RUNTIME = st.fixed_dictionaries({}, optional={"default": PRICE, "models": MODELS, "y": JSON_VALUES})
DOCUMENTS = st.fixed_dictionaries(
    {},
    optional={
        "version": st.one_of(st.just(1), JSON_VALUES),
        "models": st.one_of(MODELS, JSON_VALUES),
        "runtimes": st.one_of(
            st.dictionaries(
                st.sampled_from(["claude", "codex", "openai-compatible", "gpt", ""]), RUNTIME
            ),
            JSON_VALUES,
        ),
    },
)
TEXTS = st.one_of(
    DOCUMENTS.map(dumps_loose),
    JSON_VALUES.map(dumps_loose),
    HOSTILE_TEXT,
    st.just(deep_json(50_000)),
)
GOOD = '{"version": 1, "models": {"m": {"input_per_mtok": 1, "output_per_mtok": 2}}}\n'


@given(TEXTS)
@example('{"models": {"m": {"input_per_mtok": 1e999, "output_per_mtok": 1}}}')
@example('{"models": {"m": {"input_per_mtok": NaN, "output_per_mtok": 1}}}')
@example('{"models": {"m": {"input_per_mtok": -1, "output_per_mtok": 1}}}')
@example('{"models": {"m": {"input_per_mtok": ' + "9" * 5000 + ', "output_per_mtok": 1}}}')
@example(deep_json(50_000, "{"))
def test_any_text_is_a_price_table_or_a_clear_error(text: str) -> None:
    try:
        overrides = parse_price_overrides(text, source="prices.json")
    except PriceFileError as exc:
        assert str(exc).startswith("prices.json")
        return
    for price in overrides.values():
        for value in (price.input_per_mtok, price.output_per_mtok):
            assert math.isfinite(value) and value >= 0


@given(st.one_of(TEXTS, BINARY))
def test_a_bad_file_is_refused_and_the_previous_one_kept(
    tmp_path_factory: object, content: str | bytes
) -> None:
    paths = DataPaths(Path(str(tmp_path_factory.mktemp("prices"))))  # type: ignore[attr-defined]
    save_price_file(paths, GOOD)
    previous = load_price_book(paths)
    before = paths.prices_file.read_bytes()
    text = content if isinstance(content, str) else content.decode("utf-8", "replace")
    try:
        save_price_file(paths, text)
    except PriceFileError as exc:
        assert str(paths.prices_file) in str(exc)
        assert paths.prices_file.read_bytes() == before  # not touched, not half-written
        assert load_price_book(paths).overrides == previous.overrides
        leftovers = [p.name for p in paths.root.iterdir() if p.name != paths.prices_file.name]
        assert not leftovers  # no temporary file left behind
    # The same content put there by hand: loading says why, or gives a table.
    raw = content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass")
    paths.prices_file.write_bytes(raw)
    try:
        load_price_book(paths)
    except PriceFileError as exc:
        assert str(paths.prices_file) in str(exc)


def test_the_workspace_keeps_pricing_with_the_previous_table(tmp_path: Path) -> None:
    from ato_desktop.engine.workspace import Workspace

    ws = Workspace.open(DataPaths(tmp_path))
    try:
        ws.save_prices(GOOD)
        table = ws.prices
        for bad in (
            '{"models": {"m": {"input_per_mtok": NaN, "output_per_mtok": 1}}}',
            deep_json(50_000),
            '{"models": {"m": {"input_per_mtok": ' + "9" * 5000 + "}}}",
        ):
            try:
                ws.save_prices(bad)
            except PriceFileError:
                pass
            else:
                raise AssertionError(f"accepted {bad[:60]!r}")
            assert ws.prices is table
            paths = DataPaths(tmp_path)
            paths.prices_file.write_text(bad)  # edited by hand, then reloaded
            try:
                ws.reload_prices()
            except PriceFileError as exc:
                assert str(paths.prices_file) in str(exc)
            assert ws.prices is table  # still pricing with the last good table
    finally:
        ws.close()
