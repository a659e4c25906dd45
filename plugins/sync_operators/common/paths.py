"""Source field paths into nested records: ``billing.address.city``, ``lines[0].sku``.

A mapping's source field is usually a plain key; APIs that return nested JSON need a path. A path
is compiled once into a function, so the per-record cost is a few dict and list lookups. A key that
is present verbatim in the record (a legacy column named ``a.b``) always wins over the path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from pydantic import AfterValidator

Getter = Callable[[Mapping[str, Any]], Any]

_SEGMENT = re.compile(r"([^.\[\]]+)((?:\[-?\d+\])*)")
_INDEX = re.compile(r"\[(-?\d+)\]")


def is_path(field: str) -> bool:
    """True when ``field`` addresses a nested value rather than a top-level key."""
    return "." in field or "[" in field


def parse_path(field: str) -> list[str | int]:
    """Split a path into keys (str) and list indices (int); raises ValueError when malformed."""
    steps: list[str | int] = []
    for part in field.split("."):
        match = _SEGMENT.fullmatch(part)
        if match is None:
            raise ValueError(
                f"'{field}' is not a valid field path (use name.name and name[0], e.g. "
                "'billing.address.city' or 'lines[0].sku')"
            )
        steps.append(match.group(1))
        steps.extend(int(index) for index in _INDEX.findall(match.group(2)))
    return steps


def checked_path(field: str) -> str:
    """``field`` unchanged when it is a valid path; raises ValueError naming the rule when not."""
    parse_path(field)
    return field


FieldPath = Annotated[str, AfterValidator(checked_path)]
"""An option holding a dotted field path, checked when the options are validated."""


def compile_path(field: str) -> Getter:
    """A function returning the value at ``field`` in a record, or None when any step is missing.

    Plain keys compile to ``record.get(field)``.
    """
    if not is_path(field):
        return lambda record: record.get(field)
    steps = tuple(parse_path(field))

    def get(record: Mapping[str, Any]) -> Any:
        if field in record:
            return record[field]
        value: Any = record
        for step in steps:
            if isinstance(step, int):
                if not isinstance(value, list) or not -len(value) <= step < len(value):
                    return None
                value = value[step]
            elif isinstance(value, Mapping):
                value = value.get(step)
            else:
                return None
            if value is None:
                return None
        return value

    return get
