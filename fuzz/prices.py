"""prices.json text -> parse_price_overrides (PriceFileError naming the place and problem)."""

from __future__ import annotations

import atheris

with atheris.instrument_imports(include=["ato_desktop"]):
    from ato_desktop.core.pricing import PriceFileError, parse_price_overrides

from harness import fuzz, text


def target(data: bytes) -> None:
    document = text(data)
    if document is not None:
        parse_price_overrides(document, source="prices.json")


if __name__ == "__main__":
    fuzz(target, (PriceFileError,))
