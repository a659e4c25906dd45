"""Target column descriptions, used to type the staging table and to reject a value the target
would refuse (too long, out of range, NULL in a NOT NULL column) as a per-record error instead of
failing a whole COPY."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any

import psycopg

INT_RANGES = {
    "smallint": (-(2**15), 2**15 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
}
"""The values each Postgres integer type holds; the loader and the SQL fast path both check them."""


class TargetSchemaError(RuntimeError):
    """The target table or one of its columns is missing; the message names them."""


@dataclass(frozen=True)
class ColumnSpec:
    """One target column as the catalog describes it."""

    name: str
    data_type: str
    nullable: bool = True
    max_length: int | None = None
    numeric_precision: int | None = None
    numeric_scale: int | None = None

    def check(self, value: Any) -> str | None:
        """Why the target would refuse ``value``, or None when it fits."""
        if value is None:
            return None if self.nullable else f"column '{self.name}' must not be NULL"
        if self.max_length is not None and isinstance(value, str):
            if len(value) > self.max_length:
                return (
                    f"value has {len(value)} characters; column '{self.name}' holds at most "
                    f"{self.max_length}"
                )
        elif self.data_type in INT_RANGES and isinstance(value, int):
            low, high = INT_RANGES[self.data_type]
            if not low <= value <= high:
                return f"{value} is out of range for {self.data_type} column '{self.name}'"
        elif self.data_type == "numeric" and self.numeric_precision is not None:
            return self._check_numeric(value)
        return None

    def _check_numeric(self, value: Any) -> str | None:
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return None
        if not number.is_finite():
            return f"column '{self.name}' cannot hold {value}"
        precision = self.numeric_precision or 0
        scale = self.numeric_scale or 0
        bound = Decimal(1).scaleb(precision - scale)
        if number and number.adjusted() < precision - scale:
            # Postgres rounds to the scale first: 9999999999.995 overflows numeric(12,2).
            number = number.quantize(
                Decimal(1).scaleb(-scale),
                rounding=ROUND_HALF_UP,
                context=Context(prec=precision + 1),
            )
        if number and abs(number) >= bound:
            return (
                f"{value} does not fit numeric({self.numeric_precision},{scale}) "
                f"column '{self.name}'"
            )
        return None


def describe_columns(
    conn: psycopg.Connection, schema: str, table: str, columns: list[str]
) -> list[ColumnSpec]:
    """Describe ``columns`` of ``schema.table`` in the given order; raises TargetSchemaError."""
    with conn.cursor() as cur:
        cur.execute(
            """
            SELECT column_name, data_type, is_nullable = 'YES', character_maximum_length,
                   numeric_precision, numeric_scale
            FROM information_schema.columns
            WHERE table_schema = %s AND table_name = %s
            """,
            (schema, table),
        )
        found = {row[0]: ColumnSpec(*row) for row in cur.fetchall()}
    if not found:
        raise TargetSchemaError(f"target table {schema}.{table} does not exist")
    missing = [column for column in columns if column not in found]
    if missing:
        raise TargetSchemaError(
            f"target table {schema}.{table} has no column(s) {', '.join(missing)}"
        )
    return [found[column] for column in columns]
