"""PriceBook and prices.json parsing, checked against genai-prices' own calculator."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from genai_prices import Usage, calc_price, extract_usage
from genai_prices.data import providers
from genai_prices.types import TieredPrices

from ato_desktop.core.cost_rollup import format_cost, rollup_source
from ato_desktop.core.models import Cost, CostSource, TokenUsage
from ato_desktop.core.pricing import (
    PriceBook,
    PriceFileError,
    PriceOverride,
    is_local_base_url,
    parse_price_overrides,
    price_table_version,
)
from ato_desktop.core.usage import usage_from_anthropic

DOCS = Path(__file__).resolve().parents[2] / "docs" / "pricing.md"


def genai_cost(usage: TokenUsage, model: str, provider_id: str, **kwargs: Any) -> float:
    """The figure genai-prices itself computes for the same usage."""
    return float(
        calc_price(
            Usage(
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cache_read_tokens=usage.cache_read_tokens,
                cache_write_tokens=usage.cache_write_tokens,
            ),
            model,
            provider_id=provider_id,
            **kwargs,
        ).total_price
    )


def table_rates(provider_id: str, model_id: str) -> dict[str, float]:
    """The table's base prices (USD per million tokens) for a model with one undated price."""
    provider = next(p for p in providers if p.id == provider_id)
    model = next(m for m in provider.models if m.id == model_id)
    rates = {}
    for key, value in vars(model.prices).items():
        if isinstance(value, TieredPrices):
            rates[key] = float(value.base)
        elif isinstance(value, Decimal):
            rates[key] = float(value)
    return rates


# --------------------------------------------------------------------------- provider usage shapes


def from_anthropic(raw: dict[str, int]) -> TokenUsage:
    """Anthropic's input_tokens EXCLUDES cache reads and writes; TokenUsage includes them."""
    read = raw.get("cache_read_input_tokens", 0)
    write = raw.get("cache_creation_input_tokens", 0)
    return TokenUsage(
        input_tokens=raw["input_tokens"] + read + write,
        output_tokens=raw["output_tokens"],
        cache_read_tokens=read,
        cache_write_tokens=write,
    )


def from_openai_chat(raw: dict[str, Any]) -> TokenUsage:
    """OpenAI's prompt_tokens already INCLUDES the cached tokens."""
    return TokenUsage(
        input_tokens=raw["prompt_tokens"],
        output_tokens=raw["completion_tokens"],
        cache_read_tokens=raw["prompt_tokens_details"]["cached_tokens"],
        reasoning_tokens=raw["completion_tokens_details"]["reasoning_tokens"],
    )


ANTHROPIC_RAW = {
    "input_tokens": 1_200,
    "cache_read_input_tokens": 5_000,
    "cache_creation_input_tokens": 800,
    "output_tokens": 300,
}
OPENAI_RAW = {
    "prompt_tokens": 7_000,
    "prompt_tokens_details": {"cached_tokens": 5_000},
    "completion_tokens": 300,
    "completion_tokens_details": {"reasoning_tokens": 120},
}


def test_claude_model_costs_what_genai_prices_says_with_cache_at_its_rates() -> None:
    usage = from_anthropic(ANTHROPIC_RAW)
    cost = PriceBook().cost("claude", "claude-sonnet-4-5", usage)

    assert cost.source is CostSource.ESTIMATED
    # genai-prices' extractor reads Anthropic's raw body on its own: an independent normalisation.
    extracted = extract_usage(
        {"model": "claude-sonnet-4-5", "usage": ANTHROPIC_RAW}, provider_id="anthropic"
    )
    assert cost.usd == pytest.approx(float(extracted.calc_price().total_price), rel=1e-12)
    assert cost.usd == pytest.approx(genai_cost(usage, "claude-sonnet-4-5", "anthropic"))
    # And by hand, from the table's rates: every kind of input token at its own price.
    rates = table_rates("anthropic", "claude-sonnet-4-5")
    by_hand = (
        1_200 * rates["input_mtok"]
        + 5_000 * rates["cache_read_mtok"]
        + 800 * rates["cache_write_mtok"]
        + 300 * rates["output_mtok"]
    ) / 1e6
    assert cost.usd == pytest.approx(by_hand, rel=1e-12)
    assert rates["cache_read_mtok"] < rates["input_mtok"] < rates["cache_write_mtok"]


