"""Number and true/false transforms: ``to_decimal``, ``to_int``, ``to_float``, ``to_bool``.

Number text is read strictly (ASCII digits, one grouping style) so a value is never guessed.
"""

from __future__ import annotations

import functools
import math
import numbers
import re
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any

from sync_operators.transform.steps import (
    TransformContext,
    TransformError,
    check_non_negative_int,
    register_transform,
    short_repr,
)

# A plain number with '.' as decimal separator; ASCII digits only (str.isdigit, int() and
# Decimal() would also accept other scripts' digits and '_').
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_PLAIN_INTEGER = re.compile(r"[+-]?[0-9]+")
_GROUPED_INTEGER = {
    ",": re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+"),
    ".": re.compile(r"[+-]?[0-9]{1,3}(?:\.[0-9]{3})+"),
}
_NAN_WORDS = frozenset({"nan", "+nan", "-nan"})
_INFINITY_WORDS = frozenset({"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"})
# Python's int <-> str conversion limit; larger integers are certainly bad data here.
_MAX_INTEGER_DIGITS = 4000
# Rounding must not fail for long values that PostgreSQL numeric accepts.
_ROUNDING_CONTEXT = Context(prec=1000, rounding=ROUND_HALF_UP)


def _normalize_number(text: str) -> str | None:
    """Rewrite ``text`` with '.' as decimal separator and no thousands separators.

    If both ',' and '.' occur, the last one is the decimal separator and the other one must
    group the integer part in threes ("1.234,50", "1,234.50"). A single ',' is a decimal
    separator ("12,50"); a separator occurring more than once only groups thousands
    ("1.234.567"). Returns None if ``text`` is not a number.
    """
    if _PLAIN_NUMBER.fullmatch(text):
        return text
    has_comma = "," in text
    has_dot = "." in text
    if has_comma and has_dot:
        decimal_separator = "," if text.rfind(",") > text.rfind(".") else "."
        thousands_separator = "." if decimal_separator == "," else ","
        integer, _, fraction = text.rpartition(decimal_separator)
        if not _GROUPED_INTEGER[thousands_separator].fullmatch(integer):
            return None
        candidate = integer.replace(thousands_separator, "") + "." + fraction
    elif has_comma and text.count(",") == 1:
        candidate = text.replace(",", ".")
    elif has_comma or has_dot:
        separator = "," if has_comma else "."
        if not _GROUPED_INTEGER[separator].fullmatch(text):
            return None
        candidate = text.replace(separator, "")
    else:
        return None
    return candidate if _PLAIN_NUMBER.fullmatch(candidate) else None


def _number_text(value: str, what: str) -> str | None:
    """Normalized number text of ``value``; None for empty and NaN; TransformError otherwise."""
    text = value.strip()
    if not text:
        return None
    normalized = _normalize_number(text)
    if normalized is not None:
        return normalized
    lowered = text.lower()
    if lowered in _NAN_WORDS:
        return None
    if lowered in _INFINITY_WORDS:
        raise TransformError("infinite value")
    raise TransformError(f"not {what}: {short_repr(value)}")


def _reject_bool(value: Any, what: str) -> None:
    if isinstance(value, bool):
        raise TransformError(f"not {what}: {value!r} (booleans are not numbers)")


def _finite_decimal(value: Decimal) -> Decimal | None:
    if value.is_finite():
        return value
    if value.is_nan():
        return None
    raise TransformError("infinite value")


def _decimal_from_float(value: float) -> Decimal | None:
    if math.isfinite(value):
        # The shortest repr round-trips, so 0.1 becomes Decimal("0.1"), not its binary expansion.
        return Decimal(float.__repr__(value))
    if math.isnan(value):
        return None
    raise TransformError("infinite value")


def _as_decimal(value: Any) -> Decimal | None:
    """Any supported number (or number text) as a finite Decimal; None for NaN and ''."""
    what = "a decimal number"
    _reject_bool(value, what)
    if isinstance(value, str):
        text = _number_text(value, what)
        return None if text is None else Decimal(text)
    if isinstance(value, Decimal):
        return _finite_decimal(value)
    if isinstance(value, int):
        return Decimal(int(value))
    if isinstance(value, float):
        return _decimal_from_float(value)
    if isinstance(value, numbers.Integral):
        return Decimal(int(value))
    if isinstance(value, numbers.Real):
        return _decimal_from_float(float(value))
    raise TransformError(f"not {what}: {short_repr(value)}")


