"""Load the user's prices.json from the data directory into a PriceBook."""

from __future__ import annotations

from ato_desktop.core.pricing import PriceBook, PriceFileError, parse_price_overrides
from ato_desktop.store.atomic_file import atomic_text_file
from ato_desktop.store.paths import DataPaths

__all__ = ["PriceFileError", "load_price_book", "save_price_file"]


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


def save_price_file(paths: DataPaths, text: str) -> int:
    """Validate text as prices.json and write it atomically; returns the override count.

    A malformed text raises PriceFileError (the parser's message) and the file on disk is not
    touched; a crash mid-write leaves the old file or the new one, never half of one.
    """
    path = paths.prices_file
    overrides = parse_price_overrides(text, source=str(path))
    with atomic_text_file(path, newline="\n") as handle:
        handle.write(text if text.endswith("\n") else text + "\n")
    return len(overrides)
