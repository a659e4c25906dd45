"""Comparison and ordering rules shared by $filter and $orderby.

Values are compared as datetimes when both sides look like naive ISO timestamps or dates (a 4D
date stored as ``D!M!Y`` text, ``28!11!2026``, compares as that day), as numbers
when both sides are numeric (numeric strings such as prices count), and as text otherwise.
"""

from __future__ import annotations

import functools
import math
import operator
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?")
_FOUR_D_DATE = re.compile(r"(\d{1,2})!(\d{1,2})!(\d{4})")
FOUR_D_EMPTY_DATE = "0!0!0"
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


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


def as_text(value: Any) -> str:
    """Text form used when values are neither both datetimes nor both numbers."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def comparator(op: str, literal: Any) -> Callable[[Any], bool]:
    """Test `value op literal` for many values, with the literal's forms parsed once.

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
    """Total-order key: missing, booleans, numbers, NaN, datetimes, then text."""
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


def catalog_type(value: Any) -> str:
    """The ``$catalog`` type of an attribute holding ``value``: ``bool``, ``long`` (integers),
    ``number`` (other numbers), ``date`` (ISO dates and timestamps, 4D's ``D!M!Y`` dates and its
    empty date ``0!0!0``), ``object`` (objects and collections) or ``string`` (any other text,
    numbers held as text included)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "number"
    if isinstance(value, dict | list):
        return "object"
    if value == FOUR_D_EMPTY_DATE or as_datetime(value) is not None:
        return "date"
    return "string"
