"""What an action cost: stated by the provider, estimated from a price table, or unknown.

Precedence, first match wins (docs/pricing.md explains it for users):

1. ``provider_cost_usd`` stated in the response -> ``CostSource.PROVIDER``.
2. A user override from prices.json: runtime+model, then model, then the runtime's default
   -> ``ESTIMATED``.
3. An openai-compatible server at a loopback, private or link-local address (``localhost``, a
   ``.local`` name, 127.0.0.1, 10.x, 192.168.x, fd00::...) -> ``LOCAL``, $0: a model your own
   machine or network serves costs what you say it costs (2.), never a reseller's list price
   for a model of the same name.
4. The genai-prices table bundled with the installed wheel -> ``ESTIMATED``. The claude runtime
   looks in Anthropic's prices, codex in OpenAI's; openai-compatible servers (and the other two,
   when their provider does not know the model) match the model name across every provider,
   first-party providers first.
5. Otherwise ``Cost.unknown()``: usd None, never $0.

Token semantics follow :class:`~ato_desktop.core.models.TokenUsage`: ``input_tokens`` includes the
cache reads and writes, which are priced at their own rates; whatever is left is uncached input.
genai-prices uses the same convention, so usage passes to it unchanged.

Pure: no file or network I/O. genai_prices is imported on first use, never at import time (it is
heavy, and the desktop window paints first); its updater (``UpdatePrices``) is never started.
Call :meth:`PriceBook.warm_up` from a worker thread to pay the import before the first action.
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import urlsplit

from ato_desktop.core.coerce import as_money
from ato_desktop.core.heavy_imports import import_heavy
from ato_desktop.core.models import Cost, CostSource, RuntimeName, TokenUsage

if TYPE_CHECKING:
    from genai_prices.types import ModelInfo, ModelPrice, Provider

__all__ = [
    "PRICE_FIELDS",
    "OverrideKey",
    "PriceBook",
    "PriceFileError",
    "PriceOverride",
    "is_local_base_url",
    "parse_price_overrides",
    "price_table_version",
]

PER_MTOK = 1_000_000

#: prices.json field -> meaning; all in USD per million tokens.
PRICE_FIELDS: dict[str, str] = {
    "input_per_mtok": "uncached input tokens (required)",
    "output_per_mtok": "output tokens, reasoning included (required)",
    "cache_read_per_mtok": "input tokens read from the prompt cache (default: the input price)",
    "cache_write_per_mtok": "input tokens written to the prompt cache (default: the input price)",
    "cache_write_1h_per_mtok": (
        "input tokens written to the prompt cache for 1 hour (default: the cache write price)"
    ),
}
_REQUIRED_PRICE_FIELDS = ("input_per_mtok", "output_per_mtok")
_TOP_LEVEL_FIELDS = ("version", "models", "runtimes")
_RUNTIME_FIELDS = ("default", "models")
_SUPPORTED_VERSION = 1

#: (runtime or None for every runtime, lower-cased model or None for the runtime's default).
OverrideKey: TypeAlias = tuple[str | None, str | None]

_RUNTIME_PROVIDER: dict[str, str] = {
    RuntimeName.CLAUDE.value: "anthropic",
    RuntimeName.CODEX.value: "openai",
}

# Searched first when a model name is matched across providers, so "gpt-oss-20b" gets OpenAI's
# list price rather than whichever reseller sorts first alphabetically.
_FIRST_PARTY_PROVIDERS = (
    "openai",
    "anthropic",
    "google",
    "mistral",
    "deepseek",
    "x-ai",
    "cohere",
    "moonshotai",
    "zhipuai",
    "minimax",
    "meta",
)

# Price keys whose effect on our usage we compute ourselves (the fast path). Searches are priced
# per unit we never report, so they contribute nothing; any other key (per-request fees,
# reasoning or audio rates) sends the model through genai-prices' own calculator instead, which
# is exact but ~100x slower.
_FAST_PRICE_KEYS = frozenset(
    {
        "input_mtok",
        "output_mtok",
        "cache_read_mtok",
        "cache_write_mtok",
        "cache_write_1h_mtok",
        "web_searches_kcount",
        "storage_searches_kcount",
    }
)


class PriceFileError(ValueError):
    """prices.json is malformed; the message names the file, the place and the problem."""


@dataclass(frozen=True, slots=True)
class PriceOverride:
    """A user's price for a model, in USD per million tokens.

    Cache rates left as None bill those tokens as ordinary input; 1-hour cache writes with no
    rate of their own are billed as cache writes.
    """

    input_per_mtok: float
    output_per_mtok: float
    cache_read_per_mtok: float | None = None
    cache_write_per_mtok: float | None = None
    cache_write_1h_per_mtok: float | None = None

    def cost_usd(self, usage: TokenUsage) -> float:
        """The cost of ``usage`` at these prices."""
        return self._rates().cost_usd(usage)

    def _rates(self) -> _Rates:
        """These prices in the form the fast path uses."""
        return _Rates(
            self.input_per_mtok,
            self.output_per_mtok,
            self.cache_read_per_mtok,
            self.cache_write_per_mtok,
            self.cache_write_1h_per_mtok,
        )


# --------------------------------------------------------------------------- prices.json parsing


def parse_price_overrides(
    text: str, *, source: str = "prices.json"
) -> dict[OverrideKey, PriceOverride]:
    """Parse and validate a prices.json document; raise PriceFileError naming the problem.

    The format (docs/pricing.md has the long version)::

        {
          "version": 1,
          "models": {"my-local-llama": {"input_per_mtok": 0, "output_per_mtok": 0}},
          "runtimes": {
            "openai-compatible": {
              "default": {"input_per_mtok": 0, "output_per_mtok": 0},
              "models": {"gpt-oss-20b": {"input_per_mtok": 0.05, "output_per_mtok": 0.2}}
            }
          }
        }

    Every part is optional. Model names match case-insensitively and exactly. The result maps
    ``(runtime, model)`` to a price: ``(None, model)`` for the top-level "models",
    ``(runtime, model)`` for a runtime's "models" and ``(runtime, None)`` for its "default".
    """
    if text.startswith("\ufeff"):
        text = text[1:]  # Notepad's byte-order mark
    if not text.strip():
        raise PriceFileError(f"{source}: the file is empty (write {{}} for no price overrides)")
    try:
        document = json.loads(
            text, object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant
        )
    except json.JSONDecodeError as exc:
        raise PriceFileError(
            f"{source}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except _DocumentError as exc:
        raise PriceFileError(f"{source}: {exc}") from None
    except (ValueError, RecursionError) as exc:  # a 5,000-digit number; [[[[... too deep
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise PriceFileError(f"{source}: not valid JSON: {reason}") from None

    overrides: dict[OverrideKey, PriceOverride] = {}

    def fail(where: str, problem: str) -> PriceFileError:
        return PriceFileError(f"{source}: {where}: {problem}" if where else f"{source}: {problem}")

    if not isinstance(document, dict):
        raise fail("", f"the top level must be a JSON object, got {_json_type(document)}")
    _check_fields(document, _TOP_LEVEL_FIELDS, "", fail)
    if "version" in document:
        version = document["version"]
        if type(version) is not int or version != _SUPPORTED_VERSION:
            raise fail("version", f"must be {_SUPPORTED_VERSION}, got {_short_json(version)}")

    if "models" in document:
        _parse_model_table(document["models"], None, "models", overrides, fail)

    if "runtimes" in document:
        runtimes = document["runtimes"]
        if not isinstance(runtimes, dict):
            raise fail(
                "runtimes", f"must be an object keyed by runtime, got {_json_type(runtimes)}"
            )
        valid_runtimes = [runtime.value for runtime in RuntimeName]
        for runtime, section in runtimes.items():
            where = f"runtimes.{runtime}"
            if runtime not in valid_runtimes:
                raise fail(where, f"unknown runtime{_suggest(runtime, valid_runtimes)}")
            if not isinstance(section, dict):
                raise fail(where, f"must be an object, got {_json_type(section)}")
            _check_fields(section, _RUNTIME_FIELDS, where, fail)
            if "default" in section:
                overrides[(runtime, None)] = _parse_price(
                    section["default"], f"{where}.default", fail
                )
            if "models" in section:
                _parse_model_table(section["models"], runtime, f"{where}.models", overrides, fail)
    return overrides


class _DocumentError(ValueError):
    """Raised from json.loads hooks; turned into a PriceFileError with the source name."""


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            # json.loads would silently keep the last one: almost always an editing slip.
            raise _DocumentError(f"the key {_quote(key)} appears twice in the same object")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise _DocumentError(f"{name} is not a valid price (JSON numbers must be finite)")


# Builds the error for (place in the document, problem); the source name is already bound.
_Fail: TypeAlias = Callable[[str, str], PriceFileError]


def _parse_model_table(
    table: object,
    runtime: str | None,
    where: str,
    overrides: dict[OverrideKey, PriceOverride],
    fail: _Fail,
) -> None:
    if not isinstance(table, dict):
        raise fail(where, f"must be an object keyed by model name, got {_json_type(table)}")
    seen: dict[str, str] = {}
    for name, entry in table.items():
        model_where = f"{where}[{_quote(name)}]"
        model = name.strip().lower()
        if not model:
            raise fail(model_where, "a model name cannot be empty")
        if model in seen:
            raise fail(
                model_where,
                f"same model as {_quote(seen[model])} (names are compared case-insensitively)",
            )
        seen[model] = name
        overrides[(runtime, model)] = _parse_price(entry, model_where, fail)


def _parse_price(entry: object, where: str, fail: _Fail) -> PriceOverride:
    if not isinstance(entry, dict):
        raise fail(where, f"must be an object of prices, got {_json_type(entry)}")
    _check_fields(entry, tuple(PRICE_FIELDS), where, fail)
    missing = [field for field in _REQUIRED_PRICE_FIELDS if field not in entry]
    if missing:
        raise fail(where, f"missing {' and '.join(missing)} (USD per million tokens)")
    values: dict[str, float] = {}
    for field, raw in entry.items():
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise fail(
                f"{where}.{field}",
                f"must be a number (USD per million tokens), got {_json_type(raw)}"
                f" {_short_json(raw)}",
            )
        price = float(raw)
        if not math.isfinite(price):
            raise fail(f"{where}.{field}", "must be a finite number")
        if price < 0:
            raise fail(f"{where}.{field}", f"cannot be negative, got {_short_json(raw)}")
        values[field] = price
    return PriceOverride(
        input_per_mtok=values["input_per_mtok"],
        output_per_mtok=values["output_per_mtok"],
        cache_read_per_mtok=values.get("cache_read_per_mtok"),
        cache_write_per_mtok=values.get("cache_write_per_mtok"),
        cache_write_1h_per_mtok=values.get("cache_write_1h_per_mtok"),
    )


def _check_fields(obj: dict[str, Any], allowed: tuple[str, ...], where: str, fail: _Fail) -> None:
    for field in obj:
        if field not in allowed:
            place = f"{where}.{field}" if where else field
            raise fail(
                place,
                f"unknown field{_suggest(field, allowed)} (allowed: {', '.join(allowed)})",
            )


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {_quote(close[0])}?" if close else ""


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # keep "模型" readable in messages


def _short_json(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


# --------------------------------------------------------------------------- the price table


@dataclass(frozen=True, slots=True)
class _Rates:
    """Prices in USD per million tokens. A cache rate of None leaves those tokens in the
    uncached input, charged at the input rate (what genai-prices does for an unpriced kind); a
    1-hour cache-write rate of None charges those writes as cache writes."""

    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None
    cache_write_1h: float | None = None

    def cost_usd(self, usage: TokenUsage) -> float:
        # The hot path of a million-action re-price: plain arithmetic, no allocations.
        # Clamping keeps a buggy report (negative counts, more cache reads than input) from
        # producing a negative cost.
        cache_read = usage.cache_read_tokens if usage.cache_read_tokens > 0 else 0
        cache_write = usage.cache_write_tokens if usage.cache_write_tokens > 0 else 0
        uncached = usage.input_tokens
        output = usage.output_tokens if usage.output_tokens > 0 else 0
        cost = output * self.output
        if self.cache_read is not None:
            uncached -= cache_read
            cost += cache_read * self.cache_read
        if self.cache_write_1h is not None and usage.cache_write_1h_tokens > 0:
            # The 1-hour writes are part of the cache writes, at their own (higher) rate.
            written_1h = min(usage.cache_write_1h_tokens, cache_write)
            uncached -= written_1h
            cache_write -= written_1h
            cost += written_1h * self.cache_write_1h
        if self.cache_write is not None:
            uncached -= cache_write
            cost += cache_write * self.cache_write
        if uncached > 0:
            cost += uncached * self.input
        return cost / PER_MTOK


@dataclass(frozen=True, slots=True)
class _RateCard:
    """A price compiled for the fast path: base rates, and rates above each tier threshold."""

    base: _Rates
    tiers: tuple[tuple[int, _Rates], ...] = ()  # (threshold, rates), highest threshold first

    def cost_usd(self, usage: TokenUsage) -> float:
        rates = self.base
        if self.tiers:
            # genai-prices' "cliff" tiers: the threshold counts the whole prompt, cached tokens
            # included, and crossing it reprices every token of the request.
            total = _clean_usage(usage)[0]
            for start, tier_rates in self.tiers:
                if total > start:
                    rates = tier_rates
                    break
        return rates.cost_usd(usage)


@dataclass(frozen=True, slots=True)
class _Priced:
    """What a (runtime, model) resolves to.

    ``card`` is set for overrides and for table models with one undated price that fits the fast
    path (the common case, priced without touching genai-prices); ``table`` is set for every
    table model, for dated prices, unusual price shapes and the price source.
    """

    card: _RateCard | None
    table: _TableModel | None = None

    def cost_usd(self, usage: TokenUsage, at: datetime | None) -> float | None:
        if self.card is not None:
            return self.card.cost_usd(usage)
        return self.table.cost_usd(usage, at) if self.table is not None else None


@dataclass(frozen=True, slots=True)
class _TableModel:
    """A model found in the genai-prices table."""

    provider: Provider
    model: ModelInfo

    def priced(self) -> _Priced:
        from genai_prices.types import ModelPrice

        prices = self.model.prices
        card = _rate_card(prices) if isinstance(prices, ModelPrice) else None
        return _Priced(card, self)

    def cost_usd(self, usage: TokenUsage, at: datetime | None) -> float | None:
        # Dated price changes (or an unusual price shape): pick the prices in force at ``at``.
        price = self.model.get_prices(at or datetime.now(tz=UTC))
        card = _rate_card(price)
        if card is not None:
            return card.cost_usd(usage)
        if not _has_token_prices(price):
            return None
        return self._exact_cost(usage, at)

    def _exact_cost(self, usage: TokenUsage, at: datetime | None) -> float | None:
        from genai_prices import Usage

        input_tokens, output, cache_read, cache_write, reasoning = _clean_usage(usage)
        try:
            calculation = self.model.calc_price(
                Usage(
                    input_tokens=input_tokens,
                    output_tokens=output,
                    cache_read_tokens=cache_read,
                    cache_write_tokens=cache_write,
                    cache_write_1h_tokens=min(max(usage.cache_write_1h_tokens, 0), cache_write),
                    output_reasoning_tokens=reasoning,
                ),
                self.provider,
                genai_request_timestamp=at,
            )
        except (ValueError, LookupError, ArithmeticError):
            return None  # a price shape genai-prices itself cannot apply: better unknown than wrong
        return float(calculation.total_price)


_CARDS: dict[int, tuple[ModelPrice, _RateCard | None]] = {}


def _rate_card(price: ModelPrice) -> _RateCard | None:
    """The fast-path rates of ``price``, or None when only genai-prices can price it exactly."""
    # Keyed by identity: the bundled table's ModelPrice objects live as long as the process, and
    # keeping a reference in the value stops the id from being reused.
    cached = _CARDS.get(id(price))
    if cached is not None and cached[0] is price:
        return cached[1]
    card = _compile_rate_card(price)
    _CARDS[id(price)] = (price, card)
    return card


def _compile_rate_card(price: ModelPrice) -> _RateCard | None:
    from decimal import Decimal

    from genai_prices.types import TieredPrices

    keys = {key for key, value in vars(price).items() if value is not None and key[0] != "_"}
    if not keys <= _FAST_PRICE_KEYS or not {"input_mtok", "output_mtok"} <= keys:
        return None
    token_keys = (
        "input_mtok",
        "output_mtok",
        "cache_read_mtok",
        "cache_write_mtok",
        "cache_write_1h_mtok",
    )
    values: dict[str, Decimal | TieredPrices | None] = {}
    for key in token_keys:
        value = getattr(price, key)
        if value is not None and not isinstance(value, Decimal | TieredPrices):
            return None
        values[key] = value

    def rate(key: str, total_input_tokens: int) -> float | None:
        value = values[key]
        if isinstance(value, TieredPrices):
            for tier in sorted(value.tiers, key=lambda tier: tier.start, reverse=True):
                if total_input_tokens > tier.start:
                    return float(tier.price)
            return float(value.base)
        return None if value is None else float(value)

    def rates_above(total_input_tokens: int) -> _Rates:
        return _Rates(
            rate("input_mtok", total_input_tokens) or 0.0,  # present: checked above
            rate("output_mtok", total_input_tokens) or 0.0,
            rate("cache_read_mtok", total_input_tokens),
            rate("cache_write_mtok", total_input_tokens),
            rate("cache_write_1h_mtok", total_input_tokens),
        )

    # Between two consecutive thresholds (of any key) every key has one rate.
    thresholds = sorted(
        {tier.start for v in values.values() if isinstance(v, TieredPrices) for tier in v.tiers},
        reverse=True,
    )
    return _RateCard(
        base=rates_above(0),
        tiers=tuple((start, rates_above(start + 1)) for start in thresholds),
    )


def _has_token_prices(price: ModelPrice) -> bool:
    # Models priced only per second of audio or per request would come out as $0 for a chat
    # action: treat them as unpriced instead.
    return price.input_mtok is not None and price.output_mtok is not None


def _clean_usage(usage: TokenUsage) -> tuple[int, int, int, int, int]:
    """(input, output, cache_read, cache_write, reasoning), clamped so the parts fit the whole.

    A buggy or hostile report (negative counts, more cache reads than input) must not produce a
    negative cost or make genai-prices raise.
    """
    cache_read = max(usage.cache_read_tokens, 0)
    cache_write = max(usage.cache_write_tokens, 0)
    input_tokens = max(usage.input_tokens, cache_read + cache_write)
    output = max(usage.output_tokens, 0)
    reasoning = min(max(usage.reasoning_tokens, 0), output)
    return input_tokens, output, cache_read, cache_write, reasoning


class _PriceTable:
    """The bundled genai-prices providers, indexed for lookups by runtime and by model name."""

    def __init__(self) -> None:
        # The bundled data module, not data_snapshot.get_snapshot(): that may return a snapshot
        # installed by an UpdatePrices run elsewhere in the process, and we price offline only.
        from genai_prices.data import providers

        self.providers: list[Provider] = list(providers)
        self.by_id: dict[str, Provider] = {provider.id: provider for provider in self.providers}
        self.first_party = [self.by_id[p] for p in _FIRST_PARTY_PROVIDERS if p in self.by_id]
        self.resellers = [p for p in self.providers if p.id not in _FIRST_PARTY_PROVIDERS]

    def find(self, runtime: str, model: str) -> _TableModel | None:
        candidates = _model_candidates(model)
        provider_id = _RUNTIME_PROVIDER.get(runtime)
        own = [self.by_id[provider_id]] if provider_id in self.by_id else []
        # openai-compatible servers, and claude/codex endpoints serving a model their provider does
        # not list (proxies, gateways), match the name across every provider: first-party ones
        # with every spelling before resellers, so "openai/gpt-oss-20b" gets OpenAI's price.
        for group in (own, self.first_party, self.resellers):
            for candidate in candidates:
                for provider in group:
                    found = provider.find_model(candidate)
                    if found is not None:
                        return _TableModel(provider, found)
        return None

    def models_of(self, provider_id: str) -> list[str]:
        provider = self.by_id.get(provider_id)
        if provider is None:
            return []
        names = []
        for model in provider.models:
            # Fine-tune families ("ft:gpt-4o") have ids that are prefixes, not usable names.
            if model.deprecated or not model.is_match(model.id):
                continue
            if isinstance(model.prices, list):  # dated price changes
                prices = [conditional.prices for conditional in model.prices]
            else:
                prices = [model.prices]
            if any(_has_token_prices(price) for price in prices):
                names.append(model.id)
        return names


def _model_candidates(model: str) -> list[str]:
    """Spellings to try: as given, without a "vendor/" prefix, with Ollama's ":" as "-"."""
    candidates = [model]
    if "/" in model:
        candidates.append(model.rsplit("/", 1)[1])
    for name in list(candidates):
        if ":" in name:
            # Ollama tags ("gpt-oss:20b") against the table's dashed ids ("gpt-oss-20b").
            candidates.append(name.replace(":", "-"))
    return [name for name in dict.fromkeys(candidates) if name]


