"""The Runs page's metadata search text -> parse_metadata (MetadataQueryError), and what the
page writes back reads as the same query."""

from __future__ import annotations

import atheris

with atheris.instrument_imports(include=["ato_desktop"]):
    from ato_desktop.core.run_filter import MetadataQueryError, format_metadata, parse_metadata

from harness import fuzz


def target(data: bytes) -> None:
    query = parse_metadata(data.decode("utf-8", "replace"))
    if parse_metadata(format_metadata(query)) != query:
        raise AssertionError(f"format_metadata does not read back: {query!r}")


if __name__ == "__main__":
    fuzz(target, (MetadataQueryError,))
