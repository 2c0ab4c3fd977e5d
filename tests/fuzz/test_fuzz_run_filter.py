"""The Runs page's metadata search: any text parses or gets MetadataQueryError with a message."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from ato_desktop.core.run_filter import (
    MetadataQuery,
    MetadataQueryError,
    format_metadata,
    parse_metadata,
)
from tests.fuzz.strategies import HOSTILE_TEXT

TERMS = st.lists(
    st.one_of(
        HOSTILE_TEXT,
        st.sampled_from([">", ">=", "duration>", "error:", ":", "=", '"', "'", "\\"]),
        st.from_regex(r">=?\d{1,400}(\.\d+)?(ms|s|m|h|d|w)", fullmatch=True),
        st.from_regex(r"[a-z]{1,5}[:=][^\s]{0,8}", fullmatch=True),
    ),
    max_size=6,
).map(" ".join)


@given(TERMS)
@example(">" + "9" * 400 + "s")  # a duration past float range
@example(">1e5s")
@example('region:"eu west')
@example(":=:=k2k2")  # was the tag ":" = ":=k2k2", written back as ":::=k2k2"
def test_any_search_text_parses_or_says_why(text: str) -> None:
    try:
        query = parse_metadata(text)
    except MetadataQueryError as exc:
        assert str(exc)
        return
    assert isinstance(query, MetadataQuery)
    if query.min_duration_ms is not None:
        assert query.min_duration_ms >= 0 and query.min_duration_ms != float("inf")
    # What the page writes back reads as the same query.
    assert parse_metadata(format_metadata(query)) == query
