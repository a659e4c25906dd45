"""Put a freshly built table in the place of an empty staging table of the same shape.

The SQL transform builds the typed rows with CREATE TABLE AS (which may use parallel workers;
INSERT … SELECT may not). Moving those rows into the typed table the loader created would copy
them once more, so when both tables have the same shape (columns with their types, NOT NULL and
collations; no indexes, constraints, defaults or triggers on either) the new table takes the old
one's name and comment instead.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

_COLUMNS = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attcollation,
       a.atthasdef
FROM pg_attribute a WHERE a.attrelid = %(table)s::regclass AND a.attnum > 0
AND NOT a.attisdropped ORDER BY a.attnum
"""
_EXTRAS = """
SELECT c.relkind, c.relpersistence, c.reloptions,
       (SELECT count(*) FROM pg_index WHERE indrelid = c.oid)
       + (SELECT count(*) FROM pg_constraint WHERE conrelid = c.oid)
       + (SELECT count(*) FROM pg_trigger WHERE tgrelid = c.oid)
       + (SELECT count(*) FROM pg_rewrite WHERE ev_class = c.oid),
       obj_description(c.oid, 'pg_class')
FROM pg_class c WHERE c.oid = %(table)s::regclass
"""


def shape(conn: psycopg.Connection, table: sql.Identifier) -> tuple[Any, ...]:
    """What must match for one table to stand in for the other: columns and table kind, and
    the number of indexes, constraints, triggers and rules (the comment is returned last)."""
    params = {"table": table.as_string(conn)}
    with conn.cursor() as cur:
        cur.execute(_COLUMNS, params)
        columns = tuple(cur.fetchall())
        cur.execute(_EXTRAS, params)
        kind, persistence, options, extras, comment = cur.fetchone()  # type: ignore[misc]
    return (columns, kind, persistence, options, extras, comment)


def swap_in(conn: psycopg.Connection, schema: str, old: str, new: str) -> bool:
    """Replace the table ``schema.old`` with ``schema.new`` when their shapes match and neither
    has indexes, constraints, defaults or triggers; returns whether it did."""
    old_table, new_table = sql.Identifier(schema, old), sql.Identifier(schema, new)
    old_shape, new_shape = shape(conn, old_table), shape(conn, new_table)
    columns, extras, comment = old_shape[0], old_shape[4], old_shape[-1]
    if old_shape[:-1] != new_shape[:-1] or extras or any(column[4] for column in columns):
        return False
    with conn.cursor() as cur:
        if comment is not None:
            cur.execute(
                sql.SQL("COMMENT ON TABLE {} IS {}").format(new_table, sql.Literal(comment))
            )
        cur.execute(sql.SQL("DROP TABLE {}").format(old_table))
        cur.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(new_table, sql.Identifier(old)))
    return True