def test_openai_model_costs_what_genai_prices_says_with_cached_input_at_its_rate() -> None:
    usage = from_openai_chat(OPENAI_RAW)
    cost = PriceBook().cost("codex", "gpt-4o", usage)

    assert cost.source is CostSource.ESTIMATED
    extracted = extract_usage(
        {"model": "gpt-4o", "usage": OPENAI_RAW}, provider_id="openai", api_flavor="chat"
    )
    assert cost.usd == pytest.approx(float(extracted.calc_price().total_price), rel=1e-12)
    rates = table_rates("openai", "gpt-4o")
    by_hand = (
        2_000 * rates["input_mtok"]  # uncached = 7000 prompt tokens - 5000 cached
        + 5_000 * rates["cache_read_mtok"]
        + 300 * rates["output_mtok"]
    ) / 1e6
    assert cost.usd == pytest.approx(by_hand, rel=1e-12)


def test_provider_usage_styles_normalise_to_the_same_cost() -> None:
    """The same call reported Anthropic-style and OpenAI-style costs the same once normalised;
    passing Anthropic's raw input_tokens through unnormalised would under-charge."""
    book = PriceBook()
    anthropic_style = from_anthropic(
        {"input_tokens": 2_000, "cache_read_input_tokens": 5_000, "output_tokens": 300}
    )
    openai_style = from_openai_chat(
        {
            "prompt_tokens": 7_000,
            "prompt_tokens_details": {"cached_tokens": 5_000},
            "completion_tokens": 300,
            "completion_tokens_details": {"reasoning_tokens": 0},
        }
    )
    assert anthropic_style == openai_style
    for runtime, model in (("claude", "claude-sonnet-4-5"), ("codex", "gpt-4o")):
        right = book.cost(runtime, model, anthropic_style)
        assert right == book.cost(runtime, model, openai_style)
        wrong = book.cost(
            runtime,
            model,
            TokenUsage(input_tokens=2_000, output_tokens=300, cache_read_tokens=5_000),
        )
        assert wrong.usd is not None and right.usd is not None
        assert wrong.usd < right.usd


def test_every_token_priced_anthropic_and_openai_model_matches_genai_prices() -> None:
    """The fast path (our own arithmetic on compiled rates) and genai-prices agree everywhere."""
    book = PriceBook()
    usages = [
        TokenUsage(1_000, 200, 300, 100, 50),
        TokenUsage(250_000, 4_000, 60_000, 10_000, 1_000),  # past the 200k/272k tiers
        TokenUsage(5, 0),
    ]
    checked = 0
    for runtime, provider_id in (("claude", "anthropic"), ("codex", "openai")):
        for model in book.known_models(runtime):
            for usage in usages:
                expected = float(
                    calc_price(
                        Usage(
                            input_tokens=usage.input_tokens,
                            output_tokens=usage.output_tokens,
                            cache_read_tokens=usage.cache_read_tokens,
                            cache_write_tokens=usage.cache_write_tokens,
                            output_reasoning_tokens=usage.reasoning_tokens,
                        ),
                        model,
                        provider_id=provider_id,
                    ).total_price
                )
                cost = book.cost(runtime, model, usage)
                assert cost.source is CostSource.ESTIMATED, model
                assert cost.usd == pytest.approx(expected, rel=1e-9, abs=1e-15), (model, usage)
                checked += 1
    assert checked > 100


def test_tiered_prices_reprice_the_whole_request_past_the_threshold() -> None:
    book = PriceBook()
    small = TokenUsage(input_tokens=200_000, output_tokens=1_000)
    large = TokenUsage(input_tokens=200_001, output_tokens=1_000)
    small_cost = book.cost("claude", "claude-sonnet-4-5", small).usd
    large_cost = book.cost("claude", "claude-sonnet-4-5", large).usd
    assert small_cost == pytest.approx(genai_cost(small, "claude-sonnet-4-5", "anthropic"))
    assert large_cost == pytest.approx(genai_cost(large, "claude-sonnet-4-5", "anthropic"))
    assert small_cost is not None and large_cost is not None
    assert large_cost > small_cost * 1.5  # the long-context rate applies to every token