@functools.cache
def _price_table() -> _PriceTable:
    import_heavy("genai_prices")  # the whole package, under the import lock, before any use
    return _PriceTable()


def price_table_version() -> str:
    """Which price table estimates come from, e.g. "genai-prices 0.2.3 (bundled data)"."""
    genai_prices = import_heavy("genai_prices")
    return f"genai-prices {genai_prices.__version__} (bundled data)"


# --------------------------------------------------------------------------- local servers

# Runtimes whose base URL may point at a model served locally (Ollama, vLLM, llama.cpp, LM Studio).
_LOCAL_CAPABLE_RUNTIMES = frozenset({RuntimeName.OPENAI_COMPATIBLE.value})


def is_local_base_url(base_url: str | None) -> bool:
    """True when ``base_url`` names this machine or a private network: ``localhost`` (and
    ``*.localhost``), an mDNS ``*.local`` name, or a loopback, private (RFC 1918, fc00::/7),
    link-local or shared (100.64/10) address. Pure: the name is read, never resolved."""
    if not base_url:
        return False
    try:
        host = (urlsplit(base_url.strip()).hostname or "").rstrip(".").lower()
    except ValueError:
        return False
    if not host:
        return False
    if host == "localhost" or host.endswith((".localhost", ".local")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address in ipaddress.ip_network("100.64.0.0/10")
    ) and not address.is_unspecified


