"""Skill files: random Markdown, binary, huge files and odd headers parse or get SkillParseError."""

from __future__ import annotations

from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from ato_desktop.core.automations import SkillSpec
from ato_desktop.core.skill_flow import MAX_STEPS, SkillParseError, parse_skill
from ato_desktop.engine.automations import read_skill_file
from tests.fuzz.strategies import BINARY, HOSTILE_TEXT

LINES = st.one_of(
    HOSTILE_TEXT,
    st.sampled_from(
        [
            "# Title",
            "#",
            "# # #",
            "## Step",
            "## step 1:",
            "## Step 2: Write",
            "## STEP 99 — x",
            "##Step 3",
            "## Steps",
            "## Step 1: Same",
            "## step 1: same",
            "```",
            "~~~",
            "    ```",
            "Agent:",
            "Agent: researcher",
            "Timeout: 90s",
            "Timeout: 0s",
            "Timeout: -5s",
            "Timeout: 1e9h",
            "Timeout: " + "9" * 400,
            "Timeout: ٣s",
            "On failure: retry 2",
            "On failure: retry 99999999999999999999",
            "On-failure: skip 3",
            "On failure: explode",
            "{input}",
            "{previous}",
            "{run.output}",
            "{{",
            "}}",
            "\r",
            "\t## Step 4",
        ]
    ),
)
MARKDOWN = st.lists(LINES, max_size=30).map("\n".join)


def _check(spec: SkillSpec) -> None:
    assert 1 <= len(spec.steps) <= MAX_STEPS
    names = [s.name.lower() for s in spec.steps]
    assert len(set(names)) == len(names)
    for stage in spec.steps:
        assert stage.template.strip()
        assert stage.timeout_s is None or 0 < stage.timeout_s < float("inf")
        assert stage.retries >= 0


@given(MARKDOWN)
@example("## Step 1\nTimeout: " + "9" * 400 + "\nGo.")
@example("## Step 1\n```\n## Step 2\n```\nx")
@example("## Step\n" * (MAX_STEPS + 1))
@example("## Step 1: a\nx\n## Step 2: A\ny\n## Step 3: a (2)\nz")
def test_any_markdown_is_a_flow_or_a_clear_error(text: str) -> None:
    try:
        spec = parse_skill(text, path="flow.md", agent="default")
    except SkillParseError as exc:
        assert str(exc).startswith("flow.md")
        return
    _check(spec)


@given(BINARY)
def test_any_bytes_on_disk_read_or_say_why(tmp_path_factory: object, data: bytes) -> None:
    path = Path(str(tmp_path_factory.mktemp("skill"))) / "flow.md"  # type: ignore[attr-defined]
    path.write_bytes(data)
    try:
        text = read_skill_file(str(path))
        spec = parse_skill(text, path=str(path), agent="default")
    except SkillParseError as exc:
        assert str(path) in str(exc)
        return
    _check(spec)


def test_a_huge_skill_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.md"
    path.write_text("## Step 1\n" + "x" * (2 * 1024 * 1024))
    try:
        read_skill_file(str(path))
    except SkillParseError as exc:
        assert "at most 1 MB" in str(exc)
    else:
        raise AssertionError("a 2 MB skill file was read")
