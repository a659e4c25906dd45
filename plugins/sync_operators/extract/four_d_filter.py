"""A 4D ``$filter`` whose values travel as ``$params`` placeholders.

Every value (window bounds, trigger-form filters, the keyset key) becomes a placeholder ``:1``,
``:2``, … in the filter text and an item of the ``$params`` JSON array, so no value is ever
quoted inside the filter: an apostrophe, a double quote (which would end the double quotes
around the whole filter), a backslash or ``@`` reach 4D as data, not syntax. Placeholders are
chosen over 4D's ``\\u0027``/``\\u0022`` escapes inside quoted literals because they keep one
rule for every value type and leave nothing for the filter parser to unescape. Inside the
``$params`` array a quote is still written ``\\u0027`` / ``\\u0022``, as 4D's documentation
shows it, so the single quotes around the array stay unambiguous.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sync_operators.common.filters import FilterCondition, Scalar

FILTER_OPERATORS = {"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_QUOTES = {"'": "\\u0027", '"': "\\u0022"}


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

    def add(self, condition: FilterCondition) -> None:
        """Add a trigger-form condition; ``in`` becomes a parenthesised OR of equalities."""
        if isinstance(condition.value, tuple):
            alternatives = [
                f"{condition.field}={self.placeholder(item)}" for item in condition.value
            ]
            self.conditions.append("(" + " OR ".join(alternatives) + ")")
            return
        self.compare(condition.field, FILTER_OPERATORS[condition.op], condition.value)

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