def test_dated_prices_follow_the_request_time() -> None:
    book = PriceBook()
    usage = TokenUsage(input_tokens=10_000, output_tokens=2_000)
    before = datetime(2025, 5, 1, tzinfo=UTC)
    after = datetime(2025, 7, 1, tzinfo=UTC)
    cost_before = book.cost("codex", "o3", usage, at=before).usd
    cost_after = book.cost("codex", "o3", usage, at=after).usd
    assert cost_before == pytest.approx(
        genai_cost(usage, "o3", "openai", genai_request_timestamp=before)
    )
    assert cost_after == pytest.approx(
        genai_cost(usage, "o3", "openai", genai_request_timestamp=after)
    )
    assert cost_before != cost_after  # o3 got cheaper in June 2025


def test_unknown_model_is_unknown_never_zero() -> None:
    book = PriceBook()
    cost = book.cost("openai-compatible", "my-own-finetune-v7", TokenUsage(1_000, 1_000))
    assert cost == Cost.unknown()
    assert cost.usd is None
    assert cost.source is CostSource.UNKNOWN
    assert not book.is_priced("openai-compatible", "my-own-finetune-v7")
    assert book.price_source("openai-compatible", "my-own-finetune-v7") is None
    assert book.cost("claude", "", TokenUsage(10, 10)) == Cost.unknown()
    assert book.cost("claude", "   ", TokenUsage(10, 10)) == Cost.unknown()


def test_models_without_token_prices_are_unknown_rather_than_zero() -> None:
    """Some table entries are priced per audio hour or not at all: a chat action on them is
    unknown, not $0."""
    book = PriceBook()
    for model in ("moderation", "gpt-live-1"):
        assert book.cost("codex", model, TokenUsage(1_000, 1_000)) == Cost.unknown()
        assert not book.is_priced("codex", model)


def test_provider_cost_wins_over_everything() -> None:
    book = PriceBook({(None, "claude-sonnet-4-5"): PriceOverride(100.0, 100.0)})
    usage = TokenUsage(1_000, 1_000)
    assert book.cost("claude", "claude-sonnet-4-5", usage, provider_cost_usd=0.0142) == Cost(
        0.0142, CostSource.PROVIDER
    )
    assert book.cost("openai-compatible", "unknown-x", usage, provider_cost_usd=0.5) == Cost(
        0.5, CostSource.PROVIDER
    )
    # The provider saying "free" is a fact, not an unknown.
    assert book.cost("codex", "gpt-4o", usage, provider_cost_usd=0.0) == Cost(
        0.0, CostSource.PROVIDER
    )


@pytest.mark.parametrize("garbled", [float("nan"), float("inf"), -0.01])
def test_garbled_provider_cost_falls_back_to_an_estimate(garbled: float) -> None:
    book = PriceBook()
    usage = TokenUsage(1_000, 100)
    cost = book.cost("codex", "gpt-4o", usage, provider_cost_usd=garbled)
    assert cost == book.cost("codex", "gpt-4o", usage)
    assert cost.source is CostSource.ESTIMATED


def test_provider_cost_as_a_decimal_string_is_accepted() -> None:
    cost = PriceBook().cost(
        "openai-compatible",
        "x",
        TokenUsage(1, 1),
        provider_cost_usd="0.014200",  # type: ignore[arg-type]  # as OpenRouter sends it
    )
    assert cost == Cost(0.0142, CostSource.PROVIDER)


