"""load_price_book: prices.json from the data directory, read-only, with clear errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ato_desktop.core.models import Cost, CostSource, TokenUsage
from ato_desktop.core.pricing import PriceFileError
from ato_desktop.engine.prices import load_price_book
from ato_desktop.store.paths import DataPaths, data_paths


@pytest.fixture
def paths(ato_home: Path) -> DataPaths:
    return data_paths().ensure()


def snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``directory`` with its bytes and mtime, to prove nothing changed."""
    return {
        str(path.relative_to(directory)): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def test_no_file_means_no_overrides(paths: DataPaths) -> None:
    assert not paths.prices_file.exists()
    book = load_price_book(paths)
    assert book.overrides == {}
    assert book.cost("openai-compatible", "my-local-llama", TokenUsage(10, 10)) == Cost.unknown()
    assert not paths.prices_file.exists()  # nothing is created on the user's behalf


def test_overrides_from_the_file_are_applied(paths: DataPaths) -> None:
    paths.prices_file.write_text(
        json.dumps(
            {
                "models": {"my-local-llama": {"input_per_mtok": 0, "output_per_mtok": 0}},
                "runtimes": {
                    "codex": {"models": {"gpt-4o": {"input_per_mtok": 1, "output_per_mtok": 1}}}
                },
            }
        ),
        encoding="utf-8",
    )
    book = load_price_book(paths)
    usage = TokenUsage(input_tokens=500_000, output_tokens=500_000)
    assert book.cost("openai-compatible", "my-local-llama", usage) == Cost(
        0.0, CostSource.ESTIMATED
    )
    cost = book.cost("codex", "gpt-4o", usage)
    assert cost.source is CostSource.ESTIMATED
    assert cost.usd == pytest.approx(1.0)


def test_a_byte_order_mark_is_tolerated(paths: DataPaths) -> None:
    paths.prices_file.write_bytes(
        b'\xef\xbb\xbf{"models": {"m": {"input_per_mtok": 1, "output_per_mtok": 2}}}'
    )
    assert load_price_book(paths).is_priced("claude", "m")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"models": {"m": {"input_per_mtok": 1, "output_per_mtok": 2},}}', "not valid JSON"),
        (b"", "the file is empty"),
        (b'{"models": {"m": {"input_per_mtok": -3, "output_per_mtok": 2}}}', "cannot be negative"),
        (b'{"modles": {}}', 'did you mean "models"?'),
        (b'{"models": {"m": {"input_per_mtok": "1", "output_per_mtok": 2}}}', "must be a number"),
        (b'{"models": {"m": {"input_per_mtok": 1, "output_per_mtok": 2}}}\xff', "not UTF-8"),
    ],
)
def test_a_malformed_file_raises_a_clear_error_and_is_left_untouched(
    paths: DataPaths, content: bytes, message: str
) -> None:
    paths.prices_file.write_bytes(content)
    os.utime(paths.prices_file, ns=(1_000_000_000, 1_000_000_000))  # a distinctive mtime
    before = snapshot(paths.root)

    with pytest.raises(PriceFileError) as excinfo:
        load_price_book(paths)

    error = str(excinfo.value)
    assert error.startswith(f"{paths.prices_file}: ")  # the CLI shows this line as it is
    assert message in error
    assert snapshot(paths.root) == before  # not rewritten, renamed or backed up


def test_an_unreadable_path_is_a_clear_error(paths: DataPaths) -> None:
    paths.prices_file.mkdir()
    with pytest.raises(PriceFileError, match="cannot be read"):
        load_price_book(paths)
    assert paths.prices_file.is_dir()
