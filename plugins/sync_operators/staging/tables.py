"""Per-run staging tables in their own schema: ``raw`` holds extracted records as jsonb, ``typed``
holds transformed rows with the target table's column types. Both are UNLOGGED: they are rebuilt
by a retry, so paying for WAL would buy nothing."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

STAGING_SCHEMA = "sync_staging"
_COMMENT_PREFIX = "erp-sync staging table created "
_SCHEMA_LOCK = 0x5E5C_0001


@dataclass(frozen=True)
class StagingTables:
    """The staging tables of one mapping run; names are stable, so a retry reuses them."""

    schema: str
    raw: str
    typed: str

    @classmethod
    def for_run(
        cls, mapping: str, dag_id: str, run_id: str, schema: str = STAGING_SCHEMA
    ) -> StagingTables:
        """Name the tables ``<mapping>_<hash of mapping, dag and run>_raw|typed`` (at most 63
        bytes). The hash covers the whole mapping name, since only its first 40 characters show."""
        identity = f"{mapping}\x00{dag_id}\x00{run_id}"
        digest = hashlib.sha1(identity.encode(), usedforsecurity=False).hexdigest()
        stem = f"{re.sub(r'[^a-z0-9_]', '_', mapping.lower())[:40]}_{digest[:12]}"
        return cls(schema=schema, raw=f"{stem}_raw", typed=f"{stem}_typed")

    @property
    def raw_table(self) -> sql.Identifier:
        """Qualified identifier of the raw table."""
        return sql.Identifier(self.schema, self.raw)

    @property
    def typed_table(self) -> sql.Identifier:
        """Qualified identifier of the typed table."""
        return sql.Identifier(self.schema, self.typed)


def ensure_staging_schema(conn: psycopg.Connection, schema: str = STAGING_SCHEMA) -> None:
    """Create the staging schema once; an advisory lock keeps concurrent first runs apart."""
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))


def _mark_created(cur: psycopg.Cursor[Any], table: sql.Identifier) -> None:
    stamp = datetime.now(UTC).isoformat()
    cur.execute(
        sql.SQL("COMMENT ON TABLE {} IS {}").format(table, sql.Literal(_COMMENT_PREFIX + stamp))
    )


def create_raw_table(conn: psycopg.Connection, tables: StagingTables) -> None:
    """(Re)create the raw table: sequence number, record key and the cleaned record."""
    with conn.cursor() as cur:
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(tables.raw_table))
        cur.execute(
            sql.SQL(
                "CREATE UNLOGGED TABLE {} (_seq bigint NOT NULL, _key text, _record jsonb NOT NULL)"
            ).format(tables.raw_table)
        )
        _mark_created(cur, tables.raw_table)


def iter_raw_chunks(
    conn: psycopg.Connection, tables: StagingTables, chunk_size: int
) -> Iterator[list[tuple[int, str | None, Any]]]:
    """Stream the raw table in ``_seq`` order through a server-side cursor, chunk by chunk."""
    query = sql.SQL("SELECT _seq, _key, _record FROM {} ORDER BY _seq").format(tables.raw_table)
    yield from stream_chunks(conn, query, f"read_{tables.raw}", chunk_size)


def stream_chunks(
    conn: psycopg.Connection, query: sql.Composable, cursor_name: str, chunk_size: int
) -> Iterator[list[Any]]:
    """Run ``query`` through a named (server-side) cursor and yield its rows chunk by chunk, so
    no step ever holds a whole staging table in memory."""
    with conn.cursor(name=cursor_name[:63]) as cur:
        cur.itersize = chunk_size
        cur.execute(query)
        while chunk := cur.fetchmany(chunk_size):
            yield chunk


def create_typed_table(
    conn: psycopg.Connection,
    tables: StagingTables,
    target: sql.Composable,
    columns: Sequence[str],
) -> None:
    """(Re)create the typed table with the target's column types plus ``_seq``."""
    column_list = sql.SQL(", ").join(sql.Identifier(column) for column in columns)
    with conn.cursor() as cur:
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(tables.typed_table))
        cur.execute(
            sql.SQL("CREATE UNLOGGED TABLE {} AS SELECT {} FROM {} WITH NO DATA").format(
                tables.typed_table, column_list, target
            )
        )
        cur.execute(
            sql.SQL("ALTER TABLE {} ADD COLUMN _seq bigint NOT NULL").format(tables.typed_table)
        )
        _mark_created(cur, tables.typed_table)


def create_typed_table_of_type(
    conn: psycopg.Connection, tables: StagingTables, columns: Sequence[str], data_type: str
) -> None:
    """(Re)create the typed table with every column of one type plus ``_seq``, for targets
    without a table to copy the types from (an HTTP API)."""
    definitions = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(column), sql.SQL(data_type))  # type: ignore[arg-type]
        for column in columns
    )
    with conn.cursor() as cur:
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(tables.typed_table))
        cur.execute(
            sql.SQL("CREATE UNLOGGED TABLE {} ({}, _seq bigint NOT NULL)").format(
                tables.typed_table, definitions
            )
        )
        _mark_created(cur, tables.typed_table)


def copy_typed_rows(
    conn: psycopg.Connection,
    tables: StagingTables,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> int:
    """COPY transformed rows (target columns, then ``_seq``) into the typed table."""
    column_list = sql.SQL(", ").join(sql.Identifier(column) for column in [*columns, "_seq"])
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(tables.typed_table, column_list)
    count = 0
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def drop_tables(conn: psycopg.Connection, tables: StagingTables) -> None:
    """Drop both staging tables of a run (missing ones are fine)."""
    with conn.cursor() as cur:
        for table in (tables.raw_table, tables.typed_table):
            cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))


def table_comments(conn: psycopg.Connection, schema: str = STAGING_SCHEMA) -> list[tuple[str, str]]:
    """``(table, comment)`` of every commented table in the staging schema: the comments say
    when and why a staging table was made, which is what the cleanups decide on."""
    with conn.cursor() as cur:
        cur.execute(
            """
            SELECT c.relname, obj_description(c.oid, 'pg_class')
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = %s AND c.relkind = 'r'
              AND obj_description(c.oid, 'pg_class') IS NOT NULL
            """,
            (schema,),
        )
        return list(cur.fetchall())


def drop_table(conn: psycopg.Connection, schema: str, name: str) -> None:
    """Drop one staging table if it still exists."""
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(schema, name)))


def drop_stale_tables(
    conn: psycopg.Connection, older_than: timedelta, schema: str = STAGING_SCHEMA
) -> list[str]:
    """Drop staging tables left behind by killed runs, older than ``older_than``."""
    cutoff = datetime.now(UTC) - older_than
    dropped = []
    for name, comment in table_comments(conn, schema):
        if not comment.startswith(_COMMENT_PREFIX):
            continue
        if datetime.fromisoformat(comment.removeprefix(_COMMENT_PREFIX)) < cutoff:
            drop_table(conn, schema, name)
            dropped.append(name)
    return dropped