@functools.lru_cache(maxsize=64)
def _quantum(places: int) -> Decimal:
    return Decimal(1).scaleb(-places)


@register_transform("to_decimal", takes_argument=True, check_argument=check_non_negative_int)
def to_decimal(value: Any, argument: Any, context: TransformContext) -> Decimal | None:
    """Decimal from numbers or number text ("12,50", "1.234,50", "1,234.50").

    NaN becomes None (PostgreSQL numeric columns must not hold NaN); infinity is an error. The
    optional argument rounds to that many decimal places, half up.
    """
    if value is None:
        return None
    number = _as_decimal(value)
    if number is None or argument is None:
        return number
    try:
        return number.quantize(_quantum(argument), context=_ROUNDING_CONTEXT)
    except InvalidOperation as exc:
        raise TransformError(
            f"cannot round {short_repr(value)} to {argument} decimal places"
        ) from exc


def _int_from_decimal(number: Decimal, value: Any) -> int:
    if number != number.to_integral_value():
        raise TransformError(
            f"not an integer: {short_repr(value)} (the fractional part would be lost)"
        )
    if number.adjusted() >= _MAX_INTEGER_DIGITS:
        raise TransformError(f"integer too large: {short_repr(value)}")
    return int(number)


@register_transform("to_int")
def to_int(value: Any, argument: Any, context: TransformContext) -> int | None:
    """int from whole numbers or number text; "12.0" is fine, "12.5" would lose data."""
    if value is None:
        return None
    if type(value) is int:
        return value
    what = "an integer"
    _reject_bool(value, what)
    if isinstance(value, str):
        stripped = value.strip()
        if _PLAIN_INTEGER.fullmatch(stripped) and len(stripped) <= _MAX_INTEGER_DIGITS:
            return int(stripped)
        text = _number_text(value, what)
        return None if text is None else _int_from_decimal(Decimal(text), value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        if math.isnan(value):
            return None
        if math.isinf(value):
            raise TransformError("infinite value")
        raise TransformError(f"not an integer: {value!r} (the fractional part would be lost)")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, (Decimal, numbers.Real)):
        number = _as_decimal(value)
        return None if number is None else _int_from_decimal(number, value)
    raise TransformError(f"not {what}: {short_repr(value)}")


def _finite_float(number: float, value: Any) -> float:
    if math.isinf(number):
        raise TransformError(f"number out of float range: {short_repr(value)}")
    return number


@register_transform("to_float")
def to_float(value: Any, argument: Any, context: TransformContext) -> float | None:
    """float from numbers or number text; NaN becomes None, infinity is an error."""
    if value is None:
        return None
    what = "a number"
    _reject_bool(value, what)
    if isinstance(value, float):
        if math.isfinite(value):
            return float(value)
        if math.isnan(value):
            return None
        raise TransformError("infinite value")
    if isinstance(value, str):
        text = _number_text(value, what)
        return None if text is None else _finite_float(float(text), value)
    if isinstance(value, Decimal):
        number = _finite_decimal(value)
        return None if number is None else _finite_float(float(number), value)
    if isinstance(value, numbers.Real):
        try:
            number = float(value)
        except OverflowError as exc:
            raise TransformError(f"number out of float range: {short_repr(value)}") from exc
        return None if math.isnan(number) else _finite_float(number, value)
    raise TransformError(f"not {what}: {short_repr(value)}")


# ---------------------------------------------------------------------------------------------
# Booleans

TRUE_WORDS = ("1", "true", "yes", "y", "t", "ja", "on")
"""Words ``to_bool`` reads as true (case-insensitive); the SQL fast path uses the same list."""
FALSE_WORDS = ("0", "false", "no", "n", "f", "nein", "off")
"""Words ``to_bool`` reads as false (case-insensitive)."""


@register_transform("to_bool")
def to_bool(value: Any, argument: Any, context: TransformContext) -> bool | None:
    """bool from booleans, 1/0 and words (true/false, yes/no, y/n, t/f, ja/nein, on/off).

    Words are matched case-insensitively; '' and float NaN (pandas' missing marker) are None.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        if not word:
            return None
    elif isinstance(value, float) and math.isnan(value):
        return None
    elif isinstance(value, (numbers.Real, Decimal)) and value in (0, 1):
        return value == 1
    raise TransformError(f"not a boolean: {short_repr(value)}")