def test_override_wins_over_the_table_and_prices_a_local_model() -> None:
    overrides = parse_price_overrides(
        json.dumps(
            {
                "models": {
                    "claude-sonnet-4-5": {
                        "input_per_mtok": 1,
                        "output_per_mtok": 2,
                        "cache_read_per_mtok": 0.5,
                        "cache_write_per_mtok": 4,
                    },
                    "my-local-llama": {"input_per_mtok": 0, "output_per_mtok": 0},
                }
            }
        )
    )
    book = PriceBook(overrides)
    usage = TokenUsage(
        input_tokens=10_000, output_tokens=1_000, cache_read_tokens=4_000, cache_write_tokens=2_000
    )
    cost = book.cost("claude", "claude-sonnet-4-5", usage)
    assert cost.source is CostSource.ESTIMATED
    assert cost.usd == pytest.approx((4_000 * 1 + 4_000 * 0.5 + 2_000 * 4 + 1_000 * 2) / 1e6)
    assert cost.usd != pytest.approx(genai_cost(usage, "claude-sonnet-4-5", "anthropic"))

    local = book.cost("openai-compatible", "my-local-llama", usage)
    assert local == Cost(0.0, CostSource.ESTIMATED)
    assert book.is_priced("openai-compatible", "My-Local-Llama")  # names match case-insensitively
    assert book.price_source("openai-compatible", "my-local-llama") == "prices.json"


def test_cache_rates_default_to_the_input_rate() -> None:
    book = PriceBook({(None, "m"): PriceOverride(input_per_mtok=2.0, output_per_mtok=8.0)})
    usage = TokenUsage(
        input_tokens=1_000, output_tokens=100, cache_read_tokens=600, cache_write_tokens=300
    )
    assert book.cost("claude", "m", usage).usd == pytest.approx((1_000 * 2 + 100 * 8) / 1e6)


def test_override_precedence_runtime_model_then_model_then_runtime_default() -> None:
    overrides = parse_price_overrides(
        json.dumps(
            {
                "models": {"gpt-oss-20b": {"input_per_mtok": 2, "output_per_mtok": 2}},
                "runtimes": {
                    "openai-compatible": {
                        "default": {"input_per_mtok": 0, "output_per_mtok": 0},
                        "models": {"gpt-oss-20b": {"input_per_mtok": 1, "output_per_mtok": 1}},
                    }
                },
            }
        )
    )
    book = PriceBook(overrides)
    usage = TokenUsage(input_tokens=1_000_000, output_tokens=0)
    assert book.cost("openai-compatible", "gpt-oss-20b", usage).usd == pytest.approx(1.0)
    assert book.cost("codex", "gpt-oss-20b", usage).usd == pytest.approx(2.0)
    # The runtime default covers everything else on that runtime, table models included...
    assert book.cost("openai-compatible", "llama3.1", usage).usd == pytest.approx(0.0)
    assert book.cost("openai-compatible", "gpt-4o", usage).usd == pytest.approx(0.0)
    # ...and nothing on the other runtimes.
    assert book.cost("codex", "gpt-4o", usage).usd == pytest.approx(
        genai_cost(usage, "gpt-4o", "openai")
    )
    assert book.cost("codex", "llama3.1", usage) == Cost.unknown()


@pytest.mark.parametrize(
    ("served_as", "table_id"),
    [
        ("gpt-oss-20b", "gpt-oss-20b"),
        ("gpt-oss:20b", "gpt-oss-20b"),  # Ollama's tag spelling
        ("openai/gpt-oss-20b", "gpt-oss-20b"),  # vLLM serving the Hugging Face repo id
        ("GPT-OSS-20B", "gpt-oss-20b"),
        ("gpt-4o", "gpt-4o"),
    ],
)
def test_openai_compatible_matches_model_names_first_party_first(
    served_as: str, table_id: str
) -> None:
    book = PriceBook()
    usage = TokenUsage(input_tokens=100_000, output_tokens=20_000)
    cost = book.cost("openai-compatible", served_as, usage)
    assert cost.source is CostSource.ESTIMATED
    assert cost.usd == pytest.approx(genai_cost(usage, table_id, "openai"))
    assert book.price_source("openai-compatible", served_as) == (
        f"{price_table_version()}: openai/{table_id}"
    )