# --------------------------------------------------------------------------- the price book


class PriceBook:
    """Prices actions: the user's overrides first, then the bundled genai-prices table.

    Thread-safe. Lookups are cached per (runtime, model) in an LRU, so pricing a million actions
    costs a dictionary hit and a few multiplications each.
    """

    def __init__(
        self,
        overrides: Mapping[OverrideKey, PriceOverride] | None = None,
        *,
        cache_size: int = 4096,
    ) -> None:
        self._overrides: dict[OverrideKey, PriceOverride] = {
            (runtime, model.strip().lower() if model is not None else None): price
            for (runtime, model), price in (overrides or {}).items()
        }
        self._resolve = functools.lru_cache(maxsize=cache_size)(self._resolve_uncached)

    @property
    def overrides(self) -> dict[OverrideKey, PriceOverride]:
        """The user's overrides, keyed as parse_price_overrides returns them (a copy)."""
        return dict(self._overrides)

    def warm_up(self) -> None:
        """Import genai-prices and index its table now (slow: call it off the UI thread)."""
        _price_table()

    def cost(
        self,
        runtime: str,
        model: str,
        usage: TokenUsage,
        *,
        provider_cost_usd: float | None = None,
        at: datetime | None = None,
        base_url: str | None = None,
    ) -> Cost:
        """The cost of one action; ``at`` picks dated prices (default: now); ``base_url`` is
        where the call went (an openai-compatible server on a local or private address is
        ``local``, $0, unless prices.json prices the model)."""
        if provider_cost_usd is not None:
            stated = as_money(provider_cost_usd)
            # A negative or garbled stated cost is a provider bug: fall back to an estimate.
            if stated is not None and stated >= 0:
                return Cost(stated, CostSource.PROVIDER)
        if (
            runtime in _LOCAL_CAPABLE_RUNTIMES
            and is_local_base_url(base_url)
            and not self.has_override(runtime, model)
        ):
            return Cost(0.0, CostSource.LOCAL)
        priced = self._resolve(runtime, model)
        if priced is None:
            return Cost.unknown()
        card = priced.card
        usd = card.cost_usd(usage) if card is not None else priced.cost_usd(usage, at)
        return Cost.unknown() if usd is None else Cost(usd, CostSource.ESTIMATED)

    def has_override(self, runtime: str, model: str) -> bool:
        """True when prices.json prices this model on this runtime (by name or by default)."""
        name = model.strip().lower()
        return any(
            key in self._overrides for key in ((runtime, name), (None, name), (runtime, None))
        )

    def is_priced(self, runtime: str, model: str) -> bool:
        """True when cost() can estimate this model without a provider-stated cost."""
        priced = self._resolve(runtime, model)
        return priced is not None and priced.cost_usd(TokenUsage(1, 1), None) is not None

    def known_models(self, runtime: str) -> list[str]:
        """Model ids with a price for this runtime, sorted: the user's overrides and, for claude
        and codex, the current token-priced models of Anthropic or OpenAI in the table.

        The first call imports the table (about 150 ms): call it off the UI thread.
        """
        names = {
            model for (rt, model) in self._overrides if model is not None and rt in (None, runtime)
        }
        provider_id = _RUNTIME_PROVIDER.get(runtime)
        if provider_id is not None:
            names.update(_price_table().models_of(provider_id))
        return sorted(names)

    def price_source(self, runtime: str, model: str) -> str | None:
        """Where the estimate for this model comes from, for tooltips; None when unpriced."""
        if not self.is_priced(runtime, model):
            return None
        priced = self._resolve(runtime, model)
        assert priced is not None
        if priced.table is None:
            return "prices.json"
        table = priced.table
        return f"{price_table_version()}: {table.provider.id}/{table.model.id}"

    def _resolve_uncached(self, runtime: str, model: str) -> _Priced | None:
        name = model.strip().lower()
        if not name:
            return None
        for key in ((runtime, name), (None, name), (runtime, None)):
            override = self._overrides.get(key)
            if override is not None:
                return _Priced(_RateCard(override._rates()))
        found = _price_table().find(runtime, name)
        return found.priced() if found is not None else None
