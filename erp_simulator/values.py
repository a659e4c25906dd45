"""Comparison and ordering rules shared by $filter and $orderby, driven by the attribute's type.

As 4D does, a comparison follows the ``$catalog`` type of the attribute it names:

- ``string``: ``=`` (and ``==``) ignores case and diacritics and reads ``@`` in the value as a
  wildcard for any sequence (``name='Jo@'`` is a prefix match); ``===`` compares exactly, ``@``
  included; ``!=``/``#`` negate ``=`` and ``!==`` negates ``===``. ``<``, ``>``, ``<=``, ``>=``
  compare text (``"99.50" > "100"``); that they ignore case and diacritics as ``=`` does is the
  simulator's assumption (4D's documentation does not say). A number compared with a text
  attribute is compared as its text.
- ``long``, ``number`` (and 4D's other numeric types): as numbers.
- ``date``: as dates; values are ISO dates or timestamps or 4D's ``D!M!Y`` text, and ``0!0!0`` is
  the empty date. A timestamp with ``Z`` or an offset compares by its wall-clock time: which zone
  4D compares in is not fixed (LEGACY_4D_FACTS, Values), so this is the simulator's choice.
- ``bool``: true and false.

A null value (an empty date, NaN, a value the attribute's type cannot hold) never matches any
comparison, ``!=`` included. 4D's documentation does not say how a plain comparison treats null
(it has ``= null`` for that); this rule is the simulator's assumption. An attribute whose type is
unknown (``object``, or a query without types) compares by the values' shape: datetimes, then
numbers (numeric text too), else text.
"""

from __future__ import annotations

import functools
import math
import operator
import re
import unicodedata
from collections.abc import Callable
from datetime import datetime
from typing import Any

_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?")
_FOUR_D_DATE = re.compile(r"(\d{1,2})!(\d{1,2})!(\d{4})")
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}!\d{1,2}!\d{4}")
FOUR_D_EMPTY_DATE = "0!0!0"
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "==": operator.eq,
    "===": operator.eq,
    "!=": operator.ne,
    "#": operator.ne,
    "!==": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
NEGATED = {"!=": "=", "#": "=", "!==": "==="}
NUMERIC_TYPES = frozenset({"long", "long64", "number", "integer", "word", "float"})
TEXT_TYPES = frozenset({"string", "text"})

Test = Callable[[Any], bool]


def as_datetime(value: Any) -> datetime | None:
    """Parse a naive ISO date or timestamp string, or 4D ``D!M!Y`` date text; anything else
    (4D's empty date ``0!0!0`` too) gives None."""
    return _parse_datetime(value) if isinstance(value, str) else None


@functools.lru_cache(maxsize=65536)
def _parse_datetime(text: str) -> datetime | None:
    """Cached because the same timestamps are compared on every page request."""
    four_d = _FOUR_D_DATE.fullmatch(text)
    if four_d is not None:
        day, month, year = (int(part) for part in four_d.groups())
        try:
            return datetime(year, month, day)
        except ValueError:
            return None
    if not _DATETIME.fullmatch(text):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def as_number(value: Any) -> float | None:
    """Numeric value of an int, float or numeric string; booleans are not numbers."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return float(value)
    return None


_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")


def as_wall_clock(value: Any) -> datetime | None:
    """:func:`as_datetime`, also for a timestamp with ``Z`` or an offset, read without it."""
    if isinstance(value, str) and (offset := _OFFSET.search(value)) is not None:
        return as_datetime(value[: offset.start()])
    return as_datetime(value)


def _as_real_number(value: Any) -> float | None:
    """The number a numeric attribute holds; NaN (a missing float) counts as null."""
    number = as_number(value)
    return None if number is None or math.isnan(number) else number


def as_text(value: Any) -> str:
    """Text form of a value compared as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def fold(text: str) -> str:
    """Text as 4D's ``=`` sees it: without case and without diacritics (``É`` is ``e``)."""
    if text.isascii():
        return text.lower()
    return _fold_unicode(text)