def test_claude_runtime_uses_anthropic_and_falls_back_to_name_matching() -> None:
    book = PriceBook()
    usage = TokenUsage(input_tokens=100_000, output_tokens=20_000)
    dated = book.cost("claude", "claude-sonnet-4-5-20250929", usage)
    assert dated.usd == pytest.approx(genai_cost(usage, "claude-sonnet-4-5", "anthropic"))
    # An Anthropic-compatible gateway serving another vendor's model still gets a price.
    assert book.cost("claude", "gpt-4o", usage).usd == pytest.approx(
        genai_cost(usage, "gpt-4o", "openai")
    )


def test_known_models_lists_the_runtime_providers_models_and_overrides() -> None:
    book = PriceBook(
        {
            (None, "my-local-llama"): PriceOverride(0, 0),
            ("openai-compatible", "qwen2.5-coder:7b"): PriceOverride(0, 0),
            ("openai-compatible", None): PriceOverride(0, 0),
        }
    )
    claude = book.known_models("claude")
    codex = book.known_models("codex")
    compatible = book.known_models("openai-compatible")
    assert "claude-sonnet-4-5" in claude and "gpt-4o" not in claude
    assert "gpt-4o" in codex and "gpt-5" in codex and "claude-sonnet-4-5" not in codex
    assert "moderation" not in codex  # not priced per token: no use as a suggestion
    assert "my-local-llama" in claude and "my-local-llama" in compatible
    assert compatible == ["my-local-llama", "qwen2.5-coder:7b"]
    assert claude == sorted(claude)
    assert all(book.is_priced("claude", model) for model in claude)


def test_inconsistent_usage_never_raises_or_goes_negative() -> None:
    book = PriceBook({(None, "local"): PriceOverride(1, 1, 0.1, 2)})
    weird = [
        TokenUsage(input_tokens=10, output_tokens=5, cache_read_tokens=500),  # reads > input
        TokenUsage(input_tokens=-5, output_tokens=-1, cache_write_tokens=-3),
        TokenUsage(input_tokens=0, output_tokens=10, reasoning_tokens=99),
    ]
    for usage in weird:
        for runtime, model in (
            ("claude", "claude-sonnet-4-5"),
            ("codex", "gpt-5"),
            ("codex", "o3"),
            ("openai-compatible", "local"),
        ):
            cost = book.cost(runtime, model, usage)
            assert cost.usd is not None and cost.usd >= 0


def test_lookups_are_cached_per_runtime_and_model() -> None:
    book = PriceBook()
    usage = TokenUsage(1_000, 100)
    first = book.cost("codex", "gpt-4o", usage)
    for _ in range(100):
        assert book.cost("codex", "gpt-4o", usage) == first
    info = book._resolve.cache_info()
    assert info.misses == 1 and info.hits >= 100


