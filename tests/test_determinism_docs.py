"""Every determinism finding opens a page that explains it (docs/determinism/<pattern>.md), and
the pages say what the code does: the pattern's title and its advice, word for word."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ato_desktop.core.determinism_catalogue import (
    DOCS_DIR,
    PATTERNS,
    VARIATION_ADVICE,
    doc_path,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("pattern", sorted(PATTERNS))
def test_each_pattern_has_a_page_with_its_title_and_advice(pattern: str) -> None:
    spec = PATTERNS[pattern]
    page = REPO / doc_path(pattern)
    assert page.is_file(), f"{pattern} has no page at {doc_path(pattern)}"
    text = page.read_text(encoding="utf-8")
    assert text.splitlines()[0] == f"# {spec.title}"
    assert f"`{pattern}`" in text and spec.severity.label in text
    if pattern == "output_varies":
        for advice in VARIATION_ADVICE.values():
            assert advice.recommendation in text
            assert advice.after.strip() in text
    else:
        assert spec.recommendation in text
        assert spec.after.strip() in text
    if spec.model_recommendation:
        assert spec.model_recommendation in text


def test_the_index_links_every_page_and_the_bundle_ships_them() -> None:
    index = (REPO / DOCS_DIR / "README.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\(([a-z_]+)\.md\)", index))
    assert linked == set(PATTERNS)
    pages = {p.stem for p in (REPO / DOCS_DIR).glob("*.md")} - {"README"}
    assert pages == set(PATTERNS)  # no page for a pattern that no longer exists
    spec = (REPO / "packaging" / "ato-desktop.spec").read_text(encoding="utf-8")
    assert '"docs/determinism"' in spec
