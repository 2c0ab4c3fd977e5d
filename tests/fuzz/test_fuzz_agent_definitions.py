"""Agent definitions from the command line and files: --param assignments, a system prompt
file of any bytes, base URLs and ceilings of any value. A clean config or AgentConfigError."""

from __future__ import annotations

import math
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from ato_desktop.core.models import AgentConfig
from ato_desktop.engine.agents import (
    AgentConfigError,
    parse_assignments,
    read_prompt_file,
    validate_config,
)
from tests.fuzz.strategies import BINARY, EDGE_NUMBERS, HOSTILE_TEXT, deep_json

URLS = st.one_of(
    HOSTILE_TEXT,
    st.sampled_from(
        ["http://[::1", "http://[::1]:x/v1", "https://", "file:///etc", "http://h\x00"]
    ),
)
MONEY = st.one_of(st.none(), EDGE_NUMBERS.filter(lambda v: not isinstance(v, int) or v < 2**53))


@given(st.lists(st.one_of(HOSTILE_TEXT, HOSTILE_TEXT.map(lambda v: "k=" + v)), max_size=4))
@example(["k=" + deep_json(100_000)])
@example(["k=" + "9" * 5000])
def test_assignments_parse_or_say_why(items: list[str]) -> None:
    try:
        parse_assignments(items, "--param")
    except AgentConfigError as exc:
        assert "--param" in str(exc)


@given(BINARY)
def test_a_prompt_file_of_any_bytes_reads_or_says_why(
    tmp_path_factory: object, data: bytes
) -> None:
    path = Path(str(tmp_path_factory.mktemp("prompt"))) / "prompt.md"  # type: ignore[attr-defined]
    path.write_bytes(data)
    try:
        text = read_prompt_file(str(path))
    except AgentConfigError as exc:
        assert str(path) in str(exc)
        return
    assert "\x00" not in text


@given(URLS, MONEY, MONEY, MONEY)
@example("http://[::1", None, None, None)
@example(None, math.nan, None, math.nan)
def test_a_definition_is_clean_or_refused(
    base_url: str | None, per_day: float | None, per_month: float | None, max_cost: float | None
) -> None:
    config = AgentConfig(
        "claude",
        "claude-sonnet-5",
        base_url=base_url,
        budget_per_day_usd=per_day,
        budget_per_month_usd=per_month,
        max_cost_usd=max_cost,
    )
    try:
        clean = validate_config(config)
    except AgentConfigError as exc:
        assert str(exc)
        return
    for value in (clean.budget_per_day_usd, clean.budget_per_month_usd, clean.max_cost_usd):
        assert value is None or (math.isfinite(value) and value >= 0)