def test_many_threads_price_at_once() -> None:
    book = PriceBook({(None, "local"): PriceOverride(1, 2)})
    cases = [
        ("claude", "claude-sonnet-4-5"),
        ("codex", "gpt-5"),
        ("openai-compatible", "gpt-oss:20b"),
        ("openai-compatible", "local"),
        ("openai-compatible", "nobody-knows"),
    ]
    usage = TokenUsage(12_345, 678, 1_000, 200)
    expected = {case: PriceBook(book.overrides).cost(*case, usage) for case in cases}
    barrier = threading.Barrier(16)
    errors: list[str] = []

    def work() -> None:
        barrier.wait()
        for i in range(500):
            case = cases[i % len(cases)]
            if book.cost(*case, usage) != expected[case]:
                errors.append(f"{case} differs")

    threads = [threading.Thread(target=work) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_importing_pricing_does_not_import_genai_prices() -> None:
    """The desktop window paints before heavy imports: only the first price lookup pays."""
    code = (
        "import sys\n"
        "from ato_desktop.core.pricing import PriceBook, PriceOverride\n"
        "book = PriceBook({(None, 'm'): PriceOverride(1, 1)})\n"
        "assert 'genai_prices' not in sys.modules, 'imported too early'\n"
        "book.warm_up()\n"
        "assert 'genai_prices' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_price_table_version_names_the_bundled_genai_prices() -> None:
    assert re.fullmatch(r"genai-prices \d+\.\d+\.\d+ \(bundled data\)", price_table_version())


# --------------------------------------------------------------------------- prices.json format


def test_parse_full_document() -> None:
    overrides = parse_price_overrides(
        """
        {
          "version": 1,
          "models": {
            "My-Local-Llama": {"input_per_mtok": 0, "output_per_mtok": 0},
            "claude-sonnet-4-5": {"input_per_mtok": 3, "output_per_mtok": 15,
                                  "cache_read_per_mtok": 0.3, "cache_write_per_mtok": 3.75}
          },
          "runtimes": {
            "openai-compatible": {
              "default": {"input_per_mtok": 0, "output_per_mtok": 0},
              "models": {"gpt-oss-20b": {"input_per_mtok": 0.05, "output_per_mtok": 0.2}}
            },
            "codex": {}
          }
        }
        """
    )
    assert overrides == {
        (None, "my-local-llama"): PriceOverride(0.0, 0.0),
        (None, "claude-sonnet-4-5"): PriceOverride(3.0, 15.0, 0.3, 3.75),
        ("openai-compatible", None): PriceOverride(0.0, 0.0),
        ("openai-compatible", "gpt-oss-20b"): PriceOverride(0.05, 0.2),
    }
    assert parse_price_overrides("{}") == {}
    assert parse_price_overrides('\ufeff{"models": {}}') == {}  # a byte-order mark is fine


def test_the_example_in_the_docs_parses() -> None:
    text = DOCS.read_text(encoding="utf-8")
    blocks = re.findall(r"```json\n(.*?)```", text, flags=re.S)
    assert blocks, "docs/pricing.md should show a prices.json example"
    for block in blocks:
        assert parse_price_overrides(block)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ('{"models": {', "not valid JSON: Expecting property name enclosed in double quotes"),
        ('{\n  "models": {\n    "a": {"input_per_mtok": 1,}\n  }\n}', "at line 3, column 31"),
        ("[]", "the top level must be a JSON object, got a list"),
        ('{"model": {}}', 'model: unknown field; did you mean "models"?'),
        ('{"version": 2}', "version: must be 1, got 2"),
        ('{"models": []}', "models: must be an object keyed by model name, got a list"),
        ('{"models": {"x": 3}}', 'models["x"]: must be an object of prices, got a number'),
        ('{"models": {" ": {}}}', 'models[" "]: a model name cannot be empty'),
        (
            '{"models": {"x": {"input_per_mtok": 1}}}',
            'models["x"]: missing output_per_mtok (USD per million tokens)',
        ),
        (
            '{"models": {"x": {"input_per_mtok": "3", "output_per_mtok": 1}}}',
            'models["x"].input_per_mtok: must be a number (USD per million tokens), '
            'got a string "3"',
        ),
        (
            '{"models": {"x": {"input_per_mtok": true, "output_per_mtok": 1}}}',
            "got a boolean true",
        ),
        ('{"models": {"x": {"input_per_mtok": null, "output_per_mtok": 1}}}', "got null"),
        (
            '{"models": {"x": {"input_per_mtok": -1, "output_per_mtok": 1}}}',
            'models["x"].input_per_mtok: cannot be negative, got -1',
        ),
        (
            '{"models": {"x": {"input_per_mtok": NaN, "output_per_mtok": 1}}}',
            "NaN is not a valid price",
        ),
        (
            '{"models": {"x": {"input_per_mtok": 1e999, "output_per_mtok": 1}}}',
            "must be a finite number",
        ),
        (
            '{"models": {"x": {"input_price": 1, "output_per_mtok": 1}}}',
            'models["x"].input_price: unknown field; did you mean "input_per_mtok"?',
        ),
        (
            '{"models": {"x": {"input_per_mtok": 1, "output_per_mtok": 1}, '
            '"x": {"input_per_mtok": 2, "output_per_mtok": 2}}}',
            'the key "x" appears twice',
        ),
        (
            '{"models": {"GPT-4o": {"input_per_mtok": 1, "output_per_mtok": 1}, '
            '"gpt-4o": {"input_per_mtok": 2, "output_per_mtok": 2}}}',
            'models["gpt-4o"]: same model as "GPT-4o"',
        ),
        ('{"runtimes": {"claud": {}}}', 'runtimes.claud: unknown runtime; did you mean "claude"?'),
        ('{"runtimes": []}', "runtimes: must be an object keyed by runtime"),
        ('{"runtimes": {"codex": 1}}', "runtimes.codex: must be an object, got a number"),
        (
            '{"runtimes": {"codex": {"defaults": {}}}}',
            'runtimes.codex.defaults: unknown field; did you mean "default"?',
        ),
        (
            '{"runtimes": {"codex": {"default": {"output_per_mtok": 1}}}}',
            "runtimes.codex.default: missing input_per_mtok",
        ),
    ],
)
def test_malformed_documents_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(PriceFileError) as excinfo:
        parse_price_overrides(text, source="/home/me/prices.json")
    error = str(excinfo.value)
    assert error.startswith("/home/me/prices.json: ")
    assert message in error
    assert isinstance(excinfo.value, ValueError)


