"""Loader into a Postgres table of the same database as staging: one set-based merge."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from psycopg import sql

from sync_operators.load.base import BaseLoader, LoadResult
from sync_operators.load.columns import ColumnSpec, describe_columns
from sync_operators.staging.tables import StagingTables, create_typed_table


@dataclass(frozen=True)
class MergeCounts:
    """Result of :func:`upsert_from_staging`."""

    staged: int
    distinct: int
    created: int
    updated: int

    @property
    def unchanged(self) -> int:
        """Distinct keys whose target row already held the same values."""
        return self.distinct - self.created - self.updated

    @property
    def deduplicated(self) -> int:
        """Staged rows collapsed because a later row had the same key."""
        return self.staged - self.distinct


def _columns(names: Sequence[str], prefix: str | None = None) -> sql.Composable:
    if prefix is None:
        return sql.SQL(", ").join(sql.Identifier(name) for name in names)
    return sql.SQL(", ").join(sql.Identifier(prefix, name) for name in names)


def upsert_from_staging(
    conn: psycopg.Connection,
    *,
    staging: sql.Identifier,
    target: sql.Identifier,
    columns: Sequence[str],
    key_columns: Sequence[str],
    newest_first: Sequence[str] = (),
) -> MergeCounts:
    """Merge ``staging`` into ``target`` on ``key_columns`` in one statement.

    Rows sharing a key are collapsed first (newest by ``newest_first`` columns, then the last
    extracted), because ``ON CONFLICT DO UPDATE`` cannot touch a row twice. Only rows whose values
    differ are updated, so unchanged rows cost no write and are counted as unchanged.
    """
    non_key = [column for column in columns if column not in key_columns]
    order = [sql.SQL("{} DESC NULLS LAST").format(sql.Identifier(c)) for c in newest_first]
    order.append(sql.SQL("_seq DESC"))
    if non_key:
        conflict = sql.SQL(
            "DO UPDATE SET ({non_key}) = ROW({excluded}) "
            "WHERE ({current}) IS DISTINCT FROM ({excluded})"
        ).format(
            non_key=_columns(non_key),
            excluded=_columns(non_key, "excluded"),
            current=_columns(non_key, "t"),
        )
    else:
        conflict = sql.SQL("DO NOTHING")
    statement = sql.SQL(
        """
        WITH source AS (
            SELECT DISTINCT ON ({keys}) {columns} FROM {staging}
            ORDER BY {keys}, {order}
        ), merged AS (
            INSERT INTO {target} AS t ({columns})
            SELECT {columns} FROM source
            ON CONFLICT ({keys}) {conflict}
            RETURNING (xmax = 0) AS inserted
        )
        SELECT
            (SELECT count(*) FROM {staging}),
            (SELECT count(*) FROM source),
            count(*) FILTER (WHERE inserted),
            count(*) FILTER (WHERE NOT inserted)
        FROM merged
        """
    ).format(
        keys=_columns(key_columns),
        columns=_columns(columns),
        staging=staging,
        target=target,
        order=sql.SQL(", ").join(order),
        conflict=conflict,
    )
    with conn.cursor() as cur:
        cur.execute(statement)
        staged, distinct, created, updated = cur.fetchone()  # type: ignore[misc]
    return MergeCounts(staged, distinct, created, updated)


class PostgresTableLoader(BaseLoader):
    """Upserts into ``<schema>.<table>`` of the staging database (the ERP's own tables)."""

    @property
    def schema(self) -> str:
        """The target table's schema: the mapping's, else the target's."""
        return self.mapping.db_schema or self.target.db_schema

    @property
    def table(self) -> sql.Identifier:
        """Qualified identifier of the target table."""
        return sql.Identifier(self.schema, self.mapping.target_table)

    def describe_columns(self, staging_conn: psycopg.Connection) -> list[ColumnSpec]:
        """Read the mapped columns' types from the catalog."""
        return describe_columns(
            staging_conn, self.schema, self.mapping.target_table, self.mapping.columns
        )

    def create_typed_staging(self, staging_conn: psycopg.Connection, tables: StagingTables) -> None:
        """Copy the target's column types into the typed staging table."""
        create_typed_table(staging_conn, tables, self.table, self.mapping.columns)

    def newest_first_columns(self) -> list[str]:
        """The target column holding the source's modified date, when it is mapped."""
        field = self.mapping.fields.get(self.modified_field or "")
        return [field.target_field] if field is not None else []

    def load(self, staging_conn: psycopg.Connection, tables: StagingTables) -> LoadResult:
        """Merge the typed staging table into the target table."""
        counts = upsert_from_staging(
            staging_conn,
            staging=tables.typed_table,
            target=self.table,
            columns=self.mapping.columns,
            key_columns=self.mapping.key_columns,
            newest_first=self.newest_first_columns(),
        )
        return LoadResult(
            created=counts.created,
            updated=counts.updated,
            unchanged=counts.unchanged,
            deduplicated=counts.deduplicated,
        )
