"""The metadata search syntax of the Runs filters, and its canonical form."""

from __future__ import annotations

import pytest

from ato_desktop.core.records import RunFilter
from ato_desktop.core.run_filter import (
    MetadataQuery,
    MetadataQueryError,
    format_metadata,
    normalize_filter,
    parse_metadata,
)


def test_terms_tags_error_class_and_duration() -> None:
    query = parse_metadata('user:alice tenant=acme error:timeout >30s region:"eu west"')
    assert query == MetadataQuery(
        (("region", "eu west"), ("tenant", "acme"), ("user", "alice")), "timeout", 30_000.0
    )
    assert parse_metadata(format_metadata(query)) == query
    assert parse_metadata("duration>=2m").min_duration_ms == 120_000
    assert parse_metadata("url:http://x/y").tags == (("url", "http://x/y"),)  # first mark splits
    assert parse_metadata("   ") == MetadataQuery()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("alice", "write key:value"),
        ("user:", "write key:value"),
        (":alice", "write key:value"),
        (">later", "'later' is not a duration"),
        ('user:"alice', "unbalanced quote"),
    ],
)
def test_unreadable_text_says_which_part(text: str, message: str) -> None:
    with pytest.raises(MetadataQueryError, match=message):
        parse_metadata(text)


def test_canonical_form_sorts_tags_and_drops_empty_limits() -> None:
    flt = normalize_filter(
        RunFilter(tags=(("user", "b"), ("tenant", "a")), min_duration_ms=0, error_class="")
    )
    assert flt.tags == (("tenant", "a"), ("user", "b"))
    assert flt.min_duration_ms is None and flt.error_class is None