# --------------------------------------------------------------- 1-hour cache writes (16.1)


def test_one_hour_cache_writes_are_priced_as_genai_prices_prices_them() -> None:
    """Issue 16.1: haiku-4.5 with 4k 5-minute and 6k 1-hour cache writes. The 1-hour writes cost
    more; the figure is genai-prices' own calc_price with the same breakdown."""
    raw = {
        "input_tokens": 500,
        "cache_creation_input_tokens": 10_000,
        "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 4_000, "ephemeral_1h_input_tokens": 6_000},
        "output_tokens": 700,
    }
    usage = usage_from_anthropic(raw)  # what the claude adapter reads from the SDK's usage
    assert (usage.cache_write_tokens, usage.cache_write_1h_tokens) == (10_000, 6_000)

    cost = PriceBook().cost("claude", "claude-haiku-4-5", usage)

    expected = calc_price(
        Usage(
            input_tokens=10_500,
            output_tokens=700,
            cache_write_tokens=10_000,
            cache_write_1h_tokens=6_000,
        ),
        "claude-haiku-4-5",
        provider_id="anthropic",
    ).total_price
    assert cost.usd == pytest.approx(float(expected), rel=1e-12)
    five_minute_only = PriceBook().cost(
        "claude", "claude-haiku-4-5", TokenUsage(10_500, 700, 0, 10_000)
    )
    assert five_minute_only.usd is not None and cost.usd is not None
    assert cost.usd > five_minute_only.usd  # what the bug charged
    rates = table_rates("anthropic", "claude-haiku-4-5")
    by_hand = (
        500 * rates["input_mtok"]
        + 4_000 * rates["cache_write_mtok"]
        + 6_000 * rates["cache_write_1h_mtok"]
        + 700 * rates["output_mtok"]
    ) / 1e6
    assert cost.usd == pytest.approx(by_hand, rel=1e-12)


def test_every_anthropic_model_prices_one_hour_writes_like_genai_prices() -> None:
    book = PriceBook()
    usage = TokenUsage(20_000, 1_000, 2_000, 9_000, 0, cache_write_1h_tokens=5_000)
    checked = 0
    for model in book.known_models("claude"):
        expected = calc_price(
            Usage(
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cache_read_tokens=usage.cache_read_tokens,
                cache_write_tokens=usage.cache_write_tokens,
                cache_write_1h_tokens=usage.cache_write_1h_tokens,
            ),
            model,
            provider_id="anthropic",
        ).total_price
        assert book.cost("claude", model, usage).usd == pytest.approx(
            float(expected), rel=1e-9, abs=1e-15
        ), model
        checked += 1
    assert checked > 5


