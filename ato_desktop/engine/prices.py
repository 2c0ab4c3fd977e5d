"""Load the user's prices.json from the data directory into a PriceBook."""

from __future__ import annotations

from ato_desktop.core.pricing import PriceBook, PriceFileError, parse_price_overrides
from ato_desktop.store.paths import DataPaths

__all__ = ["PriceFileError", "load_price_book"]


def load_price_book(paths: DataPaths) -> PriceBook:
    """A PriceBook with the overrides in ``paths.prices_file``, or none when there is no file.

    A malformed file raises PriceFileError naming the file, the place and the problem; the file
    is only ever read, never rewritten or moved aside, so the user's edit is never lost.
    """
    path = paths.prices_file
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return PriceBook()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise PriceFileError(f"{path}: cannot be read: {reason}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PriceFileError(
            f"{path}: not UTF-8 text (invalid byte at offset {exc.start}); save it as UTF-8"
        ) from None
    return PriceBook(parse_price_overrides(text, source=str(path)))