@functools.lru_cache(maxsize=65536)
def _fold_unicode(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


def _text_equals(literal: str) -> Callable[[str], bool]:
    """4D's ``=`` on text: case and diacritics ignored, ``@`` matches any sequence."""
    folded = fold(literal)
    if "@" not in folded:
        return lambda text: fold(text) == folded
    pattern = re.compile(".*".join(map(re.escape, folded.split("@"))), re.DOTALL)
    return lambda text: pattern.fullmatch(fold(text)) is not None


def _text_test(op: str, literal: Any) -> Test:
    literal_text = as_text(literal)
    if op in ("=", "=="):
        equals = _text_equals(literal_text)
        return lambda value: equals(as_text(value))
    if op == "===":
        return lambda value: as_text(value) == literal_text
    apply, folded = OPERATORS[op], fold(literal_text)
    return lambda value: apply(fold(as_text(value)), folded)


def _converted_test(op: str, literal: Any, convert: Callable[[Any], Any]) -> Test:
    """Compare ``convert(value)`` with ``convert(literal)``; None on either side never matches."""
    apply, converted = OPERATORS[op], convert(literal)
    if converted is None:
        return lambda value: False

    def test(value: Any) -> bool:
        current = convert(value)
        return current is not None and apply(current, converted)

    return test


def _as_bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def typed_comparator(kind: str | None, op: str, literal: Any) -> Test:
    """Test ``value op literal`` for values of an attribute of catalog type ``kind`` (None for
    unknown: compared by shape, see :func:`comparator`); a null value never matches."""
    if literal is None:
        return lambda value: False
    if op in NEGATED:
        positive = typed_comparator(kind, NEGATED[op], literal)
        if kind in TEXT_TYPES:
            return lambda value: value is not None and not positive(value)
        converter = _converter(kind)
        if converter is None:
            return lambda value: value is not None and not positive(value)
        return lambda value: converter(value) is not None and not positive(value)
    if kind in TEXT_TYPES:
        test = _text_test(op, literal)
        return lambda value: value is not None and test(value)
    converter = _converter(kind)
    if converter is None:
        return comparator(op, literal)
    return _converted_test(op, literal, converter)


def _converter(kind: str | None) -> Callable[[Any], Any] | None:
    if kind in NUMERIC_TYPES:
        return _as_real_number
    if kind == "date":
        return as_wall_clock
    if kind == "bool":
        return _as_bool
    return None


def comparator(op: str, literal: Any) -> Test:
    """Test `value op literal` by the values' shape, with the literal's forms parsed once.

    None on either side never matches.
    """
    apply = OPERATORS[op]
    literal_datetime, literal_number = as_datetime(literal), as_number(literal)
    literal_text = as_text(literal)

    def test(value: Any) -> bool:
        if value is None or literal is None:
            return False
        if isinstance(value, bool) and isinstance(literal, bool):
            return apply(value, literal)
        if literal_datetime is not None:
            moment = as_datetime(value)
            if moment is not None:
                return apply(moment, literal_datetime)
        if literal_number is not None:
            number = as_number(value)
            if number is not None:
                return apply(number, literal_number)
        return apply(as_text(value), literal_text)

    return test


def sort_key(value: Any) -> tuple[int, Any]:
    """Total-order key by shape: missing, booleans, numbers, NaN, datetimes, then text."""
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    number = as_number(value)
    if number is not None:
        return (3, 0) if math.isnan(number) else (2, number)
    moment = as_datetime(value)
    if moment is not None:
        return (4, moment)
    return (5, as_text(value))


def _text_key(value: Any) -> tuple[Any, ...]:
    if value is None:
        return (0,)
    text = as_text(value)
    return (1, fold(text), text)


def typed_sort_key(kind: str | None) -> Callable[[Any], tuple[Any, ...]]:
    """``$orderby`` key for an attribute of catalog type ``kind``: nulls first, then text as
    ``<`` compares it (case and diacritics ignored; exact text breaks ties), numbers, dates or
    booleans by value; unknown types by shape (:func:`sort_key`)."""
    if kind in TEXT_TYPES:
        return _text_key
    converter = _converter(kind)
    if converter is None:
        return sort_key

    def key(value: Any) -> tuple[Any, ...]:
        converted = converter(value)
        return (0,) if converted is None else (1, converted)

    return key


def catalog_type(value: Any) -> str:
    """The ``$catalog`` type of an attribute holding ``value``: ``bool``, ``long`` (integers),
    ``number`` (other numbers), ``date`` (a 4D date, which has no time of day: ``YYYY-MM-DD`` or
    ``D!M!Y`` text), ``object`` (objects and collections) or ``string`` (any other text: numbers
    and timestamps held as text included)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "number"
    if isinstance(value, dict | list):
        return "object"
    if value == FOUR_D_EMPTY_DATE or (
        isinstance(value, str) and _DATE_ONLY.fullmatch(value) and as_datetime(value) is not None
    ):
        return "date"
    return "string"