def test_a_prices_json_one_hour_rate_prices_those_writes_and_defaults_to_the_write_rate() -> None:
    overrides = parse_price_overrides(
        json.dumps(
            {
                "models": {
                    "mine": {
                        "input_per_mtok": 1,
                        "output_per_mtok": 2,
                        "cache_write_per_mtok": 3,
                        "cache_write_1h_per_mtok": 5,
                    },
                    "no-1h-rate": {
                        "input_per_mtok": 1,
                        "output_per_mtok": 2,
                        "cache_write_per_mtok": 3,
                    },
                }
            }
        )
    )
    book = PriceBook(overrides)
    usage = TokenUsage(1_000_000, 0, 0, 600_000, cache_write_1h_tokens=400_000)

    assert book.cost("claude", "mine", usage).usd == pytest.approx(0.4 * 1 + 0.2 * 3 + 0.4 * 5)
    assert book.cost("claude", "no-1h-rate", usage).usd == pytest.approx(0.4 * 1 + 0.6 * 3)


# ------------------------------------------------------------------- local models (16.4)


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://localhost:11434/v1", True),
        ("http://127.0.0.1:8000/v1", True),
        ("http://[::1]:8080/v1", True),
        ("http://10.0.0.7:11434/v1", True),
        ("http://172.20.1.2/v1", True),
        ("http://192.168.1.20:1234/v1", True),
        ("http://169.254.10.1/v1", True),
        ("http://100.101.102.103:11434/v1", True),  # a tailnet / CGNAT address
        ("http://[fd12:3456::1]/v1", True),
        ("http://gpu-box.local:8000/v1", True),
        ("http://ollama.localhost/v1", True),
        ("https://api.groq.com/openai/v1", False),
        ("https://openrouter.ai/api/v1", False),
        ("http://8.8.8.8/v1", False),
        ("http://172.32.0.1/v1", False),
        ("http://0.0.0.0:11434/v1", False),
        ("not a url", False),
        ("", False),
        (None, False),
    ],
)
def test_local_addresses_are_recognised_without_resolving(url: str | None, local: bool) -> None:
    assert is_local_base_url(url) is local


@pytest.mark.parametrize("model", ["llama3.1:8b", "gemma2:9b", "gpt-oss:20b"])
def test_a_model_served_locally_is_local_never_a_resellers_price(model: str) -> None:
    book = PriceBook()
    usage = TokenUsage(1_000, 500)
    remote = book.cost("openai-compatible", model, usage, base_url="https://api.example.com/v1")
    assert remote.source is CostSource.ESTIMATED and remote.usd  # priced by name (a reseller)

    for url in ("http://127.0.0.1:11434/v1", "http://192.168.1.20:8000/v1"):
        assert book.cost("openai-compatible", model, usage, base_url=url) == Cost(
            0.0, CostSource.LOCAL
        )
    assert format_cost(0.0, CostSource.LOCAL.value) == "local"


def test_prices_json_prices_a_local_model_and_a_stated_cost_still_wins() -> None:
    book = PriceBook(
        parse_price_overrides(
            json.dumps({"models": {"llama3.1:8b": {"input_per_mtok": 1, "output_per_mtok": 2}}})
        )
    )
    usage = TokenUsage(1_000_000, 1_000_000)
    local = "http://127.0.0.1:11434/v1"

    assert book.cost("openai-compatible", "llama3.1:8b", usage, base_url=local) == Cost(
        3.0, CostSource.ESTIMATED
    )
    assert book.cost(
        "openai-compatible", "gemma2:9b", usage, base_url=local, provider_cost_usd=0.5
    ) == Cost(0.5, CostSource.PROVIDER)
    # The claude and codex runtimes at a local address are proxies to the provider: priced.
    proxied = book.cost("claude", "claude-haiku-4-5", usage, base_url=local)
    assert proxied.source is CostSource.ESTIMATED and proxied.usd


def test_a_run_of_local_calls_is_local_and_with_a_provider_call_is_the_providers() -> None:
    assert rollup_source(None, "local") == "local"
    assert rollup_source("local", "provider") == "provider"
    assert rollup_source("local", "estimated") == "estimated"
    assert rollup_source("local", "unknown") == "unknown"
