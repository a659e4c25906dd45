"""A 4D ``$filter`` whose values travel as ``$params`` placeholders.

Every value (window bounds, trigger-form filters, the keyset key) becomes a placeholder ``:1``,
``:2``, … in the filter text and an item of the ``$params`` JSON array, so no value is ever
quoted inside the filter: an apostrophe, a double quote (which would end the double quotes
around the whole filter), a backslash or ``@`` reach 4D as data, not syntax. Placeholders are
chosen over 4D's ``\\u0027``/``\\u0022`` escapes inside quoted literals because they keep one
rule for every value type and leave nothing for the filter parser to unescape. Inside the
``$params`` array a quote is still written ``\\u0027`` / ``\\u0022``, as 4D's documentation
shows it, so the single quotes around the array stay unambiguous.

A trigger-form condition is pushed into the filter only where 4D evaluates it exactly as the
local rules (``common.filters.compare``) do, by the attribute's ``$catalog`` type:

- ``eq``/``in`` with text that looks neither like a number nor like a date, on a ``string``
  attribute, as ``===``: 4D's ``=`` on text ignores case and diacritics and reads ``@`` as a
  wildcard, ``===`` compares exactly, as the local rule does;
- ``eq``/``in`` with numbers on a ``long`` or ``number`` attribute, and with true/false on a
  ``bool`` attribute, as ``=``;
- ``gt``/``gte``/``lt``/``lte`` with a number on a ``long`` or ``number`` attribute, or with a date
  (``YYYY-MM-DD`` or ``D!M!Y``, sent as ``YYYY-MM-DD``) on a ``date`` attribute.

Every pushed condition is also checked again on the rows the source sends (4D's empty date may
count as earlier than any date, a ``number`` may compare with a tolerance): 4D only narrows the
rows, the local rules decide.

Everything else stays local: ``ne`` (how 4D's ``!==`` treats null is not documented, and locally
null never matches), text ranges (4D compares text by its own rules, numbers held as text as
text: ``"99.50" > "100"``), numbers compared with text, and every attribute the catalog does not
type.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from sync_operators.common.filters import (
    EMPTY_FOUR_D_DATE,
    FilterCondition,
    Scalar,
    as_datetime,
    as_number,
)

RANGE_OPERATORS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
NUMERIC_TYPES = frozenset({"long", "number"})
_QUOTES = {"'": "\\u0027", '"': "\\u0022"}
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}!\d{1,2}!\d{4}")
_DATE_LIKE = re.compile(r"\s*(?:\d{4}-\d{2}-\d{2}|\d+!\d+!\d+)")


@dataclass(frozen=True)
class Pushdown:
    """How a trigger-form condition travels to 4D: its comparator and the values to compare with
    (several for ``in``, joined by OR)."""

    condition: FilterCondition
    operator: str
    values: tuple[Scalar, ...]


def _is_number(value: Scalar) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _plain_text(value: Scalar) -> bool:
    """Text the local rules compare as exact text: not numeric and not a date."""
    return (
        isinstance(value, str)
        and as_number(value) is None
        and value != EMPTY_FOUR_D_DATE
        and _DATE_LIKE.match(value) is None
    )


def _date_only(value: Scalar) -> str | None:
    """A date literal as ``YYYY-MM-DD``, or None for anything that is not just a date."""
    if not isinstance(value, str) or not _DATE_ONLY.fullmatch(value):
        return None
    moment = as_datetime(value)
    return None if moment is None else moment.date().isoformat()


def pushdown(condition: FilterCondition, kind: str | None) -> Pushdown | None:
    """How 4D evaluates ``condition`` on an attribute of catalog type ``kind`` exactly as the
    local rules do, or None when it cannot (see the module docstring)."""
    values = condition.value if isinstance(condition.value, tuple) else (condition.value,)
    if condition.op in ("eq", "in"):
        if kind == "string" and all(map(_plain_text, values)):
            return Pushdown(condition, "===", values)
        if kind in NUMERIC_TYPES and all(map(_is_number, values)):
            return Pushdown(condition, "=", values)
        if kind == "bool" and all(isinstance(value, bool) for value in values):
            return Pushdown(condition, "=", values)
        return None
    if condition.op not in RANGE_OPERATORS:
        return None
    operator = RANGE_OPERATORS[condition.op]
    if kind in NUMERIC_TYPES and all(map(_is_number, values)):
        return Pushdown(condition, operator, values)
    day = _date_only(values[0])
    if kind == "date" and day is not None:
        return Pushdown(condition, operator, (day,))
    return None


def plan_pushdown(
    conditions: Sequence[FilterCondition],
    types: Mapping[str, str] | None,
    ops: Collection[str] = (*RANGE_OPERATORS, "eq", "in"),
) -> tuple[list[Pushdown], list[FilterCondition]]:
    """The conditions 4D evaluates (those with an operator in ``ops``, by the attributes'
    catalog ``types``; none without them), and those applied after extraction."""
    pushed: list[Pushdown] = []
    rest: list[FilterCondition] = []
    for condition in conditions:
        found = None
        if types is not None and condition.op in ops:
            found = pushdown(condition, types.get(condition.field))
        if found is None:
            rest.append(condition)
        else:
            pushed.append(found)
    return pushed, rest


@dataclass
class FourDFilter:
    """Conditions joined with AND, and the values their placeholders stand for."""

    conditions: list[str] = field(default_factory=list)
    values: list[Scalar] = field(default_factory=list)

    def placeholder(self, value: Scalar) -> str:
        """Keep ``value`` and return the placeholder that stands for it (``:1`` first)."""
        self.values.append(value)
        return f":{len(self.values)}"

    def compare(self, attribute: str, operator: str, value: Scalar) -> None:
        """Add ``attribute operator value``."""
        self.conditions.append(f"{attribute}{operator}{self.placeholder(value)}")

    def add(self, pushed: Pushdown) -> None:
        """Add a trigger-form condition; ``in`` becomes a parenthesised OR of equalities."""
        attribute = pushed.condition.field
        alternatives = [
            f"{attribute}{pushed.operator}{self.placeholder(value)}" for value in pushed.values
        ]
        if isinstance(pushed.condition.value, tuple):
            self.conditions.append("(" + " OR ".join(alternatives) + ")")
        else:
            self.conditions.extend(alternatives)

    def copy(self) -> FourDFilter:
        """An independent copy, to extend with one page's key condition."""
        return FourDFilter(list(self.conditions), list(self.values))

    def query(self) -> dict[str, str]:
        """``$filter`` and ``$params`` request parameters; empty without conditions."""
        if not self.conditions:
            return {}
        query = {"$filter": '"' + " AND ".join(self.conditions) + '"'}
        if self.values:
            query["$params"] = "'[" + ",".join(map(params_item, self.values)) + "]'"
        return query


def params_item(value: Scalar) -> str:
    """One ``$params`` item as JSON, with quotes inside text written ``\\u0027``/``\\u0022``."""
    if not isinstance(value, str):
        return json.dumps(value, allow_nan=False)
    body = "".join(
        _QUOTES.get(char) or json.dumps(char, ensure_ascii=False)[1:-1] for char in value
    )
    return '"' + body + '"'
