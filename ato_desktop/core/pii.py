"""PII redaction of content before it leaves the machine (cloud sync of prompts and responses).

Pure: configurable rules over text and over JSON-like values (dicts, lists, strings). The
built-in patterns are e-mail addresses, phone numbers, payment card numbers (Luhn-checked, so an
order number of 16 digits survives) and API-key shapes (the same shapes core.redaction knows,
plus generic long ``key_``/``token_`` style secrets). Custom patterns are regular expressions
given by the user; each match becomes ``[REDACTED]``.

Known secrets (the API keys ATO holds) are always scrubbed besides, through core.redaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ato_desktop.core.redaction import redact_secrets

BUILTIN_RULES: tuple[str, ...] = ("email", "phone", "card", "api_key")
"""The names of the built-in patterns, in the order they are applied."""

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
# International (+CC ...) or national numbers with separators: 7 to 15 digits in all.
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]\d{2,4}){1,4}(?!\w)"
)
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_API_KEY = re.compile(
    r"""
      (?<![A-Za-z0-9])sk-[A-Za-z0-9_\-]{16,}
    | (?<![A-Za-z0-9])AIza[A-Za-z0-9_\-]{30,}
    | (?<![A-Za-z0-9])(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})
    | (?<![A-Za-z0-9])(?:xox[abposr]-[A-Za-z0-9-]{10,})
    | (?<![A-Za-z0-9])AKIA[0-9A-Z]{16}
    | (?<![A-Za-z0-9])eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}
    | (?<![A-Za-z0-9])(?:pk|sk|rk|key|token|secret)[-_](?:live_|test_)?[A-Za-z0-9]{24,}
    """,
    re.VERBOSE,
)

PLACEHOLDERS: Mapping[str, str] = {
    "email": "[EMAIL]",
    "phone": "[PHONE]",
    "card": "[CARD]",
    "api_key": "[API_KEY]",
}


class PiiRuleError(ValueError):
    """A custom pattern that is not a valid regular expression, or an unknown rule name."""


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _phone_ok(text: str) -> bool:
    if _ISO_DATE.fullmatch(text):
        return False
    digits = sum(c.isdigit() for c in text)
    return 7 <= digits <= 15


@dataclass(frozen=True, slots=True)
class PiiRules:
    """Which patterns apply: built-in rule names plus custom regular expressions."""

    builtin: tuple[str, ...] = BUILTIN_RULES
    custom: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = [name for name in self.builtin if name not in BUILTIN_RULES]
        if unknown:
            raise PiiRuleError(
                f"unknown redaction rule {unknown[0]!r}; the rules are {', '.join(BUILTIN_RULES)}"
            )
        for pattern in self.custom:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise PiiRuleError(f"the pattern {pattern!r} is not valid: {exc}") from None

    @classmethod
    def none(cls) -> PiiRules:
        return cls(builtin=(), custom=())

    def as_dict(self) -> dict[str, Any]:
        return {"builtin": list(self.builtin), "custom": list(self.custom)}

    @classmethod
    def from_dict(cls, data: Any) -> PiiRules:
        """From as_dict's form; anything malformed gives the defaults."""
        if not isinstance(data, Mapping):
            return cls()
        builtin = data.get("builtin", list(BUILTIN_RULES))
        custom = data.get("custom", [])
        return cls(
            builtin=tuple(str(b) for b in builtin if str(b) in BUILTIN_RULES)
            if isinstance(builtin, list)
            else BUILTIN_RULES,
            custom=tuple(str(c) for c in custom) if isinstance(custom, list) else (),
        )

    def redact(self, text: str, secrets: Iterable[str] = ()) -> str:
        """The text with every match of the enabled rules (and known secrets) replaced."""
        if not text:
            return text
        out = redact_secrets(text, secrets)
        # API keys before the digit rules: a key's digits must not half-match as a phone.
        if "api_key" in self.builtin:
            out = _API_KEY.sub(PLACEHOLDERS["api_key"], out)
        if "email" in self.builtin:
            out = _EMAIL.sub(PLACEHOLDERS["email"], out)
        if "card" in self.builtin:
            out = _CARD.sub(_card_sub, out)
        if "phone" in self.builtin:
            out = _PHONE.sub(_phone_sub, out)
        for pattern in self.custom:
            out = re.sub(pattern, "[REDACTED]", out)
        return out

    def redact_value(self, value: Any, secrets: Iterable[str] = ()) -> Any:
        """A JSON-like value with every string in it redacted (keys kept as they are)."""
        secrets = tuple(secrets)
        if isinstance(value, str):
            return self.redact(value, secrets)
        if isinstance(value, Mapping):
            return {k: self.redact_value(v, secrets) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact_value(v, secrets) for v in value]
        return value


def _card_sub(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if 13 <= len(digits) <= 19 and _luhn_ok(digits):
        return PLACEHOLDERS["card"]
    return match.group(0)


def _phone_sub(match: re.Match[str]) -> str:
    text = match.group(0)
    return PLACEHOLDERS["phone"] if _phone_ok(text) else text
