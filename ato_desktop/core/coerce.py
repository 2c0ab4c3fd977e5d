"""The one place where numbers that crossed a boundary (JSON, CSV, SQL, HTTP) become Python numbers.

Providers, proxies, SQLite columns and hand-edited files hand us money as floats, ints, Decimals or
strings such as ``"0.014200"``, and token counts as ``123``, ``123.0`` or ``"123"``. Views and
aggregates must never crash on any of them, so everything goes through these two functions, which
return None for anything that is not a clean finite number instead of raising.
"""

from __future__ import annotations

import math

# decimal and numbers load with the first value that is not None, a bool, an int or a float:
# the log's own columns never need them (a reading command's start).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from decimal import Decimal
    from numbers import Real

# Longer strings are not numbers anyone meant; refusing them early also keeps Decimal and int
# parsing of hostile input cheap.
_MAX_NUMBER_TEXT = 100


def _text_to_decimal(value: str | bytes | bytearray) -> Decimal | None:
    if isinstance(value, bytes | bytearray):
        try:
            value = bytes(value).decode("ascii")
        except UnicodeDecodeError:
            return None
    from decimal import Decimal, InvalidOperation

    text = value.strip()
    if text.startswith("$"):
        # "$0.0142" is how some dashboards and CSV exports write money.
        text = text[1:].lstrip()
    if not text or len(text) > _MAX_NUMBER_TEXT:
        return None
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def as_money(value: object) -> float | None:
    """A USD amount as a float, or None when ``value`` is not a finite number.

    Accepts floats, ints, Decimals, other real numbers (numpy scalars) and numeric strings or bytes
    (``"0.014200"``, ``" 3 "``, ``"1e-4"``, ``"$0.01"``). None, ``""``, booleans, NaN, infinities,
    comma decimals (``"0,5"``, ambiguous between locales) and anything else give None. Negative
    amounts (credits, refunds) pass through: this coerces, it does not validate.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int):
        return _finite_float(value)
    if isinstance(value, str | bytes | bytearray):
        number = _text_to_decimal(value)
        if number is None:
            return None
        return _finite_float(number)
    from decimal import Decimal
    from numbers import Real

    if isinstance(value, Decimal):
        return _finite_float(value) if value.is_finite() else None
    if isinstance(value, Real):
        return _finite_float(value)
    return None


def as_int(value: object) -> int | None:
    """An integer (a token count, usually), or None when ``value`` is not a whole finite number.

    Accepts ints, integral floats and Decimals (``123.0``), other integral numbers (numpy scalars)
    and strings or bytes such as ``"123"``, ``"123.0"`` or ``"1e3"``. Fractions (``12.5``), NaN,
    infinities, booleans, None, ``""`` and garbage give None rather than a silently rounded count.
    Negative values pass through: this coerces, it does not validate.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str | bytes | bytearray):
        number = _text_to_decimal(value)
        return _integral(number) if number is not None else None
    from decimal import Decimal
    from numbers import Integral, Real

    if isinstance(value, Decimal):
        return _integral(value) if value.is_finite() else None
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        as_float = _finite_float(value)
        if as_float is None or not as_float.is_integer():
            return None
        return int(as_float)
    return None


def _finite_float(value: Real | Decimal | int) -> float | None:
    try:
        number = float(value)
    except (OverflowError, ValueError, TypeError):
        return None
    return number if math.isfinite(number) else None


def _integral(number: Decimal) -> int | None:
    # "1e999999" is finite but would expand to a million digits: not a count anyone meant.
    if number.adjusted() >= _MAX_NUMBER_TEXT or number != number.to_integral_value():
        return None
    try:
        return int(number)
    except (OverflowError, ValueError):
        return None


# Money is written out to this many decimal places: below a millionth of a cent, and past the
# noise that adding floats leaves (0.04 + 0.000335 is 0.040334999999999996).
MONEY_PLACES = 12


def money_text(value: object) -> str:
    """A USD amount as plain decimal text for CSV and other text exports: 0.040335 (never
    0.040334999999999996 nor 1e-07); '' when value is not a finite number."""
    money = as_money(value)
    if money is None:
        return ""
    rounded = round(money, MONEY_PLACES)
    if rounded == 0:
        return "0"
    from decimal import Decimal

    text = format(Decimal(repr(rounded)).normalize(), "f")
    return text
