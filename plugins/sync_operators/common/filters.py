"""Record filters from the trigger form: ``{"status": "active", "price": {"gte": 10}}``.

Each condition is ``field op value`` with op one of eq, ne, gt, gte, lt, lte, in. Extractors push
the conditions their source can evaluate into the source query; the pipeline applies the rest to
the extracted records before staging; an extractor pushes a condition only where its source
evaluates it exactly as these rules do. Comparison: timestamps and dates (ISO, or 4D's ``D!M!Y``
text such as ``15!4!1985``) as timestamps, numbers (numeric text too) as numbers, else as exact
text. A record without the field, a null, 4D's empty date ``0!0!0`` and NaN never match.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sync_operators.errors import PermanentError

Scalar = str | int | float | bool

FIELD_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}
OPERATORS = (*COMPARISONS, "in")

_SCALAR_SCHEMA: dict[str, Any] = {"type": ["string", "number", "boolean"]}
_OPERATORS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        **{op: _SCALAR_SCHEMA for op in COMPARISONS},
        "in": {"type": "array", "items": _SCALAR_SCHEMA, "minItems": 1},
    },
    "additionalProperties": False,
    "minProperties": 1,
}
FILTERS_SCHEMA: dict[str, Any] = {
    "type": ["object", "null"],
    "propertyNames": {"pattern": FIELD_PATTERN},
    "additionalProperties": {"anyOf": [_SCALAR_SCHEMA, _OPERATORS_SCHEMA]},
}
"""JSON Schema of the ``filters`` param, so the trigger form refuses a bad value."""

_FIELD = re.compile(FIELD_PATTERN)
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_FOUR_D_DATE = re.compile(r"(\d{1,2})!(\d{1,2})!(\d{4})")
EMPTY_FOUR_D_DATE = "0!0!0"
"""4D's empty date: NULL, never matching a condition."""


class FilterError(ValueError, PermanentError):
    """A filter the pipeline cannot apply; the message names the field and what is wrong.
    Permanent: the run's conf does not change on a retry."""


@dataclass(frozen=True)
class FilterCondition:
    """One ``field op value`` condition; ``value`` is a tuple for ``in``."""

    field: str
    op: str
    value: Scalar | tuple[Scalar, ...]

    def matches(self, record: Mapping[str, Any]) -> bool:
        """True when the record satisfies the condition."""
        current = record.get(self.field)
        if self.op == "in":
            assert isinstance(self.value, tuple)
            return any(compare(current, "eq", item) for item in self.value)
        assert not isinstance(self.value, tuple)
        return compare(current, self.op, self.value)

    def __str__(self) -> str:
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return f"{self.field} {self.op} {value!r}"


def as_datetime(value: Any) -> datetime | None:
    """The moment a datetime, an ISO date or timestamp text, or 4D ``D!M!Y`` date text stands
    for; None for anything else (``0!0!0`` too)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        return None
    four_d = _FOUR_D_DATE.fullmatch(value)
    if four_d is not None:
        day, month, year = (int(part) for part in four_d.groups())
        try:
            return datetime(year, month, day)
        except ValueError:
            return None
    if not _DATETIME.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def as_number(value: Any) -> float | None:
    """The number an int, a float or numeric text stands for; None for anything else (NaN and
    booleans too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return None if isinstance(value, float) and math.isnan(value) else float(value)
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return float(value)
    return None


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def compare(value: Any, op: str, literal: Scalar) -> bool:
    """``value op literal`` with the source's rules; a missing value, 4D's empty date and NaN
    never match."""
    apply = COMPARISONS[op]
    if value is None or value == EMPTY_FOUR_D_DATE:
        return False
    if isinstance(value, float) and math.isnan(value):
        return False
    if isinstance(value, bool) and isinstance(literal, bool):
        return apply(value, literal)
    literal_moment = as_datetime(literal)
    if literal_moment is not None and (moment := as_datetime(value)) is not None:
        try:
            return apply(moment, literal_moment)
        except TypeError:
            return False
    literal_number = as_number(literal)
    if literal_number is not None and (number := as_number(value)) is not None:
        return apply(number, literal_number)
    return apply(_as_text(value), _as_text(literal))


def _scalar(field: str, op: str, value: Any) -> Scalar:
    if isinstance(value, str) and "\x00" in value:
        raise FilterError(
            f"filters.{field}.{op}: {value!r} holds a NUL character (\\x00), which neither "
            "Postgres text nor the source can hold, so no record can match it; remove it"
        )
    if isinstance(value, str | bool | int) or (isinstance(value, float) and math.isfinite(value)):
        return value
    raise FilterError(f"filters.{field}.{op}: {value!r} is not a text, number or true/false value")


def _conditions(field: str, spec: Any) -> Iterator[FilterCondition]:
    if not isinstance(spec, Mapping):
        yield FilterCondition(field, "eq", _scalar(field, "eq", spec))
        return
    if not spec:
        raise FilterError(
            f"filters.{field}: give a value or at least one of {', '.join(OPERATORS)}"
        )
    for op, value in spec.items():
        if op not in OPERATORS:
            raise FilterError(
                f"filters.{field}: unknown operator {op!r}; use one of {', '.join(OPERATORS)}"
            )
        if op != "in":
            yield FilterCondition(field, op, _scalar(field, op, value))
            continue
        if not isinstance(value, list | tuple) or not value:
            raise FilterError(f"filters.{field}.in: expects a non-empty list of values")
        yield FilterCondition(field, "in", tuple(_scalar(field, "in", item) for item in value))


def parse_filters(raw: Any) -> list[FilterCondition]:
    """Parse the ``filters`` param (None or a mapping); raises FilterError with the key path."""
    if raw is None:
        return []
    if not isinstance(raw, Mapping):
        raise FilterError(
            f"filters: expected an object of field → value or field → {{op: value}}, got {raw!r}"
        )
    conditions: list[FilterCondition] = []
    for field, spec in raw.items():
        if not isinstance(field, str) or not _FIELD.fullmatch(field):
            raise FilterError(
                f"filters: {field!r} is not a field name (letters, digits and _, "
                "starting with a letter or _)"
            )
        conditions.extend(_conditions(field, spec))
    return conditions


def filters_as_json(conditions: Sequence[FilterCondition]) -> dict[str, dict[str, Any]]:
    """The canonical ``{field: {op: value}}`` form, as stored in ``sync_log.filters``."""
    found: dict[str, dict[str, Any]] = {}
    for condition in conditions:
        value = list(condition.value) if isinstance(condition.value, tuple) else condition.value
        found.setdefault(condition.field, {})[condition.op] = value
    return found


def split_filters(
    conditions: Iterable[FilterCondition], pushable_ops: Iterable[str]
) -> tuple[list[FilterCondition], list[FilterCondition]]:
    """Conditions the source evaluates (by operator), and those applied after extraction."""
    ops = set(pushable_ops)
    pushed: list[FilterCondition] = []
    rest: list[FilterCondition] = []
    for condition in conditions:
        (pushed if condition.op in ops else rest).append(condition)
    return pushed, rest


def matches_all(record: Mapping[str, Any], conditions: Sequence[FilterCondition]) -> bool:
    """True when the record satisfies every condition."""
    return all(condition.matches(record) for condition in conditions)
