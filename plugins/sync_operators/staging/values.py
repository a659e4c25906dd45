"""Values for json/jsonb columns of the typed staging table: psycopg cannot COPY a bare dict or
list, so they are wrapped in ``Jsonb`` (serialized with ``dumps_clean``, which also handles
Decimal, datetimes, NaN and NUL characters inside nested values)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.types.json import Jsonb

from sync_operators.common.columns import ColumnSpec
from sync_operators.common.json_clean import dumps_clean

JSON_TYPES = frozenset({"json", "jsonb"})


def json_column_indexes(specs: Sequence[ColumnSpec]) -> list[int]:
    """Positions of the json/jsonb columns among ``specs``."""
    return [index for index, spec in enumerate(specs) if spec.data_type in JSON_TYPES]


def wrap_json(row: Sequence[Any], indexes: Sequence[int]) -> list[Any]:
    """``row`` with the values at ``indexes`` wrapped for a jsonb parameter (None stays NULL)."""
    values = list(row)
    for index in indexes:
        value = values[index]
        if value is not None:
            values[index] = Jsonb(value, dumps=dumps_clean)
    return values
