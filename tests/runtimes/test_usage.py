"""core.usage: every provider's usage report normalised, whatever shape the numbers arrive in."""

from __future__ import annotations

from decimal import Decimal

import pytest
from anthropic.types import MessageDeltaUsage, Usage
from openai.types import CompletionUsage
from openai.types.responses import ResponseUsage

from ato_desktop.core.models import TokenUsage
from ato_desktop.core.usage import (
    provider_cost_usd,
    to_count,
    to_usd,
    usage_from_anthropic,
    usage_from_chat,
    usage_from_responses,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (12, 12),
        (12.9, 12),
        ("12", 12),
        (" 12.0 ", 12),
        ("1e3", 1000),
        (Decimal("7"), 7),
        (b"5", 5),
        (None, 0),
        ("", 0),
        ("n/a", 0),
        (-3, 0),
        (float("nan"), 0),
        (float("inf"), 0),
        (True, 0),
        ([1], 0),
    ],
)
def test_to_count_never_crashes(raw: object, expected: int) -> None:
    assert to_count(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (0.0142, 0.0142),
        ("0.014200", 0.0142),
        (Decimal("0.5"), 0.5),
        (0, 0.0),
        (None, None),
        ("", None),
        ("free", None),
        (-1, None),
        ("NaN", None),
        (False, None),
        ({"usd": 1}, None),
    ],
)
def test_to_usd_never_crashes(raw: object, expected: float | None) -> None:
    assert to_usd(raw) == (pytest.approx(expected) if expected is not None else None)


def test_anthropic_input_excludes_cache_so_it_is_added() -> None:
    usage = usage_from_anthropic(
        {
            "input_tokens": 10,
            "cache_read_input_tokens": 1000,
            "cache_creation_input_tokens": 200,
            "output_tokens": 50,
            "output_tokens_details": {"thinking_tokens": 20},
        }
    )

    assert usage == TokenUsage(
        input_tokens=1210,
        output_tokens=50,
        cache_read_tokens=1000,
        cache_write_tokens=200,
        reasoning_tokens=20,
    )


def test_anthropic_stream_reports_merge_later_over_earlier() -> None:
    start = Usage(
        input_tokens=10,
        cache_read_input_tokens=5,
        cache_creation_input_tokens=None,
        output_tokens=1,
    )
    delta = MessageDeltaUsage(output_tokens=42, cache_creation_input_tokens=3)

    usage = usage_from_anthropic(start, delta)

    assert usage == TokenUsage(
        input_tokens=18, output_tokens=42, cache_read_tokens=5, cache_write_tokens=3
    )


def test_anthropic_cache_write_from_ttl_breakdown_when_total_missing() -> None:
    usage = usage_from_anthropic(
        {
            "input_tokens": 1,
            "cache_creation": {"ephemeral_5m_input_tokens": 4, "ephemeral_1h_input_tokens": "6"},
            "output_tokens": 2,
        }
    )

    assert usage.cache_write_tokens == 10
    assert usage.input_tokens == 11


def test_responses_input_already_includes_cache() -> None:
    usage = usage_from_responses(
        ResponseUsage.model_validate(
            {
                "input_tokens": 1250,
                "input_tokens_details": {"cached_tokens": 1000, "cache_write_tokens": 50},
                "output_tokens": 40,
                "output_tokens_details": {"reasoning_tokens": 15},
                "total_tokens": 1290,
            }
        )
    )

    assert usage == TokenUsage(1250, 40, 1000, 50, 15)


def test_chat_prompt_tokens_already_include_cache() -> None:
    usage = usage_from_chat(
        CompletionUsage.model_validate(
            {
                "prompt_tokens": 1250,
                "completion_tokens": 40,
                "total_tokens": 1290,
                "prompt_tokens_details": {"cached_tokens": 1000},
                "completion_tokens_details": {"reasoning_tokens": 15},
            }
        )
    )

    assert usage == TokenUsage(1250, 40, 1000, 0, 15)


def test_chat_deepseek_style_cache_hits() -> None:
    usage = usage_from_chat(
        {"prompt_tokens": 100, "completion_tokens": 5, "prompt_cache_hit_tokens": 60}
    )

    assert usage.cache_read_tokens == 60
    assert usage.input_tokens == 100


@pytest.mark.parametrize("normalise", [usage_from_anthropic, usage_from_responses, usage_from_chat])
@pytest.mark.parametrize("raw", [None, {}, {"usage": None}, "garbage", 42])
def test_missing_or_odd_usage_is_zero(normalise: object, raw: object) -> None:
    assert callable(normalise)
    assert normalise(raw) == TokenUsage()


def test_inconsistent_reports_keep_cache_inside_input() -> None:
    usage = usage_from_responses(
        {
            "input_tokens": 10,
            "input_tokens_details": {"cached_tokens": 50},
            "output_tokens": 1,
            "output_tokens_details": {"reasoning_tokens": 4},
        }
    )

    assert usage.input_tokens == 50
    assert usage.output_tokens == 4


def test_provider_cost_from_sdk_extra_field_and_dict() -> None:
    sdk_usage = CompletionUsage.model_validate(
        {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2, "cost": "0.014200"}
    )

    assert provider_cost_usd(sdk_usage) == pytest.approx(0.0142)
    assert provider_cost_usd({"cost": 0.5}) == 0.5
    assert provider_cost_usd({"prompt_tokens": 1}) is None
    assert provider_cost_usd(None) is None
