"""The target must have a unique index on the mapping's key columns: the load's merge is
``INSERT … ON CONFLICT (key)``, and without a matching index Postgres refuses it only when the
load is already under way, with "there is no unique or exclusion constraint matching the ON
CONFLICT specification". Checked before the first write, the failure names the table, the key
and the statement that fixes it."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg import sql

from sync_operators.common.columns import TargetSchemaError
from sync_operators.errors import PermanentError


class KeyNotUnique(TargetSchemaError, PermanentError):
    """The target has no unique index on the mapping's key. Permanent: a task retry meets the
    same table, so the task fails at once; the next run after the index is created loads."""


def unique_key_columns(conn: psycopg.Connection, schema: str, table: str) -> list[set[str]]:
    """The column sets ``ON CONFLICT`` can match in ``schema.table``: valid, immediate (not
    deferrable), non-partial unique indexes on plain columns, primary key included; the
    ``INCLUDE`` columns of an index are not part of its key."""
    rows = conn.execute(
        """
        SELECT array(
                   SELECT a.attname FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(num, pos)
                   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num
                   WHERE k.pos <= i.indnkeyatts
               )
        FROM pg_index i
        WHERE i.indrelid = to_regclass(format('%%I.%%I', %s::text, %s::text))
          AND i.indisunique AND i.indimmediate AND i.indisvalid
          AND i.indpred IS NULL AND i.indexprs IS NULL
        """,
        (schema, table),
    ).fetchall()
    return [set(columns) for (columns,) in rows]


def missing_unique_key(
    conn: psycopg.Connection, schema: str, table: str, key_columns: Sequence[str]
) -> str | None:
    """Why the merge cannot match rows of ``schema.table`` on ``key_columns``, with the
    ``CREATE UNIQUE INDEX`` to run; None when a matching unique index exists."""
    if set(key_columns) in unique_key_columns(conn, schema, table):
        return None
    create = sql.SQL("CREATE UNIQUE INDEX ON {table} ({columns});").format(
        table=sql.Identifier(schema, table),
        columns=sql.SQL(", ").join(sql.Identifier(column) for column in key_columns),
    )
    return (
        f"target table {schema}.{table} has no unique index or constraint on the key column(s) "
        f"({', '.join(key_columns)}), which the load's merge (INSERT ... ON CONFLICT) needs to "
        f"match rows (a partial, deferrable or expression index does not count); create one: "
        f"{create.as_string(conn)}"
    )


def check_unique_key(
    conn: psycopg.Connection, schema: str, table: str, key_columns: Sequence[str]
) -> None:
    """Raise KeyNotUnique when the merge's key has no unique index (see
    :func:`missing_unique_key`)."""
    problem = missing_unique_key(conn, schema, table, key_columns)
    if problem is not None:
        raise KeyNotUnique(problem)
